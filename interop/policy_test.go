package interop_test

// RoutePolicy (DESIGN.md's resource model) with godwitd as a real process,
// next to FRR and BIRD: what an import policy lets into the table and
// which path it makes best, what an export policy changes in the routes a
// peer receives, and a policy edited and reloaded (SIGHUP) taking effect
// without a session reset. Each test checks the result where it shows:
// `godwit routes -o json` for import, the peer's own table for export.
//
// The tests use the shared-segment helpers of routes_test.go (rrJoin,
// rrBuild) and daemon_test.go (daemonStart, daemonEventually); every test
// has its own /24, next to the 10.7N.0.0/24 of routes_test.go:
//
//	TestPolicyPrefixFilterGeLe          10.80.0.0/24  FRR -> godwitd (import prefixSet ge/le)
//	TestPolicyCommunitiesMatchedByFRR   10.81.0.0/24  BIRD -> godwitd -> FRR (export communities, FRR route-map)
//	TestPolicyLocalPrefSteersBestPath   10.82.0.0/24  FRR + BIRD -> godwitd (import localPreference, reload)
//	TestPolicyMEDSteersBestPath         10.83.0.0/24  FRR + BIRD, one AS -> godwitd (import med, reload)
//	TestPolicyASPathPrependAtBIRD       10.84.0.0/24  godwitd -> BIRD (export asPathPrepend)
//	TestPolicyRemovePrivateASAtBIRD     10.85.0.0/24  FRR -> godwitd -> BIRD (export removePrivateAS)
//	TestPolicyReloadChangesExport       10.86.0.0/24  godwitd -> FRR (export prefixSet, reload)
//
// godwitd is .1 on each segment, FRR .2 and BIRD .3; the prefixes routed
// are 198.18.8N.0/24 blocks (test 1 uses the 10.2.0.0/16 of DESIGN.md's
// example policy and its neighbours).

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// ---------------------------------------------------------------------
// godwitd with RoutePolicy documents.

// polSpeaker is a godwitd whose configuration has RoutePolicy documents
// after the resources rrConf renders.
type polSpeaker struct {
	*rrSpeaker
	conf string // the file as last written
}

// polYAML renders c followed by the policy documents.
func polYAML(c rrConf, policies ...string) string {
	docs := append([]string{c.yaml()}, policies...)
	return strings.Join(docs, "---\n")
}

// polDoc is a RoutePolicy document; each statement is one YAML flow
// mapping ("{name: x, actions: {result: accept}}").
func polDoc(name string, statements ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: bgp.godwit.dev/v1alpha1\nkind: RoutePolicy\nmetadata: {name: %s}\nspec:\n  statements:\n", name)
	for _, s := range statements {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	return b.String()
}

// polStart starts godwitd on the segment as rrStart does, with policies.
func polStart(t *testing.T, lan *netns.Bridge, name string, c rrConf, policies ...string) *polSpeaker {
	t.Helper()
	godwitd, godwit := rrBuild(t)
	ns := rrJoin(t, lan, name, c.RouterID)
	s := &polSpeaker{conf: polYAML(c, policies...)}
	d := daemonStart(t, ns, godwitd, godwit, s.conf)
	s.rrSpeaker = &rrSpeaker{daemonProc: d, name: name}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("===== godwitd %s configuration (as last written) =====\n%s", name, s.conf)
		for _, args := range [][]string{{"config", "status"}, {"status"}, {"routes"}} {
			if out, err := d.run(args...); err == nil {
				t.Logf("===== godwit %s (%s) =====\n%s", strings.Join(args, " "), name, out)
			}
		}
	})
	return s
}

// reload writes conf and sends SIGHUP, and waits until godwitd says it
// applied it (config status: one more generation, ok).
func (s *polSpeaker) reload(t *testing.T, conf string) {
	t.Helper()
	var cs struct {
		Generation uint64   `json:"generation"`
		OK         bool     `json:"ok"`
		Errors     []string `json:"errors"`
	}
	s.jsonOut(&cs, "config", "status")
	gen := cs.Generation
	s.conf = conf
	s.write(conf)
	s.signal(syscall.SIGHUP)
	daemonEventually(t, fmt.Sprintf("godwitd %s applies the edited file", s.name), func() (bool, string) {
		s.alive(t)
		s.jsonOut(&cs, "config", "status")
		if cs.Generation == gen && !cs.OK && len(cs.Errors) > 0 {
			t.Fatalf("godwitd %s refused the edited file: %q", s.name, cs.Errors)
		}
		return cs.Generation > gen && cs.OK, fmt.Sprintf("generation %d (was %d), ok %t, errors %q", cs.Generation, gen, cs.OK, cs.Errors)
	})
}

