package peer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Negotiated is what both OPENs of a session agreed on. It is immutable once
// the session is Established and may be shared freely.
type Negotiated struct {
	PeerAS   uint32
	PeerID   netip.Addr
	HoldTime time.Duration
	// KeepaliveTime is the interval this side sends at.
	KeepaliveTime time.Duration
	// Families are the address families both sides announced (RFC 4760
	// §8: IPv4 unicast alone when a side announced none).
	Families []nlri.Family
	// AS4 is set when both sides announced 4-octet AS numbers (RFC 6793).
	AS4                  bool
	RouteRefresh         bool
	EnhancedRouteRefresh bool
	ExtendedMessage      bool
	// ExtendedNextHop lists the (NLRI family, next-hop AFI) pairs both
	// sides announced (RFC 8950).
	ExtendedNextHop []wire.NextHopEntry
	// AddPathReceive / AddPathSend: families whose NLRI carry path
	// identifiers from the peer to us, and from us to the peer (RFC 7911).
	AddPathReceive nlri.AddPath
	AddPathSend    nlri.AddPath
	// GracefulRestart is the peer's capability, nil when it sent none.
	GracefulRestart *wire.CapGracefulRestart
	// LongLivedGR is the peer's RFC 9494 capability, nil when none.
	LongLivedGR *wire.CapLongLivedGR
	// PeerRole is the peer's RFC 9234 role, when it sent one.
	PeerRole *iana.Role
	// PeerHostname is the peer's FQDN capability, when it sent one.
	PeerHostname string
	// Receive and Send are the codec options of each direction.
	Receive wire.Options
	Send    wire.Options
	// LocalCaps and PeerCaps are the capabilities as sent and received.
	LocalCaps []wire.Capability
	PeerCaps  []wire.Capability
}

// HasFamily reports whether f was negotiated.
func (n *Negotiated) HasFamily(f nlri.Family) bool { return slices.Contains(n.Families, f) }

// IBGP reports whether the session is internal.
func (n *Negotiated) IBGP(localAS uint32) bool { return n.PeerAS == localAS }

// LocalOpen builds the OPEN this side sends for cfg.
func LocalOpen(cfg *Config) *wire.Open {
	var caps []wire.Capability
	for _, f := range cfg.families() {
		caps = append(caps, wire.CapMultiprotocol{Family: f})
	}
	caps = append(caps, wire.CapRouteRefresh{}, wire.CapEnhancedRouteRefresh{})
	if !cfg.NoExtendedMessage {
		caps = append(caps, wire.CapExtendedMessage{})
	}
	if len(cfg.ExtendedNextHop) > 0 {
		caps = append(caps, wire.CapExtendedNextHop{Entries: cfg.ExtendedNextHop})
	}
	if gr := cfg.GracefulRestart; gr != nil {
		c := wire.CapGracefulRestart{Restarting: gr.Restarting && gr.Enabled, Notification: true, Time: uint16(gr.RestartTime / time.Second)}
		if gr.RestartTime/time.Second > 4095 {
			c.Time = 4095
		}
		if gr.Enabled {
			for _, f := range cfg.families() {
				c.Families = append(c.Families, wire.GRFamily{Family: f, Forwarding: gr.Forwarding})
			}
		}
		caps = append(caps, c)
		if gr.Enabled && gr.LongLivedStaleTime > 0 {
			t := min(uint32(gr.LongLivedStaleTime/time.Second), 1<<24-1)
			ll := wire.CapLongLivedGR{}
			for _, f := range cfg.families() {
				var flags uint8
				if gr.Forwarding {
					flags = 0x80
				}
				ll.Families = append(ll.Families, wire.LLGRFamily{Family: f, Flags: flags, StaleTime: t})
			}
			caps = append(caps, ll)
		}
	}
	caps = append(caps, wire.CapFourOctetAS{AS: cfg.LocalAS})
	var ap []wire.AddPathEntry
	for _, f := range cfg.families() {
		var m wire.AddPathMode
		if slices.Contains(cfg.AddPathReceive, f) {
			m |= wire.AddPathReceive
		}
		if slices.Contains(cfg.AddPathSend, f) {
			m |= wire.AddPathSend
		}
		if m != 0 {
			ap = append(ap, wire.AddPathEntry{Family: f, Mode: m})
		}
	}
	if len(ap) > 0 {
		caps = append(caps, wire.CapAddPath{Entries: ap})
	}
	if cfg.Role != nil {
		caps = append(caps, wire.CapRole{Role: *cfg.Role})
	}
	if cfg.Hostname != "" {
		caps = append(caps, wire.CapFQDN{Hostname: cfg.Hostname, Domain: cfg.Domain})
	}
	hold := uint16(cfg.HoldTime / time.Second)
	return wire.NewOpen(cfg.LocalAS, hold, cfg.RouterID, caps...)
}

