package crosscheck

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Flags, all optional: go test ./wire/crosscheck/ -args -crosscheck.seed=7
var (
	seedFlag   = flag.Int64("crosscheck.seed", 4271, "seed of the UPDATE generator")
	countFlag  = flag.Int("crosscheck.n", 0, "number of UPDATE messages to generate (0: 3000, 300 with -short)")
	exabgpFlag = flag.Int("crosscheck.exabgp", 0, "number of messages ExaBGP decodes (0: 300, 40 with -short)")
	pcapFlag   = flag.String("crosscheck.pcap", "", "also write the tshark capture to this file, for a look in Wireshark")
)

// session is what the generated messages assume was negotiated: 4-octet AS
// numbers, no ADD-PATH, 4096-octet messages.
var session = wire.Options{AS4: true}

// group is one call of the encoder: a NewUpdate (one message) or a Packer
// run (as many messages as the routes need).
type group struct {
	id   int
	kind string
	msgs [][]byte // whole messages, header included
	// want is what was encoded: for a Packer run the routes of all its
	// messages in order, and the attributes of its announcing messages.
	want view
}

// corpus is the generated set; it is built once per test binary, since the
// three cross-checks read the same messages.
type corpus struct {
	seed   int64
	groups []*group
	msgs   []corpusMsg // every message of every group, in order
}

// corpusMsg is one message and the group it came from.
type corpusMsg struct {
	raw   []byte
	group *group
}

var (
	corpusOnce sync.Once
	theCorpus  *corpus
	corpusErr  error
)

// messageCount is the number of messages the tests generate.
func messageCount() int {
	switch {
	case *countFlag > 0:
		return *countFlag
	case testing.Short():
		return 300
	}
	return 3000
}

// getCorpus generates the messages once; every test shares them.
func getCorpus(t *testing.T) *corpus {
	t.Helper()
	corpusOnce.Do(func() {
		theCorpus, corpusErr = generate(*seedFlag, messageCount())
	})
	if corpusErr != nil {
		t.Fatalf("generating UPDATEs (seed %d): %v", *seedFlag, corpusErr)
	}
	return theCorpus
}

// generate makes groups until there are at least n messages.
func generate(seed int64, n int) (*corpus, error) {
	g := &gen{r: rand.New(rand.NewSource(seed))}
	c := &corpus{seed: seed}
	for id := 0; len(c.msgs) < n; id++ {
		gr, err := g.group(id)
		if err != nil {
			return nil, fmt.Errorf("group %d (%s): %w", id, gr.kind, err)
		}
		c.groups = append(c.groups, gr)
		for _, m := range gr.msgs {
			c.msgs = append(c.msgs, corpusMsg{raw: m, group: gr})
		}
	}
	return c, nil
}

// gen draws everything from one math/rand source, so that a seed always
// gives the same messages (math/rand's seeded sequence is stable across Go
// releases).
type gen struct {
	r *rand.Rand
}

// kinds are the generator's branches with their weights.
var kinds = []struct {
	name   string
	weight int
}{
	{"ipv4", 30},
	{"ipv4-withdraw", 5},
	{"ipv6", 20},
	{"ipv6-withdraw", 4},
	{"mixed", 8},
	{"vpnv4", 8},
	{"vpnv4-withdraw", 2},
	{"evpn", 10},
	{"evpn-withdraw", 2},
	{"packer-ipv4", 2},
	{"packer-ipv6", 2},
}

func (g *gen) kind() string {
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	x := g.r.Intn(total)
	for _, k := range kinds {
		if x < k.weight {
			return k.name
		}
		x -= k.weight
	}
	panic("unreachable")
}

