package cluster

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
)

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// alignUp is the first address at or after a that starts a block of
// length bits; the zero Addr when there is none (end of the address
// space).
func alignUp(a netip.Addr, bits int) netip.Addr {
	if !a.IsValid() {
		return a
	}
	m := netip.PrefixFrom(a, bits).Masked()
	if m.Addr() == a {
		return a
	}
	return lastAddr(m).Next()
}

// span is an inclusive range of addresses of one family.
type span struct{ first, last netip.Addr }

// used is a set of addresses in use, as sorted, disjoint spans.
type used []span

// usedBy returns the spans of the prefixes of one family (IPv4 when
// is4), merged.
func usedBy(is4 bool, ps []netip.Prefix) used {
	var u used
	for _, p := range ps {
		if p.IsValid() && p.Addr().Is4() == is4 {
			u = append(u, span{p.Masked().Addr(), lastAddr(p)})
		}
	}
	slices.SortFunc(u, func(a, b span) int { return a.first.Compare(b.first) })
	out := u[:0]
	for _, s := range u {
		if n := len(out); n > 0 && (out[n-1].last.Compare(s.first) >= 0 || out[n-1].last.Next() == s.first) {
			if s.last.Compare(out[n-1].last) > 0 {
				out[n-1].last = s.last
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// firstFree returns the lowest block of length bits in pool that overlaps
// nothing in u. It costs O(log n) per span of u that lies in the pool.
func (u used) firstFree(pool netip.Prefix, bits int) (netip.Prefix, bool) {
	a := pool.Masked().Addr()
	for a.IsValid() && pool.Contains(a) {
		block := netip.PrefixFrom(a, bits)
		i := sort.Search(len(u), func(i int) bool { return u[i].last.Compare(a) >= 0 })
		if i == len(u) || u[i].first.Compare(lastAddr(block)) > 0 {
			return block, true
		}
		a = alignUp(u[i].last.Next(), bits)
	}
	return netip.Prefix{}, false
}

// blockCount says how many blocks of length bits a prefix holds.
func blockCount(p netip.Prefix, bits int) string {
	if n := bits - p.Bits(); n > 32 {
		return fmt.Sprintf("2^%d", n)
	}
	return fmt.Sprint(uint64(1) << (bits - p.Bits()))
}
