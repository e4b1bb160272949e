//go:build linux

package netlink_test

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/fib"
	fibnl "github.com/godwit-bgp/godwit/fib/netlink"
)

// The full-table measurements of issue 7: install n routes into a fresh
// namespace's main table through the reconciler, list them, remove them.
// Run by hand (needs root, and BenchmarkInstall1M a minute or two):
//
//	go test -run '^$' -bench 'Install' -benchtime 1x ./fib/netlink/
//
// Each reports install-s, list-s and remove-s, for the batched writes
// (the default) and for one request per route (PerRoute), and the heap in
// use per route with the table installed (the reconciler's desired and
// installed maps, and the benchmark's own input, about 80 bytes a route).

func BenchmarkInstall100k(b *testing.B) { benchInstall(b, 100_000) }
func BenchmarkInstall1M(b *testing.B)   { benchInstall(b, 1_000_000) }

// table makes n distinct prefixes, /24s from 16.0.0.0 on, alternating
// between the two gateways, every fourth one ECMP over both.
func table(n int) []fib.Route {
	gw0 := []fib.NextHop{{Addr: netip.MustParseAddr("192.0.2.2")}}
	gw1 := []fib.NextHop{{Addr: netip.MustParseAddr("198.51.100.2")}}
	both := []fib.NextHop{gw0[0], gw1[0]}
	rs := make([]fib.Route, n)
	for i := range rs {
		a := uint32(16<<24) + uint32(i)<<8
		addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0})
		nhs := gw0
		switch i % 4 {
		case 1:
			nhs = gw1
		case 3:
			nhs = both
		}
		rs[i] = fib.Route{Prefix: netip.PrefixFrom(addr, 24), NextHops: nhs}
	}
	return rs
}

func benchInstall(b *testing.B, n int) {
	routes := table(n)
	for _, mode := range []struct {
		name string
		opts fibnl.Options
	}{{"batched", fibnl.Options{}}, {"per-route", fibnl.Options{PerRoute: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			tp := newTopo(b, mode.opts)
			var install, list, remove time.Duration
			for b.Loop() {
				i, l, r := measure(b, tp.be, routes)
				install += i
				list += l
				remove += r
			}
			per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
			b.ReportMetric(per(install), "install-s")
			b.ReportMetric(per(list), "list-s")
			b.ReportMetric(per(remove), "remove-s")
			b.ReportMetric(float64(n)/per(install), "routes/s")
		})
	}
}

// measure installs routes, lists them and removes them, timing each.
func measure(b *testing.B, be fib.Backend, routes []fib.Route) (install, list, remove time.Duration) {
	r, err := fib.New(be, fib.Config{ScanInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	if err := r.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := r.Set(ctx, routes); err != nil {
		b.Fatal(err)
	}
	install = time.Since(start)
	if s := r.Status(); s.Installed != len(routes) {
		b.Fatalf("installed %d of %d", s.Installed, len(routes))
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/float64(len(routes)), "heap-B/route")
	start = time.Now()
	got, err := be.List(fib.MainTable, fib.DefaultProtocol)
	if err != nil || len(got) != len(routes) {
		b.Fatalf("List: %d routes, %v", len(got), err)
	}
	list = time.Since(start)
	start = time.Now()
	if err := r.Set(ctx, nil); err != nil {
		b.Fatal(err)
	}
	remove = time.Since(start)
	return install, list, remove
}
