package export

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestGroupJoinDuringChanges joins a member to a group that holds a
// table, with batches of changes between the chunks of its walk, as the
// RIB loop gives them: the member ends with the group's table and gets
// the later changes. A prefix changed ahead of the walk is announced
// twice, one withdrawn ahead of it is withdrawn without having been sent:
// both harmless (walk.go).
func TestGroupJoinDuringChanges(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	first, rec1 := newMember(false)
	h.join(first, true)
	pfx := func(i int) string { return fmt.Sprintf("10.20.%d.0/24", i) }
	var batch []Change
	for i := range 12 {
		batch = append(batch, announce(pfx(i), h.local(nlri.IPv4Unicast, 1)))
	}
	batch = append(batch, announce("2001:db8:20::/48", h.local(nlri.IPv6Unicast, 1)))
	h.changes(batch...)
	h.synced()
	peer1 := table(nil, decodeAll(t, rec1.take(), h.opt))

	m, rec := newMember(false)
	var w *Walk
	h.do("Join", func(ctx context.Context) (ok bool) {
		w, ok = h.g.Join(ctx, m, false)
		return ok
	})
	if w.Atomic() {
		t.Fatal("a join without Replacing is atomic")
	}
	wk := h.walker(w) // h.chunk (3) prefixes a chunk
	wk.step()         // 0, 1, 2
	reused := at(slotOf(netip.MustParsePrefix(pfx(5))), announce("10.21.0.0/24", h.local(nlri.IPv4Unicast, 4)))
	h.changes(
		announce(pfx(1), h.local(nlri.IPv4Unicast, 2)), // behind the walk
		withdraw(pfx(2)),
		announce(pfx(7), h.local(nlri.IPv4Unicast, 3)), // ahead of it
		withdraw(pfx(9)),
		withdraw(pfx(5)), // ahead, and its slot given to another prefix next
		announce("10.20.200.0/24", h.local(nlri.IPv4Unicast, 1)), // a new prefix, ahead
	)
	wk.step()         // 3, 4, 6
	h.changes(reused) // at slot 5, behind the walk now
	for !wk.step() {
	}
	es := decodeAll(t, rec.take(), h.opt)
	k := kinds(es)
	if !slices.Equal(k[len(k)-2:], []string{"EoR ipv4-unicast", "EoR ipv6-unicast"}) || len(updates(es)) != len(es)-2 {
		t.Errorf("the member got %q, want UPDATEs then End-of-RIB", k)
	}
	peer1 = table(peer1, decodeAll(t, rec1.take(), h.opt))
	got := table(nil, es)
	if diff := cmp.Diff(peer1, got); diff != "" {
		t.Errorf("the joining member holds (-the first member +it):\n%s", diff)
	}
	if diff := cmp.Diff(h.held(), got); diff != "" {
		t.Errorf("the joining member holds (-Snapshot +it):\n%s", diff)
	}
	wd, ann := wdAnn(es)
	twice := 0
	for _, a := range ann {
		if a == pfx(7) {
			twice++
		}
	}
	if !slices.Contains(wd, pfx(9)) || twice != 2 {
		t.Errorf("withdrew %q and announced %q: the interleaving did not happen as planned", wd, ann)
	}

	h.changes(withdraw(pfx(0)))
	if es := decodeAll(t, rec.take(), h.opt); len(es) != 1 || !slices.Equal(prefixes(es[0].wd), []string{pfx(0)}) {
		t.Errorf("a later change: %+v", es)
	}
	if v4, v6 := h.keyPages(); v4 != 0 || v6 != 0 {
		t.Errorf("a group without MRAI keeps %d and %d keys", v4, v6)
	}
}

