package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/godwit-bgp/godwit/fib/fake"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Two speakers, A (AS 65001, host 1) and B (AS 65002, host 2), eBGP over
// loopback, both families on one IPv4 session.
const configA = `
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65001, routerID: 10.0.0.1, listenAddresses: ["{{A1}}:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: b}
spec: {peerAddress: {{A2}}, peerASN: 65002, localAddress: {{A1}}, description: first, families: [ipv4-unicast, ipv6-unicast]}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: pods}
spec: {prefixes: [10.1.0.0/24, 10.1.1.0/24, "2001:db8:1::/48"], communities: ["65001:7"], largeCommunities: ["65001:1:2"], med: 20}
`

const configB = `
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65002, routerID: 10.0.0.2, listenAddresses: ["{{A2}}:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: a}
spec: {peerAddress: {{A1}}, peerASN: 65001, localAddress: {{A2}}, families: [ipv4-unicast, ipv6-unicast]}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: services}
spec: {prefixes: [10.2.0.0/16]}
`

func TestAnnouncementsReachThePeer(t *testing.T) {
	l := newLab(t)
	a := l.start("a", configA)
	b := l.start("b", configB)
	a.waitState(l.ip(2), peer.Established)
	b.waitState(l.ip(1), peer.Established)
	if got := a.d.ListenAddrs(); len(got) != 1 || got[0].String() != fmt.Sprintf("%s:%d", l.addr(1), l.port) {
		t.Errorf("A listens on %v", got)
	}

	want := []string{
		fmt.Sprintf("10.1.0.0/24 via %s path [65001] from %s best", l.addr(1), l.addr(1)),
		fmt.Sprintf("10.1.1.0/24 via %s path [65001] from %s best", l.addr(1), l.addr(1)),
		"10.2.0.0/16 via 0.0.0.0 path [] from local best",
		fmt.Sprintf("2001:db8:1::/48 via ::ffff:%s path [65001] from %s best", l.addr(1), l.addr(1)),
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		got := routeTexts(b.routes(RouteQuery{}))
		return slices.Equal(got, want), cmp.Diff(want, got)
	})
	// The attributes of the Announcement travel with the route.
	r := b.routes(RouteQuery{Prefix: mustPrefix("10.1.0.0/24")})[0]
	med, _ := r.Attrs.MED()
	comm, _ := r.Attrs.Communities()
	large, _ := r.Attrs.LargeCommunities()
	if med == nil || med.Value != 20 || comm == nil || !slices.Equal(comm.Strings(), []string{"65001:7"}) ||
		large == nil || len(large.Values) != 1 || large.Values[0].String() != "65001:1:2" {
		t.Errorf("B's path for 10.1.0.0/24 has MED %v, communities %v, large %v; want 20, 65001:7, 65001:1:2", med, comm, large)
	}
	if _, ok := r.Attrs.LocalPref(); ok {
		t.Errorf("LOCAL_PREF sent over eBGP")
	}
	nb := b.neighbor(l.ip(1))
	if got := nb.Prefixes; len(got) != 2 || got[0].Received != 2 || got[1].Received != 1 || got[0].Accepted != 2 {
		t.Errorf("B's prefix counts for A = %+v, want 2 IPv4 and 1 IPv6 received and accepted", got)
	}
	na := a.neighbor(l.ip(2))
	if got := na.Prefixes; len(got) != 2 || got[0].Advertised != 2 || got[1].Advertised != 1 {
		t.Errorf("A's advertised counts for B = %+v, want 2 IPv4 and 1 IPv6", got)
	}
	// What A sent B, as sent: our AS, our address as next hop.
	adv := routeTexts(a.routes(RouteQuery{Peer: l.ip(2), Advertised: true, Family: nlri.IPv4Unicast}))
	wantAdv := []string{
		fmt.Sprintf("10.1.0.0/24 via %s path [65001] from local best", l.addr(1)),
		fmt.Sprintf("10.1.1.0/24 via %s path [65001] from local best", l.addr(1)),
	}
	if diff := cmp.Diff(wantAdv, adv); diff != "" {
		t.Errorf("A's Adj-RIB-Out for B (-want +got):\n%s", diff)
	}

	// Withdraw one prefix, change the attributes of the others, add one:
	// B sees exactly that, and the session stays up.
	since := nb.Status.Since
	err := a.reload(l, strings.Replace(configA, `prefixes: [10.1.0.0/24, 10.1.1.0/24, "2001:db8:1::/48"], communities: ["65001:7"]`,
		`prefixes: [10.1.1.0/24, 10.1.2.0/24], communities: ["65001:8"]`, 1))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		fmt.Sprintf("10.1.1.0/24 via %s path [65001] from %s best", l.addr(1), l.addr(1)),
		fmt.Sprintf("10.1.2.0/24 via %s path [65001] from %s best", l.addr(1), l.addr(1)),
		"10.2.0.0/16 via 0.0.0.0 path [] from local best",
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		got := routeTexts(b.routes(RouteQuery{}))
		return slices.Equal(got, want), cmp.Diff(want, got)
	})
	eventually(t, 10*time.Second, func() (bool, string) {
		c, _ := b.routes(RouteQuery{Prefix: mustPrefix("10.1.1.0/24")})[0].Attrs.Communities()
		return c != nil && c.Strings()[0] == "65001:8", fmt.Sprintf("communities %v", c)
	})
	if n := b.neighbor(l.ip(1)); n.Status.Since != since || n.EstablishedCount != 1 {
		t.Errorf("B's session with A was reset by an Announcement change (since %v -> %v, established %d times)",
			since, n.Status.Since, n.EstablishedCount)
	}
	if n := b.neighbor(l.ip(1)); n.PrefixesWithdrawn < 2 {
		t.Errorf("B counted %d withdrawals, want at least 2", n.PrefixesWithdrawn)
	}

	// Longest match and best-only.
	got := routeTexts(b.routes(RouteQuery{Addr: mustAddr("10.1.2.7")}))
	if len(got) != 1 || !strings.HasPrefix(got[0], "10.1.2.0/24 ") {
		t.Errorf("longest match for 10.1.2.7 = %q", got)
	}
	if got := b.routes(RouteQuery{Addr: mustAddr("192.0.2.1")}); len(got) != 0 {
		t.Errorf("longest match for 192.0.2.1 = %v, want none", routeTexts(got))
	}
	if _, err := b.d.Routes(RouteQuery{Peer: l.ip(9)}); !errors.Is(err, ErrNoNeighbor) {
		t.Errorf("routes of an unknown peer: err %v, want ErrNoNeighbor", err)
	}
}

