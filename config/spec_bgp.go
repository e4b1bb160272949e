package config

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Defaults of the BGP timers and limits, used where a field is unset.
// Timers are whole seconds, as in FRR and BIRD.
const (
	DefaultHoldTime              = 90  // seconds (RFC 4271 §10 suggests 90)
	DefaultKeepaliveTime         = 30  // seconds, a third of the hold time
	DefaultConnectRetryTime      = 120 // seconds (RFC 4271 §10)
	DefaultRestartTime           = 120 // seconds, graceful restart (RFC 4724)
	DefaultSelectionDeferralTime = 30  // seconds, waiting for End-of-RIB
	DefaultMaxPaths              = 16
	DefaultKernelProtocol        = 200
	DefaultMaxPrefixesWarning    = 75 // percent
)

// BGPConfigurationSpec is the speaker's own settings. There is at most one,
// named "default".
type BGPConfigurationSpec struct {
	// ASNumber is the speaker's AS (required).
	ASNumber ASN `json:"asNumber"`
	// RouterID is the BGP identifier, an IPv4 address; required unless
	// godwitd runs as a cluster Node (--node), whose IPv4 address is then
	// its router ID.
	RouterID netip.Addr `json:"routerID,omitzero"`
	// ListenAddresses are the address:port pairs to accept sessions on
	// ("10.0.1.10:179", "[::]:179"). Default: port 179 on every address.
	ListenAddresses []netip.AddrPort `json:"listenAddresses,omitempty"`
	// NodeToNodeMesh peers every cluster Node with every other.
	NodeToNodeMesh bool `json:"nodeToNodeMesh,omitempty"`
	// ServiceClusterIPs and ServiceExternalIPs are service ranges every
	// cluster Node announces (as Calico's serviceClusterIPs and
	// serviceExternalIPs), so that the fabric sends service traffic to
	// the nodes, which spread it by ECMP. Only with godwitd --node.
	ServiceClusterIPs  []netip.Prefix `json:"serviceClusterIPs,omitempty"`
	ServiceExternalIPs []netip.Prefix `json:"serviceExternalIPs,omitempty"`
	// RouteReflectorClusterID makes a speaker that is not a cluster Node a
	// route reflector with this cluster ID (an IPv4-formatted number).
	RouteReflectorClusterID netip.Addr `json:"routeReflectorClusterID,omitzero"`
	// GracefulRestart is the restarting-speaker role (RFC 4724), off by
	// default; the helper role is always on.
	GracefulRestart *GracefulRestart `json:"gracefulRestart,omitempty"`
	// MaxPaths is the ECMP width (1..256, default 16; 1 turns multipath
	// off).
	MaxPaths int `json:"maxPaths,omitempty" range:"1..256"`
	// MultipathRelax allows ECMP across paths from different neighbouring
	// ASes (same AS path length).
	MultipathRelax bool `json:"multipathRelax,omitempty"`
	// AlwaysCompareMED compares MULTI_EXIT_DISC between paths from
	// different neighbouring ASes too (FRR's bgp always-compare-med).
	AlwaysCompareMED bool `json:"alwaysCompareMED,omitempty"`
	// DeterministicMED compares MED within each neighbouring AS first, so
	// that the choice does not depend on the order paths arrived in (FRR's
	// bgp deterministic-med).
	DeterministicMED bool `json:"deterministicMED,omitempty"`
	// KernelProtocol is the route protocol number godwit owns in the kernel
	// (default 200). 0..4 are the kernel's own and FRR's zebra owns
	// 186..198, so none of those.
	KernelProtocol int `json:"kernelProtocol,omitempty" range:"1..255"`
	// KernelMetric is the metric (priority) of godwit's kernel routes
	// (default 20): lower than another program's route to the same
	// prefix makes godwit's preferred. A change takes effect at restart.
	KernelMetric int `json:"kernelMetric,omitempty" range:"1..4294967295"`
	// HoldTime is the default hold time of every peer, in seconds: 0 (no
	// keepalives) or 3..65535; default 90.
	HoldTime *int `json:"holdTime,omitempty"`
	// KeepaliveTime is the default keepalive interval in seconds, default a
	// third of the hold time.
	KeepaliveTime *int `json:"keepaliveTime,omitempty" range:"0..21845"`
	// ConnectRetryTime is the default connect retry interval in seconds,
	// 1..65535, default 120.
	ConnectRetryTime int `json:"connectRetryTime,omitempty" range:"1..65535"`
}

