package interop

// The session matrix: godwit's peer layer against every daemon, one
// scenario per subtest, named scenario/variant/daemon so that
//
//	go test ./interop/ -run 'TestSessions/matrix/md5/'
//
// runs one scenario against every daemon that has it. Every subtest has
// its own namespaces and runs in parallel with the others.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

const (
	frr      = routers.KindFRR
	bird     = routers.KindBIRD
	gobgp    = routers.KindGoBGP
	openbgpd = routers.KindOpenBGPD
	exabgp   = routers.KindExaBGP
)

var allKinds = []routers.Kind{frr, bird, gobgp, openbgpd, exabgp}

// scenario is one row of the plan: a subtest per daemon in kinds, counted
// in the matrix under column.
type scenario struct {
	name   string
	column string
	kinds  []routers.Kind
	run    func(t *testing.T, k routers.Kind)
}

var scenarios = []scenario{
	{"establish/godwit-active", "active", allKinds, func(t *testing.T, k routers.Kind) { testEstablish(t, k, false, false) }},
	{"establish/godwit-passive", "passive", allKinds, func(t *testing.T, k routers.Kind) { testEstablish(t, k, true, false) }},
	{"establish/passive-never-dials", "nodial", []routers.Kind{frr}, testPassiveNeverDials},
	{"ipv6/godwit-active", "ipv6", allKinds, func(t *testing.T, k routers.Kind) { testEstablish(t, k, false, true) }},
	{"md5/match", "md5", []routers.Kind{frr, bird, gobgp, openbgpd}, func(t *testing.T, k routers.Kind) { testMD5(t, k, true) }},
	{"md5/mismatch", "md5-wrong", []routers.Kind{frr, bird, gobgp, openbgpd}, func(t *testing.T, k routers.Kind) { testMD5(t, k, false) }},
	{"as4/4-octet-peer", "as4", allKinds, testAS4Peer},
	{"as4/2-octet-peer", "as4", []routers.Kind{exabgp}, testAS2Peer},
	{"holdtime/90-vs-30", "hold", []routers.Kind{frr}, testHoldTime30},
	{"holdtime/zero", "hold", []routers.Kind{frr}, testHoldTimeZero},
	{"collision/both-active", "collision", []routers.Kind{frr}, testCollision},
	{"shutdown/godwit-to-daemon", "shutdown", []routers.Kind{frr, bird, gobgp, openbgpd}, testShutdownSent},
	{"shutdown/daemon-to-godwit", "shutdown", []routers.Kind{frr, bird, gobgp, openbgpd}, testShutdownReceived},
	{"restart/killed-daemon", "restart", []routers.Kind{frr, bird}, testKilledDaemon},
	{"garbage/next-to-real-peer", "garbage", []routers.Kind{frr}, testGarbageNextToRealPeer},
	{"gtsm/ttl255/godwit-dials", "gtsm", []routers.Kind{frr, bird, gobgp, openbgpd}, func(t *testing.T, k routers.Kind) { testGTSM(t, k, true, true) }},
	{"gtsm/ttl255/daemon-dials", "gtsm", []routers.Kind{frr, bird, gobgp, openbgpd}, func(t *testing.T, k routers.Kind) { testGTSM(t, k, true, false) }},
	{"gtsm/ttl1/godwit-dials", "gtsm", []routers.Kind{frr}, func(t *testing.T, k routers.Kind) { testGTSM(t, k, false, true) }},
	{"gtsm/ttl1/daemon-dials", "gtsm", []routers.Kind{frr}, func(t *testing.T, k routers.Kind) { testGTSM(t, k, false, false) }},
}

// TestSessions runs every scenario against its daemons in parallel, then
// prints the matrix and checks that no goroutine outlived its test.
func TestSessions(t *testing.T) {
	netns.RequireRoot(t)
	start := time.Now()
	before := runtime.NumGoroutine()
	results := newMatrix()
	t.Run("matrix", func(t *testing.T) {
		for _, sc := range scenarios {
			for _, k := range sc.kinds {
				t.Run(sc.name+"/"+string(k), func(t *testing.T) {
					results.record(t, string(k), sc.column)
					t.Parallel()
					routers.Require(t, k)
					sc.run(t, k)
				})
			}
		}
	})
	var peers, columns []string
	for _, k := range allKinds {
		peers = append(peers, string(k))
	}
	for _, sc := range scenarios {
		if !slices.Contains(columns, sc.column) {
			columns = append(columns, sc.column)
		}
	}
	t.Logf("interop matrix, peer x scenario (pass, FAIL, skip; - not run), %s:\n%s", time.Since(start).Round(time.Second), results.table(peers, columns))
	// Peers, listeners and daemons are stopped by each subtest's cleanups;
	// nothing they started may still run.
	if err := netns.Wait(10*time.Second, 100*time.Millisecond, func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprintf("%d goroutines, %d before the scenarios", n, before)
	}); err != nil {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutine leak: %v\n%s", err, buf[:runtime.Stack(buf, true)])
	}
}

// ---------------------------------------------------------------------
// 1, 2. Establishment.

