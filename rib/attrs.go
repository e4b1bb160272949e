package rib

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"

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
	origID         [4]byte // ORIGINATOR_ID, when hasOrigID (OriginatorID)
	HasLocalPref   bool
	HasMED         bool
	Origin         attr.OriginCode
	// LLGRStale marks a path kept while its peer restarts for the
	// long-lived stale time (the LLGR_STALE community, RFC 9494).
	LLGRStale bool
	hasOrigID bool
	NextHop   netip.Addr

	// ribHint and exportHint let the first Loc-RIB and the first update
	// group that take the set find their own record of it without a
	// lookup (Hint).
	ribHint, exportHint Hint
}

// OriginatorID is the ORIGINATOR_ID attribute (RFC 4456), or the zero
// Addr when the set has none.
func (a *Attrs) OriginatorID() netip.Addr {
	if !a.hasOrigID {
		return netip.Addr{}
	}
	return netip.AddrFrom4(a.origID)
}

// ExportHint is the set's Hint for update groups (rib/export).
func (a *Attrs) ExportHint() *Hint { return &a.exportHint }

// Hint lets one consumer of sets find its own record of a set (an index
// into its own table) from the set itself, instead of looking the set up
// in a hash table of its own: for a full table, one such lookup and
// insertion per new set in each consumer was a tenth of the load's CPU,
// almost all of it waiting for memory. HintIndex is the only user.
//
// The first consumer to claim a set's hint owns it for the set's life;
// only the owner reads or moves it, so what it reads is what it wrote,
// but it may be stale (the record it names since freed and reused): the
// owner checks the record it finds against the set.
type Hint struct{ v atomic.Uint64 }

var hintTags atomic.Uint32

// get returns the index the hint holds for tag, or false when tag does
// not own it.
func (h *Hint) get(tag uint32) (uint32, bool) {
	v := h.v.Load()
	return uint32(v), v != 0 && uint32(v>>32) == tag
}

// claim makes the hint hold index i for tag: it claims a hint nobody
// owns, or moves one tag owns. It reports false, changing nothing, when
// another consumer owns it.
func (h *Hint) claim(tag, i uint32) bool {
	for {
		v := h.v.Load()
		if v != 0 && uint32(v>>32) != tag {
			return false
		}
		if h.v.CompareAndSwap(v, uint64(tag)<<32|uint64(i)) {
			return true
		}
	}
}

// HintIndex finds one consumer's records of attribute sets (indexes into
// a table of its own): through the set's Hint when the consumer owns it
// and it names the record, through a hash table otherwise. A record that
// the hint names is not in the hash table: the hint only moves off a
// record that is not of its set, and a set's first record claims it. A
// consumer may hold several records of one set (an update group, one
// per source); one is found through the hint, the others in the table.
// Not safe for concurrent use (the hints are: several consumers share
// the sets).
type HintIndex struct {
	tag uint32
	tab hashtab.Table
}

// NewHintIndex returns an index with a tag no other consumer has.
func NewHintIndex() HintIndex { return HintIndex{tag: hintTags.Add(1)} }

// Find returns the record for which match holds among the records of the
// set whose hint is hint, filed under h (the caller's hash of the
// record's key). match must check its index is in range.
func (x *HintIndex) Find(hint *Hint, h uint64, match func(i uint32) bool) (uint32, bool) {
	v := hint.v.Load()
	switch owner, i := uint32(v>>32), uint32(v); {
	case owner == 0:
		return 0, false // no consumer has a record of the set
	case owner == x.tag && match(i):
		return i, true
	}
	return x.tab.Find(h, match)
}

// Add files the new record i of the set whose hint is hint, under h.
// sameSet reports whether another record is of the same set: the hint
// stays on it when it does.
func (x *HintIndex) Add(hint *Hint, h uint64, i uint32, sameSet func(j uint32) bool) {
	if j, owned := hint.get(x.tag); !owned || j == i || !sameSet(j) {
		if hint.claim(x.tag, i) {
			return
		}
	}
	x.tab.Insert(h, i)
}

// Remove forgets record i of the set whose hint is hint, filed under h.
func (x *HintIndex) Remove(hint *Hint, h uint64, i uint32) {
	if !x.Named(hint, i) {
		x.tab.Delete(h, i)
	}
}

// Named reports whether the hint names record i (then it is not in the
// hash table).
func (x *HintIndex) Named(hint *Hint, i uint32) bool {
	j, owned := hint.get(x.tag)
	return owned && j == i
}

// TableLen is the number of records in the hash table.
func (x *HintIndex) TableLen() int { return x.tab.Len() }

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
// concurrent use.
//
// Sets are found by a hash of their key in pointer-free tables
// (internal/hashtab): a set holds its key once, growing never hashes a
// key again, and a lookup for a new set touches one slot. The table is
// split by hash into shards with a lock each, because every session's
// reader interns its UPDATEs' sets while the RIB loop retains and
// releases them: with one lock, ten peers' readers queued on it.
type Table struct {
	seed   maphash.Seed
	shards [tableShards]tableShard
}

const (
	tableShardBits = 4
	tableShards    = 1 << tableShardBits
	entPageBits    = 9 // entries per page of a shard: 512
)

