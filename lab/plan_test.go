package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The plan of the embedded configuration, which the lab's output, the
// README and the acceptance test describe.
func TestPlanOfDefaultConfig(t *testing.T) {
	o := &New(Options{Prefix: "gwx", StateDir: "/run/gwx"}).o
	rs, err := o.resources()
	if err != nil {
		t.Fatalf("the embedded configuration does not parse: %v", err)
	}
	p, err := planFor(o, rs, filepath.Join(t.TempDir(), clusterFile))
	if err != nil {
		t.Fatal(err)
	}
	type nodeRow struct {
		Name, Namespace, Segment, Address, Gateway, Block, Bridge string
		AS                                                        uint32
		Pods                                                      []string
		Serves                                                    []string
	}
	var got []nodeRow
	for _, n := range p.Nodes {
		r := nodeRow{Name: n.Name, Namespace: n.Namespace, Segment: n.Segment, Address: n.Address.String(), Gateway: n.Gateway.String(),
			Block: n.Block.String(), Bridge: n.Bridge.String(), AS: n.AS, Serves: n.Serves}
		for _, pod := range n.Pods {
			r.Pods = append(r.Pods, fmt.Sprintf("%s %s %s via %s", pod.Name, pod.Namespace, pod.Address, pod.Gateway))
		}
		got = append(got, r)
	}
	want := []nodeRow{
		{"node1", "gwx-node1", "rack-a", "10.0.1.11/24", "10.0.1.1", "10.244.0.0/26", "10.244.0.1/26", 65001,
			[]string{"node1-pod1 gwx-node1-pod1 10.244.0.2/26 via 10.244.0.1", "node1-pod2 gwx-node1-pod2 10.244.0.3/26 via 10.244.0.1"}, []string{}},
		{"node2", "gwx-node2", "rack-a", "10.0.1.12/24", "10.0.1.1", "10.244.0.64/26", "10.244.0.65/26", 65002,
			[]string{"node2-pod1 gwx-node2-pod1 10.244.0.66/26 via 10.244.0.65", "node2-pod2 gwx-node2-pod2 10.244.0.67/26 via 10.244.0.65"}, []string{"web"}},
		{"node3", "gwx-node3", "rack-b", "10.0.2.13/24", "10.0.2.1", "10.244.0.128/26", "10.244.0.129/26", 65003,
			[]string{"node3-pod1 gwx-node3-pod1 10.244.0.130/26 via 10.244.0.129", "node3-pod2 gwx-node3-pod2 10.244.0.131/26 via 10.244.0.129"}, []string{"web"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	wantRouter := Router{Name: "tor", Namespace: "gwx-tor", AS: 65100, RouterID: netip.MustParseAddr("10.0.1.1"), Neighbors: []Neighbor{
		{"node1", netip.MustParseAddr("10.0.1.11"), 65001, 9},
		{"node2", netip.MustParseAddr("10.0.1.12"), 65002, 9},
		{"node3", netip.MustParseAddr("10.0.2.13"), 65003, 9},
	}}
	if d := cmp.Diff(wantRouter, p.Router, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("router (-want +got):\n%s", d)
	}
	wantSegs := []Segment{
		{"rack-a", netip.MustParsePrefix("10.0.1.1/24"), []string{"node1", "node2"}},
		{"rack-b", netip.MustParsePrefix("10.0.2.1/24"), []string{"node3"}},
	}
	if d := cmp.Diff(wantSegs, p.Segments, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("segments (-want +got):\n%s", d)
	}
	wantLBs := []LoadBalancer{{"web", netip.MustParseAddr("10.96.100.0"), netip.MustParsePrefix("10.96.100.0/32"), []string{"node2", "node3"}}}
	if d := cmp.Diff(wantLBs, p.LoadBalancers, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("LoadBalancers (-want +got):\n%s", d)
	}
	if got, want := strings.Join(p.Namespaces(), " "), "gwx-tor gwx-node1 gwx-node1-pod1 gwx-node1-pod2 gwx-node2 gwx-node2-pod1 gwx-node2-pod2 gwx-node3 gwx-node3-pod1 gwx-node3-pod2"; got != want {
		t.Errorf("namespaces:\n got %s\nwant %s", got, want)
	}
}

// The plan is stable: godwitd, reading the same allocation file, finds the
// blocks the lab planned with, and a second plan (lab status, lab up on a
// running lab) is the first.
func TestPlanIsStable(t *testing.T) {
	o := &New(Options{}).o
	rs, err := o.resources()
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), clusterFile)
	a, err := planFor(o, rs, state)
	if err != nil {
		t.Fatal(err)
	}
	b, err := planFor(o, rs, state)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, b, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("second plan differs (-first +second):\n%s", d)
	}
}

