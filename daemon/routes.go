package daemon

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// RouteQuery selects the paths Routes returns. The zero value selects
// every path of every family.
type RouteQuery struct {
	// Family, when not zero, is the only family listed.
	Family nlri.Family
	// Prefix selects one unicast prefix exactly; Addr the longest prefix
	// containing it; Text a route of another family by its text form.
	// At most one is set.
	Prefix netip.Prefix
	Addr   netip.Addr
	Text   string
	// Peer, when valid, is a neighbour: only the paths learned from it,
	// or with Received its Adj-RIB-In, with Advertised what we sent it.
	Peer       netip.Addr
	Received   bool
	Advertised bool
	// BestOnly leaves out the paths that are not best.
	BestOnly bool
}

// Route is one path. Its fields are copies or immutable values.
type Route struct {
	Family nlri.Family
	// Prefix is the unicast prefix (invalid for other families); Text
	// the route's text form (the CIDR prefix for unicast).
	Prefix netip.Prefix
	Text   string
	PathID uint32
	// Peer is the neighbour the path came from; invalid for our own
	// routes (and for the routes we advertise).
	Peer    netip.Addr
	NextHop netip.Addr
	// Attrs are the path attributes (shared, never modified); ASPath is
	// AS_PATH after RFC 6793 reconciliation (nil when there is none).
	Attrs  attr.List
	ASPath *attr.ASPath
	Best   bool
	// Multipath marks a path of the ECMP set other than the best.
	Multipath bool
	Stale     bool
	Internal  bool
	// Filtered marks, in a Received listing only, a path that is not
	// accepted; Reason says why.
	Filtered bool
	Reason   string
	Since    time.Time
}

// LocalPref is LOCAL_PREF, or the default 100 when absent.
func (r *Route) LocalPref() uint32 {
	if lp, ok := r.Attrs.LocalPref(); ok {
		return lp.Value
	}
	return rib.DefaultLocalPref
}

// Routes returns the paths q selects, grouped by prefix (IPv4 before
// IPv6, prefixes in address order), each prefix's paths from the best to
// the worst. The Loc-RIB is read in the RIB loop (a consistent view: every
// change made before the call is in it); the Adj-RIB-Out of --advertised
// in the peer's update group. ErrNoNeighbor when q.Peer is not a
// neighbour.
func (d *Daemon) Routes(q RouteQuery) ([]Route, error) {
	var n *neighbor
	if q.Peer.IsValid() {
		if n = d.lookup(q.Peer); n == nil {
			return nil, fmt.Errorf("%w %s", ErrNoNeighbor, q.Peer)
		}
	}
	if q.Advertised && n != nil {
		return d.advertisedRoutes(n, q)
	}
	var out []Route
	ok := d.rib.query(func() { out = d.rib.list(n, q) })
	if !ok {
		return nil, ErrStopped
	}
	return out, nil
}

// want reports whether q selects routes of fam.
func (q *RouteQuery) want(fam nlri.Family) bool {
	return q.Family == (nlri.Family{}) || q.Family == fam
}

// list runs in the RIB loop.
func (l *ribLoop) list(n *neighbor, q RouteQuery) []Route {
	var src *ribSource
	if n != nil {
		if src = l.srcs[n]; src == nil {
			return nil
		}
	}
	var out []Route
	add := func(fam nlri.Family, pfx netip.Prefix, ps []*rib.Path, nsel int) {
		for i, p := range ps {
			if src != nil && (p.Source.Local || p.SourceID != src.id) {
				continue
			}
			if q.BestOnly && i > 0 {
				break
			}
			r := routeOf(fam, pfx, p, i == 0 && nsel > 0, i > 0 && i < nsel)
			if fam == nlri.IPv4Unicast {
				r.Since = l.clock4.since(p.Seq)
			} else {
				r.Since = l.clock6.since(p.Seq)
			}
			if src != nil && q.Received && len(src.pre) > 0 {
				// With soft reconfiguration inbound, what was received.
				if pre := src.pre[rejKey{fam: fam, pfx: pfx, id: p.PathID}]; pre != nil {
					r.Attrs = pre.List()
					r.ASPath, _ = r.Attrs.ASPath()
					r.NextHop = nextHopOf(r.Attrs)
				}
			}
			out = append(out, r)
		}
	}
	one4 := func(k rib.Prefix4) {
		ps, nsel := l.v4.Lookup(k)
		add(nlri.IPv4Unicast, k.Prefix(), ptrs(ps), nsel)
	}
	one6 := func(k rib.Prefix6) {
		ps, nsel := l.v6.Lookup(k)
		add(nlri.IPv6Unicast, k.Prefix(), ptrs(ps), nsel)
	}
	switch {
	case q.Text != "":
		return nil // VPN and EVPN routes are not kept by this version
	case q.Prefix.IsValid():
		if k, ok := rib.Prefix4From(q.Prefix); ok && q.want(nlri.IPv4Unicast) {
			one4(k)
		} else if k, ok := rib.Prefix6From(q.Prefix); ok && q.want(nlri.IPv6Unicast) {
			one6(k)
		}
	case q.Addr.IsValid():
		// Longest match: the longest prefix that holds a path.
		a := q.Addr.Unmap()
		for bits := a.BitLen(); bits >= 0 && len(out) == 0; bits-- {
			p := netip.PrefixFrom(a, bits).Masked()
			if k, ok := rib.Prefix4From(p); ok && q.want(nlri.IPv4Unicast) {
				one4(k)
			} else if k, ok := rib.Prefix6From(p); ok && q.want(nlri.IPv6Unicast) {
				one6(k)
			}
		}
	default:
		if q.want(nlri.IPv4Unicast) {
			for pos, more := uint32(0), true; more; {
				pos, more = l.v4.Walk(pos, walkChunk, func(k rib.Prefix4, slot uint32, ps []*rib.Path, nsel int) {
					add(nlri.IPv4Unicast, k.Prefix(), ps, nsel)
				})
			}
		}
		if q.want(nlri.IPv6Unicast) {
			for pos, more := uint32(0), true; more; {
				pos, more = l.v6.Walk(pos, walkChunk, func(k rib.Prefix6, slot uint32, ps []*rib.Path, nsel int) {
					add(nlri.IPv6Unicast, k.Prefix(), ps, nsel)
				})
			}
		}
	}
	if src != nil && q.Received {
		for k, r := range src.rejected.m {
			if !q.want(k.fam) || (q.Prefix.IsValid() && k.pfx != q.Prefix) || (q.Addr.IsValid() && !k.pfx.Contains(q.Addr)) {
				continue
			}
			rt := Route{Family: k.fam, Prefix: k.pfx, Text: k.pfx.String(), PathID: k.id, Peer: n.key.Addr,
				Attrs: r.attrs.List(), Filtered: true, Reason: r.reason, Internal: src.session != nil && src.session.IBGP()}
			rt.ASPath, _ = rt.Attrs.ASPath()
			rt.NextHop = nextHopOf(rt.Attrs)
			out = append(out, rt)
		}
	}
	sortRoutes(out)
	return out
}

