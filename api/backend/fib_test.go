package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/google/go-cmp/cmp"
)

// nextHopTo is an import policy of A that sends B's routes through
// 198.18.0.5, an address on the connected network of eth0 in A's kernel
// (fake.NewReachable), so that they become kernel routes; B's own next
// hop is on the loopback, which makes none.
const nextHopTo = `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: via-eth0}
spec:
  statements:
  - name: all
    actions: {set: {nextHop: 198.18.0.5}, result: accept}
`

// The kernel FIB of a running daemon: nothing to install while B's next
// hop is on the loopback; both of B's routes installed as desired once an
// import policy gives them a gateway on eth0; the differences-only listing
// then empty; the JSON's names and types.
func TestFIB(t *testing.T) {
	p := setup(t)
	ctx := t.Context()
	var f api.FIB
	eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		f, err = p.client.FIB(ctx, true)
		return err == nil && f.Converged, fmt.Sprintf("FIB %+v, %v; want converged", f, err)
	})
	if f.Protocol != 200 || f.DryRun || f.Holding || f.Desired != 0 || f.Installed != 0 || len(f.Routes) != 0 || f.LastError != "" {
		t.Errorf("FIB at the start: %+v", f)
	}
	b := api.TrackedNextHop{Address: p.a2.String(), Resolvable: true, Cost: 0, AttributeSets: 1}
	if diff := cmp.Diff([]api.TrackedNextHop{b}, f.NextHops); diff != "" {
		t.Errorf("next hops at the start (-want +got):\n%s", diff)
	}

	yaml, err := os.ReadFile(p.pathA)
	if err != nil {
		t.Fatal(err)
	}
	attached := strings.Replace(string(yaml), `description: the b side,`, `description: the b side, importPolicy: via-eth0,`, 1)
	if attached == string(yaml) {
		t.Fatal("cannot attach the policy: the peer's spec changed")
	}
	if err := os.WriteFile(p.pathA, []byte(attached+nextHopTo), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		f, err = p.client.FIB(ctx, true)
		return err == nil && f.Installed == 2 && f.Pending == 0 && len(f.Routes) == 2,
			fmt.Sprintf("FIB %+v, %v; want 2 routes installed", f, err)
	})
	// The fake kernel's eth0 is index 1; the name is this host's.
	eth0 := interfaceNames(net.InterfaceByIndex)(1)
	route := &api.KernelRoute{Metric: fib.DefaultMetric,
		NextHops: []api.KernelNextHop{{Gateway: "198.18.0.5", Interface: eth0, Weight: 1}}}
	want := []api.FIBRoute{
		{Prefix: "10.2.0.0/16", Table: fib.MainTable, State: api.FIBOK, Desired: route, Installed: route},
		{Prefix: "10.2.3.0/24", Table: fib.MainTable, State: api.FIBOK, Desired: route, Installed: route},
	}
	if diff := cmp.Diff(want, f.Routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if f.Desired != 2 || f.Added != 2 || f.Failed != 0 || f.LastSync.IsZero() {
		t.Errorf("counts after the install: %+v", f)
	}
	gw := api.TrackedNextHop{Address: "198.18.0.5", Resolvable: true, AttributeSets: 2}
	if len(f.NextHops) != 1 || f.NextHops[0].Address != gw.Address || !f.NextHops[0].Resolvable || f.NextHops[0].AttributeSets == 0 {
		t.Errorf("next hops after the policy: %+v, want %+v", f.NextHops, gw)
	}

	t.Logf("DEBUG %+v", f.NextHops)
	diffs, err := p.client.FIB(ctx, false)
	if err != nil || len(diffs.Routes) != 0 || diffs.Installed != 2 {
		t.Errorf("differences when in sync: %+v, %v", diffs, err)
	}

	var obj map[string]any
	if err := json.Unmarshal(p.get(t, "/v1/fib?all=true"), &obj); err != nil {
		t.Fatal(err)
	}
	checkTypes(t, "fib", obj, map[string]string{"protocol": "number", "dryRun": "bool", "converged": "bool",
		"adopted": "number", "holding": "bool", "desired": "number", "installed": "number", "held": "number",
		"pending": "number", "failed": "number", "added": "number", "replaced": "number", "deleted": "number",
		"lastSync": "string", "routes": "array", "nextHops": "array"})
	r := obj["routes"].([]any)[0].(map[string]any)
	checkTypes(t, "fib route", r, map[string]string{"prefix": "string", "table": "number", "state": "string",
		"desired": "object", "installed": "object"})
	checkTypes(t, "kernel route", r["desired"].(map[string]any), map[string]string{"nextHops": "array", "metric": "number", "blackhole": "bool"})
	checkTypes(t, "kernel next hop", r["desired"].(map[string]any)["nextHops"].([]any)[0].(map[string]any),
		map[string]string{"gateway": "string", "interface": "string", "weight": "number"})
	checkTypes(t, "tracked next hop", obj["nextHops"].([]any)[0].(map[string]any),
		map[string]string{"address": "string", "resolvable": "bool", "cost": "number", "attributeSets": "number"})

	status, body := p.getStatus(t, "/v1/fib?everything=1")
	if want := `{"error":"unknown parameter \"everything\"","hint":"the only parameter is all"}`; status != http.StatusBadRequest || strings.TrimSpace(string(body)) != want {
		t.Errorf("unknown parameter: %d %s, want 400 %s", status, body, want)
	}
}

