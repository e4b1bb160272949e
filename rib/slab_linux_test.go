package rib

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestSlabPopulatesLaterPages checks that a slab backs each page after
// its first in whole when it adds it (a table that outgrew a page is
// loading many paths), and leaves its first page lazily backed.
func TestSlabPopulatesLaterPages(t *testing.T) {
	var s slab
	defer s.unmap()
	resident := func(page []pathRec) (n, all int) {
		size := unix.Getpagesize()
		bytes := len(page) * int(unsafe.Sizeof(pathRec{}))
		vec := make([]byte, (bytes+size-1)/size)
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&page[0])), uintptr(bytes), uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			t.Fatal(errno)
		}
		for _, v := range vec {
			n += int(v & 1)
		}
		return n, len(vec)
	}
	off := s.alloc(0)
	s.run(off, 1)[0] = pathRec{set: 1}
	if n, all := resident(s.pages[0]); n == all {
		t.Errorf("the first page is wholly resident (%d of %d) after one record", n, all)
	}
	for len(s.pages) < 2 {
		s.alloc(numClasses - 1) // runs of 65536 records: a page each
	}
	if n, all := resident(s.pages[1]); n != all {
		t.Errorf("%d of %d pages of the second slab page resident", n, all)
	}
}
