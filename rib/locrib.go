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
// or per path, and the three big arrays are not on the Go heap at all.
//
//   - idx (index.go: open addressing over an array of uint64 holding a
//     hash tag and an entry number) maps the key (a pointer-free
//     fixed-size value) to an entry number; entries is one array of
//     {key, run offset, counts}, in pages that never move (16 bytes for
//     Prefix4; key.go lists the others). Freed entries are recycled, the
//     last freed first, so entry numbers stay dense: the change feed hands
//     them out as slots (DrainAll).
//   - The paths of a prefix are a run of fixed-size records in one shared
//     slab of fixed pages, recs (slab.go). A run holds 1, 2, 3, 4, 6, ...
//     records (its class, see runSize), sized for the paths the table's
//     prefixes have on average; when it fills, the paths move to a run of
//     a bigger class and the old run goes on its class's free list. The
//     slab is compacted when more than two thirds of it are free runs,
//     and, each run shrunk to fit, when more than a third of it holds no
//     path at a quiet moment (Tidy).
//   - A record is {attribute set index, path ID, 47-bit arrival sequence,
//     16-bit source, stale bit}: 16 bytes, and no pointers, so the garbage
//     collector never scans the slab and writing it needs no write
//     barrier. The sequence cannot wrap in practice (seqBits); 16 bits of
//     source suffice because a table holds at most MaxSources sources at
//     once and RemoveSource recycles the IDs of peers that went away. The
//     Source lives once in sources; the *Attrs once in sets, which holds
//     one Table reference per set in use (not per path) and counts the
//     paths using it, so Table.Release runs when the table's last path
//     with that set goes.
//   - Within a run the selected paths come first: the best, then the rest
//     of the multipath set; nsel counts them. So the previous selection is
//     always at hand to tell whether a change altered it, and Drain reads
//     the answer without running the decision process again.
//   - The index, the entries and the slab pages are mapped outside the Go
//     heap (internal/offheap: they hold no pointers, which it requires).
//     On the heap they cost twice, since the collector lets the heap grow
//     by GOGC percent of its live size before it runs; mapped, they cost
//     their pages, growing never holds an old copy beyond the moment it is
//     copied (the index's rehash, a compaction), and Close gives them back
//     at once. What stays on the heap is per attribute set and per
//     source, not per prefix.
//
// For one peer's full IPv4 table (1M prefixes) that is, per prefix, 16
// bytes of entry, 16 of record and 16.8 of index (2^21 slots; 10.7 to
// 21.3 as the table's size varies, the index being at most 3/4 full):
// about 50 bytes mapped in all (BenchmarkLocRIBImport1 measures it), and
// 1.5 bytes of heap for the attribute slots.

// Change feed: a prefix whose best path or multipath set changed is marked
// dirty and its entry number queued once; more changes before the next
// Drain only update the entry, so a flap storm costs one change. A prefix
// left without paths keeps its entry until Drain has reported the
// withdrawal; one that was reported with paths and loses them without a
// change of selection (it had none: every path unselected) is queued for
// that report too, so that a consumer keeping state per slot hears of it
// before the slot is reused (entryShown; the contract is at DrainAll).
// The consumer must drain regularly: dirty entries are the table's
// backlog.
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
	"fmt"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/godwit-bgp/godwit/internal/hashtab"
	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/internal/prefetch"
)

// SourceID names a Source within one LocRIB (AddSource returns it). It
// is a uint32 in the API, but a table numbers at most MaxSources sources
// (its path records keep the ID in 16 bits).
type SourceID uint32

// MaxSources is the most sources one table holds at once: the path record
// keeps a source in 16 bits, which is what brings it down to 16 bytes.
// RemoveSource makes the ID of a source that went away reusable, so the
// limit counts sources present together, not sources ever seen.
const MaxSources = 1<<16 - 1

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

// A path's arrival sequence is 47 bits: seqLo, then the low 15 bits of
// seqHi, whose top bit is the stale mark. 2^47 is 1.4e14 arrivals, four
// and a half years of a million updates a second without a pause; past
// it the sequence stops counting (see nextSeq) rather than wrap, so an
// old path never looks newer than a young one.
const (
	seqBits  = 47
	maxSeq   = 1<<seqBits - 1
	staleBit = 1 << 15 // in seqHi
)

// pathRec is one path, compactly: see the file comment. 16 bytes, no
// padding (TestKeyLayout pins it).
type pathRec struct {
	set    uint32 // index into LocRIB.sets
	pathID uint32
	seqLo  uint32 // arrival sequence, low 32 bits
	src    uint16 // SourceID (< MaxSources)
	seqHi  uint16 // arrival sequence, bits 32 to 46; staleBit marks a path kept for graceful restart
}

func (p *pathRec) stale() bool { return p.seqHi&staleBit != 0 }

// seq is the arrival sequence without the stale mark.
func (p *pathRec) seq() uint64 { return uint64(p.seqHi&^staleBit)<<32 | uint64(p.seqLo) }

// setSeq gives p arrival sequence s (<= maxSeq) and clears the stale mark.
func (p *pathRec) setSeq(s uint64) { p.seqLo, p.seqHi = uint32(s), uint16(s>>32) }

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

