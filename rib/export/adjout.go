package export

import "github.com/godwit-bgp/godwit/rib"

// adjOut is one family's Adj-RIB-Out of a group: the paths sent per
// prefix. Without ADD-PATH a prefix has one path, kept in an open
// addressing table of fixed-size slots (16 bytes for an IPv4 prefix, no
// pointers, so the garbage collector never scans it); with ADD-PATH a
// prefix has a slice of paths in a map.
type adjOut[K rib.Key] struct {
	addPath bool
	one     outTable[K]
	multi   map[K][]outPath
}

func newAdjOut[K rib.Key](addPath bool) *adjOut[K] {
	t := &adjOut[K]{addPath: addPath}
	if addPath {
		t.multi = map[K][]outPath{}
	} else {
		t.one.init()
	}
	return t
}

// get returns the paths sent for k (buf holds them when there is one).
func (t *adjOut[K]) get(k K, buf *[1]outPath) []outPath {
	if t.addPath {
		return t.multi[k]
	}
	if p, ok := t.one.get(k); ok {
		buf[0] = p
		return buf[:]
	}
	return nil
}

// set stores ps (copied) as the paths sent for k; none removes k.
func (t *adjOut[K]) set(k K, ps []outPath) {
	if !t.addPath {
		if len(ps) == 0 {
			t.one.del(k)
		} else {
			t.one.put(k, ps[0])
		}
		return
	}
	if len(ps) == 0 {
		delete(t.multi, k)
		return
	}
	if old := t.multi[k]; len(old) == len(ps) {
		copy(old, ps)
		return
	}
	t.multi[k] = append([]outPath(nil), ps...)
}

func (t *adjOut[K]) each(fn func(k K, ps []outPath)) {
	if t.addPath {
		for k, ps := range t.multi {
			fn(k, ps)
		}
		return
	}
	var buf [1]outPath
	for i := range t.one.slots {
		s := &t.one.slots[i]
		if s.set1 != 0 {
			buf[0] = outPath{set: s.set1 - 1, id: s.id}
			fn(s.key, buf[:])
		}
	}
}

// outTable maps a key to one outPath: linear probing over a power-of-two
// slice, deletion by shifting the cluster back (no tombstones), at most
// 3/4 full.
type outTable[K rib.Key] struct {
	slots []outSlot[K]
	shift uint8
	count int
}

type outSlot[K rib.Key] struct {
	key  K
	set1 uint32 // out set + 1; 0 marks an empty slot
	id   uint32
}

func (t *outTable[K]) init() {
	t.slots = make([]outSlot[K], 16)
	t.shift = 64 - 4
}

func (t *outTable[K]) home(k K) int { return int(rib.Hash(k) >> t.shift) }

func (t *outTable[K]) find(k K) (int, bool) {
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.set1 == 0 {
			return i, false
		}
		if s.key == k {
			return i, true
		}
	}
}

func (t *outTable[K]) get(k K) (outPath, bool) {
	i, ok := t.find(k)
	if !ok {
		return outPath{}, false
	}
	s := &t.slots[i]
	return outPath{set: s.set1 - 1, id: s.id}, true
}

func (t *outTable[K]) put(k K, p outPath) {
	i, ok := t.find(k)
	t.slots[i] = outSlot[K]{key: k, set1: p.set + 1, id: p.id}
	if ok {
		return
	}
	t.count++
	if t.count*4 > len(t.slots)*3 {
		t.grow()
	}
}

func (t *outTable[K]) grow() {
	old := t.slots
	t.slots = make([]outSlot[K], 2*len(old))
	t.shift--
	mask := len(t.slots) - 1
	for _, s := range old {
		if s.set1 == 0 {
			continue
		}
		i := t.home(s.key)
		for t.slots[i].set1 != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

func (t *outTable[K]) del(k K) {
	i, ok := t.find(k)
	if !ok {
		return
	}
	mask := len(t.slots) - 1
	t.slots[i] = outSlot[K]{}
	t.count--
	for j := (i + 1) & mask; t.slots[j].set1 != 0; j = (j + 1) & mask {
		h := t.home(t.slots[j].key)
		// The slot at j may move to i unless its home lies cyclically
		// in (i, j].
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			t.slots[i], t.slots[j] = t.slots[j], outSlot[K]{}
			i = j
		}
	}
}
