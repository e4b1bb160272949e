package export

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Attribute builders for the tables below.

func origin() attr.Attr { return &attr.Origin{Value: attr.OriginIGP} }

func seq(asns ...uint32) *attr.ASPath {
	if len(asns) == 0 {
		return &attr.ASPath{}
	}
	return &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}}
}

func as4Seq(asns ...uint32) *attr.AS4Path {
	return &attr.AS4Path{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}}
}

func nh(s string) attr.Attr { return &attr.NextHop{Addr: netip.MustParseAddr(s)} }

func mp6(global, linkLocal string) attr.Attr {
	var ll netip.Addr
	if linkLocal != "" {
		ll = netip.MustParseAddr(linkLocal)
	}
	return attr.NewMPReach(nlri.IPv6Unicast, netip.MustParseAddr(global), ll, nil)
}

func mpAddr(fam nlri.Family, a netip.Addr) attr.Attr {
	return attr.NewMPReach(fam, a, netip.Addr{}, nil)
}

func med(v uint32) attr.Attr { return &attr.MED{Value: v} }

func lp(v uint32) attr.Attr { return &attr.LocalPref{Value: v} }

func origID(s string) attr.Attr { return &attr.OriginatorID{ID: netip.MustParseAddr(s)} }

func clusters(ids ...string) attr.Attr {
	cl := &attr.ClusterList{}
	for _, s := range ids {
		cl.IDs = append(cl.IDs, netip.MustParseAddr(s))
	}
	return cl
}

func comms(v ...uint32) attr.Attr { return &attr.Communities{Values: v} }

// render is a list as one line per attribute: code, flags, the value as
// a 4-octet AS session encodes it, and its text form. Comparing rendered
// lists compares the attributes exactly, in order, with a readable diff.
func render(l attr.List) []string {
	out := make([]string, 0, len(l))
	for _, a := range l {
		s := fmt.Sprintf("%v [%v] %x", a.Code(), a.Flags(), a.AppendValue(nil, attr.Options{AS4: true}))
		switch a := a.(type) {
		case *attr.MPReach:
			g, ll, _, _ := a.NextHops()
			s += fmt.Sprintf(" (%v next hop %v %v)", a.Family, g, ll)
		case fmt.Stringer:
			s += " (" + a.String() + ")"
		}
		out = append(out, s)
	}
	return out
}

var (
	ourNH4    = netip.MustParseAddr("192.0.2.1")
	ourNH6    = netip.MustParseAddr("2001:db8::1")
	ourIBGP4  = netip.MustParseAddr("10.0.0.1")
	clusterID = netip.MustParseAddr("10.255.0.1")

	// The sessions' rules: eBGP on IPv4 (NextHop6 IPv4-mapped, as the
	// daemon sets it), eBGP on IPv6 only, iBGP to a non-client and to a
	// route-reflector client.
	ebgp4 = Rules{LocalAS: 65001, NextHop4: ourNH4, NextHop6: netip.AddrFrom16(ourNH4.As16())}
	ebgp6 = Rules{LocalAS: 65001, NextHop6: ourNH6}
	ibgp  = Rules{LocalAS: 65001, IBGP: true, ClusterID: clusterID, NextHop4: ourIBGP4,
		NextHop6: netip.AddrFrom16(ourIBGP4.As16())}
	rrClient = with(ibgp, func(r *Rules) { r.Client = true })

	// Where paths come from.
	srcLocal     = &rib.Source{Local: true}
	srcEBGP      = &rib.Source{Addr: netip.MustParseAddr("192.0.2.9"), RouterID: netip.MustParseAddr("192.0.2.9"), AS: 65009}
	srcNonClient = &rib.Source{Addr: netip.MustParseAddr("10.0.0.2"), RouterID: netip.MustParseAddr("10.1.1.2"), AS: 65001, IBGP: true}
	srcClient    = &rib.Source{Addr: netip.MustParseAddr("10.0.0.3"), RouterID: netip.MustParseAddr("10.1.1.3"), AS: 65001,
		IBGP: true, RRClient: true}
)