// Negotiate checks the peer's OPEN against cfg and our own OPEN (RFC 4271
// §6.2, RFC 6793, RFC 5492, RFC 9234) and returns what was agreed, or the
// fault whose NOTIFICATION must be sent.
func Negotiate(cfg *Config, local, remote *wire.Open) (*Negotiated, *fault.Error) {
	if remote.Version != wire.Version {
		// §6.2: the data is the largest version we support.
		return nil, fault.Open(iana.OpenUnsupportedVersionNumber, []byte{0, wire.Version},
			"peer speaks BGP version %d, we speak %d", remote.Version, wire.Version)
	}
	n := &Negotiated{LocalCaps: local.Capabilities(), PeerCaps: remote.Capabilities()}
	n.PeerAS = remote.AS()
	peerAS4 := false
	var peerMP []nlri.Family
	peerSentMP := false
	var peerAddPath []wire.AddPathEntry
	var peerENH []wire.NextHopEntry
	for _, c := range n.PeerCaps {
		switch c := c.(type) {
		case wire.CapFourOctetAS:
			peerAS4 = true
			// RFC 6793 §4.1: My AS must be AS_TRANS when the AS does not fit.
		case wire.CapMultiprotocol:
			peerSentMP = true
			peerMP = append(peerMP, c.Family)
		case wire.CapRouteRefresh:
			n.RouteRefresh = true
		case wire.CapUnknown:
			if c.CapCode == iana.CapRouteRefreshCisco {
				n.RouteRefresh = true
			}
		case wire.CapEnhancedRouteRefresh:
			n.EnhancedRouteRefresh = true
		case wire.CapExtendedMessage:
			n.ExtendedMessage = !cfg.NoExtendedMessage
		case wire.CapExtendedNextHop:
			peerENH = append(peerENH, c.Entries...)
		case wire.CapGracefulRestart:
			c2 := c
			n.GracefulRestart = &c2
		case wire.CapLongLivedGR:
			c2 := c
			n.LongLivedGR = &c2
		case wire.CapAddPath:
			peerAddPath = append(peerAddPath, c.Entries...)
		case wire.CapRole:
			r := c.Role
			n.PeerRole = &r
		case wire.CapFQDN:
			n.PeerHostname = c.Hostname
		}
	}
	n.AS4 = peerAS4
	if cfg.PeerAS != 0 && n.PeerAS != cfg.PeerAS {
		return nil, fault.Open(iana.OpenBadPeerAS, peerASData(remote),
			"peer says AS %d, configured peerASN is %d", n.PeerAS, cfg.PeerAS)
	}
	if !peerAS4 && n.PeerAS == wire.ASTrans {
		return nil, fault.Open(iana.OpenBadPeerAS, peerASData(remote), "peer AS is AS_TRANS without the 4-octet AS capability")
	}
	// RFC 6286 §2.2: the identifier must be non-zero, and differ from ours
	// on an internal session.
	id := remote.BGPID
	if !id.IsValid() || id == netip.IPv4Unspecified() {
		return nil, fault.Open(iana.OpenBadBGPIdentifier, nil, "peer's BGP identifier is 0.0.0.0")
	}
	if n.PeerAS == cfg.LocalAS && id == cfg.RouterID {
		return nil, fault.Open(iana.OpenBadBGPIdentifier, id.AsSlice(), "peer's BGP identifier %s is our own on an internal session", id)
	}
	n.PeerID = id
	// §4.2: the hold time is the smaller of the two, and 1 or 2 is refused.
	ph := time.Duration(remote.HoldTime) * time.Second
	if ph == time.Second || ph == 2*time.Second {
		return nil, fault.Open(iana.OpenUnacceptableHoldTime, nil, "peer proposes a hold time of %s", ph)
	}
	n.HoldTime = min(ph, cfg.HoldTime)
	if cfg.MinHoldTime > 0 && n.HoldTime < cfg.MinHoldTime {
		return nil, fault.Open(iana.OpenUnacceptableHoldTime, nil, "hold time %s is below the configured minimum %s", n.HoldTime, cfg.MinHoldTime)
	}
	n.KeepaliveTime = n.HoldTime / 3
	if cfg.KeepaliveTime > 0 && cfg.KeepaliveTime < n.KeepaliveTime {
		n.KeepaliveTime = cfg.KeepaliveTime
	}
	// RFC 9234 §4.2: roles must pair up; strict mode requires the peer's.
	if cfg.Role != nil {
		if n.PeerRole == nil {
			if cfg.StrictRole {
				return nil, fault.Open(iana.OpenRoleMismatch, nil, "peer sent no BGP role and strict mode is on")
			}
		} else if !rolesPair(*cfg.Role, *n.PeerRole) {
			return nil, fault.Open(iana.OpenRoleMismatch, nil, "our role %s does not pair with the peer's role %s", *cfg.Role, *n.PeerRole)
		}
	}
	// RFC 4760 §8: a speaker that announces no multiprotocol capability
	// speaks IPv4 unicast only.
	if !peerSentMP {
		peerMP = []nlri.Family{nlri.IPv4Unicast}
	}
	for _, f := range cfg.families() {
		if slices.Contains(peerMP, f) {
			n.Families = append(n.Families, f)
		}
	}
	for _, e := range peerENH {
		for _, l := range cfg.ExtendedNextHop {
			if e == l {
				n.ExtendedNextHop = append(n.ExtendedNextHop, e)
			}
		}
	}
	// RFC 7911 §4: we receive path ids where we said receive and the peer
	// said send, and send them where we said send and the peer receive.
	var rx, tx []nlri.Family
	for _, e := range peerAddPath {
		if !n.HasFamily(e.Family) {
			continue
		}
		if e.Mode.Send() && slices.Contains(cfg.AddPathReceive, e.Family) {
			rx = append(rx, e.Family)
		}
		if e.Mode.Receive() && slices.Contains(cfg.AddPathSend, e.Family) {
			tx = append(tx, e.Family)
		}
	}
	n.AddPathReceive = nlri.NewAddPath(rx...)
	n.AddPathSend = nlri.NewAddPath(tx...)
	n.Receive = wire.Options{AS4: n.AS4, AddPath: n.AddPathReceive, ExtendedMessage: n.ExtendedMessage}
	n.Send = wire.Options{AS4: n.AS4, AddPath: n.AddPathSend, ExtendedMessage: n.ExtendedMessage}
	return n, nil
}

func peerASData(o *wire.Open) []byte {
	return binary.BigEndian.AppendUint16(nil, o.MyAS)
}

// rolesPair is the table of RFC 9234 §4.2.
func rolesPair(local, remote iana.Role) bool {
	switch local {
	case iana.RoleProvider:
		return remote == iana.RoleCustomer
	case iana.RoleCustomer:
		return remote == iana.RoleProvider
	case iana.RoleRouteServer:
		return remote == iana.RoleRouteServerClient
	case iana.RoleRouteServerClient:
		return remote == iana.RoleRouteServer
	case iana.RolePeer:
		return remote == iana.RolePeer
	}
	return false
}

// String summarises the negotiated session for logs.
func (n *Negotiated) String() string {
	return fmt.Sprintf("AS %d id %s hold %s families %v as4=%t addpath rx=%v tx=%v",
		n.PeerAS, n.PeerID, n.HoldTime, n.Families, n.AS4, n.AddPathReceive.Families(), n.AddPathSend.Families())
}
