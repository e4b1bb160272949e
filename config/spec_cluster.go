package config

import (
	"fmt"
	"net/netip"
)

// AnnouncementSpec lists prefixes this speaker originates.
type AnnouncementSpec struct {
	// Prefixes to originate (required, without host bits).
	Prefixes []netip.Prefix `json:"prefixes"`
	// Communities and LargeCommunities are attached to the routes.
	Communities      []Community      `json:"communities,omitempty"`
	LargeCommunities []LargeCommunity `json:"largeCommunities,omitempty"`
	// LocalPreference and MED are set on the routes when given.
	LocalPreference *uint32 `json:"localPreference,omitempty"`
	MED             *uint32 `json:"med,omitempty"`
	// VRF originates the prefixes in a VRF instead of the default table.
	VRF string `json:"vrf,omitempty"`
}

// Kind implements Spec.
func (*AnnouncementSpec) Kind() Kind { return KindAnnouncement }

func (s *AnnouncementSpec) validate(v *validator) {
	if len(s.Prefixes) == 0 {
		v.required("spec.prefixes")
	}
	v.uniquePrefixes("spec.prefixes", s.Prefixes)
	v.optionalName("spec.vrf", s.VRF)
}

// IPPool uses.
const (
	PoolUsePods         = "pods"
	PoolUseLoadBalancer = "loadBalancer"
)

// Default block sizes of pod pools (as in Calico).
const (
	DefaultBlockSize4 = 26
	DefaultBlockSize6 = 122
)

// IPPoolSpec is a range from which nodes get pod CIDR blocks, or
// LoadBalancer addresses are handed out.
type IPPoolSpec struct {
	// CIDR is the pool's range (required).
	CIDR netip.Prefix `json:"cidr"`
	// BlockSize is the prefix length of the blocks handed to nodes (pods
	// pools; default 26 for IPv4, 122 for IPv6). It must not be shorter
	// than the CIDR.
	BlockSize int `json:"blockSize,omitempty" range:"1..128"`
	// Use is "pods" (the default) or "loadBalancer".
	Use string `json:"use,omitempty"`
	// Disabled keeps the pool from handing out anything new.
	Disabled bool `json:"disabled,omitempty"`
}

// Kind implements Spec.
func (*IPPoolSpec) Kind() Kind { return KindIPPool }

// EffectiveUse is Use or "pods".
func (s *IPPoolSpec) EffectiveUse() string {
	if s.Use == "" {
		return PoolUsePods
	}
	return s.Use
}

// EffectiveBlockSize is BlockSize or the default for the pool's family
// (pods pools) or the host length (loadBalancer pools).
func (s *IPPoolSpec) EffectiveBlockSize() int {
	switch {
	case s.BlockSize != 0:
		return s.BlockSize
	case s.EffectiveUse() == PoolUseLoadBalancer:
		return s.CIDR.Addr().BitLen()
	case s.CIDR.Addr().Is4():
		return DefaultBlockSize4
	}
	return DefaultBlockSize6
}

func (s *IPPoolSpec) validate(v *validator) {
	if !s.CIDR.IsValid() {
		v.required("spec.cidr")
	}
	switch s.Use {
	case "", PoolUsePods, PoolUseLoadBalancer:
	default:
		v.errf("spec.use", "must be pods or loadBalancer, got %q", s.Use)
	}
	if s.CIDR.IsValid() {
		bits := s.CIDR.Addr().BitLen()
		if b := s.EffectiveBlockSize(); b > bits || b < s.CIDR.Bits() {
			v.errf("spec.blockSize", "must be %d..%d (from the CIDR's length to the address length), got %d", s.CIDR.Bits(), bits, b)
		}
	}
}

// NodeSpec is one member of the cluster.
type NodeSpec struct {
	// Address is the node's address for BGP sessions (required).
	Address netip.Addr `json:"address"`
	// Addresses are further addresses of the node, such as the IPv6
	// address of a dual-stack node.
	Addresses []netip.Addr `json:"addresses,omitempty"`
	// ASNumber is the node's AS; default the BGPConfiguration's.
	ASNumber ASN `json:"asNumber,omitempty"`
	// Labels are matched by selectors (BGPPeer.nodeSelector, ...).
	Labels map[string]string `json:"labels,omitempty"`
	// PodCIDRs are the pod blocks the node announces.
	PodCIDRs []netip.Prefix `json:"podCIDRs,omitempty"`
	// RouteReflectorClusterID makes the node a route reflector with this
	// cluster ID.
	RouteReflectorClusterID netip.Addr `json:"routeReflectorClusterID,omitzero"`
}

// Kind implements Spec.
func (*NodeSpec) Kind() Kind { return KindNode }

func (s *NodeSpec) validate(v *validator) {
	if !s.Address.IsValid() {
		v.required("spec.address")
	}
	for i, a := range s.Addresses {
		if a == s.Address {
			v.errf(fmt.Sprintf("spec.addresses[%d]", i), "%s is already the node's address", a)
		}
		for j := range i {
			if s.Addresses[j] == a {
				v.errf(fmt.Sprintf("spec.addresses[%d]", i), "%s is listed twice (also item %d)", a, j)
				break
			}
		}
	}
	v.labels("spec.labels", s.Labels)
	v.uniquePrefixes("spec.podCIDRs", s.PodCIDRs)
	if s.RouteReflectorClusterID.IsValid() && !s.RouteReflectorClusterID.Is4() {
		v.errf("spec.routeReflectorClusterID", "must be an IPv4-formatted cluster ID, got %s", s.RouteReflectorClusterID)
	}
}

// LoadBalancerSpec is a service address announced by the nodes that serve
// it.
type LoadBalancerSpec struct {
	// Address is the service address; exactly one of Address and Pool.
	Address netip.Addr `json:"address,omitzero"`
	// Pool names a loadBalancer IPPool to allocate the address from.
	Pool string `json:"pool,omitempty"`
	// NodeSelector picks the nodes that serve (and announce) the address;
	// unset: every node.
	NodeSelector Selector `json:"nodeSelector,omitempty"`
	// Communities and LocalPreference are attached to the route.
	Communities     []Community `json:"communities,omitempty"`
	LocalPreference *uint32     `json:"localPreference,omitempty"`
	// AggregationLength announces the covering prefix of this length
	// instead of the host route (default 32 or 128).
	AggregationLength int `json:"aggregationLength,omitempty" range:"1..128"`
}

// Kind implements Spec.
func (*LoadBalancerSpec) Kind() Kind { return KindLoadBalancer }

func (s *LoadBalancerSpec) validate(v *validator) {
	switch {
	case s.Address.IsValid() && s.Pool != "":
		v.errf("spec.pool", "cannot be combined with address")
	case !s.Address.IsValid() && s.Pool == "":
		v.errf("spec.address", "required (or give pool)")
	}
	v.optionalName("spec.pool", s.Pool)
	v.selector("spec.nodeSelector", s.NodeSelector)
	if s.AggregationLength != 0 && s.Address.IsValid() && s.AggregationLength > s.Address.BitLen() {
		v.errf("spec.aggregationLength", "must be 1..%d for %s, got %d", s.Address.BitLen(), s.Address, s.AggregationLength)
	}
}
