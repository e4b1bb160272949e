package peer

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Key names a peer. Today a peer is its address in the default VRF; dynamic
// peers (listen ranges) get a key per accepted address, and relayed BGP as a
// Service sessions are told apart by VRF and the relay's source port.
type Key struct {
	VRF       string
	Addr      netip.Addr
	RelayPort uint16
}

// String is "ADDR", "ADDR%vrf" or "ADDR%vrf:port".
func (k Key) String() string {
	s := k.Addr.String()
	if k.VRF != "" {
		s += "%" + k.VRF
	}
	if k.RelayPort != 0 {
		s += fmt.Sprintf(":%d", k.RelayPort)
	}
	return s
}

// GracefulRestart is this side's graceful restart capability (RFC 4724).
type GracefulRestart struct {
	// Enabled announces the restarting-speaker role: families with their
	// Forwarding bit. Without it the capability is still sent, empty, so
	// that the peer knows we help it restart (RFC 4724 §3).
	Enabled bool
	// Restarting is the R bit: we are coming back from a restart.
	Restarting bool
	// Forwarding is the F bit for every family: the kernel kept our routes.
	Forwarding  bool
	RestartTime time.Duration
	// LongLivedStaleTime, when set (with Enabled), asks peers to keep our
	// routes that long after the restart time (RFC 9494).
	LongLivedStaleTime time.Duration
}

// Config is one peer's session settings. A change to any field that goes
// into the OPEN needs a new session; Peer.Update tells.
type Config struct {
	Key Key
	// Description is the operator's text for the peer.
	Description string
	LocalAS     uint32
	// PeerAS is the expected AS; 0 accepts any (dynamic peers).
	PeerAS   uint32
	RouterID netip.Addr
	// Remote is the address to dial; port 0 means 179.
	Remote netip.AddrPort
	// Local is the source address; the zero Addr lets the kernel choose.
	Local netip.Addr
	// Password is the TCP MD5 key; it never appears in logs or status.
	Password string
	// TTL and MinTTL are the socket's outgoing TTL and GTSM minimum.
	TTL    int
	MinTTL int
	// Passive never dials.
	Passive bool

	HoldTime         time.Duration // proposed; 0 means 90 s, HoldTimeZero proposes 0 (no keepalives)
	MinHoldTime      time.Duration // refuse less (0: any, but not 1-2 s)
	KeepaliveTime    time.Duration // 0: a third of the hold time
	ConnectRetryTime time.Duration // default 120 s
	DelayOpenTime    time.Duration
	IdleHoldTime     time.Duration // damping back-off start, default 1 s
	MaxIdleHoldTime  time.Duration // damping back-off cap, default 60 s
	// SendHoldTime bounds how long a write may make no progress (RFC
	// 9687); 0 means the larger of 8 minutes and twice the hold time.
	SendHoldTime time.Duration

	Families          []nlri.Family // default: the unicast family of Remote
	AddPathReceive    []nlri.Family
	AddPathSend       []nlri.Family
	ExtendedNextHop   []wire.NextHopEntry
	NoExtendedMessage bool
	GracefulRestart   *GracefulRestart
	Role              *iana.Role
	StrictRole        bool
	Hostname, Domain  string
}

func (c *Config) families() []nlri.Family {
	if len(c.Families) > 0 {
		return c.Families
	}
	if c.Remote.Addr().Unmap().Is6() {
		return []nlri.Family{nlri.IPv6Unicast}
	}
	return []nlri.Family{nlri.IPv4Unicast}
}

// HoldTimeZero proposes a hold time of 0 (RFC 4271 §4.2: no KEEPALIVEs
// and no hold timer), which the zero Duration cannot say since it means
// "the default".
const HoldTimeZero time.Duration = -1

func (c *Config) withDefaults() Config {
	d := *c
	switch {
	case d.HoldTime == 0:
		d.HoldTime = 90 * time.Second
	case d.HoldTime < 0:
		d.HoldTime = 0
	}
	if d.Key.Addr == (netip.Addr{}) {
		d.Key.Addr = d.Remote.Addr().Unmap()
	}
	return d
}

func (c *Config) fsm() fsmCfg {
	return fsmCfg{
		Passive:          c.Passive,
		ConnectRetryTime: c.ConnectRetryTime,
		HoldTime:         c.HoldTime,
		KeepaliveTime:    c.KeepaliveTime,
		DelayOpenTime:    c.DelayOpenTime,
		IdleHoldTime:     c.IdleHoldTime,
		MaxIdleHoldTime:  c.MaxIdleHoldTime,
		StableTime:       5 * time.Minute,
		Jitter:           jitter,
	}
}

// SameSession reports whether a session set up under c can carry on under
// n: everything that goes into the OPEN or the socket is equal.
func (c *Config) SameSession(n *Config) bool {
	if c.Key != n.Key || c.LocalAS != n.LocalAS || c.PeerAS != n.PeerAS || c.RouterID != n.RouterID ||
		c.Remote != n.Remote || c.Local != n.Local || c.Password != n.Password || c.TTL != n.TTL ||
		c.MinTTL != n.MinTTL || c.Passive != n.Passive || c.HoldTime != n.HoldTime ||
		c.MinHoldTime != n.MinHoldTime || c.KeepaliveTime != n.KeepaliveTime || c.DelayOpenTime != n.DelayOpenTime ||
		c.NoExtendedMessage != n.NoExtendedMessage || c.StrictRole != n.StrictRole ||
		c.Hostname != n.Hostname || c.Domain != n.Domain {
		return false
	}
	if fmt.Sprint(c.families(), c.AddPathReceive, c.AddPathSend, c.ExtendedNextHop) !=
		fmt.Sprint(n.families(), n.AddPathReceive, n.AddPathSend, n.ExtendedNextHop) {
		return false
	}
	if (c.Role == nil) != (n.Role == nil) || (c.Role != nil && *c.Role != *n.Role) {
		return false
	}
	if (c.GracefulRestart == nil) != (n.GracefulRestart == nil) ||
		(c.GracefulRestart != nil && *c.GracefulRestart != *n.GracefulRestart) {
		return false
	}
	return true
}
