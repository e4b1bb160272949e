package rib

// The Loc-RIB of one (VRF, AFI/SAFI): every candidate path of every prefix,
// the best path and multipath set of each, and a coalescing change feed.
//
//	peer readers ──UPDATEs (batched)──▶ owner goroutine ──Drain──▶ Adj-RIB-Out, FIB
//	                                      (LocRIB: the only writer)
//	API, CLI, BMP ──request + reply chan──▶ owner goroutine (Lookup, and later a walk)
//
// Ownership: a LocRIB is not safe for concurrent use. One goroutine, the
// owner, calls every method. The interned attribute sets it points to are
// immutable and shared with the speaker's other tables; only their
// reference counts change, under the Table's lock.
//
// Layout (DESIGN.md "Keep the GC's work small"): no heap object per prefix
// or per path.
//
//   - idx (index.go: open addressing over a []uint64 of hash tag and
//     entry number) maps the key (a pointer-free fixed-size value) to an
//     entry number; entries is one flat slice of {key, run offset, counts}.
//   - The paths of a prefix are a run of fixed-size records in one shared
//     slab of fixed pages, recs (slab.go). A run holds 1, 2, 3, 4, 6, ...
//     records (its class, see runSize); when it fills, the paths move to
//     a run of the next class and the old run goes on that class's free
//     list. The slab is compacted when more than two thirds of it are
//     free, or a quarter at a Drain. Freed entries are recycled too.
//   - A record is {attribute set index, source, path ID, arrival
//     sequence | stale}: 24 bytes, and no pointers, so the garbage
//     collector never scans the slab and writing it needs no write
//     barrier. The Source lives once in sources; the *Attrs once in sets,
//     which holds one Table reference per set in use (not per path) and
//     counts the paths using it, so Table.Release runs when the table's
//     last path with that set goes.
//   - Within a run the selected paths come first: the best, then the rest
//     of the multipath set; nsel counts them. So the previous selection is
//     always at hand to tell whether a change altered it, and Drain reads
//     the answer without running the decision process again.
//
// Change feed: a prefix whose best path or multipath set changed is marked
// dirty and its entry number queued once; more changes before the next
// Drain only update the entry, so a flap storm costs one change. A prefix
// left without paths keeps its entry until Drain has reported the
// withdrawal. The consumer must drain regularly: dirty entries are the
// table's backlog.
//
// Consistent snapshots for readers (not built yet): readers never touch the
// slab. Small questions (one prefix, longest match) go to the owner as a
// message and come back as copies (Lookup copies). Whole-table reads (API
// list, BMP route monitoring, MRT dumps) will use a walk run by the owner
// in bounded chunks between batches, copying each chunk's paths out, with
// the change feed's sequence so the reader can follow with Drain-like
// changes (snapshot, then changes). A published immutable copy per prefix
// was rejected: it costs a heap object per prefix, which is what this
// layout avoids.

import (
	"errors"
	"net/netip"
	"slices"
)

// SourceID names a Source within one LocRIB (AddSource returns it).
type SourceID uint32

// ErrTooManyPaths is returned when a prefix already holds the most paths a
// table can keep (MaxPathsPerPrefix); the new path is not stored. A peer
// that sends that many ADD-PATH identifiers for one prefix should be
// limited by a prefix limit before it gets here.
var ErrTooManyPaths = errors.New("rib: too many paths for one prefix")

// MaxPathsPerPrefix is the most candidate paths one prefix can hold.
const MaxPathsPerPrefix = 1<<16 - 1

// maxSelected bounds the multipath width stored per prefix (nsel is a
// byte); Options.MaxPaths above it is clamped.
const maxSelected = 255

const staleBit = 1 << 63

// pathRec is one path, compactly: see the file comment.
type pathRec struct {
	set    uint32 // index into LocRIB.sets
	src    SourceID
	pathID uint32
	seq    uint64 // arrival order in the low 63 bits; staleBit marks a path kept for graceful restart
}

