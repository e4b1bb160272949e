package cluster

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/google/go-cmp/cmp"
)

const (
	pods  = "IPPool pods {cidr: 10.244.0.0/24}"
	pods6 = "IPPool pods6 {cidr: 'fd00:244::/64'}"
)

func nodes(n int, extra ...string) []string {
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("Node n%d {address: 10.0.0.%d}", i, i))
	}
	return append(lines, extra...)
}

func openAllocator(t testing.TB, path string) *Allocator {
	t.Helper()
	a, err := OpenAllocator(path)
	if err != nil {
		t.Fatalf("OpenAllocator: %v", err)
	}
	return a
}

// blocks asks for the blocks of each node in turn and renders them as
// "node: block, block" lines.
func blocks(t testing.TB, a *Allocator, rs []*config.Resource, names ...string) string {
	t.Helper()
	var lines []string
	for _, n := range names {
		bs, err := a.Blocks(rs, n)
		if err != nil {
			t.Fatalf("Blocks(%s): %v", n, err)
		}
		var s []string
		for _, b := range bs {
			s = append(s, b.String())
		}
		lines = append(lines, n+": "+strings.Join(s, ", "))
	}
	return strings.Join(lines, "\n")
}

func TestBlocks(t *testing.T) {
	tests := []struct {
		name      string
		resources []string
		order     []string // the nodes asking, in turn
		want      string
	}{
		{
			name:      "nodes get the lowest free block in the order they ask",
			resources: nodes(3, pods),
			order:     []string{"n2", "n1", "n3", "n2"},
			want: `n2: 10.244.0.0/26
n1: 10.244.0.64/26
n3: 10.244.0.128/26
n2: 10.244.0.0/26`,
		},
		{
			name:      "blockSize sets the block length",
			resources: nodes(2, "IPPool pods {cidr: 10.244.0.0/16, blockSize: 24}"),
			order:     []string{"n1", "n2"},
			want: `n1: 10.244.0.0/24
n2: 10.244.1.0/24`,
		},
		{
			name:      "IPv6 blocks are /122 by default",
			resources: nodes(3, pods6),
			order:     []string{"n1", "n2", "n3"},
			want: `n1: fd00:244::/122
n2: fd00:244::40/122
n3: fd00:244::80/122`,
		},
		{
			name:      "a dual-stack cluster gives a block of each family",
			resources: nodes(2, pods6, pods),
			order:     []string{"n1", "n2"},
			want: `n1: 10.244.0.0/26, fd00:244::/122
n2: 10.244.0.64/26, fd00:244::40/122`,
		},
		{
			name: "podCIDRs are kept, and nobody else gets them",
			resources: []string{pods6, pods, "Node n1 {address: 10.0.0.1}",
				"Node n2 {address: 10.0.0.2, podCIDRs: [10.244.0.0/25]}",
				"Node n3 {address: 10.0.0.3, podCIDRs: [10.244.0.160/27, 192.168.0.0/24]}"},
			order: []string{"n3", "n2", "n1"},
			want: `n3: 10.244.0.160/27, 192.168.0.0/24, fd00:244::/122
n2: 10.244.0.0/25, fd00:244::40/122
n1: 10.244.0.192/26, fd00:244::80/122`,
		},
		{
			name:      "the first pool by name with a free block is used",
			resources: nodes(3, "IPPool b-pods {cidr: 10.1.0.0/26}", "IPPool a-pods {cidr: 10.2.0.0/25}"),
			order:     []string{"n1", "n2", "n3"},
			want: `n1: 10.2.0.0/26
n2: 10.2.0.64/26
n3: 10.1.0.0/26`,
		},
		{
			name:      "a disabled pool hands out nothing",
			resources: nodes(2, "IPPool old {cidr: 10.1.0.0/24, disabled: true}", "IPPool pods {cidr: 10.1.0.0/16}"),
			order:     []string{"n1", "n2"},
			want: `n1: 10.1.0.0/26
n2: 10.1.0.64/26`,
		},
		{
			name:      "a family with only disabled pools gets no block",
			resources: nodes(1, pods, "IPPool pods6 {cidr: 'fd00:244::/64', disabled: true}"),
			order:     []string{"n1"},
			want:      `n1: 10.244.0.0/26`,
		},
		{
			name:      "loadBalancer pools are not for pods",
			resources: nodes(1, "IPPool lb {cidr: 10.244.0.0/24, use: loadBalancer}"),
			order:     []string{"n1"},
			want:      `n1: `,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openAllocator(t, filepath.Join(t.TempDir(), "alloc.json"))
			if diff := cmp.Diff(tt.want, blocks(t, a, parse(t, tt.resources...), tt.order...)); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
		})
	}
}

