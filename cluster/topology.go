package cluster

// Topology follows what Calico's confd and BIRD templates produce for a
// node, so that a cluster moved from Calico keeps its sessions:
//
//   - Mesh: with nodeToNodeMesh on, every Node peers with every other one
//     over each address family both have. A route reflector ignores the
//     mesh, and the other Nodes skip reflectors in it: reflectors are
//     reached through BGPPeers (typically nodeSelector all() and
//     peerSelector has(route-reflector)). Of two mesh neighbours, the one
//     with the lower address waits for the other to connect (Calico makes
//     mesh sessions one-way, so that a graceful restart is not aborted by
//     the other side's connection).
//   - BGPPeers without nodeSelector apply to every Node ("global"); those
//     with one apply to the Nodes it selects ("node specific"). A peer is
//     peerAddress, or every Node that peerSelector selects, over each
//     family both nodes have, at that Node's address and AS.
//   - Reverse peerings: a Node selected by a BGPPeer's peerSelector (or
//     whose address and AS are its peerAddress and peerASN) peers back
//     with every Node the BGPPeer applies to, so that both ends of a
//     session between Nodes exist. Calico calls these node specific too.
//   - A route reflector (a Node with routeReflectorClusterID) treats an
//     iBGP peer as its client unless the peer is a reflector with the
//     same cluster ID; so reflectors of one cluster peer as non-clients,
//     and reflectors of different clusters as each other's clients, as in
//     Calico. A peerAddress that belongs to a Node counts as that Node
//     (Calico does not look it up, and would make it a client).
//   - A node never peers with one of its own addresses.
//   - One peering per address (and VRF): global BGPPeers first, then node
//     specific ones, then reverse peerings, then the mesh; the first one
//     wins, so an explicit BGPPeer replaces a mesh peering, and between
//     BGPPeers of the same rank the one whose name sorts first wins.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/godwit-bgp/godwit/config"
)

// PeerType says where a peering comes from, as calicoctl node status
// names it.
type PeerType string

// The peer types.
const (
	PeerMesh         PeerType = "node-to-node mesh" // BGPConfiguration.nodeToNodeMesh
	PeerGlobal       PeerType = "global"            // a BGPPeer without nodeSelector
	PeerNodeSpecific PeerType = "node specific"     // a BGPPeer with nodeSelector, or the reverse side of one
)

// Peering is one BGP session a node must have.
//
// The daemon takes the session's other settings (timers, password,
// families, policies, limits) from the BGPPeer named by BGPPeer; the
// fields here replace the BGPPeer's own where both exist (a reverse
// peering has the peer's AS, not BGPPeer.peerASN, and is never passive).
type Peering struct {
	// Address is the peer's address.
	Address netip.Addr
	// LocalAddress is the session's source: the BGPPeer's localAddress,
	// or this node's address of Address's family. It is the zero Addr
	// when neither exists (an explicit peer of a family the node has no
	// address in), and the kernel chooses.
	LocalAddress netip.Addr
	// PeerAS is the peer's AS; LocalAS is ours towards it (the node's AS,
	// or the BGPPeer's localASN). The session is iBGP when they are equal.
	PeerAS, LocalAS config.ASN
	// Type says where the peering comes from.
	Type PeerType
	// BGPPeer names the BGPPeer resource that makes this peering ("" for
	// the mesh).
	BGPPeer string
	// Node names the peer's Node when the peer is a cluster Node.
	Node string
	// VRF is the BGPPeer's VRF ("" for the default table).
	VRF string
	// RouteReflectorClient makes the peer our route reflector client
	// (RFC 4456), with ClusterID as cluster ID. ClusterID is this node's
	// routeReflectorClusterID; it is the zero Addr when the node is not a
	// reflector but a BGPPeer says routeReflectorClient, and the router ID
	// is then the cluster ID (RFC 4456 §7).
	RouteReflectorClient bool
	ClusterID            netip.Addr
	// PeerReflector reports that the peer is a Node that is a route
	// reflector (so, for a non-reflector, that we are its client).
	PeerReflector bool
	// Passive waits for the peer to connect.
	Passive bool
}

// IBGP reports whether the session is internal (same AS at both ends).
func (p Peering) IBGP() bool { return p.PeerAS == p.LocalAS }

// Topology returns the peerings that the Node named node must have,
// given the resources of the cluster (Nodes, BGPConfiguration, BGPPeers;
// other kinds are ignored), sorted by VRF and address. The rules are
// Calico's; the comment at the top of topology.go spells them out.
//
// It fails when the node is not in rs or has no address or no AS number.
// A problem with another Node (no address, no AS number) leaves the
// peerings with it out: the others are returned, with an error that lists every
// such problem.
func Topology(rs []*config.Resource, node string) ([]Peering, error) {
	v := newView(rs)
	me, ok := v.byName[node]
	switch {
	case !ok:
		return nil, fmt.Errorf("no Node named %q", node)
	case len(me.addrs()) == 0:
		return nil, fmt.Errorf("Node %q has no address", node)
	case v.as(me) == 0:
		return nil, errNoAS(me)
	}
	t := &topology{view: v, me: me, localAS: v.as(me), seen: map[peeringKey]bool{}, reported: map[string]bool{}}
	for _, global := range []bool{true, false} {
		for _, p := range v.peers {
			if p.spec.NodeSelector.IsZero() == global && p.spec.NodeSelector.Matches(me.Labels) {
				t.forward(p, global)
			}
		}
	}
	for _, p := range v.peers {
		t.reverse(p)
	}
	t.mesh()
	slices.SortFunc(t.out, func(a, b Peering) int {
		if c := strings.Compare(a.VRF, b.VRF); c != 0 {
			return c
		}
		return a.Address.Compare(b.Address)
	})
	return t.out, errors.Join(t.problems...)
}

