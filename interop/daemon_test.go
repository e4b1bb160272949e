package interop_test

// godwitd as a real process, in a network namespace, against FRR (and
// BIRD, added by a reload) in namespaces of their own, driven through the
// command-line contract of DESIGN.md: the godwit CLI over the API socket,
// signals, and the metrics page.
//
//	ns "gw"  10.0.1.10/24 ──veth── 10.0.1.2/24   ns "frr"   AS 65100
//	godwitd  10.0.2.10/24 ──veth── 10.0.2.3/24   ns "bird"  AS 65200
//	AS 65010

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

const (
	daemonGWAddr   = "10.0.1.10"
	daemonFRRAddr  = "10.0.1.2"
	daemonGW2Addr  = "10.0.2.10"
	daemonBIRDAddr = "10.0.2.3"
	daemonPodCIDR  = "172.31.254.0/26"
	daemonFRRNet   = "198.51.100.0/24"
	daemonBIRDNet  = "203.0.113.0/24"
	daemonMetrics  = "127.0.0.1:9179"
)

// The minimal file of DESIGN.md, in the namespace's addresses (the same
// ones), and the same with a second peer.
const daemonMinimalConfig = `apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65010, routerID: 10.0.1.10}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: router}
spec: {peerAddress: 10.0.1.2, peerASN: 65100}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: pod-cidr}
spec: {prefixes: [172.31.254.0/26]}
`

const daemonBIRDPeer = `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: bird}
spec: {peerAddress: 10.0.2.3, peerASN: 65200, description: second router}
`

// daemonBuild builds godwitd and godwit into a temporary directory.
func daemonBuild(t *testing.T) (godwitd, godwit string) {
	t.Helper()
	dir := t.TempDir()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/godwitd", "./cmd/godwit")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "godwitd"), filepath.Join(dir, "godwit")
}

// daemonProc is a godwitd running in a namespace.
type daemonProc struct {
	t      *testing.T
	ns     *netns.NS
	pid    int
	cli    string
	sock   string
	config string
	log    string
}

func daemonStart(t *testing.T, ns *netns.NS, godwitd, godwit, config string) *daemonProc {
	t.Helper()
	dir, err := ns.Dir()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, ns: ns, cli: godwit, sock: filepath.Join(dir, "godwitd.sock"),
		config: filepath.Join(dir, "godwit.yaml"), log: filepath.Join(dir, "godwitd.log")}
	d.write(config)
	d.pid, err = ns.Start(d.log, godwitd, "--config", d.config, "--api", "unix://"+d.sock,
		"--metrics", daemonMetrics, "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(d.log)
			t.Logf("===== godwitd log =====\n%s", b)
		}
	})
	return d
}

