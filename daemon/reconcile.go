package daemon

// The reconciler applies the configuration from the store's watch
// events: each event updates the desired state (d.desired), then only what
// the event concerns is brought in line: a BGPConfiguration event the
// global settings (and, through them, every peer), a BGPPeer event that
// one peer, an Announcement event the set of originated routes. A watch
// that overflows is started again, and its snapshot replaces the desired
// state as a whole (applyAll).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"sync"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire/iana"
)

var watchedKinds = []config.Kind{config.KindBGPConfiguration, config.KindBGPPeer, config.KindAnnouncement, config.KindRoutePolicy,
	config.KindRedistribution, config.KindNode, config.KindIPPool, config.KindLoadBalancer}

// applySnapshot reads the watch's initial snapshot and applies it.
func (d *Daemon) applySnapshot(events <-chan config.Event) error {
	next := newDesired()
	for ev := range events {
		switch ev.Type {
		case config.Added:
			next.put(ev.Resource)
		case config.Synced:
			d.desired = next
			d.derive()
			// At start a listener that cannot open is fatal: no peer is
			// started then.
			if _, err := d.applyGlobal(); err != nil {
				return err
			}
			d.syncPolicies()
			d.syncOrigins()
			d.syncRedistributions()
			d.syncCluster()
			d.syncPeers()
			return nil
		case config.Closed:
			return fmt.Errorf("configuration watch ended: %w", ev.Err)
		}
	}
	return errors.New("configuration watch ended")
}

// reconcileLoop is the reconciler goroutine.
func (d *Daemon) reconcileLoop(ctx context.Context, events <-chan config.Event) {
	var next *desired // set while reading the snapshot of a new watch
	for {
		for ev := range events {
			switch ev.Type {
			case config.Added, config.Modified:
				if next != nil {
					next.put(ev.Resource)
					continue
				}
				d.desired.put(ev.Resource)
				d.derive()
				d.applyChange(ev.Resource)
			case config.Deleted:
				d.desired.remove(ev.Resource)
				d.derive()
				d.applyChange(ev.Resource)
			case config.Synced:
				if next != nil {
					d.desired, next = *next, nil
					d.derive()
					if err := d.applyAll(); err != nil {
						d.log.Error("applying the configuration", "err", err)
					}
				}
			case config.Closed:
				if ctx.Err() == nil {
					d.log.Warn("configuration watch ended; watching again", "err", ev.Err)
				}
			}
			d.notify()
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		events, err = d.store.Watch(ctx, watchedKinds...)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("configuration watch failed; configuration changes are no longer applied", "err", err)
			}
			return
		}
		nd := newDesired()
		next = &nd
	}
}

func (s *desired) put(r *config.Resource) {
	switch r.Kind {
	case config.KindBGPConfiguration:
		s.cfgGlobal = r
	case config.KindBGPPeer:
		s.cfgPeers[r.Metadata.Name] = r
	case config.KindNode:
		s.nodes[r.Metadata.Name] = r
	case config.KindIPPool:
		s.pools[r.Metadata.Name] = r
	case config.KindLoadBalancer:
		s.lbs[r.Metadata.Name] = r
	case config.KindAnnouncement:
		s.anns[r.Metadata.Name] = r
	case config.KindRedistribution:
		s.redis[r.Metadata.Name] = r
	case config.KindRoutePolicy:
		s.pols[r.Metadata.Name] = r
	}
}

func (s *desired) remove(r *config.Resource) {
	switch r.Kind {
	case config.KindBGPConfiguration:
		s.cfgGlobal = nil
	case config.KindBGPPeer:
		delete(s.cfgPeers, r.Metadata.Name)
	case config.KindNode:
		delete(s.nodes, r.Metadata.Name)
	case config.KindIPPool:
		delete(s.pools, r.Metadata.Name)
	case config.KindLoadBalancer:
		delete(s.lbs, r.Metadata.Name)
	case config.KindAnnouncement:
		delete(s.anns, r.Metadata.Name)
	case config.KindRedistribution:
		delete(s.redis, r.Metadata.Name)
	case config.KindRoutePolicy:
		delete(s.pols, r.Metadata.Name)
	}
}

