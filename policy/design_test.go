package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The policies of DESIGN.md's RoutePolicy section, exactly as written there,
// beside the minimal BGPConfiguration document.
const designDocs = `
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65010, routerID: 10.0.1.10}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: accept-all}
spec:
  statements:
  - name: everything
    actions: {result: accept}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: from-router}
spec:
  statements:
  - name: no-long-prefixes
    conditions:
      prefixSet: [{prefix: 10.2.0.0/16, ge: 24, le: 32}]   # no ge/le: exact match
    actions: {result: reject}
  - name: prefer-tagged
    conditions: {communities: ["65100:1"]}                 # any of these
    actions: {set: {localPreference: 250}, result: accept}
  - name: rest
    actions: {result: accept}
`

func TestDesignExamples(t *testing.T) {
	ps := parseDocs(t, designDocs)
	type want struct {
		Accept    bool
		Statement string
		Attrs     string
		Changed   bool
	}
	tests := []struct {
		name   string
		policy string
		prefix string
		attrs  string
		want   want
	}{
		{"accept-all/plain", "accept-all", "198.51.100.0/24", "origin igp; aspath 65100",
			want{true, "everything", "origin igp; aspath 65100", false}},
		{"accept-all/no attributes", "accept-all", "0.0.0.0/0", "",
			want{true, "everything", "", false}},
		{"from-router/24 inside 10.2/16 rejected", "from-router", "10.2.3.0/24", "origin igp; aspath 65100; comm 65100:1",
			want{false, "no-long-prefixes", "origin igp; aspath 65100; comm 65100:1", false}},
		{"from-router/32 inside 10.2/16 rejected", "from-router", "10.2.3.4/32", "origin igp; aspath 65100",
			want{false, "no-long-prefixes", "origin igp; aspath 65100", false}},
		{"from-router/the /16 itself passes (ge 24)", "from-router", "10.2.0.0/16", "origin igp; aspath 65100",
			want{true, "rest", "origin igp; aspath 65100", false}},
		{"from-router/23 passes", "from-router", "10.2.2.0/23", "origin igp; aspath 65100",
			want{true, "rest", "origin igp; aspath 65100", false}},
		{"from-router/outside the /16", "from-router", "10.3.0.0/24", "origin igp; aspath 65100",
			want{true, "rest", "origin igp; aspath 65100", false}},
		{"from-router/tagged gets local-pref 250", "from-router", "198.51.100.0/24", "origin igp; aspath 65100; comm 65000:7 65100:1",
			want{true, "prefer-tagged", "origin igp; aspath 65100; lp 250; comm 65000:7 65100:1", true}},
		{"from-router/tagged replaces local-pref", "from-router", "198.51.100.0/24", "origin igp; aspath 65100; lp 100; comm 65100:1",
			want{true, "prefer-tagged", "origin igp; aspath 65100; lp 250; comm 65100:1", true}},
		{"from-router/other community", "from-router", "198.51.100.0/24", "origin igp; aspath 65100; comm 65100:2",
			want{true, "rest", "origin igp; aspath 65100; comm 65100:2", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := route4(t, tt.prefix, tt.attrs)
			res := ps[tt.policy].Eval(r, Env{LocalAS: 65010})
			got := want{res.Accept, res.Statement, render(res.Attrs), res.Changed}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Eval (-want +got):\n%s", diff)
			}
		})
	}
}
