package routers

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// Kind names a daemon.
type Kind string

// The daemons this package runs.
const (
	KindFRR      Kind = "frr"
	KindBIRD     Kind = "bird"
	KindGoBGP    Kind = "gobgp"
	KindOpenBGPD Kind = "openbgpd"
	KindExaBGP   Kind = "exabgp"
)

// Where the Debian packages put the programs. FRR's daemons are not on
// PATH, and /usr/sbin/bgpd is OpenBGPD's, not FRR's.
var (
	FRRDir       = "/usr/lib/frr"
	OpenBGPDPath = "/usr/sbin/bgpd"
)

// Binaries lists the programs a daemon's launcher runs.
func Binaries(k Kind) []string {
	switch k {
	case KindFRR:
		return []string{filepath.Join(FRRDir, "zebra"), filepath.Join(FRRDir, "bgpd"), "vtysh"}
	case KindBIRD:
		return []string{"bird", "birdc"}
	case KindGoBGP:
		return []string{"gobgpd", "gobgp"}
	case KindOpenBGPD:
		return []string{OpenBGPDPath, "bgpctl"}
	case KindExaBGP:
		return []string{"exabgp", "sh", "cat"}
	}
	return nil
}

// Missing returns the programs of daemon k that are not installed.
func Missing(k Kind) []string { return netns.MissingBinaries(Binaries(k)...) }

// Require skips the test unless it runs as root and every program of the
// given daemons is installed, naming what is missing.
func Require(tb netns.TB, kinds ...Kind) {
	tb.Helper()
	var bins []string
	for _, k := range kinds {
		bins = append(bins, Binaries(k)...)
	}
	netns.Require(tb, bins...)
}

// Start starts the daemon of kind k in ns (StartFRR, StartBIRD, ...), for
// code that treats the daemons alike.
func Start(k Kind, ns *netns.NS, cfg Config) (Router, error) {
	switch k {
	case KindFRR:
		return StartFRR(ns, cfg)
	case KindBIRD:
		return StartBIRD(ns, cfg)
	case KindGoBGP:
		return StartGoBGP(ns, cfg)
	case KindOpenBGPD:
		return StartOpenBGPD(ns, cfg)
	case KindExaBGP:
		return StartExaBGP(ns, cfg)
	}
	return nil, fmt.Errorf("unknown daemon kind %q", k)
}

// Session is a neighbour's state as a daemon reports it.
type Session struct {
	Address  string
	RemoteAS uint32
	// State is the RFC 4271 name: Idle, Connect, Active, OpenSent,
	// OpenConfirm or Established (daemon-specific extras pass through).
	State string
	// Uptime is how long the session has been Established (0 otherwise,
	// or when the daemon does not say).
	Uptime time.Duration
	// PrefixesReceived and PrefixesSent are summed over families; -1 when
	// the daemon does not report them.
	PrefixesReceived int
	PrefixesSent     int
	// LastError is the daemon's text for the last reset (for example
	// "Cease/Administrative Shutdown"); ShutdownMessage the RFC 8203
	// message that came with it, when the daemon keeps it.
	LastError       string
	ShutdownMessage string
}

// Established reports whether the session is up.
func (s Session) Established() bool { return s.State == "Established" }

// Path is one path of a prefix in a daemon's table.
type Path struct {
	Prefix netip.Prefix
	// NextHop is the first (global) next hop.
	NextHop string
	// ASPath flattens the segments in order; ASPathText is the daemon's
	// own rendering (AS_SETs in braces).
	ASPath      []uint32
	ASPathText  string
	Origin      string // "IGP", "EGP" or "incomplete"
	MED         *uint32
	LocalPref   *uint32
	Communities []string // "65000:1"
	// LargeCommunities are "a:b:c".
	LargeCommunities []string
	// Valid is false for a path the daemon keeps but may not use (an AS
	// loop, an unreachable next hop).
	Valid     bool
	Best      bool
	Multipath bool
	// Peer is the neighbour it was learned from; empty for a local route.
	Peer string
	// PathID is the ADD-PATH identifier, when the daemon shows it.
	PathID uint32
	// OriginatorID and ClusterList are the route-reflection attributes
	// (RFC 4456), when the path carries them and the daemon shows them
	// (FRR, BIRD, ExaBGP).
	OriginatorID string
	ClusterList  []string
}

