package routers

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// Every test builds two fresh namespaces joined by one veth link:
//
//	a (10.0.0.1/30, 2001:db8:ab::1/64) <---> b (10.0.0.2/30, 2001:db8:ab::2/64)
const (
	addrA, addrB     = "10.0.0.1", "10.0.0.2"
	addr6A, addr6B   = "2001:db8:ab::1", "2001:db8:ab::2"
	prefixA, prefixB = "192.0.2.0/24", "198.51.100.0/24"
	prefix6A         = "2001:db8:a::/48"
	prefix6B         = "2001:db8:b::/48"
)

func link(t *testing.T, roleA, roleB string) (a, b *netns.NS) {
	t.Helper()
	a, b = netns.New(t, roleA), netns.New(t, roleB)
	if _, _, err := netns.Veth(
		netns.End{NS: a, Ifname: "to-" + roleB, Addrs: []string{addrA + "/30", addr6A + "/64"}},
		netns.End{NS: b, Ifname: "to-" + roleA, Addrs: []string{addrB + "/30", addr6B + "/64"}},
	); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// hasPath returns a matcher for WaitRoute: some path has this next hop and
// AS path.
func hasPath(nextHop string, asPath ...uint32) func([]Path) bool {
	return func(ps []Path) bool {
		for _, p := range ps {
			if p.NextHop == nextHop && slices.Equal(p.ASPath, asPath) {
				return true
			}
		}
		return false
	}
}

// hasBestPath is hasPath for a path the router has also chosen as best.
// Daemons list a path before they have validated its next hop and run
// best-path selection (OpenBGPD shows it not yet valid for a moment), so
// tests that check Best must poll for it, not assert it on first sight.
func hasBestPath(nextHop string, asPath ...uint32) func([]Path) bool {
	return func(ps []Path) bool {
		for _, p := range ps {
			if p.NextHop == nextHop && slices.Equal(p.ASPath, asPath) && p.Best {
				return true
			}
		}
		return false
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestFRRBIRD(t *testing.T) {
	Require(t, KindFRR, KindBIRD)
	a, b := link(t, "frr", "bird")
	frr := must[*FRR](t)(StartFRR(a, Config{RouterID: addrA, LocalAS: 65001,
		Neighbors: []Neighbor{{Address: addrB, RemoteAS: 65002, HoldTime: 9}},
		Routes:    []Route{{Prefix: prefixA, MED: U32(7), Communities: []string{"65001:7"}}}}))
	bird := must[*BIRD](t)(StartBIRD(b, Config{RouterID: addrB, LocalAS: 65002,
		Neighbors: []Neighbor{{Address: addrA, RemoteAS: 65001, HoldTime: 9}},
		Routes:    []Route{{Prefix: prefixB}}}))
	DumpOnFailure(t, frr, bird)

	WaitEstablished(t, frr, addrB)
	WaitEstablished(t, bird, addrA)
	WaitRoute(t, frr, IPv4Unicast, prefixB, hasPath(addrB, 65002))
	got := WaitRoute(t, bird, IPv4Unicast, prefixA, hasBestPath(addrA, 65001))
	if p := got[0]; p.MED == nil || *p.MED != 7 || !slices.Equal(p.Communities, []string{"65001:7"}) || !p.Best {
		t.Errorf("BIRD's path for %s = %+v, want MED 7, community 65001:7, best", prefixA, p)
	}

	// A shutdown message (RFC 8203) set at runtime through vtysh reaches
	// BIRD, and the session stays down.
	if err := frr.ConfigureBGP("neighbor " + addrB + " shutdown message maintenance window"); err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, DefaultTimeout, pollInterval, func() (bool, string) {
		s, err := SessionOf(bird, addrA)
		if err != nil {
			return false, err.Error()
		}
		return !s.Established() && s.ShutdownMessage == "maintenance window", "bird session: " + s.State + " message " + s.ShutdownMessage
	})
}

func TestFRRBIRDIPv6(t *testing.T) {
	Require(t, KindFRR, KindBIRD)
	a, b := link(t, "frr", "bird")
	frr := must[*FRR](t)(StartFRR(a, Config{RouterID: addrA, LocalAS: 65001,
		Neighbors: []Neighbor{{Address: addr6B, RemoteAS: 65002}},
		Routes:    []Route{{Prefix: prefix6A}}}))
	bird := must[*BIRD](t)(StartBIRD(b, Config{RouterID: addrB, LocalAS: 65002,
		Neighbors: []Neighbor{{Address: addr6A, RemoteAS: 65001}},
		Routes:    []Route{{Prefix: prefix6B}}}))
	DumpOnFailure(t, frr, bird)

	WaitEstablished(t, frr, addr6B)
	WaitEstablished(t, bird, addr6A)
	WaitRoute(t, frr, IPv6Unicast, prefix6B, hasPath(addr6B, 65002))
	WaitRoute(t, bird, IPv6Unicast, prefix6A, hasPath(addr6A, 65001))
}

func TestFRRBIRDMD5(t *testing.T) {
	Require(t, KindFRR, KindBIRD)
	a, b := link(t, "frr", "bird")
	frr := must[*FRR](t)(StartFRR(a, Config{RouterID: addrA, LocalAS: 65001,
		Neighbors: []Neighbor{{Address: addrB, RemoteAS: 65002, Password: "s3cret-md5"}},
		Routes:    []Route{{Prefix: prefixA}}}))
	bird := must[*BIRD](t)(StartBIRD(b, Config{RouterID: addrB, LocalAS: 65002,
		Neighbors: []Neighbor{{Address: addrA, RemoteAS: 65001, Password: "s3cret-md5"}},
		Routes:    []Route{{Prefix: prefixB}}}))
	DumpOnFailure(t, frr, bird)

	WaitEstablished(t, frr, addrB)
	WaitEstablished(t, bird, addrA)
	WaitRoute(t, frr, IPv4Unicast, prefixB, hasPath(addrB, 65002))
	WaitRoute(t, bird, IPv4Unicast, prefixA, hasPath(addrA, 65001))
	// The session's socket really carries a TCP MD5 key (ss -e shows it).
	if out, err := a.Exec("ss", "-tnie", "state", "established", "( sport = :179 or dport = :179 )"); err != nil || !strings.Contains(out, "md5keys:"+addrB) {
		t.Errorf("no MD5 key on FRR's BGP socket (%v):\n%s", err, out)
	}
}

func TestFRRGoBGP(t *testing.T) {
	Require(t, KindFRR, KindGoBGP)
	a, b := link(t, "frr", "gobgp")
	frr := must[*FRR](t)(StartFRR(a, Config{RouterID: addrA, LocalAS: 65001,
		Neighbors: []Neighbor{{Address: addrB, RemoteAS: 65003}},
		Routes:    []Route{{Prefix: prefixA, Communities: []string{"65001:1"}}}}))
	gobgp := must[*GoBGP](t)(StartGoBGP(b, Config{RouterID: addrB, LocalAS: 65003,
		Neighbors: []Neighbor{{Address: addrA, RemoteAS: 65001}},
		Routes:    []Route{{Prefix: prefixB, MED: U32(5)}}}))
	DumpOnFailure(t, frr, gobgp)

	WaitEstablished(t, frr, addrB)
	WaitEstablished(t, gobgp, addrA)
	got := WaitRoute(t, frr, IPv4Unicast, prefixB, hasPath(addrB, 65003))
	if p := got[0]; p.MED == nil || *p.MED != 5 {
		t.Errorf("FRR's path for %s = %+v, want MED 5", prefixB, p)
	}
	got = WaitRoute(t, gobgp, IPv4Unicast, prefixA, hasBestPath(addrA, 65001))
	if p := got[0]; !slices.Equal(p.Communities, []string{"65001:1"}) || !p.Best {
		t.Errorf("GoBGP's path for %s = %+v, want community 65001:1, best", prefixA, p)
	}
	// A handle attached from its directory alone (as `godwit lab status`
	// does) sees the same session.
	att, err := AttachFRR(a, Config{Dir: frr.Dir()})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := SessionOf(att, addrB); err != nil || !s.Established() {
		t.Errorf("attached FRR: session %+v, %v", s, err)
	}
}

func TestFRROpenBGPD(t *testing.T) {
	Require(t, KindFRR, KindOpenBGPD)
	a, b := link(t, "frr", "obgpd")
	frr := must[*FRR](t)(StartFRR(a, Config{RouterID: addrA, LocalAS: 65001,
		Neighbors: []Neighbor{{Address: addrB, RemoteAS: 65004}},
		Routes:    []Route{{Prefix: prefixA, Communities: []string{"65001:2"}}}}))
	obgpd := must[*OpenBGPD](t)(StartOpenBGPD(b, Config{RouterID: addrB, LocalAS: 65004,
		Neighbors: []Neighbor{{Address: addrA, RemoteAS: 65001}},
		Routes:    []Route{{Prefix: prefixB, MED: U32(9)}}}))
	DumpOnFailure(t, frr, obgpd)

	WaitEstablished(t, frr, addrB)
	WaitEstablished(t, obgpd, addrA)
	got := WaitRoute(t, frr, IPv4Unicast, prefixB, hasPath(addrB, 65004))
	if p := got[0]; p.MED == nil || *p.MED != 9 {
		t.Errorf("FRR's path for %s = %+v, want MED 9", prefixB, p)
	}
	got = WaitRoute(t, obgpd, IPv4Unicast, prefixA, hasBestPath(addrA, 65001))
	if p := got[0]; !slices.Equal(p.Communities, []string{"65001:2"}) || !p.Best {
		t.Errorf("OpenBGPD's path for %s = %+v, want community 65001:2, best", prefixA, p)
	}
}

func TestExaBGPToFRR(t *testing.T) {
	Require(t, KindFRR, KindExaBGP)
	a, b := link(t, "frr", "exabgp")
	frr := must[*FRR](t)(StartFRR(a, Config{RouterID: addrA, LocalAS: 65001,
		Neighbors: []Neighbor{{Address: addrB, RemoteAS: 65005}},
		Routes:    []Route{{Prefix: prefixA}}}))
	exa := must[*ExaBGP](t)(StartExaBGP(b, Config{RouterID: addrB, LocalAS: 65005,
		Neighbors: []Neighbor{{Address: addrA, RemoteAS: 65001}},
		Routes:    []Route{{Prefix: prefixB, MED: U32(3), Communities: []string{"65005:1"}}}}))
	DumpOnFailure(t, frr, exa)

	WaitEstablished(t, frr, addrB)
	WaitEstablished(t, exa, addrA)
	// The static route from the configuration.
	got := WaitRoute(t, frr, IPv4Unicast, prefixB, hasPath(addrB, 65005))
	if p := got[0]; p.MED == nil || *p.MED != 3 || !slices.Equal(p.Communities, []string{"65005:1"}) {
		t.Errorf("FRR's path for %s = %+v, want MED 3, community 65005:1", prefixB, p)
	}
	// A route injected at runtime through the API, then withdrawn.
	const injected = "203.0.113.0/25"
	if err := exa.API("announce route " + injected + " next-hop self as-path [ 65005 64999 ]"); err != nil {
		t.Fatal(err)
	}
	WaitRoute(t, frr, IPv4Unicast, injected, hasPath(addrB, 65005, 64999))
	if err := exa.WithdrawRoute(injected); err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, DefaultTimeout, pollInterval, func() (bool, string) {
		ps, err := PathsOf(frr, IPv4Unicast, injected)
		return err == nil && len(ps) == 0, "FRR still has the withdrawn " + injected
	})
	// And the receive side: ExaBGP reported FRR's route.
	WaitRoute(t, exa, IPv4Unicast, prefixA, hasPath(addrA, 65001))
}

// TestFullMeshOnSegment puts all five daemons on one bridged segment, every
// one peering eBGP with every other over IPv4 and over IPv6; each originates
// its own prefix of each family and a shared IPv4 one.
func TestFullMeshOnSegment(t *testing.T) {
	kinds := []Kind{KindFRR, KindBIRD, KindGoBGP, KindOpenBGPD, KindExaBGP}
	Require(t, kinds...)
	lan := netns.NewBridge(t, "lan")
	addr := func(i int) string { return fmt.Sprintf("10.0.0.%d", i+1) }
	addr6 := func(i int) string { return fmt.Sprintf("2001:db8::%d", i+1) }
	own := func(i int) string { return fmt.Sprintf("10.%d.0.0/16", 100+i) }
	own6 := func(i int) string { return fmt.Sprintf("2001:db8:%d::/48", 100+i) }
	const shared = "203.0.113.0/24"
	rs := make([]Router, len(kinds))
	for i, k := range kinds {
		ns := netns.New(t, string(k))
		if _, err := lan.Attach(netns.End{NS: ns, Ifname: "lan", Addrs: []string{addr(i) + "/24", addr6(i) + "/64"}}); err != nil {
			t.Fatal(err)
		}
		cfg := Config{RouterID: addr(i), LocalAS: uint32(65001 + i),
			Routes: []Route{{Prefix: own(i)}, {Prefix: own6(i)}, {Prefix: shared}}}
		for j := range kinds {
			if j != i {
				cfg.Neighbors = append(cfg.Neighbors,
					Neighbor{Address: addr(j), RemoteAS: uint32(65001 + j)},
					Neighbor{Address: addr6(j), RemoteAS: uint32(65001 + j)})
			}
		}
		r, err := Start(k, ns, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = r
	}
	DumpOnFailure(t, rs...)
	for i, r := range rs {
		for j := range rs {
			if j != i {
				WaitEstablished(t, r, addr(j))
				WaitEstablished(t, r, addr6(j))
			}
		}
	}
	for i, r := range rs {
		for j := range rs {
			if j != i {
				WaitRoute(t, r, IPv4Unicast, own(j), hasPath(addr(j), uint32(65001+j)))
				WaitRoute(t, r, IPv6Unicast, own6(j), hasPath(addr6(j), uint32(65001+j)))
			}
		}
	}
	// The shared prefix: FRR and BIRD see it from every neighbour.
	for _, r := range rs[:2] {
		WaitRoute(t, r, IPv4Unicast, shared, func(ps []Path) bool { return len(ps) >= len(kinds) })
	}
}

// TestFRRRejectsBadConfig: FRR starts even when it skips configuration
// lines; StartFRR must notice instead of leaving a test to time out.
func TestFRRRejectsBadConfig(t *testing.T) {
	Require(t, KindFRR)
	ns := netns.New(t, "frr")
	_, err := StartFRR(ns, Config{RouterID: addrA, LocalAS: 65001, Extra: "router bgp 65001\n neighbor 10.0.0.9 no-such-option"})
	if err == nil || !strings.Contains(err.Error(), "config line") {
		t.Fatalf("StartFRR = %v, want an error quoting the rejected line", err)
	}
}
