package bench

import (
	"context"
	"fmt"
	"time"
)

// IdleResult is a target's steady state after a run converged (the
// performance issue's "CPU near zero, heap stable"): the target and every
// session stay up for Config.Idle while all the processes of the run's
// namespace are sampled, at the start, every idleStep and at the end.
type IdleResult struct {
	// Seconds is how long the idle period lasted, first sample to last.
	Seconds float64 `json:"seconds"`
	// CPUSeconds is utime+stime of the target's processes over it.
	CPUSeconds float64 `json:"cpuSeconds"`
	// StartRSSBytes and EndRSSBytes are VmRSS (not VmHWM) summed over the
	// processes at the first and the last sample; MaxRSSBytes and
	// MinRSSBytes are the extremes over every sample.
	StartRSSBytes int64 `json:"startRSSBytes"`
	EndRSSBytes   int64 `json:"endRSSBytes"`
	MaxRSSBytes   int64 `json:"maxRSSBytes"`
	MinRSSBytes   int64 `json:"minRSSBytes"`
	// MonitorUpdates counts the UPDATEs the monitors got meanwhile (a
	// target at rest sends none), KeepalivesReceived the KEEPALIVEs the
	// test peers got from the target.
	MonitorUpdates     int64        `json:"monitorUpdates"`
	KeepalivesReceived int64        `json:"keepalivesReceived"`
	Samples            []IdleSample `json:"samples,omitempty"`
	// Error says why the idle period ended early: a session dropped, the
	// target exited, the monitors lost routes, an interruption. The
	// numbers then cover the samples up to the failure.
	Error string `json:"error,omitempty"`
}

// IdleSample is one sample of an idle period.
type IdleSample struct {
	// Seconds is the time since the first sample.
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the CPU the target used since the first sample.
	CPUSeconds float64 `json:"cpuSeconds"`
	// RSSBytes is VmRSS summed over the target's processes.
	RSSBytes int64 `json:"rssBytes"`
}

// CPUPercent is the CPU time as a percentage of one core over the period.
func (r *IdleResult) CPUPercent() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return 100 * r.CPUSeconds / r.Seconds
}

// DriftBytes is how much the RSS grew (negative: shrank), end - start.
func (r *IdleResult) DriftBytes() int64 { return r.EndRSSBytes - r.StartRSSBytes }

// DriftPercent is DriftBytes as a percentage of the RSS at the start.
func (r *IdleResult) DriftPercent() float64 {
	if r.StartRSSBytes == 0 {
		return 0
	}
	return 100 * float64(r.DriftBytes()) / float64(r.StartRSSBytes)
}

// idleStep is the interval between samples: a twentieth of the period, so
// that a short one still gets a curve, but at least one sample a second,
// and not more often than the 10 ms resolution of utime and stime.
func idleStep(d time.Duration) time.Duration {
	return min(max(d/20, 10*time.Millisecond), time.Second)
}

// idleSampler accumulates the samples of one idle period. A process's CPU
// counts from its first sample, or from zero when it was born after the
// first sample (as diffUsage counts); a process that exits keeps what it
// had used at its last sample, so the CPU never goes backwards.
type idleSampler struct {
	start   time.Time
	base    map[int]int64 // CPU ticks at the first sample, per PID
	last    map[int]int64 // CPU ticks at the latest sample that saw it
	samples []IdleSample
}

func newIdleSampler(start time.Time, ps []Process) *idleSampler {
	s := &idleSampler{start: start, base: map[int]int64{}, last: map[int]int64{}}
	for _, p := range ps {
		s.base[p.PID] = p.CPUTicks
	}
	s.add(start, ps)
	return s
}

// add records the processes as read at time at.
func (s *idleSampler) add(at time.Time, ps []Process) {
	var rss int64
	for _, p := range ps {
		s.last[p.PID] = p.CPUTicks
		rss += p.RSS
	}
	var ticks int64
	for pid, t := range s.last {
		// A PID reused by a younger process could read as negative.
		if d := t - s.base[pid]; d > 0 {
			ticks += d
		}
	}
	s.samples = append(s.samples, IdleSample{Seconds: at.Sub(s.start).Seconds(), CPUSeconds: float64(ticks) / clockTicks, RSSBytes: rss})
}

// result sums the samples up.
func (s *idleSampler) result() *IdleResult {
	r := &IdleResult{Samples: s.samples}
	if len(s.samples) == 0 {
		return r
	}
	first, last := s.samples[0], s.samples[len(s.samples)-1]
	r.Seconds, r.CPUSeconds = last.Seconds, last.CPUSeconds
	r.StartRSSBytes, r.EndRSSBytes = first.RSSBytes, last.RSSBytes
	r.MaxRSSBytes, r.MinRSSBytes = first.RSSBytes, first.RSSBytes
	for _, x := range s.samples[1:] {
		r.MaxRSSBytes = max(r.MaxRSSBytes, x.RSSBytes)
		r.MinRSSBytes = min(r.MinRSSBytes, x.RSSBytes)
	}
	return r
}

// idle keeps a converged run's target and sessions up for d, sampling the
// processes of the namespace ino and checking at every sample that no
// session failed (a NOTIFICATION, EOF, a KEEPALIVE that could not be sent)
// and that the target is alive. At the end the monitors must still hold
// as many prefixes with the expected path as at the start. The test peers
// keep sending KEEPALIVEs meanwhile (session.keepalives), so a target's
// hold timer has no reason to fire.
func idle(ctx context.Context, d time.Duration, ino uint64, alive func() error, peers *peers) *IdleResult {
	step := idleStep(d)
	_, correct0, _, updates0, _ := peers.progress()
	ka0 := peers.keepalivesReceived()
	start := time.Now()
	ps, err := nsProcesses(ino)
	if err != nil {
		return &IdleResult{Error: err.Error()}
	}
	s := newIdleSampler(start, ps)
	end := start.Add(d)
	var failure error
	for k := 1; ; k++ {
		at := start.Add(time.Duration(k) * step)
		if at.After(end) {
			at = end
		}
		timer := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			timer.Stop()
			failure = fmt.Errorf("interrupted: %w", context.Cause(ctx))
		case <-timer.C:
			failure = idleCheck(peers, alive)
		}
		if failure != nil {
			// No sample: a half-gone target would read as a drop in RSS.
			break
		}
		now := time.Now()
		ps, err := nsProcesses(ino)
		if err != nil {
			failure = err
			break
		}
		s.add(now, ps)
		if !at.Before(end) {
			break
		}
	}
	res := s.result()
	_, correct, _, updates, _ := peers.progress()
	res.MonitorUpdates = updates - updates0
	res.KeepalivesReceived = peers.keepalivesReceived() - ka0
	if failure == nil && correct < correct0 {
		failure = fmt.Errorf("the monitors lost routes: %d prefixes held with the expected path at the end, %d at the start", correct, correct0)
	}
	if failure != nil {
		res.Error = failure.Error()
	}
	return res
}

// idleCheck is runFailure said for an idle period: which of a session or
// the target failed.
func idleCheck(peers *peers, alive func() error) error {
	session, err := runFailure(peers, alive)
	switch {
	case err == nil:
		return nil
	case session:
		return fmt.Errorf("session down: %w", err)
	}
	return fmt.Errorf("target gone: %w", err)
}

// runFailure is the first failure of a test peer's session (session
// true; with the target's state when it is gone too) or of the target.
func runFailure(peers *peers, alive func() error) (session bool, err error) {
	if err := peers.err(); err != nil {
		if a := alive(); a != nil {
			err = fmt.Errorf("%w; %v", err, a)
		}
		return true, err
	}
	return false, alive()
}
