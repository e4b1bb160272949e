package rib

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/google/go-cmp/cmp"
)

// fakeResolver is a kernel's answers by address, and a record of watches.
type fakeResolver struct {
	reach   map[netip.Addr]uint32 // reachable next hops and their cost
	watched map[netip.Addr]int
	calls   []string
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{reach: map[netip.Addr]uint32{}, watched: map[netip.Addr]int{}}
}

func (f *fakeResolver) Resolve(a netip.Addr) (bool, uint32) {
	c, ok := f.reach[a]
	return ok, c
}

func (f *fakeResolver) Watch(as ...netip.Addr) {
	for _, a := range as {
		f.watched[a]++
		f.calls = append(f.calls, "watch "+a.String())
	}
}

func (f *fakeResolver) Unwatch(as ...netip.Addr) {
	for _, a := range as {
		if f.watched[a]--; f.watched[a] == 0 {
			delete(f.watched, a)
		}
		f.calls = append(f.calls, "unwatch "+a.String())
	}
}

// viaAttrs interns a set from neighbouring AS nas with next hop nh.
func (f *fixture) viaAttrs(nas uint32, nh string) *Attrs {
	l := attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{nas}}}},
		&attr.NextHop{Addr: netip.MustParseAddr(nh)},
	}
	a, _ := f.tb.Intern(l, nil)
	f.held = append(f.held, a)
	return a
}

func TestNextHopUnresolvableLoses(t *testing.T) {
	f := newFixture(t, NewOptions())
	res := newFakeResolver()
	nhA, nhC := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.3")
	res.reach[nhA], res.reach[nhC] = 0, 0
	f.r.SetResolver(res)
	// A's path is better (shorter... equal length; A is older); C is
	// another AS, so no multipath.
	f.update("A", 0, "203.0.113.0/24", f.viaAttrs(65001, nhA.String()))
	f.update("C", 0, "203.0.113.0/24", f.viaAttrs(65002, nhC.String()))
	f.update("A", 0, "203.0.114.0/24", f.viaAttrs(65001, nhA.String()))
	f.update("C", 0, "203.0.115.0/24", f.viaAttrs(65002, nhC.String()))
	f.drain()
	if len(res.watched) != 2 || res.watched[nhA] != 1 || res.watched[nhC] != 1 {
		t.Fatalf("watched %v, want each next hop once", res.watched)
	}

	delete(res.reach, nhA)
	if n := f.r.NextHopsChanged([]netip.Addr{nhA, netip.MustParseAddr("192.0.2.99")}); n != 1 {
		t.Errorf("NextHopsChanged = %d, want 1", n)
	}
	want := []change{
		{Prefix: "203.0.113.0/24", Best: "C#0", MP: []string{"C#0"}},
		{Prefix: "203.0.114.0/24"}, // its only path is unresolvable: no best path
	}
	got := f.drain()
	slices.SortFunc(got, func(a, b change) int { return strings.Compare(a.Prefix, b.Prefix) })
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after A's next hop went (-want +got):\n%s", d)
	}

	res.reach[nhA] = 0
	f.r.NextHopsChanged([]netip.Addr{nhA})
	got = f.drain()
	slices.SortFunc(got, func(a, b change) int { return strings.Compare(a.Prefix, b.Prefix) })
	want = []change{
		{Prefix: "203.0.113.0/24", Best: "A#0", MP: []string{"A#0"}},
		{Prefix: "203.0.114.0/24", Best: "A#0", MP: []string{"A#0"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after A's next hop came back (-want +got):\n%s", d)
	}
	f.done()
	if len(res.watched) != 0 {
		t.Errorf("still watched after every path went: %v (calls %v)", res.watched, res.calls)
	}
}

func TestNextHopCostDecidesStepIGPCost(t *testing.T) {
	f := newFixture(t, NewOptions())
	res := newFakeResolver()
	near, far := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.1")
	res.reach[near], res.reach[far] = 10, 20
	f.r.SetResolver(res)
	// Two iBGP paths identical up to the IGP cost (the fixture has one
	// iBGP source; the second path comes with ADD-PATH identifier 2).
	f.update("I", 1, "203.0.113.0/24", f.viaAttrs(65010, far.String()))
	f.update("I", 2, "203.0.113.0/24", f.viaAttrs(65010, near.String()))
	if d := cmp.Diff([]change{{Prefix: "203.0.113.0/24", Best: "I#2", MP: []string{"I#2"}}}, f.drain()); d != "" {
		t.Errorf("lower cost should win (-want +got):\n%s", d)
	}
	res.reach[far] = 5
	f.r.NextHopsChanged([]netip.Addr{far})
	if d := cmp.Diff([]change{{Prefix: "203.0.113.0/24", Best: "I#1", MP: []string{"I#1"}}}, f.drain()); d != "" {
		t.Errorf("after the far next hop became nearer (-want +got):\n%s", d)
	}
	f.done()
}

func TestNextHopResolverSetLate(t *testing.T) {
	f := newFixture(t, NewOptions())
	f.update("A", 0, "203.0.113.0/24", f.viaAttrs(65001, "198.51.100.1"))
	f.drain()
	f.r.SetResolver(newFakeResolver()) // knows no next hop
	if d := cmp.Diff([]change{{Prefix: "203.0.113.0/24"}}, f.drain()); d != "" {
		t.Errorf("a resolver set late should reselect held paths (-want +got):\n%s", d)
	}
	if got := f.r.NextHops(); len(got) != 1 || got[0].Resolvable || got[0].Sets != 1 {
		t.Errorf("NextHops = %+v", got)
	}
	f.done()
}

func TestReplaceStaleLongLived(t *testing.T) {
	f := newFixture(t, NewOptions())
	plain := f.viaAttrs(65001, "192.0.2.9")
	noLLGR := func() *Attrs {
		l := append(slices.Clone(plain.List()), &attr.Communities{Values: []uint32{attr.CommunityNoLLGR}})
		a, _ := f.tb.Intern(l, nil)
		f.held = append(f.held, a)
		return a
	}()
	f.update("A", 0, "203.0.113.0/24", plain)
	f.update("A", 0, "203.0.114.0/24", noLLGR)
	f.update("C", 0, "203.0.113.0/24", f.viaAttrs(65002, "192.0.2.10")) // loses to A (older, same length)... until A is long-lived stale
	f.drain()
	f.r.MarkStale(f.src["A"])
	kept, removed := f.r.ReplaceStale(f.src["A"], func(a *Attrs) *Attrs {
		if c, ok := a.List().Communities(); ok && c.Has(attr.CommunityNoLLGR) {
			return nil
		}
		l := append(slices.Clone(a.List()), &attr.Communities{Values: []uint32{attr.CommunityLLGRStale}})
		na, _ := f.tb.Intern(l, nil)
		f.held = append(f.held, na)
		return na
	})
	if kept != 1 || removed != 1 {
		t.Errorf("kept %d removed %d, want 1 and 1", kept, removed)
	}
	got := f.drain()
	slices.SortFunc(got, func(a, b change) int { return strings.Compare(a.Prefix, b.Prefix) })
	want := []change{
		{Prefix: "203.0.113.0/24", Best: "C#0", MP: []string{"C#0"}}, // the long-lived stale path is least preferred
		{Prefix: "203.0.114.0/24"},                                   // NO_LLGR: gone
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	paths, _ := f.r.Lookup(MustPrefix4("203.0.113.0/24"))
	if len(paths) != 2 || !paths[1].Attrs.LLGRStale || !paths[1].Stale {
		t.Errorf("A's path should stay, stale and LLGR_STALE: %+v", paths)
	}
	f.done()
}
