package fib

// The resolver's goroutines:
//
//	 RouteSource.Subscribe goroutine           Resolver.Run (sole writer)
//	 -------------------------------           --------------------------
//	 route events (not our protocol) --events-> apply to the prefix tables,
//	 link events                               reload after a link goes down,
//	                                           re-resolve the watched addresses
//	                                                  |
//	                                                  v
//	 NextHopObserver.NextHopsChanged(changed) <-------+ (no lock held)
//
//	 RIB: Resolve, Watch, Unwatch ---RLock/Lock on mu--> prefix tables, links

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
)

// NextHopObserver is told which watched next hops resolve differently. The
// RIB implements it and re-runs selection for exactly the paths through
// those next hops (their reachability and IGP cost, RFC 4271 §9.1.2.1 and
// step e of §9.1.2.2).
type NextHopObserver interface {
	// NextHopsChanged is called from the resolver's goroutine after a
	// batch of kernel events changed what Resolve returns for the given
	// watched addresses (reachable or not, interface, metric or gateway),
	// and once after every reload of the kernel's table that changed
	// any. The slice belongs to the callee. The resolver holds no lock
	// during the call, so the callee may call Resolve; it should hand
	// the work to its own goroutine rather than block, because kernel
	// events queue up meanwhile.
	NextHopsChanged(addrs []netip.Addr)
}

// ResolverConfig configures a Resolver; zero fields take their defaults.
type ResolverConfig struct {
	// Table is where next hops are looked up (default MainTable).
	Table int
	// Protocol is godwit's own: its routes never resolve a BGP next hop,
	// so that a BGP route cannot resolve through itself or another BGP
	// route (default DefaultProtocol).
	Protocol Protocol
	// Observer is told about changes of watched next hops (may be nil).
	Observer NextHopObserver
	// RetryMin bounds the wait before subscribing again after a failure
	// (default DefaultRetryMin, doubling up to DefaultRetryMax).
	RetryMin time.Duration
	Clock    Clock
	Logger   *slog.Logger
}

// Resolver tracks the kernel's routing table and answers whether a next hop
// is reachable, through which interface and gateway, and at what metric.
// The default route counts, as DESIGN.md asks; routes of godwit's own
// protocol do not; a route whose interfaces are all down does not; a
// blackhole, unreachable or prohibit route as the longest match makes the
// next hop unreachable. An IPv6 link-local address resolves only with a
// zone naming an interface that is up (fe80::1%eth0).
//
// Ownership: Run's goroutine is the only writer of the tables, links and
// watched, all guarded by mu; Resolve takes the read lock.
type Resolver struct {
	src RouteSource
	cfg ResolverConfig
	log *slog.Logger

	ready     chan struct{}
	readyOnce sync.Once

	mu      sync.RWMutex
	v4, v6  prefixTable
	links   map[int]bool
	names   map[int]string
	watched map[netip.Addr]Resolution
}

// Resolution is what Resolve found for an address.
type Resolution struct {
	// OK: the address is reachable.
	OK bool
	// Ifindex is the outgoing interface.
	Ifindex int
	// Metric is the resolving route's metric: the IGP cost of the
	// decision process.
	Metric uint32
	// Via is the resolving route's gateway; the zero Addr when the
	// address is on a connected network.
	Via netip.Addr
}

// NewResolver returns a resolver reading src; start it with Run.
func NewResolver(src RouteSource, cfg ResolverConfig) (*Resolver, error) {
	if cfg.Table == 0 {
		cfg.Table = MainTable
	}
	if cfg.Protocol == 0 {
		cfg.Protocol = DefaultProtocol
	}
	if err := cfg.Protocol.Validate(); err != nil {
		return nil, fmt.Errorf("fib: %w", err)
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{
		src:     src,
		cfg:     cfg,
		log:     cfg.Logger,
		ready:   make(chan struct{}),
		v4:      newPrefixTable(32),
		v6:      newPrefixTable(128),
		links:   map[int]bool{},
		names:   map[int]string{},
		watched: map[netip.Addr]Resolution{},
	}, nil
}

// Ready is closed once the kernel's table has been read for the first time;
// before that every address resolves as unreachable.
func (r *Resolver) Ready() <-chan struct{} { return r.ready }

// Resolve looks addr up in the kernel's table by longest match.
func (r *Resolver) Resolve(addr netip.Addr) (ok bool, ifindex int, metric uint32, via netip.Addr) {
	r.mu.RLock()
	res := r.lookupLocked(addr)
	r.mu.RUnlock()
	return res.OK, res.Ifindex, res.Metric, res.Via
}

// Watch starts tracking addrs: the observer hears when their resolution
// changes. Watching is not counted: one Unwatch ends it.
func (r *Resolver) Watch(addrs ...netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		a = a.Unmap()
		if _, ok := r.watched[a]; !ok {
			r.watched[a] = r.lookupLocked(a)
		}
	}
}

