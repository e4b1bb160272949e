package fib_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/fib/fake"
)

// env is one reconciler running against a fake kernel with three
// interfaces: eth0 (2) on 192.0.2.0/24, eth1 (3) on 198.51.100.0/24 and
// eth2 (4) on 2001:db8:1::/64.
type env struct {
	t     *testing.T
	k     *fake.Kernel
	clock *testClock
	r     *fib.Reconciler
	ctx   context.Context
}

func newKernel() *fake.Kernel {
	k := fake.New()
	k.AddLink(1, "lo", "")
	k.AddLink(2, "eth0", "192.0.2.0/24")
	k.AddLink(3, "eth1", "198.51.100.0/24")
	k.AddLink(4, "eth2", "2001:db8:1::/64")
	return k
}

// start makes the reconciler, adopts when asked, runs it, and stops it
// (checking that Run returns) when the test ends.
func start(t *testing.T, k *fake.Kernel, cfg fib.Config, adopt bool) *env {
	t.Helper()
	clock := newTestClock()
	cfg.Clock = clock
	r, err := fib.New(k, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if adopt {
		if _, err := r.Adopt(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	e := &env{t: t, k: k, clock: clock, r: r, ctx: ctx}
	// The first pass lists the kernel (or not, after Adopt); wait for it.
	if err := r.Sync(ctx); err != nil {
		t.Logf("first sync: %v", err)
	}
	k.Log()
	return e
}

// text is the kernel's routes but the connected ones.
func (e *env) text() string {
	var out []string
	for _, l := range strings.SplitAfter(e.k.Text(), "\n") {
		if l != "" && !strings.Contains(l, " proto 2 ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

type step struct {
	name string
	do   func(e *env) error
	// want is the kernel's text afterwards (connected routes left out).
	want string
	// wantErr is a substring of do's error; empty: no error.
	wantErr string
	// wantOps are the ops the kernel saw during the step, in any order;
	// nil: not checked.
	wantOps []string
	// ordered: wantOps must come in this order.
	ordered bool
	check   func(t *testing.T, e *env)
}

func set(t *testing.T, ss ...string) func(e *env) error {
	rs := routes(t, ss...)
	return func(e *env) error { return e.r.Set(e.ctx, rs) }
}

func syncAfter(d time.Duration) func(e *env) error {
	return func(e *env) error {
		e.clock.Advance(d)
		return e.r.Sync(e.ctx)
	}
}

func wantStatus(f func(s fib.Status) string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		if msg := f(e.r.Status()); msg != "" {
			t.Errorf("status: %s (%+v)", msg, e.r.Status())
		}
	}
}

const (
	a1    = "table 254 proto 200 10.1.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1"
	a1b1  = "table 254 proto 200 10.1.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1 nexthop via 198.51.100.1 dev eth1 weight 1"
	b2    = "table 254 proto 200 10.2.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1"
	c3    = "table 254 proto 200 10.3.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1"
	v6    = "table 254 proto 200 2001:db8:99::/48 metric 20 nexthop via 2001:db8:1::1 dev eth2 weight 1"
	hole  = "table 254 proto 200 blackhole 10.9.0.0/24 metric 20"
	frr1  = "table 254 proto 186 10.1.0.0/24 metric 20 nexthop via 192.0.2.9 dev eth0 weight 1"
	stat2 = "table 254 proto 4 10.2.0.0/24 metric 0 nexthop via 198.51.100.9 dev eth1 weight 1"
	t100  = "table 100 proto 200 10.7.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1"
)

func TestReconcilerStates(t *testing.T) {
	tests := []struct {
		name  string
		cfg   fib.Config
		seed  func(t *testing.T, k *fake.Kernel)
		adopt bool
		steps []step
	}{
		{
			name: "add, ECMP growth and shrink, withdraw",
			steps: []step{
				{
					name:    "add",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1"),
					want:    lines(a1),
					wantOps: []string{"add 10.1.0.0/24 table 254 metric 20"},
				},
				{
					name:    "second next hop: one multipath route, replaced in place",
					do:      set(t, "10.1.0.0/24 via 198.51.100.1 via 192.0.2.1"),
					want:    lines(a1b1),
					wantOps: []string{"replace 10.1.0.0/24 table 254 metric 20"},
				},
				{
					name: "third next hop with weight",
					do:   set(t, "10.1.0.0/24 via 198.51.100.1 via 192.0.2.1 via 192.0.2.2 weight 3"),
					want: lines("table 254 proto 200 10.1.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1" +
						" nexthop via 192.0.2.2 dev eth0 weight 3 nexthop via 198.51.100.1 dev eth1 weight 1"),
					wantOps: []string{"replace 10.1.0.0/24 table 254 metric 20"},
				},
				{
					name:    "same set again: nothing to do",
					do:      set(t, "10.1.0.0/24 via 192.0.2.2 weight 3 via 198.51.100.1 via 192.0.2.1"),
					want:    lines("table 254 proto 200 10.1.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1 nexthop via 192.0.2.2 dev eth0 weight 3 nexthop via 198.51.100.1 dev eth1 weight 1"),
					wantOps: []string{},
				},
				{
					name:    "shrink to one next hop",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1"),
					want:    lines(a1),
					wantOps: []string{"replace 10.1.0.0/24 table 254 metric 20"},
				},
				{
					name: "update: IPv6 route and a blackhole",
					do: func(e *env) error {
						return e.r.Update(e.ctx, routes(e.t, "2001:db8:99::/48 via 2001:db8:1::1", "blackhole 10.9.0.0/24"), nil)
					},
					want: lines(a1, hole, v6),
					wantOps: []string{
						"add 10.9.0.0/24 table 254 metric 20",
						"add 2001:db8:99::/48 table 254 metric 20",
					},
				},
				{
					name: "update: withdraw the IPv4 route",
					do: func(e *env) error {
						return e.r.Update(e.ctx, nil, []fib.Key{key(e.t, "10.1.0.0/24")})
					},
					want:    lines(hole, v6),
					wantOps: []string{"delete 10.1.0.0/24 table 254 metric 20"},
				},
				{
					name: "withdraw everything",
					do:   set(t),
					want: "",
					wantOps: []string{
						"delete 10.9.0.0/24 table 254 metric 20",
						"delete 2001:db8:99::/48 table 254 metric 20",
					},
					check: wantStatus(func(s fib.Status) string {
						if s.Desired != 0 || s.Installed != 0 || s.Err != nil || s.Added != 3 || s.Replaced != 3 || s.Deleted != 3 {
							return "want 0 desired, 0 installed, healthy, 3 added, 3 replaced, 3 deleted"
						}
						return ""
					}),
				},
			},
		},
		{
			name: "other protocols and tables untouched",
			seed: func(t *testing.T, k *fake.Kernel) {
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.1.0.0/24 via 192.0.2.9 metric 20"), Protocol: 186})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.2.0.0/24 via 198.51.100.9"), Protocol: 4})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.7.0.0/24 via 192.0.2.1 metric 20 table 100"), Protocol: 200})
			},
			steps: []step{
				{
					name:    "start",
					do:      func(e *env) error { return e.r.Sync(e.ctx) },
					want:    lines(t100, frr1, stat2),
					wantOps: []string{},
				},
				{
					name: "ours beside theirs; FRR's route with our identity is not replaced",
					do:   set(t, "10.1.0.0/24 via 192.0.2.1", "10.2.0.0/24 via 192.0.2.1"),
					want: lines(t100, frr1, stat2, b2),
					wantOps: []string{
						"add 10.1.0.0/24 table 254 metric 20 failed",
						"add 10.2.0.0/24 table 254 metric 20",
					},
					wantErr: "add 10.1.0.0/24 table 254: add 10.1.0.0/24: route exists",
				},
				{
					name:    "a table not owned is refused, the rest kept",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1", "10.2.0.0/24 via 192.0.2.1", "10.7.0.0/24 via 192.0.2.1 table 100"),
					want:    lines(t100, frr1, stat2, b2),
					wantOps: []string{},
					wantErr: "route 10.7.0.0/24: table 100 is not owned by this reconciler",
				},
				{
					name: "FRR withdraws: ours goes in at the next retry",
					do: func(e *env) error {
						e.k.DeleteRoute(254, "10.1.0.0/24", 20)
						return syncAfter(time.Second)(e)
					},
					want:    lines(t100, a1, stat2, b2),
					wantOps: []string{"add 10.1.0.0/24 table 254 metric 20"},
				},
				{
					name: "withdraw: only our routes go",
					do:   set(t),
					want: lines(t100, stat2),
					wantOps: []string{
						"delete 10.1.0.0/24 table 254 metric 20",
						"delete 10.2.0.0/24 table 254 metric 20",
					},
				},
			},
		},
		{
			name: "cold start removes our stale routes at once",
			seed: func(t *testing.T, k *fake.Kernel) {
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.1.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.2.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
			},
			steps: []step{
				{
					name: "first pass removed both",
					do:   func(e *env) error { return e.r.Sync(e.ctx) },
					want: "",
				},
				{
					name:    "then routes are added as desired",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1"),
					want:    lines(a1),
					wantOps: []string{"add 10.1.0.0/24 table 254 metric 20"},
				},
			},
		},
		{
			name:  "adopt, then converge: stale routes go, kept ones are never re-added",
			adopt: true,
			seed: func(t *testing.T, k *fake.Kernel) {
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.1.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.2.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.3.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.4.0.0/24 via 192.0.2.1 metric 30"), Protocol: 200})
			},
			steps: []step{
				{
					name:    "adopted routes stay",
					do:      func(e *env) error { return e.r.Sync(e.ctx) },
					want:    lines(a1, b2, c3, "table 254 proto 200 10.4.0.0/24 metric 30 nexthop via 192.0.2.1 dev eth0 weight 1"),
					wantOps: []string{},
					check: func(t *testing.T, e *env) {
						if s := e.r.Status(); !s.Holding || s.Held != 4 || s.Installed != 4 {
							t.Errorf("status %+v: want holding 4 adopted routes", s)
						}
						d, err := e.r.Diff(e.ctx, true)
						if err != nil {
							t.Fatal(err)
						}
						var got []string
						for _, x := range d {
							got = append(got, strings.SplitN(x.String(), "\n", 2)[0])
						}
						want := []string{"held 10.1.0.0/24 table 254", "held 10.2.0.0/24 table 254", "held 10.3.0.0/24 table 254", "held 10.4.0.0/24 table 254"}
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("Diff (-want +got):\n%s", diff)
						}
					},
				},
				{
					name: "RIB re-learns: same route untouched, changed one replaced in place, metric change added",
					do:   set(t, "10.1.0.0/24 via 192.0.2.1", "10.3.0.0/24 via 198.51.100.1", "10.4.0.0/24 via 192.0.2.1"),
					want: lines(a1, b2,
						"table 254 proto 200 10.3.0.0/24 metric 20 nexthop via 198.51.100.1 dev eth1 weight 1",
						"table 254 proto 200 10.4.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1"),
					wantOps: []string{
						"replace 10.3.0.0/24 table 254 metric 20",
						"add 10.4.0.0/24 table 254 metric 20",
						"delete 10.4.0.0/24 table 254 metric 30",
					},
					check: wantStatus(func(s fib.Status) string {
						if !s.Holding || s.Held != 1 || s.Installed != 4 {
							return "want holding 1 stale route"
						}
						return ""
					}),
				},
				{
					name: "converged: only the stale ones go",
					do: func(e *env) error {
						e.r.Converged()
						return e.r.Sync(e.ctx)
					},
					want: lines(a1,
						"table 254 proto 200 10.3.0.0/24 metric 20 nexthop via 198.51.100.1 dev eth1 weight 1",
						"table 254 proto 200 10.4.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1"),
					wantOps: []string{"delete 10.2.0.0/24 table 254 metric 20"},
					check: wantStatus(func(s fib.Status) string {
						if s.Holding || s.Held != 0 || s.Installed != 3 || s.Err != nil {
							return "want no hold, 3 installed, healthy"
						}
						return ""
					}),
				},
			},
		},
		{
			name:  "adopt, then the hold timer",
			adopt: true,
			cfg:   fib.Config{HoldTime: time.Minute},
			seed: func(t *testing.T, k *fake.Kernel) {
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.1.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.2.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
			},
			steps: []step{
				{
					name: "before the hold time",
					do: func(e *env) error {
						if err := set(e.t, "10.1.0.0/24 via 192.0.2.1")(e); err != nil {
							return err
						}
						return syncAfter(59 * time.Second)(e)
					},
					want:    lines(a1, b2),
					wantOps: []string{},
				},
				{
					name:    "hold time over",
					do:      syncAfter(time.Second),
					want:    lines(a1),
					wantOps: []string{"delete 10.2.0.0/24 table 254 metric 20"},
				},
			},
		},
		{
			name: "partial failure retried with backoff",
			cfg:  fib.Config{RetryMin: time.Second, RetryMax: 4 * time.Second},
			steps: []step{
				{
					name: "one of three fails",
					do: func(e *env) error {
						e.k.FailWith(func(_ fib.Protocol, op fib.Op) error {
							if op.Route.Prefix.String() == "10.2.0.0/24" {
								return fake.ErrInjected
							}
							return nil
						})
						return set(e.t, "10.1.0.0/24 via 192.0.2.1", "10.2.0.0/24 via 192.0.2.1", "10.3.0.0/24 via 192.0.2.1")(e)
					},
					want:    lines(a1, c3),
					wantErr: "add 10.2.0.0/24 table 254: add 10.2.0.0/24: injected failure",
					check: wantStatus(func(s fib.Status) string {
						if s.Failed != 1 || s.Pending != 1 || s.Err == nil || !errors.Is(s.LastError, fake.ErrInjected) {
							return "want 1 failed, pending, unhealthy"
						}
						return ""
					}),
				},
				{
					name:    "retried after 1s, fails again",
					do:      syncAfter(time.Second),
					want:    lines(a1, c3),
					wantOps: []string{"add 10.2.0.0/24 table 254 metric 20 failed"},
					wantErr: "injected failure",
				},
				{
					name:    "not before the doubled backoff (2s)",
					do:      syncAfter(time.Second),
					want:    lines(a1, c3),
					wantOps: []string{},
					wantErr: "injected failure",
				},
				{
					name: "the kernel takes it at the next retry",
					do: func(e *env) error {
						e.k.FailWith(nil)
						return syncAfter(time.Second)(e)
					},
					want:    lines(a1, b2, c3),
					wantOps: []string{"add 10.2.0.0/24 table 254 metric 20"},
					check: wantStatus(func(s fib.Status) string {
						if s.Failed != 0 || s.Pending != 0 || s.Err != nil || s.LastError == nil {
							return "want healthy, with the last error kept"
						}
						return ""
					}),
				},
			},
		},
		{
			name: "unreachable gateway retried when a link comes up; link down reinstalls",
			steps: []step{
				{
					name:    "no connected network for 203.0.113.1",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1", "10.5.0.0/24 via 203.0.113.1"),
					want:    lines(a1),
					wantErr: "network is unreachable",
				},
				{
					name: "a new interface on 203.0.113.0/24: retried at once",
					do: func(e *env) error {
						e.k.AddLink(5, "eth3", "203.0.113.0/24")
						return e.r.Sync(e.ctx)
					},
					want:    lines(a1, "table 254 proto 200 10.5.0.0/24 metric 20 nexthop via 203.0.113.1 dev eth3 weight 1"),
					wantOps: []string{"add 10.5.0.0/24 table 254 metric 20"},
				},
				{
					name: "eth3 down: the kernel drops the route silently; the reconciler notices",
					do: func(e *env) error {
						e.k.SetLinkUp(5, false)
						return e.r.Sync(e.ctx)
					},
					want:    lines(a1),
					wantOps: []string{"add 10.5.0.0/24 table 254 metric 20 failed"},
					wantErr: "network is unreachable",
				},
				{
					name: "eth3 up again: reinstalled",
					do: func(e *env) error {
						e.k.SetLinkUp(5, true)
						return e.r.Sync(e.ctx)
					},
					want:    lines(a1, "table 254 proto 200 10.5.0.0/24 metric 20 nexthop via 203.0.113.1 dev eth3 weight 1"),
					wantOps: []string{"add 10.5.0.0/24 table 254 metric 20"},
				},
			},
		},
		{
			name: "metric change: new route in before the old one goes",
			steps: []step{
				{name: "add", do: set(t, "10.1.0.0/24 via 192.0.2.1"), want: lines(a1)},
				{
					name:    "metric 30",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1 metric 30"),
					want:    lines("table 254 proto 200 10.1.0.0/24 metric 30 nexthop via 192.0.2.1 dev eth0 weight 1"),
					ordered: true,
					wantOps: []string{"add 10.1.0.0/24 table 254 metric 30", "delete 10.1.0.0/24 table 254 metric 20"},
				},
			},
		},
		{
			name: "no-fib dry run reads and never writes",
			cfg:  fib.Config{DryRun: true},
			seed: func(t *testing.T, k *fake.Kernel) {
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.2.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
				k.AddRoute(fib.KernelRoute{Route: rt(t, "10.3.0.0/24 via 192.0.2.1 metric 20"), Protocol: 200})
			},
			steps: []step{
				{
					name:    "desired differs from installed",
					do:      set(t, "10.1.0.0/24 via 192.0.2.1", "10.3.0.0/24 via 198.51.100.1"),
					want:    lines(b2, c3),
					wantOps: []string{},
					check: func(t *testing.T, e *env) {
						s := e.r.Status()
						if !s.DryRun || s.Pending != 3 || s.Installed != 2 || s.Desired != 2 || s.Err != nil {
							t.Errorf("status %+v: want dry run with 3 pending", s)
						}
						d, err := e.r.Diff(e.ctx, false)
						if err != nil {
							t.Fatal(err)
						}
						var got []string
						for _, x := range d {
							got = append(got, x.String())
						}
						want := []string{
							"add 10.1.0.0/24 table 254\n  desired:   10.1.0.0/24 table 254 metric 20 nexthop via 192.0.2.1 weight 1",
							"delete 10.2.0.0/24 table 254\n  installed: 10.2.0.0/24 table 254 metric 20 nexthop via 192.0.2.1 dev #2 weight 1",
							"replace 10.3.0.0/24 table 254\n  desired:   10.3.0.0/24 table 254 metric 20 nexthop via 198.51.100.1 weight 1\n  installed: 10.3.0.0/24 table 254 metric 20 nexthop via 192.0.2.1 dev #2 weight 1",
						}
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("Diff (-want +got):\n%s", diff)
						}
					},
				},
				{
					name:    "retries never write either",
					do:      syncAfter(time.Hour),
					want:    lines(b2, c3),
					wantOps: []string{},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKernel()
			if tc.seed != nil {
				tc.seed(t, k)
			}
			e := start(t, k, tc.cfg, tc.adopt)
			for _, st := range tc.steps {
				e.t = t
				err := st.do(e)
				switch {
				case st.wantErr == "" && err != nil:
					t.Errorf("%s: unexpected error: %v", st.name, err)
				case st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)):
					t.Errorf("%s: error %v, want one containing %q", st.name, err, st.wantErr)
				}
				if diff := cmp.Diff(st.want, e.text()); diff != "" {
					t.Errorf("%s: kernel (-want +got):\n%s", st.name, diff)
				}
				ops := e.k.Log()
				if st.wantOps != nil {
					got := slices.Clone(ops)
					want := slices.Clone(st.wantOps)
					slices.Sort(got)
					slices.Sort(want)
					if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
						t.Errorf("%s: ops (-want +got):\n%s\nin order: %q", st.name, diff, ops)
					}
					if st.ordered && !slices.Equal(ops, st.wantOps) {
						t.Errorf("%s: ops %q, want the add before the delete", st.name, ops)
					}
				}
				if st.check != nil {
					st.check(t, e)
				}
			}
		})
	}
}

// cmpEmpty makes a nil and an empty slice equal.
var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })
