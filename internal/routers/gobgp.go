package routers

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// GoBGP is gobgpd running in one namespace. Its gRPC API listens on
// 127.0.0.1:APIPort inside the namespace (its own loopback, so the port is
// free there whatever runs on the host); the gobgp client runs inside the
// namespace too. Originated routes are added through the API once gobgpd
// answers, since its configuration file has no static routes.
type GoBGP struct {
	*base
	cfg     Config
	APIPort int
}

// StartGoBGP renders cfg into gobgpd.toml, starts gobgpd in ns, waits until
// its API answers and adds the routes to originate.
func StartGoBGP(ns *netns.NS, cfg Config) (*GoBGP, error) {
	b, err := newBase(KindGoBGP, ns, &cfg)
	if err != nil {
		return nil, err
	}
	conf, err := renderGoBGP(&cfg)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(b.dir, map[string]string{"gobgpd.toml": conf}, 0o644); err != nil {
		return nil, err
	}
	port, err := freePort(ns)
	if err != nil {
		return nil, err
	}
	r := &GoBGP{base: b, cfg: cfg, APIPort: port}
	cmd := ns.Command("gobgpd", "-f", b.path("gobgpd.toml"),
		"--api-hosts", fmt.Sprintf("127.0.0.1:%d", port),
		// pprof would listen on localhost:6060: a second gobgpd in the
		// same namespace would collide on it.
		"--pprof-disable",
		"--log-plain", "--log-level=info")
	if _, err := b.start("gobgpd", cmd); err != nil {
		return nil, err
	}
	if err := b.waitReady("waiting for the API", func() error {
		_, err := r.CLI("global")
		return err
	}); err != nil {
		_ = b.Stop()
		return nil, err
	}
	for _, rt := range cfg.Routes {
		if err := r.AddRoute(rt); err != nil {
			_ = b.Stop()
			return nil, err
		}
	}
	return r, nil
}

// freePort finds a free TCP port on the namespace's loopback.
func freePort(ns *netns.NS) (int, error) {
	l, err := ns.ListenTCP("127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func renderGoBGP(c *Config) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	q := strconv.Quote
	w("[global.config]")
	w("  as = %d", c.LocalAS)
	w("  router-id = %s", q(c.RouterID))
	for _, n := range c.Neighbors {
		w("")
		w("[[neighbors]]")
		w("  [neighbors.config]")
		w("    neighbor-address = %s", q(n.Address))
		w("    peer-as = %d", n.RemoteAS)
		if n.Password != "" {
			w("    auth-password = %s", q(n.Password))
		}
		w("  [neighbors.timers.config]")
		w("    connect-retry = %d", connectRetry)
		w("    idle-hold-time-after-reset = 5")
		if n.HoldTime > 0 {
			w("    hold-time = %d", n.HoldTime)
			w("    keepalive-interval = %d", keepalive(n.HoldTime))
		}
		if n.Passive || n.LocalAddress != "" {
			w("  [neighbors.transport.config]")
			if n.Passive {
				w("    passive-mode = true")
			}
			if n.LocalAddress != "" {
				w("    local-address = %s", q(n.LocalAddress))
			}
		}
		if n.Multihop > 0 {
			w("  [neighbors.ebgp-multihop.config]")
			w("    enabled = true")
			w("    multihop-ttl = %d", n.Multihop)
		}
		if n.TTLSecurity > 0 {
			w("  [neighbors.ttl-security.config]")
			w("    enabled = true")
			w("    ttl-min = %d", 256-n.TTLSecurity)
		}
		if n.ImportPolicy != "" || n.ExportPolicy != "" {
			w("  [neighbors.apply-policy.config]")
			if n.ImportPolicy != "" {
				w("    import-policy-list = [%s]", q(n.ImportPolicy))
				w("    default-import-policy = \"accept-route\"")
			}
			if n.ExportPolicy != "" {
				w("    export-policy-list = [%s]", q(n.ExportPolicy))
				w("    default-export-policy = \"accept-route\"")
			}
		}
		for _, f := range n.families() {
			w("  [[neighbors.afi-safis]]")
			w("    [neighbors.afi-safis.config]")
			w("      afi-safi-name = %s", q(string(f)))
			if n.AddPath != AddPathDefault {
				w("    [neighbors.afi-safis.add-paths.config]")
				w("      receive = %t", n.AddPath.receive())
				if n.AddPath.send() {
					w("      send-max = 8")
				}
			}
		}
	}
	if c.Extra != "" {
		w("")
		w("%s", c.Extra)
	}
	return b.String(), nil
}

// CLI runs the gobgp client inside the namespace against this gobgpd.
func (r *GoBGP) CLI(args ...string) (string, error) {
	return r.ns.Exec(append([]string{"gobgp", "-u", "127.0.0.1", "-p", strconv.Itoa(r.APIPort)}, args...)...)
}

// AddRoute originates a route through the API (`gobgp global rib add`).
func (r *GoBGP) AddRoute(rt Route) error {
	f, err := rt.family()
	if err != nil {
		return err
	}
	args := []string{"global", "rib", "add", "-a", gobgpAFI(f), netip.MustParsePrefix(rt.Prefix).Masked().String(), "origin", "igp"}
	if rt.NextHop != "" {
		args = append(args, "nexthop", rt.NextHop)
	}
	if rt.MED != nil {
		args = append(args, "med", strconv.FormatUint(uint64(*rt.MED), 10))
	}
	if len(rt.Communities) > 0 {
		args = append(args, "community", strings.Join(rt.Communities, ","))
	}
	_, err = r.CLI(args...)
	return err
}

// DeleteRoute withdraws a route added with AddRoute.
func (r *GoBGP) DeleteRoute(prefix string) error {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return err
	}
	f := IPv4Unicast
	if p.Addr().Is6() {
		f = IPv6Unicast
	}
	_, err = r.CLI("global", "rib", "del", "-a", gobgpAFI(f), p.Masked().String())
	return err
}

