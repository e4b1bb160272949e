package bench

import (
	"context"
	"fmt"
	"time"
)

// SelfCheck is the test peers measured without a target: injectors
// connected straight to monitors over loopback TCP, pushing the same
// pre-encoded streams the targets get, the monitors decoding and checking
// every prefix as in a real run. There are as many pairs as the busier
// side of the scenario has peers (ten injectors in S3, twenty monitors in
// S4, each then fed the injector's stream). Its routes per second
// (Scenario.Routes) bound what the harness can measure; it must be well
// above the fastest target's (Factor >= 5), or the harness measures
// itself.
type SelfCheck struct {
	Scenario        string    `json:"scenario"`
	Runs            []float64 `json:"wallSeconds"`
	RoutesPerSecond float64   `json:"routesPerSecond"`
	// Fastest is the target with the highest median routes per second in
	// the scenario, and Factor the self-check's rate over its rate.
	Fastest string  `json:"fastestTarget,omitempty"`
	Factor  float64 `json:"factor,omitempty"`
	// Quiet is false when the machine stayed busy (over a tenth of its
	// CPUs) for 15 s before the self-check, which then ran anyway.
	Quiet bool   `json:"quiet"`
	Error string `json:"error,omitempty"`
}

// The self-check is measured at least selfCheckRuns times (median), and
// more while the runs add up to less than selfCheckTime (a run of S3's
// takes about 30 ms, which one scheduling hiccup doubles), up to
// selfCheckMaxRuns; after one unmeasured run that warms this process up
// (page faults on fresh buffers, goroutine stacks growing), as the
// targets' warm-up does, and once the machine is quiet (waitQuiet).
const (
	selfCheckRuns    = 5
	selfCheckMaxRuns = 25
	selfCheckTime    = 500 * time.Millisecond
)

func (r *Runner) selfCheck(ctx context.Context, p *prepared) SelfCheck {
	sc := SelfCheck{Scenario: p.sc.Name}
	sc.Quiet = waitQuiet(15 * time.Second)
	var rates []float64
	var measured time.Duration
	for i := 0; i <= selfCheckMaxRuns; i++ {
		if i > selfCheckRuns && measured >= selfCheckTime {
			break
		}
		wall, err := measureDirect(ctx, p, r.timeout(p.sc))
		if err != nil {
			sc.Error = err.Error()
			return sc
		}
		if i == 0 {
			continue
		}
		measured += wall
		sc.Runs = append(sc.Runs, wall.Seconds())
		rates = append(rates, float64(p.sc.Routes())/wall.Seconds())
	}
	sc.RoutesPerSecond = summarize(rates).Median
	return sc
}

// measureDirect pushes the scenario's streams into direct monitors and
// returns the time from the first UPDATE to the last monitor holding its
// table.
func measureDirect(ctx context.Context, p *prepared, limit time.Duration) (time.Duration, error) {
	inj := p.topo.injectorAS()
	n := max(len(inj), p.sc.Monitors)
	as := make([]uint32, n)
	streams := make([]*Stream, n)
	exps := make([]*Expect, n)
	for j := range n {
		as[j], streams[j] = inj[j%len(inj)], p.streams[j%len(inj)]
		exps[j] = NewExpect(p.table, as[j:j+1])
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	peers, err := pairDirect(cctx, streams, exps, as, 0)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("self-check sessions: %w", err)
	}
	release := make(chan struct{})
	peers.start(release)
	defer peers.stop()
	close(release)
	done, deadline := peers.allDone(), time.After(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return peers.tEnd().Sub(peers.t0()), nil
		case <-deadline:
			held, _, _, _, _ := peers.progress()
			return 0, fmt.Errorf("self-check: not done within %s (held %d)", limit, held)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
			if err := peers.err(); err != nil {
				return 0, err
			}
		}
	}
}
