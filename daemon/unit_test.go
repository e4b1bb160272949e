package daemon

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// One test per step of better, each with two paths that differ in that
// step only.
func TestBestStepLocalPref(t *testing.T) {
	a := route("10.0.0.1", 200, 3)
	b := route("10.0.0.2", 100, 1)
	checkBetter(t, a, b)
}

func TestBestStepASPathLength(t *testing.T) {
	a := route("10.0.0.2", 100, 1)
	b := route("10.0.0.1", 100, 2)
	checkBetter(t, a, b)
}

func TestBestStepPeerAddress(t *testing.T) {
	a := route("10.0.0.1", 100, 1)
	b := route("10.0.0.2", 100, 1)
	checkBetter(t, a, b)
	local := route("", 100, 1)
	checkBetter(t, local, a)
}

func route(peerAddr string, lp uint32, pathLen int) Route {
	r := Route{Family: nlri.IPv4Unicast, Prefix: mustPrefix("192.0.2.0/24"), Text: "192.0.2.0/24",
		Attrs: attr.List{&attr.LocalPref{Value: lp}}}
	if peerAddr != "" {
		r.Peer = mustAddr(peerAddr)
	}
	seg := attr.Segment{Type: iana.SegmentASSequence}
	for i := range pathLen {
		seg.ASNs = append(seg.ASNs, uint32(65000+i))
	}
	r.ASPath = &attr.ASPath{Segments: []attr.Segment{seg}}
	return r
}

func checkBetter(t *testing.T, a, b Route) {
	t.Helper()
	if better(&a, &b) >= 0 || better(&b, &a) <= 0 {
		t.Errorf("better(%v, %v) = %d, want a better", a.Peer, b.Peer, better(&a, &b))
	}
	rs := []Route{b, a}
	(&Daemon{}).markBest(rs, RouteQuery{})
	if !rs[0].Best || rs[1].Best || rs[0].Peer != a.Peer {
		t.Errorf("markBest chose %v", rs)
	}
}

func TestSessionTTL(t *testing.T) {
	for _, tc := range []struct {
		name        string
		spec        config.BGPPeerSpec
		ttl, minTTL int
	}{
		{"ebgp directly connected", config.BGPPeerSpec{PeerASN: 65002}, 1, 0},
		{"ibgp", config.BGPPeerSpec{PeerASN: 65001}, 255, 0},
		{"ebgp multihop", config.BGPPeerSpec{PeerASN: 65002, EBGPMultihop: 3}, 3, 0},
		{"gtsm one hop", config.BGPPeerSpec{PeerASN: 65002, TTLSecurity: 1}, 255, 255},
		{"gtsm three hops", config.BGPPeerSpec{PeerASN: 65001, TTLSecurity: 3}, 255, 253},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ttl, minTTL := sessionTTL(&tc.spec, 65001)
			if ttl != tc.ttl || minTTL != tc.minTTL {
				t.Errorf("sessionTTL = %d, %d; want %d, %d", ttl, minTTL, tc.ttl, tc.minTTL)
			}
		})
	}
}

func TestPeerConfig(t *testing.T) {
	hold := 30
	g := &config.BGPConfigurationSpec{ASNumber: 65001, RouterID: mustAddr("10.0.0.1"),
		GracefulRestart: &config.GracefulRestart{Enabled: true, RestartTime: 90}}
	spec := &config.BGPPeerSpec{PeerAddress: mustAddr("192.0.2.2"), PeerASN: 65002, LocalASN: 65010,
		LocalAddress: mustAddr("192.0.2.1"), HoldTime: &hold, Passive: true, Password: "s3cret",
		Families: []config.Family{config.IPv4Unicast, config.L2VPNEVPN}, Description: "tor",
		AddPath: &config.AddPath{Receive: []config.Family{config.IPv4Unicast}}}
	c, err := peerConfig(spec, g, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := peer.Config{
		Key: peer.Key{Addr: mustAddr("192.0.2.2")}, Description: "tor", LocalAS: 65010, PeerAS: 65002,
		RouterID: mustAddr("10.0.0.1"), Remote: netip.MustParseAddrPort("192.0.2.2:179"), Local: mustAddr("192.0.2.1"),
		Password: "s3cret", TTL: 1, Passive: true, HoldTime: 30 * time.Second, KeepaliveTime: 10 * time.Second,
		ConnectRetryTime: 120 * time.Second, Families: []nlri.Family{nlri.IPv4Unicast, nlri.L2VPNEVPN},
		AddPathReceive:  []nlri.Family{nlri.IPv4Unicast},
		GracefulRestart: &peer.GracefulRestart{Enabled: true, RestartTime: 90 * time.Second},
	}
	if diff := cmp.Diff(want, c, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})); diff != "" {
		t.Errorf("peerConfig (-want +got):\n%s", diff)
	}
	// Without gracefulRestart the capability is still sent (helper role).
	g.GracefulRestart = nil
	c, _ = peerConfig(spec, g, &Options{PeerPort: 1179})
	if c.GracefulRestart == nil || c.GracefulRestart.Enabled || c.Remote.Port() != 1179 {
		t.Errorf("graceful restart %+v, remote %s", c.GracefulRestart, c.Remote)
	}
	if s := listenSecurity(&c); s != (transport.PeerSecurity{Password: "s3cret", TTL: 1}) {
		t.Errorf("listen security %+v", s)
	}
}

