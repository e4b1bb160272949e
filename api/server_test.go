package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/apitest"
	"github.com/godwit-bgp/godwit/internal/version"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEndpoints checks every endpoint's status, content type and JSON
// shape against golden files.
func TestEndpoints(t *testing.T) {
	checkLeaks(t)
	b := apitest.Sample()
	srv := apitest.Serve(t, b)
	sock := srv.Addr().Address

	tests := []struct {
		name, method, target, body string
	}{
		{"version", "GET", "/v1/version", ""},
		{"status", "GET", "/v1/status", ""},
		{"neighbors", "GET", "/v1/neighbors", ""},
		{"neighbor", "GET", "/v1/neighbors/10.0.1.2", ""},
		{"neighbor_shutdown", "GET", "/v1/neighbors/10.0.1.13", ""},
		{"neighbor_summary_only", "GET", "/v1/neighbors/10.0.1.12", ""},
		{"neighbor_unknown", "GET", "/v1/neighbors/192.0.2.9", ""},
		{"neighbor_bad_address", "GET", "/v1/neighbors/router", ""},
		{"action_shutdown", "POST", "/v1/neighbors/10.0.1.2/shutdown", `{"message": "maintenance"}`},
		{"action_refresh", "POST", "/v1/neighbors/10.0.1.2/refresh-in", ""},
		{"action_unknown", "POST", "/v1/neighbors/10.0.1.2/reboot", ""},
		{"action_unknown_neighbor", "POST", "/v1/neighbors/192.0.2.9/reset", ""},
		{"action_message_not_allowed", "POST", "/v1/neighbors/10.0.1.2/enable", `{"message": "hi"}`},
		{"action_bad_body", "POST", "/v1/neighbors/10.0.1.2/reset", `{"msg": "hi"}`},
		{"action_long_message", "POST", "/v1/neighbors/10.0.1.2/reset", `{"message": "` + strings.Repeat("x", 256) + `"}`},
		{"routes", "GET", "/v1/routes", ""},
		{"routes_family", "GET", "/v1/routes?family=ipv6-unicast", ""},
		{"routes_prefix", "GET", "/v1/routes?prefix=10.2.0.0/16", ""},
		{"routes_longest_match", "GET", "/v1/routes?prefix=192.0.2.77", ""},
		{"routes_best", "GET", "/v1/routes?best=true", ""},
		{"routes_peer", "GET", "/v1/routes?peer=10.0.1.11", ""},
		{"routes_received", "GET", "/v1/routes?peer=10.0.1.2&received=true", ""},
		{"routes_advertised", "GET", "/v1/routes?peer=10.0.1.2&advertised", ""},
		{"routes_vrf", "GET", "/v1/routes?vrf=blue", ""},
		{"routes_none", "GET", "/v1/routes?family=l2vpn-evpn", ""},
		{"routes_unknown_vrf", "GET", "/v1/routes?vrf=red", ""},
		{"routes_unknown_family", "GET", "/v1/routes?family=ipv4-multicast", ""},
		{"routes_bad_prefix", "GET", "/v1/routes?prefix=10.2.0.0/33", ""},
		{"routes_received_without_peer", "GET", "/v1/routes?received=true", ""},
		{"routes_unknown_parameter", "GET", "/v1/routes?best=true&limit=3", ""},
		{"config_status", "GET", "/v1/config/status", ""},
		{"policy_test", "GET", "/v1/policies/from-router/test?prefix=10.2.0.0/16", ""},
		{"policy_test_peer", "GET", "/v1/policies/from-router/test?prefix=10.2.3.0/24&peer=10.0.1.2", ""},
		{"policy_test_masked", "GET", "/v1/policies/only-pods/test?prefix=172.31.254.1/26", ""},
		{"policy_test_none", "GET", "/v1/policies/from-router/test?prefix=203.0.113.0/24", ""},
		{"policy_test_unknown_policy", "GET", "/v1/policies/nope/test?prefix=10.2.0.0/16", ""},
		{"policy_test_unknown_neighbor", "GET", "/v1/policies/from-router/test?prefix=10.2.0.0/16&peer=192.0.2.9", ""},
		{"policy_test_bad_prefix", "GET", "/v1/policies/from-router/test?prefix=10.2.0.1", ""},
		{"policy_test_bad_peer", "GET", "/v1/policies/from-router/test?prefix=10.2.0.0/16&peer=router", ""},
		{"policy_test_no_prefix", "GET", "/v1/policies/from-router/test", ""},
		{"policy_test_unknown_parameter", "GET", "/v1/policies/from-router/test?prefix=10.2.0.0/16&vrf=blue", ""},
		{"policy_test_wrong_method", "POST", "/v1/policies/from-router/test?prefix=10.2.0.0/16", ""},
		{"announcements", "GET", "/v1/announcements", ""},
		{"announcement_add", "POST", "/v1/announcements",
			`{"prefix": "203.0.113.0/24", "communities": ["65010:7", "no-export"], "largeCommunities": ["65010:7:8"], "localPreference": 150, "med": 5}`},
		{"announcement_replace", "POST", "/v1/announcements", `{"prefix": "198.51.100.7/32"}`},
		{"announcement_shadowed", "POST", "/v1/announcements", `{"prefix": "172.31.254.0/26", "communities": ["65010:1"]}`},
		{"announcements_changed", "GET", "/v1/announcements", ""},
		{"announcement_delete", "DELETE", "/v1/announcements?prefix=203.0.113.0/24", ""},
		{"announcement_delete_again", "DELETE", "/v1/announcements?prefix=203.0.113.0/24", ""},
		{"announcement_delete_shadowed", "DELETE", "/v1/announcements?prefix=172.31.254.0/26", ""},
		{"announcement_delete_configured", "DELETE", "/v1/announcements?prefix=172.31.254.0/26", ""},
		{"announcement_delete_no_prefix", "DELETE", "/v1/announcements", ""},
		{"announcement_delete_host_bits", "DELETE", "/v1/announcements?prefix=10.9.0.1/24", ""},
		{"announcement_delete_unknown_parameter", "DELETE", "/v1/announcements?prefix=10.9.0.0/24&vrf=blue", ""},
		{"announcement_bad_prefix", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/33"}`},
		{"announcement_address", "POST", "/v1/announcements", `{"prefix": "10.9.0.1"}`},
		{"announcement_host_bits", "POST", "/v1/announcements", `{"prefix": "10.9.0.1/24"}`},
		{"announcement_no_prefix", "POST", "/v1/announcements", `{"communities": ["65010:1"]}`},
		{"announcement_no_body", "POST", "/v1/announcements", ""},
		{"announcement_bad_community", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "communities": ["65010:70000"]}`},
		{"announcement_bad_large_community", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "largeCommunities": ["65010:1"]}`},
		{"announcement_bad_local_preference", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "localPreference": -1}`},
		{"announcement_bad_communities", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "communities": "65010:1"}`},
		{"announcement_unknown_field", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "vrf": "blue"}`},
		{"announcement_two_values", "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24"} {"prefix": "10.9.1.0/24"}`},
		{"announcements_wrong_method", "PUT", "/v1/announcements", ""},
		{"fib", "GET", "/v1/fib", ""},
		{"fib_all", "GET", "/v1/fib?all=true", ""},
		{"fib_bad_all", "GET", "/v1/fib?all=maybe", ""},
		{"fib_unknown_parameter", "GET", "/v1/fib?all=true&vrf=blue", ""},
		{"fib_two_values", "GET", "/v1/fib?all=true&all=false", ""},
		{"fib_wrong_method", "POST", "/v1/fib", ""},
		{"unknown_endpoint", "GET", "/v1/bogus", ""},
		{"wrong_method", "POST", "/v1/status", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawDo(t, sock, tc.method, tc.target, tc.body)
			got := resp.render(t)
			if tc.name == "version" {
				got = bytes.Replace(got, []byte(fmt.Sprintf("%q", version.String())), []byte(`"VERSION"`), 1)
			}
			golden(t, "endpoints/"+tc.name+".golden", got)
		})
	}

	want := []apitest.ActionCall{
		{Addr: netip.MustParseAddr("10.0.1.2"), Action: api.ActionShutdown, Message: "maintenance"},
		{Addr: netip.MustParseAddr("10.0.1.2"), Action: api.ActionRefreshIn},
	}
	if diff := cmp.Diff(want, b.ActionCalls(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

// TestContractArrays checks the arrays the command-line contract names are
// [] when empty, never null.
func TestContractArrays(t *testing.T) {
	checkLeaks(t)
	rt := api.Route{Prefix: "10.0.0.0/8", Family: "ipv4-unicast", Peer: "local", Best: true}
	b := &apitest.Backend{RouteList: []api.Route{rt}, PolicyTests: map[string][]api.PolicyTestResult{
		"p": {{Policy: "p", Path: rt}},
		"q": {},
	}}
	srv := apitest.Serve(t, b)
	sock := srv.Addr().Address

	if got := rawDo(t, sock, "GET", "/v1/neighbors", ""); string(got.body) != "[]\n" {
		t.Errorf("neighbors with none = %q, want []", got.body)
	}
	got := rawDo(t, sock, "GET", "/v1/routes", "").body
	for _, field := range []string{`"asPath":[]`, `"communities":[]`, `"largeCommunities":[]`, `"extendedCommunities":[]`} {
		if !bytes.Contains(got, []byte(field)) {
			t.Errorf("route %s lacks %s", got, field)
		}
	}
	got = rawDo(t, sock, "GET", "/v1/policies/p/test?prefix=10.0.0.0/8&peer=", "").body
	for _, field := range []string{`"trace":[]`, `"asPath":[]`} {
		if !bytes.Contains(got, []byte(field)) {
			t.Errorf("policy test %s lacks %s", got, field)
		}
	}
	if got := rawDo(t, sock, "GET", "/v1/policies/q/test?prefix=10.0.0.0/8", "").body; string(got) != "[]\n" {
		t.Errorf("policy test without a path = %q, want []", got)
	}
	if got := rawDo(t, sock, "GET", "/v1/config/status", "").body; !bytes.Contains(got, []byte(`"resources":[],`)) || !bytes.Contains(got, []byte(`"errors":[]`)) {
		t.Errorf("config status %s has null lists", got)
	}
	if got := rawDo(t, sock, "GET", "/v1/announcements", "").body; string(got) != "[]\n" {
		t.Errorf("announcements with none = %q, want []", got)
	}
	got = rawDo(t, sock, "POST", "/v1/announcements", `{"prefix": "10.9.0.0/24"}`).body
	for _, field := range []string{`"communities":[]`, `"largeCommunities":[]`} {
		if !bytes.Contains(got, []byte(field)) {
			t.Errorf("announcement %s lacks %s", got, field)
		}
	}
	for _, field := range []string{`localPreference`, `med`, `shadowedBy`} {
		if bytes.Contains(got, []byte(field)) {
			t.Errorf("announcement %s has %s, which is not set", got, field)
		}
	}
	got = rawDo(t, sock, "GET", "/v1/fib", "").body
	for _, field := range []string{`"routes":[]`, `"nextHops":[]`} {
		if !bytes.Contains(got, []byte(field)) {
			t.Errorf("fib %s lacks %s", got, field)
		}
	}
	for _, field := range []string{`lastSync`, `lastError`} {
		if bytes.Contains(got, []byte(field)) {
			t.Errorf("fib %s has %s, which is not set", got, field)
		}
	}
}

// TestFIBShape checks the JSON of GET /v1/fib field by field: the names
// and types of the contract, next hops sorted by address, routes in the
// Backend's order, [] for a blackhole's next hops, and desired, installed,
// gateway, interface and error omitted where there is none.
func TestFIBShape(t *testing.T) {
	checkLeaks(t)
	b := &apitest.Backend{FIBInfo: api.FIB{
		Protocol: 200, DryRun: true, Desired: 2, Installed: 1, Pending: 2,
		Routes: []api.FIBRoute{
			{Prefix: "10.9.0.0/24", Table: 254, State: api.FIBAdd,
				Desired: &api.KernelRoute{Metric: 20, NextHops: []api.KernelNextHop{{Interface: "eth1", Weight: 1}}}},
			{Prefix: "10.1.0.0/24", Table: 254, State: api.FIBDelete,
				Installed: &api.KernelRoute{Metric: 20, Blackhole: true}, Error: "no such route"},
		},
		NextHops: []api.TrackedNextHop{
			{Address: "2001:db8::1", Resolvable: true, Cost: 5, AttributeSets: 1},
			{Address: "192.0.2.10", AttributeSets: 2},
			{Address: "192.0.2.9", Resolvable: true, AttributeSets: 4},
		},
	}}
	srv := apitest.Serve(t, b)
	resp := rawDo(t, srv.Addr().Address, "GET", "/v1/fib", "")
	if resp.status != http.StatusOK || resp.contentType != "application/json" {
		t.Fatalf("status %d, content type %q", resp.status, resp.contentType)
	}
	var got map[string]any
	if err := json.Unmarshal(resp.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"protocol": 200.0, "dryRun": true, "converged": false, "adopted": 0.0, "holding": false,
		"desired": 2.0, "installed": 1.0, "held": 0.0, "pending": 2.0, "failed": 0.0,
		"added": 0.0, "replaced": 0.0, "deleted": 0.0,
		"routes": []any{
			map[string]any{"prefix": "10.9.0.0/24", "table": 254.0, "state": "add",
				"desired": map[string]any{"nextHops": []any{map[string]any{"interface": "eth1", "weight": 1.0}}, "metric": 20.0, "blackhole": false}},
			map[string]any{"prefix": "10.1.0.0/24", "table": 254.0, "state": "delete",
				"installed": map[string]any{"nextHops": []any{}, "metric": 20.0, "blackhole": true}, "error": "no such route"},
		},
		"nextHops": []any{
			map[string]any{"address": "192.0.2.9", "resolvable": true, "cost": 0.0, "attributeSets": 4.0},
			map[string]any{"address": "192.0.2.10", "resolvable": false, "cost": 0.0, "attributeSets": 2.0},
			map[string]any{"address": "2001:db8::1", "resolvable": true, "cost": 5.0, "attributeSets": 1.0},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/fib (-want +got):\n%s", diff)
	}
}

// TestClientFIB runs the Client's FIB against the sample backend, and
// against one that is not ready.
func TestClientFIB(t *testing.T) {
	checkLeaks(t)
	b := apitest.Sample()
	srv := apitest.Serve(t, b)
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	all, err := c.FIB(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	want := b.FIBInfo
	want.NextHops = []api.TrackedNextHop{want.NextHops[3], want.NextHops[1], want.NextHops[2], want.NextHops[0]}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("FIB(all) (-want +got):\n%s", diff)
	}
	diffs, err := c.FIB(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range diffs.Routes {
		states = append(states, r.Prefix+" "+string(r.State))
	}
	if diff := cmp.Diff([]string{"10.2.3.0/24 replace", "10.8.0.0/24 held", "192.0.2.0/24 add"}, states); diff != "" {
		t.Errorf("FIB(differences) (-want +got):\n%s", diff)
	}
	if diffs.Desired != 4 || len(diffs.NextHops) != 4 {
		t.Errorf("FIB(differences) lost the counts or the next hops: %+v", diffs)
	}
	sock := srv.Addr().Address
	for target, same := range map[string]string{"/v1/fib?all": "/v1/fib?all=true", "/v1/fib?all=false": "/v1/fib"} {
		if got, want := rawDo(t, sock, "GET", target, ""), rawDo(t, sock, "GET", same, ""); got.status != 200 || !bytes.Equal(got.body, want.body) {
			t.Errorf("GET %s = %d %s\nwant the answer of %s:\n%s", target, got.status, got.body, same, want.body)
		}
	}

	none, err := api.NewClient(apitest.Serve(t, &apitest.Backend{}).Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	f, err := none.FIB(ctx, false)
	if err != nil || f.Routes == nil || f.NextHops == nil || len(f.Routes)+len(f.NextHops) != 0 {
		t.Errorf("FIB with nothing = %#v, %v; want empty slices", f, err)
	}

	starting := &apitest.Backend{Err: api.Unavailable("godwitd is starting: the kernel routing table is not open yet", "try again in a moment")}
	sc, err := api.NewClient(apitest.Serve(t, starting).Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	_, err = sc.FIB(ctx, true)
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable ||
		err.Error() != "godwitd is starting: the kernel routing table is not open yet; try again in a moment" {
		t.Errorf("FIB before the kernel is open: %v", err)
	}
}

// TestClientAnnouncements runs the Client's announcement methods against
// the sample backend.
func TestClientAnnouncements(t *testing.T) {
	checkLeaks(t)
	srv := apitest.Serve(t, apitest.Sample())
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	prefixes := func() []string {
		t.Helper()
		as, err := c.Announcements(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Prefix)
		}
		return out
	}
	if diff := cmp.Diff([]string{"172.31.254.0/26", "198.51.100.7/32", "2001:db8:42::/64"}, prefixes()); diff != "" {
		t.Errorf("announcements not sorted by prefix (-want +got):\n%s", diff)
	}

	lp := uint32(300)
	req := api.AnnouncementRequest{Prefix: "10.9.0.0/24", Communities: []string{"65010:9", "blackhole"}, LocalPreference: &lp}
	a, created, err := c.AddAnnouncement(ctx, req)
	want := api.Announcement{Prefix: "10.9.0.0/24", Announcement: "api:10.9.0.0/24", Runtime: true,
		Communities: []string{"65010:9", "65535:666"}, LocalPreference: &lp}
	if err != nil || !created {
		t.Fatalf("AddAnnouncement: created %v, %v", created, err)
	}
	if diff := cmp.Diff(want, a, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("AddAnnouncement (-want +got):\n%s", diff)
	}
	if _, created, err := c.AddAnnouncement(ctx, req); err != nil || created {
		t.Errorf("adding it again: created %v, %v; want a replacement", created, err)
	}
	if diff := cmp.Diff([]string{"10.9.0.0/24", "172.31.254.0/26", "198.51.100.7/32", "2001:db8:42::/64"}, prefixes()); diff != "" {
		t.Errorf("after the add (-want +got):\n%s", diff)
	}

	var e *api.Error
	_, _, err = c.AddAnnouncement(ctx, api.AnnouncementRequest{Prefix: "10.9.0.1/24"})
	if !errors.As(err, &e) || e.Status != 400 || err.Error() != "prefix 10.9.0.1/24 has host bits set; did you mean 10.9.0.0/24?" {
		t.Errorf("host bits: %v", err)
	}
	_, _, err = c.AddAnnouncement(ctx, api.AnnouncementRequest{Prefix: "10.9.0.0/24", Communities: []string{"no-such"}})
	if !errors.As(err, &e) || e.Status != 400 || e.Message != `bad community "no-such"` {
		t.Errorf("bad community: %v", err)
	}

	d, err := c.DeleteAnnouncement(ctx, netip.MustParsePrefix("10.9.0.0/24"))
	if err != nil || d != (api.AnnouncementDeleted{Prefix: "10.9.0.0/24", Announcement: "api:10.9.0.0/24"}) {
		t.Errorf("DeleteAnnouncement = %+v, %v", d, err)
	}
	_, err = c.DeleteAnnouncement(ctx, netip.MustParsePrefix("10.9.0.0/24"))
	if !api.IsNotFound(err) || !strings.HasPrefix(err.Error(), "no runtime announcement of 10.9.0.0/24; ") {
		t.Errorf("second delete: %v", err)
	}
	_, err = c.DeleteAnnouncement(ctx, netip.MustParsePrefix("172.31.254.0/26"))
	if !api.IsNotFound(err) || !strings.Contains(err.Error(), `configured Announcement "pod-cidr"`) {
		t.Errorf("delete of a configured announcement: %v", err)
	}
}

// TestMethodNotAllowed checks the Allow header lists every method a path
// takes.
func TestMethodNotAllowed(t *testing.T) {
	checkLeaks(t)
	srv := apitest.Serve(t, apitest.Sample())
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", srv.Addr().Address)
	}}}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]string{"/v1/announcements": "GET, POST, DELETE", "/v1/status": "GET", "/v1/fib": "GET"} {
		req, _ := http.NewRequest(http.MethodPut, "http://godwitd"+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != want {
			t.Errorf("PUT %s: %d, Allow %q; want 405, Allow %q", path, resp.StatusCode, resp.Header.Get("Allow"), want)
		}
	}
}

// TestClient runs every Client method against the sample backend.
func TestClient(t *testing.T) {
	checkLeaks(t)
	b := apitest.Sample()
	srv := apitest.Serve(t, b)
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	v, err := c.Version(ctx)
	if err != nil || v.Version != version.String() || v.API != "v1" {
		t.Errorf("Version = %+v, %v", v, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.ASNumber != 65010 || st.RouterID != "10.0.1.10" {
		t.Errorf("Status = %+v, %v", st, err)
	}
	ns, err := c.Neighbors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, n := range ns {
		addrs = append(addrs, n.Address)
	}
	if diff := cmp.Diff([]string{"10.0.1.2", "10.0.1.11", "10.0.1.12", "10.0.1.13", "2001:db8::2"}, addrs); diff != "" {
		t.Errorf("neighbours not sorted by address (-want +got):\n%s", diff)
	}
	d, err := c.Neighbor(ctx, netip.MustParseAddr("10.0.1.2"))
	if err != nil || d.RouterID != "10.0.0.1" || d.LastNotificationReceived.Message != "maintenance window" {
		t.Errorf("Neighbor = %+v, %v", d, err)
	}
	_, err = c.Neighbor(ctx, netip.MustParseAddr("192.0.2.9"))
	if !api.IsNotFound(err) || err.Error() != "no such neighbor 192.0.2.9; `godwit neighbors` lists the configured ones" {
		t.Errorf("unknown neighbour: %v", err)
	}
	res, err := c.NeighborActionResult(ctx, netip.MustParseAddr("10.0.1.2"), api.ActionReset, "new firmware")
	if err != nil || res != (api.ActionResult{Address: "10.0.1.2", Action: api.ActionReset, Message: "new firmware"}) {
		t.Errorf("NeighborAction = %+v, %v", res, err)
	}
	cs, err := c.ConfigStatus(ctx)
	if err != nil || cs.Generation != 3 || len(cs.Resources) != 3 {
		t.Errorf("ConfigStatus = %+v, %v", cs, err)
	}

	pt, err := c.TestPolicy(ctx, "from-router", netip.MustParsePrefix("10.2.0.0/16"), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.PolicyTests["from-router"][:1], pt, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("TestPolicy (-want +got):\n%s", diff)
	}
	pt, err = c.TestPolicy(ctx, "from-router", netip.MustParsePrefix("10.2.0.0/16"), netip.MustParseAddr("10.0.1.11"))
	if err != nil || len(pt) != 1 || pt[0].Path.Peer != "10.0.1.11" || pt[0].Statement != "rest" {
		t.Errorf("TestPolicy with a peer = %+v, %v", pt, err)
	}
	pt, err = c.TestPolicy(ctx, "from-router", netip.MustParsePrefix("203.0.113.0/24"), netip.Addr{})
	if err != nil || pt == nil || len(pt) != 0 {
		t.Errorf("TestPolicy without a path = %#v, %v; want an empty slice", pt, err)
	}
	_, err = c.TestPolicy(ctx, "nope", netip.MustParsePrefix("10.2.0.0/16"), netip.Addr{})
	if !api.IsNotFound(err) || err.Error() != `no such RoutePolicy "nope"; the RoutePolicy resources of the configuration name the policies` {
		t.Errorf("unknown policy: %v", err)
	}
	_, err = c.TestPolicy(ctx, "from-router", netip.MustParsePrefix("10.2.0.0/16"), netip.MustParseAddr("192.0.2.9"))
	if !api.IsNotFound(err) {
		t.Errorf("unknown neighbour: %v", err)
	}

	var got []api.Route
	err = c.Routes(ctx, api.RouteQuery{Prefix: "10.2.0.0/16"}, func(r api.Route) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.RouteList[:2], got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Routes (-want +got):\n%s", diff)
	}
	if q := b.RouteQueries(); q[len(q)-1].Family != "ipv4-unicast" {
		t.Errorf("the server did not infer the family: %+v", q[len(q)-1])
	}

	err = c.Routes(ctx, api.RouteQuery{VRF: "red"}, func(api.Route) error { return nil })
	var e *api.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Message != "no such VRF red" {
		t.Errorf("unknown VRF: %v", err)
	}
}

// TestStreamErrorAfterStart checks that a Backend failing mid-stream
// reaches the client as an *Error after the paths sent so far.
func TestStreamErrorAfterStart(t *testing.T) {
	checkLeaks(t)
	b := &apitest.Backend{RoutesFunc: func(ctx context.Context, q api.RouteQuery, emit func(api.Route) error) error {
		for i := range 2 {
			if err := emit(api.Route{Prefix: fmt.Sprintf("10.%d.0.0/16", i)}); err != nil {
				return err
			}
		}
		return api.Unavailable("the table is being rebuilt", "try again in a moment")
	}}
	srv := apitest.Serve(t, b)
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	err = c.Routes(context.Background(), api.RouteQuery{}, func(api.Route) error { n++; return nil })
	if n != 2 || err == nil || err.Error() != "the table is being rebuilt; try again in a moment" {
		t.Errorf("got %d routes and %v", n, err)
	}
	raw := rawDo(t, srv.Addr().Address, "GET", "/v1/routes", "")
	lines := strings.Split(strings.TrimSpace(string(raw.body)), "\n")
	if raw.status != 200 || len(lines) != 3 || lines[2] != `{"error":"the table is being rebuilt","hint":"try again in a moment"}` {
		t.Errorf("raw stream: %d %q", raw.status, raw.body)
	}
}

// TestConcurrentClients runs requests from several goroutines at once.
func TestConcurrentClients(t *testing.T) {
	checkLeaks(t)
	srv := apitest.Serve(t, apitest.Sample())
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if _, err := c.Neighbors(context.Background()); err != nil {
					errs <- err
					return
				}
				if err := c.Routes(context.Background(), api.RouteQuery{}, func(api.Route) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
