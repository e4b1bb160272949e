package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
)

// RoutePolicySpec is an ordered list of statements. A route is checked
// against each statement in turn: when it meets the statement's conditions
// the actions run, and the result decides: accept or reject ends the
// evaluation, next (the default) goes on with the following statement. A
// route that falls off the end is rejected.
type RoutePolicySpec struct {
	Statements []Statement `json:"statements"`
}

// Statement is one step of a RoutePolicy.
type Statement struct {
	// Name is unique within the policy (required).
	Name string `json:"name"`
	// Conditions must all hold for the actions to run; none: always.
	Conditions *Conditions `json:"conditions,omitempty"`
	// Actions run when the conditions hold.
	Actions Actions `json:"actions,omitzero"`
}

// Conditions of a statement; every condition given must hold. A list
// condition holds when any of its items matches.
type Conditions struct {
	// PrefixSet matches the route's prefix against any of the entries.
	PrefixSet []PrefixMatch `json:"prefixSet,omitempty"`
	// ASPathRegex matches the AS path as text ("65001 65002"), with "_"
	// standing for a boundary (start, end or a space), as in FRR.
	ASPathRegex string `json:"asPathRegex,omitempty"`
	// Communities holds when the route carries any of these.
	Communities []Community `json:"communities,omitempty"`
	// LargeCommunities holds when the route carries any of these.
	LargeCommunities []LargeCommunity `json:"largeCommunities,omitempty"`
	// Neighbor holds for routes learned from (import) or sent to (export)
	// a peer with one of these addresses or in one of these prefixes.
	Neighbor PrefixList `json:"neighbor,omitempty"`
	// NextHop holds when the route's next hop is one of these addresses or
	// in one of these prefixes.
	NextHop PrefixList `json:"nextHop,omitempty"`
	// Origin is igp, egp or incomplete.
	Origin string `json:"origin,omitempty"`
	// RouteType is local (originated here), ebgp or ibgp.
	RouteType string `json:"routeType,omitempty"`
	// ASPathLength bounds the number of ASes in the path (an AS_SET counts
	// one, RFC 4271 §9.1.2.2).
	ASPathLength *LengthRange `json:"asPathLength,omitempty"`
	// Families holds for routes of any of these families.
	Families []Family `json:"families,omitempty"`
	// RPKI holds for routes whose origin validation state (RFC 6811) is
	// this: valid, invalid or not-found. Until an RPKI cache is
	// configured every route is not-found.
	RPKI string `json:"rpki,omitempty"`
}

// PrefixMatch matches a prefix and, with Ge and Le, the prefixes inside it
// whose length is in Ge..Le. Without Ge and Le the match is exact; with
// only Ge, Le is the address length; with only Le, Ge is the prefix length.
type PrefixMatch struct {
	Prefix netip.Prefix `json:"prefix"`
	Ge     *int         `json:"ge,omitempty" range:"0..128"`
	Le     *int         `json:"le,omitempty" range:"0..128"`
}

// Lengths returns the range of prefix lengths the entry matches.
func (m PrefixMatch) Lengths() (lo, hi int) {
	lo, hi = m.Prefix.Bits(), m.Prefix.Bits()
	if m.Ge != nil {
		lo, hi = *m.Ge, m.Prefix.Addr().BitLen()
	}
	if m.Le != nil {
		hi = *m.Le
	}
	return lo, hi
}

// Matches reports whether p is matched by the entry.
func (m PrefixMatch) Matches(p netip.Prefix) bool {
	lo, hi := m.Lengths()
	return p.Addr().Is4() == m.Prefix.Addr().Is4() && p.Bits() >= lo && p.Bits() <= hi &&
		m.Prefix.Contains(p.Addr())
}

// LengthRange is an inclusive range; an unset bound is open.
type LengthRange struct {
	Min *int `json:"min,omitempty" range:"0..65535"`
	Max *int `json:"max,omitempty" range:"0..65535"`
}

// Actions of a statement.
type Actions struct {
	// Result is accept, reject or next (the default).
	Result string `json:"result,omitempty"`
	// Set changes the route's attributes.
	Set *SetActions `json:"set,omitempty"`
}

// The values of Actions.Result.
const (
	ResultAccept = "accept"
	ResultReject = "reject"
	ResultNext   = "next"
)

// EffectiveResult is Result or "next".
func (a Actions) EffectiveResult() string {
	if a.Result == "" {
		return ResultNext
	}
	return a.Result
}

// SetActions changes a route's attributes.
type SetActions struct {
	LocalPreference *uint32 `json:"localPreference,omitempty"`
	MED             *uint32 `json:"med,omitempty"`
	// NextHop is self, peer, unchanged or an address.
	NextHop             NextHop                         `json:"nextHop,omitzero"`
	Communities         *ListActions[Community]         `json:"communities,omitempty"`
	LargeCommunities    *ListActions[LargeCommunity]    `json:"largeCommunities,omitempty"`
	ExtendedCommunities *ListActions[ExtendedCommunity] `json:"extendedCommunities,omitempty"`
	// ASPathPrepend prepends the own AS this many extra times (1..32).
	ASPathPrepend int `json:"asPathPrepend,omitempty" range:"1..32"`
	// ASPathPrependASNs prepends these ASes (the first ends up leftmost);
	// exclusive with ASPathPrepend.
	ASPathPrependASNs []ASN `json:"asPathPrependASNs,omitempty"`
	// RemovePrivateAS removes private AS numbers (RFC 6996) from the path.
	RemovePrivateAS bool `json:"removePrivateAS,omitempty"`
}

