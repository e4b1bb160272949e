package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
	"github.com/google/go-cmp/cmp"
)

// TestEvaluationOrder covers how statements follow each other: next (given
// or implied) goes on keeping the changes, accept and reject end, falling
// off the end rejects.
func TestEvaluationOrder(t *testing.T) {
	const spec = `statements:
- name: tag
  actions: {set: {communities: {add: ["65000:1"]}}}
- name: drop-private-path
  conditions: {asPathRegex: "_64999_"}
  actions: {result: reject}
- name: prefer-tagged
  conditions: {communities: ["65000:1"], prefixSet: [{prefix: 10.0.0.0/8, le: 24}]}
  actions: {set: {localPreference: 200}, result: next}
- name: prepend
  conditions: {prefixSet: [{prefix: 10.1.0.0/16, le: 24}]}
  actions: {set: {asPathPrepend: 2, nextHop: self}}
- name: long-paths-out
  conditions: {asPathLength: {min: 4}}
  actions: {set: {nextHop: peer}, result: accept}
- name: short-paths
  conditions: {asPathRegex: "^65010_65010_65001$"}
  actions: {result: accept}
- name: v4-only
  conditions: {families: [ipv4-unicast]}
  actions: {set: {med: 1}, result: accept}
`
	p := policyOf(t, spec)
	type want struct {
		Accept    bool
		Statement string
		Attrs     string
		Changed   bool
		NextHop   string
		Trace     []string // name:result or name:!failed
	}
	tests := []struct {
		name   string
		prefix string
		attrs  string
		modify func(*Route)
		want   want
	}{
		{"rejected after a change keeps the original list", "192.0.2.0/24", "origin igp; aspath 65001 64999", nil,
			want{false, "drop-private-path", "origin igp; aspath 65001 64999", false, "",
				[]string{"tag:next", "drop-private-path:reject"}}},
		{"changes carry to later statements", "10.2.0.0/24", "origin igp; aspath 65001 65002", nil,
			want{true, "v4-only", "origin igp; aspath 65001 65002; med 1; lp 200; comm 65000:1", true, "",
				[]string{"tag:next", "drop-private-path:!asPathRegex", "prefer-tagged:next", "prepend:!prefixSet",
					"long-paths-out:!asPathLength", "short-paths:!asPathRegex", "v4-only:accept"}}},
		{"a prepend is seen by asPathLength", "10.1.2.0/24", "origin igp; aspath 65001 65002", nil,
			want{true, "long-paths-out", "origin igp; aspath 65010 65010 65001 65002; lp 200; comm 65000:1", true, "peer",
				[]string{"tag:next", "drop-private-path:!asPathRegex", "prefer-tagged:next", "prepend:next", "long-paths-out:accept"}}},
		{"a prepend is seen by asPathRegex", "10.1.2.0/24", "origin igp; aspath 65001", nil,
			want{true, "short-paths", "origin igp; aspath 65010 65010 65001; lp 200; comm 65000:1", true, "self",
				[]string{"tag:next", "drop-private-path:!asPathRegex", "prefer-tagged:next", "prepend:next",
					"long-paths-out:!asPathLength", "short-paths:accept"}}},
		{"falls off the end", "2001:db8::/32", "origin igp; aspath 65001", func(r *Route) { r.Family = nlri.IPv6Unicast },
			want{false, "", "origin igp; aspath 65001", false, "",
				[]string{"tag:next", "drop-private-path:!asPathRegex", "prefer-tagged:!prefixSet", "prepend:!prefixSet",
					"long-paths-out:!asPathLength", "short-paths:!asPathRegex", "v4-only:!families"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := route4(t, tt.prefix, tt.attrs)
			if tt.modify != nil {
				tt.modify(r)
			}
			res, tr := p.Trace(r, Env{LocalAS: 65010})
			var steps []string
			for _, s := range tr {
				if s.Matched {
					steps = append(steps, s.Name+":"+s.Result)
				} else {
					steps = append(steps, s.Name+":!"+s.FailedCondition)
				}
			}
			got := want{res.Accept, res.Statement, render(res.Attrs), res.Changed, res.NextHop.String(), steps}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			ev := p.Eval(r, Env{LocalAS: 65010})
			if ev.Accept != res.Accept || ev.Statement != res.Statement || render(ev.Attrs) != render(res.Attrs) ||
				ev.Changed != res.Changed || ev.NextHop != res.NextHop {
				t.Errorf("Eval %+v differs from Trace %+v", ev, res)
			}
		})
	}
}

func TestResultKinds(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		wantAccept bool
		wantStmt   string
	}{
		{"accept-all", "statements:\n- name: all\n  actions: {result: accept}\n", true, "all"},
		{"reject-all", "statements:\n- name: none\n  actions: {result: reject}\n", false, "none"},
		{"only next falls off the end", "statements:\n- name: a\n  actions: {result: next}\n- name: b\n  actions: {set: {med: 5}}\n", false, ""},
		{"no actions at all is next", "statements:\n- name: a\n- name: b\n  actions: {result: accept}\n", true, "b"},
		{"first match wins", "statements:\n- name: a\n  actions: {result: accept}\n- name: b\n  actions: {result: reject}\n", true, "a"},
		{"no match falls off the end", "statements:\n- name: a\n  conditions: {communities: [\"1:1\"]}\n  actions: {result: accept}\n", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyOf(t, tt.spec)
			res := p.Eval(route4(t, "10.0.0.0/8", "origin igp"), Env{})
			if res.Accept != tt.wantAccept || res.Statement != tt.wantStmt {
				t.Errorf("got accept %v by %q, want %v by %q", res.Accept, res.Statement, tt.wantAccept, tt.wantStmt)
			}
			if !res.Accept && (res.Changed || res.NextHop != (NextHopAction{})) {
				t.Errorf("rejected route reports changes: %+v", res)
			}
		})
	}
}

