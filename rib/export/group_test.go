package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// wait bounds every wait on the group's goroutine.
const wait = 10 * time.Second

// recorder is a member's session that keeps what it is sent, or fails
// every Send with err.
type recorder struct {
	mu    sync.Mutex
	msgs  [][]byte
	sends int
	err   error
}

func (r *recorder) Send(_ context.Context, msgs ...[]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sends++
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// take returns the messages sent since the last take.
func (r *recorder) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

func (r *recorder) sendCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sends
}

// harness runs a group in its goroutine for one test and stops it at the
// end, checking that Run returned. It plays the Loc-RIB's owner: it keeps
// the prefix at each slot as its changes report them (lr4, lr6), and walks
// those for the group's Walks.
type harness struct {
	t   *testing.T
	g   *Group
	tb  *rib.Table
	opt wire.Options
	lr4 map[uint32]rib.Prefix4
	lr6 map[uint32]rib.Prefix6
	// chunk is the keys per Walked (a few, so that walks take several).
	chunk int
}

func newHarness(t *testing.T, cfg Config, onErr func(*Member, error)) *harness {
	t.Helper()
	g := NewGroup(cfg, rib.NewOptions(), onErr)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		g.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(wait):
			t.Errorf("the group's goroutine did not end within %v", wait)
		}
	})
	return &harness{t: t, g: g, tb: rib.NewTable(), opt: cfg.Options, lr4: map[uint32]rib.Prefix4{}, lr6: map[uint32]rib.Prefix6{}, chunk: 3}
}

// in reports the harness's failures to subtest t while it runs.
func (h *harness) in(t *testing.T) {
	parent := h.t
	h.t = t
	t.Cleanup(func() { h.t = parent })
}

// do posts one message to the group with post and waits until the group
// has handled it (Query runs after every earlier message).
func (h *harness) do(what string, post func(ctx context.Context) bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if !post(ctx) {
		h.t.Fatalf("%s: the group did not take it within %v", what, wait)
	}
	if !h.g.Query(ctx, func() {}) {
		h.t.Fatalf("%s: the group did not handle it within %v", what, wait)
	}
}

func (h *harness) changes(cs ...Change) {
	h.t.Helper()
	for _, c := range cs {
		h.report(c)
	}
	h.do("Changes", func(ctx context.Context) bool { return h.g.Changes(ctx, cs) })
}

// report keeps the Loc-RIB's prefix at c's slot: c's, or none when c
// reports the prefix with no paths.
func (h *harness) report(c Change) {
	switch {
	case c.Family == nlri.IPv4Unicast && len(c.Paths) > 0:
		h.lr4[c.Slot] = c.P4
	case c.Family == nlri.IPv4Unicast && h.lr4[c.Slot] == c.P4:
		delete(h.lr4, c.Slot)
	case c.Family == nlri.IPv6Unicast && len(c.Paths) > 0:
		h.lr6[c.Slot] = c.P6
	case c.Family == nlri.IPv6Unicast && h.lr6[c.Slot] == c.P6:
		delete(h.lr6, c.Slot)
	}
}

// walk gives the group w's families from lr4 and lr6, in slot order,
// h.chunk keys at a time, and waits until the group has handled them.
func (h *harness) walk(w *Walk) {
	h.t.Helper()
	if w == nil {
		return
	}
	for wk := h.walker(w); !wk.step(); {
	}
}

// walker walks lr4 and lr6 for w a chunk at a time, as the Loc-RIB's
// owner does: each chunk is the table as it is when the chunk is taken,
// from where the last one ended.
type walker struct {
	h   *harness
	w   *Walk
	fam int
	pos uint32
}

func (h *harness) walker(w *Walk) *walker { return &walker{h: h, w: w} }

// step gives the group the next chunk and waits until it has handled it;
// it reports whether that was the last.
func (wk *walker) step() bool {
	h := wk.h
	h.t.Helper()
	fams := wk.w.Families()
	if len(fams) == 0 {
		return true
	}
	k := &Keys{Family: fams[wk.fam]}
	var slots []uint32
	if k.Family == nlri.IPv4Unicast {
		slots = slices.Sorted(maps.Keys(h.lr4))
	} else {
		slots = slices.Sorted(maps.Keys(h.lr6))
	}
	slots = slices.DeleteFunc(slots, func(s uint32) bool { return s < wk.pos })
	k.Slots = slots[:min(h.chunk, len(slots))]
	for _, s := range k.Slots {
		if k.Family == nlri.IPv4Unicast {
			k.P4 = append(k.P4, h.lr4[s])
		} else {
			k.P6 = append(k.P6, h.lr6[s])
		}
	}
	if len(slots) <= h.chunk {
		wk.fam, wk.pos = wk.fam+1, 0
	} else {
		wk.pos = k.Slots[len(k.Slots)-1] + 1
	}
	last := wk.fam == len(fams)
	h.do("Walked", func(ctx context.Context) bool { return h.g.Walked(ctx, wk.w, k, last) })
	return last
}

func (h *harness) join(m *Member, initial bool) {
	h.t.Helper()
	var w *Walk
	h.do("Join", func(ctx context.Context) (ok bool) {
		w, ok = h.g.Join(ctx, m, initial)
		return ok
	})
	h.walk(w)
}

func (h *harness) leave(m *Member) {
	h.t.Helper()
	h.do("Leave", func(ctx context.Context) bool { return h.g.Leave(ctx, m) })
}

func (h *harness) synced() {
	h.t.Helper()
	h.do("Synced", h.g.Synced)
}

func (h *harness) refresh(m *Member, fam nlri.Family) {
	h.t.Helper()
	var w *Walk
	h.do("Refresh", func(ctx context.Context) (ok bool) {
		w, ok = h.g.Refresh(ctx, m, fam)
		return ok
	})
	h.walk(w)
}

// query runs fn in the group's goroutine, to look at its internals.
func (h *harness) query(fn func()) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if !h.g.Query(ctx, fn) {
		h.t.Fatalf("Query: no answer within %v", wait)
	}
}

func (h *harness) snapshot(fam nlri.Family, pfx netip.Prefix) []Advertised {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w, ok := h.g.Snapshot(ctx, fam, pfx)
	if !ok {
		h.t.Fatalf("Snapshot: not taken within %v", wait)
	}
	h.walk(w)
	s, ok := w.Result(ctx)
	if !ok {
		h.t.Fatalf("Snapshot: no answer within %v", wait)
	}
	return s
}

// intern returns the interned set of l.
func (h *harness) intern(l ...attr.Attr) *rib.Attrs {
	a, _ := h.tb.Intern(l, nil)
	return a
}

