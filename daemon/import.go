package daemon

// Import: what a peer's reader goroutine does with a batch of UPDATEs
// before the RIB loop sees it. Per UPDATE and family, the attributes are
// prepared once (AS4_PATH merged into AS_PATH, RFC 6793; the family's next
// hop kept as an MP_REACH_NLRI without NLRI; LOCAL_PREF, ORIGINATOR_ID
// and CLUSTER_LIST dropped when they come over eBGP, RFC 4271 §5.1.5 and
// RFC 7606 §7.9-7.10), checked, and interned; each prefix then costs a
// key and a pointer in the batch.
//
// Then the import policy, when the peer has one (importPolicy): a route it
// rejects is treated the same way as one that fails a check.
//
// A path that fails a check is not a candidate (treat-as-withdraw): it
// replaces and withdraws any path it would have replaced, and the RIB
// keeps it aside so that it counts as received and shows as filtered:
//
//   - AS_PATH holds our AS more often than allowASIn lets (RFC 4271 §9.1.2);
//   - ORIGINATOR_ID is our router ID, or CLUSTER_LIST holds our cluster ID
//     (RFC 4456 §8);
//   - the next hop is a martian (DESIGN.md: 0.0.0.0/8, 127.0.0.0/8,
//     224.0.0.0/4, 240.0.0.0/4, ::, ::1, ff00::/8; a loopback one is
//     allowed on a session that runs over loopback itself, as speakers on
//     one host do), or our own address.