// group makes one group of the kind the dice choose.
func (g *gen) group(id int) (*group, error) {
	gr := &group{id: id, kind: g.kind()}
	var (
		attrs              attr.List
		withdraw, announce []nlri.NLRI
		seen               = map[string]bool{}
	)
	// add appends routes made by mk until n distinct ones are there.
	add := func(list *[]nlri.NLRI, n int, mk func() nlri.NLRI) {
		for i := 0; len(*list) < n && i < 4*n; i++ {
			r := mk()
			if k := r.String(); !seen[k] {
				seen[k] = true
				*list = append(*list, r)
			}
		}
	}
	some := func() int { return 1 + g.r.Intn(50) }
	maybe := func(p float64) bool { return g.r.Float64() < p }

	switch gr.kind {
	case "ipv4":
		attrs = g.attrs(true)
		add(&announce, some(), g.ipv4)
		if maybe(0.3) {
			add(&withdraw, some(), g.ipv4)
		}
	case "ipv4-withdraw":
		add(&withdraw, some(), g.ipv4)
	case "ipv6":
		attrs = append(g.attrs(maybe(0.2)), g.mpReach(nlri.IPv6Unicast))
		add(&announce, some(), g.ipv6)
		if maybe(0.3) {
			add(&withdraw, some(), g.ipv6)
		}
	case "ipv6-withdraw":
		add(&withdraw, some(), g.ipv6)
	case "mixed":
		// IPv4 in the classic fields and IPv6 in the MP attributes of one
		// message.
		attrs = append(g.attrs(true), g.mpReach(nlri.IPv6Unicast))
		add(&announce, some(), g.ipv4)
		add(&announce, len(announce)+some(), g.ipv6)
		add(&withdraw, g.r.Intn(10), g.ipv4)
		add(&withdraw, len(withdraw)+g.r.Intn(10), g.ipv6)
	case "vpnv4":
		attrs = append(g.attrs(false), g.mpReach(nlri.IPv4VPN))
		add(&announce, some(), func() nlri.NLRI { return g.vpn(false) })
		if maybe(0.3) {
			add(&withdraw, some(), func() nlri.NLRI { return g.vpn(true) })
		}
	case "vpnv4-withdraw":
		add(&withdraw, some(), func() nlri.NLRI { return g.vpn(true) })
	case "evpn":
		attrs = append(g.attrs(false), g.mpReach(nlri.L2VPNEVPN))
		add(&announce, some(), g.evpn)
		if maybe(0.3) {
			add(&withdraw, some(), g.evpn)
		}
	case "evpn-withdraw":
		add(&withdraw, some(), g.evpn)
	case "packer-ipv4", "packer-ipv6":
		return g.packer(gr)
	}
	attrs = g.maybeExtCommunities(attrs, gr.kind)

	// Halve the routes until the message fits in 4096 octets.
	for {
		u, err := wire.NewUpdate(attrs, withdraw, announce, session)
		if err != nil {
			return gr, err
		}
		b, err := wire.Append(nil, u, session)
		if err == nil {
			gr.msgs = [][]byte{b}
			gr.want = modelView(attrs, withdraw, announce)
			return gr, nil
		}
		if len(announce) <= 1 && len(withdraw) <= 1 {
			return gr, err
		}
		announce = announce[:(len(announce)+1)/2]
		withdraw = withdraw[:len(withdraw)/2]
	}
}

// packer runs a Packer over 200 to 1200 routes of one family, many more
// than the 1 to 50 of the other groups, so that it has to split them
// across messages, then withdraws up to 400 more.
func (g *gen) packer(gr *group) (*group, error) {
	v6 := gr.kind == "packer-ipv6"
	attrs := g.attrs(true)
	mk := g.ipv4
	if v6 {
		attrs = append(attrs, g.mpReach(nlri.IPv6Unicast))
		mk = g.ipv6
	}
	seen := map[string]bool{}
	var announce, withdraw []nlri.NLRI
	for n := 200 + g.r.Intn(1000); len(announce) < n; {
		if r := mk(); !seen[r.String()] {
			seen[r.String()] = true
			announce = append(announce, r)
		}
	}
	for n := g.r.Intn(400); len(withdraw) < n; {
		if r := mk(); !seen[r.String()] {
			seen[r.String()] = true
			withdraw = append(withdraw, r)
		}
	}
	p := wire.NewPacker(session)
	p.SetAttrs(attrs)
	for _, r := range announce {
		if err := p.Announce(r.(nlri.Prefix)); err != nil {
			return gr, err
		}
	}
	for _, r := range withdraw {
		if err := p.Withdraw(r.(nlri.Prefix)); err != nil {
			return gr, err
		}
	}
	out := append([]byte(nil), p.Bytes()...)
	for len(out) > 0 {
		if len(out) < wire.HeaderLen {
			return gr, fmt.Errorf("packer left %d octets", len(out))
		}
		n := int(binary.BigEndian.Uint16(out[16:18]))
		if n < wire.HeaderLen || n > len(out) {
			return gr, fmt.Errorf("packer wrote a message of length %d with %d octets left", n, len(out))
		}
		gr.msgs = append(gr.msgs, out[:n:n])
		out = out[n:]
	}
	if v6 {
		// RFC 4760 §3: the Packer leaves NEXT_HOP out of MP_REACH_NLRI
		// UPDATEs.
		attrs = attrs.Delete(iana.AttrNextHop)
	}
	gr.want = modelView(attrs, withdraw, announce)
	return gr, nil
}