// local is a route we originate, told apart by its MED.
func (h *harness) local(fam nlri.Family, m uint32) Sel {
	if fam == nlri.IPv6Unicast {
		return Sel{Attrs: h.intern(origin(), seq(), mp6("::", ""), med(m)), Src: srcLocal}
	}
	return Sel{Attrs: h.intern(origin(), seq(), nh("0.0.0.0"), med(m)), Src: srcLocal}
}

func newMember(enhanced bool) (*Member, *recorder) {
	r := &recorder{}
	return &Member{S: r, Families: []nlri.Family{nlri.IPv4Unicast, nlri.IPv6Unicast}, EnhancedRefresh: enhanced}, r
}

// change is a prefix's new state; with no paths, its withdrawal. Its
// slot is the prefix's own (slotOf), as a Loc-RIB that never reuses
// slots would give.
func change(p string, nsel int, paths ...Sel) Change {
	pfx := netip.MustParsePrefix(p)
	if k, ok := rib.Prefix4From(pfx); ok {
		return Change{Family: nlri.IPv4Unicast, P4: k, Slot: slotOf(pfx), NSel: nsel, Paths: paths}
	}
	k, ok := rib.Prefix6From(pfx)
	if !ok {
		panic("bad prefix " + p)
	}
	return Change{Family: nlri.IPv6Unicast, P6: k, Slot: slotOf(pfx), NSel: nsel, Paths: paths}
}

// slots numbers the prefixes the tests use, in the order they first
// appear, so that each has its own slot in every test.
var slots struct {
	mu sync.Mutex
	by map[netip.Prefix]uint32
}

func slotOf(p netip.Prefix) uint32 {
	slots.mu.Lock()
	defer slots.mu.Unlock()
	p = p.Masked()
	s, ok := slots.by[p]
	if !ok {
		if slots.by == nil {
			slots.by = map[netip.Prefix]uint32{}
		}
		s = uint32(len(slots.by))
		slots.by[p] = s
	}
	return s
}

func announce(p string, s Sel) Change { return change(p, 1, s) }

func withdraw(p string) Change { return change(p, 0) }

// ebgpConfig is a group of eBGP sessions with 4-octet AS numbers.
func ebgpConfig() Config { return Config{Rules: ebgp4, Options: wire.Options{AS4: true}} }

// event is one message a member got, decoded.
type event struct {
	kind  string // "UPDATE", "EoR", "BoRR", "EoRR"
	fam   nlri.Family
	reach []nlri.Prefix
	wd    []nlri.Prefix
	attrs string // short form of the UPDATE's attributes
}

func decodeAll(t *testing.T, msgs [][]byte, opt wire.Options) []event {
	t.Helper()
	var out []event
	for i, m := range msgs {
		if len(m) < wire.HeaderLen || len(m) > opt.MaxLen() {
			t.Fatalf("message %d: %d octets", i, len(m))
		}
		switch iana.MsgType(m[18]) {
		case iana.MsgRouteRefresh:
			rr, err := wire.DecodeRouteRefresh(m[wire.HeaderLen:])
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			kind := rr.Subtype.String()
			out = append(out, event{kind: kind, fam: rr.Family})
		case iana.MsgUpdate:
			u, err := wire.DecodeUpdate(m[wire.HeaderLen:], opt)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if f, ok := u.EndOfRIB(); ok {
				out = append(out, event{kind: "EoR", fam: f})
				continue
			}
			e := event{kind: "UPDATE", attrs: short(u.Attrs)}
			for r := range u.Reach() {
				e.reach = append(e.reach, r.Prefix)
			}
			for r := range u.Unreach() {
				e.wd = append(e.wd, r.Prefix)
			}
			out = append(out, e)
		default:
			t.Fatalf("message %d of type %d", i, m[18])
		}
	}
	return out
}

// short names what the group tests tell attribute sets apart by: AS_PATH,
// next hop, MED, LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST.
func short(l attr.List) string {
	var parts []string
	if p, ok := l.ASPath(); ok {
		parts = append(parts, "path ["+p.String()+"]")
	}
	if n, ok := l.NextHop(); ok {
		parts = append(parts, "nh "+n.Addr.String())
	}
	if mp, ok := l.MPReach(); ok {
		g, _, _, _ := mp.NextHops()
		parts = append(parts, "nh "+g.String())
	}
	if m, ok := l.MED(); ok {
		parts = append(parts, fmt.Sprint("med ", m.Value))
	}
	if v, ok := l.LocalPref(); ok {
		parts = append(parts, fmt.Sprint("lp ", v.Value))
	}
	if o, ok := l.OriginatorID(); ok {
		parts = append(parts, "originator "+o.ID.String())
	}
	if c, ok := l.ClusterList(); ok {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, " ")
}

// kinds lists the events' kinds with their family, e.g. "EoR ipv4-unicast";
// an UPDATE is "UPDATE".
func kinds(es []event) []string {
	var out []string
	for _, e := range es {
		if e.kind == "UPDATE" {
			out = append(out, e.kind)
		} else {
			out = append(out, e.kind+" "+e.fam.String())
		}
	}
	return out
}

// table applies the events to what the peer holds: prefix (with path ID)
// to attributes.
func table(into map[string]string, es []event) map[string]string {
	if into == nil {
		into = map[string]string{}
	}
	for _, e := range es {
		for _, p := range e.wd {
			delete(into, p.String())
		}
		for _, p := range e.reach {
			into[p.String()] = e.attrs
		}
	}
	return into
}

// updates returns the UPDATE events only.
func updates(es []event) []event {
	return slices.DeleteFunc(slices.Clone(es), func(e event) bool { return e.kind != "UPDATE" })
}

func prefixes(ps []nlri.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	slices.Sort(out)
	return out
}

func (h *harness) counts(want4, want6 int) {
	h.t.Helper()
	if v4, v6 := h.g.Counts(); v4 != want4 || v6 != want6 {
		h.t.Errorf("Counts = %d, %d; want %d, %d", v4, v6, want4, want6)
	}
}

const (
	ours  = "path [65001] nh 192.0.2.1" // a local route as an eBGP peer gets it
	ours6 = "path [65001] nh ::ffff:192.0.2.1"
)

