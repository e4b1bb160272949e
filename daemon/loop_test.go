package daemon

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// testLoop starts a daemon's RIB loop without sockets, for the tests and
// benchmarks that feed it ops directly. stop ends the loop, waits for the
// daemon's goroutines, and unmaps its tables at once rather than at a
// later collection (a benchmark's next iteration measures its own).
func testLoop() (*Daemon, *ribLoop, context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{log: slog.New(slog.DiscardHandler), subs: map[chan struct{}]struct{}{}}
	l := newRibLoop(d, rib.NewOptions())
	l.ctx = ctx
	d.rib = l
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()
	return d, l, ctx, func() {
		cancel()
		<-done
		d.wg.Wait()
		l.v4.Close()
		l.v6.Close()
	}
}

// testPeer is a neighbour at addr in AS as and its session, established
// with IPv4 unicast and 4-octet AS numbers both ways.
func testPeer(d *Daemon, addr netip.Addr, as uint32, opt wire.Options) (*neighbor, *peer.Session) {
	neg := &peer.Negotiated{PeerAS: as, PeerID: addr, Families: []nlri.Family{nlri.IPv4Unicast}, AS4: true, Receive: opt, Send: opt}
	return &neighbor{d: d, key: peer.Key{Addr: addr}, log: d.log},
		&peer.Session{LocalAS: 65000, Negotiated: neg, LocalAddr: netip.MustParseAddrPort("192.0.2.1:179"), RemoteAddr: netip.AddrPortFrom(addr, 40000)}
}

// upPeer is testPeer with its session up in l: its source has the peer's
// address as router ID, and an update group exporting by rules sends to
// snd (export.Rules' defaults: our AS 65000, next hop 192.0.2.1).
func upPeer(d *Daemon, l *ribLoop, addr netip.Addr, as uint32, opt wire.Options, rules export.Rules, snd export.Sender) (*neighbor, *peer.Session) {
	n, s := testPeer(d, addr, as, opt)
	rules.LocalAS, rules.NextHop4 = 65000, netip.MustParseAddr("192.0.2.1")
	l.post(opUp{n: n, s: s, src: &rib.Source{Addr: addr, RouterID: addr, AS: as},
		cfg: export.Config{Rules: rules, Options: opt}, sender: snd})
	return n, s
}

// testImporter is the importer of s's UPDATEs into l, as the session's
// reader would run it (eBGP, no import policy).
func testImporter(l *ribLoop, s *peer.Session) *importer {
	return &importer{t: l.attrs, batches: &l.batches, opts: attr.Options{AS4: true}, localAS: s.LocalAS,
		remote: s.RemoteAddr.Addr(), local: s.LocalAddr.Addr()}
}
