package rib

// The BGP decision process (RFC 4271 §9.1.2), as godwit runs it. A path is
// preferred over another at the first step below that tells them apart:
//
//  1. Next hop resolvable: a path whose next hop the kernel cannot reach is
//     not a candidate at all (§9.1.2 "unresolvable"); until the FIB tracks
//     next hops, every next hop counts as resolvable.
//  2. Highest LOCAL_PREF (§9.1.2.2 step 1 of §9.1.1): a path without one
//     (from eBGP, or local) gets DefaultLocalPref.
//  3. Locally originated over learned (customary: FRR's "local route",
//     BIRD's preference for its own routes).
//  4. Shortest AS_PATH (§9.1.2.2 a): an AS_SET counts 1, confederation
//     segments 0 (RFC 5065 §5.3).
//  5. Lowest ORIGIN: IGP < EGP < INCOMPLETE (§9.1.2.2 b).
//  6. Lowest MULTI_EXIT_DISC (§9.1.2.2 c), compared only between paths
//     from the same neighbouring AS unless AlwaysCompareMED; a missing MED
//     is 0 (RFC 4271), or the worst value with MissingMEDWorst.
//     DeterministicMED makes Select compare MED within each neighbouring AS
//     first, so the result does not depend on arrival order.
//  7. eBGP over iBGP (§9.1.2.2 d).
//  8. Lowest IGP cost to the next hop (§9.1.2.2 e).
//     Paths equal up to here are equal-cost: they form the multipath set
//     (same neighbouring AS required unless MultipathRelax).
//  9. Oldest eBGP path (RFC 5004), when PreferOldest: fewer changes of the
//     best path for no gain. FRR does this by default; so do we.
// 10. Lowest BGP identifier of the advertising router, its ORIGINATOR_ID
//     when the path was reflected (§9.1.2.2 f, RFC 4456 §9).
// 11. Shortest CLUSTER_LIST (RFC 4456 §9).
// 12. Lowest neighbour address (§9.1.2.2 g).
//
// Where we differ from the RFC: step 3 and step 9 are additions that FRR
// and BIRD share; the path identifier (RFC 7911) is the last tie-breaker
// between paths from the same neighbour, so the order is total.

import "net/netip"

// DefaultLocalPref is the LOCAL_PREF of a path that carries none.
const DefaultLocalPref = 100

// Source is where a path came from: a peer, or this speaker.
type Source struct {
	// Addr is the neighbour's address (zero for local routes).
	Addr netip.Addr
	// RouterID is the neighbour's BGP identifier.
	RouterID netip.Addr
	// AS is the neighbour's AS.
	AS uint32
	// IBGP marks an internal session.
	IBGP bool
	// Local marks routes this speaker originates.
	Local bool
	// RRClient marks an iBGP neighbour that is our route-reflector client
	// (RFC 4456): its routes are reflected to every iBGP peer.
	RRClient bool
}

// Path is one path to a prefix.
type Path struct {
	Attrs  *Attrs
	Source *Source
	// SourceID is Source's identifier in the table the path is in.
	SourceID SourceID
	PathID   uint32
	// Seq orders paths by arrival; smaller is older.
	Seq uint64
	// Unresolvable marks a next hop the kernel cannot reach.
	Unresolvable bool
	// IGPCost is the metric to the next hop.
	IGPCost uint32
	// Stale marks a path kept for graceful restart.
	Stale bool
}

// Options are the decision process knobs (FRR's `bgp bestpath ...`).
type Options struct {
	AlwaysCompareMED bool
	DeterministicMED bool
	MissingMEDWorst  bool
	// PreferOldest is step 9; NewOptions turns it on, as FRR does.
	PreferOldest bool
	// MultipathRelax allows ECMP across neighbouring ASes.
	MultipathRelax bool
	// MaxPaths is the ECMP width; 1 turns multipath off.
	MaxPaths int
}

// NewOptions returns the defaults of DESIGN.md: 16-wide ECMP within one
// neighbouring AS, oldest eBGP path preferred.
func NewOptions() Options { return Options{PreferOldest: true, MaxPaths: 16} }

// Step names the step of the decision process that told two paths apart.
type Step uint8

// The steps, in order (see the file comment).
const (
	StepNone Step = iota // the paths are identical for the process
	StepNextHop
	StepLLGRStale
	StepLocalPref
	StepLocal
	StepASPathLength
	StepOrigin
	StepMED
	StepEBGP
	StepIGPCost
	StepOldest
	StepRouterID
	StepClusterList
	StepNeighborAddr
	StepPathID
)