func TestGroupInitialJoinThenSynced(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("an initial member got %d messages on joining", len(got))
	}
	h.changes(
		announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 1)),
		announce("10.0.1.0/24", h.local(nlri.IPv4Unicast, 1)),
		announce("10.0.2.0/24", h.local(nlri.IPv4Unicast, 2)),
		announce("2001:db8:1::/48", h.local(nlri.IPv6Unicast, 3)),
	)
	es := decodeAll(t, rec.take(), h.opt)
	for _, e := range es {
		if e.kind != "UPDATE" {
			t.Errorf("before Synced: %s %v", e.kind, e.fam)
		}
	}
	want := map[string]string{
		"10.0.0.0/24":     ours + " med 1",
		"10.0.1.0/24":     ours + " med 1",
		"10.0.2.0/24":     ours + " med 2",
		"2001:db8:1::/48": ours6 + " med 3",
	}
	if diff := cmp.Diff(want, table(nil, es)); diff != "" {
		t.Errorf("routes before Synced (-want +got):\n%s", diff)
	}
	h.counts(3, 1)

	h.synced()
	if diff := cmp.Diff([]string{"EoR ipv4-unicast", "EoR ipv6-unicast"}, kinds(decodeAll(t, rec.take(), h.opt))); diff != "" {
		t.Errorf("after Synced (-want +got):\n%s", diff)
	}
	// End-of-RIB goes once.
	h.synced()
	if got := rec.take(); len(got) != 0 {
		t.Errorf("a second Synced sent %d messages", len(got))
	}
}

func TestGroupLaterJoinGetsDumpThenEndOfRIB(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m1, rec1 := newMember(false)
	h.join(m1, true)
	var batch []Change
	for i := range 256 {
		batch = append(batch, announce(fmt.Sprintf("10.1.%d.0/24", i), h.local(nlri.IPv4Unicast, uint32(i%3))))
	}
	batch = append(batch, announce("2001:db8:2::/48", h.local(nlri.IPv6Unicast, 9)))
	h.changes(batch...)
	h.synced()
	first := table(nil, decodeAll(t, rec1.take(), h.opt))

	m2, rec2 := newMember(false)
	h.join(m2, false)
	es := decodeAll(t, rec2.take(), h.opt)
	k := kinds(es)
	if len(k) < 3 || !slices.Equal(k[len(k)-2:], []string{"EoR ipv4-unicast", "EoR ipv6-unicast"}) {
		t.Fatalf("a later member got %q, want UPDATEs then End-of-RIB for both families", k)
	}
	if len(updates(es)) != len(es)-2 {
		t.Errorf("End-of-RIB before the end of the dump: %q", k)
	}
	if len(first) != 257 {
		t.Errorf("the first member has %d routes, want 257", len(first))
	}
	if diff := cmp.Diff(first, table(nil, es)); diff != "" {
		t.Errorf("the dump differs from what the first member got (-first +dump):\n%s", diff)
	}
	if got := rec1.take(); len(got) != 0 {
		t.Errorf("the first member got %d messages when the second joined", len(got))
	}
}

func TestGroupUnchangedAnnouncementSendsNothing(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	s := h.local(nlri.IPv4Unicast, 1)
	h.changes(announce("10.0.0.0/24", s))
	if n := len(rec.take()); n != 1 {
		t.Fatalf("first announcement: %d messages, want 1", n)
	}

	h.changes(announce("10.0.0.0/24", s))
	if n := len(rec.take()); n != 0 {
		t.Errorf("the same path again: %d messages, want none", n)
	}
	// Another set that is sent the same way: LOCAL_PREF does not go to
	// eBGP, so nothing changes on the wire.
	other := Sel{Attrs: h.intern(origin(), seq(), nh("0.0.0.0"), med(1), lp(300)), Src: srcLocal}
	if other.Attrs == s.Attrs {
		t.Fatal("test bug: the two sets are one")
	}
	h.changes(announce("10.0.0.0/24", other))
	if n := len(rec.take()); n != 0 {
		t.Errorf("a path sent with the same attributes: %d messages, want none", n)
	}
	h.counts(1, 0)
}

func TestGroupBestPathChangeSendsOneUpdate(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	h.changes(announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 1)), announce("10.0.1.0/24", h.local(nlri.IPv4Unicast, 1)))
	rec.take()

	h.changes(announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 2)))
	es := decodeAll(t, rec.take(), h.opt)
	if len(es) != 1 || es[0].kind != "UPDATE" || len(es[0].wd) != 0 || !slices.Equal(prefixes(es[0].reach), []string{"10.0.0.0/24"}) ||
		es[0].attrs != ours+" med 2" {
		t.Errorf("new best path: got %+v, want one UPDATE announcing 10.0.0.0/24 with %q", es, ours+" med 2")
	}
	h.counts(2, 0)
}

func TestGroupWithdraw(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	h.changes(
		announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 1)),
		announce("10.0.1.0/24", h.local(nlri.IPv4Unicast, 1)),
		announce("2001:db8:1::/48", h.local(nlri.IPv6Unicast, 1)),
	)
	rec.take()
	h.counts(2, 1)

	tests := []struct {
		name   string
		change Change
		want   []string // withdrawn prefixes; nil: no message at all
		v4, v6 int
	}{
		{"IPv4 prefix gone", withdraw("10.0.0.0/24"), []string{"10.0.0.0/24"}, 1, 1},
		{"IPv6 prefix gone", withdraw("2001:db8:1::/48"), []string{"2001:db8:1::/48"}, 1, 0},
		{"prefix never sent", withdraw("10.9.0.0/24"), nil, 1, 0},
		{"prefix already withdrawn", withdraw("10.0.0.0/24"), nil, 1, 0},
		{
			"best path no longer sent (NO_ADVERTISE)",
			announce("10.0.1.0/24", Sel{Attrs: h.intern(origin(), seq(), nh("0.0.0.0"), comms(attr.CommunityNoAdvertise)), Src: srcLocal}),
			[]string{"10.0.1.0/24"}, 0, 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.in(t)
			h.changes(tc.change)
			es := decodeAll(t, rec.take(), h.opt)
			if tc.want == nil {
				if len(es) != 0 {
					t.Errorf("got %q, want no message", kinds(es))
				}
			} else if len(es) != 1 || len(es[0].reach) != 0 || !slices.Equal(prefixes(es[0].wd), tc.want) {
				t.Errorf("got %+v, want one UPDATE withdrawing %q", es, tc.want)
			}
			h.counts(tc.v4, tc.v6)
		})
	}
}