func (p *pathRec) stale() bool { return p.seq&staleBit != 0 }

// runSize is the capacity of a run of each class: 1, 2, 3, 4, 6, 8, 12,
// 16, ... (alternately x1.5 and x1.33), so a run wastes at most a third
// of itself; ten peers' nine paths take a run of 12, not 16.
var runSize = func() (s [numClasses]int) {
	s[0], s[1] = 1, 2
	for c := 2; c < numClasses; c += 2 {
		s[c] = 3 << ((c - 2) / 2)
		if c+1 < numClasses {
			s[c+1] = 4 << ((c - 2) / 2)
		}
	}
	return s
}()

// numClasses run classes reach past MaxPathsPerPrefix (runSize[31] is 65536).
const numClasses = 32

// entry flag bits, kept in the top of cls.
const (
	entryDirty = 1 << 7
	entryFree  = 1 << 6
	clsMask    = entryFree - 1
)

// entry is one prefix: 16 bytes for Prefix4.
type entry[K Key] struct {
	key  K
	off  uint32 // first record of the run in recs
	n    uint16 // paths held
	cls  uint8  // run capacity is runSize[cls&clsMask]; entryDirty, entryFree
	nsel uint8  // selected paths at the front of the run (0: no best path)
}

// selKey is what identifies a selected path when comparing selections.
type selKey struct {
	set    uint32
	src    SourceID
	pathID uint32
}

// LocRIB is the Loc-RIB of one (VRF, AFI/SAFI), indexed by K (Prefix4,
// Prefix6; see key.go for the families to come). Owned by one goroutine:
// see the file comment.
type LocRIB[K Key] struct {
	attrs *Table
	opts  Options

	// The attribute sets this table's paths use, by index, each with
	// the number of paths using it: the table holds one Table reference
	// per set, not per path, and the slab holds no pointers.
	sets     []attrSlot
	setIndex map[*Attrs]uint32
	freeSets []uint32
	lastSet  *Attrs // one-entry cache: an UPDATE's prefixes share a set
	lastIdx  uint32
	sources  []*Source
	srcPaths []int // paths held per source
	trackAll bool

	// Next-hop tracking (nexthop.go): res answers; nhs[0] is unused
	// (a set's nh of 0 means untracked).
	res     NextHopResolver
	nhs     []nhSlot
	nhIndex map[netip.Addr]uint32
	freeNH  []uint32

	idx      index[K]
	entries  []entry[K]
	freeEnts []uint32
	recs     slab
	dirty    []uint32
	live     int // entries with at least one path
	seq      uint64

	// Scratch reused by every call.
	pbuf []Path
	pptr []*Path
	mp   []int
	prev []selKey
	tmp  []pathRec
	used []bool
}

// NewLocRIB returns an empty table whose paths reference sets interned in
// attrs and are ranked by opts. MaxPaths above 255 is clamped to 255.
func NewLocRIB[K Key](attrs *Table, opts Options) *LocRIB[K] {
	if opts.MaxPaths > maxSelected {
		opts.MaxPaths = maxSelected
	}
	r := &LocRIB[K]{attrs: attrs, opts: opts, setIndex: map[*Attrs]uint32{}}
	r.idx.init()
	return r
}

// AddSource registers where paths come from (a peer, or local origination)
// and returns its identifier for Update and Withdraw. s must not change
// while registered paths refer to it.
//
// TODO(#5): sources are per table for now; a speaker-wide registry will
// share one numbering across VRFs and families.
func (r *LocRIB[K]) AddSource(s *Source) SourceID {
	r.sources = append(r.sources, s)
	r.srcPaths = append(r.srcPaths, 0)
	return SourceID(len(r.sources) - 1)
}