// attrs draws the path attributes other than MP_REACH_NLRI, in type code
// order: ORIGIN and AS_PATH always, NEXT_HOP when nextHop is set, the rest
// by chance. EXTENDED_COMMUNITIES and LARGE_COMMUNITY are added by
// maybeExtCommunities, after the MP attributes.
func (g *gen) attrs(nextHop bool) attr.List {
	maybe := func(p float64) bool { return g.r.Float64() < p }
	l := attr.List{
		&attr.Origin{Value: attr.OriginCode(g.r.Intn(3))},
		g.asPath(),
	}
	if nextHop {
		l = append(l, &attr.NextHop{Addr: g.ipv4Addr()})
	}
	if maybe(0.5) {
		l = append(l, &attr.MED{Value: g.u32()})
	}
	if maybe(0.5) {
		l = append(l, &attr.LocalPref{Value: g.u32()})
	}
	if maybe(0.2) {
		l = append(l, &attr.AtomicAggregate{})
	}
	if maybe(0.2) {
		l = append(l, &attr.Aggregator{AS: g.asn(), Addr: g.ipv4Addr()})
	}
	if maybe(0.4) {
		c := &attr.Communities{}
		for n := g.listLen(10, 64, 120); len(c.Values) < n; {
			v := g.r.Uint32()
			if maybe(0.1) {
				v = wellKnown[g.r.Intn(len(wellKnown))]
			}
			c.Values = append(c.Values, v)
		}
		l = append(l, c)
	}
	if maybe(0.2) {
		l = append(l, &attr.OriginatorID{ID: g.ipv4Addr()})
	}
	if maybe(0.2) {
		c := &attr.ClusterList{}
		for n := 1 + g.r.Intn(5); len(c.IDs) < n; {
			c.IDs = append(c.IDs, g.ipv4Addr())
		}
		l = append(l, c)
	}
	if maybe(0.3) {
		c := &attr.LargeCommunities{}
		for n := g.listLen(5, 22, 40); len(c.Values) < n; {
			c.Values = append(c.Values, attr.LargeCommunity{Global: g.asn(), Local1: g.u32(), Local2: g.u32()})
		}
		l = append(l, c)
	}
	return l
}

// listLen is the length of a list attribute: 1 to short mostly, and now
// and then long to long2, enough for a value of more than 255 octets (the
// extended length).
func (g *gen) listLen(short, long, long2 int) int {
	if g.r.Intn(50) == 0 {
		return long + g.r.Intn(long2-long+1)
	}
	return 1 + g.r.Intn(short)
}

// wellKnown are communities a decoder may print by name.
var wellKnown = []uint32{
	attr.CommunityNoExport, attr.CommunityNoAdvertise, attr.CommunityNoExportSubconfed,
	attr.CommunityNoPeer, attr.CommunityBlackhole, attr.CommunityGracefulShutdown,
	attr.CommunityAcceptOwn, attr.CommunityLLGRStale, attr.CommunityNoLLGR,
}

// maybeExtCommunities adds EXTENDED_COMMUNITIES (route targets and route
// origins of the three administrator forms) to announcing groups: most
// VPN and EVPN ones, some of the others.
func (g *gen) maybeExtCommunities(l attr.List, kind string) attr.List {
	p := 0.3
	switch kind {
	case "vpnv4", "evpn":
		p = 0.9
	case "ipv4-withdraw", "ipv6-withdraw", "vpnv4-withdraw", "evpn-withdraw":
		return l
	}
	if g.r.Float64() >= p {
		return l
	}
	c := &attr.ExtCommunities{}
	for n := 1 + g.r.Intn(5); len(c.Values) < n; {
		origin := g.r.Intn(5) == 0
		var e attr.ExtCommunity
		switch k := g.r.Intn(3); {
		case k == 0 && origin:
			e = attr.NewRouteOriginAS2(uint16(1+g.r.Intn(65535)), g.r.Uint32())
		case k == 0:
			e = attr.NewRouteTargetAS2(uint16(1+g.r.Intn(65535)), g.r.Uint32())
		case k == 1 && origin:
			e = attr.NewRouteOriginIPv4(g.ipv4Addr(), uint16(g.r.Intn(65536)))
		case k == 1:
			e = attr.NewRouteTargetIPv4(g.ipv4Addr(), uint16(g.r.Intn(65536)))
		case origin:
			e = attr.NewRouteOriginAS4(g.asn4(), uint16(g.r.Intn(65536)))
		default:
			e = attr.NewRouteTargetAS4(g.asn4(), uint16(g.r.Intn(65536)))
		}
		c.Values = append(c.Values, e)
	}
	// Keep type code order: EXTENDED_COMMUNITIES (16) before
	// LARGE_COMMUNITY (32). (NewUpdate puts MP_REACH_NLRI first.)
	for i, a := range l {
		if a.Code() == iana.AttrLargeCommunities {
			return slices.Insert(l, i, attr.Attr(c))
		}
	}
	return append(l, c)
}