// A node keeps its blocks across a restart, whatever order nodes ask in
// afterwards; a new node gets a free block.
func TestBlocksAreStableAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alloc.json")
	rs := parse(t, nodes(4, pods, pods6)...)
	before := blocks(t, openAllocator(t, path), rs, "n1", "n2", "n3")
	after := openAllocator(t, path)
	got := blocks(t, after, rs, "n3", "n2", "n1")
	want := `n3: 10.244.0.128/26, fd00:244::80/122
n2: 10.244.0.64/26, fd00:244::40/122
n1: 10.244.0.0/26, fd00:244::/122`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the restart (-want +got):\n%s\nbefore:\n%s", diff, before)
	}
	if got := blocks(t, after, rs, "n4"); got != "n4: 10.244.0.192/26, fd00:244::c0/122" {
		t.Errorf("new node: %s", got)
	}
}

// The same sequence of requests gives the same file, byte for byte.
func TestBlocksAreDeterministic(t *testing.T) {
	rs := parse(t, nodes(20, pods6, "IPPool pods {cidr: 10.244.0.0/16}")...)
	var files []string
	for range 2 {
		path := filepath.Join(t.TempDir(), "alloc.json")
		a := openAllocator(t, path)
		for _, n := range []string{"n7", "n3", "n19", "n1", "n3", "n12"} {
			if _, err := a.Blocks(rs, n); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, string(b))
	}
	if files[0] != files[1] {
		t.Errorf("two runs wrote different files:\n%s\n%s", files[0], files[1])
	}
}

