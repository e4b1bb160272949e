package prefetch

import (
	"testing"
	"unsafe"
)

// TestLine checks that prefetching, also of nil, is harmless.
func TestLine(t *testing.T) {
	x := make([]uint64, 1024)
	for i := range x {
		Line(unsafe.Pointer(&x[i]))
	}
	Line(nil)
	Line(unsafe.Pointer(&x[len(x)-1])) // the last line
}

var sink uint64

// BenchmarkRandom reads a 64 MiB array at random, with and without
// prefetching eight reads ahead: the difference is what a lookup loop
// over a table that does not fit the cache can gain.
func BenchmarkRandom(b *testing.B) {
	const n = 8 << 20
	data := make([]uint64, n)
	idx := make([]uint32, 1<<20)
	x := uint64(88172645463325252)
	for i := range idx {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		idx[i] = uint32(x % n)
	}
	for _, ahead := range []int{0, 8} {
		b.Run(map[int]string{0: "plain", 8: "ahead8"}[ahead], func(b *testing.B) {
			var s uint64
			for i := 0; b.Loop(); i++ {
				j := i & (len(idx) - 1)
				if ahead > 0 {
					Line(unsafe.Pointer(&data[idx[(j+ahead)&(len(idx)-1)]]))
				}
				v := data[idx[j]]
				s += v
				// Some work per item, and a dependency on the loaded
				// value, as a lookup has.
				for k := 0; k < 20; k++ {
					s = s*31 + v
				}
			}
			sink = s
		})
	}
}
