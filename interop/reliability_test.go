package interop_test

// Reliability (issue 9): godwitd as a real process under a full table, a
// configuration reload during it, kill -9 with graceful restart, and a
// link that goes down. Each test has its own addresses, next to the
// 10.7N, 10.8N and 10.9N of the other interop tests:
//
//	TestReliabilityHoldTimersUnderLoad  10.101.0.0/24  injector + monitor (scripted) + FRR, hold time 3 s
//	TestReliabilityReloadUnderLoad      10.102.0.0/24  injector + monitor + late monitor (scripted), SIGHUP twice
//	TestReliabilityKill9GracefulRestart 10.103.0.0/24  godwitd <-veth-> FRR, graceful restart both sides
//	TestReliabilityLinkDown             10.104.0.0/24  godwitd <-veth-> FRR, fast external failover
//
// godwitd is .1 everywhere (AS 65000); FRR is .2 (AS 65100); the scripted
// peers (loadpeer_test.go) are .11 (injector, AS 65011), .12 and .13
// (monitors, AS 65012 and 65013). The injected tables are drawn by
// bench.Generate, which keeps out of 10.0.0.0/8; godwitd originates
// 10.10N.200.0/24, FRR 10.10N.210.0/24.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/bench"
	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

const (
	relAS    = 65000
	relInjAS = 65011
	relMonAS = 65012
	relLatAS = 65013
	relFRRAS = 65100

	// relTableSize is the size of the injected table.
	relTableSize = 400_000
	// relHold is the hold time of the sessions under load.
	relHold = 3 * time.Second
)

// relAcceptAll is the export policy that lets learned routes go to an eBGP
// peer (the default policy sends them to none).
var relAcceptAll = polDoc("accept-all", "{name: everything, actions: {result: accept}}")

// relStart starts godwitd in ns with the configuration file conf and the
// extra command-line arguments (they come last, so they override the
// defaults: "--log-level", "info"). On failure the test prints the end of
// its log, the file, and godwit status and neighbors.
func relStart(t *testing.T, ns *netns.NS, name, conf string, extra ...string) *rrSpeaker {
	t.Helper()
	godwitd, godwit := rrBuild(t)
	dir, err := ns.Dir()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, ns: ns, cli: godwit, sock: filepath.Join(dir, "godwitd.sock"),
		config: filepath.Join(dir, "godwit.yaml"), log: filepath.Join(dir, "godwitd.log")}
	d.write(conf)
	args := append([]string{godwitd, "--config", d.config, "--api", "unix://" + d.sock,
		"--metrics", daemonMetrics, "--log-level", "debug"}, extra...)
	d.pid, err = ns.Start(d.log, args...)
	if err != nil {
		t.Fatal(err)
	}
	s := &rrSpeaker{daemonProc: d, name: name}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		relLogTail(t, "godwitd "+name+" log", s.log, 400)
		t.Logf("===== godwitd %s configuration (as last written) =====\n%s", name, relReadFile(s.config))
		for _, args := range [][]string{{"status"}, {"neighbors"}, {"fib"}} {
			if out, err := s.run(args...); err == nil {
				t.Logf("===== godwit %s (%s) =====\n%s", strings.Join(args, " "), name, out)
			}
		}
	})
	return s
}

