package bench

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// Prefix is an IPv4 prefix in eight octets: the address as a number (first
// octet highest) and the length. A million of them are 8 MB without a
// pointer for the garbage collector to follow, where netip.Prefix would be
// 32 MB of values that each hold one.
type Prefix struct {
	Addr uint32
	Bits uint8
}

// PrefixFrom converts an IPv4 netip.Prefix, masking host bits.
func PrefixFrom(p netip.Prefix) Prefix {
	p = p.Masked()
	a := p.Addr().As4()
	return Prefix{Addr: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), Bits: uint8(p.Bits())}
}

// Netip returns the prefix as a netip.Prefix.
func (p Prefix) Netip() netip.Prefix {
	a := p.Addr
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(p.Bits))
}

func (p Prefix) String() string { return p.Netip().String() }

// key packs the prefix into one integer.
func (p Prefix) key() uint64 { return indexKey(p.Addr, int(p.Bits)) }

func mask(bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// Set is one attribute set: the prefixes Table.Prefixes[Start:End] share
// it. Each injector announces them with its own AS path (Table.Attrs), so
// that a set is one attribute set per injector.
type Set struct {
	Start, End  int32
	Origin      attr.OriginCode
	HasMED      bool
	MED         uint32
	Communities []uint32
	// PathLen is the length of the AS path a generated set is announced
	// with, the injector's own AS included (2..7); in a table for several
	// injectors it is the best path's length (at most 6), and the others
	// are longer.
	PathLen uint8
	// Loaded marks a set read from an MRT dump: Path is then the AS path
	// behind the injector's AS. A generated set's AS numbers are drawn
	// per injector instead (Table.Attrs).
	Loaded bool
	Path   []attr.Segment
	// Extra holds the other attributes of a set loaded from an MRT dump
	// that an eBGP speaker passes on (AGGREGATOR, ATOMIC_AGGREGATE, LARGE_COMMUNITY).
	Extra attr.List
}

// Table is a routing table to inject: prefixes grouped by attribute set.
// It is immutable once built and may be shared by every injector and
// monitor of a run.
type Table struct {
	// Seed drew the table (and, for MRT tables, the choice of best paths
	// between injectors).
	Seed     uint64
	Source   string // "generated" or the MRT file
	Prefixes []Prefix
	Sets     []Set

	indexOnce sync.Once
	index     *prefixIndex
}

// lengthWeights is the share, in thousandths, of each prefix length other
// than /24 in a generated table (/24 takes the 600 left): roughly the
// shape of today's IPv4 table, where /22 and /23 are common, /16 shows a
// bump and /8 to /15 are rare.
var lengthWeights = [...]struct {
	bits   int
	weight int
}{
	{8, 1}, {9, 1}, {10, 1}, {11, 1}, {12, 2}, {13, 3}, {14, 4}, {15, 6},
	{16, 16}, {17, 8}, {18, 12}, {19, 25}, {20, 40}, {21, 45}, {22, 120}, {23, 115},
}

// drawBits picks a prefix length: 60% /24, the rest by lengthWeights.
func drawBits(r *rand.Rand) int {
	x := r.IntN(1000)
	for _, w := range lengthWeights {
		if x < w.weight {
			return w.bits
		}
		x -= w.weight
	}
	return 24
}

// usable reports whether a prefix may go into a benchmark table: unicast
// space only (not 0/8, 127/8, 224/4 and up), and nothing in or covering
// 10/8, which holds the benchmark's own session and next-hop addresses (a
// route there would let a daemon resolve next hops through BGP itself).
func usable(p Prefix) bool {
	if p.Bits < 8 {
		return false
	}
	switch first := p.Addr >> 24; {
	case first == 0, first == 10, first == 127, first >= 224:
		return false
	}
	return true
}

// Generate draws a table of n distinct IPv4 prefixes deterministically from
// seed, as DESIGN.md's benchmark scenarios describe it: about 60% /24 and
// the rest spread over /8 to /23, one attribute set per about 30 prefixes
// (1 to 59 per set), AS paths of 2 to 7 hops, MED on 30% of the sets and
// one to four communities on 40%, origin IGP on 90%.
func Generate(n int, seed uint64) *Table {
	r := rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))
	t := &Table{Seed: seed, Source: "generated", Prefixes: make([]Prefix, 0, n)}
	seen := make(map[uint64]struct{}, n)
	for len(t.Prefixes) < n {
		bits := drawBits(r)
		for try := 0; ; try++ {
			// Short lengths have little room: after a run of collisions
			// take the next longer length rather than loop.
			if try > 0 && try%16 == 0 && bits < 24 {
				bits++
			}
			first := uint32(1 + r.IntN(223))
			p := Prefix{Addr: (first<<24 | r.Uint32()&0xffffff) & mask(bits), Bits: uint8(bits)}
			if !usable(p) {
				continue
			}
			if _, dup := seen[p.key()]; dup {
				continue
			}
			seen[p.key()] = struct{}{}
			t.Prefixes = append(t.Prefixes, p)
			break
		}
	}
	for start := 0; start < n; {
		end := min(n, start+1+r.IntN(59))
		s := Set{Start: int32(start), End: int32(end), PathLen: uint8(2 + r.IntN(6))}
		if r.IntN(10) == 0 {
			s.Origin = attr.OriginIncomplete
		}
		if r.IntN(10) < 3 {
			s.HasMED, s.MED = true, r.Uint32N(1000)
		}
		if r.IntN(10) < 4 {
			k := 1 + r.IntN(4)
			for range k {
				s.Communities = append(s.Communities, drawASN2(r)<<16|r.Uint32N(1000))
			}
		}
		t.Sets = append(t.Sets, s)
		start = end
	}
	return t
}

