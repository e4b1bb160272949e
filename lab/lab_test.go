package lab

// The lab as an acceptance test (issue 8): `lab up` under a prefix and
// state directory of its own (so it never touches a person's lab), then
// the routes, the ECMP route at FRR and in the router's kernel, the pings;
// then node removal: one node that serves the LoadBalancer is stopped, and
// the router must withdraw its block and its LoadBalancer path within the
// hold time while the address stays reachable through the other node; a
// node that stops answering (frozen) is dropped when the hold timer
// expires; then `lab down`, after which nothing of the lab remains.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

const (
	testPrefix   = "gwlabt"
	testStateDir = "/run/godwit-labtest"
	// holdTime is the lab configuration's (cluster.yaml).
	holdTime = 9 * time.Second
)

func TestLab(t *testing.T) {
	netns.RequireRoot(t)
	routers.Require(t, routers.KindFRR)
	netns.RequireBinaries(t, "ping")
	godwitd, godwit := buildBinaries(t)
	out := &lineLogger{t: t}
	l := New(Options{Prefix: testPrefix, StateDir: testStateDir, Godwitd: godwitd, Godwit: godwit, Out: out, SessionTimeout: 30 * time.Second})
	ctx := context.Background()

	// A test binary killed by -timeout leaves its lab behind.
	if r, err := l.Down(ctx); err != nil {
		t.Fatalf("removing an earlier test lab: %v", err)
	} else if len(r.Namespaces) > 0 {
		t.Logf("removed an earlier test lab: %s", r.Text())
	}
	var pids []int
	t.Cleanup(func() { downAndCheck(t, l, pids) })

	rep, err := l.Up(ctx)
	if rep != nil && rep.Plan != nil {
		for _, n := range rep.Plan.Nodes {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("----- godwitd log of %s (last lines)\n%s", n.Name, tail(n.Log, 40))
				}
			})
		}
	}
	if st, _ := l.o.readState(); st != nil {
		for _, p := range st.Processes {
			pids = append(pids, p.PID)
		}
	}
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab up: from start to all pings passing in %.1f s", rep.Seconds)

	// Up's own verdict, checked here piece by piece.
	for _, s := range rep.Sessions {
		if !s.Established() {
			t.Errorf("session %s", describeSession(s))
		}
	}
	if len(rep.Sessions) != len(rep.Plan.Nodes) {
		t.Errorf("%d sessions for %d nodes", len(rep.Sessions), len(rep.Plan.Nodes))
	}
	for _, p := range rep.Pings {
		if !p.OK {
			t.Errorf("%s", p.Line())
		}
	}
	if len(rep.Pings) < len(rep.Plan.Nodes)*podsPerNode+1 {
		t.Errorf("only %d pings", len(rep.Pings))
	}

	p := rep.Plan
	h, err := openHandles(p)
	if err != nil {
		t.Fatal(err)
	}
	frr, err := l.attachRouter(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.LoadBalancers) != 1 || len(p.LoadBalancers[0].Nodes) != 2 {
		t.Fatalf("the lab's configuration should have one LoadBalancer on two nodes, has %+v", p.LoadBalancers)
	}
	lb := p.LoadBalancers[0]
	addrOf := func(node string) string { return p.node(node).Address.Addr().String() }

	t.Run("routes", func(t *testing.T) {
		// Every pod block at the router via its node, at FRR and in the
		// kernel; every node with godwit routes to the others' blocks
		// and a blackhole for its own.
		rs, err := routerRoutes(p, frr, h[p.Router.Name])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if !r.ok() {
				t.Errorf("router's route to %s (%s): FRR %v, kernel %v, want %v", r.Prefix, r.What, r.NextHops, r.KernelNextHops, r.Want)
			}
		}
		if m := missingNodeRoutes(p, h); len(m) > 0 {
			t.Errorf("node routes missing: %s", strings.Join(m, "; "))
		}
		for _, n := range p.Nodes {
			krs, err := kernelRoutes(h[n.Name], "proto", "200", "exact", n.Block.String())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(krs, func(r kernelRoute) bool { return r.Type == "blackhole" }) {
				t.Errorf("%s has no blackhole route (proto 200) for its own block %s: %+v", n.Name, n.Block, krs)
			}
		}
	})

	t.Run("ECMP at FRR", func(t *testing.T) {
		paths, err := frr.Route(routers.IPv4Unicast, lb.Prefix.String())
		if err != nil {
			t.Fatal(err)
		}
		var hops []string
		for _, path := range paths {
			if !path.Valid || !(path.Best || path.Multipath) {
				t.Errorf("path %+v is not used for ECMP", path)
			}
			hops = append(hops, path.NextHop)
		}
		slices.Sort(hops)
		want := []string{addrOf(lb.Nodes[0]), addrOf(lb.Nodes[1])}
		slices.Sort(want)
		if !slices.Equal(hops, want) {
			t.Errorf("FRR's paths to %s go via %v, want %v", lb.Prefix, hops, want)
		}
		kernel, err := kernelNextHops(h[p.Router.Name], lb.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(kernel, want) {
			t.Errorf("the router's kernel route to %s goes via %v, want one ECMP route via %v", lb.Prefix, kernel, want)
		}
	})

	t.Run("lab up again", func(t *testing.T) {
		// Idempotent: nothing is rebuilt, the same processes run.
		again, err := l.Up(ctx)
		if err != nil {
			t.Fatalf("second lab up: %v", err)
		}
		if !again.AlreadyUp {
			t.Errorf("second lab up rebuilt the lab")
		}
		st, err := l.o.readState()
		if err != nil || st == nil {
			t.Fatalf("state: %v", err)
		}
		var now []int
		for _, p := range st.Processes {
			now = append(now, p.PID)
		}
		if !slices.Equal(now, pids) {
			t.Errorf("processes after the second lab up: %v, before: %v", now, pids)
		}
		s, err := l.Status(ctx)
		if err != nil || s.State != "up" {
			t.Errorf("lab status: %v, %+v", err, s)
		}
	})

	// Node removal: stop the godwitd of the second node serving the
	// LoadBalancer (in the default configuration, node3, alone in rack b).
	gone := p.node(lb.Nodes[1])
	stays := p.node(lb.Nodes[0])
	t.Run("node removal", func(t *testing.T) {
		pid := godwitdPID(t, l, gone.Name)
		stopped := time.Now()
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The router withdraws the node's block and its LoadBalancer
		// path within the hold time.
		var last string
		err := netns.Wait(holdTime, 100*time.Millisecond, func() (bool, string) {
			block, err := frr.Route(routers.IPv4Unicast, gone.Block.String())
			if err != nil {
				return false, err.Error()
			}
			paths, err := frr.Route(routers.IPv4Unicast, lb.Prefix.String())
			if err != nil {
				return false, err.Error()
			}
			var hops []string
			for _, path := range paths {
				hops = append(hops, path.NextHop)
			}
			kernel, err := kernelNextHops(h[p.Router.Name], lb.Prefix)
			if err != nil {
				return false, err.Error()
			}
			last = fmt.Sprintf("FRR has %d paths to %s, %s via %v (kernel %v)", len(block), gone.Block, lb.Prefix, hops, kernel)
			want := []string{stays.Address.Addr().String()}
			return len(block) == 0 && slices.Equal(hops, want) && slices.Equal(kernel, want), last
		})
		if err != nil {
			t.Fatalf("after stopping %s's godwitd: %v", gone.Name, err)
		}
		t.Logf("the router withdrew %s's block and LoadBalancer path %v after its godwitd stopped (hold time %v)", gone.Name, time.Since(stopped).Round(time.Millisecond), holdTime)
		// At once, in fact: godwitd says goodbye with a Cease (DESIGN.md,
		// SIGTERM), it does not leave the router to time it out.
		if s, err := routers.SessionOf(frr, gone.Address.Addr().String()); err != nil || !strings.Contains(s.LastError, "Cease") {
			t.Errorf("the router's session with stopped %s: %+v (%v), want it closed by a Cease", gone.Name, s, err)
		}

		// The other nodes lose the block too, and the address stays
		// reachable through the node that serves it still.
		netns.Eventually(t, holdTime, 100*time.Millisecond, func() (bool, string) {
			for _, n := range p.Nodes {
				if n.Name == gone.Name {
					continue
				}
				hops, err := kernelNextHops(h[n.Name], gone.Block)
				if err != nil || len(hops) > 0 {
					return false, fmt.Sprintf("%s still routes %s via %v (%v)", n.Name, gone.Block, hops, err)
				}
			}
			return true, ""
		})
		var jobs []pingJob
		for _, j := range pingPlan(p, h) {
			if j.to == lb.Name || (!strings.HasPrefix(j.from, gone.Name+"-") && !strings.HasPrefix(j.to, gone.Name+"-")) {
				jobs = append(jobs, j)
			}
		}
		for _, r := range runPings(ctx, jobs, 5*time.Second) {
			t.Logf("%s", r.Line())
			if !r.OK {
				t.Errorf("after %s stopped: %s", gone.Name, r.Line())
			}
		}
	})

	// A node that stops answering (frozen, as by a hung kernel or a
	// partition) is dropped when the router's hold timer expires.
	t.Run("frozen node", func(t *testing.T) {
		var frozen *Node
		for i := range p.Nodes {
			if !slices.Contains(lb.Nodes, p.Nodes[i].Name) {
				frozen = &p.Nodes[i]
				break
			}
		}
		if frozen == nil {
			t.Skip("every node serves the LoadBalancer")
		}
		pid := godwitdPID(t, l, frozen.Name)
		stopped := time.Now()
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
		// The last KEEPALIVE came at most a keepalive interval before
		// the freeze, so the timer expires within the hold time of it
		// (6 to 9 s here); the slack is for a loaded test machine, and
		// the session's last error below says it was the hold timer.
		err := netns.Wait(holdTime+3*time.Second, 100*time.Millisecond, func() (bool, string) {
			paths, err := frr.Route(routers.IPv4Unicast, frozen.Block.String())
			if err != nil {
				return false, err.Error()
			}
			return len(paths) == 0, fmt.Sprintf("FRR still has %d paths to %s", len(paths), frozen.Block)
		})
		if err != nil {
			t.Fatalf("after freezing %s's godwitd: %v", frozen.Name, err)
		}
		t.Logf("the router dropped frozen %s's block after %v (hold time %v)", frozen.Name, time.Since(stopped).Round(time.Millisecond), holdTime)
		s, err := routers.SessionOf(frr, frozen.Address.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if s.Established() || !strings.Contains(strings.ToLower(s.LastError), "hold") {
			t.Errorf("session with frozen %s: %+v, want it down for the hold timer", frozen.Name, s)
		}
	})
}

// godwitdPID returns the recorded PID of a node's godwitd.
func godwitdPID(t *testing.T, l *Lab, node string) int {
	t.Helper()
	st, err := l.o.readState()
	if err != nil || st == nil {
		t.Fatalf("lab record: %v", err)
	}
	for _, p := range st.Processes {
		if p.Name == "godwitd" && p.Member == node {
			return p.PID
		}
	}
	t.Fatalf("no godwitd of %s in the record", node)
	return 0
}

// downAndCheck runs lab down and checks that nothing of the lab remains.
func downAndCheck(t *testing.T, l *Lab, pids []int) {
	r, err := l.Down(context.Background())
	if err != nil {
		t.Errorf("lab down: %v", err)
	}
	if r != nil {
		t.Logf("lab down: %s", strings.TrimSpace(r.Text()))
	}
	if names, _ := netns.List(testPrefix + "-"); len(names) > 0 {
		t.Errorf("namespaces left after lab down: %v", names)
	}
	for _, pid := range pids {
		if readProc(pid).running() {
			t.Errorf("process %d (%s) left after lab down", pid, readProc(pid).program())
		}
	}
	if exists(testStateDir) {
		t.Errorf("%s left after lab down", testStateDir)
	}
	// A second down finds nothing.
	if r, err := l.Down(context.Background()); err != nil || len(r.Namespaces)+len(r.Stopped) > 0 {
		t.Errorf("second lab down: %v, %+v", err, r)
	}
}

var (
	buildOnce  sync.Once
	builtDir   string
	buildError error
)

// buildBinaries builds godwitd and godwit once per test binary.
func buildBinaries(t *testing.T) (godwitd, godwit string) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "godwit-lab-bin-")
		if err != nil {
			buildError = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/godwitd", "./cmd/godwit")
		cmd.Dir = filepath.Dir(filepath.Dir(file))
		if out, err := cmd.CombinedOutput(); err != nil {
			buildError = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		builtDir = dir
	})
	if buildError != nil {
		t.Fatal(buildError)
	}
	return filepath.Join(builtDir, "godwitd"), filepath.Join(builtDir, "godwit")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// lineLogger passes the lab's output to t.Log, a line at a time.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lineLogger) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(b), nil
		}
		w.t.Log(strings.TrimRight(line, "\n"))
	}
}

func writeExec(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
