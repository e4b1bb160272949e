package daemon

// The kernel FIB: the best paths of the default VRF go to the kernel's main
// table, and the kernel tells the RIB which next hops it reaches.
//
//	RIB loop ──flush: the batch of changes──▶ kernelFIB.batches (mutex, never blocks the loop)
//	                                               │ wake
//	                                               ▼
//	                          writer goroutine: a desired route per prefix,
//	                          gateways resolved (recursively) through the Resolver
//	                                               │ Update (waits for the kernel)
//	                                               ▼
//	                           fib.Reconciler ──netlink──▶ kernel (protocol kernelProtocol)
//	kernel ──route/link events──▶ fib.Resolver ──NextHopsChanged──▶ RIB loop: LocRIB.NextHopsChanged
//	convergence goroutine: End-of-RIB from every peer, or the deferral time ──▶ writer ──▶ Reconciler.Converged
//
// A slow kernel costs the writer, never the RIB loop: batches queue and are
// folded into one desired route per prefix before the next Update. At start
// the routes of our protocol left by a previous run are adopted and kept
// until the RIB has converged, so that a restart (kill -9 included) never
// removes a route that is still right.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/fib"
	fibnl "github.com/godwit-bgp/godwit/fib/netlink"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Kernel is the routing table godwitd programs and reads: the Linux kernel
// through netlink unless Options.Kernel gives another (tests use fib/fake,
// so that a daemon on the host's loopback never touches the host's routes).
type Kernel interface {
	fib.Backend
	fib.RouteSource
}

// defaultDeferral bounds the wait for End-of-RIB before adopted kernel
// routes that are no longer desired are removed (DESIGN.md: the selection
// deferral time, default 30 s).
const defaultDeferral = 30 * time.Second

// kernelFIB connects the RIB loop with the reconciler and the resolver.
type kernelFIB struct {
	d        *Daemon
	log      *slog.Logger
	proto    fib.Protocol
	dryRun   bool
	rec      *fib.Reconciler
	res      *fib.Resolver
	close    func() error
	redist   *redistributor
	adopted  int
	deferral time.Duration

	mu         sync.Mutex
	batches    []fibBatch
	nhChanged  bool // forget the resolved gateways before the next batch
	convergeRq bool // call Converged after the queued batches are applied
	wake       chan struct{}

	converged atomic.Bool
	// blackholes are this node's own pod blocks: while we originate one,
	// the kernel gets a blackhole route for it (cluster.go).
	blackholes atomic.Pointer[map[netip.Prefix]bool]
	stopped    atomic.Bool // freeze: the writer writes no more
	writing    sync.Mutex  // held by the writer while it applies a batch
	lastErr    atomic.Pointer[errorAt]

	// Owned by the writer goroutine.
	gws     map[netip.Addr]gateway
	pending map[netip.Prefix]*fib.Route // nil: withdraw
	logged  time.Time
}

type errorAt struct {
	err error
	at  time.Time
}

// gateway is how a BGP next hop is reached: the kernel next hop to
// install (the next hop itself when it is on a connected network, else the
// gateway of the route that resolves it), shared as a one-element slice by
// every route through it.
type gateway struct {
	ok  bool
	nhs []fib.NextHop
}

