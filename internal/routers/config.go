package routers

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Family is an address family, spelled as in BGPPeer.families.
type Family string

// The families every launcher supports.
const (
	IPv4Unicast Family = "ipv4-unicast"
	IPv6Unicast Family = "ipv6-unicast"
)

// AddPath says which ADD-PATH (RFC 7911) directions to announce for every
// family of a neighbour. AddPathDefault leaves the daemon's own default
// (FRR announces receive by default; the others announce nothing).
type AddPath int

// ADD-PATH modes.
const (
	AddPathDefault AddPath = iota
	AddPathReceive
	AddPathSend
	AddPathBoth
)

func (a AddPath) send() bool    { return a == AddPathSend || a == AddPathBoth }
func (a AddPath) receive() bool { return a == AddPathReceive || a == AddPathBoth }

// Config is one router: what every launcher renders into its daemon's own
// configuration language. Fields a daemon cannot express make its launcher
// fail with an error that says so, rather than being silently dropped.
type Config struct {
	// Name labels the router in logs and file names; default: the daemon.
	Name     string
	RouterID string
	LocalAS  uint32

	Neighbors []Neighbor
	// Routes are originated by this router.
	Routes []Route

	// Extra is raw configuration in the daemon's own language: route-maps
	// (FRR), filters (BIRD; placed before the protocols, so they can be
	// referenced), policy definitions (GoBGP TOML), filter rules (OpenBGPD;
	// placed after the allow rules, so they win), whole extra blocks
	// (ExaBGP).
	Extra string

	// Dir is the working directory (configuration, sockets, logs). Empty
	// means a fresh temporary directory, removed when the namespace is
	// closed.
	Dir string
}

// Neighbor is one configured BGP session.
type Neighbor struct {
	Address  string
	RemoteAS uint32
	// LocalAddress is the source address (update-source). ExaBGP needs
	// one; when empty its launcher asks the kernel for the route's source.
	LocalAddress string
	// Password turns on TCP MD5 (RFC 2385).
	Password string
	// HoldTime in seconds; 0 keeps the daemon's default. Keepalive is a
	// third of it.
	HoldTime int
	Passive  bool
	// Multihop is the eBGP multihop TTL; 0 means directly connected.
	Multihop int
	// TTLSecurity is the GTSM (RFC 5082) hop count; 0 is off. BIRD and
	// OpenBGPD only know "on" (one hop unless Multihop says more).
	TTLSecurity int
	// Families default to the unicast family of Address.
	Families []Family
	AddPath  AddPath
	// ImportPolicy and ExportPolicy name a policy defined in Config.Extra
	// (FRR route-map, BIRD filter, GoBGP policy definition). Not supported
	// by OpenBGPD (its filters are global rules: put them in Extra) nor
	// ExaBGP.
	ImportPolicy string
	ExportPolicy string
}

// Route is a prefix a router originates.
type Route struct {
	Prefix string
	// NextHop is honoured by ExaBGP and GoBGP; the others announce
	// themselves as next hop.
	NextHop     string
	MED         *uint32
	Communities []string // "65000:1"
}

// U32 returns a pointer to v, for Route.MED.
func U32(v uint32) *uint32 { return &v }

func (n Neighbor) families() []Family {
	if len(n.Families) > 0 {
		return n.Families
	}
	if a, err := netip.ParseAddr(n.Address); err == nil && a.Is6() {
		return []Family{IPv6Unicast}
	}
	return []Family{IPv4Unicast}
}

func (n Neighbor) hasFamily(f Family) bool {
	for _, g := range n.families() {
		if g == f {
			return true
		}
	}
	return false
}

func (r Route) family() (Family, error) {
	p, err := netip.ParsePrefix(r.Prefix)
	if err != nil {
		return "", fmt.Errorf("route %q: %w", r.Prefix, err)
	}
	if p.Addr().Is6() {
		return IPv6Unicast, nil
	}
	return IPv4Unicast, nil
}

func (c *Config) validate(kind string) error {
	if c.LocalAS == 0 {
		return fmt.Errorf("%s: LocalAS is not set", kind)
	}
	if _, err := netip.ParseAddr(c.RouterID); err != nil || !strings.Contains(c.RouterID, ".") {
		return fmt.Errorf("%s: RouterID %q is not an IPv4 address", kind, c.RouterID)
	}
	for _, n := range c.Neighbors {
		if _, err := netip.ParseAddr(n.Address); err != nil {
			return fmt.Errorf("%s: neighbor address %q: %w", kind, n.Address, err)
		}
		if n.RemoteAS == 0 {
			return fmt.Errorf("%s: neighbor %s: RemoteAS is not set", kind, n.Address)
		}
		for _, f := range n.families() {
			if f != IPv4Unicast && f != IPv6Unicast {
				return fmt.Errorf("%s: neighbor %s: family %q is not supported", kind, n.Address, f)
			}
		}
		if n.HoldTime != 0 && n.HoldTime < 3 {
			return fmt.Errorf("%s: neighbor %s: hold time %d is below 3 s", kind, n.Address, n.HoldTime)
		}
	}
	for _, r := range c.Routes {
		if _, err := r.family(); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		for _, cm := range r.Communities {
			if _, _, err := splitCommunity(cm); err != nil {
				return fmt.Errorf("%s: route %s: %w", kind, r.Prefix, err)
			}
		}
	}
	return nil
}

// splitCommunity parses "65000:1".
func splitCommunity(s string) (uint16, uint16, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("community %q is not ASN:VALUE", s)
	}
	x, err1 := strconv.ParseUint(a, 10, 16)
	y, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("community %q is not ASN:VALUE", s)
	}
	return uint16(x), uint16(y), nil
}

// connectRetry is the connect-retry time, in seconds, every launcher
// configures: the daemons' defaults (up to 120 s) would make a test wait
// minutes when its first attempt finds the peer not started yet.
const connectRetry = 2

// keepalive is a third of the hold time, at least one second.
func keepalive(hold int) int {
	if hold/3 < 1 {
		return 1
	}
	return hold / 3
}
