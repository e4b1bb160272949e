package export

// Walks: listing an Adj-RIB-Out that does not know its prefixes.
//
// A group without ADD-PATH and without MRAI keeps, per prefix, only the
// out set sent, at the prefix's slot (adjout.go): 4 bytes a prefix rather
// than 12 for IPv4 (21 for IPv6), 8 MB less per group for a full table.
// What lists the Adj-RIB-Out (the table sent to a member that joins an
// existing group or asks for a ROUTE-REFRESH, Snapshot, the withdrawals of
// Member.Replacing) gets the prefixes from the Loc-RIB's owner instead:
// the owner walks its tables (rib.LocRIB.Walk gives each prefix with its
// slot) and gives the group the keys in chunks, through the group's input
// channel, behind every batch of changes it gave the group before.
//
//	owner ──Join / Refresh / Snapshot──▶ group: start (BoRR; the families it lists itself)
//	owner: flush, walk a chunk ──Walked(keys, slots)──▶ group: slot → out set, with the chunk's keys
//	  ...                      ──Walked(..., last)───▶ group: end (EoRR, End-of-RIB, withdrawals; Result)
//
// Why a chunk's key and the group's state at its slot agree: the owner
// walks only once it has given the group every change it drained, and
// the group handles its channel in order, so when it takes the chunk its
// Adj-RIB-Out reflects every report the Loc-RIB made before the walk; a
// slot holds the state of the prefix last reported at it, and the Loc-RIB
// gives a slot to another prefix only after it has reported the old one
// with no paths (rib.LocRIB.DrainAll). So the key the walk finds at a slot
// is the prefix whose state the group holds there. A group with an MRAI
// lags the Loc-RIB by its held changes, so it keeps its keys and lists
// itself, as an ADD-PATH one does (its map is by prefix): the owner does
// not walk their families (Walk.Families).
//
// A dump (join, refresh) may have batches of changes between its chunks:
// the RIB loop walks one chunk per round, so that a table sent to a slow
// member holds up the loop no longer than a batch does. The member gets
// those batches as any member does, and ends with the Adj-RIB-Out as it
// is then: a prefix that changed before its chunk was walked is
// announced again in the same state, and one withdrawn before its chunk
// is withdrawn although the dump never sent it. Both are harmless: RFC
// 4271 §9 has an announcement replace the route to the same destination,
// and a withdrawal remove the route from the Adj-RIB-In, where a route
// never sent is not. A refresh framed by BoRR and EoRR (RFC 7313) stays
// valid: the batches' announcements re-advertise too.
//
// Two walks are atomic: the owner gives them whole, with no batch
// between their chunks (Walk.Atomic). A Snapshot must be the Adj-RIB-Out
// at one moment: the RIB loop builds the Member.Replacing of a session
// leaving the group from it, and a prefix a batch announced behind the
// walk would be missing there, never to be withdrawn. A join with
// Replacing withdraws, at its end, what its chunks did not find sent,
// which a batch in between could have sent since.