// drawASN2 draws a public 2-octet AS number (not AS_TRANS).
func drawASN2(r *rand.Rand) uint32 {
	for {
		a := 1 + r.Uint32N(64495)
		if a != attr.ASTrans {
			return a
		}
	}
}

// drawASN draws an AS number for a generated path: 80% public 2-octet, 20%
// 4-octet (131072..399999). Never a private one, so never the benchmark's
// own AS numbers.
func drawASN(r *rand.Rand) uint32 {
	if r.IntN(5) == 0 {
		return 131072 + r.Uint32N(268928)
	}
	return drawASN2(r)
}

// mix is SplitMix64 over its inputs: independent, deterministic streams
// per (seed, set, injector) without keeping a generator per set.
func mix(xs ...uint64) uint64 {
	var h uint64 = 0x9e3779b97f4a7c15
	for _, x := range xs {
		h ^= x + 0x9e3779b97f4a7c15 + h<<6 + h>>2
		h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
		h = (h ^ h>>27) * 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// Winner is the injector (0..k-1) whose path for set g is strictly the
// shortest when k injectors announce the table: every daemon's best path
// (local preference equal, then AS path length) is then the same one, and
// the monitor knows which path it must end up holding.
func (t *Table) Winner(g, k int) int {
	if k <= 1 {
		return 0
	}
	return int(mix(t.Seed, uint64(g), 0xb1) % uint64(k))
}

// Attrs returns the attribute set injector j of k announces set g with: AS
// path [as, ...] (one AS longer, or more, than the winner's for the
// others), NEXT_HOP nextHop, and the set's ORIGIN, MED and communities.
func (t *Table) Attrs(g, j, k int, as uint32, nextHop netip.Addr) attr.List {
	s := &t.Sets[g]
	win := t.Winner(g, k)
	var segs []attr.Segment
	if s.Loaded {
		// A real path: the winner prepends its AS once, the others twice.
		lead := []uint32{as}
		if j != win {
			lead = append(lead, as)
		}
		if len(s.Path) > 0 && s.Path[0].Type == iana.SegmentASSequence {
			// One sequence, as a speaker would send it.
			merged := append(lead, s.Path[0].ASNs...)
			segs = append([]attr.Segment{{Type: iana.SegmentASSequence, ASNs: merged}}, s.Path[1:]...)
		} else {
			segs = append([]attr.Segment{{Type: iana.SegmentASSequence, ASNs: lead}}, s.Path...)
		}
	} else {
		n := int(s.PathLen)
		if k > 1 {
			n = min(n, 6)
			if j != win {
				n += 1 + int(mix(t.Seed, uint64(g), uint64(j), 0x1e)%2)
				n = min(n, 7)
			}
		}
		r := rand.New(rand.NewPCG(mix(t.Seed, uint64(g), uint64(j)), 0xa5))
		asns := make([]uint32, n)
		asns[0] = as
		for i := 1; i < n; i++ {
			asns[i] = drawASN(r)
		}
		segs = []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}
	}
	l := attr.List{
		&attr.Origin{Value: s.Origin},
		&attr.ASPath{Segments: segs},
		&attr.NextHop{Addr: nextHop},
	}
	if s.HasMED {
		l = append(l, &attr.MED{Value: s.MED})
	}
	if len(s.Communities) > 0 {
		l = append(l, &attr.Communities{Values: s.Communities})
	}
	return append(l, s.Extra...)
}

// indexMap returns the index of the table's prefixes, built once and
// shared by the monitors.
func (t *Table) indexMap() *prefixIndex {
	t.indexOnce.Do(func() { t.index = newPrefixIndex(t.Prefixes) })
	return t.index
}

// Truncate returns a table of the first n prefixes (whole sets and part of
// the last one), sharing memory with t. n <= 0 or n >= len returns t.
func (t *Table) Truncate(n int) *Table {
	if n <= 0 || n >= len(t.Prefixes) {
		return t
	}
	u := &Table{Seed: t.Seed, Source: t.Source, Prefixes: t.Prefixes[:n]}
	for _, s := range t.Sets {
		if int(s.Start) >= n {
			break
		}
		s.End = min(s.End, int32(n))
		u.Sets = append(u.Sets, s)
	}
	return u
}

// Stats describes a table: what the unit tests check and what the report
// prints next to the results.
type Stats struct {
	Prefixes       int     `json:"prefixes"`
	Sets           int     `json:"attributeSets"`
	PrefixesPerSet float64 `json:"prefixesPerSet"`
	Share24        float64 `json:"share24"`
	// ByLength counts prefixes per length (index = length).
	ByLength [33]int `json:"-"`
}

// Stats counts the table's prefixes per length and per set.
func (t *Table) Stats() Stats {
	s := Stats{Prefixes: len(t.Prefixes), Sets: len(t.Sets)}
	for _, p := range t.Prefixes {
		s.ByLength[p.Bits]++
	}
	if s.Prefixes > 0 {
		s.Share24 = float64(s.ByLength[24]) / float64(s.Prefixes)
	}
	if s.Sets > 0 {
		s.PrefixesPerSet = float64(s.Prefixes) / float64(s.Sets)
	}
	return s
}

func (s Stats) String() string {
	return fmt.Sprintf("%d prefixes, %d attribute sets (%.1f prefixes per set), %.0f%% /24", s.Prefixes, s.Sets, s.PrefixesPerSet, 100*s.Share24)
}
