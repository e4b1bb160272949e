package daemon

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// bgpPort is where peers listen unless a test says otherwise (RFC 4271 §8.2.1.2).
const bgpPort = 179

// peerConfig maps a BGPPeer and the BGPConfiguration onto the peer
// layer's session settings. It reads nothing else, so that the same
// inputs always give the same Config (the reconciler compares them).
func peerConfig(spec *config.BGPPeerSpec, g *config.BGPConfigurationSpec, opt *Options) (peer.Config, error) {
	localAS := uint32(g.ASNumber)
	if spec.LocalASN != 0 {
		localAS = uint32(spec.LocalASN)
	}
	port := opt.PeerPort
	if port == 0 {
		port = bgpPort
	}
	hold, keepalive, connectRetry := spec.Timers(g)
	if hold == 0 {
		// An explicit holdTime: 0 (RFC 4271 §4.2: no keepalives); the
		// peer layer reads a zero Duration as "the default".
		hold = peer.HoldTimeZero
	}
	c := peer.Config{
		Key:              peer.Key{Addr: spec.PeerAddress},
		Description:      spec.Description,
		LocalAS:          localAS,
		PeerAS:           uint32(spec.PeerASN),
		RouterID:         g.RouterID,
		Remote:           netip.AddrPortFrom(spec.PeerAddress, port),
		Local:            spec.LocalAddress,
		Password:         spec.Password.Reveal(),
		Passive:          spec.Passive,
		HoldTime:         hold,
		KeepaliveTime:    keepalive,
		ConnectRetryTime: connectRetry,
		IdleHoldTime:     opt.IdleHoldTime,
	}
	c.TTL, c.MinTTL = sessionTTL(spec, localAS)
	for _, f := range spec.EffectiveFamilies() {
		fam, err := nlri.ParseFamily(string(f))
		if err != nil {
			return peer.Config{}, fmt.Errorf("spec.families: %w", err)
		}
		c.Families = append(c.Families, fam)
	}
	if spec.Role != "" {
		r := iana.Role(slices.Index(config.Roles, spec.Role))
		c.Role, c.StrictRole = &r, spec.StrictRole
	}
	if spec.ExtendedNextHop {
		c.ExtendedNextHop = []wire.NextHopEntry{{Family: nlri.IPv4Unicast, NextHopAFI: iana.AFIIPv6}}
	}
	if ap := spec.AddPath; ap != nil {
		for _, f := range ap.Receive {
			fam, err := nlri.ParseFamily(string(f))
			if err != nil {
				return peer.Config{}, fmt.Errorf("spec.addPath.receive: %w", err)
			}
			c.AddPathReceive = append(c.AddPathReceive, fam)
		}
		for _, f := range ap.Send {
			fam, err := nlri.ParseFamily(string(f))
			if err != nil {
				return peer.Config{}, fmt.Errorf("spec.addPath.send: %w", err)
			}
			c.AddPathSend = append(c.AddPathSend, fam)
		}
	}
	c.GracefulRestart = gracefulRestart(spec, g)
	return c, nil
}

// sessionTTL chooses the outgoing TTL and the GTSM minimum: GTSM sends 255
// and accepts at least 255-(hops-1) (RFC 5082 §3); eBGP multihop sends N;
// otherwise a directly connected eBGP peer gets 1 (RFC 4271 leaves it to
// the implementation; every router does this) and iBGP 255, since iBGP
// peers are often several hops away.
func sessionTTL(spec *config.BGPPeerSpec, localAS uint32) (ttl, minTTL int) {
	switch {
	case spec.TTLSecurity > 0:
		return 255, transport.GTSMMinTTL(spec.TTLSecurity)
	case spec.EBGPMultihop > 0:
		return spec.EBGPMultihop, 0
	case uint32(spec.PeerASN) != localAS:
		return 1, 0
	}
	return 255, 0
}

// gracefulRestart is the capability we announce. The helper role is
// always on (DESIGN.md), so the capability is always sent; the restarting
// role (families and restart time) only when enabled.
func gracefulRestart(spec *config.BGPPeerSpec, g *config.BGPConfigurationSpec) *peer.GracefulRestart {
	gr := &peer.GracefulRestart{RestartTime: config.DefaultRestartTime * time.Second}
	if g.GracefulRestart != nil {
		gr.Enabled = g.GracefulRestart.Enabled
		if t := g.GracefulRestart.RestartTime; t != 0 {
			gr.RestartTime = time.Duration(t) * time.Second
		}
		gr.LongLivedStaleTime = time.Duration(g.GracefulRestart.LongLivedStaleTime) * time.Second
	}
	if o := spec.GracefulRestart; o != nil {
		if o.Enabled != nil {
			gr.Enabled = *o.Enabled
		}
		if o.RestartTime != 0 {
			gr.RestartTime = time.Duration(o.RestartTime) * time.Second
		}
	}
	return gr
}

// unsupported says why a BGPPeer cannot run in this version, or "".
func unsupported(spec *config.BGPPeerSpec) string {
	switch {
	case len(spec.PeerSelector) > 0:
		return "peerSelector makes cluster Nodes peers: run godwitd with --node NAME to use it"
	case spec.VRF != "":
		return "sessions in a VRF are not implemented yet"
	}
	return ""
}

// ignoredFields lists the fields of spec this version accepts but does not
// act on yet, for a warning.
func ignoredFields(spec *config.BGPPeerSpec) []string {
	var out []string
	return out
}

// listenSecurity is what the listener must do for connections from a
// peer with Config c.
func listenSecurity(c *peer.Config) transport.PeerSecurity {
	return transport.PeerSecurity{Password: c.Password, TTL: c.TTL, MinTTL: c.MinTTL}
}

// restartState gives the R and F bits of our OPENs
// (peer.Options.RestartState): set after a graceful restart with the
// kernel's routes kept, until the RIB has converged again.
func (d *Daemon) restartState() (restarting, forwarding bool) {
	r := d.grRestart.Load()
	return r, r
}
