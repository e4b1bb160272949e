package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// NewEndOfRIB returns the End-of-RIB marker of family f (RFC 4724 §2): an
// empty UPDATE for IPv4 unicast, an UPDATE holding only an empty
// MP_UNREACH_NLRI for any other family.
func NewEndOfRIB(f nlri.Family) *Update {
	if f == nlri.IPv4Unicast {
		return &Update{}
	}
	return &Update{Attrs: attr.List{&attr.MPUnreach{Family: f}}}
}

// NewUpdate builds one UPDATE that withdraws and announces the given routes
// with the path attributes attrs: IPv4 unicast routes in the classic
// fields, every other family in an MP_UNREACH_NLRI or MP_REACH_NLRI put
// before the other attributes (RFC 7606 §5.1). An UPDATE has at most one of
// each MP attribute (RFC 7606 §3 g), so the routes of other families must
// be of one family per direction; it fails otherwise. The next hop of a family other than IPv4 unicast comes from
// an *attr.MPReach of that family in attrs, whose NLRI is replaced; MP
// attributes in attrs without routes to announce are dropped. Path
// identifiers are written for the families in opt.AddPath.
//
// It does not check the message length: Append does, and Packer packs
// routes into as many UPDATEs as they need.
func NewUpdate(attrs attr.List, withdraw, announce []nlri.NLRI, opt Options) (*Update, error) {
	u := &Update{AddPath: opt.AddPath}
	var mp, rest attr.List
	nextHops := map[nlri.Family]*attr.MPReach{}
	for _, a := range attrs {
		switch a := a.(type) {
		case *attr.MPReach:
			nextHops[a.Family] = a
		case *attr.MPUnreach:
		default:
			rest = append(rest, a)
		}
	}
	var unreach []*attr.MPUnreach
	for _, r := range withdraw {
		f := r.Family()
		if f == nlri.IPv4Unicast {
			u.Withdrawn = r.AppendTo(u.Withdrawn, opt.AddPath.Has(f))
			continue
		}
		var m *attr.MPUnreach
		for _, x := range unreach {
			if x.Family == f {
				m = x
			}
		}
		if m == nil {
			if len(unreach) > 0 {
				return nil, fmt.Errorf("withdrawals of %s and %s need two MP_UNREACH_NLRI", unreach[0].Family, f)
			}
			m = &attr.MPUnreach{Family: f}
			unreach = append(unreach, m)
		}
		m.NLRI = r.AppendTo(m.NLRI, opt.AddPath.Has(f))
	}
	var reach []*attr.MPReach
	for _, r := range announce {
		f := r.Family()
		if f == nlri.IPv4Unicast {
			u.NLRI = r.AppendTo(u.NLRI, opt.AddPath.Has(f))
			continue
		}
		var m *attr.MPReach
		for _, x := range reach {
			if x.Family == f {
				m = x
			}
		}
		if m == nil {
			if len(reach) > 0 {
				return nil, fmt.Errorf("announcements of %s and %s need two MP_REACH_NLRI", reach[0].Family, f)
			}
			nh, ok := nextHops[f]
			if !ok {
				return nil, fmt.Errorf("no MP_REACH_NLRI with a next hop for %s among the attributes", f)
			}
			m = &attr.MPReach{Family: f, NextHop: nh.NextHop, Reserved: nh.Reserved}
			reach = append(reach, m)
		}
		m.NLRI = r.AppendTo(m.NLRI, opt.AddPath.Has(f))
	}
	for _, m := range reach {
		mp = append(mp, m)
	}
	for _, m := range unreach {
		mp = append(mp, m)
	}
	u.Attrs = append(mp, rest...)
	if len(u.NLRI) == 0 && len(reach) == 0 {
		// Nothing announced: the attributes would mean nothing
		// (RFC 4271 §4.3 allows an UPDATE that only withdraws).
		u.Attrs = mp
	}
	if len(u.Attrs) == 0 {
		u.Attrs = nil
	}
	return u, nil
}