// asPath draws 1 to 4 segments of AS_SEQUENCE and AS_SET, 1 to 10 AS
// numbers each, now and then a long AS_SEQUENCE (64 to 255 AS numbers,
// a value of more than 255 octets), and now and then the empty path of an
// iBGP route.
func (g *gen) asPath() *attr.ASPath {
	p := &attr.ASPath{}
	if g.r.Intn(20) == 0 {
		return p
	}
	for n := 1 + g.r.Intn(4); len(p.Segments) < n; {
		s := attr.Segment{Type: iana.SegmentASSequence}
		if g.r.Intn(4) == 0 {
			s.Type = iana.SegmentASSet
		}
		k := 1 + g.r.Intn(10)
		if s.Type == iana.SegmentASSequence && g.r.Intn(30) == 0 {
			k = 64 + g.r.Intn(192)
		}
		for len(s.ASNs) < k {
			s.ASNs = append(s.ASNs, g.asn())
		}
		p.Segments = append(p.Segments, s)
	}
	return p
}

// asn is a non-zero AS number, 2-octet or 4-octet as often (AS_TRANS
// left out: it only stands in for another number).
func (g *gen) asn() uint32 {
	if g.r.Intn(2) == 0 {
		for {
			if a := uint32(1 + g.r.Intn(65535)); a != attr.ASTrans {
				return a
			}
		}
	}
	return g.asn4()
}

// asn4 is an AS number that needs four octets.
func (g *gen) asn4() uint32 { return 65536 + uint32(g.r.Int63n(1<<32-65536)) }

// u32 is a 32-bit value, small or large as often.
func (g *gen) u32() uint32 {
	if g.r.Intn(2) == 0 {
		return uint32(g.r.Intn(1000))
	}
	return g.r.Uint32()
}

// ipv4Addr is a unicast-looking IPv4 address (1.0.0.0 to 223.255.255.255).
func (g *gen) ipv4Addr() netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], g.r.Uint32())
	a[0] = byte(1 + g.r.Intn(223))
	return netip.AddrFrom4(a)
}

// ipv6Addr is a global IPv6 address, in 2001:db8::/32 half the time.
func (g *gen) ipv6Addr() netip.Addr {
	var a [16]byte
	g.r.Read(a[:])
	a[0] = 0x20 | a[0]&0x1f
	if g.r.Intn(2) == 0 {
		copy(a[:4], []byte{0x20, 0x01, 0x0d, 0xb8})
	}
	return netip.AddrFrom16(a)
}

// linkLocal is an address in fe80::/64.
func (g *gen) linkLocal() netip.Addr {
	var a [16]byte
	g.r.Read(a[8:])
	a[0], a[1] = 0xfe, 0x80
	return netip.AddrFrom16(a)
}

// prefixBits draws a prefix length up to max, most of them in the range
// routing tables are full of.
func (g *gen) prefixBits(max int) int {
	if g.r.Intn(10) == 0 {
		return g.r.Intn(max + 1)
	}
	if max == 32 {
		return 16 + g.r.Intn(17)
	}
	return 32 + g.r.Intn(97)
}

func (g *gen) ipv4Prefix() netip.Prefix {
	return netip.PrefixFrom(g.ipv4Addr(), g.prefixBits(32)).Masked()
}

func (g *gen) ipv6Prefix() netip.Prefix {
	return netip.PrefixFrom(g.ipv6Addr(), g.prefixBits(128)).Masked()
}

func (g *gen) ipv4() nlri.NLRI { return nlri.Prefix{Prefix: g.ipv4Prefix()} }
func (g *gen) ipv6() nlri.NLRI { return nlri.Prefix{Prefix: g.ipv6Prefix()} }

// mpReach is an MP_REACH_NLRI that only carries the next hop of f: IPv6
// global, or global and link-local, for IPv6 unicast; IPv4 (with the zero
// RD) for VPN-IPv4; IPv4 or IPv6 for EVPN.
func (g *gen) mpReach(f nlri.Family) *attr.MPReach {
	switch f {
	case nlri.IPv6Unicast:
		var ll netip.Addr
		if g.r.Intn(2) == 0 {
			ll = g.linkLocal()
		}
		return attr.NewMPReach(f, g.ipv6Addr(), ll, nil)
	case nlri.L2VPNEVPN:
		if g.r.Intn(4) == 0 {
			return attr.NewMPReach(f, g.ipv6Addr(), netip.Addr{}, nil)
		}
	}
	return attr.NewMPReach(f, g.ipv4Addr(), netip.Addr{}, nil)
}

