package daemon

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// tableSender is a session's sending side that keeps what its peer
// would hold (prefix to AS_PATH) and the kinds of message it was sent
// ("EoR", "BoRR", "EoRR"; UPDATEs as "UPDATE", runs of them as one).
type tableSender struct {
	mu     sync.Mutex
	opt    wire.Options
	routes map[netip.Prefix]string
	kinds  []string
	err    error
}

func (s *tableSender) Send(_ context.Context, msgs ...[]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		kind := "UPDATE"
		switch iana.MsgType(m[18]) {
		case iana.MsgRouteRefresh:
			rr, err := wire.DecodeRouteRefresh(m[wire.HeaderLen:])
			if err != nil {
				s.err = err
				continue
			}
			kind = rr.Subtype.String()
		case iana.MsgUpdate:
			u, err := wire.DecodeUpdate(m[wire.HeaderLen:], s.opt)
			if err != nil {
				s.err = err
				continue
			}
			if _, ok := u.EndOfRIB(); ok {
				kind = "EoR"
				break
			}
			for r := range u.Unreach() {
				delete(s.routes, r.Prefix.Prefix)
			}
			p, _ := u.Attrs.ASPath()
			for r := range u.Reach() {
				s.routes[r.Prefix.Prefix] = p.String()
			}
		}
		if kind != "UPDATE" || len(s.kinds) == 0 || s.kinds[len(s.kinds)-1] != "UPDATE" {
			s.kinds = append(s.kinds, kind)
		}
	}
	return nil
}

// take returns the peer's table and the kinds sent since the last take.
func (s *tableSender) take() (map[netip.Prefix]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds
	s.kinds = nil
	if s.err != nil {
		panic(s.err)
	}
	return maps.Clone(s.routes), k
}

// oddOut is an export policy that refuses the prefixes whose third octet
// is odd.
type oddOut struct{}

func (oddOut) Export(_ nlri.Family, p netip.Prefix, _ *rib.Source, l attr.List) (attr.List, export.NextHop, bool) {
	return l, export.NextHop{}, p.Addr().As4()[2]%2 == 0
}

func (oddOut) PrefixDependent() bool { return true }

// walkLab is a RIB loop with one eBGP peer feeding it and sessions to
// which it sends, without sockets.
type walkLab struct {
	t   *testing.T
	d   *Daemon
	l   *ribLoop
	in  *neighbor
	sIn *peer.Session
	im  *importer
	opt wire.Options
}

type walkPeer struct {
	n   *neighbor
	s   *peer.Session
	snd *tableSender
}

func newWalkLab(t *testing.T) *walkLab {
	d, l, _, stop := testLoop()
	t.Cleanup(stop)
	opt := wire.Options{AS4: true}
	in, sIn := upPeer(d, l, netip.MustParseAddr("192.0.2.2"), 65001, opt, export.Rules{}, &tableSender{opt: opt, routes: map[netip.Prefix]string{}})
	im := testImporter(l, sIn)
	return &walkLab{t: t, d: d, l: l, in: in, sIn: sIn, im: im, opt: opt}
}

// config is the Config of an eBGP session taking transit routes, with
// policy pol when it is not nil.
func (w *walkLab) config(pol export.Policy) export.Config {
	r := export.Rules{LocalAS: 65000, NextHop4: netip.MustParseAddr("192.0.2.1"), Transit: true}
	if pol != nil {
		r.Policy, r.PolicyKey = pol, fmt.Sprintf("%T", pol)
	}
	return export.Config{Rules: r, Options: w.opt}
}

// up starts a session to 192.0.2.i with cfg.
func (w *walkLab) up(i byte, cfg export.Config, enhanced bool) *walkPeer {
	addr := netip.AddrFrom4([4]byte{192, 0, 2, i})
	p := &walkPeer{snd: &tableSender{opt: w.opt, routes: map[netip.Prefix]string{}}}
	p.n, p.s = testPeer(w.d, addr, 65100+uint32(i), w.opt)
	p.s.Negotiated.EnhancedRouteRefresh = enhanced
	w.l.post(opUp{n: p.n, s: p.s, src: &rib.Source{Addr: addr, AS: p.s.Negotiated.PeerAS}, cfg: cfg, sender: p.snd})
	return p
}

// routes has the peer announce ps with AS_PATH path (withdraw them when
// path is nil), in UPDATEs of a few hundred prefixes, one op each.
func (w *walkLab) routes(ps []netip.Prefix, path []uint32) {
	w.post(w.in, w.sIn, w.im, w.updates(ps, path))
}

// post hands the loop us from neighbour n (session s, importer im) in
// batches of eight UPDATEs, as a reader would.
func (w *walkLab) post(n *neighbor, s *peer.Session, im *importer, us []*wire.Update) {
	for i := 0; i < len(us); i += 8 {
		w.l.post(opRoutes{n: n, s: s, b: im.batch(us[i:min(i+8, len(us))])})
	}
}

