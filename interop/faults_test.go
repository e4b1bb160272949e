package interop_test

// Fault injection (issue 9, "reliability"): godwitd as a real process,
// fed malformed input by scripted peers (scriptpeer_test.go) that share a
// segment with it, as in routes_test.go. Each test has its own /24:
//
//	TestFaultMalformedUpdates  10.78.0.0/24  RFC 7606 outcomes, passed-on Partial bit
//	TestFaultMaxPrefixes       10.79.0.0/24  maxPrefixes: Cease / Maximum Number of Prefixes Reached
//	TestFaultGarbage           10.80.0.0/24  bad marker, truncation, bad length, overruns
//	TestFaultFlaps             10.81.0.0/24  50 session flaps: back-off, goroutines, heap
//
// godwitd is 10.7N.0.1 in AS 65000 everywhere; the scripted peers are
// 10.7N.0.1x in one namespace ("peers") with several addresses, and dial
// godwitd (passive: true) except where a test says otherwise. Their
// prefixes are taken from 172.2N.0.0/16 for the segment 10.7N.0.0/24
// (172.30 and 172.31 for 10.80 and 10.81).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
)

const faultAS = 65000

// faultPprof is where godwitd serves net/http/pprof in TestFaultFlaps.
const faultPprof = "127.0.0.1:6060"

// faultStart starts godwitd in namespace name on the segment, with c and
// the extra command-line arguments. On failure the test prints the end of
// its log (a flapping peer makes it long), its status and its routes.
func faultStart(t *testing.T, lan *netns.Bridge, name string, c rrConf, extra ...string) *rrSpeaker {
	t.Helper()
	godwitd, godwit := rrBuild(t)
	ns := rrJoin(t, lan, name, c.RouterID)
	dir, err := ns.Dir()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, ns: ns, cli: godwit, sock: filepath.Join(dir, "godwitd.sock"),
		config: filepath.Join(dir, "godwit.yaml"), log: filepath.Join(dir, "godwitd.log")}
	d.write(c.yaml())
	args := append([]string{godwitd, "--config", d.config, "--api", "unix://" + d.sock,
		"--metrics", daemonMetrics, "--log-level", "debug"}, extra...)
	d.pid, err = ns.Start(d.log, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b, _ := os.ReadFile(d.log)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 400 {
			lines = append([]string{fmt.Sprintf("(%d lines before these left out)", len(lines)-400)}, lines[len(lines)-400:]...)
		}
		t.Logf("===== godwitd %s log =====\n%s", name, strings.Join(lines, "\n"))
		t.Logf("===== godwitd %s configuration =====\n%s", name, c.yaml())
		if out, err := d.run("status"); err == nil {
			t.Logf("===== godwit status (%s) =====\n%s", name, out)
		}
		if out, err := d.run("routes"); err == nil {
			t.Logf("===== godwit routes (%s) =====\n%s", name, out)
		}
	})
	return &rrSpeaker{daemonProc: d, name: name}
}

// faultPeers makes the namespace of the scripted peers, with every
// address on its one interface on the segment.
func faultPeers(t *testing.T, lan *netns.Bridge, addrs ...string) *netns.NS {
	t.Helper()
	ns := rrJoin(t, lan, "peers", addrs[0])
	for _, a := range addrs[1:] {
		if err := ns.AddAddr("lan", a+"/24"); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// logOnFailure prints what the scripted peer saw when the test fails.
func (sp *scriptPeer) logOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("===== scripted peer %s =====", sp)
		}
	})
}

// neighborDetail runs `godwit neighbor ADDR -o json` (t is the caller's,
// which may be a subtest: d.t is the test that started godwitd).
func neighborDetail(t *testing.T, d *rrSpeaker, addr string) (map[string]any, error) {
	t.Helper()
	d.alive(t)
	out, err := d.run("neighbor", addr, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("godwit neighbor %s: %v: %s", addr, err, out)
	}
	var n map[string]any
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		return nil, fmt.Errorf("godwit neighbor %s -o json: %v in %q", addr, err, out)
	}
	return n, nil
}

func mustNeighbor(t *testing.T, d *rrSpeaker, addr string) map[string]any {
	t.Helper()
	n, err := neighborDetail(t, d, addr)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// notifOf reads a NOTIFICATION object of the neighbour detail.
func notifOf(n map[string]any, key string) (code, sub int64, ok bool) {
	m, ok := n[key].(map[string]any)
	if !ok {
		return 0, 0, false
	}
	return num(m, "code"), num(m, "subcode"), true
}

// num reads a number from decoded JSON (-1 when absent).
func num(m map[string]any, key string) int64 {
	if v, ok := m[key].(float64); ok {
		return int64(v)
	}
	return -1
}

// prefixSet runs `godwit routes -o json` and returns the prefixes with a
// path from peer (any peer when peer is empty).
func prefixSet(t *testing.T, d *rrSpeaker, peer string) (map[string]bool, error) {
	t.Helper()
	d.alive(t)
	rs, err := d.routes()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rs {
		if peer == "" || r.Peer == peer {
			out[r.Prefix] = true
		}
	}
	return out, nil
}

// waitPrefixes polls godwitd's routes until every prefix of want is
// present (true) or absent (false).
func waitPrefixes(t *testing.T, d *rrSpeaker, what string, want map[string]bool) {
	t.Helper()
	daemonEventually(t, "godwitd's routes: "+what, func() (bool, string) {
		got, err := prefixSet(t, d, "")
		if err != nil {
			return false, err.Error()
		}
		var wrong []string
		for p, present := range want {
			if got[p] != present {
				wrong = append(wrong, fmt.Sprintf("%s present=%t want %t", p, got[p], present))
			}
		}
		slices.Sort(wrong)
		return len(wrong) == 0, strings.Join(wrong, "; ")
	})
}

// httpGet fetches url from inside ns.
func httpGet(ns *netns.NS, url string) (string, error) {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.Dial(ctx, &net.Dialer{}, network, addr)
		}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// metricSample finds the sample of name whose labels include every one
// of labels (`peer="10.0.0.1"`), whatever their order.
func metricSample(page, name string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(page, "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if match {
			var v float64
			_, err := fmt.Sscan(value, &v)
			return v, err == nil
		}
	}
	return 0, false
}

// checkNotification fails unless n is code/subcode (and, when data is not
// nil, carries that data).
func checkNotification(t *testing.T, who string, n *wire.Notification, code iana.NotifCode, sub uint8, data []byte) {
	t.Helper()
	want := fmt.Sprintf("%s / %s", code, iana.SubcodeString(code, sub))
	switch {
	case n == nil:
		t.Errorf("%s: godwitd closed the connection without a NOTIFICATION, want %s", who, want)
	case n.Code != code || n.Subcode != sub:
		t.Errorf("%s: got NOTIFICATION %s (code %d subcode %d), want %s (code %d subcode %d)",
			who, n, n.Code, n.Subcode, want, code, sub)
	case data != nil && !bytes.Equal(n.Data, data):
		t.Errorf("%s: NOTIFICATION %s with data %x, want %x", who, want, n.Data, data)
	default:
		t.Logf("%s: got NOTIFICATION %s", who, n)
	}
}

// ---------------------------------------------------------------------
// 1. Malformed UPDATEs (RFC 7606).