// jumpPaths bounds how far a run jumps when it grows (see appendRec): to
// at most 16 paths, the size of a run the average path count of the
// table's prefixes asks for.
const jumpPaths = 16

// entry flag bits, kept in the top of cls. entryShown keeps the slot
// contract of DrainAll and Walk: it is set when a report gave the
// consumer the prefix with paths (Drain: with a best path), cleared when
// a report gave it none, and an entry that loses its last path while set
// is queued for a report instead of being freed silently.
const (
	entryDirty = 1 << 7
	entryFree  = 1 << 6
	entryShown = 1 << 5
	clsMask    = entryShown - 1 // numClasses fits
)

// entry is one prefix: 16 bytes for Prefix4.
type entry[K Key] struct {
	key  K
	off  uint32 // first record of the run in recs
	n    uint16 // paths held
	cls  uint8  // run capacity is runSize[cls&clsMask]; entryDirty, entryFree, entryShown
	nsel uint8  // selected paths at the front of the run (0: no best path)
}

// selKey is what identifies a selected path when comparing selections.
type selKey struct {
	set    uint32
	pathID uint32
	src    uint16
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
	sets       []attrSlot
	setIndex   HintIndex // finds a set's index in sets, by hashtab.Mix(Attrs.id)
	freeSets   []uint32
	lastSet    *Attrs // one-entry cache: an UPDATE's prefixes share a set
	lastIdx    uint32
	early      earlyMemo  // earlyOrder's last answer
	sources    []*Source  // by SourceID; nil: removed (its ID is in freeSrcs)
	srcPaths   []int      // paths held per source
	activeSrcs int        // sources with a path in the table
	npaths     int        // paths in the table
	freeSrcs   []SourceID // removed IDs, ascending: AddSource takes the lowest
	trackAll   bool

	// Next-hop tracking (nexthop.go): res answers; nhs[0] is unused
	// (a set's nh of 0 means untracked).
	res     NextHopResolver
	nhs     []nhSlot
	nhIndex map[netip.Addr]uint32
	freeNH  []uint32

	idx     index[K]
	entries offheap.Paged[entry[K]]
	freeEnt uint32 // first free entry + 1 (0: none); a free entry's off links to the next
	near    uint32 // the entry after the last one Update or Withdraw found (locate)
	recs    slab
	dirty   []uint32
	live    int // entries with at least one path
	seq     uint64

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
	r := &LocRIB[K]{attrs: attrs, opts: opts, setIndex: NewHintIndex()}
	r.idx.init()
	return r
}

// AddSource registers where paths come from (a peer, or local origination)
// and returns its identifier for Update and Withdraw. s must not change
// while registered paths refer to it. It reuses the lowest ID that
// RemoveSource freed before taking a new one, so two tables that add and
// remove the same sources in the same order number them alike. It panics
// when the table already holds MaxSources sources: the caller must bound
// its sessions (a silent wrap would mix two peers' paths).
//
// TODO(#5): sources are per table for now; a speaker-wide registry will
// share one numbering across VRFs and families.
func (r *LocRIB[K]) AddSource(s *Source) SourceID {
	if s == nil {
		panic("rib: AddSource(nil)")
	}
	if len(r.freeSrcs) > 0 {
		id := r.freeSrcs[0]
		r.freeSrcs = r.freeSrcs[1:]
		r.sources[id] = s
		return id
	}
	if len(r.sources) >= MaxSources {
		panic(fmt.Sprintf("rib: AddSource: a table holds at most %d sources (remove the ones that went away with RemoveSource)", MaxSources))
	}
	r.sources = append(r.sources, s)
	r.srcPaths = append(r.srcPaths, 0)
	return SourceID(len(r.sources) - 1)
}

// RemoveSource makes src's ID free for AddSource to hand out again. The
// source must have no paths left in the table (WithdrawSource, or
// SweepStale after a graceful restart that never came back), and the
// caller must have drained the changes that withdrawal made, so that every
// consumer heard of it before the ID can stand for another peer (an
// Adj-RIB-Out remembers paths by SourceID). It panics when src still has
// paths or is not registered: either is a bug in the caller's lifecycle.
func (r *LocRIB[K]) RemoveSource(src SourceID) {
	if int(src) >= len(r.sources) || r.sources[src] == nil {
		panic(fmt.Sprintf("rib: RemoveSource(%d): not a registered source", src))
	}
	if n := r.srcPaths[src]; n != 0 {
		panic(fmt.Sprintf("rib: RemoveSource(%d): the source still has %d paths", src, n))
	}
	r.sources[src] = nil
	r.forgetEarly()
	i, _ := slices.BinarySearch(r.freeSrcs, src)
	r.freeSrcs = slices.Insert(r.freeSrcs, i, src)
}

