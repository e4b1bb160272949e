package daemon

// The RIB of the default VRF: one goroutine owns the Loc-RIBs (IPv4 and
// IPv6 unicast) and is their only writer; everything else talks to it
// through ops on one channel, so the tables need no locks.
//
//	peer readers ──import (decode, checks, intern) ──opRoutes──▶ ┐
//	neighbors ──opUp / opDown / opRefresh──────────────────────▶ │ ribLoop
//	reconciler ──opOrigins (Announcements)─────────────────────▶ │ (Loc-RIBs, per-neighbour
//	API, metrics ──opFunc (a query, run in the loop)───────────▶ ┘  counts, update groups)
//	                    │
//	                    ├── after each round of ops: DrainAll ──[]export.Change──▶ every update group
//	                    └── then a chunk of each walk: Walk ──export.Keys──▶ its update group
//
// Work is split so that both cores are used: a peer's reader goroutine
// turns its UPDATEs into a routeBatch (AS4 merge, the import checks,
// attribute interning) before it posts the batch, the loop only applies
// keys and pointers to the tables and runs the decision process, and each
// update group encodes in its own goroutine. The loop takes every op that
// is waiting (up to a bound) before it drains the tables, so a burst of
// UPDATEs costs one round of changes; the group channels and the ops
// channel are bounded, so a slow peer pushes back on the loop and the loop
// on the readers, and from there through TCP on the sending peers.
//
// Ordering: a neighbour's handler calls (SessionUp, Updates, SessionDown)
// post their ops synchronously, so the loop sees them in order; a batch
// of a session that is no longer current is dropped.
//
// Walks: an update group without MRAI or ADD-PATH keeps no prefixes, only
// what it sent per Loc-RIB slot (rib/export/walk.go). To send its table
// to a session that joins it or asks for a ROUTE-REFRESH, or to copy it,
// the loop walks the Loc-RIBs and gives the group the (prefix, slot)
// pairs, behind the changes it drained: a dump one chunk per round, after
// the round's flush, so that a table sent to a slow peer holds up the
// loop no longer than a batch does; a copy (Snapshot) whole at once.

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/policy"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// maxRound bounds the ops taken before the tables are drained, and
// maxPending the prefixes waiting, so that changes flow out during a
// full-table load instead of after it.
const (
	maxRound   = 256
	maxPending = 1 << 12
	walkChunk  = 1 << 14
)

type ribLoop struct {
	d       *Daemon
	attrs   *rib.Table
	batches batchPool // routeBatches, recycled between the readers and the loop
	opts    rib.Options
	v4      *rib.LocRIB[rib.Prefix4]
	v6      *rib.LocRIB[rib.Prefix6]
	ops     chan any

	local    rib.SourceID
	localSet map[netip.Prefix]*rib.Attrs // what we originate, with its interned set
	srcs     map[*neighbor]*ribSource
	groups   map[export.GroupKey]*groupState
	trackAll bool
	feeds    []*RouteFeed // route watchers (feed.go)
	regroups []opRegroup  // moves waiting for the end of the round
	walks    []*walking   // dumps in progress, a chunk per round
	clock4   pathClock    // arrival times of the paths (age.go)
	clock6   pathClock
	// deferring holds sessions out of the update groups after a graceful
	// restart until the RIB has converged (RFC 4724 §4.1: selection
	// deferral), so that peers get the whole table, not a partial one.
	deferring bool
	// recent counts the routes of the batches since the tidy timer last
	// fired (run).
	recent int

	// changePool recycles the batches of changes flush hands out
	// (changeBatch).
	changePool recycler[changeBatch]

	ctx context.Context
}

// ribSource is what the loop keeps for one neighbour.
type ribSource struct {
	n         *neighbor
	id        rib.SourceID
	session   *peer.Session // current; nil when down
	rejected  rejectedSet
	pre       map[rejKey]*rib.Attrs // before the import policy, with soft reconfiguration inbound
	staleFams map[nlri.Family]bool  // the families still waiting for End-of-RIB
	eor       map[nlri.Family]bool  // End-of-RIB received on this session (fib.go's convergence)
	// Long-lived graceful restart (RFC 9494, llgr.go): the families kept
	// after the restart time, for llst; llgrPhase once they are.
	llgr      map[nlri.Family]bool
	llst      time.Duration
	llgrPhase bool
	gen       uint64 // invalidates a stale timer that was replaced
	timer     *time.Timer
	member    *export.Member
	group     *groupState
	deferred  *export.Config // the group to join when the selection deferral ends
	withdrawn uint64         // withdrawn NLRI received
	// limitWarned records the prefix limits whose warning threshold is
	// crossed (maxprefix.go), so that the warning is logged once.
	limitWarned map[string]bool
}

type groupState struct {
	g       *export.Group
	members int
	cancel  context.CancelFunc
}

// rejKey and rejected keep the paths the import checks refused, so that
// they count as received and show as filtered in --received listings.
type rejKey struct {
	fam nlri.Family
	pfx netip.Prefix
	id  uint32
}

type rejected struct {
	attrs  *rib.Attrs // not a Table reference: the set stays readable after the Table drops it
	reason string
}

// rejectedSet holds a neighbour's refused paths and counts them per
// family as they come and go, so that publishing the counts after each
// batch does not walk them.
type rejectedSet struct {
	m   map[rejKey]rejected
	per map[nlri.Family]int
}