// TestFaultMalformedUpdates: an eBGP injector sends UPDATEs with an
// undefined ORIGIN (prefix A), a COMMUNITIES of 5 octets (B), an unknown
// optional transitive attribute (C), an unknown optional non-transitive
// one (E) and a good one (D). A and B were announced well-formed first, so
// that treat-as-withdraw has something to withdraw (RFC 7606 §2: the
// routes are withdrawn, not just ignored). The session stays up; godwitd
// keeps C, D and E, and passes C on to an iBGP monitor with the unknown
// attribute and its Partial bit set (RFC 4271 §5, §9.1.2), E without its
// non-transitive one.
func TestFaultMalformedUpdates(t *testing.T) {
	netns.RequireRoot(t)
	const (
		gwAddr  = "10.78.0.1"
		injAddr = "10.78.0.11"
		monAddr = "10.78.0.12"
		injAS   = 65011
		pA, pB  = "172.28.1.0/24", "172.28.2.0/24"
		pC, pD  = "172.28.3.0/24", "172.28.4.0/24"
		pE      = "172.28.5.0/24"
		unkT    = 0xf0 // unknown optional transitive
		unkN    = 0xf1 // unknown optional non-transitive
	)
	unkValue := []byte("godwit fault test")
	lan := netns.NewBridge(t, "lan")
	peers := faultPeers(t, lan, injAddr, monAddr)
	gw := faultStart(t, lan, "gw", rrConf{AS: faultAS, RouterID: gwAddr, Peers: []rrPeerConf{
		{Name: "inj", Addr: injAddr, AS: injAS, Spec: "passive: true"},
		{Name: "mon", Addr: monAddr, AS: faultAS, Spec: "passive: true"},
	}})
	inj := scriptConnect(t, peers, "inj", injAddr, gwAddr, injAS)
	inj.logOnFailure(t)
	mon := scriptConnect(t, peers, "mon", monAddr, gwAddr, faultAS)
	mon.logOnFailure(t)
	gw.waitNeighbors(t, injAddr, monAddr)
	before := mustNeighbor(t, gw, injAddr)

	base := rawBase(injAS, injAddr)
	inj.mustSend(t,
		rawUpdate(nil, base, rawPrefixes(pA)),
		rawUpdate(nil, base, rawPrefixes(pB)))
	waitPrefixes(t, gw, "A and B, well-formed", map[string]bool{pA: true, pB: true})
	netns.Eventually(t, routers.DefaultTimeout, 20*time.Millisecond, func() (bool, string) {
		return mon.hasRoutes(map[string]bool{pA: true, pB: true})
	})

	inj.mustSend(t,
		// RFC 7606 §7.1: an undefined ORIGIN value.
		rawUpdate(nil, concat(rawOrigin(7), rawASPath(injAS), rawNextHop(injAddr)), rawPrefixes(pA)),
		// RFC 7606 §7.8: COMMUNITIES not a multiple of 4 octets.
		rawUpdate(nil, concat(base, rawAttr(flagOptional|flagTransitive, 8, []byte{0xfd, 0xeb, 0, 1, 0})), rawPrefixes(pB)),
		// RFC 4271 §5: unknown optional attributes are accepted.
		rawUpdate(nil, concat(base, rawAttr(flagOptional|flagTransitive, unkT, unkValue)), rawPrefixes(pC)),
		rawUpdate(nil, concat(base, rawAttr(flagOptional, unkN, unkValue)), rawPrefixes(pE)),
		rawUpdate(nil, base, rawPrefixes(pD)))

	// D comes last: once it is in, the others have been handled.
	want := map[string]bool{pA: false, pB: false, pC: true, pD: true, pE: true}
	waitPrefixes(t, gw, "A and B withdrawn, C, D and E kept", want)
	netns.Eventually(t, routers.DefaultTimeout, 20*time.Millisecond, func() (bool, string) {
		inj.alive(t)
		return mon.hasRoutes(want)
	})

	// What the monitor got, byte for byte.
	check := func(prefix string, f func([]rawAttribute) string) {
		t.Helper()
		raw, _ := mon.route(prefix)
		as, ok := splitAttrs(raw)
		if !ok {
			t.Errorf("%s: the monitor got path attributes that do not parse: %x", prefix, raw)
			return
		}
		if msg := f(as); msg != "" {
			t.Errorf("%s at the monitor: %s (attributes %x)", prefix, msg, raw)
		}
	}
	check(pC, func(as []rawAttribute) string {
		a, ok := findAttr(as, unkT)
		switch {
		case !ok:
			return fmt.Sprintf("no attribute %#x: the unknown optional transitive attribute was not passed on", unkT)
		case a.Flags&^flagExtLen != flagOptional|flagTransitive|flagPartial:
			return fmt.Sprintf("attribute %#x has flags %#02x, want %#02x (optional, transitive, partial)", unkT, a.Flags, flagOptional|flagTransitive|flagPartial)
		case !bytes.Equal(a.Value, unkValue):
			return fmt.Sprintf("attribute %#x has value %q, want %q", unkT, a.Value, unkValue)
		}
		return ""
	})
	check(pE, func(as []rawAttribute) string {
		if _, ok := findAttr(as, unkN); ok {
			return fmt.Sprintf("the unknown optional non-transitive attribute %#x was passed on", unkN)
		}
		return ""
	})
	check(pD, func(as []rawAttribute) string {
		for _, code := range []byte{unkT, unkN} {
			if _, ok := findAttr(as, code); ok {
				return fmt.Sprintf("attribute %#x that D never had", code)
			}
		}
		return ""
	})

	// The session was never reset.
	inj.alive(t)
	mon.alive(t)
	n := mustNeighbor(t, gw, injAddr)
	if n["state"] != "Established" || num(n, "flapCount") != 0 || n["since"] != before["since"] {
		t.Errorf("the injector's session at godwitd: state %v, flapCount %v, since %v (was %v)", n["state"], n["flapCount"], n["since"], before["since"])
	}
	if _, _, sent := notifOf(n, "lastNotificationSent"); sent {
		t.Errorf("godwitd sent the injector a NOTIFICATION: %v", n["lastNotificationSent"])
	}

	// The metrics page counts the two treat-as-withdraw UPDATEs.
	daemonEventually(t, "godwit_bgp_update_faults_total for the injector", func() (bool, string) {
		page, err := httpGet(gw.ns, "http://"+daemonMetrics+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		v, ok := metricSample(page, "godwit_bgp_update_faults_total", `peer="`+injAddr+`"`, `action="treat-as-withdraw"`)
		d, _ := metricSample(page, "godwit_bgp_update_faults_total", `peer="`+injAddr+`"`, `action="attribute-discard"`)
		r, _ := metricSample(page, "godwit_bgp_update_faults_total", `peer="`+injAddr+`"`, `action="session-reset"`)
		return ok && v == 2 && d == 0 && r == 0, fmt.Sprintf("treat-as-withdraw %v (found %t), attribute-discard %v, session-reset %v; want 2, 0, 0", v, ok, d, r)
	})
}

// ---------------------------------------------------------------------
// 2. Maximum number of prefixes.

// TestFaultMaxPrefixes: the injector has maxPrefixes: 100 and sends 150
// prefixes. godwitd closes its session with Cease / Maximum Number of
// Prefixes Reached (RFC 4486: the data is AFI, SAFI and the limit),
// withdraws its routes and keeps it down (no maxPrefixesRestart); another
// peer's session and routes are untouched.
func TestFaultMaxPrefixes(t *testing.T) {
	netns.RequireRoot(t)
	const (
		gwAddr     = "10.79.0.1"
		injAddr    = "10.79.0.11"
		steadyAddr = "10.79.0.12"
		injAS      = 65011
		steadyAS   = 65012
		limit      = 100
	)
	var injPrefixes, steadyPrefixes []string
	for i := range 150 {
		injPrefixes = append(injPrefixes, fmt.Sprintf("172.29.%d.0/24", i))
	}
	for i := range 5 {
		steadyPrefixes = append(steadyPrefixes, fmt.Sprintf("172.29.%d.0/24", 200+i))
	}
	lan := netns.NewBridge(t, "lan")
	peers := faultPeers(t, lan, injAddr, steadyAddr)
	gw := faultStart(t, lan, "gw", rrConf{AS: faultAS, RouterID: gwAddr, Peers: []rrPeerConf{
		{Name: "inj", Addr: injAddr, AS: injAS, Spec: fmt.Sprintf("passive: true, maxPrefixes: %d", limit)},
		{Name: "steady", Addr: steadyAddr, AS: steadyAS, Spec: "passive: true"},
	}})
	steady := scriptConnect(t, peers, "steady", steadyAddr, gwAddr, steadyAS)
	steady.logOnFailure(t)
	steady.mustSend(t, rawUpdate(nil, rawBase(steadyAS, steadyAddr), rawPrefixes(steadyPrefixes...)))
	steadyWant := map[string]bool{}
	for _, p := range steadyPrefixes {
		steadyWant[p] = true
	}
	waitPrefixes(t, gw, "the steady peer's prefixes", steadyWant)
	steadyBefore := mustNeighbor(t, gw, steadyAddr)

	inj := scriptConnect(t, peers, "inj", injAddr, gwAddr, injAS)
	inj.logOnFailure(t)
	gw.waitNeighbors(t, injAddr, steadyAddr)
	var msgs [][]byte
	for i := 0; i < len(injPrefixes); i += 50 {
		msgs = append(msgs, rawUpdate(nil, rawBase(injAS, injAddr), rawPrefixes(injPrefixes[i:i+50]...)))
	}
	// godwitd may close the session before the last UPDATE is written.
	if err := inj.send(msgs...); err != nil {
		t.Logf("inj: write: %v (the session may be closed already)", err)
	}
	n := inj.waitEnd(t)
	// RFC 4486 §4: AFI 1, SAFI 1, the limit as 4 octets.
	checkNotification(t, "inj", n, iana.NotifCease, uint8(iana.CeaseMaxPrefixesReached), []byte{0, 1, 1, 0, 0, 0, limit})

	// godwitd's view: the session is down for this reason, the routes are
	// gone, and it stays down.
	daemonEventually(t, "the injector's session down with the NOTIFICATION recorded", func() (bool, string) {
		n, err := neighborDetail(t, gw, injAddr)
		if err != nil {
			return false, err.Error()
		}
		code, sub, ok := notifOf(n, "lastNotificationSent")
		return n["state"] != "Established" && ok && code == 6 && sub == 1,
			fmt.Sprintf("state %v, info %v, lastNotificationSent %v", n["state"], n["info"], n["lastNotificationSent"])
	})
	daemonEventually(t, "the injector's routes withdrawn", func() (bool, string) {
		got, err := prefixSet(t, gw, injAddr)
		if err != nil {
			return false, err.Error()
		}
		return len(got) == 0, fmt.Sprintf("%d routes from %s left", len(got), injAddr)
	})
	nb := mustNeighbor(t, gw, injAddr)
	t.Logf("the injector at godwitd: state %v, info %q, adminShutdown %v", nb["state"], nb["info"], nb["adminShutdown"])
	// Kept down: a new connection from the injector is closed without an
	// OPEN rather than brought up.
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(injAddr)}}
		c, err := peers.Dial(ctx, d, "tcp", gwAddr+":179")
		if err != nil {
			t.Logf("inj: redial refused by the kernel: %v", err)
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		var ne net.Error
		if len(b) > 0 || (errors.As(err, &ne) && ne.Timeout()) {
			t.Errorf("inj: a new connection after the limit got %x (%v), want it closed at once: the session must stay down without maxPrefixesRestart", b, err)
		}
	}()

	// The other peer: same session, same routes.
	steady.alive(t)
	after := mustNeighbor(t, gw, steadyAddr)
	if after["state"] != "Established" || after["since"] != steadyBefore["since"] || num(after, "flapCount") != 0 {
		t.Errorf("the steady peer's session: state %v since %v flapCount %v (before: since %v)", after["state"], after["since"], after["flapCount"], steadyBefore["since"])
	}
	waitPrefixes(t, gw, "the steady peer's prefixes", steadyWant)
}

