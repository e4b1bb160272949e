package rib

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/google/go-cmp/cmp"
)

// fixture is a LocRIB with four sources and a few attribute sets:
//
//	A, B: eBGP from AS 65001 (multipath candidates together)
//	C:    eBGP from AS 65002
//	I:    iBGP
type fixture struct {
	t     *testing.T
	tb    *Table
	r     *LocRIB[Prefix4]
	src   map[string]SourceID
	names map[*Source]string
	held  []*Attrs // the test's own references, released in done
}

func newFixture(t *testing.T, opts Options) *fixture {
	f := &fixture{t: t, tb: NewTable(), src: map[string]SourceID{}, names: map[*Source]string{}}
	f.r = NewLocRIB[Prefix4](f.tb, opts)
	for i, s := range []struct {
		name string
		as   uint32
		ibgp bool
	}{{"A", 65001, false}, {"B", 65001, false}, {"C", 65002, false}, {"I", 65000, true}} {
		src := &Source{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), RouterID: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}),
			AS: s.as, IBGP: s.ibgp}
		f.src[s.name] = f.r.AddSource(src)
		f.names[src] = s.name
	}
	return f
}

// attrs interns a set with neighbouring AS nas and LOCAL_PREF lp (0: none)
// and MED med (-1: none).
func (f *fixture) attrs(nas uint32, lp uint32, med int64) *Attrs {
	l := attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{nas, 65100}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.254")},
	}
	if lp != 0 {
		l = append(l, &attr.LocalPref{Value: lp})
	}
	if med >= 0 {
		l = append(l, &attr.MED{Value: uint32(med)})
	}
	a, _ := f.tb.Intern(l, nil)
	f.held = append(f.held, a)
	return a
}

func (f *fixture) label(p *Path) string {
	s := fmt.Sprintf("%s#%d", f.names[p.Source], p.PathID)
	if p.Stale {
		s += "(stale)"
	}
	return s
}

// change is what Drain reported for one prefix, by source name.
type change struct {
	Prefix string
	Best   string
	MP     []string
}

func (f *fixture) drain() []change {
	var out []change
	f.r.Drain(func(k Prefix4, best *Path, mp []*Path) {
		c := change{Prefix: k.String()}
		if best != nil {
			c.Best = f.label(best)
			if mp[0] != best {
				f.t.Errorf("%s: multipath[0] is not the best path", k)
			}
		}
		for _, p := range mp {
			c.MP = append(c.MP, f.label(p))
		}
		out = append(out, c)
	})
	return out
}

func (f *fixture) update(src string, id uint32, p string, a *Attrs) {
	f.t.Helper()
	if err := f.r.Update(f.src[src], id, MustPrefix4(p), a); err != nil {
		f.t.Fatal(err)
	}
}

// done withdraws everything, checks that the table and the attribute
// sets' reference counts are back to zero.
// add is Update of path 0 from src, which must succeed.
func (f *fixture) add(src SourceID, k Prefix4, a *Attrs) {
	f.t.Helper()
	if err := f.r.Update(src, 0, k, a); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) done() {
	f.t.Helper()
	for _, id := range f.src {
		f.r.WithdrawSource(id)
	}
	f.r.Drain(func(Prefix4, *Path, []*Path) {})
	if f.r.Len() != 0 || f.r.idx.count != 0 {
		f.t.Errorf("after withdrawing everything: Len %d, index %d", f.r.Len(), f.r.idx.count)
	}
	for _, a := range f.held {
		f.tb.Release(a)
	}
	if n := f.tb.Len(); n != 0 {
		f.t.Errorf("attribute sets still interned after every reference went: %d", n)
	}
}

func TestLocRIB(t *testing.T) {
	type step struct {
		do   func(f *fixture, a map[string]*Attrs)
		want []change
	}
	relax := func(o *Options) { o.MultipathRelax = true }
	tests := []struct {
		name  string
		opts  func(*Options)
		steps []step
	}{
		{"insert", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) {}, nil},
		}},
		{"replace-same-attrs-is-no-change", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) }, nil},
		}},
		{"implicit-withdraw-new-attrs", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp200"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) {
				if ps, _ := f.r.Lookup(MustPrefix4("10.0.0.0/24")); len(ps) != 1 || ps[0].Attrs != a["lp200"] {
					f.t.Errorf("implicit withdraw kept %d paths, want the one with the new attributes", len(ps))
				}
			}, nil},
		}},
		{"withdraw", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) {
				if f.r.Withdraw(f.src["A"], 1, MustPrefix4("10.0.0.0/24")) {
					f.t.Error("withdrew a path ID never announced")
				}
				f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.0.0.0/24"))
			}, []change{{Prefix: "10.0.0.0/24"}}},
			{func(f *fixture, a map[string]*Attrs) {
				if f.r.Len() != 0 {
					f.t.Errorf("Len %d after the last withdraw", f.r.Len())
				}
			}, nil},
		}},
		{"withdraw-unknown-prefix", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.9.0.0/16")) }, nil},
		}},
		{"best-path-change", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.update("C", 0, "10.0.0.0/24", a["c-lp200"]) },
				[]change{{"10.0.0.0/24", "C#0", []string{"C#0"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.update("I", 0, "10.0.0.0/24", a["lp100"]) }, nil}, // worse: no change
			{func(f *fixture, a map[string]*Attrs) { f.r.Withdraw(f.src["C"], 0, MustPrefix4("10.0.0.0/24")) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
		}},
		{"multipath-change", nil, []step{
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp100"])
				f.update("B", 0, "10.0.0.0/24", a["lp100"])
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0", "B#0"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.update("C", 0, "10.0.0.0/24", a["c-lp100"]) }, nil}, // other AS: not in the set
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 7, "10.0.0.0/24", a["lp100"]) }, // ADD-PATH: a second path from A
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0", "B#0", "A#7"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.r.Withdraw(f.src["B"], 0, MustPrefix4("10.0.0.0/24")) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0", "A#7"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.0.0.0/24")) },
				// C's path (another AS) is now the oldest eBGP path (RFC 5004).
				[]change{{"10.0.0.0/24", "C#0", []string{"C#0"}}}},
		}},
		{"multipath-relax", relax, []step{
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp100"])
				f.update("C", 0, "10.0.0.0/24", a["c-lp100"])
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0", "C#0"}}}},
		}},
		{"multipath-max-paths", func(o *Options) { o.MaxPaths = 2 }, []step{
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp100"])
				f.update("B", 0, "10.0.0.0/24", a["lp100"])
				f.update("A", 1, "10.0.0.0/24", a["lp100"])
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0", "B#0"}}}},
			{func(f *fixture, a map[string]*Attrs) { f.r.Withdraw(f.src["B"], 0, MustPrefix4("10.0.0.0/24")) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0", "A#1"}}}},
		}},
		{"multipath-member-attrs-change", nil, []step{
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp100"])
				f.update("B", 0, "10.0.0.0/24", a["lp100-med5"])
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			// B's MED goes from 5 to 0: now equal, joins the set.
			{func(f *fixture, a map[string]*Attrs) { f.update("B", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0", "B#0"}}}},
		}},
		{"coalescing-flap-storm", nil, []step{
			{func(f *fixture, a map[string]*Attrs) {
				for i := 0; i < 100; i++ {
					f.update("A", 0, "10.0.0.0/24", a["lp100"])
					f.update("C", 0, "10.0.0.0/24", a["c-lp200"])
					f.r.Withdraw(f.src["C"], 0, MustPrefix4("10.0.0.0/24"))
					f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.0.0.0/24"))
				}
				f.update("A", 0, "10.0.0.0/24", a["lp200"])
				f.update("A", 0, "10.1.0.0/16", a["lp100"])
				if f.r.Pending() != 2 {
					f.t.Errorf("Pending %d after a flap storm on one prefix and one more, want 2", f.r.Pending())
				}
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0"}}, {"10.1.0.0/16", "A#0", []string{"A#0"}}}},
		}},
		{"coalescing-storm-ending-withdrawn", nil, []step{
			{func(f *fixture, a map[string]*Attrs) { f.update("A", 0, "10.0.0.0/24", a["lp100"]) },
				[]change{{"10.0.0.0/24", "A#0", []string{"A#0"}}}},
			{func(f *fixture, a map[string]*Attrs) {
				for i := 0; i < 50; i++ {
					f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.0.0.0/24"))
					f.update("A", 0, "10.0.0.0/24", a["lp200"])
				}
				f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.0.0.0/24"))
			}, []change{{Prefix: "10.0.0.0/24"}}},
		}},
		{"stale-mark-and-sweep", nil, []step{
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp200"])
				f.update("A", 0, "10.0.1.0/24", a["lp100"])
				f.update("B", 0, "10.0.1.0/24", a["lp100"])
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0"}}, {"10.0.1.0/24", "A#0", []string{"A#0", "B#0"}}}},
			// Session A goes down with graceful restart: nothing changes.
			{func(f *fixture, a map[string]*Attrs) {
				if n := f.r.MarkStale(f.src["A"]); n != 2 {
					f.t.Errorf("MarkStale marked %d paths, want 2", n)
				}
				ps, _ := f.r.Lookup(MustPrefix4("10.0.0.0/24"))
				if !ps[0].Stale {
					f.t.Error("path not marked stale")
				}
			}, nil},
			// A comes back and re-announces only 10.0.0.0/24, then End-of-RIB.
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp200"])
				if n := f.r.SweepStale(f.src["A"]); n != 1 {
					f.t.Errorf("SweepStale removed %d paths, want 1", n)
				}
				ps, _ := f.r.Lookup(MustPrefix4("10.0.0.0/24"))
				if ps[0].Stale {
					f.t.Error("re-announced path still stale")
				}
			}, []change{{"10.0.1.0/24", "B#0", []string{"B#0"}}}},
		}},
		{"withdraw-source", nil, []step{
			{func(f *fixture, a map[string]*Attrs) {
				f.update("A", 0, "10.0.0.0/24", a["lp100"])
				f.update("A", 1, "10.0.0.0/24", a["lp100"])
				f.update("A", 0, "10.0.1.0/24", a["lp100"])
				f.update("C", 0, "10.0.1.0/24", a["c-lp100"])
				f.update("C", 0, "10.0.2.0/24", a["c-lp100"])
			}, []change{{"10.0.0.0/24", "A#0", []string{"A#0", "A#1"}}, {"10.0.1.0/24", "A#0", []string{"A#0"}},
				{"10.0.2.0/24", "C#0", []string{"C#0"}}}},
			{func(f *fixture, a map[string]*Attrs) {
				if n := f.r.WithdrawSource(f.src["A"]); n != 3 {
					f.t.Errorf("WithdrawSource removed %d paths, want 3", n)
				}
			}, []change{{Prefix: "10.0.0.0/24"}, {"10.0.1.0/24", "C#0", []string{"C#0"}}}},
			{func(f *fixture, a map[string]*Attrs) {
				if f.r.Len() != 2 {
					f.t.Errorf("Len %d, want 2", f.r.Len())
				}
			}, nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			f := newFixture(t, o)
			a := map[string]*Attrs{
				"lp100":      f.attrs(65001, 100, -1),
				"lp100-med5": f.attrs(65001, 100, 5),
				"lp200":      f.attrs(65001, 200, -1),
				"c-lp100":    f.attrs(65002, 100, -1),
				"c-lp200":    f.attrs(65002, 200, -1),
			}
			for i, s := range tc.steps {
				s.do(f, a)
				if diff := cmp.Diff(s.want, f.drain()); diff != "" {
					t.Errorf("step %d: changes (-want +got):\n%s", i, diff)
				}
			}
			f.done()
		})
	}
}

func TestLocRIBIPv6(t *testing.T) {
	tb := NewTable()
	r := NewLocRIB[Prefix6](tb, NewOptions())
	a := r.AddSource(&Source{Addr: netip.MustParseAddr("2001:db8::1"), RouterID: netip.MustParseAddr("10.0.0.1"), AS: 65001})
	b := r.AddSource(&Source{Addr: netip.MustParseAddr("2001:db8::2"), RouterID: netip.MustParseAddr("10.0.0.2"), AS: 65001})
	set, _ := tb.Intern(attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001}}}},
	}, nil)
	keys := []string{"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/64", "::/0", "2001:db8:1::1/128"}
	for _, k := range keys {
		if err := r.Update(a, 0, MustPrefix6(k), set); err != nil {
			t.Fatal(err)
		}
		if err := r.Update(b, 0, MustPrefix6(k), set); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	r.Drain(func(k Prefix6, best *Path, mp []*Path) {
		got = append(got, fmt.Sprintf("%s %s %d", k, best.Source.Addr, len(mp)))
	})
	want := []string{"2001:db8::/32 2001:db8::1 2", "2001:db8:1::/48 2001:db8::1 2", "2001:db8:1::/64 2001:db8::1 2",
		"::/0 2001:db8::1 2", "2001:db8:1::1/128 2001:db8::1 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if k := MustPrefix6("2001:db8:1:2:3::/48"); k != MustPrefix6("2001:db8:1::/48") {
		t.Errorf("host bits not masked: %s", k)
	}
	r.WithdrawSource(a)
	r.WithdrawSource(b)
	n := 0
	r.Drain(func(k Prefix6, best *Path, mp []*Path) {
		n++
		if best != nil {
			t.Errorf("%s still has a best path", k)
		}
	})
	if n != len(keys) {
		t.Errorf("%d withdrawals, want %d", n, len(keys))
	}
	tb.Release(set)
	if tb.Len() != 0 {
		t.Errorf("attribute set still interned")
	}
}

