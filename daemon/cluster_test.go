package daemon

// Cluster mode: three speakers share one configuration and derive their
// sessions, pod blocks and LoadBalancer announcements from it.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/fib/fake"
	"github.com/godwit-bgp/godwit/peer"
)

const clusterYAML = `apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMesh: true, serviceClusterIPs: [10.96.0.0/12], listenAddresses: ["0.0.0.0:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.244.0.0/16, blockSize: 26, use: pods}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: IPPool
metadata: {name: lb}
spec: {cidr: 10.96.100.0/28, use: loadBalancer}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: LoadBalancer
metadata: {name: web}
spec: {pool: lb, nodeSelector: "lb == 'yes'"}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Node
metadata: {name: n1}
spec: {address: {{A1}}, labels: {rack: a}}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Node
metadata: {name: n2}
spec: {address: {{A2}}, labels: {rack: a, lb: "yes"}}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Node
metadata: {name: n3}
spec: {address: {{A3}}, labels: {rack: b, lb: "yes"}}
`

func TestClusterMeshBlocksAndLoadBalancer(t *testing.T) {
	l := newLab(t)
	state := filepath.Join(t.TempDir(), "var-lib-godwit", "cluster-state.json") // a directory that does not exist yet
	kernels := map[string]*fake.Kernel{}
	var sp []*speaker
	for _, n := range []string{"n1", "n2", "n3"} {
		kernels[n] = fake.NewReachable()
		node := n
		// Each speaker listens on its own Node address (the shared file
		// listens on every address; in one process they would collide).
		yaml := strings.Replace(clusterYAML, `["0.0.0.0:{{PORT}}"]`, fmt.Sprintf(`["{{A%c}}:{{PORT}}"]`, n[1]), 1)
		sp = append(sp, l.startOpts(n, yaml, kernels[n], func(o *Options) { o.Node, o.ClusterState = node, state }))
	}
	for i, s := range sp {
		for j := range sp {
			if i != j {
				s.waitState(l.ip(j+1), peer.Established)
			}
		}
	}
	ns := sp[0].d.Neighbors()
	if len(ns) != 2 || ns[0].PeerType != "node-to-node mesh" || ns[0].PeerAS != 64512 {
		t.Errorf("n1's neighbours: %+v", ns)
	}
	// Each node announces one /26 of the pool; n1 learns the others'.
	var blocks []string
	for _, s := range sp {
		for _, a := range s.d.Announcements() {
			if a.Announcement == "cluster:pod-blocks" {
				blocks = append(blocks, a.Prefix.String())
			}
		}
	}
	if len(blocks) != 3 || blocks[0] == blocks[1] || blocks[1] == blocks[2] || blocks[0] == blocks[2] {
		t.Fatalf("pod blocks: %v, want three distinct", blocks)
	}
	for _, b := range blocks[1:] {
		sp[0].waitRoute(b, "another node's block", func(rs []Route) bool { return len(rs) == 1 })
	}
	// The node's own block is a blackhole in its kernel.
	eventually(t, 20*time.Second, func() (bool, string) {
		txt := kernels["n1"].Text(fib.DefaultProtocol)
		return strings.Contains(txt, "blackhole "+blocks[0]), "n1's kernel:\n" + txt
	})
	// The service range: every node announces it.
	sp[0].waitRoute("10.96.0.0/12", "from n2 and n3 (n1's own is local)", func(rs []Route) bool { return len(rs) == 3 })
	// The LoadBalancer address: announced by n2 and n3, so n1 has two paths.
	lb := "10.96.100.0/32"
	sp[0].waitRoute(lb, "from n2 and n3", func(rs []Route) bool { return len(rs) == 2 })
	// n3 stops serving it: withdrawn at once.
	nolb := strings.Replace(clusterYAML, `{rack: b, lb: "yes"}`, `{rack: b}`, 1)
	if err := sp[2].reload(l, strings.Replace(nolb, `["0.0.0.0:{{PORT}}"]`, `["{{A3}}:{{PORT}}"]`, 1)); err != nil {
		t.Fatal(err)
	}
	rs := sp[0].waitRoute(lb, "from n2 only", func(rs []Route) bool { return len(rs) == 1 })
	if rs[0].Peer != l.ip(2) {
		t.Errorf("the LoadBalancer path left is from %s, want n2 (%s)", rs[0].Peer, l.ip(2))
	}
}
