package routers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// ExaBGP is ExaBGP 4.2 running in one namespace, with an API process that
// connects it to the test:
//
//	test --API()--> Dir/api.fifo --api.sh--> exabgp stdin of commands
//	exabgp --JSON of every received message--> api.sh --> Dir/received.json
//
// API writes a command line (for example "announce route 192.0.2.0/24
// next-hop self"); Received parses what ExaBGP reported; Sessions and
// Routes are rebuilt from it. ExaBGP selects no best path: Best is always
// false in its Routes.
type ExaBGP struct {
	*base
	cfg      Config
	fifo     string
	received string
	// cmds is held open read-write for the router's life: commands written
	// before the API process opens the FIFO wait in the pipe instead of
	// vanishing with the last open descriptor, and writes never block
	// for want of a reader.
	cmds *os.File
}

// exabgpEnv are the settings ExaBGP 4.2 reads from the environment: stay
// root (it would drop to user exabgp and then could not read our files),
// log to stdout (the log file), no acknowledgements mixed into the API
// stream, and no CLI named pipes, which would be shared by every ExaBGP on
// the machine.
var exabgpEnv = []string{
	"exabgp.daemon.user=root",
	"exabgp.daemon.drop=false",
	"exabgp.daemon.daemonize=false",
	"exabgp.log.destination=stdout",
	"exabgp.api.ack=false",
	"exabgp.api.cli=false",
	"exabgp.api.encoder=json",
}

// StartExaBGP renders cfg, starts exabgp in ns and returns once its API
// process runs. Neighbours without LocalAddress get the source address the
// namespace's routing table picks.
func StartExaBGP(ns *netns.NS, cfg Config) (*ExaBGP, error) {
	b, err := newBase(KindExaBGP, ns, &cfg)
	if err != nil {
		return nil, err
	}
	r := &ExaBGP{base: b, fifo: b.path("api.fifo"), received: b.path("received.json")}
	for i := range cfg.Neighbors {
		n := &cfg.Neighbors[i]
		if n.LocalAddress == "" {
			src, err := sourceFor(ns, n.Address)
			if err != nil {
				return nil, fmt.Errorf("exabgp: neighbor %s: no LocalAddress and %w", n.Address, err)
			}
			n.LocalAddress = src
		}
	}
	r.cfg = cfg
	if err := syscall.Mkfifo(r.fifo, 0o600); err != nil {
		return nil, fmt.Errorf("exabgp: %w", err)
	}
	if r.cmds, err = os.OpenFile(r.fifo, os.O_RDWR, 0); err != nil {
		return nil, fmt.Errorf("exabgp: %w", err)
	}
	ns.OnClose(func() { r.cmds.Close() })
	if err := os.WriteFile(r.received, nil, 0o644); err != nil {
		return nil, err
	}
	conf, bind, err := renderExaBGP(&cfg, b.path("api.sh"))
	if err != nil {
		return nil, err
	}
	if err := writeFiles(b.dir, map[string]string{"exabgp.conf": conf, "api.sh": exabgpAPIScript(r.fifo, r.received)}, 0o644); err != nil {
		return nil, err
	}
	cmd := ns.Command("exabgp", b.path("exabgp.conf"))
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), exabgpEnv...)
	// exabgp.tcp.bind empty means: never listen. Passive neighbours need a
	// listener on their local address.
	cmd.Env = append(cmd.Env, "exabgp.tcp.bind="+bind)
	b.extraLogs = append(b.extraLogs, r.received)
	if _, err := b.start("exabgp", cmd); err != nil {
		return nil, err
	}
	if err := b.waitReady("waiting for the API process", func() error {
		out, _ := os.ReadFile(b.path("exabgp.log"))
		if bytes.Contains(out, []byte("loaded new configuration successfully")) {
			return nil
		}
		return fmt.Errorf("configuration not loaded yet")
	}); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return r, nil
}