// startFIB opens the kernel, adopts the routes a previous run left and
// starts the reconciler and the resolver. It runs before the RIB loop and
// the peers, so that the loop's tables resolve next hops from the start.
func (d *Daemon) startFIB(ctx context.Context) error {
	g := d.globalFromStore(ctx)
	proto := fib.Protocol(config.DefaultKernelProtocol)
	deferral := defaultDeferral
	metric := 0 // the reconciler's default
	if g != nil {
		proto = fib.Protocol(g.EffectiveKernelProtocol())
		metric = g.KernelMetric
		if gr := g.GracefulRestart; gr != nil && gr.SelectionDeferralTime > 0 {
			deferral = time.Duration(gr.SelectionDeferralTime) * time.Second
		}
	}
	k := &kernelFIB{d: d, log: d.log.With("component", "fib"), proto: proto, dryRun: d.opt.NoFIB,
		deferral: deferral, wake: make(chan struct{}, 1), gws: map[netip.Addr]gateway{},
		pending: map[netip.Prefix]*fib.Route{}}
	var be Kernel = d.opt.Kernel
	k.close = func() error { return nil }
	if be == nil {
		nb, err := fibnl.New(fibnl.Options{})
		if err != nil {
			return fmt.Errorf("kernel routing table (netlink): %w; run as root or with CAP_NET_ADMIN", err)
		}
		be, k.close = nb, nb.Close
	}
	var err error
	k.rec, err = fib.New(be, fib.Config{Protocol: proto, Metric: metric, DryRun: d.opt.NoFIB, HoldTime: deferral + 30*time.Second,
		Logger: k.log})
	if err != nil {
		k.close()
		return fmt.Errorf("kernel routes: %w", err)
	}
	k.res, err = fib.NewResolver(be, fib.ResolverConfig{Protocol: proto, Observer: k, Logger: k.log})
	if err != nil {
		k.close()
		return fmt.Errorf("next-hop tracking: %w", err)
	}
	if n, err := k.rec.Adopt(); err != nil {
		k.log.Warn("could not read the kernel's routes of our protocol; starting cold", "protocol", proto, "err", err)
	} else {
		k.adopted = n
		if n > 0 {
			k.log.Info("kept the kernel routes of the previous run until the RIB converges",
				"routes", n, "protocol", proto, "deferral", deferral)
		}
	}
	if g != nil && g.GracefulRestart != nil && g.GracefulRestart.Enabled && k.adopted > 0 && !k.dryRun {
		// A graceful restart (RFC 4724 §4.1): forwarding went on with
		// the kept routes; peers are told (R and F bits), and our
		// advertisements wait for their End-of-RIB.
		d.grRestart.Store(true)
		d.rib.deferring = true
		k.log.Info("graceful restart: forwarding state kept; advertising after every peer's End-of-RIB or the selection deferral time",
			"deferral", deferral)
	}
	k.redist = &redistributor{d: d, src: be, proto: proto, wake: make(chan struct{}, 1)}
	d.fib.Store(k)
	d.rib.v4.SetResolver(k)
	d.rib.v6.SetResolver(k)
	d.wg.Add(5)
	go func() { defer d.wg.Done(); d.failover(d.peersCtx, be) }()
	go func() { defer d.wg.Done(); k.redist.run(d.peersCtx) }()
	go func() { defer d.wg.Done(); k.rec.Run(d.peersCtx) }()
	go func() { defer d.wg.Done(); k.res.Run(d.peersCtx) }()
	go func() { defer d.wg.Done(); k.write(d.peersCtx) }()
	// Peers start after the kernel's table has been read: a path that
	// arrived before would count as unresolvable until the first event.
	select {
	case <-k.res.Ready():
	case <-time.After(10 * time.Second):
		k.log.Warn("the kernel's routing table was not read within 10 s; next hops count as unreachable until it is")
	case <-ctx.Done():
	}
	return nil
}

// globalFromStore is the BGPConfiguration the store holds at start.
func (d *Daemon) globalFromStore(ctx context.Context) *config.BGPConfigurationSpec {
	r, err := d.store.Get(ctx, config.KindBGPConfiguration, "default")
	if err != nil || r == nil {
		return nil
	}
	g, _ := r.Spec.(*config.BGPConfigurationSpec)
	return g
}

// Resolve implements rib.NextHopResolver for the RIB loop. A loopback next
// hop (a speaker on this host's loopback, as in the benchmarks; import
// accepts one only from a session over loopback) is reachable at cost 0.
func (k *kernelFIB) Resolve(addr netip.Addr) (bool, uint32) {
	if addr.Unmap().IsLoopback() {
		return true, 0
	}
	ok, _, metric, _ := k.res.Resolve(addr)
	return ok, metric
}

// Watch implements rib.NextHopResolver.
func (k *kernelFIB) Watch(addrs ...netip.Addr) { k.res.Watch(addrs...) }

