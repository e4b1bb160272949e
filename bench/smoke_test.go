package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// TestSmokeBIRD runs S1 with a 10k-prefix table against BIRD once, end to
// end: namespace, daemon, sessions, measurement, report; then keeps BIRD
// idle for 6 s with a hold time of 5 s, so that the sessions survive BIRD's
// hold timer only if the test peers keep sending KEEPALIVEs after their
// table. It needs root and bird, and takes about ten seconds (the settle
// time and the idle period).
func TestSmokeBIRD(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a daemon")
	}
	netns.Require(t, "bird", "ip")
	var log bytes.Buffer
	r, err := NewRunner(Config{
		Scenarios: []Scenario{Scenarios[0]},
		Targets:   []Target{birdTarget{}},
		Runs:      1,
		Seed:      1,
		Prefixes:  10_000,
		Timeout:   30 * time.Second,
		Silence:   10 * time.Second,
		Establish: 15 * time.Second,
		SelfCheck: true,
		Idle:      6 * time.Second,
		hold:      5,
		Log:       &log,
		NewNS:     func(role string) (*netns.NS, error) { return netns.New(t, role), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := r.Run(ctx)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs", len(rep.Runs))
	}
	res := rep.Runs[0]
	if res.Status != StatusOK {
		t.Fatalf("run: %s: %s", res.Status, res.Error)
	}
	if res.Held != 10_000 || res.Unexpected != 0 || res.InjectorUpdates != 0 {
		t.Errorf("monitor held %d prefixes, %d unexpected; %d UPDATEs to the injector", res.Held, res.Unexpected, res.InjectorUpdates)
	}
	if res.WallSeconds <= 0 || res.PeakRSSBytes < 1<<20 || res.PrefixesPerSecond <= 0 {
		t.Errorf("implausible measurement: %+v", res)
	}
	if len(res.Processes) != 1 || res.Processes[0].Comm != "bird" {
		t.Errorf("processes counted: %+v", res.Processes)
	}
	checkIdleBIRD(t, res.Idle)
	if len(rep.SelfChecks) != 1 || rep.SelfChecks[0].Error != "" || rep.SelfChecks[0].Fastest != "bird" {
		t.Errorf("self-check: %+v", rep.SelfChecks)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "injector self-check") || !strings.Contains(text.String(), "bird") || !strings.Contains(text.String(), "idle after convergence") {
		t.Errorf("report:\n%s", text.String())
	}
	t.Logf("report:\n%s", text.String())
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
}

// checkIdleBIRD checks the idle period of TestSmokeBIRD: it lasted to the
// end with every session up, BIRD used next to no CPU (the bound is
// generous: a shared machine), and the samples add up.
func checkIdleBIRD(t *testing.T, id *IdleResult) {
	t.Helper()
	if id == nil {
		t.Fatal("no idle period")
	}
	t.Logf("idle: %.2f s, %.2f s CPU, RSS %d -> %d (min %d, max %d), %d samples, %d UPDATEs to the monitor, %d KEEPALIVEs from BIRD",
		id.Seconds, id.CPUSeconds, id.StartRSSBytes, id.EndRSSBytes, id.MinRSSBytes, id.MaxRSSBytes, len(id.Samples), id.MonitorUpdates, id.KeepalivesReceived)
	if id.Error != "" {
		t.Fatalf("idle period failed: %s", id.Error)
	}
	if id.Seconds < 5.99 || len(id.Samples) != 21 {
		t.Errorf("%d samples over %.2f s, want 21 (start, every 300 ms, end) over 6 s", len(id.Samples), id.Seconds)
	}
	if id.CPUSeconds > 0.5 {
		t.Errorf("BIRD used %.2f s of CPU in %.1f s idle", id.CPUSeconds, id.Seconds)
	}
	// BIRD sends a KEEPALIVE every third of the 5 s hold time on each of
	// the two sessions: about seven in 6 s.
	if id.KeepalivesReceived < 2 {
		t.Errorf("%d KEEPALIVEs from BIRD in %.1f s with a hold time of 5 s", id.KeepalivesReceived, id.Seconds)
	}
	if id.StartRSSBytes < 1<<20 || id.EndRSSBytes < 1<<20 || id.MinRSSBytes > id.StartRSSBytes || id.MinRSSBytes > id.EndRSSBytes ||
		id.MaxRSSBytes < id.StartRSSBytes || id.MaxRSSBytes < id.EndRSSBytes {
		t.Errorf("implausible RSS: start %d, end %d, min %d, max %d", id.StartRSSBytes, id.EndRSSBytes, id.MinRSSBytes, id.MaxRSSBytes)
	}
	for i := 1; i < len(id.Samples); i++ {
		if a, b := id.Samples[i-1], id.Samples[i]; b.Seconds <= a.Seconds || b.CPUSeconds < a.CPUSeconds {
			t.Errorf("samples %d and %d go backwards: %+v, %+v", i-1, i, a, b)
		}
	}
}
