package wire

import (
	"encoding/binary"
	"iter"
	"net/netip"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Update is an UPDATE message (RFC 4271 §4.3).
//
// The classic Withdrawn Routes and NLRI fields (IPv4 unicast) are kept as
// raw bytes and walked lazily (Reach, Unreach, or nlri.NewIter directly);
// the path attributes are decoded once. A decoded Update aliases the body it
// was decoded from in Withdrawn, NLRI and RawAttrs (attribute values and
// decoded NLRI of other families never do): those fields are valid only as
// long as that buffer is not reused. Clone returns one that owns its memory,
// except that an UpdateDecoder's Updates keep their attribute values in the
// decoder's memory, which its Reset gives to the next UPDATEs: decode
// RawAttrs again (DecodeUpdate) to keep one of those.
type Update struct {
	// Withdrawn is the Withdrawn Routes field: IPv4 unicast prefixes, each
	// preceded by a path identifier when AddPath has IPv4 unicast.
	Withdrawn []byte
	// Attrs are the path attributes in received order. AppendTo encodes
	// the UPDATE from them.
	Attrs attr.List
	// NLRI is the Network Layer Reachability Information field: IPv4
	// unicast prefixes, with path identifiers as for Withdrawn.
	NLRI []byte
	// RawAttrs is the path attribute block as received, for hashing and
	// interning attribute sets; nil for an Update built in memory.
	// AppendTo ignores it.
	RawAttrs []byte
	// AddPath lists the families whose NLRI carry path identifiers, as the
	// options of DecodeUpdate said; Reach and Unreach read NLRI with it.
	AddPath nlri.AddPath
	// Faults lists every fault found while decoding, in the order found.
	// The error DecodeUpdate returns is the worst of them.
	Faults []*fault.Error

	// action is the worst fault's action; withdraw is set when any fault
	// calls for treat-as-withdraw. Reach and Unreach obey both.
	action   fault.Action
	withdraw bool
	// disabled are the families whose NLRI are dropped (AFI/SAFI disable).
	disabled []nlri.Family
	// mp caches the decoded NLRI of MP attributes of families other than
	// unicast, so that Reach and Unreach do not decode them twice.
	mp []mpCache
}

// mpCache is the decoded NLRI field of one MP_REACH_NLRI or MP_UNREACH_NLRI.
type mpCache struct {
	raw    []byte
	routes []nlri.NLRI
}

// Type returns iana.MsgUpdate.
func (*Update) Type() iana.MsgType { return iana.MsgUpdate }

// Route is one route of an UPDATE as Reach and Unreach give it. For the
// prefix families (IPv4/IPv6 unicast and multicast) Prefix holds it and NLRI
// is nil, so that walking them never allocates; for the others NLRI holds it.
type Route struct {
	Family nlri.Family
	Prefix nlri.Prefix
	NLRI   nlri.NLRI
}

// String is the route's text form.
func (r Route) String() string {
	if r.NLRI != nil {
		return r.NLRI.String()
	}
	return r.Prefix.String()
}

// isPrefixFamily reports whether NLRI of f are bare prefixes that nlri.Iter
// walks: IPv4 and IPv6 unicast and multicast.
func isPrefixFamily(f nlri.Family) bool {
	return (f.AFI == iana.AFIIPv4 || f.AFI == iana.AFIIPv6) &&
		(f.SAFI == iana.SAFIUnicast || f.SAFI == iana.SAFIMulticast)
}

// DecodeUpdate decodes an UPDATE body (after the header) and applies the
// error handling of RFC 7606 (see the table in doc.go). It does not
// allocate per prefix of the prefix families; NLRI of other families in
// MP_REACH_NLRI / MP_UNREACH_NLRI are decoded once here and cached.
//
// The result aliases body (see Update). Every fault is in Update.Faults;
// the returned error is the worst one. The Update is returned with the error
// when its action lets the session carry on (attribute discard,
// treat-as-withdraw, AFI/SAFI disable): Reach and Unreach then give what to
// install and what to remove. On session reset it is nil.
func DecodeUpdate(body []byte, opt Options) (*Update, error) { return decodeUpdate(body, opt, nil) }

// UpdateDecoder decodes UPDATEs into memory it reuses after Reset: a
// reader that hands a batch of UPDATEs to a consumer that keeps nothing
// of them once it returns (peer.Handler's contract) decodes a full table
// without leaving garbage per message for the collector. The Updates it
// returns are valid until Reset.
type UpdateDecoder struct {
	slots []*updateSlot
	n     int
}

type updateSlot struct {
	u     Update
	attrs attr.Scratch
}

// Decode is DecodeUpdate into the decoder's memory.
func (d *UpdateDecoder) Decode(body []byte, opt Options) (*Update, error) {
	if d.n == len(d.slots) {
		d.slots = append(d.slots, new(updateSlot))
	}
	s := d.slots[d.n]
	d.n++
	return decodeUpdate(body, opt, s)
}

// Reset makes the memory of every Update decoded so far available again;
// they must not be used afterwards.
func (d *UpdateDecoder) Reset() { d.n = 0 }

func decodeUpdate(body []byte, opt Options, slot *updateSlot) (*Update, error) {
	// RFC 4271 §6.3 and RFC 7606 §4: the two length fields must fit the
	// message, otherwise nothing can be located.
	if len(body) < 4 {
		return nil, fault.Update(fault.SessionReset, iana.UpdateMalformedAttributeList, nil,
			"UPDATE body of %d octets, need 4", len(body))
	}
	wlen := int(binary.BigEndian.Uint16(body))
	if 2+wlen+2 > len(body) {
		return nil, fault.Update(fault.SessionReset, iana.UpdateMalformedAttributeList, nil,
			"withdrawn routes length %d overruns the %d-octet body", wlen, len(body))
	}
	alen := int(binary.BigEndian.Uint16(body[2+wlen:]))
	if 4+wlen+alen > len(body) {
		return nil, fault.Update(fault.SessionReset, iana.UpdateMalformedAttributeList, nil,
			"withdrawn routes length %d and total path attribute length %d overrun the %d-octet body", wlen, alen, len(body))
	}
	var u *Update
	if slot != nil {
		u = &slot.u
	} else {
		u = new(Update)
	}
	*u = Update{
		Withdrawn: body[2 : 2+wlen],
		RawAttrs:  body[4+wlen : 4+wlen+alen],
		NLRI:      body[4+wlen+alen:],
		AddPath:   opt.AddPath,
	}
	if len(u.RawAttrs) == 0 {
		u.RawAttrs = nil
	}

	// RFC 7606 §5.3: a classic field that does not parse resets the
	// session; there is no way to know which routes it carried.
	ap4 := opt.AddPath.Has(nlri.IPv4Unicast)
	if _, err := nlri.Count(u.Withdrawn, iana.AFIIPv4, ap4); err != nil {
		return nil, err
	}
	if _, err := nlri.Count(u.NLRI, iana.AFIIPv4, ap4); err != nil {
		return nil, err
	}

	var attrs attr.List
	var faults []*fault.Error
	if slot != nil {
		attrs, faults = attr.DecodeScratch(u.RawAttrs, attr.Options{AS4: opt.AS4}, &slot.attrs)
	} else {
		attrs, faults = attr.Decode(u.RawAttrs, attr.Options{AS4: opt.AS4})
	}
	u.Attrs = attrs
	u.Faults = faults
	for _, f := range faults {
		if f.Action == fault.AFISAFIDisable && (f.Attr == iana.AttrMPReachNLRI || f.Attr == iana.AttrMPUnreachNLRI) {
			// The attribute decoder refused an MP attribute but left
			// the session up: find the family in the attribute it
			// quotes, or escalate when even that is unreadable.
			fam, ok := attr.FaultFamily(f)
			if !ok {
				return nil, escalate(f, "MP attribute too short to name its address family")
			}
			u.disable(fam)
		}
	}
	if w := fault.Worst(u.Faults); w != nil && w.Action == fault.SessionReset {
		return nil, w
	}

	u.checkMP()
	u.checkMandatory()

	w := fault.Worst(u.Faults)
	if w == nil {
		return u, nil
	}
	u.action = w.Action
	if w.Action == fault.SessionReset {
		return nil, w
	}
	for _, f := range u.Faults {
		if f.Action == fault.TreatAsWithdraw {
			u.withdraw = true
		}
	}
	return u, w
}

// escalate turns f into a session reset with the given reason.
func escalate(f *fault.Error, reason string) *fault.Error {
	e := *f
	e.Action = fault.SessionReset
	e.Reason = f.Reason + "; " + reason
	return &e
}

func (u *Update) disable(f nlri.Family) {
	if !u.isDisabled(f) {
		u.disabled = append(u.disabled, f)
	}
}

func (u *Update) isDisabled(f nlri.Family) bool {
	for _, g := range u.disabled {
		if g == f {
			return true
		}
	}
	return false
}

// Disabled lists the families the UPDATE asks to disable (RFC 4760 §7,
// RFC 7606 §7.11): their routes are left out of Reach and Unreach.
func (u *Update) Disabled() []nlri.Family { return u.disabled }

// checkMP validates the NLRI fields of MP_REACH_NLRI and MP_UNREACH_NLRI
// (attr.Decode checked the rest of them, next hop length included). A fault
// there disables the family (RFC 7606 §7.11, §5.3): the attribute is
// located and the other families are unaffected.
func (u *Update) checkMP() {
	for _, a := range u.Attrs {
		var fam nlri.Family
		var field []byte
		switch a := a.(type) {
		case *attr.MPReach:
			fam, field = a.Family, a.NLRI
		case *attr.MPUnreach:
			fam, field = a.Family, a.NLRI
		default:
			continue
		}
		if u.isDisabled(fam) {
			continue
		}
		ap := u.AddPath.Has(fam)
		var err error
		if isPrefixFamily(fam) {
			_, err = nlri.Count(field, fam.AFI, ap)
		} else if len(field) > 0 {
			var routes []nlri.NLRI
			routes, err = nlri.Decode(fam, field, ap)
			if err == nil {
				u.mp = append(u.mp, mpCache{raw: field, routes: routes})
			}
		}
		if err != nil {
			f := fault.As(err)
			if f == nil {
				f = fault.Update(fault.SessionReset, iana.UpdateInvalidNetworkField, nil, "%s", err)
			}
			d := *f
			d.Action = fault.AFISAFIDisable
			d.Attr = a.Code()
			d.Reason = fam.String() + ": " + f.Reason
			u.Faults = append(u.Faults, &d)
			u.disable(fam)
		}
	}
}

// checkMandatory applies RFC 7606 §3 (d): ORIGIN and AS_PATH must be there
// when the UPDATE carries reachability, and NEXT_HOP too when that is in the
// NLRI field (RFC 4760 §3 makes it optional for MP_REACH_NLRI). A missing
// one makes the UPDATE treat-as-withdraw. Attributes already reported as
// faulty are not reported again as missing.
func (u *Update) checkMandatory() {
	classic := len(u.NLRI) > 0
	mp := false
	for _, a := range u.Attrs {
		if r, ok := a.(*attr.MPReach); ok && len(r.NLRI) > 0 && !u.isDisabled(r.Family) {
			mp = true
		}
	}
	if !classic && !mp {
		return
	}
	need := [3]iana.AttrCode{iana.AttrOrigin, iana.AttrASPath, iana.AttrNextHop}
	n := 2
	if classic {
		n = 3
	}
	for _, code := range need[:n] {
		if u.hasAttr(code) || u.faulted(code) {
			continue
		}
		// RFC 4271 §6.3: the data is the missing attribute's type code.
		u.Faults = append(u.Faults, fault.Attribute(fault.TreatAsWithdraw, iana.UpdateMissingWellKnownAttribute,
			code, []byte{byte(code)}, "%s missing", code))
	}
}

func (u *Update) hasAttr(code iana.AttrCode) bool {
	for _, a := range u.Attrs {
		if a.Code() == code {
			return true
		}
	}
	return false
}

func (u *Update) faulted(code iana.AttrCode) bool {
	for _, f := range u.Faults {
		if f.Attr == code {
			return true
		}
	}
	return false
}

// Action is the RFC 7606 outcome of the UPDATE: the worst fault's action,
// fault.None when there is none.
func (u *Update) Action() fault.Action { return u.action }

// Reach iterates the routes the UPDATE announces: the NLRI field (IPv4
// unicast), then the NLRI of each MP_REACH_NLRI. Routes of disabled families
// are left out, and nothing is announced when the UPDATE is to be treated
// as a withdrawal (Unreach then gives its routes). Walking the prefix
// families does not allocate.
func (u *Update) Reach() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		if u.withdraw || u.action == fault.SessionReset {
			return
		}
		u.walkReach(yield)
	}
}

