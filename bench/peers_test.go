package bench

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestDirect pushes a 20k-prefix table from an injector into a monitor over
// loopback TCP in this process, and checks the counts exactly.
func TestDirect(t *testing.T) {
	sc := Scenario{Name: "T", Injectors: 1, Prefixes: 20_000, Monitors: 1}
	p, err := prepareTable(sc, Generate(sc.Prefixes, 11))
	if err != nil {
		t.Fatal(err)
	}
	wall, peers := direct(t, p)
	m := peers.monitors[0]
	st := p.streams[0]
	if got := m.held.Load(); got != 20_000 {
		t.Errorf("held %d prefixes, want 20000", got)
	}
	if got := m.correct.Load(); got != 20_000 {
		t.Errorf("%d prefixes with the expected path, want 20000", got)
	}
	if got := m.announced.Load(); got != 20_000 {
		t.Errorf("%d announcements, want 20000", got)
	}
	if got := m.unexpected.Load(); got != 0 {
		t.Errorf("%d unexpected prefixes", got)
	}
	// The monitor is done when the last prefix is in: End-of-RIB may
	// arrive after that.
	if got := m.updates.Load(); got < int64(st.Messages) || got > int64(st.Messages)+1 {
		t.Errorf("%d UPDATEs received, %d sent", got, st.Messages)
	}
	if got, _ := peers.injectorUpdates(); got != 0 {
		t.Errorf("the injector received %d UPDATEs", got)
	}
	t.Logf("20000 prefixes in %d UPDATEs, %s (%s prefixes/s)", st.Messages, wall, si(20_000/wall.Seconds()))
}

// TestDirectOverlap runs three overlapping injectors, each into its own
// monitor, as the S3 self-check does.
func TestDirectOverlap(t *testing.T) {
	sc := Scenario{Name: "T", Injectors: 3, Prefixes: 5_000, Monitors: 1}
	p, err := prepareTable(sc, Generate(sc.Prefixes, 12))
	if err != nil {
		t.Fatal(err)
	}
	_, peers := direct(t, p)
	for j, m := range peers.monitors {
		if m.correct.Load() != 5_000 || m.unexpected.Load() != 0 {
			t.Errorf("monitor %d: %d correct, %d unexpected", j, m.correct.Load(), m.unexpected.Load())
		}
	}
}

func direct(t *testing.T, p *prepared) (time.Duration, *peers) {
	t.Helper()
	return directHold(t, p, 0)
}

// directHold is direct with both ends offering hold seconds of hold time
// (0: holdTime).
func directHold(t *testing.T, p *prepared, hold uint16) (time.Duration, *peers) {
	t.Helper()
	as := p.topo.injectorAS()
	exps := make([]*Expect, len(as))
	for j := range as {
		exps[j] = NewExpect(p.table, as[j:j+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	peers, err := pairDirect(ctx, p.streams, exps, as, hold)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(peers.stop)
	release := make(chan struct{})
	peers.start(release)
	close(release)
	select {
	case <-peers.allDone():
	case <-ctx.Done():
		held, correct, _, _, _ := peers.progress()
		t.Fatalf("not done: held %d, correct %d, err %v", held, correct, peers.err())
	}
	if err := peers.err(); err != nil {
		t.Fatal(err)
	}
	// The monitors are done with the last prefix, but an injector may
	// not have written its End-of-RIB yet: wait for every UPDATE, so
	// that a test that goes on (an idle period) sees none of the load's.
	var want int64
	for _, st := range p.streams {
		want += int64(st.Messages) + 1 // and End-of-RIB
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		_, _, _, updates, _ := peers.progress()
		if updates >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitors got %d UPDATEs, the injectors send %d", updates, want)
		}
	}
	return peers.tEnd().Sub(peers.t0()), peers
}

// TestMonitorBestPath feeds a monitor UPDATEs by hand: it is done only once
// every prefix has the expected injector's path, and withdrawals count.
func TestMonitorBestPath(t *testing.T) {
	tab := Generate(4, 1)
	tab.Sets = []Set{{Start: 0, End: 4, PathLen: 3}}
	injAS := []uint32{65001, 65003}
	e := NewExpect(tab, injAS)
	m := newMonitor(&session{}, e)
	want := tab.Winner(0, 2)
	other := 1 - want
	update := func(first uint32, withdraw bool, idx ...int) {
		t.Helper()
		var pfx []nlri.NLRI
		for _, i := range idx {
			pfx = append(pfx, nlri.Prefix{Prefix: tab.Prefixes[i].Netip()})
		}
		attrs := attr.List{
			&attr.Origin{},
			&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{TargetAS, first, 3356}}}},
			&attr.NextHop{Addr: netip.MustParseAddr("10.0.0.1")},
		}
		var u *wire.Update
		var err error
		if withdraw {
			u, err = wire.NewUpdate(nil, pfx, nil, sessionOptions)
		} else {
			u, err = wire.NewUpdate(attrs, nil, pfx, sessionOptions)
		}
		if err != nil {
			t.Fatal(err)
		}
		b := u.AppendTo(nil, sessionOptions)
		if err := m.update(b[wire.HeaderLen:]); err != nil {
			t.Fatal(err)
		}
	}
	isDone := func() bool {
		select {
		case <-m.done:
			return true
		default:
			return false
		}
	}
	update(injAS[other], false, 0, 1, 2, 3)
	if m.held.Load() != 4 || m.correct.Load() != 0 || isDone() {
		t.Fatalf("after the losing paths: held %d, correct %d, done %v", m.held.Load(), m.correct.Load(), isDone())
	}
	update(injAS[want], false, 0, 1, 2)
	update(injAS[want], true, 3)
	if m.held.Load() != 3 || m.correct.Load() != 3 || isDone() {
		t.Fatalf("after a withdrawal: held %d, correct %d, done %v", m.held.Load(), m.correct.Load(), isDone())
	}
	update(injAS[want], false, 3)
	if m.held.Load() != 4 || m.correct.Load() != 4 || !isDone() {
		t.Fatalf("at the end: held %d, correct %d, done %v", m.held.Load(), m.correct.Load(), isDone())
	}
}
