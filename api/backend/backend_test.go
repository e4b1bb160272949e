package backend

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/godwit-bgp/godwit/fib/fake"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/apitest"
	"github.com/godwit-bgp/godwit/daemon"
)

// The tests run two daemons in this process, A (AS 65001) and B (AS
// 65002), peering over loopback addresses of their own /24 with TCP MD5,
// and serve A through a real api.Server on a temporary socket.
const configA = `
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65001, routerID: 10.0.0.1, listenAddresses: ["{{A1}}:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: b}
spec: {peerAddress: {{A2}}, peerASN: 65002, localAddress: {{A1}}, description: the b side, password: "s3cret-md5-key"}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: pods}
spec: {prefixes: [10.1.0.0/24], communities: ["65001:7"]}
` + policyFromB

// policyFromB is a RoutePolicy of A that no peer uses until a test
// attaches it: no long prefixes of B's /16, B's other routes get a local
// preference, a community and B as the next hop, local routes fall off
// the end.
const policyFromB = `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: from-b}
spec:
  statements:
  - name: no-long-prefixes
    conditions: {prefixSet: [{prefix: 10.2.0.0/16, ge: 24, le: 32}]}
    actions: {result: reject}
  - name: tag
    conditions: {routeType: ebgp}
    actions: {set: {localPreference: 250, communities: {add: ["65001:99"]}, nextHop: peer}, result: accept}
`

const configB = `
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65002, routerID: 10.0.0.2, listenAddresses: ["{{A2}}:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: a}
spec: {peerAddress: {{A1}}, peerASN: 65001, localAddress: {{A2}}, password: "s3cret-md5-key"}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: services}
spec: {prefixes: [10.2.0.0/16, 10.2.3.0/24]}
`

var seq atomic.Uint32

type pair struct {
	a, b   *daemon.Daemon
	a1, a2 netip.Addr
	pathA  string
	srv    *api.Server
	client *api.Client
}

func setup(t *testing.T) *pair {
	t.Helper()
	prefix := fmt.Sprintf("127.%d.%d.", 20+seq.Add(1)%200, os.Getpid()%250+1)
	ln, err := net.Listen("tcp", prefix+"1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := strings.NewReplacer("{{A1}}", prefix+"1", "{{A2}}", prefix+"2", "{{PORT}}", fmt.Sprint(port))
	p := &pair{a1: netip.MustParseAddr(prefix + "1"), a2: netip.MustParseAddr(prefix + "2")}
	run := func(name, yaml string) (*daemon.Daemon, string) {
		path := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(path, []byte(r.Replace(yaml)), 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := daemon.New(daemon.Options{Kernel: fake.NewReachable(), ConfigPath: path, PeerPort: uint16(port), IdleHoldTime: 50 * time.Millisecond,
			MonitorInterval: 10 * time.Millisecond, Logger: apitest.Logger(t).With("speaker", name), Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- d.Run(context.Background()) }()
		t.Cleanup(func() {
			d.Stop(true)
			if err := <-done; err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
		})
		return d, path
	}
	p.a, p.pathA = run("a", configA)
	p.b, _ = run("b", configB)
	srv, err := api.NewServer(New(p.a), api.ServerConfig{Addr: apitest.SocketPath(t), Logger: apitest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p.srv = srv
	p.client, err = api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.client.Close() })
	// Up, with B's routes at A.
	eventually(t, 20*time.Second, func() (bool, string) {
		rs, err := p.a.Routes(daemon.RouteQuery{Peer: p.a2})
		if err != nil {
			return false, err.Error()
		}
		return len(rs) == 2, fmt.Sprintf("A has %d routes from B", len(rs))
	})
	return p
}

func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get does a raw GET on the API socket and returns the body of a 200
// answer.
func (p *pair) get(t *testing.T, path string) []byte {
	t.Helper()
	status, b := p.getStatus(t, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d: %s", path, status, b)
	}
	return b
}

// getStatus does a raw GET on the API socket and returns the status and
// the body.
func (p *pair) getStatus(t *testing.T, path string) (int, []byte) {
	t.Helper()
	return p.do(t, http.MethodGet, path, "")
}

// do sends a raw request on the API socket and returns the status and
// the body.
func (p *pair) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", p.srv.Addr().Address)
	}}}
	defer hc.CloseIdleConnections()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://godwitd"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// ndjson splits a stream into objects.
