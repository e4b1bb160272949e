package daemon

import (
	"context"
	"net/netip"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/bench"
	"github.com/godwit-bgp/godwit/internal/cputime"
	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// countingSender counts the bytes queued to it and drops them.
type countingSender struct{ bytes, msgs atomic.Int64 }

func (c *countingSender) Send(_ context.Context, msgs ...[]byte) error {
	for _, m := range msgs {
		c.bytes.Add(int64(len(m)))
	}
	c.msgs.Add(int64(len(msgs)))
	return nil
}

// BenchmarkPipeline is S2 without the sockets: one eBGP peer's full table
// (the generated 1M-prefix table of the performance harness, decoded from
// its encoded UPDATEs in reader-sized batches), through import, the
// Loc-RIB and one eBGP update group, to a sender that drops the bytes.
// It reports ns/prefix and the live memory per prefix once the table is
// in: the Go heap (after a collection) and the tables mapped outside it
// (internal/offheap), and their sum.
func BenchmarkPipeline(b *testing.B) {
	const n = 1_000_000
	tab := bench.Generate(n, 1)
	st, err := tab.Encode(0, 1, 65001, netip.MustParseAddr("192.0.2.2"))
	if err != nil {
		b.Fatal(err)
	}
	opt := wire.Options{AS4: true}
	var raw [][]byte
	for buf := st.Updates; len(buf) >= wire.HeaderLen; {
		l := int(buf[16])<<8 | int(buf[17])
		raw = append(raw, buf[wire.HeaderLen:l])
		buf = buf[l:]
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		mappedBefore := offheap.Mapped()
		d, l, _, stop := testLoop()
		in, sIn := upPeer(d, l, netip.MustParseAddr("192.0.2.2"), 65001, opt, export.Rules{}, &countingSender{})
		snd := &countingSender{}
		out, _ := upPeer(d, l, netip.MustParseAddr("192.0.2.3"), 65002, opt, export.Rules{Transit: true}, snd)
		im := testImporter(l, sIn)
		var peak atomic.Uint64
		stopPeak := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-stopPeak:
					return
				case <-time.After(5 * time.Millisecond):
				}
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		cpu0 := cputime.Process()
		batch := make([]*wire.Update, 0, 64)
		for i, m := range raw {
			u, err := wire.DecodeUpdate(m, opt)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, u)
			if len(batch) == cap(batch) || i == len(raw)-1 {
				l.post(opRoutes{n: in, s: sIn, b: im.batch(batch)})
				batch = batch[:0]
			}
		}
		var g *export.Group
		for g == nil {
			l.query(func() {
				if rs := l.srcs[out]; rs != nil && rs.group != nil {
					g = rs.group.g
				}
			})
		}
		for {
			if v4, _ := g.Counts(); v4 == n {
				break
			}
			time.Sleep(time.Millisecond)
		}
		el := time.Since(start)
		cpu := cputime.Process() - cpu0
		b.StopTimer()
		close(stopPeak)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(el.Nanoseconds())/n, "ns/prefix")
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/prefix")
		heapB := float64(after.HeapAlloc-before.HeapAlloc) / n
		offB := float64(offheap.Mapped()-mappedBefore) / n
		b.ReportMetric(heapB, "heap-B/prefix")
		b.ReportMetric(offB, "offheap-B/prefix")
		b.ReportMetric(heapB+offB, "total-B/prefix")
		b.ReportMetric(float64(snd.msgs.Load()), "updates-out")
		b.ReportMetric(float64(peak.Load()-before.HeapInuse)/n, "peak-heap-B/prefix")
		stop()
	}
}

// addCommunity is an export policy that tags every route.
type addCommunity struct{}

func (addCommunity) Export(_ nlri.Family, _ netip.Prefix, _ *rib.Source, l attr.List) (attr.List, export.NextHop, bool) {
	out := slices.Clone(l)
	return out.Set(&attr.Communities{Values: []uint32{65000<<16 | 1}}), export.NextHop{}, true
}

func (addCommunity) PrefixDependent() bool { return false }

