package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestConditions runs a one-statement policy (the conditions given, result
// accept) over routes, and checks which condition failed first ("" when all
// held and the route was accepted).
func TestConditions(t *testing.T) {
	v6 := func(r *Route) {
		r.Family = nlri.IPv6Unicast
		r.Prefix = netip.MustParsePrefix("2001:db8:1::/48")
		r.NextHop = netip.MustParseAddr("2001:db8::1")
		r.Neighbor = netip.MustParseAddr("2001:db8::1")
	}
	prefix := func(p string) func(*Route) {
		return func(r *Route) { r.Prefix = netip.MustParsePrefix(p) }
	}
	tests := []struct {
		name   string
		cond   string // YAML flow mapping of the conditions
		attrs  string
		modify func(*Route)
		want   string // the condition that fails first, "" for a match
	}{
		// prefixSet
		{"prefixSet/exact", `{prefixSet: [{prefix: 10.0.0.0/8}]}`, "", prefix("10.0.0.0/8"), ""},
		{"prefixSet/exact does not match longer", `{prefixSet: [{prefix: 10.0.0.0/8}]}`, "", prefix("10.1.0.0/16"), condPrefixSet},
		{"prefixSet/exact does not match shorter", `{prefixSet: [{prefix: 10.0.0.0/8}]}`, "", prefix("10.0.0.0/7"), condPrefixSet},
		{"prefixSet/ge only: up to /32", `{prefixSet: [{prefix: 10.0.0.0/8, ge: 24}]}`, "", prefix("10.9.9.9/32"), ""},
		{"prefixSet/ge only: below ge", `{prefixSet: [{prefix: 10.0.0.0/8, ge: 24}]}`, "", prefix("10.9.0.0/23"), condPrefixSet},
		{"prefixSet/le only: from the prefix length", `{prefixSet: [{prefix: 10.0.0.0/8, le: 16}]}`, "", prefix("10.0.0.0/8"), ""},
		{"prefixSet/le only: at le", `{prefixSet: [{prefix: 10.0.0.0/8, le: 16}]}`, "", prefix("10.200.0.0/16"), ""},
		{"prefixSet/le only: beyond le", `{prefixSet: [{prefix: 10.0.0.0/8, le: 16}]}`, "", prefix("10.200.1.0/24"), condPrefixSet},
		{"prefixSet/ge and le: inside", `{prefixSet: [{prefix: 10.0.0.0/8, ge: 16, le: 24}]}`, "", prefix("10.1.2.0/24"), ""},
		{"prefixSet/ge and le: shorter", `{prefixSet: [{prefix: 10.0.0.0/8, ge: 16, le: 24}]}`, "", prefix("10.0.0.0/15"), condPrefixSet},
		{"prefixSet/ge and le: longer", `{prefixSet: [{prefix: 10.0.0.0/8, ge: 16, le: 24}]}`, "", prefix("10.1.2.0/25"), condPrefixSet},
		{"prefixSet/ge equals le", `{prefixSet: [{prefix: 10.0.0.0/8, ge: 24, le: 24}]}`, "", prefix("10.1.2.0/24"), ""},
		{"prefixSet/outside", `{prefixSet: [{prefix: 10.0.0.0/8, le: 32}]}`, "", prefix("11.0.0.0/24"), condPrefixSet},
		{"prefixSet/any entry", `{prefixSet: [{prefix: 10.0.0.0/8}, {prefix: 192.168.0.0/16, le: 24}]}`, "", prefix("192.168.7.0/24"), ""},
		{"prefixSet/default route", `{prefixSet: [{prefix: 0.0.0.0/0}]}`, "", prefix("0.0.0.0/0"), ""},
		{"prefixSet/everything v4", `{prefixSet: [{prefix: 0.0.0.0/0, le: 32}]}`, "", prefix("203.0.113.7/32"), ""},
		{"prefixSet/v4 entry, v6 route", `{prefixSet: [{prefix: 0.0.0.0/0, le: 32}]}`, "", v6, condPrefixSet},
		{"prefixSet/v6", `{prefixSet: [{prefix: "2001:db8::/32", ge: 48, le: 48}]}`, "", v6, ""},
		{"prefixSet/no prefix (VPN route)", `{prefixSet: [{prefix: 0.0.0.0/0, le: 32}]}`, "", func(r *Route) {
			r.Family, r.Prefix = nlri.IPv4VPN, netip.Prefix{}
		}, condPrefixSet},

		// asPathRegex
		{"asPathRegex/first AS", `{asPathRegex: "^65001_"}`, "aspath 65001 65002", nil, ""},
		{"asPathRegex/first AS only", `{asPathRegex: "^65001_"}`, "aspath 650011 65002", nil, condASPathRegex},
		{"asPathRegex/origin AS", `{asPathRegex: "_65002$"}`, "aspath 65001 65002", nil, ""},
		{"asPathRegex/anywhere", `{asPathRegex: "_65002_"}`, "aspath 65001 65002 65003", nil, ""},
		{"asPathRegex/not a substring", `{asPathRegex: "_5002_"}`, "aspath 65001 65002 65003", nil, condASPathRegex},
		{"asPathRegex/single AS path", `{asPathRegex: "_65001_"}`, "aspath 65001", nil, ""},
		{"asPathRegex/in an AS_SET (brace)", `{asPathRegex: "_65003_"}`, "aspath 65001 {65003,65004}", nil, ""},
		{"asPathRegex/in an AS_SET (comma)", `{asPathRegex: "_65004_"}`, "aspath 65001 {65003,65004}", nil, ""},
		{"asPathRegex/FRR text of a set", `{asPathRegex: "^65001 \\{65003,65004\\}$"}`, "aspath 65001 {65003,65004}", nil, ""},
		{"asPathRegex/empty path", `{asPathRegex: "^$"}`, "aspath", nil, ""},
		{"asPathRegex/no AS_PATH is the empty path", `{asPathRegex: "^$"}`, "origin igp", nil, ""},
		{"asPathRegex/empty path does not match an AS", `{asPathRegex: "_65001_"}`, "aspath", nil, condASPathRegex},
		{"asPathRegex/sequence of two", `{asPathRegex: "_65001_65002_"}`, "aspath 64999 65001 65002 65003", nil, ""},
		{"asPathRegex/prepended", `{asPathRegex: "^(65001_)+65002$"}`, "aspath 65001 65001 65001 65002", nil, ""},
		{"asPathRegex/range class", `{asPathRegex: "_6451[2-9]_"}`, "aspath 65001 64513 65002", nil, ""},
		{"asPathRegex/4-octet", `{asPathRegex: "_4200000001$"}`, "aspath 65001 4200000001", nil, ""},

		// communities
		{"communities/one of them", `{communities: ["65100:1", "65100:2"]}`, "comm 65000:9 65100:2", nil, ""},
		{"communities/none of them", `{communities: ["65100:1", "65100:2"]}`, "comm 65000:9 65100:3", nil, condCommunities},
		{"communities/no attribute", `{communities: ["65100:1"]}`, "origin igp", nil, condCommunities},
		{"communities/well-known name", `{communities: [no-export]}`, "comm 65535:65281", nil, ""},
		{"communities/blackhole", `{communities: [blackhole]}`, "comm 65535:666", nil, ""},
		{"communities/graceful-shutdown", `{communities: [graceful-shutdown]}`, "comm 65535:0", nil, ""},
		{"communities/many (binary search)", `{communities: ["1:1", "1:2", "1:3", "1:4", "1:5", "1:6", "1:7", "1:8", "1:9", "1:10"]}`,
			"comm 2:2 1:7", nil, ""},
		{"communities/many, none", `{communities: ["1:1", "1:2", "1:3", "1:4", "1:5", "1:6", "1:7", "1:8", "1:9", "1:10"]}`,
			"comm 2:2 1:11", nil, condCommunities},

		// largeCommunities
		{"largeCommunities/one of them", `{largeCommunities: ["65100:1:1", "65100:1:2"]}`, "large 1:2:3 65100:1:2", nil, ""},
		{"largeCommunities/none", `{largeCommunities: ["65100:1:1"]}`, "large 65100:1:2", nil, condLargeCommunities},
		{"largeCommunities/no attribute", `{largeCommunities: ["65100:1:1"]}`, "comm 65100:1", nil, condLargeCommunities},

		// neighbor
		{"neighbor/address", `{neighbor: 192.0.2.1}`, "", nil, ""},
		{"neighbor/other address", `{neighbor: 192.0.2.2}`, "", nil, condNeighbor},
		{"neighbor/prefix", `{neighbor: [198.51.100.0/24, 192.0.2.0/24]}`, "", nil, ""},
		{"neighbor/local route has none", `{neighbor: 0.0.0.0/0}`, "", func(r *Route) {
			r.Type, r.Neighbor = Local, netip.Addr{}
		}, condNeighbor},
		{"neighbor/v6", `{neighbor: "2001:db8::/64"}`, "", v6, ""},

		// nextHop
		{"nextHop/address", `{nextHop: 192.0.2.1}`, "", nil, ""},
		{"nextHop/prefix", `{nextHop: 192.0.2.0/30}`, "", nil, ""},
		{"nextHop/other", `{nextHop: 192.0.2.128/25}`, "", nil, condNextHop},
		{"nextHop/falls back to NEXT_HOP", `{nextHop: 203.0.113.9}`, "nh 203.0.113.9", func(r *Route) { r.NextHop = netip.Addr{} }, ""},
		{"nextHop/Route.NextHop wins over NEXT_HOP", `{nextHop: 203.0.113.9}`, "nh 203.0.113.9", nil, condNextHop},
		{"nextHop/none at all", `{nextHop: 0.0.0.0/0}`, "", func(r *Route) { r.NextHop = netip.Addr{} }, condNextHop},

		// origin
		{"origin/igp", `{origin: igp}`, "origin igp", nil, ""},
		{"origin/egp", `{origin: egp}`, "origin egp", nil, ""},
		{"origin/incomplete", `{origin: incomplete}`, "origin incomplete", nil, ""},
		{"origin/mismatch", `{origin: igp}`, "origin incomplete", nil, condOrigin},
		{"origin/missing", `{origin: igp}`, "aspath 1", nil, condOrigin},

		// routeType
		{"routeType/ebgp", `{routeType: ebgp}`, "", nil, ""},
		{"routeType/ibgp", `{routeType: ibgp}`, "", func(r *Route) { r.Type = IBGP }, ""},
		{"routeType/local", `{routeType: local}`, "", func(r *Route) { r.Type = Local }, ""},
		{"routeType/mismatch", `{routeType: ibgp}`, "", nil, condRouteType},

		// asPathLength
		{"asPathLength/min holds", `{asPathLength: {min: 2}}`, "aspath 1 2", nil, ""},
		{"asPathLength/below min", `{asPathLength: {min: 3}}`, "aspath 1 2", nil, condASPathLength},
		{"asPathLength/max holds (inclusive)", `{asPathLength: {max: 2}}`, "aspath 1 2", nil, ""},
		{"asPathLength/above max", `{asPathLength: {max: 1}}`, "aspath 1 2", nil, condASPathLength},
		{"asPathLength/min and max", `{asPathLength: {min: 2, max: 4}}`, "aspath 1 2 3 4", nil, ""},
		{"asPathLength/a set counts one", `{asPathLength: {max: 2}}`, "aspath 1 {2,3,4,5}", nil, ""},
		{"asPathLength/confederation counts zero", `{asPathLength: {max: 1}}`, "aspath (64512 64513) 1", nil, ""},
		{"asPathLength/no AS_PATH is length 0", `{asPathLength: {max: 0}}`, "origin igp", nil, ""},
		{"asPathLength/empty range", `{asPathLength: {}}`, "aspath 1 2 3", nil, ""},

		// families
		{"families/v4", `{families: [ipv4-unicast]}`, "", nil, ""},
		{"families/v6 route", `{families: [ipv4-unicast]}`, "", v6, condFamilies},
		{"families/any of", `{families: [ipv4-unicast, ipv6-unicast]}`, "", v6, ""},
		{"families/evpn", `{families: [l2vpn-evpn]}`, "", func(r *Route) { r.Family, r.Prefix = nlri.L2VPNEVPN, netip.Prefix{} }, ""},

		// All conditions of a statement must hold; the first failing one
		// is reported, in the documented order.
		{"all/every condition holds", `{families: [ipv4-unicast], routeType: ebgp, neighbor: 192.0.2.0/24, nextHop: 192.0.2.1,
  prefixSet: [{prefix: 10.0.0.0/8, le: 24}], origin: igp, asPathLength: {min: 1, max: 3},
  communities: ["65000:1"], largeCommunities: ["65000:1:1"], asPathRegex: "^65001_"}`,
			"origin igp; aspath 65001 65002; comm 65000:1; large 65000:1:1", prefix("10.1.0.0/16"), ""},
		{"all/regex fails last", `{families: [ipv4-unicast], routeType: ebgp, neighbor: 192.0.2.0/24, nextHop: 192.0.2.1,
  prefixSet: [{prefix: 10.0.0.0/8, le: 24}], origin: igp, asPathLength: {min: 1, max: 3},
  communities: ["65000:1"], largeCommunities: ["65000:1:1"], asPathRegex: "^65009_"}`,
			"origin igp; aspath 65001 65002; comm 65000:1; large 65000:1:1", prefix("10.1.0.0/16"), condASPathRegex},
		{"all/first failure reported", `{prefixSet: [{prefix: 10.0.0.0/8}], origin: egp, communities: ["1:1"]}`,
			"origin igp", prefix("11.0.0.0/8"), condPrefixSet},
		{"all/origin before communities", `{origin: egp, communities: ["1:1"]}`, "origin igp", nil, condOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyOf(t, fmt.Sprintf("statements:\n- name: s\n  conditions: %s\n  actions: {result: accept}\n", tt.cond))
			r := route4(t, "10.0.0.0/8", tt.attrs)
			if tt.modify != nil {
				tt.modify(r)
			}
			res, tr := p.Trace(r, Env{LocalAS: 65010})
			if len(tr) != 1 {
				t.Fatalf("trace has %d statements, want 1", len(tr))
			}
			if got := tr[0].FailedCondition; got != tt.want {
				t.Errorf("failed condition %q, want %q", got, tt.want)
			}
			if res.Accept != (tt.want == "") || tr[0].Matched != (tt.want == "") {
				t.Errorf("accept %v, matched %v; want %v", res.Accept, tr[0].Matched, tt.want == "")
			}
			if ev := p.Eval(r, Env{LocalAS: 65010}); ev.Accept != res.Accept || ev.Statement != res.Statement {
				t.Errorf("Eval %+v differs from Trace %+v", ev, res)
			}
		})
	}
}

