package rib

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"

	"github.com/godwit-bgp/godwit/internal/hashtab"
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
	// id numbers the set in its Table (reused once the set is gone).
	id uint32

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
// concurrent use; mu guards everything in it.
//
// Sets are numbered (Attrs.id, reused once a set is gone) and found by a
// hash of their key in a pointer-free table (internal/hashtab): a set
// holds its key once, growing the table never hashes a key again, and a
// lookup for a new set touches one slot.
type Table struct {
	mu   sync.Mutex
	seed maphash.Seed
	find hashtab.Table // maphash of the key -> id
	ents []tableEnt    // by id
	free []uint32      // ids of removed sets
}

type tableEnt struct {
	a    *Attrs
	refs int32
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{seed: maphash.MakeSeed()}
}

// Len is the number of distinct sets held.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.find.Len()
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
	h := maphash.Bytes(t.seed, scratch)
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.find.Find(h, func(id uint32) bool { return t.ents[id].a.key == string(scratch) }); ok {
		t.ents[id].refs++
		return t.ents[id].a, scratch
	}
	a := newAttrs(string(scratch), wireLen, l)
	if zone != "" {
		a.NextHop = a.NextHop.WithZone(zone)
	}
	if n := len(t.free); n > 0 {
		a.id = t.free[n-1]
		t.free = t.free[:n-1]
		t.ents[a.id] = tableEnt{a: a, refs: 1}
	} else {
		a.id = uint32(len(t.ents))
		t.ents = append(t.ents, tableEnt{a: a, refs: 1})
	}
	t.find.Insert(h, a.id)
	return a, scratch
}

// Retain adds a reference to a, which must come from this table.
func (t *Table) Retain(a *Attrs) {
	t.mu.Lock()
	t.ents[a.id].refs++
	t.mu.Unlock()
}

// Release drops a reference; the last one removes the set.
func (t *Table) Release(a *Attrs) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &t.ents[a.id]
	e.refs--
	if e.refs > 0 {
		return
	}
	t.find.Delete(maphash.String(t.seed, a.key), a.id)
	*e = tableEnt{}
	t.free = append(t.free, a.id)
	if len(t.free) == len(t.ents) {
		// Every set is gone (the last session went down): give the
		// memory back rather than keep a full table's worth of slots.
		t.find.Reset()
		t.ents, t.free = nil, nil
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
