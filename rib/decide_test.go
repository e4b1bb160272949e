package rib

import (
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// spec describes a candidate; the zero value is the base path: eBGP from
// 192.0.2.1 (router ID 10.0.0.1, AS 65001), AS_PATH 65001 65100, ORIGIN
// IGP, no MED, no LOCAL_PREF.
type spec struct {
	localPref    uint32 // 0: none
	med          int64  // -1: none
	asPath       []iana.SegmentType
	origin       attr.OriginCode
	neighborAS   uint32
	originatorID string
	clusterLen   int
	ibgp, local  bool
	unresolvable bool
	llgrStale    bool
	igpCost      uint32
	seq          uint64
	routerID     string
	addr         string
	pathID       uint32
}

func build(t *testing.T, tb *Table, s spec) *Path {
	t.Helper()
	nas := s.neighborAS
	if nas == 0 {
		nas = 65001
	}
	segs := []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{nas, 65100}}}
	for _, st := range s.asPath {
		segs = append(segs, attr.Segment{Type: st, ASNs: []uint32{64512, 64513}})
	}
	l := attr.List{
		&attr.Origin{Value: s.origin},
		&attr.ASPath{Segments: segs},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.254")},
	}
	if s.med >= 0 {
		l = append(l, &attr.MED{Value: uint32(s.med)})
	}
	if s.localPref != 0 {
		l = append(l, &attr.LocalPref{Value: s.localPref})
	}
	if s.originatorID != "" {
		l = append(l, &attr.OriginatorID{ID: netip.MustParseAddr(s.originatorID)})
	}
	if s.clusterLen > 0 {
		cl := &attr.ClusterList{}
		for i := 0; i < s.clusterLen; i++ {
			cl.IDs = append(cl.IDs, netip.AddrFrom4([4]byte{10, 9, 9, byte(i + 1)}))
		}
		l = append(l, cl)
	}
	if s.llgrStale {
		l = append(l, &attr.Communities{Values: []uint32{attr.CommunityLLGRStale}})
	}
	a, _ := tb.Intern(l, nil)
	src := &Source{Addr: netip.MustParseAddr(or(s.addr, "192.0.2.1")), RouterID: netip.MustParseAddr(or(s.routerID, "10.0.0.1")),
		AS: nas, IBGP: s.ibgp, Local: s.local}
	return &Path{Attrs: a, Source: src, PathID: s.pathID, Seq: s.seq, Unresolvable: s.unresolvable, IGPCost: s.igpCost}
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func base() spec { return spec{med: -1, seq: 1} }