// Router is a running daemon in a namespace.
type Router interface {
	Kind() Kind
	Name() string
	NS() *netns.NS
	// Dir holds the configuration, sockets and logs.
	Dir() string
	// Alive returns an error naming the first of its processes that has
	// exited (with the tail of its log), or nil.
	Alive() error
	Sessions() ([]Session, error)
	Routes(f Family) ([]Path, error)
	// Logs returns the tail of every log the daemon wrote, labelled, for a
	// test to print when it fails.
	Logs() string
	// Stop ends the daemon's processes (SIGTERM, then SIGKILL).
	Stop() error
}

// DefaultTimeout is the deadline the Wait helpers of tests use: generous,
// because the machines running them are small and shared.
var DefaultTimeout = 60 * time.Second

// pollInterval is how often the Wait helpers ask a daemon.
const pollInterval = 250 * time.Millisecond

// SessionOf returns the session with the given neighbour address.
func SessionOf(r Router, addr string) (Session, error) {
	ss, err := r.Sessions()
	if err != nil {
		return Session{}, err
	}
	want, err := netip.ParseAddr(addr)
	if err != nil {
		return Session{}, err
	}
	for _, s := range ss {
		if a, err := netip.ParseAddr(s.Address); err == nil && a == want {
			return s, nil
		}
	}
	return Session{}, fmt.Errorf("%s %s has no neighbour %s", r.Kind(), r.Name(), addr)
}

// PathsOf returns the paths for prefix in the daemon's table of family f.
func PathsOf(r Router, f Family, prefix string) ([]Path, error) {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return nil, err
	}
	all, err := r.Routes(f)
	if err != nil {
		return nil, err
	}
	var out []Path
	for _, path := range all {
		if path.Prefix == p.Masked() {
			out = append(out, path)
		}
	}
	return out, nil
}

// WaitSession waits until the session with addr is Established (for the
// lab; tests use WaitEstablished).
func WaitSession(r Router, addr string, timeout time.Duration) error {
	return poll(r, timeout, func() (bool, string) {
		s, err := SessionOf(r, addr)
		if err != nil {
			return false, err.Error()
		}
		return s.Established(), fmt.Sprintf("%s %s: session with %s is %s (last error %q)", r.Kind(), r.Name(), addr, s.State, s.LastError)
	})
}

// WaitPaths waits until prefix is in the table of family f and match (nil:
// any) accepts its paths, and returns them.
func WaitPaths(r Router, f Family, prefix string, timeout time.Duration, match func([]Path) bool) ([]Path, error) {
	var got []Path
	err := poll(r, timeout, func() (bool, string) {
		ps, err := PathsOf(r, f, prefix)
		if err != nil {
			return false, err.Error()
		}
		got = ps
		if len(ps) == 0 {
			return false, fmt.Sprintf("%s %s has no %s", r.Kind(), r.Name(), prefix)
		}
		if match != nil && !match(ps) {
			return false, fmt.Sprintf("%s %s has %s but not as wanted: %+v", r.Kind(), r.Name(), prefix, ps)
		}
		return true, ""
	})
	return got, err
}

// poll is netns.Wait that also gives up at once when the daemon has died.
func poll(r Router, timeout time.Duration, cond func() (bool, string)) error {
	var dead error
	err := netns.Wait(timeout, pollInterval, func() (bool, string) {
		if err := r.Alive(); err != nil {
			dead = err
			return true, ""
		}
		return cond()
	})
	if dead != nil {
		return dead
	}
	return err
}

