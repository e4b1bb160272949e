package cluster

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/google/go-cmp/cmp"
)

const (
	meshOn  = "BGPConfiguration default {asNumber: 65000, routerID: 10.0.0.1, nodeToNodeMesh: true}"
	meshOff = "BGPConfiguration default {asNumber: 65000, routerID: 10.0.0.1}"
	n1      = "Node n1 {address: 10.0.0.1, labels: {rack: a}}"
	n2      = "Node n2 {address: 10.0.0.2, labels: {rack: a}}"
	n3      = "Node n3 {address: 10.0.1.3, labels: {rack: b}}"
	rr1     = "Node rr1 {address: 10.0.0.11, labels: {route-reflector: 'true'}, routeReflectorClusterID: 244.0.0.1}"
	rr2     = "Node rr2 {address: 10.0.0.12, labels: {route-reflector: 'true'}, routeReflectorClusterID: 244.0.0.1}"
	toRR    = "BGPPeer to-rr {nodeSelector: all(), peerSelector: has(route-reflector)}"
)

func TestTopology(t *testing.T) {
	tests := []struct {
		name      string
		resources []string
		node      string
		want      string
	}{
		{
			name:      "mesh peers every other node, the lower address waiting",
			resources: []string{meshOn, n1, n2, n3},
			node:      "n2",
			want: `10.0.0.1 AS65000 n1 from 10.0.0.2 AS65000: node-to-node mesh
10.0.1.3 AS65000 n3 from 10.0.0.2 AS65000: node-to-node mesh, passive`,
		},
		{
			name:      "no mesh and no BGPPeer: no peerings",
			resources: []string{meshOff, n1, n2, n3},
			node:      "n1",
			want:      ``,
		},
		{
			name:      "mesh between nodes of different AS is eBGP",
			resources: []string{meshOn, n1, n2, "Node n3 {address: 10.0.1.3, asNumber: 65003}"},
			node:      "n3",
			want: `10.0.0.1 AS65000 n1 from 10.0.1.3 AS65003: node-to-node mesh
10.0.0.2 AS65000 n2 from 10.0.1.3 AS65003: node-to-node mesh`,
		},
		{
			name: "dual-stack mesh peers over each family both nodes have",
			resources: []string{meshOn,
				"Node n1 {address: 10.0.0.1, addresses: ['fd00::1']}",
				"Node n2 {address: 'fd00::2', addresses: [10.0.0.2]}",
				"Node n3 {address: 10.0.1.3}",
				"Node n4 {address: 'fd00::4'}"},
			node: "n1",
			want: `10.0.0.2 AS65000 n2 from 10.0.0.1 AS65000: node-to-node mesh, passive
10.0.1.3 AS65000 n3 from 10.0.0.1 AS65000: node-to-node mesh, passive
fd00::2 AS65000 n2 from fd00::1 AS65000: node-to-node mesh, passive
fd00::4 AS65000 n4 from fd00::1 AS65000: node-to-node mesh, passive`,
		},
		{
			name:      "a client peers with every reflector",
			resources: []string{meshOff, n1, n2, rr1, rr2, toRR},
			node:      "n1",
			want: `10.0.0.11 AS65000 rr1 from 10.0.0.1 AS65000: node specific to-rr, reflector
10.0.0.12 AS65000 rr2 from 10.0.0.1 AS65000: node specific to-rr, reflector`,
		},
		{
			name:      "a reflector peers back with its clients and with its cluster's reflectors as non-clients",
			resources: []string{meshOff, n1, n2, rr1, rr2, toRR},
			node:      "rr1",
			want: `10.0.0.1 AS65000 n1 from 10.0.0.11 AS65000: node specific to-rr, client of cluster 244.0.0.1
10.0.0.2 AS65000 n2 from 10.0.0.11 AS65000: node specific to-rr, client of cluster 244.0.0.1
10.0.0.12 AS65000 rr2 from 10.0.0.11 AS65000: node specific to-rr, reflector`,
		},
		{
			name: "reflectors of different clusters are each other's clients (as in Calico)",
			resources: []string{meshOff, rr1,
				"Node rr3 {address: 10.0.1.13, labels: {route-reflector: 'true'}, routeReflectorClusterID: 244.0.0.2}",
				"BGPPeer rr-mesh {nodeSelector: has(route-reflector), peerSelector: has(route-reflector)}"},
			node: "rr1",
			want: `10.0.1.13 AS65000 rr3 from 10.0.0.11 AS65000: node specific rr-mesh, client of cluster 244.0.0.1, reflector`,
		},
		{
			name:      "with the mesh on, nodes skip reflectors in the mesh",
			resources: []string{meshOn, n1, n2, rr1, toRR},
			node:      "n1",
			want: `10.0.0.2 AS65000 n2 from 10.0.0.1 AS65000: node-to-node mesh, passive
10.0.0.11 AS65000 rr1 from 10.0.0.1 AS65000: node specific to-rr, reflector`,
		},
		{
			name:      "a reflector ignores the mesh",
			resources: []string{meshOn, n1, n2, rr1},
			node:      "rr1",
			want:      ``,
		},
		{
			name:      "a BGPPeer without nodeSelector is global",
			resources: []string{meshOff, n1, n3, "BGPPeer tor {peerAddress: 10.0.0.254, peerASN: 65100}"},
			node:      "n3",
			want:      `10.0.0.254 AS65100 from 10.0.1.3 AS65000: global tor`,
		},
		{
			name: "rack peers apply to the nodes of their rack",
			resources: []string{meshOff, n1, n2, n3,
				"BGPPeer tor-a {peerAddress: 10.0.0.254, peerASN: 65100, nodeSelector: rack == 'a'}",
				"BGPPeer tor-b {peerAddress: 10.0.1.254, peerASN: 65101, nodeSelector: rack == 'b'}"},
			node: "n3",
			want: `10.0.1.254 AS65101 from 10.0.1.3 AS65000: node specific tor-b`,
		},
		{
			name: "an explicit BGPPeer replaces the mesh peering to the same node",
			resources: []string{meshOn, n1, n3,
				"Node n2 {address: 10.0.0.2, labels: {rack: a, special: 'yes'}}",
				"BGPPeer special {peerSelector: has(special), nodeSelector: rack == 'a', passive: true}"},
			node: "n1",
			want: `10.0.0.2 AS65000 n2 from 10.0.0.1 AS65000: node specific special, passive
10.0.1.3 AS65000 n3 from 10.0.0.1 AS65000: node-to-node mesh, passive`,
		},
		{
			name: "the reverse side of an explicit BGPPeer replaces the mesh too, and connects",
			resources: []string{meshOn, n1, n3,
				"Node n2 {address: 10.0.0.2, labels: {rack: a, special: 'yes'}}",
				"BGPPeer special {peerSelector: has(special), nodeSelector: rack == 'a', passive: true}"},
			node: "n2",
			want: `10.0.0.1 AS65000 n1 from 10.0.0.2 AS65000: node specific special
10.0.1.3 AS65000 n3 from 10.0.0.2 AS65000: node-to-node mesh, passive`,
		},
		{
			name: "a global peering wins over a node specific one to the same address",
			resources: []string{meshOff, n1,
				"BGPPeer b-global {peerAddress: 10.0.0.254, peerASN: 65100}",
				"BGPPeer a-rack {peerAddress: 10.0.0.254, peerASN: 65200, nodeSelector: rack == 'a'}"},
			node: "n1",
			want: `10.0.0.254 AS65100 from 10.0.0.1 AS65000: global b-global`,
		},
		{
			name: "of two BGPPeers of one rank to the same address, the first by name wins",
			resources: []string{meshOff, n1, "VRF blue {routeDistinguisher: '65000:1'}",
				"BGPPeer b {peerAddress: 10.0.0.254, peerASN: 65100, nodeSelector: rack == 'a'}",
				"BGPPeer a {peerAddress: 10.0.0.254, peerASN: 65200, nodeSelector: has(rack)}",
				"BGPPeer c {peerAddress: 10.0.0.254, peerASN: 65300, vrf: blue}"},
			node: "n1",
			want: `10.0.0.254 AS65200 from 10.0.0.1 AS65000: node specific a
10.0.0.254 AS65300 vrf blue from 10.0.0.1 AS65000: global c`,
		},
		{
			name:      "a node does not peer with its own address",
			resources: []string{meshOff, n1, n2, "BGPPeer to-n1 {peerAddress: 10.0.0.1, peerASN: 65000}"},
			node:      "n2",
			want:      `10.0.0.1 AS65000 n1 from 10.0.0.2 AS65000: global to-n1`,
		},
		{
			name:      "the node a peerAddress names peers back with every node the BGPPeer applies to",
			resources: []string{meshOff, n1, n2, n3, "BGPPeer to-n1 {peerAddress: 10.0.0.1, peerASN: 65000, nodeSelector: rack == 'a'}"},
			node:      "n1",
			want:      `10.0.0.2 AS65000 n2 from 10.0.0.1 AS65000: node specific to-n1`,
		},
		{
			name:      "localASN is our AS towards the peer, and the peer's AS on the reverse side",
			resources: []string{meshOff, n1, rr1, "BGPPeer to-rr {nodeSelector: '!has(route-reflector)', peerSelector: has(route-reflector), localASN: 65500}"},
			node:      "n1",
			want:      `10.0.0.11 AS65000 rr1 from 10.0.0.1 AS65500: node specific to-rr, reflector`,
		},
		{
			name:      "localASN seen from the reverse side",
			resources: []string{meshOff, n1, rr1, "BGPPeer to-rr {nodeSelector: '!has(route-reflector)', peerSelector: has(route-reflector), localASN: 65500}"},
			node:      "rr1",
			want:      `10.0.0.1 AS65500 n1 from 10.0.0.11 AS65000: node specific to-rr`,
		},
		{
			name:      "routeReflectorClient makes a client of a peer of a node that is no reflector",
			resources: []string{meshOff, n1, "BGPPeer vm {peerAddress: 10.9.0.1, peerASN: 65000, routeReflectorClient: true, localAddress: 10.0.0.100}"},
			node:      "n1",
			want:      `10.9.0.1 AS65000 from 10.0.0.100 AS65000: global vm, client of cluster invalid IP`,
		},
		{
			name:      "a reflector makes clients of its iBGP peers that are no Nodes, not of eBGP ones",
			resources: []string{meshOff, rr1, "BGPPeer vm {peerAddress: 10.9.0.1, peerASN: 65000}", "BGPPeer tor {peerAddress: 10.9.0.2, peerASN: 65100}"},
			node:      "rr1",
			want: `10.9.0.1 AS65000 from 10.0.0.11 AS65000: global vm, client of cluster 244.0.0.1
10.9.0.2 AS65100 from 10.0.0.11 AS65000: global tor`,
		},
		{
			name:      "an explicit peer of a family the node has no address in has no local address",
			resources: []string{meshOff, n1, "BGPPeer v6 {peerAddress: 'fd00::254', peerASN: 65100}"},
			node:      "n1",
			want:      `fd00::254 AS65100 from invalid IP AS65000: global v6`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Topology(parse(t, tt.resources...), tt.node)
			if err != nil {
				t.Fatalf("Topology: %v", err)
			}
			if diff := cmp.Diff(tt.want, render(ps)); diff != "" {
				t.Errorf("peerings of %s (-want +got):\n%s", tt.node, diff)
			}
		})
	}
}