// polRoute is one object of `godwit routes -o json`, with the fields the
// policy tests read besides rrRoute's.
type polRoute struct {
	rrRoute
	Communities []string `json:"communities"`
	Filtered    bool     `json:"filtered"`
}

func (r polRoute) String() string {
	return fmt.Sprintf("{%s via %s from %s path %v lp %d med %d communities %v best %t filtered %t}",
		r.Prefix, r.NextHop, r.Peer, r.ASPath, r.LocalPreference, r.MED, r.Communities, r.Best, r.Filtered)
}

// polRoutes runs `godwit routes ARGS -o json`.
func (s *polSpeaker) polRoutes(args ...string) ([]polRoute, error) {
	out, err := s.run(append(append([]string{"routes"}, args...), "-o", "json")...)
	if err != nil {
		return nil, fmt.Errorf("godwit routes %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
	}
	var rs []polRoute
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		return nil, fmt.Errorf("godwit routes %s -o json: %v in %q", strings.Join(args, " "), err, out)
	}
	return rs, nil
}

// waitPolRoutes polls `godwit routes ARGS` until ok accepts the paths, and
// returns them.
func (s *polSpeaker) waitPolRoutes(t *testing.T, what string, ok func([]polRoute) bool, args ...string) []polRoute {
	t.Helper()
	var got []polRoute
	daemonEventually(t, fmt.Sprintf("godwitd %s: %s", s.name, what), func() (bool, string) {
		s.alive(t)
		rs, err := s.polRoutes(args...)
		if err != nil {
			return false, err.Error()
		}
		got = rs
		return ok(rs), fmt.Sprintf("godwit routes %s: %v", strings.Join(args, " "), rs)
	})
	return got
}

// polPrefixes lists the routes' prefixes, sorted.
func polPrefixes(rs []polRoute) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Prefix)
	}
	slices.Sort(out)
	return out
}

// polBest returns the best path among rs (false when none is).
func polBest(rs []polRoute) (polRoute, bool) {
	for _, r := range rs {
		if r.Best {
			return r, true
		}
	}
	return polRoute{}, false
}

// polSorted returns a sorted copy.
func polSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// polNum reads a number from decoded JSON (-1 when absent).
func polNum(m map[string]any, key string) int64 {
	if v, ok := m[key].(float64); ok {
		return int64(v)
	}
	return -1
}

// ---------------------------------------------------------------------
// Sessions that must stay up across a reload.

// polSession is what tells a session that stayed up from one that was
// reset and came back, from both ends.
type polSession struct {
	// godwitd's `godwit neighbor ADDR -o json`.
	state       string
	since       string // the last state change
	uptime      int64  // uptimeSeconds
	transitions int64  // counters.establishedTransitions
	flaps       int64  // flapCount
	refreshSent int64  // counters.sent.routeRefresh
	peerUptime  time.Duration
	// FRR's `show bgp neighbor ADDR json` (-1 for BIRD).
	frrConns, frrDrops, frrRefreshRecv int64
}

func (s polSession) String() string {
	return fmt.Sprintf("godwitd: %s since %s, up %d s, %d established transitions, %d flaps, %d ROUTE-REFRESH sent; peer: up %s, FRR connections established %d, dropped %d, ROUTE-REFRESH received %d",
		s.state, s.since, s.uptime, s.transitions, s.flaps, s.refreshSent, s.peerUptime, s.frrConns, s.frrDrops, s.frrRefreshRecv)
}