// GracefulRestart configures the restarting-speaker role (RFC 4724).
type GracefulRestart struct {
	Enabled bool `json:"enabled,omitempty"`
	// RestartTime is announced to peers: how long, in seconds, they keep
	// our routes while we restart (1..4095, default 120).
	RestartTime int `json:"restartTime,omitempty" range:"1..4095"`
	// SelectionDeferralTime is how long, in seconds, route selection waits
	// for End-of-RIB after a restart (1..3600, default 30).
	SelectionDeferralTime int `json:"selectionDeferralTime,omitempty" range:"1..3600"`
	// LongLivedStaleTime asks peers that support long-lived graceful
	// restart (RFC 9494) to keep our routes this many seconds more after
	// the restart time, marked LLGR_STALE (0..16777215; default 0: no).
	LongLivedStaleTime int `json:"longLivedStaleTime,omitempty" range:"0..16777215"`
}

// Kind implements Spec.
func (*BGPConfigurationSpec) Kind() Kind { return KindBGPConfiguration }

// EffectiveMaxPaths is MaxPaths or its default.
func (s *BGPConfigurationSpec) EffectiveMaxPaths() int { return orDefault(s.MaxPaths, DefaultMaxPaths) }

// EffectiveKernelProtocol is KernelProtocol or its default.
func (s *BGPConfigurationSpec) EffectiveKernelProtocol() int {
	return orDefault(s.KernelProtocol, DefaultKernelProtocol)
}

// Timers returns the hold, keepalive and connect retry times that apply
// where a peer sets none.
func (s *BGPConfigurationSpec) Timers() (hold, keepalive, connectRetry time.Duration) {
	h, k := holdAndKeepalive(s.HoldTime, s.KeepaliveTime, DefaultHoldTime, -1)
	return h, k, seconds(orDefault(s.ConnectRetryTime, DefaultConnectRetryTime))
}

func (s *BGPConfigurationSpec) validate(v *validator) {
	v.uniquePrefixes("spec.serviceClusterIPs", s.ServiceClusterIPs)
	v.uniquePrefixes("spec.serviceExternalIPs", s.ServiceExternalIPs)
	if s.ASNumber == 0 {
		v.required("spec.asNumber")
	}
	switch {
	case !s.RouterID.IsValid():
	case !s.RouterID.Is4():
		v.errf("spec.routerID", "must be an IPv4 address, got %s", s.RouterID)
	case s.RouterID.IsUnspecified():
		v.errf("spec.routerID", "must not be 0.0.0.0 (RFC 6286)")
	}
	for i, ap := range s.ListenAddresses {
		if ap.Port() == 0 {
			v.errf(fmt.Sprintf("spec.listenAddresses[%d]", i), "port must be 1..65535, got 0")
		}
		if j := slices.Index(s.ListenAddresses[:i], ap); j >= 0 {
			v.errf(fmt.Sprintf("spec.listenAddresses[%d]", i), "%s is listed twice (also item %d)", ap, j)
		}
	}
	if s.RouteReflectorClusterID.IsValid() && !s.RouteReflectorClusterID.Is4() {
		v.errf("spec.routeReflectorClusterID", "must be an IPv4-formatted cluster ID, got %s", s.RouteReflectorClusterID)
	}
	if p := s.KernelProtocol; p != 0 {
		switch {
		case p <= 4:
			v.errf("spec.kernelProtocol", "must not be 0..4 (the kernel's own), got %d", p)
		case p >= 186 && p <= 198:
			v.errf("spec.kernelProtocol", "must not be 186..198 (FRR's zebra owns them), got %d", p)
		}
	}
	validateTimers(v, "spec", s.HoldTime, s.KeepaliveTime)
}