// SetSource replaces what src stands for (a session came up again with
// another identifier, say). Sources are immutable once handed out, since
// the Paths that Drain and Lookup give point to them: replace, never
// modify. The decision process of the prefixes already held is not run
// again. src must be registered (not removed) and s not nil.
func (r *LocRIB[K]) SetSource(src SourceID, s *Source) {
	if int(src) >= len(r.sources) || r.sources[src] == nil || s == nil {
		panic(fmt.Sprintf("rib: SetSource(%d): not a registered source, or a nil Source", src))
	}
	r.sources[src] = s
	r.forgetEarly()
}

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
	for ei := range uint32(r.entries.Len()) {
		e := r.entries.At(ei)
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		r.savePrev(e)
		r.reselect(ei)
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
	slot, ei, ok := r.locate(key)
	if !ok {
		ei = r.newEntry(key)
		r.idx.insertAt(slot, ei, key, &r.entries)
		r.near = ei + 1
	}
	e := r.entries.At(ei)
	run := r.recs.run(e.off, int(e.n))
	for i := range run {
		p := &run[i]
		if SourceID(p.src) != src || p.pathID != pathID {
			continue
		}
		if r.sets[p.set].a == a {
			p.seqHi &^= staleBit
			return nil
		}
		unselected := i >= int(e.nsel)
		old := p.set
		if unselected && r.earlyOrder(e, run, old, src) < 0 {
			// It could not win before; if it cannot now either, the
			// selection stands.
			set := r.acquire(a)
			if r.earlyOrder(e, run, set, src) < 0 {
				p.set = set
				p.setSeq(r.nextSeq())
				r.releaseSet(old)
				r.changedUnselected(ei)
				return nil
			}
			r.savePrev(e)
			p.set = set
		} else {
			r.savePrev(e)
			p.set = r.acquire(a)
		}
		p.setSeq(r.nextSeq()) // clears the stale mark too
		r.reselect(ei)
		r.releaseSet(old)
		return nil
	}
	if int(e.n) >= MaxPathsPerPrefix {
		return ErrTooManyPaths
	}
	if int(src) >= len(r.sources) || r.sources[src] == nil {
		// A record keeps 16 bits of src: an ID that AddSource did not
		// hand out would file the path under another source.
		panic(fmt.Sprintf("rib: Update from unregistered source %d", src))
	}
	p := pathRec{set: r.acquire(a), src: uint16(src), pathID: pathID}
	p.setSeq(r.nextSeq())
	order := r.earlyOrder(e, run, p.set, src)
	if order < 0 {
		// One more path that cannot win (most of ten peers' paths to a
		// prefix): appended behind the selection, which stands.
		r.appendRec(ei, p)
		r.changedUnselected(ei)
		return nil
	}
	r.savePrev(e)
	r.appendRec(ei, p)
	if order > 0 {
		r.selectOnly(ei, int(r.entries.At(ei).n)-1)
		return nil
	}
	if order == 0 && r.tieLoses(ei) {
		return nil
	}
	r.reselect(ei)
	return nil
}

// locate returns the entry of key, if the table has one. It tries the
// entry after the last one found before the index: entries are numbered
// in the order prefixes first arrive, and peers send their tables in
// much the same order (sorted, or as the peer they learned them from
// sent them), so the next prefix of a peer's UPDATEs is mostly the next
// entry. That entry is on the cache line just read, or the next one,
// while the index slot is a random line of an array too big for the
// cache: the miss was the largest single cost of loading ten peers'
// tables. A wrong guess costs one comparison. When key has no entry,
// slot is the index slot where it goes (index.find).
func (r *LocRIB[K]) locate(key K) (slot int, ei uint32, ok bool) {
	if ei := r.near; ei < uint32(r.entries.Len()) {
		// A free entry's key is zero, which is the default route's.
		if e := r.entries.At(ei); e.key == key && e.cls&entryFree == 0 {
			r.near = ei + 1
			return -1, ei, true
		}
	}
	slot, ei, ok = r.idx.find(key, &r.entries)
	if ok {
		r.near = ei + 1
	}
	return slot, ei, ok
}

// tieLoses finishes the Update of a new path, the last of entry ei's run,
// that ties with the best path at the steps before MED (earlyOrder 0
// with a best path) and loses to it at a later step: the best path
// stands, and the new path joins the multipath set if it is equal-cost
// with it. It reports false, having changed nothing, when the new path
// wins or when deterministic MED could group it with another path: the
// decision process runs then.
//
// Why that is Select's answer: Select scans the run in order, and the
// stored run starts with the best path, which Select found best over the
// rest; the new path, last, is compared with it alone. The multipath
// set is the paths equal-cost with the best in run order, which the
// selection already holds, then the new path. With deterministic MED,
// a new path whose neighbouring AS no other path has is a group alone,
// and the best of the groups is found by the same order as above. With
// ten peers' paths to each prefix, most ties lose (the older path is
// preferred), and this skips the decision process over all of them.
func (r *LocRIB[K]) tieLoses(ei uint32) bool {
	e := r.entries.At(ei)
	n := int(e.n)
	run := r.recs.run(e.off, n)
	if e.nsel == 0 || n < 2 {
		return false
	}
	nw, best := &run[n-1], &run[0]
	na := r.sets[nw.set].a
	if r.opts.DeterministicMED && !r.opts.AlwaysCompareMED {
		for i := range run[:n-1] {
			if r.sets[run[i].set].a.NeighborAS == na.NeighborAS {
				return false
			}
		}
	}
	np, bp := r.pathOf(nw), r.pathOf(best)
	if c, _ := r.opts.Compare(&np, &bp); c < 0 {
		return false
	}
	nsel := int(e.nsel)
	maxPaths := max(r.opts.MaxPaths, 1)
	if nsel < maxPaths && (r.opts.MultipathRelax || sameNeighborAS(&np, &bp)) {
		if c, _ := r.opts.compareEqualCost(&np, &bp, true); c == 0 {
			// In the multipath set, after the paths already there
			// (front's order: the selection, then the rest as it was).
			p := *nw
			copy(run[nsel+1:], run[nsel:n-1])
			run[nsel] = p
			e.nsel++
			r.markDirty(ei)
			return true
		}
	}
	r.changedUnselected(ei)
	return true
}

