package policy

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
)

// setActions is a compiled SetActions. Values that do not depend on the
// route are built once here and shared by every result that uses them
// (attribute values are immutable).
type setActions struct {
	lp      *attr.LocalPref
	med     *attr.MED
	nextHop NextHopAction

	comm         *listAction[uint32]
	commReplace  *attr.Communities // the value of comm.replace
	large        *listAction[attr.LargeCommunity]
	largeReplace *attr.LargeCommunities
	ext          *listAction[attr.ExtCommunity]
	extReplace   *attr.ExtCommunities

	removePrivate bool
	prependOwn    int      // asPathPrepend: Env.LocalAS this many times
	prependASNs   []uint32 // asPathPrependASNs, leftmost first

	// desc describes the actions up to removePrivateAS for Trace, and
	// descASNs asPathPrependASNs; asPathPrepend's depends on Env.
	desc     []string
	descASNs string
}

func compileSet(s *config.SetActions) (*setActions, error) {
	a := &setActions{}
	if s.LocalPreference != nil {
		a.lp = &attr.LocalPref{Value: *s.LocalPreference}
	}
	if s.MED != nil {
		a.med = &attr.MED{Value: *s.MED}
	}
	switch s.NextHop.Mode {
	case "":
	case config.NextHopSelf, config.NextHopPeer, config.NextHopUnchanged:
		a.nextHop = NextHopAction{Mode: s.NextHop.Mode}
	case config.NextHopAddress:
		if !s.NextHop.Addr.IsValid() {
			return nil, fmt.Errorf("set.nextHop: no address")
		}
		a.nextHop = NextHopAction{Mode: config.NextHopAddress, Addr: s.NextHop.Addr}
	default:
		return nil, fmt.Errorf("set.nextHop: unknown mode %q", s.NextHop.Mode)
	}
	var err error
	if a.comm, err = compileList(s.Communities, func(c config.Community) (uint32, error) { return uint32(c), nil }, cmpUint32); err != nil {
		return nil, fmt.Errorf("set.communities: %w", err)
	}
	if a.comm != nil && a.comm.replace != nil {
		a.commReplace = &attr.Communities{Values: a.comm.replace}
	}
	if a.large, err = compileList(s.LargeCommunities, func(c config.LargeCommunity) (attr.LargeCommunity, error) {
		return attr.LargeCommunity{Global: c.Global, Local1: c.Local1, Local2: c.Local2}, nil
	}, cmpLarge); err != nil {
		return nil, fmt.Errorf("set.largeCommunities: %w", err)
	}
	if a.large != nil && a.large.replace != nil {
		a.largeReplace = &attr.LargeCommunities{Values: a.large.replace}
	}
	if a.ext, err = compileList(s.ExtendedCommunities, extCommunity, cmpExt); err != nil {
		return nil, fmt.Errorf("set.extendedCommunities: %w", err)
	}
	if a.ext != nil && a.ext.replace != nil {
		a.extReplace = &attr.ExtCommunities{Values: a.ext.replace}
	}
	a.removePrivate = s.RemovePrivateAS
	if s.ASPathPrepend < 0 || s.ASPathPrepend > 32 {
		return nil, fmt.Errorf("set.asPathPrepend: must be 1..32, got %d", s.ASPathPrepend)
	}
	a.prependOwn = s.ASPathPrepend
	for _, as := range s.ASPathPrependASNs {
		if as == 0 {
			return nil, fmt.Errorf("set.asPathPrependASNs: AS 0 is not valid (RFC 7607)")
		}
		a.prependASNs = append(a.prependASNs, uint32(as))
	}

	if a.lp != nil {
		a.desc = append(a.desc, "localPreference "+strconv.FormatUint(uint64(a.lp.Value), 10))
	}
	if a.med != nil {
		a.desc = append(a.desc, "med "+strconv.FormatUint(uint64(a.med.Value), 10))
	}
	if a.nextHop.Mode != "" {
		a.desc = append(a.desc, "nextHop "+a.nextHop.String())
	}
	a.desc = appendListDesc(a.desc, "communities", s.Communities)
	a.desc = appendListDesc(a.desc, "largeCommunities", s.LargeCommunities)
	a.desc = appendListDesc(a.desc, "extendedCommunities", s.ExtendedCommunities)
	if a.removePrivate {
		a.desc = append(a.desc, "removePrivateAS")
	}
	if len(a.prependASNs) > 0 {
		a.descASNs = "asPathPrependASNs " + joinValues(a.prependASNs)
	}
	return a, nil
}

// apply runs the actions on s in the documented order; with desc it also
// describes them.
func (a *setActions) apply(s *state, env Env, desc *[]string) {
	s.load()
	if a.lp != nil && (s.lp == nil || s.lp.Value != a.lp.Value) {
		s.lp = a.lp
		s.dirty |= slotLocalPref
	}
	if a.med != nil && (s.med == nil || s.med.Value != a.med.Value) {
		s.med = a.med
		s.dirty |= slotMED
	}
	if a.nextHop.Mode != "" {
		s.nextHop = a.nextHop
	}
	if a.comm != nil {
		var cur []uint32
		if s.comm != nil {
			cur = s.comm.Values
		}
		if v, ok := applyList(a.comm, cur, a.commReplace, func(out []uint32) *attr.Communities {
			return &attr.Communities{Values: out}
		}); ok {
			s.comm = v
			s.dirty |= slotCommunities
		}
	}
	if a.large != nil {
		var cur []attr.LargeCommunity
		if s.large != nil {
			cur = s.large.Values
		}
		if v, ok := applyList(a.large, cur, a.largeReplace, func(out []attr.LargeCommunity) *attr.LargeCommunities {
			return &attr.LargeCommunities{Values: out}
		}); ok {
			s.large = v
			s.dirty |= slotLargeCommunities
		}
	}
	if a.ext != nil {
		var cur []attr.ExtCommunity
		if s.ext != nil {
			cur = s.ext.Values
		}
		if v, ok := applyList(a.ext, cur, a.extReplace, func(out []attr.ExtCommunity) *attr.ExtCommunities {
			return &attr.ExtCommunities{Values: out}
		}); ok {
			s.ext = v
			s.dirty |= slotExtCommunities
		}
	}
	if a.removePrivate {
		if p, ok := removePrivate(s.asPath); ok {
			s.setASPath(p)
		}
	}
	if a.prependOwn > 0 && env.LocalAS != 0 {
		var buf [32]uint32
		front := buf[:0]
		for range a.prependOwn {
			front = append(front, env.LocalAS)
		}
		s.setASPath(prependPath(s.asPath, front))
	}
	if len(a.prependASNs) > 0 {
		s.setASPath(prependPath(s.asPath, a.prependASNs))
	}
	if desc != nil {
		*desc = a.describe(env)
	}
}

// describe writes one line per action, for Trace.
func (a *setActions) describe(env Env) []string {
	out := slices.Clone(a.desc)
	if a.prependOwn > 0 {
		if env.LocalAS == 0 {
			out = append(out, "asPathPrepend "+strconv.Itoa(a.prependOwn)+" skipped: no local AS")
		} else {
			as := strconv.FormatUint(uint64(env.LocalAS), 10)
			out = append(out, "asPathPrepend "+strings.TrimSpace(strings.Repeat(as+" ", a.prependOwn)))
		}
	}
	if a.descASNs != "" {
		out = append(out, a.descASNs)
	}
	return out
}

func appendListDesc[T interface {
	comparable
	fmt.Stringer
}](out []string, what string, l *config.ListActions[T]) []string {
	if l == nil {
		return out
	}
	if len(l.Replace) > 0 {
		return append(out, what+" replace "+joinValues(l.Replace))
	}
	var parts []string
	if len(l.Remove) > 0 {
		parts = append(parts, "remove "+joinValues(l.Remove))
	}
	if len(l.Add) > 0 {
		parts = append(parts, "add "+joinValues(l.Add))
	}
	return append(out, what+" "+strings.Join(parts, ", "))
}

func joinValues[T any](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, " ")
}

// applyList runs a list action over the values cur of an attribute and
// returns the attribute's new value (nil when the list ends up empty: the
// attribute goes; the compiled replace value when it is that) and whether
// it changed.
func applyList[T comparable, P any](la *listAction[T], cur []T, replace *P, mk func([]T) *P) (*P, bool) {
	out, changed, replaced := la.apply(cur)
	switch {
	case !changed:
		return nil, false
	case len(out) == 0:
		return nil, true
	case replaced:
		return replace, true
	}
	return mk(out), true
}

// listAction is a compiled ListActions: each list sorted by cmp, without
// duplicates; replace is nil unless given.
type listAction[T comparable] struct {
	add, remove, replace []T
	removeAll            bool
	cmp                  func(a, b T) int
}