// Unreach iterates the routes the UPDATE withdraws: the Withdrawn Routes
// field, then the NLRI of each MP_UNREACH_NLRI, and, when the UPDATE is
// treated as a withdrawal (RFC 7606 §2), everything Reach would otherwise
// have announced. Routes of disabled families are left out.
func (u *Update) Unreach() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		if u.action == fault.SessionReset {
			return
		}
		if !u.isDisabled(nlri.IPv4Unicast) && !walkPrefixes(nlri.IPv4Unicast, u.Withdrawn, u.AddPath.Has(nlri.IPv4Unicast), yield) {
			return
		}
		for _, a := range u.Attrs {
			if m, ok := a.(*attr.MPUnreach); ok && !u.walkMP(m.Family, m.NLRI, yield) {
				return
			}
		}
		if u.withdraw {
			u.walkReach(yield)
		}
	}
}

func (u *Update) walkReach(yield func(Route) bool) {
	if !u.isDisabled(nlri.IPv4Unicast) && !walkPrefixes(nlri.IPv4Unicast, u.NLRI, u.AddPath.Has(nlri.IPv4Unicast), yield) {
		return
	}
	for _, a := range u.Attrs {
		if m, ok := a.(*attr.MPReach); ok && !u.walkMP(m.Family, m.NLRI, yield) {
			return
		}
	}
}