// applyChange applies what changed with resource r (its new state is
// already in d.desired).
func (d *Daemon) applyChange(r *config.Resource) {
	if d.opt.Node != "" && (r.Kind == config.KindBGPConfiguration || r.Kind == config.KindBGPPeer || slices.Contains(clusterKinds, r.Kind)) {
		// Cluster mode: any of these may change every derived session.
		if _, err := d.applyGlobal(); err != nil {
			d.log.Error("applying the BGPConfiguration", "err", err)
		}
		d.syncCluster()
		d.syncPeers()
		return
	}
	switch r.Kind {
	case config.KindBGPConfiguration:
		changed, err := d.applyGlobal()
		if err != nil {
			d.log.Error("applying the BGPConfiguration", "err", err)
		}
		if changed {
			d.syncPeers()
		}
	case config.KindBGPPeer:
		d.syncPeer(r.Metadata.Name)
	case config.KindAnnouncement:
		d.syncOrigins()
	case config.KindRedistribution:
		d.syncRedistributions()
	case config.KindRoutePolicy:
		d.syncPolicies()
		d.applyPolicies()
	}
}

// applyAll brings everything in line with d.desired.
func (d *Daemon) applyAll() error {
	_, err := d.applyGlobal()
	d.syncPolicies()
	d.syncOrigins()
	d.syncRedistributions()
	d.syncCluster()
	d.syncPeers()
	return err
}

// syncPeers syncs every peer, desired or running, in name order.
func (d *Daemon) syncPeers() {
	names := map[string]bool{}
	for name := range d.desired.peers {
		names[name] = true
	}
	d.mu.RLock()
	for name := range d.neighbors {
		names[name] = true
	}
	d.mu.RUnlock()
	for _, name := range slices.Sorted(maps.Keys(names)) {
		d.syncPeer(name)
	}
}

// globalSpec is the desired BGPConfiguration, or nil.
func (s *desired) globalSpec() *config.BGPConfigurationSpec {
	if s.global == nil {
		return nil
	}
	g, _ := s.global.Spec.(*config.BGPConfigurationSpec)
	return g
}

// applyGlobal makes the running global settings the desired ones and
// reports whether they changed (status-only changes of the resource, which
// the file source writes, change nothing). A new AS number or router ID
// changes every peer's OPEN, so every session is reset, and the log says
// so; new listen addresses reopen the listener.
func (d *Daemon) applyGlobal() (bool, error) {
	spec := d.desired.globalSpec()
	old := d.global
	if old == nil && spec == nil {
		return false, nil
	}
	if old != nil && spec != nil && config.SpecEqual(old, spec) {
		return false, nil
	}
	if spec != nil && !spec.RouterID.IsValid() {
		return false, errNoRouterID(d.opt.Node)
	}
	if spec == nil {
		d.log.Warn("the BGPConfiguration was removed: stopping every session and the listener")
		d.mu.Lock()
		d.global = nil
		ln := d.listener
		d.listener, d.listenOn = nil, nil
		d.mu.Unlock()
		if ln != nil {
			ln.Close()
		}
		return true, nil
	}
	if old != nil && (old.ASNumber != spec.ASNumber || old.RouterID != spec.RouterID) {
		d.log.Warn("AS number or router ID changed: resetting every session",
			"old-as", uint32(old.ASNumber), "as", uint32(spec.ASNumber), "old-router-id", old.RouterID, "router-id", spec.RouterID,
			"sessions", len(d.neighborList()))
	} else if old != nil {
		d.log.Info("BGPConfiguration changed")
	}
	d.mu.Lock()
	d.global = spec
	d.mu.Unlock()
	d.rib.setOptions(decisionOptions(spec))
	addrs := listenAddresses(spec)
	if old != nil && d.listener != nil && slices.Equal(addrs, d.listenOn) {
		return true, nil
	}
	return true, d.openListener(addrs)
}

