// Package hashtab is an open-addressing hash table from 64-bit hashes to
// uint32 values, for the interning tables of the hot path: attribute sets
// by their encoding, out sets by their octets, a Loc-RIB's and an update
// group's records of the sets whose hint another table owns (rib.Hint).
//
// Why not a Go map: those tables are keyed by strings or pointers whose
// values live elsewhere (the set itself holds its key), and a map keyed
// by a string hashes the whole key again each time it grows, keeps a
// second copy of the key header, and is scanned by the collector. Here
// a slot is the key's hash and the value, 16 bytes with no pointers:
// growing moves slots by their stored hash, the collector never looks
// inside, and a lookup that misses (a new set) reads a short run of
// consecutive slots (a few at the most 3/4 load), without touching a key.
// Building the first full table spent about a tenth of its CPU growing
// and probing Go maps of this kind.
//
// The caller keeps the keys: Find hands each value whose stored hash
// equals the one asked for to an equality test that compares the key
// behind the value. With a 64-bit hash that is almost always exactly
// one call, on the value that is the answer.
package hashtab

import "math/bits"

// Table maps 64-bit hashes to uint32 values. Several values may share a
// hash (keys that collide); the caller tells them apart in Find. The
// zero Table is empty and ready to use. A Table is not safe for
// concurrent use.
type Table struct {
	slots []slot // len a power of two, or 0
	n     int    // slots in use
	shift uint   // 64 - log2(len(slots))
}

// slot is one entry; h == 0 marks a free slot (stored hashes are never
// 0, see stored).
type slot struct {
	h uint64
	v uint32
}

// minSlots is the size of a table's first allocation.
const minSlots = 16

// Len is the number of values held.
func (t *Table) Len() int { return t.n }

// Reset empties the table and gives its memory back.
func (t *Table) Reset() { *t = Table{} }

// stored is the form of h kept in a slot: 0 marks a free slot, so a
// hash of 0 is kept as 1 (a value filed under either is found by both,
// and the caller's equality test tells them apart).
func stored(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// home is the first slot probed for stored hash h: Fibonacci hashing of
// the top bits, so that hashes weak in their low bits still spread.
func (t *Table) home(h uint64) uint64 {
	return (h * 0x9e3779b97f4a7c15) >> t.shift
}

// Find returns the first value filed under h for which eq is true.
func (t *Table) Find(h uint64, eq func(v uint32) bool) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	h = stored(h)
	mask := uint64(len(t.slots) - 1)
	for i := t.home(h); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.h == 0 {
			return 0, false
		}
		if s.h == h && eq(s.v) {
			return s.v, true
		}
	}
}

// Insert files v under h. It does not look for an equal key first: a
// caller that may hold one already calls Find before.
func (t *Table) Insert(h uint64, v uint32) {
	if t.n+1 > len(t.slots)/4*3 {
		t.resize(max(2*len(t.slots), minSlots))
	}
	t.put(stored(h), v)
	t.n++
}

// put writes a slot without counting it or growing.
func (t *Table) put(h uint64, v uint32) {
	mask := uint64(len(t.slots) - 1)
	i := t.home(h)
	for t.slots[i].h != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slot{h: h, v: v}
}

// Delete removes the value v filed under h and reports whether it was
// there. The slots after it move back (backward-shift deletion), so
// lookups never wade through tombstones.
func (t *Table) Delete(h uint64, v uint32) bool {
	if t.n == 0 {
		return false
	}
	h = stored(h)
	mask := uint64(len(t.slots) - 1)
	i := t.home(h)
	for {
		s := t.slots[i]
		if s.h == 0 {
			return false
		}
		if s.h == h && s.v == v {
			break
		}
		i = (i + 1) & mask
	}
	// Slot i is free now: move back each later slot of the cluster whose
	// home is not in (i, j], so that it stays reachable from its home.
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := t.slots[j]
		if s.h == 0 {
			break
		}
		k := t.home(s.h)
		if (j-k)&mask >= (j-i)&mask {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = slot{}
	t.n--
	return true
}

// resize moves every slot to a table of size slots (a power of two).
func (t *Table) resize(size int) {
	old := t.slots
	t.slots = make([]slot, size)
	if size >= 1<<8 {
		// An array of a page or more can come fresh from the
		// kernel, never written: probing it would map its pages to
		// the zero page, and the slots' writes fault them all again,
		// each time flushing the other CPUs' TLBs. Writing it first
		// faults each page once.
		clearSlots(t.slots)
	}
	t.shift = uint(64 - bits.Len(uint(size-1)))
	for _, s := range old {
		if s.h != 0 {
			t.put(s.h, s.v)
		}
	}
	// A table never shrinks; Reset gives its memory back.
}

// clearSlots writes zeros over s, which make already zeroed: kept out of
// line so that the compiler does not see it as redundant.
//
//go:noinline
func clearSlots(s []slot) { clear(s) }

// Mix is a bijective mixing of x (the finalizer of MurmurHash3, whose
// steps are each invertible): distinct keys that fit in 64 bits get
// distinct hashes, the hash of a table filed by a small key (an
// identifier, a pointer). Find still needs its equality test, since a
// stored hash of 0 is kept as 1 (stored).
func Mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
