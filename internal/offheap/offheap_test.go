package offheap

import (
	"runtime"
	"testing"
)

type rec struct {
	a uint64
	b [3]uint16
}

func TestMakeZeroedAndFree(t *testing.T) {
	before := Mapped()
	b := Make[rec](1000)
	s := b.Slice()
	if len(s) != 1000 {
		t.Fatalf("len %d", len(s))
	}
	for i := range s {
		if s[i] != (rec{}) {
			t.Fatalf("element %d not zero", i)
		}
		s[i].a = uint64(i)
	}
	if s[999].a != 999 {
		t.Fatal("write lost")
	}
	if Mapped()-before < 1000*16 {
		t.Fatalf("mapped grew by %d, want at least %d", Mapped()-before, 1000*16)
	}
	b.Free()
	b.Free() // twice is harmless
	if Mapped() != before {
		t.Fatalf("mapped %d after Free, want %d", Mapped(), before)
	}
}

func TestPointersRefused(t *testing.T) {
	for name, f := range map[string]func(){
		"pointer": func() { Make[*int](1) },
		"slice":   func() { Make[[]byte](1) },
		"string":  func() { Make[struct{ s string }](1) },
		"nested":  func() { Make[[2]struct{ m map[int]int }](1) },
		"uintptr": func() { Make[uintptr](1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Make did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestCleanupUnmapsUnreachable(t *testing.T) {
	before := Mapped()
	func() {
		b := Make[uint64](1 << 16)
		b.Slice()[0] = 1
	}()
	for i := 0; i < 50 && Mapped() != before; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if Mapped() != before {
		t.Fatalf("an unreachable block stayed mapped: %d bytes", Mapped()-before)
	}
}

func TestPaged(t *testing.T) {
	var p Paged[uint32]
	for i := range 3*PageLen + 5 {
		if got := p.Append(uint32(i) + 1); got != uint32(i) {
			t.Fatalf("Append returned %d, want %d", got, i)
		}
	}
	if p.Len() != 3*PageLen+5 {
		t.Fatalf("len %d", p.Len())
	}
	e := p.At(7)
	p.Grow(5 * PageLen) // growing never moves elements
	if e != p.At(7) || *e != 8 {
		t.Fatal("an element moved or changed when the array grew")
	}
	if *p.At(4*PageLen + 3) != 0 {
		t.Fatal("grown element not zero")
	}
	p.Append(1)
	p.Free()
	if p.Len() != 0 {
		t.Fatal("Free left elements")
	}
}

// TestPopulate maps a block in at once: it stays zeroed and writable,
// and Populate of a nil or freed block does nothing.
func TestPopulate(t *testing.T) {
	b := Make[uint64](3 << 10) // several pages
	b.Populate()
	s := b.Slice()
	for i := range s {
		if s[i] != 0 {
			t.Fatalf("element %d is %d after Populate", i, s[i])
		}
		s[i] = uint64(i)
	}
	for i := range s {
		if s[i] != uint64(i) {
			t.Fatalf("element %d lost its value", i)
		}
	}
	b.Free()
	b.Populate()
	var nb *Block[uint64]
	nb.Populate()
}
