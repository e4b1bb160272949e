package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// neighbor is one configured BGPPeer: its peer.Peer and its Handler,
// which turns the session's events into ops for the RIB loop.
//
// Ownership: spec and cfg are written by the reconciler under d.mu;
// adminCfg is the reconciler's alone; imp and sess belong to the handler
// calls (which never overlap); ribCounts is published by the RIB loop;
// monMu guards what the monitor last saw.
type neighbor struct {
	d    *Daemon
	name string
	key  peer.Key
	p    *peer.Peer
	log  *slog.Logger

	// ctx bounds the peer; cancelling it before Stop closes the session
	// without a NOTIFICATION (see stopPeers).
	ctx    context.Context
	cancel context.CancelFunc

	spec     *config.BGPPeerSpec
	cfg      peer.Config
	adminCfg bool // shutdown: true is in force

	imp       *importer
	sess      atomic.Pointer[peer.Session] // the Established session, nil otherwise
	ribCounts atomic.Pointer[familyCounts]
	group     atomic.Pointer[export.Group] // the session's update group, set by the RIB loop

	establishedCount atomic.Uint64
	// limitDown is set while the session is down for too many prefixes
	// (maxprefix.go); an operator's enable clears it.
	limitDown atomic.Bool

	monMu     sync.Mutex // guards the last* fields (the monitor, and a removal's final look)
	lastState peer.State
	lastSent  *peer.NotificationRecord
	lastRecv  *peer.NotificationRecord
}

func newNeighbor(d *Daemon, name string, spec *config.BGPPeerSpec, cfg peer.Config) *neighbor {
	return &neighbor{d: d, name: name, key: cfg.Key, spec: spec, cfg: cfg,
		log: d.log.With("neighbor", name, "address", cfg.Key.Addr)}
}

var _ peer.Handler = (*neighbor)(nil)

// SessionUp implements peer.Handler: the session's import settings are
// fixed, and the RIB loop puts the session in its update group, which
// sends it our table and End-of-RIB.
func (n *neighbor) SessionUp(s *peer.Session) {
	n.establishedCount.Add(1)
	n.d.mu.RLock()
	spec := n.spec
	g := n.d.global
	n.d.mu.RUnlock()
	ibgp := s.IBGP()
	routerID, clusterID := netip.Addr{}, netip.Addr{}
	if g != nil {
		routerID, clusterID = g.RouterID, g.RouteReflectorClusterID
		if !clusterID.IsValid() {
			clusterID = g.RouterID
		}
	}
	n.imp = &importer{t: n.d.rib.attrs, batches: &n.d.rib.batches, opts: attr.Options{AS4: s.Negotiated.Receive.AS4}, ibgp: ibgp,
		localAS: s.LocalAS, allowASIn: spec.AllowASIn, routerID: routerID, clusterID: clusterID, local: s.LocalAddr.Addr(), remote: s.RemoteAddr.Addr()}
	n.imp.policy.Store(n.d.importPolicy(spec.ImportPolicy))
	n.imp.keepPre = spec.SoftReconfigurationInbound
	n.imp.maxPath = spec.MaxASPathLength
	n.imp.zone = interfaceOf(s.LocalAddr.Addr())
	n.imp.peerAS = s.Negotiated.PeerAS
	if i := slices.Index(config.Roles, spec.Role); !ibgp && i >= 0 {
		r := iana.Role(i)
		n.imp.role = &r
	}
	src := &rib.Source{Addr: n.key.Addr, RouterID: s.Negotiated.PeerID, AS: s.Negotiated.PeerAS, IBGP: ibgp,
		RRClient: ibgp && spec.RouteReflectorClient}
	n.sess.Store(s)
	n.d.rib.post(opUp{n: n, s: s, src: src, cfg: n.d.exportConfig(spec, s, clusterID)})
	n.d.wakeMonitor()
}

// Updates implements peer.Handler: import runs here, in the peer's
// reader goroutine; the RIB loop gets the prepared batch.
func (n *neighbor) Updates(s *peer.Session, batch []*wire.Update) {
	if n.imp == nil {
		return
	}
	n.d.rib.post(opRoutes{n: n, s: s, b: n.imp.batch(batch)})
}

// RouteRefresh implements peer.Handler: the peer asks for our routes
// again (RFC 2918 §4). BoRR and EoRR from the peer (RFC 7313) frame its
// own re-advertisement and need nothing from us.
func (n *neighbor) RouteRefresh(s *peer.Session, rr *wire.RouteRefresh) {
	if rr.Subtype != iana.RefreshNormal || !s.Negotiated.HasFamily(rr.Family) {
		return
	}
	n.d.rib.post(opRefresh{n: n, s: s, fam: rr.Family})
}

// SessionDown implements peer.Handler: the session's paths are withdrawn,
// or kept as stale while the peer restarts gracefully.
func (n *neighbor) SessionDown(s *peer.Session, reason error, graceful bool) {
	n.sess.CompareAndSwap(s, nil)
	var restart time.Duration
	grFams := map[nlri.Family]bool{}
	if gr := s.Negotiated.GracefulRestart; gr != nil {
		restart = time.Duration(gr.Time) * time.Second
		// RFC 4724 §4.2: only the families the peer's capability lists
		// are kept (FRR's helper-only capability lists none).
		for _, f := range gr.Families {
			grFams[f.Family] = true
		}
	}
	llgr, llst := longLived(s)
	n.d.rib.post(opDown{n: n, s: s, graceful: graceful, restart: restart, grFams: grFams, llgr: llgr, llst: llst})
	n.log.Debug("session down", "reason", reason, "graceful", graceful)
	n.d.wakeMonitor()
	n.d.notify()
}

// status is the peer's Status.
func (n *neighbor) status() peer.Status { return n.p.Status() }

// session is the Established session, or nil.
func (n *neighbor) session() *peer.Session { return n.sess.Load() }

// shutdown closes the session with Cease / Administrative Shutdown (a Hard
// Reset when the N bit was exchanged, RFC 8538) and keeps it down.
func (n *neighbor) shutdown(message string) {
	n.limitDown.Store(false)
	n.p.Shutdown(message)
}

// enable undoes shutdown.
func (n *neighbor) enable() {
	n.limitDown.Store(false)
	n.p.Enable()
}

// close releases what the neighbour holds once its peer has stopped: its
// paths leave the RIB.
func (n *neighbor) close() {
	n.d.rib.post(opRemove{n: n})
}
