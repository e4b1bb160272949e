//go:build linux

package netlink_test

// The real backend against a real kernel, in fresh network namespaces made
// with internal/netns (root only; skipped otherwise, with the reason).
//
// Topology: "node" is programmed; "peer" holds the gateways.
//
//	node eth0 192.0.2.1/24, 2001:db8:1::1/64 ---- peer eth0 192.0.2.2/24, 2001:db8:1::2/64
//	node eth1 198.51.100.1/24, 2001:db8:2::1/64 - peer eth1 198.51.100.2/24, 2001:db8:2::2/64

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/fib"
	fibnl "github.com/godwit-bgp/godwit/fib/netlink"
	"github.com/godwit-bgp/godwit/internal/netns"
)

type topo struct {
	node, peer *netns.NS
	be         *fibnl.Backend
	eth0, eth1 int
}

func newTopo(t testing.TB, opts fibnl.Options) *topo {
	t.Helper()
	netns.RequireRoot(t)
	tp := &topo{node: netns.New(t, "node"), peer: netns.New(t, "peer")}
	for _, v := range []struct{ name, a4, b4, a6, b6 string }{
		{"eth0", "192.0.2.1/24", "192.0.2.2/24", "2001:db8:1::1/64", "2001:db8:1::2/64"},
		{"eth1", "198.51.100.1/24", "198.51.100.2/24", "2001:db8:2::1/64", "2001:db8:2::2/64"},
	} {
		if _, _, err := netns.Veth(
			netns.End{NS: tp.node, Ifname: v.name, Addrs: []string{v.a4, v.a6}},
			netns.End{NS: tp.peer, Ifname: v.name, Addrs: []string{v.b4, v.b6}},
		); err != nil {
			t.Fatal(err)
		}
	}
	opts.Namespace = tp.node.Path()
	be, err := fibnl.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	tp.be = be
	links, err := be.Links()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		switch l.Name {
		case "eth0":
			tp.eth0 = l.Index
		case "eth1":
			tp.eth1 = l.Index
		}
	}
	if tp.eth0 == 0 || tp.eth1 == 0 {
		t.Fatalf("links %+v: no eth0 and eth1", links)
	}
	return tp
}