func (s *rejectedSet) put(k rejKey, r rejected) {
	if s.m == nil {
		s.m, s.per = map[rejKey]rejected{}, map[nlri.Family]int{}
	}
	if _, ok := s.m[k]; !ok {
		s.per[k.fam]++
	}
	s.m[k] = r
}

func (s *rejectedSet) del(k rejKey) {
	if _, ok := s.m[k]; ok {
		delete(s.m, k)
		s.per[k.fam]--
	}
}

func (s *rejectedSet) dropFamily(fam nlri.Family) {
	for k := range s.m {
		if k.fam == fam {
			delete(s.m, k)
		}
	}
	delete(s.per, fam)
}

func (s *rejectedSet) clear() {
	clear(s.m)
	clear(s.per)
}

// familyCounts are a neighbour's path counts per family.
type familyCounts struct {
	received, accepted map[nlri.Family]int
	withdrawn          uint64
}

// Ops.
type (
	opRoutes struct {
		n *neighbor
		s *peer.Session
		b *routeBatch
	}
	opUp struct {
		n   *neighbor
		s   *peer.Session
		src *rib.Source
		cfg export.Config
		// sender, when set, stands in for s in the update group
		// (benchmarks and tests without a TCP session).
		sender export.Sender
	}
	opDown struct {
		n        *neighbor
		s        *peer.Session
		graceful bool
		restart  time.Duration
		// grFams are the families the peer's graceful restart capability
		// lists: only their routes are kept.
		grFams map[nlri.Family]bool
		// llgr are the families the peer asked us to keep long-lived
		// (RFC 9494), for llst after the restart time.
		llgr map[nlri.Family]bool
		llst time.Duration
	}
	opStale struct {
		n   *neighbor
		gen uint64
		why string
	}
	opRefresh struct {
		n   *neighbor
		s   *peer.Session
		fam nlri.Family
	}
	opRemove   struct{ n *neighbor }
	opOrigins  struct{ set *originSet }
	opFunc     struct{ fn func() }
	opReimport struct {
		n   *neighbor
		s   *peer.Session
		pol *policy.Policy
	}
	opRegroup struct {
		n   *neighbor
		s   *peer.Session
		cfg export.Config
	}
)

func newRibLoop(d *Daemon, opts rib.Options) *ribLoop {
	l := &ribLoop{d: d, attrs: rib.NewTable(), opts: opts, ops: make(chan any, 16),
		localSet: map[netip.Prefix]*rib.Attrs{}, srcs: map[*neighbor]*ribSource{}, groups: map[export.GroupKey]*groupState{}}
	l.v4 = rib.NewLocRIB[rib.Prefix4](l.attrs, opts)
	l.v6 = rib.NewLocRIB[rib.Prefix6](l.attrs, opts)
	l.local = l.addSource(&rib.Source{Local: true})
	return l
}

// addSource registers s in both tables, which keeps their numbering equal.
func (l *ribLoop) addSource(s *rib.Source) rib.SourceID {
	id := l.v4.AddSource(s)
	if l.v6.AddSource(s) != id {
		panic("rib: source numbering of the IPv4 and IPv6 tables differs")
	}
	return id
}