// SetSource replaces what src stands for (a session came up again with
// another identifier, say). Sources are immutable once handed out, since
// the Paths that Drain and Lookup give point to them: replace, never
// modify. The decision process of the prefixes already held is not run
// again.
func (r *LocRIB[K]) SetSource(src SourceID, s *Source) { r.sources[src] = s }

// SetOptions changes the decision process's knobs; prefixes are selected
// again as they change (call Reselect to apply them at once).
func (r *LocRIB[K]) SetOptions(opts Options) {
	if opts.MaxPaths > maxSelected {
		opts.MaxPaths = maxSelected
	}
	r.opts = opts
}

// Reselect runs the decision process for every prefix again (after
// SetOptions); the prefixes whose selection changes are reported by the
// next Drain.
func (r *LocRIB[K]) Reselect() {
	for ei := range r.entries {
		e := &r.entries[ei]
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		r.savePrev(e)
		r.reselect(uint32(ei))
	}
}

// SourcePaths is the number of paths held from src.
func (r *LocRIB[K]) SourcePaths(src SourceID) int { return r.srcPaths[src] }

// Len is the number of prefixes with at least one path.
func (r *LocRIB[K]) Len() int { return r.live }

// Update installs a path to key from src with identifier pathID (0 without
// ADD-PATH), replacing the path with the same (src, pathID) if there is one
// (an implicit withdraw, RFC 4271 §3.1). src must come from AddSource.
// The table holds a reference on a while a path uses it (one per set, see
// LocRIB.sets); the caller keeps its own. Re-announcing the same set clears the
// stale mark and changes nothing else (the path keeps its age for RFC 5004).
// The decision process then runs for key, and key is marked changed if
// its best path or multipath set changed.
func (r *LocRIB[K]) Update(src SourceID, pathID uint32, key K, a *Attrs) error {
	slot, ei, ok := r.idx.find(key, r.entries)
	if !ok {
		ei = r.newEntry(key)
		r.idx.insertAt(slot, ei, key)
	}
	e := &r.entries[ei]
	run := r.recs.run(e.off, int(e.n))
	for i := range run {
		p := &run[i]
		if p.src != src || p.pathID != pathID {
			continue
		}
		if r.sets[p.set].a == a {
			p.seq &^= staleBit
			return nil
		}
		r.savePrev(e)
		old := p.set
		r.seq++
		p.set, p.seq = r.acquire(a), r.seq
		r.reselect(ei)
		r.releaseSet(old)
		return nil
	}
	if int(e.n) >= MaxPathsPerPrefix {
		return ErrTooManyPaths
	}
	r.savePrev(e)
	r.seq++
	r.appendRec(ei, pathRec{set: r.acquire(a), src: src, pathID: pathID, seq: r.seq})
	r.reselect(ei)
	return nil
}

// Withdraw removes the path (src, pathID) to key, reporting whether there
// was one.
func (r *LocRIB[K]) Withdraw(src SourceID, pathID uint32, key K) bool {
	_, ei, ok := r.idx.find(key, r.entries)
	if !ok {
		return false
	}
	return r.removeIf(ei, func(p *pathRec) bool { return p.src == src && p.pathID == pathID }) > 0
}

// WithdrawSource removes every path from src (its session went down
// without graceful restart) and returns how many. It walks the whole
// table: a session loss is rare next to UPDATEs, and a per-source list
// would cost memory on every path.
func (r *LocRIB[K]) WithdrawSource(src SourceID) int {
	return r.removeAll(func(p *pathRec) bool { return p.src == src })
}

// MarkStale marks every path from src stale (RFC 4724 §4.2: the session
// went down and the peer can restart gracefully) and returns how many. A
// stale path stays a candidate, so no selection changes; an Update from
// the restarted session clears the mark, and SweepStale removes the paths
// still marked.
func (r *LocRIB[K]) MarkStale(src SourceID) int {
	n := 0
	for ei := range r.entries {
		e := &r.entries[ei]
		if e.cls&entryFree != 0 {
			continue
		}
		run := r.recs.run(e.off, int(e.n))
		for i := range run {
			if run[i].src == src {
				run[i].seq |= staleBit
				n++
			}
		}
	}
	return n
}