// Packer packs routes into UPDATE messages as a speaker sends them: routes
// that share an attribute set go into as few UPDATEs as the maximum length
// allows, and withdrawals go into UPDATEs of their own. Finished messages
// accumulate back to back in one buffer (Bytes), ready for the socket.
//
// Per RFC 7606 §5.1 each UPDATE carries one kind of reachability only (the
// NLRI field, the Withdrawn Routes field, one MP_REACH_NLRI or one
// MP_UNREACH_NLRI) and MP_REACH_NLRI comes first among the attributes.
// Packing does not allocate per route once the buffer has grown.
//
// A Packer is not safe for concurrent use.
type Packer struct {
	opt Options
	max int
	out []byte

	// set is the current attribute set: its attributes without MP
	// attributes go in the NLRI field's UPDATEs, the same without
	// NEXT_HOP in MP_REACH_NLRI UPDATEs (RFC 4760 §3: such an UPDATE
	// should not carry NEXT_HOP). own is the set SetAttrs encodes into.
	set     *Encoded
	own     Encoded
	scratch []byte

	// The open message: kind, family, offset of its header in out, and
	// offsets of the length fields to fill in when it closes.
	kind     packKind
	fam      nlri.Family
	start    int
	lenAt    int // Withdrawn Routes Length (withdraw), MP attribute length (MP kinds)
	attrLen  int // offset of Total Path Attribute Length
	messages int
}

type mpNextHop struct {
	fam      nlri.Family
	nextHop  []byte
	reserved byte
}

type packKind uint8

const (
	packNone packKind = iota
	packAnnounce
	packWithdraw
	packMPReach
	packMPUnreach
)

// NewPacker returns a Packer writing messages for a session with options opt.
func NewPacker(opt Options) *Packer {
	return &Packer{opt: opt, max: opt.MaxLen()}
}

// SetAttrs sets the attribute set of the routes announced next and closes
// the open UPDATE if it announces routes. An *attr.MPReach in attrs gives
// the next hop (and reserved octet) for its family and is otherwise not
// copied; MP_UNREACH_NLRI is ignored. IPv4 unicast routes go in the NLRI
// field with the NEXT_HOP of attrs, or in MP_REACH_NLRI when attrs has an
// MPReach for IPv4 unicast (an IPv6 next hop, RFC 8950).
func (p *Packer) SetAttrs(attrs attr.List) {
	p.SetEncoded(nil) // closes the open UPDATE, which may use own
	p.own.encode(attrs, p.opt)
	p.set = &p.own
}

// SetEncoded is SetAttrs for a set encoded beforehand (Encoder) with
// this Packer's options: a sender that announces one set many times (an
// update group, batch after batch) encodes it once. e must not change
// while it is the Packer's current set.
func (p *Packer) SetEncoded(e *Encoded) {
	if p.kind == packAnnounce || p.kind == packMPReach {
		p.close()
	}
	p.set = e
}

// Encoded is an attribute set in the form a Packer writes: the path
// attributes of the NLRI field's UPDATEs, where NEXT_HOP is, and the next
// hops of MP_REACH_NLRI per family. It is about a tenth of the memory of
// the decoded list (the octets, two offsets and the next hops).
type Encoded struct {
	attrs   []byte // without MP attributes
	reach   []mpNextHop
	nhStart int32 // NEXT_HOP is attrs[nhStart:nhEnd]; nhEnd 0: none
	nhEnd   int32
	v4MP    bool // reach has IPv4 unicast: its NLRI go in MP_REACH_NLRI
}

// Encoder encodes attribute sets for a sender that keeps many of them (an
// update group, for as long as it sends them): Encode encodes a set into
// the Encoder's own memory and returns its key, and Keep makes a lasting
// Encoded that lives in a string of the key, so that a kept set costs one
// allocation for its octets, which also serve as the key a sender finds
// it by (and one more for its MP_REACH_NLRI next hops, when it has any).
type Encoder struct {
	e   Encoded
	key []byte
}

