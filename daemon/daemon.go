package daemon

// The goroutines of a running Daemon and what flows between them:
//
//	 FileSource.Load (New, Reload) ──┐        ┌── poller (--watch-config): FileSource.Poll
//	                                 ▼        ▼
//	                         config.Memory store ──Watch──▶ reconciler ──┬─ peer.New/Start/Update/Stop
//	                                                       (owns the     ├─ transport.Listen, SetPeerKey/TTL
//	                                                        running      └─ origins (atomic swap) ──wake──▶ advertisers
//	                                                        config)
//	 transport.Listener ──accept──▶ peer.Dispatcher ──▶ peer.Peer (its own goroutines, see package peer)
//	 peer reader ──Handler: SessionUp/Updates/RouteRefresh/SessionDown──▶ neighbor (Adj-RIB-In, mutex)
//	 SessionUp ──starts──▶ advertiser (one per session): Adj-RIB-Out diff ──Session.Send──▶ peer writer
//	 monitor (ticker) ──peer.Status()──▶ state-change log lines, NOTIFICATION counters, wakes subscribers
//	 metrics / pprof HTTP servers (when asked) ──read──▶ peer.Status() snapshots, neighbor counters
//	 API (package api/backend) ──read──▶ Neighbors, Routes, ConfigState; ──Action──▶ peer methods
//
// Every goroutine is started by Run (or by a goroutine Run started), is
// tracked by d.wg, and ends when Run's context ends or Stop is called; Run
// returns only after all of them have.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/cluster"
	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/transport"
)

// Options configure a Daemon. Only ConfigPath is required.
type Options struct {
	// ConfigPath is the configuration file (resources in YAML).
	ConfigPath string
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on
	// this host:port.
	MetricsAddr string
	// PprofAddr, when set, serves net/http/pprof at /debug/pprof/ on this
	// host:port. Keep it on loopback: profiles show memory contents.
	PprofAddr string
	// NoFIB keeps learned routes out of the kernel: the kernel is still
	// read (next hops resolve through it, and `godwit fib` shows what
	// would be written), never written.
	NoFIB bool
	// Kernel is the routing table to program and read; nil means the
	// Linux kernel through netlink. Tests give a fib/fake kernel, so
	// that a daemon on the host's loopback never touches its routes.
	Kernel Kernel
	// WatchConfig, when positive, polls the configuration file at this
	// interval and reloads it when its content changes.
	WatchConfig time.Duration
	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
	// Version is reported by the status API and the build info metric.
	Version string

	// PeerPort is the TCP port peers are dialled on; 0 means 179. Tests
	// run several speakers on one host and give them another port.
	PeerPort uint16
	// IdleHoldTime is the first back-off after a session failure (default
	// the peer layer's, 1 s). Tests shorten it.
	IdleHoldTime time.Duration
	// Node, when set, is this speaker's Node in a cluster configuration:
	// its AS, router ID, sessions, pod blocks and LoadBalancer addresses
	// are derived from the shared resources (cluster.go).
	Node string
	// ClusterState is the allocation file of pod blocks and LoadBalancer
	// addresses (default DefaultClusterState); nodes on one machine may
	// share it.
	ClusterState string

	// MonitorInterval is how often session states are sampled for the
	// state-change log and the watch feed (default 100 ms).
	MonitorInterval time.Duration
}