// testEstablish: godwit dials (the daemon passive) or listens (the daemon
// dials), over IPv4 or IPv6. Both sides say Established, on the connection
// the side meant to dial opened; the daemon's prefix reaches godwit's
// Handler and the prefix godwit sends reaches the daemon's table.
func testEstablish(t *testing.T, k routers.Kind, gwPassive, v6 bool) {
	gwA, rtA, gwP, rtP := gwAddr, rtAddr, gwPrefix, rtPrefix
	if v6 {
		gwA, rtA, gwP, rtP = gwAddr6, rtAddr6, gwPrefix6, rtPrefix6
	}
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	cfg := baseConfig(rtA)
	var g *gwPeer
	if gwPassive {
		// Up before the daemon, so that its first attempt finds us. The
		// connect-retry time stays at its default: a passive peer must
		// not dial (see testPassiveNeverDials), and a short one would
		// let that mask or fail this test depending on which side is
		// quicker.
		cfg.Passive, cfg.ConnectRetryTime = true, 0
		g = s.addPeer(cfg)
	}
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwA, RemoteAS: gwAS, Passive: !gwPassive}))
	s.dumpLogOnFailure()
	if !gwPassive {
		g = s.addPeer(cfg)
	}

	eventually(t, g.established)
	waitRouterEstablished(t, r, gwA)
	sess := g.session(t)
	if gwPassive && sess.LocalAddr.Port() != 179 {
		t.Errorf("godwit is passive but the session is %s -> %s: godwit did not accept it", sess.LocalAddr, sess.RemoteAddr)
	}
	if !gwPassive && sess.RemoteAddr.Port() != 179 {
		t.Errorf("the daemon is passive but the session is %s -> %s: godwit did not dial it", sess.LocalAddr, sess.RemoteAddr)
	}
	wantFam := nlri.IPv4Unicast
	if v6 {
		wantFam = nlri.IPv6Unicast
	}
	if n := sess.Negotiated; n.PeerAS != rtAS || !n.AS4 || !slices.Equal(n.Families, []nlri.Family{wantFam}) {
		t.Errorf("negotiated %s, want AS %d, 4-octet AS, families [%s]", n, rtAS, wantFam)
	}
	g.waitRoute(t, rtP, rtA, rtAS)
	g.announce(t, gwP)
	waitRouterPath(t, r, gwP, gwA, gwAS)
}

// testPassiveNeverDials: peer.Config.Passive says "Passive never dials".
// A passive godwit peer whose ConnectRetryTimer expires must stay in
// Active and keep waiting (the daemon is passive too, so no one connects).
func testPassiveNeverDials(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true}))
	s.dumpLogOnFailure()
	cfg := baseConfig(rtAddr)
	cfg.Passive = true
	cfg.ConnectRetryTime = time.Second
	// The idle hold never reaches the jittered connect-retry range
	// [0.75 s, 1 s], so the spy counts ConnectRetryTimer expiries alone.
	cfg.MaxIdleHoldTime = 400 * time.Millisecond
	clk := &spyClock{lo: cfg.ConnectRetryTime * 3 / 4, hi: cfg.ConnectRetryTime}
	g := s.addPeer(cfg, func(o *peer.Options) { o.Clock = clk })
	eventually(t, func() (bool, string) {
		return clk.fired.Load() > 0, "waiting for the ConnectRetryTimer to expire"
	})
	// Enable is a command: the driver handles it after the timer's
	// event, which is already in its queue. It does nothing to a peer
	// that is not Idle.
	g.Enable()
	if st := g.Status(); st.State != peer.Active {
		t.Errorf("passive peer went from Active to %s when its ConnectRetryTimer expired (want: stay in Active and wait)", st.State)
	}
	if n := g.dials.count(); n > 0 {
		t.Errorf("passive peer dialled %d times:\n%s", n, g.dials)
	}
}

// ---------------------------------------------------------------------
// 3. TCP MD5.