func TestTopologyErrors(t *testing.T) {
	node := func(name string, s *config.NodeSpec) *config.Resource { return config.New(name, s) }
	a := netip.MustParseAddr
	global := config.New("default", &config.BGPConfigurationSpec{ASNumber: 65000, RouterID: a("10.0.0.1"), NodeToNodeMesh: true})
	tests := []struct {
		name    string
		rs      []*config.Resource
		node    string
		want    string // the peerings still returned
		wantErr string
	}{
		{
			name:    "the node is not in the cluster",
			rs:      []*config.Resource{global, node("n1", &config.NodeSpec{Address: a("10.0.0.1")})},
			node:    "n9",
			wantErr: `no Node named "n9"`,
		},
		{
			name:    "the node has no address",
			rs:      []*config.Resource{global, node("n1", &config.NodeSpec{})},
			node:    "n1",
			wantErr: `Node "n1" has no address`,
		},
		{
			name:    "the node has no AS",
			rs:      []*config.Resource{node("n1", &config.NodeSpec{Address: a("10.0.0.1")})},
			node:    "n1",
			wantErr: `Node "n1" has no AS number (set its asNumber, or asNumber in the BGPConfiguration)`,
		},
		{
			name: "another node without address or AS is left out",
			rs: []*config.Resource{
				node("n1", &config.NodeSpec{Address: a("10.0.0.1"), ASNumber: 65001}),
				node("n2", &config.NodeSpec{Address: a("10.0.0.2")}),
				node("n3", &config.NodeSpec{Address: a("10.0.0.3"), ASNumber: 65003}),
				node("n4", &config.NodeSpec{ASNumber: 65004}),
				config.New("all", &config.BGPPeerSpec{PeerSelector: config.MustParseSelector("all()")}),
			},
			node: "n1",
			want: `10.0.0.3 AS65003 n3 from 10.0.0.1 AS65001: global all`,
			wantErr: `Node "n2" has no AS number (set its asNumber, or asNumber in the BGPConfiguration)
Node "n4" has no address`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Topology(tt.rs, tt.node)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error = %v, want %s", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, render(ps)); diff != "" {
				t.Errorf("peerings (-want +got):\n%s", diff)
			}
		})
	}
}