// Many nodes: every block lies in the pool, none overlaps another.
func TestBlocksNeverOverlap(t *testing.T) {
	rs := parse(t, nodes(200, "IPPool pods {cidr: 10.244.0.0/18}", "IPPool pods6 {cidr: 'fd00:244::/112', blockSize: 120}")...)
	a := openAllocator(t, filepath.Join(t.TempDir(), "alloc.json"))
	var all []netip.Prefix
	for i := 200; i >= 1; i-- {
		bs, err := a.Blocks(rs, fmt.Sprintf("n%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 2 {
			t.Fatalf("n%d got %v", i, bs)
		}
		all = append(all, bs...)
	}
	pool4, pool6 := netip.MustParsePrefix("10.244.0.0/18"), netip.MustParsePrefix("fd00:244::/112")
	for i, p := range all {
		if !(pool4.Contains(p.Addr()) && p.Bits() == 26) && !(pool6.Contains(p.Addr()) && p.Bits() == 120) {
			t.Errorf("%s is not a block of a pool", p)
		}
		for _, q := range all[:i] {
			if p.Overlaps(q) {
				t.Errorf("%s overlaps %s", p, q)
			}
		}
	}
}

func TestBlocksWhenResourcesChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alloc.json")
	a := openAllocator(t, path)
	blocks(t, a, parse(t, nodes(3, "IPPool a {cidr: 10.1.0.0/24}")...), "n1", "n2", "n3")

	tests := []struct {
		name      string
		resources []string
		order     []string
		want      string
	}{
		{
			name:      "blocks of a pool that was disabled are kept",
			resources: nodes(4, "IPPool a {cidr: 10.1.0.0/24, disabled: true}", "IPPool b {cidr: 10.2.0.0/24}"),
			order:     []string{"n1", "n4"},
			want: `n1: 10.1.0.0/26
n4: 10.2.0.0/26`,
		},
		{
			name:      "a node whose block was taken by podCIDRs gets another",
			resources: nodes(3, "IPPool a {cidr: 10.1.0.0/24}", "Node n5 {address: 10.0.0.5, podCIDRs: [10.1.0.64/27]}"),
			order:     []string{"n2", "n5"},
			want: `n2: 10.1.0.192/26
n5: 10.1.0.64/27`,
		},
		{
			name:      "a node given podCIDRs gives its block back",
			resources: nodes(2, "IPPool a {cidr: 10.1.0.0/24}", "Node n3 {address: 10.0.0.3, podCIDRs: [192.168.3.0/24]}", "Node n6 {address: 10.0.0.6}"),
			order:     []string{"n3", "n6"},
			want: `n3: 192.168.3.0/24
n6: 10.1.0.64/26`,
		},
		{
			name:      "blocks of a pool that was removed are replaced",
			resources: nodes(1, "IPPool c {cidr: 10.3.0.0/24}"),
			order:     []string{"n1"},
			want:      `n1: 10.3.0.0/26`,
		},
	}
	for _, tt := range tests {
		// Each step builds on the file the previous ones left.
		got := blocks(t, a, parse(t, tt.resources...), tt.order...)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestBlocksPoolExhausted(t *testing.T) {
	tests := []struct {
		name      string
		resources []string
		want      string
		got       string // the blocks still returned
	}{
		{
			name:      "one pool",
			resources: nodes(5, pods, pods6),
			want:      `no free IPv4 pod block for Node "n5": IPPool "pods" (10.244.0.0/24, 4 blocks of /26) is full`,
			got:       "[fd00:244::100/122]",
		},
		{
			name: "several pools",
			// n9's podCIDRs take half of c.
			resources: nodes(5, "IPPool a {cidr: 10.1.0.0/26}", "IPPool b {cidr: 10.2.0.0/25, blockSize: 26}", "IPPool c {cidr: 10.3.0.0/26, blockSize: 27}",
				"Node n9 {address: 10.0.0.9, podCIDRs: [10.3.0.0/27]}"),
			want: `no free IPv4 pod block for Node "n5": IPPool "a" (10.1.0.0/26, 1 blocks of /26), IPPool "b" (10.2.0.0/25, 2 blocks of /26) and IPPool "c" (10.3.0.0/26, 2 blocks of /27) are full`,
			got:  "[]",
		},
		{
			name:      "IPv6",
			resources: nodes(5, "IPPool pods6 {cidr: 'fd00::/120'}"),
			want:      `no free IPv6 pod block for Node "n5": IPPool "pods6" (fd00::/120, 4 blocks of /122) is full`,
			got:       "[]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := parse(t, tt.resources...)
			a := openAllocator(t, filepath.Join(t.TempDir(), "alloc.json"))
			for i := 1; i <= 4; i++ {
				if _, err := a.Blocks(rs, fmt.Sprintf("n%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			bs, err := a.Blocks(rs, "n5")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant    %s", err, tt.want)
			}
			if got := fmt.Sprint(bs); got != tt.got {
				t.Errorf("blocks = %s, want %s", got, tt.got)
			}
		})
	}
}

func TestBlocksOfUnknownNode(t *testing.T) {
	a := openAllocator(t, filepath.Join(t.TempDir(), "alloc.json"))
	if _, err := a.Blocks(parse(t, nodes(1, pods)...), "n2"); err == nil || err.Error() != `no Node named "n2"` {
		t.Errorf("error = %v", err)
	}
}

func TestRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alloc.json")
	a := openAllocator(t, path)
	rs := parse(t, nodes(3, pods, "IPPool lbs {cidr: 198.51.100.0/24, use: loadBalancer}",
		"LoadBalancer web {pool: lbs}", "LoadBalancer dns {pool: lbs}")...)
	blocks(t, a, rs, "n1", "n2", "n3")
	if _, err := a.LoadBalancers(rs); err != nil {
		t.Fatal(err)
	}

	// n2 and web are gone: nothing is freed until Release.
	rs = parse(t, "Node n1 {address: 10.0.0.1}", "Node n3 {address: 10.0.0.3}", "Node n4 {address: 10.0.0.4}", pods,
		"IPPool lbs {cidr: 198.51.100.0/24, use: loadBalancer}", "LoadBalancer dns {pool: lbs}", "LoadBalancer api {pool: lbs}")
	if got := blocks(t, a, rs, "n4"); got != "n4: 10.244.0.192/26" {
		t.Errorf("before Release: %s", got)
	}
	goneNodes, goneLBs, err := a.Release(rs)
	if err != nil || !cmp.Equal(goneNodes, []string{"n2"}) || !cmp.Equal(goneLBs, []string{"web"}) {
		t.Fatalf("Release = %v, %v, %v; want [n2], [web]", goneNodes, goneLBs, err)
	}
	// The released block and address are free again, also after a restart.
	a = openAllocator(t, path)
	rs = append(rs, parse(t, "Node n5 {address: 10.0.0.5}")...)
	if got := blocks(t, a, rs, "n5"); got != "n5: 10.244.0.64/26" {
		t.Errorf("after Release: %s", got)
	}
	got, err := a.LoadBalancers(rs)
	if err != nil {
		t.Fatal(err)
	}
	// api takes the address web had.
	if s := renderLBs(got); s != "api 198.51.100.1/32 [n1 n3 n4 n5]\ndns 198.51.100.0/32 [n1 n3 n4 n5]" {
		t.Errorf("after Release:\n%s", s)
	}
	if goneNodes, goneLBs, err := a.Release(rs); goneNodes != nil || goneLBs != nil || err != nil {
		t.Errorf("a second Release = %v, %v, %v; want nothing", goneNodes, goneLBs, err)
	}
}

func TestAllocationFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alloc.json")
	rs := parse(t, nodes(2, pods, pods6)...)
	blocks(t, openAllocator(t, path), rs, "n1", "n2")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "blocks": {
    "n1": [
      "10.244.0.0/26",
      "fd00:244::/122"
    ],
    "n2": [
      "10.244.0.64/26",
      "fd00:244::40/122"
    ]
  }
}
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == "alloc.json.lock" })
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestCorruptAllocationFile(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"truncated", `{"version": 1, "blocks": {`, "the JSON ends early"},
		{"bad syntax", `{"version": 1 "blocks": {}}`, "invalid character '\"' after object key:value pair (at byte 15)"},
		{"empty", ``, "the file is empty"},
		{"unknown version", `{"version": 2}`, "version 2, want 1"},
		{"unknown field", `{"version": 1, "pools": {}}`, `json: unknown field "pools"`},
		{"bad prefix", `{"version": 1, "blocks": {"n1": ["10.244.0.0/33"]}}`, `netip.ParsePrefix("10.244.0.0/33"): prefix length out of range`},
		{"host bits", `{"version": 1, "blocks": {"n1": ["10.244.0.1/26"]}}`, `block 10.244.0.1/26 of Node "n1" has host bits set`},
		{"overlap", `{"version": 1, "blocks": {"n1": ["10.244.0.0/26"], "n2": ["10.244.0.0/24"]}}`, `block 10.244.0.0/24 of Node "n2" overlaps 10.244.0.0/26 of Node "n1"`},
		{"no address", `{"version": 1, "loadBalancers": {"web": ""}}`, `LoadBalancer "web" has no address`},
		{"two objects", `{"version": 1} {}`, `data after the JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alloc.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenAllocator(path)
			want := "allocation file " + path + " is corrupt: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
		})
	}
}

// When the file cannot be written, the allocation is not made.
func TestAllocationNotMadeWhenTheFileCannotBeWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "alloc.json")
	a := openAllocator(t, path)
	rs := parse(t, nodes(2, pods)...)
	if _, err := a.Blocks(rs, "n2"); err == nil || !strings.HasPrefix(err.Error(), "writing the allocation file: ") {
		t.Fatalf("error = %v", err)
	}
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := blocks(t, a, rs, "n1", "n2"); got != "n1: 10.244.0.0/26\nn2: 10.244.0.64/26" {
		t.Errorf("after the failed write: %s", got)
	}
}

func TestBlockCount(t *testing.T) {
	for _, tt := range []struct {
		p    string
		bits int
		want string
	}{
		{"10.0.0.0/24", 26, "4"},
		{"10.0.0.0/26", 26, "1"},
		{"fd00::/48", 122, "2^74"},
		{"10.0.0.0/8", 26, "262144"},
		{"fd00::/64", 96, "4294967296"},
		{"fd00::/64", 126, "2^62"},
	} {
		if got := blockCount(netip.MustParsePrefix(tt.p), tt.bits); got != tt.want {
			t.Errorf("blockCount(%s, %d) = %s, want %s", tt.p, tt.bits, got, tt.want)
		}
	}
}