// testMD5: godwit dials a daemon that requires a TCP MD5 key. With the
// right key the session comes up and the socket carries the key; with a
// wrong one it never does, and godwit's LastError says why: the dial
// times out, the kernel drops the segments, see TcpExtTCPMD5Failure.
func testMD5(t *testing.T, k routers.Kind, match bool) {
	const key = "godwit-interop-md5"
	gwKey := key
	if !match {
		gwKey = "not-the-daemons-key"
	}
	l := newLab(t)
	s := newSpeaker(t, l.gw, map[netip.Addr]transport.PeerSecurity{netip.MustParseAddr(rtAddr): {Password: gwKey}})
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true, Password: key}))
	s.dumpLogOnFailure()
	cfg := baseConfig(rtAddr)
	cfg.Password = gwKey
	cfg.ConnectRetryTime = 3 * time.Second
	g := s.addPeer(cfg)

	if match {
		eventually(t, g.established)
		waitRouterEstablished(t, r, gwAddr)
		g.waitRoute(t, rtPrefix, rtAddr, rtAS)
		out, err := l.gw.Exec("ss", "-tnie", "state", "established", "( dport = :179 )")
		if err != nil || !strings.Contains(out, "md5keys:"+rtAddr) {
			t.Errorf("godwit's session socket carries no MD5 key for %s (%v):\n%s", rtAddr, err, out)
		}
		return
	}

	// Wait for the hint, or for enough attempts that it should have come
	// (each is bounded by ConnectRetryTime), keeping every error godwit
	// reports on the way.
	var seen []string
	hint := false
	eventually(t, func() (bool, string) {
		st := g.Status()
		if len(seen) == 0 || seen[len(seen)-1] != st.LastError {
			seen = append(seen, st.LastError)
		}
		hint = strings.Contains(st.LastError, "password") && strings.Contains(st.LastError, "TcpExtTCPMD5Failure")
		return hint || g.dials.count() >= 6, fmt.Sprintf("godwit's last error is %q, want the MD5 hint", st.LastError)
	})
	if !hint {
		t.Errorf("after %d attempts godwit's last error never pointed at the MD5 password and TcpExtTCPMD5Failure; it said %q", g.dials.count(), seen)
	}
	if ups, _ := g.rec.counts(); ups > 0 || g.Status().State == peer.Established {
		t.Errorf("session came up %d times with mismatched MD5 keys (state %s)", ups, g.Status().State)
	}
	if n := nstat(t, l.rt, "TcpExtTCPMD5Failure"); n == 0 {
		t.Errorf("the daemon's kernel counted no TcpExtTCPMD5Failure: the key mismatch is not what kept the session down")
	}
	// The dial is bounded by ConnectRetryTime and so is the
	// ConnectRetryTimer, which restarts the attempt: each attempt must
	// be one dial, and an attempt the peer abandoned itself is no
	// connection failure to report.
	for _, e := range seen {
		if strings.Contains(e, "operation was canceled") {
			t.Errorf("godwit reported its own cancellation of a dial as the connection error: %q", e)
		}
	}
	if o := g.dials.leaks(); len(o) > 0 {
		t.Errorf("dials outlived their attempt (the result of an abandoned one was taken for the next one's):\n%s\ndials: %s", strings.Join(o, "\n"), g.dials)
	}
}

// ---------------------------------------------------------------------
// 4. 4-octet AS numbers (RFC 6793).

// testAS4Peer: the daemon is in AS 4200000001. godwit learns it from the
// 4-octet AS capability (the OPEN's My AS is AS_TRANS) and routes carry the
// 4-octet AS both ways.
func testAS4Peer(t *testing.T, k routers.Kind) {
	const peerAS = 4200000001
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	c := rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true})
	c.LocalAS = peerAS
	r := startRouter(t, k, l.rt, c)
	s.dumpLogOnFailure()
	cfg := baseConfig(rtAddr)
	cfg.PeerAS = peerAS
	g := s.addPeer(cfg)
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	if n := g.session(t).Negotiated; n.PeerAS != peerAS || !n.AS4 {
		t.Errorf("negotiated peer AS %d, 4-octet AS %t; want %d, true", n.PeerAS, n.AS4, peerAS)
	}
	g.waitRoute(t, rtPrefix, rtAddr, peerAS)
	g.announce(t, gwPrefix)
	waitRouterPath(t, r, gwPrefix, gwAddr, gwAS)
}

// testAS2Peer: an OLD speaker (ExaBGP with `asn4 disable`) against godwit
// in AS 4200000010. godwit's OPEN carries AS_TRANS, so the daemon sees AS
// 23456; the session comes up without 4-octet AS; godwit's route goes out
// as AS_PATH [AS_TRANS] plus AS4_PATH [4200000010], which the daemon merges
// back into the real path (RFC 6793 §4.2.3).
func testAS2Peer(t *testing.T, k routers.Kind) {
	const localAS = 4200000010
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	cfg := baseConfig(rtAddr)
	cfg.LocalAS = localAS
	cfg.Passive, cfg.ConnectRetryTime = true, 0 // ExaBGP dials (it only listens with a bind address)
	g := s.addPeer(cfg)
	// The launcher has no switch for the capability: the neighbour is
	// written out in full, as renderExaBGP would, plus `asn4 disable`.
	r := startRouter(t, k, l.rt, routers.Config{RouterID: rtID, LocalAS: rtAS, Extra: fmt.Sprintf(`neighbor %[1]s {
  description "%[1]s";
  router-id %[2]s;
  local-address %[3]s;
  local-as %[4]d;
  peer-as %[5]d;
  capability { asn4 disable; }
  family { ipv4 unicast; }
  api {
    processes [ godwit-api ];
    neighbor-changes;
    receive { parsed; update; notification; }
  }
  static { route %[6]s next-hop self; }
}`, gwAddr, rtID, rtAddr, rtAS, wire.ASTrans, rtPrefix)})
	s.dumpLogOnFailure()

	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	if n := g.session(t).Negotiated; n.AS4 || n.PeerAS != rtAS {
		t.Errorf("negotiated peer AS %d, 4-octet AS %t; want %d, false", n.PeerAS, n.AS4, rtAS)
	}
	g.waitRoute(t, rtPrefix, rtAddr, rtAS)
	g.announce(t, gwPrefix)
	waitRouterPath(t, r, gwPrefix, gwAddr, localAS)
	// And ExaBGP knows us as AS_TRANS, from our OPEN's My AS.
	msgs, err := r.(*routers.ExaBGP).Received()
	if err != nil {
		t.Fatal(err)
	}
	ups := 0
	for _, m := range msgs {
		if m.Type == "state" && m.State == "up" {
			ups++
			if m.PeerAS != wire.ASTrans {
				t.Errorf("ExaBGP's session is up with peer AS %d, want AS_TRANS (%d)", m.PeerAS, wire.ASTrans)
			}
		}
	}
	if ups != 1 {
		t.Errorf("ExaBGP reported the session up %d times, want 1", ups)
	}
}

// ---------------------------------------------------------------------
// 5. Hold time.

// testHoldTime30: godwit proposes 90 s, FRR 30 s: both use 30 s, and a
// third of it between KEEPALIVEs.
func testHoldTime30(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true, HoldTime: 30}))
	s.dumpLogOnFailure()
	cfg := baseConfig(rtAddr)
	cfg.HoldTime = 90 * time.Second
	g := s.addPeer(cfg)
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	if n := g.session(t).Negotiated; n.HoldTime != 30*time.Second || n.KeepaliveTime != 10*time.Second {
		t.Errorf("godwit negotiated hold %s keepalive %s, want 30s and 10s", n.HoldTime, n.KeepaliveTime)
	}
	n := frrNeighbor(t, r.(*routers.FRR), gwAddr)
	if h, ka := num(n, "bgpTimerHoldTimeMsecs"), num(n, "bgpTimerKeepAliveIntervalMsecs"); h != 30000 || ka != 10000 {
		t.Errorf("FRR uses hold %d ms keepalive %d ms, want 30000 and 10000", h, ka)
	}
}

// testHoldTimeZero: FRR proposes a hold time of 0: the session has no
// hold timer and no KEEPALIVEs after the first, and stays up. Any other
// hold time is at least 3 s (RFC 4271 §4.2), so a session that stays up
// 4 s without a KEEPALIVE either way has none on either side.
func testHoldTimeZero(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true}))
	f := r.(*routers.FRR)
	if err := f.ConfigureBGP("neighbor " + gwAddr + " timers 0 0"); err != nil {
		t.Fatal(err)
	}
	s.dumpLogOnFailure()
	g := s.addPeer(baseConfig(rtAddr))
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	sess := g.session(t)
	if n := sess.Negotiated; n.HoldTime != 0 || n.KeepaliveTime != 0 {
		t.Errorf("godwit negotiated hold %s keepalive %s, want 0 and 0", n.HoldTime, n.KeepaliveTime)
	}
	eventually(t, func() (bool, string) {
		n := frrNeighbor(t, f, gwAddr)
		return n["bgpState"] == "Established" && num(n, "bgpTimerUpMsec") >= 4000,
			fmt.Sprintf("FRR's session is %v, up %d ms", n["bgpState"], num(n, "bgpTimerUpMsec"))
	})
	n := frrNeighbor(t, f, gwAddr)
	if h := num(n, "bgpTimerHoldTimeMsecs"); h != 0 {
		t.Errorf("FRR uses hold %d ms, want 0", h)
	}
	st := g.Status()
	if st.Session != sess || st.Flaps != 0 {
		t.Errorf("godwit's session did not stay up: %s", g.describe())
	}
	if in, out := st.MessagesIn[iana.MsgKeepalive], st.MessagesOut[iana.MsgKeepalive]; in != 1 || out != 1 {
		t.Errorf("KEEPALIVEs in %d out %d, want only the one that confirms the OPEN each way", in, out)
	}
	if ms, ok := n["messageStats"].(map[string]any); !ok || num(ms, "keepalivesRecv") != 1 {
		t.Errorf("FRR received %v KEEPALIVEs, want 1", n["messageStats"])
	}
}

// ---------------------------------------------------------------------
// 6. Connection collision (RFC 4271 §6.8).

