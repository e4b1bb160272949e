package fib_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/fib/fake"
)

// observer records NextHopsChanged calls.
type observer chan []netip.Addr

func (o observer) NextHopsChanged(addrs []netip.Addr) { o <- addrs }

// next waits for the next call and compares its addresses.
func (o observer) next(t *testing.T, what string, want ...string) {
	t.Helper()
	select {
	case got := <-o:
		var gs []string
		for _, a := range got {
			gs = append(gs, a.String())
		}
		if diff := cmp.Diff(want, gs); diff != "" {
			t.Errorf("%s: changed next hops (-want +got):\n%s", what, diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no NextHopsChanged call, want %v", what, want)
	}
}

func startResolver(t *testing.T, k *fake.Kernel, obs fib.NextHopObserver) *fib.Resolver {
	t.Helper()
	res, err := fib.NewResolver(k, fib.ResolverConfig{Observer: obs, Clock: newTestClock()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = res.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-res.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("resolver not ready")
	}
	return res
}

type resolution struct {
	OK      bool
	Ifindex int
	Metric  uint32
	Via     string
}

func resolve(r *fib.Resolver, addr string) resolution {
	ok, ifindex, metric, via := r.Resolve(netip.MustParseAddr(addr))
	v := ""
	if via.IsValid() {
		v = via.String()
	}
	return resolution{ok, ifindex, metric, v}
}

func TestResolve(t *testing.T) {
	k := newKernel()
	k.AddRoute(fib.KernelRoute{Route: rt(t, "0.0.0.0/0 via 192.0.2.254 metric 100"), Protocol: 16})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "10.0.0.0/8 via 198.51.100.1 metric 10"), Protocol: 12})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "10.0.0.0/8 via 192.0.2.1 metric 50"), Protocol: 4})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "10.1.0.0/16 via 192.0.2.1 metric 20"), Protocol: 200})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "blackhole 10.66.0.0/16"), Protocol: 4})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "172.16.0.0/12 via 192.0.2.1 metric 5 table 100"), Protocol: 4})
	res := startResolver(t, k, nil)

	tests := []struct {
		name string
		addr string
		want resolution
	}{
		{"connected network", "192.0.2.7", resolution{true, 2, 0, ""}},
		{"connected IPv6 network (the fake gives it the kernel's default IPv6 metric)", "2001:db8:1::5", resolution{true, 4, 1024, ""}},
		{"lowest metric of the longest match; our own protocol's more specific route does not count", "10.1.2.3", resolution{true, 3, 10, "198.51.100.1"}},
		{"default route", "8.8.8.8", resolution{true, 2, 100, "192.0.2.254"}},
		{"blackhole as longest match: unreachable", "10.66.1.1", resolution{}},
		{"other tables do not count", "172.16.1.1", resolution{true, 2, 100, "192.0.2.254"}},
		{"no IPv6 default route", "2001:db8:2::1", resolution{}},
		{"IPv4-mapped IPv6 looks up the IPv4 table", "::ffff:192.0.2.7", resolution{true, 2, 0, ""}},
		{"link-local with a zone: that interface", "fe80::1%eth2", resolution{true, 4, 0, ""}},
		{"link-local without a zone: ambiguous", "fe80::1", resolution{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, resolve(res, tc.addr)); diff != "" {
				t.Errorf("Resolve(%s) (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
}

func TestResolverWatch(t *testing.T) {
	k := newKernel()
	k.AddRoute(fib.KernelRoute{Route: rt(t, "0.0.0.0/0 via 192.0.2.254 metric 100"), Protocol: 16})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "10.0.0.0/8 via 198.51.100.1 metric 10"), Protocol: 12})
	obs := make(observer, 16)
	res := startResolver(t, k, obs)
	res.Watch(netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:db8:2::1"))

	k.DeleteRoute(fib.MainTable, "10.0.0.0/8", 10)
	obs.next(t, "covering route removed", "10.1.2.3")
	if diff := cmp.Diff(resolution{true, 2, 100, "192.0.2.254"}, resolve(res, "10.1.2.3")); diff != "" {
		t.Errorf("after removal, through the default route (-want +got):\n%s", diff)
	}

	k.AddRoute(fib.KernelRoute{Route: rt(t, "::/0 via 2001:db8:1::1 metric 1024"), Protocol: 9})
	obs.next(t, "IPv6 default route added", "2001:db8:2::1")

	// Our own protocol's routes are not seen at all; the next call shows
	// only what the following change did.
	k.AddRoute(fib.KernelRoute{Route: rt(t, "10.1.0.0/16 via 198.51.100.1 metric 20"), Protocol: 200})
	k.AddRoute(fib.KernelRoute{Route: rt(t, "8.0.0.0/8 via 198.51.100.8"), Protocol: 4})
	obs.next(t, "a more specific route for 8.8.8.8", "8.8.8.8")

	res.Unwatch(netip.MustParseAddr("2001:db8:2::1"))
	k.SetLinkUp(2, false)
	obs.next(t, "eth0 down: the default route goes with it", "10.1.2.3")
	if diff := cmp.Diff(resolution{}, resolve(res, "10.1.2.3")); diff != "" {
		t.Errorf("eth0 down (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(resolution{true, 3, 0, "198.51.100.8"}, resolve(res, "8.8.8.8")); diff != "" {
		t.Errorf("8.8.8.8 still through eth1 (-want +got):\n%s", diff)
	}
}
