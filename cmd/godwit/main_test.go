package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/apitest"
	"github.com/godwit-bgp/godwit/internal/version"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// result is what one run of the CLI printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// godwit runs the CLI in-process with args, at apitest.Epoch in UTC.
func godwit(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g := &globals{now: func() time.Time { return apitest.Epoch }, loc: time.UTC}
	code := runWith(context.Background(), g, args, strings.NewReader(""), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// serve serves b on a temporary socket and returns the --api flag for it.
func serve(t *testing.T, b api.Backend) []string {
	t.Helper()
	srv := apitest.Serve(t, b)
	return []string{"--api", srv.Addr().String()}
}

// checkOneLineError checks a failed run: the exit status, nothing on
// stdout, and one line "godwit: ..." on stderr.
func checkOneLineError(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty on failure: %q", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "godwit: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line \"godwit: REASON\": %q", r.stderr)
	}
}

// decodeOne decodes stdout as exactly one JSON document.
func decodeOne(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout has more than one JSON document:\n%s", stdout)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", path, diff)
	}
}

// TestGolden compares the text (and some JSON) output of the commands
// with golden files.
func TestGolden(t *testing.T) {
	b := apitest.Sample()
	apiFlag := serve(t, b)
	tests := []struct {
		name string
		args []string
	}{
		{"status", []string{"status"}},
		{"status_json", []string{"status", "-o", "json"}},
		{"neighbors", []string{"neighbors"}},
		{"neighbor", []string{"neighbor", "10.0.1.2"}},
		{"neighbor_shutdown", []string{"neighbor", "10.0.1.13"}},
		{"neighbor_down", []string{"neighbor", "10.0.1.12"}},
		{"neighbor_action", []string{"neighbor", "10.0.1.2", "shutdown", "--message", "maintenance until 14:00"}},
		{"neighbor_action_json", []string{"neighbor", "10.0.1.2", "refresh", "out", "-o", "json"}},
		{"routes", []string{"routes"}},
		{"routes_prefix", []string{"routes", "192.0.2.1"}},
		{"routes_received", []string{"routes", "--peer", "10.0.1.2", "--received"}},
		{"routes_vrf", []string{"routes", "--vrf", "blue"}},
		{"routes_none", []string{"routes", "--family", "l2vpn-evpn"}},
		{"routes_json", []string{"routes", "--best", "--family", "ipv4-unicast", "-o", "json"}},
		{"config_status", []string{"config", "status"}},
		{"policy_test", []string{"policy", "test", "from-router", "--prefix", "10.2.0.0/16"}},
		{"policy_test_peer", []string{"policy", "test", "from-router", "--prefix", "10.2.3.0/24", "--peer", "10.0.1.2"}},
		{"policy_test_changes", []string{"policy", "test", "only-pods", "--prefix", "172.31.254.0/26"}},
		{"policy_test_fall_through", []string{"policy", "test", "only-pods", "--prefix", "10.2.0.0/16"}},
		{"policy_test_json", []string{"policy", "test", "from-router", "--prefix", "10.2.0.0/16", "-o", "json"}},
		{"fib", []string{"fib"}},
		{"fib_all", []string{"fib", "--all"}},
		{"fib_json", []string{"fib", "-o", "json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := godwit(t, append(apiFlag, tc.args...)...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			golden(t, tc.name, r.stdout)
		})
	}
}

func TestStatusNoPeers(t *testing.T) {
	apiFlag := serve(t, &apitest.Backend{StatusInfo: api.Status{ASNumber: 65010, RouterID: "10.0.1.10", Version: "1.2.3-test"}})
	r := godwit(t, append(apiFlag, "status")...)
	want := "godwit is running (AS 65010, router ID 10.0.1.10, version 1.2.3-test).\nIPv4 BGP status\nNo IPv4 peers found.\n\nIPv6 BGP status\nNo IPv6 peers found.\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
}