func TestSplitMessages(t *testing.T) {
	pk := wire.NewPacker(wire.Options{AS4: true})
	pk.SetAttrs(attr.List{&attr.Origin{}, &attr.ASPath{}, &attr.NextHop{Addr: mustAddr("192.0.2.1")}})
	for i := range 2000 {
		if err := pk.Announce(nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}); err != nil {
			t.Fatal(err)
		}
	}
	pk.EndOfRIB(nlri.IPv4Unicast)
	msgs := splitMessages(pk.Bytes())
	if len(msgs) != pk.Messages() || len(msgs) < 3 {
		t.Fatalf("%d messages, packer says %d", len(msgs), pk.Messages())
	}
	n := 0
	for _, m := range msgs {
		u, err := wire.DecodeUpdate(m[wire.HeaderLen:], wire.Options{AS4: true})
		if err != nil {
			t.Fatal(err)
		}
		for range u.Reach() {
			n++
		}
	}
	if n != 2000 {
		t.Errorf("%d prefixes in the split messages, want 2000", n)
	}
}

// testNeighbor is a neighbour with only what its Adj-RIB-In needs.
func testNeighbor() *neighbor {
	d := &Daemon{log: slog.New(slog.DiscardHandler), subs: map[chan struct{}]struct{}{}}
	n := &neighbor{d: d, log: d.log, key: peer.Key{Addr: mustAddr("192.0.2.2")}}
	n.in.init(n)
	return n
}

func testSession(gr bool) *peer.Session {
	neg := &peer.Negotiated{PeerAS: 65002, AS4: true, Receive: wire.Options{AS4: true},
		Families: []nlri.Family{nlri.IPv4Unicast, nlri.IPv6Unicast}}
	if gr {
		neg.GracefulRestart = &wire.CapGracefulRestart{Time: 60, Notification: true}
	}
	return &peer.Session{LocalAS: 65001, Negotiated: neg}
}

// update encodes and decodes an UPDATE, as the reader hands it up.
func update(t *testing.T, attrs attr.List, withdraw, announce []string) *wire.Update {
	t.Helper()
	var w, a []nlri.NLRI
	for _, p := range withdraw {
		w = append(w, nlri.Prefix{Prefix: mustPrefix(p)})
	}
	for _, p := range announce {
		a = append(a, nlri.Prefix{Prefix: mustPrefix(p)})
	}
	u, err := wire.NewUpdate(attrs, w, a, wire.Options{AS4: true})
	if err != nil {
		t.Fatal(err)
	}
	b := u.AppendTo(nil, wire.Options{AS4: true})
	d, err := wire.DecodeUpdate(b[wire.HeaderLen:], wire.Options{AS4: true})
	if f := fault.As(err); err != nil && (f == nil || f.Action == fault.SessionReset) {
		t.Fatal(err)
	}
	return d
}

func basicAttrs(nh string, asns ...uint32) attr.List {
	return attr.List{&attr.Origin{}, &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}},
		&attr.NextHop{Addr: mustAddr(nh)}}
}

func table(n *neighbor) []string {
	var out []string
	n.in.each(func(k ribKey, p path) {
		s := ""
		if p.stale {
			s = " stale"
		}
		out = append(out, fmt.Sprintf("%s via %s [%s]%s", k.pfx, p.attrs.nextHop, p.attrs.asPath, s))
	})
	slices.Sort(out)
	return out
}