// A reload adds, changes and removes peers; the sessions it does not
// concern keep going, and a new description does not reset a session.
func TestReloadPeers(t *testing.T) {
	l := newLab(t)
	hub := `
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65001, routerID: 10.0.0.1, listenAddresses: ["{{A1}}:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: b}
spec: {peerAddress: {{A2}}, peerASN: 65002, localAddress: {{A1}}, description: before, maxPrefixes: 100}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: c}
spec: {peerAddress: {{A3}}, peerASN: 65003, localAddress: {{A1}}}
`
	spoke := func(as, host int) string {
		return fmt.Sprintf(`
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: %d, routerID: 10.0.0.%d, listenAddresses: ["{{A%d}}:{{PORT}}"], connectRetryTime: 2, holdTime: 9}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: hub}
spec: {peerAddress: {{A1}}, peerASN: 65001, localAddress: {{A%d}}}
`, as, host, host, host)
	}
	a := l.start("hub", hub)
	b := l.start("b", spoke(65002, 2))
	c := l.start("c", spoke(65003, 3))
	d := l.start("d", spoke(65004, 4))
	nb := a.waitState(l.ip(2), peer.Established)
	a.waitState(l.ip(3), peer.Established)

	// Description and prefix limit change, c goes, d comes.
	next := strings.Replace(hub, "description: before, maxPrefixes: 100", "description: after, maxPrefixes: 200", 1)
	next = strings.Replace(next, "name: c}\nspec: {peerAddress: {{A3}}, peerASN: 65003", "name: d}\nspec: {peerAddress: {{A4}}, peerASN: 65004", 1)
	if err := a.reload(l, next); err != nil {
		t.Fatal(err)
	}
	a.waitState(l.ip(4), peer.Established)
	d.waitState(l.ip(1), peer.Established)
	// c was told it is de-configured: Cease / Peer De-configured, in a
	// Hard Reset since both sides announced the N bit (RFC 8538 §4).
	eventually(t, 10*time.Second, func() (bool, string) {
		n := c.neighbor(l.ip(1))
		r := n.Status.LastReceived
		if r == nil {
			return false, "c received no NOTIFICATION"
		}
		w := wire.Notification{Code: r.Code, Subcode: r.Subcode, Data: r.Data}
		code, sub, _, ok := w.HardResetInner()
		return ok && code == iana.NotifCease && sub == uint8(iana.CeasePeerDeconfigured), "c received " + w.String()
	})
	if _, err := a.d.Neighbor(l.ip(3)); !errors.Is(err, ErrNoNeighbor) {
		t.Errorf("c is still a neighbour of the hub: %v", err)
	}
	n := a.neighbor(l.ip(2))
	if n.Status.State != peer.Established || n.Status.Since != nb.Status.Since || n.EstablishedCount != 1 || n.Description != "after" {
		t.Errorf("b after the reload: %s since %v (was %v), established %d times, description %q; want the same session, described \"after\"",
			n.Status.State, n.Status.Since, nb.Status.Since, n.EstablishedCount, n.Description)
	}
	if st := b.neighbor(l.ip(1)).Status; st.LastReceived != nil {
		t.Errorf("b received a NOTIFICATION: %+v", st.LastReceived)
	}

	// A new hold time changes the OPEN: that session alone is reset.
	nd := a.neighbor(l.ip(4))
	next = strings.Replace(next, "peerASN: 65004,", "peerASN: 65004, holdTime: 12,", 1)
	if err := a.reload(l, next); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		n := a.neighbor(l.ip(4))
		return n.EstablishedCount == 2 && n.Status.State == peer.Established && n.Status.Session.Negotiated.HoldTime == 9*time.Second,
			fmt.Sprintf("d: %s, established %d times", n.Status.State, n.EstablishedCount)
	})
	// The reset's NOTIFICATION; a connection collision when both sides
	// dial again may follow it (and be the last one received), so the
	// count of what d received is what tells.
	want := fmt.Sprintf(`direction="received",subcode=%q`, iana.SubcodeString(iana.NotifCease, uint8(iana.CeaseOtherConfigurationChange)))
	eventually(t, 10*time.Second, func() (bool, string) {
		for _, line := range strings.Split(gatherText(t, d), "\n") {
			if strings.HasPrefix(line, "godwit_bgp_notifications_total") && strings.Contains(line, want) {
				return true, ""
			}
		}
		return false, "d counted no Cease / Other Configuration Change received"
	})
	if n := a.neighbor(l.ip(2)); n.Status.Since != nb.Status.Since {
		t.Errorf("b's session was reset by d's change")
	}
	if n := a.neighbor(l.ip(4)); n.HoldTime != 12*time.Second || nd.HoldTime != 9*time.Second {
		t.Errorf("configured hold time %s (was %s), want 12s (was 9s)", n.HoldTime, nd.HoldTime)
	}
}

