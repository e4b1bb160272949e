package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/google/go-cmp/cmp"
)

// TestActions runs a one-statement policy (no conditions, the set actions
// given, result accept) and checks the attributes that come out.
func TestActions(t *testing.T) {
	type want struct {
		Attrs   string
		Changed bool
		NextHop string
	}
	tests := []struct {
		name  string
		set   string // YAML flow mapping of actions.set
		attrs string
		env   Env
		want  want
		desc  []string // Trace's Set, when given
	}{
		// localPreference and med
		{"localPreference/added", `{localPreference: 250}`, "origin igp; aspath 1",
			Env{}, want{"origin igp; aspath 1; lp 250", true, ""}, []string{"localPreference 250"}},
		{"localPreference/replaced", `{localPreference: 250}`, "origin igp; lp 100; comm 1:1",
			Env{}, want{"origin igp; lp 250; comm 1:1", true, ""}, nil},
		{"localPreference/same value is no change", `{localPreference: 100}`, "origin igp; lp 100",
			Env{}, want{"origin igp; lp 100", false, ""}, []string{"localPreference 100"}},
		{"localPreference/zero", `{localPreference: 0}`, "lp 100",
			Env{}, want{"lp 0", true, ""}, nil},
		{"med/added", `{med: 10}`, "origin igp; aspath 1; lp 5",
			Env{}, want{"origin igp; aspath 1; med 10; lp 5", true, ""}, []string{"med 10"}},
		{"med/replaced", `{med: 4294967295}`, "med 1",
			Env{}, want{"med 4294967295", true, ""}, nil},
		{"med/same value", `{med: 1}`, "med 1",
			Env{}, want{"med 1", false, ""}, nil},
		{"localPreference and med", `{localPreference: 7, med: 8}`, "origin igp",
			Env{}, want{"origin igp; med 8; lp 7", true, ""}, []string{"localPreference 7", "med 8"}},

		// nextHop is reported, not applied.
		{"nextHop/self", `{nextHop: self}`, "origin igp; nh 192.0.2.1",
			Env{}, want{"origin igp; nh 192.0.2.1", false, "self"}, []string{"nextHop self"}},
		{"nextHop/peer", `{nextHop: peer}`, "origin igp", Env{}, want{"origin igp", false, "peer"}, nil},
		{"nextHop/unchanged", `{nextHop: unchanged}`, "origin igp", Env{}, want{"origin igp", false, "unchanged"}, nil},
		{"nextHop/address", `{nextHop: 203.0.113.1}`, "origin igp",
			Env{}, want{"origin igp", false, "203.0.113.1"}, []string{"nextHop 203.0.113.1"}},
		{"nextHop/v6 address", `{nextHop: "2001:db8::9"}`, "origin igp", Env{}, want{"origin igp", false, "2001:db8::9"}, nil},

		// communities
		{"communities/add creates the attribute", `{communities: {add: ["65000:2", "65000:1"]}}`, "origin igp",
			Env{}, want{"origin igp; comm 65000:1 65000:2", true, ""}, []string{"communities add 65000:2 65000:1"}},
		{"communities/add sorts and de-duplicates", `{communities: {add: ["65000:2"]}}`, "comm 65000:9 65000:1 65000:9",
			Env{}, want{"comm 65000:1 65000:2 65000:9", true, ""}, nil},
		{"communities/add of a present one is no change", `{communities: {add: ["65000:1"]}}`, "comm 65000:9 65000:1",
			Env{}, want{"comm 65000:9 65000:1", false, ""}, nil},
		{"communities/add well-known names", `{communities: {add: [no-export, no-advertise, no-export-subconfed, no-peer, blackhole, graceful-shutdown, accept-own]}}`,
			"comm 1:1", Env{}, want{"comm 1:1 65535:0 65535:1 65535:666 65535:65281 65535:65282 65535:65283 65535:65284", true, ""},
			[]string{"communities add no-export no-advertise no-export-subconfed no-peer blackhole graceful-shutdown accept-own"}},
		{"communities/remove", `{communities: {remove: ["65000:1"]}}`, "origin igp; comm 65000:9 65000:1",
			Env{}, want{"origin igp; comm 65000:9", true, ""}, []string{"communities remove 65000:1"}},
		{"communities/remove of an absent one is no change", `{communities: {remove: ["65000:2"]}}`, "comm 65000:9 65000:1",
			Env{}, want{"comm 65000:9 65000:1", false, ""}, nil},
		{"communities/remove without the attribute", `{communities: {remove: ["65000:2"]}}`, "origin igp",
			Env{}, want{"origin igp", false, ""}, nil},
		{"communities/remove the last one drops the attribute", `{communities: {remove: ["65000:1", "65000:9"]}}`, "origin igp; comm 65000:9 65000:1; lp 5",
			Env{}, want{"origin igp; lp 5", true, ""}, nil},
		{"communities/remove duplicates too", `{communities: {remove: ["65000:1"]}}`, "comm 65000:1 65000:1",
			Env{}, want{"", true, ""}, nil},
		{"communities/remove then add", `{communities: {remove: ["65000:1", "65000:2"], add: ["65000:2", "65000:3"]}}`, "comm 65000:2 65000:1",
			Env{}, want{"comm 65000:2 65000:3", true, ""}, []string{"communities remove 65000:1 65000:2, add 65000:2 65000:3"}},
		{"communities/replace", `{communities: {replace: ["65000:7", no-export]}}`, "origin igp; comm 65000:1 65000:2",
			Env{}, want{"origin igp; comm 65000:7 65535:65281", true, ""}, []string{"communities replace 65000:7 no-export"}},
		{"communities/replace creates", `{communities: {replace: ["65000:7"]}}`, "origin igp",
			Env{}, want{"origin igp; comm 65000:7", true, ""}, nil},
		{"communities/replace with the same set is no change", `{communities: {replace: ["65000:7", "65000:1"]}}`, "comm 65000:1 65000:7 65000:1",
			Env{}, want{"comm 65000:1 65000:7 65000:1", false, ""}, nil},

		// largeCommunities
		{"largeCommunities/add", `{largeCommunities: {add: ["65000:2:1", "65000:1:9"]}}`, "large 65000:1:10",
			Env{}, want{"large 65000:1:9 65000:1:10 65000:2:1", true, ""}, []string{"largeCommunities add 65000:2:1 65000:1:9"}},
		{"largeCommunities/add creates", `{largeCommunities: {add: ["1:2:3"]}}`, "origin igp; comm 1:1",
			Env{}, want{"origin igp; comm 1:1; large 1:2:3", true, ""}, nil},
		{"largeCommunities/remove", `{largeCommunities: {remove: ["1:2:3"]}}`, "large 1:2:3 4:5:6",
			Env{}, want{"large 4:5:6", true, ""}, nil},
		{"largeCommunities/remove all", `{largeCommunities: {remove: ["1:2:3"]}}`, "origin igp; large 1:2:3",
			Env{}, want{"origin igp", true, ""}, nil},
		{"largeCommunities/replace", `{largeCommunities: {replace: ["7:7:7"]}}`, "large 1:2:3 4:5:6",
			Env{}, want{"large 7:7:7", true, ""}, nil},
		{"largeCommunities/no change", `{largeCommunities: {add: ["1:2:3"]}}`, "large 4:5:6 1:2:3",
			Env{}, want{"large 4:5:6 1:2:3", false, ""}, nil},

		// extendedCommunities
		{"extendedCommunities/add", `{extendedCommunities: {add: ["rt:65000:100", "soo:10.0.0.1:7", "rt:4200000000:5", "rt:10.0.0.1:1"]}}`, "origin igp",
			Env{}, want{"origin igp; ext rt:65000:100 rt:10.0.0.1:1 soo:10.0.0.1:7 rt:4200000000:5", true, ""},
			[]string{"extendedCommunities add rt:65000:100 soo:10.0.0.1:7 rt:4200000000:5 rt:10.0.0.1:1"}},
		{"extendedCommunities/remove", `{extendedCommunities: {remove: ["rt:65000:100"]}}`, "ext rt:65000:100 rt:65000:200",
			Env{}, want{"ext rt:65000:200", true, ""}, nil},
		{"extendedCommunities/remove keeps other kinds", `{extendedCommunities: {remove: ["rt:65000:100"]}}`, "ext color:5 rt:65000:100",
			Env{}, want{"ext color:5", true, ""}, nil},
		{"extendedCommunities/replace", `{extendedCommunities: {replace: ["rt:1:1"]}}`, "ext rt:65000:100 color:5",
			Env{}, want{"ext rt:1:1", true, ""}, nil},
		{"extendedCommunities/no change", `{extendedCommunities: {add: ["soo:1:1"]}}`, "ext soo:1:1",
			Env{}, want{"ext soo:1:1", false, ""}, nil},

		// asPathPrepend
		{"asPathPrepend/own AS", `{asPathPrepend: 2}`, "origin igp; aspath 65001 65002",
			Env{LocalAS: 65010}, want{"origin igp; aspath 65010 65010 65001 65002", true, ""}, []string{"asPathPrepend 65010 65010"}},
		{"asPathPrepend/once", `{asPathPrepend: 1}`, "aspath 65001",
			Env{LocalAS: 4200000000}, want{"aspath 4200000000 65001", true, ""}, nil},
		{"asPathPrepend/before a set", `{asPathPrepend: 1}`, "aspath {1,2} 3",
			Env{LocalAS: 65010}, want{"aspath 65010 {1,2} 3", true, ""}, nil},
		{"asPathPrepend/before a confederation segment", `{asPathPrepend: 1}`, "aspath (64512) 3",
			Env{LocalAS: 65010}, want{"aspath 65010 (64512) 3", true, ""}, nil},
		{"asPathPrepend/empty path", `{asPathPrepend: 3}`, "origin igp; aspath",
			Env{LocalAS: 65010}, want{"origin igp; aspath 65010 65010 65010", true, ""}, nil},
		{"asPathPrepend/no AS_PATH", `{asPathPrepend: 1}`, "lp 5; origin igp",
			Env{LocalAS: 65010}, want{"origin igp; aspath 65010; lp 5", true, ""}, nil},
		{"asPathPrepend/no local AS does nothing", `{asPathPrepend: 2}`, "aspath 65001",
			Env{}, want{"aspath 65001", false, ""}, []string{"asPathPrepend 2 skipped: no local AS"}},
		{"asPathPrependASNs/first leftmost", `{asPathPrependASNs: [65001, 65002]}`, "aspath 65003",
			Env{LocalAS: 65010}, want{"aspath 65001 65002 65003", true, ""}, []string{"asPathPrependASNs 65001 65002"}},
		{"asPathPrependASNs/empty path", `{asPathPrependASNs: [65001]}`, "aspath",
			Env{}, want{"aspath 65001", true, ""}, nil},

		// removePrivateAS
		{"removePrivateAS/sequence", `{removePrivateAS: true}`, "aspath 3320 64512 3356 65534 4200000000 4294967294 174",
			Env{}, want{"aspath 3320 3356 174", true, ""}, []string{"removePrivateAS"}},
		{"removePrivateAS/range edges kept", `{removePrivateAS: true}`, "aspath 64511 65535 4199999999 4294967295",
			Env{}, want{"aspath 64511 65535 4199999999 4294967295", false, ""}, nil},
		{"removePrivateAS/set", `{removePrivateAS: true}`, "aspath 1 {2,64513,3}",
			Env{}, want{"aspath 1 {2,3}", true, ""}, nil},
		{"removePrivateAS/set of private only is dropped", `{removePrivateAS: true}`, "aspath 1 {64513,64514} 2",
			Env{}, want{"aspath 1 2", true, ""}, nil},
		{"removePrivateAS/confederation segments kept", `{removePrivateAS: true}`, "aspath (64512 64513) [64514] 64515 1",
			Env{}, want{"aspath (64512 64513) [64514] 1", true, ""}, nil},
		{"removePrivateAS/all private leaves the empty path", `{removePrivateAS: true}`, "origin igp; aspath 64512 {64513}",
			Env{}, want{"origin igp; aspath", true, ""}, nil},
		{"removePrivateAS/no AS_PATH", `{removePrivateAS: true}`, "origin igp",
			Env{}, want{"origin igp", false, ""}, nil},
		{"removePrivateAS then prepend a private own AS", `{removePrivateAS: true, asPathPrepend: 1}`, "aspath 64600 1",
			Env{LocalAS: 64700}, want{"aspath 64700 1", true, ""}, []string{"removePrivateAS", "asPathPrepend 64700"}},

		// Several at once; the new list is sorted by type code and keeps
		// attributes the policy does not know.
		{"all/sorted by code", `{localPreference: 300, med: 20, communities: {add: ["1:1"]}, largeCommunities: {add: ["1:1:1"]},
  extendedCommunities: {add: ["rt:1:1"]}, asPathPrependASNs: [65001], nextHop: self}`,
			"comm 2:2; nh 192.0.2.1; origin igp", Env{},
			want{"origin igp; aspath 65001; nh 192.0.2.1; med 20; lp 300; comm 1:1 2:2; ext rt:1:1; large 1:1:1", true, "self"},
			[]string{"localPreference 300", "med 20", "nextHop self", "communities add 1:1", "largeCommunities add 1:1:1",
				"extendedCommunities add rt:1:1", "asPathPrependASNs 65001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyOf(t, fmt.Sprintf("statements:\n- name: s\n  actions:\n    set: %s\n    result: accept\n", tt.set))
			r := route4(t, "10.0.0.0/8", tt.attrs)
			before := takeSnapshot(r.Attrs)
			res, tr := p.Trace(r, tt.env)
			if !res.Accept {
				t.Fatalf("not accepted: %+v", res)
			}
			got := want{render(res.Attrs), res.Changed, res.NextHop.String()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if !res.Changed && !sameSlice(res.Attrs, r.Attrs) {
				t.Errorf("unchanged result is not Route.Attrs itself")
			}
			if res.Changed && !sortedByCode(res.Attrs) {
				t.Errorf("changed list not sorted by code: %s", render(res.Attrs))
			}
			if tt.desc != nil {
				if diff := cmp.Diff(tt.desc, tr[0].Set); diff != "" {
					t.Errorf("trace Set (-want +got):\n%s", diff)
				}
			}
			if !takeSnapshot(r.Attrs).equal(before) {
				t.Errorf("Route.Attrs modified")
			}
			ev := p.Eval(r, tt.env)
			if render(ev.Attrs) != render(res.Attrs) || ev.Changed != res.Changed || ev.NextHop != res.NextHop {
				t.Errorf("Eval %+v differs from Trace %+v", ev, res)
			}
		})
	}
}

func sameSlice(a, b attr.List) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// TestPrependSegmentLimit checks that prepending keeps every segment at 255
// ASes or fewer (the segment length is one octet) and keeps the order.
func TestPrependSegmentLimit(t *testing.T) {
	tests := []struct {
		name     string
		existing []int // sizes of the leading sequences of the path
		front    int
		want     []int
	}{
		{"fits", []int{10}, 5, []int{15}},
		{"exactly 255", []int{250}, 5, []int{255}},
		{"overflows", []int{250}, 10, []int{255, 5}},
		{"full first segment", []int{255, 3}, 2, []int{255, 2, 3}},
		{"empty path, long prepend", nil, 300, []int{255, 45}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &attr.ASPath{}
			as := uint32(1)
			var all []uint32
			for _, n := range tt.existing {
				s := attr.Segment{Type: iana.SegmentASSequence}
				for range n {
					s.ASNs = append(s.ASNs, as)
					as++
				}
				p.Segments = append(p.Segments, s)
			}
			var front []uint32
			for i := range tt.front {
				front = append(front, 100000+uint32(i))
			}
			all = append(all, front...)
			all = append(all, p.Flat()...)
			before := p.String()
			np := prependPath(p, front)
			var sizes []int
			for _, s := range np.Segments {
				if s.Type != iana.SegmentASSequence {
					t.Errorf("segment type %v", s.Type)
				}
				sizes = append(sizes, len(s.ASNs))
			}
			if diff := cmp.Diff(tt.want, sizes); diff != "" {
				t.Errorf("segment sizes (-want +got):\n%s", diff)
			}
			if !slices.Equal(np.Flat(), all) {
				t.Errorf("ASes out of order")
			}
			if p.String() != before {
				t.Errorf("the original path changed")
			}
			// It encodes within the one-octet segment length.
			b := np.AppendValue(nil, attr.Options{AS4: true})
			if got, _, _ := decodeASPath(t, b); got != np.String() {
				t.Errorf("re-decoded %q, want %q", got, np.String())
			}
		})
	}
}

