package policy

import (
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// state is one evaluation's view of the route: the attributes the
// conditions and actions use, found in one pass over Route.Attrs when first
// needed, overlaid with the values set actions have put in their place. It
// lives on Eval's stack; nothing in it is written back to the route.
type state struct {
	r   *Route
	p   *Policy
	env Env

	loaded bool
	origin *attr.Origin
	nh     *attr.NextHop
	asPath *attr.ASPath
	lp     *attr.LocalPref
	med    *attr.MED
	comm   *attr.Communities
	large  *attr.LargeCommunities
	ext    *attr.ExtCommunities

	// dirty has a bit per slot whose value a set action replaced (a nil
	// value then means the attribute was removed).
	dirty   slot
	nextHop NextHopAction

	// text is the AS path as asPathRegex sees it, valid while textOK.
	text   *[]byte
	textOK bool
}

// slot names the attributes set actions can change.
type slot uint8

const (
	slotASPath slot = 1 << iota
	slotMED
	slotLocalPref
	slotCommunities
	slotExtCommunities
	slotLargeCommunities
)

// slotOf maps an attribute code to its slot, or 0.
func slotOf(c iana.AttrCode) slot {
	switch c {
	case iana.AttrASPath:
		return slotASPath
	case iana.AttrMED:
		return slotMED
	case iana.AttrLocalPref:
		return slotLocalPref
	case iana.AttrCommunities:
		return slotCommunities
	case iana.AttrExtendedCommunities:
		return slotExtCommunities
	case iana.AttrLargeCommunities:
		return slotLargeCommunities
	}
	return 0
}

// load finds the attributes of interest, the first of each code as
// attr.List.Get does. A value of an unexpected type for its code (or a nil
// one) counts as absent.
func (s *state) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	for _, a := range s.r.Attrs {
		switch v := a.(type) {
		case *attr.Origin:
			if s.origin == nil {
				s.origin = v
			}
		case *attr.NextHop:
			if s.nh == nil {
				s.nh = v
			}
		case *attr.ASPath:
			if s.asPath == nil {
				s.asPath = v
			}
		case *attr.LocalPref:
			if s.lp == nil {
				s.lp = v
			}
		case *attr.MED:
			if s.med == nil {
				s.med = v
			}
		case *attr.Communities:
			if s.comm == nil {
				s.comm = v
			}
		case *attr.LargeCommunities:
			if s.large == nil {
				s.large = v
			}
		case *attr.ExtCommunities:
			if s.ext == nil {
				s.ext = v
			}
		}
	}
}

// value returns the current value of a dirty slot, nil when removed.
func (s *state) value(sl slot) attr.Attr {
	// Typed nil pointers must not become non-nil interfaces.
	switch sl {
	case slotASPath:
		if s.asPath != nil {
			return s.asPath
		}
	case slotMED:
		if s.med != nil {
			return s.med
		}
	case slotLocalPref:
		if s.lp != nil {
			return s.lp
		}
	case slotCommunities:
		if s.comm != nil {
			return s.comm
		}
	case slotExtCommunities:
		if s.ext != nil {
			return s.ext
		}
	case slotLargeCommunities:
		if s.large != nil {
			return s.large
		}
	}
	return nil
}

// build returns the new attribute list: Route.Attrs with the dirty slots'
// attributes replaced, removed or added, sorted by type code. It allocates
// the list once.
func (s *state) build() attr.List {
	orig := s.r.Attrs
	out := make(attr.List, 0, len(orig)+6)
	var placed slot
	for _, a := range orig {
		if a == nil {
			continue
		}
		sl := slotOf(a.Code())
		if sl == 0 || s.dirty&sl == 0 {
			out = append(out, a)
			continue
		}
		if placed&sl != 0 {
			continue // a repeated attribute: only the first ever counted
		}
		placed |= sl
		if v := s.value(sl); v != nil {
			out = append(out, v)
		}
	}
	for sl := slotASPath; sl <= slotLargeCommunities; sl <<= 1 {
		if s.dirty&sl != 0 && placed&sl == 0 {
			if v := s.value(sl); v != nil {
				out = append(out, v)
			}
		}
	}
	// Insertion sort, stable: lists are short and mostly sorted already.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Code() < out[j-1].Code(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// pathText returns the AS path as asPathRegex sees it, formatting it into a
// pooled buffer once per evaluation (again after the path changed).
func (s *state) pathText() []byte {
	if s.textOK {
		return *s.text
	}
	s.load()
	if s.text == nil {
		s.text = s.p.text.Get().(*[]byte)
	}
	*s.text = appendPathText((*s.text)[:0], s.asPath)
	s.textOK = true
	return *s.text
}

// setASPath replaces the AS path.
func (s *state) setASPath(p *attr.ASPath) {
	s.asPath = p
	s.dirty |= slotASPath
	s.textOK = false
}

// release returns the scratch buffer to the pool.
func (s *state) release() {
	if s.text != nil {
		if cap(*s.text) <= 64<<10 {
			s.p.text.Put(s.text)
		}
		s.text = nil
	}
}

// rpkiState is the route's origin validation state through Env's hook:
// not-found without one, or without a prefix or an origin AS.
func (s *state) rpkiState() RPKIState {
	if s.env.OriginValidation == nil || !s.r.Prefix.IsValid() {
		return RPKINotFound
	}
	s.load()
	as, ok := s.asPath.OriginAS()
	if !ok {
		return RPKINotFound
	}
	return s.env.OriginValidation(s.r.Prefix, as)
}
