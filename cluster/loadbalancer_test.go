package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/google/go-cmp/cmp"
)

// lbCluster is three nodes in two racks, pod pools and two loadBalancer
// pools of four addresses.
var lbCluster = []string{
	"Node n1 {address: 10.0.0.1, labels: {rack: a}}",
	"Node n2 {address: 10.0.0.2, labels: {rack: a}}",
	"Node n3 {address: 10.0.1.3, labels: {rack: b}}",
	"IPPool pods {cidr: 10.244.0.0/16}",
	"IPPool pods6 {cidr: 'fd00:244::/64'}",
	"IPPool lbs {cidr: 198.51.100.0/30, use: loadBalancer}",
	"IPPool lbs6 {cidr: 'fd00:1b::/126', use: loadBalancer}",
}

// renderLBs prints one LoadBalancer a line: name, prefix, nodes, then
// what else is set.
func renderLBs(lbs []LoadBalancer) string {
	var lines []string
	for _, lb := range lbs {
		s := fmt.Sprintf("%s %s %v", lb.Name, lb.Prefix, lb.Nodes)
		if !lb.Prefix.IsSingleIP() {
			s += " address " + lb.Address.String()
		}
		if len(lb.Communities) > 0 {
			s += fmt.Sprintf(" communities %v", lb.Communities)
		}
		if lb.LocalPreference != nil {
			s += fmt.Sprintf(" localPreference %d", *lb.LocalPreference)
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

func TestLoadBalancers(t *testing.T) {
	tests := []struct {
		name string
		lbs  []string
		want string
	}{
		{
			name: "a given address is used as is, by every node",
			lbs:  []string{"LoadBalancer dns {address: 203.0.113.53}"},
			want: "dns 203.0.113.53/32 [n1 n2 n3]",
		},
		{
			name: "pool addresses are handed out lowest first, skipping given ones",
			lbs:  []string{"LoadBalancer a {pool: lbs}", "LoadBalancer b {pool: lbs}", "LoadBalancer c {address: 198.51.100.0}"},
			want: `a 198.51.100.1/32 [n1 n2 n3]
b 198.51.100.2/32 [n1 n2 n3]
c 198.51.100.0/32 [n1 n2 n3]`,
		},
		{
			name: "nodeSelector picks the nodes that announce",
			lbs:  []string{"LoadBalancer web {pool: lbs, nodeSelector: rack == 'a'}", "LoadBalancer gpu {pool: lbs, nodeSelector: has(gpu)}"},
			want: `gpu 198.51.100.0/32 []
web 198.51.100.1/32 [n1 n2]`,
		},
		{
			name: "aggregationLength announces the covering prefix",
			lbs:  []string{"LoadBalancer dns {address: 203.0.113.53, aggregationLength: 24}", "LoadBalancer v6 {pool: lbs6, aggregationLength: 64}"},
			want: `dns 203.0.113.0/24 [n1 n2 n3] address 203.0.113.53
v6 fd00:1b::/64 [n1 n2 n3] address fd00:1b::`,
		},
		{
			name: "an IPv6 address is announced as a /128",
			lbs:  []string{"LoadBalancer v6 {pool: lbs6}", "LoadBalancer w6 {address: 'fd00:1b::1'}"},
			want: `v6 fd00:1b::/128 [n1 n2 n3]
w6 fd00:1b::1/128 [n1 n2 n3]`,
		},
		{
			name: "communities and localPreference are passed on",
			lbs:  []string{"LoadBalancer web {pool: lbs, communities: ['65000:1', no-export], localPreference: 200}"},
			want: "web 198.51.100.0/32 [n1 n2 n3] communities [65000:1 no-export] localPreference 200",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openAllocator(t, filepath.Join(t.TempDir(), "alloc.json"))
			got, err := a.LoadBalancers(parse(t, append(tt.lbs, lbCluster...)...))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, renderLBs(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadBalancerServedBy(t *testing.T) {
	lb := LoadBalancer{Nodes: []string{"n1", "n3"}}
	if !lb.ServedBy("n1") || lb.ServedBy("n2") || !lb.ServedBy("n3") {
		t.Errorf("ServedBy is wrong for %v", lb.Nodes)
	}
}

func TestLoadBalancerErrors(t *testing.T) {
	podPool := config.New("pod-pool", &config.LoadBalancerSpec{Pool: "pods"})
	missing := config.New("missing", &config.LoadBalancerSpec{Pool: "nope"})
	tests := []struct {
		name    string
		lbs     []string
		extra   []*config.Resource // resources config.Parse would refuse
		want    string             // what is still resolved
		wantErr string
	}{
		{
			name:    "a given address in a pod pool",
			lbs:     []string{"LoadBalancer bad {address: 10.244.1.1}", "LoadBalancer good {address: 203.0.113.1}"},
			want:    "good 203.0.113.1/32 [n1 n2 n3]",
			wantErr: `LoadBalancer "bad": address 10.244.1.1 lies in IPPool "pods" (10.244.0.0/16), which is for pods`,
		},
		{
			name: "the pool is full",
			lbs:  []string{"LoadBalancer a {pool: lbs}", "LoadBalancer b {pool: lbs}", "LoadBalancer c {pool: lbs}", "LoadBalancer d {address: 198.51.100.3}", "LoadBalancer e {pool: lbs}"},
			want: `a 198.51.100.0/32 [n1 n2 n3]
b 198.51.100.1/32 [n1 n2 n3]
c 198.51.100.2/32 [n1 n2 n3]
d 198.51.100.3/32 [n1 n2 n3]`,
			wantErr: `LoadBalancer "e": IPPool "lbs" (198.51.100.0/30, 4 addresses) has no free address`,
		},
		{
			name:    "a disabled pool hands out nothing",
			lbs:     []string{"IPPool old {cidr: 192.0.2.0/24, use: loadBalancer, disabled: true}", "LoadBalancer x {pool: old}"},
			wantErr: `LoadBalancer "x": IPPool "old" is disabled`,
		},
		{
			name:    "aggregationLength longer than the address",
			lbs:     []string{"LoadBalancer wide {pool: lbs, aggregationLength: 64}"},
			wantErr: `LoadBalancer "wide": aggregationLength 64 is longer than the address 198.51.100.0`,
		},
		{
			name:  "a pool that is missing or for pods",
			extra: []*config.Resource{podPool, missing},
			wantErr: `LoadBalancer "missing": no IPPool named "nope"
LoadBalancer "pod-pool": IPPool "pods" is not for use loadBalancer`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openAllocator(t, filepath.Join(t.TempDir(), "alloc.json"))
			got, err := a.LoadBalancers(append(parse(t, append(tt.lbs, lbCluster...)...), tt.extra...))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error = %v\nwant    %s", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, renderLBs(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Addresses survive restarts and changes to other LoadBalancers; they
// move only when their own LoadBalancer changes.
func TestLoadBalancerAddressesAreStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alloc.json")
	a := openAllocator(t, path)
	steps := []struct {
		name    string
		restart bool
		lbs     []string
		want    string
	}{
		{
			name: "first allocation",
			lbs:  []string{"LoadBalancer b {pool: lbs}", "LoadBalancer c {pool: lbs}", "LoadBalancer v6 {pool: lbs6}"},
			want: `b 198.51.100.0/32 [n1 n2 n3]
c 198.51.100.1/32 [n1 n2 n3]
v6 fd00:1b::/128 [n1 n2 n3]`,
		},
		{
			name:    "a new LoadBalancer that sorts first, after a restart",
			restart: true,
			lbs:     []string{"LoadBalancer a {pool: lbs}", "LoadBalancer b {pool: lbs}", "LoadBalancer c {pool: lbs}", "LoadBalancer v6 {pool: lbs6}"},
			want: `a 198.51.100.2/32 [n1 n2 n3]
b 198.51.100.0/32 [n1 n2 n3]
c 198.51.100.1/32 [n1 n2 n3]
v6 fd00:1b::/128 [n1 n2 n3]`,
		},
		{
			name: "a deleted LoadBalancer keeps its address until Release",
			lbs:  []string{"LoadBalancer a {pool: lbs}", "LoadBalancer c {pool: lbs}", "LoadBalancer d {pool: lbs}"},
			want: `a 198.51.100.2/32 [n1 n2 n3]
c 198.51.100.1/32 [n1 n2 n3]
d 198.51.100.3/32 [n1 n2 n3]`,
		},
		{
			name: "a LoadBalancer that moves to another pool gets an address there",
			lbs:  []string{"LoadBalancer a {pool: lbs}", "LoadBalancer c {pool: lbs6}", "LoadBalancer d {pool: lbs}"},
			want: `a 198.51.100.2/32 [n1 n2 n3]
c fd00:1b::1/128 [n1 n2 n3]
d 198.51.100.3/32 [n1 n2 n3]`,
		},
		{
			name: "an address given to another LoadBalancer moves the allocated one",
			lbs:  []string{"LoadBalancer a {pool: lbs}", "LoadBalancer c {pool: lbs6}", "LoadBalancer d {pool: lbs}", "LoadBalancer e {address: 198.51.100.2}"},
			want: `a 198.51.100.1/32 [n1 n2 n3]
c fd00:1b::1/128 [n1 n2 n3]
d 198.51.100.3/32 [n1 n2 n3]
e 198.51.100.2/32 [n1 n2 n3]`,
		},
	}
	for _, st := range steps {
		if st.restart {
			a = openAllocator(t, path)
		}
		got, err := a.LoadBalancers(parse(t, append(st.lbs, lbCluster...)...))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, renderLBs(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, diff)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// b still holds 198.51.100.0 (not released); e's address is given,
	// so it is not in the file.
	want := `{
  "version": 1,
  "loadBalancers": {
    "a": "198.51.100.1",
    "b": "198.51.100.0",
    "c": "fd00:1b::1",
    "d": "198.51.100.3",
    "v6": "fd00:1b::"
  }
}
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}