func TestNextHopLastWins(t *testing.T) {
	p := policyOf(t, `statements:
- name: a
  actions: {set: {nextHop: self}}
- name: b
  actions: {set: {nextHop: 192.0.2.77}}
- name: c
  actions: {result: accept}
`)
	res := p.Eval(route4(t, "10.0.0.0/8", "origin igp"), Env{})
	want := NextHopAction{Mode: "address", Addr: netip.MustParseAddr("192.0.2.77")}
	if res.NextHop != want || res.Changed {
		t.Errorf("got %+v, want next hop %v and no attribute change", res, want)
	}
}

func TestDependence(t *testing.T) {
	tests := []struct {
		name           string
		cond           string
		prefix, nextHp bool
	}{
		{"communities only", `{communities: ["1:1"], asPathRegex: "_1_", neighbor: 192.0.2.1, routeType: ebgp, origin: igp}`, false, false},
		{"prefixSet", `{prefixSet: [{prefix: 10.0.0.0/8}]}`, true, false},
		{"families", `{families: [ipv4-unicast]}`, true, false},
		{"nextHop", `{nextHop: 192.0.2.1}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyOf(t, "statements:\n- name: s\n  conditions: "+tt.cond+"\n  actions: {result: accept}\n")
			if p.PrefixDependent() != tt.prefix || p.NextHopDependent() != tt.nextHp {
				t.Errorf("PrefixDependent %v NextHopDependent %v, want %v %v", p.PrefixDependent(), p.NextHopDependent(), tt.prefix, tt.nextHp)
			}
			if p.Name() != "test" {
				t.Errorf("Name %q", p.Name())
			}
		})
	}
}

// TestCompileErrors feeds Compile specs that config would reject (built in
// Go, not parsed); it must return an error and not panic.
func TestCompileErrors(t *testing.T) {
	four := 4
	tests := []struct {
		name string
		spec *config.RoutePolicySpec
		want string
	}{
		{"nil spec", nil, "no spec"},
		{"bad result", stmt(config.Statement{Actions: config.Actions{Result: "maybe"}}), "result"},
		{"bad regex", stmt(config.Statement{Conditions: &config.Conditions{ASPathRegex: "(_"}}), "asPathRegex"},
		{"bad origin", stmt(config.Statement{Conditions: &config.Conditions{Origin: "bgp"}}), "origin"},
		{"bad route type", stmt(config.Statement{Conditions: &config.Conditions{RouteType: "static"}}), "routeType"},
		{"bad family", stmt(config.Statement{Conditions: &config.Conditions{Families: []config.Family{"ipx"}}}), "families"},
		{"no prefix", stmt(config.Statement{Conditions: &config.Conditions{PrefixSet: []config.PrefixMatch{{Ge: &four}}}}), "prefixSet"},
		{"bad next hop mode", stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{NextHop: config.NextHop{Mode: "there"}}}}), "nextHop"},
		{"address mode without address", stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{NextHop: config.NextHop{Mode: "address"}}}}), "nextHop"},
		{"bad extended community", stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{
			ExtendedCommunities: &config.ListActions[config.ExtendedCommunity]{Add: []config.ExtendedCommunity{{SubType: "rt", Value: config.RouteTarget{Type: 0, ASN: 70000}}}}}}}), "extendedCommunities"},
		{"replace with add", stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{
			Communities: &config.ListActions[config.Community]{Add: []config.Community{1}, Replace: []config.Community{2}}}}}), "replace"},
		{"prepend too many", stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{ASPathPrepend: 1000}}}), "asPathPrepend"},
		{"prepend AS 0", stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{ASPathPrependASNs: []config.ASN{0}}}}), "asPathPrependASNs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile("bad", tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile = %v, %v; want an error about %s", p, err, tt.want)
			}
		})
	}
	// Odd but harmless specs compile.
	for _, spec := range []*config.RoutePolicySpec{
		{},
		stmt(config.Statement{Conditions: &config.Conditions{}, Actions: config.Actions{Set: &config.SetActions{}}}),
		stmt(config.Statement{Conditions: &config.Conditions{ASPathLength: &config.LengthRange{}, Neighbor: config.PrefixList{{}}}}),
		stmt(config.Statement{Actions: config.Actions{Set: &config.SetActions{Communities: &config.ListActions[config.Community]{}}}}),
	} {
		p, err := Compile("odd", spec)
		if err != nil {
			t.Errorf("Compile(%+v): %v", spec, err)
			continue
		}
		p.Eval(route4(t, "10.0.0.0/8", "origin igp"), Env{})
	}
}

func stmt(s config.Statement) *config.RoutePolicySpec {
	if s.Name == "" {
		s.Name = "s"
	}
	return &config.RoutePolicySpec{Statements: []config.Statement{s}}
}

// everyAction is a policy that runs every condition and every action.
const everyAction = `statements:
- name: drop-bogons
  conditions: {prefixSet: [{prefix: 0.0.0.0/0, ge: 25}, {prefix: 10.0.0.0/8, le: 32}]}
  actions: {result: reject}
- name: strip
  actions:
    set:
      removePrivateAS: true
      communities: {remove: ["65000:666", no-export]}
      largeCommunities: {remove: ["65000:0:1"]}
      extendedCommunities: {remove: ["rt:65000:1"]}
- name: tag
  conditions: {routeType: ebgp, neighbor: 0.0.0.0/0, nextHop: 0.0.0.0/0, origin: igp}
  actions:
    set:
      communities: {add: ["65010:1"]}
      largeCommunities: {add: ["65010:1:1"]}
      extendedCommunities: {add: ["soo:65010:1"]}
- name: prefer
  conditions: {communities: ["65010:1", "65001:100"], largeCommunities: ["65010:1:1"], asPathLength: {max: 6}}
  actions: {set: {localPreference: 300, med: 0}}
- name: long
  conditions: {asPathRegex: "_(65001|65002)_", families: [ipv4-unicast, ipv6-unicast]}
  actions: {set: {asPathPrepend: 2, nextHop: self}, result: accept}
- name: replace
  conditions: {origin: incomplete}
  actions: {set: {communities: {replace: ["65010:9"]}, asPathPrependASNs: [65010, 65011]}, result: accept}
- name: rest
  conditions: {asPathLength: {min: 1}}
  actions: {result: accept}
`

// TestNoMutation runs every action over decoded attribute lists (whose
// values share one decoder block, as interned ones share memory) from many
// goroutines at once: the lists must come out exactly as they went in, and
// the race detector must see no write.
func TestNoMutation(t *testing.T) {
	p := policyOf(t, everyAction)
	texts := []string{
		"origin igp; aspath 65001 64512 65002; nh 192.0.2.1; comm 65000:666 65001:100 65535:65281; large 65000:0:1; ext rt:65000:1 rt:65000:2",
		"origin incomplete; aspath 3356 {64513,174}; comm 65000:666",
		"origin igp; aspath 64512; lp 50; med 7",
		"origin egp",
		"origin igp; aspath 65002 65002 65002 65002 65002 65002 65002",
	}
	var routes []*Route
	for _, text := range texts {
		// Encode, then decode with the wire decoder.
		b := attr.AppendList(nil, attrsOf(t, text), attr.Options{AS4: true})
		l, faults := attr.Decode(b, attr.Options{AS4: true})
		if len(faults) > 0 {
			t.Fatalf("decode %q: %v", text, faults)
		}
		for _, prefix := range []string{"192.0.2.0/24", "10.1.0.0/16", "198.51.100.0/25"} {
			r := route4(t, prefix, "")
			r.Attrs = l
			routes = append(routes, r)
		}
	}
	snaps := make([]snapshot, len(routes))
	for i, r := range routes {
		snaps[i] = takeSnapshot(r.Attrs)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				for _, r := range routes {
					res := p.Eval(r, Env{LocalAS: 64600})
					if res.Changed {
						// Results are independent of each other too.
						if a, ok := res.Attrs.Communities(); ok {
							_ = a.Values[0]
						}
					}
					p.Trace(r, Env{LocalAS: 64600})
				}
			}
		})
	}
	wg.Wait()
	changed := 0
	for i, r := range routes {
		if !takeSnapshot(r.Attrs).equal(snaps[i]) {
			t.Errorf("route %d (%s): attributes modified", i, texts[i/3])
		}
		if p.Eval(r, Env{LocalAS: 64600}).Changed {
			changed++
		}
	}
	if changed == 0 {
		t.Errorf("no route changed; the test does not test much")
	}
}

// TestNoAllocs checks that evaluations without set actions allocate
// nothing, whatever conditions they check, and that one that changes the
// attributes allocates only what it builds.
func TestNoAllocs(t *testing.T) {
	bigSet := "prefixSet: ["
	for i := range 40 {
		if i > 0 {
			bigSet += ", "
		}
		bigSet += fmt.Sprintf("{prefix: 172.%d.%d.0/24, le: 28}", 16+i%16, i)
	}
	bigSet += "]"
	p := policyOf(t, `statements:
- name: bogons
  conditions: {prefixSet: [{prefix: 10.0.0.0/8, le: 32}, {prefix: 0.0.0.0/0, ge: 25}]}
  actions: {result: reject}
- name: big
  conditions: {`+bigSet+`}
  actions: {result: reject}
- name: regex
  conditions: {asPathRegex: "_6451[2-9]_", communities: ["1:3", "1:2"]}
  actions: {result: reject}
- name: more
  conditions: {asPathRegex: "^65009_", largeCommunities: ["1:1:2"], asPathLength: {max: 3}, origin: igp, neighbor: 192.0.2.0/24, nextHop: 192.0.2.1, routeType: ebgp, families: [ipv4-unicast]}
  actions: {result: reject}
- name: set
  conditions: {communities: ["65000:1"]}
  actions: {set: {localPreference: 200}, result: accept}
- name: rest
  actions: {result: accept}
`)
	lastCond := map[string]string{"big": condPrefixSet, "regex": condASPathRegex, "more": condASPathRegex}
	plain := route4(t, "198.51.100.0/24", "origin igp; aspath 65001 65002 65003; comm 1:3 65000:2; large 1:1:2")
	tagged := route4(t, "198.51.100.0/24", "origin igp; aspath 65001 65002 65003; comm 1:3 65000:1; large 1:1:2")
	for _, tt := range []struct {
		name  string
		r     *Route
		max   float64
		state string
	}{
		{"no set action", plain, 0, "rest"},
		{"set local-pref", tagged, 1, "set"},
	} {
		p.Eval(tt.r, Env{}) // fill the buffer pool
		var res Result
		n := testing.AllocsPerRun(200, func() { res = p.Eval(tt.r, Env{}) })
		if n > tt.max && !raceEnabled {
			t.Errorf("%s: %v allocations per Eval, want at most %v", tt.name, n, tt.max)
		}
		if res.Statement != tt.state {
			t.Errorf("%s: decided by %q, want %q", tt.name, res.Statement, tt.state)
		}
		// Every statement before the deciding one failed only at its last
		// condition, so all of them were checked.
		_, tr := p.Trace(tt.r, Env{})
		for _, s := range tr[1:4] {
			if s.FailedCondition != lastCond[s.Name] {
				t.Errorf("%s: statement %s failed at %q, want %q", tt.name, s.Name, s.FailedCondition, lastCond[s.Name])
			}
		}
	}
}