// BGPPeerSpec is one BGP neighbour, or, with PeerSelector, the cluster
// Nodes it selects.
type BGPPeerSpec struct {
	// PeerAddress is the neighbour's address; required unless
	// PeerSelector is set.
	PeerAddress netip.Addr `json:"peerAddress,omitzero"`
	// PeerASN is the neighbour's AS; required unless PeerSelector is set,
	// and not allowed with it (each selected Node's AS is used).
	PeerASN ASN `json:"peerASN,omitempty"`
	// LocalAddress is the source address of the session (same family as
	// PeerAddress). Default: chosen by the kernel.
	LocalAddress netip.Addr `json:"localAddress,omitzero"`
	// LocalASN replaces BGPConfiguration.asNumber towards this peer
	// ("local-as").
	LocalASN ASN `json:"localASN,omitempty"`
	// HoldTime in seconds, 0 or 3..65535; default the BGPConfiguration's.
	HoldTime *int `json:"holdTime,omitempty"`
	// KeepaliveTime in seconds; default the BGPConfiguration's, or a third
	// of HoldTime when this peer sets that.
	KeepaliveTime *int `json:"keepaliveTime,omitempty" range:"0..21845"`
	// ConnectRetryTime in seconds, 1..65535; default the
	// BGPConfiguration's.
	ConnectRetryTime int `json:"connectRetryTime,omitempty" range:"1..65535"`
	// Passive waits for the peer to connect.
	Passive bool `json:"passive,omitempty"`
	// Password is the TCP MD5 key (RFC 2385), at most 80 bytes. It is never
	// printed unless asked for explicitly.
	Password Secret `json:"password,omitempty"`
	// TTLSecurity enables GTSM (RFC 5082): the peer is at most this many
	// hops away (1..254). Exclusive with EBGPMultihop.
	TTLSecurity int `json:"ttlSecurity,omitempty" range:"1..254"`
	// EBGPMultihop is the TTL of packets to an eBGP peer that is not
	// directly connected (1..255).
	EBGPMultihop int `json:"ebgpMultihop,omitempty" range:"1..255"`
	// Families to negotiate; default the unicast family of PeerAddress.
	Families []Family `json:"families,omitempty"`
	// RouteReflectorClient makes this iBGP peer a client of ours (RFC 4456).
	RouteReflectorClient bool `json:"routeReflectorClient,omitempty"`
	// MaxPrefixes bounds the prefixes accepted from the peer, all families
	// together; past it the session is closed (RFC 4486 Cease subcode 1).
	MaxPrefixes uint32 `json:"maxPrefixes,omitempty"`
	// MaxPrefixesPerFamily bounds each family on its own.
	MaxPrefixesPerFamily map[Family]uint32 `json:"maxPrefixesPerFamily,omitempty"`
	// MaxPrefixesWarning is the percentage of a limit at which a warning is
	// logged (1..100, default 75).
	MaxPrefixesWarning int `json:"maxPrefixesWarning,omitempty" range:"1..100"`
	// MaxPrefixesRestart re-opens a session closed for too many prefixes
	// after this long (a Go duration like "5m", or seconds); unset: stay
	// down until cleared by hand.
	MaxPrefixesRestart Duration `json:"maxPrefixesRestart,omitempty"`
	// AdvertisementInterval is the MRAI (RFC 4271 §9.2.1.1): UPDATEs to
	// this peer go out at most this often, each carrying the latest state
	// of its prefixes (a Go duration like "5s", or seconds). Default 0:
	// at once, as data-centre profiles want.
	AdvertisementInterval Duration `json:"advertisementInterval,omitempty"`
	// SoftReconfigurationInbound keeps the routes received from this peer
	// as they came, before the import policy, so that a changed import
	// policy is applied to them without asking the peer for its routes
	// again (FRR's soft-reconfiguration inbound). It costs memory per
	// route; peers that support route refresh do without it.
	SoftReconfigurationInbound bool `json:"softReconfigurationInbound,omitempty"`
	// AllowASIn accepts routes whose AS_PATH holds our own AS up to this
	// many times (0..10, default 0: such routes are refused as loops).
	AllowASIn int `json:"allowASIn,omitempty" range:"0..10"`
	// MaxASPathLength refuses routes whose AS_PATH is longer (every AS
	// counted, sets and confederation segments too): a defence against
	// paths crafted to be expensive. Default: no limit.
	MaxASPathLength int `json:"maxASPathLength,omitempty" range:"1..2048"`
	// Role is our BGP role on this eBGP session (RFC 9234): provider,
	// customer, peer, rs (route server) or rs-client. It is announced in
	// the OPEN, and the OTC attribute then prevents route leaks: routes
	// marked Only-to-Customer are refused from customers and route-server
	// clients and never sent to providers, peers and route servers.
	Role string `json:"role,omitempty"`
	// StrictRole refuses a session whose peer announces no role.
	StrictRole bool `json:"strictRole,omitempty"`
	// ImportPolicy and ExportPolicy name RoutePolicy resources. Unset: the
	// default policy (see DESIGN.md).
	ImportPolicy string `json:"importPolicy,omitempty"`
	ExportPolicy string `json:"exportPolicy,omitempty"`
	// NodeSelector picks the cluster Nodes that have this peer (by Node
	// labels, see Selector); unset: every node.
	NodeSelector Selector `json:"nodeSelector,omitempty"`
	// PeerSelector makes every cluster Node it selects a peer, instead of
	// the single PeerAddress (see Selector and the cluster package).
	PeerSelector Selector `json:"peerSelector,omitempty"`
	// AddPath configures ADD-PATH (RFC 7911).
	AddPath *AddPath `json:"addPath,omitempty"`
	// ExtendedNextHop advertises the Extended Next Hop Encoding
	// capability for IPv4 unicast with IPv6 next hops (RFC 8950): IPv4
	// routes over an IPv6 session, as FRR's `capability
	// extended-nexthop`. List ipv4-unicast in families too.
	ExtendedNextHop bool `json:"extendedNextHop,omitempty"`
	// GracefulRestart overrides the BGPConfiguration's for this peer.
	GracefulRestart *PeerGracefulRestart `json:"gracefulRestart,omitempty"`
	// Shutdown keeps the session administratively down.
	Shutdown bool `json:"shutdown,omitempty"`
	// Description is free text (at most 255 bytes).
	Description string `json:"description,omitempty"`
	// VRF puts the session in a VRF instead of the default table.
	VRF string `json:"vrf,omitempty"`
}