// TestGroupRefreshDuringChanges refreshes a family with a batch between
// the chunks: BoRR first and EoRR last for enhanced refresh (RFC 7313),
// and the member's table right either way.
func TestGroupRefreshDuringChanges(t *testing.T) {
	for _, enhanced := range []bool{true, false} {
		t.Run(fmt.Sprint("enhanced ", enhanced), func(t *testing.T) {
			h := newHarness(t, ebgpConfig(), nil)
			m, rec := newMember(enhanced)
			other, recOther := newMember(false)
			h.join(m, true)
			h.join(other, true)
			var batch []Change
			for i := range 10 {
				batch = append(batch, announce(fmt.Sprintf("10.22.%d.0/24", i), h.local(nlri.IPv4Unicast, 1)))
			}
			batch = append(batch, announce("2001:db8:22::/48", h.local(nlri.IPv6Unicast, 1)))
			h.changes(batch...)
			h.synced()
			peer := table(nil, decodeAll(t, rec.take(), h.opt))
			recOther.take()

			var w *Walk
			h.do("Refresh", func(ctx context.Context) (ok bool) {
				w, ok = h.g.Refresh(ctx, m, nlri.IPv4Unicast)
				return ok
			})
			if diff := cmp.Diff([]nlri.Family{nlri.IPv4Unicast}, w.Families()); diff != "" {
				t.Errorf("families walked (-want +got):\n%s", diff)
			}
			wk := h.walker(w)
			wk.step()
			h.changes(withdraw("10.22.8.0/24"), announce("10.22.1.0/24", h.local(nlri.IPv4Unicast, 2)))
			for !wk.step() {
			}
			es := decodeAll(t, rec.take(), h.opt)
			k := kinds(es)
			if enhanced && (k[0] != "BoRR ipv4-unicast" || k[len(k)-1] != "EoRR ipv4-unicast" || len(updates(es)) != len(es)-2) {
				t.Errorf("got %q, want BoRR, UPDATEs, EoRR", k)
			}
			if !enhanced && len(updates(es)) != len(es) {
				t.Errorf("got %q, want UPDATEs only", k)
			}
			if diff := cmp.Diff(h.held(), table(peer, es)); diff != "" {
				t.Errorf("the member holds (-Snapshot +it):\n%s", diff)
			}
			wd, ann := wdAnn(decodeAll(t, recOther.take(), h.opt))
			if !slices.Equal(wd, []string{"10.22.8.0/24"}) || !slices.Equal(ann, []string{"10.22.1.0/24"}) {
				t.Errorf("the other member got withdrawn %q and announced %q, want the batch only", wd, ann)
			}
		})
	}
}

// TestWalkFamilies checks what the owner walks: the families the group
// keeps by slot only (no ADD-PATH, no MRAI) that the walk lists, and
// which walks it must give whole.
func TestWalkFamilies(t *testing.T) {
	v4, v6 := nlri.IPv4Unicast, nlri.IPv6Unicast
	addPath := ebgpConfig()
	addPath.Options.AddPath = nlri.NewAddPath(v4)
	mrai := ebgpConfig()
	mrai.MRAI = time.Hour
	tests := []struct {
		name            string
		cfg             Config
		join, snap4, v6 []nlri.Family
	}{
		{"no MRAI, no ADD-PATH", ebgpConfig(), []nlri.Family{v4, v6}, []nlri.Family{v4}, []nlri.Family{v6}},
		{"ADD-PATH for IPv4", addPath, []nlri.Family{v6}, nil, []nlri.Family{v6}},
		{"MRAI", mrai, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg, nil)
			ctx := context.Background()
			m, _ := newMember(false)
			join, _ := h.g.Join(ctx, m, false)
			snap, _ := h.g.Snapshot(ctx, v4, netip.Prefix{})
			ref, _ := h.g.Refresh(ctx, m, v6)
			for _, c := range []struct {
				name string
				w    *Walk
				want []nlri.Family
			}{{"join", join, tc.join}, {"IPv4 snapshot", snap, tc.snap4}, {"IPv6 refresh", ref, tc.v6}} {
				if diff := cmp.Diff(c.want, c.w.Families()); diff != "" {
					t.Errorf("%s walks (-want +got):\n%s", c.name, diff)
				}
				h.walk(c.w)
			}
			if join.Atomic() || ref.Atomic() || !snap.Atomic() {
				t.Errorf("atomic: join %v, refresh %v, snapshot %v; want only the snapshot", join.Atomic(), ref.Atomic(), snap.Atomic())
			}
			r, _ := newMember(false)
			r.Replacing = []Advertised{}
			if w, _ := h.g.Join(ctx, r, false); !w.Atomic() {
				t.Error("a join with Replacing is not atomic")
			} else {
				h.walk(w)
			}
		})
	}
}