// walkMP yields the routes of one MP attribute's NLRI field; it returns
// false when yield asked to stop.
func (u *Update) walkMP(fam nlri.Family, field []byte, yield func(Route) bool) bool {
	if len(field) == 0 || u.isDisabled(fam) {
		return true
	}
	ap := u.AddPath.Has(fam)
	if isPrefixFamily(fam) {
		return walkPrefixes(fam, field, ap, yield)
	}
	var routes []nlri.NLRI
	cached := false
	for _, c := range u.mp {
		if len(c.raw) == len(field) && &c.raw[0] == &field[0] {
			routes, cached = c.routes, true
			break
		}
	}
	if !cached {
		// Built in memory or changed since decoding: decode now, and
		// give nothing for a field that does not parse.
		var err error
		if routes, err = nlri.Decode(fam, field, ap); err != nil {
			return true
		}
	}
	for _, r := range routes {
		if !yield(Route{Family: fam, NLRI: r}) {
			return false
		}
	}
	return true
}

// walkPrefixes yields the prefixes of a prefix-family field; a malformed
// tail (only possible for a field changed after decoding) ends the walk.
func walkPrefixes(fam nlri.Family, field []byte, addPath bool, yield func(Route) bool) bool {
	if fam.AFI == iana.AFIIPv4 {
		return walkIPv4(fam, field, addPath, yield)
	}
	it := nlri.NewIter(field, fam.AFI, addPath)
	for it.Next() {
		if !yield(Route{Family: fam, Prefix: it.Prefix()}) {
			return false
		}
	}
	return true
}