// Unwatch implements rib.NextHopResolver.
func (k *kernelFIB) Unwatch(addrs ...netip.Addr) { k.res.Unwatch(addrs...) }

// NextHopsChanged implements fib.NextHopObserver: the writer forgets the
// gateways it resolved, and the RIB loop selects again the prefixes
// through those next hops (and re-sends the ones whose gateway changed).
func (k *kernelFIB) NextHopsChanged(addrs []netip.Addr) {
	k.mu.Lock()
	k.nhChanged = true
	k.mu.Unlock()
	l := k.d.rib
	l.post(opFunc{func() {
		n4 := l.v4.NextHopsChanged(addrs)
		n6 := l.v6.NextHopsChanged(addrs)
		if n4+n6 > 0 {
			k.log.Debug("next hops changed in the kernel", "next-hops", len(addrs), "tracked", n4+n6)
		}
	}})
}

// changes queues a batch of the RIB loop's changes (the loop calls it from
// flush; the batch is immutable and shared with the update groups).
// fibBatch is a batch of changes the writer has yet to fold, and what
// gives it back to the RIB loop.
type fibBatch struct {
	changes []export.Change
	done    func()
}

func (k *kernelFIB) changes(batch []export.Change, done func()) {
	k.mu.Lock()
	k.batches = append(k.batches, fibBatch{batch, done})
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// requestConverged asks the writer to tell the reconciler, after the
// batches queued so far, and ends a graceful restart's selection
// deferral.
func (k *kernelFIB) requestConverged() {
	if k.d.grRestart.Swap(false) {
		k.d.rib.post(opFunc{k.d.rib.endDeferral})
		k.log.Info("graceful restart complete: sending our routes")
	}
	k.mu.Lock()
	k.convergeRq = true
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// write is the writer goroutine.
func (k *kernelFIB) write(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.wake:
		}
		k.mu.Lock()
		batches, nh, conv := k.batches, k.nhChanged, k.convergeRq
		k.batches, k.nhChanged, k.convergeRq = nil, false, false
		k.mu.Unlock()
		if nh {
			clear(k.gws)
		}
		for _, b := range batches {
			for i := range b.changes {
				k.fold(&b.changes[i])
			}
			b.done()
		}
		k.writing.Lock()
		if k.stopped.Load() {
			k.writing.Unlock()
			return
		}
		if len(k.pending) > 0 {
			routes := make([]fib.Route, 0, len(k.pending))
			var withdraw []fib.Key
			for p, r := range k.pending {
				if r == nil {
					withdraw = append(withdraw, fib.Key{Table: fib.MainTable, Prefix: p})
				} else {
					routes = append(routes, *r)
				}
			}
			clear(k.pending)
			if err := k.rec.Update(ctx, routes, withdraw); err != nil && ctx.Err() == nil {
				k.noteErr(err)
			}
		}
		k.writing.Unlock()
		if conv && !k.converged.Swap(true) {
			k.rec.Converged()
		}
	}
}

// fold turns one change into the prefix's desired kernel route.
func (k *kernelFIB) fold(c *export.Change) {
	if c.Family != nlri.IPv4Unicast && c.Family != nlri.IPv6Unicast {
		return
	}
	p := c.Prefix()
	var nhs []fib.NextHop
	for _, s := range c.Paths[:c.NSel] {
		if s.Src.Local {
			// We originate it: no kernel route of ours, except the
			// blackhole of one of our pod blocks, so that traffic to an
			// unused address of the block is dropped here rather than
			// sent back towards the fabric.
			if bh := k.blackholes.Load(); bh != nil && (*bh)[p] {
				k.pending[p] = &fib.Route{Table: fib.MainTable, Prefix: p, Blackhole: true}
				return
			}
			nhs = nil
			break
		}
		gw := k.gateway(s.Attrs.NextHop)
		if !gw.ok || containsNextHop(nhs, gw.nhs[0]) {
			continue
		}
		if nhs == nil {
			nhs = gw.nhs // shared: one next hop, the common case
		} else {
			nhs = append(nhs[:len(nhs):len(nhs)], gw.nhs[0])
		}
	}
	if len(nhs) == 0 {
		k.pending[p] = nil
		return
	}
	k.pending[p] = &fib.Route{Table: fib.MainTable, Prefix: p, NextHops: nhs}
}