// tableShard holds the sets whose hash starts with its number. A set's
// id is its entry number in the shard, then the shard's number in the
// low bits (Attrs.id).
type tableShard struct {
	mu   sync.Mutex
	find hashtab.Table // maphash of the key -> entry number
	ents [][]tableEnt  // pages of 1<<entPageBits entries: growing copies none
	n    uint32        // entries handed out
	free []uint32      // entry numbers of removed sets
	gen  uint64        // sets added so far (InternZone)
	_    [16]byte      // a shard's lock on its own cache line
}

type tableEnt struct {
	a    *Attrs
	refs int32
}

// take returns the set whose key is key, of hash h, with one more
// reference, or nil when the shard has none; sh.mu is held.
func (sh *tableShard) take(h uint64, key []byte) *Attrs {
	i, ok := sh.find.Find(h, func(i uint32) bool { return sh.ent(i).a.key == string(key) })
	if !ok {
		return nil
	}
	e := sh.ent(i)
	e.refs++
	return e.a
}

func (sh *tableShard) ent(i uint32) *tableEnt {
	return &sh.ents[i>>entPageBits][i&(1<<entPageBits-1)]
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{seed: maphash.MakeSeed()}
}

// Len is the number of distinct sets held.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.find.Len()
		sh.mu.Unlock()
	}
	return n
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
	shard := uint32(h >> (64 - tableShardBits))
	sh := &t.shards[shard]
	sh.mu.Lock()
	a := sh.take(h, scratch)
	gen := sh.gen
	sh.mu.Unlock()
	if a != nil {
		return a, scratch
	}
	// Built outside the lock (an allocation and a walk of l), then
	// looked up again if another reader added a set to the shard
	// meanwhile: it may be the same one.
	a = newAttrs(string(scratch), wireLen, l)
	if zone != "" {
		a.NextHop = a.NextHop.WithZone(zone)
	}
	sh.mu.Lock()
	if sh.gen != gen {
		if b := sh.take(h, scratch); b != nil {
			sh.mu.Unlock()
			return b, scratch
		}
	}
	sh.gen++
	var i uint32
	if n := len(sh.free); n > 0 {
		i = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		i = sh.n
		sh.n++
		if int(i>>entPageBits) == len(sh.ents) {
			sh.ents = append(sh.ents, make([]tableEnt, 1<<entPageBits))
		}
	}
	*sh.ent(i) = tableEnt{a: a, refs: 1}
	a.id = i<<tableShardBits | shard
	sh.find.Insert(h, i)
	sh.mu.Unlock()
	return a, scratch
}

// shardOf returns a's shard and entry number there.
func (t *Table) shardOf(a *Attrs) (*tableShard, uint32) {
	return &t.shards[a.id&(tableShards-1)], a.id >> tableShardBits
}

// Retain adds a reference to a, which must come from this table.
func (t *Table) Retain(a *Attrs) {
	sh, i := t.shardOf(a)
	sh.mu.Lock()
	sh.ent(i).refs++
	sh.mu.Unlock()
}

// Release drops a reference; the last one removes the set.
func (t *Table) Release(a *Attrs) {
	sh, i := t.shardOf(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.ent(i)
	e.refs--
	if e.refs > 0 {
		return
	}
	sh.find.Delete(maphash.String(t.seed, a.key), i)
	*e = tableEnt{}
	sh.free = append(sh.free, i)
	if len(sh.free) == int(sh.n) {
		// Every set of the shard is gone (the last session went
		// down): give the memory back rather than keep a full
		// table's worth of slots.
		sh.find.Reset()
		sh.ents, sh.free, sh.n = nil, nil, 0
	}
}

// newAttrs decodes what the decision process needs from l, whose
// canonical encoding is key[:wireLen]; l is not kept.
func newAttrs(key string, wireLen int, l attr.List) *Attrs {
	a := &Attrs{key: key, wireLen: int32(wireLen), Origin: attr.OriginIncomplete}
	// One pass over the list (a getter each would walk it nine times,
	// with an interface call per attribute, for every new set). A list
	// holds one attribute of a kind; should it hold more, the first
	// counts, as for the list's getters.
	var seen [256]bool
	var mp *attr.MPReach
	for _, x := range l {
		code := x.Code()
		if seen[code] {
			continue
		}
		seen[code] = true
		switch v := x.(type) {
		case *attr.LocalPref:
			a.LocalPref, a.HasLocalPref = v.Value, true
		case *attr.MED:
			a.MED, a.HasMED = v.Value, true
		case *attr.Origin:
			a.Origin = v.Value
		case *attr.ASPath:
			a.ASPathLen = int32(v.Length())
			a.NeighborAS, _ = v.First()
		case *attr.OriginatorID:
			if v.ID.Is4() {
				a.origID, a.hasOrigID = v.ID.As4(), true
			}
		case *attr.ClusterList:
			a.ClusterListLen = int32(len(v.IDs))
		case *attr.Communities:
			a.LLGRStale = v.Has(attr.CommunityLLGRStale)
		case *attr.NextHop:
			a.NextHop = v.Addr
		case *attr.MPReach:
			mp = v
		}
	}
	if !a.NextHop.IsValid() && mp != nil {
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
