package hashtab

import (
	"math/rand/v2"
	"testing"
)

// TestModel runs random inserts, deletes and lookups against a Go map,
// with hashes drawn from a small space so that keys collide, clusters
// wrap around the end of the slots, and deletions shift long runs.
func TestModel(t *testing.T) {
	for _, space := range []uint64{1, 7, 64, 1 << 40} {
		r := rand.New(rand.NewPCG(space, 2))
		var tab Table
		model := map[uint32]uint64{} // value (the key here) -> hash
		hash := func(v uint32) uint64 {
			if space == 1 {
				return 0 // everything under the hash kept as 1
			}
			return Mix(uint64(v)) % space
		}
		find := func(v uint32) bool {
			got, ok := tab.Find(hash(v), func(x uint32) bool { return x == v })
			return ok && got == v
		}
		for op := 0; op < 20000; op++ {
			v := uint32(r.IntN(300))
			switch r.IntN(3) {
			case 0:
				if _, ok := model[v]; !ok {
					tab.Insert(hash(v), v)
					model[v] = hash(v)
				}
			case 1:
				_, want := model[v]
				if got := tab.Delete(hash(v), v); got != want {
					t.Fatalf("space %d op %d: Delete(%d) = %v, want %v", space, op, v, got, want)
				}
				delete(model, v)
			case 2:
				_, want := model[v]
				if got := find(v); got != want {
					t.Fatalf("space %d op %d: Find(%d) = %v, want %v", space, op, v, got, want)
				}
			}
			if tab.Len() != len(model) {
				t.Fatalf("space %d op %d: Len %d, want %d", space, op, tab.Len(), len(model))
			}
		}
		for v := range model {
			if !find(v) {
				t.Fatalf("space %d: %d lost", space, v)
			}
		}
		for v := uint32(300); v < 400; v++ {
			if find(v) {
				t.Fatalf("space %d: %d found, never inserted", space, v)
			}
		}
	}
}

// TestCollisions checks that values sharing a hash are all found, each
// by its own equality test, and that deleting one keeps the others.
func TestCollisions(t *testing.T) {
	var tab Table
	for v := uint32(0); v < 100; v++ {
		tab.Insert(42, v)
	}
	if !tab.Delete(42, 50) || tab.Delete(42, 50) {
		t.Fatal("Delete(42, 50) should succeed once")
	}
	for v := uint32(0); v < 100; v++ {
		_, ok := tab.Find(42, func(x uint32) bool { return x == v })
		if ok != (v != 50) {
			t.Fatalf("Find %d: %v", v, ok)
		}
	}
	if _, ok := tab.Find(43, func(uint32) bool { return true }); ok {
		t.Fatal("a hash never inserted found")
	}
}

// TestLoadAndReset checks that the table grows before it is 3/4 full and
// that Reset empties it and gives its slots back.
func TestLoadAndReset(t *testing.T) {
	var tab Table
	for v := uint32(0); v < 1000; v++ {
		tab.Insert(Mix(uint64(v)), v)
		if tab.Len()*4 > len(tab.slots)*3 {
			t.Fatalf("%d values in %d slots", tab.Len(), len(tab.slots))
		}
	}
	tab.Reset()
	if tab.Len() != 0 || tab.slots != nil {
		t.Fatal("Reset left values")
	}
	if _, ok := tab.Find(Mix(1), func(uint32) bool { return true }); ok {
		t.Fatal("found after Reset")
	}
	if tab.Delete(Mix(1), 1) {
		t.Fatal("deleted after Reset")
	}
}

func TestMixBijective(t *testing.T) {
	seen := map[uint64]uint64{}
	for x := uint64(0); x < 1<<16; x++ {
		h := Mix(x)
		if y, dup := seen[h]; dup {
			t.Fatalf("Mix(%d) == Mix(%d)", x, y)
		}
		seen[h] = x
	}
}

// BenchmarkInsertFind fills a table with n values and looks each up.
func BenchmarkInsertFind(b *testing.B) {
	const n = 1 << 16
	for b.Loop() {
		var tab Table
		for v := uint32(0); v < n; v++ {
			tab.Insert(Mix(uint64(v)), v)
		}
		for v := uint32(0); v < n; v++ {
			if _, ok := tab.Find(Mix(uint64(v)), func(x uint32) bool { return x == v }); !ok {
				b.Fatal("lost")
			}
		}
	}
}

// BenchmarkGoMap is BenchmarkInsertFind with a Go map, for comparison.
func BenchmarkGoMap(b *testing.B) {
	const n = 1 << 16
	for b.Loop() {
		m := map[uint64]uint32{}
		for v := uint32(0); v < n; v++ {
			m[Mix(uint64(v))] = v
		}
		for v := uint32(0); v < n; v++ {
			if _, ok := m[Mix(uint64(v))]; !ok {
				b.Fatal("lost")
			}
		}
	}
}
