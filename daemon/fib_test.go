package daemon

// The kernel FIB against a fake kernel: best routes installed with their
// gateway (recursively resolved), a next hop that becomes unreachable, a
// withdrawal, and routes of a previous run adopted and kept until the RIB
// has converged.

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/fib/fake"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
)

// fibPolicy sets the next hops B sends A: 203.0.113.0/24 through a
// connected address of A's, 203.0.114.0/24 through one reached via a
// gateway (recursive).
const fibPolicy = `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: to-a}
spec:
  statements:
  - name: direct
    conditions: {prefixSet: [{prefix: 203.0.113.0/24}]}
    actions: {result: accept, set: {nextHop: 198.51.100.7}}
  - name: recursive
    conditions: {prefixSet: [{prefix: 203.0.114.0/24}]}
    actions: {result: accept, set: {nextHop: 10.99.0.5}}
`

// fibKernel is A's kernel: two interfaces and a route to 10.99.0.0/16
// through a gateway on the second.
func fibKernel() *fake.Kernel {
	k := fake.New()
	k.AddLink(1, "eth0", "198.51.100.0/24")
	k.AddLink(2, "eth1", "192.0.2.0/24")
	k.AddRoute(fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix("10.99.0.0/16"),
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("192.0.2.1")}}, Metric: 10}, Protocol: 3})
	return k
}

// kernelLines are the lines of k's routes of protocol 200 that mention
// prefix.
func kernelLines(k *fake.Kernel, prefix string) []string {
	var out []string
	for _, line := range strings.Split(k.Text(fib.DefaultProtocol), "\n") {
		if strings.Contains(line, " "+prefix+" ") {
			out = append(out, line)
		}
	}
	return out
}

func waitKernel(t *testing.T, k *fake.Kernel, prefix, want string) {
	t.Helper()
	eventually(t, 20*time.Second, func() (bool, string) {
		got := strings.Join(kernelLines(k, prefix), "\n")
		if want == "" {
			return got == "", fmt.Sprintf("kernel route %s should be gone; have %q", prefix, got)
		}
		return strings.Contains(got, want), fmt.Sprintf("kernel route %s: want %q, have %q\nkernel:\n%s", prefix, want, got, k.Text())
	})
}

func TestKernelRoutesFollowTheRIB(t *testing.T) {
	l := newLab(t)
	k := fibKernel()
	a := l.startKernel("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", ", kernelMetric: 77", []string{"{{A2}}|65002"}), k)
	bCfg := func(prefixes ...string) string {
		return speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001|exportPolicy: to-a"}, prefixes...) + fibPolicy
	}
	b := l.start("b", bCfg("203.0.113.0/24", "203.0.114.0/24"))
	b.waitState(l.ip(1), peer.Established)

	waitKernel(t, k, "203.0.113.0/24", "metric 77 nexthop via 198.51.100.7 dev eth0")
	waitKernel(t, k, "203.0.114.0/24", "nexthop via 192.0.2.1 dev eth1") // through the gateway of 10.99.0.0/16

	// The route that resolves 10.99.0.5 goes: the path loses (no best
	// path), and its kernel route goes with it.
	k.DeleteRoute(fib.MainTable, "10.99.0.0/16", 10)
	waitKernel(t, k, "203.0.114.0/24", "")
	a.waitRoute("203.0.114.0/24", "a path that is not best", func(rs []Route) bool {
		return len(rs) == 1 && !rs[0].Best
	})
	// It comes back with the route.
	k.AddRoute(fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix("10.99.0.0/16"),
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("192.0.2.1")}}, Metric: 10}, Protocol: 3})
	waitKernel(t, k, "203.0.114.0/24", "nexthop via 192.0.2.1 dev eth1")

	// A withdrawal removes the kernel route; the other stays.
	if err := b.reload(l, bCfg("203.0.114.0/24")); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, k, "203.0.113.0/24", "")
	waitKernel(t, k, "203.0.114.0/24", "nexthop via 192.0.2.1")

	st, err := a.d.FIB(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.Installed != 1 || st.Status.Desired != 1 || len(st.Entries) != 1 {
		t.Errorf("FIB status: %+v, entries %v", st.Status, st.Entries)
	}
	if i := slices.IndexFunc(st.NextHops, func(n rib.NextHop) bool { return n.Addr == netip.MustParseAddr("10.99.0.5") }); i < 0 || !st.NextHops[i].Resolvable || st.NextHops[i].Cost != 10 {
		t.Errorf("tracked next hops: %+v", st.NextHops)
	}

	// A plain stop removes A's routes.
	a.stop(true)
	if got := k.Text(fib.DefaultProtocol); got != "" {
		t.Errorf("kernel routes left after a plain stop:\n%s", got)
	}
}