// updates packs and decodes the UPDATEs announcing ps with AS_PATH path
// (withdrawing them when path is nil).
func (w *walkLab) updates(ps []netip.Prefix, path []uint32) []*wire.Update {
	pk := wire.NewPacker(w.opt)
	pk.SetAttrs(attr.List{&attr.Origin{}, &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: path}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.2")}})
	for _, p := range ps {
		if path == nil {
			_ = pk.Withdraw(nlri.Prefix{Prefix: p})
		} else {
			_ = pk.Announce(nlri.Prefix{Prefix: p})
		}
	}
	var us []*wire.Update
	for buf := pk.Bytes(); len(buf) >= wire.HeaderLen; {
		n := int(buf[16])<<8 | int(buf[17])
		u, err := wire.DecodeUpdate(buf[wire.HeaderLen:n], w.opt)
		if err != nil {
			w.t.Fatal(err)
		}
		us = append(us, u)
		buf = buf[n:]
	}
	return us
}

// settle waits until the loop has no walk or move left and every group
// has sent everything it was given.
func (w *walkLab) settle() {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var walks int
		var groups []*export.Group
		w.l.query(func() {
			// Moves wait for the end of the round, which a query
			// posted with them may precede.
			walks = len(w.l.walks) + len(w.l.regroups)
			for _, gs := range w.l.groups {
				groups = append(groups, gs.g)
			}
		})
		if walks == 0 {
			for _, g := range groups {
				g.Query(context.Background(), func() {})
			}
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d walks still running", walks)
		}
		time.Sleep(time.Millisecond)
	}
}

// groupOf is p's update group.
func (w *walkLab) groupOf(p *walkPeer) (g *export.Group) {
	w.l.query(func() {
		if rs := w.l.srcs[p.n]; rs != nil && rs.group != nil {
			g = rs.group.g
		}
	})
	return g
}

func prefixRange(from, n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		j := from + i
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)}), 32)
	}
	return out
}

// TestWalks follows sessions through the operations that list an update
// group's Adj-RIB-Out, which without MRAI keeps no prefixes and has the
// RIB loop walk the Loc-RIB for it: a session joining a group that holds
// a table (changes arriving during its walk), ROUTE-REFRESH, the
// advertised listing, and moves between groups after export policy
// changes, to a new group and to existing ones. The table is larger than
// a walk's chunk.
func TestWalks(t *testing.T) {
	w := newWalkLab(t)
	const n = 2*walkChunk + 1000
	table := prefixRange(0, n)
	want := map[netip.Prefix]string{}
	for _, p := range table {
		want[p] = "65000 65001"
	}
	odd := func(m map[netip.Prefix]string) map[netip.Prefix]string {
		out := maps.Clone(m)
		maps.DeleteFunc(out, func(p netip.Prefix, _ string) bool { return p.Addr().As4()[2]%2 == 1 })
		return out
	}
	x := w.up(10, w.config(nil), false)
	w.routes(table, []uint32{65001})
	w.settle()
	check := func(what string, p *walkPeer, want map[netip.Prefix]string, kinds []string) {
		t.Helper()
		got, k := p.snd.take()
		if diff := tableDiff(want, got); diff != "" {
			t.Errorf("%s: the peer holds (-want +got):\n%s", what, firstLines(diff, 20))
		}
		if kinds != nil && !slices.Equal(k, kinds) {
			t.Errorf("%s: the peer got %q, want %q", what, k, kinds)
		}
	}
	check("the first session", x, want, []string{"EoR", "UPDATE"})

	// A second session joins the group: its walk runs over rounds, and
	// changes arrive meanwhile.
	y := w.up(11, w.config(nil), true)
	w.routes(table[100:200], nil)
	w.routes(prefixRange(n, 100), []uint32{65001})
	w.routes(table[n-300:n-200], []uint32{65001, 65009})
	w.routes(table[300:400], []uint32{65001, 65009})
	w.settle()
	for _, p := range table[100:200] {
		delete(want, p)
	}
	for _, p := range prefixRange(n, 100) {
		want[p] = "65000 65001"
	}
	for _, p := range append(slices.Clone(table[n-300:n-200]), table[300:400]...) {
		want[p] = "65000 65001 65009"
	}
	if w.groupOf(x) != w.groupOf(y) {
		t.Fatal("the two sessions are in different groups")
	}
	check("the first session after the changes", x, want, []string{"UPDATE"})
	got, k := y.snd.take()
	if diff := tableDiff(want, got); diff != "" {
		t.Errorf("the joining session holds (-want +got):\n%s", firstLines(diff, 20))
	}
	if i := slices.Index(k, "EoR"); i < 0 || slices.Contains(k[i+1:], "EoR") {
		t.Errorf("the joining session got %q, want one End-of-RIB", k)
	}

	// ROUTE-REFRESH (the session has enhanced refresh): BoRR, the table,
	// EoRR.
	w.l.post(opRefresh{n: y.n, s: y.s, fam: nlri.IPv4Unicast})
	w.settle()
	check("after ROUTE-REFRESH", y, want, []string{"BoRR", "UPDATE", "EoRR"})

	// The advertised listing: the group's copy, through a walk.
	adv, err := w.d.advertisedRoutes(y.n, RouteQuery{Advertised: true})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[netip.Prefix]string{}
	for _, r := range adv {
		listed[r.Prefix] = r.ASPath.String()
	}
	if diff := tableDiff(want, listed); diff != "" {
		t.Errorf("advertised (-want +got):\n%s", firstLines(diff, 20))
	}
	one := table[300]
	if adv, _ := w.d.advertisedRoutes(y.n, RouteQuery{Advertised: true, Prefix: one}); len(adv) != 1 || adv[0].Prefix != one {
		t.Errorf("advertised %v: %v", one, adv)
	}

	// Export policy changes: the session moves to a new group (filled,
	// and the routes it no longer sends withdrawn), no End-of-RIB.
	oddCfg := w.config(oddOut{})
	w.l.post(opRegroup{n: y.n, s: y.s, cfg: oddCfg})
	w.settle()
	check("moved to a new group", y, odd(want), []string{"UPDATE"})
	// A third session joins that group (a walk, not atomic), and the
	// second moves back to the first group, which exists: its walk is
	// given whole, with the withdrawals of Replacing none here.
	z := w.up(12, oddCfg, false)
	w.l.post(opRegroup{n: y.n, s: y.s, cfg: w.config(nil)})
	w.settle()
	check("joined the policy's group", z, odd(want), []string{"UPDATE", "EoR"})
	check("moved back", y, want, []string{"UPDATE"})
	// And the third moves to the first group, then the first to the
	// policy's, now empty of members and gone: a new group again.
	w.l.post(opRegroup{n: z.n, s: z.s, cfg: w.config(nil)})
	w.l.post(opRegroup{n: x.n, s: x.s, cfg: oddCfg})
	w.settle()
	check("the third moved", z, want, []string{"UPDATE"})
	check("the first moved", x, odd(want), []string{"UPDATE"})
	w.routes(table[:10], nil)
	w.settle()
	for _, p := range table[:10] {
		delete(want, p)
	}
	check("a later withdrawal", z, want, []string{"UPDATE"})
	check("a later withdrawal", x, odd(want), []string{"UPDATE"})
}

