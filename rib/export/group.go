package export

// An update group: the sessions that get the same UPDATEs (equal Rules
// and codec options), the Adj-RIB-Out they share, and the goroutine that
// turns the Loc-RIB's changes into packed UPDATEs for them.
//
//	Loc-RIB owner ──Changes (batches, in order)──▶ Group.run ──Packer──▶ bytes ──Send──▶ every member
//	              ──Join / Leave / Refresh / Synced──▶        (owns the Adj-RIB-Out)
//	              ──Walked (keys of its tables)──────▶
//
// The Adj-RIB-Out (adjout.go) holds, per prefix, the out sets sent: one
// per distinct attribute set as sent (after the export rules), shared by
// reference count. Without ADD-PATH it is indexed by the Loc-RIB's entry
// number for the prefix (Change.Slot), in an array outside the Go heap,
// so a change finds its prefix's state without hashing. Without an MRAI
// it keeps no prefixes at all, only the out set per slot (4 bytes a
// prefix instead of 12 for IPv4): what lists it (a member joining an
// existing group, ROUTE-REFRESH, Snapshot, the withdrawals owed to a
// member moving from another group) pairs the slots with the keys of a
// walk of the Loc-RIB, which its owner gives the group in the input
// channel, in order with the batches (walk.go). A dump to a member
// interleaves with the batches rather than stopping them, so that a full
// table sent to a slow peer does not hold up the Loc-RIB's owner for as
// long: the member gets the batches from its Join on, and may then be
// sent a prefix twice in the same state, or the withdrawal of one the
// dump never sent, both harmless by RFC 4271 §9. Copies (Snapshot, and
// what Replacing needs) are walked whole, with no batch in between.
//
// Coalescing happens before the group (the Loc-RIB reports a prefix once
// per batch, with its latest selection), and again here: a prefix whose
// paths are sent with the attributes already sent costs nothing. A batch
// is encoded once, whatever the number of members, and the same buffers
// are queued to every member.
//
// Backpressure: Send blocks while a member's queue is full, so a slow
// member slows its group, and the group's full input channel slows the
// Loc-RIB owner. A member whose session has ended is dropped.

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/internal/hashtab"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Sel is one path of a change: its attributes, where it came from, and
// the path identifier we send it with when ADD-PATH is on.
type Sel struct {
	Attrs *rib.Attrs
	Src   *rib.Source
	ID    uint32
}

// Change is one prefix's new state. Paths holds the NSel selected paths
// first (the best first); with TrackAll, the other paths follow. No paths:
// the prefix is gone.
type Change struct {
	Family nlri.Family
	P4     rib.Prefix4
	P6     rib.Prefix6
	// Slot is the prefix's entry number in its family's Loc-RIB: a
	// small dense number that names the prefix from the Loc-RIB's first
	// report of it until its report of the prefix with no paths, and may
	// name another prefix after that. The producer guarantees that
	// report before it gives the slot to another prefix. The Adj-RIB-Out
	// is indexed by slot (adjout.go), so all the batches a group gets
	// must number prefixes alike: one Loc-RIB's entry numbers.
	Slot  uint32
	NSel  int
	Paths []Sel
}

// Prefix is the change's prefix.
func (c *Change) Prefix() netip.Prefix {
	if c.Family == nlri.IPv4Unicast {
		return c.P4.Prefix()
	}
	return c.P6.Prefix()
}

// Sender is a member's session.
type Sender interface {
	Send(ctx context.Context, msgs ...[]byte) error
}

// Member is one session of a group.
type Member struct {
	S        Sender
	Families []nlri.Family
	// EnhancedRefresh marks RFC 7313 support: a re-sent table is framed
	// by BoRR and EoRR.
	EnhancedRefresh bool
	// Replacing, when set, is what the member's previous group sent it
	// (the session moved groups, after an export policy change): the
	// new group sends its table without End-of-RIB, then withdraws what
	// was sent before and is not in its table, so the session carries on.
	Replacing []Advertised
}

// AddPathMode says which paths an ADD-PATH family sends (RFC 7911).
type AddPathMode uint8