// BenchmarkPolicyChange: a 1M-prefix table sent to ten eBGP peers sharing
// one update group; then their export policy changes (every route gains a
// community) and each session moves to the new group without a reset.
// Reported: the time from the change to the last peer having been sent
// its whole table again.
func BenchmarkPolicyChange(b *testing.B) {
	const n, peers = 1_000_000, 10
	tab := bench.Generate(n, 1)
	st, err := tab.Encode(0, 1, 65001, netip.MustParseAddr("192.0.2.2"))
	if err != nil {
		b.Fatal(err)
	}
	opt := wire.Options{AS4: true}
	var us []*wire.Update
	for buf := st.Updates; len(buf) >= wire.HeaderLen; {
		ln := int(buf[16])<<8 | int(buf[17])
		u, err := wire.DecodeUpdate(buf[wire.HeaderLen:ln], opt)
		if err != nil {
			b.Fatal(err)
		}
		us = append(us, u)
		buf = buf[ln:]
	}
	for range b.N {
		b.StopTimer()
		d, l, ctx, stop := testLoop()
		in, sIn := upPeer(d, l, netip.MustParseAddr("192.0.2.2"), 65001, opt, export.Rules{}, &countingSender{})
		rules := export.Rules{LocalAS: 65000, NextHop4: netip.MustParseAddr("192.0.2.1"), Transit: true}
		type member struct {
			n *neighbor
			s *peer.Session
		}
		var ms []member
		for i := range peers {
			var m member
			m.n, m.s = upPeer(d, l, netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), uint32(65100+i), opt, rules, &countingSender{})
			ms = append(ms, m)
		}
		im := testImporter(l, sIn)
		for i := 0; i < len(us); i += 64 {
			l.post(opRoutes{n: in, s: sIn, b: im.batch(us[i:min(i+64, len(us))])})
		}
		// groupOf is the update group of the peers; nil until they all
		// share one other than not.
		groupOf := func(not *export.Group) *export.Group {
			var g *export.Group
			l.query(func() {
				for i, m := range ms {
					rs := l.srcs[m.n]
					if rs == nil || rs.group == nil || rs.group.g == not || (i > 0 && rs.group.g != g) {
						g = nil
						return
					}
					g = rs.group.g
				}
			})
			return g
		}
		// settled waits until g holds the table and has sent everything
		// queued before (a Query runs after the group's earlier work).
		settled := func(g *export.Group) {
			for {
				if v4, _ := g.Counts(); v4 == n {
					break
				}
				time.Sleep(time.Millisecond)
			}
			g.Query(ctx, func() {})
		}
		var g0 *export.Group
		for g0 == nil {
			g0 = groupOf(nil)
		}
		settled(g0)
		b.StartTimer()
		start := time.Now()
		pol := rules
		pol.Policy, pol.PolicyKey = addCommunity{}, "tag"
		for _, m := range ms {
			l.post(opRegroup{n: m.n, s: m.s, cfg: export.Config{Rules: pol, Options: opt}})
		}
		var g1 *export.Group
		for g1 == nil {
			g1 = groupOf(g0)
		}
		settled(g1)
		el := time.Since(start)
		b.StopTimer()
		b.ReportMetric(el.Seconds(), "s-to-last-update")
		stop()
	}
}

// BenchmarkPipelineOverlap is S3 without the sockets: ten eBGP peers'
// overlapping tables of the performance harness's 100k prefixes (one
// peer's path strictly shortest for each prefix), decoded and imported
// in reader-sized batches taken from the peers in turn, through the
// Loc-RIB and one eBGP update group to a sender that drops the bytes.
// It reports the CPU time per path of the whole process (the readers'
// decoding and import included), which on a shared machine says more
// than the wall time.
func BenchmarkPipelineOverlap(b *testing.B) {
	const n, peers, perBatch = 100_000, 10, 64
	tab := bench.Generate(n, 1)
	opt := wire.Options{AS4: true}
	raws := make([][][]byte, peers)
	for j := range peers {
		st, err := tab.Encode(j, peers, uint32(65001+j), netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + j)}))
		if err != nil {
			b.Fatal(err)
		}
		for buf := st.Updates; len(buf) >= wire.HeaderLen; {
			l := int(buf[16])<<8 | int(buf[17])
			raws[j] = append(raws[j], buf[wire.HeaderLen:l])
			buf = buf[l:]
		}
	}
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		d, l, ctx, stop := testLoop()
		type in struct {
			n  *neighbor
			s  *peer.Session
			im *importer
		}
		var ins []in
		for j := range peers {
			var x in
			x.n, x.s = upPeer(d, l, netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + j)}), uint32(65001+j), opt, export.Rules{}, &countingSender{})
			x.im = testImporter(l, x.s)
			ins = append(ins, x)
		}
		snd := &countingSender{}
		out, _ := upPeer(d, l, netip.MustParseAddr("192.0.2.3"), 65002, opt, export.Rules{Transit: true}, snd)
		var g *export.Group
		for g == nil {
			l.query(func() {
				if rs := l.srcs[out]; rs != nil && rs.group != nil {
					g = rs.group.g
				}
			})
		}
		b.StartTimer()
		cpu0 := cputime.Process()
		// The peers' batches in turn, as their readers would deliver
		// them, each decoded into reused memory as the readers do.
		decs := make([]wire.UpdateDecoder, peers)
		us := make([]*wire.Update, 0, perBatch)
		for off := 0; ; off += perBatch {
			sent := false
			for j, x := range ins {
				raw := raws[j]
				if off >= len(raw) {
					continue
				}
				sent = true
				us = us[:0]
				decs[j].Reset()
				for _, m := range raw[off:min(off+perBatch, len(raw))] {
					u, err := decs[j].Decode(m, opt)
					if err != nil {
						b.Fatal(err)
					}
					us = append(us, u)
				}
				l.post(opRoutes{n: x.n, s: x.s, b: x.im.batch(us)})
			}
			if !sent {
				break
			}
		}
		// Every prefix sent with its winner's path: the group's count
		// is reached, then the RIB loop has nothing left to flush.
		for {
			if v4, _ := g.Counts(); v4 == n {
				var idle bool
				l.query(func() { idle = l.v4.Pending() == 0 })
				if idle && len(l.ops) == 0 {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		g.Query(ctx, func() {})
		cpu += cputime.Process() - cpu0
		b.StopTimer()
		stop()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n*peers), "cpu-ns/path")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*peers), "ns/path")
}