// tableDiff is cmp.Diff of two tables, which cmp takes seconds to find
// equal at this size.
func tableDiff(want, got map[netip.Prefix]string) string {
	if maps.Equal(want, got) {
		return ""
	}
	return cmp.Diff(want, got)
}

func firstLines(s string, n int) string {
	lines := 0
	for i, c := range s {
		if c == '\n' {
			if lines++; lines == n {
				return s[:i] + "\n..."
			}
		}
	}
	return s
}

// TestTidyWhenIdle loads three peers' tables one after another, which
// leaves the runs of their first and second paths behind in the
// Loc-RIB's slab (half of it), and checks that the loop gives that room
// back once the load is over, while a client keeps asking it questions
// and a peer keeps sending an UPDATE now and then, as on a live router.
func TestTidyWhenIdle(t *testing.T) {
	w := newWalkLab(t)
	ps := prefixRange(0, 30000)
	type feeder struct {
		n  *neighbor
		s  *peer.Session
		im *importer
	}
	feeders := []feeder{{w.in, w.sIn, w.im}}
	for i := byte(3); i < 5; i++ {
		p := w.up(i, w.config(nil), false)
		feeders = append(feeders, feeder{p.n, p.s, testImporter(w.l, p.s)})
	}
	updates := func(i int, ps []netip.Prefix) []*wire.Update { return w.updates(ps, []uint32{65001 + uint32(i)}) }
	for i, f := range feeders {
		w.post(f.n, f.s, f.im, updates(i, ps))
	}
	var free, prefixes int
	w.l.query(func() { free, prefixes = w.l.v4.UnusedRecords(), w.l.v4.Len() })
	t.Logf("after the load: %d prefixes, %d records unused", prefixes, free)
	deadline := time.Now().Add(20 * time.Second)
	for round := 0; ; round++ {
		// The first peer sends one of its prefixes again (no change).
		p := ps[round%len(ps) : round%len(ps)+1]
		w.l.post(opRoutes{n: feeders[0].n, s: feeders[0].s, b: feeders[0].im.batch(updates(0, p))})
		var paths int
		w.l.query(func() {
			free = w.l.v4.UnusedRecords()
			for _, p := range ps[:100] {
				k, _ := rib.Prefix4From(p)
				ps, _ := w.l.v4.Lookup(k)
				paths += len(ps)
			}
		})
		if paths != 300 {
			t.Fatalf("%d paths to the first 100 prefixes, want 300", paths)
		}
		// What stays are page ends too short for a run.
		if free < 64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records still unused in the slab after %v", free, 20*time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