// bigCluster is three racks of 20 nodes; racks a and b each hold two
// reflectors (clusters 244.0.0.1 and 244.0.0.2), rack c is AS 65003.
func bigCluster(mesh bool, extra ...string) []string {
	lines := []string{meshOff}
	if mesh {
		lines[0] = meshOn
	}
	for r, rack := range []string{"a", "b", "c"} {
		for i := 1; i <= 20; i++ {
			spec := fmt.Sprintf("address: 10.0.%d.%d, addresses: ['fd00::%d:%d'], labels: {rack: %s}", r, i, r, i, rack)
			if rack == "c" {
				spec += ", asNumber: 65003"
			}
			if rack != "c" && i <= 2 {
				spec = fmt.Sprintf("address: 10.0.%d.%d, addresses: ['fd00::%d:%d'], labels: {rack: %s, route-reflector: 'true'}, routeReflectorClusterID: 244.0.0.%d", r, i, r, i, rack, r+1)
			}
			lines = append(lines, fmt.Sprintf("Node %s%02d {%s}", rack, i, spec))
		}
	}
	return append(lines, extra...)
}

// Every peering between two Nodes exists at both ends, with the
// addresses and AS numbers swapped, at most one end passive, and the
// client end seeing a reflector.
func TestTopologyIsSymmetric(t *testing.T) {
	configs := map[string][]string{
		"mesh":                   bigCluster(true),
		"reflectors":             bigCluster(false, toRR),
		"mesh and reflectors":    bigCluster(true, toRR),
		"per-rack reflectors":    bigCluster(false, "BGPPeer rack-a {nodeSelector: rack == 'a', peerSelector: rack == 'a' && has(route-reflector)}", "BGPPeer rack-b {nodeSelector: rack == 'b', peerSelector: rack == 'b' && has(route-reflector)}", "BGPPeer rr-mesh {nodeSelector: has(route-reflector), peerSelector: has(route-reflector)}"),
		"rack c to a reflectors": bigCluster(false, "BGPPeer c-up {nodeSelector: rack == 'c', peerSelector: rack == 'a' && has(route-reflector), localASN: 65000}"),
	}
	for name, lines := range configs {
		t.Run(name, func(t *testing.T) {
			rs := parse(t, lines...)
			all := map[string][]Peering{}
			for _, r := range rs {
				if r.Kind == config.KindNode {
					ps, err := Topology(rs, r.Metadata.Name)
					if err != nil {
						t.Fatalf("Topology(%s): %v", r.Metadata.Name, err)
					}
					all[r.Metadata.Name] = ps
				}
			}
			for from, ps := range all {
				for _, p := range ps {
					if p.Node == "" {
						continue
					}
					var back *Peering
					for i, q := range all[p.Node] {
						if q.Address == p.LocalAddress && q.VRF == p.VRF {
							back = &all[p.Node][i]
						}
					}
					switch {
					case back == nil:
						t.Errorf("%s peers with %s (%s), which does not peer back", from, p.Node, p.Address)
					case back.LocalAddress != p.Address || back.PeerAS != p.LocalAS || back.LocalAS != p.PeerAS:
						t.Errorf("%s and %s disagree:\n%s\n%s", from, p.Node, render([]Peering{p}), render([]Peering{*back}))
					case back.Passive && p.Passive:
						t.Errorf("%s and %s both wait for the other", from, p.Node)
					case p.RouteReflectorClient && p.IBGP() && !back.PeerReflector:
						t.Errorf("%s makes %s a client, but %s is no reflector", from, p.Node, from)
					}
				}
			}
		})
	}
}