// Daemon is one BGP speaker: the configuration store and its file source,
// the transport listener, one peer.Peer per BGPPeer, the per-neighbour
// Adj-RIB-In and Adj-RIB-Out of this minimal version, metrics and the
// query surface the API backend uses.
//
// Ownership: the reconciler goroutine is the only writer of the running
// configuration (global, neighbors, listener); it writes under mu, and
// readers (API, metrics, monitor) take mu for reading. Nothing calls into
// a peer.Peer while holding mu, since peer methods wait for the peer's
// driver, which may be calling the neighbour's Handler methods.
type Daemon struct {
	opt   Options
	log   *slog.Logger
	store *config.Memory
	file  *config.FileSource
	peerM *peer.Metrics
	disp  *peer.Dispatcher
	met   *metrics

	started time.Time

	// origins is the announcement set; replaced whole by the reconciler,
	// which hands it to the RIB loop.
	origins atomic.Pointer[originSet]
	// originMu guards annCfg (the configured Announcements, copied by
	// the reconciler) and annRuntime (added through the API), from which
	// the origin set is built.
	originMu   sync.Mutex
	annCfg     map[string]*config.AnnouncementSpec
	annRuntime map[netip.Prefix]*config.AnnouncementSpec
	// annRedist are the kernel routes Redistributions select, one
	// announcement per Redistribution (redistribute.go).
	annRedist map[string]*config.AnnouncementSpec
	// annCluster are this node's pod blocks and LoadBalancer addresses
	// (cluster.go).
	annCluster map[string]*config.AnnouncementSpec
	// Cluster mode: the allocation file, the last derivation error (said
	// once), and the peer type of each derived neighbour (under mu).
	alloc     *cluster.Allocator
	deriveErr string
	peerTypes map[string]string
	// rib owns the Loc-RIBs and the update groups (ribloop.go).
	rib *ribLoop
	// fib writes the best routes to the kernel and resolves next hops
	// (fib.go); set by Run before the RIB loop starts.
	fib atomic.Pointer[kernelFIB]
	// grRestart is set while we come back from a graceful restart with
	// our kernel routes kept: the R and F bits of our OPENs (RFC 4724).
	grRestart atomic.Bool
	// policies are the compiled RoutePolicies by name; replaced whole.
	policies atomic.Pointer[map[string]*compiledPolicy]

	mu        sync.RWMutex
	global    *config.BGPConfigurationSpec // nil until a BGPConfiguration exists
	neighbors map[string]*neighbor         // by BGPPeer name
	byAddr    map[netip.Addr]*neighbor
	listener  *transport.Listener
	listenOn  []string // the addresses listener was opened with
	listenErr error    // the last failure to (re)open the listener

	// desired is the configuration as the store has it; owned by the
	// reconciler goroutine (no lock).
	desired desired

	loadMu      sync.Mutex // guards the fields below
	loads       uint64     // successful loads of the file
	lastAttempt time.Time

	subsMu sync.Mutex
	subs   map[chan struct{}]struct{}

	monitorWake chan struct{} // one pending request for the monitor to sample now

	runOnce sync.Once
	ctx     context.Context // Run's context, cancelled by Stop
	cancel  context.CancelFunc
	// peersCtx bounds the peers and the listener. It is not Run's context:
	// the peers must outlive Stop long enough to be sent their Cease
	// (stopPeers), and shutdown cancels it afterwards.
	peersCtx    context.Context
	peersCancel context.CancelFunc
	stopMu      sync.Mutex
	stopHard    bool // Stop(true) was asked for
	done        chan struct{}
	wg          sync.WaitGroup
}

// desired is the configuration the store holds, as the reconciler last
// saw it.
type desired struct {
	global *config.Resource
	peers  map[string]*config.Resource
	anns   map[string]*config.Resource
	redis  map[string]*config.Resource // Redistributions
	// The configured BGPConfiguration and BGPPeers, and the cluster's
	// resources; global and peers are the effective ones (derive in
	// cluster.go: the same as configured without --node).
	cfgGlobal         *config.Resource
	cfgPeers          map[string]*config.Resource
	nodes, pools, lbs map[string]*config.Resource
	pols              map[string]*config.Resource
}

func newDesired() desired {
	s := desired{anns: map[string]*config.Resource{}, pols: map[string]*config.Resource{},
		redis: map[string]*config.Resource{}, cfgPeers: map[string]*config.Resource{}, nodes: map[string]*config.Resource{},
		pools: map[string]*config.Resource{}, lbs: map[string]*config.Resource{}}
	s.peers = s.cfgPeers
	return s
}

// ErrStopped is returned by queries and actions once the daemon has
// stopped.
var ErrStopped = errors.New("godwitd is stopping")

