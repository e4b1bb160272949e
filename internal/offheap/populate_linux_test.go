package offheap

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of mem that are resident (mincore).
func residentPages(t *testing.T, mem []byte) int {
	t.Helper()
	vec := make([]byte, (len(mem)+pageSize-1)/pageSize)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestPopulateResident checks that Populate leaves every page of a block
// resident (mincore), where a fresh mapping has none.
func TestPopulateResident(t *testing.T) {
	b := Make[uint64](64 << 10) // 512 KiB
	defer b.Free()
	resident := func() int { return residentPages(t, b.mem) }
	if n := resident(); n != 0 {
		t.Logf("%d pages resident before Populate", n) // not expected, not wrong
	}
	b.Populate()
	if n, want := resident(), len(b.mem)/pageSize; n != want {
		t.Errorf("%d of %d pages resident after Populate", n, want)
	}
}

// TestPagedPopulatesLaterPages checks that a Paged array backs its pages
// after the first in whole when it adds them, and leaves its first page
// to be backed as it is written (a small array stays small).
func TestPagedPopulatesLaterPages(t *testing.T) {
	var p Paged[uint64]
	defer p.Free()
	p.Grow(10)
	*p.At(0) = 1
	if n, all := residentPages(t, p.blocks[0].mem), len(p.blocks[0].mem)/pageSize; n == all {
		t.Errorf("the first page is wholly resident (%d of %d pages) after one write", n, all)
	}
	p.Grow(PageLen + 1)
	if n, want := residentPages(t, p.blocks[1].mem), len(p.blocks[1].mem)/pageSize; n != want {
		t.Errorf("%d of %d pages of the second page resident", n, want)
	}
}