func with(r Rules, f func(*Rules)) Rules {
	f(&r)
	return r
}

func transit(r Rules) Rules { return with(r, func(r *Rules) { r.Transit = true }) }

// fakePolicy is an export policy that rejects, or replaces one attribute,
// and records what it was given.
type fakePolicy struct {
	reject bool
	set    attr.Attr
	nh     NextHop
	saw    attr.List
}

func (p *fakePolicy) Export(_ nlri.Family, _ netip.Prefix, _ *rib.Source, l attr.List) (attr.List, NextHop, bool) {
	p.saw = slices.Clone(l)
	if p.reject {
		return nil, NextHop{}, false
	}
	if p.set != nil {
		return slices.Clone(l).Set(p.set), p.nh, true // never modify l: it is interned
	}
	return l, p.nh, true
}

func withPolicy(r Rules, p *fakePolicy) Rules {
	return with(r, func(r *Rules) { r.Policy, r.PolicyKey = p, "fake" })
}

// TestTransform has one case per rule of Transform, named after the rule.
// Every case also checks that the interned input is left as it was.
func TestTransform(t *testing.T) {
	learned := func(extra ...attr.Attr) attr.List {
		return append(attr.List{origin(), seq(65009, 65100), nh("192.0.2.9")}, extra...)
	}
	reflected := func(extra ...attr.Attr) attr.List {
		return append(attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150)}, extra...)
	}
	localV4 := func(extra ...attr.Attr) attr.List {
		return append(attr.List{origin(), seq(), nh("0.0.0.0")}, extra...)
	}
	localV6 := attr.List{origin(), seq(), mp6("::", "")}
	unknownTrans := &attr.Unknown{F: attr.FlagOptional | attr.FlagTransitive, C: 99, Value: []byte{1, 2, 3}}
	unknownPartial := &attr.Unknown{F: attr.FlagOptional | attr.FlagTransitive | attr.FlagPartial, C: 99, Value: []byte{1, 2, 3}}

	tests := []struct {
		name     string
		rules    Rules
		fam      nlri.Family // zero: IPv4 unicast
		src      *rib.Source
		in       attr.List
		twoOctet bool // the peer has no 4-octet AS numbers
		want     attr.List
		refused  bool
		// policySaw is what the fake policy must have been given.
		policySaw attr.List
	}{
		// RFC 4271 §5.1.2: our AS in front of AS_PATH towards eBGP.
		{
			name:  "ebgp/local AS prepended to a learned path",
			rules: transit(ebgp4), src: srcEBGP, in: learned(),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
		},
		{
			name:  "ebgp/local path with an empty AS_PATH becomes [local AS]",
			rules: ebgp4, src: srcLocal, in: localV4(),
			want: attr.List{origin(), seq(65001), nh("192.0.2.1")},
		},
		{
			name:  "ebgp/local path without AS_PATH or NEXT_HOP gets both",
			rules: ebgp4, src: srcLocal, in: attr.List{origin()},
			want: attr.List{origin(), seq(65001), nh("192.0.2.1")},
		},
		{
			name:  "ebgp/ORIGINATOR_ID and CLUSTER_LIST removed",
			rules: transit(ebgp4), src: srcNonClient, in: reflected(origID("10.9.9.9"), clusters("10.255.0.7")),
			want: attr.List{origin(), seq(65001, 65100), nh("192.0.2.1")},
		},
		{
			name:  "ibgp/AS_PATH unchanged, an empty one added to a local path without",
			rules: ibgp, src: srcLocal, in: attr.List{origin(), nh("0.0.0.0")},
			want: attr.List{origin(), seq(), nh("10.0.0.1"), lp(100)},
		},

		// Next hop: ours towards eBGP, towards iBGP for our own routes
		// and with NextHopSelf for routes learned over eBGP.
		{
			name:  "next hop self/IPv4 NEXT_HOP towards eBGP",
			rules: transit(ebgp4), src: srcEBGP, in: learned(),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
		},
		{
			name:  "next hop self/IPv6 MP_REACH_NLRI next hop on an IPv6 session",
			rules: ebgp6, fam: nlri.IPv6Unicast, src: srcLocal, in: localV6,
			want: attr.List{origin(), seq(65001), mp6("2001:db8::1", "")},
		},
		// RFC 9234 §5, egress.
		{
			name:  "role/a route with OTC is not sent to our provider",
			rules: transit(with(ebgp4, func(r *Rules) { r.Role = uint8(iana.RoleCustomer) + 1 })), src: srcEBGP,
			in: learned(&attr.OTC{AS: 65009}), refused: true,
		},
		{
			name:  "role/a route with OTC is not sent to a lateral peer",
			rules: transit(with(ebgp4, func(r *Rules) { r.Role = uint8(iana.RolePeer) + 1 })), src: srcEBGP,
			in: learned(&attr.OTC{AS: 65009}), refused: true,
		},
		{
			name:  "role/a route to a customer gets OTC with our AS",
			rules: transit(with(ebgp4, func(r *Rules) { r.Role = uint8(iana.RoleProvider) + 1 })), src: srcEBGP,
			in:   learned(),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1"), &attr.OTC{AS: 65001}},
		},
		{
			name:  "role/a route to a customer keeps the OTC it has",
			rules: transit(with(ebgp4, func(r *Rules) { r.Role = uint8(iana.RoleProvider) + 1 })), src: srcEBGP,
			in:   learned(&attr.OTC{AS: 65009}),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1"), &attr.OTC{AS: 65009}},
		},
		{
			name:  "role/our own route goes to our provider without OTC",
			rules: with(ebgp4, func(r *Rules) { r.Role = uint8(iana.RoleCustomer) + 1 }), src: srcLocal, in: localV4(),
			want: attr.List{origin(), seq(65001), nh("192.0.2.1")},
		},
		{
			name:  "next hop self/RFC 8950: an IPv4 route over an IPv6 session gets our IPv6 next hop in MP_REACH_NLRI",
			rules: with(ebgp6, func(r *Rules) { r.ExtendedNextHop = true }), src: srcLocal, in: localV4(),
			want: attr.List{origin(), seq(65001), mpAddr(nlri.IPv4Unicast, ourNH6)},
		},
		{
			name:  "next hop self/no RFC 8950: an IPv4 route is not sent over an IPv6 session",
			rules: ebgp6, src: srcLocal, in: localV4(), refused: true,
		},
		{
			name:  "ibgp/an IPv4 route with an IPv6 next hop is not sent where RFC 8950 is not negotiated",
			rules: ibgp, src: srcEBGP, in: attr.List{origin(), seq(65009), mpAddr(nlri.IPv4Unicast, netip.MustParseAddr("2001:db8::9"))},
			refused: true,
		},
		{
			name:  "next hop self/IPv4-mapped NextHop6 on an IPv4 session",
			rules: ebgp4, fam: nlri.IPv6Unicast, src: srcLocal, in: localV6,
			want: attr.List{origin(), seq(65001), mpAddr(nlri.IPv6Unicast, netip.AddrFrom16(ourNH4.As16()))},
		},
		{
			name:  "next hop self/learned IPv6 next hop and link-local replaced towards eBGP",
			rules: transit(ebgp6), fam: nlri.IPv6Unicast, src: srcEBGP,
			in:   attr.List{origin(), seq(65009), mp6("2001:db8:9::9", "fe80::9")},
			want: attr.List{origin(), seq(65001, 65009), mp6("2001:db8::1", "")},
		},
		{
			name:  "next hop self/MP_REACH_NLRI added to an IPv6 path without",
			rules: ebgp6, fam: nlri.IPv6Unicast, src: srcLocal, in: attr.List{origin()},
			want: attr.List{origin(), seq(65001), mp6("2001:db8::1", "")},
		},
		{
			name:  "next hop self/IPv4 route refused towards an IPv6-only session",
			rules: ebgp6, src: srcLocal, in: localV4(), refused: true,
		},
		{
			// A route that arrived with its IPv4 next hop in
			// MP_REACH_NLRI goes to eBGP with our NEXT_HOP, not with
			// an IPv4-mapped IPv6 next hop the peer never negotiated
			// (RFC 8950).
			name:  "next hop self/IPv4 route learned in MP_REACH_NLRI gets NEXT_HOP",
			rules: transit(ebgp4), src: srcEBGP,
			in:   attr.List{origin(), seq(65009), mpAddr(nlri.IPv4Unicast, netip.MustParseAddr("192.0.2.9"))},
			want: attr.List{origin(), seq(65001, 65009), nh("192.0.2.1")},
		},
		{
			name:  "next hop self/local route towards iBGP",
			rules: ibgp, src: srcLocal, in: localV4(),
			want: attr.List{origin(), seq(), nh("10.0.0.1"), lp(100)},
		},
		{
			name:  "next hop self/eBGP-learned route towards iBGP with NextHopSelf",
			rules: with(ibgp, func(r *Rules) { r.NextHopSelf = true }), src: srcEBGP, in: learned(),
			want: attr.List{origin(), seq(65009, 65100), nh("10.0.0.1"), lp(100)},
		},
		{
			name:  "next hop unchanged/eBGP-learned route towards iBGP",
			rules: ibgp, src: srcEBGP, in: learned(),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(100)},
		},
		{
			name:  "next hop unchanged/eBGP-learned IPv6 route towards iBGP",
			rules: ibgp, fam: nlri.IPv6Unicast, src: srcEBGP,
			in:   attr.List{origin(), seq(65009), mp6("2001:db8:9::9", "fe80::9")},
			want: attr.List{origin(), seq(65009), lp(100), mp6("2001:db8:9::9", "fe80::9")},
		},
		{
			name:  "next hop unchanged/reflected route with NextHopSelf (RFC 4456 §10)",
			rules: with(rrClient, func(r *Rules) { r.NextHopSelf = true }), src: srcClient, in: reflected(),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.1.1.3"), clusters("10.255.0.1")},
		},
		{
			// The next hop is not ours, so our missing IPv4 address
			// on the session does not matter.
			name: "next hop unchanged/reflected IPv4 route on an IPv6 session with NextHopSelf",
			rules: with(rrClient, func(r *Rules) {
				r.NextHopSelf, r.NextHop4, r.NextHop6 = true, netip.Addr{}, netip.MustParseAddr("2001:db8::10")
			}),
			src: srcClient, in: reflected(),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.1.1.3"), clusters("10.255.0.1")},
		},

		// LOCAL_PREF: never to eBGP, always to iBGP.
		{
			name:  "local pref/stripped towards eBGP",
			rules: transit(ebgp4), src: srcNonClient, in: reflected(),
			want: attr.List{origin(), seq(65001, 65100), nh("192.0.2.1")},
		},
		{
			name:  "local pref/default 100 towards iBGP",
			rules: ibgp, src: srcEBGP, in: learned(),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(100)},
		},
		{
			name:  "local pref/kept towards iBGP when present",
			rules: ibgp, src: srcLocal, in: localV4(lp(200)),
			want: attr.List{origin(), seq(), nh("10.0.0.1"), lp(200)},
		},

		// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
		{
			name:  "med/kept on a local route towards eBGP",
			rules: ebgp4, src: srcLocal, in: localV4(med(10)),
			want: attr.List{origin(), seq(65001), nh("192.0.2.1"), med(10)},
		},
		{
			name:  "med/stripped from a learned route towards eBGP",
			rules: transit(ebgp4), src: srcEBGP, in: learned(med(10)),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
		},
		{
			name:  "med/kept towards iBGP",
			rules: ibgp, src: srcEBGP, in: learned(med(10)),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), med(10), lp(100)},
		},

		// Route reflection (RFC 4456 §6 and §8).
		{
			name:  "reflection/client to client",
			rules: rrClient, src: srcClient, in: reflected(),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.1.1.3"), clusters("10.255.0.1")},
		},
		{
			name:  "reflection/client to non-client",
			rules: ibgp, src: srcClient, in: reflected(),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.1.1.3"), clusters("10.255.0.1")},
		},
		{
			name:  "reflection/non-client to client",
			rules: rrClient, src: srcNonClient, in: reflected(),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.1.1.2"), clusters("10.255.0.1")},
		},
		{
			name:  "reflection/non-client to non-client refused",
			rules: ibgp, src: srcNonClient, in: reflected(), refused: true,
		},
		{
			name:  "reflection/eBGP-learned route to a client has no ORIGINATOR_ID or CLUSTER_LIST",
			rules: rrClient, src: srcEBGP, in: learned(),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(100)},
		},
		{
			name:  "reflection/local route to a client has no ORIGINATOR_ID or CLUSTER_LIST",
			rules: rrClient, src: srcLocal, in: localV4(),
			want: attr.List{origin(), seq(), nh("10.0.0.1"), lp(100)},
		},
		{
			name:  "reflection/ORIGINATOR_ID kept when present",
			rules: rrClient, src: srcNonClient, in: reflected(origID("10.9.9.9")),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.9.9.9"), clusters("10.255.0.1")},
		},
		{
			name:  "reflection/cluster ID prepended to CLUSTER_LIST",
			rules: rrClient, src: srcNonClient, in: reflected(origID("10.9.9.9"), clusters("10.255.0.7", "10.255.0.8")),
			want: attr.List{origin(), seq(65100), nh("10.0.0.9"), lp(150), origID("10.9.9.9"),
				clusters("10.255.0.1", "10.255.0.7", "10.255.0.8")},
		},

		// Well-known communities (RFC 1997).
		{
			name:  "communities/NO_ADVERTISE to no iBGP peer",
			rules: rrClient, src: srcEBGP, in: learned(comms(attr.CommunityNoAdvertise)), refused: true,
		},
		{
			name:  "communities/NO_ADVERTISE to no eBGP peer",
			rules: ebgp4, src: srcLocal, in: localV4(comms(attr.CommunityNoAdvertise)), refused: true,
		},
		{
			name:  "communities/NO_EXPORT not to eBGP",
			rules: transit(ebgp4), src: srcLocal, in: localV4(comms(attr.CommunityNoExport)), refused: true,
		},
		{
			name:  "communities/NO_EXPORT to iBGP",
			rules: ibgp, src: srcEBGP, in: learned(comms(65009<<16|1, attr.CommunityNoExport)),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(100), comms(65009<<16|1, attr.CommunityNoExport)},
		},
		{
			name:  "communities/NO_EXPORT_SUBCONFED not to eBGP",
			rules: ebgp4, src: srcLocal, in: localV4(comms(attr.CommunityNoExportSubconfed)), refused: true,
		},
		{
			name:  "communities/NO_EXPORT_SUBCONFED to iBGP",
			rules: ibgp, src: srcLocal, in: localV4(comms(attr.CommunityNoExportSubconfed)),
			want: attr.List{origin(), seq(), nh("10.0.0.1"), lp(100), comms(attr.CommunityNoExportSubconfed)},
		},

		// The default export policy (DESIGN.md): no accidental transit.
		{
			name:  "default policy/eBGP-learned route not sent to eBGP",
			rules: ebgp4, src: srcEBGP, in: learned(), refused: true,
		},
		{
			name:  "default policy/iBGP-learned route not sent to eBGP",
			rules: ebgp4, src: srcNonClient, in: reflected(), refused: true,
		},
		{
			name:  "default policy/Transit sends learned routes to eBGP",
			rules: transit(ebgp4), src: srcNonClient, in: reflected(),
			want: attr.List{origin(), seq(65001, 65100), nh("192.0.2.1")},
		},

		// The export policy hook.
		{
			name:  "policy/rejects",
			rules: withPolicy(ebgp4, &fakePolicy{reject: true}), src: srcLocal, in: localV4(),
			refused: true, policySaw: localV4(),
		},
		{
			name:  "policy/an export policy lets learned routes go to eBGP",
			rules: withPolicy(ebgp4, &fakePolicy{}), src: srcEBGP, in: learned(),
			want:      attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
			policySaw: learned(),
		},
		{
			name:  "policy/not asked about a route the protocol rules refuse",
			rules: withPolicy(ebgp4, &fakePolicy{}), src: srcLocal, in: localV4(comms(attr.CommunityNoExport)),
			refused: true,
		},
		{
			name:  "policy/changed attributes, before our AS_PATH and next hop changes",
			rules: withPolicy(ebgp4, &fakePolicy{set: comms(65001<<16 | 7)}), src: srcEBGP, in: learned(),
			want:      attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1"), comms(65001<<16 | 7)},
			policySaw: learned(),
		},
		{
			// The learned MED is removed before the policy runs
			// (§5.1.4); the one the policy sets is ours to send.
			name:  "policy/MED set by the policy sent to eBGP",
			rules: withPolicy(ebgp4, &fakePolicy{set: med(50)}), src: srcEBGP, in: learned(med(10)),
			want:      attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1"), med(50)},
			policySaw: learned(),
		},
		{
			name:  "policy/MED passed unchanged by the policy still stripped towards eBGP",
			rules: withPolicy(ebgp4, &fakePolicy{}), src: srcEBGP, in: learned(med(10)),
			want:      attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
			policySaw: learned(),
		},
		{
			name:  "policy/LOCAL_PREF set by the policy not sent to eBGP",
			rules: withPolicy(ebgp4, &fakePolicy{set: lp(300)}), src: srcEBGP, in: learned(),
			want:      attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
			policySaw: learned(),
		},
		{
			name:  "policy/LOCAL_PREF set by the policy sent to iBGP",
			rules: withPolicy(ibgp, &fakePolicy{set: lp(300)}), src: srcEBGP, in: learned(),
			want:      attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(300)},
			policySaw: learned(),
		},

		// Unknown attributes (RFC 4271 §9.1.3 a).
		{
			name:  "unknown/optional transitive passed on with the Partial bit",
			rules: transit(ebgp4), src: srcEBGP, in: learned(unknownTrans),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1"), unknownPartial},
		},
		{
			name:  "unknown/optional transitive already Partial passed on as it is",
			rules: ibgp, src: srcEBGP, in: learned(unknownPartial),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(100), unknownPartial},
		},
		{
			name:  "unknown/optional non-transitive dropped",
			rules: ibgp, src: srcEBGP, in: learned(&attr.Unknown{F: attr.FlagOptional, C: 98, Value: []byte{4}}),
			want: attr.List{origin(), seq(65009, 65100), nh("192.0.2.9"), lp(100)},
		},

		// 2-octet AS peers (RFC 6793 §4.2.2).
		{
			name:  "as4/AS_PATH with a 4-octet AS split into AS_TRANS and AS4_PATH",
			rules: transit(ebgp4), src: srcEBGP, in: attr.List{origin(), seq(4200000001, 65100), nh("192.0.2.9")},
			twoOctet: true,
			want: attr.List{origin(), seq(65001, attr.ASTrans, 65100), nh("192.0.2.1"),
				as4Seq(65001, 4200000001, 65100)},
		},
		{
			name:  "as4/4-octet local AS towards a 2-octet peer",
			rules: with(ebgp4, func(r *Rules) { r.LocalAS = 4200000000 }), src: srcLocal, in: localV4(),
			twoOctet: true,
			want:     attr.List{origin(), seq(attr.ASTrans), nh("192.0.2.1"), as4Seq(4200000000)},
		},
		{
			name:  "as4/AGGREGATOR with a 4-octet AS split into AS_TRANS and AS4_AGGREGATOR",
			rules: ibgp, src: srcLocal, in: localV4(&attr.Aggregator{AS: 4200000001, Addr: netip.MustParseAddr("10.0.0.5")}),
			twoOctet: true,
			want: attr.List{origin(), seq(), nh("10.0.0.1"), lp(100),
				&attr.Aggregator{AS: attr.ASTrans, Addr: netip.MustParseAddr("10.0.0.5")},
				&attr.AS4Aggregator{AS: 4200000001, Addr: netip.MustParseAddr("10.0.0.5")}},
		},
		{
			name:  "as4/no AS4_PATH when every AS fits in two octets",
			rules: transit(ebgp4), src: srcEBGP, in: learned(), twoOctet: true,
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
		},
		{
			name:  "as4/AS4_PATH, AS4_AGGREGATOR and MP_UNREACH_NLRI in the set not sent",
			rules: transit(ebgp4), src: srcEBGP,
			in: learned(as4Seq(4200000001), &attr.AS4Aggregator{AS: 4200000001, Addr: netip.MustParseAddr("10.0.0.5")},
				&attr.MPUnreach{Family: nlri.IPv6Unicast}),
			want: attr.List{origin(), seq(65001, 65009, 65100), nh("192.0.2.1")},
		},

		// The output order.
		{
			name:  "order/output sorted by type code",
			rules: ibgp, src: srcEBGP,
			in: attr.List{comms(65009<<16 | 1), med(5), nh("192.0.2.9"), &attr.AtomicAggregate{}, seq(65009), origin()},
			want: attr.List{origin(), seq(65009), nh("192.0.2.9"), med(5), lp(100), &attr.AtomicAggregate{},
				comms(65009<<16 | 1)},
		},
	}
	var scratch Scratch
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fam := tc.fam
			if fam == (nlri.Family{}) {
				fam = nlri.IPv4Unicast
			}
			pfx := netip.MustParsePrefix("203.0.113.0/24")
			if fam == nlri.IPv6Unicast {
				pfx = netip.MustParsePrefix("2001:db8:1::/48")
			}
			a, _ := rib.NewTable().Intern(tc.in, nil)
			key := a.Key()

			got, ok := tc.rules.Transform(fam, pfx, tc.src, a, !tc.twoOctet, nil)

			if ok == tc.refused {
				t.Fatalf("Transform sent = %v, want %v; attributes %q", ok, !tc.refused, render(got))
			}
			if diff := cmp.Diff(render(tc.want), render(got)); diff != "" {
				t.Errorf("Transform attributes (-want +got):\n%s", diff)
			}
			if p, isFake := tc.rules.Policy.(*fakePolicy); isFake && tc.policySaw != nil {
				if diff := cmp.Diff(render(tc.policySaw), render(p.saw)); diff != "" {
					t.Errorf("the policy saw (-want +got):\n%s", diff)
				}
			}
			// The interned input is never modified (it is its encoding,
			// which Transform decodes into a list of its own).
			if a.Key() != key {
				t.Errorf("interned set changed: %x, was %x", a.Key(), key)
			}
			if c := attr.Canonical(nil, a.List(), attr.Options{AS4: true}); string(c) != a.Key() {
				t.Errorf("canonical encoding of the input changed: %x, interned as %x", c, a.Key())
			}
			// With a scratch, reused from case to case as a group
			// reuses its own, the same answer, rendered before the
			// scratch is used again.
			want := fmt.Sprint(render(got))
			gotS, okS := tc.rules.Transform(fam, pfx, tc.src, a, !tc.twoOctet, &scratch)
			if s := fmt.Sprint(render(gotS)); okS != ok || s != want {
				t.Errorf("Transform with a scratch: %s (%v), without: %s (%v)", s, okS, want, ok)
			}
		})
	}
}