const (
	// AddPathAll sends every path.
	AddPathAll AddPathMode = iota
	// AddPathBestN sends the N best.
	AddPathBestN
	// AddPathECMP sends the multipath set.
	AddPathECMP
)

// Config is what makes a group: two sessions with equal Configs share one.
type Config struct {
	Rules   Rules
	Options wire.Options // the codec options of the direction we send
	// AddPathMode and AddPathMax apply to the families of Options.AddPath.
	AddPathMode AddPathMode
	AddPathMax  int
	// MRAI is the MinRouteAdvertisementIntervalTimer (RFC 4271 §9.2.1.1):
	// UPDATEs go out at most this often, carrying each prefix's latest
	// state; 0 sends at once (the data-centre default, as FRR's).
	MRAI time.Duration
}

// GroupKey is the comparable identity of a Config.
type GroupKey struct {
	Rules           Rules
	AS4, ExtMessage bool
	AddPath4        bool
	AddPath6        bool
	Mode            AddPathMode
	Max             int
	MRAI            time.Duration
}

// Key is the comparable identity of the Config.
func (c Config) Key() GroupKey {
	k := GroupKey{Rules: c.Rules.Key(), AS4: c.Options.AS4, ExtMessage: c.Options.ExtendedMessage, MRAI: c.MRAI,
		AddPath4: c.Options.AddPath.Has(nlri.IPv4Unicast), AddPath6: c.Options.AddPath.Has(nlri.IPv6Unicast)}
	if k.AddPath4 || k.AddPath6 {
		k.Mode, k.Max = c.AddPathMode, c.AddPathMax
	}
	return k
}

// NeedsAllPaths reports whether the group must hear of every path, not
// only of selection changes (LocRIB.TrackAll).
func (c *Config) NeedsAllPaths() bool {
	k := c.Key()
	return (k.AddPath4 || k.AddPath6) && c.AddPathMode != AddPathECMP
}

// outPath is one path sent: the out set index and the path identifier.
type outPath struct {
	set uint32
	id  uint32
}

// outSet is one attribute set as sent, shared by every prefix sent with it.
type outSet struct {
	// enc is the set encoded for the group's sessions, once: encoding a
	// batch only copies it, and it costs about a tenth of the decoded
	// list's memory (Snapshot decodes it again). Its octets are key's:
	// the set as sent is also what finds it in byKey, one allocation a
	// set (wire.Encoder).
	enc  wire.Encoded
	key  string
	refs int32
	from []uint32 // the cache entries (cents) that resolve to it
}

// cacheEnt is one entry of the group's cache: the out set a path with
// these attributes from this source is sent with.
type cacheEnt struct {
	ck  cacheKey
	set uint32
}

type cacheKey struct {
	a   *rib.Attrs
	src *rib.Source
	fam nlri.Family
}

// Group is one update group. Its goroutine (Run) owns its state; the
// exported methods post to it (Counts reads counters it publishes), so
// any goroutine may call them, but the batches and the walks come from
// one, the Loc-RIB's owner, whose order the group relies on. The
// unexported methods are for the group's goroutine.
type Group struct {
	cfg   Config
	opts  rib.Options // for ordering paths in best-N mode
	in    chan any
	done  chan struct{}
	onErr func(m *Member, err error)

	members []*Member

	out4 *adjOut[rib.Prefix4]
	out6 *adjOut[rib.Prefix6]
	sets setPages
	free []uint32
	// byKey finds an out set by its octets (a maphash of them: hashtab's
	// comment says why not a map), cache by the path it came from: the
	// entry of cents (free list cfree) for its cacheKey, mostly through
	// the set's export hint (rib.HintIndex).
	seed  maphash.Seed
	byKey hashtab.Table
	cache rib.HintIndex
	cents []cacheEnt
	cfree []uint32
	// rejected caches the paths Transform refused, by the same key; it
	// is cleared when it reaches maxRejected.
	rejected map[cacheKey]struct{}
	waiting  map[*Member]bool // joined before Synced: End-of-RIB then
	// replacing holds the waiting members that moved from another
	// group: the withdrawals of what they had from it go at Synced.
	replacing map[*Member]*replaced
	// MRAI: changes held back, the timer, and when UPDATEs last went.
	// moved holds the withdrawals a held prefix's change at another
	// slot replaced (see hold).
	held4     map[rib.Prefix4]Change
	held6     map[rib.Prefix6]Change
	moved     []Change
	mraiTimer *time.Timer
	lastSent  time.Time
	lastKey   cacheKey // the last cache hit (see outSet); zero: none
	lastSet   uint32
	lastRej   cacheKey // the last refusal found (rejected); zero: none

	count4, count6 atomic.Int64

	// Scratch, reused by every batch.
	ann     []pend
	wd      []pend
	sorted  []pend // ann by out set (encode)
	cnt     []int
	enc     wire.Encoder // encodes the sets Transform makes (outSet)
	scratch Scratch      // Transform's
	want    []outPath
	pk      *wire.Packer
}