func gobgpAFI(f Family) string {
	if f == IPv6Unicast {
		return "ipv6"
	}
	return "ipv4"
}

// gobgpNeighbor is the part of `gobgp neighbor -j` this package reads.
type gobgpNeighbor struct {
	Conf struct {
		NeighborAddress string `json:"neighbor_address"`
		PeerASN         uint32 `json:"peer_asn"`
	} `json:"conf"`
	State struct {
		NeighborAddress string          `json:"neighbor_address"`
		PeerASN         uint32          `json:"peer_asn"`
		SessionState    json.RawMessage `json:"session_state"`
	} `json:"state"`
	Timers struct {
		State struct {
			Uptime *struct {
				Seconds int64 `json:"seconds"`
			} `json:"uptime"`
		} `json:"state"`
	} `json:"timers"`
	AfiSafis []struct {
		State struct {
			Received   int  `json:"received"`
			Accepted   int  `json:"accepted"`
			Advertised *int `json:"advertised"`
		} `json:"state"`
	} `json:"afi_safis"`
}

// gobgpStates is the API's SessionState enum.
var gobgpStates = map[int]string{1: "Idle", 2: "Connect", 3: "Active", 4: "OpenSent", 5: "OpenConfirm", 6: "Established"}

// Sessions reads `gobgp neighbor -j`.
func (r *GoBGP) Sessions() ([]Session, error) {
	out, err := r.CLI("neighbor", "-j")
	if err != nil {
		return nil, err
	}
	return parseGoBGPNeighbors([]byte(out), time.Now())
}

func parseGoBGPNeighbors(data []byte, now time.Time) ([]Session, error) {
	var ns []gobgpNeighbor
	if err := json.Unmarshal(data, &ns); err != nil {
		return nil, fmt.Errorf("gobgp neighbor -j: %w", err)
	}
	var out []Session
	for _, n := range ns {
		s := Session{Address: n.State.NeighborAddress, RemoteAS: n.State.PeerASN}
		if s.Address == "" {
			s.Address = n.Conf.NeighborAddress
		}
		if s.RemoteAS == 0 {
			s.RemoteAS = n.Conf.PeerASN
		}
		var st int
		var name string
		if json.Unmarshal(n.State.SessionState, &st) == nil {
			s.State = gobgpStates[st]
		} else if json.Unmarshal(n.State.SessionState, &name) == nil {
			s.State = normState(name)
		}
		if s.State == "" {
			s.State = "Idle"
		}
		if s.Established() && n.Timers.State.Uptime != nil && n.Timers.State.Uptime.Seconds > 0 {
			s.Uptime = now.Sub(time.Unix(n.Timers.State.Uptime.Seconds, 0)).Truncate(time.Second)
		}
		// The neighbour list leaves "advertised" out unless asked for
		// it; then the count is unknown.
		s.PrefixesSent = -1
		for _, af := range n.AfiSafis {
			s.PrefixesReceived += af.State.Accepted
			if af.State.Advertised != nil {
				s.PrefixesSent = max(s.PrefixesSent, 0) + *af.State.Advertised
			}
		}
		out = append(out, s)
	}
	sortSessions(out)
	return out, nil
}