// Configurations the lab cannot build say why.
func TestPlanErrors(t *testing.T) {
	const head = `apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65000}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.244.0.0/16}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Node
metadata: {name: node1}
spec: {address: 10.0.1.11, asNumber: 65001}
`
	peer := func(name, addr string, as int) string {
		return fmt.Sprintf("---\napiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer\nmetadata: {name: %s}\nspec: {peerAddress: %s, peerASN: %d}\n", name, addr, as)
	}
	for _, tc := range []struct {
		name, config, want string
	}{
		{"no router", head, "no BGPPeer outside the cluster"},
		{"two routers", head + peer("a", "10.0.1.1", 65100) + peer("b", "10.0.1.2", 65100), "two peers outside the cluster"},
		{"router elsewhere", head + peer("a", "10.0.9.1", 65100), "not in one /24"},
		{"no nodes", "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 65000, routerID: 10.0.0.1}\n", "no Node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &New(Options{Config: []byte(tc.config)}).o
			rs, err := o.resources()
			if err != nil {
				t.Fatalf("configuration: %v", err)
			}
			_, err = planFor(o, rs, filepath.Join(t.TempDir(), clusterFile))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Every pod sends and receives a ping, across nodes and racks, and each
// LoadBalancer is pinged from the router and from a pod of a node that
// does not serve it; the lines have the contract's form.
func TestPings(t *testing.T) {
	o := &New(Options{}).o
	rs, err := o.resources()
	if err != nil {
		t.Fatal(err)
	}
	p, err := planFor(o, rs, filepath.Join(t.TempDir(), clusterFile))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range pingPlan(p, handles{}) {
		got = append(got, Ping{From: j.from, FromAddress: j.fromAddr, To: j.to, ToAddress: j.toAddr.String(), OK: true}.Line())
	}
	want := []string{
		"ping node1-pod1 (10.244.0.2) -> node2-pod1 (10.244.0.66): ok",
		"ping node1-pod2 (10.244.0.3) -> node3-pod2 (10.244.0.131): ok",
		"ping node2-pod1 (10.244.0.66) -> node3-pod1 (10.244.0.130): ok",
		"ping node2-pod2 (10.244.0.67) -> node1-pod2 (10.244.0.3): ok",
		"ping node3-pod1 (10.244.0.130) -> node1-pod1 (10.244.0.2): ok",
		"ping node3-pod2 (10.244.0.131) -> node2-pod2 (10.244.0.67): ok",
		"ping tor -> web (10.96.100.0): ok",
		"ping node1-pod1 (10.244.0.2) -> web (10.96.100.0): ok",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pings (-want +got):\n%s", d)
	}
	failed := Ping{From: "tor", To: "web", ToAddress: "10.96.100.0", Detail: "1 packets transmitted, 0 received, 100% packet loss (5 attempts)"}
	if got, want := failed.Line(), "ping tor -> web (10.96.100.0): FAIL 1 packets transmitted, 0 received, 100% packet loss (5 attempts)"; got != want {
		t.Errorf("failed ping:\n got %s\nwant %s", got, want)
	}
}

func TestFindGodwitd(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "godwit")
	t.Setenv("PATH", t.TempDir())
	if _, err := FindGodwitd(self); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("without godwitd: error %v, want one saying to build it", err)
	}
	writeExec(t, filepath.Join(dir, "godwitd"))
	if got, err := FindGodwitd(self); err != nil || got != filepath.Join(dir, "godwitd") {
		t.Errorf("next to godwit: %q, %v", got, err)
	}
	other := t.TempDir()
	writeExec(t, filepath.Join(other, "godwitd"))
	t.Setenv("PATH", other)
	if got, err := FindGodwitd(filepath.Join(t.TempDir(), "godwit")); err != nil || got != filepath.Join(other, "godwitd") {
		t.Errorf("on PATH: %q, %v", got, err)
	}
}
