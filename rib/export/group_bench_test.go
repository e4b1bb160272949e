package export

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

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
// prefixes), and each set's 30 prefixes are spread over the table. variant
// changes every set (its MED), so that a second table replaces the first.
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
			&attr.Communities{Values: []uint32{65009<<16 | uint32(j%100)}},
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
			batch[k] = Change{Family: nlri.IPv4Unicast, P4: rib.MakePrefix4(uint32(1<<24+i<<8), 24), NSel: 1,
				Paths: sels[s : s+1 : s+1]}
		}
		batches = append(batches, batch)
	}
	return batches
}

// BenchmarkGroupApply measures Adj-RIB-Out generation for one eBGP member
// (transit: AS_PATH prepend and next hop self): "fill" sends a full table
// to a new group, "update" replaces every prefix's attributes in a group
// that holds the table already.
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
			return g.Join(ctx, &Member{S: discard{}, Families: []nlri.Family{nlri.IPv4Unicast}}, true)
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
	})
}

// send posts to the group, failing the benchmark after 10 s.
func send(b *testing.B, post func(ctx context.Context) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !post(ctx) {
		b.Fatal("the group did not answer within 10s")
	}
}