// listenAddresses renders listenAddresses for the transport; none means
// every address on port 179.
func listenAddresses(g *config.BGPConfigurationSpec) []string {
	var out []string
	for _, ap := range g.ListenAddresses {
		out = append(out, ap.String())
	}
	return out
}

// openListener (re)opens the listener on addrs, installing the MD5 keys
// and TTLs of every configured peer before the sockets listen. On failure
// the previous addresses are tried again, so that a bad reload does not
// leave the speaker deaf.
func (d *Daemon) openListener(addrs []string) error {
	d.mu.Lock()
	old, oldAddrs := d.listener, d.listenOn
	d.listener, d.listenOn = nil, nil
	d.mu.Unlock()
	if old != nil {
		old.Close()
	}
	ln, err := d.listen(addrs)
	if err != nil && old != nil {
		d.log.Error("cannot listen on the new addresses; keeping the old ones", "addresses", addrs, "err", err)
		if ln2, err2 := d.listen(oldAddrs); err2 == nil {
			ln, addrs = ln2, oldAddrs
		}
	}
	d.mu.Lock()
	d.listener, d.listenOn, d.listenErr = ln, addrs, err
	d.mu.Unlock()
	if ln != nil {
		d.log.Info("listening for BGP", "addresses", ln.Addrs())
	}
	return err
}

func (d *Daemon) listen(addrs []string) (*transport.Listener, error) {
	peers := map[netip.Addr]transport.PeerSecurity{}
	g := d.desired.globalSpec()
	for name, r := range d.desired.peers {
		spec, _ := r.Spec.(*config.BGPPeerSpec)
		if spec == nil || g == nil || unsupported(spec) != "" {
			continue
		}
		c, err := peerConfig(spec, g, &d.opt)
		if err != nil {
			d.log.Error("BGPPeer cannot be used", "neighbor", name, "err", err)
			continue
		}
		peers[c.Key.Addr] = listenSecurity(&c)
	}
	return transport.Listen(d.peersCtx, transport.ListenConfig{
		Addresses: addrs,
		Peers:     peers,
		Handler:   d.disp.Handle,
		Logger:    d.log,
	})
}

// syncPeer brings the peer named name in line with d.desired.
func (d *Daemon) syncPeer(name string) {
	d.mu.RLock()
	n := d.neighbors[name]
	d.mu.RUnlock()
	var spec *config.BGPPeerSpec
	if r := d.desired.peers[name]; r != nil {
		spec, _ = r.Spec.(*config.BGPPeerSpec)
	}
	g := d.global
	why := ""
	switch {
	case spec == nil:
		why = "removed from the configuration"
	case g == nil:
		why = "no BGPConfiguration"
	default:
		why = unsupported(spec)
	}
	if why != "" {
		if n != nil {
			d.removeNeighbor(n, why)
		} else if spec != nil {
			d.log.Warn("BGPPeer not started", "neighbor", name, "reason", why)
		}
		return
	}
	cfg, err := peerConfig(spec, g, &d.opt)
	if err != nil {
		d.log.Error("BGPPeer cannot be used", "neighbor", name, "err", err)
		if n != nil {
			d.removeNeighbor(n, err.Error())
		}
		return
	}
	if n != nil && n.key != cfg.Key {
		d.removeNeighbor(n, "its address changed")
		n = nil
	}
	if n == nil {
		d.addNeighbor(name, spec, cfg)
		return
	}
	d.updateNeighbor(n, spec, cfg)
}

