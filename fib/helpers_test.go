package fib_test

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/fib"
)

// testClock is a Clock that moves only when the test says.
type testClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*testTimer]struct{}
}

type testTimer struct {
	c  *testClock
	at time.Time
	f  func()
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), timers: map[*testTimer]struct{}{}}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) AfterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &testTimer{c: c, at: c.now.Add(d), f: f}
	c.timers[t] = struct{}{}
	return t
}

func (t *testTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

// Advance moves the clock and fires the timers that fall due.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t.f)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// rt parses a desired route written like `ip route`:
// "10.1.0.0/24 via 192.0.2.1 via 198.51.100.1 weight 2", "blackhole
// 10.9.0.0/24", with "table N", "metric N" and "dev N" (an ifindex, for
// the preceding next hop) where needed.
func rt(t testing.TB, s string) fib.Route {
	t.Helper()
	f := strings.Fields(s)
	var r fib.Route
	num := func(i int) int {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			t.Fatalf("route %q: %v", s, err)
		}
		return n
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "blackhole":
			r.Blackhole = true
		case "via":
			i++
			r.NextHops = append(r.NextHops, fib.NextHop{Addr: netip.MustParseAddr(f[i])})
		case "dev":
			i++
			if len(r.NextHops) == 0 {
				r.NextHops = append(r.NextHops, fib.NextHop{})
			}
			r.NextHops[len(r.NextHops)-1].Ifindex = num(i)
		case "weight":
			i++
			r.NextHops[len(r.NextHops)-1].Weight = num(i)
		case "table":
			i++
			r.Table = num(i)
		case "metric":
			i++
			r.Metric = num(i)
		default:
			p, err := netip.ParsePrefix(f[i])
			if err != nil {
				t.Fatalf("route %q: %v", s, err)
			}
			r.Prefix = p
		}
	}
	return r
}

func routes(t testing.TB, ss ...string) []fib.Route {
	t.Helper()
	var out []fib.Route
	for _, s := range ss {
		out = append(out, rt(t, s))
	}
	return out
}

func key(t testing.TB, s string) fib.Key {
	t.Helper()
	return rt(t, s).Key()
}

// lines joins expected kernel text, one route a line.
func lines(ls ...string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}
