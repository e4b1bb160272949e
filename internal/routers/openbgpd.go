package routers

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// OpenBGPD is OpenBGPD's bgpd running in one namespace (`bgpd -d`, which
// forks a session engine, a route decision engine and an RTR engine; they
// stay in its process group, so Stop reaches them). It never touches the
// kernel's routes (fib-update no); bgpctl talks to it over Dir/bgpd.sock.
type OpenBGPD struct {
	*base
	cfg  Config
	sock string
}

// OpenBGPDUser is the unprivileged user the Debian package creates; its
// children chroot into its home directory.
var OpenBGPDUser = "_openbgpd"

// StartOpenBGPD renders cfg, starts bgpd in ns and returns once bgpctl
// answers.
func StartOpenBGPD(ns *netns.NS, cfg Config) (*OpenBGPD, error) {
	b, err := newBase(KindOpenBGPD, ns, &cfg)
	if err != nil {
		return nil, err
	}
	if err := openbgpdChroot(); err != nil {
		return nil, err
	}
	r := &OpenBGPD{base: b, cfg: cfg, sock: b.path("bgpd.sock")}
	conf, err := renderOpenBGPD(&cfg, r.sock)
	if err != nil {
		return nil, err
	}
	// bgpd refuses a configuration file others can read (it may hold
	// passwords).
	if err := writeFiles(b.dir, map[string]string{"bgpd.conf": conf}, 0o600); err != nil {
		return nil, err
	}
	if _, err := b.start("bgpd", ns.Command(OpenBGPDPath, "-d", "-f", b.path("bgpd.conf"))); err != nil {
		return nil, err
	}
	if err := b.waitReady("waiting for bgpctl to answer", func() error {
		_, err := r.Bgpctl("show", "summary")
		return err
	}); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return r, nil
}

// openbgpdChroot makes sure the chroot directory exists. The Debian
// package creates the user with home /run/openbgpd but leaves the directory
// to systemd's RuntimeDirectory=, which machines without systemd never
// run: without it every child dies with "chroot: No such file or directory".
func openbgpdChroot() error {
	u, err := user.Lookup(OpenBGPDUser)
	if err != nil {
		return fmt.Errorf("openbgpd: user %s: %w (the openbgpd package creates it with systemd-sysusers)", OpenBGPDUser, err)
	}
	if u.HomeDir == "" || u.HomeDir == "/" {
		return fmt.Errorf("openbgpd: user %s has no home directory to chroot into", OpenBGPDUser)
	}
	if err := os.MkdirAll(u.HomeDir, 0o755); err != nil {
		return fmt.Errorf("openbgpd: chroot directory: %w", err)
	}
	return nil
}

func renderOpenBGPD(c *Config, sock string) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("AS %d", c.LocalAS)
	w("router-id %s", c.RouterID)
	w("fib-update no")
	// The default, 120 s, turns one refused first attempt into a long wait.
	w("connect-retry %d", connectRetry)
	w("socket %q", sock)
	for _, r := range c.Routes {
		if r.NextHop != "" {
			return "", fmt.Errorf("openbgpd: route %s: NextHop is not supported (OpenBGPD announces itself)", r.Prefix)
		}
		line := "network " + netip.MustParsePrefix(r.Prefix).Masked().String()
		var set []string
		if r.MED != nil {
			set = append(set, fmt.Sprintf("med %d", *r.MED))
		}
		for _, cm := range r.Communities {
			set = append(set, "community "+cm)
		}
		if len(set) > 0 {
			line += " set { " + strings.Join(set, " ") + " }"
		}
		w("%s", line)
	}
	for _, n := range c.Neighbors {
		if n.ImportPolicy != "" || n.ExportPolicy != "" {
			return "", fmt.Errorf("openbgpd: neighbor %s: per-neighbour policies are not supported; put filter rules in Extra", n.Address)
		}
		w("neighbor %s {", n.Address)
		w("  remote-as %d", n.RemoteAS)
		w("  descr %q", n.Address)
		if n.LocalAddress != "" {
			w("  local-address %s", n.LocalAddress)
		}
		if n.Password != "" {
			w("  tcp md5sig password %s", n.Password)
		}
		if n.HoldTime > 0 {
			w("  holdtime %d", n.HoldTime)
		}
		if n.Passive {
			w("  passive")
		}
		hops := max(n.Multihop, n.TTLSecurity)
		if n.Multihop > 0 || hops > 1 {
			w("  multihop %d", hops)
		}
		if n.TTLSecurity > 0 {
			w("  ttl-security yes")
		}
		for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
			afi := "IPv4"
			if f == IPv6Unicast {
				afi = "IPv6"
			}
			if n.hasFamily(f) {
				w("  announce %s unicast", afi)
			} else {
				w("  announce %s none", afi)
			}
		}
		if n.AddPath.receive() {
			w("  announce add-path recv yes")
		}
		if n.AddPath.send() {
			w("  announce add-path send all")
		}
		w("}")
	}
	// The default filter denies everything.
	w("allow from any")
	w("allow to any")
	if c.Extra != "" {
		w("%s", c.Extra)
	}
	return b.String(), nil
}

