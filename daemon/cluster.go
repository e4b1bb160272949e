package daemon

// Cluster mode (--node NAME): one configuration serves every node. The
// daemon finds its own Node and derives from the shared resources what
// the node must do:
//
//	store: BGPConfiguration, BGPPeers, Nodes, IPPools, LoadBalancers
//	   │ reconciler: derive()
//	   ├─▶ effective BGPConfiguration (the Node's AS, router ID, cluster ID)
//	   ├─▶ effective BGPPeers (cluster.Topology: mesh, global and
//	   │   node-specific BGPPeers, peerSelector peers), then the usual syncPeers
//	   └─▶ syncCluster: pod blocks (cluster.Allocator, shared file) and the
//	       LoadBalancers this node serves become announcements; the node's
//	       own blocks get blackhole routes in the kernel
//
// Without --node the configuration is used as written.

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/godwit-bgp/godwit/cluster"
	"github.com/godwit-bgp/godwit/config"
)

// DefaultClusterState is where the pod block and LoadBalancer address
// allocations are kept unless --cluster-state says otherwise.
const DefaultClusterState = "/var/lib/godwit/cluster-state.json"

// clusterKinds are the kinds cluster mode derives from.
var clusterKinds = []config.Kind{config.KindNode, config.KindIPPool, config.KindLoadBalancer}

// resources lists what the cluster functions read.
func (s *desired) resources() []*config.Resource {
	var rs []*config.Resource
	if s.cfgGlobal != nil {
		rs = append(rs, s.cfgGlobal)
	}
	for _, m := range []map[string]*config.Resource{s.cfgPeers, s.nodes, s.pools, s.lbs} {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			rs = append(rs, m[name])
		}
	}
	return rs
}

// derive computes the effective BGPConfiguration and BGPPeers: the
// configured ones as they are, or, with --node, this node's. A
// configuration in which this node cannot be derived keeps the last good
// derivation, and says why.
func (d *Daemon) derive() {
	s := &d.desired
	if d.opt.Node == "" {
		s.global, s.peers = s.cfgGlobal, s.cfgPeers
		return
	}
	global, peers, types, err := d.deriveNode()
	if err != nil {
		if msg := err.Error(); msg != d.deriveErr {
			d.deriveErr = msg
			d.log.Error("cluster configuration: cannot derive this node's sessions; keeping the last good ones", "node", d.opt.Node, "err", err)
		}
		return
	}
	d.deriveErr = ""
	s.global, s.peers = global, peers
	d.mu.Lock()
	d.peerTypes = types
	d.mu.Unlock()
}

func (d *Daemon) deriveNode() (*config.Resource, map[string]*config.Resource, map[string]string, error) {
	s := &d.desired
	if s.cfgGlobal == nil {
		return nil, map[string]*config.Resource{}, nil, nil
	}
	nr := s.nodes[d.opt.Node]
	if nr == nil {
		return nil, nil, nil, fmt.Errorf("no Node named %q in the configuration (--node)", d.opt.Node)
	}
	node := nr.Spec.(*config.NodeSpec)
	g := *s.cfgGlobal.Spec.(*config.BGPConfigurationSpec)
	if node.ASNumber != 0 {
		g.ASNumber = node.ASNumber
	}
	// The Node's IPv4 address is its router ID: a router ID in the shared
	// BGPConfiguration would be every node's.
	for _, a := range append([]netip.Addr{node.Address}, node.Addresses...) {
		if a.Is4() {
			g.RouterID = a
			break
		}
	}
	if node.RouteReflectorClusterID.IsValid() {
		g.RouteReflectorClusterID = node.RouteReflectorClusterID
	}
	gr := s.cfgGlobal.Clone()
	gr.Spec = &g
	peerings, err := cluster.Topology(s.resources(), d.opt.Node)
	if err != nil && len(peerings) == 0 {
		return nil, nil, nil, err
	}
	if err != nil {
		d.log.Warn("cluster configuration: some peerings could not be derived", "node", d.opt.Node, "err", err)
	}
	peers := map[string]*config.Resource{}
	types := map[string]string{}
	for _, p := range peerings {
		if p.VRF != "" {
			continue // VRF sessions are not implemented yet
		}
		spec := &config.BGPPeerSpec{}
		if p.BGPPeer != "" {
			if r := s.cfgPeers[p.BGPPeer]; r != nil {
				c := *r.Spec.(*config.BGPPeerSpec)
				spec = &c
			}
		}
		spec.PeerAddress = p.Address
		spec.PeerASN = p.PeerAS
		spec.LocalAddress = p.LocalAddress
		spec.LocalASN = 0
		if p.LocalAS != g.ASNumber {
			spec.LocalASN = p.LocalAS
		}
		spec.RouteReflectorClient = p.RouteReflectorClient
		spec.Passive = spec.Passive || p.Passive
		spec.NodeSelector, spec.PeerSelector = nil, nil
		if spec.Description == "" && p.Node != "" {
			spec.Description = "node " + p.Node
		}
		name := peeringName(p)
		peers[name] = config.New(name, spec)
		typ := string(p.Type)
		if p.RouteReflectorClient {
			typ = "route reflector client"
		}
		types[name] = typ
	}
	return gr, peers, types, nil
}