import (
	"context"
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Keys is one chunk of a walk of a Loc-RIB: prefixes of one family,
// Slots[i] the slot of the i-th (the slot rib.LocRIB.Walk reports).
type Keys struct {
	Family nlri.Family
	P4     []rib.Prefix4 // IPv4 unicast
	P6     []rib.Prefix6 // IPv6 unicast
	Slots  []uint32
}

// Walk is one listing of a group's Adj-RIB-Out: a dump to a member (Join,
// Refresh) or a copy (Snapshot). The group owns its state once started;
// the owner only reads Families and Atomic, and Result for a copy.
type Walk struct {
	g    *Group
	fams []nlri.Family // what the owner walks
	m    *Member       // the member dumped to; nil for a copy
	fam  nlri.Family   // the one family listed; zero: all

	eor       bool // a join: End-of-RIB at the end, unless replacing
	framed    bool // an enhanced refresh: BoRR, EoRR (RFC 7313)
	replacing bool // a join with Member.Replacing: rep, made at the start
	rep       *replaced

	pfx   netip.Prefix // a copy of one prefix, when valid
	out   []Advertised
	lists map[uint32]attr.List // each set decoded once
	done  chan struct{}        // closed at the copy's end

	dead bool // the member left
}

// Families are the families the owner walks, in this order, giving each
// chunk to Walked and setting last on the final one. A walk with none is
// complete once the group has started it: the owner walks nothing.
func (w *Walk) Families() []nlri.Family { return w.fams }

// Atomic reports whether the owner must give the walk whole, with no
// batch of changes to the group between its first chunk and its last
// (see the file comment).
func (w *Walk) Atomic() bool { return w.m == nil || w.replacing }

// Result waits for a Snapshot's walk to end and returns the copy; false
// when the group or ctx ended first.
func (w *Walk) Result(ctx context.Context) ([]Advertised, bool) {
	select {
	case <-w.done:
		return w.out, true
	case <-w.g.done:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

// newWalk is a walk of fam (zero: all) to m (nil: a copy): the owner walks
// the families the group does not list itself.
func (g *Group) newWalk(m *Member, fam nlri.Family) *Walk {
	w := &Walk{g: g, m: m, fam: fam}
	for _, f := range []nlri.Family{nlri.IPv4Unicast, nlri.IPv6Unicast} {
		if w.wants(f) && !g.lists(f) {
			w.fams = append(w.fams, f)
		}
	}
	return w
}

// lists reports whether the group keeps f's prefixes itself (with
// ADD-PATH or an MRAI: adjOut.listed), so that it walks them with no
// help. It is fixed by NewGroup, so any goroutine may ask.
func (g *Group) lists(f nlri.Family) bool {
	if f == nlri.IPv4Unicast {
		return g.out4.listed()
	}
	return g.out6.listed()
}

func (w *Walk) wants(f nlri.Family) bool { return w.fam == (nlri.Family{}) || w.fam == f }

// Messages of a walk.
type (
	startMsg  struct{ w *Walk }
	walkedMsg struct {
		w    *Walk
		k    *Keys
		last bool
	}
)

// Walked gives the group one chunk of w; last ends it. The keys must be
// walked after the owner gave the group every change it drained, and the
// group reads k until it has handled it.
func (g *Group) Walked(ctx context.Context, w *Walk, k *Keys, last bool) bool {
	return g.post(ctx, walkedMsg{w, k, last})
}

// Snapshot starts a copy of the Adj-RIB-Out (one family when fam is not
// zero, one prefix when pfx is valid): the owner walks it (Families,
// atomically), and Result returns the copy.
func (g *Group) Snapshot(ctx context.Context, fam nlri.Family, pfx netip.Prefix) (*Walk, bool) {
	if fam == (nlri.Family{}) && pfx.IsValid() {
		// One prefix: its family's walk only.
		fam = nlri.IPv6Unicast
		if pfx.Addr().Is4() {
			fam = nlri.IPv4Unicast
		}
	}
	w := g.newWalk(nil, fam)
	w.pfx, w.lists, w.done = pfx, map[uint32]attr.List{}, make(chan struct{})
	return w, g.post(ctx, startMsg{w})
}

// startWalk begins w in the group's goroutine: BoRR, and the families the
// group lists itself.
func (g *Group) startWalk(ctx context.Context, w *Walk) {
	if w.m != nil && !slices.Contains(g.members, w.m) {
		w.dead = true // a refresh from a session that has left
		return
	}
	if w.framed {
		g.send(ctx, w.m, [][]byte{(&wire.RouteRefresh{Family: w.fam, Subtype: iana.RefreshBeginning}).AppendTo(nil, wire.Options{})})
	}
	g.ann = g.ann[:0] // the scratch of apply, which leaves its last batch there
	if w.wants(nlri.IPv4Unicast) && g.lists(nlri.IPv4Unicast) {
		g.out4.each(func(k rib.Prefix4, ps []outPath) { g.walkAdd(w, pend{fam: nlri.IPv4Unicast, p4: k}, ps) })
	}
	if w.wants(nlri.IPv6Unicast) && g.lists(nlri.IPv6Unicast) {
		g.out6.each(func(k rib.Prefix6, ps []outPath) { g.walkAdd(w, pend{fam: nlri.IPv6Unicast, p6: k}, ps) })
	}
	g.walkSend(ctx, w)
	if len(w.fams) == 0 {
		g.endWalk(ctx, w)
	}
}

// walked handles one chunk of w.
func (g *Group) walked(ctx context.Context, m walkedMsg) {
	w := m.w
	if w.dead || (w.m != nil && !slices.Contains(g.members, w.m)) {
		w.dead = true
		return
	}
	g.ann = g.ann[:0]
	switch m.k.Family {
	case nlri.IPv4Unicast:
		g.out4.at(m.k.P4, m.k.Slots, func(k rib.Prefix4, ps []outPath) { g.walkAdd(w, pend{fam: nlri.IPv4Unicast, p4: k}, ps) })
	case nlri.IPv6Unicast:
		g.out6.at(m.k.P6, m.k.Slots, func(k rib.Prefix6, ps []outPath) { g.walkAdd(w, pend{fam: nlri.IPv6Unicast, p6: k}, ps) })
	}
	g.walkSend(ctx, w)
	if m.last {
		g.endWalk(ctx, w)
	}
}

// walkAdd takes one prefix sent (key: its family and packed prefix): for
// a dump, its announcements (sent by walkSend); for a copy, its paths
// with their attributes.
func (g *Group) walkAdd(w *Walk, key pend, ps []outPath) {
	if w.m != nil {
		for _, p := range ps {
			key.set, key.id = p.set, p.id
			g.ann = append(g.ann, key)
		}
		return
	}
	pfx := key.prefix()
	if w.pfx.IsValid() && pfx != w.pfx {
		return
	}
	for _, p := range ps {
		l, ok := w.lists[p.set]
		if !ok {
			// Our own encoding: it decodes (a failure would show as a
			// set without attributes).
			l, _ = g.sets.at(p.set).enc.List(g.cfg.Options)
			w.lists[p.set] = l
		}
		w.out = append(w.out, Advertised{Family: key.fam, Prefix: pfx, PathID: p.id, Attrs: l})
	}
}

// walkSend sends a dump's announcements gathered by walkAdd, grouped by
// out set within the chunk.
func (g *Group) walkSend(ctx context.Context, w *Walk) {
	if w.m == nil || len(g.ann) == 0 {
		return
	}
	if w.rep != nil {
		w.rep.mark(g.ann)
	}
	g.wd = g.wd[:0]
	msgs := g.encode()
	g.ann = g.ann[:0]
	g.send(ctx, w.m, msgs)
}

// endWalk ends w: EoRR, then for a join End-of-RIB or, for a member
// moving from another group, the withdrawal of what it had from there
// and was not sent again; a copy is complete.
func (g *Group) endWalk(ctx context.Context, w *Walk) {
	if w.m == nil {
		close(w.done)
		return
	}
	var msgs [][]byte
	if w.framed {
		msgs = append(msgs, (&wire.RouteRefresh{Family: w.fam, Subtype: iana.RefreshEnd}).AppendTo(nil, wire.Options{}))
	}
	switch {
	case w.rep != nil:
		msgs = append(msgs, w.rep.withdrawals(g.cfg.Options)...)
	case w.eor:
		msgs = append(msgs, eorMessages(w.m, g.cfg.Options)...)
	}
	g.send(ctx, w.m, msgs)
}

// replaced is what a member moving from another group had from it
// (Member.Replacing), and which of those paths this group has sent it
// since it joined: at the end of its table (its join's walk, or Synced),
// the others are withdrawn. sent holds the paths of Replacing by family,
// prefix and path ID: without keys the group cannot look its own paths up
// by prefix, so it notes what it sends instead.
//
// Members that join a new group together (its fill) with the same
// Replacing (one old group's Snapshot, after a policy change) share one:
// they get the same batches, so one table of marks serves them all.
type replaced struct {
	list []Advertised
	sent map[pend]bool // by the pend of each path of list, set 0
}

func newReplaced(list []Advertised) *replaced {
	r := &replaced{list: list, sent: make(map[pend]bool, len(list))}
	for _, a := range list {
		r.sent[pendFor(a.Family, a.Prefix, 0, a.PathID)] = false
	}
	return r
}

// mark notes the paths of ps (announced or withdrawn) as sent: the member
// has this group's state for them.
func (r *replaced) mark(ps []pend) {
	for _, p := range ps {
		p.set = 0
		if _, ok := r.sent[p]; ok {
			r.sent[p] = true
		}
	}
}

// withdrawals are the UPDATEs withdrawing the paths of Replacing that
// were not sent.
func (r *replaced) withdrawals(opt wire.Options) [][]byte {
	pk := wire.NewPacker(opt)
	for _, a := range r.list {
		if !r.sent[pendFor(a.Family, a.Prefix, 0, a.PathID)] {
			_ = pk.Withdraw(nlri.Prefix{Prefix: a.Prefix, PathID: a.PathID})
		}
	}
	return splitMessages(pk.Bytes())
}