func TestAdjRIBIn(t *testing.T) {
	n := testNeighbor()
	s := testSession(true)
	n.in.sessionUp(s)
	n.in.update(s, []*wire.Update{
		update(t, basicAttrs("192.0.2.2", 65002), nil, []string{"10.0.0.0/24", "10.0.1.0/24"}),
		update(t, basicAttrs("192.0.2.2", 65002, 65010), nil, []string{"10.0.2.0/24"}),
	})
	check := func(what string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, table(n)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	check("after two UPDATEs",
		"10.0.0.0/24 via 192.0.2.2 [65002]", "10.0.1.0/24 via 192.0.2.2 [65002]", "10.0.2.0/24 via 192.0.2.2 [65002 65010]")

	// Implicit withdrawal: the same prefix with new attributes replaces.
	n.in.update(s, []*wire.Update{update(t, basicAttrs("192.0.2.3", 65002, 65020), nil, []string{"10.0.0.0/24"})})
	check("after an implicit withdrawal",
		"10.0.0.0/24 via 192.0.2.3 [65002 65020]", "10.0.1.0/24 via 192.0.2.2 [65002]", "10.0.2.0/24 via 192.0.2.2 [65002 65010]")

	// Withdrawal.
	n.in.update(s, []*wire.Update{update(t, nil, []string{"10.0.1.0/24"}, nil)})
	check("after a withdrawal", "10.0.0.0/24 via 192.0.2.3 [65002 65020]", "10.0.2.0/24 via 192.0.2.2 [65002 65010]")

	// Treat-as-withdraw: an UPDATE without ORIGIN withdraws what it
	// announces (RFC 7606 §3 d).
	noOrigin := attr.List{&attr.ASPath{}, &attr.NextHop{Addr: mustAddr("192.0.2.2")}}
	u := update(t, noOrigin, nil, []string{"10.0.2.0/24", "10.0.3.0/24"})
	if u.Action() != fault.TreatAsWithdraw {
		t.Fatalf("UPDATE without ORIGIN: action %s", u.Action())
	}
	n.in.update(s, []*wire.Update{u})
	check("after treat-as-withdraw", "10.0.0.0/24 via 192.0.2.3 [65002 65020]")
	counts, acc, withdrawn := n.in.counts()
	if counts[nlri.IPv4Unicast] != 1 || acc[nlri.IPv4Unicast] != 1 || withdrawn != 3 {
		t.Errorf("counts %v, accepted %v, %d withdrawn; want 1 IPv4 path, 3 withdrawn", counts, acc, withdrawn)
	}

	// A path with our own AS in its AS_PATH is kept but not accepted
	// (RFC 4271 §9.1.2), and listed only as received, filtered.
	n.in.update(s, []*wire.Update{update(t, basicAttrs("192.0.2.2", 65002, 65001), nil, []string{"10.0.4.0/24"})})
	counts, acc, _ = n.in.counts()
	if counts[nlri.IPv4Unicast] != 2 || acc[nlri.IPv4Unicast] != 1 {
		t.Errorf("after a looped path: counts %v, accepted %v; want 2 and 1", counts, acc)
	}
	all := func(nlri.Family, netip.Prefix, string) bool { return true }
	if got := n.receivedRoutes(all, false); len(got) != 1 {
		t.Errorf("accepted paths %v, want 1", routeTexts(got))
	}
	if got := n.receivedRoutes(all, true); len(got) != 2 || !slices.ContainsFunc(got, func(r Route) bool { return r.Filtered }) {
		t.Errorf("received paths %v, want 2, one filtered", routeTexts(got))
	}
	n.in.update(s, []*wire.Update{update(t, nil, []string{"10.0.4.0/24"}, nil)})
	counts, acc, _ = n.in.counts()
	if counts[nlri.IPv4Unicast] != 1 || acc[nlri.IPv4Unicast] != 1 {
		t.Errorf("after withdrawing the looped path: counts %v, accepted %v", counts, acc)
	}

	// A graceful session end keeps the paths as stale; the new session's
	// End-of-RIB removes those it did not send again.
	n.in.update(s, []*wire.Update{update(t, basicAttrs("192.0.2.2", 65002), nil, []string{"10.0.5.0/24"})})
	n.in.sessionDown(s, true)
	check("after a graceful session end", "10.0.0.0/24 via 192.0.2.3 [65002 65020] stale", "10.0.5.0/24 via 192.0.2.2 [65002] stale")
	s2 := testSession(true)
	n.in.sessionUp(s2)
	n.in.update(s2, []*wire.Update{update(t, basicAttrs("192.0.2.2", 65002), nil, []string{"10.0.5.0/24"})})
	check("after the restart, before End-of-RIB", "10.0.0.0/24 via 192.0.2.3 [65002 65020] stale", "10.0.5.0/24 via 192.0.2.2 [65002]")
	n.in.update(s2, []*wire.Update{wire.NewEndOfRIB(nlri.IPv4Unicast)})
	check("after End-of-RIB", "10.0.5.0/24 via 192.0.2.2 [65002]")

	// A peer that comes back without graceful restart loses its stale paths.
	n.in.sessionDown(s2, true)
	n.in.sessionUp(testSession(false))
	check("after a restart without graceful restart")

	// A hard end flushes.
	n.in.update(s2, []*wire.Update{update(t, basicAttrs("192.0.2.2", 65002), nil, []string{"10.0.6.0/24"})})
	n.in.sessionDown(s2, false)
	check("after a hard end")
}

// The stale timer flushes what the peer did not renew in its restart time.
func TestAdjRIBInStaleTimer(t *testing.T) {
	n := testNeighbor()
	s := testSession(true)
	s.Negotiated.GracefulRestart.Time = 1
	n.in.update(s, []*wire.Update{update(t, basicAttrs("192.0.2.2", 65002), nil, []string{"10.0.0.0/24"})})
	n.in.sessionDown(s, true)
	if len(table(n)) != 1 {
		t.Fatal("no stale path")
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		return len(table(n)) == 0, fmt.Sprint(table(n))
	})
}

func TestSetGCDefaults(t *testing.T) {
	// The environment wins: nothing is changed.
	s := SetGCDefaults(func(string) string { return "set" })
	if s.GCPercent != -1 || s.MemoryLimit != 0 {
		t.Errorf("with GOGC and GOMEMLIMIT set: %+v", s)
	}
	if avail, src := availableMemory(); avail <= 0 || src == "" {
		t.Errorf("available memory %d from %q", avail, src)
	}
}