// Encode encodes attrs for a session with options opt (see SetAttrs) and
// returns the key: the octets as sent, the path attributes and then each
// MP_REACH_NLRI next hop with its family and reserved octet, so that two
// sets with the same key are sent the same. It is valid until the next
// Encode.
func (c *Encoder) Encode(attrs attr.List, opt Options) []byte {
	c.e.encode(attrs, opt)
	c.key = append(c.key[:0], c.e.attrs...)
	for _, r := range c.e.reach {
		c.key = binary.BigEndian.AppendUint16(c.key, uint16(r.fam.AFI))
		c.key = append(c.key, byte(r.fam.SAFI), r.reserved, byte(len(r.nextHop)))
		c.key = append(c.key, r.nextHop...)
	}
	return c.key
}

// Keep returns the set of the last Encode as a lasting Encoded and its key
// as a string, whose memory the Encoded's octets are. The Encoded does
// not refer to the attributes encoded.
func (c *Encoder) Keep() (Encoded, string) {
	key := string(c.key)
	b := unsafe.Slice(unsafe.StringData(key), len(key)) // read only, like the string
	e := Encoded{attrs: b[:len(c.e.attrs):len(c.e.attrs)], nhStart: c.e.nhStart, nhEnd: c.e.nhEnd, v4MP: c.e.v4MP}
	if len(c.e.reach) > 0 {
		e.reach = make([]mpNextHop, len(c.e.reach))
		at := len(c.e.attrs)
		for i, r := range c.e.reach {
			at += 5 // AFI, SAFI, reserved octet, length (Encode)
			end := at + len(r.nextHop)
			e.reach[i] = mpNextHop{fam: r.fam, reserved: r.reserved, nextHop: b[at:end:end]}
			at = end
		}
	}
	return e, key
}

// encode fills e from attrs, reusing its buffers. The next hops of
// MP_REACH_NLRI stay attrs' (Encoder.Keep's Encoded has them in its key).
func (e *Encoded) encode(attrs attr.List, opt Options) {
	e.attrs, e.reach = e.attrs[:0], e.reach[:0]
	e.nhStart, e.nhEnd, e.v4MP = 0, 0, false
	ao := attr.Options{AS4: opt.AS4}
	for _, a := range attrs {
		switch a := a.(type) {
		case *attr.MPReach:
			e.reach = append(e.reach, mpNextHop{fam: a.Family, nextHop: a.NextHop, reserved: a.Reserved})
			e.v4MP = e.v4MP || a.Family == nlri.IPv4Unicast
		case *attr.MPUnreach:
		default:
			start := len(e.attrs)
			e.attrs = attr.Append(e.attrs, a, ao)
			if a.Code() == iana.AttrNextHop && e.nhEnd == 0 {
				e.nhStart, e.nhEnd = int32(start), int32(len(e.attrs))
			}
		}
	}
}

// List decodes the set again (for display): the path attributes, then an
// MP_REACH_NLRI without NLRI per next hop kept. opt are the options it
// was encoded with.
func (e *Encoded) List(opt Options) (attr.List, error) {
	l, errs := attr.Decode(e.attrs, attr.Options{AS4: opt.AS4})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	for _, r := range e.reach {
		l = append(l, &attr.MPReach{Family: r.fam, NextHop: r.nextHop, Reserved: r.reserved})
	}
	return l, nil
}

// hasNH reports whether the current set has a NEXT_HOP.
func (p *Packer) hasNH() bool { return p.set != nil && p.set.nhEnd > 0 }

// v4MP reports whether the current set sends IPv4 unicast in
// MP_REACH_NLRI.
func (p *Packer) v4MP() bool { return p.set != nil && p.set.v4MP }

// mpAttrsLen is the size of the current set's attributes without
// NEXT_HOP, which an MP_REACH_NLRI UPDATE carries.
func (p *Packer) mpAttrsLen() int {
	if p.set == nil {
		return 0
	}
	return len(p.set.attrs) - int(p.set.nhEnd-p.set.nhStart)
}

