// Package offheap keeps large pointer-free arrays outside the Go heap, in
// anonymous private mappings.
//
// Why: a BGP speaker's tables are a few big arrays of small fixed-size
// records (index slots, entries, path records, Adj-RIB-Out slots) that
// live as long as the daemon. On the Go heap they cost twice: the
// collector's pacing lets the heap grow by GOGC percent of the live heap
// before it runs, so every byte of table brings up to two more of
// headroom in RSS at the default GOGC of 200; and every cycle walks
// their spans. Outside the heap a table costs exactly its pages, the
// collector's headroom applies only to the small heap of attribute sets
// and transient batches, and a table that grows gives its old array back
// to the kernel at once instead of at the next cycle.
//
// Rules, which the types here enforce where they can:
//
//   - T must hold no pointers (no pointer, slice, string, map, interface,
//     channel or func anywhere in it): the collector does not scan these
//     pages, so a pointer kept there would not keep its object alive.
//     Make panics on such a T.
//   - Memory is zeroed when handed out.
//   - A Block owns its mapping: Free unmaps it at once, and a Block that
//     becomes unreachable without Free is unmapped by a cleanup. Slices of
//     a Block's memory must not outlive the Block: keep them only beside
//     the Block that owns them (as Paged does).
package offheap

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Block is one mapping holding a []T.
type Block[T any] struct {
	s       []T
	mem     []byte
	cleanup runtime.Cleanup
}

// Make maps a zeroed array of n elements of T (n > 0). It panics when T
// holds pointers, and when the kernel refuses the mapping (out of memory,
// which the Go heap would also have died of).
func Make[T any](n int) *Block[T] {
	if n <= 0 {
		panic(fmt.Sprintf("offheap: length %d", n))
	}
	var zero T
	checkPointerFree(reflect.TypeOf(zero))
	size := int(unsafe.Sizeof(zero)) * n
	if size == 0 {
		size = 1
	}
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("offheap: mapping %d bytes: %v", size, err))
	}
	b := &Block[T]{mem: mem, s: unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n)}
	b.cleanup = runtime.AddCleanup(b, unmap, mem)
	mapped.Add(int64(len(mem)))
	return b
}

// Slice is the block's array. It is valid until Free.
func (b *Block[T]) Slice() []T { return b.s }

// Free unmaps the block now; its slices must not be used afterwards.
// Free of a nil Block does nothing.
func (b *Block[T]) Free() {
	if b == nil || b.mem == nil {
		return
	}
	b.cleanup.Stop()
	unmap(b.mem)
	b.mem, b.s = nil, nil
}

// Populate has the kernel back the whole block with memory now, in one
// call (MADV_POPULATE_WRITE on Linux 5.14 and later), for a block the
// caller is about to fill all over. Faulting the pages in one by one
// costs an exception each; and a page first read, then written (probing
// a fresh hash table, say) faults twice, the second time flushing the
// other CPUs' TLBs. Where the kernel lacks the call, a zero is written
// to each page, which at least faults each page once: so Populate is for
// a block nothing was written to yet. It does nothing to a nil or freed
// block.
func (b *Block[T]) Populate() {
	if b == nil || b.mem == nil || populate(b.mem) {
		return
	}
	for i := 0; i < len(b.mem); i += pageSize {
		b.mem[i] = 0
	}
}

var pageSize = unix.Getpagesize()

// MakePage returns page i, of n elements, of an array kept in pages (a
// Paged, the Loc-RIB's slab). The first page is backed as it is written,
// so that a small array (a VRF's table, say) stays small; every later one
// is backed in one call (Populate), since an array past its first page is
// filling a large table, and a fault per 4 KiB cost 3 to 4 µs on the VMs
// here (the slab's faults were a tenth of the CPU of loading ten peers'
// tables).
func MakePage[T any](n, i int) *Block[T] {
	b := Make[T](n)
	if i > 0 {
		b.Populate()
	}
	return b
}

func unmap(mem []byte) {
	if err := unix.Munmap(mem); err != nil {
		panic(fmt.Sprintf("offheap: unmapping: %v", err))
	}
	mapped.Add(-int64(len(mem)))
}

// Mapped is the number of bytes mapped by this package and not yet
// unmapped (for metrics and benchmarks: it is memory the Go runtime's
// statistics do not count).
func Mapped() int64 { return mapped.Load() }

var mapped atomic.Int64

var checked sync.Map // reflect.Type → struct{}: types already found pointer-free

func checkPointerFree(t reflect.Type) {
	if _, ok := checked.Load(t); ok {
		return
	}
	if hasPointers(t) {
		panic(fmt.Sprintf("offheap: %v holds pointers; the collector would not see them", t))
	}
	checked.Store(t, struct{}{})
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	default: // pointers, uintptr (may hide one), slices, strings, maps, ...
		return true
	}
}