// testCollision: godwit and FRR both active and both started at once, so
// that each dials the other. The test makes the collision certain rather
// than likely: godwit's dial waits until FRR's connection has arrived,
// FRR's connection reaches godwit's peer only once godwit's own is open,
// and godwit's writes wait until it has resolved the collision (a slow path
// out), so that godwit has both connections and both OPENs from FRR. The
// connection initiated by the higher BGP identifier must survive, on both
// sides, and stay up. It runs with godwit's identifier below FRR's and
// above it, twice each.
//
// The gates open the dumped connection first (our OPEN and Cease go out on
// it) and the surviving one once FRR has closed the dumped one. In the
// other order FRR 8.4 mishandles the case where the connection it accepted
// wins while its own is still in OpenSent: it moves the accepted one over
// to its neighbour ("peer transfer"), then tears it down at once ("No
// AFI/SAFI activated for peer", or "bgp_getsockname() failed for accept
// from_peer" when our Cease lands during the hand-over), and the session
// comes back only on godwit's next attempt.
func testCollision(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, HoldTime: 9}))
	f := r.(*routers.FRR)
	if err := f.ConfigureBGP("neighbor " + gwAddr + " shutdown"); err != nil {
		t.Fatal(err)
	}
	s.dumpLogOnFailure()
	// Ends the intercept's waits when the test ends early: the listener's
	// Close waits for its accept goroutine.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rtIDAddr := netip.MustParseAddr(rtID)
	who := map[bool]string{true: "godwit", false: "FRR"}
	for i, id := range []string{"10.0.0.1", "10.0.0.9", "10.0.0.1", "10.0.0.9"} {
		gwIDAddr := netip.MustParseAddr(id)
		gwWins := gwIDAddr.Compare(rtIDAddr) > 0
		t.Logf("round %d: godwit id %s, FRR id %s: the connection %s initiated must survive", i, id, rtID, who[gwWins])
		routerSession(t, r, gwAddr, "down", func(s routers.Session) bool { return !s.Established() })
		before := num(frrNeighbor(t, f, gwAddr), "connectionsEstablished")
		logFrom := s.logs.Len()

		inbound := make(chan struct{}) // FRR's connection has arrived
		dialled := make(chan struct{}) // godwit's own dial has returned
		var inOnce, dialOnce sync.Once
		out, in := newGate(t), newGate(t) // godwit's writes on each connection
		cfg := baseConfig(rtAddr)
		cfg.RouterID = gwIDAddr
		cfg.ConnectRetryTime = 30 * time.Second // the dial may wait for FRR's
		g := s.newPeer(cfg)
		g.beforeDial = func(ctx context.Context) error {
			select {
			case <-inbound:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		g.wrap = func(c net.Conn) net.Conn {
			dialOnce.Do(func() { close(dialled) })
			return out.wrap(c)
		}
		s.setIntercept(func(nc net.Conn, local, remote netip.AddrPort) {
			inOnce.Do(func() { close(inbound) })
			select {
			case <-dialled:
			case <-ctx.Done():
			}
			// Our OPEN is held back, so the outbound connection stays
			// in OpenSent or OpenConfirm until this one joins it.
			_ = netns.Wait(timeout, time.Millisecond, func() (bool, string) {
				return g.Status().State >= peer.OpenSent || ctx.Err() != nil, ""
			})
			s.d.Handle(in.wrap(nc), local, remote)
		})
		g.start()
		if err := f.ConfigureBGP("no neighbor " + gwAddr + " shutdown"); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() (bool, string) {
			return strings.Contains(s.logs.From(logFrom), "connection collision"),
				fmt.Sprintf("godwit has not resolved a collision: %s", g.describe())
		})
		s.setIntercept(nil)
		log := s.logs.From(logFrom)
		if want := fmt.Sprintf("dumped-outbound=%t", !gwWins); !strings.Contains(log, want) {
			t.Errorf("round %d: godwit resolved the collision against §6.8: want %s in\n%s", i, want, log)
		}
		keep, dump := out, in
		if strings.Contains(log, "dumped-outbound=true") {
			keep, dump = in, out
		}
		dump.open()
		eventually(t, func() (bool, string) {
			// FRR's end of the dumped connection, until FRR has closed it.
			out, err := l.rt.Exec("ss", "-tnH", "state", "established", "state", "close-wait",
				fmt.Sprintf("( sport = :%d and dport = :%d )", dump.remote().Port(), dump.local().Port()))
			return err == nil && strings.TrimSpace(out) == "", fmt.Sprintf("FRR has not closed the dumped connection %s -> %s: %s %v", dump.local(), dump.remote(), out, err)
		})
		keep.open()
		eventually(t, g.established)
		waitRouterEstablished(t, r, gwAddr)

		sess := g.session(t)
		n := frrNeighbor(t, f, gwAddr)
		if num(n, "portLocal") != int64(sess.RemoteAddr.Port()) || num(n, "portForeign") != int64(sess.LocalAddr.Port()) {
			t.Errorf("round %d: godwit's session %s -> %s is not FRR's (local port %d, foreign port %d)", i, sess.LocalAddr, sess.RemoteAddr, num(n, "portLocal"), num(n, "portForeign"))
		}
		if gwInitiated := sess.RemoteAddr.Port() == 179; gwInitiated != gwWins {
			t.Errorf("round %d: the surviving connection %s -> %s was initiated by %s; §6.8 keeps the higher identifier's", i, sess.LocalAddr, sess.RemoteAddr, who[gwInitiated])
		}
		// Exactly one session, and it stays: FRR's uptime grows past a
		// keepalive interval (3 s) on the same connection.
		eventually(t, func() (bool, string) {
			n := frrNeighbor(t, f, gwAddr)
			return num(n, "bgpTimerUpMsec") >= 4000 || n["bgpState"] != "Established",
				fmt.Sprintf("FRR's session is %v, up %d ms", n["bgpState"], num(n, "bgpTimerUpMsec"))
		})
		n = frrNeighbor(t, f, gwAddr)
		if st := g.Status(); n["bgpState"] != "Established" || st.Session != sess || st.Flaps != 0 {
			t.Errorf("round %d: the session did not stay up: FRR %v; godwit %s", i, n["bgpState"], g.describe())
		}
		if got := num(n, "connectionsEstablished") - before; got != 1 {
			t.Errorf("round %d: FRR established %d sessions, want 1", i, got)
		}
		if ups, downs := g.rec.counts(); ups != 1 || downs != 0 {
			t.Errorf("round %d: godwit's handler saw %d sessions up and %d down, want 1 and 0", i, ups, downs)
		}
		if err := f.ConfigureBGP("neighbor " + gwAddr + " shutdown"); err != nil {
			t.Fatal(err)
		}
		g.Stop(0, false)
		if t.Failed() {
			return
		}
	}
}