func TestGroupPacksPrefixesOfOneSetTogether(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	a, b := h.local(nlri.IPv4Unicast, 1), h.local(nlri.IPv4Unicast, 2)
	var batch []Change
	for i := range 100 {
		s := a
		if i%2 == 1 {
			s = b
		}
		batch = append(batch, announce(fmt.Sprintf("10.2.%d.0/24", i), s))
	}
	h.changes(batch...)
	es := decodeAll(t, rec.take(), h.opt)
	if len(es) != 2 {
		t.Fatalf("100 prefixes with 2 attribute sets in %d UPDATEs, want 2", len(es))
	}
	got := map[string]int{}
	for _, e := range es {
		got[e.attrs] += len(e.reach)
	}
	if diff := cmp.Diff(map[string]int{ours + " med 1": 50, ours + " med 2": 50}, got); diff != "" {
		t.Errorf("prefixes per attribute set (-want +got):\n%s", diff)
	}
}

func TestGroupManyPrefixesSplitAcrossMessages(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	want := map[string]string{}
	var batch []Change
	for i := range 10000 {
		p := fmt.Sprintf("10.%d.%d.0/24", 100+i>>8, i&0xff)
		batch = append(batch, announce(p, h.local(nlri.IPv4Unicast, uint32(i%3))))
		want[p] = fmt.Sprint(ours, " med ", i%3)
	}
	h.changes(batch...)
	msgs := rec.take()
	if len(msgs) < 10 {
		t.Errorf("10000 prefixes in %d messages", len(msgs))
	}
	for i, b := range msgs {
		if len(b) > wire.MaxLen {
			t.Errorf("message %d: %d octets", i, len(b))
		}
	}
	if diff := cmp.Diff(want, table(nil, decodeAll(t, msgs, h.opt))); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	h.counts(10000, 0)

	var wd []Change
	for p := range want {
		wd = append(wd, withdraw(p))
	}
	h.changes(wd...)
	if got := table(want, decodeAll(t, rec.take(), h.opt)); len(got) != 0 {
		t.Errorf("%d routes left after withdrawing all", len(got))
	}
	h.counts(0, 0)
}

func TestGroupMembersGetTheSameBytes(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m1, rec1 := newMember(false)
	m2, rec2 := newMember(false)
	h.join(m1, true)
	h.join(m2, true)
	var batch []Change
	for i := range 2000 {
		batch = append(batch, announce(fmt.Sprintf("10.3.%d.%d/32", i>>8, i&0xff), h.local(nlri.IPv4Unicast, uint32(i%5))))
	}
	h.changes(batch...)
	h.changes(withdraw("10.3.0.1/32"), announce("10.3.0.2/32", h.local(nlri.IPv4Unicast, 7)))
	h.synced()
	a, b := rec1.take(), rec2.take()
	if len(a) < 3 {
		t.Fatalf("%d messages", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("members got %d and %d messages", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("message %d differs:\n%x\n%x", i, a[i], b[i])
		}
	}
}

func TestGroupLeaveStopsDelivery(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m1, rec1 := newMember(true)
	m2, rec2 := newMember(false)
	h.join(m1, true)
	h.join(m2, true)
	h.changes(announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 1)))
	if len(rec1.take()) != 1 || len(rec2.take()) != 1 {
		t.Fatal("both members should have had the first UPDATE")
	}
	h.leave(m1)
	h.changes(announce("10.0.1.0/24", h.local(nlri.IPv4Unicast, 1)))
	h.synced()
	h.refresh(m1, nlri.IPv4Unicast)
	if got := rec1.take(); len(got) != 0 {
		t.Errorf("a member that left got %d messages", len(got))
	}
	if k := kinds(decodeAll(t, rec2.take(), h.opt)); !slices.Equal(k, []string{"UPDATE", "EoR ipv4-unicast", "EoR ipv6-unicast"}) {
		t.Errorf("the remaining member got %q", k)
	}
	h.leave(m1) // leaving twice is harmless
}

func TestGroupDropsMemberWhoseSendFails(t *testing.T) {
	type failure struct {
		m   *Member
		err error
	}
	failed := make(chan failure, 4)
	h := newHarness(t, ebgpConfig(), func(m *Member, err error) { failed <- failure{m, err} })
	bad, badRec := newMember(false)
	badRec.err = errors.New("session closed")
	good, goodRec := newMember(false)
	h.join(bad, true)
	h.join(good, true)

	h.changes(announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 1)))
	select {
	case f := <-failed:
		if f.m != bad || f.err != badRec.err {
			t.Errorf("onErr(%p, %v), want (%p, %v)", f.m, f.err, bad, badRec.err)
		}
	case <-time.After(wait):
		t.Fatal("onErr not called")
	}
	h.changes(announce("10.0.1.0/24", h.local(nlri.IPv4Unicast, 1)))
	h.synced()
	h.refresh(bad, nlri.IPv4Unicast)
	if n := badRec.sendCalls(); n != 1 {
		t.Errorf("the failed member's Send was called %d times, want once", n)
	}
	select {
	case f := <-failed:
		t.Errorf("onErr called again: %v", f.err)
	default:
	}
	if k := kinds(decodeAll(t, goodRec.take(), h.opt)); !slices.Equal(k, []string{"UPDATE", "UPDATE", "EoR ipv4-unicast", "EoR ipv6-unicast"}) {
		t.Errorf("the other member got %q", k)
	}
}

