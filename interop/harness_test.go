package interop

// The topology of every test: two fresh namespaces joined by one veth pair.
//
//	godwit ns "gw"                           daemon ns "rt"
//	10.0.0.1/30, 2001:db8:ab::1/64  <-veth->  10.0.0.2/30, 2001:db8:ab::2/64
//	listener + dispatcher + peer(s)           FRR | BIRD | GoBGP | OpenBGPD | ExaBGP
//	AS 65010, id 10.0.0.1                     AS 65020, id 10.0.0.2
//
// The speaker's sockets must live in the gw namespace. A namespace belongs
// to an OS thread, and the goroutines the peer starts (its dialer among
// them) run on any thread, so the listener is created inside netns.Do and
// the peer gets an Options.Dial that calls transport.Dial inside netns.Do;
// sockets keep their namespace for life, so everything else runs anywhere.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

const (
	gwAddr, rtAddr   = "10.0.0.1", "10.0.0.2"
	gwAddr6, rtAddr6 = "2001:db8:ab::1", "2001:db8:ab::2"
	gwAS, rtAS       = 65010, 65020
	gwID, rtID       = gwAddr, rtAddr

	// rtPrefix is what the daemon originates, gwPrefix what godwit sends.
	rtPrefix, gwPrefix   = "198.51.100.0/24", "203.0.113.0/24"
	rtPrefix6, gwPrefix6 = "2001:db8:feed::/48", "2001:db8:beef::/48"
)

// timeout bounds every wait: generous, the machines are small and shared.
var timeout = routers.DefaultTimeout

const pollEvery = 50 * time.Millisecond

// eventually polls cond until it holds, failing the test with the last
// thing cond saw after timeout.
func eventually(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	netns.Eventually(t, timeout, pollEvery, cond)
}

// lab is one test's pair of namespaces.
type lab struct {
	gw, rt *netns.NS
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{gw: netns.New(t, "gw"), rt: netns.New(t, "rt")}
	if _, _, err := netns.Veth(
		netns.End{NS: l.gw, Ifname: "to-rt", Addrs: []string{gwAddr + "/30", gwAddr6 + "/64"}},
		netns.End{NS: l.rt, Ifname: "to-gw", Addrs: []string{rtAddr + "/30", rtAddr6 + "/64"}},
	); err != nil {
		t.Fatal(err)
	}
	return l
}

// family is the routers family of an address.
func family(addr string) routers.Family {
	if netip.MustParseAddr(addr).Is6() {
		return routers.IPv6Unicast
	}
	return routers.IPv4Unicast
}

// ---------------------------------------------------------------------
// The godwit test speaker.

// speaker is a listener, a dispatcher and the peers of one godwit test
// speaker in a namespace.
type speaker struct {
	t    *testing.T
	ns   *netns.NS
	ln   *transport.Listener
	d    *peer.Dispatcher
	logs *syncBuffer
	log  *slog.Logger

	// intercept, when set, receives accepted connections instead of the
	// dispatcher (the collision test orders events with it).
	mu        sync.Mutex
	intercept func(nc net.Conn, local, remote netip.AddrPort)
}

// newSpeaker listens on port 179 of every address of ns; sec holds the
// per-peer MD5 keys and TTLs, installed before the sockets listen.
func newSpeaker(t *testing.T, ns *netns.NS, sec map[netip.Addr]transport.PeerSecurity) *speaker {
	t.Helper()
	s := &speaker{t: t, ns: ns, logs: &syncBuffer{}}
	s.log = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.d = peer.NewDispatcher(s.log)
	err := ns.Do(func() error {
		var err error
		s.ln, err = transport.Listen(context.Background(), transport.ListenConfig{
			Addresses: []string{""}, Peers: sec, Handler: s.handle, Logger: s.log,
		})
		return err
	})
	if err != nil {
		t.Fatalf("godwit listener in %s: %v", ns, err)
	}
	// Registered first, so it runs after the peers' cleanups.
	t.Cleanup(func() { s.ln.Close() })
	return s
}