// polSessionOf reads the session between godwitd (gwAddr) and r (addr)
// at both ends.
func polSessionOf(t *testing.T, gw *polSpeaker, r routers.Router, addr, gwAddr string) polSession {
	t.Helper()
	var n map[string]any
	gw.jsonOut(&n, "neighbor", addr)
	counters, _ := n["counters"].(map[string]any)
	sent, _ := counters["sent"].(map[string]any)
	s := polSession{state: fmt.Sprint(n["state"]), since: fmt.Sprint(n["since"]), uptime: polNum(n, "uptimeSeconds"),
		transitions: polNum(counters, "establishedTransitions"), flaps: polNum(n, "flapCount"), refreshSent: polNum(sent, "routeRefresh"),
		frrConns: -1, frrDrops: -1, frrRefreshRecv: -1}
	ps, err := routers.SessionOf(r, gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	s.peerUptime = ps.Uptime
	if f, ok := r.(*routers.FRR); ok {
		fn, err := f.Neighbor(gwAddr)
		if err != nil {
			t.Fatal(err)
		}
		s.frrConns, s.frrDrops = polNum(fn, "connectionsEstablished"), polNum(fn, "connectionsDropped")
		stats, _ := fn["messageStats"].(map[string]any)
		s.frrRefreshRecv = polNum(stats, "routeRefreshRecv")
	}
	return s
}

// polSessionKept waits until the session's uptime has grown at both ends
// past before's, then checks that it is the same session: Established,
// the same last state change and counts of establishments and drops. It
// returns what it read last.
func polSessionKept(t *testing.T, gw *polSpeaker, r routers.Router, addr, gwAddr string, before polSession) polSession {
	t.Helper()
	var after polSession
	daemonEventually(t, fmt.Sprintf("the uptime of the session with %s %s grows", r.Kind(), addr), func() (bool, string) {
		after = polSessionOf(t, gw, r, addr, gwAddr)
		return after.uptime > before.uptime && after.peerUptime > before.peerUptime,
			fmt.Sprintf("\nbefore: %s\nnow:    %s", before, after)
	})
	if after.state != "Established" || after.since != before.since || after.transitions != before.transitions ||
		after.flaps != before.flaps || after.frrConns != before.frrConns || after.frrDrops != before.frrDrops {
		t.Errorf("the session with %s %s was reset by the reload:\nbefore: %s\nafter:  %s", r.Kind(), addr, before, after)
	}
	t.Logf("session with %s %s across the reload:\nbefore: %s\nafter:  %s", r.Kind(), addr, before, after)
	return after
}

// ---------------------------------------------------------------------
// 1. An import prefixSet with ge/le: FRR announces prefixes inside and
// outside the ranges; only those outside reach godwitd's table, and the
// others show as filtered in what FRR sent.

func TestPolicyPrefixFilterGeLe(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	const (
		gwAddr  = "10.80.0.1"
		frrAddr = "10.80.0.2"
	)
	// The policy rejects 10.2.0.0/16 ge 24 le 32 (lengths 24..32 inside
	// it) and 10.4.0.0/16 le 20 (lengths 16..20: without ge, ge is the
	// prefix length), and accepts the rest.
	cases := []struct {
		prefix   string
		accepted bool
		why      string
	}{
		{"10.2.0.0/16", true, "the /16 itself: shorter than ge 24"},
		{"10.2.0.0/23", true, "shorter than ge 24"},
		{"10.2.1.0/24", false, "length = ge"},
		{"10.2.1.128/25", false, "between ge and le"},
		{"10.2.1.1/32", false, "length = le"},
		{"10.3.0.0/16", true, "outside 10.2.0.0/16"},
		{"10.3.1.0/24", true, "a /24 outside 10.2.0.0/16"},
		{"10.4.0.0/16", false, "le 20 alone starts at the prefix length"},
		{"10.4.16.0/20", false, "length = le"},
		{"10.4.1.0/24", true, "longer than le 20"},
	}
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	fcfg := routers.Config{RouterID: frrAddr, LocalAS: 65100,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9}}}
	var all, accepted []string
	for _, c := range cases {
		fcfg.Routes = append(fcfg.Routes, routers.Route{Prefix: c.prefix})
		all = append(all, c.prefix)
		if c.accepted {
			accepted = append(accepted, c.prefix)
		}
	}
	slices.Sort(all)
	slices.Sort(accepted)
	frr, err := routers.StartFRR(frrNS, fcfg)
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	gw := polStart(t, lan, "gw", rrConf{AS: 65010, RouterID: gwAddr,
		Peers: []rrPeerConf{{Name: "frr", Addr: frrAddr, AS: 65100, Spec: "importPolicy: from-frr"}}},
		polDoc("from-frr",
			"{name: no-long-prefixes, conditions: {prefixSet: [{prefix: 10.2.0.0/16, ge: 24, le: 32}, {prefix: 10.4.0.0/16, le: 20}]}, actions: {result: reject}}",
			"{name: rest, actions: {result: accept}}"))
	routers.WaitEstablished(t, frr, gwAddr)

	// Everything FRR sent is in its Adj-RIB-In; only the accepted
	// prefixes are in the table.
	received := gw.waitPolRoutes(t, "every prefix FRR announced received", func(rs []polRoute) bool {
		return slices.Equal(polPrefixes(rs), all)
	}, "--peer", frrAddr, "--received")
	gw.waitPolRoutes(t, "only the accepted prefixes in the table", func(rs []polRoute) bool {
		for _, r := range rs {
			if r.Peer != frrAddr || !r.Best || !slices.Equal(r.ASPath, []uint32{65100}) {
				return false
			}
		}
		return slices.Equal(polPrefixes(rs), accepted)
	})
	var table strings.Builder
	fmt.Fprintf(&table, "%-15s %-9s %-9s %s\n", "prefix", "expected", "filtered", "why")
	for _, c := range cases {
		i := slices.IndexFunc(received, func(r polRoute) bool { return r.Prefix == c.prefix })
		got := "missing"
		if i >= 0 {
			got = fmt.Sprint(received[i].Filtered)
			if received[i].Filtered == c.accepted {
				t.Errorf("%s (%s): received from FRR with filtered %t, want %t: %v", c.prefix, c.why, received[i].Filtered, !c.accepted, received[i])
			}
		}
		want := "accept"
		if !c.accepted {
			want = "reject"
		}
		fmt.Fprintf(&table, "%-15s %-9s %-9s %s\n", c.prefix, want, got, c.why)
	}
	t.Logf("import policy results:\n%s", table.String())
	daemonEventually(t, "neighbor prefix counts", func() (bool, string) {
		n := gw.neighbor(frrAddr)
		return polNum(n, "prefixesReceived") == int64(len(all)) && polNum(n, "prefixesAccepted") == int64(len(accepted)),
			fmt.Sprintf("received %v accepted %v, want %d and %d", n["prefixesReceived"], n["prefixesAccepted"], len(all), len(accepted))
	})
}