// post hands an op to the loop; false once the daemon is stopping.
func (l *ribLoop) post(op any) bool {
	select {
	case l.ops <- op:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// query runs fn in the loop and waits for it.
func (l *ribLoop) query(fn func()) bool {
	done := make(chan struct{})
	if !l.post(opFunc{func() { fn(); close(done) }}) {
		return false
	}
	select {
	case <-done:
		return true
	case <-l.ctx.Done():
		return false
	}
}

func (l *ribLoop) run(ctx context.Context) {
	defer func() {
		for _, gs := range l.groups {
			gs.cancel()
		}
		for _, rs := range l.srcs {
			if rs.timer != nil {
				rs.timer.Stop()
			}
		}
	}()
	// tidy fires tidyAfter after the loop got work, and again while a
	// load goes on (more than tidyQuiet routes in the period, l.recent);
	// once a period went by with fewer, the tables are tidied and the
	// timer stays off until the next work, so an idle daemon is not
	// woken. A router's steady trickle of UPDATEs does not hold it off;
	// nor do queries (the API), which only start it.
	tidy := time.NewTimer(tidyAfter)
	armed := true
	for {
		if len(l.walks) == 0 {
			select {
			case <-ctx.Done():
				return
			case op := <-l.ops:
				l.handle(op)
			case <-tidy.C:
				if armed = l.recent > tidyQuiet; armed {
					tidy.Reset(tidyAfter)
				} else {
					l.tidy()
				}
				l.recent = 0
				continue
			}
		} else if ctx.Err() != nil {
			return
		}
		if !armed {
			armed = true
			tidy.Reset(tidyAfter)
		}
	round:
		for i := 0; i < maxRound && l.v4.Pending()+l.v6.Pending() < maxPending; i++ {
			select {
			case op := <-l.ops:
				l.handle(op)
			default:
				break round
			}
		}
		l.regroupAll()
		l.flush()
		l.stepWalks()
	}
}

// The loop tidies its tables (rib.LocRIB.Tidy) once it has had fewer than
// tidyQuiet routes to apply in tidyAfter: a period long enough that a
// table load's pauses do not count, short enough that its leftovers go
// soon after; and a count far below a load's (hundreds of thousands of
// routes a second) and far above a router's steady churn.
const (
	tidyAfter = time.Second
	tidyQuiet = 10000
)

// tidy gives back the memory the tables no longer need, at an idle moment.
func (l *ribLoop) tidy() {
	t4 := l.v4.Tidy()
	t6 := l.v6.Tidy()
	if t4 || t6 {
		l.d.log.Debug("RIB tables compacted after a quiet second", "ipv4", t4, "ipv6", t6)
	}
}

func (l *ribLoop) handle(op any) {
	switch op := op.(type) {
	case opRoutes:
		l.routes(op)
	case opUp:
		l.up(op)
	case opDown:
		l.down(op)
	case opStale:
		if rs := l.srcs[op.n]; rs != nil && rs.gen == op.gen && len(rs.staleFams) > 0 {
			if !rs.llgrPhase && rs.llst > 0 && len(rs.llgr) > 0 {
				l.enterLLGR(op.n, rs)
			} else {
				l.sweep(op.n, rs, op.why)
			}
		}
	case opRefresh:
		if rs := l.srcs[op.n]; rs != nil && rs.session == op.s && rs.group != nil {
			if w, ok := rs.group.g.Refresh(l.ctx, rs.member, op.fam); ok {
				l.walk(rs.group.g, w, rs.member)
			}
		}
	case opRemove:
		l.remove(op.n)
	case opRegroup:
		l.regroup(op)
	case opReimport:
		l.reimport(op)
	case opOrigins:
		l.origins(op.set)
	case opFunc:
		l.flush() // a query sees every change made before it
		op.fn()
	}
}

// source returns the neighbour's state, registering it on first use.
func (l *ribLoop) source(n *neighbor) *ribSource {
	rs := l.srcs[n]
	if rs == nil {
		rs = &ribSource{n: n, limitWarned: map[string]bool{}, id: l.addSource(&rib.Source{Addr: n.key.Addr}),
			staleFams: map[nlri.Family]bool{}}
		l.srcs[n] = rs
	}
	return rs
}

// routes applies a neighbour's batch.
func (l *ribLoop) routes(op opRoutes) {
	b := op.b
	l.recent += len(b.v4) + len(b.v6)
	defer func() {
		b.release(l.attrs)
		l.batches.put(b)
	}()
	rs := l.source(op.n)
	if rs.session != op.s {
		return // the session ended before its batch got here
	}
	for _, fam := range b.disabled {
		l.flushFamily(rs, fam)
		op.n.log.Warn("address family disabled on this session after a malformed MP attribute (RFC 7606 §2); its routes are dropped until the session restarts", "family", fam)
	}
	rs.withdrawn += b.withdrawn
	prefetched(l.v4, len(b.v4), func(i int) rib.Prefix4 { return b.v4[i].key }, func(i int) { l.apply4(rs, b, &b.v4[i]) })
	prefetched(l.v6, len(b.v6), func(i int) rib.Prefix6 { return b.v6[i].key }, func(i int) { l.apply6(rs, b, &b.v6[i]) })
	for _, f := range b.eor {
		rs.eor[f] = true
		if rs.staleFams[f] {
			l.sweepFamily(op.n, rs, f)
		}
	}
	l.checkLimits(op.n, rs)
	l.publish(op.n, rs)
}

// prefetched calls apply for each of n routes in order, asking t for the
// index slot and entry of the keys ahead (rib.LocRIB.Prefetch) when t is
// too big for the cache (rib.LocRIB.Prefetching).
func prefetched[K rib.Key](t *rib.LocRIB[K], n int, key func(int) K, apply func(int)) {
	const d = rib.PrefetchDistance
	if !t.Prefetching() {
		for i := range n {
			apply(i)
		}
		return
	}
	for i := range n {
		if j := i + d; j < n {
			t.Prefetch(key(j))
		}
		if j := i + d/2; j < n {
			t.PrefetchEntry(key(j))
		}
		apply(i)
	}
}

func (l *ribLoop) apply4(rs *ribSource, b *routeBatch, r *route4) {
	applyRoute(l, l.v4, rs, nlri.IPv4Unicast, r.key, r.id, b.attrs(r.set), r.reason)
	if r.pre != 0 || len(rs.pre) > 0 {
		l.keepPre(rs, nlri.IPv4Unicast, r.key.Prefix(), r.id, r.set == 0, b.attrs(r.pre))
	}
}

func (l *ribLoop) apply6(rs *ribSource, b *routeBatch, r *route6) {
	applyRoute(l, l.v6, rs, nlri.IPv6Unicast, r.key, r.id, b.attrs(r.set), r.reason)
	if r.pre != 0 || len(rs.pre) > 0 {
		l.keepPre(rs, nlri.IPv6Unicast, r.key.Prefix(), r.id, r.set == 0, b.attrs(r.pre))
	}
}

// keepPre records a path before the import policy (soft reconfiguration
// inbound): pre is nil when it is not kept.
func (l *ribLoop) keepPre(rs *ribSource, fam nlri.Family, pfx netip.Prefix, id uint32, withdrawn bool, pre *rib.Attrs) {
	k := rejKey{fam: fam, pfx: pfx, id: id}
	if old := rs.pre[k]; old != nil {
		l.attrs.Release(old)
		delete(rs.pre, k)
	}
	if pre != nil && !withdrawn {
		if rs.pre == nil {
			rs.pre = map[rejKey]*rib.Attrs{}
		}
		l.attrs.Retain(pre)
		rs.pre[k] = pre
	}
}

// dropPre forgets a neighbour's pre-policy paths.
func (l *ribLoop) dropPre(rs *ribSource) {
	for _, a := range rs.pre {
		l.attrs.Release(a)
	}
	rs.pre = nil
}

// reimport runs a new import policy over the neighbour's kept pre-policy
// paths (soft reconfiguration inbound): no ROUTE-REFRESH is needed.
func (l *ribLoop) reimport(op opReimport) {
	rs := l.srcs[op.n]
	if rs == nil || rs.session != op.s {
		return
	}
	im := op.n.imp
	n := 0
	for k, pre := range rs.pre {
		out, reason, held := pre, accepted, false
		if op.pol != nil {
			list := pre.List()
			out, reason, held = im.importEval(op.pol, k.fam, k.pfx, pre, list, nextHopOf(list))
		}
		switch k.fam {
		case nlri.IPv4Unicast:
			key, _ := rib.Prefix4From(k.pfx)
			applyRoute(l, l.v4, rs, k.fam, key, k.id, out, reason)
		case nlri.IPv6Unicast:
			key, _ := rib.Prefix6From(k.pfx)
			applyRoute(l, l.v6, rs, k.fam, key, k.id, out, reason)
		}
		if held {
			l.attrs.Release(out)
		}
		n++
	}
	l.publish(op.n, rs)
	op.n.log.Info("import policy changed: applied to the kept pre-policy routes (soft reconfiguration inbound)", "routes", n)
}

// applyRoute applies one path of a batch: a withdrawal (attrs nil), a
// path the import checks refused (kept aside, and withdrawn from the
// table), or a candidate.
func applyRoute[K interface {
	rib.Key
	Prefix() netip.Prefix
}](l *ribLoop, t *rib.LocRIB[K], rs *ribSource, fam nlri.Family, key K, id uint32, a *rib.Attrs, reason rejectReason) {
	if len(rs.rejected.m) > 0 {
		rs.rejected.del(rejKey{fam: fam, pfx: key.Prefix(), id: id})
	}
	switch {
	case a == nil:
		t.Withdraw(rs.id, id, key)
	case reason != accepted:
		t.Withdraw(rs.id, id, key)
		rs.rejected.put(rejKey{fam: fam, pfx: key.Prefix(), id: id}, rejected{attrs: a, reason: reason.String()})
	default:
		if err := t.Update(rs.id, id, key, a); err != nil {
			l.d.log.Warn("path not stored", "prefix", key.Prefix(), "err", err)
		}
	}
}

// publish recounts a neighbour's paths and makes them readable.
func (l *ribLoop) publish(n *neighbor, rs *ribSource) {
	rej := rs.rejected.per
	acc4, acc6 := l.v4.SourcePaths(rs.id), l.v6.SourcePaths(rs.id)
	c := &familyCounts{received: map[nlri.Family]int{}, accepted: map[nlri.Family]int{}, withdrawn: rs.withdrawn}
	set := func(m map[nlri.Family]int, f nlri.Family, v int) {
		if v > 0 {
			m[f] = v
		}
	}
	set(c.accepted, nlri.IPv4Unicast, acc4)
	set(c.accepted, nlri.IPv6Unicast, acc6)
	set(c.received, nlri.IPv4Unicast, acc4+rej[nlri.IPv4Unicast])
	set(c.received, nlri.IPv6Unicast, acc6+rej[nlri.IPv6Unicast])
	n.ribCounts.Store(c)
	l.d.notify()
}

// flushFamily drops every path of one family from a neighbour.
func (l *ribLoop) flushFamily(rs *ribSource, fam nlri.Family) {
	switch fam {
	case nlri.IPv4Unicast:
		l.v4.WithdrawSource(rs.id)
	case nlri.IPv6Unicast:
		l.v6.WithdrawSource(rs.id)
	}
	rs.rejected.dropFamily(fam)
}

// up starts a session: the neighbour's Source is replaced (its identity
// may have changed), stale paths wait for End-of-RIB when the peer came
// back with graceful restart (RFC 4724 §4.2), and the session joins its
// update group, which sends it the table and End-of-RIB.
func (l *ribLoop) up(op opUp) {
	rs := l.source(op.n)
	rs.session = op.s
	rs.eor = map[nlri.Family]bool{}
	rs.llgrPhase = false
	l.v4.SetSource(rs.id, op.src)
	l.v6.SetSource(rs.id, op.src)
	if len(rs.staleFams) > 0 {
		if op.s.Negotiated.GracefulRestart == nil {
			l.sweep(op.n, rs, "the peer came back without graceful restart")
		} else {
			l.startStaleTimer(op.n, rs, staleHoldTime, "no End-of-RIB within the stale path time")
		}
	}
	var snd export.Sender = op.s
	if op.sender != nil {
		snd = op.sender
	}
	rs.member = &export.Member{S: snd, Families: slices.Clone(op.s.Negotiated.Families),
		EnhancedRefresh: op.s.Negotiated.EnhancedRouteRefresh}
	if l.deferring {
		cfg := op.cfg
		rs.deferred = &cfg
		op.n.log.Info("session up during the selection deferral after our graceful restart: our routes follow when every peer has sent End-of-RIB")
	} else {
		l.join(rs, op.cfg)
	}
	l.publish(op.n, rs)
}

// join puts a session in the group of its Config, creating the group (and
// filling it from the Loc-RIB) when it is the first.
func (l *ribLoop) join(rs *ribSource, cfg export.Config) { l.joinAll([]*ribSource{rs}, cfg) }

// joinAll puts sessions that share a Config in its group. A new group is
// filled from the Loc-RIB once for all of them; an existing one sends each
// its Adj-RIB-Out.
func (l *ribLoop) joinAll(rss []*ribSource, cfg export.Config) {
	key := cfg.Key()
	gs := l.groups[key]
	if gs != nil {
		for _, rs := range rss {
			gs.members++
			rs.group = gs
			rs.n.group.Store(gs.g)
			if w, ok := gs.g.Join(l.ctx, rs.member, false); ok {
				l.walk(gs.g, w, rs.member)
			}
		}
		return
	}
	l.flush() // the groups that exist get the pending changes first
	ctx, cancel := context.WithCancel(l.ctx)
	gs = &groupState{g: export.NewGroup(cfg, l.opts, nil), members: len(rss), cancel: cancel}
	l.groups[key] = gs
	l.d.wg.Add(1)
	go func() {
		defer l.d.wg.Done()
		gs.g.Run(ctx)
	}()
	for _, rs := range rss {
		rs.group = gs
		rs.n.group.Store(gs.g)
		gs.g.Join(l.ctx, rs.member, true)
	}
	l.setTrackAll()
	l.fill(gs.g)
	gs.g.Synced(l.ctx)
}

// fill gives a new group the whole Loc-RIB, in chunks.
func (l *ribLoop) fill(g *export.Group) {
	c := g.Config()
	all := c.NeedsAllPaths()
	var pos uint32
	for more := true; more; {
		b := &changeBuilder{all: all}
		pos, more = l.v4.Walk(pos, walkChunk, func(k rib.Prefix4, slot uint32, ps []*rib.Path, nsel int) {
			b.add(export.Change{Family: nlri.IPv4Unicast, P4: k, Slot: slot, NSel: nsel}, ps)
		})
		if batch := b.done(); len(batch) > 0 && !g.Changes(l.ctx, batch) {
			return
		}
	}
	pos = 0
	for more := true; more; {
		b := &changeBuilder{all: all}
		pos, more = l.v6.Walk(pos, walkChunk, func(k rib.Prefix6, slot uint32, ps []*rib.Path, nsel int) {
			b.add(export.Change{Family: nlri.IPv6Unicast, P6: k, Slot: slot, NSel: nsel}, ps)
		})
		if batch := b.done(); len(batch) > 0 && !g.Changes(l.ctx, batch) {
			return
		}
	}
}

// walking is a walk in progress: the next family of w.Families and
// where in it.
type walking struct {
	g   *export.Group
	w   *export.Walk
	m   *export.Member // the member dumped to, to drop the walk when it leaves
	fam int
	pos uint32
}

// walk drives w, a walk the group g started: at once when it is atomic
// (a copy, or a dump with Replacing: nothing may change between its
// chunks), else a chunk per round (stepWalks).
func (l *ribLoop) walk(g *export.Group, w *export.Walk, m *export.Member) {
	if len(w.Families()) == 0 {
		return // the group lists those families itself
	}
	wk := &walking{g: g, w: w, m: m}
	if !w.Atomic() {
		l.walks = append(l.walks, wk)
		return
	}
	l.flush()
	for !l.step(wk) {
	}
}

// stepWalks gives each walk in progress its next chunk; the round's
// flush has given the groups every change drained before.
func (l *ribLoop) stepWalks() {
	l.walks = slices.DeleteFunc(l.walks, l.step)
}

// step gives wk's group its next chunk of at most walkChunk prefixes; it
// reports whether the walk is over (or the group gone).
func (l *ribLoop) step(wk *walking) bool {
	fams := wk.w.Families()
	k := &export.Keys{Family: fams[wk.fam]}
	var more bool
	switch k.Family {
	case nlri.IPv4Unicast:
		wk.pos, more = l.v4.WalkKeys(wk.pos, walkChunk, func(p rib.Prefix4, slot uint32) {
			k.P4 = append(k.P4, p)
			k.Slots = append(k.Slots, slot)
		})
	case nlri.IPv6Unicast:
		wk.pos, more = l.v6.WalkKeys(wk.pos, walkChunk, func(p rib.Prefix6, slot uint32) {
			k.P6 = append(k.P6, p)
			k.Slots = append(k.Slots, slot)
		})
	}
	if !more {
		wk.fam, wk.pos = wk.fam+1, 0
	}
	last := wk.fam == len(fams)
	if len(k.Slots) == 0 && !last {
		return false
	}
	return !wk.g.Walked(l.ctx, wk.w, k, last) || last
}

// snapshot starts a copy of g's Adj-RIB-Out and walks it; its Result is
// the copy. nil when the group did not take it (the daemon is stopping).
func (l *ribLoop) snapshot(g *export.Group, fam nlri.Family, pfx netip.Prefix) *export.Walk {
	w, ok := g.Snapshot(l.ctx, fam, pfx)
	if !ok {
		return nil
	}
	l.walk(g, w, nil)
	return w
}

// changeBuilder collects a batch of changes with every path in one
// backing slice (no allocation per prefix).
type changeBuilder struct {
	all     bool
	changes []export.Change
	sels    []export.Sel
	offs    []int
}

func (b *changeBuilder) add(c export.Change, ps []*rib.Path) {
	n := c.NSel
	if b.all {
		n = len(ps)
	}
	b.offs = append(b.offs, len(b.sels))
	for _, p := range ps[:n] {
		b.sels = append(b.sels, export.Sel{Attrs: p.Attrs, Src: p.Source, ID: outPathID(p.SourceID, p.PathID)})
	}
	b.changes = append(b.changes, c)
}

// done points each change at its paths and returns the batch.
func (b *changeBuilder) done() []export.Change {
	for i := range b.changes {
		end := len(b.sels)
		if i+1 < len(b.offs) {
			end = b.offs[i+1]
		}
		b.changes[i].Paths = b.sels[b.offs[i]:end:end]
	}
	return b.changes
}

// outPathID is the path identifier a path is sent with over ADD-PATH
// (RFC 7911): unique per (source, received identifier) as long as
// sources number fewer than 65535 and received identifiers stay below
// 65536, which covers every implementation seen so far.
func outPathID(src rib.SourceID, id uint32) uint32 {
	return (uint32(src)+1)<<16 | id&0xffff
}

func (l *ribLoop) setTrackAll() {
	all := len(l.feeds) > 0
	for _, gs := range l.groups {
		c := gs.g.Config()
		all = all || c.NeedsAllPaths()
	}
	if all != l.trackAll {
		l.trackAll = all
		l.v4.TrackAll(all)
		l.v6.TrackAll(all)
	}
}

// regroup queues a session's move to the group of a new Config (its
// export policy changed); the moves of one round are made together by
// regroupAll, so that sessions moving to the same new group share its fill.
func (l *ribLoop) regroup(op opRegroup) { l.regroups = append(l.regroups, op) }

// regroupAll moves sessions to their new groups without resetting them:
// each new group sends its table, then withdraws what the session's old
// group had sent and it does not send.
func (l *ribLoop) regroupAll() {
	ops := l.regroups
	l.regroups = nil
	if len(ops) == 0 {
		return
	}
	l.flush() // the old groups first send what is pending
	snaps := map[*export.Group][]export.Advertised{}
	type move struct {
		rs  *ribSource
		cfg export.Config
	}
	var moves []move
	last := map[*neighbor]int{} // a neighbour moved twice in a round moves once, as last asked
	for i, op := range ops {
		last[op.n] = i
	}
	for i, op := range ops {
		rs := l.srcs[op.n]
		if last[op.n] == i && rs != nil && rs.session == op.s && rs.deferred != nil {
			cfg := op.cfg
			rs.deferred = &cfg
			continue
		}
		if last[op.n] != i || rs == nil || rs.session != op.s || rs.group == nil || rs.group.g.Config().Key() == op.cfg.Key() {
			continue
		}
		old := rs.group.g
		had, ok := snaps[old]
		if !ok {
			w := l.snapshot(old, nlri.Family{}, netip.Prefix{})
			if w == nil {
				continue
			}
			if had, ok = w.Result(l.ctx); !ok {
				continue
			}
			if had == nil {
				had = []export.Advertised{}
			}
			snaps[old] = had
		}
		l.leave(rs)
		rs.member = &export.Member{S: rs.member.S, Families: rs.member.Families, EnhancedRefresh: rs.member.EnhancedRefresh,
			Replacing: had}
		moves = append(moves, move{rs, op.cfg})
		op.n.log.Info("export policy changed: the session's routes are recomputed without a reset", "routes-before", len(had))
	}
	byKey := map[export.GroupKey][]*ribSource{}
	cfgs := map[export.GroupKey]export.Config{}
	var order []export.GroupKey
	for _, m := range moves {
		k := m.cfg.Key()
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
			cfgs[k] = m.cfg
		}
		byKey[k] = append(byKey[k], m.rs)
	}
	for _, k := range order {
		l.joinAll(byKey[k], cfgs[k])
	}
}

// leave takes a session out of its group; the last member closes it.
func (l *ribLoop) leave(rs *ribSource) {
	gs := rs.group
	if gs == nil {
		return
	}
	rs.group = nil
	rs.n.group.Store(nil)
	l.walks = slices.DeleteFunc(l.walks, func(w *walking) bool { return w.m == rs.member })
	gs.members--
	if gs.members > 0 {
		gs.g.Leave(l.ctx, rs.member)
		return
	}
	gs.cancel()
	for k, x := range l.groups {
		if x == gs {
			delete(l.groups, k)
		}
	}
	l.setTrackAll()
}

// down ends a session: its paths are withdrawn, or kept as stale while
// the peer restarts gracefully (RFC 4724 §4.2), for at most its restart
// time.
func (l *ribLoop) down(op opDown) {
	rs := l.source(op.n)
	if rs.session != op.s && !(rs.session == nil && rs.group != nil) {
		return
	}
	rs.session = nil
	rs.deferred = nil
	l.leave(rs)
	held := l.v4.SourcePaths(rs.id) + l.v6.SourcePaths(rs.id)
	rs.llgr, rs.llst = op.llgr, op.llst
	kept := func(f nlri.Family) bool { return op.grFams[f] || op.llgr[f] }
	if op.graceful && !kept(nlri.IPv4Unicast) {
		l.v4.WithdrawSource(rs.id)
	}
	if op.graceful && !kept(nlri.IPv6Unicast) {
		l.v6.WithdrawSource(rs.id)
	}
	held = l.v4.SourcePaths(rs.id) + l.v6.SourcePaths(rs.id)
	if !op.graceful || (op.restart == 0 && op.llst == 0) || held == 0 {
		l.withdrawAll(rs)
	} else if op.restart == 0 {
		// No restart time, but the peer asked for long-lived retention:
		// straight to the long-lived stale phase (RFC 9494 §4.2).
		if l.v4.MarkStale(rs.id) > 0 {
			rs.staleFams[nlri.IPv4Unicast] = true
		}
		if l.v6.MarkStale(rs.id) > 0 {
			rs.staleFams[nlri.IPv6Unicast] = true
		}
		l.enterLLGR(op.n, rs)
	} else {
		if l.v4.MarkStale(rs.id) > 0 {
			rs.staleFams[nlri.IPv4Unicast] = true
		}
		if l.v6.MarkStale(rs.id) > 0 {
			rs.staleFams[nlri.IPv6Unicast] = true
		}
		op.n.log.Info("session down; keeping its routes as stale while the peer restarts (RFC 4724)",
			"routes", held, "restart-time", op.restart)
		l.startStaleTimer(op.n, rs, op.restart, "the peer's restart time expired")
	}
	rs.rejected.clear()
	l.dropPre(rs)
	l.publish(op.n, rs)
}

func (l *ribLoop) withdrawAll(rs *ribSource) {
	l.v4.WithdrawSource(rs.id)
	l.v6.WithdrawSource(rs.id)
	clear(rs.staleFams)
	l.stopStaleTimer(rs)
}

func (l *ribLoop) startStaleTimer(n *neighbor, rs *ribSource, d time.Duration, why string) {
	l.stopStaleTimer(rs)
	gen := rs.gen
	rs.timer = time.AfterFunc(d, func() { l.post(opStale{n: n, gen: gen, why: why}) })
}

func (l *ribLoop) stopStaleTimer(rs *ribSource) {
	rs.gen++
	if rs.timer != nil {
		rs.timer.Stop()
		rs.timer = nil
	}
}

// sweep withdraws the paths still stale.
func (l *ribLoop) sweep(n *neighbor, rs *ribSource, why string) {
	c := l.v4.SweepStale(rs.id) + l.v6.SweepStale(rs.id)
	clear(rs.staleFams)
	l.stopStaleTimer(rs)
	if c > 0 {
		n.log.Info("stale routes withdrawn", "routes", c, "reason", why)
	}
	l.publish(n, rs)
}

// sweepFamily ends the graceful restart of one family (End-of-RIB, RFC
// 4724 §4.2).
func (l *ribLoop) sweepFamily(n *neighbor, rs *ribSource, fam nlri.Family) {
	c := 0
	switch fam {
	case nlri.IPv4Unicast:
		c = l.v4.SweepStale(rs.id)
	case nlri.IPv6Unicast:
		c = l.v6.SweepStale(rs.id)
	}
	if c > 0 {
		n.log.Info("End-of-RIB: stale routes withdrawn", "family", fam, "routes", c)
	}
	delete(rs.staleFams, fam)
	if len(rs.staleFams) == 0 {
		l.stopStaleTimer(rs)
	}
}

// remove forgets a neighbour that was deleted.
func (l *ribLoop) remove(n *neighbor) {
	rs := l.srcs[n]
	if rs == nil {
		return
	}
	l.leave(rs)
	l.withdrawAll(rs)
	rs.session = nil
	rs.rejected.clear()
	l.dropPre(rs)
	delete(l.srcs, n)
	// The groups hear of the withdrawals before the ID can name another
	// neighbour (a table holds at most rib.MaxSources); both tables free
	// it, so their numbering stays equal.
	l.flush()
	l.v4.RemoveSource(rs.id)
	l.v6.RemoveSource(rs.id)
	n.ribCounts.Store(&familyCounts{})
}

// origins replaces the routes we originate.
func (l *ribLoop) origins(set *originSet) {
	for p, a := range l.localSet {
		if set.byPrefix[p] != nil {
			continue
		}
		l.withdrawLocal(p)
		l.attrs.Release(a)
		delete(l.localSet, p)
	}
	var scratch []byte
	for _, g := range set.groups {
		for _, fam := range unicastFamilies {
			list := localAttrs(g.o, fam)
			var a *rib.Attrs
			for _, p := range g.prefixes {
				if familyOf(p) != fam {
					continue
				}
				if a == nil {
					a, scratch = l.attrs.Intern(list, scratch)
					defer l.attrs.Release(a) // the loop's own reference, held while it installs
				}
				if old := l.localSet[p]; old == a {
					continue
				} else if old != nil {
					l.attrs.Release(old)
				}
				l.attrs.Retain(a)
				l.localSet[p] = a
				l.updateLocal(p, a)
			}
		}
	}
}

func (l *ribLoop) updateLocal(p netip.Prefix, a *rib.Attrs) {
	if k, ok := rib.Prefix4From(p); ok {
		_ = l.v4.Update(l.local, 0, k, a)
	} else if k, ok := rib.Prefix6From(p); ok {
		_ = l.v6.Update(l.local, 0, k, a)
	}
}

func (l *ribLoop) withdrawLocal(p netip.Prefix) {
	if k, ok := rib.Prefix4From(p); ok {
		l.v4.Withdraw(l.local, 0, k)
	} else if k, ok := rib.Prefix6From(p); ok {
		l.v6.Withdraw(l.local, 0, k)
	}
}

// flush drains both tables into one batch of changes for every group.
func (l *ribLoop) flush() {
	now := time.Now()
	l.clock4.mark(l.v4.Seq(), now)
	l.clock6.mark(l.v6.Seq(), now)
	if l.v4.Pending()+l.v6.Pending() == 0 {
		return
	}
	// In chunks of maxBatch: a session that goes down takes a whole
	// table with it, and one batch for all of it would hold a change per
	// prefix at once; the groups' bounded queues pace the chunks.
	for l.v4.Pending()+l.v6.Pending() > 0 {
		l.flushChunk(min(l.v4.Pending()+l.v6.Pending(), maxBatch))
	}
	l.d.notify()
}

// maxBatch bounds the changes of one batch (see flush).
const maxBatch = 1 << 14

// flushChunk drains up to n changes, the IPv4 table's first, into one
// batch for the groups, the FIB writer and the route watchers.
func (l *ribLoop) flushChunk(n int) {
	b := l.newChangeBatch(n)
	left := l.v4.DrainSome(n, func(k rib.Prefix4, slot uint32, ps []*rib.Path, nsel int) {
		b.add(export.Change{Family: nlri.IPv4Unicast, P4: k, Slot: slot, NSel: nsel}, ps)
	})
	if left == 0 {
		l.v6.DrainSome(n-len(b.changes), func(k rib.Prefix6, slot uint32, ps []*rib.Path, nsel int) {
			b.add(export.Change{Family: nlri.IPv6Unicast, P6: k, Slot: slot, NSel: nsel}, ps)
		})
	}
	batch := b.done()
	k := l.d.fib.Load()
	if k != nil && k.dryRun {
		// With --no-fib no desired state is kept: it would cost the
		// memory of a second table for routes that are never written.
		k = nil
	}
	refs := 1 + len(l.groups) // ours, released below
	if k != nil {
		refs++
	}
	b.refs.Store(int32(refs))
	if k != nil {
		k.changes(batch, b.release)
	}
	for _, gs := range l.groups {
		gs.g.ChangesShared(l.ctx, batch, b.release)
	}
	if len(l.feeds) > 0 {
		ps := make([]netip.Prefix, len(batch))
		for i := range batch {
			ps[i] = batch[i].Prefix()
		}
		for _, f := range l.feeds {
			f.add(ps)
		}
	}
	b.release()
}

// changeBatch is one flush's changes, shared by the update groups and the
// FIB writer, each of which releases it when done; the last release puts
// it back in the loop's pool. A full-table load then reuses a few batches
// instead of allocating one per round (about 100 bytes per prefix, which
// made most of the collector's work).
type changeBatch struct {
	changeBuilder
	refs atomic.Int32
	pool *recycler[changeBatch]
}

// maxPooledChanges bounds the batches kept for reuse. A batch holds at
// most maxBatch changes, but with every path of each prefix (TrackAll,
// for ADD-PATH peers) its paths can be many times that, and such a batch
// is not kept for life.
const maxPooledChanges = 1 << 16

// maxPooledChangeBatches bounds how many batches are kept: a full one is
// about 1.6 MiB, and the groups' queues hold a few at a time.
const maxPooledChangeBatches = 8

// newChangeBatch returns a batch with room for n changes (of one path
// each): a full-table load fills its batches in one allocation each.
func (l *ribLoop) newChangeBatch(n int) *changeBatch {
	b := l.changePool.get()
	if b == nil {
		b = &changeBatch{pool: &l.changePool}
	}
	b.all = l.trackAll
	b.changes = slices.Grow(b.changes, n)
	b.sels = slices.Grow(b.sels, n)
	b.offs = slices.Grow(b.offs, n)
	return b
}

// release drops one consumer's hold; the last recycles the batch.
func (b *changeBatch) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if cap(b.sels) > maxPooledChanges {
		return
	}
	clear(b.sels) // no attribute sets kept alive from the pool
	b.changes, b.sels, b.offs = b.changes[:0], b.sels[:0], b.offs[:0]
	b.pool.put(b, maxPooledChangeBatches)
}

