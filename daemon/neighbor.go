package daemon

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
)

// neighbor is one configured BGPPeer: its peer.Peer, and the routing state
// this version keeps for it (the Adj-RIB-In, and the Adj-RIB-Out of its
// current session in the advertiser). It is the peer's Handler.
//
// Ownership: spec and cfg are written by the reconciler under d.mu;
// adminCfg is the reconciler's alone; in guards itself; out is guarded by
// outMu; the counters are atomics; monMu guards what the monitor last saw.
type neighbor struct {
	d    *Daemon
	name string
	key  peer.Key
	p    *peer.Peer
	log  *slog.Logger

	// ctx bounds the peer and the advertisers; cancelling it before Stop
	// closes the session without a NOTIFICATION (see stopPeers).
	ctx    context.Context
	cancel context.CancelFunc

	spec     *config.BGPPeerSpec
	cfg      peer.Config
	adminCfg bool // shutdown: true is in force

	in adjRIBIn

	outMu sync.Mutex
	out   *advertiser // the Established session's; nil otherwise

	establishedCount atomic.Uint64

	monMu     sync.Mutex // guards the last* fields (the monitor, and a removal's final look)
	lastState peer.State
	lastSent  *peer.NotificationRecord
	lastRecv  *peer.NotificationRecord
}

func newNeighbor(d *Daemon, name string, spec *config.BGPPeerSpec, cfg peer.Config) *neighbor {
	n := &neighbor{d: d, name: name, key: cfg.Key, spec: spec, cfg: cfg,
		log: d.log.With("neighbor", name, "address", cfg.Key.Addr)}
	n.in.init(n)
	return n
}

var _ peer.Handler = (*neighbor)(nil)

// SessionUp implements peer.Handler: it starts the advertiser that sends
// our Announcements, then End-of-RIB, on this session.
func (n *neighbor) SessionUp(s *peer.Session) {
	n.establishedCount.Add(1)
	n.in.sessionUp(s)
	a := newAdvertiser(n, s)
	n.outMu.Lock()
	n.out = a
	n.outMu.Unlock()
	n.d.wg.Add(1)
	go func() {
		defer n.d.wg.Done()
		a.run(n.ctx)
	}()
	n.d.wakeMonitor()
}

// Updates implements peer.Handler.
func (n *neighbor) Updates(s *peer.Session, batch []*wire.Update) {
	n.in.update(s, batch)
	n.d.notify()
}

// RouteRefresh implements peer.Handler: the peer asks for our routes
// again (RFC 2918 §4, RFC 7313).
func (n *neighbor) RouteRefresh(s *peer.Session, rr *wire.RouteRefresh) {
	if a := n.advertiser(); a != nil && a.s == s {
		a.refresh(rr.Family, rr.Subtype)
	}
}

// SessionDown implements peer.Handler: the Adj-RIB-In is flushed, or kept
// as stale while the peer restarts gracefully.
func (n *neighbor) SessionDown(s *peer.Session, reason error, graceful bool) {
	n.outMu.Lock()
	if n.out != nil && n.out.s == s {
		n.out = nil
	}
	n.outMu.Unlock()
	n.in.sessionDown(s, graceful)
	n.log.Debug("session down", "reason", reason, "graceful", graceful)
	n.d.wakeMonitor()
	n.d.notify()
}

// status is the peer's Status.
func (n *neighbor) status() peer.Status { return n.p.Status() }

// advertiser is the current session's advertiser, or nil.
func (n *neighbor) advertiser() *advertiser {
	n.outMu.Lock()
	defer n.outMu.Unlock()
	return n.out
}

// shutdown closes the session with Cease / Administrative Shutdown (a Hard
// Reset when the N bit was exchanged, RFC 8538) and keeps it down.
func (n *neighbor) shutdown(message string) {
	n.p.Shutdown(message)
}

// enable undoes shutdown.
func (n *neighbor) enable() {
	n.p.Enable()
}

// config is the neighbour's session configuration.
func (n *neighbor) config() peer.Config {
	n.d.mu.RLock()
	defer n.d.mu.RUnlock()
	return n.cfg
}

// close releases what the neighbour holds once its peer has stopped.
func (n *neighbor) close() {
	n.in.close()
}
