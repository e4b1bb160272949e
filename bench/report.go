package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Range is the median and the extremes of a measurement over runs.
type Range struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func summarize(xs []float64) Range {
	if len(xs) == 0 {
		return Range{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Range{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// Summary is one target in one scenario over its runs.
type Summary struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	// Status is "ok" when at least one run measured; otherwise why there
	// is no number ("not measurable yet: no re-advertisement", "timeout",
	// "unavailable: ...", "error: ...").
	Status            string `json:"status"`
	Runs              int    `json:"runs"`
	Note              string `json:"note,omitempty"`
	WallSeconds       Range  `json:"wallSeconds"`
	CPUSeconds        Range  `json:"cpuSeconds"`
	PeakRSSBytes      Range  `json:"peakRSSBytes"`
	PrefixesPerSecond Range  `json:"prefixesPerSecond"`
	RoutesPerSecond   Range  `json:"routesPerSecond"`
	RSSBytesPerPrefix Range  `json:"rssBytesPerPrefix"`
	// Ratios of the medians to the reference target's (godwit when it
	// was measured, else BIRD); zero when there is none.
	Reference string  `json:"reference,omitempty"`
	WallRatio float64 `json:"wallRatio,omitempty"`
	CPURatio  float64 `json:"cpuRatio,omitempty"`
	RSSRatio  float64 `json:"rssRatio,omitempty"`
	// Idle sums up the idle periods of the measured runs, when there were
	// any.
	Idle *IdleSummary `json:"idle,omitempty"`
}

// IdleSummary is a target's idle periods in one scenario over its runs.
type IdleSummary struct {
	// Runs is the number of idle periods that lasted to the end.
	Runs          int    `json:"runs"`
	Seconds       Range  `json:"seconds"`
	CPUSeconds    Range  `json:"cpuSeconds"`
	CPUPercent    Range  `json:"cpuPercentOfOneCore"`
	StartRSSBytes Range  `json:"startRSSBytes"`
	EndRSSBytes   Range  `json:"endRSSBytes"`
	DriftBytes    Range  `json:"driftBytes"`
	DriftPercent  Range  `json:"driftPercent"`
	MaxRSSBytes   Range  `json:"maxRSSBytes"`
	MinRSSBytes   Range  `json:"minRSSBytes"`
	FirstErrorRun int    `json:"firstFailedRun,omitempty"`
	FirstError    string `json:"firstError,omitempty"`
}

// ScenarioInfo is a scenario as run, with its table.
type ScenarioInfo struct {
	Scenario
	Table          Stats   `json:"table"`
	TableSource    string  `json:"tableSource"`
	UpdatesPerPeer int     `json:"updatesPerInjector"`
	OctetsPerPeer  int     `json:"octetsPerInjector"`
	TimeoutSeconds float64 `json:"timeoutSeconds"`
}

// Report is everything one invocation measured.
type Report struct {
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished"`
	Host       string            `json:"host"`
	CPUs       int               `json:"cpus"`
	Kernel     string            `json:"kernel"`
	LoadStart  [3]float64        `json:"loadAverageStart"`
	LoadEnd    [3]float64        `json:"loadAverageEnd"`
	Uptime     string            `json:"uptime"`
	Command    []string          `json:"command"`
	Runs       []RunResult       `json:"runs"`
	Scenarios  []ScenarioInfo    `json:"scenarios"`
	SelfChecks []SelfCheck       `json:"selfChecks"`
	Summaries  []Summary         `json:"summaries"`
	Versions   map[string]string `json:"versions"`
	Seed       uint64            `json:"seed"`
	RunsWanted int               `json:"runsPerTarget"`
	// IdleSeconds is Config.Idle (0: no idle periods).
	IdleSeconds float64 `json:"idleSeconds,omitempty"`

	targets []string
}

func newReport(cfg Config) *Report {
	r := &Report{
		Started:     time.Now(),
		CPUs:        runtime.NumCPU(),
		LoadStart:   loadAvg(),
		Uptime:      uptime(),
		Command:     os.Args,
		Versions:    map[string]string{},
		Seed:        cfg.Seed,
		RunsWanted:  cfg.Runs,
		IdleSeconds: cfg.Idle.Seconds(),
	}
	r.Host, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		r.Kernel = strings.TrimSpace(string(b))
	}
	for _, t := range cfg.Targets {
		r.targets = append(r.targets, t.Name())
	}
	return r
}

func uptime() string {
	out, err := exec.Command("uptime").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (r *Report) addScenario(p *prepared, timeout time.Duration) {
	info := ScenarioInfo{Scenario: p.sc, Table: p.table.Stats(), TableSource: p.table.Source, TimeoutSeconds: timeout.Seconds()}
	if len(p.streams) > 0 {
		info.UpdatesPerPeer = p.streams[0].Messages
		info.OctetsPerPeer = len(p.streams[0].Updates)
	}
	r.Scenarios = append(r.Scenarios, info)
}

// finish computes the summaries, the ratios and the self-check factors.
func (r *Report) finish() {
	r.Finished = time.Now()
	r.LoadEnd = loadAvg()
	r.Summaries = nil
	for _, sc := range r.Scenarios {
		var sums []Summary
		for _, name := range r.targets {
			s, ok := r.summarize(sc.Name, name)
			if ok {
				sums = append(sums, s)
			}
		}
		ref := referenceOf(sums)
		for i := range sums {
			s := &sums[i]
			if ref == nil || s.Status != StatusOK {
				continue
			}
			s.Reference = ref.Target
			s.WallRatio = ratio(s.WallSeconds.Median, ref.WallSeconds.Median)
			s.CPURatio = ratio(s.CPUSeconds.Median, ref.CPUSeconds.Median)
			s.RSSRatio = ratio(s.PeakRSSBytes.Median, ref.PeakRSSBytes.Median)
		}
		for i := range r.SelfChecks {
			c := &r.SelfChecks[i]
			if c.Scenario != sc.Name {
				continue
			}
			best := 0.0
			for _, s := range sums {
				if s.Status == StatusOK && s.RoutesPerSecond.Median > best {
					best, c.Fastest = s.RoutesPerSecond.Median, s.Target
				}
			}
			if best > 0 {
				c.Factor = c.RoutesPerSecond / best
			}
		}
		r.Summaries = append(r.Summaries, sums...)
	}
}

// referenceOf is godwit when it was measured, else BIRD.
func referenceOf(sums []Summary) *Summary {
	for _, want := range []string{"godwit", "bird"} {
		for i := range sums {
			if sums[i].Target == want && sums[i].Status == StatusOK {
				return &sums[i]
			}
		}
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (r *Report) summarize(scenario, target string) (Summary, bool) {
	s := Summary{Scenario: scenario, Target: target}
	var wall, cpu, rss, pps, routes, bpp []float64
	var bad []RunResult
	seen := false
	for _, res := range r.Runs {
		if res.Scenario != scenario || res.Target != target {
			continue
		}
		seen = true
		if res.Status != StatusOK {
			bad = append(bad, res)
			continue
		}
		wall = append(wall, res.WallSeconds)
		cpu = append(cpu, res.CPUSeconds)
		rss = append(rss, float64(res.PeakRSSBytes))
		pps = append(pps, res.PrefixesPerSecond)
		routes = append(routes, res.RoutesPerSecond)
		bpp = append(bpp, res.RSSBytesPerPrefix)
	}
	if !seen {
		return s, false
	}
	s.Runs = len(wall)
	if s.Runs == 0 {
		s.Status = statusText(bad[0])
		return s, true
	}
	s.Status = StatusOK
	s.WallSeconds, s.CPUSeconds, s.PeakRSSBytes = summarize(wall), summarize(cpu), summarize(rss)
	s.PrefixesPerSecond, s.RoutesPerSecond, s.RSSBytesPerPrefix = summarize(pps), summarize(routes), summarize(bpp)
	if len(bad) > 0 {
		s.Note = fmt.Sprintf("run %d: %s", bad[0].Run, statusText(bad[0]))
	}
	s.Idle = r.summarizeIdle(scenario, target)
	return s, true
}

// summarizeIdle is nil when no measured run of the target had an idle
// period; failed idle periods are left out of the ranges, and the first
// one is named.
func (r *Report) summarizeIdle(scenario, target string) *IdleSummary {
	var s IdleSummary
	var secs, cpu, pct, start, end, drift, driftPct, hi, lo []float64
	seen := false
	for _, res := range r.Runs {
		if res.Scenario != scenario || res.Target != target || res.Status != StatusOK || res.Idle == nil {
			continue
		}
		seen = true
		id := res.Idle
		if id.Error != "" {
			if s.FirstError == "" {
				s.FirstErrorRun, s.FirstError = res.Run, id.Error
			}
			continue
		}
		secs = append(secs, id.Seconds)
		cpu = append(cpu, id.CPUSeconds)
		pct = append(pct, id.CPUPercent())
		start = append(start, float64(id.StartRSSBytes))
		end = append(end, float64(id.EndRSSBytes))
		drift = append(drift, float64(id.DriftBytes()))
		driftPct = append(driftPct, id.DriftPercent())
		hi = append(hi, float64(id.MaxRSSBytes))
		lo = append(lo, float64(id.MinRSSBytes))
	}
	if !seen {
		return nil
	}
	s.Runs = len(secs)
	s.Seconds, s.CPUSeconds, s.CPUPercent = summarize(secs), summarize(cpu), summarize(pct)
	s.StartRSSBytes, s.EndRSSBytes = summarize(start), summarize(end)
	s.DriftBytes, s.DriftPercent = summarize(drift), summarize(driftPct)
	s.MaxRSSBytes, s.MinRSSBytes = summarize(hi), summarize(lo)
	return &s
}

// statusText is what the report says instead of numbers.
func statusText(res RunResult) string {
	switch res.Status {
	case StatusNoReadvert:
		return "not measurable yet: no re-advertisement"
	case StatusTimeout:
		return fmt.Sprintf("timeout (%s, %d prefixes held)", strings.TrimPrefix(res.Error, "not converged "), res.Held)
	case StatusUnavailable:
		return "unavailable: " + res.Error
	}
	return res.Status + ": " + oneLine(res.Error)
}

// oneLine folds an error (a daemon's log tail) into one line of at most
// 240 bytes.
func oneLine(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 240 {
		msg = msg[:240] + "..."
	}
	return msg
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the tables for people: per scenario, one row per
// target with medians and [min-max] ranges, ratios to the reference, and
// the self-check line.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "godwit-bench on %s (%d CPUs, Linux %s), %s\n", r.Host, r.CPUs, r.Kernel, r.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "load average at start %.2f %.2f %.2f, at end %.2f %.2f %.2f\n", r.LoadStart[0], r.LoadStart[1], r.LoadStart[2], r.LoadEnd[0], r.LoadEnd[1], r.LoadEnd[2])
	if r.Uptime != "" {
		fmt.Fprintf(w, "uptime: %s\n", r.Uptime)
	}
	var vs []string
	for _, t := range r.targets {
		if v := r.Versions[t]; v != "" {
			vs = append(vs, t+" "+v)
		}
	}
	if len(vs) > 0 {
		fmt.Fprintf(w, "versions: %s\n", strings.Join(vs, ", "))
	}
	for _, sc := range r.Scenarios {
		fmt.Fprintf(w, "\n%s; table: %s (%s), %d UPDATEs per injector\n", sc.Scenario, sc.Table, sc.TableSource, sc.UpdatesPerPeer)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\truns\twall s\tCPU s\tpeak RSS MiB\tB/prefix\tprefixes/s\twall x\tCPU x\tRSS x\t")
		// Rows without numbers go last: a row with fewer cells would end
		// the column alignment of the rows after it.
		var unmeasured []Summary
		for _, s := range r.Summaries {
			if s.Scenario == sc.Name && s.Status != StatusOK {
				unmeasured = append(unmeasured, s)
			}
		}
		for _, s := range r.Summaries {
			if s.Scenario != sc.Name || s.Status != StatusOK {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%.1f [%.1f-%.1f]\t%.0f\t%s\t%s\t%s\t%s\t\n",
				s.Target, s.Runs, r.RunsWanted,
				rng(s.WallSeconds, "%.2f"), rng(s.CPUSeconds, "%.2f"),
				toMiB(s.PeakRSSBytes.Median), toMiB(s.PeakRSSBytes.Min), toMiB(s.PeakRSSBytes.Max),
				s.RSSBytesPerPrefix.Median, si(s.PrefixesPerSecond.Median),
				x(s.WallRatio), x(s.CPURatio), x(s.RSSRatio))
		}
		for _, s := range unmeasured {
			fmt.Fprintf(tw, "%s\t-\t%s\n", s.Target, s.Status)
		}
		tw.Flush()
		for _, s := range r.Summaries {
			if s.Scenario == sc.Name && s.Note != "" {
				fmt.Fprintf(w, "  note: %s: %s\n", s.Target, s.Note)
			}
		}
		for _, s := range r.Summaries {
			if s.Scenario == sc.Name && s.Reference != "" {
				fmt.Fprintf(w, "  ratios (x) are medians over %s's\n", s.Reference)
				break
			}
		}
		for _, c := range r.SelfChecks {
			if c.Scenario != sc.Name {
				continue
			}
			switch {
			case c.Error != "":
				fmt.Fprintf(w, "  injector self-check FAILED: %s\n", c.Error)
			case c.Fastest == "":
				fmt.Fprintf(w, "  injector self-check: %s routes/s straight into monitors (no target measured to compare with)\n", si(c.RoutesPerSecond))
			default:
				verdict := "OK, at least 5x"
				if c.Factor < 5 {
					verdict = "TOO SLOW: the test peers may be the bottleneck"
				}
				if !c.Quiet {
					verdict += " (measured on a busy machine)"
				}
				fmt.Fprintf(w, "  injector self-check: %s routes/s straight into monitors = %.0fx the fastest target (%s, %s routes/s), median of %d runs: %s\n",
					si(c.RoutesPerSecond), c.Factor, c.Fastest, si(r.routesOf(sc.Name, c.Fastest)), len(c.Runs), verdict)
			}
		}
		r.writeIdle(w, sc.Name)
	}
	return nil
}

// writeIdle writes, when any run of the scenario had an idle period, one
// row per target: medians over its runs of the idle time, the CPU used
// (and as a percentage of one core), the RSS at the start and at the end,
// and the drift between them.
func (r *Report) writeIdle(w io.Writer, scenario string) {
	var ok, failed []Summary
	for _, s := range r.Summaries {
		if s.Scenario != scenario || s.Idle == nil {
			continue
		}
		if s.Idle.Runs > 0 {
			ok = append(ok, s)
		} else {
			failed = append(failed, s)
		}
	}
	if len(ok)+len(failed) == 0 {
		return
	}
	fmt.Fprintf(w, "  idle after convergence (medians over runs; RSS is VmRSS summed over the target's processes):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  target\truns\tidle s\tCPU s\tCPU % of a core\tRSS MiB start -> end\tdrift MiB\tdrift %\t")
	for _, s := range ok {
		id := s.Idle
		fmt.Fprintf(tw, "  %s\t%d/%d\t%.1f\t%.2f\t%.2f\t%.1f -> %.1f\t%+.1f\t%+.1f\t\n",
			s.Target, id.Runs, s.Runs, id.Seconds.Median, id.CPUSeconds.Median, id.CPUPercent.Median,
			toMiB(id.StartRSSBytes.Median), toMiB(id.EndRSSBytes.Median), toMiB(id.DriftBytes.Median), id.DriftPercent.Median)
	}
	// As in the main table, rows without numbers go last.
	for _, s := range failed {
		fmt.Fprintf(tw, "  %s\t-\tidle failed: %s\n", s.Target, oneLine(s.Idle.FirstError))
	}
	tw.Flush()
	for _, s := range ok {
		if s.Idle.FirstError != "" {
			fmt.Fprintf(w, "  idle note: %s: run %d: %s\n", s.Target, s.Idle.FirstErrorRun, oneLine(s.Idle.FirstError))
		}
	}
}

func (r *Report) routesOf(scenario, target string) float64 {
	for _, s := range r.Summaries {
		if s.Scenario == scenario && s.Target == target {
			return s.RoutesPerSecond.Median
		}
	}
	return 0
}

func rng(v Range, f string) string {
	return fmt.Sprintf(f+" ["+f+"-"+f+"]", v.Median, v.Min, v.Max)
}

func x(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// si prints a rate with k or M.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// targetVersion asks the package manager (or godwitd itself) for the
// version of what is measured.
func targetVersion(t Target) string {
	pkg := map[string]string{"bird": "bird2", "frr": "frr", "gobgp": "gobgpd", "openbgpd": "openbgpd"}[t.Name()]
	if pkg != "" {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if g, ok := t.(*godwitTarget); ok {
		bin, err := g.binary()
		if err != nil {
			return ""
		}
		out, err := exec.Command(bin, "--version").Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "godwitd"))
	}
	return ""
}

// toMiB is a byte count in MiB, as the reports print them.
func toMiB(b float64) float64 { return b / (1 << 20) }