func TestTopologyCounts(t *testing.T) {
	count := func(ps []Peering, typ PeerType) int {
		n := 0
		for _, p := range ps {
			if p.Type == typ {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name            string
		lines           []string
		node            string
		mesh, specific  int
		clients, rrPeer int
	}{
		// 60 nodes, two families: 59 others, 4 of them reflectors.
		{"mesh, a client", bigCluster(true), "a10", 2 * 55, 0, 0, 0},
		{"reflectors, a client", bigCluster(false, toRR), "c05", 0, 2 * 4, 0, 2 * 4},
		// a01 reflects for the iBGP nodes of racks a and b (36) and for the
		// reflectors of the other cluster (2); rack c is eBGP.
		{"reflectors, a reflector", bigCluster(false, toRR), "a01", 0, 2 * 59, 2 * 38, 2 * 3},
		{"mesh and reflectors, a client", bigCluster(true, toRR), "b07", 2 * 55, 2 * 4, 0, 2 * 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Topology(parse(t, tt.lines...), tt.node)
			if err != nil {
				t.Fatal(err)
			}
			clients, rrPeers := 0, 0
			for _, p := range ps {
				if p.RouteReflectorClient {
					clients++
				}
				if p.PeerReflector {
					rrPeers++
				}
			}
			got := []int{count(ps, PeerMesh), count(ps, PeerNodeSpecific), clients, rrPeers}
			want := []int{tt.mesh, tt.specific, tt.clients, tt.rrPeer}
			if !cmp.Equal(got, want) {
				t.Errorf("mesh, node specific, clients, reflectors = %v, want %v\n%s", got, want, strings.Join(strings.SplitN(render(ps), "\n", 10), "\n"))
			}
		})
	}
}
