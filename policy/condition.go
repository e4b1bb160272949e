package policy

import (
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// The condition names, as the YAML spells them and Trace reports them.
const (
	condFamilies         = "families"
	condRouteType        = "routeType"
	condNeighbor         = "neighbor"
	condNextHop          = "nextHop"
	condPrefixSet        = "prefixSet"
	condOrigin           = "origin"
	condASPathLength     = "asPathLength"
	condCommunities      = "communities"
	condLargeCommunities = "largeCommunities"
	condASPathRegex      = "asPathRegex"
	condRPKI             = "rpki"
)

// conditions is a compiled Conditions; the zero value always holds. Each
// condition is present when its field is non-nil (or its has flag is set).
type conditions struct {
	families     []nlri.Family
	hasRouteType bool
	routeType    RouteType
	neighbor     config.PrefixList
	nextHop      config.PrefixList
	prefixes     *prefixSet
	hasOrigin    bool
	origin       attr.OriginCode
	hasPathLen   bool
	pathLenMin   int
	pathLenMax   int
	communities  []uint32              // sorted, no duplicates
	large        []attr.LargeCommunity // sorted, no duplicates
	hasRPKI      bool
	rpki         RPKIState
	regex        *regexp.Regexp
	dfa          *pathDFA // regex as an automaton, when it has one (dfa.go)
}

func compileConditions(c *config.Conditions) (conditions, error) {
	var out conditions
	for _, f := range c.Families {
		fam, err := nlri.ParseFamily(string(f))
		if err != nil {
			return out, fmt.Errorf("families: %w", err)
		}
		if !slices.Contains(out.families, fam) {
			out.families = append(out.families, fam)
		}
	}
	switch c.RPKI {
	case "":
	case "valid":
		out.hasRPKI, out.rpki = true, RPKIValid
	case "invalid":
		out.hasRPKI, out.rpki = true, RPKIInvalid
	case "not-found":
		out.hasRPKI, out.rpki = true, RPKINotFound
	default:
		return out, fmt.Errorf("rpki must be valid, invalid or not-found, got %q", c.RPKI)
	}
	if c.RouteType != "" {
		t, err := parseRouteType(c.RouteType)
		if err != nil {
			return out, err
		}
		out.hasRouteType, out.routeType = true, t
	}
	out.neighbor = validPrefixes(c.Neighbor)
	out.nextHop = validPrefixes(c.NextHop)
	if len(c.PrefixSet) > 0 {
		ps, err := compilePrefixSet(c.PrefixSet)
		if err != nil {
			return out, fmt.Errorf("prefixSet: %w", err)
		}
		out.prefixes = ps
	}
	if c.Origin != "" {
		switch c.Origin {
		case "igp":
			out.origin = attr.OriginIGP
		case "egp":
			out.origin = attr.OriginEGP
		case "incomplete":
			out.origin = attr.OriginIncomplete
		default:
			return out, fmt.Errorf("origin must be igp, egp or incomplete, got %q", c.Origin)
		}
		out.hasOrigin = true
	}
	if r := c.ASPathLength; r != nil && (r.Min != nil || r.Max != nil) {
		out.hasPathLen = true
		out.pathLenMin, out.pathLenMax = 0, math.MaxInt
		if r.Min != nil {
			out.pathLenMin = *r.Min
		}
		if r.Max != nil {
			out.pathLenMax = *r.Max
		}
	}
	if len(c.Communities) > 0 {
		out.communities = communityValues(c.Communities)
	}
	if len(c.LargeCommunities) > 0 {
		out.large = largeValues(c.LargeCommunities)
	}
	if c.ASPathRegex != "" {
		// The same translation of "_" that config validates with, so that
		// what validates is what runs.
		re, err := config.CompileASPathRegex(c.ASPathRegex)
		if err != nil {
			return out, fmt.Errorf("asPathRegex: %w", err)
		}
		out.regex = re
		if d, ok := compileDFA(re.String()); ok {
			out.dfa = d
		}
	}
	return out, nil
}

// validPrefixes drops invalid prefixes (which config never produces) so
// that an empty result means "no condition"; nil for none.
func validPrefixes(l config.PrefixList) config.PrefixList {
	var out config.PrefixList
	for _, p := range l {
		if p.IsValid() {
			out = append(out, p)
		}
	}
	return out
}

// match checks the conditions in order and returns the name of the first
// that does not hold, or "" when all hold. The order puts the cheap checks
// of the route's own fields first and the regular expression last.
func (c *conditions) match(s *state) string {
	r := s.r
	if c.families != nil && !slices.Contains(c.families, r.Family) {
		return condFamilies
	}
	if c.hasRouteType && r.Type != c.routeType {
		return condRouteType
	}
	if c.neighbor != nil && !c.neighbor.Contains(r.Neighbor) {
		return condNeighbor
	}
	if c.nextHop != nil {
		nh := r.NextHop
		if !nh.IsValid() {
			if s.load(); s.nh != nil {
				nh = s.nh.Addr
			}
		}
		if !c.nextHop.Contains(nh) {
			return condNextHop
		}
	}
	if c.prefixes != nil && !c.prefixes.match(r.Prefix) {
		return condPrefixSet
	}
	if c.hasOrigin {
		if s.load(); s.origin == nil || s.origin.Value != c.origin {
			return condOrigin
		}
	}
	if c.hasPathLen {
		s.load()
		if n := s.asPath.Length(); n < c.pathLenMin || n > c.pathLenMax {
			return condASPathLength
		}
	}
	if c.communities != nil {
		if s.load(); s.comm == nil || !anyIn(s.comm.Values, c.communities, cmpUint32) {
			return condCommunities
		}
	}
	if c.large != nil {
		if s.load(); s.large == nil || !anyIn(s.large.Values, c.large, cmpLarge) {
			return condLargeCommunities
		}
	}
	if c.hasRPKI && s.rpkiState() != c.rpki {
		return condRPKI
	}
	if c.dfa != nil {
		if s.load(); !c.dfa.matchPath(s.asPath) {
			return condASPathRegex
		}
	} else if c.regex != nil && !c.regex.Match(s.pathText()) {
		return condASPathRegex
	}
	return ""
}

// anyIn reports whether any of have is in want (sorted, no duplicates).
func anyIn[T any](have, want []T, cmp func(a, b T) int) bool {
	if len(want) <= 8 {
		for _, h := range have {
			for _, w := range want {
				if cmp(h, w) == 0 {
					return true
				}
			}
		}
		return false
	}
	for _, h := range have {
		if _, ok := slices.BinarySearchFunc(want, h, cmp); ok {
			return true
		}
	}
	return false
}

// communityValues returns the communities as sorted values without
// duplicates.
func communityValues(cs []config.Community) []uint32 {
	out := make([]uint32, len(cs))
	for i, c := range cs {
		out[i] = uint32(c)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// largeValues returns the large communities sorted, without duplicates.
func largeValues(cs []config.LargeCommunity) []attr.LargeCommunity {
	out := make([]attr.LargeCommunity, len(cs))
	for i, c := range cs {
		out[i] = attr.LargeCommunity{Global: c.Global, Local1: c.Local1, Local2: c.Local2}
	}
	slices.SortFunc(out, cmpLarge)
	return slices.Compact(out)
}