// peeringName names a derived BGPPeer: "mesh.NODE", or the BGPPeer's
// name and the peer's address or Node.
func peeringName(p cluster.Peering) string {
	who := p.Node
	if who == "" {
		who = strings.NewReplacer(".", "-", ":", "-").Replace(p.Address.String())
	}
	if p.BGPPeer == "" {
		return "mesh." + who
	}
	return p.BGPPeer + "." + who
}

// syncCluster announces this node's pod blocks and the LoadBalancer
// addresses it serves, and gives its blocks blackhole routes.
func (d *Daemon) syncCluster() {
	if d.opt.Node == "" {
		return
	}
	if d.alloc == nil {
		path := d.opt.ClusterState
		if path == "" {
			path = DefaultClusterState
		}
		// The default directory may not exist on a new node.
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			d.log.Error("cluster: cannot create the allocation file's directory; no pod block or LoadBalancer is announced", "err", err)
			return
		}
		a, err := cluster.OpenAllocator(path)
		if err != nil {
			d.log.Error("cluster: cannot open the allocation file; no pod block or LoadBalancer is announced", "err", err)
			return
		}
		d.alloc = a
	}
	rs := d.desired.resources()
	anns := map[string]*config.AnnouncementSpec{}
	blocks, err := d.alloc.Blocks(rs, d.opt.Node)
	if err != nil {
		d.log.Error("cluster: pod blocks", "node", d.opt.Node, "err", err)
	}
	if len(blocks) > 0 {
		anns["pod-blocks"] = &config.AnnouncementSpec{Prefixes: blocks}
	}
	lbs, err := d.alloc.LoadBalancers(rs)
	if err != nil {
		d.log.Error("cluster: LoadBalancer addresses", "err", err)
	}
	for i := range lbs {
		lb := &lbs[i]
		if !lb.ServedBy(d.opt.Node) || !lb.Prefix.IsValid() {
			continue
		}
		anns["lb."+lb.Name] = &config.AnnouncementSpec{Prefixes: []netip.Prefix{lb.Prefix},
			Communities: lb.Communities, LocalPreference: lb.LocalPreference}
	}
	if g := d.desired.globalSpec(); g != nil {
		var svc []netip.Prefix
		for _, p := range append(slices.Clone(g.ServiceClusterIPs), g.ServiceExternalIPs...) {
			if p = p.Masked(); !slices.Contains(svc, p) {
				svc = append(svc, p)
			}
		}
		if len(svc) > 0 {
			anns["services"] = &config.AnnouncementSpec{Prefixes: svc}
		}
	}
	if k := d.fib.Load(); k != nil {
		k.setBlackholes(blocks)
	}
	d.originMu.Lock()
	defer d.originMu.Unlock()
	if maps.EqualFunc(anns, d.annCluster, func(a, b *config.AnnouncementSpec) bool { return config.SpecEqual(a, b) }) {
		return
	}
	d.annCluster = anns
	d.log.Info("cluster: this node's announcements", "node", d.opt.Node, "pod-blocks", blocks,
		"load-balancers", len(anns)-min(1, len(blocks)))
	d.rebuildOriginsLocked()
}