// Before Run has opened the kernel, the FIB is unavailable for a moment.
func TestFIBNotReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 65001, routerID: 10.0.0.1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Options{ConfigPath: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(d).FIB(t.Context(), true)
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Hint != "try again in a moment" ||
		!strings.Contains(e.Message, "kernel routing table is not open yet") {
		t.Errorf("FIB before Run: %v", err)
	}
}

// fibState converts every kind of key: in sync, add (with its error),
// replace of an ECMP route, delete of a stale blackhole, a held route
// through a directly connected interface; interfaces named once per index
// ("#N" for an unknown one), weight 0 as 1, the later last error, and a
// next hop both tables track listed once.
func TestFIBState(t *testing.T) {
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	one := func(gw string, ifindex int) *fib.Route {
		return &fib.Route{Table: 254, Metric: 20, NextHops: []fib.NextHop{{Addr: addr(gw), Ifindex: ifindex}}}
	}
	ecmp := &fib.Route{Table: 254, Metric: 20, NextHops: []fib.NextHop{{Addr: addr("192.0.2.1"), Ifindex: 2, Weight: 1}, {Addr: addr("192.0.2.2"), Ifindex: 3, Weight: 3}}}
	f := daemon.FIB{
		Status: fib.Status{Protocol: 201, DryRun: true, Holding: true, Listed: true, Desired: 3, Installed: 4, Held: 1, Pending: 3, Failed: 1,
			Added: 7, Replaced: 2, Deleted: 1, LastSync: at, LastError: errors.New("older"), LastErrorAt: at.Add(-time.Minute)},
		Entries: []fib.DiffEntry{
			{Key: fib.Key{Table: 254, Prefix: pfx("10.0.0.0/24")}, Desired: one("192.0.2.1", 2), Installed: one("192.0.2.1", 2)},
			{Key: fib.Key{Table: 254, Prefix: pfx("10.0.1.0/24")}, Desired: one("192.0.2.1", 0), Action: fib.OpAdd, Err: errors.New("route exists")},
			{Key: fib.Key{Table: 254, Prefix: pfx("10.0.2.0/24")}, Desired: ecmp, Installed: one("192.0.2.1", 2), Action: fib.OpReplace},
			{Key: fib.Key{Table: 254, Prefix: pfx("10.0.3.0/24")}, Installed: &fib.Route{Table: 254, Metric: 20, Blackhole: true}, Action: fib.OpDelete},
			{Key: fib.Key{Table: 100, Prefix: pfx("2001:db8::/32")}, Installed: &fib.Route{Table: 100, Metric: 1024, NextHops: []fib.NextHop{{Ifindex: 77}}}, Held: true},
		},
		NextHops: []rib.NextHop{
			{Addr: addr("2001:db8::1"), Resolvable: true, Cost: 10, Sets: 2},
			{Addr: addr("192.0.2.9"), Sets: 1},
			{Addr: addr("2001:db8::1"), Resolvable: true, Cost: 10, Sets: 3},
		},
		Converged: false, Adopted: 5,
		LastError: errors.New("add 10.0.1.0/24 table 254: route exists"), LastErrAt: at.Add(-time.Second),
	}
	lookups := map[int]int{}
	names := interfaceNames(func(i int) (*net.Interface, error) {
		lookups[i]++
		if n, ok := map[int]string{2: "eth0", 3: "eth1"}[i]; ok {
			return &net.Interface{Index: i, Name: n}, nil
		}
		return nil, errors.New("no such network interface")
	})
	got := fibState(&f, names)

	via := func(metric int, hops ...api.KernelNextHop) *api.KernelRoute {
		if hops == nil {
			hops = []api.KernelNextHop{}
		}
		return &api.KernelRoute{Metric: metric, NextHops: hops}
	}
	eth0 := api.KernelNextHop{Gateway: "192.0.2.1", Interface: "eth0", Weight: 1}
	want := api.FIB{
		Protocol: 201, DryRun: true, Adopted: 5, Holding: true, Desired: 3, Installed: 4, Held: 1, Pending: 3, Failed: 1,
		Added: 7, Replaced: 2, Deleted: 1, LastSync: at,
		LastError: "add 10.0.1.0/24 table 254: route exists", LastErrorAt: at.Add(-time.Second),
		Routes: []api.FIBRoute{
			{Prefix: "10.0.0.0/24", Table: 254, State: api.FIBOK, Desired: via(20, eth0), Installed: via(20, eth0)},
			{Prefix: "10.0.1.0/24", Table: 254, State: api.FIBAdd, Desired: via(20, api.KernelNextHop{Gateway: "192.0.2.1", Weight: 1}), Error: "route exists"},
			{Prefix: "10.0.2.0/24", Table: 254, State: api.FIBReplace,
				Desired:   via(20, eth0, api.KernelNextHop{Gateway: "192.0.2.2", Interface: "eth1", Weight: 3}),
				Installed: via(20, eth0)},
			{Prefix: "10.0.3.0/24", Table: 254, State: api.FIBDelete, Installed: &api.KernelRoute{Metric: 20, Blackhole: true, NextHops: []api.KernelNextHop{}}},
			{Prefix: "2001:db8::/32", Table: 100, State: api.FIBHeld, Installed: via(1024, api.KernelNextHop{Interface: "#77", Weight: 1})},
		},
		NextHops: []api.TrackedNextHop{
			{Address: "2001:db8::1", Resolvable: true, Cost: 10, AttributeSets: 5},
			{Address: "192.0.2.9", AttributeSets: 1},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fibState (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]int{2: 1, 3: 1, 77: 1}, lookups); diff != "" {
		t.Errorf("interface lookups per index (-want +got):\n%s", diff)
	}

	// The reconciler's error when it is the later one; none at all.
	f.Status.LastErrorAt = at
	if got := fibState(&f, names); got.LastError != "older" || !got.LastErrorAt.Equal(at) {
		t.Errorf("later reconciler error: %q at %v", got.LastError, got.LastErrorAt)
	}
	f.Status.LastError, f.LastError = nil, nil
	if got := fibState(&f, names); got.LastError != "" || !got.LastErrorAt.IsZero() {
		t.Errorf("no error: %q at %v", got.LastError, got.LastErrorAt)
	}
}
