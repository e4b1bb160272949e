package cluster

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/config"
)

// LoadBalancer is a LoadBalancer resource resolved: its address and the
// route that the Nodes serving it announce.
type LoadBalancer struct {
	// Name is the LoadBalancer's name.
	Name string
	// Address is the service address: the one given, or the one allocated
	// from the pool.
	Address netip.Addr
	// Prefix is the route to announce: the host prefix of Address (/32 or
	// /128), or its covering prefix of aggregationLength.
	Prefix netip.Prefix
	// Nodes are the names of the Nodes that serve the address and
	// announce Prefix (those nodeSelector selects; every Node when it is
	// unset), sorted.
	Nodes []string
	// Communities and LocalPreference are attached to the route, as given.
	Communities     []config.Community
	LocalPreference *uint32
}

// ServedBy reports whether the Node named node announces the address.
func (lb *LoadBalancer) ServedBy(node string) bool {
	_, ok := slices.BinarySearch(lb.Nodes, node)
	return ok
}

// LoadBalancers resolves every LoadBalancer of rs (with the Nodes and
// IPPools they refer to; other kinds are ignored), sorted by name.
//
// An address given in a LoadBalancer is used as it is; it must lie in no
// IPPool with use pods. Otherwise the LoadBalancer gets the lowest free
// address of the IPPool it names (which has use loadBalancer), and keeps
// it as long as it names that pool and the address lies in it. Addresses
// given in LoadBalancers are never allocated to others; a disabled pool
// hands out nothing new.
//
// A LoadBalancer that cannot be resolved (its address in a pod pool, its
// pool missing, disabled or full, an aggregationLength longer than its
// address) is left out; the others are returned with an error that lists
// every such problem.
func (a *Allocator) LoadBalancers(rs []*config.Resource) ([]LoadBalancer, error) {
	v := newView(rs)
	a.mu.Lock()
	defer a.mu.Unlock()
	unlock, err := a.shareLocked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st := a.state.clone()

	// Addresses that no allocation may take: those given, and those
	// allocated to LoadBalancers that still exist or may come back.
	var taken []netip.Prefix
	for _, lb := range v.lbs {
		if lb.spec.Address.IsValid() {
			taken = append(taken, netip.PrefixFrom(lb.spec.Address, lb.spec.Address.BitLen()))
		}
	}
	var problems []error
	var out []LoadBalancer
	for _, lb := range v.lbs {
		addr, err := v.lbAddress(lb, st, taken)
		if err != nil {
			problems = append(problems, fmt.Errorf("LoadBalancer %q: %w", lb.name, err))
			continue
		}
		if lb.spec.Pool != "" {
			taken = append(taken, netip.PrefixFrom(addr, addr.BitLen()))
		}
		prefix := netip.PrefixFrom(addr, addr.BitLen())
		if l := lb.spec.AggregationLength; l != 0 {
			if l > addr.BitLen() {
				problems = append(problems, fmt.Errorf("LoadBalancer %q: aggregationLength %d is longer than the address %s", lb.name, l, addr))
				continue
			}
			prefix = netip.PrefixFrom(addr, l).Masked()
		}
		r := LoadBalancer{
			Name:            lb.name,
			Address:         addr,
			Prefix:          prefix,
			Communities:     lb.spec.Communities,
			LocalPreference: lb.spec.LocalPreference,
		}
		for _, n := range v.nodes {
			if lb.spec.NodeSelector.Matches(n.Labels) {
				r.Nodes = append(r.Nodes, n.name)
			}
		}
		out = append(out, r)
	}
	if !maps.Equal(st.LoadBalancers, a.state.LoadBalancers) {
		if err := a.commitLocked(st); err != nil {
			return nil, err
		}
	}
	return out, errors.Join(problems...)
}

// lbAddress finds the address of one LoadBalancer, recording an
// allocation in st. taken holds the addresses given in LoadBalancers and
// those allocated so far in this round.
func (v *view) lbAddress(lb named[config.LoadBalancerSpec], st allocations, taken []netip.Prefix) (netip.Addr, error) {
	s := lb.spec
	if s.Address.IsValid() {
		delete(st.LoadBalancers, lb.name)
		for _, p := range v.pools {
			if p.spec.EffectiveUse() == config.PoolUsePods && p.spec.CIDR.Contains(s.Address) {
				return netip.Addr{}, fmt.Errorf("address %s lies in IPPool %q (%s), which is for pods", s.Address, p.name, p.spec.CIDR)
			}
		}
		return s.Address, nil
	}
	pool, ok := v.pool(s.Pool)
	switch {
	case s.Pool == "":
		return netip.Addr{}, fmt.Errorf("neither address nor pool is set")
	case !ok:
		return netip.Addr{}, fmt.Errorf("no IPPool named %q", s.Pool)
	case pool.spec.EffectiveUse() != config.PoolUseLoadBalancer:
		return netip.Addr{}, fmt.Errorf("IPPool %q is not for use loadBalancer", s.Pool)
	}
	cidr := pool.spec.CIDR
	if old, ok := st.LoadBalancers[lb.name]; ok && cidr.Contains(old) && !v.givenElsewhere(lb.name, old) {
		return old, nil
	}
	delete(st.LoadBalancers, lb.name)
	if pool.spec.Disabled {
		return netip.Addr{}, fmt.Errorf("IPPool %q is disabled", s.Pool)
	}
	// Addresses held by other LoadBalancers in the file are taken too,
	// even when those are gone (until Release).
	taken = slices.Clone(taken)
	for name, a := range st.LoadBalancers {
		if name != lb.name {
			taken = append(taken, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	bits := cidr.Addr().BitLen()
	p, ok := usedBy(cidr.Addr().Is4(), taken).firstFree(cidr, bits)
	if !ok {
		return netip.Addr{}, fmt.Errorf("IPPool %q (%s, %s addresses) has no free address", s.Pool, cidr, blockCount(cidr, bits))
	}
	st.LoadBalancers[lb.name] = p.Addr()
	return p.Addr(), nil
}

// givenElsewhere reports whether a LoadBalancer other than name was given
// address a (a given address wins over an allocated one).
func (v *view) givenElsewhere(name string, a netip.Addr) bool {
	return slices.ContainsFunc(v.lbs, func(lb named[config.LoadBalancerSpec]) bool {
		return lb.name != name && lb.spec.Address == a
	})
}