// New reads the configuration file into a new store. A file that cannot
// be read or is not valid is an error (the caller exits with it). New
// starts nothing: Run does.
func New(opt Options) (*Daemon, error) {
	if opt.ConfigPath == "" {
		return nil, errors.New("no configuration file given (--config FILE)")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MonitorInterval <= 0 {
		opt.MonitorInterval = 100 * time.Millisecond
	}
	d := &Daemon{
		opt:         opt,
		log:         opt.Logger,
		store:       config.NewMemory(),
		peerM:       peer.NewMetrics(),
		neighbors:   map[string]*neighbor{},
		byAddr:      map[netip.Addr]*neighbor{},
		subs:        map[chan struct{}]struct{}{},
		monitorWake: make(chan struct{}, 1),
		done:        make(chan struct{}),
		started:     time.Now(),
		desired:     newDesired(),
	}
	d.disp = peer.NewDispatcher(d.log)
	d.origins.Store(&originSet{byPrefix: map[netip.Prefix]*origin{}})
	d.peersCtx, d.peersCancel = context.WithCancel(context.Background())
	d.rib = newRibLoop(d, rib.NewOptions())
	d.rib.ctx = d.peersCtx
	d.met = newMetrics(d)
	d.file = config.NewFileSource(d.store, opt.ConfigPath)
	res, err := d.file.Load(context.Background())
	d.recordLoad("start", res, err)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if g := d.globalFromStore(context.Background()); g != nil && !g.RouterID.IsValid() && opt.Node == "" {
		return nil, fmt.Errorf("configuration: %s: %w", opt.ConfigPath, errNoRouterID(""))
	}
	return d, nil
}

// Run starts the speaker and blocks until ctx ends or Stop is called;
// then it stops every peer (see Stop for the NOTIFICATION they get) and
// returns once every goroutine it started has ended. A listener or HTTP
// server that cannot be opened at start is an error. Run may be called
// once.
func (d *Daemon) Run(ctx context.Context) error {
	err := errors.New("daemon: Run called twice")
	d.runOnce.Do(func() { err = d.run(ctx) })
	return err
}

func (d *Daemon) run(parent context.Context) error {
	defer close(d.done)
	d.stopMu.Lock()
	if d.cancel == nil {
		d.ctx, d.cancel = context.WithCancel(parent)
	}
	ctx := d.ctx
	d.stopMu.Unlock()
	defer d.cancel()
	defer d.peersCancel()
	if ctx.Err() != nil {
		return nil // stopped before it started
	}

	if err := d.startHTTP(ctx); err != nil {
		d.cancel() // ends the servers that did start
		d.wg.Wait()
		return err
	}
	events, err := d.store.Watch(ctx, watchedKinds...)
	if err != nil {
		d.cancel()
		d.wg.Wait()
		return fmt.Errorf("configuration store: %w", err)
	}
	if err := d.startFIB(ctx); err != nil {
		d.cancel()
		d.wg.Wait()
		return err
	}
	// The RIB loop lives as long as the peers, which hand it their last
	// events while they stop.
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.rib.run(d.peersCtx)
	}()
	// The first snapshot is applied here, so that a listener that cannot
	// open fails the start.
	if err := d.applySnapshot(events); err != nil {
		d.cancel()
		d.shutdown()
		return err
	}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.fib.Load().awaitConvergence(d.peersCtx) }()
	d.log.Info("godwitd running", "as", d.asNumber(), "router-id", d.routerID(), "peers", len(d.neighborList()),
		"config", d.opt.ConfigPath, "no-fib", d.opt.NoFIB)
	// The loops that change the running configuration end before the
	// peers are stopped, so that none is added behind shutdown's back.
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); d.reconcileLoop(ctx, events) }()
	go func() { defer loops.Done(); d.monitor(ctx) }()
	if d.opt.WatchConfig > 0 {
		loops.Add(1)
		go func() { defer loops.Done(); d.pollConfig(ctx) }()
	}
	<-ctx.Done()
	loops.Wait()
	d.shutdown()
	return nil
}

// Reload re-reads the configuration file (SIGHUP). A bad file changes
// nothing: the error is logged, counted, and kept in the config status,
// and the last good configuration stays in force. The changes of a good
// file reach the running speaker through the store's watch.
func (d *Daemon) Reload() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := d.file.Load(ctx)
	d.recordLoad("reload", res, err)
	return err
}

// Stop ends Run. Every peer gets a Cease: a Hard Reset (RFC 8538)
// wrapping Administrative Shutdown, so that it withdraws our routes at
// once, unless hard is false and graceful restart is enabled in the
// BGPConfiguration; then the restart is an intended graceful one and
// peers keep our routes (see stopPeers). Stop returns at once; Run returns
// when everything has stopped. Calling Stop before Run makes Run return
// at once.
func (d *Daemon) Stop(hard bool) {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	d.stopHard = d.stopHard || hard
	if d.cancel != nil {
		d.cancel()
		return
	}
	// Run has not started: make it return at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.ctx, d.cancel = ctx, cancel
}