// decodeASPath decodes an AS_PATH value with the wire decoder.
func decodeASPath(t *testing.T, v []byte) (string, attr.Attr, error) {
	t.Helper()
	a, f := attr.DecodeValue(iana.AttrASPath, attr.FlagTransitive, v, attr.Options{AS4: true})
	if f != nil {
		t.Fatalf("decode: %v", f)
	}
	return a.(*attr.ASPath).String(), a, nil
}

// TestListActionShares checks that values built at Compile are shared by
// results, and that two evaluations never share values they built.
func TestListActionShares(t *testing.T) {
	p := policyOf(t, `statements:
- name: s
  actions: {set: {localPreference: 5, communities: {add: ["1:1"]}}, result: accept}
`)
	r := route4(t, "10.0.0.0/8", "comm 2:2")
	a, b := p.Eval(r, Env{}), p.Eval(r, Env{})
	lpa, _ := a.Attrs.LocalPref()
	lpb, _ := b.Attrs.LocalPref()
	if lpa != lpb {
		t.Errorf("LOCAL_PREF built per evaluation, want one value from Compile")
	}
	ca, _ := a.Attrs.Communities()
	cb, _ := b.Attrs.Communities()
	if ca == cb || &ca.Values[0] == &cb.Values[0] {
		t.Errorf("two evaluations share a community list they built")
	}
	if netip.MustParseAddr("192.0.2.1") != r.NextHop {
		t.Errorf("route changed")
	}
}