func ndjson(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v in %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// checkTypes fails unless m has every key with a value of the JSON type.
func checkTypes(t *testing.T, what string, m map[string]any, types map[string]string) {
	t.Helper()
	for k, want := range types {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s has no %q: %v", what, k, m)
			continue
		}
		got := "null"
		switch v.(type) {
		case string:
			got = "string"
		case float64:
			got = "number"
		case bool:
			got = "bool"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		}
		if got != want {
			t.Errorf("%s: %q is a %s (%v), want a %s", what, k, got, v, want)
		}
	}
}

func TestNeighborsJSON(t *testing.T) {
	p := setup(t)
	var ns []map[string]any
	if err := json.Unmarshal(p.get(t, "/v1/neighbors"), &ns); err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 {
		t.Fatalf("%d neighbours", len(ns))
	}
	n := ns[0]
	checkTypes(t, "neighbor", n, map[string]string{
		"address": "string", "asn": "number", "state": "string", "peerType": "string",
		"prefixesReceived": "number", "prefixesAccepted": "number", "prefixesAdvertised": "number",
		"uptimeSeconds": "number", "since": "string", "info": "string", "description": "string",
	})
	if n["address"] != p.a2.String() || n["asn"] != float64(65002) || n["state"] != "Established" || n["peerType"] != "global" ||
		n["prefixesReceived"] != float64(2) || n["prefixesAccepted"] != float64(2) || n["prefixesAdvertised"] != float64(1) ||
		n["info"] != "Established" || n["description"] != "the b side" {
		t.Errorf("neighbor = %v", n)
	}

	d, err := p.client.Neighbor(t.Context(), p.a2)
	if err != nil {
		t.Fatal(err)
	}
	if d.LocalASN != 65001 || d.RouterID != "10.0.0.2" || d.LocalAddress != p.a1.String() || d.HoldTime != (api.Timer{Configured: 9, Negotiated: 9}) ||
		d.KeepaliveTime != (api.Timer{Configured: 3, Negotiated: 3}) || !slices.Equal(d.Families, []string{"ipv4-unicast"}) ||
		d.Counters.Received.Open != 1 || d.Counters.EstablishedTransitions != 1 || d.FlapCount != 0 {
		t.Errorf("neighbor detail = %+v", d)
	}
	caps := map[string]api.Capability{}
	for _, c := range d.Capabilities {
		caps[c.Name] = c
	}
	if c := caps["multiprotocol"]; !c.Negotiated || c.SentDetail != "ipv4-unicast" || c.ReceivedDetail != "ipv4-unicast" {
		t.Errorf("multiprotocol capability = %+v", c)
	}
	if c := caps["4-octet-as"]; !c.Negotiated || c.SentDetail != "65001" || c.ReceivedDetail != "65002" || c.Code != 65 {
		t.Errorf("4-octet-as capability = %+v", c)
	}
	if c := caps["graceful-restart"]; !c.Sent || !c.Received {
		t.Errorf("graceful-restart capability = %+v", c)
	}
	if _, err := p.client.Neighbor(t.Context(), netip.MustParseAddr("192.0.2.99")); !api.IsNotFound(err) {
		t.Errorf("unknown neighbour: %v", err)
	}

	st, err := p.client.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.ASNumber != 65001 || st.RouterID != "10.0.0.1" || st.Version != "test" ||
		st.Peers != (api.PeerCounts{Configured: 1, Established: 1}) || st.Routes != 3 {
		t.Errorf("status = %+v", st)
	}
}