// ip runs `ip -n node args` and fails the test on error.
func (tp *topo) ip(t testing.TB, args ...string) string {
	t.Helper()
	out, err := tp.node.IP(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// show is `ip route show` of IPv4 and IPv6 with the given selectors, one
// route a line (the next hops of a multipath route joined to it).
func (tp *topo) show(t *testing.T, sel ...string) string {
	t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		text := tp.ip(t, append([]string{fam, "route", "show"}, sel...)...)
		for _, l := range strings.Split(text, "\n") {
			f := strings.Join(strings.Fields(l), " ")
			switch {
			case f == "":
			case strings.HasPrefix(l, "\t") || strings.HasPrefix(l, " "):
				out[len(out)-1] += " " + f
			default:
				out = append(out, f)
			}
		}
	}
	return strings.Join(out, "\n")
}

// run starts a reconciler on tp's backend; the returned stop ends it and
// waits for Run to return.
func run(t *testing.T, be fib.Backend, cfg fib.Config, adopt bool) (*fib.Reconciler, context.Context, func()) {
	t.Helper()
	r, err := fib.New(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if adopt {
		if _, err := r.Adopt(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return r, ctx, stop
}

func parse(t *testing.T, spec string) fib.Route {
	t.Helper()
	f := strings.Fields(spec)
	var r fib.Route
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "via":
			i++
			r.NextHops = append(r.NextHops, fib.NextHop{Addr: netip.MustParseAddr(f[i])})
		case "blackhole":
			r.Blackhole = true
		case "table":
			i++
			r.Table, _ = strconv.Atoi(f[i])
		default:
			r.Prefix = netip.MustParsePrefix(f[i])
		}
	}
	return r
}

func parseAll(t *testing.T, specs ...string) []fib.Route {
	var rs []fib.Route
	for _, s := range specs {
		rs = append(rs, parse(t, s))
	}
	return rs
}

func TestKernelReconcile(t *testing.T) {
	tp := newTopo(t, fibnl.Options{})
	// Routes that are not ours: same prefix at another metric, another
	// protocol, and our protocol in a table we do not own.
	tp.ip(t, "route", "add", "10.1.0.0/24", "via", "198.51.100.2", "metric", "100", "proto", "static")
	tp.ip(t, "route", "add", "10.50.0.0/24", "via", "192.0.2.2", "proto", "201")
	tp.ip(t, "route", "add", "10.60.0.0/24", "via", "192.0.2.2", "proto", "200", "table", "100")
	othersNow := func() string {
		return tp.show(t, "table", "all", "proto", "static") + "|" + tp.show(t, "proto", "201") + "|" +
			tp.ip(t, "-4", "route", "show", "table", "100")
	}
	others := othersNow()
	if !strings.Contains(others, "10.60.0.0/24 via 192.0.2.2 dev eth0 proto 200") {
		t.Fatalf("set-up: %s", others)
	}

	r, ctx, _ := run(t, tp.be, fib.Config{Tables: []int{fib.MainTable, 1000}}, false)
	steps := []struct {
		name   string
		routes []string
		want   string
	}{
		{
			name:   "ECMP, IPv6 ECMP, RFC 8950 next hop and a blackhole",
			routes: []string{"10.1.0.0/24 via 192.0.2.2 via 198.51.100.2", "2001:db8:99::/48 via 2001:db8:1::2 via 2001:db8:2::2", "10.2.0.0/16 via 2001:db8:2::2", "blackhole 10.9.0.0/16", "10.70.0.0/24 via 192.0.2.2 table 1000"},
			want: strings.Join([]string{
				"10.1.0.0/24 metric 20 nexthop via 192.0.2.2 dev eth0 weight 1 nexthop via 198.51.100.2 dev eth1 weight 1",
				"10.2.0.0/16 via inet6 2001:db8:2::2 dev eth1 metric 20",
				"blackhole 10.9.0.0/16 metric 20",
				"2001:db8:99::/48 metric 20 pref medium nexthop via 2001:db8:1::2 dev eth0 weight 1 nexthop via 2001:db8:2::2 dev eth1 weight 1",
			}, "\n"),
		},
		{
			name:   "shrink to one next hop, replace in place",
			routes: []string{"10.1.0.0/24 via 198.51.100.2", "2001:db8:99::/48 via 2001:db8:2::2", "10.2.0.0/16 via 192.0.2.2"},
			want: strings.Join([]string{
				"10.1.0.0/24 via 198.51.100.2 dev eth1 metric 20",
				"10.2.0.0/16 via 192.0.2.2 dev eth0 metric 20",
				"2001:db8:99::/48 via 2001:db8:2::2 dev eth1 metric 20 pref medium",
			}, "\n"),
		},
		{
			name:   "grow again",
			routes: []string{"10.1.0.0/24 via 198.51.100.2 via 192.0.2.2", "2001:db8:99::/48 via 2001:db8:2::2 via 2001:db8:1::2"},
			want: strings.Join([]string{
				"10.1.0.0/24 metric 20 nexthop via 192.0.2.2 dev eth0 weight 1 nexthop via 198.51.100.2 dev eth1 weight 1",
				"2001:db8:99::/48 metric 20 pref medium nexthop via 2001:db8:1::2 dev eth0 weight 1 nexthop via 2001:db8:2::2 dev eth1 weight 1",
			}, "\n"),
		},
		{name: "delete everything", routes: nil, want: ""},
	}
	for _, st := range steps {
		if err := r.Set(ctx, parseAll(t, st.routes...)); err != nil {
			t.Errorf("%s: Set: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, tp.show(t, "proto", "200")); diff != "" {
			t.Errorf("%s: ip route show proto 200 (-want +got):\n%s", st.name, diff)
		}
		wantVRF := ""
		if st.name == "ECMP, IPv6 ECMP, RFC 8950 next hop and a blackhole" {
			wantVRF = "10.70.0.0/24 via 192.0.2.2 dev eth0 metric 20\n"
		}
		if got := strings.ReplaceAll(tp.ip(t, "-4", "route", "show", "table", "1000", "proto", "200"), " \n", "\n"); got != wantVRF {
			t.Errorf("%s: table 1000: %q, want %q", st.name, got, wantVRF)
		}
		if got := othersNow(); got != others {
			t.Errorf("%s: other routes changed:\n%s\nwant\n%s", st.name, got, others)
		}
	}
	if s := r.Status(); s.Err != nil || s.Installed != 0 || s.Added == 0 || s.Replaced == 0 || s.Deleted == 0 {
		t.Errorf("status %+v", s)
	}
}

func TestKernelApplyErrors(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts fibnl.Options
	}{{"batched", fibnl.Options{}}, {"per-route", fibnl.Options{PerRoute: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			tp := newTopo(t, mode.opts)
			r := func(s string) fib.Route {
				rt := parse(t, s)
				rt.Metric = 20
				return rt.Canonical()
			}
			ops := []fib.Op{
				{Kind: fib.OpAdd, Route: r("10.1.0.0/24 via 192.0.2.2")},
				{Kind: fib.OpAdd, Route: r("10.2.0.0/24 via 203.0.113.1")},  // no connected network
				{Kind: fib.OpAdd, Route: r("10.1.0.0/24 via 198.51.100.2")}, // exists
				{Kind: fib.OpDelete, Route: r("10.3.0.0/24 via 192.0.2.2")}, // missing
				{Kind: fib.OpAdd, Route: r("10.4.0.0/24 via 192.0.2.2")},
			}
			err := tp.be.Apply(200, ops)
			var ae *fib.ApplyError
			if !errors.As(err, &ae) || len(ae.Errs) != len(ops) {
				t.Fatalf("Apply: %v, want an ApplyError with %d entries", err, len(ops))
			}
			if ae.Errs[0] != nil || ae.Errs[4] != nil || ae.Errs[1] == nil ||
				!errors.Is(ae.Errs[2], fib.ErrExists) || !errors.Is(ae.Errs[3], fib.ErrNotFound) {
				t.Errorf("per-op errors %q", ae.Errs)
			}
			if got, want := tp.show(t, "proto", "200"), "10.1.0.0/24 via 192.0.2.2 dev eth0 metric 20\n10.4.0.0/24 via 192.0.2.2 dev eth0 metric 20"; got != want {
				t.Errorf("kernel:\n%s\nwant\n%s", got, want)
			}
			if err := tp.be.Apply(186, ops[:1]); err == nil {
				t.Error("Apply with FRR's protocol 186 succeeded")
			}
			listed, err := tp.be.List(fib.MainTable, 200)
			if err != nil || len(listed) != 2 {
				t.Errorf("List: %v, %v", listed, err)
			}
		})
	}
}

// TestKernelRestartAdoption: a second reconciler (a restarted godwitd)
// adopts the first one's routes, keeps the ones still desired without a
// moment's gap (no RTM_DELROUTE for them, ever), and removes only the
// stale ones once told the RIB has converged.
func TestKernelRestartAdoption(t *testing.T) {
	tp := newTopo(t, fibnl.Options{})
	first, ctx1, stop1 := run(t, tp.be, fib.Config{}, false)
	// Every shape of route, so that a listing must read each back as
	// what was written (or the second run would replace it).
	kept := []string{
		"10.1.0.0/24 via 192.0.2.2",
		"2001:db8:99::/48 via 2001:db8:1::2 via 2001:db8:2::2",
		"10.5.0.0/24 via 192.0.2.2 via 198.51.100.2",
		"10.6.0.0/16 via 2001:db8:2::2",
		"blackhole 10.9.0.0/16",
	}
	if err := first.Set(ctx1, parseAll(t, append([]string{
		"10.2.0.0/24 via 192.0.2.2",
		"10.3.0.0/24 via 192.0.2.2 via 198.51.100.2",
	}, kept...)...)); err != nil {
		t.Fatal(err)
	}
	stop1() // a crash leaves the routes, as kill -9 would

	// Watch every change to our protocol's routes from here on.
	evctx, evcancel := context.WithCancel(context.Background())
	events, err := tp.be.Subscribe(evctx, fib.SubscribeOptions{Routes: true})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	collect := func() {
		// Drain what has arrived, then a marker route proves the
		// stream caught up.
		tp.ip(t, "route", "add", "10.255.0.0/24", "via", "192.0.2.2", "proto", "201")
		defer tp.ip(t, "route", "del", "10.255.0.0/24", "proto", "201")
		for ev := range events {
			if ev.Route.Protocol == 201 {
				return
			}
			if ev.Route.Protocol == 200 {
				seen = append(seen, ev.Kind.String()+" "+ev.Route.Prefix.String())
			}
		}
	}
	defer func() {
		evcancel()
		for range events {
		}
	}()

	second, ctx2, _ := run(t, tp.be, fib.Config{}, true)
	if err := second.Set(ctx2, parseAll(t, append([]string{
		"10.3.0.0/24 via 198.51.100.2",               // next hops changed
		"10.4.0.0/24 via 192.0.2.2 via 198.51.100.2", // new
	}, kept...)...)); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"10.1.0.0/24 via 192.0.2.2 dev eth0 metric 20",
		"10.2.0.0/24 via 192.0.2.2 dev eth0 metric 20",
		"10.3.0.0/24 via 198.51.100.2 dev eth1 metric 20",
		"10.4.0.0/24 metric 20 nexthop via 192.0.2.2 dev eth0 weight 1 nexthop via 198.51.100.2 dev eth1 weight 1",
		"10.5.0.0/24 metric 20 nexthop via 192.0.2.2 dev eth0 weight 1 nexthop via 198.51.100.2 dev eth1 weight 1",
		"10.6.0.0/16 via inet6 2001:db8:2::2 dev eth1 metric 20",
		"blackhole 10.9.0.0/16 metric 20",
		"2001:db8:99::/48 metric 20 pref medium nexthop via 2001:db8:1::2 dev eth0 weight 1 nexthop via 2001:db8:2::2 dev eth1 weight 1",
	}, "\n")
	if diff := cmp.Diff(want, tp.show(t, "proto", "200")); diff != "" {
		t.Errorf("before convergence, the stale 10.2.0.0/24 is kept (-want +got):\n%s", diff)
	}
	if s := second.Status(); !s.Holding || s.Held != 1 || s.Added != 1 || s.Replaced != 1 || s.Deleted != 0 {
		t.Errorf("status %+v, want holding 1 route, 1 added, 1 replaced", s)
	}
	second.Converged()
	if err := second.Sync(ctx2); err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(want, "10.2.0.0/24 via 192.0.2.2 dev eth0 metric 20\n", "", 1)
	if diff := cmp.Diff(want, tp.show(t, "proto", "200")); diff != "" {
		t.Errorf("after convergence (-want +got):\n%s", diff)
	}
	collect()
	slices.Sort(seen)
	wantSeen := []string{"route-add 10.3.0.0/24", "route-add 10.4.0.0/24", "route-delete 10.2.0.0/24"}
	if diff := cmp.Diff(wantSeen, seen); diff != "" {
		t.Errorf("kernel route events of protocol 200 (-want +got): the kept routes must see none\n%s", diff)
	}
}

