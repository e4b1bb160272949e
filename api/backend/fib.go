package backend

// The kernel FIB (daemon/fib.go) for `godwit fib`: the reconciler's state,
// the desired routes against the installed ones, and the next hops the RIB
// tracks through the kernel.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/rib"
)

// FIB implements api.Backend. Interfaces are named with
// net.InterfaceByIndex: godwitd runs in the network namespace whose
// interfaces the kernel's routes use.
func (b *Backend) FIB(ctx context.Context, all bool) (api.FIB, error) {
	if err := b.stopping(); err != nil {
		return api.FIB{}, err
	}
	f, err := b.d.FIB(ctx, all)
	switch {
	case errors.Is(err, daemon.ErrNotReady):
		return api.FIB{}, api.Unavailable(err.Error(), "try again in a moment")
	case errors.Is(err, fib.ErrStopped):
		return api.FIB{}, api.Unavailable("godwitd is stopping", "")
	case err != nil:
		return api.FIB{}, apiError(netip.Addr{}, err)
	}
	return fibState(&f, interfaceNames(net.InterfaceByIndex)), nil
}

// interfaceNames returns a function that names an interface by its index
// with lookup, once per index (a full table has many routes through few
// interfaces, and each lookup asks the kernel). An index lookup does not
// know is named "#N".
func interfaceNames(lookup func(int) (*net.Interface, error)) func(int) string {
	names := map[int]string{}
	return func(index int) string {
		if name, ok := names[index]; ok {
			return name
		}
		name := "#" + strconv.Itoa(index)
		if ifi, err := lookup(index); err == nil && ifi.Name != "" {
			name = ifi.Name
		}
		names[index] = name
		return name
	}
}

// fibState converts the daemon's FIB; ifName names interfaces.
func fibState(f *daemon.FIB, ifName func(int) string) api.FIB {
	st := &f.Status
	out := api.FIB{
		Protocol:  uint8(st.Protocol),
		DryRun:    st.DryRun,
		Converged: f.Converged,
		Adopted:   f.Adopted,
		Holding:   st.Holding,
		Desired:   st.Desired,
		Installed: st.Installed,
		Held:      st.Held,
		Pending:   st.Pending,
		Failed:    st.Failed,
		Added:     st.Added,
		Replaced:  st.Replaced,
		Deleted:   st.Deleted,
		LastSync:  st.LastSync,
		Routes:    make([]api.FIBRoute, 0, len(f.Entries)),
		NextHops:  trackedNextHops(f.NextHops),
	}
	// The writer notes what a batch left failing; the reconciler notes
	// failures of its own retries too. The later one is the last error.
	lastErr, at := f.LastError, f.LastErrAt
	if st.LastError != nil && (lastErr == nil || st.LastErrorAt.After(at)) {
		lastErr, at = st.LastError, st.LastErrorAt
	}
	if lastErr != nil {
		out.LastError, out.LastErrorAt = lastErr.Error(), at
	}
	for i := range f.Entries {
		out.Routes = append(out.Routes, fibRoute(&f.Entries[i], ifName))
	}
	return out
}

// fibRoute converts one key of the reconciler's diff.
func fibRoute(e *fib.DiffEntry, ifName func(int) string) api.FIBRoute {
	out := api.FIBRoute{
		Prefix:    e.Key.Prefix.String(),
		Table:     e.Key.Table,
		State:     fibRouteState(e),
		Desired:   kernelRoute(e.Desired, ifName),
		Installed: kernelRoute(e.Installed, ifName),
	}
	if e.Err != nil {
		out.Error = e.Err.Error()
	}
	return out
}

// fibRouteState is "held" for a route kept until convergence, else what
// the reconciler does about the key, "ok" for nothing.
func fibRouteState(e *fib.DiffEntry) api.FIBState {
	switch {
	case e.Held:
		return api.FIBHeld
	case e.Action == 0:
		return api.FIBOK
	case e.Action == fib.OpAdd:
		return api.FIBAdd
	case e.Action == fib.OpReplace:
		return api.FIBReplace
	case e.Action == fib.OpDelete:
		return api.FIBDelete
	}
	return api.FIBState(e.Action.String())
}

// kernelRoute converts a desired or installed route; nil stays nil.
func kernelRoute(r *fib.Route, ifName func(int) string) *api.KernelRoute {
	if r == nil {
		return nil
	}
	out := &api.KernelRoute{Metric: r.Metric, Blackhole: r.Blackhole, NextHops: make([]api.KernelNextHop, 0, len(r.NextHops))}
	for _, nh := range r.NextHops {
		// The kernel keeps no weight for a single next hop: 0 is 1.
		k := api.KernelNextHop{Weight: max(nh.Weight, 1)}
		if nh.Addr.IsValid() && !nh.Addr.IsUnspecified() {
			k.Gateway = nh.Addr.String()
		}
		if nh.Ifindex != 0 {
			k.Interface = ifName(nh.Ifindex)
		}
		out.NextHops = append(out.NextHops, k)
	}
	return out
}

// trackedNextHops converts the tracked next hops of the IPv4 and IPv6
// tables. A next hop both track (an IPv6 next hop of IPv4 routes, RFC
// 8950) is listed once, with the attribute sets of both.
func trackedNextHops(nhs []rib.NextHop) []api.TrackedNextHop {
	out := make([]api.TrackedNextHop, 0, len(nhs))
	index := make(map[netip.Addr]int, len(nhs))
	for _, nh := range nhs {
		if i, ok := index[nh.Addr]; ok {
			out[i].AttributeSets += nh.Sets
			continue
		}
		index[nh.Addr] = len(out)
		out = append(out, api.TrackedNextHop{Address: nh.Addr.String(), Resolvable: nh.Resolvable, Cost: nh.Cost, AttributeSets: nh.Sets})
	}
	return out
}