// handle is the listener's Handler: the dispatcher, unless intercepted.
func (s *speaker) handle(nc net.Conn, local, remote netip.AddrPort) {
	s.mu.Lock()
	f := s.intercept
	s.mu.Unlock()
	if f != nil {
		f(nc, local, remote)
		return
	}
	s.d.Handle(nc, local, remote)
}

// setIntercept routes accepted connections to f (nil: to the dispatcher).
func (s *speaker) setIntercept(f func(nc net.Conn, local, remote netip.AddrPort)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = f
}

// gwPeer is one godwit peer with the Handler that records what it saw and
// the log of its dials.
type gwPeer struct {
	*peer.Peer
	cfg     peer.Config
	rec     *recorder
	dials   *dialLog
	started atomic.Bool

	// Set before start, for tests that steer the connections:
	// beforeDial runs before every dial (an error fails it) and wrap
	// replaces every connection the dial returns.
	beforeDial func(context.Context) error
	wrap       func(net.Conn) net.Conn
}

// baseConfig is a godwit peer towards remote with short timers: a failed
// attempt is retried within seconds, not minutes.
func baseConfig(remote string) peer.Config {
	r := netip.MustParseAddr(remote)
	local := netip.MustParseAddr(gwAddr)
	if r.Is6() {
		local = netip.MustParseAddr(gwAddr6)
	}
	return peer.Config{
		LocalAS: gwAS, PeerAS: rtAS, RouterID: netip.MustParseAddr(gwID),
		Remote: netip.AddrPortFrom(r, 179), Local: local,
		ConnectRetryTime: 3 * time.Second,
		IdleHoldTime:     100 * time.Millisecond, MaxIdleHoldTime: 2 * time.Second,
	}
}

// addPeer starts a godwit peer for cfg (see newPeer).
func (s *speaker) addPeer(cfg peer.Config, opts ...func(*peer.Options)) *gwPeer {
	s.t.Helper()
	g := s.newPeer(cfg, opts...)
	g.start()
	return g
}

// start runs the peer.
func (g *gwPeer) start() {
	g.started.Store(true)
	g.Start(context.Background())
}

// newPeer makes a godwit peer for cfg and adds it to the dispatcher, not
// started yet. It is stopped at cleanup (Stop returns at once on a peer
// that was stopped already or never started); a failed test prints its
// status, its log and its dials first.
func (s *speaker) newPeer(cfg peer.Config, opts ...func(*peer.Options)) *gwPeer {
	s.t.Helper()
	g := &gwPeer{cfg: cfg, rec: &recorder{}, dials: &dialLog{}}
	o := peer.Options{Handler: g.rec, Logger: s.log, Dial: s.dialer(g)}
	for _, f := range opts {
		f(&o)
	}
	g.Peer = peer.New(cfg, o)
	s.d.Add(g.Peer)
	s.t.Cleanup(func() { g.Stop(0, false) })
	s.t.Cleanup(func() {
		if s.t.Failed() && g.started.Load() {
			s.t.Logf("===== godwit peer %s =====\n%s", cfg.Remote, g.describe())
		}
	})
	return g
}

// dumpLogOnFailure prints the speaker's log if the test fails. Call it
// after the routers' DumpOnFailure so that it comes out last.
func (s *speaker) dumpLogOnFailure() {
	s.t.Cleanup(func() {
		if s.t.Failed() {
			s.t.Logf("===== godwit speaker log (%s) =====\n%s", s.ns, s.logs.tail(120))
		}
	})
}