// addNeighbor creates and starts a peer.
func (d *Daemon) addNeighbor(name string, spec *config.BGPPeerSpec, cfg peer.Config) {
	d.mu.RLock()
	other := d.byAddr[cfg.Key.Addr]
	d.mu.RUnlock()
	if other != nil {
		d.log.Error("BGPPeer not started: another BGPPeer has the same address", "neighbor", name, "address", cfg.Key.Addr, "other", other.name)
		return
	}
	n := newNeighbor(d, name, spec, cfg)
	startCfg := cfg
	if spec.Shutdown {
		// Started passive, then shut: no connection is ever attempted
		// (see neighbor.shutdown).
		startCfg.Passive = true
	}
	n.p = peer.New(startCfg, peer.Options{Handler: n, Logger: d.log.With("neighbor", name), Metrics: d.peerM,
		RestartState: d.restartState})
	d.secure(nil, &cfg)
	d.mu.Lock()
	d.neighbors[name] = n
	d.byAddr[cfg.Key.Addr] = n
	d.mu.Unlock()
	n.ctx, n.cancel = context.WithCancel(d.peersCtx)
	n.p.Start(n.ctx)
	d.disp.Add(n.p)
	if spec.Shutdown {
		n.shutdown("")
		n.adminCfg = true
	}
	d.log.Info("neighbor added", "neighbor", name, "address", cfg.Key.Addr, "asn", cfg.PeerAS,
		"local-as", cfg.LocalAS, "passive", cfg.Passive, "ttl", cfg.TTL, "min-ttl", cfg.MinTTL, "shutdown", spec.Shutdown)
	if f := ignoredFields(spec); len(f) > 0 {
		d.log.Warn("BGPPeer fields accepted but not acted on yet", "neighbor", name, "fields", f)
	}
}

// updateNeighbor applies a changed BGPPeer (or global setting) to a
// running peer: peer.Update resets the session only when the OPEN or the
// socket settings changed, so that a new description or prefix limit
// leaves the session alone.
func (d *Daemon) updateNeighbor(n *neighbor, spec *config.BGPPeerSpec, cfg peer.Config) {
	d.mu.RLock()
	oldSpec, oldCfg := n.spec, n.cfg
	d.mu.RUnlock()
	if config.SpecEqual(oldSpec, spec) && reflect.DeepEqual(oldCfg, cfg) {
		return
	}
	d.secure(&oldCfg, &cfg)
	d.mu.Lock()
	n.spec, n.cfg = spec, cfg
	d.mu.Unlock()
	if oldCfg.SameSession(&cfg) {
		d.log.Info("neighbor changed; the session carries on", "neighbor", n.name)
	} else {
		d.log.Info("neighbor changed: OPEN or socket settings differ; resetting its session", "neighbor", n.name)
	}
	n.p.Update(cfg)
	if oldCfg.SameSession(&cfg) && (oldSpec.ImportPolicy != spec.ImportPolicy || oldSpec.ExportPolicy != spec.ExportPolicy ||
		oldSpec.RouteReflectorClient != spec.RouteReflectorClient) {
		n.applyPolicies()
	}
	if spec.Shutdown != n.adminCfg {
		n.adminCfg = spec.Shutdown
		if spec.Shutdown {
			n.shutdown("")
		} else {
			n.enable()
		}
	}
	if f := ignoredFields(spec); len(f) > 0 {
		d.log.Warn("BGPPeer fields accepted but not acted on yet", "neighbor", n.name, "fields", f)
	}
}

// removeNeighbor stops a peer with Cease / Peer De-configured. RFC 8538
// §4 asks for a Hard Reset around that subcode when the N bit was
// exchanged, so that the peer does not keep our routes as stale.
func (d *Daemon) removeNeighbor(n *neighbor, why string) {
	d.mu.Lock()
	delete(d.neighbors, n.name)
	if d.byAddr[n.key.Addr] == n {
		delete(d.byAddr, n.key.Addr)
	}
	cfg := n.cfg
	d.mu.Unlock()
	d.disp.Remove(n.key)
	d.unsecure(&cfg)
	n.p.Stop(iana.CeasePeerDeconfigured, notificationGR(n.status()))
	n.cancel()
	n.close()
	d.observeNeighbor(n)
	d.log.Info("neighbor removed", "neighbor", n.name, "address", n.key.Addr, "reason", why)
	d.notify()
}

// notificationGR reports whether the session negotiated graceful restart
// with the N bit (RFC 8538 §2): then a NOTIFICATION other than a Hard
// Reset keeps our routes at the peer.
func notificationGR(st peer.Status) bool {
	if st.Session == nil || st.Session.Negotiated == nil {
		return false
	}
	gr := st.Session.Negotiated.GracefulRestart
	return gr != nil && gr.Notification
}