// appendMPAttrs appends the current set's attributes without NEXT_HOP.
func (p *Packer) appendMPAttrs(b []byte) []byte {
	e := p.set
	b = append(b, e.attrs[:e.nhStart]...)
	return append(b, e.attrs[e.nhEnd:]...)
}

// Announce adds one unicast route (IPv4 in the NLRI field unless the
// attribute set says otherwise, IPv6 in MP_REACH_NLRI) with the current
// attribute set. pfx.PathID is written when the options have ADD-PATH for
// the family.
func (p *Packer) Announce(pfx nlri.Prefix) error {
	if !pfx.Prefix.IsValid() {
		return fmt.Errorf("invalid prefix %v", pfx.Prefix)
	}
	if pfx.Prefix.Addr().Is4() && !p.v4MP() {
		ap := p.opt.AddPath.Has(nlri.IPv4Unicast)
		if err := p.roomNLRI(prefixLen(pfx.Prefix.Bits(), ap)); err != nil {
			return err
		}
		p.out = nlri.AppendPrefix(p.out, pfx.Prefix, pfx.PathID, ap)
		return nil
	}
	f := nlri.IPv6Unicast
	if pfx.Prefix.Addr().Is4() {
		f = nlri.IPv4Unicast
	}
	ap := p.opt.AddPath.Has(f)
	n := prefixLen(pfx.Prefix.Bits(), ap)
	if p.kind != packMPReach || p.fam != f || len(p.out)-p.start+n+p.mpAttrsLen() > p.max {
		if err := p.openMPReach(f, n); err != nil {
			return err
		}
	}
	p.out = nlri.AppendPrefix(p.out, pfx.Prefix, pfx.PathID, ap)
	return nil
}

// AnnounceIPv4 is Announce for the IPv4 unicast prefix addr/bits (addr
// in host order, bits at most 32, host bits zero), for a sender that
// keeps its prefixes packed rather than as netip.Prefix: the hot path of a
// full table's re-advertisement.
func (p *Packer) AnnounceIPv4(addr uint32, bits uint8, pathID uint32) error {
	if p.v4MP() || bits > 32 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], addr)
		return p.Announce(nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4(a), int(bits)), PathID: pathID})
	}
	ap := p.opt.AddPath.Has(nlri.IPv4Unicast)
	if err := p.roomNLRI(prefixLen(int(bits), ap)); err != nil {
		return err
	}
	p.out = nlri.AppendPrefix4(p.out, addr, bits, pathID, ap)
	return nil
}

// roomNLRI makes room for n more octets of NLRI in the UPDATE being
// packed, starting a new one when it is not an announcement or is full.
func (p *Packer) roomNLRI(n int) error {
	if p.kind != packAnnounce || len(p.out)-p.start+n > p.max {
		return p.openAnnounce(n)
	}
	return nil
}

// Withdraw adds one unicast route to withdraw (IPv4 in the Withdrawn
// Routes field, IPv6 in MP_UNREACH_NLRI).
func (p *Packer) Withdraw(pfx nlri.Prefix) error {
	if !pfx.Prefix.IsValid() {
		return fmt.Errorf("invalid prefix %v", pfx.Prefix)
	}
	if pfx.Prefix.Addr().Is4() {
		ap := p.opt.AddPath.Has(nlri.IPv4Unicast)
		n := prefixLen(pfx.Prefix.Bits(), ap)
		// The two octets of Total Path Attribute Length are written
		// when the message closes.
		if p.kind != packWithdraw || len(p.out)-p.start+n+2 > p.max {
			p.close()
			p.begin(packWithdraw, nlri.IPv4Unicast)
			p.lenAt = len(p.out)
			p.out = append(p.out, 0, 0)
		}
		p.out = nlri.AppendPrefix(p.out, pfx.Prefix, pfx.PathID, ap)
		return nil
	}
	return p.withdrawMP(nlri.IPv6Unicast, prefixLen(pfx.Prefix.Bits(), p.opt.AddPath.Has(nlri.IPv6Unicast)), func(b []byte) []byte {
		return nlri.AppendPrefix(b, pfx.Prefix, pfx.PathID, p.opt.AddPath.Has(nlri.IPv6Unicast))
	})
}