func TestRoutesJSON(t *testing.T) {
	p := setup(t)
	rs := ndjson(t, p.get(t, "/v1/routes"))
	if len(rs) != 3 {
		t.Fatalf("%d routes: %v", len(rs), rs)
	}
	for i, r := range rs {
		checkTypes(t, fmt.Sprintf("route %d", i), r, map[string]string{
			"prefix": "string", "nextHop": "string", "asPath": "array", "asPathText": "string", "origin": "string",
			"localPreference": "number", "med": "number", "communities": "array", "best": "bool", "peer": "string",
		})
	}
	want := []string{
		fmt.Sprintf("10.1.0.0/24 0.0.0.0 [] local true [65001:7]"),
		fmt.Sprintf("10.2.0.0/16 %s [65002] %s true []", p.a2, p.a2),
		fmt.Sprintf("10.2.3.0/24 %s [65002] %s true []", p.a2, p.a2),
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s %v %s %v %v", r["prefix"], r["nextHop"], r["asPath"], r["peer"], r["best"], r["communities"]))
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The client's filters: longest match, exact prefix, peer, nothing.
	list := func(q api.RouteQuery) []string {
		t.Helper()
		var out []string
		err := p.client.Routes(t.Context(), q, func(r api.Route) error {
			out = append(out, r.Prefix+" "+r.Peer)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := list(api.RouteQuery{Prefix: "10.2.3.4"}); !slices.Equal(got, []string{"10.2.3.0/24 " + p.a2.String()}) {
		t.Errorf("longest match for 10.2.3.4: %v", got)
	}
	if got := list(api.RouteQuery{Prefix: "10.2.0.0/16"}); !slices.Equal(got, []string{"10.2.0.0/16 " + p.a2.String()}) {
		t.Errorf("exact 10.2.0.0/16: %v", got)
	}
	if got := list(api.RouteQuery{Prefix: "192.0.2.0/24"}); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	if got := list(api.RouteQuery{Peer: p.a2.String(), Received: true}); len(got) != 2 {
		t.Errorf("received from B: %v", got)
	}
	if got := list(api.RouteQuery{Peer: p.a2.String(), Advertised: true}); !slices.Equal(got, []string{"10.1.0.0/24 local"}) {
		t.Errorf("advertised to B: %v", got)
	}
	err := p.client.Routes(t.Context(), api.RouteQuery{VRF: "blue"}, func(api.Route) error { return nil })
	if !api.IsNotFound(err) {
		t.Errorf("routes of VRF blue: %v", err)
	}
	err = p.client.Routes(t.Context(), api.RouteQuery{Peer: "192.0.2.99"}, func(api.Route) error { return nil })
	if !api.IsNotFound(err) {
		t.Errorf("routes of an unknown peer: %v", err)
	}
}

func TestActionsAndWatch(t *testing.T) {
	p := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan api.Event, 100)
	go func() {
		_ = p.client.Watch(ctx, []api.EventKind{api.KindNeighbor, api.KindConfig}, func(e api.Event) error {
			events <- e
			return nil
		})
		close(events)
	}()
	next := func() api.Event {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("watch ended")
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event")
		}
		return api.Event{}
	}
	if e := next(); e.Op != api.OpSnapshot || e.Neighbor == nil || e.Neighbor.State != api.StateEstablished {
		t.Errorf("first event %+v", e)
	}
	if e := next(); e.Op != api.OpSnapshot || e.Config == nil || !e.Config.OK {
		t.Errorf("second event %+v", e)
	}
	if e := next(); e.Op != api.OpSynced {
		t.Errorf("third event %+v", e)
	}

	if err := p.client.NeighborAction(t.Context(), p.a2, api.ActionShutdown, "maintenance window"); err != nil {
		t.Fatal(err)
	}
	for {
		e := next()
		if e.Neighbor != nil && e.Neighbor.AdminShutdown && e.Neighbor.State == api.StateIdle {
			if !strings.Contains(e.Neighbor.Info, "admin shutdown") {
				t.Errorf("info %q", e.Neighbor.Info)
			}
			break
		}
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		n, err := p.b.Neighbor(p.a1)
		if err != nil {
			return false, err.Error()
		}
		r := n.Status.LastReceived
		return r != nil && r.Message == "maintenance window", fmt.Sprintf("B received %+v", r)
	})
	d, err := p.client.Neighbor(t.Context(), p.a2)
	if err != nil {
		t.Fatal(err)
	}
	if s := d.LastNotificationSent; s == nil || s.CodeName != "Cease" || s.SubcodeName != "Hard Reset (Cease / Administrative Shutdown)" || s.Message != "maintenance window" {
		t.Errorf("last notification sent %+v", s)
	}
	if err := p.client.NeighborAction(t.Context(), p.a2, api.ActionRefreshIn, ""); err == nil {
		t.Errorf("refresh-in on a shut session succeeded")
	}
	if err := p.client.NeighborAction(t.Context(), p.a2, api.ActionEnable, ""); err != nil {
		t.Fatal(err)
	}
	for {
		e := next()
		if e.Neighbor != nil && e.Neighbor.State == api.StateEstablished {
			break
		}
	}
	if err := p.client.NeighborAction(t.Context(), p.a2, api.ActionRefreshIn, ""); err != nil {
		t.Errorf("refresh-in: %v", err)
	}
	if err := p.client.NeighborAction(t.Context(), p.a2, api.ActionRefreshOut, ""); err != nil {
		t.Errorf("refresh-out: %v", err)
	}
	if err := p.client.NeighborAction(t.Context(), netip.MustParseAddr("192.0.2.99"), api.ActionReset, ""); !api.IsNotFound(err) {
		t.Errorf("reset of an unknown neighbour: %v", err)
	}

	// A bad reload shows in the config feed and the config status.
	if err := os.WriteFile(p.pathA, []byte("apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer\nmetadata: {name: x}\nspec: {peerASN: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Reload(); err == nil {
		t.Fatal("bad file accepted")
	}
	for {
		e := next()
		if e.Config != nil && !e.Config.OK {
			break
		}
	}
	cs, err := p.client.ConfigStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cs.OK || cs.Generation != 1 || len(cs.Errors) == 0 || !strings.Contains(cs.Errors[0], "spec.peerAddress") || cs.Source != p.pathA {
		t.Errorf("config status %+v", cs)
	}
}

// No password in any answer of the API.
func TestNoPasswordInOutput(t *testing.T) {
	p := setup(t)
	var all []byte
	for _, path := range []string{"/v1/status", "/v1/neighbors", "/v1/neighbors/" + p.a2.String(), "/v1/routes", "/v1/config/status"} {
		all = append(all, p.get(t, path)...)
	}
	if strings.Contains(string(all), "s3cret") {
		t.Errorf("the password is in the API's answers:\n%s", all)
	}
}

func init() {
	// Keep the default logger quiet: the servers log through apitest.
	slog.SetDefault(slog.New(slog.DiscardHandler))
}

// The route watch: a snapshot of the table, then the changes the Loc-RIB's
// feed reports (here: B's routes deleted when its session is shut down).
func TestRouteWatch(t *testing.T) {
	p := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan api.Event, 100)
	go func() {
		_ = p.client.Watch(ctx, []api.EventKind{api.KindRoute}, func(e api.Event) error {
			events <- e
			return nil
		})
		close(events)
	}()
	next := func() api.Event {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("watch ended")
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event")
		}
		return api.Event{}
	}
	var snap []string
	for {
		e := next()
		if e.Op == api.OpSynced {
			break
		}
		if e.Op != api.OpSnapshot || e.Route == nil {
			t.Fatalf("event %+v before synced", e)
		}
		snap = append(snap, e.Route.Prefix)
	}
	if want := []string{"10.1.0.0/24", "10.2.0.0/16", "10.2.3.0/24"}; !slices.Equal(snap, want) {
		t.Errorf("snapshot %v, want %v", snap, want)
	}
	if err := p.client.NeighborAction(t.Context(), p.a2, api.ActionShutdown, ""); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for len(deleted) < 2 {
		e := next()
		if e.Op != api.OpDelete || e.Route == nil || e.Route.Peer != p.a2.String() {
			t.Fatalf("event %+v, want the deletion of B's routes", e)
		}
		deleted[e.Route.Prefix] = true
	}
	if !deleted["10.2.0.0/16"] || !deleted["10.2.3.0/24"] {
		t.Errorf("deleted %v", deleted)
	}
}

