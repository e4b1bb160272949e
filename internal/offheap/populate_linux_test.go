package offheap

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestPopulateResident checks that Populate leaves every page of a block
// resident (mincore), where a fresh mapping has none.
func TestPopulateResident(t *testing.T) {
	b := Make[uint64](64 << 10) // 512 KiB
	defer b.Free()
	resident := func() int {
		vec := make([]byte, (len(b.mem)+pageSize-1)/pageSize)
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b.mem[0])), uintptr(len(b.mem)), uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			t.Fatal(errno)
		}
		n := 0
		for _, v := range vec {
			n += int(v & 1)
		}
		return n
	}
	if n := resident(); n != 0 {
		t.Logf("%d pages resident before Populate", n) // not expected, not wrong
	}
	b.Populate()
	if n, want := resident(), len(b.mem)/pageSize; n != want {
		t.Errorf("%d of %d pages resident after Populate", n, want)
	}
}
