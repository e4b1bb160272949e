package rib

import (
	"net/netip"
	"sync"
	"testing"
	"unsafe"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestAttrsList checks that a set, which keeps only its encoding, decodes
// to the attributes it was interned from: values, a link-local next hop's
// zone kept out of the list, and the Partial bit of an optional
// transitive attribute (RFC 4271 §5: it stays set when passed on).
func TestAttrsList(t *testing.T) {
	comm := &attr.Communities{Values: []uint32{65000<<16 | 1}}
	comm.SetFlags(attr.FlagOptional | attr.FlagTransitive | attr.FlagPartial)
	l := attr.List{
		comm,
		&attr.Origin{Value: attr.OriginEGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, 4200000000}}}},
		&attr.MED{Value: 7},
		attr.NewMPReach(nlri.IPv6Unicast, netip.MustParseAddr("fe80::1"), netip.Addr{}, nil),
	}
	tb := NewTable()
	a, _ := tb.InternZone(l, nil, "eth0")
	if a.NextHop != netip.MustParseAddr("fe80::1%eth0") {
		t.Errorf("next hop %v, want fe80::1%%eth0", a.NextHop)
	}
	got := a.List()
	if g, w := attr.Canonical(nil, got, attr.Options{AS4: true}), attr.Canonical(nil, l, attr.Options{AS4: true}); string(g) != string(w) {
		t.Fatalf("List() = %x, interned from %x", g, w)
	}
	c, ok := got.Communities()
	if !ok || c.Flags()&attr.FlagPartial == 0 {
		t.Errorf("COMMUNITIES lost its Partial bit: %v", c)
	}
	// A list of its own each time: changing one leaves the set alone.
	got[0] = &attr.Origin{Value: attr.OriginIncomplete}
	if o, _ := a.List().Origin(); o.Value != attr.OriginEGP {
		t.Error("List() shares its list between calls")
	}
	// Without Partial it is another set.
	plain := append(attr.List{&attr.Communities{Values: comm.Values}}, l[1:]...)
	if b, _ := tb.InternZone(plain, nil, "eth0"); b == a {
		t.Error("a set with Partial COMMUNITIES and one without interned as one")
	}
}