// gate holds godwit's writes on one connection until open; it opens at
// cleanup at the latest (before the peer's Stop, which waits for its
// writer).
type gate struct {
	ch   chan struct{}
	once sync.Once
	mu   sync.Mutex
	c    net.Conn
}

func newGate(t *testing.T) *gate {
	g := &gate{ch: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// wrap puts c behind the gate; the first connection wrapped is the one
// local and remote describe.
func (g *gate) wrap(c net.Conn) net.Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c == nil {
		g.c = c
	}
	return &gatedConn{Conn: c, open: g.ch}
}

// local and remote are godwit's end and FRR's end of the connection.
func (g *gate) local() netip.AddrPort  { return g.addr(net.Conn.LocalAddr) }
func (g *gate) remote() netip.AddrPort { return g.addr(net.Conn.RemoteAddr) }

func (g *gate) addr(f func(net.Conn) net.Addr) netip.AddrPort {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c == nil {
		return netip.AddrPort{}
	}
	return f(g.c).(*net.TCPAddr).AddrPort()
}

// ---------------------------------------------------------------------
// 7. Administrative shutdown with a message (RFC 9003).

const shutdownMsg = "godwit interop: maintenance window 42"

// testShutdownSent: godwit shuts the session down with a message; the
// daemon shows it, and the session stays down until godwit enables it.
func testShutdownSent(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true}))
	s.dumpLogOnFailure()
	g := s.addPeer(baseConfig(rtAddr))
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	g.Shutdown(shutdownMsg)
	if st := g.Status(); !st.AdminDown || st.State != peer.Idle || st.LastSent == nil || st.LastSent.Message != shutdownMsg ||
		st.LastSent.Code != iana.NotifCease || st.LastSent.Subcode != uint8(iana.CeaseAdministrativeShutdown) {
		t.Errorf("after Shutdown: %s", g.describe())
	}
	switch k {
	case frr, bird, openbgpd:
		// Their neighbour status keeps the message.
		got := routerSession(t, r, gwAddr, "down with the message", func(s routers.Session) bool {
			return !s.Established() && s.ShutdownMessage == shutdownMsg
		})
		if k == frr && got.LastError != "Cease/Administrative Shutdown" {
			t.Errorf("FRR's last notification reason is %q, want Cease/Administrative Shutdown", got.LastError)
		}
	default:
		// GoBGP only logs it.
		routerSession(t, r, gwAddr, "down", func(s routers.Session) bool { return !s.Established() })
		eventually(t, func() (bool, string) {
			return strings.Contains(r.Logs(), shutdownMsg), fmt.Sprintf("%s's log does not show %q", k, shutdownMsg)
		})
	}
	g.Enable()
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
}

// testShutdownReceived: the daemon shuts the session down with a message;
// godwit's status shows it as the last NOTIFICATION received.
func testShutdownReceived(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true}))
	s.dumpLogOnFailure()
	g := s.addPeer(baseConfig(rtAddr))
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	var err error
	switch k {
	case frr:
		err = r.(*routers.FRR).ConfigureBGP("neighbor " + gwAddr + " shutdown message " + shutdownMsg)
	case bird:
		var proto string
		if proto, err = r.(*routers.BIRD).Protocol(gwAddr); err == nil {
			_, err = r.(*routers.BIRD).Birdc("disable", proto, `"`+shutdownMsg+`"`)
		}
	case gobgp:
		_, err = r.(*routers.GoBGP).CLI("neighbor", gwAddr, "shutdown", "--reason", shutdownMsg)
	case openbgpd:
		_, err = r.(*routers.OpenBGPD).Bgpctl("neighbor", gwAddr, "down", shutdownMsg)
	}
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() (bool, string) {
		st := g.Status()
		r := st.LastReceived
		return st.State != peer.Established && r != nil && r.Message == shutdownMsg,
			fmt.Sprintf("godwit is %s, last NOTIFICATION received %+v", st.State, r)
	})
	if r := g.Status().LastReceived; r.Code != iana.NotifCease || r.Subcode != uint8(iana.CeaseAdministrativeShutdown) {
		t.Errorf("godwit received %s / %s, want Cease / Administrative Shutdown", r.Code, iana.SubcodeString(r.Code, r.Subcode))
	}
	// The reader tells the Handler once the driver has closed the
	// connection, a moment after the status changed.
	eventually(t, func() (bool, string) {
		_, downs := g.rec.counts()
		return downs == 1, fmt.Sprintf("godwit's handler saw %d sessions end, want 1", downs)
	})
}