// ---------------------------------------------------------------------
// 2. Communities added by an export policy, matched at FRR by a
// community-list in an inbound route-map that sets LOCAL_PREF 300.
//
//	BIRD AS 65200 ──C (65200:1 65200:2)──> godwitd AS 65010 ──A B C──> FRR AS 65100
//
// godwitd's export policy to FRR adds 65010:100 to its own A and to
// BIRD's C (removing 65200:1 from C), and passes its own B untouched.

func TestPolicyCommunitiesMatchedByFRR(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindBIRD)
	const (
		gwAddr   = "10.81.0.1"
		frrAddr  = "10.81.0.2"
		birdAddr = "10.81.0.3"
		a        = "198.18.81.0/26"   // ours, tagged
		b        = "198.18.81.64/26"  // ours, not tagged
		c        = "198.18.81.128/25" // BIRD's, tagged
	)
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	birdNS := rrJoin(t, lan, "bird", birdAddr)
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: 65100,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9, ImportPolicy: "FROM-GW"}},
		Extra: "bgp community-list standard GODWIT-TAG seq 5 permit 65010:100\n" +
			"route-map FROM-GW permit 10\n match community GODWIT-TAG\n set local-preference 300\nexit\n" +
			"route-map FROM-GW permit 20\nexit\n"})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	bird, err := routers.StartBIRD(birdNS, routers.Config{RouterID: birdAddr, LocalAS: 65200,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: c, Communities: []string{"65200:1", "65200:2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, bird)
	gw := polStart(t, lan, "gw", rrConf{AS: 65010, RouterID: gwAddr, Announce: []string{a, b},
		Peers: []rrPeerConf{
			{Name: "frr", Addr: frrAddr, AS: 65100, Spec: "exportPolicy: to-frr"},
			{Name: "bird", Addr: birdAddr, AS: 65200},
		}},
		polDoc("to-frr",
			fmt.Sprintf(`{name: tag, conditions: {prefixSet: [{prefix: %s}, {prefix: %s}]}, actions: {set: {communities: {add: ["65010:100"], remove: ["65200:1"]}}, result: accept}}`, a, c),
			"{name: rest, actions: {result: accept}}"))
	routers.WaitEstablished(t, frr, gwAddr)
	routers.WaitEstablished(t, bird, gwAddr)

	// godwitd's table keeps C as BIRD sent it: the policy changes the
	// copy for FRR only.
	gw.waitPolRoutes(t, "BIRD's route with its communities", func(rs []polRoute) bool {
		return len(rs) == 1 && rs[0].Peer == birdAddr && slices.Equal(polSorted(rs[0].Communities), []string{"65200:1", "65200:2"})
	}, c)

	type atFRR struct {
		prefix      string
		asPath      []uint32
		communities []string
		localPref   uint32 // 0: FRR's default (none shown, or 100)
	}
	cases := []atFRR{
		{a, []uint32{65010}, []string{"65010:100"}, 300},
		{b, []uint32{65010}, nil, 0},
		{c, []uint32{65010, 65200}, []string{"65010:100", "65200:2"}, 300},
	}
	for _, tc := range cases {
		ps := routers.WaitRoute(t, frr, routers.IPv4Unicast, tc.prefix, func(ps []routers.Path) bool {
			if len(ps) != 1 {
				return false
			}
			p := ps[0]
			lpOK := (tc.localPref == 0 && (p.LocalPref == nil || *p.LocalPref == 100)) ||
				(p.LocalPref != nil && *p.LocalPref == tc.localPref)
			return p.Peer == gwAddr && p.Valid && p.Best && slices.Equal(p.ASPath, tc.asPath) &&
				slices.Equal(polSorted(p.Communities), tc.communities) && lpOK
		})
		lp := "none"
		if ps[0].LocalPref != nil {
			lp = fmt.Sprint(*ps[0].LocalPref)
		}
		t.Logf("FRR: %s path %v communities %v local-preference %s", tc.prefix, ps[0].ASPath, ps[0].Communities, lp)
	}
	// And godwitd says it sent them so.
	adv := gw.waitPolRoutes(t, "A, B and C advertised to FRR", func(rs []polRoute) bool {
		return slices.Equal(polPrefixes(rs), polSorted([]string{a, b, c}))
	}, "--peer", frrAddr, "--advertised")
	for _, r := range adv {
		i := slices.IndexFunc(cases, func(tc atFRR) bool { return tc.prefix == r.Prefix })
		if !slices.Equal(polSorted(r.Communities), cases[i].communities) {
			t.Errorf("godwit routes --peer %s --advertised: %v, want communities %v", frrAddr, r, cases[i].communities)
		}
	}
}

// ---------------------------------------------------------------------
// 3. LOCAL_PREF from an import policy picks the best path, and a reloaded
// policy moves it without a session reset.
//
//	FRR  AS 65100 ──P──┐
//	                   ├──> godwitd AS 65010
//	BIRD AS 65200 ──P──┘
//
// Without the policy FRR's path wins (the lower router ID, if nothing
// earlier decides), so the first policy, LOCAL_PREF 200 for BIRD's path,
// must change the winner; the reloaded one gives 200 to FRR's path and
// puts BIRD's back to the default 100 (which takes a ROUTE-REFRESH to
// both peers: the policy changed for both sessions).

func TestPolicyLocalPrefSteersBestPath(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindBIRD)
	const (
		gwAddr   = "10.82.0.1"
		frrAddr  = "10.82.0.2"
		birdAddr = "10.82.0.3"
		p        = "198.18.82.0/24"
	)
	upstreams := polUpstreams(t, "10.82.0", 65100, 65200, p)
	conf := rrConf{AS: 65010, RouterID: gwAddr, Peers: []rrPeerConf{
		{Name: "frr", Addr: frrAddr, AS: 65100, Spec: "importPolicy: upstreams"},
		{Name: "bird", Addr: birdAddr, AS: 65200, Spec: "importPolicy: upstreams"},
	}}
	prefer := func(addr string) string {
		return polDoc("upstreams",
			fmt.Sprintf("{name: prefer, conditions: {neighbor: [%s]}, actions: {set: {localPreference: 200}, result: accept}}", addr),
			"{name: rest, actions: {result: accept}}")
	}
	gw := polStart(t, upstreams.lan, "gw", conf, prefer(birdAddr))
	upstreams.established(t)
	polSteer(t, gw, upstreams, p, conf, prefer, "local preference",
		func(r polRoute) uint32 { return r.LocalPreference }, 200, 100)
}

// ---------------------------------------------------------------------
// 3b. MED from an import policy picks the best path. RFC 4271 §9.1.2.2
// (c) compares MULTI_EXIT_DISC only between paths from the same
// neighbouring AS, so here FRR and BIRD are both AS 65100 (with different
// ASes, as in the LOCAL_PREF test, MED would not be compared and the test
// would show nothing). The policy gives the preferred upstream's path MED
// 10 and the other's 50; the lower wins.

func TestPolicyMEDSteersBestPath(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindBIRD)
	const (
		gwAddr   = "10.83.0.1"
		frrAddr  = "10.83.0.2"
		birdAddr = "10.83.0.3"
		p        = "198.18.83.0/24"
	)
	upstreams := polUpstreams(t, "10.83.0", 65100, 65100, p)
	conf := rrConf{AS: 65010, RouterID: gwAddr, Peers: []rrPeerConf{
		{Name: "frr", Addr: frrAddr, AS: 65100, Spec: "importPolicy: upstreams"},
		{Name: "bird", Addr: birdAddr, AS: 65100, Spec: "importPolicy: upstreams"},
	}}
	prefer := func(addr string) string {
		return polDoc("upstreams",
			fmt.Sprintf("{name: prefer, conditions: {neighbor: [%s]}, actions: {set: {med: 10}, result: accept}}", addr),
			"{name: rest, actions: {set: {med: 50}, result: accept}}")
	}
	gw := polStart(t, upstreams.lan, "gw", conf, prefer(birdAddr))
	upstreams.established(t)
	polSteer(t, gw, upstreams, p, conf, prefer, "MED",
		func(r polRoute) uint32 { return r.MED }, 10, 50)
}