func TestRulesKey(t *testing.T) {
	p1, p2 := &fakePolicy{}, &fakePolicy{reject: true}
	a := withPolicy(ebgp4, p1)
	b := withPolicy(ebgp4, p2)
	if a.Key() != b.Key() {
		t.Errorf("rules differing only in the Policy value have keys %+v and %+v", a.Key(), b.Key())
	}
	if a.Key().Policy != nil {
		t.Errorf("Key keeps the policy")
	}
	b.PolicyKey = "other"
	if a.Key() == b.Key() {
		t.Errorf("rules with different PolicyKeys share a key")
	}
}

// A policy's next-hop directive: self towards iBGP on a learned route,
// unchanged towards eBGP, an address.
func TestTransformPolicyNextHop(t *testing.T) {
	tab := rib.NewTable()
	a, _ := tab.Intern(attr.List{&attr.Origin{}, &attr.ASPath{}, &attr.NextHop{Addr: netip.MustParseAddr("192.0.2.9")}}, nil)
	ebgpSrc := &rib.Source{Addr: netip.MustParseAddr("192.0.2.9"), AS: 65002}
	for _, tc := range []struct {
		name string
		ibgp bool
		nh   NextHop
		want string
	}{
		{"self towards iBGP", true, NextHop{Mode: NextHopSelf}, "192.0.2.1"},
		{"unchanged towards eBGP", false, NextHop{Mode: NextHopUnchanged}, "192.0.2.9"},
		{"an address", false, NextHop{Mode: NextHopAddress, Addr: netip.MustParseAddr("198.51.100.7")}, "198.51.100.7"},
		{"no directive towards eBGP", false, NextHop{}, "192.0.2.1"},
		{"no directive towards iBGP", true, NextHop{}, "192.0.2.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Rules{LocalAS: 65001, IBGP: tc.ibgp, NextHop4: netip.MustParseAddr("192.0.2.1"), Policy: &fakePolicy{nh: tc.nh}}
			out, ok := r.Transform(nlri.IPv4Unicast, netip.MustParsePrefix("10.0.0.0/24"), ebgpSrc, a, true, nil)
			if !ok {
				t.Fatal("refused")
			}
			nh, _ := out.NextHop()
			if nh == nil || nh.Addr.String() != tc.want {
				t.Errorf("next hop %v, want %s", nh, tc.want)
			}
		})
	}
}