// AddPath configures ADD-PATH (RFC 7911) for a peer.
type AddPath struct {
	// Receive lists the families in which we accept several paths.
	Receive []Family `json:"receive,omitempty"`
	// Send lists the families in which we send several paths.
	Send []Family `json:"send,omitempty"`
	// SendMode picks which paths are sent: "all", "best-n" (the SendMax
	// best) or "ecmp" (the multipath set). Default "all".
	SendMode string `json:"sendMode,omitempty"`
	// SendMax is N for "best-n" (2..255).
	SendMax int `json:"sendMax,omitempty" range:"2..255"`
}

// The values of AddPath.SendMode.
const (
	AddPathSendAll   = "all"
	AddPathSendBestN = "best-n"
	AddPathSendECMP  = "ecmp"
)

// PeerGracefulRestart overrides graceful restart for one peer.
type PeerGracefulRestart struct {
	// Enabled, when set, overrides BGPConfiguration.gracefulRestart.enabled.
	Enabled *bool `json:"enabled,omitempty"`
	// RestartTime overrides the announced restart time (1..4095 seconds).
	RestartTime int `json:"restartTime,omitempty" range:"1..4095"`
}

// Kind implements Spec.
func (*BGPPeerSpec) Kind() Kind { return KindBGPPeer }