// TestGroupKeylessMapsNoKeys fills a group without MRAI and one with an
// MRAI with the same table: the first maps the out sets' pages only, the
// second also the keys' (8 bytes a prefix for IPv4).
func TestGroupKeylessMapsNoKeys(t *testing.T) {
	const n = offheap.PageLen + 100 // two pages
	mapped := func(mrai time.Duration) int64 {
		cfg := ebgpConfig()
		cfg.MRAI = mrai
		h := newHarness(t, cfg, nil)
		m, _ := newMember(false)
		h.join(m, true)
		var batch []Change
		s := h.local(nlri.IPv4Unicast, 1)
		for i := range n {
			batch = append(batch, Change{Family: nlri.IPv4Unicast, P4: rib.MakePrefix4(uint32(10<<24|i<<8), 24), Slot: uint32(i),
				NSel: 1, Paths: []Sel{s}})
		}
		var before, after int64
		h.query(func() { before = offheap.Mapped() })
		h.changes(batch...)
		h.synced() // an MRAI holds the batch until then
		h.query(func() { after = offheap.Mapped() })
		h.counts(n, 0)
		return after - before
	}
	keyless, keyed := mapped(0), mapped(time.Hour)
	if want := int64(2 * offheap.PageLen * 4); keyless != want {
		t.Errorf("a group without MRAI mapped %d bytes for %d prefixes, want %d (two pages of out sets)", keyless, n, want)
	}
	if want := int64(2 * offheap.PageLen * (4 + 8)); keyed != want {
		t.Errorf("a group with an MRAI mapped %d bytes for %d prefixes, want %d (out sets and keys)", keyed, n, want)
	}
}

// TestGroupReplacingShared moves two members from one old group into a
// new one together (one Snapshot as their Replacing, the RIB loop's
// regroup): they share one table of marks, and each gets the withdrawals
// of what the new group does not send, at Synced.
func TestGroupReplacingShared(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	before := []Advertised{
		{Family: nlri.IPv4Unicast, Prefix: netip.MustParsePrefix("10.23.0.0/24")},
		{Family: nlri.IPv4Unicast, Prefix: netip.MustParsePrefix("10.23.1.0/24")},
		{Family: nlri.IPv6Unicast, Prefix: netip.MustParsePrefix("2001:db8:23::/48")},
	}
	m1, rec1 := newMember(false)
	m2, rec2 := newMember(false)
	m1.Replacing, m2.Replacing = before, before
	h.join(m1, true)
	h.join(m2, true)
	h.query(func() {
		if len(h.g.replacing) != 2 || h.g.replacing[m1] != h.g.replacing[m2] {
			t.Errorf("the members' Replacing are not shared: %v", h.g.replacing)
		}
	})
	h.changes(announce("10.23.1.0/24", h.local(nlri.IPv4Unicast, 1)), announce("10.23.2.0/24", h.local(nlri.IPv4Unicast, 1)))
	h.synced()
	for i, rec := range []*recorder{rec1, rec2} {
		es := decodeAll(t, rec.take(), h.opt)
		wd, ann := wdAnn(es)
		if diff := cmp.Diff([]string{"10.23.0.0/24", "2001:db8:23::/48"}, wd); diff != "" {
			t.Errorf("member %d: withdrawn (-want +got):\n%s", i+1, diff)
		}
		if diff := cmp.Diff([]string{"10.23.1.0/24", "10.23.2.0/24"}, ann); diff != "" {
			t.Errorf("member %d: announced (-want +got):\n%s", i+1, diff)
		}
		for _, k := range kinds(es) {
			if k != "UPDATE" {
				t.Errorf("member %d got %s: a member that moved gets no End-of-RIB", i+1, k)
			}
		}
	}
	h.query(func() {
		if len(h.g.replacing) != 0 {
			t.Errorf("%d Replacing kept after Synced", len(h.g.replacing))
		}
	})
}