// pend is one route to announce or withdraw in the batch being encoded.
// It holds the packed key, not a netip.Prefix, so that a batch's pends
// hold no pointers (no write barrier filling them, nothing to scan).
type pend struct {
	set uint32
	id  uint32
	fam nlri.Family
	p4  rib.Prefix4
	p6  rib.Prefix6
}

// pendOf is the pend of c's prefix.
func pendOf(c *Change, set, id uint32) pend {
	return pend{set: set, id: id, fam: c.Family, p4: c.P4, p6: c.P6}
}

// pendFor is the pend of a prefix of family fam.
func pendFor(fam nlri.Family, pfx netip.Prefix, set, id uint32) pend {
	p := pend{set: set, id: id, fam: fam}
	if fam == nlri.IPv4Unicast {
		p.p4, _ = rib.Prefix4From(pfx)
	} else {
		p.p6, _ = rib.Prefix6From(pfx)
	}
	return p
}

func (p *pend) prefix() netip.Prefix {
	if p.fam == nlri.IPv4Unicast {
		return p.p4.Prefix()
	}
	return p.p6.Prefix()
}

// Messages the group's goroutine takes.
type (
	joinMsg struct {
		m       *Member
		initial bool
		w       *Walk // the dump, unless initial
	}
	leaveMsg  struct{ m *Member }
	syncedMsg struct{}
	queryMsg  struct{ fn func() }
)

// NewGroup returns a group with no members; Run starts it. onErr is told
// of a member whose Send failed (its session ended); the group has dropped
// it already.
func NewGroup(cfg Config, opts rib.Options, onErr func(m *Member, err error)) *Group {
	return &Group{cfg: cfg, opts: opts, in: make(chan any, 4), done: make(chan struct{}), onErr: onErr,
		// Keys only with an MRAI, whose hold replays changes out of
		// order (adjout.go).
		out4: newAdjOut(cfg.Options.AddPath.Has(nlri.IPv4Unicast), cfg.MRAI > 0, rib.Prefix4.Prefix),
		out6: newAdjOut(cfg.Options.AddPath.Has(nlri.IPv6Unicast), cfg.MRAI > 0, rib.Prefix6.Prefix),
		seed: maphash.MakeSeed(), cache: rib.NewHintIndex(), rejected: map[cacheKey]struct{}{},
		waiting: map[*Member]bool{}, replacing: map[*Member]*replaced{}, pk: wire.NewPacker(cfg.Options)}
}

// Config is the group's configuration.
func (g *Group) Config() Config { return g.cfg }

// Run is the group's goroutine: it ends when ctx ends or Close is called,
// and the group is done then.
func (g *Group) Run(ctx context.Context) {
	// The Adj-RIB-Out's arrays are outside the Go heap, where a
	// collection would find them unreachable only at its next cycle,
	// however long that takes: give them back now.
	defer g.out4.free()
	defer g.out6.free()
	for {
		var tick <-chan time.Time
		if g.mraiTimer != nil {
			tick = g.mraiTimer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-g.done:
			return
		case m := <-g.in:
			g.handle(ctx, m)
		case <-tick:
			g.mraiTimer = nil
			g.sendHeld(ctx)
		}
	}
}

