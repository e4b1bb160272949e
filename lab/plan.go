package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/cluster"
	"github.com/godwit-bgp/godwit/config"
)

// The plan is the lab worked out from the cluster configuration, before
// anything is built: which namespaces, which addresses, which sessions.
// Everything in it follows from the configuration the nodes run (see
// cluster.yaml), so the lab and its godwitds can never disagree:
//
//   - every Node is a namespace, on a segment (a bridge in the router's
//     namespace) with the router;
//   - the router's address on a segment is the peerAddress of the BGPPeer
//     that the segment's nodes have (cluster.Topology), its AS that
//     BGPPeer's peerASN; a node and its router address share a /24;
//   - a node's pod block comes from the cluster's allocator, in the same
//     state file godwitd --cluster-state uses, so godwitd finds the same
//     block; the pods sit on a bridge in the node's namespace whose
//     address is the block's first host address;
//   - a LoadBalancer's address comes from the same allocator, and the
//     nodes that serve it hold it on their loopback.

// segmentBits is the prefix length of the router's segments (racks).
const segmentBits = 24

// podsPerNode is how many pod namespaces each node gets.
const podsPerNode = 2

// Plan is the lab's topology.
type Plan struct {
	Router        Router         `json:"router"`
	Segments      []Segment      `json:"segments"`
	Nodes         []Node         `json:"nodes"`
	LoadBalancers []LoadBalancer `json:"loadBalancers"`
}

// Router is the top-of-rack router (FRR).
type Router struct {
	Name      string     `json:"name"` // "tor"
	Namespace string     `json:"namespace"`
	AS        uint32     `json:"as"`
	RouterID  netip.Addr `json:"routerID"`
	Neighbors []Neighbor `json:"neighbors"`
}

// Neighbor is one of the router's BGP sessions: a node.
type Neighbor struct {
	Node    string     `json:"node"`
	Address netip.Addr `json:"address"`
	AS      uint32     `json:"as"`
	// HoldTime in seconds; 0 is FRR's default.
	HoldTime int `json:"holdTime"`
}

// Segment is a rack: a bridge in the router's namespace, with the router's
// address on it.
type Segment struct {
	// Name is the bridge's name ("rack-a").
	Name string `json:"name"`
	// Router is the router's address on it, with the segment's length.
	Router netip.Prefix `json:"router"`
	// Nodes are the names of the nodes on it.
	Nodes []string `json:"nodes"`
}

// Node is a cluster node: a namespace running godwitd.
type Node struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Rack      string `json:"rack,omitempty"`
	// Address is the node's address on its segment (with the segment's
	// length); Gateway the router's address there.
	Address netip.Prefix `json:"address"`
	Gateway netip.Addr   `json:"gateway"`
	Segment string       `json:"segment"`
	AS      uint32       `json:"as"`
	// Block is the node's pod CIDR block; Bridge the address of the pods'
	// bridge in the node's namespace (the block's first host address,
	// with the block's length).
	Block  netip.Prefix `json:"block"`
	Bridge netip.Prefix `json:"bridge"`
	Pods   []Pod        `json:"pods"`
	// Serves names the LoadBalancers the node serves.
	Serves []string `json:"serves"`
	// API is godwitd's API socket; Log its log file.
	API string `json:"api"`
	Log string `json:"log"`
}

// Pod is a namespace plugged into its node's pod bridge.
type Pod struct {
	Name      string       `json:"name"` // "node1-pod1"
	Namespace string       `json:"namespace"`
	Node      string       `json:"node"`
	Address   netip.Prefix `json:"address"`
	Gateway   netip.Addr   `json:"gateway"`
}

// LoadBalancer is a service address served by some nodes.
type LoadBalancer struct {
	Name    string       `json:"name"`
	Address netip.Addr   `json:"address"`
	Prefix  netip.Prefix `json:"prefix"`
	Nodes   []string     `json:"nodes"`
}

