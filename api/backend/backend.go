// Package backend implements the management API (api.Backend) over a
// running daemon: it asks package daemon for snapshots and converts them
// into the API's JSON types.
//
// Layer: api (DESIGN.md), which may import daemon. It imports api and
// daemon (and the wire packages for attribute and capability texts, fib and
// rib for the kernel FIB's); package api itself stays independent of daemon
// behind the Backend interface, and daemon never imports api. cmd/godwitd serves it with api.NewServer.
//
// Start with Backend; conversions are in convert.go, the watch feed in
// watch.go, the route-injection API (announcements) in announce.go, the
// kernel FIB in fib.go.
package backend

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Backend serves a Daemon. Its methods are safe for concurrent use: every
// answer comes from the daemon's snapshots.
type Backend struct {
	d   *daemon.Daemon
	now func() time.Time
	// coalesce is how long Watch waits after a change for more to come,
	// so that a burst of changes is one round of events.
	coalesce time.Duration
}

var _ api.Backend = (*Backend)(nil)

// New returns the Backend of d.
func New(d *daemon.Daemon) *Backend {
	return &Backend{d: d, now: time.Now, coalesce: 100 * time.Millisecond}
}

// apiError maps the daemon's errors onto the API's.
func apiError(addr netip.Addr, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, daemon.ErrNoNeighbor):
		return api.NeighborNotFound(addr)
	case errors.Is(err, daemon.ErrNotEstablished):
		return api.Conflict("the session with "+addr.String()+" is not Established", "`godwit neighbor "+addr.String()+"` says why")
	case errors.Is(err, daemon.ErrNoRouteRefresh):
		return api.Conflict(err.Error(), "reset the session instead (godwit neighbor "+addr.String()+" reset)")
	case errors.Is(err, daemon.ErrStopped):
		return api.Unavailable("godwitd is stopping", "")
	}
	return err
}

func (b *Backend) stopping() error {
	select {
	case <-b.d.Done():
		return api.Unavailable("godwitd is stopping", "")
	default:
		return nil
	}
}

// Status implements api.Backend.
func (b *Backend) Status(ctx context.Context) (api.Status, error) {
	if err := b.stopping(); err != nil {
		return api.Status{}, err
	}
	info := b.d.Info()
	now := b.now()
	st := api.Status{
		ASNumber:      info.ASNumber,
		Version:       info.Version,
		StartedAt:     info.StartedAt,
		UptimeSeconds: int64(now.Sub(info.StartedAt) / time.Second),
		Routes:        info.Routes,
	}
	if info.RouterID.IsValid() {
		st.RouterID = info.RouterID.String()
	}
	for _, n := range b.d.Neighbors() {
		st.Peers.Configured++
		if n.Status.State == peer.Established {
			st.Peers.Established++
		} else {
			st.Peers.Down++
		}
	}
	return st, nil
}

// Neighbors implements api.Backend.
func (b *Backend) Neighbors(ctx context.Context) ([]api.Neighbor, error) {
	if err := b.stopping(); err != nil {
		return nil, err
	}
	now := b.now()
	ns := b.d.Neighbors()
	out := make([]api.Neighbor, 0, len(ns))
	for i := range ns {
		out = append(out, neighbor(&ns[i], now))
	}
	return out, nil
}

// Neighbor implements api.Backend.
func (b *Backend) Neighbor(ctx context.Context, addr netip.Addr) (api.NeighborDetail, error) {
	if err := b.stopping(); err != nil {
		return api.NeighborDetail{}, err
	}
	n, err := b.d.Neighbor(addr)
	if err != nil {
		return api.NeighborDetail{}, apiError(addr, err)
	}
	return neighborDetail(&n, b.now()), nil
}