func containsNextHop(nhs []fib.NextHop, n fib.NextHop) bool {
	for _, x := range nhs {
		if x.Addr == n.Addr {
			return true
		}
	}
	return false
}

// gateway resolves a BGP next hop to the kernel next hop, once per next
// hop until the kernel changes.
func (k *kernelFIB) gateway(nh netip.Addr) gateway {
	if g, ok := k.gws[nh]; ok {
		return g
	}
	g := gateway{}
	if nh.IsValid() && !nh.IsUnspecified() && !nh.Unmap().IsLoopback() {
		// A loopback next hop (a speaker on this host) has nothing to
		// forward to: no kernel route.
		if ok, ifindex, _, via := k.res.Resolve(nh); ok {
			to := nh.Unmap()
			if via.IsValid() && !via.IsUnspecified() {
				to = via // recursive: through the route that resolves it
			}
			g = gateway{ok: true, nhs: []fib.NextHop{{Addr: to, Ifindex: ifindex}}}
		}
	}
	k.gws[nh] = g
	return g
}

// noteErr keeps the last kernel error for the API and logs it, at most
// every ten seconds (the reconciler retries failed routes with backoff).
func (k *kernelFIB) noteErr(err error) {
	now := time.Now()
	k.lastErr.Store(&errorAt{err, now})
	if now.Sub(k.logged) < 10*time.Second {
		return
	}
	k.logged = now
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	k.log.Warn("kernel routes not as desired; retrying", "err", msg)
}

// awaitConvergence tells the reconciler that the RIB has converged once
// every neighbour is Established and has sent End-of-RIB for each of its
// families, or the deferral time has passed: the adopted routes that are
// not desired by then are removed.
func (k *kernelFIB) awaitConvergence(ctx context.Context) {
	if k.adopted == 0 {
		k.requestConverged()
		return
	}
	deadline := time.NewTimer(k.deferral)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			k.log.Info("not every peer sent End-of-RIB within the deferral time; removing the kept kernel routes that are not desired",
				"deferral", k.deferral)
			k.requestConverged()
			return
		case <-tick.C:
			if k.d.ribConverged() {
				k.log.Info("every peer sent End-of-RIB; removing the kept kernel routes that are not desired")
				k.requestConverged()
				return
			}
		}
	}
}

// ribConverged reports whether every neighbour is up and has sent
// End-of-RIB for every family of its session.
func (d *Daemon) ribConverged() bool {
	ns := d.neighborList()
	done := true
	ok := d.rib.query(func() {
		for _, n := range ns {
			rs := d.rib.srcs[n]
			if rs == nil || rs.session == nil || rs.member == nil {
				done = false
				return
			}
			for _, f := range rs.member.Families {
				if !rs.eor[f] {
					done = false
					return
				}
			}
		}
	})
	return ok && done
}

// freeze stops the writer, after the batch it may be applying: at a stop
// the sessions going down must not take their routes out of the kernel
// one by one (a graceful stop keeps them; a plain one removes them all at
// once in stopFIB).
func (k *kernelFIB) freeze() {
	k.stopped.Store(true)
	k.writing.Lock()
	k.writing.Unlock() // waits for the writer's batch
}