// Bgpctl runs bgpctl against this bgpd and returns its output.
func (r *OpenBGPD) Bgpctl(args ...string) (string, error) {
	// The control socket is a unix socket: no need to enter the namespace.
	out, err := exec.Command("bgpctl", append([]string{"-s", r.sock}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("bgpctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// openbgpdNeighbor is the part of `bgpctl -j show neighbor` this package
// reads.
type openbgpdNeighbor struct {
	RemoteAddr    string          `json:"remote_addr"`
	RemoteAS      json.RawMessage `json:"remote_as"`
	State         string          `json:"state"`
	LastUpdownSec int64           `json:"last_updown_sec"`
	Stats         struct {
		Prefixes struct {
			Sent     int `json:"sent"`
			Received int `json:"received"`
		} `json:"prefixes"`
	} `json:"stats"`
	LastErrorReceived  string `json:"last_error_received"`
	LastErrorSent      string `json:"last_error_sent"`
	LastRecvError      string `json:"last_recv_error"`
	LastSentError      string `json:"last_sent_error"`
	LastShutdownReason string `json:"last_shutdown_reason"`
}

// Sessions reads `bgpctl -j show neighbor`.
func (r *OpenBGPD) Sessions() ([]Session, error) {
	out, err := r.Bgpctl("-j", "show", "neighbor")
	if err != nil {
		return nil, err
	}
	return parseOpenBGPDNeighbors([]byte(out))
}

func parseOpenBGPDNeighbors(data []byte) ([]Session, error) {
	var doc struct {
		Neighbors []openbgpdNeighbor `json:"neighbors"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("bgpctl -j show neighbor: %w", err)
	}
	var out []Session
	for _, n := range doc.Neighbors {
		s := Session{Address: n.RemoteAddr, State: normState(n.State),
			PrefixesReceived: n.Stats.Prefixes.Received, PrefixesSent: n.Stats.Prefixes.Sent}
		// remote_as is a string ("65001") in this version.
		var asText string
		var asNum uint32
		if json.Unmarshal(n.RemoteAS, &asText) == nil {
			if v, err := strconv.ParseUint(asText, 10, 32); err == nil {
				s.RemoteAS = uint32(v)
			}
		} else if json.Unmarshal(n.RemoteAS, &asNum) == nil {
			s.RemoteAS = asNum
		}
		if s.Established() {
			s.Uptime = time.Duration(n.LastUpdownSec) * time.Second
		}
		for _, e := range []string{n.LastErrorReceived, n.LastRecvError, n.LastErrorSent, n.LastSentError} {
			if e != "" {
				s.LastError = e
				break
			}
		}
		s.ShutdownMessage = n.LastShutdownReason
		out = append(out, s)
	}
	sortSessions(out)
	return out, nil
}

// openbgpdRoute is one entry of `bgpctl -j show rib detail`.
type openbgpdRoute struct {
	Prefix      string  `json:"prefix"`
	ASPath      string  `json:"aspath"`
	ExitNexthop string  `json:"exit_nexthop"`
	Valid       bool    `json:"valid"`
	Best        bool    `json:"best"`
	Origin      string  `json:"origin"`
	Metric      *uint32 `json:"metric"`
	LocalPref   *uint32 `json:"localpref"`
	PathID      uint32  `json:"path_id"`
	Neighbor    struct {
		RemoteAddr string `json:"remote_addr"`
	} `json:"neighbor"`
	Communities      []string `json:"communities"`
	LargeCommunities []string `json:"large_communities"`
}

// Routes reads `bgpctl -j show rib detail inet|inet6`.
func (r *OpenBGPD) Routes(f Family) ([]Path, error) {
	fam := "inet"
	if f == IPv6Unicast {
		fam = "inet6"
	} else if f != IPv4Unicast {
		return nil, fmt.Errorf("openbgpd: family %q not supported", f)
	}
	out, err := r.Bgpctl("-j", "show", "rib", "detail", fam)
	if err != nil {
		return nil, err
	}
	return parseOpenBGPDRib([]byte(out))
}

func parseOpenBGPDRib(data []byte) ([]Path, error) {
	var doc struct {
		Rib []openbgpdRoute `json:"rib"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("bgpctl -j show rib: %w", err)
	}
	var out []Path
	for _, e := range doc.Rib {
		prefix, err := netip.ParsePrefix(e.Prefix)
		if err != nil {
			return nil, fmt.Errorf("bgpctl prefix %q: %w", e.Prefix, err)
		}
		p := Path{Prefix: prefix.Masked(), NextHop: e.ExitNexthop, ASPathText: e.ASPath, ASPath: parseASPath(e.ASPath),
			Origin: normOrigin(e.Origin), MED: e.Metric, LocalPref: e.LocalPref, Valid: e.Valid, Best: e.Best, PathID: e.PathID,
			Communities: e.Communities, LargeCommunities: e.LargeCommunities}
		if a, err := netip.ParseAddr(e.Neighbor.RemoteAddr); err == nil {
			p.Peer = a.String()
		}
		p.NextHop = normNextHop(p.NextHop)
		out = append(out, p)
	}
	sortPaths(out)
	return out, nil
}
