package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/godwit-bgp/godwit/internal/cputime"
	"github.com/godwit-bgp/godwit/internal/netns"
)

// Config is what the runner needs.
type Config struct {
	Scenarios []Scenario
	Targets   []Target
	// Runs is the number of measured repetitions per scenario and target.
	Runs int
	Seed uint64
	// MRT, when set, is the table source instead of the generator; with
	// Prefixes == 0 the whole table is used.
	MRT string
	// Prefixes, when > 0, replaces every scenario's prefix count (a quick
	// run, or a smoke test).
	Prefixes int
	// Timeout bounds one run from the first UPDATE; 0 scales it with the
	// scenario (60 s, plus 200 µs per path injected, plus 20 µs per copy a
	// monitor receives).
	Timeout time.Duration
	// Silence is how long a run waits for the first re-advertised route
	// before it calls the target not measurable.
	Silence time.Duration
	// Establish bounds starting the target and bringing every session up.
	Establish time.Duration
	// Idle, when > 0, keeps each measured run's target and sessions up for
	// this long after it converged and samples the target's CPU and RSS
	// (RunResult.Idle); the run's own measurements are taken before.
	Idle time.Duration
	// Warmup runs every target once, unmeasured, on a small table before
	// the first measured run.
	Warmup bool
	// SelfCheck measures the injectors against monitors directly.
	SelfCheck bool
	// KeepDir, when set, receives each run's configuration and logs.
	KeepDir string
	// NewNS makes the namespace of one run (netns.New in tests, a named
	// Create in the command); the runner closes it.
	NewNS func(role string) (*netns.NS, error)
	// Log receives one line per run (progress); nil discards.
	Log io.Writer

	// hold is the hold time the test peers offer, in seconds (0:
	// holdTime); tests shorten it so that an idle period of a few seconds
	// outlasts it.
	hold uint16
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Statuses of a run.
const (
	StatusOK          = "ok"
	StatusTimeout     = "timeout"
	StatusNoReadvert  = "no re-advertisement"
	StatusError       = "error"
	StatusUnavailable = "unavailable"
	StatusSkipped     = "skipped"
)

// RunResult is one measurement of one target in one scenario.
type RunResult struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Run      int    `json:"run"`
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`

	Prefixes int `json:"prefixes"`
	Paths    int `json:"paths"`
	// WallSeconds runs from the first UPDATE an injector wrote to the
	// moment the last monitor held every prefix with its best path.
	WallSeconds float64 `json:"wallSeconds,omitempty"`
	// CPUSeconds is user+system time of all the target's processes over
	// the same interval (sampled just before the release and just after
	// the end).
	CPUSeconds float64 `json:"cpuSeconds,omitempty"`
	// PeakRSSBytes is VmHWM summed over the target's processes.
	PeakRSSBytes      int64   `json:"peakRSSBytes,omitempty"`
	PrefixesPerSecond float64 `json:"prefixesPerSecond,omitempty"`
	// RoutesPerSecond is Scenario.Routes over the wall time.
	RoutesPerSecond   float64   `json:"routesPerSecond,omitempty"`
	RSSBytesPerPrefix float64   `json:"rssBytesPerPrefix,omitempty"`
	Processes         []Process `json:"processes,omitempty"`

	// Diagnostics: when the injectors had handed their tables to the
	// kernel and when the first route reached a monitor (seconds after
	// the first UPDATE); the test peers' own CPU; UPDATEs the monitors
	// got; announcements of prefixes not in the table; UPDATEs sent to
	// the injectors (should be none); prefixes held at the end.
	InjectedSeconds  float64 `json:"injectedSeconds,omitempty"`
	FirstSeconds     float64 `json:"firstRouteSeconds,omitempty"`
	TesterCPUSeconds float64 `json:"testerCPUSeconds"`
	MonitorUpdates   int64   `json:"monitorUpdates"`
	Unexpected       int64   `json:"unexpectedPrefixes"`
	InjectorUpdates  int64   `json:"updatesToInjectors"`
	// InjectorWithdrawals counts the UPDATEs to injectors that withdrew
	// routes (GoBGP withdraws a prefix from the injector whose path
	// stopped being the best, though it never announced it there).
	InjectorWithdrawals int64      `json:"withdrawalsToInjectors"`
	Held                int64      `json:"heldAtEnd"`
	Load                [3]float64 `json:"loadAverage"`

	// Idle is the steady state after convergence, with Config.Idle.
	Idle *IdleResult `json:"idle,omitempty"`
}

// Runner runs the configured scenarios against the configured targets.
type Runner struct {
	cfg Config
	// prepared holds, per scenario, the table, the streams and the
	// expectation: encoded once, before any clock starts, shared by every
	// target and run.
	prepared map[string]*prepared
	tables   map[int]*Table
	mrt      *Table
	seq      int
}

type prepared struct {
	sc      Scenario
	table   *Table
	topo    *Topology
	streams []*Stream
	expect  *Expect
}

// NewRunner checks the configuration.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Runs <= 0 {
		cfg.Runs = 3
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 30 * time.Second
	}
	if cfg.Establish <= 0 {
		cfg.Establish = 60 * time.Second
	}
	if cfg.NewNS == nil {
		return nil, errors.New("bench: Config.NewNS is required")
	}
	return &Runner{cfg: cfg, prepared: map[string]*prepared{}, tables: map[int]*Table{}}, nil
}

// table returns the table of n prefixes (generated once per size, or cut
// from the MRT table).
func (r *Runner) table(n int) (*Table, error) {
	if r.cfg.MRT != "" {
		if r.mrt == nil {
			t, err := LoadMRT(r.cfg.MRT, r.cfg.Seed)
			if err != nil {
				return nil, err
			}
			r.mrt = t
		}
		if r.cfg.Prefixes > 0 {
			return r.mrt.Truncate(n), nil
		}
		return r.mrt, nil
	}
	if t, ok := r.tables[n]; ok {
		return t, nil
	}
	t := Generate(n, r.cfg.Seed)
	r.tables[n] = t
	return t, nil
}

// prepare builds (once) what a scenario needs before its clock starts.
func (r *Runner) prepare(sc Scenario) (*prepared, error) {
	if r.cfg.Prefixes > 0 {
		sc.Prefixes = r.cfg.Prefixes
	}
	if p, ok := r.prepared[sc.Name]; ok {
		return p, nil
	}
	t, err := r.table(sc.Prefixes)
	if err != nil {
		return nil, err
	}
	sc.Prefixes = len(t.Prefixes)
	p, err := prepareTable(sc, t)
	if err != nil {
		return nil, err
	}
	r.prepared[sc.Name] = p
	return p, nil
}

func prepareTable(sc Scenario, t *Table) (*prepared, error) {
	topo := NewTopology(sc.Injectors, sc.Monitors)
	p := &prepared{sc: sc, table: t, topo: topo, expect: NewExpect(t, topo.injectorAS())}
	for j, n := range topo.Injectors {
		st, err := t.Encode(j, sc.Injectors, n.AS, n.NextHop)
		if err != nil {
			return nil, err
		}
		p.streams = append(p.streams, st)
	}
	return p, nil
}

// timeout is the limit of one run.
func (r *Runner) timeout(sc Scenario) time.Duration {
	if r.cfg.Timeout > 0 {
		return r.cfg.Timeout
	}
	return 60*time.Second + time.Duration(sc.Paths())*200*time.Microsecond + time.Duration(sc.Prefixes*sc.Monitors)*20*time.Microsecond
}

// Run measures every scenario: for each repetition, every target once,
// the order rotated between repetitions so that drift of the machine
// spreads over all targets. A target whose first run finds it unable to
// carry the table (no re-advertisement, a timeout, an error) is not run
// again in that scenario.
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	rep := newReport(r.cfg)
	// What was measured before an interruption is still reported.
	defer rep.finish()
	avail := map[string]error{}
	for _, t := range r.cfg.Targets {
		avail[t.Name()] = t.Check()
		rep.Versions[t.Name()] = targetVersion(t)
	}
	// Fail early, before the long runs, on what is certain to fail.
	warm := map[string]RunResult{}
	if r.cfg.Warmup {
		for _, t := range r.cfg.Targets {
			if avail[t.Name()] != nil {
				continue
			}
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			res := r.warmup(ctx, t)
			r.cfg.logf("warm-up %-8s %s", t.Name(), describe(res))
			if res.Status != StatusOK {
				warm[t.Name()] = res
			}
		}
	}
	for _, sc := range r.cfg.Scenarios {
		p, err := r.prepare(sc)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", sc.Name, err)
		}
		rep.addScenario(p, r.timeout(p.sc))
		r.cfg.logf("%s (%s); table encoded: %d UPDATEs per injector", p.sc, p.table.Stats(), p.streams[0].Messages)
		if r.cfg.SelfCheck {
			sc := r.selfCheck(ctx, p)
			rep.SelfChecks = append(rep.SelfChecks, sc)
			r.cfg.logf("%s self-check: injectors -> monitors directly: %s routes/s (median of %d)", p.sc.Name, si(sc.RoutesPerSecond), len(sc.Runs))
		}
		done := map[string]bool{}
		for run := 1; run <= r.cfg.Runs; run++ {
			n := len(r.cfg.Targets)
			for k := range n {
				t := r.cfg.Targets[(k+run-1)%n]
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				res := RunResult{Scenario: p.sc.Name, Target: t.Name(), Run: run, Prefixes: p.sc.Prefixes, Paths: p.sc.Paths()}
				switch {
				case avail[t.Name()] != nil:
					if run > 1 {
						continue
					}
					res.Status, res.Error = StatusUnavailable, avail[t.Name()].Error()
				case warm[t.Name()].Status != "":
					if run > 1 {
						continue
					}
					w := warm[t.Name()]
					res.Status, res.Error = w.Status, "in the warm-up run: "+w.Error
				case done[t.Name()]:
					continue
				default:
					res = r.runOnce(ctx, p, t, run)
					if res.Status != StatusOK {
						done[t.Name()] = true
					}
				}
				r.cfg.logf("%s %-8s run %d/%d: %s", p.sc.Name, t.Name(), run, r.cfg.Runs, describe(res))
				rep.Runs = append(rep.Runs, res)
			}
		}
	}
	return rep, nil
}

// warmup runs t once on a 2000-prefix S1: it proves the configuration
// (sessions come up, routes come back) and brings the daemon's binary and
// libraries into the page cache, so that the first measured run of each
// target does not pay for it.
func (r *Runner) warmup(ctx context.Context, t Target) RunResult {
	sc := Scenario{Name: "warmup", Injectors: 1, Prefixes: 2000, Monitors: 1}
	p, err := prepareTable(sc, Generate(sc.Prefixes, r.cfg.Seed+1))
	if err != nil {
		return RunResult{Status: StatusError, Error: err.Error()}
	}
	return r.runOnce(ctx, p, t, 0)
}

func describe(res RunResult) string {
	switch res.Status {
	case StatusOK:
		s := fmt.Sprintf("%.2f s wall, %.3f s CPU, %.1f MiB peak RSS, %s prefixes/s (first route after %.2f s, table written after %.2f s, %d UPDATEs to the monitors, test peers %.2f s CPU)",
			res.WallSeconds, res.CPUSeconds, toMiB(float64(res.PeakRSSBytes)), si(res.PrefixesPerSecond), res.FirstSeconds, res.InjectedSeconds, res.MonitorUpdates, res.TesterCPUSeconds)
		if res.InjectorUpdates > 0 {
			s += fmt.Sprintf("; %d UPDATEs sent back to the injectors (%d with withdrawals)", res.InjectorUpdates, res.InjectorWithdrawals)
		}
		if res.Unexpected > 0 {
			s += fmt.Sprintf("; %d announcements of prefixes not in the table", res.Unexpected)
		}
		if id := res.Idle; id != nil {
			s += fmt.Sprintf("; idle %.1f s: %.2f s CPU, RSS %.1f -> %.1f MiB (%d samples, %d UPDATEs to the monitors, %d KEEPALIVEs from the target)",
				id.Seconds, id.CPUSeconds, toMiB(float64(id.StartRSSBytes)), toMiB(float64(id.EndRSSBytes)), len(id.Samples), id.MonitorUpdates, id.KeepalivesReceived)
			if id.Error != "" {
				s += ", FAILED: " + id.Error
			}
		}
		return s
	case StatusTimeout:
		return fmt.Sprintf("timeout (%s); monitors held %d of the prefixes", res.Error, res.Held)
	}
	if res.Error != "" {
		return res.Status + ": " + res.Error
	}
	return res.Status
}

// runOnce measures one run in a fresh namespace: start the target, bring
// the sessions up, wait until the target is idle, sample its processes,
// release the injectors, wait for the monitors, sample again; then, with
// Config.Idle, keep everything up and sample the steady state.
func (r *Runner) runOnce(ctx context.Context, p *prepared, t Target, run int) (res RunResult) {
	res = RunResult{Scenario: p.sc.Name, Target: t.Name(), Run: run, Prefixes: p.sc.Prefixes, Paths: p.sc.Paths(), Load: loadAvg()}
	fail := func(status string, err error) RunResult {
		res.Status, res.Error = status, err.Error()
		return res
	}
	r.seq++
	ns, err := r.cfg.NewNS(fmt.Sprintf("%s-%s-%d", p.sc.Name, t.Name(), r.seq))
	if err != nil {
		return fail(StatusError, err)
	}
	defer ns.Close()
	if err := p.topo.setup(ns); err != nil {
		return fail(StatusError, fmt.Errorf("namespace: %w", err))
	}
	base, err := ns.Dir()
	if err != nil {
		return fail(StatusError, err)
	}
	dir := filepath.Join(base, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(StatusError, err)
	}
	if r.cfg.KeepDir != "" {
		defer keep(dir, filepath.Join(r.cfg.KeepDir, fmt.Sprintf("%s-%s-run%d", p.sc.Name, t.Name(), run)))
	}
	d, err := t.Start(ns, dir, p.topo)
	if err != nil {
		if d != nil {
			err = fmt.Errorf("%w\n%s", err, d.Logs())
		}
		return fail(StatusError, fmt.Errorf("start: %w", err))
	}
	ino, err := nsInode(ns.Path())
	if err != nil {
		return fail(StatusError, err)
	}
	peers, err := connectPeers(ctx, ns, p.topo, p.streams, p.expect, r.cfg.Establish, r.cfg.hold, d.Alive)
	if err != nil {
		return fail(StatusError, err)
	}
	established := time.Now()
	release := make(chan struct{})
	peers.start(release)
	defer peers.stop()

	// Sessions are up; the daemon may still be settling: timers that run
	// when a peer comes up (FRR holds the first advertisement to a new
	// update group for its coalesce time, 1 s plus 50 ms per peer) would
	// otherwise be counted as convergence time. Wait them out, then start
	// from quiet.
	peerCount := len(p.topo.Injectors) + len(p.topo.Monitors)
	select {
	case <-time.After(time.Until(established.Add(settle + time.Duration(peerCount)*settlePerPeer))):
	case <-ctx.Done():
		return fail(StatusError, ctx.Err())
	}
	before := waitIdle(ino, 5*time.Second)
	self0 := cputime.Process()
	close(release)
	allDone := peers.allDone()
	limit := r.timeout(p.sc)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
wait:
	for {
		select {
		case <-allDone:
			break wait
		case <-ctx.Done():
			return fail(StatusError, ctx.Err())
		case <-tick.C:
		}
		if _, err := runFailure(peers, d.Alive); err != nil {
			return fail(StatusError, err)
		}
		elapsed := time.Since(start)
		if _, _, announced, _, _ := peers.progress(); announced == 0 && elapsed > r.cfg.Silence {
			res.Held = 0
			return fail(StatusNoReadvert, fmt.Errorf("the monitor received no route within %s", r.cfg.Silence))
		}
		if elapsed > limit {
			held, _, _, _, _ := peers.progress()
			res.Held = held
			return fail(StatusTimeout, fmt.Errorf("not converged within %s", limit))
		}
	}
	after, err := nsProcesses(ino)
	if err != nil {
		return fail(StatusError, err)
	}
	selfUsed := cputime.Process() - self0
	u := diffUsage(before, after)
	t0, tEnd := peers.t0(), peers.tEnd()
	wall := tEnd.Sub(t0).Seconds()
	res.Status = StatusOK
	res.WallSeconds = wall
	res.CPUSeconds = u.CPUSeconds
	res.PeakRSSBytes = u.PeakRSS
	res.Processes = u.Processes
	if wall > 0 {
		res.PrefixesPerSecond = float64(res.Prefixes) / wall
		res.RoutesPerSecond = float64(p.sc.Routes()) / wall
	}
	if res.Prefixes > 0 {
		res.RSSBytesPerPrefix = float64(u.PeakRSS) / float64(res.Prefixes)
	}
	if w := peers.written(); !w.IsZero() {
		res.InjectedSeconds = w.Sub(t0).Seconds()
	}
	if f := peers.firstAnnouncement(); !f.IsZero() {
		res.FirstSeconds = f.Sub(t0).Seconds()
	}
	res.TesterCPUSeconds = selfUsed.Seconds()
	held, _, _, updates, unexpected := peers.progress()
	res.Held, res.MonitorUpdates, res.Unexpected = held, updates, unexpected
	res.InjectorUpdates, res.InjectorWithdrawals = peers.injectorUpdates()
	// The steady state, measured after the run's own numbers (the warm-up
	// has none).
	if r.cfg.Idle > 0 && run > 0 {
		res.Idle = idle(ctx, r.cfg.Idle, ino, d.Alive, peers)
	}
	return res
}

// settle and settlePerPeer are how long a run waits after the sessions
// came up before it releases the injectors.
const (
	settle        = 1500 * time.Millisecond
	settlePerPeer = 100 * time.Millisecond
)

// keep copies a run's directory (configurations, logs) for later reading.
func keep(src, dst string) {
	_ = os.RemoveAll(dst)
	_ = os.MkdirAll(filepath.Dir(dst), 0o755)
	_ = exec.Command("cp", "-r", src, dst).Run()
}