// planFor works out the plan from the cluster's resources, allocating the
// pod blocks and LoadBalancer addresses in the allocation file at
// statePath (which godwitd --cluster-state then reads).
func planFor(o *Options, rs []*config.Resource, statePath string) (*Plan, error) {
	alloc, err := cluster.OpenAllocator(statePath)
	if err != nil {
		return nil, err
	}
	var global *config.BGPConfigurationSpec
	peers := map[string]*config.BGPPeerSpec{}
	var nodes []*config.Resource
	for _, r := range rs {
		switch s := r.Spec.(type) {
		case *config.BGPConfigurationSpec:
			global = s
		case *config.BGPPeerSpec:
			peers[r.Metadata.Name] = s
		case *config.NodeSpec:
			nodes = append(nodes, r)
		}
	}
	if len(nodes) == 0 {
		return nil, errors.New("the lab's configuration has no Node")
	}
	slices.SortFunc(nodes, func(a, b *config.Resource) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })

	p := &Plan{Router: Router{Name: "tor", Namespace: o.nsName("tor")}}
	segByRouter := map[netip.Addr]int{}
	for _, r := range nodes {
		name := r.Metadata.Name
		spec := r.Spec.(*config.NodeSpec)
		if !spec.Address.Is4() {
			return nil, fmt.Errorf("Node %s: the lab needs an IPv4 address, got %s", name, spec.Address)
		}
		peerings, err := cluster.Topology(rs, name)
		if err != nil {
			return nil, fmt.Errorf("Node %s: %w", name, err)
		}
		// The router is the one peer that is not a Node.
		var up *cluster.Peering
		for i := range peerings {
			if peerings[i].Node == "" {
				if up != nil {
					return nil, fmt.Errorf("Node %s has two peers outside the cluster (%s and %s); the lab has one router", name, up.Address, peerings[i].Address)
				}
				up = &peerings[i]
			}
		}
		if up == nil {
			return nil, fmt.Errorf("Node %s has no BGPPeer outside the cluster: no router to connect it to", name)
		}
		seg := netip.PrefixFrom(up.Address, segmentBits)
		if !seg.Masked().Contains(spec.Address) {
			return nil, fmt.Errorf("Node %s: its address %s and its router's %s are not in one /%d", name, spec.Address, up.Address, segmentBits)
		}
		switch {
		case p.Router.AS == 0:
			p.Router.AS = uint32(up.PeerAS)
			p.Router.RouterID = up.Address
		case p.Router.AS != uint32(up.PeerAS):
			return nil, fmt.Errorf("Node %s peers with AS %d, other nodes with AS %d; the lab has one router", name, up.PeerAS, p.Router.AS)
		}
		rack := spec.Labels["rack"]
		i, ok := segByRouter[up.Address]
		if !ok {
			i = len(p.Segments)
			segByRouter[up.Address] = i
			segName := fmt.Sprintf("seg%d", i+1)
			if rack != "" {
				segName = "rack-" + rack
			}
			if len(segName) > 15 {
				return nil, fmt.Errorf("Node %s: segment name %q is longer than an interface name may be", name, segName)
			}
			p.Segments = append(p.Segments, Segment{Name: segName, Router: seg})
		}
		p.Segments[i].Nodes = append(p.Segments[i].Nodes, name)

		blocks, err := alloc.Blocks(rs, name)
		if err != nil {
			return nil, fmt.Errorf("Node %s: pod block: %w", name, err)
		}
		var block netip.Prefix
		for _, b := range blocks {
			if b.Addr().Is4() {
				block = b
				break
			}
		}
		if !block.IsValid() {
			return nil, fmt.Errorf("Node %s has no IPv4 pod block (an IPPool with use: pods is needed)", name)
		}
		hold := 0
		if bp := peers[up.BGPPeer]; bp != nil {
			h, _, _ := bp.Timers(global)
			hold = int(h / time.Second)
		}
		p.Router.Neighbors = append(p.Router.Neighbors, Neighbor{Node: name, Address: spec.Address, AS: uint32(up.LocalAS), HoldTime: hold})
		n := Node{
			Name: name, Namespace: o.nsName(name), Rack: rack,
			Address: netip.PrefixFrom(spec.Address, segmentBits), Gateway: up.Address,
			Segment: p.Segments[i].Name, AS: uint32(up.LocalAS),
			Block: block, Serves: []string{},
			API: o.path(name, "godwitd.sock"), Log: o.path(name, "godwitd.log"),
		}
		gw := block.Addr().Next()
		n.Bridge = netip.PrefixFrom(gw, block.Bits())
		host := gw
		for i := 1; i <= podsPerNode; i++ {
			host = host.Next()
			if !block.Contains(host) {
				return nil, fmt.Errorf("Node %s: block %s is too small for %d pods", name, block, podsPerNode)
			}
			podName := fmt.Sprintf("%s-pod%d", name, i)
			n.Pods = append(n.Pods, Pod{Name: podName, Namespace: o.nsName(podName), Node: name,
				Address: netip.PrefixFrom(host, block.Bits()), Gateway: gw})
		}
		p.Nodes = append(p.Nodes, n)
	}
	lbs, err := alloc.LoadBalancers(rs)
	if err != nil {
		return nil, fmt.Errorf("LoadBalancers: %w", err)
	}
	for _, lb := range lbs {
		if !lb.Address.Is4() {
			return nil, fmt.Errorf("LoadBalancer %s: the lab needs an IPv4 address, got %s", lb.Name, lb.Address)
		}
		p.LoadBalancers = append(p.LoadBalancers, LoadBalancer{Name: lb.Name, Address: lb.Address, Prefix: lb.Prefix, Nodes: lb.Nodes})
		for _, name := range lb.Nodes {
			if n := p.node(name); n != nil {
				n.Serves = append(n.Serves, lb.Name)
			}
		}
	}
	return p, nil
}

// node returns the node of that name, or nil.
func (p *Plan) node(name string) *Node {
	for i := range p.Nodes {
		if p.Nodes[i].Name == name {
			return &p.Nodes[i]
		}
	}
	return nil
}

// Namespaces lists every namespace of the plan: the router's, then each
// node's followed by its pods'.
func (p *Plan) Namespaces() []string {
	out := []string{p.Router.Namespace}
	for _, n := range p.Nodes {
		out = append(out, n.Namespace)
		for _, pod := range n.Pods {
			out = append(out, pod.Namespace)
		}
	}
	return out
}
