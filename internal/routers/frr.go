package routers

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// FRR is zebra and bgpd of FRR 8.4 running in one namespace, each with its
// own files in Dir: zebra.conf, bgpd.conf, pid files, the zserv socket and
// the vty sockets vtysh talks to.
type FRR struct {
	*base
	cfg Config
}

// StartFRR renders cfg, starts zebra then bgpd in ns (in the foreground,
// so the PIDs we hold are the daemons'), and returns once bgpd answers
// vtysh. Processes stop with Stop or when ns is closed.
func StartFRR(ns *netns.NS, cfg Config) (*FRR, error) {
	b, err := newBase(KindFRR, ns, &cfg)
	if err != nil {
		return nil, err
	}
	r := &FRR{base: b, cfg: cfg}
	bgpdConf, err := renderFRR(&cfg)
	if err != nil {
		return nil, err
	}
	zebraConf := fmt.Sprintf("hostname %s\nlog stdout informational\n", b.name)
	if err := writeFiles(b.dir, map[string]string{"zebra.conf": zebraConf, "bgpd.conf": bgpdConf}, 0o644); err != nil {
		return nil, err
	}
	// The daemons drop to user frr: it must own (or at least read) the
	// configuration and write pid files and sockets in the directory.
	if err := chownFRR(b.dir, "zebra.conf", "bgpd.conf"); err != nil {
		return nil, err
	}
	args := func(daemon string, extra ...string) []string {
		return append([]string{
			filepath.Join(FRRDir, daemon),
			"-f", b.path(daemon + ".conf"),
			"-i", b.path(daemon + ".pid"),
			"-z", b.path("zserv.api"),
			"--vty_socket", b.dir,
			"-P", "0", // no TCP vty: nothing to collide with
		}, extra...)
	}
	zebraPID, err := b.start("zebra", ns.Command(args("zebra")...))
	if err != nil {
		return nil, err
	}
	// FRR keeps a crash-log directory per daemon process in /var/tmp/frr
	// and removes it only on a clean exit.
	ns.OnClose(func() { removeFRRCrashDir("zebra", zebraPID) })
	if err := b.waitReady("waiting for zebra's zserv socket", func() error {
		_, err := os.Stat(b.path("zserv.api"))
		return err
	}); err != nil {
		_ = b.Stop()
		return nil, err
	}
	bgpdPID, err := b.start("bgpd", ns.Command(args("bgpd", "-p", "179")...))
	if err != nil {
		_ = b.Stop()
		return nil, err
	}
	ns.OnClose(func() { removeFRRCrashDir("bgpd", bgpdPID) })
	if err := b.waitReady("waiting for bgpd to answer vtysh", func() error {
		_, err := r.Vtysh("show bgp summary json")
		return err
	}); err != nil {
		_ = b.Stop()
		return nil, err
	}
	// FRR skips configuration lines it cannot parse and starts anyway; a
	// test would then wait for a session that was never configured.
	for _, d := range []string{"zebra", "bgpd"} {
		if bad := frrConfigErrors(b.path(d + ".log")); bad != "" {
			_ = b.Stop()
			return nil, fmt.Errorf("frr %s: %s rejected configuration lines:\n%s\n--- %s.conf ---\n%s", b.name, d, bad, d, map[string]string{"zebra": zebraConf, "bgpd": bgpdConf}[d])
		}
	}
	return r, nil
}

// frrConfigErrors returns the lines of an FRR log that report a rejected
// configuration line ("... on config line N: ...").
func frrConfigErrors(log string) string {
	data, err := os.ReadFile(log)
	if err != nil {
		return ""
	}
	var bad []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "config line") {
			bad = append(bad, line)
		}
	}
	return strings.Join(bad, "\n")
}

// AttachFRR returns a handle on an FRR that StartFRR started earlier,
// perhaps in another process (`godwit lab status` after `lab up`), with its
// files in cfg.Dir: queries and Vtysh work; Alive always reports it alive
// and Stop does nothing, since this process started nothing (remove the
// namespace to end it).
func AttachFRR(ns *netns.NS, cfg Config) (*FRR, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("frr: AttachFRR needs the Dir it was started with")
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "bgpd.vty")); err != nil {
		return nil, fmt.Errorf("frr: no running bgpd in %s: %w", cfg.Dir, err)
	}
	b := &base{kind: KindFRR, name: nonEmpty(cfg.Name, string(KindFRR)), ns: ns, dir: cfg.Dir, attached: true,
		extraLogs: []string{filepath.Join(cfg.Dir, "zebra.log"), filepath.Join(cfg.Dir, "bgpd.log")}}
	return &FRR{base: b, cfg: cfg}, nil
}