// WaitEstablished fails the test unless the session with addr comes up
// within DefaultTimeout.
func WaitEstablished(tb netns.TB, r Router, addr string) {
	tb.Helper()
	if err := WaitSession(r, addr, DefaultTimeout); err != nil {
		tb.Fatalf("%v", err)
	}
}

// WaitRoute fails the test unless prefix shows up in the table of family f
// within DefaultTimeout (and match, when not nil, accepts its paths); it
// returns the paths.
func WaitRoute(tb netns.TB, r Router, f Family, prefix string, match func([]Path) bool) []Path {
	tb.Helper()
	ps, err := WaitPaths(r, f, prefix, DefaultTimeout, match)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return ps
}

// DumpOnFailure makes the test print, if it fails, every router's sessions
// and log tails. Call it right after starting the routers: cleanups run
// last-in first-out, so this runs before the namespaces are removed.
func DumpOnFailure(tb netns.TB, rs ...Router) {
	tb.Helper()
	tb.Cleanup(func() {
		if !tb.Failed() {
			return
		}
		for _, r := range rs {
			if r == nil {
				continue
			}
			var b strings.Builder
			fmt.Fprintf(&b, "===== %s %s in %s =====\n", r.Kind(), r.Name(), r.NS().Name())
			if ss, err := r.Sessions(); err != nil {
				fmt.Fprintf(&b, "sessions: %v\n", err)
			} else {
				for _, s := range ss {
					fmt.Fprintf(&b, "session %+v\n", s)
				}
			}
			b.WriteString(r.Logs())
			tb.Logf("%s", b.String())
		}
	})
}

// proc is one process of a daemon.
type proc struct {
	label string
	pid   int
	log   string
}

// base holds what every launcher shares. mu guards procs and extraLogs
// (ExaBGP also serialises its API writes with it).
type base struct {
	kind Kind
	name string
	ns   *netns.NS
	dir  string
	// attached: a handle on a daemon another process started.
	attached bool

	mu    sync.Mutex
	procs []proc
	// extraLogs are more files Logs tails (files the daemon writes itself).
	extraLogs []string
}

func newBase(kind Kind, ns *netns.NS, cfg *Config) (*base, error) {
	if ns == nil {
		return nil, fmt.Errorf("%s: no namespace", kind)
	}
	if err := cfg.validate(string(kind)); err != nil {
		return nil, err
	}
	b := &base{kind: kind, name: cfg.Name, ns: ns, dir: cfg.Dir}
	if b.name == "" {
		b.name = string(kind)
	}
	if b.dir == "" {
		// Under the namespace's directory, so that it goes with the
		// namespace, even when a killed test left both behind (Sweep).
		parent, err := ns.Dir()
		if err != nil {
			return nil, err
		}
		if b.dir, err = os.MkdirTemp(parent, string(kind)+"-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, err
	}
	// Unix socket paths (vty, control, zserv) must fit in sun_path.
	if len(b.dir)+len("/zebra.vty") >= 108 {
		return nil, fmt.Errorf("%s: directory %s is too long for unix socket paths inside it (set TMPDIR to a shorter one)", kind, b.dir)
	}
	// Daemons that drop privileges (FRR) must reach the directory.
	if err := os.Chmod(b.dir, 0o755); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *base) Kind() Kind           { return b.kind }
func (b *base) Name() string         { return b.name }
func (b *base) NS() *netns.NS        { return b.ns }
func (b *base) Dir() string          { return b.dir }
func (b *base) path(f string) string { return filepath.Join(b.dir, f) }

// start runs cmd (from b.ns.Command) with its output in DIR/label.log.
func (b *base) start(label string, cmd *exec.Cmd) (int, error) {
	log := b.path(label + ".log")
	pid, err := b.ns.StartCmd(cmd, log)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", b.kind, b.name, err)
	}
	b.mu.Lock()
	b.procs = append(b.procs, proc{label: label, pid: pid, log: log})
	b.mu.Unlock()
	return pid, nil
}