func ptrs(ps []rib.Path) []*rib.Path {
	out := make([]*rib.Path, len(ps))
	for i := range ps {
		out[i] = &ps[i]
	}
	return out
}

// routeOf copies one path out of the table.
func routeOf(fam nlri.Family, pfx netip.Prefix, p *rib.Path, best, multipath bool) Route {
	r := Route{Family: fam, Prefix: pfx, Text: pfx.String(), PathID: p.PathID, Attrs: p.Attrs.List(),
		Best: best, Multipath: multipath, Stale: p.Stale, Internal: p.Source.IBGP}
	if !p.Source.Local {
		r.Peer = p.Source.Addr
	}
	r.ASPath, _ = r.Attrs.ASPath()
	r.NextHop = nextHopOf(r.Attrs)
	return r
}

// nextHopOf is a list's next hop: NEXT_HOP, or MP_REACH_NLRI's global one.
func nextHopOf(l attr.List) netip.Addr {
	if nh, ok := l.NextHop(); ok {
		return nh.Addr
	}
	if mp, ok := l.MPReach(); ok {
		g, _, _, _ := mp.NextHops()
		return g
	}
	return netip.Addr{}
}

// sortRoutes orders paths by family and prefix; within a prefix the order
// the table gave (best first) is kept.
func sortRoutes(rs []Route) {
	slices.SortStableFunc(rs, func(a, b Route) int {
		if c := compareFamily(a.Family, b.Family); c != 0 {
			return c
		}
		if c := comparePrefix(a.Prefix, b.Prefix); c != 0 {
			return c
		}
		// Filtered paths after the candidates.
		if a.Filtered != b.Filtered {
			if a.Filtered {
				return 1
			}
			return -1
		}
		return 0
	})
}

// comparePrefix orders prefixes: IPv4 before IPv6, then by address, then
// shorter first.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// advertisedRoutes lists the Adj-RIB-Out of the peer's update group.
func (d *Daemon) advertisedRoutes(n *neighbor, q RouteQuery) ([]Route, error) {
	// The RIB loop walks its tables for the group (rib/export/walk.go);
	// the group makes the copy, which is waited for here.
	var w *export.Walk
	if !d.rib.query(func() {
		if rs := d.rib.srcs[n]; rs != nil && rs.group != nil {
			w = d.rib.snapshot(rs.group.g, q.Family, q.Prefix)
		}
	}) {
		return nil, ErrStopped
	}
	if w == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adv, ok := w.Result(ctx)
	if !ok {
		return nil, nil // the group closed meanwhile: the session went down
	}
	out := make([]Route, 0, len(adv))
	for _, a := range adv {
		if q.Addr.IsValid() && !a.Prefix.Contains(q.Addr) {
			continue
		}
		r := Route{Family: a.Family, Prefix: a.Prefix, Text: a.Prefix.String(), PathID: a.PathID, Attrs: a.Attrs, Best: true}
		r.ASPath, _ = a.Attrs.ASPath()
		r.NextHop = nextHopOf(a.Attrs)
		out = append(out, r)
	}
	if q.Addr.IsValid() {
		bits := -1
		for _, r := range out {
			bits = max(bits, r.Prefix.Bits())
		}
		out = slices.DeleteFunc(out, func(r Route) bool { return r.Prefix.Bits() != bits })
	}
	sortRoutes(out)
	slices.SortStableFunc(out, func(a, b Route) int {
		if a.Prefix != b.Prefix {
			return 0
		}
		return cmp.Compare(a.PathID, b.PathID)
	})
	return out, nil
}