// ---------------------------------------------------------------------
// 3. Garbage.

// TestFaultGarbage: one session per kind of garbage, each from its own
// address, next to a steady peer whose session and routes must not move:
//
//	bad-marker            Established, then bytes that are no header: 1/1
//	bad-marker-first      garbage instead of an OPEN: 1/1
//	truncated-then-close  part of an UPDATE, or of a header, then FIN: the session ends; it comes back
//	length-over-4096      a header of length 5000 without RFC 8654: 1/2, data the length
//	attr-length-overrun   Total Path Attribute Length past the message: 3/1 (RFC 4271 §6.3, RFC 7606 §4)
//	attr-overrun-in-list  the last attribute's length past the attributes: treat-as-withdraw (RFC 7606 §4)
func TestFaultGarbage(t *testing.T) {
	netns.RequireRoot(t)
	const (
		gwAddr     = "10.80.0.1"
		steadyAddr = "10.80.0.10"
		steadyAS   = 65010
	)
	steadyPrefixes := []string{"172.30.200.0/24", "172.30.201.0/24", "172.30.202.0/24"}
	steadyWant := map[string]bool{}
	for _, p := range steadyPrefixes {
		steadyWant[p] = true
	}
	type gPeer struct {
		name, addr string
		as         uint32
	}
	g := map[string]gPeer{}
	conf := rrConf{AS: faultAS, RouterID: gwAddr, Peers: []rrPeerConf{{Name: "steady", Addr: steadyAddr, AS: steadyAS, Spec: "passive: true"}}}
	addrs := []string{steadyAddr}
	for i, name := range []string{"bad-marker", "bad-marker-first", "truncated-then-close", "length-over-4096", "attr-length-overrun", "attr-overrun-in-list"} {
		p := gPeer{name: name, addr: fmt.Sprintf("10.80.0.%d", 11+i), as: uint32(65011 + i)}
		g[name] = p
		conf.Peers = append(conf.Peers, rrPeerConf{Name: fmt.Sprintf("g%d", i+1), Addr: p.addr, AS: p.as, Spec: "passive: true"})
		addrs = append(addrs, p.addr)
	}
	lan := netns.NewBridge(t, "lan")
	peers := faultPeers(t, lan, addrs...)
	gw := faultStart(t, lan, "gw", conf)
	steady := scriptConnect(t, peers, "steady", steadyAddr, gwAddr, steadyAS)
	steady.logOnFailure(t)
	steady.mustSend(t, rawUpdate(nil, rawBase(steadyAS, steadyAddr), rawPrefixes(steadyPrefixes...)))
	waitPrefixes(t, gw, "the steady peer's prefixes", steadyWant)
	steadyBefore := mustNeighbor(t, gw, steadyAddr)

	// steadyUnaffected checks the steady peer after each case.
	steadyUnaffected := func(t *testing.T) {
		t.Helper()
		steady.alive(t)
		n := mustNeighbor(t, gw, steadyAddr)
		if n["state"] != "Established" || n["since"] != steadyBefore["since"] || num(n, "flapCount") != 0 {
			t.Errorf("the steady peer's session moved: state %v since %v flapCount %v (before: since %v)", n["state"], n["since"], n["flapCount"], steadyBefore["since"])
		}
		got, err := prefixSet(t, gw, steadyAddr)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range steadyPrefixes {
			if !got[p] {
				t.Errorf("the steady peer's %s is gone from godwitd's routes", p)
			}
		}
	}
	// sessionDown waits until godwitd's session with addr is down.
	sessionDown := func(t *testing.T, addr string) map[string]any {
		t.Helper()
		var n map[string]any
		daemonEventually(t, "godwitd's session with "+addr+" down", func() (bool, string) {
			var err error
			n, err = neighborDetail(t, gw, addr)
			if err != nil {
				return false, err.Error()
			}
			return n["state"] != "Established", fmt.Sprintf("state %v", n["state"])
		})
		return n
	}
	// junk is random bytes whose first 16 are not all ones.
	junk := func(n int) []byte {
		r := rand.New(rand.NewPCG(9, uint64(n)))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		b[0] = 0x47
		return b
	}

	t.Run("bad-marker", func(t *testing.T) {
		p := g["bad-marker"]
		sp := scriptConnect(t, peers, p.name, p.addr, gwAddr, p.as)
		sp.logOnFailure(t)
		sp.stopKeepalives()
		sp.mustSend(t, junk(64))
		checkNotification(t, p.name, sp.waitEnd(t), iana.NotifMessageHeader, uint8(iana.HeaderConnectionNotSynchronized), nil)
		sessionDown(t, p.addr)
		steadyUnaffected(t)
	})

	t.Run("bad-marker-first", func(t *testing.T) {
		p := g["bad-marker-first"]
		nc, rd, _ := scriptDialRaw(t, peers, p.addr, gwAddr)
		defer nc.Close()
		if _, err := nc.Write(junk(64)); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(routers.DefaultTimeout))
		var n *wire.Notification
		for n == nil {
			typ, msg, err := rd.ReadMessage()
			if err != nil {
				t.Fatalf("%s: godwitd closed without a NOTIFICATION: %v", p.name, err)
			}
			if typ == iana.MsgNotification {
				n, err = wire.DecodeNotification(msg[wire.HeaderLen:])
				if err != nil {
					t.Fatalf("%s: NOTIFICATION %x: %v", p.name, msg, err)
				}
			}
		}
		nc.Close()
		checkNotification(t, p.name, n, iana.NotifMessageHeader, uint8(iana.HeaderConnectionNotSynchronized), nil)
		steadyUnaffected(t)
	})

	t.Run("truncated-then-close", func(t *testing.T) {
		p := g["truncated-then-close"]
		const prefix = "172.30.3.0/24"
		full := rawUpdate(nil, rawBase(p.as, p.addr), rawPrefixes(prefix))
		for i, cut := range []struct {
			what  string
			bytes []byte
		}{
			{"an UPDATE 3 octets short", full[:len(full)-3]},
			{"10 octets of a header", full[:10]},
		} {
			sp := scriptConnect(t, peers, p.name, p.addr, gwAddr, p.as)
			sp.logOnFailure(t)
			sp.stopKeepalives()
			sp.mustSend(t, cut.bytes)
			if err := sp.closeWrite(); err != nil {
				t.Fatal(err)
			}
			// The peer closed: godwitd owes it nothing, and closes too.
			if n := sp.waitEnd(t); n != nil {
				t.Logf("%s: godwitd answered %s and the close with NOTIFICATION %s", p.name, cut.what, n)
			}
			var n map[string]any
			daemonEventually(t, fmt.Sprintf("godwitd's session with %s down after %s", p.addr, cut.what), func() (bool, string) {
				var err error
				n, err = neighborDetail(t, gw, p.addr)
				if err != nil {
					return false, err.Error()
				}
				return n["state"] != "Established" && num(n, "flapCount") == int64(i+1),
					fmt.Sprintf("state %v, flapCount %v, want %d", n["state"], n["flapCount"], i+1)
			})
			t.Logf("%s after %s: state %v, lastError %q", p.name, cut.what, n["state"], n["lastError"])
			if got, err := prefixSet(t, gw, p.addr); err != nil || got[prefix] {
				t.Errorf("%s: godwitd holds %s from a truncated UPDATE (%v)", p.name, prefix, err)
			}
		}
		// godwitd takes the peer back, and its routes.
		sp := scriptConnect(t, peers, p.name+"-again", p.addr, gwAddr, p.as)
		sp.logOnFailure(t)
		sp.mustSend(t, full)
		waitPrefixes(t, gw, "the prefix after the session came back", map[string]bool{prefix: true})
		steadyUnaffected(t)
	})

	t.Run("length-over-4096", func(t *testing.T) {
		p := g["length-over-4096"]
		sp := scriptConnect(t, peers, p.name, p.addr, gwAddr, p.as)
		sp.logOnFailure(t)
		sp.stopKeepalives()
		// RFC 4271 §6.1: the data is the erroneous Length field.
		sp.mustSend(t, append(rawHeader(5000, iana.MsgUpdate), make([]byte, 200)...))
		checkNotification(t, p.name, sp.waitEnd(t), iana.NotifMessageHeader, uint8(iana.HeaderBadMessageLength), []byte{0x13, 0x88})
		sessionDown(t, p.addr)
		steadyUnaffected(t)
	})

	t.Run("attr-length-overrun", func(t *testing.T) {
		p := g["attr-length-overrun"]
		sp := scriptConnect(t, peers, p.name, p.addr, gwAddr, p.as)
		sp.logOnFailure(t)
		sp.stopKeepalives()
		attrs := rawBase(p.as, p.addr)
		// Withdrawn Routes Length 0, Total Path Attribute Length 200,
		// and the attributes that follow are far shorter: the message
		// ends inside them.
		body := []byte{0, 0, 0, 200}
		body = append(body, attrs...)
		msg := append(rawHeader(wire.HeaderLen+len(body), iana.MsgUpdate), body...)
		sp.mustSend(t, msg)
		checkNotification(t, p.name, sp.waitEnd(t), iana.NotifUpdateMessage, uint8(iana.UpdateMalformedAttributeList), nil)
		sessionDown(t, p.addr)
		steadyUnaffected(t)
	})

	t.Run("attr-overrun-in-list", func(t *testing.T) {
		p := g["attr-overrun-in-list"]
		const prefix = "172.30.5.0/24"
		sp := scriptConnect(t, peers, p.name, p.addr, gwAddr, p.as)
		sp.logOnFailure(t)
		sp.mustSend(t, rawUpdate(nil, rawBase(p.as, p.addr), rawPrefixes(prefix)))
		waitPrefixes(t, gw, "the prefix, well-formed", map[string]bool{prefix: true})
		before := mustNeighbor(t, gw, p.addr)
		// COMMUNITIES says 40 octets, 8 follow before the NLRI: the
		// Total Path Attribute Length is right and still locates the
		// NLRI, so RFC 7606 §4 says treat-as-withdraw, not reset.
		attrs := concat(rawBase(p.as, p.addr), []byte{flagOptional | flagTransitive, 8, 40, 0xfd, 0xeb, 0, 1, 0xfd, 0xeb, 0, 2})
		sp.mustSend(t, rawUpdate(nil, attrs, rawPrefixes(prefix)))
		waitPrefixes(t, gw, "the prefix withdrawn", map[string]bool{prefix: false})
		sp.alive(t)
		n := mustNeighbor(t, gw, p.addr)
		if n["state"] != "Established" || n["since"] != before["since"] {
			t.Errorf("%s: session state %v since %v (was %v), want it untouched", p.name, n["state"], n["since"], before["since"])
		}
		steadyUnaffected(t)
	})

	// The metrics page: one fault per malformed message, by RFC 7606
	// action (a header error counts as a session reset too).
	want := map[string][2]string{
		"bad-marker":           {"session-reset", "1"},
		"bad-marker-first":     {"session-reset", "1"},
		"length-over-4096":     {"session-reset", "1"},
		"attr-length-overrun":  {"session-reset", "1"},
		"attr-overrun-in-list": {"treat-as-withdraw", "1"},
		"truncated-then-close": {"session-reset", "0"},
	}
	daemonEventually(t, "godwit_bgp_update_faults_total", func() (bool, string) {
		page, err := httpGet(gw.ns, "http://"+daemonMetrics+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		ok := true
		var got []string
		for name, w := range want {
			v, found := metricSample(page, "godwit_bgp_update_faults_total", `peer="`+g[name].addr+`"`, `action="`+w[0]+`"`)
			s := fmt.Sprint(v)
			ok = ok && found && s == w[1]
			got = append(got, fmt.Sprintf("%s %s=%s (want %s)", name, w[0], s, w[1]))
		}
		slices.Sort(got)
		return ok, strings.Join(got, "; ")
	})
}