// TestDecisionSteps has one case per step: two candidates that differ only
// there; the first is the one that must win, and the step must be named.
func TestDecisionSteps(t *testing.T) {
	with := func(f func(*spec)) spec { s := base(); f(&s); return s }
	tests := []struct {
		name      string
		opts      func(*Options)
		win, lose spec
		step      Step
	}{
		{"next-hop-resolvable", nil, base(), with(func(s *spec) { s.unresolvable = true; s.localPref = 500 }), StepNextHop},
		{"not-long-lived-stale", nil, base(), with(func(s *spec) { s.llgrStale = true; s.localPref = 500 }), StepLLGRStale},
		{"local-preference", nil, with(func(s *spec) { s.localPref = 200 }), base(), StepLocalPref},
		{"local-preference-default-100", nil, base(), with(func(s *spec) { s.localPref = 99 }), StepLocalPref},
		{"locally-originated", nil, with(func(s *spec) { s.local = true }), base(), StepLocal},
		{"as-path-length", nil, base(), with(func(s *spec) { s.asPath = []iana.SegmentType{iana.SegmentASSequence} }), StepASPathLength},
		{"as-path-length-as-set-counts-one", nil, with(func(s *spec) { s.asPath = []iana.SegmentType{iana.SegmentASSet} }),
			with(func(s *spec) { s.asPath = []iana.SegmentType{iana.SegmentASSequence} }), StepASPathLength},
		{"as-path-length-confed-counts-zero", nil, with(func(s *spec) { s.asPath = []iana.SegmentType{iana.SegmentConfedSequence} }),
			with(func(s *spec) { s.asPath = []iana.SegmentType{iana.SegmentASSet} }), StepASPathLength},
		{"origin", nil, base(), with(func(s *spec) { s.origin = attr.OriginEGP }), StepOrigin},
		{"origin-egp-over-incomplete", nil, with(func(s *spec) { s.origin = attr.OriginEGP }), with(func(s *spec) { s.origin = attr.OriginIncomplete }), StepOrigin},
		{"med", nil, with(func(s *spec) { s.med = 10 }), with(func(s *spec) { s.med = 20 }), StepMED},
		{"med-missing-is-zero", nil, base(), with(func(s *spec) { s.med = 1 }), StepMED},
		{"med-missing-worst", func(o *Options) { o.MissingMEDWorst = true }, with(func(s *spec) { s.med = 1 }), base(), StepMED},
		{"med-not-compared-across-neighbor-as", nil,
			with(func(s *spec) { s.med = 50; s.routerID = "10.0.0.1"; s.seq = 2 }),
			with(func(s *spec) { s.med = 10; s.neighborAS = 65002; s.routerID = "10.0.0.2"; s.seq = 2 }), StepRouterID},
		{"med-always-compare", func(o *Options) { o.AlwaysCompareMED = true },
			with(func(s *spec) { s.med = 10; s.neighborAS = 65002 }), with(func(s *spec) { s.med = 50 }), StepMED},
		{"ebgp-over-ibgp", nil, base(), with(func(s *spec) { s.ibgp = true }), StepEBGP},
		{"igp-cost", nil, with(func(s *spec) { s.igpCost = 10 }), with(func(s *spec) { s.igpCost = 20 }), StepIGPCost},
		{"oldest-path", nil, with(func(s *spec) { s.seq = 1; s.routerID = "10.0.0.9" }), with(func(s *spec) { s.seq = 2 }), StepOldest},
		{"router-id", func(o *Options) { o.PreferOldest = false },
			with(func(s *spec) { s.seq = 2; s.routerID = "10.0.0.1" }), with(func(s *spec) { s.routerID = "10.0.0.2" }), StepRouterID},
		{"router-id-ibgp-ignores-age", nil,
			with(func(s *spec) { s.ibgp = true; s.seq = 9; s.routerID = "10.0.0.1" }), with(func(s *spec) { s.ibgp = true; s.routerID = "10.0.0.2" }), StepRouterID},
		{"router-id-originator-id", nil,
			with(func(s *spec) { s.ibgp = true; s.routerID = "10.0.0.9"; s.originatorID = "10.0.0.1" }),
			with(func(s *spec) { s.ibgp = true; s.routerID = "10.0.0.5" }), StepRouterID},
		{"cluster-list-length", nil,
			with(func(s *spec) { s.ibgp = true; s.clusterLen = 1 }), with(func(s *spec) { s.ibgp = true; s.clusterLen = 2 }), StepClusterList},
		{"neighbor-address", nil,
			with(func(s *spec) { s.ibgp = true; s.addr = "192.0.2.1" }), with(func(s *spec) { s.ibgp = true; s.addr = "192.0.2.2" }), StepNeighborAddr},
		{"path-id", nil, with(func(s *spec) { s.pathID = 1 }), with(func(s *spec) { s.pathID = 2 }), StepPathID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable()
			o := NewOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			w, l := build(t, tb, tt.win), build(t, tb, tt.lose)
			if c, s := o.Compare(w, l); c >= 0 || s != tt.step {
				t.Errorf("Compare(win, lose) = %d at %s, want < 0 at %s", c, s, tt.step)
			}
			if c, s := o.Compare(l, w); c <= 0 || s != tt.step {
				t.Errorf("Compare(lose, win) = %d at %s, want > 0 at %s", c, s, tt.step)
			}
			if best, _ := o.Select([]*Path{l, w}, nil); best != 1 {
				t.Errorf("Select picked %d, want the winner", best)
			}
		})
	}
}

func TestIdentical(t *testing.T) {
	tb := NewTable()
	o := NewOptions()
	a, b := build(t, tb, base()), build(t, tb, base())
	if a.Attrs != b.Attrs {
		t.Fatal("equal attributes were not interned to one set")
	}
	if c, s := o.Compare(a, b); c != 0 || s != StepNone {
		t.Errorf("Compare = %d at %s", c, s)
	}
}

