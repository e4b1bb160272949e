package daemon

// RoutePolicy resources, compiled, and their use as export policies by the
// update groups. Import policies and hitless policy changes come with the
// policy issue; until then an import policy is accepted but not applied
// (the log says so), and a changed export policy applies to the sessions
// that come up after the change.

import (
	"net/netip"
	"strconv"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/policy"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// compiledPolicy is one RoutePolicy, compiled.
type compiledPolicy struct {
	p       *policy.Policy
	spec    *config.RoutePolicySpec
	version string // the resource's version when compiled: a new one makes a new group key
	// neighbor is set when a statement matches on the neighbour: then the
	// export result differs per peer and the peer is part of the key.
	neighbor bool
}

// syncPolicies compiles the desired RoutePolicies. A policy that does not
// compile (which validation should have prevented) is left out, and the
// peers naming it send nothing learned.
func (d *Daemon) syncPolicies() {
	next := map[string]*compiledPolicy{}
	old := d.loadPolicies()
	for name, r := range d.desired.pols {
		spec, ok := r.Spec.(*config.RoutePolicySpec)
		if !ok {
			continue
		}
		if o := old[name]; o != nil && config.SpecEqual(o.spec, spec) {
			next[name] = o
			continue
		}
		p, err := policy.Compile(name, spec)
		if err != nil {
			d.log.Error("RoutePolicy does not compile; peers that name it get no learned routes", "policy", name, "err", err)
			continue
		}
		cp := &compiledPolicy{p: p, spec: spec, version: strconv.FormatUint(r.Metadata.ResourceVersion, 10)}
		for _, st := range spec.Statements {
			if st.Conditions != nil && len(st.Conditions.Neighbor) > 0 {
				cp.neighbor = true
			}
		}
		next[name] = cp
	}
	d.policies.Store(&next)
}

func (d *Daemon) loadPolicies() map[string]*compiledPolicy {
	if m := d.policies.Load(); m != nil {
		return *m
	}
	return nil
}

// exportPolicyRef is an export policy as an update group uses it
// (export.Policy).
type exportPolicyRef struct {
	p       *policy.Policy
	key     string
	peer    netip.Addr
	localAS uint32
}

// exportPolicy returns the export hook of the named policy for a session
// with peer, or nil when there is no such policy.
func (d *Daemon) exportPolicy(name string, peer netip.Addr, localAS uint32) *exportPolicyRef {
	cp := d.loadPolicies()[name]
	if cp == nil {
		return nil
	}
	ref := &exportPolicyRef{p: cp.p, key: name + "@" + cp.version, peer: peer, localAS: localAS}
	if cp.neighbor {
		ref.key += "/" + peer.String()
	}
	return ref
}

// Export implements export.Policy.
func (e *exportPolicyRef) Export(fam nlri.Family, pfx netip.Prefix, src *rib.Source, l attr.List) (attr.List, bool) {
	r := policy.Route{Family: fam, Prefix: pfx, Attrs: l, NextHop: nextHopOf(l), Neighbor: e.peer, Type: routeType(src)}
	res := e.p.Eval(&r, policy.Env{LocalAS: e.localAS})
	if !res.Accept {
		return nil, false
	}
	return res.Attrs, true
}

// PrefixDependent tells the group whether results can be cached per
// attribute set.
func (e *exportPolicyRef) PrefixDependent() bool {
	return e.p.PrefixDependent() || e.p.NextHopDependent()
}

func routeType(src *rib.Source) policy.RouteType {
	switch {
	case src.Local:
		return policy.Local
	case src.IBGP:
		return policy.IBGP
	}
	return policy.EBGP
}