// EffectiveFamilies is Families or the default, the unicast family of the
// peer's address (IPv4 unicast when the peer is chosen by PeerSelector).
func (s *BGPPeerSpec) EffectiveFamilies() []Family {
	if len(s.Families) > 0 {
		return s.Families
	}
	if s.PeerAddress.IsValid() {
		return []Family{UnicastFamily(s.PeerAddress)}
	}
	return []Family{IPv4Unicast}
}

// Timers returns the peer's hold, keepalive and connect retry times, given
// the BGPConfiguration (which may be nil).
func (s *BGPPeerSpec) Timers(global *BGPConfigurationSpec) (hold, keepalive, connectRetry time.Duration) {
	g := &BGPConfigurationSpec{}
	if global != nil {
		g = global
	}
	gh, gk, gc := g.Timers()
	if s.HoldTime == nil && s.KeepaliveTime == nil {
		hold, keepalive = gh, gk
	} else {
		hold, keepalive = holdAndKeepalive(s.HoldTime, s.KeepaliveTime, int(gh/time.Second), int(gk/time.Second))
	}
	connectRetry = gc
	if s.ConnectRetryTime != 0 {
		connectRetry = seconds(s.ConnectRetryTime)
	}
	return hold, keepalive, connectRetry
}

// BGP roles (RFC 9234), as BGPPeer.role spells them.
var Roles = []string{"provider", "rs", "rs-client", "customer", "peer"}

func (s *BGPPeerSpec) validate(v *validator) {
	if s.Role != "" && !slices.Contains(Roles, s.Role) {
		v.errf("spec.role", "must be one of provider, customer, peer, rs, rs-client, got %q", s.Role)
	}
	if s.StrictRole && s.Role == "" {
		v.errf("spec.strictRole", "needs a role")
	}
	if !s.PeerSelector.IsZero() {
		if s.PeerAddress.IsValid() {
			v.errf("spec.peerSelector", "cannot be combined with peerAddress")
		}
		if s.PeerASN != 0 {
			// As in Calico: each selected Node peers with its own AS.
			v.errf("spec.peerASN", "cannot be combined with peerSelector (each selected Node's AS is used)")
		}
		v.selector("spec.peerSelector", s.PeerSelector)
	} else {
		if !s.PeerAddress.IsValid() {
			v.errf("spec.peerAddress", "required (or give peerSelector)")
		}
		if s.PeerASN == 0 {
			v.errf("spec.peerASN", "required (or give peerSelector)")
		}
	}
	if s.PeerAddress.IsValid() && s.PeerAddress.IsUnspecified() {
		v.errf("spec.peerAddress", "must not be the unspecified address %s", s.PeerAddress)
	}
	if s.PeerAddress.IsValid() && s.PeerAddress.IsMulticast() {
		v.errf("spec.peerAddress", "must not be a multicast address, got %s", s.PeerAddress)
	}
	if s.LocalAddress.IsValid() && s.PeerAddress.IsValid() && s.LocalAddress.Is4() != s.PeerAddress.Is4() {
		v.errf("spec.localAddress", "must be of the same family as peerAddress %s, got %s", s.PeerAddress, s.LocalAddress)
	}
	validateTimers(v, "spec", s.HoldTime, s.KeepaliveTime)
	if len(s.Password) > 80 {
		v.errf("spec.password", "must be at most 80 bytes (RFC 2385 keys), got %d", len(s.Password))
	}
	if s.Password == Redacted {
		v.errf("spec.password", "is the placeholder %s from a printed configuration; give the real password", Redacted)
	}
	if s.TTLSecurity != 0 && s.EBGPMultihop != 0 {
		v.errf("spec.ttlSecurity", "cannot be combined with ebgpMultihop")
	}
	v.families("spec.families", s.Families)
	fams := s.EffectiveFamilies()
	for _, f := range sortedKeys(s.MaxPrefixesPerFamily) {
		if !slices.Contains(fams, f) {
			v.errf("spec.maxPrefixesPerFamily."+string(f), "family %s is not negotiated with this peer (families: %s)", f, joinFamilies(fams))
		}
	}
	limited := s.MaxPrefixes != 0 || len(s.MaxPrefixesPerFamily) > 0
	if s.MaxPrefixesWarning != 0 && !limited {
		v.errf("spec.maxPrefixesWarning", "has no effect without maxPrefixes or maxPrefixesPerFamily")
	}
	if d := time.Duration(s.AdvertisementInterval); d < 0 || d > 10*time.Minute {
		v.errf("spec.advertisementInterval", "must be between 0 and 10m, got %s", s.AdvertisementInterval)
	}
	if s.MaxPrefixesRestart != 0 && !limited {
		v.errf("spec.maxPrefixesRestart", "has no effect without maxPrefixes or maxPrefixesPerFamily")
	}
	if s.MaxPrefixesRestart != 0 && time.Duration(s.MaxPrefixesRestart) < time.Second {
		v.errf("spec.maxPrefixesRestart", "must be at least 1s, got %s", s.MaxPrefixesRestart)
	}
	v.selector("spec.nodeSelector", s.NodeSelector)
	if a := s.AddPath; a != nil {
		v.families("spec.addPath.receive", a.Receive)
		v.families("spec.addPath.send", a.Send)
		for _, list := range []struct {
			name string
			fs   []Family
		}{{"receive", a.Receive}, {"send", a.Send}} {
			for i, f := range list.fs {
				if !slices.Contains(fams, f) {
					v.errf(fmt.Sprintf("spec.addPath.%s[%d]", list.name, i), "family %s is not negotiated with this peer (families: %s)", f, joinFamilies(fams))
				}
			}
		}
		switch a.SendMode {
		case "", AddPathSendAll, AddPathSendECMP:
			if a.SendMax != 0 {
				v.errf("spec.addPath.sendMax", "only applies to sendMode best-n")
			}
		case AddPathSendBestN:
			if a.SendMax == 0 {
				v.errf("spec.addPath.sendMax", "required with sendMode best-n")
			}
		default:
			v.errf("spec.addPath.sendMode", "must be all, best-n or ecmp, got %q", a.SendMode)
		}
		if a.SendMode != "" && len(a.Send) == 0 {
			v.errf("spec.addPath.sendMode", "has no effect without addPath.send")
		}
	}
	if len(s.Description) > 255 {
		v.errf("spec.description", "must be at most 255 bytes, got %d", len(s.Description))
	}
	v.optionalName("spec.importPolicy", s.ImportPolicy)
	v.optionalName("spec.exportPolicy", s.ExportPolicy)
	v.optionalName("spec.vrf", s.VRF)
}