func TestPrefix4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"255.255.255.255/32", "255.255.255.255/32"},
		{"192.0.2.128/25", "192.0.2.128/25"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			k := MustPrefix4(tc.in)
			if k.String() != tc.want {
				t.Errorf("got %s, want %s", k, tc.want)
			}
			p := netip.MustParsePrefix(tc.in)
			a := p.Addr().As4()
			if m := MakePrefix4(uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3]), uint8(p.Bits())); m != k {
				t.Errorf("MakePrefix4 = %s, want %s", m, k)
			}
		})
	}
	if _, ok := Prefix4From(netip.MustParsePrefix("2001:db8::/32")); ok {
		t.Error("an IPv6 prefix packed as IPv4")
	}
	if _, ok := Prefix4From(netip.Prefix{}); ok {
		t.Error("the zero Prefix packed")
	}
	if _, ok := Prefix4From(netip.MustParsePrefix("::ffff:10.0.0.0/104")); ok {
		t.Error("an IPv4-mapped IPv6 prefix packed as IPv4")
	}
	if _, ok := Prefix6From(netip.MustParsePrefix("10.0.0.0/8")); ok {
		t.Error("an IPv4 prefix packed as IPv6")
	}
}

// TestLocRIBModel runs random operations against the table and a naive
// model (a map of path sets, Select on every read) and compares every
// prefix's selection and the change feed's final states.
func TestLocRIBModel(t *testing.T) {
	for _, o := range []Options{NewOptions(), {MaxPaths: 1}, {MaxPaths: 3, MultipathRelax: true, DeterministicMED: true}, {MaxPaths: 2, AlwaysCompareMED: true}, {MaxPaths: 4, DeterministicMED: true, PreferOldest: true}} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			f := newFixture(t, o)
			sets := []*Attrs{f.attrs(65001, 100, -1), f.attrs(65001, 100, 5), f.attrs(65001, 200, -1),
				f.attrs(65002, 100, -1), f.attrs(65002, 100, 3), f.attrs(65003, 90, -1)}
			srcs := []string{"A", "B", "C", "I"}
			type pk struct {
				src SourceID
				id  uint32
			}
			type mpath struct {
				a   *Attrs
				seq uint64
			}
			model := map[Prefix4]map[pk]mpath{}
			var seq uint64
			rng := rand.New(rand.NewPCG(1, 2))
			keys := make([]Prefix4, 40)
			for i := range keys {
				keys[i] = MakePrefix4(0x0a000000|uint32(i)<<8, 24)
			}
			// The default route's key is zero, as is a free entry's.
			keys[len(keys)/2] = MakePrefix4(0, 0)
			reported := map[Prefix4]change{}
			drainModel := func() {
				f.r.Drain(func(k Prefix4, best *Path, mp []*Path) {
					c := change{Prefix: k.String()}
					for _, p := range mp {
						c.MP = append(c.MP, fmt.Sprintf("%s#%d/%p", f.names[p.Source], p.PathID, p.Attrs))
					}
					reported[k] = c
				})
			}
			last := 0
			for i := 0; i < 20000; i++ {
				// Half the time the key after the last one, as a peer
				// sends its table (LocRIB.locate's guess), else any.
				ki := rng.IntN(len(keys))
				if rng.IntN(2) == 0 {
					ki = (last + 1) % len(keys)
				}
				last = ki
				k := keys[ki]
				s := f.src[srcs[rng.IntN(len(srcs))]]
				id := uint32(rng.IntN(3))
				switch op := rng.IntN(100); {
				case op < 55:
					a := sets[rng.IntN(len(sets))]
					if err := f.r.Update(s, id, k, a); err != nil {
						t.Fatal(err)
					}
					if model[k] == nil {
						model[k] = map[pk]mpath{}
					}
					if old, ok := model[k][pk{s, id}]; ok && old.a == a {
						break
					}
					seq++
					model[k][pk{s, id}] = mpath{a, 0}
				case op < 95:
					f.r.Withdraw(s, id, k)
					delete(model[k], pk{s, id})
				case op < 97:
					f.r.WithdrawSource(s)
					for _, m := range model {
						for p := range m {
							if p.src == s {
								delete(m, p)
							}
						}
					}
				default:
					drainModel()
				}
			}
			drainModel()
			for _, k := range keys {
				ps, nsel := f.r.Lookup(k)
				if len(ps) != len(model[k]) {
					t.Fatalf("%s: %d paths, model has %d", k, len(ps), len(model[k]))
				}
				// Select over the table's own paths (the model has no ages:
				// the check is that the stored selection is Select's answer
				// and the feed's last report is the stored selection).
				ptrs := make([]*Path, len(ps))
				for i := range ps {
					ptrs[i] = &ps[i]
					m, ok := model[k][pk{f.src[f.names[ps[i].Source]], ps[i].PathID}]
					if !ok || m.a != ps[i].Attrs {
						t.Fatalf("%s: path %s not in the model", k, f.label(&ps[i]))
					}
				}
				var want []string
				if len(ptrs) > 0 {
					best, mp := o.Select(ptrs, nil)
					if best != 0 {
						t.Errorf("%s: best is at %d, want 0", k, best)
					}
					if nsel != len(mp) {
						t.Errorf("%s: %d selected, Select says %d", k, nsel, len(mp))
					}
					for _, i := range mp {
						want = append(want, fmt.Sprintf("%s#%d/%p", f.names[ps[i].Source], ps[i].PathID, ps[i].Attrs))
					}
				}
				got := reported[k].MP
				// The multipath set is compared as a set after the best.
				if len(got) > 1 {
					slices.Sort(got[1:])
				}
				if len(want) > 1 {
					slices.Sort(want[1:])
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: last reported selection (-want +got):\n%s", k, diff)
				}
			}
			held := 0
			for _, m := range model {
				held += len(m)
			}
			if f.r.npaths != held {
				t.Errorf("the table counts %d paths, the model holds %d", f.r.npaths, held)
			}
			f.done()
		})
	}
}