// stopFIB removes our kernel routes at a plain stop; with graceful restart
// they stay, for the next run to adopt (forwarding is preserved, RFC 4724
// §4.1). It waits at most timeout.
func (k *kernelFIB) stopFIB(graceful bool, timeout time.Duration) {
	k.freeze()
	if graceful || k.dryRun {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := k.rec.Set(ctx, nil); err != nil && !errors.Is(err, context.Canceled) {
		k.log.Warn("could not remove every kernel route at stop", "err", err)
	}
}

// FIB is desired against installed, for `godwit fib`.
type FIB struct {
	Status  fib.Status
	Entries []fib.DiffEntry
	// NextHops are the tracked BGP next hops.
	NextHops  []rib.NextHop
	Converged bool
	Adopted   int
	LastError error
	LastErrAt time.Time
}

// ErrNotReady is returned by FIB before Run has opened the kernel.
var ErrNotReady = errors.New("godwitd is starting: the kernel routing table is not open yet")

// FIB returns the reconciler's state; all lists every key, else only the
// differences.
func (d *Daemon) FIB(ctx context.Context, all bool) (FIB, error) {
	k := d.fib.Load()
	if k == nil {
		return FIB{}, ErrNotReady
	}
	entries, err := k.rec.Diff(ctx, all)
	if err != nil {
		return FIB{}, err
	}
	out := FIB{Status: k.rec.Status(), Entries: entries, Converged: k.converged.Load(), Adopted: k.adopted}
	if e := k.lastErr.Load(); e != nil {
		out.LastError, out.LastErrAt = e.err, e.at
	}
	if !d.rib.query(func() {
		out.NextHops = append(d.rib.v4.NextHops(), d.rib.v6.NextHops()...)
	}) {
		return FIB{}, ErrStopped
	}
	return out, nil
}

// fibCollector exports the reconciler's status at scrape time.
type fibCollector struct{ d *Daemon }

var (
	descFIBRoutes = prometheus.NewDesc("godwit_fib_routes",
		"Kernel routes of godwit's protocol: desired, installed, held (adopted from the previous run, kept until convergence), pending (not yet as desired) and failed (last write failed, being retried).",
		[]string{"state"}, nil)
	descFIBOps = prometheus.NewDesc("godwit_fib_operations_total",
		"Kernel route writes applied since start, by operation (add, replace, delete).", []string{"op"}, nil)
	descFIBConverged = prometheus.NewDesc("godwit_fib_converged",
		"1 once the RIB has converged after start and adopted routes that are not desired have been removed.", nil, nil)
	descFIBLastSync = prometheus.NewDesc("godwit_fib_last_sync_timestamp_seconds",
		"When the kernel's routes were last read in full (Unix time).", nil, nil)
)

func (c *fibCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descFIBRoutes
	ch <- descFIBOps
	ch <- descFIBConverged
	ch <- descFIBLastSync
}

func (c *fibCollector) Collect(ch chan<- prometheus.Metric) {
	k := c.d.fib.Load()
	if k == nil {
		return
	}
	st := k.rec.Status()
	for _, s := range []struct {
		name string
		n    int
	}{{"desired", st.Desired}, {"installed", st.Installed}, {"held", st.Held}, {"pending", st.Pending}, {"failed", st.Failed}} {
		ch <- prometheus.MustNewConstMetric(descFIBRoutes, prometheus.GaugeValue, float64(s.n), s.name)
	}
	ch <- prometheus.MustNewConstMetric(descFIBOps, prometheus.CounterValue, float64(st.Added), "add")
	ch <- prometheus.MustNewConstMetric(descFIBOps, prometheus.CounterValue, float64(st.Replaced), "replace")
	ch <- prometheus.MustNewConstMetric(descFIBOps, prometheus.CounterValue, float64(st.Deleted), "delete")
	conv := 0.0
	if k.converged.Load() {
		conv = 1
	}
	ch <- prometheus.MustNewConstMetric(descFIBConverged, prometheus.GaugeValue, conv)
	if !st.LastSync.IsZero() {
		ch <- prometheus.MustNewConstMetric(descFIBLastSync, prometheus.GaugeValue, float64(st.LastSync.UnixNano())/1e9)
	}
}

// setBlackholes sets the pod blocks that get blackhole routes while we
// originate them.
func (k *kernelFIB) setBlackholes(ps []netip.Prefix) {
	m := make(map[netip.Prefix]bool, len(ps))
	for _, p := range ps {
		m[p.Masked()] = true
	}
	k.blackholes.Store(&m)
}
