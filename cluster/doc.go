// Package cluster works out what the shared cluster resources mean for one
// node, the way Calico does: which BGP sessions the node must have (node
// to node mesh, route reflectors, explicit peers), which pod CIDR blocks it
// announces, and which LoadBalancer addresses exist and who announces them.
//
// # Layer
//
// cluster sits above config and below daemon (STYLE.md, "Layout"). It
// imports config and the standard library only. Its computations are pure
// functions of a resource set (as config.Store.List returns it), except
// for the Allocator, which also remembers what it handed out in a file.
// The daemon watches the store, calls these functions when resources
// change, and turns the results into sessions and announcements.
//
// # What it owns
//
//   - Topology (topology.go): the peerings of one node. Node to node
//     mesh when BGPConfiguration.nodeToNodeMesh is on, except that route
//     reflectors (Nodes with routeReflectorClusterID) neither mesh nor are
//     meshed with; BGPPeers that apply to the node (nodeSelector) with
//     their peerAddress or with every Node their peerSelector picks; and
//     the reverse side of BGPPeers that pick this node, so that peerings
//     between Nodes are symmetric. A reflector treats every iBGP peer as
//     its route reflector client unless that peer is a reflector with the
//     same cluster ID. Peerings are deduplicated by address.
//   - Allocator (alloc.go, blocks.go, loadbalancer.go): pod CIDR blocks
//     for Nodes from IPPools with use pods, and addresses for
//     LoadBalancers from IPPools with use loadBalancer. What it hands out
//     is kept in a JSON file, written atomically, so that a node keeps its
//     blocks and a service its address across restarts.
//
// # Where to start
//
// Read topology.go (Topology and Peering), then alloc.go (the file) and
// blocks.go. The tests are tables named after behaviours.
package cluster