// ---------------------------------------------------------------------
// 8. The daemon dies and comes back.

// testKilledDaemon: the daemon is killed (SIGKILL, by PID). godwit leaves
// Established, retries with a growing idle hold (the connect-retry counter
// counts the refused attempts), and is back once the daemon restarts.
func testKilledDaemon(t *testing.T, k routers.Kind) {
	l := newLab(t)
	s := newSpeaker(t, l.gw, nil)
	c := rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true})
	r := startRouter(t, k, l.rt, c)
	s.dumpLogOnFailure()
	g := s.addPeer(baseConfig(rtAddr))
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	g.waitRoute(t, rtPrefix, rtAddr, rtAS)

	pid := pidFile(t, r, map[routers.Kind]string{frr: "bgpd.pid", bird: "bird.pid"}[k])
	dialsBefore := g.dials.count()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s (pid %d): %v", k, pid, err)
	}
	eventually(t, func() (bool, string) {
		_, downs := g.rec.counts()
		st := g.Status()
		return st.State != peer.Established && downs == 1, fmt.Sprintf("godwit is %s after the daemon died, handler saw %d downs", st.State, downs)
	})
	// Four refused attempts, each after a longer idle hold.
	eventually(t, func() (bool, string) {
		st := g.Status()
		return st.ConnectRetryCounter >= 4 && len(g.dials.since(dialsBefore)) >= 4,
			fmt.Sprintf("connect-retry counter %d, %d dials since the kill", st.ConnectRetryCounter, len(g.dials.since(dialsBefore)))
	})
	starts := g.dials.since(dialsBefore)
	var gaps []time.Duration
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, starts[i].Sub(starts[i-1]))
	}
	// 100 ms, 200 ms, 400 ms, ... up to 2 s: each gap is the idle hold
	// plus a refused dial, so every gap is well above the one before
	// last (a tolerance for scheduling on a busy machine).
	for i := 2; i < len(gaps); i++ {
		if gaps[i] < gaps[i-2]*3/2 {
			t.Errorf("the back-off does not grow: gaps between dials %v", gaps)
			break
		}
	}
	t.Logf("gaps between refused dials: %v", gaps)

	if err := r.Stop(); err != nil { // reap it, and stop zebra with it
		t.Logf("stopping what is left of %s: %v", k, err)
	}
	r2 := startRouter(t, k, l.rt, c)
	eventually(t, g.established)
	waitRouterEstablished(t, r2, gwAddr)
	g.waitRoute(t, rtPrefix, rtAddr, rtAS)
	if ups, downs := g.rec.counts(); ups != 2 || downs != 1 {
		t.Errorf("godwit's handler saw %d sessions up and %d down, want 2 and 1", ups, downs)
	}
}

// ---------------------------------------------------------------------
// 9. Garbage from one peer next to a real one.