// TestLocRIBLarge fills enough prefixes from enough sources (16, so runs
// grow to 16 records) for the index to grow and shift and the slab to
// compact during the load, then checks every prefix's path count against
// a model while withdrawing.
func TestLocRIBLarge(t *testing.T) {
	f := newFixture(t, NewOptions())
	for i := 4; i < 16; i++ {
		src := &Source{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), RouterID: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), AS: 65001}
		name := fmt.Sprintf("S%d", i)
		f.src[name] = f.r.AddSource(src)
		f.names[src] = name
	}
	set := f.attrs(65001, 100, -1)
	keys := benchKeys(50000)
	count := map[Prefix4]int{}
	for s := SourceID(0); s < 16; s++ {
		for i, k := range keys {
			if (i+int(s))%7 == 0 {
				continue
			}
			if err := f.r.Update(s, 0, k, set); err != nil {
				t.Fatal(err)
			}
			count[k]++
		}
	}
	check := func(when string) {
		t.Helper()
		for _, k := range keys {
			ps, nsel := f.r.Lookup(k)
			if len(ps) != count[k] || (count[k] > 0) != (nsel > 0) {
				t.Fatalf("%s: %s has %d paths (%d selected), want %d", when, k, len(ps), nsel, count[k])
			}
		}
		if f.r.Len() != f.r.idx.count-f.r.Pending()+f.pendingLive() {
			t.Fatalf("%s: Len %d, index %d", when, f.r.Len(), f.r.idx.count)
		}
	}
	check("loaded")
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range keys {
		if rng.IntN(2) == 0 {
			continue
		}
		for s := SourceID(0); s < 16; s++ {
			if f.r.Withdraw(s, 0, k) {
				count[k]--
			}
		}
	}
	check("half withdrawn")
	f.r.Drain(func(Prefix4, *Path, []*Path) {})
	f.r.Compact()
	check("compacted")
	f.done()
}

// pendingLive counts dirty entries that still have paths.
func (f *fixture) pendingLive() int {
	n := 0
	for _, ei := range f.r.dirty {
		if f.r.entries.At(ei).n > 0 {
			n++
		}
	}
	return n
}

// TestSources covers the source numbering: IDs freed by RemoveSource are
// handed out again lowest first, a source with paths cannot be removed,
// and AddSource refuses the source past MaxSources instead of wrapping
// into 16 bits.
func TestSources(t *testing.T) {
	f := newFixture(t, NewOptions()) // A, B, C, I: IDs 0 to 3
	set := f.attrs(65001, 100, -1)
	k := MustPrefix4("10.0.0.0/24")
	f.update("C", 0, "10.0.0.0/24", set)
	mustPanic(t, "RemoveSource of a source with paths", func() { f.r.RemoveSource(f.src["C"]) })
	f.r.WithdrawSource(f.src["C"])
	f.drain()
	f.r.RemoveSource(f.src["C"])
	f.r.RemoveSource(f.src["A"])
	mustPanic(t, "RemoveSource twice", func() { f.r.RemoveSource(f.src["A"]) })
	mustPanic(t, "Update from a removed source", func() { f.r.Update(f.src["A"], 0, k, set) })
	mustPanic(t, "SetSource of a removed source", func() { f.r.SetSource(f.src["A"], &Source{}) })
	x := &Source{Addr: netip.MustParseAddr("192.0.2.9"), RouterID: netip.MustParseAddr("10.0.0.9"), AS: 65009}
	y := &Source{Addr: netip.MustParseAddr("192.0.2.10"), RouterID: netip.MustParseAddr("10.0.0.10"), AS: 65010}
	if id := f.r.AddSource(x); id != f.src["A"] {
		t.Errorf("AddSource after removing 0 and 2 gave %d, want the lowest free, 0", id)
	}
	if id := f.r.AddSource(y); id != f.src["C"] {
		t.Errorf("second AddSource gave %d, want 2", id)
	}
	if id := f.r.AddSource(x); id != 4 {
		t.Errorf("AddSource with no free ID gave %d, want 4", id)
	}
	f.names[x], f.names[y] = "A", "C" // the IDs now stand for x and y
	f.update("C", 0, "10.0.0.0/24", set)
	if ps, _ := f.r.Lookup(k); len(ps) != 1 || ps[0].Source != y || ps[0].SourceID != f.src["C"] {
		t.Errorf("path from the reused ID: %+v", ps)
	}
	f.done()

	r := NewLocRIB[Prefix4](NewTable(), NewOptions())
	for i := 0; i < MaxSources; i++ {
		r.AddSource(x)
	}
	mustPanic(t, "AddSource past MaxSources", func() { r.AddSource(x) })
	r.RemoveSource(MaxSources - 1)
	if id := r.AddSource(x); id != MaxSources-1 {
		t.Errorf("AddSource after freeing the last ID gave %d", id)
	}
}

