package daemon

import (
	"context"
	"net/netip"
	"sync"
)

// RouteFeed is a subscription to the Loc-RIB's changes: the prefixes whose
// paths changed since the reader last took them. A prefix is reported
// once however often it changed meanwhile, so a slow reader costs at most
// one entry per prefix of the table and never holds up the RIB; the
// reader asks Routes for the prefixes' current paths. Subscribe before
// taking the snapshot (a listing): every change after the subscription is
// reported, so snapshot then changes is consistent.
type RouteFeed struct {
	mu      sync.Mutex
	pending map[netip.Prefix]struct{}
	wake    chan struct{}
}

// SubscribeRoutes starts a feed; the function ends it. While a feed is
// open the Loc-RIB reports changes of every path, not only of the
// selection.
func (d *Daemon) SubscribeRoutes() (*RouteFeed, func(), error) {
	f := &RouteFeed{pending: map[netip.Prefix]struct{}{}, wake: make(chan struct{}, 1)}
	if !d.rib.query(func() {
		d.rib.feeds = append(d.rib.feeds, f)
		d.rib.setTrackAll()
	}) {
		return nil, nil, ErrStopped
	}
	return f, func() {
		d.rib.post(opFunc{func() {
			for i, x := range d.rib.feeds {
				if x == f {
					d.rib.feeds = append(d.rib.feeds[:i], d.rib.feeds[i+1:]...)
					break
				}
			}
			d.rib.setTrackAll()
		}})
	}, nil
}

// Wait blocks until there are changes to take, or ctx ends.
func (f *RouteFeed) Wait(ctx context.Context) error {
	select {
	case <-f.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Take returns the prefixes changed since the last Take, and forgets them.
func (f *RouteFeed) Take() []netip.Prefix {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]netip.Prefix, 0, len(f.pending))
	for p := range f.pending {
		out = append(out, p)
	}
	clear(f.pending)
	return out
}

func (f *RouteFeed) add(ps []netip.Prefix) {
	f.mu.Lock()
	for _, p := range ps {
		f.pending[p] = struct{}{}
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}
