package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/godwit-bgp/godwit/config"
)

// Blocks returns the pod CIDR blocks of the Node named node, allocating
// them when needed, given the cluster's resources (Nodes and IPPools;
// other kinds are ignored).
//
// A Node's podCIDRs are its blocks, as given, for their address families.
// For every other family that has an enabled IPPool with use pods, the
// Node gets one block of the pool's blockSize (default /26 and /122, as in
// Calico): the one it was given before, as long as that block still lies
// in an IPPool with use pods (disabled or not) and overlaps no Node's
// podCIDRs; otherwise the lowest free block of the first pool, by name,
// that has one. No two Nodes get overlapping blocks, and no block
// overlaps a Node's podCIDRs. A disabled pool hands out nothing new.
//
// The result is sorted, IPv4 first. When a family's pools are all full,
// the blocks of the other families are returned with an error that names
// each full pool and its size.
func (a *Allocator) Blocks(rs []*config.Resource, node string) ([]netip.Prefix, error) {
	v := newView(rs)
	me, ok := v.byName[node]
	if !ok {
		return nil, fmt.Errorf("no Node named %q", node)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	unlock, err := a.shareLocked()
	if err != nil {
		return nil, err
	}
	defer unlock()

	// What other Nodes hold: their podCIDRs, and their blocks unless a
	// Node's podCIDRs took them over (the podCIDRs win).
	var explicit, taken []netip.Prefix
	for _, n := range v.nodes {
		explicit = append(explicit, n.PodCIDRs...)
	}
	for name, blocks := range a.state.Blocks {
		if name == node {
			continue
		}
		for _, b := range blocks {
			if !overlapsAny(b, explicit) {
				taken = append(taken, b)
			}
		}
	}
	taken = append(taken, explicit...)

	out := slices.Clone(me.PodCIDRs)
	var keep []netip.Prefix
	covered := func(is4 bool) bool {
		return slices.ContainsFunc(out, func(p netip.Prefix) bool { return p.Addr().Is4() == is4 }) ||
			slices.ContainsFunc(keep, func(p netip.Prefix) bool { return p.Addr().Is4() == is4 })
	}
	for _, b := range a.state.Blocks[node] {
		if !covered(b.Addr().Is4()) && v.inPodPool(b) && !overlapsAny(b, taken) {
			keep = append(keep, b)
		}
	}
	var problems []error
	for _, is4 := range []bool{true, false} {
		if covered(is4) {
			continue
		}
		var pools []named[config.IPPoolSpec]
		for _, p := range v.pools {
			if p.spec.EffectiveUse() == config.PoolUsePods && !p.spec.Disabled && p.spec.CIDR.Addr().Is4() == is4 {
				pools = append(pools, p)
			}
		}
		if len(pools) == 0 {
			continue
		}
		u := usedBy(is4, append(slices.Clone(taken), keep...))
		found := false
		for _, p := range pools {
			if b, ok := u.firstFree(p.spec.CIDR, p.spec.EffectiveBlockSize()); ok {
				keep = append(keep, b)
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, errFull(node, is4, pools))
		}
	}

	slices.SortFunc(keep, comparePrefixes)
	if !slices.Equal(keep, a.state.Blocks[node]) {
		st := a.state.clone()
		if len(keep) == 0 {
			delete(st.Blocks, node)
		} else {
			st.Blocks[node] = keep
		}
		if err := a.commitLocked(st); err != nil {
			return nil, err
		}
	}
	out = append(out, keep...)
	slices.SortFunc(out, comparePrefixes)
	return out, errors.Join(problems...)
}

// inPodPool reports whether b lies in an IPPool with use pods.
func (v *view) inPodPool(b netip.Prefix) bool {
	for _, p := range v.pools {
		c := p.spec.CIDR
		if p.spec.EffectiveUse() == config.PoolUsePods && c.IsValid() && c.Bits() <= b.Bits() && c.Contains(b.Addr()) {
			return true
		}
	}
	return false
}

// errFull is the error about a family whose pod pools are all full.
func errFull(node string, is4 bool, pools []named[config.IPPoolSpec]) error {
	var desc []string
	for _, p := range pools {
		bits := p.spec.EffectiveBlockSize()
		desc = append(desc, fmt.Sprintf("IPPool %q (%s, %s blocks of /%d)", p.name, p.spec.CIDR, blockCount(p.spec.CIDR, bits), bits))
	}
	verb := "is"
	if len(desc) > 1 {
		verb = "are"
	}
	list := strings.Join(desc, ", ")
	if n := len(desc); n > 1 {
		list = strings.Join(desc[:n-1], ", ") + " and " + desc[n-1]
	}
	return fmt.Errorf("no free %s pod block for Node %q: %s %s full", family(is4), node, list, verb)
}

func overlapsAny(p netip.Prefix, ps []netip.Prefix) bool {
	return slices.ContainsFunc(ps, p.Overlaps)
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