// ReplaceStale gives every stale path from src the attribute set fn
// returns for its own, or removes it when fn returns nil (RFC 9494: the
// restart time is over and the paths become long-lived stale, with
// LLGR_STALE, or go when they carry NO_LLGR), and selects their prefixes
// again. fn returns sets interned in the table's Table; the table takes
// its own references, so the caller releases the ones fn handed out. It
// returns how many paths were kept and how many removed.
func (r *LocRIB[K]) ReplaceStale(src SourceID, fn func(*Attrs) *Attrs) (kept, removed int) {
	memo := map[*Attrs]*Attrs{}
	to := func(a *Attrs) *Attrs {
		na, ok := memo[a]
		if !ok {
			na = fn(a)
			memo[a] = na
		}
		return na
	}
	for ei := range r.entries {
		e := &r.entries[ei]
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		// The paths that go, then the ones that change set.
		removed += r.removeIf(uint32(ei), func(p *pathRec) bool {
			return p.src == src && p.stale() && to(r.sets[p.set].a) == nil
		})
		e = &r.entries[ei]
		run := r.recs.run(e.off, int(e.n))
		touched := false
		for i := range run {
			p := &run[i]
			if p.src != src || !p.stale() {
				continue
			}
			kept++
			na := to(r.sets[p.set].a)
			if na == r.sets[p.set].a {
				continue
			}
			if !touched {
				r.savePrev(e)
				touched = true
			}
			old := p.set
			p.set = r.acquire(na)
			r.releaseSet(old)
		}
		if touched {
			r.reselect(uint32(ei))
		}
	}
	return kept, removed
}

// SweepStale removes the paths from src still marked stale (End-of-RIB
// received, or the restart timer expired) and returns how many.
func (r *LocRIB[K]) SweepStale(src SourceID) int {
	return r.removeAll(func(p *pathRec) bool { return p.src == src && p.stale() })
}

// Drain calls fn for each prefix changed since the last Drain, in the
// order they first changed, with its current best path and multipath set
// (best first, best == multipath[0]); best is nil and multipath empty when
// the prefix has no best path any more (withdrawn, or no candidate). The
// Paths are valid only during the call and fn must not call back into
// the table. Drain clears the marks.
func (r *LocRIB[K]) Drain(fn func(key K, best *Path, multipath []*Path)) {
	for _, ei := range r.dirty {
		e := &r.entries[ei]
		e.cls &^= entryDirty
		if e.nsel == 0 {
			fn(e.key, nil, nil)
			if e.n == 0 {
				r.freeEntry(ei)
			}
			continue
		}
		ps := r.paths(r.recs.run(e.off, int(e.nsel)))
		fn(e.key, ps[0], ps)
	}
	r.afterDrain()
}

func (r *LocRIB[K]) afterDrain() {
	if r.recs.wasteful(1, 4) {
		// A quiet point after a batch: give back the runs a load left
		// behind (see compact).
		r.compact()
	}
	if cap(r.dirty) > 1<<16 {
		r.dirty = nil // a full-table load's backlog is not kept for life
	} else {
		r.dirty = r.dirty[:0]
	}
}

// Walk calls fn for the prefixes that have paths, in table order, starting
// at position from (0 for the first call) and stopping after max of them;
// it returns the position to continue from, and false when the table has
// been walked to its end. paths holds every path of the prefix, the nsel
// selected ones first (best first); like Drain's, they are valid only
// during the call, and fn must not call back into the table.
//
// A walk in several calls, with Updates between them, sees each prefix
// that stays in the table once, in the state it had when walked; prefixes
// added or changed meanwhile are reported by Drain, so a reader that
// walks and then follows Drain sees a consistent table (snapshot, then
// changes).
func (r *LocRIB[K]) Walk(from uint32, max int, fn func(key K, paths []*Path, nsel int)) (next uint32, more bool) {
	i := from
	for n := 0; int(i) < len(r.entries) && n < max; i++ {
		e := &r.entries[i]
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		fn(e.key, r.paths(r.recs.run(e.off, int(e.n))), int(e.nsel))
		n++
	}
	return i, int(i) < len(r.entries)
}