// TestAttrsFields checks the values a set keeps for the decision process
// and the next-hop tracking, read from its list when interned: each
// field present and absent, the defaults, the next hop from NEXT_HOP or
// else from MP_REACH_NLRI, and the first of two attributes of a kind.
func TestAttrsFields(t *testing.T) {
	path := &attr.ASPath{Segments: []attr.Segment{
		{Type: iana.SegmentASSequence, ASNs: []uint32{65001, 65002}},
		{Type: iana.SegmentASSet, ASNs: []uint32{1, 2, 3}}}}
	llgr := &attr.Communities{Values: []uint32{uint32(attr.CommunityLLGRStale), 65000<<16 | 1}}
	// fields are the values of Attrs under test (an Attrs holds atomics,
	// and is not copied).
	type fields struct {
		LocalPref, MED, NeighborAS uint32
		ASPathLen, ClusterListLen  int32
		origID                     [4]byte
		HasLocalPref, HasMED       bool
		Origin                     attr.OriginCode
		LLGRStale, hasOrigID       bool
		NextHop                    netip.Addr
	}
	for _, tc := range []struct {
		name string
		l    attr.List
		want fields
	}{
		{"empty", attr.List{}, fields{Origin: attr.OriginIncomplete}},
		{"all", attr.List{&attr.Origin{Value: attr.OriginEGP}, path, &attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")},
			&attr.MED{Value: 5}, &attr.LocalPref{Value: 200}, llgr,
			&attr.OriginatorID{ID: netip.MustParseAddr("10.0.0.9")},
			&attr.ClusterList{IDs: []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("2.2.2.2")}}},
			fields{Origin: attr.OriginEGP, ASPathLen: 3, NeighborAS: 65001, NextHop: netip.MustParseAddr("192.0.2.1"),
				MED: 5, HasMED: true, LocalPref: 200, HasLocalPref: true, LLGRStale: true,
				origID: [4]byte{10, 0, 0, 9}, hasOrigID: true, ClusterListLen: 2}},
		{"next hop from MP_REACH_NLRI", attr.List{&attr.Origin{}, path,
			attr.NewMPReach(nlri.IPv6Unicast, netip.MustParseAddr("2001:db8::1"), netip.Addr{}, nil)},
			fields{Origin: attr.OriginIGP, ASPathLen: 3, NeighborAS: 65001, NextHop: netip.MustParseAddr("2001:db8::1")}},
		{"NEXT_HOP before MP_REACH_NLRI's", attr.List{
			attr.NewMPReach(nlri.IPv6Unicast, netip.MustParseAddr("2001:db8::1"), netip.Addr{}, nil),
			&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")}},
			fields{Origin: attr.OriginIncomplete, NextHop: netip.MustParseAddr("192.0.2.1")}},
		{"the first of two", attr.List{&attr.MED{Value: 1}, &attr.MED{Value: 2}, &attr.Origin{Value: attr.OriginEGP}, &attr.Origin{}},
			fields{Origin: attr.OriginEGP, MED: 1, HasMED: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAttrs("", 0, tc.l)
			got := fields{a.LocalPref, a.MED, a.NeighborAS, a.ASPathLen, a.ClusterListLen, a.origID,
				a.HasLocalPref, a.HasMED, a.Origin, a.LLGRStale, a.hasOrigID, a.NextHop}
			if got != tc.want {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestAttrsSize pins the size of a set: a full table has hundreds of
// thousands of them, and a field added carelessly moves it to the next
// size class.
func TestAttrsSize(t *testing.T) {
	if n := unsafe.Sizeof(Attrs{}); n != 96 {
		t.Errorf("Attrs is %d bytes, want 96", n)
	}
}

// TestTableConcurrent interns, retains and releases sets from several
// goroutines at once (as the sessions' readers and the RIB loop do) and
// checks the references: each goroutine's sets are shared with the
// others', every set is one Attrs however many intern it, and releasing
// every reference empties the table, ids and pages included, so that a
// second round starts afresh.
func TestTableConcurrent(t *testing.T) {
	tb := NewTable()
	const workers, sets = 8, 3000
	list := func(i int) attr.List {
		return attr.List{
			&attr.Origin{Value: attr.OriginIGP},
			&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, uint32(i)}}}},
			&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")},
		}
	}
	for round := range 2 {
		got := make([][]*Attrs, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var scratch []byte
				for i := range sets {
					var a *Attrs
					a, scratch = tb.Intern(list((i+w*97)%sets), scratch)
					tb.Retain(a)
					tb.Release(a)
					got[w] = append(got[w], a)
				}
			}()
		}
		wg.Wait()
		if n := tb.Len(); n != sets {
			t.Fatalf("round %d: %d sets, want %d", round, n, sets)
		}
		byID := map[uint32]*Attrs{}
		for w := range workers {
			for i, a := range got[w] {
				if b := got[0][(i+w*97)%sets]; a != b {
					t.Fatalf("round %d: worker %d set %d interned as two Attrs", round, w, i)
				}
				if b, ok := byID[a.id]; ok && b != a {
					t.Fatalf("round %d: id %d given to two sets", round, a.id)
				}
				byID[a.id] = a
			}
		}
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, a := range got[w] {
					tb.Release(a)
				}
			}()
		}
		wg.Wait()
		if n := tb.Len(); n != 0 {
			t.Fatalf("round %d: %d sets left after every release", round, n)
		}
		for i := range tb.shards {
			if sh := &tb.shards[i]; sh.n != 0 || sh.ents != nil {
				t.Fatalf("round %d: shard %d keeps %d entries", round, i, sh.n)
			}
		}
	}
}