// setOptions changes the decision process (BGPConfiguration's maxPaths,
// multipathRelax) and selects every prefix again.
func (l *ribLoop) setOptions(o rib.Options) {
	l.post(opFunc{func() {
		if o == l.opts {
			return
		}
		l.opts = o
		l.v4.SetOptions(o)
		l.v6.SetOptions(o)
		l.v4.Reselect()
		l.v6.Reselect()
	}})
}

// decisionOptions are the decision process knobs of a BGPConfiguration.
func decisionOptions(g *config.BGPConfigurationSpec) rib.Options {
	o := rib.NewOptions()
	o.MaxPaths = g.EffectiveMaxPaths()
	o.MultipathRelax = g.MultipathRelax
	o.AlwaysCompareMED = g.AlwaysCompareMED
	o.DeterministicMED = g.DeterministicMED
	return o
}

// ribCountsOf reads a neighbour's published counts.
func ribCountsOf(n *neighbor) *familyCounts {
	if c := n.ribCounts.Load(); c != nil {
		return c
	}
	return &familyCounts{}
}

// endDeferral ends the selection deferral: the sessions held out join
// their update groups, each group filled once.
func (l *ribLoop) endDeferral() {
	if !l.deferring {
		return
	}
	l.deferring = false
	byKey := map[export.GroupKey][]*ribSource{}
	cfgs := map[export.GroupKey]export.Config{}
	var order []export.GroupKey
	for _, rs := range l.srcs {
		if rs.deferred == nil || rs.session == nil {
			continue
		}
		k := rs.deferred.Key()
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
			cfgs[k] = *rs.deferred
		}
		byKey[k] = append(byKey[k], rs)
		rs.deferred = nil
	}
	for _, k := range order {
		l.joinAll(byKey[k], cfgs[k])
	}
}