// ---------------------------------------------------------------------
// 4. Fifty flaps.

// TestFaultFlaps: a peer godwitd dials (not passive) flaps its session 50
// times: open, establish, announce three prefixes, close. The first four
// sessions are godwitd's own connections, and the time from each close to
// godwitd's next connection is the idle hold time of its damping
// (peer/fsm.go: IdleHoldTime, 1 s, doubling per consecutive failure up to
// 60 s); it must grow. The other 46 come in from the peer (godwitd takes
// a connection during its idle hold, as FRR and BIRD do), which keeps the
// test short, and must count as failures all the same: after them the
// ConnectRetryCounter (`godwit neighbor -o json`, connectRetryCounter) is
// at least 50. An iBGP monitor sees every session's prefixes come and go.
// godwitd's goroutines, heap (after a forced GC, through --pprof) and open
// files return near the values of the first session, measured in the same
// state (one flapping session up, its routes at the monitor).
func TestFaultFlaps(t *testing.T) {
	netns.RequireRoot(t)
	const (
		gwAddr     = "10.81.0.1"
		flapAddr   = "10.81.0.11"
		monAddr    = "10.81.0.12"
		flapAS     = 65011
		flaps      = 50
		dialFlaps  = 4 // sessions godwitd dials; then the peer dials
		goSlack    = 10
		fdSlack    = 5
		heapFactor = 2
		heapSlack  = 4 << 20
	)
	prefixes := []string{"172.31.81.0/24", "172.31.82.0/24", "172.31.83.0/24"}
	present, absent := map[string]bool{}, map[string]bool{}
	for _, p := range prefixes {
		present[p], absent[p] = true, false
	}
	lan := netns.NewBridge(t, "lan")
	peers := faultPeers(t, lan, flapAddr, monAddr)
	// Listening before godwitd starts, so that its first dial succeeds and
	// the back-off starts from zero failures.
	ln, err := peers.ListenTCP(flapAddr + ":179")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	gw := faultStart(t, lan, "gw", rrConf{AS: faultAS, RouterID: gwAddr, Peers: []rrPeerConf{
		{Name: "flap", Addr: flapAddr, AS: flapAS},
		{Name: "mon", Addr: monAddr, AS: faultAS, Spec: "passive: true"},
	}}, "--pprof", faultPprof)
	mon := scriptConnect(t, peers, "mon", monAddr, gwAddr, faultAS)
	mon.logOnFailure(t)

	type runtimeStats struct{ goroutines, heap, fds float64 }
	sample := func() (runtimeStats, error) {
		// heap?gc=1 runs a GC first, so that the heap figure is what is
		// live, not what the collector has not got round to.
		if _, err := httpGet(gw.ns, "http://"+faultPprof+"/debug/pprof/heap?gc=1"); err != nil {
			return runtimeStats{}, err
		}
		page, err := httpGet(gw.ns, "http://"+daemonMetrics+"/metrics")
		if err != nil {
			return runtimeStats{}, err
		}
		var s runtimeStats
		for _, m := range []struct {
			name string
			v    *float64
		}{{"go_goroutines", &s.goroutines}, {"go_memstats_heap_inuse_bytes", &s.heap}, {"process_open_fds", &s.fds}} {
			v, ok := metricSample(page, m.name)
			if !ok {
				return s, fmt.Errorf("no %s on the metrics page", m.name)
			}
			*m.v = v
		}
		return s, nil
	}
	goroutineDump := func() string {
		out, err := httpGet(gw.ns, "http://"+faultPprof+"/debug/pprof/goroutine?debug=1")
		if err != nil {
			return err.Error()
		}
		return out
	}

	// flap runs one session on sp: three prefixes to the monitor, then
	// the close, seen at the monitor as withdrawals. measure, when set,
	// runs while the session is up.
	fast := func(cond func() (bool, string)) {
		t.Helper()
		netns.Eventually(t, routers.DefaultTimeout, 10*time.Millisecond, func() (bool, string) {
			mon.alive(t)
			return cond()
		})
	}
	flap := func(sp *scriptPeer, measure func()) time.Time {
		t.Helper()
		sp.mustSend(t, rawUpdate(nil, rawBase(flapAS, flapAddr), rawPrefixes(prefixes...)))
		fast(func() (bool, string) { return mon.hasRoutes(present) })
		if measure != nil {
			measure()
		}
		sp.close()
		closed := time.Now()
		fast(func() (bool, string) { return mon.hasRoutes(absent) })
		return closed
	}

	var base runtimeStats
	var gaps []time.Duration
	var closed time.Time
	for i := range dialFlaps {
		sp := scriptAccept(t, ln, "flap", flapAS, netip.MustParseAddr(flapAddr))
		if i > 0 {
			gaps = append(gaps, time.Since(closed))
		}
		var measure func()
		if i == 0 {
			measure = func() {
				// The first sample after start-up can be high (the
				// metrics and API servers' first requests); the
				// lowest of a few is the baseline.
				for j := range 3 {
					s, err := sample()
					if err != nil {
						t.Fatal(err)
					}
					if j == 0 || s.goroutines < base.goroutines {
						base.goroutines = s.goroutines
					}
					if j == 0 || s.heap < base.heap {
						base.heap = s.heap
					}
					if j == 0 || s.fds < base.fds {
						base.fds = s.fds
					}
				}
			}
		}
		closed = flap(sp, measure)
	}
	t.Logf("baseline with one session up: %v goroutines, heap in use %.1f MiB, %v open files", base.goroutines, base.heap/(1<<20), base.fds)
	t.Logf("godwitd's reconnections after each close (its idle hold): %v", gaps)
	for i := 1; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1]*3/2 {
			t.Errorf("godwitd's back-off did not grow: reconnection %d came %s after the close, the one before %s (want about double)",
				i+1, gaps[i].Round(time.Millisecond), gaps[i-1].Round(time.Millisecond))
		}
	}
	if len(gaps) > 0 && gaps[0] < 500*time.Millisecond {
		t.Errorf("godwitd reconnected %s after the first close; its idle hold time is 1 s", gaps[0].Round(time.Millisecond))
	}
	// From now on the peer dials: with nothing listening, godwitd's own
	// attempts are refused at once.
	ln.Close()
	for i := dialFlaps; i < flaps; i++ {
		sp := scriptConnect(t, peers, "flap", flapAddr, gwAddr, flapAS)
		flap(sp, nil)
	}

	// godwitd counted every flap, and its damping remembers them.
	var n map[string]any
	daemonEventually(t, "the flaps counted", func() (bool, string) {
		var err error
		n, err = neighborDetail(t, gw, flapAddr)
		if err != nil {
			return false, err.Error()
		}
		return n["state"] != "Established" && num(n, "flapCount") == flaps,
			fmt.Sprintf("state %v, flapCount %v, want %d", n["state"], n["flapCount"], flaps)
	})
	crc := num(n, "connectRetryCounter")
	hold := time.Second
	for i := int64(1); i < crc && hold < time.Minute; i++ {
		hold *= 2
	}
	hold = min(hold, time.Minute)
	t.Logf("after %d flaps: connectRetryCounter %d (the next idle hold would be %s; godwitd does not report it), info %q", flaps, crc, hold, n["info"])
	if crc < flaps {
		t.Errorf("connectRetryCounter %d after %d flaps, want at least %d: the damping back-off (RFC 4271 §8.1.1 DampPeerOscillations) forgot the failures", crc, flaps, flaps)
	}

	// One more session, to compare in the state of the baseline.
	sp := scriptConnect(t, peers, "flap", flapAddr, gwAddr, flapAS)
	sp.mustSend(t, rawUpdate(nil, rawBase(flapAS, flapAddr), rawPrefixes(prefixes...)))
	fast(func() (bool, string) { return mon.hasRoutes(present) })
	var last runtimeStats
	err = netns.Wait(routers.DefaultTimeout/2, 500*time.Millisecond, func() (bool, string) {
		s, err := sample()
		if err != nil {
			return false, err.Error()
		}
		last = s
		return s.goroutines <= base.goroutines+goSlack && s.heap <= heapFactor*base.heap+heapSlack && s.fds <= base.fds+fdSlack, ""
	})
	t.Logf("after %d flaps, one session up: %v goroutines, heap in use %.1f MiB, %v open files", flaps, last.goroutines, last.heap/(1<<20), last.fds)
	if err != nil {
		if last.goroutines > base.goroutines+goSlack {
			t.Errorf("godwitd has %v goroutines after %d flaps, %v before (allowed: %d more)\n%s", last.goroutines, flaps, base.goroutines, goSlack, goroutineDump())
		}
		if last.heap > heapFactor*base.heap+heapSlack {
			t.Errorf("godwitd's heap in use is %.1f MiB after %d flaps, %.1f MiB before (allowed: %dx + %d MiB)", last.heap/(1<<20), flaps, base.heap/(1<<20), heapFactor, heapSlack>>20)
		}
		if last.fds > base.fds+fdSlack {
			t.Errorf("godwitd has %v open files after %d flaps, %v before (allowed: %d more)", last.fds, flaps, base.fds, fdSlack)
		}
	}
	// The monitor's session never moved.
	mon.alive(t)
	if m := mustNeighbor(t, gw, monAddr); m["state"] != "Established" || num(m, "flapCount") != 0 {
		t.Errorf("the monitor's session: state %v, flapCount %v", m["state"], m["flapCount"])
	}
}