// polUpstreamPair is FRR (.2) and BIRD (.3) on a fresh segment NET.0/24,
// both announcing the same prefix to godwitd (.1).
type polUpstreamPair struct {
	lan               *netns.Bridge
	gwAddr            string
	frr               *routers.FRR
	bird              *routers.BIRD
	frrAddr, birdAddr string
	frrAS, birdAS     uint32
}

func polUpstreams(t *testing.T, net string, frrAS, birdAS uint32, prefix string) *polUpstreamPair {
	t.Helper()
	u := &polUpstreamPair{lan: netns.NewBridge(t, "lan"), gwAddr: net + ".1", frrAddr: net + ".2", birdAddr: net + ".3",
		frrAS: frrAS, birdAS: birdAS}
	frrNS := rrJoin(t, u.lan, "frr", u.frrAddr)
	birdNS := rrJoin(t, u.lan, "bird", u.birdAddr)
	var err error
	u.frr, err = routers.StartFRR(frrNS, routers.Config{RouterID: u.frrAddr, LocalAS: frrAS,
		Neighbors: []routers.Neighbor{{Address: u.gwAddr, RemoteAS: 65010, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: prefix}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, u.frr)
	u.bird, err = routers.StartBIRD(birdNS, routers.Config{RouterID: u.birdAddr, LocalAS: birdAS,
		Neighbors: []routers.Neighbor{{Address: u.gwAddr, RemoteAS: 65010, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: prefix}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, u.bird)
	return u
}

func (u *polUpstreamPair) established(t *testing.T) {
	t.Helper()
	routers.WaitEstablished(t, u.frr, u.gwAddr)
	routers.WaitEstablished(t, u.bird, u.gwAddr)
}

// polSteer checks that the policy prefer(BIRD) makes BIRD's path best with
// the attribute attr at win and FRR's at lose; then reloads prefer(FRR)
// and checks the reverse, with both sessions kept and a ROUTE-REFRESH
// sent to each.
func polSteer(t *testing.T, gw *polSpeaker, u *polUpstreamPair, prefix string, conf rrConf, prefer func(string) string,
	what string, attr func(polRoute) uint32, win, lose uint32) {
	t.Helper()
	steered := func(winner, loser string) func([]polRoute) bool {
		return func(rs []polRoute) bool {
			if len(rs) != 2 {
				return false
			}
			best, ok := polBest(rs)
			if !ok || best.Peer != winner || attr(best) != win {
				return false
			}
			for _, r := range rs {
				if r.Peer == loser && !r.Best && attr(r) == lose {
					return true
				}
			}
			return false
		}
	}
	rs := gw.waitPolRoutes(t, fmt.Sprintf("BIRD's path best by %s %d", what, win), steered(u.birdAddr, u.frrAddr), prefix)
	t.Logf("policy prefers BIRD: %v", rs)

	frrBefore := polSessionOf(t, gw, u.frr, u.frrAddr, u.gwAddr)
	birdBefore := polSessionOf(t, gw, u.bird, u.birdAddr, u.gwAddr)
	gw.reload(t, polYAML(conf, prefer(u.frrAddr)))
	rs = gw.waitPolRoutes(t, fmt.Sprintf("FRR's path best by %s %d after the reload", what, win), steered(u.frrAddr, u.birdAddr), prefix)
	t.Logf("policy prefers FRR: %v", rs)

	frrAfter := polSessionKept(t, gw, u.frr, u.frrAddr, u.gwAddr, frrBefore)
	birdAfter := polSessionKept(t, gw, u.bird, u.birdAddr, u.gwAddr, birdBefore)
	// The import policy changed for both sessions: godwitd asked each
	// peer for its routes again rather than resetting it (RFC 2918).
	if frrAfter.refreshSent <= frrBefore.refreshSent || frrAfter.frrRefreshRecv <= frrBefore.frrRefreshRecv {
		t.Errorf("no ROUTE-REFRESH to FRR after the import policy changed: godwitd sent %d then %d, FRR received %d then %d",
			frrBefore.refreshSent, frrAfter.refreshSent, frrBefore.frrRefreshRecv, frrAfter.frrRefreshRecv)
	}
	if birdAfter.refreshSent <= birdBefore.refreshSent {
		t.Errorf("no ROUTE-REFRESH to BIRD after the import policy changed: godwitd sent %d then %d", birdBefore.refreshSent, birdAfter.refreshSent)
	}
}

// ---------------------------------------------------------------------
// 4. AS_PATH prepending on export, seen at BIRD: asPathPrepend 2 adds the
// own AS twice on top of the once every eBGP export adds.

func TestPolicyASPathPrependAtBIRD(t *testing.T) {
	routers.Require(t, routers.KindBIRD)
	const (
		gwAddr   = "10.84.0.1"
		birdAddr = "10.84.0.3"
		a        = "198.18.84.0/25"   // prepended
		b        = "198.18.84.128/25" // not
	)
	lan := netns.NewBridge(t, "lan")
	birdNS := rrJoin(t, lan, "bird", birdAddr)
	bird, err := routers.StartBIRD(birdNS, routers.Config{RouterID: birdAddr, LocalAS: 65200,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, bird)
	gw := polStart(t, lan, "gw", rrConf{AS: 65010, RouterID: gwAddr, Announce: []string{a, b},
		Peers: []rrPeerConf{{Name: "bird", Addr: birdAddr, AS: 65200, Spec: "exportPolicy: to-bird"}}},
		polDoc("to-bird",
			fmt.Sprintf("{name: prepend, conditions: {prefixSet: [{prefix: %s}]}, actions: {set: {asPathPrepend: 2}, result: accept}}", a),
			"{name: rest, actions: {result: accept}}"))
	routers.WaitEstablished(t, bird, gwAddr)

	for _, c := range []struct {
		prefix string
		path   []uint32
		text   string
	}{
		{a, []uint32{65010, 65010, 65010}, "65010 65010 65010"},
		{b, []uint32{65010}, "65010"},
	} {
		ps := routers.WaitRoute(t, bird, routers.IPv4Unicast, c.prefix, func(ps []routers.Path) bool {
			return len(ps) == 1 && ps[0].Peer == gwAddr && slices.Equal(ps[0].ASPath, c.path) && ps[0].ASPathText == c.text
		})
		t.Logf("BIRD: %s BGP.as_path %q", c.prefix, ps[0].ASPathText)
		adv, err := gw.polRoutes("--peer", birdAddr, "--advertised", c.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(adv) != 1 || !slices.Equal(adv[0].ASPath, c.path) {
			t.Errorf("godwit routes --peer %s --advertised %s: %v, want AS path %v", birdAddr, c.prefix, adv, c.path)
		}
	}
}

// ---------------------------------------------------------------------
// 5. Private AS numbers removed on export, seen at BIRD.
//
//	FRR AS 64500 ──P1 P2, path "64500 64512"──> godwitd AS 65010 ──> BIRD AS 65200
//
// FRR prepends the private AS 64512 (RFC 6996) with an outbound route-map,
// so that it sits behind FRR's own AS, which is not private (64500 is a
// documentation AS, RFC 5398). godwitd's export policy to BIRD removes
// private ASes from P1 only; P2 is the control that shows 64512 reached
// the export. godwitd's own AS, added after the policy, stays.

func TestPolicyRemovePrivateASAtBIRD(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindBIRD)
	const (
		gwAddr   = "10.85.0.1"
		frrAddr  = "10.85.0.2"
		birdAddr = "10.85.0.3"
		p1       = "198.18.85.0/25"   // private ASes removed
		p2       = "198.18.85.128/25" // as learned
	)
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	birdNS := rrJoin(t, lan, "bird", birdAddr)
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: 64500,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9, ExportPolicy: "PRIVATE-BEHIND"}},
		Routes:    []routers.Route{{Prefix: p1}, {Prefix: p2}},
		Extra:     "route-map PRIVATE-BEHIND permit 10\n set as-path prepend 64512\nexit\n"})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	bird, err := routers.StartBIRD(birdNS, routers.Config{RouterID: birdAddr, LocalAS: 65200,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, bird)
	gw := polStart(t, lan, "gw", rrConf{AS: 65010, RouterID: gwAddr,
		Peers: []rrPeerConf{
			{Name: "frr", Addr: frrAddr, AS: 64500},
			{Name: "bird", Addr: birdAddr, AS: 65200, Spec: "exportPolicy: to-bird"},
		}},
		polDoc("to-bird",
			fmt.Sprintf("{name: strip, conditions: {prefixSet: [{prefix: %s}]}, actions: {set: {removePrivateAS: true}, result: accept}}", p1),
			"{name: rest, actions: {result: accept}}"))
	routers.WaitEstablished(t, frr, gwAddr)
	routers.WaitEstablished(t, bird, gwAddr)

	// godwitd learned both with the private AS.
	for _, p := range []string{p1, p2} {
		gw.waitPolRoutes(t, "FRR's route with 64512 behind 64500", func(rs []polRoute) bool {
			return len(rs) == 1 && rs[0].Peer == frrAddr && slices.Equal(rs[0].ASPath, []uint32{64500, 64512})
		}, p)
	}
	for _, c := range []struct {
		prefix string
		path   []uint32
	}{
		{p1, []uint32{65010, 64500}},
		{p2, []uint32{65010, 64500, 64512}},
	} {
		ps := routers.WaitRoute(t, bird, routers.IPv4Unicast, c.prefix, func(ps []routers.Path) bool {
			return len(ps) == 1 && ps[0].Peer == gwAddr && slices.Equal(ps[0].ASPath, c.path)
		})
		t.Logf("BIRD: %s BGP.as_path %q", c.prefix, ps[0].ASPathText)
	}
}

// ---------------------------------------------------------------------
// 6. An export policy edited and reloaded: FRR loses the prefix the old
// policy allowed and gains the one the new allows, over the same session.

func TestPolicyReloadChangesExport(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	const (
		gwAddr  = "10.86.0.1"
		frrAddr = "10.86.0.2"
		a       = "198.18.86.0/25"
		b       = "198.18.86.128/25"
	)
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: 65100,
		Neighbors: []routers.Neighbor{{Address: gwAddr, RemoteAS: 65010, HoldTime: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	conf := rrConf{AS: 65010, RouterID: gwAddr, Announce: []string{a, b},
		Peers: []rrPeerConf{{Name: "frr", Addr: frrAddr, AS: 65100, Spec: "exportPolicy: to-frr"}}}
	// Only the named prefix is accepted; the other falls off the end of
	// the policy and is rejected.
	only := func(p string) string {
		return polDoc("to-frr", fmt.Sprintf("{name: only, conditions: {prefixSet: [{prefix: %s}]}, actions: {result: accept}}", p))
	}
	gw := polStart(t, lan, "gw", conf, only(a))
	routers.WaitEstablished(t, frr, gwAddr)

	// frrHas waits until FRR holds want (from godwitd) and not gone.
	frrHas := func(what, want, gone string) {
		t.Helper()
		daemonEventually(t, "FRR: "+what, func() (bool, string) {
			if err := frr.Alive(); err != nil {
				t.Fatal(err)
			}
			w, err := frr.Route(routers.IPv4Unicast, want)
			if err != nil {
				return false, err.Error()
			}
			g, err := frr.Route(routers.IPv4Unicast, gone)
			if err != nil {
				return false, err.Error()
			}
			return len(w) == 1 && w[0].Peer == gwAddr && slices.Equal(w[0].ASPath, []uint32{65010}) && len(g) == 0,
				fmt.Sprintf("%s: %+v; %s: %+v", want, w, gone, g)
		})
		gw.waitPolRoutes(t, "only "+want+" advertised to FRR", func(rs []polRoute) bool {
			return slices.Equal(polPrefixes(rs), []string{want})
		}, "--peer", frrAddr, "--advertised")
	}
	frrHas("A, not B", a, b)
	before := polSessionOf(t, gw, frr, frrAddr, gwAddr)

	gw.reload(t, polYAML(conf, only(b)))
	frrHas("B, not A, after the reload", b, a)
	polSessionKept(t, gw, frr, frrAddr, gwAddr, before)
}