// testGarbageNextToRealPeer: godwit has two peers, the daemon and a raw
// socket in a third namespace that completes the OPEN exchange and then
// sends bytes that are no BGP message. The raw peer gets a NOTIFICATION
// Message Header Error; the daemon's session is not touched.
func testGarbageNextToRealPeer(t *testing.T, k routers.Kind) {
	const rawAddr, gwRawAddr, rawAS = "10.0.1.2", "10.0.1.1", 65099
	l := newLab(t)
	raw := netns.New(t, "raw")
	if _, _, err := netns.Veth(
		netns.End{NS: l.gw, Ifname: "to-raw", Addrs: []string{gwRawAddr + "/30"}},
		netns.End{NS: raw, Ifname: "to-gw", Addrs: []string{rawAddr + "/30"}},
	); err != nil {
		t.Fatal(err)
	}
	ln, err := raw.ListenTCP(rawAddr + ":179")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	s := newSpeaker(t, l.gw, nil)
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, Passive: true}))
	s.dumpLogOnFailure()
	g := s.addPeer(baseConfig(rtAddr))
	eventually(t, g.established)
	waitRouterEstablished(t, r, gwAddr)
	g.waitRoute(t, rtPrefix, rtAddr, rtAS)
	frrSess := g.session(t)

	rcfg := baseConfig(rawAddr)
	rcfg.PeerAS, rcfg.Local = rawAS, netip.MustParseAddr(gwRawAddr)
	gr := s.addPeer(rcfg)
	ln.SetDeadline(time.Now().Add(timeout))
	nc, err := ln.Accept()
	if err != nil {
		t.Fatalf("raw peer: accept: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(timeout))
	rd := transport.NewReader(nc)
	read := func() wire.Message {
		t.Helper()
		_, msg, err := rd.ReadMessage()
		if err != nil {
			t.Fatalf("raw peer: read: %v", err)
		}
		m, err := wire.Decode(msg, wire.Permissive())
		if err != nil {
			t.Fatalf("raw peer: decode: %v", err)
		}
		return m
	}
	write := func(b []byte) {
		t.Helper()
		if _, err := nc.Write(b); err != nil {
			t.Fatalf("raw peer: write: %v", err)
		}
	}
	if _, ok := read().(*wire.Open); !ok {
		t.Fatal("raw peer: godwit's first message is not an OPEN")
	}
	write(wire.NewOpen(rawAS, 90, netip.MustParseAddr(rawAddr), wire.CapMultiprotocol{Family: nlri.IPv4Unicast},
		wire.CapFourOctetAS{AS: rawAS}).AppendTo(nil, wire.Options{}))
	write(wire.Keepalive{}.AppendTo(nil, wire.Options{}))
	if _, ok := read().(wire.Keepalive); !ok {
		t.Fatal("raw peer: no KEEPALIVE after the OPEN")
	}
	eventually(t, gr.established)
	upBefore := routerSession(t, r, gwAddr, "Established", routers.Session.Established).Uptime

	write([]byte("GARBAGE: not a BGP message, no marker, nothing.\r\n"))
	var n *wire.Notification
	for n == nil {
		m := read()
		n, _ = m.(*wire.Notification)
	}
	if n.Code != iana.NotifMessageHeader || n.Subcode != uint8(iana.HeaderConnectionNotSynchronized) {
		t.Errorf("raw peer got NOTIFICATION %s, want Message Header Error / Connection Not Synchronized", n)
	}
	eventually(t, func() (bool, string) {
		_, downs := gr.rec.counts()
		return downs == 1, fmt.Sprintf("the raw peer's handler saw %d sessions end", downs)
	})

	// The daemon's session carries on: same session, no flap, and it
	// still passes routes.
	g.announce(t, gwPrefix)
	waitRouterPath(t, r, gwPrefix, gwAddr, gwAS)
	got := waitRouterEstablished(t, r, gwAddr)
	if got.Uptime < upBefore {
		t.Errorf("%s's session restarted: uptime %s, was %s", k, got.Uptime, upBefore)
	}
	if st := g.Status(); st.Session != frrSess || st.Flaps != 0 || st.State != peer.Established {
		t.Errorf("the daemon's session was touched: %s", g.describe())
	}
}

// ---------------------------------------------------------------------
// 10. GTSM (RFC 5082).

// testGTSM: FRR requires GTSM (ttl-security hops 1). godwit with TTL 255
// and minimum TTL 255 comes up whichever side dials. godwit with TTL 1
// never gets FRR to Established: FRR's kernel drops our segments
// (TcpExtTCPMinTTLDrop), which closes the window of the check.
func testGTSM(t *testing.T, k routers.Kind, gtsm, gwDials bool) {
	l := newLab(t)
	sec := transport.PeerSecurity{TTL: 255, MinTTL: transport.GTSMMinTTL(1)}
	if !gtsm {
		sec = transport.PeerSecurity{TTL: 1}
	}
	s := newSpeaker(t, l.gw, map[netip.Addr]transport.PeerSecurity{netip.MustParseAddr(rtAddr): sec})
	cfg := baseConfig(rtAddr)
	cfg.TTL, cfg.MinTTL = sec.TTL, sec.MinTTL
	var g *gwPeer
	if !gwDials {
		cfg.Passive, cfg.ConnectRetryTime = true, 0
		g = s.addPeer(cfg)
	}
	r := startRouter(t, k, l.rt, rtConfig(routers.Neighbor{Address: gwAddr, RemoteAS: gwAS, TTLSecurity: 1, Passive: gwDials}))
	s.dumpLogOnFailure()
	if gwDials {
		g = s.addPeer(cfg)
	}
	if gtsm {
		eventually(t, g.established)
		waitRouterEstablished(t, r, gwAddr)
		g.waitRoute(t, rtPrefix, rtAddr, rtAS)
		return
	}
	// godwit has sent FRR something it had to drop, twice (a segment and
	// its retransmission): by then FRR would have had it.
	eventually(t, func() (bool, string) {
		st := g.Status()
		drops := nstat(t, l.rt, "TcpExtTCPMinTTLDrop")
		return st.MessagesOut[iana.MsgOpen] >= 1 && drops >= 2,
			fmt.Sprintf("godwit sent %d OPENs, FRR's kernel dropped %d segments for their TTL; godwit %s", st.MessagesOut[iana.MsgOpen], drops, st.State)
	})
	if n := frrNeighbor(t, r.(*routers.FRR), gwAddr); num(n, "connectionsEstablished") != 0 || n["bgpState"] == "Established" {
		t.Errorf("FRR established a session with a peer that does not send TTL 255: %v, %d sessions", n["bgpState"], num(n, "connectionsEstablished"))
	}
	// godwit's side depends on a race inside FRR: when godwit dials, FRR
	// sets IP_MINTTL on the socket after accepting it, and our OPEN may
	// have arrived before (then FRR answers and godwit goes as far as
	// Established while FRR waits in OpenConfirm for a KEEPALIVE it
	// drops); otherwise godwit waits in OpenSent or OpenConfirm.
	t.Logf("godwit is %s", g.Status().State)
	if !gwDials {
		if ups, _ := g.rec.counts(); ups > 0 {
			t.Errorf("godwit reached Established %d times with FRR's KEEPALIVE never sent", ups)
		}
	}
}
