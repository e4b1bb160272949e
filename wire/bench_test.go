package wire

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/cputime"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// table is a synthetic full table as DESIGN.md's benchmark scenarios
// describe it: about 60% /24s and the rest spread over /8 to /23, one
// attribute set per about 30 prefixes, AS paths of 2 to 7 hops, some MED
// and communities, deterministic from the seed.
type table struct {
	sets     []attr.List
	prefixes []nlri.Prefix
	// group[i] is the index in prefixes where set i starts.
	group []int
}

func makeTable(n int, seed uint64) *table {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t := &table{prefixes: make([]nlri.Prefix, 0, n)}
	for len(t.prefixes) < n {
		t.group = append(t.group, len(t.prefixes))
		t.sets = append(t.sets, randomAttrs(r))
		k := 1 + r.IntN(59) // 1..59, about 30 on average
		for i := 0; i < k && len(t.prefixes) < n; i++ {
			bits := 24
			if r.IntN(10) >= 6 {
				bits = 8 + r.IntN(16)
			}
			a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			t.prefixes = append(t.prefixes, nlri.Prefix{Prefix: netip.PrefixFrom(a, bits).Masked()})
		}
	}
	return t
}

func randomAttrs(r *rand.Rand) attr.List {
	hops := 2 + r.IntN(6)
	asns := make([]uint32, hops)
	for i := range asns {
		asns[i] = 1 + r.Uint32N(400000)
	}
	l := attr.List{
		&attr.Origin{Value: attr.OriginCode(r.IntN(3) / 2)},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}},
		&attr.NextHop{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + r.IntN(4))})},
	}
	if r.IntN(10) < 3 {
		l = append(l, &attr.MED{Value: r.Uint32N(1000)})
	}
	if r.IntN(10) < 4 {
		c := &attr.Communities{}
		for i := 0; i <= r.IntN(3); i++ {
			c.Values = append(c.Values, asns[0]<<16|r.Uint32N(1000))
		}
		l = append(l, c)
	}
	return l
}

// pack writes the table as a speaker sends it.
func (t *table) pack(p *Packer) {
	for i, set := range t.sets {
		p.SetAttrs(set)
		end := len(t.prefixes)
		if i+1 < len(t.group) {
			end = t.group[i+1]
		}
		for _, pfx := range t.prefixes[t.group[i]:end] {
			if err := p.Announce(pfx); err != nil {
				panic(err)
			}
		}
	}
}

// update500 is one UPDATE with 500 IPv4 prefixes and a typical attribute
// set (ORIGIN, a 4-hop AS_PATH, NEXT_HOP, MED, two communities).
func update500(b *testing.B) ([]byte, []nlri.Prefix, attr.List) {
	t := makeTable(500, 1)
	attrs := attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, 3356, 1299, 13335}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")},
		&attr.MED{Value: 20},
		&attr.Communities{Values: []uint32{65001<<16 | 100, 65001<<16 | 200}},
	}
	p := NewPacker(Options{AS4: true, ExtendedMessage: true})
	p.SetAttrs(attrs)
	for _, pfx := range t.prefixes {
		if err := p.Announce(pfx); err != nil {
			b.Fatal(err)
		}
	}
	if p.Messages() != 1 {
		b.Fatalf("500 prefixes packed into %d messages", p.Messages())
	}
	return p.Bytes(), t.prefixes, attrs
}

func BenchmarkDecodeUpdate500(b *testing.B) {
	msg, _, _ := update500(b)
	opt := Options{AS4: true, ExtendedMessage: true}
	body := msg[HeaderLen:]
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var sum int
	start := cputime.Process()
	for b.Loop() {
		u, err := DecodeUpdate(body, opt)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r := range u.Reach() {
			sum += r.Prefix.Prefix.Bits()
			n++
		}
		if n != 500 {
			b.Fatalf("%d prefixes", n)
		}
	}
	reportPrefixes(b, 500, start)
	_ = sum
}

func BenchmarkEncodeUpdate500(b *testing.B) {
	_, prefixes, attrs := update500(b)
	p := NewPacker(Options{AS4: true, ExtendedMessage: true})
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		p.Reset()
		p.SetAttrs(attrs)
		for _, pfx := range prefixes {
			if err := p.Announce(pfx); err != nil {
				b.Fatal(err)
			}
		}
		p.Bytes()
	}
	reportPrefixes(b, 500, start)
}

const fullTable = 1_000_000

var fullTableData *table

func benchTable() *table {
	if fullTableData == nil {
		fullTableData = makeTable(fullTable, 2026)
	}
	return fullTableData
}

func BenchmarkFullTableDecode(b *testing.B) {
	t := benchTable()
	opt := Options{AS4: true}
	p := NewPacker(opt)
	t.pack(p)
	stream := p.Bytes()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	b.ReportMetric(float64(p.Messages()), "updates")
	start := cputime.Process()
	for b.Loop() {
		n := 0
		for s := stream; len(s) > 0; {
			h, err := ParseHeader(s, opt)
			if err != nil {
				b.Fatal(err)
			}
			u, err := DecodeUpdate(s[HeaderLen:h.Length], opt)
			if err != nil {
				b.Fatal(err)
			}
			for range u.Reach() {
				n++
			}
			s = s[h.Length:]
		}
		if n != fullTable {
			b.Fatalf("%d prefixes", n)
		}
	}
	reportPrefixes(b, fullTable, start)
}

func BenchmarkFullTableEncode(b *testing.B) {
	t := benchTable()
	p := NewPacker(Options{AS4: true})
	t.pack(p) // grow the buffer once
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		p.Reset()
		t.pack(p)
		p.Bytes()
	}
	b.SetBytes(int64(len(p.Bytes())))
	b.ReportMetric(float64(p.Messages()), "updates")
	reportPrefixes(b, fullTable, start)
}

// reportPrefixes adds ns/prefix and prefixes/s to a benchmark's output,
// by wall time and by the CPU time since start (cpuTime) when known.
func reportPrefixes(b *testing.B, perOp int, start time.Duration) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(perOp)
	b.ReportMetric(ns, "ns/prefix")
	b.ReportMetric(1e9/ns, "prefixes/s")
	if start > 0 {
		cpu := float64((cputime.Process() - start).Nanoseconds()) / float64(b.N) / float64(perOp)
		b.ReportMetric(cpu, "cpu-ns/prefix")
		b.ReportMetric(1e9/cpu, "cpu-prefixes/s")
	}
}
