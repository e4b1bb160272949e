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
// end: namespace, daemon, sessions, measurement, report. It needs root and
// bird, and takes a few seconds (most of it the settle time).
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
		Log:       &log,
		NewNS:     func(role string) (*netns.NS, error) { return netns.New(t, role), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
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
	if len(rep.SelfChecks) != 1 || rep.SelfChecks[0].Error != "" || rep.SelfChecks[0].Fastest != "bird" {
		t.Errorf("self-check: %+v", rep.SelfChecks)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "injector self-check") || !strings.Contains(text.String(), "bird") {
		t.Errorf("report:\n%s", text.String())
	}
	t.Logf("report:\n%s", text.String())
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
}
