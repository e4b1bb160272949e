package daemon

// What the API backend (package api/backend) reads and asks. Answers
// are copies or immutable snapshots: nothing returned here is changed by
// the daemon afterwards, and no lock is held once a method returns.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Errors of queries and actions.
var (
	// ErrNoNeighbor: no configured neighbour has that address.
	ErrNoNeighbor = errors.New("no such neighbor")
	// ErrNotEstablished: the action needs an Established session.
	ErrNotEstablished = errors.New("the session is not Established")
	// ErrNoRouteRefresh: the peer did not announce route refresh.
	ErrNoRouteRefresh = errors.New("the peer did not announce the route refresh capability (RFC 2918)")
)

// Info is the speaker's overview.
type Info struct {
	ASNumber  uint32
	RouterID  netip.Addr
	StartedAt time.Time
	Version   string
	// Routes counts the paths of the table: accepted ones and our own.
	Routes uint64
}

// Info returns the speaker's overview.
func (d *Daemon) Info() Info {
	info := Info{ASNumber: d.asNumber(), RouterID: d.routerID(), StartedAt: d.started, Version: d.opt.Version}
	for _, n := range d.neighborList() {
		for _, v := range ribCountsOf(n).accepted {
			info.Routes += uint64(v)
		}
	}
	info.Routes += uint64(len(d.origins.Load().byPrefix))
	return info
}

// NeighborInfo is one configured neighbour. It holds no password.
type NeighborInfo struct {
	Name        string // the BGPPeer's name
	Address     netip.Addr
	PeerAS      uint32
	LocalAS     uint32
	Description string
	// LocalAddress is the configured source address (invalid: the
	// kernel's choice).
	LocalAddress         netip.Addr
	Passive              bool
	RouteReflectorClient bool
	ImportPolicy         string
	ExportPolicy         string
	// HoldTime and KeepaliveTime are the configured timers.
	HoldTime, KeepaliveTime time.Duration
	// Families are the configured families.
	Families []nlri.Family
	// Status is the peer's snapshot (state, session, counters,
	// NOTIFICATIONs).
	Status   peer.Status
	Prefixes []FamilyPrefixes
	// PrefixesWithdrawn counts withdrawn NLRI received.
	PrefixesWithdrawn uint64
	// EstablishedCount counts the sessions that reached Established.
	EstablishedCount uint64
	// PeerType says why the neighbour exists, in calicoctl's words
	// ("node-to-node mesh", "global", "node specific", "route reflector
	// client"); empty for a BGPPeer used as written.
	PeerType string
}

// Totals sums Prefixes over the families.
func (n *NeighborInfo) Totals() (received, accepted, advertised uint64) {
	for _, p := range n.Prefixes {
		received += p.Received
		accepted += p.Accepted
		advertised += p.Advertised
	}
	return
}

// Neighbors returns every running neighbour, by address.
func (d *Daemon) Neighbors() []NeighborInfo {
	ns := d.neighborList()
	out := make([]NeighborInfo, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.info())
	}
	slices.SortFunc(out, func(a, b NeighborInfo) int { return a.Address.Compare(b.Address) })
	return out
}

// Neighbor returns the neighbour with address addr, or ErrNoNeighbor.
func (d *Daemon) Neighbor(addr netip.Addr) (NeighborInfo, error) {
	n := d.lookup(addr)
	if n == nil {
		return NeighborInfo{}, fmt.Errorf("%w %s", ErrNoNeighbor, addr)
	}
	return n.info(), nil
}

func (d *Daemon) lookup(addr netip.Addr) *neighbor {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.byAddr[addr.Unmap()]
}

func (n *neighbor) info() NeighborInfo {
	n.d.mu.RLock()
	spec, cfg := n.spec, n.cfg
	typ := n.d.peerTypes[n.name]
	n.d.mu.RUnlock()
	withdrawn := ribCountsOf(n).withdrawn
	return NeighborInfo{
		Name:                 n.name,
		Address:              n.key.Addr,
		PeerAS:               cfg.PeerAS,
		LocalAS:              cfg.LocalAS,
		Description:          spec.Description,
		LocalAddress:         cfg.Local,
		Passive:              cfg.Passive,
		RouteReflectorClient: spec.RouteReflectorClient,
		ImportPolicy:         spec.ImportPolicy,
		ExportPolicy:         spec.ExportPolicy,
		HoldTime:             cfg.HoldTime,
		KeepaliveTime:        cfg.KeepaliveTime,
		Families:             slices.Clone(cfg.Families),
		Status:               n.status(),
		Prefixes:             n.prefixes(),
		PrefixesWithdrawn:    withdrawn,
		EstablishedCount:     n.establishedCount.Load(),
		PeerType:             typ,
	}
}