// A bad file at reload changes nothing and says why.
func TestBadReloadKeepsConfig(t *testing.T) {
	l := newLab(t)
	a := l.start("a", configA)
	b := l.start("b", configB)
	na := a.waitState(l.ip(2), peer.Established)
	b.waitState(l.ip(1), peer.Established)

	bad := strings.Replace(configA, "peerASN: 65002", "peerASN: 0", 1)
	err := a.reload(l, bad)
	if err == nil {
		t.Fatal("a bad file reloaded without error")
	}
	cs, err2 := a.d.ConfigState(t.Context())
	if err2 != nil {
		t.Fatal(err2)
	}
	if cs.OK || cs.Generation != 1 || len(cs.Errors) != 1 {
		t.Fatalf("config state after a bad reload: %+v, want not OK, generation 1, one error", cs)
	}
	for _, want := range []string{a.path, `document 2 (BGPPeer "b")`, "spec.peerASN", "must be 1..4294967295, got 0"} {
		if !strings.Contains(cs.Errors[0], want) {
			t.Errorf("error %q does not name %q", cs.Errors[0], want)
		}
	}
	if diff := cmp.Diff([]KindCount{{config.KindBGPConfiguration, 1}, {config.KindAnnouncement, 1}, {config.KindBGPPeer, 1}}, cs.Resources); diff != "" {
		t.Errorf("resources in force (-want +got):\n%s", diff)
	}
	n := a.neighbor(l.ip(2))
	if n.PeerAS != 65002 || n.Status.State != peer.Established || n.Status.Since != na.Status.Since {
		t.Errorf("after a bad reload the neighbour is AS %d, %s since %v; want AS 65002, the same session", n.PeerAS, n.Status.State, n.Status.Since)
	}
	// The error is also on the BGPConfiguration's status.
	g, err := a.d.store.Get(t.Context(), config.KindBGPConfiguration, "default")
	if err != nil {
		t.Fatal(err)
	}
	if c := g.Status.Condition(config.ConditionConfigLoaded); c == nil || c.Status != config.ConditionFalse {
		t.Errorf("ConfigLoaded condition = %+v, want False", c)
	}
	// Fixing the file brings the status back.
	if err := a.reload(l, configA); err != nil {
		t.Fatal(err)
	}
	if cs, _ := a.d.ConfigState(t.Context()); !cs.OK || cs.Generation != 2 || len(cs.Errors) != 0 {
		t.Errorf("config state after a good reload: %+v", cs)
	}
}