// DrainAll is Drain reporting every path of each changed prefix: paths
// holds the nsel selected ones first (best first), then the others in no
// particular order. Like Drain's, the Paths are valid only during the
// call.
func (r *LocRIB[K]) DrainAll(fn func(key K, paths []*Path, nsel int)) {
	for _, ei := range r.dirty {
		e := &r.entries[ei]
		e.cls &^= entryDirty
		if e.n == 0 {
			fn(e.key, nil, 0)
			r.freeEntry(ei)
			continue
		}
		fn(e.key, r.paths(r.recs.run(e.off, int(e.n))), int(e.nsel))
	}
	r.afterDrain()
}

// Seq is the arrival number the table gave its latest path (Path.Seq of
// a path that arrived later is higher).
func (r *LocRIB[K]) Seq() uint64 { return r.seq }

// Pending is the number of prefixes waiting for Drain.
func (r *LocRIB[K]) Pending() int { return len(r.dirty) }

// Lookup returns copies of the paths to key, the selected ones first (the
// best, then the rest of the multipath set), and how many are selected.
func (r *LocRIB[K]) Lookup(key K) (paths []Path, selected int) {
	_, ei, ok := r.idx.find(key, r.entries)
	if !ok {
		return nil, 0
	}
	e := &r.entries[ei]
	if e.n == 0 {
		return nil, 0
	}
	ps := r.paths(r.recs.run(e.off, int(e.n)))
	out := make([]Path, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, int(e.nsel)
}

// paths expands records into the scratch Paths.
func (r *LocRIB[K]) paths(run []pathRec) []*Path {
	n := len(run)
	r.pbuf = slices.Grow(r.pbuf[:0], n)[:n]
	r.pptr = slices.Grow(r.pptr[:0], n)[:n]
	for i := range run {
		p := &run[i]
		unres, cost := r.resolution(p.set)
		r.pbuf[i] = Path{
			Attrs:    r.sets[p.set].a,
			Source:   r.sources[p.src],
			SourceID: p.src,
			PathID:   p.pathID,
			Seq:      p.seq &^ staleBit,
			Stale:    p.stale(),
			// Steps 1 and 8, per next hop (nexthop.go).
			Unresolvable: unres,
			IGPCost:      cost,
		}
		r.pptr[i] = &r.pbuf[i]
	}
	return r.pptr
}

// savePrev remembers the selection of e before a change.
func (r *LocRIB[K]) savePrev(e *entry[K]) {
	r.prev = r.prev[:0]
	for _, p := range r.recs.run(e.off, int(e.nsel)) {
		r.prev = append(r.prev, selKey{p.set, p.src, p.pathID})
	}
}

// reselect runs the decision process for entry ei, moves the selected
// paths to the front of its run, and marks it dirty when the selection
// differs from r.prev.
func (r *LocRIB[K]) reselect(ei uint32) {
	e := &r.entries[ei]
	run := r.recs.run(e.off, int(e.n))
	nsel := 0
	switch {
	case len(run) == 0:
	case len(run) == 1:
		// One candidate: Select's answer is known.
		if unres, _ := r.resolution(run[0].set); !unres {
			nsel = 1
		}
	default:
		best, mp := r.opts.Select(r.paths(run), r.mp[:0])
		r.mp = mp
		if best >= 0 {
			nsel = len(mp)
			r.front(run, mp)
		}
	}
	e.nsel = uint8(nsel)
	if r.trackAll || !r.sameSelection(run[:nsel]) {
		r.markDirty(ei)
	}
}

// TrackAll makes any change of any path mark its prefix changed, not only
// a change of the selection: for ADD-PATH peers that are sent every path
// (or the best N), which must hear of the paths outside the selection too.
// Drain then still reports the selection; DrainAll reports every path.
func (r *LocRIB[K]) TrackAll(on bool) { r.trackAll = on }

// front reorders run so that the records at indices sel come first, in
// that order, followed by the others in their previous order.
func (r *LocRIB[K]) front(run []pathRec, sel []int) {
	inPlace := true
	for i, j := range sel {
		if i != j {
			inPlace = false
			break
		}
	}
	if inPlace {
		return
	}
	r.tmp = append(r.tmp[:0], run...)
	r.used = slices.Grow(r.used[:0], len(run))[:len(run)]
	clear(r.used)
	k := 0
	for _, j := range sel {
		run[k] = r.tmp[j]
		r.used[j] = true
		k++
	}
	for j := range r.tmp {
		if !r.used[j] {
			run[k] = r.tmp[j]
			k++
		}
	}
}

// sameSelection compares the new selection with r.prev: the same best
// path (source, path ID and attribute set) and the same multipath set, in
// any order.
func (r *LocRIB[K]) sameSelection(sel []pathRec) bool {
	if len(sel) != len(r.prev) {
		return false
	}
	if len(sel) == 0 {
		return true
	}
	if (selKey{sel[0].set, sel[0].src, sel[0].pathID}) != r.prev[0] {
		return false
	}
outer:
	for _, p := range sel[1:] {
		k := selKey{p.set, p.src, p.pathID}
		for _, q := range r.prev[1:] {
			if q == k {
				continue outer
			}
		}
		return false
	}
	return true
}

func (r *LocRIB[K]) markDirty(ei uint32) {
	e := &r.entries[ei]
	if e.cls&entryDirty == 0 {
		e.cls |= entryDirty
		r.dirty = append(r.dirty, ei)
	}
}

// removeIf removes the paths of entry ei that match, releases their
// attribute sets, reselects, and returns how many went.
func (r *LocRIB[K]) removeIf(ei uint32, match func(*pathRec) bool) int {
	e := &r.entries[ei]
	run := r.recs.run(e.off, int(e.n))
	found := false
	for i := range run {
		if match(&run[i]) {
			found = true
			break
		}
	}
	if !found {
		return 0
	}
	r.savePrev(e)
	k := 0
	for i := range run {
		if match(&run[i]) {
			r.releaseSet(run[i].set)
			r.srcPaths[run[i].src]--
			continue
		}
		run[k] = run[i]
		k++
	}
	removed := len(run) - k
	clear(run[k:])
	e.n = uint16(k)
	if k == 0 {
		r.live--
	}
	r.reselect(ei)
	if e.n == 0 && e.cls&entryDirty == 0 {
		r.freeEntry(ei) // nothing to report: it had no best path before either
	}
	return removed
}

func (r *LocRIB[K]) removeAll(match func(*pathRec) bool) int {
	n := 0
	for ei := range r.entries {
		if r.entries[ei].cls&entryFree != 0 {
			continue
		}
		n += r.removeIf(uint32(ei), match)
	}
	return n
}

// newEntry takes a free entry, or a new one, with an empty run of class 0.
func (r *LocRIB[K]) newEntry(key K) uint32 {
	off := r.recs.alloc(0)
	e := entry[K]{key: key, off: off}
	if n := len(r.freeEnts); n > 0 {
		ei := r.freeEnts[n-1]
		r.freeEnts = r.freeEnts[:n-1]
		r.entries[ei] = e
		return ei
	}
	r.entries = append(r.entries, e)
	return uint32(len(r.entries) - 1)
}

// freeEntry drops an entry without paths from the index and recycles it
// and its run.
func (r *LocRIB[K]) freeEntry(ei uint32) {
	e := &r.entries[ei]
	if slot, _, ok := r.idx.find(e.key, r.entries); ok {
		r.idx.remove(slot)
	}
	r.recs.release(e.off, e.cls&clsMask)
	var zero K
	*e = entry[K]{key: zero, cls: entryFree}
	r.freeEnts = append(r.freeEnts, ei)
}

// appendRec adds p to entry ei, moving its run to the next class when full.
func (r *LocRIB[K]) appendRec(ei uint32, p pathRec) {
	e := &r.entries[ei]
	cls := e.cls & clsMask
	if int(e.n) == runSize[cls] {
		if r.recs.wasteful(2, 3) {
			r.compact() // moves e's run: read e.off after
		}
		off := r.recs.alloc(cls + 1)
		copy(r.recs.run(off, int(e.n)), r.recs.run(e.off, int(e.n)))
		r.recs.release(e.off, cls)
		e.off = off
		e.cls = e.cls&^clsMask | (cls + 1)
	}
	r.recs.run(e.off, int(e.n)+1)[e.n] = p
	r.srcPaths[p.src]++
	if e.n == 0 {
		r.live++
	}
	e.n++
}

// compact copies every live run into a new slab without the free runs.
// A table filled one source after another grows every prefix's run
// through each class in turn, and the runs left behind are of a class
// nobody needs any more: without compaction ten full tables would keep
// about 24 dead records per prefix. appendRec calls it when more than
// two thirds of the slab are free, so its cost is amortised over the
// growth that freed the space (and a table loading one peer after
// another copies its paths about once); Drain, at a quarter.
func (r *LocRIB[K]) compact() {
	var recs slab
	for ei := range r.entries {
		e := &r.entries[ei]
		if e.cls&entryFree != 0 {
			continue
		}
		off := recs.alloc(e.cls & clsMask)
		copy(recs.run(off, int(e.n)), r.recs.run(e.off, int(e.n)))
		e.off = off
	}
	r.recs = recs
}

// Compact releases the slab space of freed runs (after a session's paths
// were withdrawn, say); the table does it by itself while it grows.
func (r *LocRIB[K]) Compact() { r.compact() }

// attrSlot is one attribute set in use by the table.
type attrSlot struct {
	a    *Attrs
	refs uint32 // paths in this table using a
	nh   uint32 // slot of a's next hop in LocRIB.nhs; 0: untracked
}

// acquire returns a's index, counting one more path using it; the first
// use takes a reference on the speaker's Table.
func (r *LocRIB[K]) acquire(a *Attrs) uint32 {
	i, ok := r.lastIdx, a == r.lastSet
	if !ok {
		i, ok = r.setIndex[a]
	}
	if !ok {
		r.attrs.Retain(a)
		if n := len(r.freeSets); n > 0 {
			i = r.freeSets[n-1]
			r.freeSets = r.freeSets[:n-1]
			r.sets[i] = attrSlot{a: a, nh: r.trackNextHop(a)}
		} else {
			i = uint32(len(r.sets))
			r.sets = append(r.sets, attrSlot{a: a, nh: r.trackNextHop(a)})
		}
		r.setIndex[a] = i
	}
	r.sets[i].refs++
	r.lastSet, r.lastIdx = a, i
	return i
}

// releaseSet counts one path fewer using set i; the last one gives the
// Table reference back.
func (r *LocRIB[K]) releaseSet(i uint32) {
	s := &r.sets[i]
	s.refs--
	if s.refs > 0 {
		return
	}
	r.untrackNextHop(s.nh)
	r.attrs.Release(s.a)
	delete(r.setIndex, s.a)
	if r.lastSet == s.a {
		r.lastSet = nil
	}
	*s = attrSlot{}
	r.freeSets = append(r.freeSets, i)
}
