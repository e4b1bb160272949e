package rib

import (
	"math/bits"
	"unsafe"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/internal/prefetch"
)

// index maps a key to its entry number in a LocRIB: open addressing with
// linear probing over a power-of-two array of slots, the keys themselves
// living in the entries. One probe sequence serves lookup-or-insert, and
// deletion shifts the following cluster back (no tombstones), so a table
// that churns does not degrade. At most 3/4 full.
//
// A slot is 4 bytes while entry numbers fit in 24 bits (16.7 million
// prefixes, far past a full table): 8 bits of the key's hash (the tag),
// then the entry number + 1 (0 is an empty slot). The tag rejects 255 of
// 256 slots that hold another key without touching their entry, which is
// a cache miss in a million-prefix table. That is 5.3 to 10.7 bytes per
// prefix: a full table's index is half of what 8-byte slots cost, and
// about a sixth of a Go map[uint64]uint32. The slot does not say where
// its key's probe sequence started, so growing rehashes the keys, read
// from the entries in order (sequential reads), and deleting reads the
// entries of the cluster it shifts back.
//
// A table that outgrows 24-bit entry numbers switches once to 8-byte
// slots: 32 bits of hash, whose top bits give the home slot without
// reading the entry, and a 32-bit entry number.
//
// Keys hash through Key's hash method: a multiplicative (Fibonacci) hash
// whose top bits pick the slot, so prefixes that differ only in low bits
// still spread; the narrow tag takes bits 24 to 31, which the home slot
// never uses (it takes the top bits, and an index has at most 2^32 slots).
//
// The arrays are mapped outside the Go heap (internal/offheap), so the
// collector neither scans them nor counts them towards its GOGC headroom.
// Growing maps the doubled array, rehashes into it and unmaps the old one
// at once: the two are held together only during the rehash.
type index[K Key] struct {
	wide  bool
	b32   *offheap.Block[uint32]
	s32   []uint32 // b32.Slice(), kept for the probe loop
	b64   *offheap.Block[uint64]
	s64   []uint64
	shift uint8 // 64 - log2(number of slots); at least 32
	count int
}

const (
	narrowTag  = 0xff000000
	narrowMask = 1<<24 - 1
	wideTag    = ^uint64(1<<32 - 1)
)

// narrowLimit is the most entries a narrow index holds before it widens;
// tests lower it to exercise the switch.
var narrowLimit uint32 = narrowMask - 1

// minIndexLog sizes a new index at 1024 slots: 4 KiB, one memory page,
// the least a mapping takes anyway.
const minIndexLog = 10

func (x *index[K]) init() {
	x.b32 = offheap.Make[uint32](1 << minIndexLog)
	x.s32 = x.b32.Slice()
	x.shift = 64 - minIndexLog
}

// free unmaps the slots; the index is unusable afterwards.
func (x *index[K]) free() {
	x.b32.Free()
	x.b64.Free()
	*x = index[K]{}
}

// slots is the number of slots.
func (x *index[K]) slots() int {
	if x.wide {
		return len(x.s64)
	}
	return len(x.s32)
}

// bytes is the memory mapped for the slots.
func (x *index[K]) bytes() int64 {
	if x.wide {
		return int64(len(x.s64)) * 8
	}
	return int64(len(x.s32)) * 4
}

// find returns the slot holding key, or the empty slot where it would go.
func (x *index[K]) find(key K, entries *offheap.Paged[entry[K]]) (slot int, ei uint32, found bool) {
	h := key.hash()
	i := int(h >> x.shift)
	if x.wide {
		mask := len(x.s64) - 1
		tag := h & wideTag
		for {
			s := x.s64[i]
			if s == 0 {
				return i, 0, false
			}
			if s&wideTag == tag && entries.At(uint32(s)-1).key == key {
				return i, uint32(s) - 1, true
			}
			i = (i + 1) & mask
		}
	}
	mask := len(x.s32) - 1
	tag := uint32(h) & narrowTag
	for {
		s := x.s32[i]
		if s == 0 {
			return i, 0, false
		}
		if s&narrowTag == tag && entries.At(s&narrowMask-1).key == key {
			return i, s&narrowMask - 1, true
		}
		i = (i + 1) & mask
	}
}