// TestPathSeq checks the 47-bit arrival sequence and the stale bit packed
// beside it: they do not disturb each other, and the sequence stops at
// its limit instead of wrapping.
func TestPathSeq(t *testing.T) {
	f := newFixture(t, NewOptions())
	set := f.attrs(65001, 100, -1)
	other := f.attrs(65001, 200, -1)
	k := MustPrefix4("10.0.0.0/24")
	f.r.seq = 1<<32 - 1 // the next one carries into seqHi
	f.update("A", 0, "10.0.0.0/24", set)
	f.r.MarkStale(f.src["A"])
	ps, _ := f.r.Lookup(k)
	if ps[0].Seq != 1<<32 || !ps[0].Stale {
		t.Errorf("Seq %d stale %v, want %d and stale", ps[0].Seq, ps[0].Stale, uint64(1<<32))
	}
	f.r.seq = maxSeq - 1
	f.update("A", 0, "10.0.0.0/24", other) // a new set: a new arrival, not stale
	f.update("B", 0, "10.0.0.0/24", set)
	ps, _ = f.r.Lookup(k)
	for _, p := range ps {
		if p.Seq != maxSeq || p.Stale {
			t.Errorf("%s: Seq %d stale %v, want %d (the limit) and not stale", f.label(&p), p.Seq, p.Stale, uint64(maxSeq))
		}
	}
	if f.r.Seq() != maxSeq {
		t.Errorf("Seq() %d past the limit", f.r.Seq())
	}
	f.done()
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

// TestSlotContract hammers a small key space with random updates,
// withdrawals, next-hop changes (so that prefixes lose their selection
// and keep unselected paths), graceful-restart marking and sweeping,
// walks and DrainAll, and checks the slot contract of DrainAll and Walk
// against a model built from the reports alone: a slot whose last report
// had paths is never reported for another key, a key keeps its slot
// until a report with no paths, every slot ends with a report with no
// paths once everything is withdrawn, and slots stay dense.
func TestSlotContract(t *testing.T) {
	for _, mode := range []string{"selection", "TrackAll", "toggled"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, NewOptions())
			res := newFakeResolver()
			nhs := []netip.Addr{netip.MustParseAddr("192.0.2.101"), netip.MustParseAddr("192.0.2.102"), netip.MustParseAddr("192.0.2.103")}
			for _, nh := range nhs {
				res.reach[nh] = 10
			}
			f.r.SetResolver(res)
			f.r.TrackAll(mode == "TrackAll")
			var sets []*Attrs
			for _, nh := range nhs {
				sets = append(sets, f.viaAttrs(65001, nh.String()), f.viaAttrs(65002, nh.String()))
			}
			srcs := []string{"A", "B", "C", "I"}
			keys := make([]Prefix4, 12)
			for i := range keys {
				keys[i] = MakePrefix4(0x0a000000|uint32(i)<<8, 24)
			}

			type held struct {
				key   Prefix4
				paths bool // the slot's last report had paths
			}
			slots := map[uint32]held{}
			slotOf := map[Prefix4]uint32{} // keys whose last report had paths
			var withPaths, unselected, emptied int
			report := func(how string, k Prefix4, slot uint32, ps []*Path, nsel int) {
				t.Helper()
				if int(slot) >= len(keys) {
					t.Fatalf("%s: %s at slot %d: slots not dense (%d keys)", how, k, slot, len(keys))
				}
				if h := slots[slot]; h.paths && h.key != k {
					t.Fatalf("%s: slot %d reported for %s, but its last report gave %s with paths", how, slot, k, h.key)
				}
				if s, ok := slotOf[k]; ok && s != slot {
					t.Fatalf("%s: %s moved from slot %d to %d without a report with no paths", how, k, s, slot)
				}
				if nsel > len(ps) || (len(ps) == 0 && nsel != 0) {
					t.Fatalf("%s: %s: nsel %d with %d paths", how, k, nsel, len(ps))
				}
				slots[slot] = held{k, len(ps) > 0}
				if len(ps) > 0 {
					slotOf[k] = slot
					withPaths++
					if nsel == 0 {
						unselected++
					}
				} else {
					if _, ok := slotOf[k]; ok {
						emptied++
					}
					delete(slotOf, k)
				}
			}
			drainAll := func() {
				f.r.DrainAll(func(k Prefix4, slot uint32, ps []*Path, nsel int) { report("DrainAll", k, slot, ps, nsel) })
			}
			var walkPos uint32
			rng := rand.New(rand.NewPCG(5, 6))
			for i := 0; i < 50000; i++ {
				k := keys[rng.IntN(len(keys))]
				s := f.src[srcs[rng.IntN(len(srcs))]]
				id := uint32(rng.IntN(2))
				switch op := rng.IntN(1000); {
				case op < 420:
					if err := f.r.Update(s, id, k, sets[rng.IntN(len(sets))]); err != nil {
						t.Fatal(err)
					}
				case op < 800:
					f.r.Withdraw(s, id, k)
				case op < 850:
					nh := nhs[rng.IntN(len(nhs))]
					if _, ok := res.reach[nh]; ok {
						delete(res.reach, nh)
					} else {
						res.reach[nh] = uint32(rng.IntN(3))
					}
					f.r.NextHopsChanged([]netip.Addr{nh})
				case op < 860:
					f.r.MarkStale(s)
				case op < 870:
					f.r.SweepStale(s)
				case op < 875:
					f.r.ReplaceStale(s, func(a *Attrs) *Attrs {
						if rng.IntN(2) == 0 {
							return nil
						}
						return a
					})
				case op < 880:
					f.r.WithdrawSource(s)
				case op < 930:
					var more bool
					walkPos, more = f.r.Walk(walkPos, 1+rng.IntN(4), func(k Prefix4, slot uint32, ps []*Path, nsel int) {
						report("Walk", k, slot, ps, nsel)
					})
					if !more {
						walkPos = 0
					}
				case op < 935 && mode == "toggled":
					f.r.TrackAll(rng.IntN(2) == 0)
				default:
					drainAll()
				}
			}
			drainAll()
			for _, id := range f.src {
				f.r.WithdrawSource(id)
			}
			drainAll()
			for slot, h := range slots {
				if h.paths {
					t.Errorf("slot %d: %s was withdrawn, but its last report had paths", slot, h.key)
				}
			}
			t.Logf("%d reports with paths (%d without a selection), %d slots released", withPaths, unselected, emptied)
			if unselected == 0 || emptied == 0 {
				t.Error("the operations never produced a prefix with only unselected paths, or never released a slot")
			}
			f.done()
		})
	}
}

