package peer

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// recorder is a Handler that remembers what it was told.
type recorder struct {
	mu       sync.Mutex
	ups      int
	downs    []string
	graceful []bool
	prefixes []string
	refresh  int
}

func (r *recorder) SessionUp(*Session) { r.mu.Lock(); r.ups++; r.mu.Unlock() }
func (r *recorder) Updates(_ *Session, batch []*wire.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range batch {
		for rt := range u.Reach() {
			r.prefixes = append(r.prefixes, rt.String())
		}
	}
}
func (r *recorder) RouteRefresh(*Session, *wire.RouteRefresh) {
	r.mu.Lock()
	r.refresh++
	r.mu.Unlock()
}
func (r *recorder) SessionDown(_ *Session, err error, graceful bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.downs = append(r.downs, fmt.Sprint(err))
	r.graceful = append(r.graceful, graceful)
}
func (r *recorder) snapshot() (ups int, downs []string, prefixes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ups, append([]string(nil), r.downs...), append([]string(nil), r.prefixes...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// speaker is one godwit peer with its own listener on a loopback address.
type speaker struct {
	addr netip.Addr
	port uint16
	ln   *transport.Listener
	d    *Dispatcher
	rec  *recorder
	peer *Peer
}

func newSpeaker(t *testing.T, addr string) *speaker {
	t.Helper()
	s := &speaker{addr: netip.MustParseAddr(addr), d: NewDispatcher(nil), rec: &recorder{}}
	ln, err := transport.Listen(context.Background(), transport.ListenConfig{
		Addresses: []string{addr + ":0"},
		Handler:   s.d.Handle,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.port = ln.Addrs()[0].Port()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *speaker) start(t *testing.T, cfg Config) {
	t.Helper()
	s.peer = New(cfg, Options{Handler: s.rec})
	s.d.Add(s.peer)
	s.peer.Start(context.Background())
}

func pairConfig(local, remote *speaker, localAS, remoteAS uint32, id string) Config {
	return Config{
		LocalAS: localAS, PeerAS: remoteAS, RouterID: netip.MustParseAddr(id),
		Remote: netip.AddrPortFrom(remote.addr, remote.port), Local: local.addr,
		HoldTime: 9 * time.Second, ConnectRetryTime: 2 * time.Second,
		IdleHoldTime: 50 * time.Millisecond, MaxIdleHoldTime: 200 * time.Millisecond,
	}
}

func goroutines() int { return runtime.NumGoroutine() }

func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	eventually(t, 10*time.Second, "goroutines back to baseline", func() bool { return goroutines() <= before })
}

func TestEstablishSendShutdown(t *testing.T) {
	before := goroutines()
	a, b := newSpeaker(t, "127.0.0.1"), newSpeaker(t, "127.0.0.2")
	ca := pairConfig(a, b, 65001, 4200000001, "192.0.2.1")
	cb := pairConfig(b, a, 4200000001, 65001, "192.0.2.2")
	cb.Passive = true
	a.start(t, ca)
	b.start(t, cb)
	eventually(t, 10*time.Second, "both Established", func() bool {
		return a.peer.Status().State == Established && b.peer.Status().State == Established
	})
	st := a.peer.Status()
	if n := st.Session.Negotiated; n.PeerAS != 4200000001 || !n.AS4 || n.HoldTime != 9*time.Second {
		t.Fatalf("negotiated %v", n)
	}
	// A sends one UPDATE; B's handler sees its prefixes.
	ua := buildUpdate(t, st.Session.Negotiated.Send, "203.0.113.0/24", "198.51.100.0/25")
	if err := st.Session.Send(context.Background(), ua); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "B received two prefixes", func() bool { _, _, p := b.rec.snapshot(); return len(p) == 2 })
	_, _, got := b.rec.snapshot()
	if strings.Join(got, ",") != "203.0.113.0/24,198.51.100.0/25" {
		t.Errorf("B received %v", got)
	}
	// An administrative shutdown with a message reaches B (RFC 9003).
	a.peer.Shutdown("maintenance window 42")
	eventually(t, 5*time.Second, "B saw the shutdown", func() bool {
		r := b.peer.Status().LastReceived
		return r != nil && r.Message == "maintenance window 42"
	})
	if r := b.peer.Status().LastReceived; r.Code != iana.NotifCease || r.Subcode != uint8(iana.CeaseAdministrativeShutdown) {
		t.Errorf("B received %v/%v", r.Code, r.Subcode)
	}
	eventually(t, 5*time.Second, "B's handler saw SessionDown", func() bool { _, d, _ := b.rec.snapshot(); return len(d) == 1 })
	if st := a.peer.Status(); !st.AdminDown || st.State != Idle {
		t.Errorf("A after shutdown: admin %v state %v", st.AdminDown, st.State)
	}
	// Enable brings it back.
	a.peer.Enable()
	eventually(t, 10*time.Second, "Established again", func() bool {
		return a.peer.Status().State == Established && b.peer.Status().State == Established
	})
	a.peer.Stop(0, false)
	b.peer.Stop(0, false)
	a.ln.Close()
	b.ln.Close()
	checkNoLeak(t, before)
}

func TestCollision(t *testing.T) {
	before := goroutines()
	a, b := newSpeaker(t, "127.0.0.3"), newSpeaker(t, "127.0.0.4")
	a.start(t, pairConfig(a, b, 65001, 65002, "10.0.0.1"))
	b.start(t, pairConfig(b, a, 65002, 65001, "10.0.0.2"))
	eventually(t, 15*time.Second, "both Established", func() bool {
		return a.peer.Status().State == Established && b.peer.Status().State == Established
	})
	// Whichever connection survives (§6.8 itself is checked against FRR in
	// interop, where the order can be forced), both sides must converge on
	// the same one. A session may come up and be dumped once on the way:
	// when A sees B's KEEPALIVE on one connection before B's OPEN on the
	// other, A keeps its Established connection ("Established wins", §6.8)
	// while B, still in OpenConfirm, dumps it by the identifier rule; A
	// then follows on the other connection. Such a down must be a Cease /
	// Connection Collision Resolution, never an error.
	eventually(t, 15*time.Second, "both sides on the same connection", func() bool {
		sa, sb := a.peer.Status().Session, b.peer.Status().Session
		return sa != nil && sb != nil && sa.LocalAddr == sb.RemoteAddr && sa.RemoteAddr == sb.LocalAddr
	})
	for name, r := range map[string]*recorder{"A": a.rec, "B": b.rec} {
		_, downs, _ := r.snapshot()
		for _, d := range downs {
			if !strings.Contains(d, "Connection Collision Resolution") {
				t.Errorf("%s: a session went down for another reason than the collision: %s", name, d)
			}
		}
	}
	a.peer.Stop(0, false)
	b.peer.Stop(0, false)
	a.ln.Close()
	b.ln.Close()
	checkNoLeak(t, before)
}

// rawPeer accepts one connection from a godwit peer and lets a test script
// the other side.
type rawPeer struct {
	ln net.Listener
	c  net.Conn
	rd *transport.Reader
}

func newRawPeer(t *testing.T, addr string) *rawPeer {
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &rawPeer{ln: ln}
}

func (r *rawPeer) addrPort() netip.AddrPort { return r.ln.Addr().(*net.TCPAddr).AddrPort() }

func (r *rawPeer) accept(t *testing.T) {
	t.Helper()
	r.ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := r.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	r.rd = transport.NewReader(c)
	t.Cleanup(func() { c.Close() })
}

func (r *rawPeer) read(t *testing.T) wire.Message {
	t.Helper()
	r.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, msg, err := r.rd.ReadMessage()
	if err != nil {
		t.Fatalf("raw peer read: %v", err)
	}
	m, err := wire.Decode(msg, wire.Permissive())
	if err != nil {
		t.Fatalf("raw peer decode: %v", err)
	}
	return m
}

func (r *rawPeer) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := r.c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// handshake plays the peer's part up to Established.
func (r *rawPeer) handshake(t *testing.T, as uint32, hold uint16, id string) {
	t.Helper()
	if _, ok := r.read(t).(*wire.Open); !ok {
		t.Fatal("first message is not an OPEN")
	}
	o := wire.NewOpen(as, hold, netip.MustParseAddr(id), wire.CapFourOctetAS{AS: as}, wire.CapMultiprotocol{Family: nlri.IPv4Unicast})
	r.send(t, o.AppendTo(nil, wire.Options{}))
	r.send(t, wire.Keepalive{}.AppendTo(nil, wire.Options{}))
	if _, ok := r.read(t).(wire.Keepalive); !ok {
		t.Fatal("no KEEPALIVE after OPEN")
	}
}

func (r *rawPeer) expectNotification(t *testing.T, code iana.NotifCode, sub uint8) *wire.Notification {
	t.Helper()
	for {
		m := r.read(t)
		if n, ok := m.(*wire.Notification); ok {
			if n.Code != code || n.Subcode != sub {
				t.Fatalf("NOTIFICATION %s, want %s / %s", n, code, iana.SubcodeString(code, sub))
			}
			return n
		}
	}
}

func rawConfig(r *rawPeer, peerAS uint32) Config {
	return Config{
		LocalAS: 65001, PeerAS: peerAS, RouterID: netip.MustParseAddr("192.0.2.1"),
		Remote: r.addrPort(), HoldTime: 90 * time.Second, ConnectRetryTime: 5 * time.Second,
		IdleHoldTime: 20 * time.Millisecond,
	}
}

func TestBadPeerAS(t *testing.T) {
	r := newRawPeer(t, "127.0.0.5")
	p := New(rawConfig(r, 65099), Options{})
	p.Start(context.Background())
	defer p.Stop(0, false)
	r.accept(t)
	r.read(t)
	r.send(t, wire.NewOpen(65002, 90, netip.MustParseAddr("192.0.2.2"), wire.CapFourOctetAS{AS: 65002}).AppendTo(nil, wire.Options{}))
	r.expectNotification(t, iana.NotifOpenMessage, uint8(iana.OpenBadPeerAS))
	eventually(t, 5*time.Second, "status names the problem", func() bool {
		return strings.Contains(p.Status().LastError, "configured peerASN is 65099")
	})
}

func TestGarbageAfterOpen(t *testing.T) {
	r := newRawPeer(t, "127.0.0.6")
	rec := &recorder{}
	p := New(rawConfig(r, 65002), Options{Handler: rec})
	p.Start(context.Background())
	defer p.Stop(0, false)
	r.accept(t)
	r.handshake(t, 65002, 90, "192.0.2.2")
	eventually(t, 5*time.Second, "Established", func() bool { return p.Status().State == Established })
	r.send(t, []byte("this is not a BGP message at all, just garbage"))
	r.expectNotification(t, iana.NotifMessageHeader, uint8(iana.HeaderConnectionNotSynchronized))
	eventually(t, 5*time.Second, "SessionDown", func() bool { _, d, _ := rec.snapshot(); return len(d) == 1 })
}

func TestHoldTimerExpires(t *testing.T) {
	r := newRawPeer(t, "127.0.0.7")
	p := New(rawConfig(r, 65002), Options{})
	p.Start(context.Background())
	defer p.Stop(0, false)
	r.accept(t)
	r.handshake(t, 65002, 3, "192.0.2.2")
	// Say nothing more: after 3 s the hold timer expires.
	r.expectNotification(t, iana.NotifHoldTimerExpired, 0)
	if !strings.Contains(p.Status().LastError, "hold timer expired") {
		t.Errorf("LastError %q", p.Status().LastError)
	}
}

func TestMalformedUpdateTreatAsWithdraw(t *testing.T) {
	r := newRawPeer(t, "127.0.0.8")
	rec := &recorder{}
	p := New(rawConfig(r, 65002), Options{Handler: rec})
	p.Start(context.Background())
	defer p.Stop(0, false)
	r.accept(t)
	r.handshake(t, 65002, 90, "192.0.2.2")
	// ORIGIN with value 7 (RFC 7606 §7.1: treat-as-withdraw): the session
	// stays up and the handler is told.
	bad := buildUpdateAttrs(t, []attr.Attr{&attr.Unknown{F: attr.FlagTransitive, C: iana.AttrOrigin, Value: []byte{7}}}, "192.0.2.0/24")
	r.send(t, bad)
	r.send(t, wire.Keepalive{}.AppendTo(nil, wire.Options{}))
	eventually(t, 5*time.Second, "fault counted", func() bool {
		return p.Status().Faults[2] == 1 // fault.TreatAsWithdraw
	})
	if st := p.Status(); st.State != Established {
		t.Fatalf("state %v after a treat-as-withdraw UPDATE", st.State)
	}
}

func buildUpdate(t *testing.T, opt wire.Options, prefixes ...string) []byte {
	t.Helper()
	return buildUpdateAttrsOpt(t, opt, attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("127.0.0.1")},
	}, prefixes...)
}

func buildUpdateAttrs(t *testing.T, attrs []attr.Attr, prefixes ...string) []byte {
	t.Helper()
	l := attr.List{
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65002}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("127.0.0.8")},
	}
	return buildUpdateAttrsOpt(t, wire.Options{AS4: true}, append(attr.List(attrs), l...), prefixes...)
}

func buildUpdateAttrsOpt(t *testing.T, opt wire.Options, attrs attr.List, prefixes ...string) []byte {
	t.Helper()
	var ann []nlri.NLRI
	for _, p := range prefixes {
		ann = append(ann, nlri.Prefix{Prefix: netip.MustParsePrefix(p)})
	}
	u, err := wire.NewUpdate(attrs, nil, ann, opt)
	if err != nil {
		t.Fatal(err)
	}
	return u.AppendTo(nil, opt)
}
