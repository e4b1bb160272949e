package daemon

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

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
	Attrs    attr.List
	ASPath   *attr.ASPath
	Best     bool
	Stale    bool
	Internal bool
	// Filtered marks, in a Received listing only, a path that is not
	// accepted (its AS_PATH holds our AS).
	Filtered bool
	Since    time.Time
}

// LocalPref is LOCAL_PREF, or the default 100 when absent.
func (r *Route) LocalPref() uint32 {
	if lp, ok := r.Attrs.LocalPref(); ok {
		return lp.Value
	}
	return defaultLocalPref
}

// Routes returns the selected paths, grouped by prefix (families in
// AFI/SAFI order, prefixes in address order), the best path of each prefix
// first. ErrNoNeighbor when q.Peer is not a neighbour.
func (d *Daemon) Routes(q RouteQuery) ([]Route, error) {
	var out []Route
	keep := func(fam nlri.Family, pfx netip.Prefix, text string) bool {
		switch {
		case q.Family != (nlri.Family{}) && fam != q.Family:
			return false
		case q.Prefix.IsValid() && pfx != q.Prefix:
			return false
		case q.Addr.IsValid() && (!pfx.IsValid() || !pfx.Contains(q.Addr)):
			return false
		case q.Text != "" && text != q.Text:
			return false
		}
		return true
	}
	if q.Peer.IsValid() {
		n := d.lookup(q.Peer)
		if n == nil {
			return nil, fmt.Errorf("%w %s", ErrNoNeighbor, q.Peer)
		}
		switch {
		case q.Advertised:
			out = n.advertisedRoutes(keep)
		case q.Received:
			out = n.receivedRoutes(keep, true)
			d.markBest(out, q)
		}
		if q.Advertised || q.Received {
			return finish(out, q), nil
		}
	}
	out = d.localRoutes(keep)
	for _, n := range d.neighborList() {
		out = append(out, n.receivedRoutes(keep, false)...)
	}
	d.markBest(out, q)
	if q.Peer.IsValid() {
		out = slices.DeleteFunc(out, func(r Route) bool { return r.Peer != q.Peer })
	}
	return finish(out, q), nil
}

// markBest sorts rs and marks each prefix's best path (see better). For a
// neighbour's Adj-RIB-In, best is whether the path is the best of the
// whole table.
func (d *Daemon) markBest(rs []Route, q RouteQuery) {
	if q.Received {
		// Compare with the whole table for the prefixes at hand.
		var all []Route
		keep := func(fam nlri.Family, pfx netip.Prefix, text string) bool {
			for _, r := range rs {
				if r.Family == fam && r.Prefix == pfx && r.Text == text {
					return true
				}
			}
			return false
		}
		if len(rs) > 0 {
			all = d.localRoutes(keep)
			for _, n := range d.neighborList() {
				all = append(all, n.receivedRoutes(keep, false)...)
			}
		}
		sortRoutes(all)
		best := map[string]Route{}
		for i := range all {
			k := groupKey(&all[i])
			if _, ok := best[k]; !ok {
				best[k] = all[i]
			}
		}
		for i := range rs {
			b, ok := best[groupKey(&rs[i])]
			rs[i].Best = ok && !rs[i].Filtered && b.Peer == rs[i].Peer && b.PathID == rs[i].PathID
		}
		sortRoutes(rs)
		return
	}
	sortRoutes(rs)
	for i := range rs {
		rs[i].Best = i == 0 || groupKey(&rs[i]) != groupKey(&rs[i-1])
	}
}

// finish applies the longest match and BestOnly.
func finish(rs []Route, q RouteQuery) []Route {
	if q.Addr.IsValid() {
		bits := -1
		for _, r := range rs {
			bits = max(bits, r.Prefix.Bits())
		}
		rs = slices.DeleteFunc(rs, func(r Route) bool { return r.Prefix.Bits() != bits })
	}
	if q.BestOnly {
		rs = slices.DeleteFunc(rs, func(r Route) bool { return !r.Best })
	}
	return rs
}

func groupKey(r *Route) string {
	return r.Family.String() + "|" + r.Text
}

// sortRoutes orders paths by family and prefix, and within a prefix from
// the best to the worst (better).
func sortRoutes(rs []Route) {
	slices.SortStableFunc(rs, func(a, b Route) int {
		if c := compareFamily(a.Family, b.Family); c != 0 {
			return c
		}
		if a.Prefix.IsValid() && b.Prefix.IsValid() {
			if c := comparePrefix(a.Prefix, b.Prefix); c != 0 {
				return c
			}
		} else if c := strings.Compare(a.Text, b.Text); c != 0 {
			return c
		}
		return better(&a, &b)
	})
}