func TestKernelRoutesAdoptedAtRestart(t *testing.T) {
	l := newLab(t)
	k := fibKernel()
	// What a previous run left: a route still right, and one that is not.
	for _, p := range []struct{ prefix, via string }{{"203.0.113.0/24", "198.51.100.7"}, {"198.18.99.0/24", "198.51.100.9"}} {
		k.AddRoute(fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix(p.prefix),
			NextHops: []fib.NextHop{{Addr: netip.MustParseAddr(p.via)}}, Metric: fib.DefaultMetric}, Protocol: fib.DefaultProtocol})
	}
	k.Log()
	a := l.startKernel("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}), k)
	// Until B is up and has sent End-of-RIB, both are kept.
	var st FIB
	eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		st, err = a.d.FIB(t.Context(), true)
		return err == nil, fmt.Sprint("FIB: ", err)
	})
	if st.Adopted != 2 || st.Converged || st.Status.Installed != 2 {
		t.Errorf("before any peer: adopted %d, converged %v, %+v", st.Adopted, st.Converged, st.Status)
	}
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001|exportPolicy: to-a"},
		"203.0.113.0/24")+fibPolicy)
	b.waitState(l.ip(1), peer.Established)
	waitKernel(t, k, "198.18.99.0/24", "")
	waitKernel(t, k, "203.0.113.0/24", "nexthop via 198.51.100.7")
	for _, op := range k.Log() {
		if strings.Contains(op, "203.0.113.0/24") && !strings.HasPrefix(op, "replace") {
			t.Errorf("the route still right was touched other than in place: %q", op)
		}
	}
	if st, _ := a.d.FIB(t.Context(), false); !st.Converged {
		t.Errorf("not converged after End-of-RIB")
	}
}

func TestRedistributionFollowsTheKernel(t *testing.T) {
	l := newLab(t)
	k := fibKernel()
	redist := `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Redistribution
metadata: {name: statics}
spec: {source: kernel, protocols: [static], interfaces: ["eth*"], communities: ["65001:7"]}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Redistribution
metadata: {name: links}
spec: {source: connected, interfaces: [eth1]}
`
	l.startKernel("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"})+redist, k)
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001"}))
	b.waitState(l.ip(1), peer.Established)

	// eth1's network is connected; eth0's is not selected; 10.99.0.0/16
	// is of protocol boot, not static.
	b.waitRoute("192.0.2.0/24", "from A", func(rs []Route) bool { return len(rs) == 1 })
	static := fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix("203.0.113.0/24"),
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("198.51.100.7")}}}, Protocol: 4}
	k.AddRoute(static)
	rs := b.waitRoute("203.0.113.0/24", "from A", func(rs []Route) bool { return len(rs) == 1 })
	if got := fmt.Sprint(rs[0].Attrs); !strings.Contains(got, "65001:7") {
		t.Errorf("redistributed route without the Redistribution's community: %s", got)
	}
	for _, p := range []string{"198.51.100.0/24", "10.99.0.0/16"} {
		if rs := b.routes(RouteQuery{Prefix: netip.MustParsePrefix(p)}); len(rs) != 0 {
			t.Errorf("%s should not be redistributed: %q", p, routeTexts(rs))
		}
	}
	k.DeleteRoute(fib.MainTable, "203.0.113.0/24", 0)
	b.waitRoute("203.0.113.0/24", "withdrawn", func(rs []Route) bool { return len(rs) == 0 })
}

func TestGracefulRestartAfterKeptRoutes(t *testing.T) {
	l := newLab(t)
	k := fibKernel()
	// The previous run stopped gracefully and left its route.
	k.AddRoute(fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix("203.0.113.0/24"),
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("198.51.100.7")}}, Metric: fib.DefaultMetric}, Protocol: fib.DefaultProtocol})
	gr := ", gracefulRestart: {enabled: true, selectionDeferralTime: 60}"
	a := l.startKernel("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", gr, []string{"{{A2}}|65002"}, "10.1.0.0/24"), k)
	eventually(t, 20*time.Second, func() (bool, string) {
		_, err := a.d.FIB(t.Context(), false)
		return err == nil, fmt.Sprint(err)
	})
	if r, f := a.d.restartState(); !r || !f {
		t.Fatalf("restarting with kept routes: R %v F %v, want both set", r, f)
	}
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001|exportPolicy: to-a"},
		"203.0.113.0/24")+fibPolicy)
	// B's End-of-RIB ends the deferral: A's route reaches B, the R bit
	// is cleared for later sessions, and the kept kernel route stayed.
	b.waitRoute("10.1.0.0/24", "from A after the deferral", func(rs []Route) bool { return len(rs) == 1 })
	eventually(t, 20*time.Second, func() (bool, string) {
		r, _ := a.d.restartState()
		return !r, "R bit still set after every peer's End-of-RIB"
	})
	waitKernel(t, k, "203.0.113.0/24", "nexthop via 198.51.100.7")
	for _, op := range k.Log() {
		if strings.Contains(op, "203.0.113.0/24") && !strings.HasPrefix(op, "replace") {
			t.Errorf("the kept route was touched other than in place: %q", op)
		}
	}
	// A graceful stop keeps the routes for the next run.
	a.stop(false)
	if got := kernelLines(k, "203.0.113.0/24"); len(got) != 1 {
		t.Errorf("after a graceful stop: %q, want the route kept", got)
	}
}