// dialer is the peer's Options.Dial: transport.Dial on a thread inside the
// speaker's namespace, logged in g.dials.
func (s *speaker) dialer(g *gwPeer) func(context.Context, transport.DialConfig) (net.Conn, error) {
	return func(ctx context.Context, cfg transport.DialConfig) (net.Conn, error) {
		i := g.dials.begin()
		var c net.Conn
		err := func() error {
			if g.beforeDial != nil {
				if err := g.beforeDial(ctx); err != nil {
					return err
				}
			}
			return s.ns.Do(func() error {
				var err error
				c, err = transport.Dial(ctx, cfg)
				return err
			})
		}()
		g.dials.end(i, err)
		if err == nil && g.wrap != nil {
			c = g.wrap(c)
		}
		return c, err
	}
}

// describe renders the peer's status, what its Handler saw and its dials.
func (g *gwPeer) describe() string {
	st := g.Status()
	var b strings.Builder
	fmt.Fprintf(&b, "state %s since %s, connect-retry counter %d, flaps %d, admin down %v\n",
		st.State, st.Since.Format(time.TimeOnly), st.ConnectRetryCounter, st.Flaps, st.AdminDown)
	fmt.Fprintf(&b, "last error: %q\n", st.LastError)
	for _, n := range []struct {
		what string
		r    *peer.NotificationRecord
	}{{"last sent", st.LastSent}, {"last received", st.LastReceived}} {
		if n.r != nil {
			fmt.Fprintf(&b, "%s NOTIFICATION: %s / %s message %q at %s\n", n.what, n.r.Code,
				iana.SubcodeString(n.r.Code, n.r.Subcode), n.r.Message, n.r.Time.Format(time.TimeOnly))
		}
	}
	if s := st.Session; s != nil {
		fmt.Fprintf(&b, "session %s -> %s: %s\n", s.LocalAddr, s.RemoteAddr, s.Negotiated)
	}
	fmt.Fprintf(&b, "messages in %v out %v faults %v\n", st.MessagesIn, st.MessagesOut, st.Faults)
	fmt.Fprintf(&b, "handler: %s\n", g.rec)
	fmt.Fprintf(&b, "dials: %s", g.dials)
	return b.String()
}

// established reports whether godwit's peer is Established, for polls.
func (g *gwPeer) established() (bool, string) {
	st := g.Status()
	return st.State == peer.Established, fmt.Sprintf("godwit peer %s is %s (last error %q)", g.cfg.Remote, st.State, st.LastError)
}

// session returns the Established session, failing the test without one.
func (g *gwPeer) session(t *testing.T) *peer.Session {
	t.Helper()
	s := g.Status().Session
	if s == nil {
		t.Fatalf("godwit peer %s has no session (state %s)", g.cfg.Remote, g.Status().State)
	}
	return s
}

// announce sends one UPDATE for prefix with ORIGIN IGP, AS_PATH [our AS]
// and our address as next hop, encoded for the session: for a peer without
// 4-octet AS numbers a local AS that does not fit in two octets becomes
// AS_TRANS in AS_PATH and the real path goes in AS4_PATH (RFC 6793 §4.2.2).
func (g *gwPeer) announce(t *testing.T, prefix string) {
	t.Helper()
	s := g.session(t)
	msg, err := originate(s, netip.MustParsePrefix(prefix), g.cfg.Local)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Send(ctx, msg); err != nil {
		t.Fatalf("send UPDATE for %s: %v", prefix, err)
	}
}

func originate(s *peer.Session, prefix netip.Prefix, nextHop netip.Addr) ([]byte, error) {
	opt := s.Negotiated.Send
	path := &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{s.LocalAS}}}}
	attrs := attr.List{&attr.Origin{Value: attr.OriginIGP}}
	var as4 *attr.AS4Path
	if !opt.AS4 {
		var two *attr.ASPath
		two, as4 = attr.SplitAS4(path)
		path = two
	}
	attrs = append(attrs, path)
	if prefix.Addr().Is4() {
		attrs = append(attrs, &attr.NextHop{Addr: nextHop})
	} else {
		attrs = append(attrs, &attr.MPReach{Family: nlri.IPv6Unicast, NextHop: nextHop.AsSlice()})
	}
	if as4 != nil {
		attrs = append(attrs, as4)
	}
	u, err := wire.NewUpdate(attrs, nil, []nlri.NLRI{nlri.Prefix{Prefix: prefix}}, opt)
	if err != nil {
		return nil, err
	}
	return u.AppendTo(nil, opt), nil
}