// TestClose checks that Close gives back the table's attribute set
// references, its next-hop watches and every mapping, with paths still in
// the table.
func TestClose(t *testing.T) {
	f := newFixture(t, NewOptions())
	res := newFakeResolver()
	res.reach[netip.MustParseAddr("192.0.2.101")] = 1
	f.r.SetResolver(res)
	a := f.viaAttrs(65001, "192.0.2.101")
	for _, k := range benchKeys(3 * offheap.PageLen) { // several pages of entries and records
		f.update("A", 0, k.String(), a)
		f.update("B", 0, k.String(), a)
	}
	idx, recs := f.r.idx.b32, slices.Clone(f.r.recs.blocks)
	own := f.r.idx.bytes() + f.r.entries.Bytes() + int64(len(recs)*offheap.PageLen*16)
	before := offheap.Mapped() // other tests' tables may be unmapped meanwhile: only ever less
	f.r.Close()
	f.r.Close()
	if freed := before - offheap.Mapped(); freed < own {
		t.Errorf("Close unmapped %d bytes, the table had %d", freed, own)
	}
	if idx.Slice() != nil {
		t.Error("index still mapped")
	}
	for i, b := range recs {
		if b.Slice() != nil {
			t.Errorf("slab page %d still mapped", i)
		}
	}
	if len(res.watched) != 0 {
		t.Errorf("next hops still watched after Close: %v", res.watched)
	}
	for _, h := range f.held {
		f.tb.Release(h)
	}
	if n := f.tb.Len(); n != 0 {
		t.Errorf("%d attribute sets still interned after Close", n)
	}
}

// TestReplaceStaleFreesEntry: ReplaceStale removing the last path of a
// prefix that had no selection frees its entry at once (nothing was
// reported); the loop must not read the freed entry's run afterwards
// (a free entry's offset links the free list, and may point past the
// slab after the table shrank).
func TestReplaceStaleFreesEntry(t *testing.T) {
	f := newFixture(t, NewOptions())
	res := newFakeResolver()
	f.r.SetResolver(res) // knows no next hop: every path unresolvable, none selected
	a := f.viaAttrs(65001, "192.0.2.101")
	keys := benchKeys(offheap.PageLen + 1000)
	for _, k := range keys {
		f.update("A", 0, k.String(), a)
	}
	f.r.Walk(0, len(keys), func(Prefix4, uint32, []*Path, int) {})
	f.r.WithdrawSource(f.src["A"]) // in entry order: the last freed are past the first page
	f.r.DrainAll(func(Prefix4, uint32, []*Path, int) {})
	f.r.Compact()
	if len(f.r.recs.pages) > 1 {
		t.Fatalf("slab has %d pages after everything went", len(f.r.recs.pages))
	}
	for _, k := range keys[:3] {
		f.update("B", 0, k.String(), a)
	}
	f.r.MarkStale(f.src["B"])
	if kept, removed := f.r.ReplaceStale(f.src["B"], func(*Attrs) *Attrs { return nil }); kept != 0 || removed != 3 {
		t.Errorf("ReplaceStale kept %d and removed %d, want 0 and 3", kept, removed)
	}
	f.done()
}

// TestDrainSome drains a table in chunks: every change is reported once,
// in the order of the changes, whatever the chunk size, and withdrawn
// prefixes free their slots only when reported.
func TestDrainSome(t *testing.T) {
	f := newFixture(t, NewOptions())
	a := f.attrs(65001, 100, -1)
	const n = 1000
	keys := make([]Prefix4, n)
	for i := range keys {
		keys[i] = MakePrefix4(0x0a000000|uint32(i)<<8, 24)
		if err := f.r.Update(f.src["A"], 0, keys[i], a); err != nil {
			t.Fatal(err)
		}
	}
	f.r.DrainAll(func(Prefix4, uint32, []*Path, int) {})
	f.r.WithdrawSource(f.src["A"])
	var got []Prefix4
	for _, chunk := range []int{1, 7, 100, 0, 1000} {
		left := f.r.DrainSome(chunk, func(k Prefix4, _ uint32, ps []*Path, _ int) {
			if len(ps) != 0 {
				t.Fatalf("%s reported with %d paths after its withdrawal", k, len(ps))
			}
			got = append(got, k)
		})
		if left != n-len(got) || f.r.Pending() != left {
			t.Fatalf("after a chunk of %d: %d left, Pending %d, want %d", chunk, left, f.r.Pending(), n-len(got))
		}
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("reported %d prefixes, not the %d withdrawn in order", len(got), n)
	}
	if f.r.Len() != 0 {
		t.Fatalf("Len %d after every withdrawal was reported", f.r.Len())
	}
}

