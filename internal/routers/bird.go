package routers

import (
	"bufio"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// BIRD is BIRD 2 running in one namespace (`bird -f`), its control socket
// in Dir. Each neighbour is a BGP protocol named peerN (N its index in
// Config.Neighbors); originated routes come from the static protocols
// static4 and static6.
type BIRD struct {
	*base
	cfg   Config
	ctl   string
	peers map[string]string // protocol name -> neighbour address
}

// StartBIRD renders cfg, starts bird in ns and returns once it answers on
// its control socket.
func StartBIRD(ns *netns.NS, cfg Config) (*BIRD, error) {
	b, err := newBase(KindBIRD, ns, &cfg)
	if err != nil {
		return nil, err
	}
	r := &BIRD{base: b, cfg: cfg, ctl: b.path("bird.ctl"), peers: map[string]string{}}
	for i, n := range cfg.Neighbors {
		r.peers[birdProto(i)] = n.Address
	}
	conf, err := renderBIRD(&cfg)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(b.dir, map[string]string{"bird.conf": conf}, 0o644); err != nil {
		return nil, err
	}
	cmd := ns.Command("bird", "-f", "-c", b.path("bird.conf"), "-s", r.ctl, "-P", b.path("bird.pid"))
	if _, err := b.start("bird", cmd); err != nil {
		return nil, err
	}
	if err := b.waitReady("waiting for the control socket", func() error {
		out, err := r.Birdc("show", "status")
		if err == nil && !strings.Contains(out, "Daemon is up and running") {
			err = fmt.Errorf("status: %s", out)
		}
		return err
	}); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return r, nil
}

func birdProto(i int) string { return fmt.Sprintf("peer%d", i) }

func renderBIRD(c *Config) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("log stderr all;")
	// Full dates, so that uptimes can be computed from "since".
	w("timeformat protocol iso long;")
	w("timeformat route iso long;")
	w("router id %s;", c.RouterID)
	w("debug protocols { states, events };")
	w("protocol device {}")
	// Kernel protocols that neither learn nor write: BIRD keeps away from
	// the namespace's routing table.
	w("protocol kernel kernel4 { ipv4 { import none; export none; }; }")
	w("protocol kernel kernel6 { ipv6 { import none; export none; }; }")
	if c.Extra != "" {
		// Before the protocols: a filter must be defined before use.
		w("%s", c.Extra)
	}
	statics := map[Family][]string{}
	for _, r := range c.Routes {
		f, _ := r.family()
		if r.NextHop != "" {
			return "", fmt.Errorf("bird: route %s: NextHop is not supported (BIRD announces itself)", r.Prefix)
		}
		line := fmt.Sprintf("route %s blackhole", netip.MustParsePrefix(r.Prefix).Masked())
		var attrs []string
		if r.MED != nil {
			attrs = append(attrs, fmt.Sprintf("bgp_med = %d;", *r.MED))
		}
		for _, cm := range r.Communities {
			x, y, _ := splitCommunity(cm)
			attrs = append(attrs, fmt.Sprintf("bgp_community.add((%d,%d));", x, y))
		}
		if len(attrs) > 0 {
			line += " { " + strings.Join(attrs, " ") + " }"
		}
		statics[f] = append(statics[f], line+";")
	}
	w("protocol static static4 { ipv4; %s }", strings.Join(statics[IPv4Unicast], " "))
	w("protocol static static6 { ipv6; %s }", strings.Join(statics[IPv6Unicast], " "))
	for i, n := range c.Neighbors {
		w("protocol bgp %s {", birdProto(i))
		w("  description \"%s\";", n.Address)
		if n.LocalAddress != "" {
			w("  local %s as %d;", n.LocalAddress, c.LocalAS)
		} else {
			w("  local as %d;", c.LocalAS)
		}
		w("  neighbor %s as %d;", n.Address, n.RemoteAS)
		if n.Password != "" {
			w("  password \"%s\";", n.Password)
		}
		if n.HoldTime > 0 {
			w("  hold time %d;", n.HoldTime)
			w("  keepalive time %d;", keepalive(n.HoldTime))
		}
		if n.Passive {
			w("  passive on;")
		}
		hops := n.Multihop
		if n.TTLSecurity > hops {
			hops = n.TTLSecurity
		}
		if hops > 1 || n.Multihop > 0 {
			w("  multihop %d;", hops)
		}
		if n.TTLSecurity > 0 {
			w("  ttl security on;")
		}
		// The defaults (first attempt after 5 s, retry after 120 s, wait 60 s
		// after an error) make
		// a test wait minutes for a session that would come up at once.
		w("  connect delay time %d;", connectRetry)
		w("  connect retry time %d;", connectRetry)
		w("  error wait time 1, 10;")
		for _, f := range n.families() {
			ch := "ipv4"
			if f == IPv6Unicast {
				ch = "ipv6"
			}
			imp, exp := "all", "all"
			if n.ImportPolicy != "" {
				imp = "filter " + n.ImportPolicy
			}
			if n.ExportPolicy != "" {
				exp = "filter " + n.ExportPolicy
			}
			addPath := ""
			switch n.AddPath {
			case AddPathSend:
				addPath = " add paths tx;"
			case AddPathReceive:
				addPath = " add paths rx;"
			case AddPathBoth:
				addPath = " add paths on;"
			}
			w("  %s { import %s; export %s;%s };", ch, imp, exp, addPath)
		}
		w("}")
	}
	return b.String(), nil
}