func TestGroupRefresh(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	enhanced, recE := newMember(true)
	plain, recP := newMember(false)
	h.join(enhanced, true)
	h.join(plain, true)
	h.changes(
		announce("10.0.0.0/24", h.local(nlri.IPv4Unicast, 1)),
		announce("10.0.1.0/24", h.local(nlri.IPv4Unicast, 2)),
		announce("2001:db8:1::/48", h.local(nlri.IPv6Unicast, 3)),
	)
	h.synced()
	recE.take()
	recP.take()
	v4 := map[string]string{"10.0.0.0/24": ours + " med 1", "10.0.1.0/24": ours + " med 2"}
	v6 := map[string]string{"2001:db8:1::/48": ours6 + " med 3"}

	tests := []struct {
		name   string
		m      *Member
		rec    *recorder
		fam    nlri.Family
		first  []string // the kinds of the first and last messages (BoRR, EoRR), if any
		last   []string
		routes map[string]string
	}{
		{"enhanced IPv4", enhanced, recE, nlri.IPv4Unicast, []string{"BoRR ipv4-unicast"}, []string{"EoRR ipv4-unicast"}, v4},
		{"enhanced IPv6", enhanced, recE, nlri.IPv6Unicast, []string{"BoRR ipv6-unicast"}, []string{"EoRR ipv6-unicast"}, v6},
		{"plain IPv4", plain, recP, nlri.IPv4Unicast, nil, nil, v4},
		{"plain IPv6", plain, recP, nlri.IPv6Unicast, nil, nil, v6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.in(t)
			h.refresh(tc.m, tc.fam)
			es := decodeAll(t, tc.rec.take(), h.opt)
			k := kinds(es)
			n := len(tc.first) + len(tc.last)
			if len(k) < n+1 || !slices.Equal(k[:len(tc.first)], tc.first) || !slices.Equal(k[len(k)-len(tc.last):], tc.last) ||
				len(updates(es)) != len(es)-n {
				t.Fatalf("got %q, want %q, UPDATEs, %q", k, tc.first, tc.last)
			}
			if diff := cmp.Diff(tc.routes, table(nil, es)); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			if other := recE.take(); tc.rec != recE && len(other) != 0 {
				t.Errorf("the other member got %d messages", len(other))
			}
			if other := recP.take(); tc.rec != recP && len(other) != 0 {
				t.Errorf("the other member got %d messages", len(other))
			}
		})
	}

	t.Run("enhanced, empty family", func(t *testing.T) {
		h.in(t)
		h.changes(withdraw("2001:db8:1::/48"))
		recE.take()
		recP.take()
		h.refresh(enhanced, nlri.IPv6Unicast)
		if k := kinds(decodeAll(t, recE.take(), h.opt)); !slices.Equal(k, []string{"BoRR ipv6-unicast", "EoRR ipv6-unicast"}) {
			t.Errorf("got %q", k)
		}
		h.refresh(plain, nlri.IPv6Unicast)
		if got := recP.take(); len(got) != 0 {
			t.Errorf("plain member got %d messages for an empty family", len(got))
		}
	})
}

// addPathGroup is a group of iBGP sessions sending IPv4 unicast with
// ADD-PATH; its paths come from eBGP peers and differ in LOCAL_PREF (set
// by an import policy) and next hop.
func addPathGroup(t *testing.T, mode AddPathMode, max int) (*harness, *recorder) {
	t.Helper()
	cfg := Config{Rules: ibgp, Options: wire.Options{AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)},
		AddPathMode: mode, AddPathMax: max}
	h := newHarness(t, cfg, nil)
	m, rec := newMember(false)
	h.join(m, true)
	return h, rec
}

// learnedPath is a path from eBGP peer n (192.0.2.n) with the given
// LOCAL_PREF, sent with path ID id.
func (h *harness) learnedPath(n byte, localPref uint32, id uint32) Sel {
	addr := netip.AddrFrom4([4]byte{192, 0, 2, n})
	src := &rib.Source{Addr: addr, RouterID: addr, AS: 65009}
	return Sel{Attrs: h.intern(origin(), seq(65009), &attr.NextHop{Addr: addr}, lp(localPref)), Src: src, ID: id}
}

func learnedAttrs(n byte, localPref uint32) string {
	return fmt.Sprintf("path [65009] nh 192.0.2.%d lp %d", n, localPref)
}

const apPrefix = "10.0.0.0/24"