// ResetNeighbor closes the session with Cease / Administrative Reset and
// an RFC 9003 message; it comes back by itself.
func (d *Daemon) ResetNeighbor(addr netip.Addr, message string) error {
	n, err := d.find(addr)
	if err != nil {
		return err
	}
	n.log.Info("reset asked through the API", "message", message)
	n.p.Reset(message)
	return nil
}

// ShutdownNeighbor closes the session with Cease / Administrative Shutdown
// and keeps it down until EnableNeighbor (or a restart of the daemon).
func (d *Daemon) ShutdownNeighbor(addr netip.Addr, message string) error {
	n, err := d.find(addr)
	if err != nil {
		return err
	}
	n.log.Info("shutdown asked through the API", "message", message)
	n.shutdown(message)
	return nil
}

// EnableNeighbor starts a session that was shut down.
func (d *Daemon) EnableNeighbor(addr netip.Addr) error {
	n, err := d.find(addr)
	if err != nil {
		return err
	}
	n.log.Info("enable asked through the API")
	n.enable()
	return nil
}

// RefreshIn sends a ROUTE-REFRESH for every negotiated family (RFC 2918),
// so that the peer sends its routes again.
func (d *Daemon) RefreshIn(ctx context.Context, addr netip.Addr) error {
	n, err := d.find(addr)
	if err != nil {
		return err
	}
	s := n.session()
	if s == nil {
		return ErrNotEstablished
	}
	if !s.Negotiated.RouteRefresh {
		return ErrNoRouteRefresh
	}
	var msgs [][]byte
	for _, f := range s.Negotiated.Families {
		msgs = append(msgs, (&wire.RouteRefresh{Family: f, Subtype: iana.RefreshNormal}).AppendTo(nil, wire.Options{}))
	}
	n.log.Info("route refresh asked through the API", "families", fmt.Sprint(s.Negotiated.Families))
	if err := s.Send(ctx, msgs...); err != nil {
		if errors.Is(err, peer.ErrSessionClosed) {
			return ErrNotEstablished
		}
		return err
	}
	return nil
}

// RefreshOut sends the peer its whole Adj-RIB-Out again (framed by BoRR
// and EoRR when it supports enhanced route refresh, RFC 7313).
func (d *Daemon) RefreshOut(addr netip.Addr) error {
	n, err := d.find(addr)
	if err != nil {
		return err
	}
	s := n.session()
	if s == nil {
		return ErrNotEstablished
	}
	n.log.Info("sending our routes again, as asked through the API")
	for _, f := range s.Negotiated.Families {
		d.rib.post(opRefresh{n: n, s: s, fam: f})
	}
	return nil
}

func (d *Daemon) find(addr netip.Addr) (*neighbor, error) {
	select {
	case <-d.done:
		return nil, ErrStopped
	default:
	}
	n := d.lookup(addr)
	if n == nil {
		return nil, fmt.Errorf("%w %s", ErrNoNeighbor, addr)
	}
	return n, nil
}

// KindCount is the number of resources of one kind.
type KindCount struct {
	Kind  config.Kind
	Count int
}

// ConfigState is the state of the configuration.
type ConfigState struct {
	Source string
	// Generation counts successful loads of the file; AppliedAt is the
	// last one.
	Generation uint64
	AppliedAt  time.Time
	// Resources counts the resources in force, in the order of the
	// resource model.
	Resources []KindCount
	// LastAttempt is the last load; OK tells whether it was applied, and
	// Errors, when not, says why, one error a line naming the file, the
	// document, the field and the reason.
	LastAttempt time.Time
	OK          bool
	Errors      []string
}

// ConfigState returns the state of the configuration.
func (d *Daemon) ConfigState(ctx context.Context) (ConfigState, error) {
	st := d.file.Status()
	d.loadMu.Lock()
	cs := ConfigState{Source: st.Path, Generation: d.loads, AppliedAt: st.LoadedAt, LastAttempt: d.lastAttempt, OK: st.LastError == nil}
	d.loadMu.Unlock()
	if st.LastError != nil {
		errs := config.Errors(st.LastError)
		for _, e := range errs {
			cs.Errors = append(cs.Errors, e.Error())
		}
		if len(errs) == 0 {
			cs.Errors = []string{st.LastError.Error()}
		}
	}
	rs, err := d.store.List(ctx, "")
	if err != nil {
		return cs, err
	}
	counts := map[config.Kind]int{}
	for _, r := range rs {
		counts[r.Kind]++
	}
	for _, k := range config.KindOrder {
		if c := counts[k]; c > 0 {
			cs.Resources = append(cs.Resources, KindCount{Kind: k, Count: c})
		}
	}
	return cs, nil
}

// Metrics returns the daemon's metric registry (what /metrics serves).
func (d *Daemon) Metrics() prometheus.Gatherer { return d.met.reg }

// ListenAddrs returns the addresses the BGP listener is bound to.
func (d *Daemon) ListenAddrs() []netip.AddrPort {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.listener == nil {
		return nil
	}
	return d.listener.Addrs()
}