// TestRefusesSource lists, for every kind of group and source, whether
// the source's paths are refused whatever their attributes (RFC 4271
// §9.1 and RFC 4456 §6 through the default policy): learned routes go to
// an eBGP peer only with transit or a policy, a non-client's iBGP routes
// only to clients.
func TestRefusesSource(t *testing.T) {
	local, ebgp, ibgp, client := &rib.Source{Local: true}, &rib.Source{}, &rib.Source{IBGP: true}, &rib.Source{IBGP: true, RRClient: true}
	for _, tc := range []struct {
		name  string
		rules Rules
		want  map[*rib.Source]bool
	}{
		{"eBGP", Rules{}, map[*rib.Source]bool{local: false, ebgp: true, ibgp: true, client: true}},
		{"eBGP with transit", Rules{Transit: true}, map[*rib.Source]bool{local: false, ebgp: false, ibgp: false, client: false}},
		{"eBGP with a policy", Rules{Policy: &fakePolicy{}}, map[*rib.Source]bool{local: false, ebgp: false, ibgp: false, client: false}},
		{"iBGP non-client", Rules{IBGP: true}, map[*rib.Source]bool{local: false, ebgp: false, ibgp: true, client: false}},
		{"iBGP client", Rules{IBGP: true, Client: true}, map[*rib.Source]bool{local: false, ebgp: false, ibgp: false, client: false}},
	} {
		for src, want := range tc.want {
			if got := tc.rules.refusesSource(src); got != want {
				t.Errorf("%s, source %+v: refusesSource %v, want %v", tc.name, *src, got, want)
			}
		}
	}
}
