package offheap

import "golang.org/x/sys/unix"

// populate maps mem in for writing (MADV_POPULATE_WRITE), reporting
// whether the kernel did.
func populate(mem []byte) bool {
	return unix.Madvise(mem, unix.MADV_POPULATE_WRITE) == nil
}