func relReadFile(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// relLogTail prints the last n lines of a log file, leaving out godwitd's
// lines about API requests (the tests poll the API often).
func relLogTail(t *testing.T, what, file string, n int) {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(relReadFile(file), "\n"), "\n") {
		if !strings.Contains(l, `msg="api request"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("(%d lines before these left out)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	t.Logf("===== %s =====\n%s", what, strings.Join(lines, "\n"))
}

// relNeighbors reads `godwit neighbors -o json`, keyed by address.
func relNeighbors(t *testing.T, d *rrSpeaker) (map[string]map[string]any, error) {
	t.Helper()
	d.alive(t)
	out, err := d.run("neighbors", "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("godwit neighbors: %v: %s", err, out)
	}
	var ns []map[string]any
	if err := json.Unmarshal([]byte(out), &ns); err != nil {
		return nil, fmt.Errorf("godwit neighbors -o json: %v in %q", err, out)
	}
	m := map[string]map[string]any{}
	for _, n := range ns {
		m[fmt.Sprint(n["address"])] = n
	}
	return m, nil
}

// relSession is what tells one session of godwitd's from the next: when
// it came up, how often it dropped, and the last NOTIFICATIONs.
type relSession struct {
	state, since     string
	flaps            int64
	notifSent, notif string
}

func (s relSession) String() string {
	return fmt.Sprintf("%s since %s, flapCount %d, last NOTIFICATION sent %s, received %s", s.state, s.since, s.flaps, s.notifSent, s.notif)
}

func relSessionOf(t *testing.T, d *rrSpeaker, addr string) relSession {
	t.Helper()
	n := mustNeighbor(t, d, addr)
	return relSession{state: fmt.Sprint(n["state"]), since: fmt.Sprint(n["since"]), flaps: num(n, "flapCount"),
		notifSent: relJSON(n["lastNotificationSent"]), notif: relJSON(n["lastNotificationReceived"])}
}

// relSince records godwitd's sessions with addrs, which must be
// Established.
func relSince(t *testing.T, d *rrSpeaker, addrs ...string) map[string]relSession {
	t.Helper()
	out := map[string]relSession{}
	for _, a := range addrs {
		s := relSessionOf(t, d, a)
		if s.state != "Established" {
			t.Fatalf("godwitd's session with %s is not Established: %s", a, s)
		}
		out[a] = s
	}
	return out
}

// relSessionsKept fails the test unless every session of before is still
// the same one: Established since the same moment, no more flaps, no
// other NOTIFICATION sent or received.
func relSessionsKept(t *testing.T, d *rrSpeaker, before map[string]relSession) {
	t.Helper()
	for a, b := range before {
		if s := relSessionOf(t, d, a); s != b {
			t.Errorf("godwitd's session with %s was reset: now %s; before: %s (last error %q)", a, s, b, mustNeighbor(t, d, a)["lastError"])
		} else {
			t.Logf("godwitd's session with %s kept: %s", a, s)
		}
	}
}

// relFIB reads the reconciler's route counts from the metrics page.
func relFIB(d *rrSpeaker) (installed, pending int, err error) {
	page, err := httpGet(d.ns, "http://"+daemonMetrics+"/metrics")
	if err != nil {
		return 0, 0, err
	}
	i, ok1 := metricSample(page, "godwit_fib_routes", `state="installed"`)
	p, ok2 := metricSample(page, "godwit_fib_routes", `state="pending"`)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("no godwit_fib_routes on the metrics page")
	}
	return int(i), int(p), nil
}

// relTable draws the injected table and encodes it as the injector sends
// it (AS path [65011, ...], next hop the injector).
func relTable(t *testing.T, n int, seed uint64, injAddr string) (*bench.Table, *bench.Stream) {
	t.Helper()
	tbl := bench.Generate(n, seed)
	st, err := tbl.Encode(0, 1, relInjAS, netip.MustParseAddr(injAddr))
	if err != nil {
		t.Fatal(err)
	}
	return tbl, st
}

// relHealthy fails the test at once when a scripted session is not in
// order (see loadStats.healthy).
func relHealthy(t *testing.T, ps ...*loadPeer) {
	t.Helper()
	for _, p := range ps {
		if why := p.stats().healthy(p.hold); why != "" {
			t.Fatalf("%s: %s\n%s", p.name, why, p)
		}
	}
}

// ---------------------------------------------------------------------
// 1. Hold timers under load.

// TestReliabilityHoldTimersUnderLoad: an injector with hold time 3 s
// pushes a 400k-prefix table as fast as TCP takes it, while a scripted
// monitor and FRR, both with hold time 3 s, receive godwitd's routes
// (export policy accept-all). godwitd must keep sending KEEPALIVEs to
// every peer while it is busy (the scripted peers measure the longest
// silence and drop the session past the hold time, as a real peer would),
// must not time out a peer itself, and must pass the whole table on.
func TestReliabilityHoldTimersUnderLoad(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	const (
		gwAddr  = "10.101.0.1"
		frrAddr = "10.101.0.2"
		injAddr = "10.101.0.11"
		monAddr = "10.101.0.12"
		own     = "10.101.200.0/24"
	)
	tbl, st := relTable(t, relTableSize, 101, injAddr)
	t.Logf("table: %s; %d UPDATEs, %d octets", tbl.Stats(), st.Messages, len(st.Updates))

	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	// FRR keeps the table out of zebra (no-rib: the kernel of its
	// namespace is not the point) and sends nothing back to godwitd.
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: relFRRAS,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: relAS, HoldTime: 3, ExportPolicy: "NOTHING"}},
		Extra:     "bgp no-rib\n!\nroute-map NOTHING deny 10\nexit\n"})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	peers := faultPeers(t, lan, injAddr, monAddr)
	gwNS := rrJoin(t, lan, "gw", gwAddr)
	conf := rrConf{AS: relAS, RouterID: gwAddr, Announce: []string{own}, Peers: []rrPeerConf{
		{Name: "injector", Addr: injAddr, AS: relInjAS, Spec: "passive: true, holdTime: 3, description: table injector"},
		{Name: "monitor", Addr: monAddr, AS: relMonAS, Spec: "passive: true, holdTime: 3, exportPolicy: accept-all"},
		{Name: "frr", Addr: frrAddr, AS: relFRRAS, Spec: "holdTime: 3, exportPolicy: accept-all"},
	}}
	gw := relStart(t, gwNS, "gw", polYAML(conf, relAcceptAll), "--log-level", "info")

	inj := loadConnect(t, peers, "injector", injAddr, gwAddr, relInjAS, relHold)
	mon := loadConnect(t, peers, "monitor", monAddr, gwAddr, relMonAS, relHold)
	routers.WaitEstablished(t, frr, gwAddr)
	gw.waitNeighbors(t, injAddr, monAddr, frrAddr)
	daemonEventually(t, "the monitor holds godwitd's own prefix", func() (bool, string) {
		relHealthy(t, inj, mon)
		return mon.holds(own), mon.String()
	})
	if inj.hold != relHold || mon.hold != relHold {
		t.Fatalf("negotiated hold times: injector %s, monitor %s; want %s", inj.hold, mon.hold, relHold)
	}
	if hold, _ := mustNeighbor(t, gw, frrAddr)["holdTime"].(map[string]any); num(hold, "negotiated") != 3 {
		t.Fatalf("hold time negotiated with FRR: %v, want 3", hold)
	}
	before := relSince(t, gw, injAddr, monAddr, frrAddr)
	frrBefore, err := routers.SessionOf(frr, gwAddr)
	if err != nil {
		t.Fatal(err)
	}

	// Push, and watch everything until the table is everywhere: in
	// godwitd's RIB, at the monitor, at FRR and in godwitd's kernel.
	start := time.Now()
	pushed := make(chan error, 1)
	go func() { pushed <- inj.push(st, 0, nil) }()
	var atGW, atMon, atFRR, inKernel time.Duration
	daemonEventually(t, "the whole table at godwitd, the monitor, FRR and in godwitd's kernel", func() (bool, string) {
		relHealthy(t, inj, mon)
		if err := frr.Alive(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-pushed:
			if err != nil {
				t.Fatalf("injector: %v", err)
			}
		default:
		}
		var state []string
		if atGW == 0 {
			n, err := neighborDetail(t, gw, injAddr)
			if err != nil {
				return false, err.Error()
			}
			if n["state"] != "Established" {
				t.Fatalf("godwitd's session with the injector is %v: %v", n["state"], n)
			}
			if num(n, "prefixesAccepted") == relTableSize {
				atGW = time.Since(start)
			}
			state = append(state, fmt.Sprintf("godwitd accepted %d", num(n, "prefixesAccepted")))
		}
		if atMon == 0 {
			s := mon.stats()
			if s.routes == relTableSize+1 {
				atMon = time.Since(start)
			}
			state = append(state, fmt.Sprintf("monitor holds %d", s.routes))
		}
		if atFRR == 0 {
			s, err := routers.SessionOf(frr, gwAddr)
			if err != nil {
				return false, err.Error()
			}
			if !s.Established() {
				t.Fatalf("FRR's session with godwitd is %s (%s)", s.State, s.LastError)
			}
			if s.PrefixesReceived == relTableSize+1 {
				atFRR = time.Since(start)
			}
			state = append(state, fmt.Sprintf("FRR has %d", s.PrefixesReceived))
		}
		if inKernel == 0 {
			i, p, err := relFIB(gw)
			if err != nil {
				return false, err.Error()
			}
			if i == relTableSize && p == 0 {
				inKernel = time.Since(start)
			}
			state = append(state, fmt.Sprintf("kernel has %d, %d pending", i, p))
		}
		return atGW > 0 && atMon > 0 && atFRR > 0 && inKernel > 0, strings.Join(state, ", ")
	})
	ps := inj.stats()
	t.Logf("injector pushed %d prefixes in %d UPDATEs in %s; the table was complete in godwitd's RIB after %s, at the monitor after %s, at FRR after %s, in godwitd's kernel after %s",
		relTableSize, st.Messages, ps.pushEnd.Sub(ps.pushStart).Round(time.Millisecond),
		atGW.Round(time.Millisecond), atMon.Round(time.Millisecond), atFRR.Round(time.Millisecond), inKernel.Round(time.Millisecond))

	// The monitor holds exactly the table and godwitd's own prefix.
	if n, some := mon.missing(tbl, 0); n > 0 {
		t.Errorf("the monitor lacks %d prefixes of the table, for example %v", n, some)
	}
	relHealthy(t, inj, mon)
	for _, p := range []*loadPeer{inj, mon} {
		s := p.stats()
		t.Logf("%s: longest silence of godwitd %s (hold time %s); our longest interval between KEEPALIVEs %s", p.name,
			s.maxGap.Round(time.Millisecond), p.hold, s.kaMaxGap.Round(time.Millisecond))
		if s.kaMaxGap > p.hold {
			t.Errorf("%s: the test peer itself sent no KEEPALIVE for %s (harness too slow)", p.name, s.kaMaxGap.Round(time.Millisecond))
		}
	}
	relSessionsKept(t, gw, before)
	frrAfter, err := routers.SessionOf(frr, gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	if !frrAfter.Established() || frrAfter.Uptime < frrBefore.Uptime+time.Since(start)-time.Second {
		t.Errorf("FRR's session with godwitd was reset: %+v (before the push: %+v)", frrAfter, frrBefore)
	}
	if nb, err := frr.Neighbor(gwAddr); err == nil {
		t.Logf("FRR: %v established transitions, %v drops, last reset %q", nb["connectionsEstablished"], nb["connectionsDropped"], nb["lastResetDueTo"])
		if num(nb, "connectionsDropped") > 0 {
			t.Errorf("FRR counts %d drops of its session with godwitd (last reset %q)", num(nb, "connectionsDropped"), nb["lastResetDueTo"])
		}
	}
}

// ---------------------------------------------------------------------
// 2. Configuration reload while a full table flows.

// relReload writes conf and sends SIGHUP, and waits until godwitd says it
// applied it (config status: a later generation, ok); it returns when.
func relReload(t *testing.T, d *rrSpeaker, conf string) time.Time {
	t.Helper()
	var cs struct {
		Generation uint64   `json:"generation"`
		OK         bool     `json:"ok"`
		Errors     []string `json:"errors"`
	}
	d.jsonOut(&cs, "config", "status")
	gen := cs.Generation
	d.write(conf)
	d.signal(syscall.SIGHUP)
	daemonEventually(t, fmt.Sprintf("godwitd %s applies the edited file", d.name), func() (bool, string) {
		d.alive(t)
		d.jsonOut(&cs, "config", "status")
		if cs.Generation == gen && !cs.OK && len(cs.Errors) > 0 {
			t.Fatalf("godwitd %s refused the edited file: %q", d.name, cs.Errors)
		}
		return cs.Generation > gen && cs.OK, fmt.Sprintf("generation %d (was %d), ok %t, errors %q", cs.Generation, gen, cs.OK, cs.Errors)
	})
	return time.Now()
}

// TestReliabilityReloadUnderLoad: while an injector pushes a 400k-prefix
// table (paced at 80k prefixes a second, so that it flows for five
// seconds), godwitd's file is edited twice and reloaded with SIGHUP: first
// the descriptions of the injector and of the monitor change, the
// monitor's export policy changes from accept-all to one that adds a
// community, and a new BGPPeer appears; then a second Announcement. None
// of this needs a new session (an export policy is applied to the
// Adj-RIB-Out; a description is text), so no session may reset, and in
// the end the monitor must hold the whole table with the community, the
// new peer (a late monitor that connects after the first reload) the
// whole table without it.
func TestReliabilityReloadUnderLoad(t *testing.T) {
	netns.RequireRoot(t)
	const (
		gwAddr  = "10.102.0.1"
		injAddr = "10.102.0.11"
		monAddr = "10.102.0.12"
		latAddr = "10.102.0.13"
		own     = "10.102.200.0/24"
		own2    = "10.102.201.0/24"
		rate    = 80_000
		// tagged is the community 65000:77 the edited export policy adds.
		tagged = 65000<<16 | 77
	)
	tbl, st := relTable(t, relTableSize, 102, injAddr)
	lan := netns.NewBridge(t, "lan")
	peers := faultPeers(t, lan, injAddr, monAddr, latAddr)
	gwNS := rrJoin(t, lan, "gw", gwAddr)
	tagAll := polDoc("tag-all", `{name: tag, actions: {set: {communities: {add: ["65000:77"]}}, result: accept}}`)
	v1 := rrConf{AS: relAS, RouterID: gwAddr, Announce: []string{own}, Peers: []rrPeerConf{
		{Name: "injector", Addr: injAddr, AS: relInjAS, Spec: "passive: true, holdTime: 3, description: table injector"},
		{Name: "monitor", Addr: monAddr, AS: relMonAS, Spec: "passive: true, holdTime: 3, exportPolicy: accept-all, description: monitor"},
	}}
	// v2: both descriptions, the monitor's export policy, a new peer.
	v2 := v1
	v2.Peers = []rrPeerConf{
		{Name: "injector", Addr: injAddr, AS: relInjAS, Spec: "passive: true, holdTime: 3, description: table injector (edited)"},
		{Name: "monitor", Addr: monAddr, AS: relMonAS, Spec: "passive: true, holdTime: 3, exportPolicy: tag-all, description: monitor (edited)"},
		{Name: "late", Addr: latAddr, AS: relLatAS, Spec: "passive: true, holdTime: 3, exportPolicy: accept-all, description: late monitor"},
	}
	// v3: one more prefix of our own.
	v3 := v2
	v3.Announce = []string{own, own2}
	gw := relStart(t, gwNS, "gw", polYAML(v1, relAcceptAll, tagAll), "--log-level", "info")

	inj := loadConnect(t, peers, "injector", injAddr, gwAddr, relInjAS, relHold)
	mon := loadConnect(t, peers, "monitor", monAddr, gwAddr, relMonAS, relHold)
	mon.setTag(loadHasCommunity(tagged))
	gw.waitNeighbors(t, injAddr, monAddr)
	daemonEventually(t, "the monitor holds godwitd's own prefix", func() (bool, string) {
		relHealthy(t, inj, mon)
		return mon.holds(own), mon.String()
	})
	before := relSince(t, gw, injAddr, monAddr)

	// The reloads go when a fifth and a half of the table have been
	// written.
	at20, at50 := make(chan struct{}), make(chan struct{})
	var fired20, fired50 bool
	progress := func(f float64) {
		if f >= 0.2 && !fired20 {
			fired20 = true
			close(at20)
		}
		if f >= 0.5 && !fired50 {
			fired50 = true
			close(at50)
		}
	}
	start := time.Now()
	pushed := make(chan error, 1)
	go func() { pushed <- inj.push(st, rate, progress) }()
	accepted := func() int64 {
		n, err := neighborDetail(t, gw, injAddr)
		if err != nil {
			t.Fatal(err)
		}
		return num(n, "prefixesAccepted")
	}
	wait := func(c chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case err := <-pushed:
			t.Fatalf("the push ended before the reload: %v", err)
		case <-time.After(routers.DefaultTimeout):
			t.Fatalf("the push made no progress: %s", inj)
		}
	}
	wait(at20)
	sent1 := time.Since(start)
	acc1 := accepted()
	applied1 := relReload(t, gw, polYAML(v2, relAcceptAll, tagAll))
	acc1b := accepted()
	lat := loadConnect(t, peers, "late monitor", latAddr, gwAddr, relLatAS, relHold)
	wait(at50)
	sent2 := time.Since(start)
	acc2 := accepted()
	applied2 := relReload(t, gw, polYAML(v3, relAcceptAll, tagAll))
	acc2b := accepted()
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	t.Logf("reload 1 sent at +%s with %d prefixes accepted, applied at +%s with %d; reload 2 sent at +%s with %d, applied at +%s with %d",
		ms(sent1), acc1, ms(applied1.Sub(start)), acc1b, ms(sent2), acc2, ms(applied2.Sub(start)), acc2b)
	if acc2b >= relTableSize {
		t.Errorf("the second reload was applied only after godwitd had the whole table (%d prefixes): it did not happen under load", acc2b)
	}

	var done time.Duration
	daemonEventually(t, "the whole table at godwitd, with the community at the monitor, without at the late monitor", func() (bool, string) {
		relHealthy(t, inj, mon, lat)
		select {
		case err := <-pushed:
			if err != nil {
				t.Fatalf("injector: %v", err)
			}
		default:
		}
		acc := accepted()
		nm, _ := mon.missing(tbl, 1)
		nl, _ := lat.missing(tbl, 0)
		ok := acc == relTableSize && nm == 0 && nl == 0 && mon.holds(own2) && lat.holds(own2)
		if ok {
			done = time.Since(start)
		}
		return ok, fmt.Sprintf("godwitd accepted %d; the monitor lacks %d (with the community), the late monitor %d; %s; %s", acc, nm, nl, mon, lat)
	})
	ps := inj.stats()
	t.Logf("the injector pushed %d prefixes in %s; everything in place after %s", relTableSize, ps.pushEnd.Sub(ps.pushStart).Round(time.Millisecond), done.Round(time.Millisecond))
	for _, p := range []*loadPeer{inj, mon, lat} {
		t.Logf("%s", p)
	}
	relHealthy(t, inj, mon, lat)
	relSessionsKept(t, gw, before)
	ns, err := relNeighbors(t, gw)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{injAddr: "table injector (edited)", monAddr: "monitor (edited)", latAddr: "late monitor"} {
		if got := ns[addr]["description"]; got != want {
			t.Errorf("godwitd's neighbour %s has description %q, want %q", addr, got, want)
		}
	}
	if n := mustNeighbor(t, gw, monAddr); n["exportPolicy"] != "tag-all" {
		t.Errorf("the monitor's export policy is %v, want tag-all", n["exportPolicy"])
	}
}

// ---------------------------------------------------------------------
// 3. kill -9 with graceful restart, peering with FRR.

// relFRRPath is one path of FRR's `show bgp ipv4 unicast PREFIX json`,
// with the graceful-restart flag.
type relFRRPath struct {
	Valid bool `json:"valid"`
	Stale bool `json:"stale"`
	Peer  struct {
		PeerID string `json:"peerId"`
	} `json:"peer"`
	Nexthops []struct {
		IP string `json:"ip"`
	} `json:"nexthops"`
}

func (p relFRRPath) String() string {
	var nh []string
	for _, h := range p.Nexthops {
		nh = append(nh, h.IP)
	}
	return fmt.Sprintf("{from %s via %v valid %t stale %t}", p.Peer.PeerID, nh, p.Valid, p.Stale)
}

// relFRRPaths reads FRR's paths of an IPv4 prefix.
func relFRRPaths(frr *routers.FRR, prefix string) ([]relFRRPath, error) {
	var one struct {
		Paths []relFRRPath `json:"paths"`
	}
	err := frr.Query("show bgp ipv4 unicast "+prefix+" json", &one)
	return one.Paths, err
}

// TestReliabilityKill9GracefulRestart: godwitd (graceful restart on,
// restart time 120 s) and FRR (bgp graceful-restart) exchange one prefix
// each; godwitd installs FRR's in its kernel. godwitd is killed with
// SIGKILL. FRR must keep godwitd's route as stale (RFC 4724 §4.2, FRR is
// the helper), and the kernel route of FRR's prefix must stay in
// godwitd's namespace at every sample (every 200 ms) from the kill until
// 5 s after the session is back with the restarted godwitd: the new run
// adopts the kernel routes the old one left, starts as a restarting
// speaker (R and F bits) and keeps them until FRR's End-of-RIB. Then FRR
// holds godwitd's route fresh again, and godwitd FRR's.
func TestReliabilityKill9GracefulRestart(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	const (
		gwAddr   = "10.103.0.1"
		frrAddr  = "10.103.0.2"
		gwPfx    = "10.103.200.0/24"
		frrPfx   = "10.103.210.0/24"
		sampling = 200 * time.Millisecond
	)
	gwNS, frrNS := netns.New(t, "gw"), netns.New(t, "frr")
	if _, _, err := netns.Veth(
		netns.End{NS: gwNS, Ifname: "to-frr", Addrs: []string{gwAddr + "/24"}},
		netns.End{NS: frrNS, Ifname: "to-gw", Addrs: []string{frrAddr + "/24"}},
	); err != nil {
		t.Fatal(err)
	}
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: relFRRAS,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: relAS, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: frrPfx}},
		Extra:     fmt.Sprintf("router bgp %d\n bgp graceful-restart\nexit\n", relFRRAS)})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	conf := rrConf{AS: relAS, RouterID: gwAddr, Global: "gracefulRestart: {enabled: true, restartTime: 120}",
		Announce: []string{gwPfx}, Peers: []rrPeerConf{{Name: "frr", Addr: frrAddr, AS: relFRRAS}}}
	gw := relStart(t, gwNS, "gw", conf.yaml())
	t.Cleanup(func() {
		if t.Failed() {
			fibDumpKernel(t, gwNS)
			for _, cmd := range []string{"show bgp neighbor " + gwAddr + " graceful-restart", "show bgp ipv4 unicast " + gwPfx} {
				out, err := frr.Vtysh(cmd)
				t.Logf("===== FRR: %s =====\n%s%v", cmd, out, err)
			}
		}
	})

	frrHas := func(what string, ok func([]relFRRPath) bool) {
		t.Helper()
		daemonEventually(t, "FRR: "+what, func() (bool, string) {
			if err := frr.Alive(); err != nil {
				t.Fatal(err)
			}
			ps, err := relFRRPaths(frr, gwPfx)
			if err != nil {
				return false, err.Error()
			}
			return ok(ps), fmt.Sprintf("paths of %s: %v", gwPfx, ps)
		})
	}
	fresh := func(ps []relFRRPath) bool {
		return len(ps) == 1 && ps[0].Peer.PeerID == gwAddr && ps[0].Valid && !ps[0].Stale
	}
	stale := func(ps []relFRRPath) bool {
		return len(ps) == 1 && ps[0].Peer.PeerID == gwAddr && ps[0].Stale
	}
	viaFRR := []string{frrAddr + " dev to-frr"}
	frrBest := fibOnePath(frrAddr, frrAddr, relFRRAS)

	routers.WaitEstablished(t, frr, gwAddr)
	frrHas("godwitd's prefix, fresh", fresh)
	gw.waitRoutes(t, "FRR's prefix", frrBest, frrPfx)
	fibWaitKernel(t, gwNS, "FRR's prefix installed", frrPfx, viaFRR)
	if nb, err := frr.Neighbor(gwAddr); err == nil {
		t.Logf("FRR's graceful-restart view of godwitd before the kill: %v", relJSON(nb["gracefulRestartInfo"]))
	}

	// kill -9, sampling the kernel from that moment on.
	stop := fibSampler(gwNS, sampling)
	var samples []fibSample
	defer func() {
		if samples == nil {
			stop()
		}
	}()
	killed := time.Now()
	gw.signal(syscall.SIGKILL)
	daemonEventually(t, "godwitd gone", func() (bool, string) {
		done, err := gwNS.Exited(gw.pid)
		return done, fmt.Sprintf("pid %d still running (%v)", gw.pid, err)
	})
	daemonEventually(t, "FRR's session with godwitd down", func() (bool, string) {
		s, err := routers.SessionOf(frr, gwAddr)
		return err == nil && !s.Established(), fmt.Sprint(s, err)
	})
	frrHas("godwitd's prefix kept as stale while godwitd is down", stale)
	staleAt := time.Now()

	restarted := time.Now()
	gw2 := fibRestart(t, gw)
	gw2.waitNeighbors(t, frrAddr)
	routers.WaitEstablished(t, frr, gwAddr)
	up := time.Now()
	var rBit, fBit any
	if nb, err := frr.Neighbor(gwAddr); err == nil {
		gr, _ := nb["gracefulRestartInfo"].(map[string]any)
		rBit = gr["rBit"]
		if v4, ok := gr["ipv4Unicast"].(map[string]any); ok {
			fBit = v4["fBit"]
		}
		t.Logf("FRR's graceful-restart view of the restarted godwitd: %v", relJSON(gr))
	}
	// After the restart: FRR's copy of godwitd's route is refreshed
	// (godwitd's End-of-RIB ends the stale state), godwitd has FRR's
	// route again.
	frrHas("godwitd's prefix fresh again after the restart", fresh)
	fresher := time.Now()
	gw2.waitRoutes(t, "FRR's prefix after the restart", frrBest, frrPfx)
	// The sampling window ends 5 s after the session came back.
	time.Sleep(time.Until(up.Add(5 * time.Second)))
	samples = stop()

	ms := func(at time.Time) time.Duration { return at.Sub(killed).Round(time.Millisecond) }
	var bad []string
	for _, s := range samples {
		if s.at.Before(killed) {
			continue
		}
		switch r := s.routes[netip.MustParsePrefix(frrPfx)]; {
		case s.err != nil:
			bad = append(bad, fmt.Sprintf("+%s: %v", ms(s.at), s.err))
		case r == nil:
			bad = append(bad, fmt.Sprintf("+%s: %s missing (%s)", ms(s.at), frrPfx, fibKernelString(s.routes)))
		case strings.Join(r.hops(), ",") != strings.Join(viaFRR, ","):
			bad = append(bad, fmt.Sprintf("+%s: %s is %s", ms(s.at), frrPfx, r))
		}
	}
	n := 0
	for _, s := range samples {
		if !s.at.Before(killed) {
			n++
		}
	}
	last := samples[len(samples)-1].at
	t.Logf("%d kernel samples every %s from the kill to +%s: stale at FRR by +%s, restart at +%s, session up at +%s, FRR's copy fresh at +%s",
		n, sampling, ms(last), ms(staleAt), ms(restarted), ms(up), ms(fresher))
	if len(bad) > 0 {
		t.Errorf("%d of %d samples lack FRR's prefix %s via %v in godwitd's kernel:\n%s", len(bad), n, frrPfx, viaFRR, strings.Join(bad, "\n"))
	}
	if want := int(last.Sub(killed) / (2 * sampling)); n < want {
		t.Errorf("only %d samples in %s, want at least %d", n, ms(last), want)
	}
	if rBit != true || fBit != true {
		t.Errorf("FRR did not see the Restart State (R) bit and the Forwarding State (F) bit for IPv4 unicast in the restarted godwitd's OPEN: rBit %v, fBit %v", rBit, fBit)
	}
	// The restarted godwitd adopted the kernel routes, deferred its
	// selection, and ended both with FRR's End-of-RIB, not the deferral
	// timer (30 s).
	wants := []string{"kept the kernel routes of the previous run", "graceful restart: forwarding state kept",
		"every peer sent End-of-RIB", "graceful restart complete: sending our routes"}
	daemonEventually(t, "the restarted godwitd's log", func() (bool, string) {
		log := relReadFile(gw2.log)
		var missing []string
		for _, want := range wants {
			if !strings.Contains(log, want) {
				missing = append(missing, want)
			}
		}
		return len(missing) == 0, fmt.Sprintf("no %q", missing)
	})
	if log := relReadFile(gw2.log); strings.Contains(log, "not every peer sent End-of-RIB within the deferral time") {
		t.Errorf("the restarted godwitd waited for the deferral timer instead of FRR's End-of-RIB")
	}
	fibWaitKernel(t, gwNS, "FRR's prefix still installed", frrPfx, viaFRR)
}

// relJSON renders decoded JSON compactly for a log line.
func relJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ---------------------------------------------------------------------
// 4. Link down: fast external failover.

// relRoute is one object of `godwit routes -o json` with the
// graceful-restart flag.
type relRoute struct {
	rrRoute
	Stale bool `json:"stale"`
}

func (r relRoute) String() string { return fmt.Sprintf("%s stale %t", r.rrRoute, r.Stale) }

func relRoutes(d *rrSpeaker, prefix string) ([]relRoute, error) {
	out, err := d.run("routes", prefix, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("godwit routes %s: %v: %s", prefix, err, strings.TrimSpace(out))
	}
	var rs []relRoute
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		return nil, fmt.Errorf("godwit routes %s -o json: %v in %q", prefix, err, out)
	}
	return rs, nil
}

// TestReliabilityLinkDown: godwitd and FRR have a directly connected eBGP
// session over a veth pair, hold time 30 s. When the link goes down, on
// godwitd's end (ip link set down in its namespace) or on FRR's (godwitd
// sees the carrier go), godwitd must drop the session at once, as FRR and
// BIRD do (fast external failover), not after the hold time, and withdraw
// FRR's route from its RIB and its kernel within a second. When the link
// comes back, so do the session and the route.
//
// FRR runs twice: with graceful restart disabled (no capability in its
// OPEN), and in its default helper mode, whose capability lists no address
// family: it preserves no forwarding state, so there is nothing to keep
// as stale (RFC 4724 §4.2 retains only the families the capability
// lists).
func TestReliabilityLinkDown(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	t.Run("FRR_without_graceful_restart", func(t *testing.T) {
		testLinkDown(t, fmt.Sprintf("router bgp %d\n bgp graceful-restart-disable\nexit\n", relFRRAS), false)
	})
	t.Run("FRR_graceful_restart_helper", func(t *testing.T) {
		testLinkDown(t, "", true)
	})
}

// testLinkDown runs the two link failures against an FRR with frrExtra
// in its configuration; helper says FRR is in graceful-restart helper mode.
func testLinkDown(t *testing.T, frrExtra string, helper bool) {
	const (
		gwAddr  = "10.104.0.1"
		frrAddr = "10.104.0.2"
		gwPfx   = "10.104.200.0/24"
		frrPfx  = "10.104.210.0/24"
		// The limits, well under the hold time; the measured times are
		// logged.
		dropLimit     = time.Second
		withdrawLimit = time.Second
	)
	gwNS, frrNS := netns.New(t, "gw"), netns.New(t, "frr")
	if _, _, err := netns.Veth(
		netns.End{NS: gwNS, Ifname: "to-frr", Addrs: []string{gwAddr + "/24"}},
		netns.End{NS: frrNS, Ifname: "to-gw", Addrs: []string{frrAddr + "/24"}},
	); err != nil {
		t.Fatal(err)
	}
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: relFRRAS,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: relAS, HoldTime: 30}},
		Routes:    []routers.Route{{Prefix: frrPfx}}, Extra: frrExtra})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	conf := rrConf{AS: relAS, RouterID: gwAddr, Announce: []string{gwPfx},
		Peers: []rrPeerConf{{Name: "frr", Addr: frrAddr, AS: relFRRAS, Spec: "holdTime: 30"}}}
	gw := relStart(t, gwNS, "gw", conf.yaml())
	t.Cleanup(func() {
		if t.Failed() {
			fibDumpKernel(t, gwNS)
		}
	})
	viaFRR := []string{frrAddr + " dev to-frr"}
	frrBest := fibOnePath(frrAddr, frrAddr, relFRRAS)
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

	up := func(t *testing.T, what string) {
		t.Helper()
		routers.WaitEstablished(t, frr, gwAddr)
		gw.waitNeighbors(t, frrAddr)
		gw.waitRoutes(t, what+": FRR's prefix", frrBest, frrPfx)
		daemonEventually(t, what+": FRR's prefix not stale", func() (bool, string) {
			rs, err := relRoutes(gw, frrPfx)
			return err == nil && len(rs) == 1 && !rs[0].Stale, fmt.Sprint(rs, err)
		})
		fibWaitKernel(t, gwNS, what+": FRR's prefix installed", frrPfx, viaFRR)
		daemonEventually(t, what+": FRR has godwitd's prefix", func() (bool, string) {
			ps, err := routers.PathsOf(frr, routers.IPv4Unicast, gwPfx)
			return err == nil && len(ps) == 1, fmt.Sprint(ps, err)
		})
	}
	up(t, "at the start")
	n := mustNeighbor(t, gw, frrAddr)
	if hold, _ := n["holdTime"].(map[string]any); num(hold, "negotiated") != 30 {
		t.Fatalf("negotiated hold time %v, want 30", n["holdTime"])
	}
	grCap := "none"
	for _, c := range n["capabilities"].([]any) {
		if c := c.(map[string]any); c["name"] == "graceful-restart" && c["received"] == true {
			grCap = fmt.Sprintf("%q", c["receivedDetail"])
		}
	}
	t.Logf("FRR's graceful-restart capability as godwitd received it: %s", grCap)

	for _, c := range []struct {
		name string
		ns   *netns.NS
		dev  string
	}{
		{"godwitd's end down", gwNS, "to-frr"},
		{"FRR's end down (carrier loss at godwitd)", frrNS, "to-gw"},
	} {
		t.Run(strings.NewReplacer(" ", "_", "'", "", "(", "", ")", "").Replace(c.name), func(t *testing.T) {
			up(t, "before "+c.name)
			flaps := num(mustNeighbor(t, gw, frrAddr), "flapCount")
			down := time.Now()
			fibIP(t, c.ns, "link", "set", "dev", c.dev, "down")
			t.Cleanup(func() { c.ns.IP("link", "set", "dev", c.dev, "up") })

			// The session and the kernel route.
			var dropped, noKernel time.Duration
			netns.Eventually(t, routers.DefaultTimeout, 20*time.Millisecond, func() (bool, string) {
				var state []string
				if dropped == 0 {
					n, err := neighborDetail(t, gw, frrAddr)
					if err != nil {
						return false, err.Error()
					}
					if n["state"] != "Established" {
						dropped = time.Since(down)
					}
					state = append(state, fmt.Sprintf("session %v", n["state"]))
				}
				if noKernel == 0 {
					k, err := fibKernel(gwNS)
					if err != nil {
						return false, err.Error()
					}
					r := k[netip.MustParsePrefix(frrPfx)]
					if r == nil {
						noKernel = time.Since(down)
					}
					state = append(state, fmt.Sprintf("kernel %s", r))
				}
				return dropped > 0 && noKernel > 0, strings.Join(state, ", ")
			})
			n := mustNeighbor(t, gw, frrAddr)
			t.Logf("session down after %s (%v), FRR's route out of godwitd's kernel after %s", ms(dropped), n["lastError"], ms(noKernel))
			if dropped > dropLimit {
				t.Errorf("the session went down %s after the link, want under %s (hold time 30 s)", ms(dropped), dropLimit)
			}
			if !strings.Contains(fmt.Sprint(n["lastError"]), "fast external failover") {
				t.Errorf("the session went down for another reason than the link: %q", n["lastError"])
			}
			if f := num(n, "flapCount"); f != flaps+1 {
				t.Errorf("flapCount %d, was %d", f, flaps)
			}
			if noKernel-dropped > withdrawLimit {
				t.Errorf("FRR's route left godwitd's kernel %s after the session went down, want under %s", ms(noKernel-dropped), withdrawLimit)
			}

			// The RIB, polled for three times the limit, so that a route
			// withdrawn late is told apart from one kept.
			var noRIB time.Duration
			var last []relRoute
			err := netns.Wait(dropped+3*withdrawLimit-time.Since(down), 20*time.Millisecond, func() (bool, string) {
				rs, err := relRoutes(gw, frrPfx)
				if err != nil {
					return false, err.Error()
				}
				last = rs
				if len(rs) == 0 {
					noRIB = time.Since(down)
				}
				return len(rs) == 0, fmt.Sprint(rs)
			})
			switch {
			case err != nil && helper && len(last) == 1 && last[0].Stale:
				t.Error(fmt.Sprintf("godwitd keeps a peer's routes as stale after the session drops although "+
					"the peer's graceful-restart capability lists no address family (FRR's helper mode: %s), where RFC 4724 §4.2 "+
					"retains only the families listed: the session went down after %s, yet `godwit routes %s` still shows %v %s later "+
					"(godwitd logs \"session down; keeping its routes as stale while the peer restarts (RFC 4724)\" restart-time=2m0s; "+
					"daemon/ribloop.go down() marks every family stale)", grCap, ms(dropped), frrPfx, last, ms(time.Since(down))))
			case err != nil:
				t.Errorf("FRR's route still in godwitd's RIB %s after the session went down: %v", ms(time.Since(down)-dropped), err)
			case noRIB-dropped > withdrawLimit && len(last) == 0:
				t.Logf("FRR's route out of godwitd's RIB after %s", ms(noRIB))
				t.Error(fmt.Sprintf("the routes of a session closed by fast external failover leave the RIB "+
					"only %s after the session went down, want under %s: peer/conn.go drops the connection without a NOTIFICATION "+
					"but still lingers (lingerTime, 2 s) for the peer to close, which a peer behind a dead link never does, and "+
					"the reader calls Handler.SessionDown only once that read deadline ends (godwitd's log: \"session down\" 2 s "+
					"after the state change to Idle)", ms(noRIB-dropped), withdrawLimit))
			default:
				t.Logf("FRR's route out of godwitd's RIB after %s", ms(noRIB))
			}

			back := time.Now()
			fibIP(t, c.ns, "link", "set", "dev", c.dev, "up")
			up(t, "after the link came back")
			t.Logf("session and routes back %s after the link came up", ms(time.Since(back)))
		})
	}
}
