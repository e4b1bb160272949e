package fake_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/fib/fake"
)

func route(prefix, via string, metric int) fib.Route {
	return fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix(prefix), Metric: metric,
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr(via)}}}
}

// TestKernelRules checks the kernel behaviour the reconciler relies on.
func TestKernelRules(t *testing.T) {
	k := fake.New()
	k.AddLink(2, "eth0", "192.0.2.0/24")
	k.AddRoute(fib.KernelRoute{Route: route("10.1.0.0/24", "192.0.2.9", 20), Protocol: 186})

	ctx, cancel := context.WithCancel(context.Background())
	events, err := k.Subscribe(ctx, fib.SubscribeOptions{Routes: true, Links: true, SkipProtocol: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		for range events {
		}
	}()

	err = k.Apply(200, []fib.Op{
		{Kind: fib.OpAdd, Route: route("10.1.0.0/24", "192.0.2.1", 20)},    // same identity as FRR's
		{Kind: fib.OpDelete, Route: route("10.1.0.0/24", "192.0.2.1", 20)}, // FRR's: not ours
		{Kind: fib.OpAdd, Route: route("10.2.0.0/24", "203.0.113.1", 20)},  // gateway not connected
		{Kind: fib.OpAdd, Route: route("10.3.0.0/24", "192.0.2.1", 20)},
	})
	var ae *fib.ApplyError
	if !errors.As(err, &ae) || !errors.Is(ae.Errs[0], fib.ErrExists) || !errors.Is(ae.Errs[1], fib.ErrNotFound) ||
		ae.Errs[2] == nil || ae.Errs[3] != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := "table 254 proto 186 10.1.0.0/24 metric 20 nexthop via 192.0.2.9 dev eth0 weight 1\n" +
		"table 254 proto 200 10.3.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1\n" +
		"table 254 proto 2 192.0.2.0/24 metric 0 nexthop dev eth0 weight 1\n"
	if diff := cmp.Diff(want, k.Text()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	if err := k.Apply(186, nil); err == nil {
		t.Error("Apply with FRR's protocol succeeded")
	}

	// The subscription saw no route of protocol 200.
	k.SetLinkUp(2, false)
	if got := k.Text(); got != "" {
		t.Errorf("after link down, routes through it are gone, got:\n%s", got)
	}
	for ev := range events {
		if ev.Kind == fib.EventRouteAdd && ev.Route.Protocol == 200 {
			t.Errorf("event of the skipped protocol: %+v", ev)
		}
		if ev.Kind == fib.EventLink && !ev.Link.Up {
			break
		}
	}
}
