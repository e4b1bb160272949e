package export

import (
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Rules are what decides, for every peer of an update group alike, which
// best paths are sent and with which attributes. Two sessions with equal
// Rules (and equal codec options) share a group.
type Rules struct {
	// LocalAS is the AS we speak as on these sessions.
	LocalAS uint32
	// IBGP marks internal sessions; Client marks our route-reflector
	// clients among them (RFC 4456).
	IBGP   bool
	Client bool
	// ClusterID is prepended to CLUSTER_LIST when we reflect (RFC 4456
	// §8): the BGPConfiguration's routeReflectorClusterID, or the router
	// ID.
	ClusterID netip.Addr
	// NextHop4 and NextHop6 are our addresses on these sessions, the next
	// hop we set when the next hop is ours ("self"): the session's own
	// address, and for the other family an address of that family on the
	// same interface (the daemon picks it; for IPv6 its link-local address
	// when it has no global one). NextHop4 is invalid on an IPv6 session
	// without one: IPv4 routes then go only with RFC 8950
	// (ExtendedNextHop). NextHop6 is IPv4-mapped only when the interface
	// has no IPv6 address at all.
	NextHop4 netip.Addr
	NextHop6 netip.Addr
	// ExtendedNextHop: IPv4 unicast may carry an IPv6 next hop on these
	// sessions (RFC 8950 negotiated); our own next hop for IPv4 routes is
	// then NextHop6 when we have no IPv4 address on the session.
	ExtendedNextHop bool
	// LLGR: the peers support long-lived graceful restart (RFC 9494); a
	// long-lived stale path is sent only to them.
	LLGR bool
	// Role is our RFC 9234 role on these eBGP sessions plus one (0: none):
	// routes with OTC are not sent to providers, peers and route servers,
	// and routes sent to customers, peers and route-server clients get
	// OTC = our AS when they have none (§5).
	Role uint8
	// NextHopSelf sets our address as the next hop of the routes learned
	// over eBGP that we pass to these iBGP peers (it is always set towards
	// eBGP peers). Reflected routes keep theirs (RFC 4456 §10).
	NextHopSelf bool
	// Transit lets learned routes go to these eBGP peers. The default
	// policy (DESIGN.md) sends eBGP peers only the routes we originate: no
	// accidental transit. An export policy that accepts learned routes
	// sets it.
	Transit bool
	// Policy, when set, is the export policy: it sees the route as the
	// standard rules below leave it, before our own attribute changes
	// (AS_PATH prepend, next hop, LOCAL_PREF), and may reject it or return
	// changed attributes. Its identity is part of the group key: give
	// equal policies the same PolicyKey.
	Policy    Policy `json:"-"`
	PolicyKey string
}

// Policy is an export policy hook (the daemon adapts package policy). It
// returns the attributes to send (before our own changes), what it asks
// of the next hop, and false to refuse the route.
type Policy interface {
	Export(fam nlri.Family, pfx netip.Prefix, src *rib.Source, l attr.List) (attr.List, NextHop, bool)
}

// NextHop is a policy's next-hop directive towards the group's peers.
type NextHop struct {
	// Mode: "" (the rules decide), NextHopSelf, NextHopUnchanged or
	// NextHopAddress.
	Mode string
	Addr netip.Addr
}

// The next-hop directives. "peer" on export (FRR's peer-address) is our
// own address on the session, so it is NextHopSelf.
const (
	NextHopSelf      = "self"
	NextHopUnchanged = "unchanged"
	NextHopAddress   = "address"
)

// Key is the part of Rules that identifies a group: Rules without the
// Policy value (PolicyKey names it).
func (r Rules) Key() Rules {
	r.Policy = nil
	return r
}

// allowed tells whether a path may go to the group's peers at all
// (before any policy), by the rules of RFC 4271, RFC 4456 and RFC 1997,
// and DESIGN.md's default policy:
//
//   - NO_ADVERTISE: to nobody; NO_EXPORT and NO_EXPORT_SUBCONFED: not to
//     eBGP peers (we have no confederation).
//   - to eBGP peers: our own routes; learned routes only with Transit (an
//     export policy that allows them).
//   - to iBGP peers: our own routes and the routes learned over eBGP; a
//     route learned over iBGP only when we reflect it (RFC 4456 §6): from
//     a client to every iBGP peer, from a non-client to clients only.
func (r *Rules) allowed(src *rib.Source, l attr.List) bool {
	if c, ok := l.Communities(); ok {
		if c.Has(attr.CommunityNoAdvertise) {
			return false
		}
		if !r.IBGP && (c.Has(attr.CommunityNoExport) || c.Has(attr.CommunityNoExportSubconfed)) {
			return false
		}
	}
	return !r.refusesSource(src)
}

// refusesSource reports whether no path from src is sent, whatever its
// attributes: allowed's rules that look at the source alone (see
// allowed). A group that sends none of a peer's routes (eBGP without
// transit) refuses each of them with it before any lookup, and without
// remembering the refusal.
func (r *Rules) refusesSource(src *rib.Source) bool {
	switch {
	case src.Local:
		return false
	case !r.IBGP:
		return !r.Transit && r.Policy == nil
	case !src.IBGP, src.RRClient:
		return false
	default:
		return !r.Client
	}
}

// Transform returns the attributes a path is sent with, or false when it
// is not sent. fam is the path's family and pfx its prefix (for the
// policy); a is the path's interned set, which is never modified. With
// s, the list returned may hold attributes decoded into s (valid until s
// is used again): encode it or copy what is kept before the next call.
//
// Towards eBGP (RFC 4271 §5.1): our AS prepended to AS_PATH; the next hop
// set to our address; LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST removed;
// MULTI_EXIT_DISC kept only on our own routes (§5.1.4: a MED learned
// from a neighbouring AS is not passed to another). Towards iBGP: AS_PATH
// as it is; LOCAL_PREF present (the default 100 when the path had none);
// the next hop unchanged, except for our own routes (and, with
// NextHopSelf, routes learned over eBGP); when reflecting, ORIGINATOR_ID
// set to the originator's router ID unless present and our cluster ID
// prepended to CLUSTER_LIST (RFC 4456 §8). Everywhere: unknown optional
// transitive attributes are passed on with the Partial bit (RFC 4271
// §9.1.3), unknown non-transitive ones are not; AS_PATH and AGGREGATOR are
// split into the 2-octet form plus AS4_PATH / AS4_AGGREGATOR for a peer
// without 4-octet AS numbers (RFC 6793 §4.2.2), which the Packer's options
// do when they encode.
func (r *Rules) Transform(fam nlri.Family, pfx netip.Prefix, src *rib.Source, a *rib.Attrs, as4 bool, s *Scratch) (attr.List, bool) {
	var dec *attr.Scratch
	if s != nil {
		dec = &s.dec
	}
	received := a.ListScratch(dec) // decoded once: the set keeps only its encoding
	if !r.allowed(src, received) {
		return nil, false
	}
	if a.LLGRStale && !r.LLGR {
		return nil, false // RFC 9494 §4.3
	}
	reflect := r.IBGP && src.IBGP && !src.Local
	var addOTC bool
	if r.Role != 0 && !r.IBGP {
		_, has := received.OTC()
		switch iana.Role(r.Role - 1) {
		case iana.RoleCustomer, iana.RoleRouteServerClient:
			if has {
				return nil, false // towards a provider or a route server
			}
		case iana.RolePeer:
			if has {
				return nil, false
			}
			addOTC = true
		case iana.RoleProvider, iana.RoleRouteServer:
			addOTC = !has
		}
	}
	self := src.Local || !r.IBGP || (r.NextHopSelf && !src.IBGP)
	// self4v6: our next hop for IPv4 routes is IPv6 (RFC 8950).
	self4v6 := fam == nlri.IPv4Unicast && !r.NextHop4.IsValid() && r.ExtendedNextHop && r.NextHop6.IsValid() && !r.NextHop6.Is4In6()
	if fam == nlri.IPv4Unicast && !r.NextHop4.IsValid() && self && !self4v6 {
		return nil, false // no IPv4 next hop of ours on this session
	}
	if fam == nlri.IPv4Unicast && !self && !r.ExtendedNextHop && !a.NextHop.Unmap().Is4() && a.NextHop.IsValid() {
		return nil, false // an IPv6 next hop this session cannot carry
	}
	in := received
	if !r.IBGP && !src.Local && in.Has(iana.AttrMED) {
		// §5.1.4: a MED learned from a neighbouring AS is not passed to
		// another. It goes before the policy, so that a MED the policy
		// sets is sent.
		in = s.without(in, iana.AttrMED)
	}
	var nhSet netip.Addr // an address the policy set
	if r.Policy != nil {
		var ok bool
		var nh NextHop
		in, nh, ok = r.Policy.Export(fam, pfx, src, in)
		if !ok {
			return nil, false
		}
		switch nh.Mode {
		case NextHopSelf:
			self = true
		case NextHopUnchanged:
			// Our own routes have no next hop but ours.
			self = src.Local
		case NextHopAddress:
			if nh.Addr.Is4() == (fam == nlri.IPv4Unicast) || fam != nlri.IPv4Unicast {
				nhSet, self = nh.Addr, false
			}
		}
		if self && fam == nlri.IPv4Unicast && !r.NextHop4.IsValid() && !self4v6 {
			return nil, false
		}
	}
	out := s.list(len(in) + 3)
	var hasLP, hasPath bool
	for _, x := range in {
		switch x := x.(type) {
		case *attr.ASPath:
			hasPath = true
			if !r.IBGP {
				out = append(out, s.prepend(x, r.LocalAS))
			} else {
				out = append(out, x)
			}
		case *attr.NextHop:
			if self {
				out = append(out, s.nextHop(r.NextHop4))
			} else {
				out = append(out, x)
			}
		case *attr.MPReach:
			if self && x.Family == nlri.IPv4Unicast {
				continue // our NEXT_HOP, added below
			}
			if self {
				out = append(out, attr.NewMPReach(x.Family, r.NextHop6, netip.Addr{}, nil))
			} else {
				out = append(out, x)
			}
		case *attr.LocalPref:
			if r.IBGP {
				hasLP = true
				out = append(out, x)
			}
		case *attr.OriginatorID, *attr.ClusterList:
			// Rebuilt below when reflecting; never sent otherwise.
		case *attr.AS4Path, *attr.AS4Aggregator, *attr.MPUnreach:
			// The set holds the merged 4-octet forms; the Packer splits.
		case *attr.Unknown:
			if !x.Transitive() {
				continue
			}
			if x.F&attr.FlagPartial == 0 {
				c := *x
				c.F |= attr.FlagPartial
				out = append(out, &c)
			} else {
				out = append(out, x)
			}
		default:
			out = append(out, x)
		}
	}
	if !hasPath {
		p := &attr.ASPath{}
		if !r.IBGP {
			p = p.Prepend(r.LocalAS, 1)
		}
		out = append(out, p)
	}
	if r.IBGP && !hasLP {
		out = append(out, &attr.LocalPref{Value: rib.DefaultLocalPref})
	}
	if nhSet.IsValid() {
		out = withNextHop(out, fam, nhSet)
	}
	if fam == nlri.IPv4Unicast && self && self4v6 {
		out = withNextHop(out, fam, r.NextHop6)
	} else if fam == nlri.IPv4Unicast && self && out.Get(iana.AttrNextHop) == nil {
		out = append(out, &attr.NextHop{Addr: r.NextHop4})
	}
	if fam != nlri.IPv4Unicast && self && out.Get(iana.AttrMPReachNLRI) == nil {
		out = append(out, attr.NewMPReach(fam, r.NextHop6, netip.Addr{}, nil))
	}
	if addOTC && out.Get(iana.AttrOTC) == nil {
		out = append(out, &attr.OTC{AS: r.LocalAS})
	}
	if reflect {
		orig := a.OriginatorID()
		if !orig.IsValid() {
			orig = src.RouterID
		}
		out = append(out, &attr.OriginatorID{ID: orig})
		ids := []netip.Addr{r.ClusterID}
		if cl, ok := received.ClusterList(); ok {
			ids = append(ids, cl.IDs...)
		}
		out = append(out, &attr.ClusterList{IDs: ids})
	}
	if !as4 {
		out = splitAS4(out)
	}
	sortByCode(out)
	if s != nil {
		s.out = out // the next call reuses what it grew to
	}
	return out, true
}

// Scratch is Transform's memory, reused from one call to the next by a
// caller that encodes (or copies) each result before the next call: the
// decoded set, the lists, the prepended AS_PATH and our NEXT_HOP. An
// update group turns every new set it sends through Transform, and these
// were most of its allocations. A nil Scratch allocates.
type Scratch struct {
	dec     attr.Scratch
	in, out attr.List
	path    attr.ASPath
	segs    []attr.Segment
	asns    []uint32
	nh      attr.NextHop
}

// list returns an empty list with room for n.
func (s *Scratch) list(n int) attr.List {
	if s == nil {
		return make(attr.List, 0, n)
	}
	return slices.Grow(s.out[:0], n)
}

// without returns l without the attributes of type code (a list of its
// own: l is the decoded set's).
func (s *Scratch) without(l attr.List, code iana.AttrCode) attr.List {
	var out attr.List
	if s != nil {
		out = s.in[:0]
	}
	for _, x := range l {
		if x.Code() != code {
			out = append(out, x)
		}
	}
	if s != nil {
		s.in = out
	}
	return out
}

// prepend is p.Prepend(as, 1) in s: the segments after the first are
// p's own, which Transform never changes.
func (s *Scratch) prepend(p *attr.ASPath, as uint32) *attr.ASPath {
	if s == nil {
		return p.Prepend(as, 1)
	}
	segs := p.Segments
	s.asns = append(s.asns[:0], as)
	if len(segs) > 0 && segs[0].Type == iana.SegmentASSequence {
		s.asns = append(s.asns, segs[0].ASNs...)
		segs = segs[1:]
	}
	s.segs = append(append(s.segs[:0], attr.Segment{Type: iana.SegmentASSequence, ASNs: s.asns}), segs...)
	s.path = attr.ASPath{Segments: s.segs}
	return &s.path
}

// nextHop is a NEXT_HOP of a, in s.
func (s *Scratch) nextHop(a netip.Addr) *attr.NextHop {
	if s == nil {
		return &attr.NextHop{Addr: a}
	}
	s.nh = attr.NextHop{Addr: a}
	return &s.nh
}

// splitAS4 replaces AS_PATH and AGGREGATOR by their 2-octet forms plus
// AS4_PATH and AS4_AGGREGATOR where a 4-octet AS number needs them (RFC
// 6793 §4.2.2).
func splitAS4(l attr.List) attr.List {
	for i, x := range l {
		switch x := x.(type) {
		case *attr.ASPath:
			p, p4 := attr.SplitAS4(x)
			l[i] = p
			if p4 != nil {
				l = append(l, p4)
			}
		case *attr.Aggregator:
			g, g4 := attr.SplitAS4Aggregator(x)
			l[i] = g
			if g4 != nil {
				l = append(l, g4)
			}
		}
	}
	return l
}

// sortByCode orders a list by type code (insertion sort: lists are short).
func sortByCode(l attr.List) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].Code() < l[j-1].Code(); j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

// withNextHop replaces the next hop of a list (NEXT_HOP for IPv4 unicast
// with an IPv4 address, MP_REACH_NLRI otherwise), adding it when missing.
func withNextHop(l attr.List, fam nlri.Family, a netip.Addr) attr.List {
	out := l[:0]
	for _, x := range l {
		switch x := x.(type) {
		case *attr.NextHop:
			continue
		case *attr.MPReach:
			if x.Family == fam {
				continue
			}
		}
		out = append(out, x)
	}
	if fam == nlri.IPv4Unicast && a.Is4() {
		return append(out, &attr.NextHop{Addr: a})
	}
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	return append(out, attr.NewMPReach(fam, a, netip.Addr{}, nil))
}