// pathOf is p as a Path; Unresolvable and IGPCost (steps 1 and 8) are
// its next hop's (nexthop.go).
func (r *LocRIB[K]) pathOf(p *pathRec) Path {
	unres, cost := r.resolution(p.set)
	return Path{
		Attrs:        r.sets[p.set].a,
		Source:       r.sources[p.src],
		SourceID:     SourceID(p.src),
		PathID:       p.pathID,
		Seq:          p.seq(),
		Stale:        p.stale(),
		Unresolvable: unres,
		IGPCost:      cost,
	}
}

// selectOnly makes the path at index i of entry ei's run the selection,
// alone (see compareEarly), and reports the change.
func (r *LocRIB[K]) selectOnly(ei uint32, i int) {
	e := r.entries.At(ei)
	run := r.recs.run(e.off, int(e.n))
	run[0], run[i] = run[i], run[0]
	e.nsel = 1
	if r.trackAll || !r.sameSelection(run[:1]) {
		r.markDirty(ei)
	}
}

// earlyOrder compares a path with set from src with e's best path at the
// steps before MED (compareEarly): negative when it loses there, so the
// selection stands; positive when it wins there, so it is the selection
// alone; 0 when they tie there, or e has no best path, so the decision
// process must run.
//
// The answer depends on the two sets and sources only, and consecutive
// Updates mostly ask the same question: an UPDATE's prefixes share a set,
// and their best paths mostly came in one UPDATE too. So the last answer
// is kept (earlyMemo), which spares reading the best's set slot, its
// attributes and its next hop, three cache misses on a large table.
func (r *LocRIB[K]) earlyOrder(e *entry[K], run []pathRec, set uint32, src SourceID) int {
	if e.nsel == 0 {
		return 0
	}
	best := &run[0]
	m := &r.early
	if m.valid && m.set == set && m.best == best.set && m.src == uint16(src) && m.bestSrc == best.src {
		return int(m.order)
	}
	unres, _ := r.resolution(set)
	bestUnres, _ := r.resolution(best.set)
	order := compareEarly(r.sets[set].a, r.sets[best.set].a, r.sources[src].Local, r.sources[best.src].Local, unres, bestUnres)
	*m = earlyMemo{set: set, best: best.set, src: uint16(src), bestSrc: best.src, order: int8(order), valid: true}
	return order
}

// earlyMemo is earlyOrder's last answer: order for a path with set from
// src against a best path with set best from bestSrc. What the answer
// reads can change only where forgetEarly is called: a set slot given
// back (its number may then name another set), a next hop resolved
// again, a source replaced or removed.
type earlyMemo struct {
	set, best    uint32
	src, bestSrc uint16
	order        int8
	valid        bool
}

// forgetEarly drops earlyOrder's memo (see earlyMemo).
func (r *LocRIB[K]) forgetEarly() { r.early.valid = false }

// changedUnselected notes a change of a path outside the selection: only
// consumers of every path (TrackAll) hear of it.
func (r *LocRIB[K]) changedUnselected(ei uint32) {
	if r.trackAll {
		r.markDirty(ei)
	}
}

// nextSeq counts one more arrival and returns its sequence. At maxSeq it
// stops counting: later paths all look as old as each other (step 9 then
// falls through to the router ID), which is better than a wrap making new
// paths look oldest. See seqBits for why it never gets there.
func (r *LocRIB[K]) nextSeq() uint64 {
	if r.seq < maxSeq {
		r.seq++
	}
	return r.seq
}

// Prefetch and PrefetchEntry start loading what an Update or Withdraw
// of key reads, without waiting for it. A million-prefix table does not
// fit any cache, so each Update would otherwise wait in turn for its
// index slot and, for a key already held, its entry (about 150 ns each on
// the machines here). A caller with a batch of keys calls Prefetch
// PrefetchDistance keys ahead of its Updates and PrefetchEntry half as
// far ahead: by then the slot has arrived, so the entry it names can be
// asked for.
func (r *LocRIB[K]) Prefetch(key K) { prefetch.Line(r.idx.homeSlot(key)) }

// PrefetchEntry: see Prefetch.
func (r *LocRIB[K]) PrefetchEntry(key K) {
	if ei, ok := r.idx.homeEntry(key); ok && ei < uint32(r.entries.Len()) {
		prefetch.Line(unsafe.Pointer(r.entries.At(ei)))
	}
}