// walkIPv4 is walkPrefixes for IPv4, through IPv4Cursor, building the
// Route in place. It gives the same prefixes as nlri.Iter, bits past the
// length in the last octet included.
func walkIPv4(fam nlri.Family, field []byte, addPath bool, yield func(Route) bool) bool {
	r := Route{Family: fam}
	c := IPv4Cursor{Field: field, AddPath: addPath}
	for {
		v, bits, id, ok := c.Next()
		if !ok {
			return true
		}
		r.Prefix = nlri.Prefix{Prefix: IPv4Prefix(v, bits), PathID: id}
		if !yield(r) {
			return false
		}
	}
}

// IPv4Cursor reads the prefixes of an IPv4 NLRI field (RFC 4271 §4.3,
// with RFC 7911 path identifiers when AddPath is set) one at a time, as
// numbers: the hot path of a full table, which needs neither a
// netip.Prefix nor a call per prefix through an iterator. A decoded
// UPDATE's fields were checked when it was decoded; on a field that was
// not, Next stops at the first malformed prefix, as nlri.Iter does.
type IPv4Cursor struct {
	Field   []byte
	AddPath bool
	off     int
}

// Next returns the next prefix: its address as a big-endian number with
// the octets past the length zero (bits past the length in the last
// octet are as received), its length and its path identifier (0 without
// ADD-PATH). ok is false at the end of the field.
func (c *IPv4Cursor) Next() (addr uint32, bits int, id uint32, ok bool) {
	field, off := c.Field, c.off
	if off >= len(field) {
		return 0, 0, 0, false
	}
	if c.AddPath {
		if len(field)-off < 5 {
			c.off = len(field)
			return 0, 0, 0, false
		}
		id = binary.BigEndian.Uint32(field[off:])
		off += 4
	}
	bits = int(field[off])
	n := (bits + 7) >> 3
	if bits > 32 || off+1+n > len(field) {
		c.off = len(field)
		return 0, 0, 0, false
	}
	var v uint32
	if off+5 <= len(field) {
		// Octets past the prefix belong to the next entry: keep the
		// first n of the word.
		if n > 0 {
			v = binary.BigEndian.Uint32(field[off+1:]) & ^(^uint32(0) >> (8 * n))
		}
	} else {
		for i := 0; i < n; i++ {
			v |= uint32(field[off+1+i]) << (24 - 8*i)
		}
	}
	c.off = off + 1 + n
	return v, bits, id, true
}