// better is the selection of this minimal table, until the rib layer
// brings the decision process of RFC 4271 §9.1.2:
//
//  1. the highest LOCAL_PREF (absent: 100), RFC 4271 §9.1.2.1;
//  2. the shortest AS_PATH (an AS_SET counts one), RFC 4271 §9.1.2.2 a;
//  3. the lowest peer address, our own routes first (in place of the
//     router ID step, RFC 4271 §9.1.2.2 f-g).
//
// Deviations: no ORIGIN, MED, eBGP-over-iBGP or IGP-cost steps, no next
// hop resolution, no ECMP; stale paths compete as any other. The result is
// negative when a is better.
func better(a, b *Route) int {
	// Step 1: LOCAL_PREF, highest wins.
	if c := cmp.Compare(b.LocalPref(), a.LocalPref()); c != 0 {
		return c
	}
	// Step 2: AS_PATH length, shortest wins.
	if c := cmp.Compare(a.ASPath.Length(), b.ASPath.Length()); c != 0 {
		return c
	}
	// Step 3: peer address, lowest wins; local routes (no address) first.
	if c := a.Peer.Compare(b.Peer); c != 0 {
		return c
	}
	return cmp.Compare(a.PathID, b.PathID)
}

type keepFunc func(fam nlri.Family, pfx netip.Prefix, text string) bool

// receivedRoutes copies the selected paths of the Adj-RIB-In: the accepted
// ones, or with all every one (the refused marked Filtered).
func (n *neighbor) receivedRoutes(keep keepFunc, all bool) []Route {
	var out []Route
	addr := n.key.Addr
	n.in.each(func(k ribKey, p path) {
		text := k.text
		if k.pfx.IsValid() {
			text = k.pfx.String()
		} else if i := strings.Index(text, " path-id "); i >= 0 {
			text = text[:i]
		}
		if !keep(k.fam, k.pfx, text) || (p.attrs.looped && !all) {
			return
		}
		out = append(out, Route{Filtered: p.attrs.looped, Family: k.fam, Prefix: k.pfx, Text: text, PathID: k.id, Peer: addr,
			NextHop: p.attrs.nextHop, Attrs: p.attrs.list, ASPath: p.attrs.asPath, Stale: p.stale,
			Internal: p.attrs.internal, Since: p.since})
	})
	return out
}

// advertisedRoutes lists the Adj-RIB-Out of the current session.
func (n *neighbor) advertisedRoutes(keep keepFunc) []Route {
	a := n.advertiser()
	if a == nil {
		return nil
	}
	var out []Route
	for _, r := range a.snapshot() {
		fam := familyOf(r.prefix)
		if !keep(fam, r.prefix, r.prefix.String()) {
			continue
		}
		rt := Route{Family: fam, Prefix: r.prefix, Text: r.prefix.String(), Attrs: r.attrs, Best: true, Since: a.s.Since}
		rt.ASPath, _ = r.attrs.ASPath()
		if nh, ok := r.attrs.NextHop(); ok {
			rt.NextHop = nh.Addr
		} else if mp, ok := r.attrs.MPReach(); ok {
			rt.NextHop, _, _, _ = mp.NextHops()
		}
		out = append(out, rt)
	}
	return out
}

// localRoutes lists our own routes as the table holds them: next hop
// unspecified ("0.0.0.0" or "::", ourselves), empty AS_PATH, ORIGIN IGP.
func (d *Daemon) localRoutes(keep keepFunc) []Route {
	set := d.origins.Load()
	var out []Route
	for _, g := range set.groups {
		for _, p := range g.prefixes {
			fam := familyOf(p)
			if !keep(fam, p, p.String()) {
				continue
			}
			nh := netip.IPv4Unspecified()
			if fam == nlri.IPv6Unicast {
				nh = netip.IPv6Unspecified()
			}
			out = append(out, Route{Family: fam, Prefix: p, Text: p.String(), NextHop: nh,
				Attrs: localAttrs(g.o), ASPath: &attr.ASPath{}, Since: d.started})
		}
	}
	return out
}

// localAttrs are an origin's attributes as the table shows them.
func localAttrs(o *origin) attr.List {
	l := attr.List{&attr.Origin{Value: attr.OriginIGP}, &attr.ASPath{}}
	if o.spec.MED != nil {
		l = append(l, &attr.MED{Value: *o.spec.MED})
	}
	lp := uint32(defaultLocalPref)
	if o.spec.LocalPreference != nil {
		lp = *o.spec.LocalPreference
	}
	l = append(l, &attr.LocalPref{Value: lp})
	if len(o.spec.Communities) > 0 {
		c := &attr.Communities{}
		for _, v := range o.spec.Communities {
			c.Values = append(c.Values, uint32(v))
		}
		l = append(l, c)
	}
	if len(o.spec.LargeCommunities) > 0 {
		c := &attr.LargeCommunities{}
		for _, v := range o.spec.LargeCommunities {
			c.Values = append(c.Values, attr.LargeCommunity{Global: v.Global, Local1: v.Local1, Local2: v.Local2})
		}
		l = append(l, c)
	}
	return l
}