// The policy test runs a RoutePolicy of A over its table: the best path
// to a prefix, or the paths from a neighbour, filtered ones included once
// the policy is A's import policy.
func TestPolicyTest(t *testing.T) {
	p := setup(t)
	ctx := t.Context()
	test := func(prefix string, peer netip.Addr) []api.PolicyTestResult {
		t.Helper()
		res, err := p.client.TestPolicy(ctx, "from-b", netip.MustParsePrefix(prefix), peer)
		if err != nil {
			t.Fatalf("TestPolicy %s %v: %v", prefix, peer, err)
		}
		return res
	}
	trace := func(r api.PolicyTestResult) string {
		var parts []string
		for _, st := range r.Trace {
			s := st.Name + ":"
			if st.Matched {
				s += st.Result
			} else {
				s += "!" + st.FailedCondition
			}
			if len(st.Set) > 0 {
				s += "[" + strings.Join(st.Set, "; ") + "]"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}

	// B's /16: accepted by tag, which changes local preference,
	// communities and next hop.
	res := test("10.2.0.0/16", netip.Addr{})
	if len(res) != 1 {
		t.Fatalf("best path to 10.2.0.0/16: %+v", res)
	}
	r := res[0]
	if r.Policy != "from-b" || !r.Accepted || r.Statement != "tag" || !r.Changed || r.Path.Prefix != "10.2.0.0/16" ||
		r.Path.Peer != p.a2.String() || !r.Path.Best {
		t.Errorf("verdict %+v", r)
	}
	if got, want := trace(r), "no-long-prefixes:!prefixSet tag:accept[localPreference 250; nextHop peer; communities add 65001:99]"; got != want {
		t.Errorf("trace %q, want %q", got, want)
	}
	if a := r.Attributes; a == nil || a.LocalPreference != 250 || !slices.Equal(a.Communities, []string{"65001:99"}) ||
		a.NextHop != p.a2.String() || a.NextHopAction != "peer" || a.ASPathText != "65002" || r.Path.LocalPreference != 100 {
		t.Errorf("attributes after the policy %+v (before: %+v)", a, r.Path)
	}

	// B's /24: rejected by the first statement; A's own route: by none.
	res = test("10.2.3.0/24", netip.Addr{})
	if len(res) != 1 || res[0].Accepted || res[0].Statement != "no-long-prefixes" || res[0].Attributes != nil ||
		trace(res[0]) != "no-long-prefixes:reject" {
		t.Errorf("10.2.3.0/24: %+v", res)
	}
	res = test("10.1.0.0/24", netip.Addr{})
	if len(res) != 1 || res[0].Accepted || res[0].Statement != "" || res[0].Path.Peer != "local" ||
		trace(res[0]) != "no-long-prefixes:!prefixSet tag:!routeType" {
		t.Errorf("10.1.0.0/24: %+v", res)
	}
	// No path, a prefix given with host bits, and the paths from B.
	if res := test("192.0.2.0/24", netip.Addr{}); len(res) != 0 {
		t.Errorf("no path: %+v", res)
	}
	if res := test("10.2.3.4/24", p.a2); len(res) != 1 || res[0].Path.Prefix != "10.2.3.0/24" || res[0].Path.Peer != p.a2.String() {
		t.Errorf("10.2.3.4/24 from B: %+v", res)
	}

	// Errors.
	_, err := p.client.TestPolicy(ctx, "nope", netip.MustParsePrefix("10.2.0.0/16"), netip.Addr{})
	if !api.IsNotFound(err) || !strings.HasPrefix(err.Error(), `no such RoutePolicy "nope"`) {
		t.Errorf("unknown policy: %v", err)
	}
	_, err = p.client.TestPolicy(ctx, "from-b", netip.MustParsePrefix("10.2.0.0/16"), netip.MustParseAddr("192.0.2.99"))
	if !api.IsNotFound(err) || !strings.HasPrefix(err.Error(), "no such neighbor 192.0.2.99") {
		t.Errorf("unknown neighbour: %v", err)
	}
	for path, want := range map[string]string{
		"/v1/policies/from-b/test?prefix=10.2.0.1":                  `{"error":"bad prefix \"10.2.0.1\"","hint":"10.2.0.1 is an address; give a CIDR prefix like 10.2.0.1/32"}`,
		"/v1/policies/from-b/test":                                  `{"error":"the prefix parameter is missing","hint":"give prefix=CIDR, e.g. prefix=10.0.0.0/24"}`,
		"/v1/policies/from-b/test?prefix=10.2.0.0/16&peer=router-b": `{"error":"bad peer address \"router-b\"","hint":"give the neighbour's IPv4 or IPv6 address"}`,
	} {
		status, body := p.getStatus(t, path)
		if status != http.StatusBadRequest || strings.TrimSpace(string(body)) != want {
			t.Errorf("GET %s: %d %s, want 400 %s", path, status, body, want)
		}
	}

	// The JSON: one array, the contract's types.
	var arr []map[string]any
	if err := json.Unmarshal(p.get(t, "/v1/policies/from-b/test?prefix=10.2.0.0/16"), &arr); err != nil || len(arr) != 1 {
		t.Fatalf("JSON answer: %v, %v", arr, err)
	}
	checkTypes(t, "policy test", arr[0], map[string]string{"policy": "string", "path": "object", "accepted": "bool",
		"statement": "string", "changed": "bool", "attributes": "object", "trace": "array"})
	checkTypes(t, "attributes", arr[0]["attributes"].(map[string]any), map[string]string{"nextHop": "string", "nextHopAction": "string",
		"asPath": "array", "asPathText": "string", "origin": "string", "localPreference": "number", "med": "number",
		"communities": "array", "largeCommunities": "array", "extendedCommunities": "array"})
	checkTypes(t, "trace", arr[0]["trace"].([]any)[0].(map[string]any), map[string]string{"name": "string", "matched": "bool",
		"failedCondition": "string", "set": "array"})
	if b := p.get(t, "/v1/policies/from-b/test?prefix=192.0.2.0/24"); string(b) != "[]\n" {
		t.Errorf("no path: %q, want []", b)
	}

	// Attached as A's import policy for B, it filters B's /24, which the test
	// with --peer still shows, marked filtered.
	yaml, err := os.ReadFile(p.pathA)
	if err != nil {
		t.Fatal(err)
	}
	attached := strings.Replace(string(yaml), `description: the b side,`, `description: the b side, importPolicy: from-b,`, 1)
	if attached == string(yaml) {
		t.Fatal("cannot attach the policy: the peer's spec changed")
	}
	if err := os.WriteFile(p.pathA, []byte(attached), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		rs, err := p.a.Routes(daemon.RouteQuery{Peer: p.a2})
		return err == nil && len(rs) == 1, fmt.Sprintf("A has %d routes from B (%v)", len(rs), err)
	})
	res = test("10.2.3.0/24", p.a2)
	if len(res) != 1 || !res[0].Path.Filtered || res[0].Accepted || res[0].Statement != "no-long-prefixes" {
		t.Errorf("the filtered path from B: %+v", res)
	}
	if res := test("10.2.3.0/24", netip.Addr{}); len(res) != 0 {
		t.Errorf("best path to a filtered prefix: %+v", res)
	}
}