// validateTimers checks a hold time and keepalive pair under prefix.
func validateTimers(v *validator, prefix string, hold, keepalive *int) {
	if hold != nil {
		if h := *hold; h < 0 || h > 65535 || h == 1 || h == 2 {
			// RFC 4271 §4.2: zero or at least three seconds.
			v.errf(prefix+".holdTime", "must be 0 or 3..65535, got %d", h)
		} else if keepalive != nil && *keepalive != 0 && h != 0 && *keepalive > h/3 {
			v.errf(prefix+".keepaliveTime", "must be at most a third of holdTime (%d), got %d", h/3, *keepalive)
		} else if keepalive != nil && *keepalive != 0 && h == 0 {
			v.errf(prefix+".keepaliveTime", "must be 0 when holdTime is 0, got %d", *keepalive)
		}
	}
}

// holdAndKeepalive resolves a hold/keepalive pair: an unset keepalive is a
// third of the hold time, or defKeep when that is not negative and the
// hold time is the default.
func holdAndKeepalive(hold, keepalive *int, defHold, defKeep int) (time.Duration, time.Duration) {
	h := defHold
	if hold != nil {
		h = *hold
	}
	var k int
	switch {
	case keepalive != nil:
		k = *keepalive
	case hold == nil && defKeep >= 0:
		k = defKeep
	default:
		k = h / 3
	}
	return seconds(h), seconds(k)
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func joinFamilies(fs []Family) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		s += string(f)
	}
	return s
}

// sortedKeys returns m's keys in order, for deterministic errors and
// output.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
