package rib

import "github.com/godwit-bgp/godwit/internal/offheap"

// index maps a key to its entry number in a LocRIB: open addressing with
// linear probing over a power-of-two array of uint64 slots, the keys
// themselves living in the entries. A slot holds the top 32 bits of the
// key's hash (the tag) and the entry number + 1 (0 is an empty slot). The
// tag rejects almost every non-matching slot without touching the entry,
// a cache miss in a million-prefix table, and gives the slot's home
// position for growing and deleting without rehashing. At most 3/4 full,
// it costs 10.7 to 21.3 bytes per prefix, against about 30 for a Go
// map[uint64]uint32, and one probe sequence serves lookup-or-insert.
// Deletion shifts the following cluster back (no tombstones), so a table
// that churns does not degrade.
//
// Keys hash through Key's hash method: a multiplicative (Fibonacci) hash
// whose top bits pick the slot, so prefixes that differ only in low bits
// still spread.
//
// The array is mapped outside the Go heap (internal/offheap), so the
// collector neither scans it nor counts it towards its GOGC headroom.
// Growing maps the doubled array, rehashes into it and unmaps the old one
// at once: the two are held together only during the rehash, and the old
// one goes back to the kernel then, not at the next collection.

type index[K Key] struct {
	block *offheap.Block[uint64]
	slots []uint64 // block.Slice(), kept for the probe loop
	shift uint8    // 64 - log2(len(slots)); at least 32, so the tag holds the home
	count int
}

// minIndexLog sizes a new index at 512 slots: 4 KiB, one memory page,
// the least a mapping takes anyway.
const minIndexLog = 9

func (x *index[K]) init() {
	x.block = offheap.Make[uint64](1 << minIndexLog)
	x.slots = x.block.Slice()
	x.shift = 64 - minIndexLog
}

// free unmaps the slots; the index is unusable afterwards.
func (x *index[K]) free() {
	x.block.Free()
	*x = index[K]{}
}

// home is the first slot a slot value (tag<<32 | entry+1) probes.
func (x *index[K]) home(s uint64) int { return int(s >> x.shift) }

// find returns the slot holding key, or the empty slot where it would go.
func (x *index[K]) find(key K, entries *offheap.Paged[entry[K]]) (slot int, ei uint32, found bool) {
	mask := len(x.slots) - 1
	tag := key.hash() &^ (1<<32 - 1)
	i := x.home(tag)
	for {
		s := x.slots[i]
		if s == 0 {
			return i, 0, false
		}
		if s&^(1<<32-1) == tag && entries.At(uint32(s)-1).key == key {
			return i, uint32(s) - 1, true
		}
		i = (i + 1) & mask
	}
}

// insertAt fills the empty slot that find returned, growing afterwards.
func (x *index[K]) insertAt(slot int, ei uint32, key K) {
	x.slots[slot] = key.hash()&^(1<<32-1) | uint64(ei+1)
	x.count++
	if x.count*4 > len(x.slots)*3 {
		x.grow()
	}
}

func (x *index[K]) grow() {
	oldBlock, old := x.block, x.slots
	x.block = offheap.Make[uint64](2 * len(old))
	x.slots = x.block.Slice()
	x.shift--
	mask := len(x.slots) - 1
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := x.home(s)
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
	oldBlock.Free()
}

// remove empties slot i (found by find) and moves back the entries after
// it whose probe sequence passed through it.
func (x *index[K]) remove(i int) {
	mask := len(x.slots) - 1
	x.slots[i] = 0
	x.count--
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		k := x.home(x.slots[j])
		// The element at j may move to i unless its home lies
		// cyclically in (i, j].
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			x.slots[i], x.slots[j] = x.slots[j], 0
			i = j
		}
	}
}

// homeSlot is the address of key's home slot (for prefetching).
func (x *index[K]) homeSlot(key K) *uint64 {
	return &x.slots[x.home(key.hash()&^(1<<32-1))]
}