// ListActions changes a list attribute: Replace sets it outright; Remove
// (or RemoveAll) then Add change it. Replace cannot be combined with the
// others; RemoveAll with Add strips what was there and sets Add.
type ListActions[T comparable] struct {
	Add     []T `json:"add,omitempty"`
	Remove  []T `json:"remove,omitempty"`
	Replace []T `json:"replace,omitempty"`
	// RemoveAll removes every value (FRR's set community none).
	RemoveAll bool `json:"removeAll,omitempty"`
}

// Kind implements Spec.
func (*RoutePolicySpec) Kind() Kind { return KindRoutePolicy }

func (s *RoutePolicySpec) validate(v *validator) {
	if len(s.Statements) == 0 {
		v.required("spec.statements")
	}
	for i, st := range s.Statements {
		p := fmt.Sprintf("spec.statements[%d]", i)
		if st.Name == "" {
			v.required(p + ".name")
		}
		for j := range i {
			if st.Name != "" && s.Statements[j].Name == st.Name {
				v.errf(p+".name", "duplicate statement name %q (also statement %d)", st.Name, j)
				break
			}
		}
		if c := st.Conditions; c != nil {
			c.validate(v, p+".conditions")
		}
		switch st.Actions.Result {
		case "", ResultAccept, ResultReject, ResultNext:
		default:
			v.errf(p+".actions.result", "must be accept, reject or next, got %q", st.Actions.Result)
		}
		if set := st.Actions.Set; set != nil {
			set.validate(v, p+".actions.set")
			if st.Actions.Result == ResultReject {
				v.errf(p+".actions.set", "has no effect when the result is reject")
			}
		}
	}
}

func (c *Conditions) validate(v *validator, path string) {
	for i, m := range c.PrefixSet {
		p := fmt.Sprintf("%s.prefixSet[%d]", path, i)
		if !m.Prefix.IsValid() {
			v.required(p + ".prefix")
			continue
		}
		bits, max := m.Prefix.Bits(), m.Prefix.Addr().BitLen()
		lo := bits
		if m.Ge != nil {
			if *m.Ge < bits || *m.Ge > max {
				v.errf(p+".ge", "must be %d..%d (from the prefix length to the address length), got %d", bits, max, *m.Ge)
			}
			lo = *m.Ge
		}
		if m.Le != nil {
			if *m.Le < lo || *m.Le > max {
				what := "the prefix length"
				if m.Ge != nil {
					what = "ge"
				}
				v.errf(p+".le", "must be %d..%d (from %s to the address length), got %d", lo, max, what, *m.Le)
			}
		}
	}
	if c.ASPathRegex != "" {
		if _, err := CompileASPathRegex(c.ASPathRegex); err != nil {
			v.errf(path+".asPathRegex", "%v", err)
		}
	}
	switch c.Origin {
	case "", "igp", "egp", "incomplete":
	default:
		v.errf(path+".origin", "must be igp, egp or incomplete, got %q", c.Origin)
	}
	switch c.RPKI {
	case "", "valid", "invalid", "not-found":
	default:
		v.errf(path+".rpki", "must be valid, invalid or not-found, got %q", c.RPKI)
	}
	switch c.RouteType {
	case "", "local", "ebgp", "ibgp":
	default:
		v.errf(path+".routeType", "must be local, ebgp or ibgp, got %q", c.RouteType)
	}
	if r := c.ASPathLength; r != nil && r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		v.errf(path+".asPathLength.max", "must be at least min (%d), got %d", *r.Min, *r.Max)
	}
	v.families(path+".families", c.Families)
}

func (s *SetActions) validate(v *validator, path string) {
	if s.ASPathPrepend != 0 && len(s.ASPathPrependASNs) > 0 {
		v.errf(path+".asPathPrependASNs", "cannot be combined with asPathPrepend")
	}
	if len(s.ASPathPrependASNs) > 32 {
		v.errf(path+".asPathPrependASNs", "must have at most 32 entries, got %d", len(s.ASPathPrependASNs))
	}
	validateListActions(v, path+".communities", s.Communities)
	validateListActions(v, path+".largeCommunities", s.LargeCommunities)
	validateListActions(v, path+".extendedCommunities", s.ExtendedCommunities)
}

func validateListActions[T comparable](v *validator, path string, a *ListActions[T]) {
	if a == nil {
		return
	}
	if len(a.Replace) > 0 && (len(a.Add) > 0 || len(a.Remove) > 0 || a.RemoveAll) {
		v.errf(path+".replace", "cannot be combined with add, remove or removeAll")
	}
	if a.RemoveAll && len(a.Remove) > 0 {
		v.errf(path+".remove", "cannot be combined with removeAll, which removes everything")
	}
	if len(a.Add) == 0 && len(a.Remove) == 0 && len(a.Replace) == 0 && !a.RemoveAll {
		v.errf(path, "must give add, remove, replace or removeAll")
	}
}

// CompileASPathRegex compiles an AS path regular expression: Go (RE2)
// syntax over the path as text ("65001 65002 {65003,65004}"), where "_"
// matches a boundary: the start, the end, a space, a brace or a comma.
func CompileASPathRegex(expr string) (*regexp.Regexp, error) {
	if len(expr) > 1024 {
		return nil, fmt.Errorf("must be at most 1024 bytes, got %d", len(expr))
	}
	re, err := regexp.Compile(strings.ReplaceAll(expr, "_", `(?:^|$|[ {},])`))
	if err != nil {
		// regexp's messages quote the translated expression; say ours.
		msg := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			msg = string(se.Code)
			if se.Expr != "" && se.Expr != expr && !strings.Contains(se.Expr, "(?:^|$|[ {},])") {
				msg += ": " + se.Expr
			}
		}
		return nil, fmt.Errorf("invalid regular expression %q: %s", expr, msg)
	}
	return re, nil
}