func TestMultipath(t *testing.T) {
	tb := NewTable()
	mk := func(as uint32, addr string, seq uint64, f func(*spec)) *Path {
		s := base()
		s.neighborAS, s.addr, s.seq, s.routerID = as, addr, seq, addr
		if f != nil {
			f(&s)
		}
		return build(t, tb, s)
	}
	paths := []*Path{
		mk(65001, "192.0.2.1", 1, nil),
		mk(65001, "192.0.2.2", 2, nil),
		mk(65002, "192.0.2.3", 3, nil),                                     // other neighbour AS
		mk(65001, "192.0.2.4", 4, func(s *spec) { s.med = 5 }),             // worse MED
		mk(65001, "192.0.2.5", 5, func(s *spec) { s.unresolvable = true }), // not a candidate
		mk(65001, "192.0.2.6", 6, func(s *spec) { s.igpCost = 1 }),         // worse IGP cost
		mk(65001, "192.0.2.7", 7, nil),
	}
	tests := []struct {
		name string
		opts func(*Options)
		want []int
	}{
		{"same neighbour AS", nil, []int{0, 1, 6}},
		{"relax", func(o *Options) { o.MultipathRelax = true }, []int{0, 1, 2, 6}},
		{"max paths 2", func(o *Options) { o.MaxPaths = 2 }, []int{0, 1}},
		{"multipath off", func(o *Options) { o.MaxPaths = 1 }, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			best, mp := o.Select(paths, nil)
			if best != 0 || len(mp) != len(tt.want) {
				t.Fatalf("best %d multipath %v, want 0 %v", best, mp, tt.want)
			}
			for i := range mp {
				if mp[i] != tt.want[i] {
					t.Fatalf("multipath %v, want %v", mp, tt.want)
				}
			}
		})
	}
}

// TestDeterministicMED checks the classic order dependence: with pairwise
// comparison the winner depends on arrival order; with DeterministicMED it
// does not.
func TestDeterministicMED(t *testing.T) {
	tb := NewTable()
	o := NewOptions()
	o.PreferOldest = false
	mk := func(as uint32, med int64, rid string) *Path {
		s := base()
		s.neighborAS, s.med, s.routerID, s.addr = as, med, rid, rid
		return build(t, tb, s)
	}
	a := mk(65001, 100, "10.0.0.1") // AS 65001, worse MED, lowest router ID
	b := mk(65002, 50, "10.0.0.2")  // AS 65002
	c := mk(65001, 10, "10.0.0.3")  // AS 65001, best MED of its AS
	orders := [][]*Path{{a, b, c}, {c, b, a}, {b, a, c}, {b, c, a}}
	o.DeterministicMED = true
	for _, paths := range orders {
		best, _ := o.Select(paths, nil)
		// Within AS 65001, c beats a on MED; between c and b, MED is
		// not compared and the router ID picks b.
		if paths[best] != b {
			t.Errorf("deterministic MED picked %s", paths[best].Source.RouterID)
		}
	}
}

func TestInternRefcount(t *testing.T) {
	tb := NewTable()
	a := build(t, tb, base())
	b := build(t, tb, base())
	if tb.Len() != 1 || a.Attrs != b.Attrs {
		t.Fatalf("want one shared set, have %d", tb.Len())
	}
	tb.Release(a.Attrs)
	if tb.Len() != 1 {
		t.Fatal("released while still referenced")
	}
	tb.Release(b.Attrs)
	if tb.Len() != 0 {
		t.Fatal("last reference did not remove the set")
	}
}

func BenchmarkIntern(b *testing.B) {
	tb := NewTable()
	l := attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, 65100, 65200, 3356, 174}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.254")},
		&attr.MED{Value: 10},
		&attr.Communities{Values: []uint32{65001<<16 | 1, 65001<<16 | 2}},
	}
	var scratch []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var a *Attrs
		a, scratch = tb.Intern(l, scratch)
		tb.Release(a)
		tb.Retain(a) // keep it alive after the first round
	}
}

// TestSelectDeterministicNoAlloc keeps deterministic MED off the heap: Select
// runs for every prefix an UPDATE touches.
func TestSelectDeterministicNoAlloc(t *testing.T) {
	tb := NewTable()
	o := NewOptions()
	o.DeterministicMED = true
	var paths []*Path
	for i, as := range []uint32{65001, 65002, 65001, 65003} {
		s := base()
		s.neighborAS, s.med, s.seq = as, int64(i*10), uint64(i+1)
		paths = append(paths, build(t, tb, s))
	}
	mp := make([]int, 0, 16)
	if n := testing.AllocsPerRun(100, func() { _, mp = o.Select(paths, mp) }); n != 0 {
		t.Errorf("Select with deterministic MED allocates %v times", n)
	}
}
