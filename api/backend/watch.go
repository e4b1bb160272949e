package backend

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/daemon"
)

// watchState is what a watcher has told its client, per kind.
type watchState struct {
	neighbors map[string]api.Neighbor
	routes    map[string]api.Route
	config    *api.ConfigStatus
}

// Watch implements api.Backend. It subscribes to the daemon's change
// signal, which is coalesced (one pending wake-up), and after each wake-up
// (and a short pause, so that a burst is one round) compares the current
// state with what it sent: the feed carries the latest state of each
// neighbour, route and the configuration, never a queue of intermediate
// ones. A neighbour's uptime and message counters are not changes (they
// move all the time); its state, info and prefix counts are.
//
// Routes come from the Loc-RIB's change feed instead (daemon.RouteFeed):
// after the snapshot, each round re-reads only the prefixes that changed,
// so a watch costs in proportion to the changes, not to the table.
func (b *Backend) Watch(ctx context.Context, kinds []api.EventKind, emit func(api.Event) error) error {
	ch, cancel := b.d.Subscribe()
	defer cancel()
	want := func(k api.EventKind) bool { return slices.Contains(kinds, k) }
	var feedWake <-chan struct{}
	var feed *daemon.RouteFeed
	if want(api.KindRoute) {
		f, stop, err := b.d.SubscribeRoutes()
		if err != nil {
			return api.Unavailable("godwitd is stopping", "")
		}
		defer stop()
		feed = f
		wake := make(chan struct{}, 1)
		feedWake = wake
		fctx, fcancel := context.WithCancel(ctx)
		defer fcancel()
		go func() {
			for f.Wait(fctx) == nil {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
	}
	prev, err := b.watchState(ctx, want)
	if err != nil {
		return err
	}
	now := b.now()
	for _, k := range kinds {
		switch k {
		case api.KindNeighbor:
			for _, key := range sortedKeys(prev.neighbors) {
				n := prev.neighbors[key]
				if err := emit(api.Event{Op: api.OpSnapshot, Kind: k, Time: now, Neighbor: &n}); err != nil {
					return err
				}
			}
		case api.KindRoute:
			for _, key := range sortedKeys(prev.routes) {
				r := prev.routes[key]
				if err := emit(api.Event{Op: api.OpSnapshot, Kind: k, Time: now, Route: &r}); err != nil {
					return err
				}
			}
		case api.KindConfig:
			if err := emit(api.Event{Op: api.OpSnapshot, Kind: k, Time: now, Config: prev.config}); err != nil {
				return err
			}
		}
	}
	if err := emit(api.Event{Op: api.OpSynced, Time: now}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.d.Done():
			return api.Unavailable("godwitd is stopping", "")
		case <-ch:
		case <-feedWake:
		}
		// Let a burst of changes settle into one round.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.coalesce):
		}
		cur, err := b.watchState(ctx, func(k api.EventKind) bool { return k != api.KindRoute && want(k) })
		if err != nil {
			return err
		}
		if feed != nil {
			cur.routes, err = b.changedRoutes(prev.routes, feed.Take())
			if err != nil {
				return err
			}
		}
		if err := diff(prev, cur, b.now(), emit); err != nil {
			return err
		}
		prev = cur
	}
}

// changedRoutes is prev with the paths of the changed prefixes read again.
// It modifies and returns prev.
func (b *Backend) changedRoutes(prev map[string]api.Route, changed []netip.Prefix) (map[string]api.Route, error) {
	if len(changed) == 0 {
		return prev, nil
	}
	set := make(map[string]bool, len(changed))
	for _, p := range changed {
		set[p.String()] = true
	}
	cur := make(map[string]api.Route, len(prev))
	for k, r := range prev {
		if !set[r.Prefix] {
			cur[k] = r
		}
	}
	for _, p := range changed {
		rs, err := b.d.Routes(daemon.RouteQuery{Prefix: p})
		if err != nil {
			return nil, err
		}
		for i := range rs {
			r := route(&rs[i])
			cur[routeKey(&r)] = r
		}
	}
	return cur, nil
}

func routeKey(r *api.Route) string {
	return fmt.Sprintf("%s|%s|%s|%d", r.Family, r.Prefix, r.Peer, r.PathID)
}

func (b *Backend) watchState(ctx context.Context, want func(api.EventKind) bool) (watchState, error) {
	var s watchState
	now := b.now()
	if want(api.KindNeighbor) {
		s.neighbors = map[string]api.Neighbor{}
		for _, n := range b.d.Neighbors() {
			s.neighbors[n.Address.String()] = neighbor(&n, now)
		}
	}
	if want(api.KindRoute) {
		rs, err := b.d.Routes(daemon.RouteQuery{})
		if err != nil {
			return s, err
		}
		s.routes = make(map[string]api.Route, len(rs))
		for i := range rs {
			r := route(&rs[i])
			s.routes[routeKey(&r)] = r
		}
	}
	if want(api.KindConfig) {
		cs, err := b.ConfigStatus(ctx)
		if err != nil {
			return s, err
		}
		s.config = &cs
	}
	return s, nil
}

// diff emits what changed from prev to cur.
func diff(prev, cur watchState, now time.Time, emit func(api.Event) error) error {
	for _, key := range sortedKeys(cur.neighbors) {
		n := cur.neighbors[key]
		if old, ok := prev.neighbors[key]; ok && sameNeighbor(old, n) {
			continue
		}
		if err := emit(api.Event{Op: api.OpUpdate, Kind: api.KindNeighbor, Time: now, Neighbor: &n}); err != nil {
			return err
		}
	}
	for _, key := range sortedKeys(prev.neighbors) {
		if _, ok := cur.neighbors[key]; !ok {
			n := prev.neighbors[key]
			if err := emit(api.Event{Op: api.OpDelete, Kind: api.KindNeighbor, Time: now, Neighbor: &n}); err != nil {
				return err
			}
		}
	}
	for _, key := range sortedKeys(cur.routes) {
		r := cur.routes[key]
		if old, ok := prev.routes[key]; ok && reflect.DeepEqual(old, r) {
			continue
		}
		if err := emit(api.Event{Op: api.OpUpdate, Kind: api.KindRoute, Time: now, Route: &r}); err != nil {
			return err
		}
	}
	for _, key := range sortedKeys(prev.routes) {
		if _, ok := cur.routes[key]; !ok {
			r := prev.routes[key]
			if err := emit(api.Event{Op: api.OpDelete, Kind: api.KindRoute, Time: now, Route: &r}); err != nil {
				return err
			}
		}
	}
	if cur.config != nil && (prev.config == nil || !reflect.DeepEqual(*prev.config, *cur.config)) {
		if err := emit(api.Event{Op: api.OpUpdate, Kind: api.KindConfig, Time: now, Config: cur.config}); err != nil {
			return err
		}
	}
	return nil
}

// sameNeighbor compares what a watcher cares about.
func sameNeighbor(a, b api.Neighbor) bool {
	a.UptimeSeconds, b.UptimeSeconds = 0, 0
	a.MessagesReceived, b.MessagesReceived = 0, 0
	a.MessagesSent, b.MessagesSent = 0, 0
	return a == b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
