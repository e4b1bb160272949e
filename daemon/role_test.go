package daemon

// RFC 9234 roles and OTC across three speakers, and the AS_PATH length
// limit.

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/peer"
)

// waitFiltered waits until s lists prefix from peer as received and
// filtered, and returns the reason.
func (s *speaker) waitFiltered(from netip.Addr, prefix string) string {
	s.t.Helper()
	var reason string
	eventually(s.t, 20*time.Second, func() (bool, string) {
		rs := s.routes(RouteQuery{Peer: from, Received: true, Prefix: netip.MustParsePrefix(prefix)})
		if len(rs) == 1 && rs[0].Filtered {
			reason = rs[0].Reason
			return true, ""
		}
		return false, fmt.Sprintf("%s from %s should be received and filtered; have %q", prefix, from, routeTexts(rs))
	})
	return reason
}

func TestRoleOTCStopsALeak(t *testing.T) {
	l := newLab(t)
	// C is B's provider and marks what it sends B Only-to-Customer. B
	// leaks it to A (no role towards A, and an export policy that allows
	// transit); A, B's provider, refuses it. B's own route reaches A.
	c := l.start("c", speakerConfig(65003, "{{A3}}", "10.0.0.3", "", []string{"{{A2}}|65002|role: provider"}, "10.3.0.0/24"))
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A3}}|65003|role: customer",
		"{{A1}}|65001|exportPolicy: accept-all"}, "10.2.0.0/24"))
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002|role: provider"}))
	a.waitState(l.ip(2), peer.Established)
	c.waitState(l.ip(2), peer.Established)

	rs := b.waitRoute("10.3.0.0/24", "from C", func(rs []Route) bool { return len(rs) == 1 })
	if otc, ok := rs[0].Attrs.OTC(); !ok || otc.AS != 65003 {
		t.Errorf("B's path from its provider should carry OTC 65003: %v", rs[0].Attrs)
	}
	a.waitRoute("10.2.0.0/24", "B's own route", func(rs []Route) bool { return len(rs) == 1 })
	if reason := a.waitFiltered(l.ip(2), "10.3.0.0/24"); !strings.Contains(reason, "route leak") {
		t.Errorf("A's reason for the leaked route: %q", reason)
	}
	if rs := a.routes(RouteQuery{Prefix: netip.MustParsePrefix("10.3.0.0/24")}); len(rs) != 0 {
		t.Errorf("A took the leaked route: %q", routeTexts(rs))
	}
}

func TestMaxASPathLength(t *testing.T) {
	l := newLab(t)
	c := l.start("c", speakerConfig(65003, "{{A3}}", "10.0.0.3", "", []string{"{{A2}}|65002"}, "10.3.0.0/24"))
	b := l.start("b", speakerConfig(65002, "{{A2}}", "10.0.0.2", "", []string{"{{A3}}|65003",
		"{{A1}}|65001|exportPolicy: accept-all"}, "10.2.0.0/24"))
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002|maxASPathLength: 1"}))
	c.waitState(l.ip(2), peer.Established)
	b.waitRoute("10.3.0.0/24", "from C", func(rs []Route) bool { return len(rs) == 1 })
	a.waitRoute("10.2.0.0/24", "one AS long", func(rs []Route) bool { return len(rs) == 1 })
	if reason := a.waitFiltered(l.ip(2), "10.3.0.0/24"); !strings.Contains(reason, "maxASPathLength") {
		t.Errorf("reason: %q", reason)
	}
}

func TestLongLivedGracefulRestartHelper(t *testing.T) {
	l := newLab(t)
	gr := ", gracefulRestart: {enabled: true, restartTime: 1, longLivedStaleTime: 120}"
	bCfg := speakerConfig(65002, "{{A2}}", "10.0.0.2", gr, []string{"{{A1}}|65001"}, "10.2.0.0/24") + `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: not-long-lived}
spec: {prefixes: [10.2.1.0/24], communities: [no-llgr]}
`
	a := l.start("a", speakerConfig(65001, "{{A1}}", "10.0.0.1", "", []string{"{{A2}}|65002", "{{A3}}|65003"}))
	b := l.start("b", bCfg)
	l.start("c", speakerConfig(65003, "{{A3}}", "10.0.0.3", "", []string{"{{A1}}|65001"}, "10.2.0.0/24"))
	a.waitRoute("10.2.0.0/24", "from B and C", func(rs []Route) bool { return len(rs) == 2 })
	a.waitRoute("10.2.1.0/24", "from B", func(rs []Route) bool { return len(rs) == 1 })

	// B stops for a graceful restart and does not come back: after its
	// restart time A keeps B's path long-lived stale, least preferred;
	// the NO_LLGR route goes.
	b.stop(false)
	rs := a.waitRoute("10.2.0.0/24", "C best, B long-lived stale", func(rs []Route) bool {
		if len(rs) != 2 || rs[0].Peer != l.ip(3) || rs[1].Peer != l.ip(2) {
			return false
		}
		c, ok := rs[1].Attrs.Communities()
		return ok && c.Has(0xFFFF0006) && rs[1].Stale
	})
	if !rs[0].Best {
		t.Errorf("C's path should be best: %q", routeTexts(rs))
	}
	a.waitRoute("10.2.1.0/24", "gone (NO_LLGR)", func(rs []Route) bool { return len(rs) == 0 })
}