// Birdc runs one birdc command against this BIRD and returns its output.
func (r *BIRD) Birdc(args ...string) (string, error) {
	// The control socket is a unix socket: no need to enter the namespace.
	out, err := exec.Command("birdc", append([]string{"-s", r.ctl}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Protocol returns the BGP protocol name BIRD uses for a neighbour.
func (r *BIRD) Protocol(addr string) (string, error) {
	want, err := netip.ParseAddr(addr)
	if err != nil {
		return "", err
	}
	for name, a := range r.peers {
		if netip.MustParseAddr(a) == want {
			return name, nil
		}
	}
	return "", fmt.Errorf("bird %s: no neighbour %s", r.name, addr)
}

// Sessions reads `show protocols all`.
func (r *BIRD) Sessions() ([]Session, error) {
	out, err := r.Birdc("show", "protocols", "all")
	if err != nil {
		return nil, err
	}
	return parseBIRDProtocols(out, r.peers, time.Now()), nil
}

// parseBIRDProtocols reads the BGP protocols' blocks of `show protocols
// all` (with "timeformat protocol iso long").
func parseBIRDProtocols(out string, peers map[string]string, now time.Time) []Session {
	var sessions []Session
	var cur *Session
	var since time.Time
	flush := func() {
		if cur != nil {
			if cur.Established() && !since.IsZero() {
				cur.Uptime = now.Sub(since).Truncate(time.Second)
			}
			sessions = append(sessions, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "BIRD ") || strings.HasPrefix(line, "Name ") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			flush()
			f := strings.Fields(line)
			if len(f) < 4 || f[1] != "BGP" {
				continue
			}
			cur = &Session{Address: peers[f[0]], State: "Idle", PrefixesReceived: 0, PrefixesSent: 0}
			since = time.Time{}
			if len(f) >= 6 {
				if t, err := time.ParseInLocation("2006-01-02 15:04:05", f[4]+" "+f[5], time.Local); err == nil {
					since = t
				}
			}
			continue
		}
		if cur == nil {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "BGP state":
			cur.State = normState(val)
		case "Neighbor address":
			if cur.Address == "" {
				cur.Address = val
			}
		case "Neighbor AS":
			if v, err := strconv.ParseUint(val, 10, 32); err == nil {
				cur.RemoteAS = uint32(v)
			}
		case "Last error":
			cur.LastError = val
		case "Message":
			cur.ShutdownMessage = val
		case "Routes":
			// "1 imported, 1 exported, 1 preferred"
			for _, part := range strings.Split(val, ",") {
				var n int
				var what string
				if _, err := fmt.Sscanf(strings.TrimSpace(part), "%d %s", &n, &what); err == nil {
					switch what {
					case "imported":
						cur.PrefixesReceived += n
					case "exported":
						cur.PrefixesSent += n
					}
				}
			}
		}
	}
	flush()
	sortSessions(sessions)
	return sessions
}

// Routes reads `show route all table master4|master6`.
func (r *BIRD) Routes(f Family) ([]Path, error) {
	table := "master4"
	if f == IPv6Unicast {
		table = "master6"
	} else if f != IPv4Unicast {
		return nil, fmt.Errorf("bird: family %q not supported", f)
	}
	out, err := r.Birdc("show", "route", "all", "table", table)
	if err != nil {
		return nil, err
	}
	return parseBIRDRoutes(out, r.peers)
}

// parseBIRDRoutes reads `show route all`: a line at column 0 starts a
// prefix and its first path, an indented line with "[" another path of the
// same prefix, and tab-indented lines are the current path's attributes.
func parseBIRDRoutes(out string, peers map[string]string) ([]Path, error) {
	var paths []Path
	var prefix netip.Prefix
	var cur *Path
	flush := func() {
		if cur != nil {
			paths = append(paths, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "BIRD ") || strings.HasPrefix(line, "Table ") {
			continue
		}
		if line[0] == '\t' {
			if cur != nil {
				birdAttr(cur, strings.TrimSpace(line))
			}
			continue
		}
		if line[0] != ' ' {
			flush()
			f := strings.Fields(line)
			p, err := netip.ParsePrefix(f[0])
			if err != nil {
				return nil, fmt.Errorf("bird route line %q: %w", line, err)
			}
			prefix = p.Masked()
		} else {
			flush()
		}
		lb, rb := strings.Index(line, "["), strings.Index(line, "]")
		if lb < 0 || rb < lb {
			continue
		}
		proto := strings.Fields(line[lb+1 : rb])
		cur = &Path{Prefix: prefix, Valid: true}
		if len(proto) > 0 {
			cur.Peer = peers[proto[0]]
		}
		cur.Best = strings.HasPrefix(strings.TrimSpace(line[rb+1:]), "*")
	}
	flush()
	sortPaths(paths)
	return paths, nil
}

func birdAttr(p *Path, attr string) {
	key, val, ok := strings.Cut(attr, ":")
	if !ok {
		return
	}
	val = strings.TrimSpace(val)
	switch key {
	case "BGP.origin":
		p.Origin = normOrigin(val)
	case "BGP.as_path":
		p.ASPathText = val
		p.ASPath = parseASPath(val)
	case "BGP.next_hop":
		if f := strings.Fields(val); len(f) > 0 {
			p.NextHop = normNextHop(f[0])
		}
	case "BGP.med":
		if v, err := strconv.ParseUint(val, 10, 32); err == nil {
			p.MED = U32(uint32(v))
		}
	case "BGP.local_pref":
		if v, err := strconv.ParseUint(val, 10, 32); err == nil {
			p.LocalPref = U32(uint32(v))
		}
	case "BGP.community":
		p.Communities = birdTuples(val)
	case "BGP.large_community":
		p.LargeCommunities = birdTuples(val)
	case "BGP.originator_id":
		p.OriginatorID = val
	case "BGP.cluster_list":
		p.ClusterList = strings.Fields(val)
	}
}

// birdTuples turns "(65000,1) (65000,2)" into ["65000:1", "65000:2"].
func birdTuples(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ")") {
		t = strings.Trim(strings.TrimSpace(t), "(")
		if t == "" {
			continue
		}
		parts := strings.Split(t, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		out = append(out, strings.Join(parts, ":"))
	}
	return out
}