// secure installs a peer's TCP MD5 key and TTLs on the listener (old is
// nil for a new peer).
func (d *Daemon) secure(old, c *peer.Config) {
	d.mu.RLock()
	ln := d.listener
	d.mu.RUnlock()
	if ln == nil {
		return
	}
	if old == nil || old.Password != c.Password {
		if c.Password != "" || old != nil {
			if err := ln.SetPeerKey(c.Key.Addr, c.Password); err != nil {
				d.log.Error("cannot set the TCP MD5 key on the listener", "address", c.Key.Addr, "err", err)
			}
		}
	}
	if old == nil || old.TTL != c.TTL || old.MinTTL != c.MinTTL {
		if err := ln.SetPeerTTL(c.Key.Addr, c.TTL, c.MinTTL); err != nil {
			d.log.Error("cannot set the TTL for the peer on the listener", "address", c.Key.Addr, "err", err)
		}
	}
}

// unsecure removes what secure installed.
func (d *Daemon) unsecure(c *peer.Config) {
	d.mu.RLock()
	ln := d.listener
	d.mu.RUnlock()
	if ln == nil {
		return
	}
	if c.Password != "" {
		if err := ln.SetPeerKey(c.Key.Addr, ""); err != nil {
			d.log.Warn("cannot remove the TCP MD5 key from the listener", "address", c.Key.Addr, "err", err)
		}
	}
	_ = ln.SetPeerTTL(c.Key.Addr, 0, 0)
}

// stopPeers stops every peer in parallel. graceful is an intended
// graceful restart of this speaker (RFC 4724; BGPConfiguration
// gracefulRestart enabled and not a hard stop):
//
//   - a peer that negotiated graceful restart with the N bit gets Cease /
//     Administrative Reset without a Hard Reset: RFC 8538 §4 leaves that
//     subcode to the operator, and any NOTIFICATION but a Hard Reset
//     keeps the peer's copy of our routes (RFC 8538 §3);
//   - a peer that negotiated graceful restart without the N bit gets no
//     NOTIFICATION, only a TCP close, since any NOTIFICATION would end
//     the graceful restart (RFC 4724 §4);
//   - a peer without graceful restart gets the Hard Reset, as below.
//
// Otherwise every peer gets Cease / Hard Reset wrapping Administrative
// Shutdown (RFC 8538 §3), so that it withdraws our routes at once.
func (d *Daemon) stopPeers(ns []*neighbor, graceful bool) {
	var wg sync.WaitGroup
	for _, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.disp.Remove(n.key)
			st := n.status()
			how := "Cease / Hard Reset (Administrative Shutdown)"
			switch {
			case graceful && notificationGR(st):
				how = "Cease / Administrative Reset (graceful restart, N bit)"
				n.p.Stop(iana.CeaseAdministrativeReset, false)
			case graceful && st.Session != nil && st.Session.Negotiated.GracefulRestart != nil:
				how = "TCP close without NOTIFICATION (graceful restart)"
				n.cancel()
				n.p.Stop(iana.CeaseAdministrativeShutdown, true)
			default:
				n.p.Stop(iana.CeaseAdministrativeShutdown, true)
			}
			n.cancel()
			n.close()
			d.observeNeighbor(n)
			if st.State == peer.Established {
				d.log.Info("session closed for shutdown", "neighbor", n.name, "address", n.key.Addr, "how", how)
			}
		}()
	}
	wg.Wait()
}

// errNoRouterID says what to do about a BGPConfiguration without a router
// ID: give one, or run as a cluster Node (whose IPv4 address it takes).
func errNoRouterID(node string) error {
	if node != "" {
		return fmt.Errorf("Node %q has no IPv4 address to use as router ID: give the BGPConfiguration a routerID", node)
	}
	return errors.New("BGPConfiguration \"default\": spec.routerID: required (or run godwitd with --node NAME, which takes the Node's IPv4 address)")
}