// Done is closed when Run has returned.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// shutdown stops everything Run started and waits for it.
func (d *Daemon) shutdown() {
	d.stopMu.Lock()
	hard := d.stopHard
	d.stopMu.Unlock()
	d.mu.Lock()
	ns := make([]*neighbor, 0, len(d.neighbors))
	for _, n := range d.neighbors {
		ns = append(ns, n)
	}
	graceful := !hard && d.global != nil && d.global.GracefulRestart != nil && d.global.GracefulRestart.Enabled
	d.mu.Unlock()
	if k := d.fib.Load(); k != nil {
		k.freeze()
	}
	d.stopPeers(ns, graceful)
	d.mu.Lock()
	ln := d.listener
	d.listener = nil
	clear(d.neighbors)
	clear(d.byAddr)
	d.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if k := d.fib.Load(); k != nil {
		k.stopFIB(graceful, 30*time.Second)
	}
	d.peersCancel()
	d.wg.Wait()
	if k := d.fib.Load(); k != nil {
		k.close()
	}
	d.log.Info("godwitd stopped")
}

// recordLoad logs and counts a load of the configuration file.
func (d *Daemon) recordLoad(what string, res config.ApplyResult, err error) {
	now := time.Now()
	d.loadMu.Lock()
	d.lastAttempt = now
	if err == nil {
		d.loads++
	}
	d.loadMu.Unlock()
	if err != nil {
		d.met.reloads.WithLabelValues("failure").Inc()
		d.logConfigError(what, err)
		d.notify()
		return
	}
	d.met.reloads.WithLabelValues("success").Inc()
	d.met.lastReload.Set(float64(now.UnixNano()) / 1e9)
	d.log.Info("configuration loaded", "when", what, "file", d.opt.ConfigPath,
		"added", len(res.Added), "modified", len(res.Modified), "deleted", len(res.Deleted), "unchanged", len(res.Unchanged))
	d.notify()
}

// logConfigError logs each problem of a rejected file with its place.
func (d *Daemon) logConfigError(what string, err error) {
	kept := "kept the last good configuration"
	if what == "start" {
		kept = "not starting"
	}
	errs := config.Errors(err)
	if len(errs) == 0 {
		d.log.Error("configuration rejected; "+kept, "when", what, "file", d.opt.ConfigPath, "err", err)
		return
	}
	for _, e := range errs {
		d.log.Error("configuration rejected; "+kept, "when", what, "file", e.File, "document", e.Document,
			"kind", string(e.Kind), "name", e.Name, "line", e.Line, "field", e.Path, "reason", e.Reason)
	}
}

// pollConfig is the --watch-config goroutine.
func (d *Daemon) pollConfig(ctx context.Context) {
	t := time.NewTicker(d.opt.WatchConfig)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !d.file.Poll(ctx) {
				continue
			}
			st := d.file.Status()
			d.recordLoad("watch", st.Result, st.LastError)
		}
	}
}

// asNumber and routerID read the running global configuration.
func (d *Daemon) asNumber() uint32 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.global == nil {
		return 0
	}
	return uint32(d.global.ASNumber)
}

func (d *Daemon) routerID() netip.Addr {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.global == nil {
		return netip.Addr{}
	}
	return d.global.RouterID
}

// neighborList returns the running neighbours.
func (d *Daemon) neighborList() []*neighbor {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*neighbor, 0, len(d.neighbors))
	for _, n := range d.neighbors {
		out = append(out, n)
	}
	return out
}

// Subscribe returns a channel that receives a value (coalesced: at most
// one pending) whenever a session state, a route table or the
// configuration status may have changed, and a function that ends the
// subscription. Watchers re-read the state and compare.
func (d *Daemon) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	d.subsMu.Lock()
	d.subs[ch] = struct{}{}
	d.subsMu.Unlock()
	return ch, func() {
		d.subsMu.Lock()
		delete(d.subs, ch)
		d.subsMu.Unlock()
	}
}

// notify wakes every subscriber without ever blocking.
func (d *Daemon) notify() {
	d.subsMu.Lock()
	defer d.subsMu.Unlock()
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