// TestPrefixSetForms checks that both forms of a prefix set, scanned
// (small) and indexed (large), agree with config.PrefixMatch.Matches.
func TestPrefixSetForms(t *testing.T) {
	for _, n := range []int{3, scanMax, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testPrefixSet(t, n) })
	}
}

func testPrefixSet(t *testing.T, size int) {
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	randPrefix := func(v6 bool, minBits int) netip.Prefix {
		if v6 {
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			b[4], b[5] = byte(rng.IntN(4)), byte(rng.IntN(4))
			bits := minBits + rng.IntN(64-minBits+1)
			return netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
		}
		// A small address space, so that entries and routes overlap.
		a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4)), byte(rng.IntN(256))})
		return netip.PrefixFrom(a, minBits+rng.IntN(32-minBits+1)).Masked()
	}
	var ms []config.PrefixMatch
	for range size {
		v6 := rng.IntN(4) == 0
		p := randPrefix(v6, 8)
		m := config.PrefixMatch{Prefix: p}
		max := p.Addr().BitLen()
		switch rng.IntN(4) {
		case 1:
			ge := p.Bits() + rng.IntN(max-p.Bits()+1)
			m.Ge = &ge
		case 2:
			le := p.Bits() + rng.IntN(max-p.Bits()+1)
			m.Le = &le
		case 3:
			ge := p.Bits() + rng.IntN(max-p.Bits()+1)
			le := ge + rng.IntN(max-ge+1)
			m.Ge, m.Le = &ge, &le
		}
		ms = append(ms, m)
	}
	ps, err := compilePrefixSet(ms)
	if err != nil {
		t.Fatal(err)
	}
	if (ps.index != nil) != (size > scanMax) {
		t.Fatalf("a set of %d entries indexed: %v", size, ps.index != nil)
	}
	matched := 0
	for range 20000 {
		q := randPrefix(rng.IntN(4) == 0, 0)
		want := false
		for _, m := range ms {
			if m.Matches(q) {
				want = true
				break
			}
		}
		if got := ps.match(q); got != want {
			t.Fatalf("match(%s) = %v, want %v", q, got, want)
		}
		if want {
			matched++
		}
	}
	if matched < 20 {
		t.Errorf("only %d of the random prefixes matched; the test does not test much", matched)
	}
}