import (
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/policy"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// rejectReason says why a path is not a candidate (0: it is).
type rejectReason uint8

const (
	accepted rejectReason = iota
	rejectASLoop
	rejectOriginator
	rejectClusterLoop
	rejectMartian
	rejectOwnNextHop
	rejectNoNextHop
	rejectPolicy
	rejectRouteLeak
	rejectPathTooLong
)

var rejectText = [...]string{"", "AS_PATH contains our AS", "ORIGINATOR_ID is our router ID (RFC 4456)",
	"CLUSTER_LIST contains our cluster ID (RFC 4456)", "martian next hop", "next hop is our own address",
	"no next hop for the family", "rejected by the import policy",
	"route leak: Only-to-Customer attribute from a customer, route-server client or another peer's AS (RFC 9234)",
	"AS_PATH longer than maxASPathLength"}

func (r rejectReason) String() string { return rejectText[r] }

// route4 and route6 are one path of a batch. They hold no pointers, so a
// batch of thousands is one allocation the collector does not scan (and
// writing it needs no write barrier): sets are numbered in the batch's
// held list.
type route4 struct {
	key    rib.Prefix4
	id     uint32
	set    setRef // 0: withdrawn
	pre    setRef // before the import policy, kept with soft reconfiguration inbound; 0: not kept
	reason rejectReason
}

type route6 struct {
	key    rib.Prefix6
	id     uint32
	set    setRef
	pre    setRef
	reason rejectReason
}

// setRef is an attribute set of a batch: its index in held, plus one.
type setRef uint32

// routeBatch is one batch of a session's UPDATEs, ready for the tables.
// Batches are recycled (batchPool): the loop gives each back once applied.
type routeBatch struct {
	v4        []route4
	v6        []route6
	eor       []nlri.Family
	disabled  []nlri.Family
	withdrawn uint64
	held      []*rib.Attrs // references interning took; the loop releases them
}

// attrs returns the set r names (nil for 0).
func (b *routeBatch) attrs(r setRef) *rib.Attrs {
	if r == 0 {
		return nil
	}
	return b.held[r-1]
}

// hold adds a, whose reference the batch now holds, and names it.
func (b *routeBatch) hold(a *rib.Attrs) setRef {
	b.held = append(b.held, a)
	return setRef(len(b.held))
}

func (b *routeBatch) release(t *rib.Table) {
	for _, a := range b.held {
		t.Release(a)
	}
	clear(b.held)
	b.held = b.held[:0]
}

// batchPool recycles batches between the sessions' readers and the RIB
// loop, so that a full table does not leave a trail of batch slices for
// the collector, nor fault in fresh memory for each batch. Batches that
// grew past maxPooledRoutes are dropped rather than kept for life; at
// most maxPooledBatches are kept, more than the loop's queue and the
// readers hold at once.
type batchPool struct{ r recycler[routeBatch] }

const (
	maxPooledRoutes  = 1 << 14
	maxPooledBatches = 48
)

func (bp *batchPool) get() *routeBatch {
	if bp != nil {
		if b := bp.r.get(); b != nil {
			return b
		}
	}
	return &routeBatch{}
}

// put recycles b, which must have been released.
func (bp *batchPool) put(b *routeBatch) {
	if bp == nil || cap(b.v4) > maxPooledRoutes || cap(b.v6) > maxPooledRoutes {
		return
	}
	b.v4, b.v6, b.eor, b.disabled, b.withdrawn = b.v4[:0], b.v6[:0], b.eor[:0], b.disabled[:0], 0
	bp.r.put(b, maxPooledBatches)
}

// importer prepares one session's UPDATEs. It is used by the session's
// reader only (the Handler's Updates calls never overlap).
type importer struct {
	t         *rib.Table
	batches   *batchPool   // nil: batches are not recycled (tests)
	opts      attr.Options // the receive direction's
	ibgp      bool
	localAS   uint32
	allowASIn int
	routerID  netip.Addr
	clusterID netip.Addr
	local     netip.Addr // our address on the session
	remote    netip.Addr // the peer's address on the session
	keepPre   bool       // soft reconfiguration inbound: the loop keeps pre-policy paths
	// role is our RFC 9234 role on the session (nil: none); peerAS the
	// neighbour's AS, which OTC names.
	role    *iana.Role
	peerAS  uint32
	maxPath int    // maxASPathLength; 0: no limit
	zone    string // the interface of the session's local address
	// policy is the import policy (nil: the default, accept); swapped
	// whole when the RoutePolicy changes, read once per batch.
	policy atomic.Pointer[policy.Policy]

	pol     *policy.Policy // this batch's
	scratch []byte
	cache   []famAttrs  // per family, for the UPDATE at hand
	lists   []attr.List // their lists (prepare)
}

type famAttrs struct {
	fam    nlri.Family
	a      *rib.Attrs
	ref    setRef // a in the batch
	reason rejectReason
	list   attr.List  // before the import policy
	nh     netip.Addr // the routes' next hop
	// polA and polReason are the policy's result when it does not depend
	// on the prefix (polDone), so that one evaluation serves the UPDATE.
	polDone   bool
	polRef    setRef
	polReason rejectReason
}

// batch turns UPDATEs into a routeBatch.
func (im *importer) batch(us []*wire.Update) *routeBatch {
	b := im.batches.get()
	im.pol = im.policy.Load()
	// Whether reachIPv4 may take an UPDATE's IPv4 routes: nothing per
	// prefix to do, which holds for the whole batch.
	fast := !im.keepPre && (im.pol == nil || !im.pol.PrefixDependent())
	for _, u := range us {
		if fam, ok := u.EndOfRIB(); ok {
			b.eor = append(b.eor, fam)
			continue
		}
		b.disabled = append(b.disabled, u.Disabled()...)
		for r := range u.Unreach() {
			b.withdrawn++
			switch r.Family {
			case nlri.IPv4Unicast:
				if k, ok := rib.Prefix4From(r.Prefix.Prefix); ok {
					b.v4 = append(b.v4, route4{key: k, id: r.Prefix.PathID})
				}
			case nlri.IPv6Unicast:
				if k, ok := rib.Prefix6From(r.Prefix.Prefix); ok {
					b.v6 = append(b.v6, route6{key: k, id: r.Prefix.PathID})
				}
			}
		}
		im.cache = im.cache[:0]
		if field, addPath, ok := u.ReachIPv4(); ok && fast {
			im.reachIPv4(u, field, addPath, b)
			continue
		}
		for r := range u.Reach() {
			if r.Family != nlri.IPv4Unicast && r.Family != nlri.IPv6Unicast {
				continue // other families are not kept by this version
			}
			fa := im.attrsFor(u, r.Family, b)
			a, reason := fa.ref, fa.reason
			if reason == accepted && im.pol != nil {
				a, reason = im.applyPolicy(fa, r.Prefix.Prefix, b)
			}
			var pre setRef
			if im.keepPre && fa.reason == accepted {
				pre = fa.ref
			}
			switch r.Family {
			case nlri.IPv4Unicast:
				if k, ok := rib.Prefix4From(r.Prefix.Prefix); ok {
					b.v4 = append(b.v4, route4{key: k, id: r.Prefix.PathID, set: a, reason: reason, pre: pre})
				}
			case nlri.IPv6Unicast:
				if k, ok := rib.Prefix6From(r.Prefix.Prefix); ok {
					b.v6 = append(b.v6, route6{key: k, id: r.Prefix.PathID, set: a, reason: reason, pre: pre})
				}
			}
		}
	}
	return b
}

// reachIPv4 adds the routes of an UPDATE that announces IPv4 unicast in
// its NLRI field only (wire.Update.ReachIPv4) and needs nothing per
// prefix: no pre-policy copy, and no import policy or one that does not
// look at the prefix, which then runs once for the UPDATE. It gives what
// the general loop in batch gives, without building a netip.Prefix per
// prefix: most of a full table's UPDATEs are of this kind.
func (im *importer) reachIPv4(u *wire.Update, field []byte, addPath bool, b *routeBatch) {
	fa := im.attrsFor(u, nlri.IPv4Unicast, b)
	ref, reason := fa.ref, fa.reason
	c := wire.IPv4Cursor{Field: field, AddPath: addPath}
	for first := true; ; first = false {
		v, bits, id, ok := c.Next()
		if !ok {
			return
		}
		if first && reason == accepted && im.pol != nil {
			ref, reason = im.applyPolicy(fa, wire.IPv4Prefix(v, bits), b)
		}
		b.v4 = append(b.v4, route4{key: rib.MakePrefix4(v, uint8(bits)), id: id, set: ref, reason: reason})
	}
}

// attrsFor returns the interned set of u's routes of family fam, built on
// first use for this UPDATE.
//
// It returns a pointer into im.cache, good until the next call: a copy
// of the whole entry per prefix was a tenth of the readers' time.
func (im *importer) attrsFor(u *wire.Update, fam nlri.Family, b *routeBatch) *famAttrs {
	for i := range im.cache {
		if c := &im.cache[i]; c.fam == fam {
			return c
		}
	}
	list, nh := im.prepare(u, fam, len(im.cache))
	list, reason := im.otc(list)
	if reason == accepted {
		reason = im.check(list, nh)
	}
	var a *rib.Attrs
	a, im.scratch = im.t.InternZone(list, im.scratch, im.zone)
	c := famAttrs{fam: fam, a: a, ref: b.hold(a), reason: reason, list: list, nh: nh}
	im.cache = append(im.cache, c)
	return &im.cache[len(im.cache)-1]
}

// applyPolicy runs the import policy on one route: a rejected route is
// kept aside as filtered (with the attributes it came with); an accepted
// one gets the policy's attributes, interned. A policy that does not look
// at the prefix is run once per UPDATE and family.
func (im *importer) applyPolicy(fa *famAttrs, pfx netip.Prefix, b *routeBatch) (setRef, rejectReason) {
	dep := im.pol.PrefixDependent()
	if !dep {
		for i := range im.cache {
			if c := &im.cache[i]; c.fam == fa.fam && c.polDone {
				return c.polRef, c.polReason
			}
		}
	}
	a, reason, held := im.importEval(im.pol, fa.fam, pfx, fa.a, fa.list, fa.nh)
	ref := fa.ref
	if held {
		ref = b.hold(a)
	}
	if !dep {
		for i := range im.cache {
			if c := &im.cache[i]; c.fam == fa.fam {
				c.polDone, c.polRef, c.polReason = true, ref, reason
			}
		}
	}
	return ref, reason
}

// importEval runs an import policy over one route whose checked, interned
// attributes are a, decoded as list (the caller's decoding, so that the
// set is not decoded again per prefix). It returns the set to keep (a itself, or a new
// interned one, then held reports the reference the caller must release)
// and whether the policy refused the route.
func (im *importer) importEval(pol *policy.Policy, fam nlri.Family, pfx netip.Prefix, a *rib.Attrs, list attr.List, nh netip.Addr) (*rib.Attrs, rejectReason, bool) {
	typ := policy.EBGP
	if im.ibgp {
		typ = policy.IBGP
	}
	res := pol.Eval(&policy.Route{Family: fam, Prefix: pfx, Attrs: list, NextHop: nh, Neighbor: im.remote.Unmap(), Type: typ},
		policy.Env{LocalAS: im.localAS})
	switch {
	case !res.Accept:
		return a, rejectPolicy, false
	case res.Changed || res.NextHop.Mode == config.NextHopAddress || res.NextHop.Mode == config.NextHopPeer:
		list := setNextHop(res.Attrs, fam, res.NextHop, im.remote)
		var out *rib.Attrs
		out, im.scratch = im.t.InternZone(list, im.scratch, im.zone)
		return out, accepted, true
	}
	return a, accepted, false
}

// setNextHop applies a policy's next-hop directive to a list (a new list
// when it changes anything): "peer" is the session's remote address, an
// address is itself; "self" and "unchanged" leave an imported route's
// next hop as it is.
func setNextHop(l attr.List, fam nlri.Family, nh policy.NextHopAction, peer netip.Addr) attr.List {
	var to netip.Addr
	switch nh.Mode {
	case config.NextHopPeer:
		to = peer.Unmap()
	case config.NextHopAddress:
		to = nh.Addr
	default:
		return l
	}
	out := make(attr.List, 0, len(l))
	for _, x := range l {
		switch x := x.(type) {
		case *attr.NextHop:
			if to.Is4() {
				out = append(out, &attr.NextHop{Addr: to})
				continue
			}
		case *attr.MPReach:
			if x.Family == fam {
				g := to
				if g.Is4() {
					g = netip.AddrFrom16(g.As16())
				}
				out = append(out, attr.NewMPReach(fam, g, netip.Addr{}, nil))
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// prepare builds the attribute list the table keeps for u's routes of
// family fam, and returns their next hop. The list is built in the
// importer's buffer number buf (one per family of the UPDATE at hand,
// im.cache's), which the next UPDATE reuses: it lives as long as u's
// decoded attributes, whose elements it holds.
func (im *importer) prepare(u *wire.Update, fam nlri.Family, buf int) (attr.List, netip.Addr) {
	path, agg := u.Attrs.ReconcileAS4(im.opts)
	for len(im.lists) <= buf {
		im.lists = append(im.lists, nil)
	}
	list := slices.Grow(im.lists[buf][:0], len(u.Attrs)+1)
	var nh netip.Addr
	for _, a := range u.Attrs {
		switch a := a.(type) {
		case *attr.MPReach:
			if a.Family != fam {
				continue
			}
			g, ll, _, err := a.NextHops()
			if err != nil {
				continue
			}
			nh = im.zoned(g)
			list = append(list, attr.NewMPReach(fam, g, ll, nil))
		case *attr.NextHop:
			if fam == nlri.IPv4Unicast && !mpFamily(u, fam) {
				nh = a.Addr
				list = append(list, a)
			}
		case *attr.MPUnreach, *attr.AS4Path, *attr.AS4Aggregator:
		case *attr.ASPath:
			if path != nil {
				list = append(list, path)
			}
		case *attr.Aggregator:
			if agg != nil {
				list = append(list, agg)
			}
		case *attr.LocalPref, *attr.OriginatorID, *attr.ClusterList:
			if im.ibgp {
				list = append(list, a)
			}
		default:
			list = append(list, a)
		}
	}
	im.lists[buf] = list // grown, for the next UPDATE
	return list, nh
}

// zoned gives an unzoned IPv6 link-local address the session's interface.
func (im *importer) zoned(a netip.Addr) netip.Addr {
	if a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" && im.zone != "" {
		return a.WithZone(im.zone)
	}
	return a
}

// mpFamily reports whether u carries fam's routes in MP_REACH_NLRI.
func mpFamily(u *wire.Update, fam nlri.Family) bool {
	mp, ok := u.Attrs.MPReach()
	return ok && mp.Family == fam
}

// check applies the import checks of the file comment.
func (im *importer) check(list attr.List, nh netip.Addr) rejectReason {
	if p, ok := list.ASPath(); ok && countAS(p, im.localAS) > im.allowASIn {
		return rejectASLoop
	}
	if p, ok := list.ASPath(); ok && im.maxPath > 0 && countAll(p) > im.maxPath {
		return rejectPathTooLong
	}
	if im.ibgp {
		if o, ok := list.OriginatorID(); ok && o.ID == im.routerID {
			return rejectOriginator
		}
		if cl, ok := list.ClusterList(); ok && cl.Contains(im.clusterID) {
			return rejectClusterLoop
		}
	}
	switch {
	case !nh.IsValid():
		return rejectNoNextHop
	case martian(nh) && !(nh.Unmap().IsLoopback() && im.remote.Unmap().IsLoopback()):
		// A loopback next hop is usable when the session itself runs
		// over loopback: speakers on one host (tests, benchmarks).
		return rejectMartian
	case nh.Unmap() == im.local.Unmap():
		return rejectOwnNextHop
	}
	return accepted
}

// otc applies RFC 9234 §5's ingress rules on a session with a role: a
// route with OTC from a customer or route-server client is a leak, and so
// is one from a lateral peer whose OTC names another AS; a route from a
// provider, peer or route server gets OTC = the neighbour's AS when it has
// none.
func (im *importer) otc(list attr.List) (attr.List, rejectReason) {
	if im.role == nil {
		return list, accepted
	}
	o, has := list.OTC()
	switch *im.role {
	case iana.RoleProvider, iana.RoleRouteServer: // from a customer, a route-server client
		if has {
			return list, rejectRouteLeak
		}
	case iana.RolePeer:
		if has && o.AS != im.peerAS {
			return list, rejectRouteLeak
		}
	}
	switch *im.role {
	case iana.RoleCustomer, iana.RolePeer, iana.RoleRouteServerClient: // from a provider, a peer, a route server
		if !has {
			return append(list, &attr.OTC{AS: im.peerAS}), accepted
		}
	}
	return list, accepted
}

// countAll is the number of AS numbers in the path, every segment counted.
func countAll(p *attr.ASPath) int {
	n := 0
	for _, s := range p.Segments {
		n += len(s.ASNs)
	}
	return n
}

// countAS counts the occurrences of as in the path.
func countAS(p *attr.ASPath, as uint32) int {
	n := 0
	for _, s := range p.Segments {
		for _, x := range s.ASNs {
			if x == as {
				n++
			}
		}
	}
	return n
}

// martian reports a next hop that can never be one (DESIGN.md).
func martian(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return b[0] == 0 || b[0] == 127 || b[0] >= 224
	}
	return a.IsUnspecified() || a.IsLoopback() || a.IsMulticast()
}
