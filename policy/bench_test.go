package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// benchPolicy is an import policy of the usual shape: bogon prefixes, too
// long prefixes and private ASes out, blackholes out, local preference by
// customer/peer community, by transit AS and by customer prefix, long paths
// made less preferred. With set actions turned into plain accepts (filter)
// it shows the cost of the conditions alone.
func benchPolicy(filter bool) string {
	set := func(s string) string {
		if filter {
			return ""
		}
		return "set: {" + s + "}, "
	}
	var customers []string
	for i := range 20 {
		customers = append(customers, fmt.Sprintf("{prefix: %d.%d.0.0/16, le: 24}", 20+i*9, i*11))
	}
	return `statements:
- name: bogons
  conditions:
    prefixSet: [{prefix: 0.0.0.0/8, le: 32}, {prefix: 10.0.0.0/8, le: 32}, {prefix: 100.64.0.0/10, le: 32},
      {prefix: 127.0.0.0/8, le: 32}, {prefix: 169.254.0.0/16, le: 32}, {prefix: 172.16.0.0/12, le: 32},
      {prefix: 192.0.2.0/24, le: 32}, {prefix: 192.168.0.0/16, le: 32}, {prefix: 198.18.0.0/15, le: 32},
      {prefix: 224.0.0.0/3, le: 32}]
  actions: {result: reject}
- name: too-long
  conditions: {prefixSet: [{prefix: 0.0.0.0/0, ge: 25}]}
  actions: {result: reject}
- name: private-as
  conditions: {asPathRegex: "_(6451[2-9]|645[2-9][0-9]|64[6-9][0-9][0-9]|65[0-4][0-9][0-9]|655[0-2][0-9]|6553[0-4])_"}
  actions: {result: reject}
- name: blackhole
  conditions: {communities: [blackhole]}
  actions: {result: reject}
- name: customer
  conditions: {communities: ["3320:100", "3320:101"]}
  actions: {` + set("localPreference: 200") + `result: accept}
- name: peer
  conditions: {communities: ["3320:200"]}
  actions: {` + set("localPreference: 100") + `result: accept}
- name: transit-backup
  conditions: {asPathRegex: "^3356_"}
  actions: {` + set("localPreference: 80") + `result: accept}
- name: customer-prefixes
  conditions: {prefixSet: [` + strings.Join(customers, ", ") + `]}
  actions: {` + set("localPreference: 150") + `result: accept}
- name: long-paths
  conditions: {asPathLength: {min: 6}}
  actions: {` + set("localPreference: 50") + `result: next}
- name: rest
  actions: {result: accept}
`
}

// benchTable is a pinned, realistic table: 1,000,000 IPv4 prefixes (about
// 60% /24s, the rest spread over /8 to /23), drawn from 30,000 distinct
// attribute sets (AS paths of 2 to 7 hops, some MED, some communities),
// decoded with the wire decoder as the rib would hold them.
type benchTable struct {
	prefixes []netip.Prefix
	set      []int32 // the attribute set of each prefix
	sets     []attr.List
	shuffled []int // a permutation of the prefixes
}

const (
	benchPrefixes = 1_000_000
	benchSets     = 30_000
)

var (
	benchOnce sync.Once
	benchTab  *benchTable
)