// insertAt fills the empty slot that find returned with entry ei, whose
// key is already in entries, growing (or widening) afterwards.
func (x *index[K]) insertAt(slot int, ei uint32, key K, entries *offheap.Paged[entry[K]]) {
	x.count++
	if !x.wide && ei >= narrowLimit {
		x.widen(entries) // rebuilds from entries, ei included
	} else if h := key.hash(); x.wide {
		x.s64[slot] = h&wideTag | uint64(ei+1)
	} else {
		x.s32[slot] = uint32(h)&narrowTag | (ei + 1)
	}
	if x.count*4 > x.slots()*3 {
		x.rebuild(2*x.slots(), entries)
	}
}

// widen switches to 8-byte slots.
func (x *index[K]) widen(entries *offheap.Paged[entry[K]]) {
	x.wide = true
	x.rebuild(len(x.s32), entries)
}

// rebuild maps an array of n slots in the current width and inserts
// every entry in use, reading entries in order. Every entry that is not
// free is in the index (newEntry is followed by insertAt at once, and
// freeEntry removes the key first), including the one insertAt just put
// in its slot.
func (x *index[K]) rebuild(n int, entries *offheap.Paged[entry[K]]) {
	old32, old64 := x.b32, x.b64
	x.b32, x.s32, x.b64, x.s64 = nil, nil, nil, nil
	// The entries spread over every page of the new array, which its
	// probes read before they write: mapped in at once (Populate).
	if x.wide {
		x.b64 = offheap.Make[uint64](n)
		x.b64.Populate()
		x.s64 = x.b64.Slice()
	} else {
		x.b32 = offheap.Make[uint32](n)
		x.b32.Populate()
		x.s32 = x.b32.Slice()
	}
	x.shift = uint8(64 - bits.Len(uint(n-1)))
	mask := n - 1
	total := uint32(entries.Len())
	for ei := range total {
		// The slots are written in no order: ask for the home slot of
		// a key a little ahead (see LocRIB.Prefetch).
		if ahead := ei + rebuildAhead; ahead < total {
			prefetch.Line(x.homeSlot(entries.At(ahead).key))
		}
		e := entries.At(ei)
		if e.cls&entryFree != 0 {
			continue
		}
		h := e.key.hash()
		i := int(h >> x.shift)
		if x.wide {
			for x.s64[i] != 0 {
				i = (i + 1) & mask
			}
			x.s64[i] = h&wideTag | uint64(ei+1)
		} else {
			for x.s32[i] != 0 {
				i = (i + 1) & mask
			}
			x.s32[i] = uint32(h)&narrowTag | (ei + 1)
		}
	}
	old32.Free()
	old64.Free()
}

// rebuildAhead is how many entries ahead rebuild prefetches.
const rebuildAhead = 16

// home is the first slot the key in slot j probes.
func (x *index[K]) home(j int, entries *offheap.Paged[entry[K]]) int {
	if x.wide {
		return int(x.s64[j] >> x.shift)
	}
	return int(entries.At(x.s32[j]&narrowMask-1).key.hash() >> x.shift)
}

// remove empties slot i (found by find) and moves back the keys after it
// whose probe sequence passed through it.
func (x *index[K]) remove(i int, entries *offheap.Paged[entry[K]]) {
	mask := x.slots() - 1
	x.clear(i)
	x.count--
	for j := (i + 1) & mask; !x.empty(j); j = (j + 1) & mask {
		k := x.home(j, entries)
		// The key at j may move to i unless its home lies cyclically
		// in (i, j].
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			x.move(i, j)
			i = j
		}
	}
}

func (x *index[K]) empty(j int) bool {
	if x.wide {
		return x.s64[j] == 0
	}
	return x.s32[j] == 0
}

func (x *index[K]) clear(j int) {
	if x.wide {
		x.s64[j] = 0
	} else {
		x.s32[j] = 0
	}
}

// move moves slot j's content to the empty slot i.
func (x *index[K]) move(i, j int) {
	if x.wide {
		x.s64[i], x.s64[j] = x.s64[j], 0
	} else {
		x.s32[i], x.s32[j] = x.s32[j], 0
	}
}

// homeSlot is the address of key's home slot (for prefetching).
func (x *index[K]) homeSlot(key K) unsafe.Pointer {
	i := int(key.hash() >> x.shift)
	if x.wide {
		return unsafe.Pointer(&x.s64[i])
	}
	return unsafe.Pointer(&x.s32[i])
}

// homeEntry is the entry number in key's home slot, which is most often
// key's own: false when the slot is empty.
func (x *index[K]) homeEntry(key K) (uint32, bool) {
	i := int(key.hash() >> x.shift)
	if x.wide {
		s := x.s64[i]
		return uint32(s) - 1, s != 0
	}
	s := x.s32[i]
	return s&narrowMask - 1, s != 0
}
