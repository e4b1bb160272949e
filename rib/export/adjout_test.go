package export

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// at is c at the given slot, for tests that reuse slots as the Loc-RIB
// does.
func at(slot uint32, c Change) Change {
	c.Slot = slot
	return c
}

// held is what the group's Adj-RIB-Out holds, by Snapshot: prefix (with
// path ID) to the short form of its attributes.
func (h *harness) held() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, a := range h.snapshot(nlri.Family{}, netip.Prefix{}) {
		out[nlri.Prefix{Prefix: a.Prefix, PathID: a.PathID}.String()] = short(a.Attrs)
	}
	return out
}

// slotTable is what the IPv4 and IPv6 tables hold by slot, e.g.
// "4:1 10.0.0.0/24", named by the key a keyed table keeps there or else
// by the harness's Loc-RIB (ADD-PATH tables have no slots: nothing).
func (h *harness) slotTable() []string {
	h.t.Helper()
	var out []string
	h.query(func() {
		if !h.g.out4.addPath {
			for i := range uint32(h.g.out4.sent.Len()) {
				if *h.g.out4.sent.At(i) != 0 {
					k := h.lr4[i]
					if h.g.out4.keyed {
						k = *h.g.out4.keys.At(i)
					}
					out = append(out, fmt.Sprintf("4:%d %v", i, k))
				}
			}
		}
		if !h.g.out6.addPath {
			for i := range uint32(h.g.out6.sent.Len()) {
				if *h.g.out6.sent.At(i) != 0 {
					k := h.lr6[i]
					if h.g.out6.keyed {
						k = *h.g.out6.keys.At(i)
					}
					out = append(out, fmt.Sprintf("6:%d %v", i, k))
				}
			}
		}
	})
	return out
}

// keyPages is the length of the key arrays of both tables.
func (h *harness) keyPages() (v4, v6 int) {
	h.t.Helper()
	h.query(func() { v4, v6 = h.g.out4.keys.Len(), h.g.out6.keys.Len() })
	return v4, v6
}

// liveSets counts the out sets in use and the keys indexing them.
func (h *harness) liveSets() (live, keys int) {
	h.t.Helper()
	h.query(func() {
		for i := range uint32(h.g.sets.len()) {
			if h.g.sets.at(i).refs > 0 {
				live++
			}
		}
		keys = h.g.byKey.Len()
	})
	return live, keys
}

// wdAnn lists the prefixes the events withdraw and announce, each sorted.
func wdAnn(es []event) (wd, ann []string) {
	for _, e := range es {
		wd = append(wd, prefixes(e.wd)...)
		ann = append(ann, prefixes(e.reach)...)
	}
	slices.Sort(wd)
	slices.Sort(ann)
	return wd, ann
}

// slotStep is one step of a slot reuse test: the batches given, what
// their UPDATEs withdraw and announce, and what is held after them.
type slotStep struct {
	name     string
	batches  [][]Change
	wd, ann  []string
	v4, v6   int
	slots    []string
	peerHold map[string]string
}

// runSlotSteps gives h the steps' batches (with flush after each, to
// send what an MRAI holds) and checks after each step that the peer, a
// member joining then (the dump), Snapshot and the slots agree.
func runSlotSteps(t *testing.T, h *harness, rec *recorder, flush func(), steps []slotStep) {
	var peer map[string]string
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.in(t)
			for _, b := range st.batches {
				h.changes(b...)
				flush()
			}
			es := decodeAll(t, rec.take(), h.opt)
			peer = table(peer, es)
			wd, ann := wdAnn(es)
			slices.Sort(st.wd)
			slices.Sort(st.ann)
			if !slices.Equal(wd, st.wd) || !slices.Equal(ann, st.ann) {
				t.Errorf("withdrew %q and announced %q, want %q and %q", wd, ann, st.wd, st.ann)
			}
			h.counts(st.v4, st.v6)
			if diff := cmp.Diff(st.slots, h.slotTable()); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(st.peerHold, peer); diff != "" {
				t.Errorf("the peer holds (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(st.peerHold, h.held()); diff != "" {
				t.Errorf("Snapshot (-want +got):\n%s", diff)
			}
			late, lateRec := newMember(false)
			h.join(late, false)
			if diff := cmp.Diff(st.peerHold, table(nil, decodeAll(t, lateRec.take(), h.opt))); diff != "" {
				t.Errorf("a member joining now gets (-want +got):\n%s", diff)
			}
			h.leave(late)
		})
	}
	if live, keys := h.liveSets(); live != 0 || keys != 0 {
		t.Errorf("%d out sets and %d keys left with nothing sent", live, keys)
	}
	h.query(func() {
		if n := h.g.out4.sent.Len(); n >= 1000 {
			t.Errorf("a withdrawal grew the IPv4 table to %d slots", n)
		}
	})
}

