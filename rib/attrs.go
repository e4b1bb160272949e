package rib

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
)

// Attrs is one interned attribute set. It is immutable once interned and
// shared by every path that carries the same attributes, in every table of
// the speaker, so comparing two paths' attributes is a pointer compare.
type Attrs struct {
	// key is the canonical encoding (attr.Canonical): attributes sorted
	// by code with canonical flags, the identity of the set, and the only
	// full copy of the attributes kept (List decodes it). For a set
	// learned over a link with a link-local IPv6 next hop, the interface
	// name follows the attributes (see InternZone); wireLen is where the
	// attributes end.
	key     string
	wireLen int32
	refs    int32

	// Decoded once for the decision process. The fields are ordered and
	// sized so that a set takes 96 bytes: a full table has hundreds of
	// thousands of sets.
	LocalPref      uint32
	MED            uint32
	NeighborAS     uint32 // first AS of the path; 0 for a path with none (local, iBGP-originated)
	ASPathLen      int32  // RFC 4271 §9.1.2.2 a: an AS_SET counts 1, confederation segments 0
	ClusterListLen int32
	HasLocalPref   bool
	HasMED         bool
	Origin         attr.OriginCode
	// LLGRStale marks a path kept while its peer restarts for the
	// long-lived stale time (the LLGR_STALE community, RFC 9494).
	LLGRStale    bool
	OriginatorID netip.Addr
	NextHop      netip.Addr
}

// Key is the canonical encoding of the set.
func (a *Attrs) Key() string { return a.key }

// List decodes the set's attributes, in canonical order (sorted by code,
// canonical flags), into a new list the caller may change. It is not
// free (about a microsecond and a few allocations for a usual set):
// callers on a hot path decode once per set, not per prefix. The set
// keeps only its encoding because decoded attributes cost four times as
// much memory (about 700 bytes for a usual set against 40 to 60), and a
// full table holds hundreds of thousands of sets.
func (a *Attrs) List() attr.List { return a.ListScratch(nil) }

// ListScratch is List decoded into s (attr.DecodeScratch), valid until s
// is used again; nil s is List.
func (a *Attrs) ListScratch(s *attr.Scratch) attr.List {
	var l attr.List
	var errs []*fault.Error
	if s == nil {
		l, errs = attr.Decode([]byte(a.key[:a.wireLen]), attr.Options{AS4: true})
	} else {
		l, errs = attr.DecodeScratch([]byte(a.key[:a.wireLen]), attr.Options{AS4: true}, s)
	}
	if len(errs) > 0 {
		// The encoding is our own, made by attr.Canonical from a list
		// that decoded or was built in code; failing to read it back
		// is a bug in the attr package.
		panic(fmt.Sprintf("rib: interned attribute set does not decode: %v", errs[0]))
	}
	return l
}

// Table interns attribute sets for one speaker. Its lifetime is the
// speaker's: there is no package-level cache (STYLE.md §5). It is safe for
// concurrent use; mu guards sets and every Attrs.refs.
type Table struct {
	mu   sync.Mutex
	sets map[string]*Attrs
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{sets: map[string]*Attrs{}}
}

// Len is the number of distinct sets held.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sets)
}

// Intern returns the shared set for l, adding one reference. l is encoded
// canonically (4-octet AS numbers), so the same attributes received from
// a 2-octet and a 4-octet peer intern to one set once AS4_PATH has been
// merged by the caller. scratch is a reusable buffer for the encoding;
// Intern returns it (possibly grown) for the next call.
func (t *Table) Intern(l attr.List, scratch []byte) (*Attrs, []byte) {
	return t.InternZone(l, scratch, "")
}

// InternZone is Intern for a set that arrived over the interface named
// zone: a link-local IPv6 next hop (which the wire form carries without
// its interface) gets it as its zone, so that it resolves through that
// link, and sets through different links are different sets.
func (t *Table) InternZone(l attr.List, scratch []byte, zone string) (*Attrs, []byte) {
	scratch = attr.Canonical(scratch[:0], l, attr.Options{AS4: true})
	wireLen := len(scratch)
	if zone != "" && linkLocalNextHop(l) {
		scratch = append(scratch, 0xff)
		scratch = append(scratch, zone...)
	} else {
		zone = ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.sets[string(scratch)]; ok { // no allocation for the lookup
		a.refs++
		return a, scratch
	}
	a := newAttrs(string(scratch), wireLen, l)
	if zone != "" {
		a.NextHop = a.NextHop.WithZone(zone)
	}
	a.refs = 1
	t.sets[a.key] = a
	return a, scratch
}

// Retain adds a reference to a, which must come from this table.
func (t *Table) Retain(a *Attrs) {
	t.mu.Lock()
	a.refs++
	t.mu.Unlock()
}

// Release drops a reference; the last one removes the set.
func (t *Table) Release(a *Attrs) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a.refs--
	if a.refs <= 0 {
		delete(t.sets, a.key)
	}
}

// newAttrs decodes what the decision process needs from l, whose
// canonical encoding is key[:wireLen]; l is not kept.
func newAttrs(key string, wireLen int, l attr.List) *Attrs {
	a := &Attrs{key: key, wireLen: int32(wireLen)}
	if lp, ok := l.LocalPref(); ok {
		a.LocalPref, a.HasLocalPref = lp.Value, true
	}
	if m, ok := l.MED(); ok {
		a.MED, a.HasMED = m.Value, true
	}
	if o, ok := l.Origin(); ok {
		a.Origin = o.Value
	} else {
		a.Origin = attr.OriginIncomplete
	}
	if p, ok := l.ASPath(); ok {
		a.ASPathLen = int32(p.Length())
		a.NeighborAS, _ = p.First()
	}
	if id, ok := l.OriginatorID(); ok {
		a.OriginatorID = id.ID
	}
	if cl, ok := l.ClusterList(); ok {
		a.ClusterListLen = int32(len(cl.IDs))
	}
	if c, ok := l.Communities(); ok {
		a.LLGRStale = c.Has(attr.CommunityLLGRStale)
	}
	if nh, ok := l.NextHop(); ok {
		a.NextHop = nh.Addr
	} else if mp, ok := l.MPReach(); ok {
		if g, _, _, err := mp.NextHops(); err == nil {
			a.NextHop = g
		}
	}
	return a
}

// linkLocalNextHop reports whether l's next hop is an IPv6 link-local
// address.
func linkLocalNextHop(l attr.List) bool {
	mp, ok := l.MPReach()
	if !ok {
		return false
	}
	g, _, _, err := mp.NextHops()
	return err == nil && g.Is6() && g.IsLinkLocalUnicast()
}
