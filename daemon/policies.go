package daemon

// RoutePolicy resources, compiled, and their use: import policies by the
// sessions' importers, export policies by the update groups. A changed
// policy (or a peer's changed importPolicy / exportPolicy) applies without
// a session reset (applyPolicies).

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/policy"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
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
	// routes recycles the Routes handed to Eval, which keeps its
	// argument off the stack (the conditions are interfaces): one
	// allocation per set an update group sends otherwise.
	routes sync.Pool
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
func (e *exportPolicyRef) Export(fam nlri.Family, pfx netip.Prefix, src *rib.Source, l attr.List) (attr.List, export.NextHop, bool) {
	r, _ := e.routes.Get().(*policy.Route)
	if r == nil {
		r = new(policy.Route)
	}
	*r = policy.Route{Family: fam, Prefix: pfx, Attrs: l, NextHop: nextHopOf(l), Neighbor: e.peer, Type: routeType(src)}
	res := e.p.Eval(r, policy.Env{LocalAS: e.localAS})
	*r = policy.Route{} // nothing kept alive from the pool
	e.routes.Put(r)
	if !res.Accept {
		return nil, export.NextHop{}, false
	}
	var nh export.NextHop
	switch res.NextHop.Mode {
	case config.NextHopSelf, config.NextHopPeer:
		nh.Mode = export.NextHopSelf
	case config.NextHopUnchanged:
		nh.Mode = export.NextHopUnchanged
	case config.NextHopAddress:
		nh = export.NextHop{Mode: export.NextHopAddress, Addr: res.NextHop.Addr}
	}
	return res.Attrs, nh, true
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

// rejectAll stands for an import policy that is named but cannot be used
// (it does not compile): an attached policy replaces the default, so
// nothing is accepted rather than everything.
var rejectAll = func() *policy.Policy {
	p, _ := policy.Compile("reject-all", &config.RoutePolicySpec{})
	return p
}()

// importPolicy is the compiled import policy of a peer: nil for none (the
// default: accept).
func (d *Daemon) importPolicy(name string) *policy.Policy {
	if name == "" {
		return nil
	}
	if cp := d.loadPolicies()[name]; cp != nil {
		return cp.p
	}
	return rejectAll
}

// applyPolicies brings the policies of every Established session in line
// with the configuration, without resetting any: a new import policy
// applies to what the peer sends from now on, and to what it sent before
// either from the kept pre-policy routes (softReconfigurationInbound) or
// through a ROUTE-REFRESH (RFC 2918) that asks the peer for them again;
// a new export policy moves the session to the update group of its new
// rules, which sends the difference.
func (d *Daemon) applyPolicies() {
	for _, n := range d.neighborList() {
		n.applyPolicies()
	}
}

func (n *neighbor) applyPolicies() {
	s := n.session()
	if s == nil || n.imp == nil {
		return
	}
	n.d.mu.RLock()
	spec, g := n.spec, n.d.global
	n.d.mu.RUnlock()
	if in := n.d.importPolicy(spec.ImportPolicy); n.imp.policy.Load() != in {
		n.imp.policy.Store(in)
		switch {
		case n.imp.keepPre:
			n.d.rib.post(opReimport{n: n, s: s, pol: in})
		case s.Negotiated.RouteRefresh:
			n.log.Info("import policy changed: asking the peer for its routes again (ROUTE-REFRESH)", "policy", spec.ImportPolicy)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := n.d.RefreshIn(ctx, n.key.Addr); err != nil {
				n.log.Warn("route refresh after an import policy change failed", "err", err)
			}
			cancel()
		default:
			n.log.Warn("import policy changed, but the peer does not support route refresh: the new policy applies to the routes it sends from now on; reset the session to apply it to all",
				"policy", spec.ImportPolicy)
		}
	}
	clusterID := netip.Addr{}
	if g != nil {
		clusterID = g.RouteReflectorClusterID
		if !clusterID.IsValid() {
			clusterID = g.RouterID
		}
	}
	n.d.rib.post(opRegroup{n: n, s: s, cfg: n.d.exportConfig(spec, s, clusterID)})
}

// ErrNoPolicy is returned for a RoutePolicy that does not exist.
var ErrNoPolicy = errors.New("no such RoutePolicy")

// PolicyTest is one path run through a policy.
type PolicyTest struct {
	// Path is the path tested, as the table holds it (Filtered when the
	// import checks or policy refused it).
	Path   Route
	Result policy.Result
	Trace  []policy.StatementTrace
}

// TestPolicy runs the named RoutePolicy over the paths to prefix: with
// peer, every path from that neighbour (the ones refused included, as
// they were received); without, the best path. The route is presented as
// import sees it: the neighbour is the path's peer, the route type that of
// its session. Nothing is changed.
func (d *Daemon) TestPolicy(name string, prefix netip.Prefix, peer netip.Addr) ([]PolicyTest, error) {
	cp := d.loadPolicies()[name]
	if cp == nil {
		return nil, fmt.Errorf("%w %q", ErrNoPolicy, name)
	}
	q := RouteQuery{Prefix: prefix.Masked(), BestOnly: !peer.IsValid()}
	if peer.IsValid() {
		q.Peer, q.Received = peer, true
	}
	rs, err := d.Routes(q)
	if err != nil {
		return nil, err
	}
	out := make([]PolicyTest, 0, len(rs))
	for _, r := range rs {
		typ := policy.EBGP
		switch {
		case !r.Peer.IsValid():
			typ = policy.Local
		case r.Internal:
			typ = policy.IBGP
		}
		res, tr := cp.p.Trace(&policy.Route{Family: r.Family, Prefix: r.Prefix, Attrs: r.Attrs, NextHop: r.NextHop,
			Neighbor: r.Peer, Type: typ}, policy.Env{LocalAS: d.asNumber()})
		out = append(out, PolicyTest{Path: r, Result: res, Trace: tr})
	}
	return out, nil
}
