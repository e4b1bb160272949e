package bench

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const mib = 1 << 20

// TestIdleSampler checks the sums over samples: CPU counted from the first
// sample, a process born later counted from zero, one that exits keeping
// what it had used, RSS summed per sample, and the extremes.
func TestIdleSampler(t *testing.T) {
	t0 := time.Unix(1000, 0)
	proc := func(pid int, ticks, rss int64) Process { return Process{PID: pid, CPUTicks: ticks, RSS: rss} }
	s := newIdleSampler(t0, []Process{proc(1, 100, 10*mib), proc(2, 50, 5*mib)})
	s.add(t0.Add(1*time.Second), []Process{proc(1, 103, 11*mib), proc(2, 50, 5*mib), proc(3, 7, 1*mib)}) // 3 is born
	s.add(t0.Add(2*time.Second), []Process{proc(1, 104, 12*mib)})                                        // 2 and 3 exit
	s.add(t0.Add(3*time.Second), []Process{proc(1, 104, 9*mib), proc(4, 2, 2*mib)})                      // 4 is born
	want := []IdleSample{
		{Seconds: 0, CPUSeconds: 0, RSSBytes: 15 * mib},
		{Seconds: 1, CPUSeconds: 0.10, RSSBytes: 17 * mib},
		{Seconds: 2, CPUSeconds: 0.11, RSSBytes: 12 * mib},
		{Seconds: 3, CPUSeconds: 0.13, RSSBytes: 11 * mib},
	}
	res := s.result()
	if len(res.Samples) != len(want) {
		t.Fatalf("%d samples, want %d: %+v", len(res.Samples), len(want), res.Samples)
	}
	for i, w := range want {
		g := res.Samples[i]
		if !near(g.Seconds, w.Seconds) || !near(g.CPUSeconds, w.CPUSeconds) || g.RSSBytes != w.RSSBytes {
			t.Errorf("sample %d: %+v, want %+v", i, g, w)
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"seconds", res.Seconds, 3},
		{"CPU seconds", res.CPUSeconds, 0.13},
		{"CPU % of a core", res.CPUPercent(), 100 * 0.13 / 3},
		{"start RSS", float64(res.StartRSSBytes), 15 * mib},
		{"end RSS", float64(res.EndRSSBytes), 11 * mib},
		{"max RSS", float64(res.MaxRSSBytes), 17 * mib},
		{"min RSS", float64(res.MinRSSBytes), 11 * mib},
		{"drift", float64(res.DriftBytes()), -4 * mib},
		{"drift %", res.DriftPercent(), -400.0 / 15},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*max(1, math.Abs(b)) }

func TestIdleStep(t *testing.T) {
	for _, c := range []struct{ d, want time.Duration }{
		{3 * time.Second, 150 * time.Millisecond},
		{20 * time.Second, time.Second},
		{10 * time.Minute, time.Second},
		{100 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := idleStep(c.d); got != c.want {
			t.Errorf("idleStep(%s) = %s, want %s", c.d, got, c.want)
		}
	}
}

// TestIdleReport renders a report with idle periods: the table of the
// scenario is the same as without them, followed by the idle table
// (medians; a target whose idle periods all failed last, with the
// reason; a partial failure as a note).
func TestIdleReport(t *testing.T) {
	r := &Report{
		Host:       "h",
		CPUs:       2,
		RunsWanted: 3,
		targets:    []string{"bird", "frr", "godwit"},
		Scenarios:  []ScenarioInfo{{Scenario: Scenario{Name: "S1", Injectors: 1, Prefixes: 1000, Monitors: 1}}},
	}
	idleRun := func(cpu float64, start, end int64, errText string) *IdleResult {
		return &IdleResult{Seconds: 30, CPUSeconds: cpu, StartRSSBytes: start, EndRSSBytes: end, MaxRSSBytes: max(start, end), MinRSSBytes: min(start, end), Error: errText}
	}
	ok := func(target string, run int, wall float64, id *IdleResult) RunResult {
		return RunResult{Scenario: "S1", Target: target, Run: run, Status: StatusOK, Prefixes: 1000, Paths: 1000,
			WallSeconds: wall, CPUSeconds: wall, PeakRSSBytes: 20 * mib, PrefixesPerSecond: 1000 / wall, RoutesPerSecond: 1000 / wall,
			RSSBytesPerPrefix: 20 * mib / 1000, Idle: id}
	}
	r.Runs = []RunResult{
		ok("bird", 1, 0.10, idleRun(0.01, 15*mib, 15*mib, "")),
		ok("bird", 2, 0.12, idleRun(0.03, 15*mib, 15*mib+mib/2, "")),
		ok("bird", 3, 0.11, idleRun(0.02, 15*mib, 15*mib+mib/4, "")),
		ok("frr", 1, 0.50, idleRun(0.10, 100*mib, 100*mib, "session down: monitor 1: EOF")),
		ok("godwit", 1, 0.08, idleRun(0.30, 60*mib, 54*mib, "")),
		ok("godwit", 2, 0.09, idleRun(0, 0, 0, "target gone: godwitd (pid 7) exited\nlog tail")),
		ok("godwit", 3, 0.07, idleRun(0.60, 64*mib, 60*mib, "")),
	}
	plain := &Report{Host: r.Host, CPUs: r.CPUs, RunsWanted: r.RunsWanted, targets: r.targets, Scenarios: r.Scenarios}
	for _, res := range r.Runs {
		res.Idle = nil
		plain.Runs = append(plain.Runs, res)
	}
	render := func(r *Report) string {
		r.finish()
		r.Started, r.Finished, r.LoadStart, r.LoadEnd, r.Uptime, r.Kernel = time.Time{}, time.Time{}, [3]float64{}, [3]float64{}, "", ""
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	got, without := render(r), render(plain)

	wantIdle := `  idle after convergence (medians over runs; RSS is VmRSS summed over the target's processes):
  target  runs  idle s  CPU s  CPU % of a core  RSS MiB start -> end  drift MiB  drift %
  bird    3/3   30.0    0.02   0.07             15.0 -> 15.2          +0.2       +1.7
  godwit  2/3   30.0    0.45   1.50             62.0 -> 57.0          -5.0       -8.1
  frr     -     idle failed: session down: monitor 1: EOF
  idle note: godwit: run 2: target gone: godwitd (pid 7) exited log tail
`
	at := strings.Index(got, "  idle after")
	if at < 0 {
		t.Fatalf("no idle table:\n%s", got)
	}
	// tabwriter pads the last column: compare without trailing blanks.
	if block := trimLines(got[at:]); block != wantIdle {
		t.Errorf("idle table:\n%s\nwant:\n%s", block, wantIdle)
	}
	if strings.Contains(without, "idle") {
		t.Errorf("report without idle periods mentions them:\n%s", without)
	}
	if got[:at] != without {
		t.Errorf("the scenario's table changed with idle periods:\n%s\nwithout:\n%s", got, without)
	}
	var god *Summary
	for i := range r.Summaries {
		if r.Summaries[i].Target == "godwit" {
			god = &r.Summaries[i]
		}
	}
	if god == nil || god.Idle == nil || god.Idle.Runs != 2 || god.Idle.FirstErrorRun != 2 || !near(god.Idle.DriftBytes.Min, -6*mib) || !near(god.Idle.DriftBytes.Max, -4*mib) {
		t.Errorf("godwit's idle summary: %+v", god)
	}
}

// TestIdleKeepalives keeps a direct injector -> monitor pair idle for
// longer than the hold time they negotiated (3 s): KEEPALIVEs keep
// flowing after the table, nothing fails, and every sample is taken.
// Neither test peer runs a hold timer on the other, so surviving a real
// one is TestSmokeBIRD's part (root and BIRD needed).
func TestIdleKeepalives(t *testing.T) {
	sc := Scenario{Name: "T", Injectors: 1, Prefixes: 2_000, Monitors: 1}
	p, err := prepareTable(sc, Generate(sc.Prefixes, 13))
	if err != nil {
		t.Fatal(err)
	}
	_, peers := directHold(t, p, 3)
	if h := peers.monitors[0].s.hold; h != 3*time.Second {
		t.Fatalf("negotiated hold time %s, want 3s", h)
	}
	// Namespace inode 0 holds no process: the samples are empty, which
	// is not what this test is about.
	res := idle(context.Background(), 4*time.Second, 0, func() error { return nil }, peers)
	if res.Error != "" {
		t.Fatalf("idle failed: %s", res.Error)
	}
	// A KEEPALIVE a second each way: about eight in 4 s.
	if res.KeepalivesReceived < 2 {
		t.Errorf("%d KEEPALIVEs received over %.1f s with a hold time of 3 s", res.KeepalivesReceived, res.Seconds)
	}
	if res.MonitorUpdates != 0 {
		t.Errorf("%d UPDATEs during the idle period", res.MonitorUpdates)
	}
	if len(res.Samples) != 21 || res.Seconds < 4 {
		t.Errorf("%d samples over %.2f s, want 21 (start, every 200 ms, end) over 4 s", len(res.Samples), res.Seconds)
	}
}

// TestIdleFailure ends an idle period early when a session drops or the
// target exits, with the reason. Each of wants is a list of which one
// must be in the error: when the injector's connection closes, its own
// next write or the monitor's read may notice first, and either names
// the session that went down.
func TestIdleFailure(t *testing.T) {
	for _, c := range []struct {
		name  string
		brk   func(*peers, *error)
		wants [][]string
	}{
		{"session drops", func(p *peers, _ *error) { p.injectors[0].close() }, [][]string{{"session down"}, {"monitor 1", "injector 1"}}},
		{"target exits", func(_ *peers, gone *error) { *gone = errors.New("bird (pid 7) exited") }, [][]string{{"target gone"}, {"bird (pid 7) exited"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := Scenario{Name: "T", Injectors: 1, Prefixes: 1_000, Monitors: 1}
			p, err := prepareTable(sc, Generate(sc.Prefixes, 14))
			if err != nil {
				t.Fatal(err)
			}
			_, peers := direct(t, p)
			var gone error
			c.brk(peers, &gone)
			// Far longer than the test may take: the failure ends it.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res := idle(ctx, 10*time.Minute, 0, func() error { return gone }, peers)
			for _, alts := range c.wants {
				if !slices.ContainsFunc(alts, func(w string) bool { return strings.Contains(res.Error, w) }) {
					t.Errorf("error %q says none of %q", res.Error, alts)
				}
			}
			if strings.Contains(res.Error, "interrupted") {
				t.Errorf("the failure was not noticed: %s", res.Error)
			}
		})
	}
}
