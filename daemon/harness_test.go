package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/fib/fake"
	"github.com/godwit-bgp/godwit/peer"
)

// Tests run speakers on loopback addresses of a /24 of their own
// (127.<n>.<pid>.0/24), all on one free port, so that daemons in one
// process peer with each other and tests never collide, here or with other
// test processes on the machine.
var subnetSeq atomic.Uint32

type lab struct {
	t      *testing.T
	prefix string // "127.N.P."
	port   uint16
}

func newLab(t *testing.T) *lab {
	t.Helper()
	n := 20 + subnetSeq.Add(1)%200
	l := &lab{t: t, prefix: fmt.Sprintf("127.%d.%d.", n, os.Getpid()%250+1)}
	ln, err := net.Listen("tcp", l.addr(1)+":0")
	if err != nil {
		t.Fatal(err)
	}
	l.port = uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return l
}

// addr is the lab's host i.
func (l *lab) addr(i int) string { return fmt.Sprintf("%s%d", l.prefix, i) }

func (l *lab) ip(i int) netip.Addr { return netip.MustParseAddr(l.addr(i)) }

// speaker is one daemon of a test.
type speaker struct {
	t    *testing.T
	d    *Daemon
	path string
	done chan error
}

// start writes yaml (with {{A1}}.., {{PORT}} replaced) and runs a daemon
// on it, stopped (hard) at the end of the test. Its kernel is a fake one
// where every address is reachable.
func (l *lab) start(name, yaml string) *speaker {
	l.t.Helper()
	return l.startKernel(name, yaml, fake.NewReachable())
}

// startKernel is start with the given fake kernel.
func (l *lab) startKernel(name, yaml string, k *fake.Kernel) *speaker {
	l.t.Helper()
	return l.startOpts(name, yaml, k, nil)
}

// startOpts is startKernel with options of the test's (mod may be nil).
func (l *lab) startOpts(name, yaml string, k *fake.Kernel, mod func(*Options)) *speaker {
	l.t.Helper()
	s := &speaker{t: l.t, path: filepath.Join(l.t.TempDir(), name+".yaml"), done: make(chan error, 1)}
	s.write(l.expand(yaml))
	opt := Options{Kernel: k, ConfigPath: s.path, PeerPort: l.port, IdleHoldTime: 50 * time.Millisecond,
		MonitorInterval: 10 * time.Millisecond, Logger: testLogger(l.t, name), Version: "test"}
	if mod != nil {
		mod(&opt)
	}
	d, err := New(opt)
	if err != nil {
		l.t.Fatalf("%s: New: %v", name, err)
	}
	s.d = d
	go func() { s.done <- d.Run(context.Background()) }()
	l.t.Cleanup(func() { s.stop(true) })
	return s
}

func (l *lab) expand(yaml string) string {
	pairs := []string{"{{PORT}}", fmt.Sprint(l.port)}
	for i := 1; i <= 9; i++ {
		pairs = append(pairs, fmt.Sprintf("{{A%d}}", i), l.addr(i))
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace(yaml)
}

func (s *speaker) write(yaml string) {
	s.t.Helper()
	if err := os.WriteFile(s.path, []byte(yaml), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// reload writes the new file and reloads it.
func (s *speaker) reload(l *lab, yaml string) error {
	s.t.Helper()
	s.write(l.expand(yaml))
	return s.d.Reload()
}

// stop stops the daemon and waits for Run.
func (s *speaker) stop(hard bool) {
	s.d.Stop(hard)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("Run: %v", err)
		}
		s.done <- nil // later calls return at once
	case <-time.After(20 * time.Second):
		buf := make([]byte, 1<<20)
		s.t.Fatalf("Run did not return after Stop\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func (s *speaker) neighbor(addr netip.Addr) NeighborInfo {
	s.t.Helper()
	n, err := s.d.Neighbor(addr)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// waitState waits until the session with addr is in state st.
func (s *speaker) waitState(addr netip.Addr, st peer.State) NeighborInfo {
	s.t.Helper()
	var n NeighborInfo
	eventually(s.t, 20*time.Second, func() (bool, string) {
		var err error
		n, err = s.d.Neighbor(addr)
		if err != nil {
			return false, err.Error()
		}
		return n.Status.State == st, fmt.Sprintf("session with %s is %s (%s), want %s", addr, n.Status.State, n.Status.LastError, st)
	})
	return n
}

// routes lists the daemon's table.
func (s *speaker) routes(q RouteQuery) []Route {
	s.t.Helper()
	rs, err := s.d.Routes(q)
	if err != nil {
		s.t.Fatal(err)
	}
	return rs
}

// routeTexts is a table as "prefix via next-hop path [..] from peer" lines.
func routeTexts(rs []Route) []string {
	var out []string
	for _, r := range rs {
		from := "local"
		if r.Peer.IsValid() {
			from = r.Peer.String()
		}
		best := ""
		if r.Best {
			best = " best"
		}
		out = append(out, fmt.Sprintf("%s via %s path [%s] from %s%s", r.Text, r.NextHop, r.ASPath, from, best))
	}
	return out
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger writes to t.Log, labelled.
func testLogger(t *testing.T, name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("speaker", name)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}