func removeFRRCrashDir(daemon string, pid int) {
	_ = os.RemoveAll(fmt.Sprintf("/var/tmp/frr/%s.%d", daemon, pid))
}

func chownFRR(dir string, files ...string) error {
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("frr: user frr: %w (is the frr package installed?)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Chown(filepath.Join(dir, f), uid, gid); err != nil {
			return err
		}
	}
	return nil
}

func writeFiles(dir string, files map[string]string, mode os.FileMode) error {
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), mode); err != nil {
			return err
		}
	}
	return nil
}

func renderFRR(c *Config) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	// "frr defaults" must come first: it sets the defaults the rest of the
	// file is read with.
	w("frr defaults traditional")
	w("hostname %s", nonEmpty(c.Name, "frr"))
	// Neighbour events are logged at debug level; without them the log
	// of a failed test says nothing about the sessions.
	w("log stdout debugging")
	w("debug bgp neighbor-events")
	w("!")
	type orig struct {
		prefix, routeMap string
	}
	origins := map[Family][]orig{}
	for i, r := range c.Routes {
		f, _ := r.family()
		o := orig{prefix: netip.MustParsePrefix(r.Prefix).Masked().String()}
		if r.MED != nil || len(r.Communities) > 0 {
			o.routeMap = fmt.Sprintf("GODWIT-ORIGINATE-%d", i)
			w("route-map %s permit 10", o.routeMap)
			if r.MED != nil {
				w(" set metric %d", *r.MED)
			}
			if len(r.Communities) > 0 {
				w(" set community %s additive", strings.Join(r.Communities, " "))
			}
			w("exit")
			w("!")
		}
		if r.NextHop != "" {
			return "", fmt.Errorf("frr: route %s: NextHop is not supported (FRR announces itself; use a route-map in Extra)", r.Prefix)
		}
		origins[f] = append(origins[f], o)
	}
	w("router bgp %d", c.LocalAS)
	w(" bgp router-id %s", c.RouterID)
	w(" bgp log-neighbor-changes")
	w(" no bgp ebgp-requires-policy")
	w(" no bgp network import-check")
	w(" no bgp default ipv4-unicast")
	for _, n := range c.Neighbors {
		a := n.Address
		w(" neighbor %s remote-as %d", a, n.RemoteAS)
		// traditional's connect-retry of 120 s would turn one refused
		// first attempt (the peer not started yet) into a two-minute wait.
		w(" neighbor %s timers connect %d", a, connectRetry)
		if n.HoldTime > 0 {
			w(" neighbor %s timers %d %d", a, keepalive(n.HoldTime), n.HoldTime)
		}
		if n.LocalAddress != "" {
			w(" neighbor %s update-source %s", a, n.LocalAddress)
		}
		if n.Password != "" {
			w(" neighbor %s password %s", a, n.Password)
		}
		if n.Passive {
			w(" neighbor %s passive", a)
		}
		if n.Multihop > 0 && n.TTLSecurity > 0 {
			return "", fmt.Errorf("frr: neighbor %s: FRR refuses ebgp-multihop together with ttl-security", a)
		}
		if n.Multihop > 0 {
			w(" neighbor %s ebgp-multihop %d", a, n.Multihop)
		}
		if n.TTLSecurity > 0 {
			w(" neighbor %s ttl-security hops %d", a, n.TTLSecurity)
		}
	}
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		var lines []string
		for _, o := range origins[f] {
			if o.routeMap != "" {
				lines = append(lines, fmt.Sprintf("  network %s route-map %s", o.prefix, o.routeMap))
			} else {
				lines = append(lines, fmt.Sprintf("  network %s", o.prefix))
			}
		}
		for _, n := range c.Neighbors {
			if !n.hasFamily(f) {
				continue
			}
			a := n.Address
			lines = append(lines, fmt.Sprintf("  neighbor %s activate", a))
			if n.AddPath.send() {
				lines = append(lines, fmt.Sprintf("  neighbor %s addpath-tx-all-paths", a))
			}
			if n.ImportPolicy != "" {
				lines = append(lines, fmt.Sprintf("  neighbor %s route-map %s in", a, n.ImportPolicy))
			}
			if n.ExportPolicy != "" {
				lines = append(lines, fmt.Sprintf("  neighbor %s route-map %s out", a, n.ExportPolicy))
			}
		}
		if len(lines) == 0 {
			continue
		}
		w(" address-family %s unicast", strings.TrimSuffix(string(f), "-unicast"))
		for _, l := range lines {
			w("%s", l)
		}
		w(" exit-address-family")
	}
	w("exit")
	w("!")
	if c.Extra != "" {
		w("%s", c.Extra)
	}
	return b.String(), nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Vtysh runs vtysh against this FRR with one -c per command and returns