// ---------------------------------------------------------------------
// What the peer's Handler saw.

// route is a received route as the recorder keeps it.
type route struct {
	ASPath  []uint32
	NextHop netip.Addr
}

// recorder is a peer.Handler that remembers sessions and routes.
type recorder struct {
	mu     sync.Mutex
	ups    int
	downs  []string
	routes map[netip.Prefix]route
}

func (r *recorder) SessionUp(*peer.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ups++
	r.routes = map[netip.Prefix]route{}
}

func (r *recorder) Updates(s *peer.Session, batch []*wire.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range batch {
		for rt := range u.Unreach() {
			delete(r.routes, rt.Prefix.Prefix)
		}
		path, _ := u.Attrs.ReconcileAS4(attr.Options{AS4: s.Negotiated.Receive.AS4})
		var nh netip.Addr
		if a, ok := u.Attrs.NextHop(); ok {
			nh = a.Addr
		}
		if mp, ok := u.Attrs.MPReach(); ok && len(mp.NextHop) >= 16 {
			nh, _ = netip.AddrFromSlice(mp.NextHop[:16])
		}
		for rt := range u.Reach() {
			r.routes[rt.Prefix.Prefix] = route{ASPath: path.Flat(), NextHop: nh}
		}
	}
}

func (r *recorder) RouteRefresh(*peer.Session, *wire.RouteRefresh) {}

func (r *recorder) SessionDown(_ *peer.Session, reason error, _ bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.downs = append(r.downs, fmt.Sprint(reason))
}

// counts returns how many sessions came up and went down.
func (r *recorder) counts() (ups, downs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ups, len(r.downs)
}

func (r *recorder) route(p string) (route, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, ok := r.routes[netip.MustParsePrefix(p)]
	return rt, ok
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ps []string
	for p, rt := range r.routes {
		ps = append(ps, fmt.Sprintf("%s path %v nh %s", p, rt.ASPath, rt.NextHop))
	}
	sort.Strings(ps)
	return fmt.Sprintf("%d up, downs %q, routes %v", r.ups, r.downs, ps)
}

// waitRoute waits until godwit's Handler holds prefix with this AS path and
// next hop.
func (g *gwPeer) waitRoute(t *testing.T, prefix, nextHop string, asPath ...uint32) {
	t.Helper()
	eventually(t, func() (bool, string) {
		rt, ok := g.rec.route(prefix)
		if !ok {
			return false, fmt.Sprintf("godwit's handler has no %s: %s", prefix, g.rec)
		}
		return rt.NextHop == netip.MustParseAddr(nextHop) && slices.Equal(rt.ASPath, asPath),
			fmt.Sprintf("godwit's handler has %s with path %v next hop %s, want %v and %s", prefix, rt.ASPath, rt.NextHop, asPath, nextHop)
	})
}

// dialLog records when the peer's dials started and ended, and how.
type dialLog struct {
	mu    sync.Mutex
	start []time.Time
	stop  []time.Time // zero while the dial runs
	errs  []error
}

// begin records a dial starting and returns its index for end.
func (d *dialLog) begin() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.start = append(d.start, time.Now())
	d.stop = append(d.stop, time.Time{})
	d.errs = append(d.errs, nil)
	return len(d.start) - 1
}

func (d *dialLog) end(i int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stop[i], d.errs[i] = time.Now(), err
}