// Unwatch stops tracking addrs.
func (r *Resolver) Unwatch(addrs ...netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		delete(r.watched, a.Unmap())
	}
}

func (r *Resolver) lookupLocked(addr netip.Addr) Resolution {
	addr = addr.Unmap()
	if addr.Is6() && addr.IsLinkLocalUnicast() {
		// fe80::/64 is on every interface: the zone says which
		// (fe80::1%eth0, as a session over that link reports it).
		for idx, up := range r.links {
			if up && addr.Zone() != "" && (r.names[idx] == addr.Zone() || strconv.Itoa(idx) == addr.Zone()) {
				return Resolution{OK: true, Ifindex: idx}
			}
		}
		return Resolution{}
	}
	t := &r.v4
	if addr.Is6() {
		t = &r.v6
	}
	return t.lookup(addr, r.links)
}

// Run reads the kernel's table and follows its events until ctx is done;
// it returns after the subscription has ended.
func (r *Resolver) Run(ctx context.Context) error {
	wait := r.cfg.RetryMin
	for ctx.Err() == nil {
		err := r.follow(ctx)
		if ctx.Err() != nil {
			break
		}
		r.log.Warn("fib: next-hop tracking interrupted; starting again", "err", err, "in", wait)
		if !r.sleep(ctx, wait) {
			break
		}
		wait = min(2*wait, DefaultRetryMax)
	}
	return nil
}

func (r *Resolver) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	t := r.cfg.Clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// follow subscribes, loads the table and applies events until the
// subscription ends or needs a new start.
func (r *Resolver) follow(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	events, err := r.src.Subscribe(sctx, SubscribeOptions{Routes: true, Links: true, SkipProtocol: r.cfg.Protocol})
	if err != nil {
		cancel()
		return fmt.Errorf("subscribe: %w", err)
	}
	defer func() {
		cancel()
		for range events {
		}
	}()
	// Subscribed first, loaded second: no change falls between the two.
	if err := r.load(true); err != nil {
		return err
	}
	r.readyOnce.Do(func() { close(r.ready) })
	for {
		var ev Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case ev, ok = <-events:
		}
		if !ok {
			return errors.New("event stream ended")
		}
		reload := false
		r.mu.Lock()
		reload = r.eventLocked(ev) || reload
		for more := true; more; {
			select {
			case ev, ok = <-events:
				if !ok {
					r.mu.Unlock()
					return errors.New("event stream ended")
				}
				reload = r.eventLocked(ev) || reload
			default:
				more = false
			}
		}
		changed := r.rewatchLocked()
		r.mu.Unlock()
		r.notify(changed)
		if reload {
			if err := r.load(false); err != nil {
				return err
			}
		}
	}
}

// load reads the links and the table afresh and reports what changed.
func (r *Resolver) load(links bool) error {
	var ls []Link
	if links {
		var err error
		if ls, err = r.src.Links(); err != nil {
			return fmt.Errorf("links: %w", err)
		}
	}
	routes, err := r.src.Routes(r.cfg.Table)
	if err != nil {
		return fmt.Errorf("routes of table %d: %w", r.cfg.Table, err)
	}
	v4, v6 := newPrefixTable(32), newPrefixTable(128)
	for _, kr := range routes {
		if kr.Protocol == r.cfg.Protocol {
			continue
		}
		if kr.Prefix.Addr().Is4() {
			v4.upsert(kr)
		} else {
			v6.upsert(kr)
		}
	}
	r.mu.Lock()
	if links {
		r.links = map[int]bool{}
		r.names = map[int]string{}
		for _, l := range ls {
			r.links[l.Index] = l.Up
			r.names[l.Index] = l.Name
		}
	}
	r.v4, r.v6 = v4, v6
	changed := r.rewatchLocked()
	r.mu.Unlock()
	r.notify(changed)
	return nil
}

// eventLocked applies one event; it reports whether the table must be read
// again (a link went down or away: the kernel drops IPv4 routes through it
// without a notification, or events were lost).
func (r *Resolver) eventLocked(ev Event) bool {
	switch ev.Kind {
	case EventRouteAdd, EventRouteDelete:
		kr := ev.Route
		if kr.Table != r.cfg.Table || kr.Protocol == r.cfg.Protocol {
			return false
		}
		t := &r.v4
		if kr.Prefix.Addr().Is6() {
			t = &r.v6
		}
		if ev.Kind == EventRouteAdd {
			t.upsert(kr)
		} else {
			t.remove(kr)
		}
	case EventLink:
		was, known := r.links[ev.Link.Index]
		r.links[ev.Link.Index] = ev.Link.Up
		if ev.Link.Name != "" {
			r.names[ev.Link.Index] = ev.Link.Name
		}
		return known && was && !ev.Link.Up
	case EventLinkDelete:
		delete(r.links, ev.Link.Index)
		delete(r.names, ev.Link.Index)
		return true
	case EventLost:
		return true
	}
	return false
}

