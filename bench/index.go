package bench

// prefixIndex maps a prefix to its position in a table: open addressing
// with linear probing over one flat []uint64, each slot holding the
// prefix's 38-bit key and its 26-bit position, at most half full. A
// lookup is one multiply and, for a large table, usually one cache miss
// (a Go map of a million entries costs about twice that); the monitors
// do one per prefix received.
type prefixIndex struct {
	slots []uint64
	shift uint // 64 - log2(len(slots))
}

const (
	indexPosBits = 26
	indexPosMask = 1<<indexPosBits - 1
	// maxIndexed is the largest table the index holds.
	maxIndexed = indexPosMask
)

// indexKey is the prefix's address and length+1 (never 0, so that a zero
// slot is empty).
func indexKey(addr uint32, bits int) uint64 { return uint64(addr)<<6 | uint64(bits+1) }

func newPrefixIndex(ps []Prefix) *prefixIndex {
	size, log2 := 16, uint(4)
	for size < 2*len(ps) {
		size, log2 = size*2, log2+1
	}
	x := &prefixIndex{slots: make([]uint64, size), shift: 64 - log2}
	for i, p := range ps {
		x.insert(indexKey(p.Addr, int(p.Bits)), i)
	}
	return x
}

func (x *prefixIndex) home(key uint64) uint64 { return (key * 0x9e3779b97f4a7c15) >> x.shift }

func (x *prefixIndex) insert(key uint64, pos int) {
	mask := uint64(len(x.slots) - 1)
	for h := x.home(key); ; h = (h + 1) & mask {
		s := x.slots[h]
		if s == 0 || s>>indexPosBits == key {
			x.slots[h] = key<<indexPosBits | uint64(pos)
			return
		}
	}
}

// lookup returns the position of the prefix, or -1.
func (x *prefixIndex) lookup(key uint64) int {
	mask := uint64(len(x.slots) - 1)
	for h := x.home(key); ; h = (h + 1) & mask {
		s := x.slots[h]
		if s == 0 {
			return -1
		}
		if s>>indexPosBits == key {
			return int(s & indexPosMask)
		}
	}
}