// rd is a route distinguisher of type 0, 1 or 2. Type 2 gets an AS number
// above 65535, since in text it is otherwise the same as type 0.
func (g *gen) rd() nlri.RD {
	var v [6]byte
	switch t := uint16(g.r.Intn(3)); t {
	case 0:
		binary.BigEndian.PutUint16(v[:], uint16(1+g.r.Intn(65535)))
		binary.BigEndian.PutUint32(v[2:], g.u32())
		return nlri.NewRD(t, v)
	case 1:
		a := g.ipv4Addr().As4()
		copy(v[:], a[:])
		binary.BigEndian.PutUint16(v[4:], uint16(g.r.Intn(65536)))
		return nlri.NewRD(t, v)
	default:
		binary.BigEndian.PutUint32(v[:], g.asn4())
		binary.BigEndian.PutUint16(v[4:], uint16(g.r.Intn(65536)))
		return nlri.NewRD(t, v)
	}
}

// label is an MPLS label field with a label value above the reserved
// range and the bottom-of-stack bit set.
func (g *gen) label() nlri.Label { return nlri.NewLabel(16+uint32(g.r.Intn(1<<20-16)), true) }

// vpn is a VPN-IPv4 route with one label; a withdrawal carries the label
// RFC 8277 §2.4 says to send, or (as RFC 3107 speakers do) any label.
func (g *gen) vpn(withdraw bool) nlri.NLRI {
	l := g.label()
	if withdraw && g.r.Intn(2) == 0 {
		l = nlri.WithdrawLabel
	}
	return nlri.VPN{Labels: []nlri.Label{l}, RD: g.rd(), Prefix: g.ipv4Prefix()}
}

// esi is the zero ESI (single-homed) half the time, otherwise a type 0
// ESI with random octets.
func (g *gen) esi() nlri.ESI {
	var e nlri.ESI
	if g.r.Intn(2) == 0 {
		g.r.Read(e[1:])
	}
	return e
}

// evpn is an EVPN route of type 2 (MAC only, MAC and IPv4, MAC and IPv6;
// one or two labels), 3 (IPv4 or IPv6 originator) or 5 (IPv4 or IPv6
// prefix, with or without a gateway), and now and then of type 1 or 4.
func (g *gen) evpn() nlri.NLRI {
	tag := uint32(0)
	if g.r.Intn(2) == 0 {
		tag = uint32(g.r.Intn(1 << 24))
	}
	switch g.r.Intn(10) {
	case 0:
		return nlri.EthernetAD{RD: g.rd(), ESI: g.esi(), EthernetTag: tag, Label: g.label()}
	case 1:
		r := nlri.EthernetSegment{RD: g.rd(), ESI: g.esi(), OriginatorIP: g.ipv4Addr()}
		if g.r.Intn(3) == 0 {
			r.OriginatorIP = g.ipv6Addr()
		}
		return r
	case 2, 3, 4:
		r := nlri.MACIP{RD: g.rd(), ESI: g.esi(), EthernetTag: tag, Labels: []nlri.Label{g.label()}}
		g.r.Read(r.MAC[:])
		r.MAC[0] &^= 1 // unicast
		switch g.r.Intn(3) {
		case 1:
			r.IP = g.ipv4Addr()
		case 2:
			r.IP = g.ipv6Addr()
		}
		if r.IP.IsValid() && g.r.Intn(2) == 0 {
			r.Labels = append(r.Labels, g.label())
		}
		return r
	case 5, 6:
		r := nlri.InclusiveMulticast{RD: g.rd(), EthernetTag: tag, OriginatorIP: g.ipv4Addr()}
		if g.r.Intn(3) == 0 {
			r.OriginatorIP = g.ipv6Addr()
		}
		return r
	}
	r := nlri.IPPrefix{RD: g.rd(), ESI: g.esi(), EthernetTag: tag, Label: g.label()}
	if g.r.Intn(3) == 0 {
		r.Prefix = g.ipv6Prefix()
		if g.r.Intn(2) == 0 {
			r.Gateway = g.ipv6Addr()
		}
	} else {
		r.Prefix = g.ipv4Prefix()
		if g.r.Intn(2) == 0 {
			r.Gateway = g.ipv4Addr()
		}
	}
	return r
}