const (
	slotP, slotQ, slotR, slotS = "10.7.0.0/24", "10.7.1.0/24", "10.7.2.0/24", "10.7.3.0/24"
	slotP6, slotQ6             = "2001:db8:7::/48", "2001:db8:8::/48"
)

// slotReuseSteps are the steps of TestGroupSlotReuse and
// TestGroupKeyedSlotReuse. The Loc-RIB gives a slot to another prefix
// only in a batch after the one withdrawing its prefix; a group with an
// MRAI (keyed) may get the new prefix's change first (its hold replays
// changes in any order), and then the old prefix's late withdrawal.
func slotReuseSteps(keyed bool, v4, v4b, v6, noAdv Sel) []slotStep {
	const p, q, r, s, p6, q6 = slotP, slotQ, slotR, slotS, slotP6, slotQ6
	// reuse gives slot to c's prefix, after old's.
	reuse := func(slot uint32, old string, c Change) [][]Change {
		if keyed {
			return [][]Change{{at(slot, c)}}
		}
		return [][]Change{{at(slot, withdraw(old))}, {at(slot, c)}}
	}
	steps := []slotStep{
		{
			name:    "first announcements",
			batches: [][]Change{{at(1, announce(p, v4)), at(2, announce(r, v4)), at(1, announce(p6, v6))}},
			ann:     []string{p, r, p6}, v4: 2, v6: 1,
			slots:    []string{"4:1 " + p, "4:2 " + r, "6:1 " + p6},
			peerHold: map[string]string{p: ours + " med 1", r: ours + " med 1", p6: ours6 + " med 1"},
		},
		{
			name:    "slot 1 given to another prefix",
			batches: reuse(1, p, announce(q, v4b)),
			wd:      []string{p}, ann: []string{q}, v4: 2, v6: 1,
			slots:    []string{"4:1 " + q, "4:2 " + r, "6:1 " + p6},
			peerHold: map[string]string{q: ours + " med 2", r: ours + " med 1", p6: ours6 + " med 1"},
		},
	}
	if keyed {
		steps = append(steps, slotStep{
			name:    "the old prefix's late withdrawal at the slot is ignored",
			batches: [][]Change{{at(1, withdraw(p))}},
			v4:      2, v6: 1,
			slots:    []string{"4:1 " + q, "4:2 " + r, "6:1 " + p6},
			peerHold: map[string]string{q: ours + " med 2", r: ours + " med 1", p6: ours6 + " med 1"},
		})
	}
	return append(steps,
		slotStep{
			name:    "a withdrawal at a slot never used",
			batches: [][]Change{{at(1000, withdraw(s))}},
			v4:      2, v6: 1,
			slots:    []string{"4:1 " + q, "4:2 " + r, "6:1 " + p6},
			peerHold: map[string]string{q: ours + " med 2", r: ours + " med 1", p6: ours6 + " med 1"},
		},
		slotStep{
			name:    "the new prefix again, unchanged",
			batches: [][]Change{{at(1, announce(q, v4b))}},
			v4:      2, v6: 1,
			slots:    []string{"4:1 " + q, "4:2 " + r, "6:1 " + p6},
			peerHold: map[string]string{q: ours + " med 2", r: ours + " med 1", p6: ours6 + " med 1"},
		},
		slotStep{
			name:    "slot 2 given to a prefix that is not sent",
			batches: reuse(2, r, announce(s, noAdv)),
			wd:      []string{r}, v4: 1, v6: 1,
			slots:    []string{"4:1 " + q, "6:1 " + p6},
			peerHold: map[string]string{q: ours + " med 2", p6: ours6 + " med 1"},
		},
		slotStep{
			name:    "IPv6 slot 1 given to another prefix; IPv4 slot 1 is another table",
			batches: reuse(1, p6, announce(q6, v6)),
			wd:      []string{p6}, ann: []string{q6}, v4: 1, v6: 1,
			slots:    []string{"4:1 " + q, "6:1 " + q6},
			peerHold: map[string]string{q: ours + " med 2", q6: ours6 + " med 1"},
		},
		slotStep{
			name:    "the first prefix back, at a new slot",
			batches: [][]Change{{at(3, announce(p, v4))}},
			ann:     []string{p}, v4: 2, v6: 1,
			slots:    []string{"4:1 " + q, "4:3 " + p, "6:1 " + q6},
			peerHold: map[string]string{p: ours + " med 1", q: ours + " med 2", q6: ours6 + " med 1"},
		},
		slotStep{
			name:    "everything withdrawn",
			batches: [][]Change{{at(1, withdraw(q)), at(3, withdraw(p)), at(1, withdraw(q6)), at(2, withdraw(s))}},
			wd:      []string{p, q, q6}, v4: 0, v6: 0,
			peerHold: map[string]string{},
		})
}