func loadBenchTable(tb testing.TB) *benchTable {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(2024, 65000))
		t := &benchTable{
			prefixes: make([]netip.Prefix, benchPrefixes),
			set:      make([]int32, benchPrefixes),
			sets:     make([]attr.List, benchSets),
		}
		firstASes := []uint32{174, 1299, 2914, 3257, 3320, 3356, 6453, 6762, 6939, 7018}
		for i := range t.sets {
			l := attr.List{&attr.Origin{Value: attr.OriginCode(rng.IntN(3))}}
			n := 2 + rng.IntN(6)
			asns := []uint32{firstASes[rng.IntN(len(firstASes))]}
			for len(asns) < n {
				as := uint32(1 + rng.IntN(64000))
				if rng.IntN(200) == 0 {
					as = 64512 + uint32(rng.IntN(1000)) // a private AS now and then
				} else if rng.IntN(4) == 0 {
					as = 200000 + uint32(rng.IntN(200000))
				}
				asns = append(asns, as)
			}
			if rng.IntN(4) == 0 { // prepending
				asns = append(asns, asns[len(asns)-1], asns[len(asns)-1])
			}
			l = append(l, &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}})
			l = append(l, &attr.NextHop{Addr: netip.AddrFrom4([4]byte{192, 0, 2, 1})})
			if rng.IntN(3) == 0 {
				l = append(l, &attr.MED{Value: uint32(rng.IntN(1000))})
			}
			if rng.IntN(2) == 0 {
				c := &attr.Communities{}
				for range 1 + rng.IntN(4) {
					c.Values = append(c.Values, uint32(firstASes[rng.IntN(len(firstASes))])<<16|uint32(rng.IntN(300)))
				}
				if rng.IntN(1000) == 0 {
					c.Values = append(c.Values, attr.CommunityBlackhole)
				}
				l = append(l, c)
			}
			b := attr.AppendList(nil, l, attr.Options{AS4: true})
			dl, faults := attr.Decode(b, attr.Options{AS4: true})
			if len(faults) > 0 {
				panic(fmt.Sprint(faults))
			}
			t.sets[i] = dl
		}
		// Prefixes come in runs that share an attribute set, as UPDATEs
		// pack them; setOrder is the same table with every run broken up.
		for i := 0; i < benchPrefixes; {
			set := int32(rng.IntN(benchSets))
			for n := 1 + rng.IntN(65); n > 0 && i < benchPrefixes; n-- {
				bits := 24
				if rng.IntN(10) >= 6 {
					bits = 8 + rng.IntN(16)
				}
				a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
				t.prefixes[i], _ = a.Prefix(bits)
				t.set[i] = set
				i++
			}
		}
		t.shuffled = rng.Perm(benchPrefixes)
		benchTab = t
	})
	return benchTab
}

// BenchmarkEval10Statements runs the 10-statement policy over the table,
// one route per op; routes whose local preference is set cost the new
// attribute list. In update order the routes come as UPDATEs bring them,
// runs of prefixes sharing an attribute set; in random order every route
// has to fetch its attributes from memory, which is most of its cost.
func BenchmarkEval10Statements(b *testing.B) {
	benchEval(b, benchPolicy(false))
}

// BenchmarkEval10StatementsFilter is the same policy without set actions:
// the cost of the conditions alone, with no allocation.
func BenchmarkEval10StatementsFilter(b *testing.B) {
	benchEval(b, benchPolicy(true))
}

func benchEval(b *testing.B, spec string) {
	t := loadBenchTable(b)
	p := policyOf(b, spec)
	env := Env{LocalAS: 65010}
	for _, order := range []string{"update-order", "random-order"} {
		b.Run(order, func(b *testing.B) {
			r := Route{
				Family:   nlri.IPv4Unicast,
				NextHop:  netip.AddrFrom4([4]byte{192, 0, 2, 1}),
				Neighbor: netip.AddrFrom4([4]byte{192, 0, 2, 1}),
				Type:     EBGP,
			}
			var accepted, changed int
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := i % benchPrefixes
				if order == "random-order" {
					k = t.shuffled[k]
				}
				i++
				r.Prefix = t.prefixes[k]
				r.Attrs = t.sets[t.set[k]]
				res := p.Eval(&r, env)
				if res.Accept {
					accepted++
				}
				if res.Changed {
					changed++
				}
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(accepted)/float64(i), "accepted/op")
			b.ReportMetric(float64(changed)/float64(i), "changed/op")
			// allocs/op rounds down; this is the exact mean.
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(i), "mallocs/op")
		})
	}
}