// NeighborAction implements api.Backend.
func (b *Backend) NeighborAction(ctx context.Context, addr netip.Addr, action api.Action, message string) error {
	var err error
	switch action {
	case api.ActionReset:
		err = b.d.ResetNeighbor(addr, message)
	case api.ActionShutdown:
		err = b.d.ShutdownNeighbor(addr, message)
	case api.ActionEnable:
		err = b.d.EnableNeighbor(addr)
	case api.ActionRefreshIn:
		err = b.d.RefreshIn(ctx, addr)
	case api.ActionRefreshOut:
		err = b.d.RefreshOut(addr)
	default:
		return api.BadRequest("unknown action "+string(action), "")
	}
	return apiError(addr, err)
}

// Routes implements api.Backend. Only the default VRF exists in this
// version.
func (b *Backend) Routes(ctx context.Context, q api.RouteQuery, emit func(api.Route) error) error {
	if err := b.stopping(); err != nil {
		return err
	}
	if q.VRF != "" {
		return api.NotFound("no such VRF "+q.VRF, "VRFs are not implemented yet; leave out --vrf")
	}
	dq, err := routeQuery(q)
	if err != nil {
		return err
	}
	rs, err := b.d.Routes(dq)
	if err != nil {
		return apiError(dq.Peer, err)
	}
	for i := range rs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(route(&rs[i])); err != nil {
			return err
		}
	}
	return nil
}

// routeQuery converts a normalised API query.
func routeQuery(q api.RouteQuery) (daemon.RouteQuery, error) {
	dq := daemon.RouteQuery{Received: q.Received, Advertised: q.Advertised, BestOnly: q.BestOnly}
	if q.Family != "" {
		f, err := nlri.ParseFamily(q.Family)
		if err != nil {
			return dq, api.BadRequest(err.Error(), "")
		}
		dq.Family = f
	}
	if q.Prefix != "" {
		switch {
		case q.Family != "" && !strings.HasSuffix(q.Family, "-unicast"):
			dq.Text = q.Prefix
		case strings.Contains(q.Prefix, "/"):
			p, err := netip.ParsePrefix(q.Prefix)
			if err != nil {
				return dq, api.BadRequest("bad prefix "+q.Prefix, "")
			}
			dq.Prefix = p.Masked()
		default:
			a, err := netip.ParseAddr(q.Prefix)
			if err != nil {
				return dq, api.BadRequest("bad prefix "+q.Prefix, "")
			}
			dq.Addr = a
		}
	}
	if q.Peer != "" {
		a, err := netip.ParseAddr(q.Peer)
		if err != nil {
			return dq, api.BadRequest("bad peer address "+q.Peer, "")
		}
		dq.Peer = a
	}
	return dq, nil
}

// TestPolicy implements api.Backend.
func (b *Backend) TestPolicy(ctx context.Context, name string, prefix netip.Prefix, peer netip.Addr) ([]api.PolicyTestResult, error) {
	if err := b.stopping(); err != nil {
		return nil, err
	}
	ts, err := b.d.TestPolicy(name, prefix, peer)
	switch {
	case errors.Is(err, daemon.ErrNoPolicy):
		return nil, api.PolicyNotFound(name)
	case err != nil:
		return nil, apiError(peer, err)
	}
	out := make([]api.PolicyTestResult, 0, len(ts))
	for i := range ts {
		out = append(out, policyTest(name, &ts[i]))
	}
	return out, nil
}

// ConfigStatus implements api.Backend.
func (b *Backend) ConfigStatus(ctx context.Context) (api.ConfigStatus, error) {
	cs, err := b.d.ConfigState(ctx)
	if err != nil {
		return api.ConfigStatus{}, err
	}
	return configStatus(cs), nil
}

func configStatus(cs daemon.ConfigState) api.ConfigStatus {
	out := api.ConfigStatus{Source: cs.Source, Generation: cs.Generation, AppliedAt: cs.AppliedAt,
		LastAttempt: cs.LastAttempt, OK: cs.OK, Errors: cs.Errors}
	for _, k := range cs.Resources {
		out.Resources = append(out.Resources, api.ResourceCount{Kind: string(k.Kind), Count: k.Count})
	}
	return out
}