// stdout. To change the configuration at runtime pass "configure terminal"
// first (or use ConfigureBGP). An answer starting with "%" (FRR's error
// marker) is an error.
func (r *FRR) Vtysh(cmds ...string) (string, error) {
	args := []string{"--vty_socket", r.dir}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	// vtysh talks to the daemons over unix sockets: no need to enter the
	// namespace.
	cmd := exec.Command("vtysh", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("vtysh %q: %w: %s%s", cmds, err, out, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "%") {
			return string(out), fmt.Errorf("vtysh %q: %s", cmds, strings.TrimSpace(string(out)))
		}
	}
	return string(out), nil
}

// ConfigureBGP runs configuration lines inside "router bgp LOCALAS", for
// example "neighbor 10.0.0.2 shutdown message going away".
func (r *FRR) ConfigureBGP(lines ...string) error {
	cmds := append([]string{"configure terminal", fmt.Sprintf("router bgp %d", r.cfg.LocalAS)}, lines...)
	_, err := r.Vtysh(cmds...)
	return err
}

// Query runs a show command ending in "json" and decodes its answer.
func (r *FRR) Query(cmd string, v any) error {
	out, err := r.Vtysh(cmd)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("vtysh %q: %w in %.200q", cmd, err, out)
	}
	return nil
}

// frrNeighbor is the part of `show bgp neighbor json` this package reads.
type frrNeighbor struct {
	RemoteAS                uint32 `json:"remoteAs"`
	BGPState                string `json:"bgpState"`
	UpMsec                  int64  `json:"bgpTimerUpMsec"`
	LastNotificationReason  string `json:"lastNotificationReason"`
	LastShutdownDescription string `json:"lastShutdownDescription"`
	LastResetDueTo          string `json:"lastResetDueTo"`
	AddressFamilyInfo       map[string]struct {
		Accepted *int `json:"acceptedPrefixCounter"`
		Sent     *int `json:"sentPrefixCounter"`
	} `json:"addressFamilyInfo"`
}

// Sessions reads `show bgp neighbor json`.
func (r *FRR) Sessions() ([]Session, error) {
	var m map[string]json.RawMessage
	if err := r.Query("show bgp neighbor json", &m); err != nil {
		return nil, err
	}
	return parseFRRNeighbors(m)
}

func parseFRRNeighbors(m map[string]json.RawMessage) ([]Session, error) {
	var out []Session
	for addr, raw := range m {
		if _, err := netip.ParseAddr(addr); err != nil {
			continue // not a neighbour entry
		}
		var n frrNeighbor
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("neighbor %s: %w", addr, err)
		}
		s := Session{Address: addr, RemoteAS: n.RemoteAS, State: normState(n.BGPState),
			LastError: n.LastNotificationReason, ShutdownMessage: n.LastShutdownDescription}
		if s.LastError == "" && !s.Established() {
			s.LastError = n.LastResetDueTo
		}
		if s.Established() {
			s.Uptime = time.Duration(n.UpMsec) * time.Millisecond
		}
		for _, af := range n.AddressFamilyInfo {
			if af.Accepted != nil {
				s.PrefixesReceived += *af.Accepted
			}
			if af.Sent != nil {
				s.PrefixesSent += *af.Sent
			}
		}
		out = append(out, s)
	}
	sortSessions(out)
	return out, nil
}

// Neighbor returns the raw `show bgp neighbor ADDR json` object, for the
// fields Session does not carry.
func (r *FRR) Neighbor(addr string) (map[string]any, error) {
	var m map[string]map[string]any
	if err := r.Query("show bgp neighbor "+addr+" json", &m); err != nil {
		return nil, err
	}
	n, ok := m[addr]
	if !ok {
		return nil, fmt.Errorf("frr %s: no neighbour %s", r.name, addr)
	}
	return n, nil
}