// A new router ID changes every OPEN: every session is reset.
func TestRouterIDChangeResetsSessions(t *testing.T) {
	l := newLab(t)
	a := l.start("a", configA)
	b := l.start("b", configB)
	a.waitState(l.ip(2), peer.Established)
	b.waitState(l.ip(1), peer.Established)
	if err := a.reload(l, strings.Replace(configA, "routerID: 10.0.0.1", "routerID: 10.0.0.11", 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		n := b.neighbor(l.ip(1))
		return n.Status.State == peer.Established && n.Status.Session.Negotiated.PeerID == mustAddr("10.0.0.11"),
			fmt.Sprintf("%s, established %d times", n.Status.State, n.EstablishedCount)
	})
	if got := a.d.Info().RouterID; got != mustAddr("10.0.0.11") {
		t.Errorf("router ID %s", got)
	}
}

// shutdown: true keeps a session down; false brings it up.
func TestConfiguredShutdown(t *testing.T) {
	l := newLab(t)
	a := l.start("a", strings.Replace(configA, "description: first", "description: first, shutdown: true", 1))
	b := l.start("b", configB)
	eventually(t, 10*time.Second, func() (bool, string) {
		n, err := a.d.Neighbor(l.ip(2))
		if err != nil {
			return false, err.Error()
		}
		return n.Status.State == peer.Idle && n.Status.AdminDown, fmt.Sprintf("%s, admin down %t", n.Status.State, n.Status.AdminDown)
	})
	time.Sleep(300 * time.Millisecond)
	if st := a.neighbor(l.ip(2)).Status.State; st != peer.Idle {
		t.Fatalf("a shut peer is %s", st)
	}
	if err := a.reload(l, configA); err != nil {
		t.Fatal(err)
	}
	a.waitState(l.ip(2), peer.Established)
	b.waitState(l.ip(1), peer.Established)
}