// observer hands NextHopsChanged calls to the test.
type observer chan []netip.Addr

func (o observer) NextHopsChanged(addrs []netip.Addr) { o <- addrs }

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

type resolution struct {
	OK      bool
	Ifindex int
	Metric  uint32
	Via     string
}

func TestKernelResolver(t *testing.T) {
	tp := newTopo(t, fibnl.Options{})
	obs := make(observer, 16)
	res, err := fib.NewResolver(tp.be, fib.ResolverConfig{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = res.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-res.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("resolver not ready")
	}
	resolve := func(a string) resolution {
		ok, ifindex, metric, via := res.Resolve(netip.MustParseAddr(a))
		v := ""
		if via.IsValid() {
			v = via.String()
		}
		return resolution{ok, ifindex, metric, v}
	}
	check := func(what, addr string, want resolution) {
		t.Helper()
		if diff := cmp.Diff(want, resolve(addr)); diff != "" {
			t.Errorf("%s: Resolve(%s) (-want +got):\n%s", what, addr, diff)
		}
	}

	check("connected route", "192.0.2.2", resolution{true, tp.eth0, 0, ""})
	check("connected IPv6 route", "2001:db8:2::2", resolution{true, tp.eth1, 256, ""})
	check("nothing yet", "203.0.113.7", resolution{})

	res.Watch(netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("10.9.1.1"), netip.MustParseAddr("192.0.2.2"))
	// Our own protocol's route resolves nothing; the default route does.
	tp.ip(t, "route", "add", "10.9.0.0/16", "via", "192.0.2.2", "proto", "200")
	tp.ip(t, "route", "add", "default", "via", "198.51.100.2", "metric", "50")
	obs.next(t, "default route added", "10.9.1.1", "203.0.113.7")
	check("through the default route", "203.0.113.7", resolution{true, tp.eth1, 50, "198.51.100.2"})
	check("our protocol does not count", "10.9.1.1", resolution{true, tp.eth1, 50, "198.51.100.2"})

	tp.ip(t, "route", "del", "default")
	obs.next(t, "default route removed", "10.9.1.1", "203.0.113.7")
	check("default route gone", "203.0.113.7", resolution{})

	tp.ip(t, "link", "set", "eth0", "down")
	obs.next(t, "eth0 down", "192.0.2.2")
	check("eth0 down", "192.0.2.2", resolution{})
}
