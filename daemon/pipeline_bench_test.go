package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/bench"
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
// It reports ns/prefix and the live heap per prefix once the table is in.
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
		ctx, cancel := context.WithCancel(context.Background())
		d := &Daemon{log: slog.New(slog.DiscardHandler), subs: map[chan struct{}]struct{}{}}
		l := newRibLoop(d, rib.NewOptions())
		l.ctx = ctx
		done := make(chan struct{})
		go func() { l.run(ctx); close(done) }()
		neg := &peer.Negotiated{PeerAS: 65001, PeerID: netip.MustParseAddr("10.0.0.2"), Families: []nlri.Family{nlri.IPv4Unicast},
			AS4: true, Receive: opt, Send: opt}
		in := &neighbor{d: d, key: peer.Key{Addr: netip.MustParseAddr("192.0.2.2")}, log: d.log}
		sIn := &peer.Session{LocalAS: 65000, Negotiated: neg, LocalAddr: netip.MustParseAddrPort("192.0.2.1:179"),
			RemoteAddr: netip.MustParseAddrPort("192.0.2.2:40000")}
		out := &neighbor{d: d, key: peer.Key{Addr: netip.MustParseAddr("192.0.2.3")}, log: d.log}
		negOut := *neg
		negOut.PeerAS = 65002
		sOut := &peer.Session{LocalAS: 65000, Negotiated: &negOut, LocalAddr: netip.MustParseAddrPort("192.0.2.1:179"),
			RemoteAddr: netip.MustParseAddrPort("192.0.2.3:40000")}
		snd := &countingSender{}
		l.post(opUp{n: in, s: sIn, src: &rib.Source{Addr: in.key.Addr, RouterID: neg.PeerID, AS: 65001},
			cfg:    export.Config{Rules: export.Rules{LocalAS: 65000, NextHop4: netip.MustParseAddr("192.0.2.1")}, Options: opt},
			sender: &countingSender{}})
		l.post(opUp{n: out, s: sOut, src: &rib.Source{Addr: out.key.Addr, RouterID: negOut.PeerID, AS: 65002},
			cfg:    export.Config{Rules: export.Rules{LocalAS: 65000, NextHop4: netip.MustParseAddr("192.0.2.1"), Transit: true}, Options: opt},
			sender: snd})
		im := &importer{t: l.attrs, opts: attr.Options{AS4: true}, localAS: 65000, remote: sIn.RemoteAddr.Addr(), local: sIn.LocalAddr.Addr()}
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
		b.StopTimer()
		close(stopPeak)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(el.Nanoseconds())/n, "ns/prefix")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/prefix")
		b.ReportMetric(float64(snd.msgs.Load()), "updates-out")
		b.ReportMetric(float64(peak.Load()-before.HeapInuse)/n, "peak-heap-B/prefix")
		cancel()
		<-done
		runtime.KeepAlive(l)
	}
}