// gobgpPath is one path of `gobgp global rib -j`.
type gobgpPath struct {
	Best       bool              `json:"best"`
	NeighborIP string            `json:"neighbor-ip"`
	ID         uint32            `json:"id"`
	Attrs      []json.RawMessage `json:"attrs"`
}

// Routes reads `gobgp global rib -j -a ipv4|ipv6`.
func (r *GoBGP) Routes(f Family) ([]Path, error) {
	if f != IPv4Unicast && f != IPv6Unicast {
		return nil, fmt.Errorf("gobgp: family %q not supported", f)
	}
	out, err := r.CLI("global", "rib", "-j", "-a", gobgpAFI(f))
	if err != nil {
		return nil, err
	}
	return parseGoBGPRib([]byte(out))
}

func parseGoBGPRib(data []byte) ([]Path, error) {
	var rib map[string][]gobgpPath
	if err := json.Unmarshal(data, &rib); err != nil {
		return nil, fmt.Errorf("gobgp global rib -j: %w", err)
	}
	var out []Path
	for key, gps := range rib {
		prefix, err := netip.ParsePrefix(key)
		if err != nil {
			return nil, fmt.Errorf("gobgp prefix %q: %w", key, err)
		}
		for _, gp := range gps {
			p := Path{Prefix: prefix.Masked(), Valid: true, Best: gp.Best, PathID: gp.ID}
			if a, err := netip.ParseAddr(gp.NeighborIP); err == nil && !a.IsUnspecified() {
				p.Peer = gp.NeighborIP
			}
			for _, raw := range gp.Attrs {
				gobgpAttr(&p, raw)
			}
			out = append(out, p)
		}
	}
	sortPaths(out)
	return out, nil
}

func gobgpAttr(p *Path, raw json.RawMessage) {
	var a struct {
		Type    int             `json:"type"`
		Value   json.RawMessage `json:"value"`
		Nexthop string          `json:"nexthop"`
		Metric  *uint32         `json:"metric"`
		ASPaths []struct {
			SegmentType int      `json:"segment_type"`
			ASNs        []uint32 `json:"asns"`
		} `json:"as_paths"`
		Communities []uint32 `json:"communities"`
	}
	if json.Unmarshal(raw, &a) != nil {
		return
	}
	switch a.Type {
	case 1: // ORIGIN
		var v int
		if json.Unmarshal(a.Value, &v) == nil {
			p.Origin = [...]string{"IGP", "EGP", "incomplete"}[min(max(v, 0), 2)]
		}
	case 2: // AS_PATH
		var text []string
		for _, seg := range a.ASPaths {
			p.ASPath = append(p.ASPath, seg.ASNs...)
			var nums []string
			for _, asn := range seg.ASNs {
				nums = append(nums, strconv.FormatUint(uint64(asn), 10))
			}
			if seg.SegmentType == 1 { // AS_SET
				text = append(text, "{"+strings.Join(nums, ",")+"}")
			} else {
				text = append(text, nums...)
			}
		}
		p.ASPathText = strings.Join(text, " ")
	case 3, 14: // NEXT_HOP, MP_REACH_NLRI
		if p.NextHop == "" {
			p.NextHop = normNextHop(a.Nexthop)
		}
	case 4: // MULTI_EXIT_DISC
		p.MED = a.Metric
	case 5: // LOCAL_PREF
		var v uint32
		if json.Unmarshal(a.Value, &v) == nil {
			p.LocalPref = U32(v)
		}
	case 8: // COMMUNITIES
		for _, c := range a.Communities {
			p.Communities = append(p.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
		}
	case 32: // LARGE_COMMUNITY
		var ls []struct {
			ASN    uint32 `json:"global_admin"`
			Local1 uint32 `json:"local_data1"`
			Local2 uint32 `json:"local_data2"`
		}
		if json.Unmarshal(a.Value, &ls) == nil {
			for _, l := range ls {
				p.LargeCommunities = append(p.LargeCommunities, fmt.Sprintf("%d:%d:%d", l.ASN, l.Local1, l.Local2))
			}
		}
	}
}