// sourceFor asks the kernel which source address reaches addr.
func sourceFor(ns *netns.NS, addr string) (string, error) {
	out, err := ns.IP("route", "get", addr)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "src" {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("no source address in %q", strings.TrimSpace(out))
}

// exabgpAPIScript is the API process. The FIFO is opened read-write so that
// it never sees end-of-file between two writers; when ExaBGP goes away its
// stdin ends and the script takes the FIFO reader with it.
func exabgpAPIScript(fifo, received string) string {
	return fmt.Sprintf(`#!/bin/sh
# godwit test API bridge for ExaBGP (generated).
# FIFO -> stdout: commands for exabgp. stdin -> file: JSON from exabgp.
# Both copies run in the background (an asynchronous command's stdin is
# /dev/null unless redirected, hence fd 4), so that the shell sits in
# "wait", which a trapped signal interrupts: exabgp stops its API process
# with SIGTERM to this shell alone and waits for it to exit.
exec 3<>%[1]s 4<&0
cat <&3 &
reader=$!
cat <&4 >>%[2]s &
writer=$!
trap 'kill "$reader" "$writer" 2>/dev/null; exit 0' TERM INT HUP
wait "$writer"
kill "$reader" 2>/dev/null
`, shellQuote(fifo), shellQuote(received))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func renderExaBGP(c *Config, script string) (conf, bind string, err error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("process godwit-api {")
	w("  run /bin/sh %s;", script)
	w("  encoder json;")
	w("}")
	var binds []string
	for _, n := range c.Neighbors {
		if n.ImportPolicy != "" || n.ExportPolicy != "" {
			return "", "", fmt.Errorf("exabgp: neighbor %s: policies are not supported", n.Address)
		}
		if n.LocalAddress == "" {
			return "", "", fmt.Errorf("exabgp: neighbor %s: no LocalAddress", n.Address)
		}
		w("neighbor %s {", n.Address)
		w("  description \"%s\";", n.Address)
		w("  router-id %s;", c.RouterID)
		w("  local-address %s;", n.LocalAddress)
		w("  local-as %d;", c.LocalAS)
		w("  peer-as %d;", n.RemoteAS)
		if n.HoldTime > 0 {
			w("  hold-time %d;", n.HoldTime)
		}
		if n.Password != "" {
			w("  md5-password \"%s\";", n.Password)
		}
		if n.Passive {
			w("  passive true;")
			binds = append(binds, n.LocalAddress)
		}
		if n.TTLSecurity > 0 {
			w("  outgoing-ttl 255;")
			w("  incoming-ttl %d;", 256-n.TTLSecurity)
		} else if n.Multihop > 0 {
			w("  outgoing-ttl %d;", n.Multihop)
		}
		w("  family {")
		for _, f := range n.families() {
			w("    %s;", strings.Replace(string(f), "-", " ", 1))
		}
		w("  }")
		switch n.AddPath {
		case AddPathSend:
			w("  capability { add-path send; }")
		case AddPathReceive:
			w("  capability { add-path receive; }")
		case AddPathBoth:
			w("  capability { add-path send/receive; }")
		}
		w("  api {")
		w("    processes [ godwit-api ];")
		w("    neighbor-changes;")
		w("    receive { parsed; update; notification; }")
		w("  }")
		var routes []string
		for _, rt := range c.Routes {
			f, _ := rt.family()
			if !n.hasFamily(f) {
				continue
			}
			routes = append(routes, "    route "+exabgpRoute(rt)+";")
		}
		if len(routes) > 0 {
			w("  static {")
			for _, l := range routes {
				w("%s", l)
			}
			w("  }")
		}
		w("}")
	}
	if c.Extra != "" {
		w("%s", c.Extra)
	}
	return b.String(), strings.Join(binds, " "), nil
}

// exabgpRoute renders a route as ExaBGP's static and API syntax take it:
// "192.0.2.0/24 next-hop self med 10 community [65000:1]".
func exabgpRoute(rt Route) string {
	nh := rt.NextHop
	if nh == "" {
		nh = "self"
	}
	s := netip.MustParsePrefix(rt.Prefix).Masked().String() + " next-hop " + nh
	if rt.MED != nil {
		s += fmt.Sprintf(" med %d", *rt.MED)
	}
	if len(rt.Communities) > 0 {
		s += " community [" + strings.Join(rt.Communities, " ") + "]"
	}
	return s
}

// API sends one command to ExaBGP, for example "announce route
// 192.0.2.0/24 next-hop self" or "neighbor 10.0.0.1 teardown 2". ExaBGP
// executes it asynchronously: poll the peer for the effect.
func (r *ExaBGP) API(command string) error {
	if strings.ContainsAny(command, "\n") {
		return fmt.Errorf("exabgp: one command per call")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.cmds.WriteString(command + "\n")
	return err
}

// AnnounceRoute announces rt to every neighbour.
func (r *ExaBGP) AnnounceRoute(rt Route) error {
	if _, err := rt.family(); err != nil {
		return err
	}
	return r.API("announce route " + exabgpRoute(rt))
}

// WithdrawRoute withdraws a prefix from every neighbour.
func (r *ExaBGP) WithdrawRoute(prefix string) error {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return err
	}
	return r.API("withdraw route " + p.Masked().String() + " next-hop self")
}

// ExaMessage is one message ExaBGP reported to the API process.
type ExaMessage struct {
	Type   string // "state", "update", "notification", ...
	Time   time.Time
	Peer   string
	PeerAS uint32
	// State is set for Type "state": "connected", "up" or "down";
	// Reason says why a session went down.
	State  string
	Reason string
	// Announce and Withdraw are set for Type "update". Withdrawn paths
	// carry only Prefix, Peer and PathID.
	Announce []Path
	Withdraw []Path
	// EOR is the family of an End-of-RIB marker.
	EOR Family
	// Code, Subcode and Data are set for Type "notification".
	Code, Subcode int
	Data          string
	// Raw is the message as ExaBGP printed it.
	Raw json.RawMessage
}

// Received parses every message ExaBGP has reported so far, in order.
func (r *ExaBGP) Received() ([]ExaMessage, error) {
	data, err := os.ReadFile(r.received)
	if err != nil {
		return nil, err
	}
	return parseExaMessages(data)
}

func parseExaMessages(data []byte) ([]ExaMessage, error) {
	var out []ExaMessage
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		m, err := parseExaMessage(line)
		if err != nil {
			// The last line may still be being written.
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

type exaJSON struct {
	Type     string  `json:"type"`
	Time     float64 `json:"time"`
	Neighbor struct {
		Address struct {
			Peer string `json:"peer"`
		} `json:"address"`
		ASN struct {
			Peer uint32 `json:"peer"`
		} `json:"asn"`
		State        string `json:"state"`
		Reason       string `json:"reason"`
		Notification *struct {
			Code    int    `json:"code"`
			Subcode int    `json:"subcode"`
			Data    string `json:"data"`
		} `json:"notification"`
		Message *struct {
			Update *exaUpdate `json:"update"`
			EOR    *struct {
				AFI  string `json:"afi"`
				SAFI string `json:"safi"`
			} `json:"eor"`
		} `json:"message"`
	} `json:"neighbor"`
}

type exaUpdate struct {
	Attribute map[string]json.RawMessage            `json:"attribute"`
	Announce  map[string]map[string]json.RawMessage `json:"announce"`
	Withdraw  map[string]json.RawMessage            `json:"withdraw"`
}

func parseExaMessage(line []byte) (ExaMessage, error) {
	var j exaJSON
	if err := json.Unmarshal(line, &j); err != nil {
		return ExaMessage{}, err
	}
	sec, frac := int64(j.Time), j.Time-float64(int64(j.Time))
	m := ExaMessage{Type: j.Type, Time: time.Unix(sec, int64(frac*1e9)), Peer: j.Neighbor.Address.Peer,
		PeerAS: j.Neighbor.ASN.Peer, State: j.Neighbor.State, Reason: j.Neighbor.Reason,
		Raw: append(json.RawMessage(nil), line...)}
	if n := j.Neighbor.Notification; n != nil {
		m.Code, m.Subcode, m.Data = n.Code, n.Subcode, n.Data
	}
	msg := j.Neighbor.Message
	if msg == nil {
		return m, nil
	}
	if msg.EOR != nil {
		m.EOR = Family(msg.EOR.AFI + "-" + msg.EOR.SAFI)
	}
	u := msg.Update
	if u == nil {
		return m, nil
	}
	attrs := Path{Peer: m.Peer, Valid: true}
	exaAttrs(&attrs, u.Attribute)
	for _, byNH := range u.Announce {
		for nh, raw := range byNH {
			for _, n := range exaNLRIs(raw) {
				p := attrs
				p.Prefix, p.PathID = n.prefix, n.pathID
				if a, err := netip.ParseAddr(nh); err == nil {
					p.NextHop = a.String()
				}
				m.Announce = append(m.Announce, p)
			}
		}
	}
	for _, raw := range u.Withdraw {
		for _, n := range exaNLRIs(raw) {
			m.Withdraw = append(m.Withdraw, Path{Prefix: n.prefix, PathID: n.pathID, Peer: m.Peer})
		}
	}
	return m, nil
}

type exaNLRI struct {
	prefix netip.Prefix
	pathID uint32
}

// exaNLRIs reads a list of NLRI, each an object {"nlri": "P",
// "path-information": "0.0.0.1"} or a bare string.
func exaNLRIs(raw json.RawMessage) []exaNLRI {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []exaNLRI
	for _, it := range items {
		var s string
		var obj struct {
			NLRI   string `json:"nlri"`
			PathID string `json:"path-information"`
		}
		if json.Unmarshal(it, &s) == nil {
			obj.NLRI = s
		} else if json.Unmarshal(it, &obj) != nil {
			continue
		}
		p, err := netip.ParsePrefix(obj.NLRI)
		if err != nil {
			continue
		}
		n := exaNLRI{prefix: p.Masked()}
		if id, err := netip.ParseAddr(obj.PathID); err == nil && id.Is4() {
			b := id.As4()
			n.pathID = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		}
		out = append(out, n)
	}
	return out
}

func exaAttrs(p *Path, attrs map[string]json.RawMessage) {
	if v, ok := attrs["origin"]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			p.Origin = normOrigin(s)
		}
	}
	if v, ok := attrs["as-path"]; ok {
		p.ASPath, p.ASPathText = exaASPath(v)
	}
	if v, ok := attrs["med"]; ok {
		var n uint32
		if json.Unmarshal(v, &n) == nil {
			p.MED = U32(n)
		}
	}
	if v, ok := attrs["local-preference"]; ok {
		var n uint32
		if json.Unmarshal(v, &n) == nil {
			p.LocalPref = U32(n)
		}
	}
	if v, ok := attrs["originator-id"]; ok {
		_ = json.Unmarshal(v, &p.OriginatorID)
	}
	if v, ok := attrs["cluster-list"]; ok {
		_ = json.Unmarshal(v, &p.ClusterList)
	}
	for key, dst := range map[string]*[]string{"community": &p.Communities, "large-community": &p.LargeCommunities} {
		v, ok := attrs[key]
		if !ok {
			continue
		}
		var tuples [][]uint32
		if json.Unmarshal(v, &tuples) != nil {
			continue
		}
		for _, t := range tuples {
			parts := make([]string, len(t))
			for i, x := range t {
				parts[i] = strconv.FormatUint(uint64(x), 10)
			}
			*dst = append(*dst, strings.Join(parts, ":"))
		}
	}
}

// exaASPath reads ExaBGP's as-path: a list of numbers, where a nested list
// (or an object with "as-set") is an AS_SET.
func exaASPath(raw json.RawMessage) ([]uint32, string) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, ""
	}
	var path []uint32
	var text []string
	for _, it := range items {
		var n uint32
		if json.Unmarshal(it, &n) == nil {
			path = append(path, n)
			text = append(text, strconv.FormatUint(uint64(n), 10))
			continue
		}
		var set []uint32
		if json.Unmarshal(it, &set) == nil {
			var nums []string
			for _, x := range set {
				path = append(path, x)
				nums = append(nums, strconv.FormatUint(uint64(x), 10))
			}
			text = append(text, "{"+strings.Join(nums, ",")+"}")
		}
	}
	return path, strings.Join(text, " ")
}