// Operator actions: shutdown with a message, enable, reset, refresh.
func TestNeighborActions(t *testing.T) {
	l := newLab(t)
	a := l.start("a", configA)
	b := l.start("b", configB)
	a.waitState(l.ip(2), peer.Established)
	b.waitState(l.ip(1), peer.Established)

	if err := b.d.RefreshIn(t.Context(), l.ip(1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		st := a.neighbor(l.ip(2)).Status
		return st.MessagesIn[iana.MsgRouteRefresh] == 2, fmt.Sprintf("A received %d ROUTE-REFRESH", st.MessagesIn[iana.MsgRouteRefresh])
	})
	updates := b.neighbor(l.ip(1)).Status.MessagesIn[iana.MsgUpdate]
	if err := a.d.RefreshOut(l.ip(2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		st := b.neighbor(l.ip(1)).Status
		return st.MessagesIn[iana.MsgUpdate] > updates, "no new UPDATE at B"
	})

	if err := a.d.ShutdownNeighbor(l.ip(2), "maintenance window"); err != nil {
		t.Fatal(err)
	}
	n := b.waitState(l.ip(1), peer.Active)
	_ = n
	eventually(t, 10*time.Second, func() (bool, string) {
		r := b.neighbor(l.ip(1)).Status.LastReceived
		return r != nil && r.Message == "maintenance window", fmt.Sprintf("B received %+v", r)
	})
	// Both sides announced the N bit, so A's Administrative Shutdown went
	// out as a Hard Reset (RFC 8538 §5) and B deleted A's routes rather
	// than keeping them as stale.
	if r := b.neighbor(l.ip(1)).Status.LastReceived; r.Subcode != uint8(iana.CeaseHardReset) {
		t.Errorf("B received Cease subcode %d, want Hard Reset", r.Subcode)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		rs := b.routes(RouteQuery{Peer: l.ip(1)})
		return len(rs) == 0, fmt.Sprintf("B still holds %v from A", routeTexts(rs))
	})
	if n := a.neighbor(l.ip(2)); !n.Status.AdminDown || n.Status.ShutdownMessage != "maintenance window" {
		t.Errorf("A's neighbour: %+v", n.Status)
	}
	if err := a.d.RefreshOut(l.ip(2)); !errors.Is(err, ErrNotEstablished) {
		t.Errorf("refresh-out on a down session: %v", err)
	}
	if err := a.d.EnableNeighbor(l.ip(2)); err != nil {
		t.Fatal(err)
	}
	a.waitState(l.ip(2), peer.Established)
	if err := a.d.ResetNeighbor(l.ip(2), "testing"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		n := a.neighbor(l.ip(2))
		return n.EstablishedCount == 3 && n.Status.State == peer.Established, fmt.Sprintf("%s, %d", n.Status.State, n.EstablishedCount)
	})
	if err := a.d.ResetNeighbor(l.ip(9), ""); !errors.Is(err, ErrNoNeighbor) {
		t.Errorf("reset of an unknown neighbour: %v", err)
	}
}

// Stopping for good sends a Hard Reset; an intended graceful restart
// (gracefulRestart enabled, Stop(false)) sends Cease / Administrative
// Reset without it, and the peer keeps our routes as stale (RFC 8538).
func TestStopNotifications(t *testing.T) {
	for _, tc := range []struct {
		name      string
		gr        bool
		hard      bool
		wantInner iana.CeaseSubcode // of a Hard Reset; 0: no Hard Reset
		wantSub   iana.CeaseSubcode
		stale     bool
	}{
		{name: "hard reset", gr: false, hard: false, wantInner: iana.CeaseAdministrativeShutdown, wantSub: iana.CeaseHardReset},
		{name: "graceful restart enabled but hard stop", gr: true, hard: true, wantInner: iana.CeaseAdministrativeShutdown, wantSub: iana.CeaseHardReset},
		{name: "graceful restart", gr: true, hard: false, wantSub: iana.CeaseAdministrativeReset, stale: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			cfg := configA
			if tc.gr {
				cfg = strings.Replace(cfg, "holdTime: 9}", "holdTime: 9, gracefulRestart: {enabled: true, restartTime: 60}}", 1)
			}
			a := l.start("a", cfg)
			b := l.start("b", configB)
			a.waitState(l.ip(2), peer.Established)
			b.waitState(l.ip(1), peer.Established)
			eventually(t, 10*time.Second, func() (bool, string) {
				n := len(b.routes(RouteQuery{Peer: l.ip(1)}))
				return n == 3, fmt.Sprintf("B has %d routes from A", n)
			})
			a.stop(tc.hard)
			eventually(t, 10*time.Second, func() (bool, string) {
				r := b.neighbor(l.ip(1)).Status.LastReceived
				if r == nil {
					return false, "nothing received"
				}
				w := wire.Notification{Code: r.Code, Subcode: r.Subcode, Data: r.Data}
				if r.Code != iana.NotifCease || r.Subcode != uint8(tc.wantSub) {
					return false, "B received " + w.String()
				}
				if tc.wantInner != 0 {
					_, sub, _, _ := w.HardResetInner()
					return sub == uint8(tc.wantInner), "B received " + w.String()
				}
				return true, ""
			})
			eventually(t, 5*time.Second, func() (bool, string) {
				rs := b.routes(RouteQuery{Peer: l.ip(1)})
				if !tc.stale {
					return len(rs) == 0, fmt.Sprintf("B still has %v", routeTexts(rs))
				}
				return len(rs) == 3 && rs[0].Stale, fmt.Sprintf("B has %d routes from A, want 3 stale", len(rs))
			})
			if !tc.stale {
				return
			}
			// A comes back announcing one prefix fewer: its End-of-RIB
			// sweeps the stale path it did not send again (RFC 4724 §4.2)
			// and refreshes the others.
			cfg = strings.Replace(cfg, `"2001:db8:1::/48"`, "", 1)
			cfg = strings.Replace(cfg, "10.1.1.0/24, ]", "10.1.1.0/24]", 1)
			a = l.start("a-again", cfg)
			eventually(t, 10*time.Second, func() (bool, string) {
				rs := b.routes(RouteQuery{Peer: l.ip(1)})
				return len(rs) == 2 && !rs[0].Stale && !rs[1].Stale, fmt.Sprintf("B has %q", routeTexts(rs))
			})
		})
	}
}