// slotReuseSels are the paths of slotReuseSteps, interned in h.
func slotReuseSels(h *harness) (v4, v4b, v6, noAdv Sel) {
	return h.local(nlri.IPv4Unicast, 1), h.local(nlri.IPv4Unicast, 2), h.local(nlri.IPv6Unicast, 1),
		Sel{Attrs: h.intern(origin(), seq(), nh("0.0.0.0"), comms(attr.CommunityNoAdvertise)), Src: srcLocal}
}

// TestGroupSlotReuse follows a group without MRAI through the Loc-RIB
// giving slots to other prefixes, as the Loc-RIB does: a slot is given to
// another prefix only in a batch after the one reporting its prefix with
// no paths. The group keeps no keys, and needs none: the dump and
// Snapshot take the prefixes from the walk.
func TestGroupSlotReuse(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	v4, v4b, v6, noAdv := slotReuseSels(h)
	runSlotSteps(t, h, rec, func() {}, slotReuseSteps(false, v4, v4b, v6, noAdv))
	if v4, v6 := h.keyPages(); v4 != 0 || v6 != 0 {
		t.Errorf("a group without MRAI keeps %d and %d keys", v4, v6)
	}
}

// TestGroupKeyedSlotReuse follows a group with an MRAI, whose hold may
// replay a change at a slot before the withdrawal of the prefix it held:
// a change for another prefix at a slot withdraws the one sent there,
// exactly once, and the old prefix's late withdrawal at that slot is
// ignored. The hold is flushed after each batch here, so that the
// batches reach the table in the order given, however out of order.
func TestGroupKeyedSlotReuse(t *testing.T) {
	cfg := ebgpConfig()
	cfg.MRAI = time.Hour
	h := newHarness(t, cfg, nil)
	m, rec := newMember(false)
	h.join(m, true)
	v4, v4b, v6, noAdv := slotReuseSels(h)
	runSlotSteps(t, h, rec, h.synced, slotReuseSteps(true, v4, v4b, v6, noAdv))
	if v4, v6 := h.keyPages(); v4 == 0 || v6 == 0 {
		t.Errorf("a group with an MRAI keeps %d and %d keys", v4, v6)
	}
}