// AnnounceNLRI adds a route of any family other than IPv4 unicast, in
// MP_REACH_NLRI with the next hop SetAttrs was given for its family.
// Announce is the fast path for unicast prefixes.
func (p *Packer) AnnounceNLRI(r nlri.NLRI) error {
	f := r.Family()
	if pfx, ok := r.(nlri.Prefix); ok && (f == nlri.IPv4Unicast || f == nlri.IPv6Unicast) {
		return p.Announce(pfx)
	}
	wire := p.measure(r)
	if p.kind != packMPReach || p.fam != f || len(p.out)-p.start+len(wire)+p.mpAttrsLen() > p.max {
		if err := p.openMPReach(f, len(wire)); err != nil {
			return err
		}
	}
	p.out = append(p.out, wire...)
	return nil
}

// WithdrawNLRI adds a route of any family to withdraw.
func (p *Packer) WithdrawNLRI(r nlri.NLRI) error {
	f := r.Family()
	if pfx, ok := r.(nlri.Prefix); ok && (f == nlri.IPv4Unicast || f == nlri.IPv6Unicast) {
		return p.Withdraw(pfx)
	}
	wire := p.measure(r)
	return p.withdrawMP(f, len(wire), func(b []byte) []byte { return append(b, wire...) })
}

// measure writes r's wire form into the scratch buffer, to learn its
// length before choosing the message; the buffer is reused.
func (p *Packer) measure(r nlri.NLRI) []byte {
	p.scratch = r.AppendTo(p.scratch[:0], p.opt.AddPath.Has(r.Family()))
	return p.scratch
}

// EndOfRIB closes the open UPDATE and adds the End-of-RIB marker of f.
func (p *Packer) EndOfRIB(f nlri.Family) {
	p.close()
	p.out = NewEndOfRIB(f).AppendTo(p.out, p.opt)
	p.messages++
}

// Bytes closes the open UPDATE and returns every message packed since the
// last Reset, back to back. The slice is valid until the next call that
// changes the Packer.
func (p *Packer) Bytes() []byte {
	p.close()
	return p.out
}

// Messages is the number of messages finished since the last Reset.
func (p *Packer) Messages() int {
	if p.kind != packNone {
		return p.messages + 1
	}
	return p.messages
}

// Len is the number of octets packed since the last Reset, the open UPDATE
// included; a writer flushes when it grows large.
func (p *Packer) Len() int { return len(p.out) }

// Reset drops the packed messages and keeps the buffer and the attribute set.
func (p *Packer) Reset() {
	p.close()
	p.out = p.out[:0]
	p.messages = 0
}

func prefixLen(bits int, addPath bool) int {
	n := 1 + (bits+7)/8
	if addPath {
		n += 4
	}
	return n
}

// begin starts a message of the given kind.
func (p *Packer) begin(k packKind, f nlri.Family) {
	p.kind, p.fam = k, f
	p.start = len(p.out)
	p.out = appendHeader(p.out, iana.MsgUpdate)
}

// openAnnounce closes the open message and starts an IPv4 announcement with
// the attribute set; it fails when not even one route of n octets fits.
func (p *Packer) openAnnounce(n int) error {
	p.close()
	if !p.hasNH() {
		return fmt.Errorf("no NEXT_HOP in the attribute set for IPv4 unicast routes")
	}
	attrs := p.set.attrs
	if HeaderLen+4+len(attrs)+n > p.max {
		return fmt.Errorf("attribute set of %d octets leaves no room for a route in a %d-octet UPDATE", len(attrs), p.max)
	}
	p.begin(packAnnounce, nlri.IPv4Unicast)
	p.out = append(p.out, 0, 0) // Withdrawn Routes Length
	p.out = binary.BigEndian.AppendUint16(p.out, uint16(len(attrs)))
	p.out = append(p.out, attrs...)
	return nil
}