// TestIndexWidens runs a table through the switch from 4-byte to 8-byte
// index slots (at a lowered limit) with inserts and withdrawals on both
// sides of it, checking every key against a model.
func TestIndexWidens(t *testing.T) {
	defer func(l uint32) { narrowLimit = l }(narrowLimit)
	narrowLimit = 700
	f := newFixture(t, NewOptions())
	a := f.attrs(65001, 100, -1)
	keys := benchKeys(3000)
	in := map[Prefix4]bool{}
	rng := rand.New(rand.NewPCG(7, 11))
	check := func(when string) {
		for _, k := range keys {
			ps, _ := f.r.Lookup(k)
			if (len(ps) > 0) != in[k] {
				t.Fatalf("%s: %s in the table %v, in the model %v", when, k, len(ps) > 0, in[k])
			}
		}
		if f.r.Len() != len(in) {
			t.Fatalf("%s: Len %d, model %d", when, f.r.Len(), len(in))
		}
	}
	for i, k := range keys[:600] {
		if err := f.r.Update(f.src["A"], 0, k, a); err != nil {
			t.Fatal(err)
		}
		in[k] = true
		if i%50 == 0 {
			k := keys[rng.IntN(i+1)]
			f.r.Withdraw(f.src["A"], 0, k)
			delete(in, k)
		}
	}
	f.r.DrainAll(func(Prefix4, uint32, []*Path, int) {})
	check("narrow")
	if f.r.idx.wide {
		t.Fatal("widened early")
	}
	for i, k := range keys[600:] {
		if err := f.r.Update(f.src["A"], 0, k, a); err != nil {
			t.Fatal(err)
		}
		in[k] = true
		if i%3 == 0 {
			k := keys[rng.IntN(len(keys))]
			f.r.Withdraw(f.src["A"], 0, k)
			delete(in, k)
			f.r.DrainAll(func(Prefix4, uint32, []*Path, int) {})
		}
	}
	f.r.DrainAll(func(Prefix4, uint32, []*Path, int) {})
	if !f.r.idx.wide {
		t.Fatal("did not widen past the limit")
	}
	check("wide")
	for _, k := range keys {
		f.r.Withdraw(f.src["A"], 0, k)
		delete(in, k)
	}
	f.r.DrainAll(func(Prefix4, uint32, []*Path, int) {})
	check("empty")
	if f.r.idx.count != 0 {
		t.Fatalf("index holds %d keys after every withdrawal", f.r.idx.count)
	}
}

// TestSetsSharedByTables runs three Loc-RIBs over one Table with the same
// sets, in random order, against a model: the first table to take a set
// finds it through the set's hint, the others through their index, and a
// set that one table drops and takes again, or that another table owns
// the hint of, is still one slot per table. At the end every set has
// gone back to the Table.
func TestSetsSharedByTables(t *testing.T) {
	tb := NewTable()
	var sets []*Attrs
	for i := range 12 {
		l := attr.List{
			&attr.Origin{Value: attr.OriginIGP},
			&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, uint32(65100 + i)}}}},
			&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.254")},
		}
		a, _ := tb.Intern(l, nil)
		sets = append(sets, a)
	}
	type table struct {
		r     *LocRIB[Prefix4]
		src   SourceID
		model map[Prefix4]*Attrs
	}
	var tables []*table
	for range 3 {
		r := NewLocRIB[Prefix4](tb, NewOptions())
		src := r.AddSource(&Source{Addr: netip.MustParseAddr("192.0.2.1"), RouterID: netip.MustParseAddr("10.0.0.1"), AS: 65001})
		tables = append(tables, &table{r: r, src: src, model: map[Prefix4]*Attrs{}})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for op := range 30000 {
		tt := tables[rng.IntN(len(tables))]
		k := MakePrefix4(0x0a000000|uint32(rng.IntN(50))<<8, 24)
		if rng.IntN(3) == 0 {
			tt.r.Withdraw(tt.src, 0, k)
			delete(tt.model, k)
		} else {
			a := sets[rng.IntN(len(sets))]
			if err := tt.r.Update(tt.src, 0, k, a); err != nil {
				t.Fatal(err)
			}
			tt.model[k] = a
		}
		if op%1000 != 999 {
			continue
		}
		for ti, tt := range tables {
			slots := map[*Attrs]int{}
			for _, s := range tt.r.sets {
				if s.a != nil {
					slots[s.a]++
				}
			}
			used := map[*Attrs]bool{}
			for k, a := range tt.model {
				used[a] = true
				ps, _ := tt.r.Lookup(k)
				if len(ps) != 1 || ps[0].Attrs != a {
					t.Fatalf("op %d table %d: %s has %v, model %p", op, ti, k, ps, a)
				}
			}
			for a, n := range slots {
				if n != 1 || !used[a] {
					t.Fatalf("op %d table %d: set %p in %d slots, used %v", op, ti, a, n, used[a])
				}
			}
			if len(slots) != len(used) {
				t.Fatalf("op %d table %d: %d sets in slots, %d used", op, ti, len(slots), len(used))
			}
		}
	}
	for _, tt := range tables {
		for k := range tt.model {
			tt.r.Withdraw(tt.src, 0, k)
		}
		if tt.r.setIndex.TableLen() != 0 {
			t.Errorf("setIndex keeps %d sets with no path", tt.r.setIndex.TableLen())
		}
	}
	if n := tb.Len(); n != len(sets) {
		t.Errorf("the Table holds %d sets, want the test's own %d", n, len(sets))
	}
}