// hold keeps a batch back while the MRAI runs: each prefix's latest
// change replaces the one held before it, so the UPDATEs sent when the
// timer expires carry the latest state once.
//
// The held changes go out in map order, and a slot may have changed hands
// while they were held; applyOut sorts that out by the key at the slot,
// whatever the order. One case needs help: a prefix withdrawn and then
// given another slot has its withdrawal at the old slot replaced by the
// change at the new one, and nothing else would ever clear the old slot.
// That withdrawal is kept in moved and replayed first.
func (g *Group) hold(ctx context.Context, batch []Change) {
	if g.held4 == nil {
		g.held4, g.held6 = map[rib.Prefix4]Change{}, map[rib.Prefix6]Change{}
	}
	for _, c := range batch {
		if c.Family == nlri.IPv4Unicast {
			holdOne(g, g.held4, g.out4, c.P4, c)
		} else {
			holdOne(g, g.held6, g.out6, c.P6, c)
		}
	}
	if g.mraiTimer == nil {
		wait := g.cfg.MRAI - time.Since(g.lastSent)
		if wait <= 0 {
			g.sendHeld(ctx)
			return
		}
		g.mraiTimer = time.NewTimer(wait)
	}
}

func holdOne[K rib.Key](g *Group, held map[K]Change, t *adjOut[K], k K, c Change) {
	if old, ok := held[k]; ok && old.Slot != c.Slot && !t.addPath {
		// A prefix gets another slot only after the Loc-RIB has
		// reported it with no paths, so old is that report (from a
		// producer that broke the rule, it stands for one): keep it
		// for its slot.
		g.moved = append(g.moved, Change{Family: old.Family, P4: old.P4, P6: old.P6, Slot: old.Slot})
	}
	c.Paths = slices.Clone(c.Paths) // the batch may be reused once handled
	held[k] = c
}

func (g *Group) sendHeld(ctx context.Context) {
	if len(g.held4)+len(g.held6) == 0 {
		return
	}
	g.apply(ctx, g.takeHeld())
	g.lastSent = time.Now()
}

// takeHeld empties the hold into one batch: the moved withdrawals first,
// then the held changes, in map order.
func (g *Group) takeHeld() []Change {
	batch := make([]Change, 0, len(g.moved)+len(g.held4)+len(g.held6))
	for _, c := range g.moved {
		var h Change
		var ok bool
		if c.Family == nlri.IPv4Unicast {
			h, ok = g.held4[c.P4]
		} else {
			h, ok = g.held6[c.P6]
		}
		if ok && h.Slot == c.Slot {
			// Back at the slot it left: its held change is compared
			// with what the slot holds, and needs no withdrawal first.
			continue
		}
		batch = append(batch, c)
	}
	for _, c := range g.held4 {
		batch = append(batch, c)
	}
	for _, c := range g.held6 {
		batch = append(batch, c)
	}
	clear(g.held4)
	clear(g.held6)
	g.moved = g.moved[:0]
	return batch
}

// Close ends Run.
func (g *Group) Close() { close(g.done) }