// openMPReach closes the open message and starts an MP_REACH_NLRI UPDATE
// for f. The other attributes (without NEXT_HOP) follow MP_REACH_NLRI and
// are written when the message closes, so routes are appended at the end
// of the buffer.
func (p *Packer) openMPReach(f nlri.Family, n int) error {
	p.close()
	var nh *mpNextHop
	if p.set != nil {
		for i := range p.set.reach {
			if p.set.reach[i].fam == f {
				nh = &p.set.reach[i]
			}
		}
	}
	if nh == nil {
		return fmt.Errorf("no MP_REACH_NLRI next hop for %s in the attribute set", f)
	}
	if len(nh.nextHop) > 255 {
		return fmt.Errorf("next hop of %d octets for %s", len(nh.nextHop), f)
	}
	fixed := HeaderLen + 4 + 4 + 5 + len(nh.nextHop)
	if fixed+n+p.mpAttrsLen() > p.max {
		return fmt.Errorf("attribute set of %d octets leaves no room for a route in a %d-octet UPDATE", p.mpAttrsLen(), p.max)
	}
	p.begin(packMPReach, f)
	p.out = append(p.out, 0, 0) // Withdrawn Routes Length
	p.attrLen = len(p.out)
	p.out = append(p.out, 0, 0)
	// Always the extended length: the NLRI grow past 255 octets.
	p.out = append(p.out, byte(attr.FlagOptional|attr.FlagExtendedLength), byte(iana.AttrMPReachNLRI), 0, 0)
	p.lenAt = len(p.out) - 2
	p.out = binary.BigEndian.AppendUint16(p.out, uint16(f.AFI))
	p.out = append(p.out, byte(f.SAFI), byte(len(nh.nextHop)))
	p.out = append(p.out, nh.nextHop...)
	p.out = append(p.out, nh.reserved)
	return nil
}

// withdrawMP adds n octets written by add to an MP_UNREACH_NLRI UPDATE of f.
func (p *Packer) withdrawMP(f nlri.Family, n int, add func([]byte) []byte) error {
	if p.kind != packMPUnreach || p.fam != f || len(p.out)-p.start+n > p.max {
		p.close()
		if HeaderLen+4+7+n > p.max {
			return fmt.Errorf("route of %d octets does not fit a %d-octet UPDATE", n, p.max)
		}
		p.begin(packMPUnreach, f)
		p.out = append(p.out, 0, 0)
		p.attrLen = len(p.out)
		p.out = append(p.out, 0, 0)
		p.out = append(p.out, byte(attr.FlagOptional|attr.FlagExtendedLength), byte(iana.AttrMPUnreachNLRI), 0, 0)
		p.lenAt = len(p.out) - 2
		p.out = binary.BigEndian.AppendUint16(p.out, uint16(f.AFI))
		p.out = append(p.out, byte(f.SAFI))
	}
	p.out = add(p.out)
	return nil
}

// close finishes the open message: the length fields it left open, the
// attributes that follow MP_REACH_NLRI, and the header's length.
func (p *Packer) close() {
	switch p.kind {
	case packNone:
		return
	case packAnnounce:
	case packWithdraw:
		binary.BigEndian.PutUint16(p.out[p.lenAt:], uint16(len(p.out)-p.lenAt-2))
		p.out = append(p.out, 0, 0)
	case packMPReach, packMPUnreach:
		binary.BigEndian.PutUint16(p.out[p.lenAt:], uint16(len(p.out)-p.lenAt-2))
		if p.kind == packMPReach {
			p.out = p.appendMPAttrs(p.out)
		}
		binary.BigEndian.PutUint16(p.out[p.attrLen:], uint16(len(p.out)-p.attrLen-2))
	}
	p.out = finish(p.out, p.start)
	p.kind = packNone
	p.messages++
}