// TestRunGrowth checks how runs grow (appendRec): exactly when peers'
// tables arrive one after another, at once to the table's average when
// they arrive together, and the path count behind the average.
func TestRunGrowth(t *testing.T) {
	newTable := func(t *testing.T, sources int) (*fixture, []SourceID) {
		f := newFixture(t, NewOptions())
		ids := []SourceID{f.src["A"], f.src["B"], f.src["C"]}
		for i := 3; i < sources; i++ {
			src := &Source{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 10)}), RouterID: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 10)}), AS: 65001}
			name := fmt.Sprintf("S%d", i)
			f.src[name] = f.r.AddSource(src)
			f.names[src] = name
			ids = append(ids, f.src[name])
		}
		return f, ids[:sources]
	}
	keys := benchKeys(3000)
	// capacities counts the prefixes by the capacity of their run.
	capacities := func(f *fixture) map[int]int {
		c := map[int]int{}
		for ei := range uint32(f.r.entries.Len()) {
			if e := f.r.entries.At(ei); e.cls&entryFree == 0 {
				c[runSize[e.cls&clsMask]]++
			}
		}
		return c
	}
	checkPaths := func(t *testing.T, f *fixture) {
		t.Helper()
		sum := 0
		for _, n := range f.r.srcPaths {
			sum += n
		}
		if f.r.npaths != sum {
			t.Errorf("npaths %d, the sources hold %d", f.r.npaths, sum)
		}
	}
	t.Run("one table after another", func(t *testing.T) {
		f, srcs := newTable(t, 5)
		a := f.attrs(65001, 100, -1)
		for _, s := range srcs {
			for _, k := range keys {
				f.add(s, k, a)
			}
		}
		// 1, 2, 3, 4, then 6 for five paths: no run bigger than needs be.
		if c := capacities(f); c[6] != len(keys) {
			t.Errorf("run capacities %v, want all %d at 6", c, len(keys))
		}
		checkPaths(t, f)
		f.done()
	})
	t.Run("tables together", func(t *testing.T) {
		keys := benchKeys(8000) // past one slab page, which Tidy leaves alone
		f, srcs := newTable(t, 10)
		a := f.attrs(65001, 100, -1)
		for _, k := range keys {
			for _, s := range srcs {
				f.add(s, k, a)
			}
		}
		// From the second prefix on, the average is ten paths: a new
		// prefix gets a run of 12 records at once, and keeps it.
		if c := capacities(f); c[12] != len(keys) {
			t.Errorf("run capacities %v, want all %d at 12", c, len(keys))
		}
		if want := uint32(len(keys)*12 + 1 + 2 + 3 + 4 + 6 + 8 + 12); f.r.recs.end > want {
			t.Errorf("%d records handed out, want at most %d (one run of 12 per prefix but the first, and a page end)", f.r.recs.end, want)
		}
		checkPaths(t, f)
		if f.r.Tidy() {
			t.Error("Tidy compacted a slab a sixth unused (10 paths in runs of 12)")
		}
		// Nine peers of ten go from half the prefixes: no run is
		// free, but 11 records of 12 are unused in half of them, and
		// Tidy shrinks those runs to one record.
		for _, k := range keys[:len(keys)/2] {
			for _, s := range srcs[1:] {
				f.r.Withdraw(s, 0, k)
			}
		}
		checkPaths(t, f)
		f.r.Drain(func(Prefix4, *Path, []*Path) {})
		if !f.r.Tidy() {
			t.Errorf("Tidy left a slab with %d of %d records unused", f.r.UnusedRecords(), f.r.recs.end)
		}
		if c := capacities(f); c[1] != len(keys)/2 || c[12] != len(keys)-len(keys)/2 {
			t.Errorf("run capacities after compaction %v, want %d at 1 and the rest at 12", c, len(keys)/2)
		}
		if f.r.Tidy() {
			t.Error("Tidy compacted a tidy slab again")
		}
		for i, k := range keys {
			want := 10
			if i < len(keys)/2 {
				want = 1
			}
			if ps, _ := f.r.Lookup(k); len(ps) != want {
				t.Fatalf("%s: %d paths after compaction, want %d", k, len(ps), want)
			}
		}
		f.done()
	})
	t.Run("a few dual-homed prefixes", func(t *testing.T) {
		f, srcs := newTable(t, 3)
		a := f.attrs(65001, 100, -1)
		for _, k := range keys {
			f.add(srcs[0], k, a)
		}
		for i, k := range keys[:len(keys)/10] {
			f.add(srcs[1+i%2], k, a)
		}
		if c := capacities(f); c[2] != len(keys)/10 || c[1] != len(keys)-len(keys)/10 {
			t.Errorf("run capacities %v, want %d at 2 and the rest at 1", c, len(keys)/10)
		}
		checkPaths(t, f)
		f.done()
	})
}

// TestTidy checks that Tidy compacts a slab more than a third unused,
// and only then, keeping every path.
func TestTidy(t *testing.T) {
	f := newFixture(t, NewOptions())
	a := f.attrs(65001, 100, -1)
	keys := benchKeys(30000)
	for _, name := range []string{"A", "B", "C"} {
		for _, k := range keys {
			f.add(f.src[name], k, a)
		}
	}
	// Runs of 1 and 2 left behind by runs of 3: half the slab.
	if free := f.r.UnusedRecords(); free < 3*len(keys) {
		t.Fatalf("%d records unused after the load, want at least %d", free, 3*len(keys))
	}
	if !f.r.Tidy() {
		t.Fatal("Tidy did nothing with half the slab free")
	}
	if free := f.r.UnusedRecords(); free >= 64 {
		t.Errorf("%d records unused after Tidy", free)
	}
	if f.r.Tidy() {
		t.Error("Tidy compacted a compact slab")
	}
	for _, k := range keys {
		if ps, nsel := f.r.Lookup(k); len(ps) != 3 || nsel == 0 {
			t.Fatalf("%s: %d paths, %d selected after Tidy", k, len(ps), nsel)
		}
	}
	f.done()
}

// TestEarlyMemoSlotReused checks that earlyOrder's memo, keyed by set
// slots, does not outlive a slot: here the slot of a best path's set is
// given back and taken by a set that loses where the old one won.
func TestEarlyMemoSlotReused(t *testing.T) {
	f := newFixture(t, NewOptions())
	hi, mid, lo := f.attrs(65001, 200, -1), f.attrs(65001, 100, -1), f.attrs(65001, 50, -1)
	f.update("A", 0, "10.0.0.0/24", hi)
	f.update("B", 0, "10.0.0.0/24", mid) // loses before MED: remembered
	if got := f.drain(); len(got) != 1 || got[0].Best != "A#0" {
		t.Fatalf("first prefix: %+v, want A's path best", got)
	}
	// Both slots given back, B's first: A's (hi's) slot is taken first.
	f.r.Withdraw(f.src["B"], 0, MustPrefix4("10.0.0.0/24"))
	f.r.Withdraw(f.src["A"], 0, MustPrefix4("10.0.0.0/24"))
	f.drain()
	f.update("A", 0, "10.0.1.0/24", lo)  // in hi's old slot
	f.update("B", 0, "10.0.1.0/24", mid) // the same slots as before, the other answer
	if got := f.drain(); len(got) != 1 || got[0].Best != "B#0" {
		t.Fatalf("second prefix: %+v, want B's path best (LOCAL_PREF 100 over 50)", got)
	}
	f.done()
}