// leaks lists the dials that kept running while the peer had moved on to
// its next one: a peer makes one connection attempt at a time (RFC 4271
// §8, Connect), and one it abandons it cancels, which takes a moment, not
// the rest of its timeout.
func (d *dialLog) leaks() []string {
	const grace = 500 * time.Millisecond
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for i := 1; i < len(d.start); i++ {
		end := d.stop[i-1]
		if end.IsZero() {
			end = time.Now()
		}
		if end.Sub(d.start[i]) > grace {
			out = append(out, fmt.Sprintf("dial %d (started %s) ran on until %s, %s after dial %d started",
				i-1, d.start[i-1].Format("15:04:05.000"), end.Format("15:04:05.000"), end.Sub(d.start[i]).Round(time.Millisecond), i))
		}
	}
	return out
}

func (d *dialLog) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.start)
}

// since returns the start times of the dials from index i on.
func (d *dialLog) since(i int) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i > len(d.start) {
		return nil
	}
	return append([]time.Time(nil), d.start[i:]...)
}

func (d *dialLog) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", len(d.start))
	for i, s := range d.start {
		end := "running"
		if !d.stop[i].IsZero() {
			end = d.stop[i].Format("15:04:05.000")
		}
		fmt.Fprintf(&b, "  %s - %s: %v\n", s.Format("15:04:05.000"), end, d.errs[i])
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for the slog handler's writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Len is how many bytes were written so far.
func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// From returns what was written from offset off on.
func (s *syncBuffer) From(off int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b.Bytes()[min(off, s.b.Len()):])
}