func (g *Group) post(ctx context.Context, m any) bool {
	select {
	case g.in <- m:
		return true
	case <-g.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// Changes queues a batch; the group keeps the slice until it is done
// with it (the caller must not reuse it). It blocks while the group is
// behind.
func (g *Group) Changes(ctx context.Context, batch []Change) bool { return g.post(ctx, batch) }

// ChangesShared is Changes for a batch the caller shares with other
// consumers and reuses: the group calls done once it no longer reads the
// batch (also when the batch never reaches it: ChangesShared returns
// false then, after calling done). Whatever the group keeps of a change
// (MRAI holds changes back) it copies.
func (g *Group) ChangesShared(ctx context.Context, batch []Change, done func()) bool {
	if g.post(ctx, sharedBatch{batch, done}) {
		return true
	}
	done()
	return false
}

// sharedBatch is a batch given with ChangesShared.
type sharedBatch struct {
	changes []Change
	done    func()
}

// Join adds a member. A member that joins with initial set, before the
// group's fill from the Loc-RIB, gets that fill as it comes and End-of-RIB
// at Synced. Any other gets the whole Adj-RIB-Out and End-of-RIB (or,
// with Replacing, the withdrawals) through the returned Walk, which the
// owner must walk to its end (Walked); it gets every later batch as it
// comes, from the Join on.
func (g *Group) Join(ctx context.Context, m *Member, initial bool) (*Walk, bool) {
	var w *Walk
	if !initial {
		w = g.newWalk(m, nlri.Family{})
		w.eor, w.replacing = true, m.Replacing != nil
	}
	return w, g.post(ctx, joinMsg{m, initial, w})
}

// Leave removes a member.
func (g *Group) Leave(ctx context.Context, m *Member) bool { return g.post(ctx, leaveMsg{m}) }

// Synced tells a new group that the Loc-RIB's contents have all been
// given: its members get End-of-RIB.
func (g *Group) Synced(ctx context.Context) bool { return g.post(ctx, syncedMsg{}) }

// Refresh sends one family's Adj-RIB-Out to m again (a ROUTE-REFRESH from
// the peer, RFC 2918; framed by BoRR and EoRR with RFC 7313) through the
// returned Walk, which the owner must walk to its end (Walked).
func (g *Group) Refresh(ctx context.Context, m *Member, fam nlri.Family) (*Walk, bool) {
	w := g.newWalk(m, fam)
	w.framed = m.EnhancedRefresh
	return w, g.post(ctx, startMsg{w})
}

// Query runs fn in the group's goroutine and waits for it.
func (g *Group) Query(ctx context.Context, fn func()) bool {
	done := make(chan struct{})
	if !g.post(ctx, queryMsg{func() { fn(); close(done) }}) {
		return false
	}
	select {
	case <-done:
		return true
	case <-g.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// Counts is the number of prefixes in the Adj-RIB-Out per family.
func (g *Group) Counts() (v4, v6 int) { return int(g.count4.Load()), int(g.count6.Load()) }

func (g *Group) handle(ctx context.Context, m any) {
	switch m := m.(type) {
	case []Change:
		if g.cfg.MRAI > 0 {
			g.hold(ctx, m)
		} else {
			g.apply(ctx, m)
		}
	case sharedBatch:
		if g.cfg.MRAI > 0 {
			g.hold(ctx, m.changes)
		} else {
			g.apply(ctx, m.changes)
		}
		m.done()
	case joinMsg:
		g.members = append(g.members, m.m)
		var rep *replaced
		if m.m.Replacing != nil {
			rep = g.replacedFor(m.m.Replacing, m.initial)
			m.m.Replacing = nil
		}
		if m.initial {
			g.waiting[m.m] = true
			if rep != nil {
				g.replacing[m.m] = rep
			}
		} else {
			m.w.rep = rep
			g.startWalk(ctx, m.w)
		}
	case leaveMsg:
		g.members = slices.DeleteFunc(g.members, func(x *Member) bool { return x == m.m })
		delete(g.waiting, m.m)
		delete(g.replacing, m.m)
	case syncedMsg:
		// The initial fill goes out before End-of-RIB, MRAI or not.
		if g.mraiTimer != nil {
			g.mraiTimer.Stop()
			g.mraiTimer = nil
		}
		g.sendHeld(ctx)
		for _, mb := range slices.Clone(g.members) {
			if g.waiting[mb] {
				delete(g.waiting, mb)
				if r := g.replacing[mb]; r != nil {
					delete(g.replacing, mb)
					g.send(ctx, mb, r.withdrawals(g.cfg.Options))
				} else {
					g.send(ctx, mb, eorMessages(mb, g.cfg.Options))
				}
			}
		}
	case startMsg:
		g.startWalk(ctx, m.w)
	case walkedMsg:
		g.walked(ctx, m)
	case queryMsg:
		m.fn()
	}
}

// replacedFor is the replaced of list for a member joining: a member
// joining a new group (initial) shares that of another that joined it
// with the same list, since both get the same batches.
func (g *Group) replacedFor(list []Advertised, initial bool) *replaced {
	if initial {
		for _, r := range g.replacing {
			if len(r.list) == len(list) && (len(list) == 0 || &r.list[0] == &list[0]) {
				return r
			}
		}
	}
	return newReplaced(list)
}

// apply turns a batch of changes into the difference with the Adj-RIB-Out,
// encodes it once and sends it to every member.
func (g *Group) apply(ctx context.Context, batch []Change) {
	g.ann, g.wd = g.ann[:0], g.wd[:0]
	for i := range batch {
		c := &batch[i]
		switch c.Family {
		case nlri.IPv4Unicast:
			applyOut(g, g.out4, c.P4, c, &g.count4)
		case nlri.IPv6Unicast:
			applyOut(g, g.out6, c.P6, c, &g.count6)
		}
	}
	if len(g.ann) == 0 && len(g.wd) == 0 {
		return
	}
	if len(g.replacing) > 0 {
		var done []*replaced // shared ones are marked once
		for _, r := range g.replacing {
			if !slices.Contains(done, r) {
				done = append(done, r)
				r.mark(g.ann)
				r.mark(g.wd)
			}
		}
	}
	msgs := g.encode()
	for _, m := range slices.Clone(g.members) {
		g.send(ctx, m, msgs)
	}
}

// applyOut brings one prefix of the Adj-RIB-Out to c's state. In a keyed
// table (an MRAI's), a slot that holds another prefix was reused while
// changes were held (see adjOut): a withdrawal is that prefix's late
// report and is ignored; anything else withdraws the stale prefix first.
func applyOut[K rib.Key](g *Group, t *adjOut[K], key K, c *Change, count *atomic.Int64) {
	if k, p, ok := t.other(c.Slot, key); ok {
		if len(c.Paths) == 0 {
			return
		}
		g.wd = append(g.wd, pendFor(c.Family, t.prefix(k), 0, p.id))
		g.release(p.set)
		t.set(c.Slot, k, nil)
		count.Add(-1)
	}
	var buf [1]outPath
	old := t.get(c.Slot, key, &buf)
	nw := g.diff(c, old)
	switch {
	case len(nw) > 0:
		if len(old) == 0 {
			count.Add(1)
		}
		t.set(c.Slot, key, nw)
	case len(old) > 0:
		t.set(c.Slot, key, nil)
		count.Add(-1)
	}
}

// diff computes the paths to send for c, records the announcements and
// withdrawals against old, and returns the new entry (empty: nothing
// sent), in scratch space the caller copies.
func (g *Group) diff(c *Change, old []outPath) []outPath {
	want := g.want[:0]
	addPath := g.cfg.Options.AddPath.Has(c.Family)
	paths := c.Paths
	switch {
	case !addPath:
		paths = paths[:min(c.NSel, 1)]
	case g.cfg.AddPathMode == AddPathECMP:
		paths = paths[:c.NSel]
	case g.cfg.AddPathMode == AddPathBestN:
		paths = g.bestN(c)
	}
	for _, p := range paths {
		set, ok := g.outSet(c, p)
		if !ok {
			continue
		}
		id := uint32(0)
		if addPath {
			id = p.ID
		}
		want = append(want, outPath{set: set, id: id})
		if !addPath {
			break
		}
	}
	g.want = want
	// Withdraw what is no longer sent; announce what is new or changed.
	// want holds its own references, so releasing old's cannot free a set
	// still in use.
	for _, o := range old {
		if !slices.ContainsFunc(want, func(w outPath) bool { return w.id == o.id }) {
			g.wd = append(g.wd, pendOf(c, 0, o.id))
		}
		g.release(o.set)
	}
	for _, w := range want {
		if !slices.Contains(old, w) {
			g.ann = append(g.ann, pendOf(c, w.set, w.id))
		}
	}
	return want
}

// bestN orders every path of c by the decision process and keeps the
// AddPathMax best.
func (g *Group) bestN(c *Change) []Sel {
	n := min(len(c.Paths), max(g.cfg.AddPathMax, 1))
	if n <= c.NSel || len(c.Paths) <= c.NSel {
		return c.Paths[:min(n, len(c.Paths))]
	}
	rest := slices.Clone(c.Paths[c.NSel:])
	slices.SortStableFunc(rest, func(a, b Sel) int {
		pa := rib.Path{Attrs: a.Attrs, Source: a.Src, PathID: a.ID}
		pb := rib.Path{Attrs: b.Attrs, Source: b.Src, PathID: b.ID}
		r, _ := g.opts.Compare(&pa, &pb)
		return r
	})
	return append(slices.Clone(c.Paths[:c.NSel]), rest...)[:n]
}

// outSet returns the out set p is sent with, taking one reference, or
// false when p is not sent.
func (g *Group) outSet(c *Change, p Sel) (uint32, bool) {
	fam := c.Family
	if g.cfg.Rules.refusesSource(p.Src) {
		return 0, false
	}
	ck := cacheKey{a: p.Attrs, src: p.Src, fam: fam}
	cacheable := g.cfg.Rules.Policy == nil || !prefixDependent(g.cfg.Rules.Policy)
	if cacheable {
		// Consecutive changes mostly share a set: one entry in front of
		// the cache saves hashing the key (ck.a is never nil, so a zero
		// lastKey matches nothing).
		if g.lastKey == ck {
			g.sets.at(g.lastSet).refs++
			return g.lastSet, true
		}
		if g.lastRej == ck {
			return 0, false // the same for refusals (NO_EXPORT, no next hop of ours, the policy)
		}
		if c, ok := g.cacheFind(ck); ok {
			i := g.cents[c].set
			g.lastKey, g.lastSet = ck, i
			g.sets.at(i).refs++
			return i, true
		}
		if _, ok := g.rejected[ck]; ok {
			g.lastRej = ck
			return 0, false
		}
	}
	// The list is encoded (and hashed) below, before the next Transform
	// reuses the scratch.
	list, ok := g.cfg.Rules.Transform(fam, c.Prefix(), p.Src, p.Attrs, g.cfg.Options.AS4, &g.scratch)
	if !ok {
		if cacheable {
			if len(g.rejected) >= maxRejected {
				clear(g.rejected) // it only saves work; keep it bounded
			}
			g.rejected[ck] = struct{}{}
			g.lastRej = ck
		}
		return 0, false
	}
	enc := g.enc.Encode(list, g.cfg.Options)
	h := maphash.Bytes(g.seed, enc)
	i, ok := g.byKey.Find(h, func(i uint32) bool { return g.sets.at(i).key == string(enc) })
	if !ok {
		var s outSet
		s.enc, s.key = g.enc.Keep()
		if n := len(g.free); n > 0 {
			i = g.free[n-1]
			g.free = g.free[:n-1]
			*g.sets.at(i) = s
		} else {
			i = g.sets.add(s)
		}
		g.byKey.Insert(h, i)
	}
	if cacheable {
		// Not cached yet: the lookups above missed.
		var c uint32
		if n := len(g.cfree); n > 0 {
			c = g.cfree[n-1]
			g.cfree = g.cfree[:n-1]
		} else {
			c = uint32(len(g.cents))
			g.cents = append(g.cents, cacheEnt{})
		}
		g.cents[c] = cacheEnt{ck: ck, set: i}
		g.cache.Add(ck.a.ExportHint(), g.cacheHash(ck), c, func(j uint32) bool { return int(j) < len(g.cents) && g.cents[j].ck.a == ck.a })
		os := g.sets.at(i)
		os.from = append(os.from, c)
	}
	g.sets.at(i).refs++
	return i, true
}

const noSet = ^uint32(0)

// cacheFind returns the cache entry of ck.
func (g *Group) cacheFind(ck cacheKey) (uint32, bool) {
	return g.cache.Find(ck.a.ExportHint(), g.cacheHash(ck), func(c uint32) bool { return int(c) < len(g.cents) && g.cents[c].ck == ck })
}

// cacheHash is the hash the cache files ck under.
func (g *Group) cacheHash(ck cacheKey) uint64 { return maphash.Comparable(g.seed, ck) }

// setPages holds the out sets in pages of setPageLen that never move: a
// growing slice of them copied every set (pointers included, so under the
// collector's write barrier) each time it grew, a tenth of a full table's
// fill.
type setPages struct {
	pages [][]outSet
	n     uint32
}

const setPageLen = 1 << 10

func (p *setPages) at(i uint32) *outSet { return &p.pages[i/setPageLen][i%setPageLen] }

func (p *setPages) len() int { return int(p.n) }

// add appends s and returns its index.
func (p *setPages) add(s outSet) uint32 {
	if int(p.n) == len(p.pages)*setPageLen {
		p.pages = append(p.pages, make([]outSet, setPageLen))
	}
	i := p.n
	p.n++
	*p.at(i) = s
	return i
}

const maxRejected = 1 << 16

// prefixDependent reports whether a policy looks at the prefix, so that
// its result cannot be cached per attribute set.
func prefixDependent(p Policy) bool {
	if d, ok := p.(interface{ PrefixDependent() bool }); ok {
		return d.PrefixDependent()
	}
	return true
}

func (g *Group) release(i uint32) {
	s := g.sets.at(i)
	s.refs--
	if s.refs > 0 {
		return
	}
	for _, c := range s.from {
		ck := g.cents[c].ck
		g.cache.Remove(ck.a.ExportHint(), g.cacheHash(ck), c)
		g.cents[c] = cacheEnt{}
		g.cfree = append(g.cfree, c)
	}
	if g.lastKey.a != nil && g.lastSet == i {
		g.lastKey = cacheKey{}
	}
	g.byKey.Delete(maphash.String(g.seed, s.key), i)
	*s = outSet{}
	g.free = append(g.free, i)
}

// encode packs the batch's withdrawals, then its announcements grouped by
// out set (a counting sort on the set index), and returns the messages.
func (g *Group) encode() [][]byte {
	pk := g.pk
	pk.Reset()
	for _, w := range g.wd {
		_ = pk.Withdraw(nlri.Prefix{Prefix: w.prefix(), PathID: w.id})
	}
	// Counting sort of the announcements by set.
	g.cnt = slices.Grow(g.cnt[:0], g.sets.len()+1)[:g.sets.len()+1]
	clear(g.cnt)
	for _, a := range g.ann {
		g.cnt[a.set+1]++
	}
	for i := 1; i < len(g.cnt); i++ {
		g.cnt[i] += g.cnt[i-1]
	}
	g.sorted = slices.Grow(g.sorted[:0], len(g.ann))[:len(g.ann)]
	for _, a := range g.ann {
		g.sorted[g.cnt[a.set]] = a
		g.cnt[a.set]++
	}
	cur := noSet
	for _, a := range g.sorted {
		if a.set != cur {
			cur = a.set
			pk.SetEncoded(&g.sets.at(cur).enc)
		}
		if a.fam == nlri.IPv4Unicast {
			_ = pk.AnnounceIPv4(uint32(a.p4>>8), uint8(a.p4), a.id)
		} else {
			_ = pk.Announce(nlri.Prefix{Prefix: a.p6.Prefix(), PathID: a.id})
		}
	}
	out := pk.Bytes()
	buf := make([]byte, len(out)) // the members' queues keep it; the Packer's buffer is reused
	copy(buf, out)
	return splitMessages(buf)
}

func eorMessages(m *Member, opt wire.Options) [][]byte {
	var out [][]byte
	for _, f := range m.Families {
		out = append(out, wire.NewEndOfRIB(f).AppendTo(nil, opt))
	}
	return out
}

// send queues msgs to m; a member whose session ended is dropped.
func (g *Group) send(ctx context.Context, m *Member, msgs [][]byte) {
	if len(msgs) == 0 {
		return
	}
	if err := m.S.Send(ctx, msgs...); err != nil {
		g.members = slices.DeleteFunc(g.members, func(x *Member) bool { return x == m })
		delete(g.waiting, m)
		delete(g.replacing, m)
		if g.onErr != nil {
			g.onErr(m, err)
		}
	}
}

// Advertised is one path of the Adj-RIB-Out.
type Advertised struct {
	Family nlri.Family
	Prefix netip.Prefix
	PathID uint32
	Attrs  attr.List
}

// splitMessages cuts packed output into one slice per message.
func splitMessages(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= wire.HeaderLen {
		n := int(binary.BigEndian.Uint16(b[16:18]))
		if n < wire.HeaderLen || n > len(b) {
			break
		}
		out = append(out, b[:n:n])
		b = b[n:]
	}
	return out
}