func compileList[C, T comparable](l *config.ListActions[C], conv func(C) (T, error), cmp func(a, b T) int) (*listAction[T], error) {
	if l == nil {
		return nil, nil
	}
	set := func(what string, in []C) ([]T, error) {
		if len(in) == 0 {
			return nil, nil
		}
		out := make([]T, 0, len(in))
		for i, c := range in {
			v, err := conv(c)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
			}
			out = append(out, v)
		}
		slices.SortFunc(out, cmp)
		return slices.Compact(out), nil
	}
	a := &listAction[T]{cmp: cmp, removeAll: l.RemoveAll}
	var err error
	if a.add, err = set("add", l.Add); err != nil {
		return nil, err
	}
	if a.remove, err = set("remove", l.Remove); err != nil {
		return nil, err
	}
	if a.replace, err = set("replace", l.Replace); err != nil {
		return nil, err
	}
	if a.replace != nil && (a.add != nil || a.remove != nil || a.removeAll) {
		return nil, fmt.Errorf("replace cannot be combined with add, remove or removeAll")
	}
	if a.removeAll {
		// Everything goes, then add: the same as replacing with add
		// (which may be empty: the attribute is then removed).
		a.replace, a.add, a.remove = a.add, nil, nil
		if a.replace == nil {
			a.replace = []T{}
		}
	}
	return a, nil
}

// apply returns the list cur becomes: replace, or cur without remove and
// with add, sorted and without duplicates. When the result holds the same
// values as cur it returns cur and changed false, whatever cur's order, so
// that a no-op keeps the attribute as it was. replaced says the result is
// a.replace itself.
func (a *listAction[T]) apply(cur []T) (out []T, changed, replaced bool) {
	if a.replace != nil {
		if a.sameSet(cur, a.replace) {
			return cur, false, false
		}
		return a.replace, true, true
	}
	need := false
	for _, v := range a.remove {
		if slices.Contains(cur, v) {
			need = true
			break
		}
	}
	for i := 0; !need && i < len(a.add); i++ {
		need = !slices.Contains(cur, a.add[i])
	}
	if !need {
		return cur, false, false
	}
	out = make([]T, 0, len(cur)+len(a.add))
	for _, v := range cur {
		if _, rm := slices.BinarySearchFunc(a.remove, v, a.cmp); !rm {
			out = append(out, v)
		}
	}
	out = append(out, a.add...)
	slices.SortFunc(out, a.cmp)
	return slices.Compact(out), true, false
}

// sameSet reports whether cur holds exactly the values of want (sorted).
func (a *listAction[T]) sameSet(cur, want []T) bool {
	for _, v := range cur {
		if _, ok := slices.BinarySearchFunc(want, v, a.cmp); !ok {
			return false
		}
	}
	for _, w := range want {
		if !slices.Contains(cur, w) {
			return false
		}
	}
	return true
}

func cmpUint32(a, b uint32) int { return cmp.Compare(a, b) }

func cmpLarge(a, b attr.LargeCommunity) int {
	if c := cmp.Compare(a.Global, b.Global); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Local1, b.Local1); c != 0 {
		return c
	}
	return cmp.Compare(a.Local2, b.Local2)
}

// cmpExt orders extended communities by their eight octets.
func cmpExt(a, b attr.ExtCommunity) int {
	return cmp.Compare(binary.BigEndian.Uint64(a[:]), binary.BigEndian.Uint64(b[:]))
}

// extCommunity converts a configured route target or route origin to its
// wire form (RFC 4360 §4 and §5, RFC 5668 for the 4-octet AS form).
func extCommunity(c config.ExtendedCommunity) (attr.ExtCommunity, error) {
	v := c.Value
	var rt bool
	switch c.SubType {
	case "rt":
		rt = true
	case "soo":
	default:
		return attr.ExtCommunity{}, fmt.Errorf("%q: unknown kind %q (want rt or soo)", c, c.SubType)
	}
	switch v.Type {
	case 0:
		if v.ASN > 0xffff {
			return attr.ExtCommunity{}, fmt.Errorf("%q: a 2-octet AS form with AS %d", c, v.ASN)
		}
		if rt {
			return attr.NewRouteTargetAS2(uint16(v.ASN), v.Num), nil
		}
		return attr.NewRouteOriginAS2(uint16(v.ASN), v.Num), nil
	case 1:
		if !v.Addr.Unmap().Is4() || v.Num > 0xffff {
			return attr.ExtCommunity{}, fmt.Errorf("%q: the IPv4 form needs an IPv4 address and a number up to 65535", c)
		}
		if rt {
			return attr.NewRouteTargetIPv4(v.Addr, uint16(v.Num)), nil
		}
		return attr.NewRouteOriginIPv4(v.Addr, uint16(v.Num)), nil
	case 2:
		if v.Num > 0xffff {
			return attr.ExtCommunity{}, fmt.Errorf("%q: the 4-octet AS form needs a number up to 65535", c)
		}
		if rt {
			return attr.NewRouteTargetAS4(v.ASN, uint16(v.Num)), nil
		}
		return attr.NewRouteOriginAS4(v.ASN, uint16(v.Num)), nil
	}
	return attr.ExtCommunity{}, fmt.Errorf("%q: unknown form %d", c, v.Type)
}
