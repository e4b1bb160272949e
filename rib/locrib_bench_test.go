package rib

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

const (
	benchPrefixes     = 1_000_000
	prefixesPerAttrs  = 30 // a full table has about one attribute set per 30 prefixes
	benchSourcesMulti = 10
)

// benchKeys returns n distinct IPv4 prefixes shaped like a full table:
// about 60% /24, the rest /23 to /16 (and a few shorter), in a pinned
// pseudo-random order.
func benchKeys(n int) []Prefix4 {
	rng := rand.New(rand.NewPCG(4271, 7911))
	seen := make(map[Prefix4]struct{}, n)
	keys := make([]Prefix4, 0, n)
	for len(keys) < n {
		var bits uint8
		switch x := rng.IntN(100); {
		case x < 60:
			bits = 24
		case x < 70:
			bits = 23
		case x < 78:
			bits = 22
		case x < 85:
			bits = 21
		case x < 90:
			bits = 20
		case x < 99:
			bits = uint8(16 + rng.IntN(4))
		default:
			bits = uint8(8 + rng.IntN(8))
		}
		a := uint32(1+rng.IntN(222))<<24 | rng.Uint32()&0xffffff
		k := MakePrefix4(a, bits)
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		keys = append(keys, k)
	}
	return keys
}

// benchAttrs interns n attribute sets as a peer in neighbour AS nas would
// send them: distinct AS paths, MED on some, one next hop.
func benchAttrs(tb *Table, nas uint32, n int) []*Attrs {
	sets := make([]*Attrs, n)
	var scratch []byte
	for i := range sets {
		l := attr.List{
			&attr.Origin{Value: attr.OriginIGP},
			&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence,
				ASNs: []uint32{nas, 64512 + uint32(i%1000), 100000 + uint32(i)}}}},
			&attr.NextHop{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(nas)})},
		}
		if i%3 == 0 {
			l = append(l, &attr.MED{Value: uint32(i % 50)})
		}
		sets[i], scratch = tb.Intern(l, scratch)
	}
	return sets
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// reportMemory reports a table's memory per item (prefix or route) in two
// parts, because the runtime's statistics see only one: heap-B is the Go
// heap it added (HeapAlloc after a collection: the small slices and maps
// of attribute slots, sources and scratch), offheap-B what it mapped
// through internal/offheap (index, entries, path records: whole mapped
// pages, so the unused tail of each array's last page is counted though
// never touched). table-B is their sum. The heap part costs up to
// GOGC percent more in RSS on top; the mapped part does not.
func reportMemory(b *testing.B, unit string, items int, heap uint64, mapped int64) {
	h := float64(heap) / float64(items)
	m := float64(mapped) / float64(items)
	b.ReportMetric(h, "heap-B/"+unit)
	b.ReportMetric(m, "offheap-B/"+unit)
	b.ReportMetric(h+m, "table-B/"+unit)
}

// benchImport loads the full table from nsrc sources (source s skips every
// tenth prefix at offset s, so the tables overlap by about 90%), runs the
// decision process on every insert and drains the change feed once, as
// the Adj-RIB-Out would after a session's initial table.
func benchImport(b *testing.B, nsrc int) {
	keys := benchKeys(benchPrefixes)
	tb := NewTable()
	base := heapAlloc()
	sets := make([][]*Attrs, nsrc)
	for s := range sets {
		sets[s] = benchAttrs(tb, 65001+uint32(s), benchPrefixes/prefixesPerAttrs+1)
	}
	withAttrs := heapAlloc()
	paths := 0
	for s := 0; s < nsrc; s++ {
		for i := range keys {
			if nsrc == 1 || (i+s)%10 != 0 {
				paths++
			}
		}
	}
	mapped := offheap.Mapped()
	var r *LocRIB[Prefix4]
	b.ResetTimer()
	for b.Loop() {
		if r != nil {
			r.Close() // unmapped now, not at some later collection
		}
		r = NewLocRIB[Prefix4](tb, NewOptions())
		ids := make([]SourceID, nsrc)
		for s := range ids {
			ids[s] = r.AddSource(&Source{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(s + 1)}),
				RouterID: netip.AddrFrom4([4]byte{10, 0, 0, byte(s + 1)}), AS: 65001 + uint32(s)})
		}
		for s := range ids {
			ss := sets[s]
			for i, k := range keys {
				// As the daemon's RIB loop does (see Prefetch).
				if j := i + PrefetchDistance; j < len(keys) {
					r.Prefetch(keys[j])
				}
				if j := i + PrefetchDistance/2; j < len(keys) {
					r.PrefetchEntry(keys[j])
				}
				if nsrc > 1 && (i+s)%10 == 0 {
					continue
				}
				if err := r.Update(ids[s], 0, k, ss[i/prefixesPerAttrs]); err != nil {
					b.Fatal(err)
				}
			}
		}
		r.Drain(func(Prefix4, *Path, []*Path) {})
	}
	b.StopTimer()
	if r.Len() != len(keys) {
		b.Fatalf("Len %d, want %d", r.Len(), len(keys))
	}
	after := heapAlloc()
	mapped = offheap.Mapped() - mapped
	runtime.KeepAlive(keys)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*paths), "ns/path")
	b.ReportMetric(float64(b.N*paths)/b.Elapsed().Seconds(), "paths/s")
	reportMemory(b, "prefix", len(keys), after-withAttrs, mapped)
	b.ReportMetric((float64(after-base)+float64(mapped))/float64(len(keys)), "total-B/prefix")
	r.Close()
}

// BenchmarkLocRIBImport1: one peer's full table (1M IPv4 prefixes).
// heap-B/prefix, offheap-B/prefix and their sum table-B/prefix are the
// Loc-RIB alone (see reportMemory); total-B/prefix adds the interned
// attribute sets (one per 30 prefixes), which live on the heap. Run with
// -cpu 1 for the one-core figure.
func BenchmarkLocRIBImport1(b *testing.B) { benchImport(b, 1) }

// BenchmarkLocRIBImport10: ten peers, overlapping tables (9M paths).
func BenchmarkLocRIBImport10(b *testing.B) { benchImport(b, benchSourcesMulti) }