// IPv4Prefix is the prefix of an address and length as IPv4Cursor.Next
// returns them.
func IPv4Prefix(addr uint32, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}), bits)
}

// ReachIPv4 returns the NLRI field and whether its prefixes carry path
// identifiers when everything the UPDATE announces is in that field (IPv4
// unicast, enabled, and no MP_REACH_NLRI with NLRI): Reach would
// then give exactly the field's prefixes, which an IPv4Cursor reads
// faster. ok is false otherwise, and when the UPDATE announces nothing
// (treated as a withdrawal, or an empty field).
func (u *Update) ReachIPv4() (field []byte, addPath, ok bool) {
	if u.withdraw || u.action == fault.SessionReset || len(u.NLRI) == 0 || u.isDisabled(nlri.IPv4Unicast) {
		return nil, false, false
	}
	for _, a := range u.Attrs {
		if m, isMP := a.(*attr.MPReach); isMP && len(m.NLRI) > 0 {
			return nil, false, false
		}
	}
	return u.NLRI, u.AddPath.Has(nlri.IPv4Unicast), true
}

// EndOfRIB reports whether the UPDATE is an End-of-RIB marker and for which
// family (RFC 4724 §2): an UPDATE with nothing in it is IPv4 unicast's; one
// whose only content is an MP_UNREACH_NLRI without NLRI is its family's.
func (u *Update) EndOfRIB() (nlri.Family, bool) {
	if len(u.Withdrawn) != 0 || len(u.NLRI) != 0 {
		return nlri.Family{}, false
	}
	switch len(u.Attrs) {
	case 0:
		if len(u.RawAttrs) == 0 && len(u.Faults) == 0 {
			return nlri.IPv4Unicast, true
		}
	case 1:
		if m, ok := u.Attrs[0].(*attr.MPUnreach); ok && len(m.NLRI) == 0 {
			return m.Family, true
		}
	}
	return nlri.Family{}, false
}

// AppendTo appends the whole UPDATE: the raw classic fields and the
// attributes encoded from Attrs.
func (u *Update) AppendTo(b []byte, opt Options) []byte {
	start := len(b)
	b = appendHeader(b, iana.MsgUpdate)
	b = binary.BigEndian.AppendUint16(b, uint16(len(u.Withdrawn)))
	b = append(b, u.Withdrawn...)
	at := len(b)
	b = append(b, 0, 0)
	b = attr.AppendList(b, u.Attrs, attr.Options{AS4: opt.AS4})
	binary.BigEndian.PutUint16(b[at:], uint16(len(b)-at-2))
	b = append(b, u.NLRI...)
	return finish(b, start)
}

// Clone returns a copy that shares no memory with the buffer the UPDATE was
// decoded from: the raw fields are copied into one new buffer. The
// attributes are shared by pointer, as attribute values always are (they
// never alias the received buffer, and are not mutated once decoded); the
// list itself is a new slice. For an UpdateDecoder's Update those values
// are the decoder's, valid until its Reset (see Update).
func (u *Update) Clone() *Update {
	c := *u
	buf := make([]byte, 0, len(u.Withdrawn)+len(u.NLRI)+len(u.RawAttrs))
	buf = append(buf, u.Withdrawn...)
	buf = append(buf, u.RawAttrs...)
	buf = append(buf, u.NLRI...)
	w, a := len(u.Withdrawn), len(u.RawAttrs)
	c.Withdrawn = buf[:w:w]
	c.RawAttrs = buf[w : w+a : w+a]
	c.NLRI = buf[w+a:]
	if u.Withdrawn == nil {
		c.Withdrawn = nil
	}
	if u.RawAttrs == nil {
		c.RawAttrs = nil
	}
	if u.NLRI == nil {
		c.NLRI = nil
	}
	c.Attrs = append(attr.List(nil), u.Attrs...)
	c.Faults = append([]*fault.Error(nil), u.Faults...)
	c.disabled = append([]nlri.Family(nil), u.disabled...)
	c.mp = append([]mpCache(nil), u.mp...)
	return &c
}
