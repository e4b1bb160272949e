package cluster

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/godwit-bgp/godwit/config"
)

// view is the part of a resource set that this package reads, each kind
// sorted by name so that every computation is deterministic.
type view struct {
	global *config.BGPConfigurationSpec // nil when there is none
	nodes  []*node
	byName map[string]*node
	peers  []named[config.BGPPeerSpec]
	pools  []named[config.IPPoolSpec]
	lbs    []named[config.LoadBalancerSpec]
}

type named[T any] struct {
	name string
	spec *T
}

// node is a Node resource.
type node struct {
	name string
	*config.NodeSpec
}

func newView(rs []*config.Resource) *view {
	v := &view{byName: map[string]*node{}}
	for _, r := range rs {
		if r == nil {
			continue
		}
		name := r.Metadata.Name
		switch s := r.Spec.(type) {
		case *config.BGPConfigurationSpec:
			if s != nil {
				v.global = s
			}
		case *config.NodeSpec:
			if s != nil {
				n := &node{name, s}
				v.nodes = append(v.nodes, n)
				v.byName[name] = n
			}
		case *config.BGPPeerSpec:
			if s != nil {
				v.peers = append(v.peers, named[config.BGPPeerSpec]{name, s})
			}
		case *config.IPPoolSpec:
			if s != nil {
				v.pools = append(v.pools, named[config.IPPoolSpec]{name, s})
			}
		case *config.LoadBalancerSpec:
			if s != nil {
				v.lbs = append(v.lbs, named[config.LoadBalancerSpec]{name, s})
			}
		}
	}
	slices.SortFunc(v.nodes, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	slices.SortFunc(v.peers, byName)
	slices.SortFunc(v.pools, byName)
	slices.SortFunc(v.lbs, byName)
	return v
}

func byName[T any](a, b named[T]) int { return strings.Compare(a.name, b.name) }

// pool returns the IPPool of that name.
func (v *view) pool(name string) (named[config.IPPoolSpec], bool) {
	i := slices.IndexFunc(v.pools, func(p named[config.IPPoolSpec]) bool { return p.name == name })
	if i < 0 {
		return named[config.IPPoolSpec]{}, false
	}
	return v.pools[i], true
}

// addrs are the node's addresses, its main one first.
func (n *node) addrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range append([]netip.Addr{n.Address}, n.Addresses...) {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// addr is the node's first address of the family (IPv4 when is4), or the
// zero Addr.
func (n *node) addr(is4 bool) netip.Addr {
	for _, a := range n.addrs() {
		if a.Is4() == is4 {
			return a
		}
	}
	return netip.Addr{}
}

// has reports whether a is one of the node's addresses.
func (n *node) has(a netip.Addr) bool { return slices.Contains(n.addrs(), a) }

// as is the node's AS: its own or the BGPConfiguration's; 0 when neither
// is set.
func (v *view) as(n *node) config.ASN {
	switch {
	case n.ASNumber != 0:
		return n.ASNumber
	case v.global != nil:
		return v.global.ASNumber
	}
	return 0
}

// nodeWithAddr returns the Node that has address a, or nil.
func (v *view) nodeWithAddr(a netip.Addr) *node {
	for _, n := range v.nodes {
		if n.has(a) {
			return n
		}
	}
	return nil
}

// family names the address family of a for messages.
func family(is4 bool) string {
	if is4 {
		return "IPv4"
	}
	return "IPv6"
}

// errNoAS is the error about a Node that has no AS number to use.
func errNoAS(n *node) error {
	return fmt.Errorf("Node %q has no AS number (set its asNumber, or asNumber in the BGPConfiguration)", n.name)
}