// Prefetching reports whether the table is big enough for Prefetch and
// PrefetchEntry to pay: past about 200,000 prefixes (an index of 2 MiB
// and entries of 3 MiB and more) the cache no longer holds them. Below,
// the slot and entry mostly are in the cache already, and asking for
// them costs more than it saves: ten peers' overlapping tables of
// 100,000 prefixes took 6% less CPU without (BenchmarkPipelineOverlap).
func (r *LocRIB[K]) Prefetching() bool { return r.idx.slots() >= prefetchMinSlots }

const prefetchMinSlots = 1 << 19

// PrefetchDistance is how far ahead of its Updates a caller should
// Prefetch: far enough for the loads to arrive, near enough that they are
// still in the cache when used.
const PrefetchDistance = 16

// Withdraw removes the path (src, pathID) to key, reporting whether there
// was one.
func (r *LocRIB[K]) Withdraw(src SourceID, pathID uint32, key K) bool {
	_, ei, ok := r.locate(key)
	if !ok {
		return false
	}
	return r.removeIf(ei, func(p *pathRec) bool { return SourceID(p.src) == src && p.pathID == pathID }) > 0
}

// WithdrawSource removes every path from src (its session went down
// without graceful restart) and returns how many. It walks the whole
// table: a session loss is rare next to UPDATEs, and a per-source list
// would cost memory on every path.
func (r *LocRIB[K]) WithdrawSource(src SourceID) int {
	return r.removeAll(func(p *pathRec) bool { return SourceID(p.src) == src })
}