// exaState is the session and Adj-RIB-In rebuilt from the messages.
func exaState(msgs []ExaMessage, cfg Config) ([]Session, map[Family][]Path) {
	type key struct {
		peer   string
		prefix netip.Prefix
		id     uint32
	}
	sessions := map[string]*Session{}
	for _, n := range cfg.Neighbors {
		sessions[n.Address] = &Session{Address: n.Address, RemoteAS: n.RemoteAS, State: "Idle", PrefixesSent: -1}
	}
	upSince := map[string]time.Time{}
	rib := map[key]Path{}
	var order []key
	for _, m := range msgs {
		s := sessions[m.Peer]
		if s == nil {
			s = &Session{Address: m.Peer, RemoteAS: m.PeerAS, State: "Idle", PrefixesSent: -1}
			sessions[m.Peer] = s
		}
		switch m.Type {
		case "state":
			switch m.State {
			case "connected":
				s.State = "OpenSent"
			case "up":
				s.State = "Established"
				upSince[m.Peer] = m.Time
			case "down":
				s.State = "Idle"
				if m.Reason != "" {
					s.LastError = m.Reason
				}
				for k := range rib {
					if k.peer == m.Peer {
						delete(rib, k)
					}
				}
			}
		case "notification":
			s.LastError = fmt.Sprintf("notification %d/%d", m.Code, m.Subcode)
			if m.Data != "" {
				s.ShutdownMessage = m.Data
			}
		case "update":
			for _, w := range m.Withdraw {
				delete(rib, key{m.Peer, w.Prefix, w.PathID})
			}
			for _, a := range m.Announce {
				k := key{m.Peer, a.Prefix, a.PathID}
				if _, ok := rib[k]; !ok {
					order = append(order, k)
				}
				rib[k] = a
			}
		}
	}
	routes := map[Family][]Path{}
	seen := map[key]bool{}
	for _, k := range order {
		p, ok := rib[k]
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		f := IPv4Unicast
		if k.prefix.Addr().Is6() {
			f = IPv6Unicast
		}
		routes[f] = append(routes[f], p)
		if s := sessions[k.peer]; s != nil {
			s.PrefixesReceived++
		}
	}
	now := time.Now()
	var out []Session
	for addr, s := range sessions {
		if s.Established() {
			s.Uptime = now.Sub(upSince[addr]).Truncate(time.Second)
		}
		out = append(out, *s)
	}
	sortSessions(out)
	for f := range routes {
		sortPaths(routes[f])
	}
	return out, routes
}

// Sessions rebuilds the neighbours' states from the API messages.
// PrefixesSent is unknown (-1).
func (r *ExaBGP) Sessions() ([]Session, error) {
	msgs, err := r.Received()
	if err != nil {
		return nil, err
	}
	s, _ := exaState(msgs, r.cfg)
	return s, nil
}

// Routes rebuilds the Adj-RIB-In of family f from the API messages.
func (r *ExaBGP) Routes(f Family) ([]Path, error) {
	msgs, err := r.Received()
	if err != nil {
		return nil, err
	}
	_, routes := exaState(msgs, r.cfg)
	return routes[f], nil
}