func (d *daemonProc) write(config string) {
	d.t.Helper()
	if err := os.WriteFile(d.config, []byte(config), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func (d *daemonProc) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := syscall.Kill(d.pid, sig); err != nil {
		d.t.Fatalf("kill -%d %d: %v", sig, d.pid, err)
	}
}

// godwit runs the CLI against this daemon; it fails the test on a
// non-zero exit.
func (d *daemonProc) godwit(args ...string) string {
	d.t.Helper()
	out, err := d.run(args...)
	if err != nil {
		d.t.Fatalf("godwit %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (d *daemonProc) run(args ...string) (string, error) {
	cmd := exec.Command(d.cli, append([]string{"--api", "unix://" + d.sock}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// jsonOut runs `godwit ARGS -o json` and decodes stdout into v.
func (d *daemonProc) jsonOut(v any, args ...string) {
	d.t.Helper()
	out := d.godwit(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		d.t.Fatalf("godwit %s -o json: %v in %q", strings.Join(args, " "), err, out)
	}
}

// neighbor returns one object of `godwit neighbors -o json`.
func (d *daemonProc) neighbor(addr string) map[string]any {
	d.t.Helper()
	var ns []map[string]any
	d.jsonOut(&ns, "neighbors")
	for _, n := range ns {
		if n["address"] == addr {
			return n
		}
	}
	d.t.Fatalf("godwit neighbors has no %s: %v", addr, ns)
	return nil
}

// metrics reads the metrics page inside the namespace.
func (d *daemonProc) metrics() string {
	d.t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.ns.Dial(ctx, &net.Dialer{}, network, addr)
		}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://" + daemonMetrics + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET /metrics: %v %s", err, resp.Status)
	}
	return string(b)
}

// metricValue finds one sample on the metrics page.
func daemonMetricValue(page, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(page))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func daemonEventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	netns.Eventually(t, routers.DefaultTimeout, 250*time.Millisecond, func() (bool, string) {
		ok, s := cond()
		return ok, what + ": " + s
	})
}

// checkJSONTypes fails unless m has each key with a value of that JSON type.
func daemonCheckJSONTypes(t *testing.T, what string, m map[string]any, types map[string]string) {
	t.Helper()
	for k, want := range types {
		got := "missing"
		if v, ok := m[k]; ok {
			switch v.(type) {
			case string:
				got = "string"
			case float64:
				got = "number"
			case bool:
				got = "bool"
			case []any:
				got = "array"
			case nil:
				got = "null"
			default:
				got = fmt.Sprintf("%T", v)
			}
		}
		if got != want {
			t.Errorf("%s: %q is %s, want %s (%v)", what, k, got, want, m)
		}
	}
}

func TestDaemonWithFRR(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindBIRD)
	godwitd, godwit := daemonBuild(t)
	gw, frrNS, birdNS := netns.New(t, "gw"), netns.New(t, "frr"), netns.New(t, "bird")
	if _, _, err := netns.Veth(
		netns.End{NS: gw, Ifname: "to-frr", Addrs: []string{daemonGWAddr + "/24"}},
		netns.End{NS: frrNS, Ifname: "to-gw", Addrs: []string{daemonFRRAddr + "/24"}},
	); err != nil {
		t.Fatal(err)
	}
	if _, _, err := netns.Veth(
		netns.End{NS: gw, Ifname: "to-bird", Addrs: []string{daemonGW2Addr + "/24"}},
		netns.End{NS: birdNS, Ifname: "to-gw", Addrs: []string{daemonBIRDAddr + "/24"}},
	); err != nil {
		t.Fatal(err)
	}
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: daemonFRRAddr, LocalAS: 65100,
		Neighbors: []routers.Neighbor{{Address: daemonGWAddr, RemoteAS: 65010, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: daemonFRRNet, Communities: []string{"65100:1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	d := daemonStart(t, gw, godwitd, godwit, daemonMinimalConfig)

	// The minimal configuration establishes, and FRR has our prefix.
	routers.WaitEstablished(t, frr, daemonGWAddr)
	routers.WaitRoute(t, frr, routers.IPv4Unicast, daemonPodCIDR, func(ps []routers.Path) bool {
		return len(ps) == 1 && ps[0].NextHop == daemonGWAddr && slices.Equal(ps[0].ASPath, []uint32{65010}) && ps[0].Origin == "IGP"
	})

	// godwit neighbors -o json: the contract's fields, with their types.
	// FRR sends our own route back (it leaves loop detection to the
	// receiver): received, not accepted (RFC 4271 §9.1.2).
	daemonEventually(t, "FRR's prefixes counted", func() (bool, string) {
		n := d.neighbor(daemonFRRAddr)
		return n["prefixesReceived"] == float64(2) && n["prefixesAccepted"] == float64(1) && n["prefixesAdvertised"] == float64(1), fmt.Sprint(n)
	})
	n := d.neighbor(daemonFRRAddr)
	daemonCheckJSONTypes(t, "neighbor", n, map[string]string{"address": "string", "asn": "number", "state": "string",
		"prefixesReceived": "number", "prefixesAccepted": "number", "prefixesAdvertised": "number", "uptimeSeconds": "number"})
	if n["asn"] != float64(65100) || n["state"] != "Established" || n["peerType"] != "global" || n["uptimeSeconds"].(float64) < 0 {
		t.Errorf("neighbor %v", n)
	}

	// godwit routes -o json: FRR's prefix with its AS path as numbers.
	var rs []map[string]any
	d.jsonOut(&rs, "routes", daemonFRRNet)
	if len(rs) != 1 {
		t.Fatalf("routes %s: %v", daemonFRRNet, rs)
	}
	r := rs[0]
	daemonCheckJSONTypes(t, "route", r, map[string]string{"prefix": "string", "nextHop": "string", "asPath": "array",
		"asPathText": "string", "origin": "string", "localPreference": "number", "med": "number", "communities": "array",
		"best": "bool", "peer": "string"})
	if r["prefix"] != daemonFRRNet || r["nextHop"] != daemonFRRAddr || fmt.Sprint(r["asPath"]) != "[65100]" || r["asPathText"] != "65100" ||
		r["origin"] != "IGP" || r["best"] != true || r["peer"] != daemonFRRAddr || fmt.Sprint(r["communities"]) != "[65100:1]" {
		t.Errorf("route %v", r)
	}
	if out := d.godwit("routes", "192.0.2.0/24", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("routes for a prefix nobody has: %q, want []", out)
	}
	var received []map[string]any
	d.jsonOut(&received, "routes", "--peer", daemonFRRAddr, "--received", daemonPodCIDR)
	if len(received) != 1 || received[0]["filtered"] != true || fmt.Sprint(received[0]["asPath"]) != "[65100 65010]" {
		t.Errorf("our route as FRR sent it back: %v", received)
	}
	d.jsonOut(&rs, "routes")
	if len(rs) != 2 || rs[0]["prefix"] != daemonPodCIDR || rs[0]["peer"] != "local" || fmt.Sprint(rs[0]["asPath"]) != "[]" {
		t.Errorf("all routes: %v", rs)
	}
	t.Logf("===== godwit status =====\n%s", d.godwit("status"))
	t.Logf("===== godwit neighbor %s =====\n%s", daemonFRRAddr, d.godwit("neighbor", daemonFRRAddr))

	// SIGHUP with a second peer: BIRD comes up, FRR's session is not reset.
	bird, err := routers.StartBIRD(birdNS, routers.Config{RouterID: daemonBIRDAddr, LocalAS: 65200,
		Neighbors: []routers.Neighbor{{Address: daemonGW2Addr, RemoteAS: 65010, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: daemonBIRDNet}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, bird)
	before := d.neighbor(daemonFRRAddr)
	frrBefore, err := routers.SessionOf(frr, daemonGWAddr)
	if err != nil {
		t.Fatal(err)
	}
	d.write(daemonMinimalConfig + daemonBIRDPeer)
	d.signal(syscall.SIGHUP)
	routers.WaitEstablished(t, bird, daemonGW2Addr)
	routers.WaitRoute(t, bird, routers.IPv4Unicast, daemonPodCIDR, func(ps []routers.Path) bool {
		return len(ps) == 1 && slices.Equal(ps[0].ASPath, []uint32{65010})
	})
	daemonEventually(t, "BIRD's prefix at godwitd", func() (bool, string) {
		var rs []map[string]any
		d.jsonOut(&rs, "routes", daemonBIRDNet)
		return len(rs) == 1 && fmt.Sprint(rs[0]["asPath"]) == "[65200]", fmt.Sprint(rs)
	})
	time.Sleep(2 * time.Second)
	after := d.neighbor(daemonFRRAddr)
	frrAfter, err := routers.SessionOf(frr, daemonGWAddr)
	if err != nil {
		t.Fatal(err)
	}
	if after["state"] != "Established" || after["since"] != before["since"] ||
		after["uptimeSeconds"].(float64) <= before["uptimeSeconds"].(float64) || frrAfter.Uptime <= frrBefore.Uptime {
		t.Errorf("FRR's session after the reload: %v (before: %v); FRR's uptime %s, before %s",
			after, before, frrAfter.Uptime, frrBefore.Uptime)
	}

	// A bad file at SIGHUP: the error names the file, the document and the
	// field; both sessions stay up.
	d.write(daemonMinimalConfig + strings.Replace(daemonBIRDPeer, "peerASN: 65200", "peerASN: 0", 1))
	d.signal(syscall.SIGHUP)
	var cs map[string]any
	daemonEventually(t, "the bad file reported", func() (bool, string) {
		d.jsonOut(&cs, "config", "status")
		return cs["ok"] == false, fmt.Sprint(cs)
	})
	errs, _ := cs["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("config status errors %v", cs["errors"])
	}
	for _, want := range []string{d.config, `document 4 (BGPPeer "bird")`, "spec.peerASN", "must be 1..4294967295, got 0"} {
		if !strings.Contains(errs[0].(string), want) {
			t.Errorf("config status error %q does not name %q", errs[0], want)
		}
	}
	if cs["generation"] != float64(2) {
		t.Errorf("config generation %v, want 2", cs["generation"])
	}
	t.Logf("===== godwit config status =====\n%s", d.godwit("config", "status"))
	time.Sleep(time.Second)
	for _, addr := range []string{daemonFRRAddr, daemonBIRDAddr} {
		if n := d.neighbor(addr); n["state"] != "Established" {
			t.Errorf("after a bad reload the session with %s is %v", addr, n["state"])
		}
	}
	if n := d.neighbor(daemonFRRAddr); n["since"] != before["since"] {
		t.Errorf("FRR's session was reset by a bad reload")
	}

	// The metrics page: sessions by state, message counters that move
	// (keepalives every 3 s with FRR's hold time of 9 s).
	page := d.metrics()
	if v, ok := daemonMetricValue(page, `godwit_bgp_sessions{state="Established"}`); !ok || v != 2 {
		t.Errorf("sessions Established = %v (%t)", v, ok)
	}
	if v, ok := daemonMetricValue(page, `godwit_config_reloads_total{result="failure"}`); !ok || v != 1 {
		t.Errorf("failed reloads = %v (%t)", v, ok)
	}
	keepalives := `godwit_bgp_messages_received_total{peer="10.0.1.2",type="keepalive"}`
	k1, ok := daemonMetricValue(page, keepalives)
	if !ok {
		t.Fatalf("no %s on the metrics page", keepalives)
	}
	daemonEventually(t, "keepalive counter moves", func() (bool, string) {
		k2, _ := daemonMetricValue(d.metrics(), keepalives)
		return k2 > k1, fmt.Sprintf("%v then %v", k1, k2)
	})
	var excerpt []string
	for _, line := range strings.Split(d.metrics(), "\n") {
		if strings.HasPrefix(line, "godwit_bgp_sessions") || strings.Contains(line, `peer="10.0.1.2"`) ||
			strings.HasPrefix(line, "godwit_config") || strings.HasPrefix(line, "godwit_bgp_notifications") {
			excerpt = append(excerpt, line)
		}
	}
	t.Logf("===== metrics (excerpt) =====\n%s", strings.Join(excerpt, "\n"))

	// SIGTERM: exit 0, and FRR was told Cease / Hard Reset (RFC 8538)
	// wrapping Cease / Administrative Shutdown, so it withdrew our route at
	// once instead of keeping it as stale (both sides set the N bit).
	d.signal(syscall.SIGTERM)
	daemonEventually(t, "godwitd exits", func() (bool, string) {
		done, err := gw.Exited(d.pid)
		if done && err != nil {
			t.Fatalf("godwitd exited with %v", err)
		}
		return done, "still running"
	})
	daemonEventually(t, "FRR's last notification", func() (bool, string) {
		nb, err := frr.Neighbor(daemonGWAddr)
		if err != nil {
			return false, err.Error()
		}
		reason, _ := nb["lastNotificationReason"].(string)
		hard, _ := nb["lastNotificationHardReset"].(bool)
		// FRR 8.4 names the NOTIFICATION a Hard Reset wraps and flags
		// the Hard Reset apart.
		return reason == "Cease/Administrative Shutdown" && hard, fmt.Sprintf("lastNotificationReason %q, lastNotificationHardReset %v, lastResetDueTo %v",
			reason, nb["lastNotificationHardReset"], nb["lastResetDueTo"])
	})
	daemonEventually(t, "FRR withdrew our route", func() (bool, string) {
		ps, err := routers.PathsOf(frr, routers.IPv4Unicast, daemonPodCIDR)
		return err == nil && len(ps) == 0, fmt.Sprint(ps, err)
	})
	if _, err := os.Stat(d.sock); !os.IsNotExist(err) {
		t.Errorf("API socket left behind after SIGTERM: %v", err)
	}
}