func TestGroupAddPath(t *testing.T) {
	type step struct {
		change Change
		// want is what the peer holds after the step, by prefix and
		// path ID.
		want map[string]string
		// wd and ann are the path IDs withdrawn and announced by the
		// step's messages.
		wd, ann []uint32
	}
	pfx := func(id uint32) string {
		return nlri.Prefix{Prefix: netip.MustParsePrefix(apPrefix), PathID: id}.String()
	}
	tests := []struct {
		name  string
		mode  AddPathMode
		max   int
		steps func(h *harness) []step
	}{
		{
			name: "ECMP sends the selected paths with their IDs",
			mode: AddPathECMP,
			steps: func(h *harness) []step {
				a, b, c := h.learnedPath(1, 100, 11), h.learnedPath(2, 100, 12), h.learnedPath(3, 100, 13)
				a2 := h.learnedPath(1, 100, 11)
				a2.Attrs = h.intern(origin(), seq(65009, 65100), nh("192.0.2.1"), lp(100))
				return []step{
					{
						change: change(apPrefix, 2, a, b, c),
						want:   map[string]string{pfx(11): learnedAttrs(1, 100), pfx(12): learnedAttrs(2, 100)},
						ann:    []uint32{11, 12},
					},
					{
						// Path 12 leaves the multipath set.
						change: change(apPrefix, 1, a, b, c),
						want:   map[string]string{pfx(11): learnedAttrs(1, 100)},
						wd:     []uint32{12},
					},
					{
						// Path 11 changes: announced again under its ID.
						change: change(apPrefix, 1, a2, b, c),
						want:   map[string]string{pfx(11): "path [65009 65100] nh 192.0.2.1 lp 100"},
						ann:    []uint32{11},
					},
					{
						change: withdraw(apPrefix),
						want:   map[string]string{},
						wd:     []uint32{11},
					},
				}
			},
		},
		{
			name: "All sends every path",
			mode: AddPathAll,
			steps: func(h *harness) []step {
				a, b, c := h.learnedPath(1, 300, 11), h.learnedPath(2, 100, 12), h.learnedPath(3, 200, 13)
				return []step{
					{
						change: change(apPrefix, 1, a, b, c),
						want: map[string]string{pfx(11): learnedAttrs(1, 300), pfx(12): learnedAttrs(2, 100),
							pfx(13): learnedAttrs(3, 200)},
						ann: []uint32{11, 12, 13},
					},
					{
						// Path 13 is gone.
						change: change(apPrefix, 1, a, b),
						want:   map[string]string{pfx(11): learnedAttrs(1, 300), pfx(12): learnedAttrs(2, 100)},
						wd:     []uint32{13},
					},
				}
			},
		},
		{
			name: "BestN sends the N best by the decision process",
			mode: AddPathBestN, max: 2,
			steps: func(h *harness) []step {
				best, low, mid, lowest := h.learnedPath(1, 300, 11), h.learnedPath(2, 100, 12), h.learnedPath(3, 200, 13),
					h.learnedPath(4, 50, 14)
				return []step{
					{
						change: change(apPrefix, 1, best, low, mid, lowest),
						want:   map[string]string{pfx(11): learnedAttrs(1, 300), pfx(13): learnedAttrs(3, 200)},
						ann:    []uint32{11, 13},
					},
					{
						// Path 12 overtakes 13: 13 is withdrawn.
						change: change(apPrefix, 1, best, h.learnedPath(2, 250, 12), mid, lowest),
						want:   map[string]string{pfx(11): learnedAttrs(1, 300), pfx(12): learnedAttrs(2, 250)},
						wd:     []uint32{13}, ann: []uint32{12},
					},
				}
			},
		},
		{
			name: "BestN with N within the multipath set sends the first N selected",
			mode: AddPathBestN, max: 2,
			steps: func(h *harness) []step {
				return []step{{
					change: change(apPrefix, 3, h.learnedPath(1, 100, 11), h.learnedPath(2, 100, 12),
						h.learnedPath(3, 100, 13), h.learnedPath(4, 50, 14)),
					want: map[string]string{pfx(11): learnedAttrs(1, 100), pfx(12): learnedAttrs(2, 100)},
					ann:  []uint32{11, 12},
				}}
			},
		},
		{
			name: "BestN with N larger than the paths sends them all",
			mode: AddPathBestN, max: 8,
			steps: func(h *harness) []step {
				return []step{{
					change: change(apPrefix, 1, h.learnedPath(1, 300, 11), h.learnedPath(2, 100, 12)),
					want:   map[string]string{pfx(11): learnedAttrs(1, 300), pfx(12): learnedAttrs(2, 100)},
					ann:    []uint32{11, 12},
				}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, rec := addPathGroup(t, tc.mode, tc.max)
			var held map[string]string
			for i, s := range tc.steps(h) {
				h.changes(s.change)
				es := decodeAll(t, rec.take(), h.opt)
				held = table(held, es)
				if diff := cmp.Diff(s.want, held); diff != "" {
					t.Errorf("step %d: the peer holds (-want +got):\n%s", i, diff)
				}
				var wd, ann []uint32
				for _, e := range es {
					for _, p := range e.wd {
						wd = append(wd, p.PathID)
					}
					for _, p := range e.reach {
						ann = append(ann, p.PathID)
					}
				}
				slices.Sort(wd)
				slices.Sort(ann)
				if !slices.Equal(wd, s.wd) || !slices.Equal(ann, s.ann) {
					t.Errorf("step %d: withdrew path IDs %v and announced %v, want %v and %v", i, wd, ann, s.wd, s.ann)
				}
			}
		})
	}
}

// TestGroupWithoutAddPathSendsBestOnly checks that a group without
// ADD-PATH sends the best path with path ID 0, whatever its Sel.ID.
func TestGroupWithoutAddPathSendsBestOnly(t *testing.T) {
	h := newHarness(t, Config{Rules: ibgp, Options: wire.Options{AS4: true}}, nil)
	m, rec := newMember(false)
	h.join(m, true)
	h.changes(change(apPrefix, 2, h.learnedPath(1, 100, 11), h.learnedPath(2, 100, 12)))
	got := table(nil, decodeAll(t, rec.take(), h.opt))
	if diff := cmp.Diff(map[string]string{apPrefix: learnedAttrs(1, 100)}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestGroupSnapshot(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	a, b, c := h.local(nlri.IPv4Unicast, 1), h.local(nlri.IPv4Unicast, 2), h.local(nlri.IPv6Unicast, 3)
	h.changes(
		announce("10.0.0.0/24", a),
		announce("10.0.1.0/24", b),
		announce("2001:db8:1::/48", c),
		announce("10.0.2.0/24", Sel{Attrs: h.intern(origin(), seq(), nh("0.0.0.0"), comms(attr.CommunityNoExport)), Src: srcLocal}),
	)
	attrsOf := func(s Sel, fam nlri.Family) []string {
		l, ok := ebgp4.Transform(fam, netip.Prefix{}, s.Src, s.Attrs, true, nil)
		if !ok {
			t.Fatal("test bug: path not sent")
		}
		return render(l)
	}
	type adv struct {
		Family string
		Prefix string
		PathID uint32
		Attrs  []string
	}
	all := []adv{
		{"ipv4-unicast", "10.0.0.0/24", 0, attrsOf(a, nlri.IPv4Unicast)},
		{"ipv4-unicast", "10.0.1.0/24", 0, attrsOf(b, nlri.IPv4Unicast)},
		{"ipv6-unicast", "2001:db8:1::/48", 0, attrsOf(c, nlri.IPv6Unicast)},
	}
	tests := []struct {
		name string
		fam  nlri.Family
		pfx  string
		want []adv
	}{
		{"everything", nlri.Family{}, "", all},
		{"IPv4", nlri.IPv4Unicast, "", all[:2]},
		{"IPv6", nlri.IPv6Unicast, "", all[2:]},
		{"one prefix", nlri.Family{}, "10.0.1.0/24", all[1:2]},
		{"a prefix not sent", nlri.Family{}, "10.0.2.0/24", nil},
		{"a prefix of another family", nlri.IPv6Unicast, "10.0.1.0/24", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.in(t)
			var pfx netip.Prefix
			if tc.pfx != "" {
				pfx = netip.MustParsePrefix(tc.pfx)
			}
			var got []adv
			for _, x := range h.snapshot(tc.fam, pfx) {
				got = append(got, adv{x.Family.String(), x.Prefix.String(), x.PathID, render(x.Attrs)})
			}
			slices.SortFunc(got, func(x, y adv) int { return strings.Compare(x.Prefix, y.Prefix) })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Snapshot (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupSnapshotAddPath(t *testing.T) {
	h, _ := addPathGroup(t, AddPathAll, 0)
	h.changes(change(apPrefix, 1, h.learnedPath(1, 300, 11), h.learnedPath(2, 100, 12)))
	var got []string
	for _, x := range h.snapshot(nlri.IPv4Unicast, netip.MustParsePrefix(apPrefix)) {
		got = append(got, fmt.Sprintf("%v#%d %s", x.Prefix, x.PathID, short(x.Attrs)))
	}
	slices.Sort(got)
	want := []string{"10.0.0.0/24#11 " + learnedAttrs(1, 300), "10.0.0.0/24#12 " + learnedAttrs(2, 100)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
}

// TestGroupOutSetsFreed checks the out sets' reference counts: sets are
// shared by the prefixes sent with them, and every set, cache entry and
// key is gone once nothing is sent with it.
func TestGroupOutSetsFreed(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	type state struct{ sets, live, byKey, cache, free, out4 int }
	look := func() state {
		var s state
		h.query(func() {
			g := h.g
			s = state{sets: g.sets.len(), byKey: g.byKey.Len(), free: len(g.free), out4: int(g.count4.Load()), cache: checkCache(t, g, "")}
			for i := range uint32(g.sets.len()) {
				if g.sets.at(i).refs > 0 {
					s.live++
				}
			}
		})
		return s
	}
	pfx := func(i int) string { return fmt.Sprintf("10.4.%d.%d/32", i>>8, i&0xff) }

	// 1000 prefixes, 10 sets.
	var batch []Change
	for i := range 1000 {
		batch = append(batch, announce(pfx(i), h.local(nlri.IPv4Unicast, uint32(i%10))))
	}
	h.changes(batch...)
	if got, want := look(), (state{sets: 10, live: 10, byKey: 10, cache: 10, out4: 1000}); got != want {
		t.Errorf("shared sets: %+v, want %+v", got, want)
	}

	// Each prefix its own set.
	batch = nil
	for i := range 1000 {
		batch = append(batch, announce(pfx(i), h.local(nlri.IPv4Unicast, uint32(1000+i))))
	}
	h.changes(batch...)
	got := look()
	if got.live != 1000 || got.byKey != 1000 || got.cache != 1000 || got.out4 != 1000 || got.sets-got.free != 1000 {
		t.Errorf("distinct sets: %+v, want 1000 live sets, keys and cache entries", got)
	}
	sets := got.sets

	// Every prefix withdrawn: nothing left but free slots.
	batch = nil
	for i := range 1000 {
		batch = append(batch, withdraw(pfx(i)))
	}
	h.changes(batch...)
	if got, want := look(), (state{sets: sets, free: sets}); got != want {
		t.Errorf("after withdrawing everything: %+v, want %+v", got, want)
	}
	h.counts(0, 0)

	// The free slots are reused.
	batch = nil
	for i := range 1000 {
		batch = append(batch, announce(pfx(i), h.local(nlri.IPv4Unicast, uint32(5000+i))))
	}
	h.changes(batch...)
	if got := look(); got.sets != sets || got.live != 1000 {
		t.Errorf("after announcing again: %+v, want the %d slots reused", got, sets)
	}
	if got := table(nil, decodeAll(t, rec.take(), h.opt)); len(got) != 1000 {
		t.Errorf("the peer holds %d routes, want 1000", len(got))
	}
}

func TestConfigKey(t *testing.T) {
	ap := wire.Options{AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)}
	tests := []struct {
		name     string
		a, b     Config
		same     bool
		allPaths bool // a.NeedsAllPaths
	}{
		{"equal", ebgpConfig(), ebgpConfig(), true, false},
		{"policy value ignored",
			Config{Rules: withPolicy(ebgp4, &fakePolicy{})}, Config{Rules: withPolicy(ebgp4, &fakePolicy{reject: true})}, true, false},
		{"AS4 differs", ebgpConfig(), Config{Rules: ebgp4}, false, false},
		{"add-path mode ignored without ADD-PATH",
			Config{Rules: ebgp4, AddPathMode: AddPathBestN, AddPathMax: 2}, Config{Rules: ebgp4}, true, false},
		{"add-path all", Config{Rules: ibgp, Options: ap}, Config{Rules: ibgp, Options: ap, AddPathMode: AddPathECMP}, false, true},
		{"add-path ECMP", Config{Rules: ibgp, Options: ap, AddPathMode: AddPathECMP}, Config{Rules: ibgp}, false, false},
		{"add-path best-N", Config{Rules: ibgp, Options: ap, AddPathMode: AddPathBestN, AddPathMax: 2},
			Config{Rules: ibgp, Options: ap, AddPathMode: AddPathBestN, AddPathMax: 3}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if same := tc.a.Key() == tc.b.Key(); same != tc.same {
				t.Errorf("keys equal = %v, want %v", same, tc.same)
			}
			if got := tc.a.NeedsAllPaths(); got != tc.allPaths {
				t.Errorf("NeedsAllPaths = %v, want %v", got, tc.allPaths)
			}
		})
	}
}

func TestSplitMessages(t *testing.T) {
	pk := wire.NewPacker(wire.Options{AS4: true})
	pk.SetAttrs(attr.List{&attr.Origin{}, &attr.ASPath{}, &attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")}})
	for i := range 2000 {
		if err := pk.Announce(nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}); err != nil {
			t.Fatal(err)
		}
	}
	pk.EndOfRIB(nlri.IPv4Unicast)
	msgs := splitMessages(pk.Bytes())
	if len(msgs) != pk.Messages() || len(msgs) < 3 {
		t.Fatalf("%d messages, packer says %d", len(msgs), pk.Messages())
	}
	n := 0
	for _, m := range msgs {
		u, err := wire.DecodeUpdate(m[wire.HeaderLen:], wire.Options{AS4: true})
		if err != nil {
			t.Fatal(err)
		}
		for range u.Reach() {
			n++
		}
	}
	if n != 2000 {
		t.Errorf("%d prefixes in the split messages, want 2000", n)
	}
	// A cut-off tail is not a message.
	all := pk.Bytes()
	if got := splitMessages(all[:len(all)-1]); len(got) != len(msgs)-1 {
		t.Errorf("with the last octet cut: %d messages, want %d", len(got), len(msgs)-1)
	}
}

// With an MRAI, changes are held and go out as one round carrying each
// prefix's latest state; the initial fill still precedes End-of-RIB.
func TestGroupMRAI(t *testing.T) {
	tab := rib.NewTable()
	mk := func(med uint32) *rib.Attrs {
		a, _ := tab.Intern(attr.List{&attr.Origin{}, &attr.ASPath{}, &attr.NextHop{Addr: netip.MustParseAddr("192.0.2.9")},
			&attr.MED{Value: med}}, nil)
		return a
	}
	cfg := Config{Rules: Rules{LocalAS: 65001, IBGP: true, NextHop4: netip.MustParseAddr("192.0.2.1")},
		Options: wire.Options{AS4: true}, MRAI: 300 * time.Millisecond}
	g := NewGroup(cfg, rib.NewOptions(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	rec := make(chan []byte, 100)
	m := &Member{S: senderFunc(func(msgs ...[]byte) {
		for _, x := range msgs {
			rec <- x
		}
	}), Families: []nlri.Family{nlri.IPv4Unicast}}
	src := &rib.Source{Addr: netip.MustParseAddr("192.0.2.9"), AS: 65002}
	change := func(med uint32) []Change {
		return []Change{{Family: nlri.IPv4Unicast, P4: rib.MustPrefix4("10.0.0.0/24"), Slot: 1, NSel: 1, Paths: []Sel{{Attrs: mk(med), Src: src}}}}
	}
	g.Join(ctx, m, true)
	g.Changes(ctx, change(1))
	g.Synced(ctx)
	next := func() *wire.Update {
		t.Helper()
		select {
		case b := <-rec:
			u, err := wire.DecodeUpdate(b[wire.HeaderLen:], cfg.Options)
			if err != nil {
				t.Fatal(err)
			}
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("nothing sent")
		}
		return nil
	}
	if u := next(); u.Attrs.Get(iana.AttrMED) == nil {
		t.Fatalf("first message is not the route: %+v", u)
	}
	if _, eor := next().EndOfRIB(); !eor {
		t.Fatal("no End-of-RIB after the fill")
	}
	// Three changes within the interval: one UPDATE, with the last MED.
	for med := uint32(2); med <= 4; med++ {
		g.Changes(ctx, change(med))
	}
	u := next()
	if m, _ := u.Attrs.MED(); m == nil || m.Value != 4 {
		t.Errorf("MED %v, want the latest (4)", m)
	}
	select {
	case b := <-rec:
		t.Errorf("a second UPDATE: %x", b)
	case <-time.After(100 * time.Millisecond):
	}
}

type senderFunc func(msgs ...[]byte)

func (f senderFunc) Send(_ context.Context, msgs ...[]byte) error { f(msgs...); return nil }

// checkCache checks g's cache from its goroutine: every entry in use is
// found (through its set's hint or the table), the free list and the
// entries in use add up, and the table holds no other entry. It returns
// the entries in use.
func checkCache(t *testing.T, g *Group, name string) int {
	t.Helper()
	inUse, inTab := 0, 0
	for c, e := range g.cents {
		if e.ck.a == nil {
			continue
		}
		inUse++
		if !g.cache.Named(e.ck.a.ExportHint(), uint32(c)) {
			inTab++
		}
		if got, ok := g.cacheFind(e.ck); !ok || got != uint32(c) {
			t.Errorf("%scache entry %d not found (%d, %v)", name, c, got, ok)
		}
	}
	if n := len(g.cents) - len(g.cfree); n != inUse || g.cache.TableLen() != inTab {
		t.Errorf("%s%d cache entries in use, %d found, %d in the table which holds %d", name, n, inUse, inTab, g.cache.TableLen())
	}
	return inUse
}

// TestGroupCacheSharedSets runs two groups over the same attribute sets,
// each set sent from more than one source, through random announcements
// and withdrawals: the first group to cache a set finds it through the
// set's hint, the other through its table, and a set from a second
// source goes in the table of the group that owns the hint. Every entry
// in use must be found, the table must hold no other, and each prefix
// must be sent as a group that never cached anything sends it.
func TestGroupCacheSharedSets(t *testing.T) {
	cfg := ebgpConfig()
	cfg.Rules.Transit = true // every source's paths are sent
	h1 := newHarness(t, cfg, nil)
	h2 := newHarness(t, cfg, nil)
	for _, h := range []*harness{h1, h2} {
		m, _ := newMember(false)
		h.join(m, true)
	}
	var sets []*rib.Attrs
	for i := range 6 {
		sets = append(sets, h1.intern(origin(), seq(65009, uint32(65100+i)), nh("192.0.2.9"), med(uint32(i))))
	}
	srcs := []*rib.Source{srcEBGP, srcNonClient, srcLocal}
	pfx := func(i int) string { return fmt.Sprintf("10.7.%d.0/24", i) }
	state := map[int]Sel{}
	check := func(h *harness, name string) { h.query(func() { checkCache(t, h.g, name+": ") }) }
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 40 {
		var batch []Change
		for _, i := range rng.Perm(30)[:20] { // a prefix at most once a batch, so that order does not matter
			if rng.IntN(4) == 0 {
				batch = append(batch, withdraw(pfx(i)))
				delete(state, i)
				continue
			}
			s := Sel{Attrs: sets[rng.IntN(len(sets))], Src: srcs[rng.IntN(len(srcs))]}
			batch = append(batch, announce(pfx(i), s))
			state[i] = s
		}
		// The groups take the batch in opposite orders, so that each
		// owns some sets' hints.
		h1.changes(batch...)
		slices.Reverse(batch)
		h2.changes(batch...)
		check(h1, fmt.Sprintf("round %d group 1", round))
		check(h2, fmt.Sprintf("round %d group 2", round))
	}
	h3 := newHarness(t, cfg, nil)
	m, _ := newMember(false)
	h3.join(m, true)
	var batch []Change
	for i, s := range state {
		batch = append(batch, announce(pfx(i), s))
	}
	h3.changes(batch...)
	for i := range 30 {
		p := netip.MustParsePrefix(pfx(i))
		want := fmt.Sprint(h3.snapshot(nlri.IPv4Unicast, p))
		for n, h := range []*harness{h1, h2} {
			if got := fmt.Sprint(h.snapshot(nlri.IPv4Unicast, p)); got != want {
				t.Errorf("group %d sends %s as %s, a fresh group as %s", n+1, p, got, want)
			}
		}
	}
}

// TestGroupRefusals checks the two ways a group refuses a path: a source
// none of whose paths it sends (eBGP to eBGP without transit) is refused
// before any lookup and nothing is remembered; a path refused for its
// attributes (NO_EXPORT towards eBGP) is remembered, so that the
// prefixes sharing its set are refused without a Transform each. Only
// the path the group sends reaches the member.
func TestGroupRefusals(t *testing.T) {
	h := newHarness(t, ebgpConfig(), nil)
	m, rec := newMember(false)
	h.join(m, true)
	rec.take()
	noExport := h.intern(origin(), seq(), nh("0.0.0.0"), &attr.Communities{Values: []uint32{attr.CommunityNoExport}})
	learned := Sel{Attrs: h.intern(origin(), seq(65009), nh("192.0.2.9")), Src: srcEBGP}
	var batch []Change
	for i := range 10 {
		batch = append(batch,
			announce(fmt.Sprintf("10.8.%d.0/24", i), learned),
			announce(fmt.Sprintf("10.9.%d.0/24", i), Sel{Attrs: noExport, Src: srcLocal}))
	}
	batch = append(batch, announce("10.10.0.0/24", h.local(nlri.IPv4Unicast, 1)))
	h.changes(batch...)
	var rejected, sets int
	h.query(func() { rejected, sets = len(h.g.rejected), h.g.sets.len()-len(h.g.free) })
	if rejected != 1 || sets != 1 {
		t.Errorf("%d refusals remembered, %d out sets; want 1 (NO_EXPORT's set) and 1", rejected, sets)
	}
	var got []string
	for _, e := range decodeAll(t, rec.take(), wire.Options{AS4: true}) {
		for _, p := range e.reach {
			got = append(got, p.String())
		}
	}
	if want := []string{"10.10.0.0/24"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}