// TestGroupMRAISlotReuse holds changes under an MRAI while the Loc-RIB
// gives slots to other prefixes, and replays them in every order (the
// hold is a map by prefix, so the group's own order is random): the
// outcome must not depend on it. Each case also runs once through the
// group's goroutine (the flush at Synced), in whatever order the maps
// give.
func TestGroupMRAISlotReuse(t *testing.T) {
	const p, q, r = "10.8.0.0/24", "10.8.1.0/24", "10.8.2.0/24"
	const p6, q6 = "2001:db8:9::/48", "2001:db8:a::/48"
	type sels struct{ a, b, a6 Sel }
	tests := []struct {
		name    string
		addPath bool
		before  func(s sels) []Change   // sent at once
		held    func(s sels) [][]Change // held, batch by batch
		wd, ann []string                // withdrawn and announced by the replay
		slots   []string
		peer    map[string]string // the peer's table after the replay
	}{
		{
			name:   "slot reused while held",
			before: func(s sels) []Change { return []Change{at(1, announce(p, s.a)), at(2, announce(r, s.a))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p))}, {at(1, announce(q, s.a))}}
			},
			wd: []string{p}, ann: []string{q},
			slots: []string{"4:1 " + q, "4:2 " + r},
			peer:  map[string]string{q: ours + " med 1", r: ours + " med 1"},
		},
		{
			name:   "slot reused, and the old prefix back at another slot",
			before: func(s sels) []Change { return []Change{at(1, announce(p, s.a))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p))}, {at(1, announce(q, s.a))}, {at(3, announce(p, s.b))}}
			},
			wd: []string{p}, ann: []string{p, q},
			slots: []string{"4:1 " + q, "4:3 " + p},
			peer:  map[string]string{p: ours + " med 2", q: ours + " med 1"},
		},
		{
			name:   "a prefix moved to another slot, the old one not reused",
			before: func(s sels) []Change { return []Change{at(1, announce(p, s.a))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p))}, {at(2, announce(p, s.a))}}
			},
			wd: []string{p}, ann: []string{p},
			slots: []string{"4:2 " + p},
			peer:  map[string]string{p: ours + " med 1"},
		},
		{
			name:   "a prefix moved and back at its slot",
			before: func(s sels) []Change { return []Change{at(1, announce(p, s.a))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p))}, {at(2, announce(p, s.a))}, {at(2, withdraw(p))}, {at(1, announce(p, s.b))}}
			},
			ann:   []string{p},
			slots: []string{"4:1 " + p},
			peer:  map[string]string{p: ours + " med 2"},
		},
		{
			name:   "slot reused by a prefix that goes too",
			before: func(s sels) []Change { return []Change{at(1, announce(p, s.a))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p))}, {at(1, announce(q, s.a))}, {at(1, withdraw(q))}}
			},
			wd:   []string{p},
			peer: map[string]string{},
		},
		{
			name:   "IPv6",
			before: func(s sels) []Change { return []Change{at(1, announce(p6, s.a6))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p6))}, {at(1, announce(q6, s.a6)), at(1, announce(p, s.a))}}
			},
			wd: []string{p6}, ann: []string{p, q6},
			slots: []string{"4:1 " + p, "6:1 " + q6},
			peer:  map[string]string{p: ours + " med 1", q6: ours6 + " med 1"},
		},
		{
			name:    "ADD-PATH ignores slots",
			addPath: true,
			before:  func(s sels) []Change { return []Change{at(1, announce(p, s.a))} },
			held: func(s sels) [][]Change {
				return [][]Change{{at(1, withdraw(p))}, {at(1, announce(q, s.a))}, {at(3, announce(p, s.b))}}
			},
			ann:  []string{p, q},
			peer: map[string]string{p: ours + " med 2", q: ours + " med 1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ebgpConfig()
			if tc.addPath {
				cfg.Options.AddPath = nlri.NewAddPath(nlri.IPv4Unicast)
			}
			// An MRAI that never expires in a test: Synced flushes.
			cfg.MRAI = time.Hour
			// start makes a group holding tc.before, with tc.held held.
			start := func(t *testing.T) (*harness, *recorder, map[string]string) {
				h := newHarness(t, cfg, nil)
				m, rec := newMember(false)
				h.join(m, true)
				s := sels{a: h.local(nlri.IPv4Unicast, 1), b: h.local(nlri.IPv4Unicast, 2), a6: h.local(nlri.IPv6Unicast, 1)}
				h.changes(tc.before(s)...) // the first round goes at once
				h.synced()
				peer := table(nil, decodeAll(t, rec.take(), h.opt))
				for _, b := range tc.held(s) {
					h.changes(b...)
				}
				if got := rec.take(); len(got) != 0 {
					t.Fatalf("%d messages while the MRAI runs", len(got))
				}
				return h, rec, peer
			}
			check := func(t *testing.T, h *harness, rec *recorder, peer map[string]string) {
				t.Helper()
				es := decodeAll(t, rec.take(), h.opt)
				wd, ann := wdAnn(es)
				if !slices.Equal(wd, tc.wd) || !slices.Equal(ann, tc.ann) {
					t.Errorf("withdrew %q and announced %q, want %q and %q", wd, ann, tc.wd, tc.ann)
				}
				if diff := cmp.Diff(tc.peer, table(peer, es)); diff != "" {
					t.Errorf("the peer holds (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.peer, h.held()); diff != "" {
					t.Errorf("Snapshot (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.slots, h.slotTable()); diff != "" {
					t.Errorf("slots (-want +got):\n%s", diff)
				}
				v4, v6 := 0, 0
				for k := range tc.peer {
					if strings.Contains(k, ":") {
						v6++
					} else {
						v4++
					}
				}
				h.counts(v4, v6)
			}

			t.Run("Synced", func(t *testing.T) {
				h, rec, peer := start(t)
				h.synced()
				check(t, h, rec, peer)
			})
			// The replay taken apart: the moved withdrawals, then the
			// held changes (one per prefix) in every order.
			distinct := map[string]bool{}
			for _, b := range tc.held(sels{}) {
				for _, c := range b {
					distinct[c.Prefix().String()] = true
				}
			}
			n := len(distinct)
			for _, perm := range permutations(n) {
				t.Run(fmt.Sprint(perm), func(t *testing.T) {
					h, rec, peer := start(t)
					h.query(func() {
						h.g.mraiTimer.Stop()
						h.g.mraiTimer = nil
						moved := len(h.g.moved)
						batch := h.g.takeHeld()
						rest := batch[len(batch)-n:]
						if len(batch)-n > moved {
							t.Errorf("%d moved withdrawals replayed, %d kept", len(batch)-n, moved)
						}
						slices.SortFunc(rest, func(x, y Change) int { return strings.Compare(x.Prefix().String(), y.Prefix().String()) })
						ordered := slices.Clone(batch[:len(batch)-n])
						for _, i := range perm {
							ordered = append(ordered, rest[i])
						}
						h.g.apply(context.Background(), ordered)
					})
					check(t, h, rec, peer)
				})
			}
		})
	}
}