// frrPath is one path in FRR's detailed JSON.
type frrPath struct {
	ASPath *struct {
		String   string `json:"string"`
		Segments []struct {
			Type string   `json:"type"`
			List []uint32 `json:"list"`
		} `json:"segments"`
	} `json:"aspath"`
	Origin    string  `json:"origin"`
	Metric    *uint32 `json:"metric"`
	LocPrf    *uint32 `json:"locPrf"`
	Valid     bool    `json:"valid"`
	Multipath bool    `json:"multipath"`
	Bestpath  *struct {
		Overall bool `json:"overall"`
	} `json:"bestpath"`
	Community *struct {
		List []string `json:"list"`
	} `json:"community"`
	LargeCommunity *struct {
		List []string `json:"list"`
	} `json:"largeCommunity"`
	Nexthops []struct {
		IP    string `json:"ip"`
		Scope string `json:"scope"`
	} `json:"nexthops"`
	Peer *struct {
		PeerID string `json:"peerId"`
	} `json:"peer"`
	AddpathRxID  *uint32 `json:"addpathRxId"`
	OriginatorID string  `json:"originatorId"`
	ClusterList  *struct {
		List []string `json:"list"`
	} `json:"clusterList"`
}

func (p frrPath) toPath(prefix netip.Prefix) Path {
	out := Path{Prefix: prefix, Origin: normOrigin(p.Origin), MED: p.Metric, LocalPref: p.LocPrf,
		Valid: p.Valid, Multipath: p.Multipath, Best: p.Bestpath != nil && p.Bestpath.Overall}
	if p.ASPath != nil {
		out.ASPathText = p.ASPath.String
		if out.ASPathText == "Local" {
			out.ASPathText = ""
		}
		for _, seg := range p.ASPath.Segments {
			out.ASPath = append(out.ASPath, seg.List...)
		}
	}
	if p.Community != nil {
		out.Communities = p.Community.List
	}
	if p.LargeCommunity != nil {
		out.LargeCommunities = p.LargeCommunity.List
	}
	for _, nh := range p.Nexthops {
		if nh.Scope != "link-local" {
			out.NextHop = normNextHop(nh.IP)
			break
		}
	}
	if p.Peer != nil && p.Peer.PeerID != "0.0.0.0" && p.Peer.PeerID != "::" && p.Peer.PeerID != "(unspec)" {
		out.Peer = p.Peer.PeerID
	}
	if p.AddpathRxID != nil {
		out.PathID = *p.AddpathRxID
	}
	out.OriginatorID = p.OriginatorID
	if p.ClusterList != nil {
		out.ClusterList = p.ClusterList.List
	}
	return out
}

func normOrigin(s string) string {
	switch strings.ToLower(s) {
	case "igp", "i":
		return "IGP"
	case "egp", "e":
		return "EGP"
	case "incomplete", "?":
		return "incomplete"
	}
	return s
}

func frrAFI(f Family) (string, error) {
	switch f {
	case IPv4Unicast:
		return "ipv4 unicast", nil
	case IPv6Unicast:
		return "ipv6 unicast", nil
	}
	return "", fmt.Errorf("frr: family %q not supported", f)
}

// Routes reads `show bgp ipv4|ipv6 unicast json detail`.
func (r *FRR) Routes(f Family) ([]Path, error) {
	afi, err := frrAFI(f)
	if err != nil {
		return nil, err
	}
	var table struct {
		Routes map[string][]json.RawMessage `json:"routes"`
	}
	if err := r.Query("show bgp "+afi+" json detail", &table); err != nil {
		return nil, err
	}
	return parseFRRTable(table.Routes)
}

func parseFRRTable(routes map[string][]json.RawMessage) ([]Path, error) {
	var out []Path
	for key, entries := range routes {
		prefix, err := netip.ParsePrefix(key)
		if err != nil {
			return nil, fmt.Errorf("frr route %q: %w", key, err)
		}
		for _, raw := range entries {
			var p frrPath
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("frr route %s: %w", key, err)
			}
			// The first element of each list describes the prefix, not a
			// path: it has no next hops.
			if len(p.Nexthops) == 0 && p.ASPath == nil {
				continue
			}
			out = append(out, p.toPath(prefix))
		}
	}
	sortPaths(out)
	return out, nil
}

// Route reads `show bgp ipv4|ipv6 unicast PREFIX json`: the paths of one
// prefix (none when it is absent).
func (r *FRR) Route(f Family, prefix string) ([]Path, error) {
	afi, err := frrAFI(f)
	if err != nil {
		return nil, err
	}
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return nil, err
	}
	var one struct {
		Paths []frrPath `json:"paths"`
	}
	if err := r.Query("show bgp "+afi+" "+p.String()+" json", &one); err != nil {
		return nil, err
	}
	var out []Path
	for _, fp := range one.Paths {
		out = append(out, fp.toPath(p.Masked()))
	}
	return out, nil
}