var stepNames = [...]string{"identical", "next-hop-resolvable", "not-long-lived-stale", "local-preference", "locally-originated",
	"as-path-length", "origin", "med", "ebgp-over-ibgp", "igp-cost", "oldest-path", "router-id",
	"cluster-list-length", "neighbor-address", "path-id"}

// String names the step for route explanations.
func (s Step) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "unknown"
}

func localPref(p *Path) uint32 { return p.Attrs.localPref() }

func (a *Attrs) localPref() uint32 {
	if a.HasLocalPref {
		return a.LocalPref
	}
	return DefaultLocalPref
}

func (o *Options) med(p *Path) uint32 {
	if p.Attrs.HasMED {
		return p.Attrs.MED
	}
	if o.MissingMEDWorst {
		return ^uint32(0)
	}
	return 0
}

// routerID is the identifier step 10 compares: ORIGINATOR_ID when present.
func routerID(p *Path) netip.Addr {
	if id := p.Attrs.OriginatorID(); id.IsValid() {
		return id
	}
	return p.Source.RouterID
}

// sameNeighborAS reports whether MED may be compared (step 6).
func sameNeighborAS(a, b *Path) bool {
	return a.Attrs.NeighborAS == b.Attrs.NeighborAS
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Compare tells which of two paths to one prefix is better: negative when
// a is, positive when b is, and the step that decided. Identical paths
// compare 0 with StepNone.
func (o *Options) Compare(a, b *Path) (int, Step) {
	// 1. Next hop resolvable.
	if a.Unresolvable != b.Unresolvable {
		if a.Unresolvable {
			return 1, StepNextHop
		}
		return -1, StepNextHop
	}
	c, s := o.compareEqualCost(a, b, true)
	if c != 0 {
		return c, s
	}
	return o.compareTieBreak(a, b)
}

// compareEqualCost runs steps 2 to 8: what makes two paths unequal for
// multipath. withMED is false when DeterministicMED has already compared
// MED within each neighbouring AS.
func (o *Options) compareEqualCost(a, b *Path, withMED bool) (int, Step) {
	// 1a. A long-lived stale path (LLGR_STALE, RFC 9494 §4.2) is the
	// least preferred of all.
	if a.Attrs.LLGRStale != b.Attrs.LLGRStale {
		if a.Attrs.LLGRStale {
			return 1, StepLLGRStale
		}
		return -1, StepLLGRStale
	}
	// 2. Highest LOCAL_PREF.
	if c := cmpUint(uint64(localPref(b)), uint64(localPref(a))); c != 0 {
		return c, StepLocalPref
	}
	// 3. Locally originated.
	if a.Source.Local != b.Source.Local {
		if a.Source.Local {
			return -1, StepLocal
		}
		return 1, StepLocal
	}
	// 4. Shortest AS_PATH.
	if c := cmpUint(uint64(a.Attrs.ASPathLen), uint64(b.Attrs.ASPathLen)); c != 0 {
		return c, StepASPathLength
	}
	// 5. Lowest ORIGIN.
	if c := cmpUint(uint64(a.Attrs.Origin), uint64(b.Attrs.Origin)); c != 0 {
		return c, StepOrigin
	}
	// 6. Lowest MED, within one neighbouring AS.
	if withMED && (o.AlwaysCompareMED || sameNeighborAS(a, b)) {
		if c := cmpUint(uint64(o.med(a)), uint64(o.med(b))); c != 0 {
			return c, StepMED
		}
	}
	// 7. eBGP over iBGP (local routes count as neither; step 3 decided).
	if a.Source.IBGP != b.Source.IBGP {
		if a.Source.IBGP {
			return 1, StepEBGP
		}
		return -1, StepEBGP
	}
	// 8. Lowest IGP cost to the next hop.
	if c := cmpUint(uint64(a.IGPCost), uint64(b.IGPCost)); c != 0 {
		return c, StepIGPCost
	}
	return 0, StepNone
}

// compareEarly compares a path with attributes a (from a local source
// when aLocal, with an unresolvable next hop when aUnres) with the best
// path b at the steps before MED: next hop resolvable, LLGR stale,
// LOCAL_PREF, locally originated, AS_PATH length, ORIGIN, the steps of
// compareEqualCost and Compare that look at each path on its own and so
// order all paths the same way whatever the others are. It is negative
// when a loses there, positive when a wins there, 0 when they tie.
//
// A path that loses there is eliminated before any step that depends on
// which other paths are there (MED within a neighbouring AS,
// deterministic MED's groups) and is not equal-cost with b: adding,
// changing or removing it leaves the best path and the multipath set as
// they are. A path that wins there beats every other path there too
// (they are at best b's equal at those steps): it is the only best path
// and the whole multipath set. LocRIB uses both to skip the decision
// process for most of the paths of a prefix.
func compareEarly(a, b *Attrs, aLocal, bLocal, aUnres, bUnres bool) int {
	worse := func(w bool) int {
		if w {
			return -1
		}
		return 1
	}
	switch {
	case aUnres != bUnres:
		return worse(aUnres)
	case a.LLGRStale != b.LLGRStale:
		return worse(a.LLGRStale)
	case a.localPref() != b.localPref():
		return worse(a.localPref() < b.localPref())
	case aLocal != bLocal:
		return worse(bLocal)
	case a.ASPathLen != b.ASPathLen:
		return worse(a.ASPathLen > b.ASPathLen)
	case a.Origin != b.Origin:
		return worse(a.Origin > b.Origin)
	}
	return 0
}

// compareTieBreak runs steps 9 to 12 and the path identifier.
func (o *Options) compareTieBreak(a, b *Path) (int, Step) {
	// 9. Oldest eBGP path (RFC 5004).
	if o.PreferOldest && !a.Source.IBGP && !b.Source.IBGP && !a.Source.Local && !b.Source.Local && a.Seq != b.Seq {
		return cmpUint(a.Seq, b.Seq), StepOldest
	}
	// 10. Lowest BGP identifier (ORIGINATOR_ID when reflected).
	if c := routerID(a).Compare(routerID(b)); c != 0 {
		return c, StepRouterID
	}
	// 11. Shortest CLUSTER_LIST.
	if c := cmpUint(uint64(a.Attrs.ClusterListLen), uint64(b.Attrs.ClusterListLen)); c != 0 {
		return c, StepClusterList
	}
	// 12. Lowest neighbour address.
	if c := a.Source.Addr.Compare(b.Source.Addr); c != 0 {
		return c, StepNeighborAddr
	}
	if c := cmpUint(uint64(a.PathID), uint64(b.PathID)); c != 0 {
		return c, StepPathID
	}
	return 0, StepNone
}

// Select picks the best of paths and the multipath set: the paths equal
// to the best up to step 8 (and from the same neighbouring AS unless
// MultipathRelax), best first, at most MaxPaths. It returns best = -1 when
// no path is a candidate (all next hops unresolvable). paths is not
// modified; mp is appended to and returned.
func (o *Options) Select(paths []*Path, mp []int) (best int, multipath []int) {
	best = -1
	if o.DeterministicMED && !o.AlwaysCompareMED {
		best = o.selectDeterministic(paths)
	} else {
		for i, p := range paths {
			if p.Unresolvable {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			if c, _ := o.Compare(p, paths[best]); c < 0 {
				best = i
			}
		}
	}
	if best < 0 {
		return -1, mp[:0]
	}
	mp = append(mp[:0], best)
	max := o.MaxPaths
	if max <= 0 {
		max = 1
	}
	b := paths[best]
	for i, p := range paths {
		if len(mp) >= max {
			break
		}
		if i == best || p.Unresolvable {
			continue
		}
		if c, _ := o.compareEqualCost(p, b, true); c != 0 {
			continue
		}
		if !o.MultipathRelax && !sameNeighborAS(p, b) {
			continue
		}
		mp = append(mp, i)
	}
	return best, mp
}

// selectDeterministic groups the candidates by neighbouring AS, finds the
// best of each group with MED, then the best of the group winners without
// MED (FRR's and Cisco's "deterministic-med"), so that arrival order does
// not change the outcome.
func (o *Options) selectDeterministic(paths []*Path) int {
	// One group per neighbouring AS, in first-seen order. A prefix has a
	// handful of paths, so a linear scan over a stack array beats a map
	// and allocates nothing (Select runs for every touched prefix).
	type group struct {
		as   uint32
		best int
	}
	var buf [16]group
	groups := buf[:0]
	for i, p := range paths {
		if p.Unresolvable {
			continue
		}
		as := p.Attrs.NeighborAS
		g := -1
		for j := range groups {
			if groups[j].as == as {
				g = j
				break
			}
		}
		if g < 0 {
			groups = append(groups, group{as, i})
			continue
		}
		if c, _ := o.Compare(p, paths[groups[g].best]); c < 0 {
			groups[g].best = i
		}
	}
	best := -1
	for _, g := range groups {
		i := g.best
		if best < 0 {
			best = i
			continue
		}
		c, _ := o.compareEqualCost(paths[i], paths[best], false)
		if c == 0 {
			c, _ = o.compareTieBreak(paths[i], paths[best])
		}
		if c < 0 {
			best = i
		}
	}
	return best
}