// tail returns the last n lines.
func (s *syncBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(s.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------
// The daemon side.

// startRouter starts a daemon of kind k in the lab's rt namespace and
// registers its dump for a failed test.
func startRouter(t *testing.T, k routers.Kind, ns *netns.NS, cfg routers.Config) routers.Router {
	t.Helper()
	r, err := routers.Start(k, ns, cfg)
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, r)
	return r
}

// rtConfig is the daemon's side of the lab: one neighbour (godwit at
// gwAddr or gwAddr6), originating its prefix of that family.
func rtConfig(n routers.Neighbor) routers.Config {
	c := routers.Config{RouterID: rtID, LocalAS: rtAS, Neighbors: []routers.Neighbor{n}}
	if family(n.Address) == routers.IPv6Unicast {
		c.Routes = []routers.Route{{Prefix: rtPrefix6}}
	} else {
		c.Routes = []routers.Route{{Prefix: rtPrefix}}
	}
	return c
}

// routerSession polls r until its session with addr satisfies ok.
func routerSession(t *testing.T, r routers.Router, addr, what string, ok func(routers.Session) bool) routers.Session {
	t.Helper()
	var got routers.Session
	eventually(t, func() (bool, string) {
		if err := r.Alive(); err != nil {
			t.Fatalf("%v", err)
		}
		s, err := routers.SessionOf(r, addr)
		if err != nil {
			return false, err.Error()
		}
		got = s
		return ok(s), fmt.Sprintf("%s: session with %s is %s (last error %q, message %q), want %s", r.Kind(), addr, s.State, s.LastError, s.ShutdownMessage, what)
	})
	return got
}

func waitRouterEstablished(t *testing.T, r routers.Router, addr string) routers.Session {
	t.Helper()
	return routerSession(t, r, addr, "Established", routers.Session.Established)
}

// waitRouterPath waits until the daemon holds prefix from godwit: next hop
// nextHop and AS path asPath.
func waitRouterPath(t *testing.T, r routers.Router, prefix, nextHop string, asPath ...uint32) {
	t.Helper()
	if exa, ok := r.(*routers.ExaBGP); ok {
		// ExaBGP keeps no RIB: look at the UPDATEs it reported.
		eventually(t, func() (bool, string) {
			msgs, err := exa.Received()
			if err != nil {
				return false, err.Error()
			}
			for _, m := range msgs {
				for _, p := range m.Announce {
					if p.Prefix.String() == prefix && p.NextHop == nextHop && slices.Equal(p.ASPath, asPath) {
						return true, ""
					}
				}
			}
			return false, fmt.Sprintf("exabgp received no UPDATE for %s with next hop %s and path %v (%d messages)", prefix, nextHop, asPath, len(msgs))
		})
		return
	}
	routers.WaitRoute(t, r, family(nextHop), prefix, func(ps []routers.Path) bool {
		for _, p := range ps {
			if p.NextHop == nextHop && slices.Equal(p.ASPath, asPath) {
				return true
			}
		}
		return false
	})
}

// ---------------------------------------------------------------------
// The matrix of results.

// matrix collects the result of every scenario per daemon for the table
// TestSessions prints at the end. The subtests write it from their
// cleanups; mu guards cells.
type matrix struct {
	mu    sync.Mutex
	cells map[string]map[string][]string // peer -> column -> results
}

func newMatrix() *matrix { return &matrix{cells: map[string]map[string][]string{}} }

// record registers t's result under (peer, column) when t ends. It must be
// the first cleanup t registers, so that it runs last and sees failures
// reported by the other cleanups.
func (m *matrix) record(t *testing.T, peerName, column string) {
	t.Cleanup(func() {
		res := "pass"
		switch {
		case t.Failed():
			res = "FAIL"
		case t.Skipped():
			res = "skip"
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.cells[peerName] == nil {
			m.cells[peerName] = map[string][]string{}
		}
		m.cells[peerName][column] = append(m.cells[peerName][column], res)
	})
}

// table renders the matrix: one row per daemon, one column per scenario. A
// cell with several subtests is FAIL if any failed, pass if any passed and
// none failed, skip otherwise; "-" means not run for that daemon.
func (m *matrix) table(peers, columns []string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s", "")
	for _, c := range columns {
		fmt.Fprintf(&b, " %-9s", c)
	}
	b.WriteString("\n")
	for _, p := range peers {
		fmt.Fprintf(&b, "%-9s", p)
		for _, c := range columns {
			cell := "-"
			if rs := m.cells[p][c]; len(rs) > 0 {
				switch {
				case slices.Contains(rs, "FAIL"):
					cell = "FAIL"
				case slices.Contains(rs, "pass"):
					cell = "pass"
					if slices.Contains(rs, "skip") {
						cell = "pass*"
					}
				default:
					cell = "skip"
				}
			}
			fmt.Fprintf(&b, " %-9s", cell)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// nstat reads one kernel counter (`nstat -asz NAME`) in ns.
func nstat(t *testing.T, ns *netns.NS, name string) uint64 {
	t.Helper()
	out, err := ns.Exec("nstat", "-asz", name)
	if err != nil {
		t.Fatalf("nstat in %s: %v", ns, err)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("nstat %s: %q: %v", name, line, err)
			}
			return v
		}
	}
	return 0
}

// frrNeighbor reads FRR's `show bgp neighbor ADDR json`.
func frrNeighbor(t *testing.T, r *routers.FRR, addr string) map[string]any {
	t.Helper()
	n, err := r.Neighbor(addr)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// num reads a number from decoded JSON (-1 when absent).
func num(m map[string]any, key string) int64 {
	if v, ok := m[key].(float64); ok {
		return int64(v)
	}
	return -1
}

// pidFile reads the PID a daemon wrote in its directory.
func pidFile(t *testing.T, r routers.Router, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pid
}

// gatedConn holds every Write until open is closed: a slow path out of
// godwit, so that the peer's OPENs arrive on both connections of a
// collision before ours leave.
type gatedConn struct {
	net.Conn
	open <-chan struct{}
}

func (c *gatedConn) Write(b []byte) (int, error) {
	<-c.open
	return c.Conn.Write(b)
}

// spyClock is the real clock; it counts the timers of a length within
// [lo, hi] that have fired, after their function ran (the function posts
// the timer's event to the peer's driver).
type spyClock struct {
	lo, hi time.Duration
	fired  atomic.Int64
}

func (c *spyClock) Now() time.Time { return time.Now() }

func (c *spyClock) AfterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	if d < c.lo || d > c.hi {
		return time.AfterFunc(d, f)
	}
	return time.AfterFunc(d, func() {
		f()
		c.fired.Add(1)
	})
}
