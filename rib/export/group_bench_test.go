package export

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

const (
	benchPrefixes = 1_000_000
	benchBatch    = 65536
	benchPerSet   = 30 // prefixes per attribute set, about a full table's ratio
)

// discard is a member's session that drops what it is sent.
type discard struct{}

func (discard) Send(context.Context, ...[]byte) error { return nil }

// benchChanges builds the batches of one full table: benchPrefixes IPv4
// /24s learned from one eBGP peer, about benchPerSet per attribute set.
// Runs of 3 consecutive prefixes share a set (an UPDATE carries a few
// prefixes), and each set's 30 prefixes are spread over the table. The
// slots are the prefixes' order, as a Loc-RIB filled from this table
// would number its entries. variant changes every set (its MED, and a
// community, since the MED of a route learned by eBGP is not passed on
// to another AS), so that a second table replaces the first on the wire.
func benchChanges(tb *rib.Table, variant uint32) [][]Change {
	nsets := benchPrefixes / benchPerSet
	src := &rib.Source{Addr: netip.MustParseAddr("192.0.2.9"), RouterID: netip.MustParseAddr("192.0.2.9"), AS: 65009}
	sels := make([]Sel, nsets)
	var scratch []byte
	for j := range sels {
		l := attr.List{
			&attr.Origin{Value: attr.OriginIGP},
			seq(65009, 64512+uint32(j%1000), 4200000000+uint32(j)),
			&attr.NextHop{Addr: src.Addr},
			&attr.MED{Value: variant},
			&attr.Communities{Values: []uint32{65009<<16 | uint32(j%100) + variant<<8}},
		}
		sels[j].Attrs, scratch = tb.Intern(l, scratch)
		sels[j].Src = src
	}
	var batches [][]Change
	for start := 0; start < benchPrefixes; start += benchBatch {
		n := min(benchBatch, benchPrefixes-start)
		batch := make([]Change, n)
		for k := range batch {
			i := start + k
			s := (i / 3) % nsets
			batch[k] = Change{Family: nlri.IPv4Unicast, P4: rib.MakePrefix4(uint32(1<<24+i<<8), 24), Slot: uint32(i), NSel: 1,
				Paths: sels[s : s+1 : s+1]}
		}
		batches = append(batches, batch)
	}
	return batches
}

// BenchmarkGroupApply measures Adj-RIB-Out generation for one eBGP member
// (transit: AS_PATH prepend and next hop self): "fill" sends a full table
// to a new group, "update" replaces every prefix's attributes in a group
// that holds the table already. Both report what the group holds per
// prefix once filled (see footprint).
func BenchmarkGroupApply(b *testing.B) {
	tb := rib.NewTable()
	tables := [2][][]Change{benchChanges(tb, 0), benchChanges(tb, 1)}
	cfg := Config{Rules: transit(ebgp4), Options: wire.Options{AS4: true}}

	start := func(b *testing.B) (*Group, func()) {
		g := NewGroup(cfg, rib.NewOptions(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.Run(ctx)
		}()
		send(b, func(ctx context.Context) bool {
			_, ok := g.Join(ctx, &Member{S: discard{}, Families: []nlri.Family{nlri.IPv4Unicast}}, true)
			return ok
		})
		return g, func() {
			cancel()
			<-done
		}
	}
	apply := func(b *testing.B, g *Group, batches [][]Change) {
		for _, batch := range batches {
			send(b, func(ctx context.Context) bool { return g.Changes(ctx, batch) })
		}
		send(b, func(ctx context.Context) bool { return g.Query(ctx, func() {}) })
	}
	report := func(b *testing.B, before *runtime.MemStats) {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		n := float64(b.N) * benchPrefixes
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/prefix")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/prefix")
	}

	b.Run("fill", func(b *testing.B) {
		b.ReportAllocs()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for b.Loop() {
			g, stop := start(b)
			apply(b, g, tables[0])
			if v4, _ := g.Counts(); v4 != benchPrefixes {
				b.Fatalf("%d prefixes sent, want %d", v4, benchPrefixes)
			}
			stop()
		}
		report(b, &before)
		footprint(b, func() func() {
			g, stop := start(b)
			apply(b, g, tables[0])
			return stop
		})
	})
	b.Run("update", func(b *testing.B) {
		g, stop := start(b)
		defer stop()
		apply(b, g, tables[1])
		b.ReportAllocs()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		i := 0
		for b.Loop() {
			apply(b, g, tables[i%2])
			i++
		}
		report(b, &before)
		footprint(b, func() func() {
			g, stop := start(b)
			apply(b, g, tables[0])
			apply(b, g, tables[1])
			return stop
		})
	})
}

// footprint reports what a group made and filled by fill holds per
// prefix, after the timed loop: the Go heap after a collection and the
// pages mapped outside it (offheap.Mapped), each as the growth from
// before the group was made, and the heap per attribute set sent. The
// benchmark's own input (the batches) is live on both sides, so it
// cancels out.
func footprint(b *testing.B, fill func() (stop func())) {
	heap := func() (uint64, int64) {
		runtime.GC()
		runtime.GC() // the second cycle runs the cleanups of blocks the first found unreachable
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, offheap.Mapped()
	}
	h0, m0 := heap()
	stop := fill()
	h1, m1 := heap()
	stop()
	dh, dm := float64(int64(h1)-int64(h0)), float64(m1-m0)
	b.ReportMetric(dh/benchPrefixes, "heapB/prefix")
	b.ReportMetric(dm/benchPrefixes, "offheapB/prefix")
	b.ReportMetric((dh+dm)/benchPrefixes, "totalB/prefix")
	b.ReportMetric(dh/float64(benchPrefixes/benchPerSet), "heapB/set")
}

// send posts to the group, failing the benchmark after 10 s.
func send(b *testing.B, post func(ctx context.Context) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !post(ctx) {
		b.Fatal("the group did not answer within 10s")
	}
}
