package policy

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/config"
)

// prefixSet is a compiled prefixSet condition. Small sets are scanned; a
// large one is indexed by entry prefix, and a lookup masks the route's
// address to each entry length that occurs (at most 33 or 129 lookups,
// usually a handful), so its cost does not grow with the number of
// entries.
type prefixSet struct {
	// Small sets: the IPv4 entries as integers (a mask and compare each),
	// the IPv6 ones as prefixes.
	entries4 []prefixEntry4
	entries  []prefixEntry
	index    map[netip.Prefix][]lengths
	lens4    []int // the entry lengths of the IPv4 entries, ascending
	lens6    []int
}

// prefixEntry is one PrefixMatch: the prefix (masked) and the range of
// route prefix lengths it matches.
type prefixEntry struct {
	p netip.Prefix
	lengths
}

// prefixEntry4 is an IPv4 prefixEntry as integers.
type prefixEntry4 struct {
	net, mask uint32
	lengths
}

type lengths struct{ lo, hi int }

func (l lengths) has(bits int) bool { return bits >= l.lo && bits <= l.hi }

// scanMax is the largest set that is scanned rather than indexed.
const scanMax = 16

func compilePrefixSet(ms []config.PrefixMatch) (*prefixSet, error) {
	ps := &prefixSet{}
	entries := make([]prefixEntry, 0, len(ms))
	for i, m := range ms {
		if !m.Prefix.IsValid() {
			return nil, fmt.Errorf("entry %d: no prefix", i)
		}
		lo, hi := m.Lengths()
		// Config keeps the entry prefix free of host bits and of IPv4-mapped
		// IPv6 addresses; do not rely on it for what the index needs.
		p := netip.PrefixFrom(m.Prefix.Addr().Unmap(), m.Prefix.Bits()).Masked()
		if !p.IsValid() {
			return nil, fmt.Errorf("entry %d: bad prefix %s", i, m.Prefix)
		}
		// A route shorter than the entry is never inside it (config keeps ge
		// at least the prefix length).
		lo = max(lo, p.Bits())
		entries = append(entries, prefixEntry{p, lengths{lo, hi}})
	}
	if len(entries) <= scanMax {
		for _, e := range entries {
			if !e.p.Addr().Is4() {
				ps.entries = append(ps.entries, e)
				continue
			}
			var mask uint32
			if e.p.Bits() > 0 {
				mask = ^uint32(0) << (32 - e.p.Bits())
			}
			ps.entries4 = append(ps.entries4, prefixEntry4{addr4(e.p.Addr()), mask, e.lengths})
		}
		return ps, nil
	}
	ps.index = make(map[netip.Prefix][]lengths, len(entries))
	for _, e := range entries {
		ps.index[e.p] = append(ps.index[e.p], e.lengths)
		if e.p.Addr().Is4() {
			ps.lens4 = append(ps.lens4, e.p.Bits())
		} else {
			ps.lens6 = append(ps.lens6, e.p.Bits())
		}
	}
	slices.Sort(ps.lens4)
	ps.lens4 = slices.Compact(ps.lens4)
	slices.Sort(ps.lens6)
	ps.lens6 = slices.Compact(ps.lens6)
	return ps, nil
}

// match reports whether q is matched by any entry, as
// config.PrefixMatch.Matches defines it: same address family, q's length
// in the entry's range, q's address inside the entry's prefix.
func (ps *prefixSet) match(q netip.Prefix) bool {
	if !q.IsValid() {
		return false
	}
	a, bits := q.Addr(), q.Bits()
	if ps.index == nil {
		if a.Is4() {
			x := addr4(a)
			for i := range ps.entries4 {
				e := &ps.entries4[i]
				if x&e.mask == e.net && e.has(bits) {
					return true
				}
			}
			return false
		}
		for i := range ps.entries {
			e := &ps.entries[i]
			if e.has(bits) && e.p.Contains(a) {
				return true
			}
		}
		return false
	}
	lens := ps.lens6
	if a.Is4() {
		lens = ps.lens4
	}
	for _, l := range lens {
		if l > bits {
			break // entries longer than q do not contain it
		}
		k, err := a.Prefix(l)
		if err != nil {
			continue
		}
		for _, r := range ps.index[k] {
			if r.has(bits) {
				return true
			}
		}
	}
	return false
}

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}
