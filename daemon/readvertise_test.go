package daemon

// Re-advertisement between speakers in one process, over loopback: the
// eBGP rules and the default policy, route reflection (RFC 4456), ECMP,
// ADD-PATH through a reflector, and withdrawals travelling on.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// speakerConfig renders one speaker: its global settings, its peers
// ("addr:asn[:extra spec fields]") and its announcements.
func speakerConfig(as int, addr, routerID, global string, peers []string, prefixes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: %d, routerID: %s, listenAddresses: ["%s:{{PORT}}"], connectRetryTime: 2, holdTime: 9%s}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: accept-all}
spec:
  statements:
  - name: everything
    actions: {result: accept}
`, as, routerID, addr, global)
	for i, p := range peers {
		f := strings.SplitN(p, "|", 3)
		extra := ""
		if len(f) == 3 {
			extra = ", " + f[2]
		}
		fmt.Fprintf(&b, `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: p%d}
spec: {peerAddress: %s, peerASN: %s, localAddress: %s%s}
`, i, f[0], f[1], addr, extra)
	}
	if len(prefixes) > 0 {
		fmt.Fprintf(&b, `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: own}
spec: {prefixes: [%s]}
`, strings.Join(prefixes, ", "))
	}
	return b.String()
}

// route waits until s has a path to prefix matching ok, and returns it.
func (s *speaker) waitRoute(prefix string, what string, ok func(rs []Route) bool) []Route {
	s.t.Helper()
	var rs []Route
	eventually(s.t, 20*time.Second, func() (bool, string) {
		rs = s.routes(RouteQuery{Prefix: netip.MustParsePrefix(prefix)})
		return ok(rs), fmt.Sprintf("%s: %s; have %q", prefix, what, routeTexts(rs))
	})
	return rs
}

func TestTransitNeedsAnExportPolicy(t *testing.T) {
	l := newLab(t)
	// A (65001) -> B (65002) -> C (65003, with accept-all) and D (65004,
	// default policy).
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}, "10.1.0.0/24"))
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001",
		"{{A3}}|65003|exportPolicy: accept-all", "{{A4}}|65004"}, "10.2.0.0/24"))
	c := l.start("c", speakerConfig(65003, "{{A3}}", "10.0.0.3", "", []string{"{{A2}}|65002"}))
	d := l.start("d", speakerConfig(65004, "{{A4}}", "10.0.0.4", "", []string{"{{A2}}|65002"}))
	_ = a
	for _, s := range []*speaker{c, d} {
		s.waitRoute("10.2.0.0/24", "B's own route", func(rs []Route) bool { return len(rs) == 1 && rs[0].Best })
	}
	rs := c.waitRoute("10.1.0.0/24", "A's route through B", func(rs []Route) bool { return len(rs) == 1 })
	if got := rs[0].ASPath.String(); got != "65002 65001" || rs[0].NextHop != l.ip(2) {
		t.Errorf("C has %q", routeTexts(rs))
	}
	if _, ok := rs[0].Attrs.LocalPref(); ok {
		t.Errorf("LOCAL_PREF came over eBGP: %v", rs[0].Attrs)
	}
	if s := rs[0].Since; s.IsZero() || s.After(time.Now()) || time.Since(s) > time.Minute {
		t.Errorf("the path's arrival time is %v", s)
	}
	// D has B's own route; A's it must never get (no accidental transit).
	// B's Adj-RIB-Out towards D is what tells: it is complete once B's
	// own route is in it, and A's route is in B's table by then.
	b.waitRoute("10.1.0.0/24", "A's route at B", func(rs []Route) bool { return len(rs) == 1 })
	adv := b.routes(RouteQuery{Peer: l.ip(4), Advertised: true})
	if got := routeTexts(adv); len(got) != 1 || !strings.HasPrefix(got[0], "10.2.0.0/24") {
		t.Errorf("B advertises to D %q, want only its own route", got)
	}
	if got := d.routes(RouteQuery{Prefix: netip.MustParsePrefix("10.1.0.0/24")}); len(got) != 0 {
		t.Errorf("D learned A's route: %q", routeTexts(got))
	}

	// A withdraws: the withdrawal travels through B to C.
	a.reload(l, speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}, "10.1.1.0/24"))
	c.waitRoute("10.1.0.0/24", "the withdrawal", func(rs []Route) bool { return len(rs) == 0 })
	c.waitRoute("10.1.1.0/24", "A's new route", func(rs []Route) bool { return len(rs) == 1 })
	if n := c.neighbor(l.ip(2)); n.Status.State != peer.Established {
		t.Errorf("C's session with B is %s", n.Status.State)
	}
}

func TestRouteReflection(t *testing.T) {
	l := newLab(t)
	const cluster = "1.1.1.1"
	client := "routeReflectorClient: true"
	// The reflector (A1), three clients (A2..A4), one non-client (A5),
	// all in AS 65000.
	rr := l.start("rr", speakerConfig(65000, "{{A1}}", "10.0.0.1", ", routeReflectorClusterID: "+cluster, []string{
		"{{A2}}|65000|" + client, "{{A3}}|65000|" + client, "{{A4}}|65000|" + client, "{{A5}}|65000"}))
	var clients []*speaker
	for i := 2; i <= 4; i++ {
		clients = append(clients, l.start(fmt.Sprintf("c%d", i), speakerConfig(65000, fmt.Sprintf("{{A%d}}", i),
			fmt.Sprintf("10.0.0.%d", i), "", []string{"{{A1}}|65000"}, fmt.Sprintf("10.%d.0.0/24", i))))
	}
	nc := l.start("nc", speakerConfig(65000, "{{A5}}", "10.0.0.5", "", []string{"{{A1}}|65000"}, "10.5.0.0/24"))

	for i, c := range clients {
		for j := 2; j <= 5; j++ {
			if j == i+2 {
				continue
			}
			rs := c.waitRoute(fmt.Sprintf("10.%d.0.0/24", j), "the reflected route", func(rs []Route) bool { return len(rs) == 1 })
			r := rs[0]
			orig, _ := r.Attrs.OriginatorID()
			cl, _ := r.Attrs.ClusterList()
			if orig == nil || orig.ID != netip.MustParseAddr(fmt.Sprintf("10.0.0.%d", j)) || cl == nil ||
				len(cl.IDs) != 1 || cl.IDs[0] != netip.MustParseAddr(cluster) || r.NextHop != l.ip(j) || r.ASPath.Length() != 0 {
				t.Errorf("client %d has %s with ORIGINATOR_ID %v, CLUSTER_LIST %v, next hop %s, path %q",
					i+2, r.Text, orig, cl, r.NextHop, r.ASPath)
			}
			if r.LocalPref() != 100 {
				t.Errorf("LOCAL_PREF %d", r.LocalPref())
			}
		}
	}
	// The non-client gets the clients' routes (client to non-client) ...
	for j := 2; j <= 4; j++ {
		nc.waitRoute(fmt.Sprintf("10.%d.0.0/24", j), "a client's route", func(rs []Route) bool { return len(rs) == 1 })
	}
	// ... and its own route is reflected to the clients (above), not back
	// to itself: the reflector's Adj-RIB-Out for it holds only the
	// clients' routes.
	eventually(t, 20*time.Second, func() (bool, string) {
		adv := routeTexts(rr.routes(RouteQuery{Peer: l.ip(5), Advertised: true}))
		return len(adv) == 3 && !slices.ContainsFunc(adv, func(s string) bool { return strings.HasPrefix(s, "10.5.") }),
			fmt.Sprintf("advertised to the non-client: %q", adv)
	})
	// Every path at the reflector is best, and comes from its originator.
	all := rr.routes(RouteQuery{})
	if len(all) != 4 {
		t.Errorf("reflector has %q", routeTexts(all))
	}
}

func TestECMPAndAddPathThroughAReflector(t *testing.T) {
	l := newLab(t)
	client := "routeReflectorClient: true"
	addPath := "addPath: {send: [ipv4-unicast], receive: [ipv4-unicast], sendMode: ecmp}"
	// Two clients (A2, A3) announce the same /32; the reflector (A1) has
	// both paths as an ECMP set and sends both to a third client (A4) over
	// ADD-PATH, which then has its own two-path ECMP set.
	rr := l.start("rr", speakerConfig(65000, "{{A1}}", "10.0.0.1", "", []string{
		"{{A2}}|65000|" + client, "{{A3}}|65000|" + client, "{{A4}}|65000|" + client + ", " + addPath}))
	l.start("c2", speakerConfig(65000, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65000"}, "192.0.2.10/32"))
	l.start("c3", speakerConfig(65000, "{{A3}}", "10.0.0.3", "", []string{"{{A1}}|65000"}, "192.0.2.10/32"))
	c4 := l.start("c4", speakerConfig(65000, "{{A4}}", "10.0.0.4", "", []string{
		"{{A1}}|65000|addPath: {receive: [ipv4-unicast], send: [ipv4-unicast]}"}))

	ecmp := func(rs []Route) bool {
		return len(rs) == 2 && rs[0].Best && rs[1].Multipath && rs[0].NextHop != rs[1].NextHop
	}
	rr.waitRoute("192.0.2.10/32", "two paths, best and multipath", ecmp)
	rs := c4.waitRoute("192.0.2.10/32", "both paths over ADD-PATH", ecmp)
	if rs[0].PathID == rs[1].PathID {
		t.Errorf("the paths share path ID %d", rs[0].PathID)
	}
	hops := []netip.Addr{rs[0].NextHop, rs[1].NextHop}
	slices.SortFunc(hops, netip.Addr.Compare)
	if hops[0] != l.ip(2) || hops[1] != l.ip(3) {
		t.Errorf("next hops %v", hops)
	}
}

// policyDoc is a RoutePolicy accepting exactly one prefix.
func policyDoc(name, prefix string) string {
	return fmt.Sprintf(`---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: %s}
spec:
  statements:
  - name: only
    conditions: {prefixSet: [{prefix: %s}]}
    actions: {result: accept}
`, name, prefix)
}

// Policies change without a session reset: an import policy through a
// ROUTE-REFRESH to the peer, an export policy by moving the session to the
// update group of its new rules, which sends the difference.
func TestPolicyChangesAreHitless(t *testing.T) {
	l := newLab(t)
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}, "10.1.0.0/24", "10.1.1.0/24"))
	bConf := func(in, out string) string {
		return speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001|importPolicy: in",
			"{{A3}}|65003|exportPolicy: out"}) + policyDoc("in", in) + policyDoc("out", out)
	}
	b := l.start("b", bConf("10.1.0.0/24", "10.1.0.0/24"))
	c := l.start("c", speakerConfig(65003, "{{A3}}", "10.0.0.3", "", []string{"{{A2}}|65002"}))
	_ = a
	c.waitRoute("10.1.0.0/24", "the route both policies accept", func(rs []Route) bool { return len(rs) == 1 })
	eventually(t, 20*time.Second, func() (bool, string) {
		rs := b.routes(RouteQuery{Peer: l.ip(1), Received: true})
		return len(rs) == 2 && !rs[0].Filtered && rs[1].Filtered && rs[1].Reason == rejectPolicy.String(),
			fmt.Sprintf("received from A: %q", routeTexts(rs))
	})
	established := func() (uint64, uint64) {
		return b.neighbor(l.ip(1)).EstablishedCount, b.neighbor(l.ip(3)).EstablishedCount
	}
	inBefore, outBefore := established()

	// Import now takes the other prefix: B asks A again, and swaps.
	if err := b.reload(l, bConf("10.1.1.0/24", "10.1.0.0/24")); err != nil {
		t.Fatal(err)
	}
	b.waitRoute("10.1.1.0/24", "the newly accepted route", func(rs []Route) bool { return len(rs) == 1 })
	b.waitRoute("10.1.0.0/24", "the newly refused route gone", func(rs []Route) bool { return len(rs) == 0 })
	c.waitRoute("10.1.0.0/24", "the withdrawal at C", func(rs []Route) bool { return len(rs) == 0 })

	// Export now takes the other prefix too: C gets it, without a reset.
	if err := b.reload(l, bConf("10.1.1.0/24", "10.1.1.0/24")); err != nil {
		t.Fatal(err)
	}
	c.waitRoute("10.1.1.0/24", "the route the new export policy sends", func(rs []Route) bool { return len(rs) == 1 })
	// And back: the export change withdraws what the new rules refuse.
	if err := b.reload(l, bConf("10.1.1.0/24", "10.1.0.0/24")); err != nil {
		t.Fatal(err)
	}
	c.waitRoute("10.1.1.0/24", "the withdrawal by the export change", func(rs []Route) bool { return len(rs) == 0 })
	if in, out := established(); in != inBefore || out != outBefore {
		t.Errorf("sessions were reset: established %d/%d times, before %d/%d", in, out, inBefore, outBefore)
	}
}

func TestTestPolicy(t *testing.T) {
	l := newLab(t)
	l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}, "10.1.0.0/24", "10.1.1.0/24"))
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001|importPolicy: in"})+policyDoc("in", "10.1.0.0/24"))
	b.waitRoute("10.1.0.0/24", "the accepted route", func(rs []Route) bool { return len(rs) == 1 })
	res, err := b.d.TestPolicy("in", netip.MustParsePrefix("10.1.0.0/24"), netip.Addr{})
	if err != nil || len(res) != 1 || !res[0].Result.Accept || res[0].Result.Statement != "only" || len(res[0].Trace) != 1 {
		t.Fatalf("TestPolicy best path: %+v, %v", res, err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		res, err = b.d.TestPolicy("in", netip.MustParsePrefix("10.1.1.0/24"), l.ip(1))
		return err == nil && len(res) == 1, fmt.Sprintf("%+v %v", res, err)
	})
	if r := res[0]; r.Result.Accept || !r.Path.Filtered || r.Trace[0].FailedCondition != "prefixSet" {
		t.Errorf("the refused path: %+v", r)
	}
	if _, err := b.d.TestPolicy("nope", netip.MustParsePrefix("10.1.1.0/24"), netip.Addr{}); !errors.Is(err, ErrNoPolicy) {
		t.Errorf("unknown policy: %v", err)
	}
}

// Announcements added and removed at run time (the local route-injection
// API) reach the peer and leave it, next to the configured ones.
func TestRuntimeAnnouncements(t *testing.T) {
	l := newLab(t)
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}, "10.1.0.0/24"))
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001"}))
	lb := netip.MustParsePrefix("192.0.2.10/32")
	if err := a.d.AddAnnouncement(netip.MustParsePrefix("192.0.2.10/24"), config.AnnouncementSpec{}); !errors.Is(err, ErrBadAnnouncement) {
		t.Errorf("host bits: %v", err)
	}
	med := uint32(7)
	if err := a.d.AddAnnouncement(lb, config.AnnouncementSpec{MED: &med, Communities: []config.Community{65001<<16 | 9}}); err != nil {
		t.Fatal(err)
	}
	rs := b.waitRoute(lb.String(), "the runtime announcement", func(rs []Route) bool { return len(rs) == 1 })
	if m, ok := rs[0].Attrs.MED(); !ok || m.Value != 7 {
		t.Errorf("MED %v", rs[0].Attrs)
	}
	got := a.d.Announcements()
	if len(got) != 2 || got[0].Runtime || !got[1].Runtime || got[1].Prefix != lb {
		t.Errorf("announcements %+v", got)
	}
	if !a.d.DeleteAnnouncement(lb) || a.d.DeleteAnnouncement(lb) {
		t.Error("DeleteAnnouncement: want true, then false")
	}
	b.waitRoute(lb.String(), "the withdrawal", func(rs []Route) bool { return len(rs) == 0 })
	b.waitRoute("10.1.0.0/24", "the configured one, still there", func(rs []Route) bool { return len(rs) == 1 })
}

// Soft reconfiguration inbound: the pre-policy routes are kept, listed by
// --received as they came, and a changed import policy is applied to them
// without a ROUTE-REFRESH (the peer's count of refreshes received stays
// put).
func TestSoftReconfigurationInbound(t *testing.T) {
	l := newLab(t)
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"}, "10.1.0.0/24", "10.1.1.0/24"))
	bConf := func(in string) string {
		return speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A1}}|65001|importPolicy: in, softReconfigurationInbound: true"}) +
			policyDoc("in", in)
	}
	b := l.start("b", bConf("10.1.0.0/24"))
	b.waitRoute("10.1.0.0/24", "the accepted route", func(rs []Route) bool { return len(rs) == 1 })
	refreshes := func() uint64 {
		return a.neighbor(l.ip(2)).Status.MessagesIn[iana.MsgRouteRefresh]
	}
	before := refreshes()
	if err := b.reload(l, bConf("10.1.1.0/24")); err != nil {
		t.Fatal(err)
	}
	b.waitRoute("10.1.1.0/24", "the route the new policy accepts", func(rs []Route) bool { return len(rs) == 1 })
	b.waitRoute("10.1.0.0/24", "the route it refuses", func(rs []Route) bool { return len(rs) == 0 })
	if got := refreshes(); got != before {
		t.Errorf("A received %d ROUTE-REFRESH messages, want none", got-before)
	}
	rs := b.routes(RouteQuery{Peer: l.ip(1), Received: true})
	if len(rs) != 2 {
		t.Errorf("received: %q", routeTexts(rs))
	}
}

// A peer past its prefix limit is closed with Cease / Maximum Number of
// Prefixes Reached and comes back after maxPrefixesRestart; another peer
// is not touched.
func TestMaxPrefixes(t *testing.T) {
	l := newLab(t)
	l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002"},
		"10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"))
	c := l.start("c", speakerConfig(65003, "{{A3}}", "10.0.0.3", "", []string{"{{A2}}|65002"}, "10.3.0.0/24"))
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{
		"{{A1}}|65001|maxPrefixes: 3, maxPrefixesRestart: 1s", "{{A3}}|65003|maxPrefixes: 3"}))
	_ = c
	eventually(t, 20*time.Second, func() (bool, string) {
		n, err := b.d.Neighbor(l.ip(1))
		if err != nil {
			return false, err.Error() // B has not applied its configuration yet
		}
		r := n.Status.LastSent
		if r == nil {
			return false, "no NOTIFICATION sent to A yet"
		}
		w := wire.Notification{Code: r.Code, Subcode: r.Subcode, Data: r.Data}
		code, sub := r.Code, r.Subcode
		if c, s, _, ok := w.HardResetInner(); ok {
			code, sub = c, s
		}
		return code == iana.NotifCease && sub == uint8(iana.CeaseMaxPrefixesReached), "B sent A " + w.String()
	})
	// It comes back by itself (and goes down again: A still sends four).
	eventually(t, 20*time.Second, func() (bool, string) {
		n, err := b.d.Neighbor(l.ip(1))
		if err != nil {
			return false, err.Error()
		}
		return n.EstablishedCount >= 2, fmt.Sprintf("established %d times", n.EstablishedCount)
	})
	// C, within its limit, stays up with its route.
	b.waitRoute("10.3.0.0/24", "C's route", func(rs []Route) bool { return len(rs) == 1 })
	if n := b.neighbor(l.ip(3)); n.EstablishedCount != 1 || n.Status.State != peer.Established {
		t.Errorf("C: established %d times, %s", n.EstablishedCount, n.Status.State)
	}
}