// MarkStale marks every path from src stale (RFC 4724 §4.2: the session
// went down and the peer can restart gracefully) and returns how many. A
// stale path stays a candidate, so no selection changes; an Update from
// the restarted session clears the mark, and SweepStale removes the paths
// still marked.
func (r *LocRIB[K]) MarkStale(src SourceID) int {
	n := 0
	for ei := range uint32(r.entries.Len()) {
		e := r.entries.At(ei)
		if e.cls&entryFree != 0 {
			continue
		}
		run := r.recs.run(e.off, int(e.n))
		for i := range run {
			if SourceID(run[i].src) == src {
				run[i].seqHi |= staleBit
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
	for ei := range uint32(r.entries.Len()) {
		e := r.entries.At(ei)
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		// The paths that go, then the ones that change set.
		removed += r.removeIf(ei, func(p *pathRec) bool {
			return SourceID(p.src) == src && p.stale() && to(r.sets[p.set].a) == nil
		})
		if e.cls&entryFree != 0 || e.n == 0 {
			continue // freed by removeIf: off links the free list now
		}
		run := r.recs.run(e.off, int(e.n))
		touched := false
		for i := range run {
			p := &run[i]
			if SourceID(p.src) != src || !p.stale() {
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
			r.reselect(ei)
		}
	}
	return kept, removed
}

// SweepStale removes the paths from src still marked stale (End-of-RIB
// received, or the restart timer expired) and returns how many.
func (r *LocRIB[K]) SweepStale(src SourceID) int {
	return r.removeAll(func(p *pathRec) bool { return SourceID(p.src) == src && p.stale() })
}

// Drain calls fn for each prefix changed since the last Drain, in the
// order they first changed, with its current best path and multipath set
// (best first, best == multipath[0]); best is nil and multipath empty when
// the prefix has no best path any more (withdrawn, or no candidate). The
// Paths are valid only during the call and fn must not call back into
// the table. Drain clears the marks.
func (r *LocRIB[K]) Drain(fn func(key K, best *Path, multipath []*Path)) {
	for _, ei := range r.dirty {
		e := r.entries.At(ei)
		e.cls &^= entryDirty
		if e.nsel == 0 {
			e.cls &^= entryShown
			fn(e.key, nil, nil)
			if e.n == 0 {
				r.freeEntry(ei)
			}
			continue
		}
		e.cls |= entryShown
		ps := r.paths(r.recs.run(e.off, int(e.nsel)))
		fn(e.key, ps[0], ps)
	}
	r.afterDrain()
}

func (r *LocRIB[K]) afterDrain() {
	if cap(r.dirty) > 1<<16 {
		r.dirty = nil // a full-table load's backlog is not kept for life
	} else {
		r.dirty = r.dirty[:0]
	}
}

// Walk calls fn for the prefixes that have paths, in slot order, starting
// at slot from (0 for the first call) and stopping after max of them; it
// returns the slot to continue from, and false when the table has been
// walked to its end. slot is the prefix's slot, as DrainAll reports it
// (the same contract holds: a walk counts as a report with paths). paths
// holds every path of the prefix, the nsel selected ones first (best
// first; nsel is 0 when no path is selected); like Drain's, they are
// valid only during the call, and fn must not call back into the table.
//
// A walk in several calls, with Updates and DrainAll between them, sees
// each prefix that stays in the table once, in the state it had when
// walked; prefixes added or changed meanwhile are reported by DrainAll
// (a new prefix may take a freed slot behind the walk), so a reader that
// walks and then follows DrainAll sees a consistent table (snapshot, then
// changes).
func (r *LocRIB[K]) Walk(from uint32, max int, fn func(key K, slot uint32, paths []*Path, nsel int)) (next uint32, more bool) {
	return r.walk(from, max, func(e *entry[K], slot uint32) {
		fn(e.key, slot, r.paths(r.recs.run(e.off, int(e.n))), int(e.nsel))
	})
}

// WalkKeys is Walk for a reader that needs only the prefixes and their
// slots (an update group pairing them with what it sent): no Paths are
// built.
func (r *LocRIB[K]) WalkKeys(from uint32, max int, fn func(key K, slot uint32)) (next uint32, more bool) {
	return r.walk(from, max, func(e *entry[K], slot uint32) { fn(e.key, slot) })
}

func (r *LocRIB[K]) walk(from uint32, max int, fn func(e *entry[K], slot uint32)) (next uint32, more bool) {
	i := from
	for n := 0; int(i) < r.entries.Len() && n < max; i++ {
		e := r.entries.At(i)
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		e.cls |= entryShown
		fn(e, i)
		n++
	}
	return i, int(i) < r.entries.Len()
}

// DrainAll is Drain reporting the paths of each changed prefix: paths
// holds the nsel selected ones first (best first), then, with TrackAll
// or when none is selected, the others in no particular order; nsel is 0
// when none is selected (no best path: every next hop unreachable, say)
// and paths is empty when the prefix has no path left. Like Drain's, the Paths are valid only during the call and
// fn must not call back into the table.
//
// slot is the prefix's entry number, so that a consumer can keep its
// per-prefix state in an array indexed by slot (an Adj-RIB-Out does)
// instead of a map keyed by prefix. The contract:
//
//   - A slot names one key from the first report of that key (by DrainAll
//     or Walk) until DrainAll reports the key with no paths: every report
//     of the key in between carries that slot, and no other key's does.
//   - A consumer that was given the key with paths at slot s, selected or
//     not, is always given a report for s with no paths (paths empty, nsel
//     0) before s names another key: only an Update after that report can
//     give s to a new key, which a later DrainAll or Walk then reports.
//   - Slots are dense and small: below the most prefixes the table held
//     at once, counting withdrawn ones not yet drained (freed slots are
//     reused before new ones are taken), so the consumer's array stays
//     about the table's size.
//
// An owner that drains with Drain instead gets no slots; there a report
// without a best path ends the slot's use in the same way.
func (r *LocRIB[K]) DrainAll(fn func(key K, slot uint32, paths []*Path, nsel int)) {
	r.DrainSome(len(r.dirty), fn)
}

// DrainSome is DrainAll for at most max prefixes, the ones that changed
// first; the others wait for the next call. It returns how many still
// wait. A consumer that turns each report into memory (a batch of
// changes) drains a table that a session's loss emptied all at once in
// chunks, instead of holding a change for every prefix of it at once.
func (r *LocRIB[K]) DrainSome(max int, fn func(key K, slot uint32, paths []*Path, nsel int)) (left int) {
	n := min(max, len(r.dirty))
	for _, ei := range r.dirty[:n] {
		e := r.entries.At(ei)
		e.cls &^= entryDirty
		if e.n == 0 {
			fn(e.key, ei, nil, 0)
			r.freeEntry(ei)
			continue
		}
		e.cls |= entryShown
		// The paths outside the selection only for consumers of every
		// path (TrackAll): the others read the selection alone, and ten
		// peers' paths to a prefix cost ten Paths to build.
		np := int(e.n)
		if !r.trackAll && e.nsel > 0 {
			np = int(e.nsel)
		}
		fn(e.key, ei, r.paths(r.recs.run(e.off, np)), int(e.nsel))
	}
	if n < len(r.dirty) {
		// The rest move to the front (a copy of what is left, once per
		// chunk: cheap next to reporting them).
		r.dirty = r.dirty[:copy(r.dirty, r.dirty[n:])]
		return len(r.dirty)
	}
	r.afterDrain()
	return 0
}

// Seq is the arrival number the table gave its latest path (Path.Seq of
// a path that arrived later is higher).
func (r *LocRIB[K]) Seq() uint64 { return r.seq }

// Pending is the number of prefixes waiting for Drain.
func (r *LocRIB[K]) Pending() int { return len(r.dirty) }

// Lookup returns copies of the paths to key, the selected ones first (the
// best, then the rest of the multipath set), and how many are selected.
func (r *LocRIB[K]) Lookup(key K) (paths []Path, selected int) {
	_, ei, ok := r.idx.find(key, &r.entries)
	if !ok {
		return nil, 0
	}
	e := r.entries.At(ei)
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
		r.pbuf[i] = r.pathOf(&run[i])
		r.pptr[i] = &r.pbuf[i]
	}
	return r.pptr
}

// savePrev remembers the selection of e before a change.
func (r *LocRIB[K]) savePrev(e *entry[K]) {
	r.prev = r.prev[:0]
	for _, p := range r.recs.run(e.off, int(e.nsel)) {
		r.prev = append(r.prev, selKey{p.set, p.pathID, p.src})
	}
}

// reselect runs the decision process for entry ei, moves the selected
// paths to the front of its run, and marks it dirty when the selection
// differs from r.prev.
func (r *LocRIB[K]) reselect(ei uint32) {
	e := r.entries.At(ei)
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
	if (selKey{sel[0].set, sel[0].pathID, sel[0].src}) != r.prev[0] {
		return false
	}
outer:
	for _, p := range sel[1:] {
		k := selKey{p.set, p.pathID, p.src}
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
	e := r.entries.At(ei)
	if e.cls&entryDirty == 0 {
		e.cls |= entryDirty
		r.dirty = append(r.dirty, ei)
	}
}

// removeIf removes the paths of entry ei that match, releases their
// attribute sets, reselects, and returns how many went.
func (r *LocRIB[K]) removeIf(ei uint32, match func(*pathRec) bool) int {
	e := r.entries.At(ei)
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
			r.npaths--
			if r.srcPaths[run[i].src]--; r.srcPaths[run[i].src] == 0 {
				r.activeSrcs--
			}
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
		// The selection did not change: it was empty before too. A
		// consumer that was given the prefix's unselected paths (DrainAll
		// with nsel 0, or Walk) still holds state at its slot and must
		// hear that they went before the slot is reused; otherwise
		// nothing is owed and the entry goes now.
		if e.cls&entryShown != 0 {
			r.markDirty(ei)
		} else {
			r.freeEntry(ei)
		}
	}
	return removed
}

func (r *LocRIB[K]) removeAll(match func(*pathRec) bool) int {
	n := 0
	for ei := range uint32(r.entries.Len()) {
		if r.entries.At(ei).cls&entryFree != 0 {
			continue
		}
		n += r.removeIf(ei, match)
	}
	return n
}

// newEntry takes a free entry, the one freed last, or a new one, with an
// empty run of the class the table's prefixes need (expectedClass; 0, a
// run of one path, for one peer's table). Reusing the last freed keeps
// entry numbers dense.
func (r *LocRIB[K]) newEntry(key K) uint32 {
	cls := r.expectedClass(0)
	off := r.recs.alloc(cls)
	e := entry[K]{key: key, off: off, cls: cls}
	if r.freeEnt != 0 {
		ei := r.freeEnt - 1
		fe := r.entries.At(ei)
		r.freeEnt = fe.off
		*fe = e
		return ei
	}
	return r.entries.Append(e)
}

// freeEntry drops an entry without paths from the index and recycles it
// and its run. The free entries form a list through their off fields,
// so recycling costs no memory besides the entries themselves.
func (r *LocRIB[K]) freeEntry(ei uint32) {
	e := r.entries.At(ei)
	if slot, _, ok := r.idx.find(e.key, &r.entries); ok {
		r.idx.remove(slot, &r.entries)
	}
	r.recs.release(e.off, e.cls&clsMask)
	*e = entry[K]{off: r.freeEnt, cls: entryFree}
	r.freeEnt = ei + 1
}

// appendRec adds p to entry ei, moving its run to a bigger class when full.
func (r *LocRIB[K]) appendRec(ei uint32, p pathRec) {
	e := r.entries.At(ei)
	cls := e.cls & clsMask
	if int(e.n) == runSize[cls] {
		if r.recs.wasteful(r.recs.freeRecs, 2, 3) {
			r.compact(false) // moves e's run: read e.off and cls after
			cls = e.cls & clsMask
		}
		// Growing one class at a time would copy a run at 2, 3, 4, 6
		// and 8 paths, and leave each of those runs behind, freshly
		// touched memory. A run is made instead for as many paths as
		// the table's prefixes have on average, when that is more
		// (expectedClass), here and in newEntry: when ten peers send
		// their tables at once, a prefix gets a run of 12 at its first
		// path and never moves. The average does not run ahead of the
		// table: while peers' tables arrive one after another it stays
		// below the next path count, and a run grows one class at a
		// time; a prefix that two peers send, among prefixes one peer
		// sends, gets a run of 2. A guess that turns out wrong is
		// bounded by jumpPaths, and compaction shrinks runs to fit.
		next := r.expectedClass(cls + 1)
		if e.n >= 2 {
			// A third path: every source holding paths may well send
			// this prefix too (peers' tables arriving at once, but not
			// in step). A prefix two peers send never gets here.
			next = classFor(min(r.activeSrcs, jumpPaths), next)
		}
		off := r.recs.alloc(next)
		copy(r.recs.run(off, int(e.n)), r.recs.run(e.off, int(e.n)))
		r.recs.release(e.off, cls)
		e.off = off
		e.cls = e.cls&^clsMask | next
	}
	r.recs.run(e.off, int(e.n)+1)[e.n] = p
	r.npaths++
	if r.srcPaths[p.src]++; r.srcPaths[p.src] == 1 {
		r.activeSrcs++
	}
	if e.n == 0 {
		r.live++
	}
	e.n++
}

// expectedClass is the class of run a prefix can expect to need, and at
// least the class given: one for as many paths as the table's prefixes
// have on average (rounded), at most as many as there are sources holding
// paths and at most jumpPaths (see appendRec).
func (r *LocRIB[K]) expectedClass(least uint8) uint8 {
	if r.activeSrcs <= 1 || r.live == 0 {
		return least // one peer's table: a path per prefix
	}
	return classFor(min((r.npaths+r.live/2)/r.live, r.activeSrcs, jumpPaths), least)
}

// classFor is the smallest class, from least up, whose runs hold n paths.
func classFor(n int, least uint8) uint8 {
	cls := least
	for runSize[cls] < n && cls+1 < numClasses {
		cls++
	}
	return cls
}

// compact copies every live run into a new slab without the free runs.
// A table filled one source after another grows every prefix's run
// through each class in turn, and the runs left behind are of a class
// nobody needs any more: without compaction ten full tables would keep
// about 24 dead records per prefix. appendRec calls it when more than
// two thirds of the slab are free, so its cost is amortised over the
// growth that freed the space (and a table loading one peer after
// another copies its paths about once), keeping each run's class, which
// the load is filling; Tidy and Compact, with shrink set, make each run
// the smallest that holds its paths.
func (r *LocRIB[K]) compact(shrink bool) {
	var recs slab
	for ei := range uint32(r.entries.Len()) {
		e := r.entries.At(ei)
		if e.cls&entryFree != 0 {
			continue
		}
		// Shrunk to fit: a run sized for paths that never came (or
		// that went) gives its room back too.
		cls := e.cls & clsMask
		if shrink {
			cls = classFor(int(e.n), 0)
		}
		off := recs.alloc(cls)
		copy(recs.run(off, int(e.n)), r.recs.run(e.off, int(e.n)))
		e.off = off
		e.cls = e.cls&^clsMask | cls
	}
	r.recs.unmap()
	r.recs = recs
}

// Tidy compacts the slab, each run shrunk to fit, when more than a
// third of it holds no path (UnusedRecords), and reports whether it did.
// It is for a quiet moment, when the table's owner has little to do:
// the runs a load left behind are given back once it is over, not while
// it goes on (when a compaction would copy the table again for the
// space that the rest of the load fills anyway). During a load the slab
// is compacted only when two thirds of it are free runs (appendRec).
// After a compaction the unused room is what fitting runs leave, at
// most a quarter (9 paths in a run of 12), so Tidy does not compact a
// tidy table again.
func (r *LocRIB[K]) Tidy() bool {
	if !r.recs.wasteful(r.UnusedRecords(), 1, 3) {
		return false
	}
	r.compact(true)
	return true
}

// UnusedRecords is the room for path records that the table holds
// without a path in it: runs left behind when prefixes' runs grew or
// went, the ends of pages too short for a run, and the room left in runs
// made for more paths than they hold. Tidy and Compact give it back.
func (r *LocRIB[K]) UnusedRecords() int { return int(r.recs.end) - r.npaths }

// Compact releases the slab space the table does not use (after a
// session's paths were withdrawn, say), each run shrunk to fit; the
// table does it by itself while it grows, and at quiet moments (Tidy).
func (r *LocRIB[K]) Compact() { r.compact(true) }

// Close gives back everything the table holds, now: its Table reference
// on each attribute set its paths use, its next-hop watches, and the
// mappings of its index, entries and path records. Nothing is reported
// to the change feed; the table must not be used afterwards (a second
// Close does nothing). It is for VRF deletion and tests, which want the
// memory back at once. Dropping a LocRIB without Close is fine too as
// far as memory goes: the mappings are unmapped by cleanups once the
// table is unreachable, at a later collection; but the attribute set
// references and watches are given back only by Close or by withdrawing
// the paths.
func (r *LocRIB[K]) Close() {
	for i := range r.sets {
		if s := &r.sets[i]; s.a != nil {
			r.untrackNextHop(s.nh)
			r.attrs.Release(s.a)
		}
	}
	r.idx.free()
	r.entries.Free()
	r.recs.unmap()
	*r = LocRIB[K]{}
}

// attrSlot is one attribute set in use by the table.
type attrSlot struct {
	a    *Attrs
	refs uint32 // paths in this table using a
	nh   uint32 // slot of a's next hop in LocRIB.nhs; 0: untracked
}

// acquire returns a's index, counting one more path using it; the first
// use takes a reference on the speaker's Table. A set is mostly taken by
// one table, whose setIndex then finds it through its hint.
func (r *LocRIB[K]) acquire(a *Attrs) uint32 {
	i, ok := r.lastIdx, a == r.lastSet
	holds := func(i uint32) bool { return int(i) < len(r.sets) && r.sets[i].a == a }
	if !ok {
		i, ok = r.setIndex.Find(&a.ribHint, hashtab.Mix(uint64(a.id)), holds)
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
		r.setIndex.Add(&a.ribHint, hashtab.Mix(uint64(a.id)), i, holds)
	}
	r.sets[i].refs++
	if a != r.lastSet {
		// Only on a change: the pointer store has a write barrier
		// while the collector runs, and it is mostly the same set.
		r.lastSet, r.lastIdx = a, i
	}
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
	r.forgetEarly()
	r.setIndex.Remove(&s.a.ribHint, hashtab.Mix(uint64(s.a.id)), i)
	r.attrs.Release(s.a)
	if r.lastSet == s.a {
		r.lastSet = nil
	}
	*s = attrSlot{}
	r.freeSets = append(r.freeSets, i)
}