// Metrics: sessions by state, per-peer series that vanish with the peer.
func TestMetrics(t *testing.T) {
	l := newLab(t)
	a := l.start("a", configA)
	b := l.start("b", configB)
	a.waitState(l.ip(2), peer.Established)
	b.waitState(l.ip(1), peer.Established)
	eventually(t, 10*time.Second, func() (bool, string) {
		return len(a.routes(RouteQuery{Peer: l.ip(2)})) == 1, "A has not B's route yet"
	})
	text := gatherText(t, a)
	for _, want := range []string{
		`godwit_bgp_sessions{state="Established"} 1`,
		`godwit_bgp_sessions{state="Idle"} 0`,
		fmt.Sprintf(`godwit_bgp_prefixes_received{family="ipv4-unicast",peer="%s"} 1`, l.addr(2)),
		fmt.Sprintf(`godwit_bgp_prefixes_advertised{family="ipv6-unicast",peer="%s"} 1`, l.addr(2)),
		fmt.Sprintf(`godwit_bgp_messages_received_total{peer="%s",type="open"} 1`, l.addr(2)),
		`godwit_config_reloads_total{result="success"} 1`,
		`godwit_peer_state_transitions_total{from="OpenConfirm",to="Established"} 1`,
		`go_goroutines`,
		`godwit_table_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A bad reload is counted; removing the peer makes its series go, and
	// its NOTIFICATION is counted.
	if err := a.reload(l, strings.Replace(configA, "peerASN: 65002", "peerASN: 0", 1)); err == nil {
		t.Fatal("a bad file was accepted")
	}
	rm := configA[:strings.Index(configA, "---\napiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer")] +
		configA[strings.Index(configA, "---\napiVersion: bgp.godwit.dev/v1alpha1\nkind: Announcement"):]
	if err := a.reload(l, rm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		text := gatherText(t, a)
		return !strings.Contains(text, `peer="`+l.addr(2)+`"`) &&
				strings.Contains(text, `godwit_bgp_notifications_total{code="Cease",direction="sent",subcode="Hard Reset"} 1`) &&
				strings.Contains(text, `godwit_config_reloads_total{result="failure"} 1`),
			"metrics after removing the peer:\n" + grep(text, "godwit_")
	})
}

func gatherText(t *testing.T, s *speaker) string {
	t.Helper()
	mfs, err := s.d.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			v := 0.0
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			}
			l := ""
			if len(labels) > 0 {
				l = "{" + strings.Join(labels, ",") + "}"
			}
			fmt.Fprintf(&b, "%s%s %v\n", mf.GetName(), l, v)
		}
	}
	return b.String()
}

func grep(text, sub string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// Every goroutine of two peering daemons ends with Stop.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("run", func(t *testing.T) {
		l := newLab(t)
		a := l.start("a", configA)
		b := l.start("b", configB)
		a.waitState(l.ip(2), peer.Established)
		b.waitState(l.ip(1), peer.Established)
		eventually(t, 10*time.Second, func() (bool, string) {
			return len(b.routes(RouteQuery{Peer: l.ip(1)})) == 3, "routes"
		})
		ch, cancel := a.d.Subscribe()
		defer cancel()
		_ = ch
		a.stop(true)
		b.stop(true)
	})
	eventually(t, 10*time.Second, func() (bool, string) {
		n := runtime.NumGoroutine()
		if n <= before {
			return true, ""
		}
		buf := make([]byte, 1<<20)
		return false, fmt.Sprintf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	})
}

func TestNewRejectsBadFile(t *testing.T) {
	l := newLab(t)
	path := t.TempDir() + "/bad.yaml"
	s := &speaker{t: t, path: path}
	s.write(l.expand(strings.Replace(configA, "asNumber: 65001", "asNumber: nope", 1)))
	_, err := New(Options{Kernel: fake.NewReachable(), ConfigPath: path})
	if err == nil || !strings.Contains(err.Error(), "spec.asNumber") {
		t.Errorf("New with a bad file: %v", err)
	}
	if _, err := New(Options{Kernel: fake.NewReachable(), ConfigPath: t.TempDir() + "/missing.yaml"}); err == nil {
		t.Errorf("New with a missing file succeeded")
	}
}

// A listener that cannot open fails Run at start.
func TestRunFailsWhenListenFails(t *testing.T) {
	l := newLab(t)
	path := t.TempDir() + "/c.yaml"
	s := &speaker{t: t, path: path}
	s.write(l.expand(strings.Replace(configA, "{{A1}}:{{PORT}}", "192.0.2.250:{{PORT}}", 1)))
	d, err := New(Options{Kernel: fake.NewReachable(), ConfigPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "192.0.2.250") {
		t.Errorf("Run: %v, want a listen error", err)
	}

	// The pprof port taken: Run fails, and the metrics server it had
	// started goes away with it.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s.write(l.expand(configA))
	d, err = New(Options{Kernel: fake.NewReachable(), ConfigPath: path, MetricsAddr: "127.0.0.1:0", PprofAddr: busy.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "pprof listener") {
		t.Errorf("Run: %v, want a pprof listen error", err)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

// --metrics and --pprof: each on its own listener and mux.
func TestHTTPEndpoints(t *testing.T) {
	l := newLab(t)
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	metricsAddr, pprofAddr := free(), free()
	path := t.TempDir() + "/a.yaml"
	s := &speaker{t: t, path: path, done: make(chan error, 1)}
	s.write(l.expand(configA))
	d, err := New(Options{Kernel: fake.NewReachable(), ConfigPath: path, PeerPort: l.port, MetricsAddr: metricsAddr, PprofAddr: pprofAddr, Logger: testLogger(t, "a")})
	if err != nil {
		t.Fatal(err)
	}
	s.d = d
	go func() { s.done <- d.Run(context.Background()) }()
	t.Cleanup(func() { s.stop(true) })
	get := func(url string) (int, string) {
		t.Helper()
		var code int
		var body string
		eventually(t, 10*time.Second, func() (bool, string) {
			resp, err := http.Get(url)
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			code, body = resp.StatusCode, string(b)
			return true, ""
		})
		return code, body
	}
	if code, body := get("http://" + metricsAddr + "/metrics"); code != 200 || !strings.Contains(body, `godwit_bgp_sessions{state="Active"}`) ||
		!strings.Contains(body, "process_cpu_seconds_total") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, _ := get("http://" + metricsAddr + "/debug/pprof/"); code != 404 {
		t.Errorf("pprof on the metrics port: %d", code)
	}
	if code, body := get("http://" + pprofAddr + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	s.stop(true)
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Errorf("metrics still served after Stop")
	}
}

// A shutdown while the session fails and retries keeps it down (the peer
// layer alone would restart it from Idle; see neighbor.shutdown).
func TestShutdownWhileRetrying(t *testing.T) {
	l := newLab(t)
	a := l.start("a", configA) // B never runs: connections are refused
	eventually(t, 10*time.Second, func() (bool, string) {
		n, err := a.d.Neighbor(l.ip(2))
		if err != nil {
			return false, err.Error()
		}
		return n.Status.ConnectRetryCounter > 0, fmt.Sprintf("%s, %q", n.Status.State, n.Status.LastError)
	})
	if err := a.d.ShutdownNeighbor(l.ip(2), ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		if st := a.neighbor(l.ip(2)).Status; st.State != peer.Idle || !st.AdminDown {
			t.Fatalf("after shutdown: %s, admin down %t", st.State, st.AdminDown)
		}
		time.Sleep(10 * time.Millisecond)
	}
	enabled := time.Now()
	if err := a.d.EnableNeighbor(l.ip(2)); err != nil {
		t.Fatal(err)
	}
	// It tries again: a state change after the enable.
	eventually(t, 10*time.Second, func() (bool, string) {
		st := a.neighbor(l.ip(2)).Status
		return !st.AdminDown && st.Since.After(enabled), fmt.Sprintf("%s since %v", st.State, st.Since)
	})
}