// topology collects the peerings of one node.
type topology struct {
	*view
	me       *node
	localAS  config.ASN // the node's AS
	out      []Peering
	seen     map[peeringKey]bool
	problems []error
	reported map[string]bool
}

type peeringKey struct {
	vrf  string
	addr netip.Addr
}

func (t *topology) problem(err error) {
	if !t.reported[err.Error()] {
		t.reported[err.Error()] = true
		t.problems = append(t.problems, err)
	}
}

// add keeps p unless a peering to the same address came first. peerCID
// is the peer's cluster ID when it is a reflector; explicitClient is a
// BGPPeer's routeReflectorClient.
func (t *topology) add(p Peering, peerCID netip.Addr, explicitClient bool) {
	k := peeringKey{p.VRF, p.Address}
	if t.seen[k] {
		return
	}
	t.seen[k] = true
	myCID := t.me.RouteReflectorClusterID
	if p.IBGP() && (explicitClient || myCID.IsValid() && peerCID != myCID) {
		p.RouteReflectorClient = true
		p.ClusterID = myCID
	}
	p.PeerReflector = peerCID.IsValid()
	t.out = append(t.out, p)
}

// toNode adds a peering with Node n over one family, if both nodes have
// an address of it.
func (t *topology) toNode(n *node, is4 bool, p Peering, explicitClient bool) {
	if n == t.me {
		return
	}
	if len(n.addrs()) == 0 {
		t.problem(fmt.Errorf("Node %q has no address", n.name))
		return
	}
	addr, local := n.addr(is4), t.me.addr(is4)
	if !addr.IsValid() || !local.IsValid() {
		return
	}
	if p.PeerAS == 0 {
		if p.PeerAS = t.as(n); p.PeerAS == 0 {
			t.problem(errNoAS(n))
			return
		}
	}
	p.Address, p.Node = addr, n.name
	if !p.LocalAddress.IsValid() || p.LocalAddress.Is4() != is4 {
		p.LocalAddress = local
	}
	t.add(p, n.RouteReflectorClusterID, explicitClient)
}

// forward adds the peerings of a BGPPeer that applies to this node.
func (t *topology) forward(bp named[config.BGPPeerSpec], global bool) {
	s := bp.spec
	p := Peering{LocalAS: t.localAS, Type: PeerNodeSpecific, BGPPeer: bp.name, VRF: s.VRF, Passive: s.Passive, LocalAddress: s.LocalAddress}
	if global {
		p.Type = PeerGlobal
	}
	if s.LocalASN != 0 {
		p.LocalAS = s.LocalASN
	}
	if !s.PeerSelector.IsZero() {
		for _, n := range t.nodes {
			if s.PeerSelector.Matches(n.Labels) {
				t.toNode(n, true, p, s.RouteReflectorClient)
				t.toNode(n, false, p, s.RouteReflectorClient)
			}
		}
		return
	}
	if !s.PeerAddress.IsValid() || t.me.has(s.PeerAddress) {
		return
	}
	p.Address, p.PeerAS = s.PeerAddress, s.PeerASN
	if !p.LocalAddress.IsValid() {
		p.LocalAddress = t.me.addr(s.PeerAddress.Is4())
	}
	var peerCID netip.Addr
	if n := t.nodeWithAddr(s.PeerAddress); n != nil {
		p.Node, peerCID = n.name, n.RouteReflectorClusterID
	}
	t.add(p, peerCID, s.RouteReflectorClient)
}

// reverse adds the peerings of a BGPPeer whose peer side is this node:
// back to every Node the BGPPeer applies to.
func (t *topology) reverse(bp named[config.BGPPeerSpec]) {
	s := bp.spec
	v4, v6 := true, true
	switch {
	case !s.PeerSelector.IsZero():
		if !s.PeerSelector.Matches(t.me.Labels) {
			return
		}
	case t.me.has(s.PeerAddress) && s.PeerASN == t.localAS:
		v4, v6 = s.PeerAddress.Is4(), !s.PeerAddress.Is4()
	default:
		return
	}
	// The other end speaks with its localASN, if the BGPPeer sets one;
	// the BGPPeer's own localAddress and passive are that end's.
	p := Peering{LocalAS: t.localAS, PeerAS: s.LocalASN, Type: PeerNodeSpecific, BGPPeer: bp.name, VRF: s.VRF}
	for _, n := range t.nodes {
		if s.NodeSelector.Matches(n.Labels) {
			if v4 {
				t.toNode(n, true, p, false)
			}
			if v6 {
				t.toNode(n, false, p, false)
			}
		}
	}
}

// mesh adds the node-to-node mesh.
func (t *topology) mesh() {
	if t.global == nil || !t.global.NodeToNodeMesh || t.me.RouteReflectorClusterID.IsValid() {
		return
	}
	for _, n := range t.nodes {
		if n.RouteReflectorClusterID.IsValid() {
			continue
		}
		for _, is4 := range []bool{true, false} {
			addr, local := n.addr(is4), t.me.addr(is4)
			p := Peering{LocalAS: t.localAS, Type: PeerMesh, Passive: addr.IsValid() && local.Less(addr)}
			t.toNode(n, is4, p, false)
		}
	}
}