// rewatchLocked resolves every watched address again and returns those
// whose resolution changed.
func (r *Resolver) rewatchLocked() []netip.Addr {
	var changed []netip.Addr
	for a, old := range r.watched {
		if now := r.lookupLocked(a); now != old {
			r.watched[a] = now
			changed = append(changed, a)
		}
	}
	slices.SortFunc(changed, netip.Addr.Compare)
	return changed
}

func (r *Resolver) notify(changed []netip.Addr) {
	if len(changed) > 0 && r.cfg.Observer != nil {
		r.cfg.Observer.NextHopsChanged(changed)
	}
}

// prefixTable is a longest-match table: one map per prefix length, and the
// lengths in use, longest first. A kernel table has few distinct lengths,
// so a lookup is a handful of map probes.
type prefixTable struct {
	byLen []map[netip.Prefix][]KernelRoute
	lens  []int
}

func newPrefixTable(bits int) prefixTable {
	return prefixTable{byLen: make([]map[netip.Prefix][]KernelRoute, bits+1)}
}

// upsert adds kr, replacing a route of the same prefix and metric (the
// kernel's identity of a route).
func (t *prefixTable) upsert(kr KernelRoute) {
	p := kr.Prefix.Masked()
	l := p.Bits()
	m := t.byLen[l]
	if m == nil {
		m = map[netip.Prefix][]KernelRoute{}
		t.byLen[l] = m
		i, _ := slices.BinarySearchFunc(t.lens, l, func(a, b int) int { return b - a })
		t.lens = slices.Insert(t.lens, i, l)
	}
	rs := m[p]
	for i := range rs {
		if sameIdentity(rs[i], kr) {
			rs[i] = kr
			return
		}
	}
	m[p] = append(rs, kr)
}

// sameIdentity reports whether a and b are the same kernel route of one
// prefix: the same metric, and for a route without gateway (a connected
// network) the same interface, since every interface has its own fe80::/64
// at the same metric.
func sameIdentity(a, b KernelRoute) bool {
	return a.Metric == b.Metric && connectedIfindex(a) == connectedIfindex(b)
}

func connectedIfindex(kr KernelRoute) int {
	if len(kr.NextHops) == 1 && !kr.NextHops[0].Addr.IsValid() {
		return kr.NextHops[0].Ifindex
	}
	return 0
}

func (t *prefixTable) remove(kr KernelRoute) {
	p := kr.Prefix.Masked()
	m := t.byLen[p.Bits()]
	rs := m[p]
	for i := range rs {
		if sameIdentity(rs[i], kr) {
			rs = slices.Delete(rs, i, i+1)
			break
		}
	}
	if len(rs) > 0 {
		m[p] = rs
		return
	}
	delete(m, p)
	if len(m) == 0 {
		t.byLen[p.Bits()] = nil
		t.lens = slices.DeleteFunc(t.lens, func(l int) bool { return l == p.Bits() })
	}
}

// lookup finds the longest prefix holding a usable route for addr and
// resolves through the one with the lowest metric there.
func (t *prefixTable) lookup(addr netip.Addr, links map[int]bool) Resolution {
	for _, l := range t.lens {
		p, _ := addr.Prefix(l)
		var best *KernelRoute
		var bestNH NextHop
		for i := range t.byLen[l][p] {
			kr := &t.byLen[l][p][i]
			nh, usable := usableRoute(kr, links)
			if usable && (best == nil || kr.Metric < best.Metric) {
				best, bestNH = kr, nh
			}
		}
		if best == nil {
			continue
		}
		if best.Type != TypeUnicast {
			return Resolution{}
		}
		return Resolution{OK: true, Ifindex: bestNH.Ifindex, Metric: uint32(best.Metric), Via: bestNH.Addr}
	}
	return Resolution{}
}

// usableRoute reports whether kr takes part in lookups and, for a unicast
// route, its first next hop through an interface that is up (or unknown).
func usableRoute(kr *KernelRoute, links map[int]bool) (NextHop, bool) {
	switch kr.Type {
	case TypeBlackhole, TypeUnreachable, TypeProhibit:
		return NextHop{}, true
	case TypeUnicast:
	default:
		return NextHop{}, false
	}
	for _, nh := range kr.NextHops {
		if up, known := links[nh.Ifindex]; !known || up {
			return nh, true
		}
	}
	return NextHop{}, false
}
