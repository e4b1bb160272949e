package offheap

// Paged is a growable array of T in fixed pages of PageLen elements, each
// page its own Block: growing adds a page and never copies or moves the
// elements already there, so the memory of a table that grows is never
// held twice, and a pointer to an element stays valid until Free.
// The zero Paged is empty and ready to use.
type Paged[T any] struct {
	blocks []*Block[T]
	pages  [][]T // blocks[i].Slice(), kept for indexing without a call
	n      int
}

// PageBits sets the page length: 1<<PageBits elements (1 MiB for 16-byte
// records).
const (
	PageBits = 16
	PageLen  = 1 << PageBits
)

// Len is the number of elements.
func (p *Paged[T]) Len() int { return p.n }

// At returns element i (< Len).
func (p *Paged[T]) At(i uint32) *T { return &p.pages[i>>PageBits][i&(PageLen-1)] }

// Append adds v and returns its index.
func (p *Paged[T]) Append(v T) uint32 {
	i := p.n
	p.Grow(i + 1)
	*p.At(uint32(i)) = v
	return uint32(i)
}

// Grow makes Len at least n; the new elements are zero.
func (p *Paged[T]) Grow(n int) {
	for len(p.pages)*PageLen < n {
		b := MakePage[T](PageLen, len(p.pages))
		p.blocks = append(p.blocks, b)
		p.pages = append(p.pages, b.Slice())
	}
	if n > p.n {
		p.n = n
	}
}

// Free unmaps every page; the Paged is empty afterwards.
func (p *Paged[T]) Free() {
	for _, b := range p.blocks {
		b.Free()
	}
	*p = Paged[T]{}
}

// Bytes is the memory mapped for the array.
func (p *Paged[T]) Bytes() int64 {
	var t int64
	for _, b := range p.blocks {
		t += int64(len(b.mem))
	}
	return t
}