// permutations lists every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := range n {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

// TestGroupJoinReplacing checks the withdrawals a member moving from
// another group gets: what the old group sent and this one does not, when
// it joins an existing group (a walk, given whole) and when it joins a
// new one with its fill (at Synced); with the Adj-RIB-Out by slot, by
// slot with keys (an MRAI) and by prefix (ADD-PATH).
func TestGroupJoinReplacing(t *testing.T) {
	adv := func(fam nlri.Family, p string, id uint32) Advertised {
		return Advertised{Family: fam, Prefix: netip.MustParsePrefix(p), PathID: id}
	}
	tests := []struct {
		name    string
		addPath bool
		sent    func(h *harness) []Change
		before  []Advertised
		want    []string // withdrawn, sorted
	}{
		{
			name: "without ADD-PATH",
			sent: func(h *harness) []Change {
				return []Change{at(4, announce("10.9.0.0/24", h.local(nlri.IPv4Unicast, 1))),
					at(9, announce("10.9.1.0/24", h.local(nlri.IPv4Unicast, 1))),
					at(4, announce("2001:db8:b::/48", h.local(nlri.IPv6Unicast, 1)))}
			},
			before: []Advertised{adv(nlri.IPv4Unicast, "10.9.0.0/24", 0), adv(nlri.IPv4Unicast, "10.9.2.0/24", 0),
				adv(nlri.IPv6Unicast, "2001:db8:b::/48", 0), adv(nlri.IPv6Unicast, "2001:db8:c::/48", 0),
				adv(nlri.IPv4Unicast, "10.9.0.0/24", 0)},
			want: []string{"10.9.2.0/24", "2001:db8:c::/48"},
		},
		{
			name:    "with ADD-PATH",
			addPath: true,
			sent: func(h *harness) []Change {
				return []Change{at(4, change("10.9.0.0/24", 2, h.learnedPath(1, 100, 11), h.learnedPath(2, 100, 12)))}
			},
			before: []Advertised{adv(nlri.IPv4Unicast, "10.9.0.0/24", 11), adv(nlri.IPv4Unicast, "10.9.0.0/24", 13),
				adv(nlri.IPv4Unicast, "10.9.3.0/24", 11)},
			want: []string{"10.9.0.0/24 path-id 13", "10.9.3.0/24 path-id 11"},
		},
	}
	for _, tc := range tests {
		for _, mrai := range []time.Duration{0, time.Hour} {
			for _, initial := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s, MRAI %v, initial %v", tc.name, mrai, initial), func(t *testing.T) {
					cfg := Config{Rules: ibgp, Options: wire.Options{AS4: true}, AddPathMode: AddPathECMP, MRAI: mrai}
					if tc.addPath {
						cfg.Options.AddPath = nlri.NewAddPath(nlri.IPv4Unicast)
					}
					h := newHarness(t, cfg, nil)
					m, rec := newMember(false)
					m.Replacing = tc.before
					if initial {
						h.join(m, true)
						h.changes(tc.sent(h)...)
						h.synced()
					} else {
						h.changes(tc.sent(h)...)
						h.synced() // sends what an MRAI holds
						h.join(m, false)
					}
					var wd []string
					for _, e := range decodeAll(t, rec.take(), h.opt) {
						wd = append(wd, prefixes(e.wd)...)
						if e.kind != "UPDATE" {
							t.Errorf("got %s %v: a member that moved gets no End-of-RIB", e.kind, e.fam)
						}
					}
					slices.Sort(wd)
					if diff := cmp.Diff(tc.want, wd); diff != "" {
						t.Errorf("withdrawn (-want +got):\n%s", diff)
					}
					if m.Replacing != nil {
						t.Error("Replacing kept")
					}
				})
			}
		}
	}
}