func (b *base) Alive() error {
	b.mu.Lock()
	procs := append([]proc(nil), b.procs...)
	b.mu.Unlock()
	if b.attached {
		return nil
	}
	if len(procs) == 0 {
		return fmt.Errorf("%s %s is not running", b.kind, b.name)
	}
	for _, p := range procs {
		if exited, err := b.ns.Exited(p.pid); exited {
			return fmt.Errorf("%s %s: %s (pid %d) exited (%v); log tail:\n%s", b.kind, b.name, p.label, p.pid, err, tail(p.log, 20))
		}
	}
	return nil
}

// Stop stops the processes, last started first (bgpd before zebra).
func (b *base) Stop() error {
	b.mu.Lock()
	procs := b.procs
	b.procs = nil
	b.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := b.ns.Stop(procs[i].pid); err != nil {
			errs = append(errs, err)
		}
	}
	// Keep the logs readable after a stop.
	b.mu.Lock()
	for _, p := range procs {
		b.extraLogs = appendUnique(b.extraLogs, p.log)
	}
	b.mu.Unlock()
	return errors.Join(errs...)
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// logLines is how much of each log Logs returns.
const logLines = 60

func (b *base) Logs() string {
	b.mu.Lock()
	var files []string
	for _, p := range b.procs {
		files = appendUnique(files, p.log)
	}
	for _, f := range b.extraLogs {
		files = appendUnique(files, f)
	}
	b.mu.Unlock()
	sort.Strings(files)
	var out strings.Builder
	for _, f := range files {
		fmt.Fprintf(&out, "----- %s %s: %s (last %d lines) -----\n%s\n", b.kind, b.name, f, logLines, tail(f, logLines))
	}
	return out.String()
}

// tail returns the last n lines of a file (at most 16 KiB).
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(data) > 16<<10 {
		data = data[len(data)-16<<10:]
	}
	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitReady polls cond until the daemon answers, failing at once if one of
// its processes exits.
func (b *base) waitReady(what string, cond func() error) error {
	var last error
	err := netns.Wait(30*time.Second, 50*time.Millisecond, func() (bool, string) {
		if err := b.Alive(); err != nil {
			last = err
			return true, ""
		}
		last = cond()
		if last == nil {
			return true, ""
		}
		return false, last.Error()
	})
	if err != nil {
		return fmt.Errorf("%s %s: %s: %w\n%s", b.kind, b.name, what, err, b.Logs())
	}
	if last != nil {
		return fmt.Errorf("%s %s: %s: %w", b.kind, b.name, what, last)
	}
	return nil
}

// normState maps a daemon's state name to the RFC 4271 spelling.
func normState(s string) string {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "")) {
	case "idle":
		return "Idle"
	case "connect":
		return "Connect"
	case "active":
		return "Active"
	case "opensent":
		return "OpenSent"
	case "openconfirm":
		return "OpenConfirm"
	case "established":
		return "Established"
	}
	return s
}

// normNextHop drops the unspecified address daemons show as the next hop
// of their own routes.
func normNextHop(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.IsUnspecified() {
			return ""
		}
		return a.String()
	}
	return s
}

// parseASPath splits "65001 65002 {65003,65004}" into numbers, in order.
func parseASPath(s string) []uint32 {
	var out []uint32
	f := func(r rune) bool {
		return r == ' ' || r == ',' || r == '{' || r == '}' || r == '(' || r == ')' || r == '[' || r == ']'
	}
	for _, tok := range strings.FieldsFunc(s, f) {
		var v uint32
		if _, err := fmt.Sscanf(strings.TrimPrefix(tok, "AS"), "%d", &v); err == nil {
			out = append(out, v)
		}
	}
	return out
}
