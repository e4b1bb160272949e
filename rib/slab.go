package rib

import "github.com/godwit-bgp/godwit/internal/offheap"

// slab holds the path records of a LocRIB in fixed pages of 64 Ki records
// (1 MiB): growing the table adds a page and never copies the records
// already there (a single growing slice did, and its copies were a fifth
// of the import time of ten full tables). A run never straddles two
// pages; the tail of a page too short for the next run is counted as
// free space, so compaction reclaims it with the rest.
//
// Each page is its own mapping outside the Go heap (internal/offheap):
// the records hold no pointers, so the collector has nothing to find in
// them, and off the heap they cost their pages only, without the GOGC
// headroom the heap keeps in proportion to its live size. compact unmaps
// the old slab's pages as soon as the live runs are copied out.
type slab struct {
	blocks   []*offheap.Block[pathRec]
	pages    [][]pathRec          // blocks[i].Slice(), kept for run
	end      uint32               // offsets handed out: the next run starts here
	free     [numClasses][]uint32 // free runs by class
	freeRecs int                  // records in free runs and page tails
}

const (
	pageBits = 16
	pageSize = 1 << pageBits
)

// run returns the n records starting at off.
func (s *slab) run(off uint32, n int) []pathRec {
	i := off & (pageSize - 1)
	return s.pages[off>>pageBits][i : i+uint32(n)]
}

func (s *slab) alloc(cls uint8) uint32 {
	size := runSize[cls]
	if fl := s.free[cls]; len(fl) > 0 {
		off := fl[len(fl)-1]
		s.free[cls] = fl[:len(fl)-1]
		s.freeRecs -= size
		return off
	}
	if limit := uint32(len(s.pages)) << pageBits; s.end+uint32(size) > limit {
		s.freeRecs += int(limit - s.end)
		s.end = limit
		b := offheap.MakePage[pathRec](pageSize, len(s.pages))
		s.blocks = append(s.blocks, b)
		s.pages = append(s.pages, b.Slice())
	}
	off := s.end
	s.end += uint32(size)
	return off
}

func (s *slab) release(off uint32, cls uint8) {
	s.free[cls] = append(s.free[cls], off)
	s.freeRecs += runSize[cls]
}

// wasteful reports whether unused records (of the records handed out)
// are more than num/den of the slab, and the slab is big enough for
// compaction to matter.
func (s *slab) wasteful(unused, num, den int) bool {
	return len(s.pages) > 1 && unused*den > int(s.end)*num
}

// unmap gives every page back to the kernel now; the slab is empty
// afterwards, and runs taken from it must not be used.
func (s *slab) unmap() {
	for _, b := range s.blocks {
		b.Free()
	}
	*s = slab{}
}