// TestNeighborsJSON checks the contract: a JSON array of objects with
// address and state strings and numeric counters.
func TestNeighborsJSON(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	r := godwit(t, append(apiFlag, "neighbors", "-o", "json")...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var ns []map[string]any
	decodeOne(t, r.stdout, &ns)
	if len(ns) != 5 {
		t.Fatalf("%d neighbours, want 5", len(ns))
	}
	states := map[string]bool{"Idle": true, "Connect": true, "Active": true, "OpenSent": true, "OpenConfirm": true, "Established": true}
	for _, n := range ns {
		if _, ok := n["address"].(string); !ok {
			t.Errorf("address is not a string: %v", n)
		}
		if s, ok := n["state"].(string); !ok || !states[s] {
			t.Errorf("state is not an RFC 4271 name: %v", n["state"])
		}
		for _, k := range []string{"asn", "prefixesReceived", "prefixesAccepted", "prefixesAdvertised", "uptimeSeconds"} {
			if _, ok := n[k].(json.Number); !ok {
				t.Errorf("%s of %v is %T, not a number", k, n["address"], n[k])
			}
		}
	}
	if ns[0]["address"] != "10.0.1.2" || ns[0]["asn"] != json.Number("65100") || ns[0]["prefixesAccepted"] != json.Number("3") || ns[0]["uptimeSeconds"] != json.Number("7512") {
		t.Errorf("first neighbour = %v", ns[0])
	}
}

func TestNeighborsJSONEmpty(t *testing.T) {
	apiFlag := serve(t, &apitest.Backend{})
	r := godwit(t, append(apiFlag, "neighbors", "-o", "json")...)
	if r.code != 0 || r.stdout != "[]\n" || r.stderr != "" {
		t.Errorf("no neighbours: exit %d, stdout %q, stderr %q; want [] and exit 0", r.code, r.stdout, r.stderr)
	}
}

// TestRoutesJSON checks the contract's fields and types.
func TestRoutesJSON(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	r := godwit(t, append(apiFlag, "routes", "-o", "json")...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var rs []map[string]any
	decodeOne(t, r.stdout, &rs)
	if len(rs) != 7 {
		t.Fatalf("%d routes, want the 7 of the default VRF", len(rs))
	}
	for _, rt := range rs {
		for _, k := range []string{"prefix", "nextHop", "asPathText", "origin", "peer"} {
			if _, ok := rt[k].(string); !ok {
				t.Errorf("%s of %v is %T, not a string", k, rt["prefix"], rt[k])
			}
		}
		for _, k := range []string{"localPreference", "med"} {
			if _, ok := rt[k].(json.Number); !ok {
				t.Errorf("%s of %v is %T, not a number", k, rt["prefix"], rt[k])
			}
		}
		if _, ok := rt["best"].(bool); !ok {
			t.Errorf("best of %v is not a bool", rt["prefix"])
		}
		path, ok := rt["asPath"].([]any)
		if !ok {
			t.Errorf("asPath of %v is %T, not an array", rt["prefix"], rt["asPath"])
		}
		for _, asn := range path {
			if _, ok := asn.(json.Number); !ok {
				t.Errorf("asPath of %v holds %T", rt["prefix"], asn)
			}
		}
		if _, ok := rt["communities"].([]any); !ok {
			t.Errorf("communities of %v is %T, not an array", rt["prefix"], rt["communities"])
		}
	}
	if rs[0]["asPathText"] != "65100 64512 {64513 64514}" || fmt.Sprint(rs[0]["asPath"]) != "[65100 64512 64513 64514]" {
		t.Errorf("first route's path: %v / %v", rs[0]["asPathText"], rs[0]["asPath"])
	}
}

func TestRoutesJSONEmpty(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend *apitest.Backend
		args    []string
	}{
		{"empty table", &apitest.Backend{}, nil},
		{"nothing matches", apitest.Sample(), []string{"203.0.113.0/24"}},
		{"family without routes", apitest.Sample(), []string{"--family", "ipv6-vpn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiFlag := serve(t, tc.backend)
			r := godwit(t, append(append(apiFlag, "routes", "-o", "json"), tc.args...)...)
			if r.code != 0 || r.stdout != "[]\n" || r.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want [] and exit 0", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestRoutesJSONLarge checks a listing of many routes is one valid array.
func TestRoutesJSONLarge(t *testing.T) {
	const n = 20_000
	b := &apitest.Backend{RoutesFunc: func(ctx context.Context, q api.RouteQuery, emit func(api.Route) error) error {
		for i := range n {
			if err := emit(api.Route{Prefix: fmt.Sprintf("10.%d.%d.0/24", i>>8, i&0xff), Family: "ipv4-unicast", Origin: api.OriginIGP, Peer: "local"}); err != nil {
				return err
			}
		}
		return nil
	}}
	apiFlag := serve(t, b)
	r := godwit(t, append(apiFlag, "routes", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rs []api.Route
	decodeOne(t, r.stdout, &rs)
	if len(rs) != n || rs[n-1].Prefix != "10.78.31.0/24" {
		t.Errorf("got %d routes", len(rs))
	}
}

func TestUnknownNeighbor(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	for _, args := range [][]string{
		{"neighbor", "192.0.2.9"},
		{"neighbor", "192.0.2.9", "-o", "json"},
		{"neighbor", "192.0.2.9", "reset"},
	} {
		r := godwit(t, append(apiFlag, args...)...)
		checkOneLineError(t, r, 1)
		if want := "godwit: no such neighbor 192.0.2.9; `godwit neighbors` lists the configured ones\n"; r.stderr != want {
			t.Errorf("%v: stderr %q, want %q", args, r.stderr, want)
		}
	}
}

func TestNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "godwitd.sock")
	for _, args := range [][]string{{"status"}, {"neighbors", "-o", "json"}, {"routes", "-o", "json"}} {
		r := godwit(t, append([]string{"--api", sock}, args...)...)
		checkOneLineError(t, r, 1)
		want := "godwit: cannot reach godwitd at " + sock + ": no such file (is godwitd running? start it with `godwitd --config FILE`, or pass --api)\n"
		if r.stderr != want {
			t.Errorf("%v: stderr %q, want %q", args, r.stderr, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "godwit"`},
		{[]string{}, "no command given"},
		{[]string{"config"}, "config needs a subcommand"},
		{[]string{"--api", "http://x:1", "status"}, `API address "http://x:1": unknown scheme "http"`},
		{[]string{"status", "-o", "yaml"}, "-o yaml: the output formats are text and json"},
		{[]string{"status", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"status", "extra"}, "status takes no arguments"},
		{[]string{"routes", "--received"}, "received and advertised routes are per neighbour; add --peer ADDR"},
		{[]string{"routes", "--peer", "10.0.1.2", "--received", "--advertised"}, "received and advertised exclude each other"},
		{[]string{"routes", "--family", "ipv4"}, `unknown address family "ipv4"`},
		{[]string{"routes", "10.0.0.0/33"}, `bad prefix "10.0.0.0/33"`},
		{[]string{"neighbor"}, "neighbor takes an address"},
		{[]string{"neighbor", "router"}, `"router" is not a neighbor address`},
		{[]string{"neighbor", "10.0.1.2", "reboot"}, `unknown neighbor action "reboot"`},
		{[]string{"neighbor", "10.0.1.2", "refresh"}, "refresh takes in or out"},
		{[]string{"neighbor", "10.0.1.2", "enable", "--message", "x"}, "--message goes with reset and shutdown only"},
		{[]string{"config", "validate"}, "validate takes one file"},
		{[]string{"policy"}, "policy needs a subcommand: test"},
		{[]string{"policy", "frobnicate"}, "policy takes a subcommand: test (see godwit policy --help)"},
		{[]string{"policy", "test", "--prefix", "10.2.0.0/16"}, "test takes a policy name (see godwit policy test --help)"},
		{[]string{"policy", "test", "from-router"}, "policy test needs --prefix PREFIX"},
		{[]string{"policy", "test", "from-router", "--prefix", "10.2.0.1"}, `bad prefix "10.2.0.1": 10.2.0.1 is an address; give a CIDR prefix like 10.2.0.1/32`},
		{[]string{"policy", "test", "from-router", "--prefix", "10.2.0.0/33"}, `bad prefix "10.2.0.0/33": give a CIDR prefix like 10.0.0.0/24`},
		{[]string{"policy", "test", "from-router", "--prefix", "10.2.0.0/16", "--peer", "router"}, `--peer "router" is not a neighbor address`},
		{[]string{"announce"}, "announce needs a subcommand: add, del or list"},
		{[]string{"announce", "frobnicate"}, "announce takes a subcommand: add, del or list (see godwit announce --help)"},
		{[]string{"announce", "add"}, "add takes a prefix (see godwit announce add --help)"},
		{[]string{"announce", "add", "10.9.0.0/24", "10.9.1.0/24"}, "add takes a prefix"},
		{[]string{"announce", "add", "10.9.0.1/24"}, "prefix 10.9.0.1/24 has host bits set; did you mean 10.9.0.0/24?"},
		{[]string{"announce", "add", "10.9.0.1"}, `bad prefix "10.9.0.1"; 10.9.0.1 is an address; give a CIDR prefix like 10.9.0.1/32`},
		{[]string{"announce", "add", "10.9.0.0/24", "--community", "65010:70000"}, `bad --community "65010:70000": give a:b (each part 0..65535) or a well-known name such as no-export`},
		{[]string{"announce", "add", "10.9.0.0/24", "--large-community", "1:2"}, `bad --large-community "1:2": give a:b:c (each part 0..4294967295)`},
		{[]string{"announce", "add", "10.9.0.0/24", "--local-preference", "-1"}, `invalid argument "-1" for "--local-preference" flag`},
		{[]string{"announce", "add", "10.9.0.0/24", "--med", "4294967296"}, `invalid argument "4294967296" for "--med" flag`},
		{[]string{"announce", "del"}, "del takes a prefix (see godwit announce del --help)"},
		{[]string{"announce", "del", "10.9.0.1/24"}, "prefix 10.9.0.1/24 has host bits set; did you mean 10.9.0.0/24?"},
		{[]string{"announce", "list", "10.9.0.0/24"}, "list takes no arguments"},
		{[]string{"fib", "10.9.0.0/24"}, "fib takes no arguments (see godwit fib --help)"},
		{[]string{"fib", "--all=maybe"}, `invalid argument "maybe" for "--all" flag`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := godwit(t, append(apiFlag, tc.args...)...)
			checkOneLineError(t, r, 2)
			if !strings.HasPrefix(r.stderr, "godwit: "+tc.want) {
				t.Errorf("stderr %q, want it to start with %q", r.stderr, "godwit: "+tc.want)
			}
		})
	}
}

func TestNeighborActions(t *testing.T) {
	b := apitest.Sample()
	apiFlag := serve(t, b)
	for _, args := range [][]string{
		{"10.0.1.2", "reset"},
		{"10.0.1.2", "reset", "-m", "new firmware"},
		{"10.0.1.2", "shutdown", "--message", "bye"},
		{"10.0.1.2", "enable"},
		{"10.0.1.2", "refresh", "in"},
		{"10.0.1.2", "refresh", "out"},
	} {
		if r := godwit(t, append(append(apiFlag, "neighbor"), args...)...); r.code != 0 {
			t.Errorf("%v: exit %d, %s", args, r.code, r.stderr)
		}
	}
	var got []string
	for _, c := range b.ActionCalls() {
		got = append(got, fmt.Sprintf("%s %s %q", c.Addr, c.Action, c.Message))
	}
	want := []string{
		`10.0.1.2 reset ""`, `10.0.1.2 reset "new firmware"`, `10.0.1.2 shutdown "bye"`,
		`10.0.1.2 enable ""`, `10.0.1.2 refresh-in ""`, `10.0.1.2 refresh-out ""`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func TestVersion(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	r := godwit(t, append(apiFlag, "version")...)
	want := fmt.Sprintf("godwit version %s\ngodwitd version %s (API v1 at %s)\n", version.String(), version.String(), apiFlag[1])
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout %q, want %q", r.code, r.stdout, want)
	}

	sock := filepath.Join(t.TempDir(), "none.sock")
	r = godwit(t, "--api", sock, "version", "-o", "json")
	var out versionOutput
	decodeOne(t, r.stdout, &out)
	if r.code != 0 || out.Client != version.String() || out.Daemon != nil || !strings.Contains(out.DaemonError, "cannot reach godwitd") {
		t.Errorf("without a daemon: exit %d, %+v", r.code, out)
	}
}

func TestConfigValidate(t *testing.T) {
	r := godwit(t, "config", "validate", "testdata/config/minimal.yaml")
	want := "testdata/config/minimal.yaml: OK (3 resources: 1 BGPConfiguration, 1 Announcement, 1 BGPPeer)\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("valid file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = godwit(t, "config", "validate", "testdata/config/bad.yaml")
	if r.code != 1 || r.stderr != "godwit: testdata/config/bad.yaml: 4 errors\n" {
		t.Errorf("bad file: exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Errorf("want the 4 errors one a line:\n%s", r.stdout)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "testdata/config/bad.yaml: document ") {
			t.Errorf("error line does not name the file and document: %q", l)
		}
	}

	r = godwit(t, "config", "validate", "testdata/config/bad.yaml", "-o", "json")
	var out validateOutput
	decodeOne(t, r.stdout, &out)
	if r.code != 1 || out.OK || len(out.Errors) != 4 {
		t.Errorf("bad file, JSON: exit %d, %+v", r.code, out)
	}

	r = godwit(t, "config", "validate", "testdata/config/missing.yaml")
	checkOneLineError(t, r, 1)
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := godwit(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "godwit") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
}

// TestTCPAPI runs a command against the TLS listener with --token-file and
// --ca-file.
func TestTCPAPI(t *testing.T) {
	dir := t.TempDir()
	cert, key := apitest.WriteCert(t, dir)
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := api.NewServer(apitest.Sample(), api.ServerConfig{
		Addr: apitest.SocketPath(t), Logger: apitest.Logger(t),
		TCP: &api.TCPConfig{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key, TokenFile: token},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := "https://" + srv.TCPAddr().String()

	r := godwit(t, "--api", addr, "--token-file", token, "--ca-file", cert, "neighbors", "-o", "json")
	var ns []api.Neighbor
	decodeOne(t, r.stdout, &ns)
	if r.code != 0 || len(ns) != 5 {
		t.Errorf("with token: exit %d, %d neighbours, stderr %q", r.code, len(ns), r.stderr)
	}
	r = godwit(t, "--api", addr, "--ca-file", cert, "neighbors")
	checkOneLineError(t, r, 1)
	if !strings.Contains(r.stderr, "missing or wrong bearer token") {
		t.Errorf("without token: %q", r.stderr)
	}
}

// TestPolicyTestJSON checks `policy test -o json`: one JSON array whose
// objects carry the path, the verdict, the attributes after the policy
// and the trace.
func TestPolicyTestJSON(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	r := godwit(t, append(apiFlag, "policy", "test", "only-pods", "--prefix", "172.31.254.0/26", "-o", "json")...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var res []map[string]any
	decodeOne(t, r.stdout, &res)
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	got := res[0]
	if got["policy"] != "only-pods" || got["accepted"] != true || got["statement"] != "pods" || got["changed"] != true {
		t.Errorf("verdict: %v", got)
	}
	if p, ok := got["path"].(map[string]any); !ok || p["prefix"] != "172.31.254.0/26" || p["peer"] != "local" {
		t.Errorf("path: %v", got["path"])
	}
	a, ok := got["attributes"].(map[string]any)
	if !ok || a["nextHop"] != "10.0.1.10" || a["nextHopAction"] != "10.0.1.10" || a["asPathText"] != "65010 65010" ||
		fmt.Sprint(a["communities"]) != "[65010:100]" || fmt.Sprint(a["largeCommunities"]) != "[]" {
		t.Errorf("attributes: %v", got["attributes"])
	}
	tr, ok := got["trace"].([]any)
	if !ok || len(tr) != 1 {
		t.Fatalf("trace: %v", got["trace"])
	}
	if st := tr[0].(map[string]any); st["name"] != "pods" || st["matched"] != true || st["result"] != "accept" || len(st["set"].([]any)) != 3 {
		t.Errorf("trace: %v", st)
	}

	// A rejected path has no attributes; a statement that did not match
	// names the condition that failed and has an empty set list.
	r = godwit(t, append(apiFlag, "policy", "test", "only-pods", "--prefix", "10.2.0.0/16", "-o", "json")...)
	res = nil
	decodeOne(t, r.stdout, &res)
	if len(res) != 1 || res[0]["accepted"] != false || res[0]["statement"] != "" || res[0]["attributes"] != nil {
		t.Fatalf("rejected: %v", res)
	}
	if st := res[0]["trace"].([]any)[0].(map[string]any); st["matched"] != false || st["failedCondition"] != "prefixSet" || fmt.Sprint(st["set"]) != "[]" {
		t.Errorf("trace of the rejected path: %v", st)
	}
}

// TestPolicyTestNoPath checks the choice the help documents: no path is
// an error in text (exit 1) and [] in JSON (exit 0).
func TestPolicyTestNoPath(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	r := godwit(t, append(apiFlag, "policy", "test", "from-router", "--prefix", "203.0.113.0/24")...)
	checkOneLineError(t, r, 1)
	if want := "godwit: no path to 203.0.113.0/24 in the table\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	r = godwit(t, append(apiFlag, "policy", "test", "from-router", "--prefix", "10.2.0.0/16", "--peer", "10.0.1.12")...)
	checkOneLineError(t, r, 1)
	if want := "godwit: no path to 10.2.0.0/16 from 10.0.1.12 in the table\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	r = godwit(t, append(apiFlag, "policy", "test", "from-router", "--prefix", "203.0.113.0/24", "-o", "json")...)
	if r.code != 0 || r.stdout != "[]\n" || r.stderr != "" {
		t.Errorf("JSON: exit %d, stdout %q, stderr %q; want [] and exit 0", r.code, r.stdout, r.stderr)
	}
}

func TestPolicyTestErrors(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "test", "nope", "--prefix", "10.2.0.0/16"},
			`godwit: no such RoutePolicy "nope"; the RoutePolicy resources of the configuration name the policies` + "\n"},
		{[]string{"policy", "test", "nope", "--prefix", "10.2.0.0/16", "-o", "json"},
			`godwit: no such RoutePolicy "nope"; the RoutePolicy resources of the configuration name the policies` + "\n"},
		{[]string{"policy", "test", "from-router", "--prefix", "10.2.0.0/16", "--peer", "192.0.2.9"},
			"godwit: no such neighbor 192.0.2.9; `godwit neighbors` lists the configured ones\n"},
	} {
		r := godwit(t, append(apiFlag, tc.args...)...)
		checkOneLineError(t, r, 1)
		if r.stderr != tc.want {
			t.Errorf("%v: stderr %q, want %q", tc.args, r.stderr, tc.want)
		}
	}
}

func TestPolicyHelp(t *testing.T) {
	r := godwit(t, "policy", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Available Commands:") || !strings.Contains(r.stdout, "\n  test ") {
		t.Errorf("policy --help: exit %d, does not list test:\n%s", r.code, r.stdout)
	}
}

// TestAnnounce runs add, list and del against the sample backend, in
// text and JSON: goldens for the output, the listing's changes, and the
// errors of the daemon (exit status 1).
func TestAnnounce(t *testing.T) {
	b := apitest.Sample()
	apiFlag := serve(t, b)
	steps := []struct {
		name string
		args []string
	}{
		{"announce_list", []string{"announce", "list"}},
		{"announce_list_json", []string{"announce", "list", "-o", "json"}},
		{"announce_add", []string{"announce", "add", "203.0.113.0/24", "--community", "65010:7", "--community", "no-export,65010:8",
			"--large-community", "65010:7:8", "--local-preference", "150", "--med", "0"}},
		{"announce_add_replace_json", []string{"announce", "add", "198.51.100.7/32", "--med", "30", "-o", "json"}},
		{"announce_add_shadowed", []string{"announce", "add", "172.31.254.0/26"}},
		{"announce_list_changed", []string{"announce", "list"}},
		{"announce_del", []string{"announce", "del", "203.0.113.0/24"}},
		{"announce_del_shadowed_json", []string{"announce", "delete", "172.31.254.0/26", "-o", "json"}},
		{"announce_list_after", []string{"announce", "ls"}},
	}
	for _, tc := range steps {
		r := godwit(t, append(apiFlag, tc.args...)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", tc.name, r.code, r.stderr)
		}
		golden(t, tc.name, r.stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"announce", "del", "203.0.113.0/24"},
			"godwit: no runtime announcement of 203.0.113.0/24; `godwit announce list` shows what is announced; configured Announcements are changed in the configuration file\n"},
		{[]string{"announce", "del", "172.31.254.0/26", "-o", "json"},
			`godwit: no runtime announcement of 172.31.254.0/26; it is announced by the configured Announcement "pod-cidr": change or remove it in the configuration file` + "\n"},
	} {
		r := godwit(t, append(apiFlag, tc.args...)...)
		checkOneLineError(t, r, 1)
		if r.stderr != tc.want {
			t.Errorf("%v: stderr %q, want %q", tc.args, r.stderr, tc.want)
		}
	}
}

// TestAnnounceJSON checks the JSON of the listing: one array, the fields'
// types, no localPreference or med where none is set, [] for none.
func TestAnnounceJSON(t *testing.T) {
	apiFlag := serve(t, apitest.Sample())
	r := godwit(t, append(apiFlag, "announce", "list", "-o", "json")...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var as []map[string]any
	decodeOne(t, r.stdout, &as)
	if len(as) != 3 {
		t.Fatalf("%d announcements, want 3", len(as))
	}
	for _, a := range as {
		for _, k := range []string{"prefix", "announcement"} {
			if _, ok := a[k].(string); !ok {
				t.Errorf("%s of %v is %T, not a string", k, a["prefix"], a[k])
			}
		}
		if _, ok := a["runtime"].(bool); !ok {
			t.Errorf("runtime of %v is not a bool", a["prefix"])
		}
		for _, k := range []string{"communities", "largeCommunities"} {
			if _, ok := a[k].([]any); !ok {
				t.Errorf("%s of %v is %T, not an array", k, a["prefix"], a[k])
			}
		}
	}
	if a := as[0]; a["prefix"] != "172.31.254.0/26" || a["announcement"] != "pod-cidr" || a["runtime"] != false || a["localPreference"] != nil || a["med"] != nil {
		t.Errorf("configured announcement %v", a)
	}
	if a := as[1]; a["runtime"] != true || a["localPreference"] != json.Number("200") || a["med"] != json.Number("10") {
		t.Errorf("runtime announcement %v", a)
	}

	apiFlag = serve(t, &apitest.Backend{})
	r = godwit(t, append(apiFlag, "announce", "list", "-o", "json")...)
	if r.code != 0 || r.stdout != "[]\n" || r.stderr != "" {
		t.Errorf("none: exit %d, stdout %q, stderr %q; want [] and exit 0", r.code, r.stdout, r.stderr)
	}
	r = godwit(t, append(apiFlag, "announce", "list")...)
	if r.code != 0 || r.stdout != "No prefixes announced.\n" {
		t.Errorf("none, text: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestFIBText checks the header's variants and the listing of a kernel
// that matches the RIB: converged with adopted routes, a dry run, no next
// hop tracked.
func TestFIBText(t *testing.T) {
	ok := api.FIBRoute{Prefix: "10.2.0.0/16", Table: 254, State: api.FIBOK,
		Desired:   &api.KernelRoute{Metric: 20, NextHops: []api.KernelNextHop{{Gateway: "192.0.2.1", Interface: "eth0", Weight: 1}}},
		Installed: &api.KernelRoute{Metric: 20, NextHops: []api.KernelNextHop{{Gateway: "192.0.2.1", Interface: "eth0", Weight: 1}}}}
	apiFlag := serve(t, &apitest.Backend{FIBInfo: api.FIB{
		Protocol: 200, Converged: true, Adopted: 3, Desired: 1, Installed: 1, Added: 1, Deleted: 2,
		LastSync: apitest.Epoch.Add(-time.Second), Routes: []api.FIBRoute{ok},
	}})
	r := godwit(t, append(apiFlag, "fib")...)
	want := `Protocol:   200
Mode:       writing
Converged:  yes (3 routes of the previous run adopted at start)
Routes:     1 desired, 1 installed, 0 pending, 0 failed
Operations: 1 added, 0 replaced, 2 deleted
Last sync:  2024-05-01T11:59:59Z (00:00:01 ago)

kernel matches the RIB: 1 route installed

No next hops tracked.
`
	if r.code != 0 || r.stderr != "" || r.stdout != want {
		t.Errorf("in sync: exit %d, stderr %q, stdout (-want +got):\n%s", r.code, r.stderr, cmp.Diff(want, r.stdout))
	}
	r = godwit(t, append(apiFlag, "fib", "--all")...)
	if r.code != 0 || !strings.Contains(r.stdout, "| 10.2.0.0/16 | ok    | via 192.0.2.1 dev eth0 metric 20 | via 192.0.2.1 dev eth0 metric 20 | -     |") {
		t.Errorf("in sync, --all: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	apiFlag = serve(t, &apitest.Backend{FIBInfo: api.FIB{
		Protocol: 201, DryRun: true, Desired: 2, Pending: 2,
		Routes: []api.FIBRoute{
			{Prefix: "10.9.0.0/24", Table: 254, State: api.FIBAdd, Desired: &api.KernelRoute{Metric: 20, NextHops: []api.KernelNextHop{
				{Gateway: "192.0.2.1", Interface: "eth0", Weight: 1}, {Gateway: "192.0.2.2", Interface: "#12", Weight: 3}}}},
			{Prefix: "10.10.0.0/24", Table: 100, State: api.FIBAdd, Desired: &api.KernelRoute{Metric: 20, Blackhole: true}},
		},
		NextHops: []api.TrackedNextHop{{Address: "192.0.2.1", Resolvable: true, Cost: 5, AttributeSets: 1}},
	}})
	r = godwit(t, append(apiFlag, "fib")...)
	for _, line := range []string{
		"Protocol:   201\n",
		"Mode:       dry run (--no-fib): nothing is written; pending counts what would be\n",
		"Converged:  no\n",
		"Last sync:  never\n",
		"| 10.9.0.0/24            | add   | via 192.0.2.1 dev eth0 weight 1, via 192.0.2.2 dev #12 weight 3 metric 20 | -         | -     |\n",
		"| 10.10.0.0/24 table 100 | add   | blackhole metric 20                                                       | -         | -     |\n",
		"| 192.0.2.1 | yes        | 5    |\n",
	} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("dry run: no line %q in\n%s", line, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Last error") {
		t.Errorf("dry run without an error shows one:\n%s", r.stdout)
	}
}

// TestFIBJSON checks -o json: one object with the contract's arrays, []
// when empty; and the error while godwitd opens the kernel.
func TestFIBJSON(t *testing.T) {
	apiFlag := serve(t, &apitest.Backend{FIBInfo: api.FIB{Protocol: 200, Converged: true}})
	r := godwit(t, append(apiFlag, "fib", "--all", "-o", "json")...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var f map[string]any
	decodeOne(t, r.stdout, &f)
	if routes, ok := f["routes"].([]any); !ok || len(routes) != 0 {
		t.Errorf("routes = %#v, want []", f["routes"])
	}
	if nhs, ok := f["nextHops"].([]any); !ok || len(nhs) != 0 {
		t.Errorf("nextHops = %#v, want []", f["nextHops"])
	}
	if f["protocol"] != json.Number("200") || f["converged"] != true || f["lastError"] != nil || f["lastSync"] != nil {
		t.Errorf("fib %v", f)
	}

	apiFlag = serve(t, &apitest.Backend{Err: api.Unavailable("godwitd is starting: the kernel routing table is not open yet", "try again in a moment")})
	for _, args := range [][]string{{"fib"}, {"fib", "--all", "-o", "json"}} {
		r := godwit(t, append(apiFlag, args...)...)
		checkOneLineError(t, r, 1)
		if want := "godwit: godwitd is starting: the kernel routing table is not open yet; try again in a moment\n"; r.stderr != want {
			t.Errorf("%v: stderr %q, want %q", args, r.stderr, want)
		}
	}
}
