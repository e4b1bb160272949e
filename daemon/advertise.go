package daemon

// The advertiser is the Adj-RIB-Out of one Established session, minimal
// until the rib layer lands: it sends the originated routes (never learned
// ones: re-advertisement comes with the rib), and keeps what it sent so
// that a change of the Announcements sends only the difference. It is
// woken (coalesced, one pending wake-up) when the session comes up, when
// the origin set changes, and for route refresh; each wake-up compares
// the latest origin set with what was sent, so a burst of changes costs
// one round of UPDATEs.
//
//	SessionUp ──start──▶ run ◀──wake── syncOrigins, refresh (API, ROUTE-REFRESH)
//	                      │
//	                      └── Packer ──Session.Send (blocks while the peer's
//	                          bulk queue is full)──▶ peer writer

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"sync"

	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// defaultLocalPref is LOCAL_PREF when an Announcement sets none (the
// value every implementation assumes, RFC 4271 §5.1.5 leaves it open).
const defaultLocalPref = 100

// advertiser: run is its goroutine; mu guards the fields below it, which
// queries read.
type advertiser struct {
	n      *neighbor
	s      *peer.Session
	wakeCh chan struct{}

	mu      sync.Mutex
	sent    map[netip.Prefix]*origin
	count   map[nlri.Family]int
	pending map[nlri.Family]bool // families to send again in full
	full    bool                 // send everything again (refresh-out)
}

func newAdvertiser(n *neighbor, s *peer.Session) *advertiser {
	a := &advertiser{n: n, s: s, wakeCh: make(chan struct{}, 1),
		sent: map[netip.Prefix]*origin{}, count: map[nlri.Family]int{}}
	a.wake()
	return a
}

func (a *advertiser) wake() {
	select {
	case a.wakeCh <- struct{}{}:
	default:
	}
}

// refresh asks for one family in full: the peer sent a ROUTE-REFRESH
// (RFC 2918 §4). BoRR and EoRR from the peer (RFC 7313) are about its own
// re-advertisement and need nothing from us.
func (a *advertiser) refresh(f nlri.Family, sub iana.RefreshSubtype) {
	if sub != iana.RefreshNormal || !a.s.Negotiated.HasFamily(f) {
		return
	}
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[nlri.Family]bool{}
	}
	a.pending[f] = true
	a.mu.Unlock()
	a.wake()
}

// refreshAll sends every route again (operator's refresh-out).
func (a *advertiser) refreshAll() {
	a.mu.Lock()
	a.full = true
	a.mu.Unlock()
	a.wake()
}

func (a *advertiser) run(ctx context.Context) {
	first := true
	for {
		select {
		case <-a.wakeCh:
		case <-a.s.Done():
			return
		case <-ctx.Done():
			return
		}
		if err := a.sync(ctx, first); err != nil {
			if !errors.Is(err, peer.ErrSessionClosed) && ctx.Err() == nil {
				a.n.log.Error("sending our routes failed", "err", err)
			}
			return
		}
		first = false
	}
}

// unicastFamilies are the families Announcements hold.
var unicastFamilies = []nlri.Family{nlri.IPv4Unicast, nlri.IPv6Unicast}

func familyOf(p netip.Prefix) nlri.Family {
	if p.Addr().Is4() {
		return nlri.IPv4Unicast
	}
	return nlri.IPv6Unicast
}

// sync sends what differs between the origin set and what was sent, and
// after the first round an End-of-RIB for every negotiated family
// (RFC 4724 §2, which asks for it whether or not graceful restart was
// negotiated).
func (a *advertiser) sync(ctx context.Context, first bool) error {
	set := a.n.d.origins.Load()
	neg := a.s.Negotiated
	local := a.s.LocalAddr.Addr()
	a.mu.Lock()
	forced, full := a.pending, a.full
	a.pending, a.full = nil, false
	sent := a.sent
	a.mu.Unlock()

	var withdraw []netip.Prefix
	for p := range sent {
		if set.byPrefix[p] == nil {
			withdraw = append(withdraw, p)
		}
	}
	slices.SortFunc(withdraw, comparePrefix)
	type batch struct {
		o   *origin
		fam nlri.Family
		pfx []netip.Prefix
	}
	var announce []batch
	for _, g := range set.groups {
		for _, fam := range unicastFamilies {
			b := batch{o: g.o, fam: fam}
			for _, p := range g.prefixes {
				if familyOf(p) != fam || !neg.HasFamily(fam) || !canCarry(fam, local) {
					continue
				}
				if sent[p] != g.o || full || forced[fam] {
					b.pfx = append(b.pfx, p)
				}
			}
			if len(b.pfx) > 0 {
				announce = append(announce, b)
			}
		}
	}
	if len(withdraw) == 0 && len(announce) == 0 && !first && !full && len(forced) == 0 {
		return nil
	}

	enhanced := neg.EnhancedRouteRefresh && !first
	var refreshed []nlri.Family
	for _, f := range neg.Families {
		if full || forced[f] {
			refreshed = append(refreshed, f)
		}
	}
	var msgs [][]byte
	if enhanced {
		// RFC 7313 §4: a re-advertisement is framed by BoRR and EoRR.
		for _, f := range refreshed {
			msgs = append(msgs, (&wire.RouteRefresh{Family: f, Subtype: iana.RefreshBeginning}).AppendTo(nil, wire.Options{}))
		}
	}
	pk := wire.NewPacker(neg.Send)
	for _, p := range withdraw {
		if err := pk.Withdraw(nlri.Prefix{Prefix: p}); err != nil {
			return err
		}
	}
	for _, b := range announce {
		pk.SetAttrs(a.attrs(b.o, b.fam, local))
		for _, p := range b.pfx {
			if err := pk.Announce(nlri.Prefix{Prefix: p}); err != nil {
				return err
			}
		}
	}
	if first {
		for _, f := range neg.Families {
			pk.EndOfRIB(f)
		}
	}
	msgs = append(msgs, splitMessages(pk.Bytes())...)
	if enhanced {
		for _, f := range refreshed {
			msgs = append(msgs, (&wire.RouteRefresh{Family: f, Subtype: iana.RefreshEnd}).AppendTo(nil, wire.Options{}))
		}
	}
	if err := a.s.Send(ctx, msgs...); err != nil {
		return err
	}

	a.mu.Lock()
	next := make(map[netip.Prefix]*origin, len(sent)+len(announce))
	for p, o := range sent {
		next[p] = o
	}
	for _, p := range withdraw {
		delete(next, p)
	}
	for _, b := range announce {
		for _, p := range b.pfx {
			next[p] = b.o
		}
	}
	count := map[nlri.Family]int{}
	for p := range next {
		count[familyOf(p)]++
	}
	a.sent, a.count = next, count
	a.mu.Unlock()
	a.n.d.notify()
	a.n.log.Debug("routes sent", "announced", len(announce), "withdrawn", len(withdraw), "messages", len(msgs))
	return nil
}

// canCarry reports whether routes of fam can be sent with a next hop from
// the session's local address: IPv4 routes need an IPv4 next hop (without
// RFC 8950, which godwit does not negotiate yet); IPv6 routes take an
// IPv4-mapped address on an IPv4 session, as FRR sends it.
func canCarry(fam nlri.Family, local netip.Addr) bool {
	return fam != nlri.IPv4Unicast || local.Is4()
}

// attrs builds the path attributes of an originated route for this
// session, in type code order: ORIGIN IGP; AS_PATH with our AS for eBGP,
// empty for iBGP (RFC 4271 §5.1.2), split with AS4_PATH for a peer
// without 4-octet AS numbers (RFC 6793 §4.2.2); the session's local
// address as next hop (NEXT_HOP for IPv4, MP_REACH_NLRI for IPv6, RFC 4760
// §3); MED when set; LOCAL_PREF on iBGP only (RFC 4271 §5.1.5);
// communities and large communities from the Announcement.
func (a *advertiser) attrs(o *origin, fam nlri.Family, local netip.Addr) attr.List {
	spec := o.spec
	neg := a.s.Negotiated
	ibgp := a.s.IBGP()
	list := attr.List{&attr.Origin{Value: attr.OriginIGP}}
	path := &attr.ASPath{}
	if !ibgp {
		path.Segments = []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{a.s.LocalAS}}}
	}
	var as4 *attr.AS4Path
	if !neg.AS4 {
		path, as4 = attr.SplitAS4(path)
	}
	list = append(list, path)
	if fam == nlri.IPv4Unicast {
		list = append(list, &attr.NextHop{Addr: local})
	} else {
		nh := local
		if nh.Is4() {
			nh = netip.AddrFrom16(nh.As16())
		}
		list = append(list, attr.NewMPReach(fam, nh, netip.Addr{}, nil))
	}
	if spec.MED != nil {
		list = append(list, &attr.MED{Value: *spec.MED})
	}
	if ibgp {
		lp := uint32(defaultLocalPref)
		if spec.LocalPreference != nil {
			lp = *spec.LocalPreference
		}
		list = append(list, &attr.LocalPref{Value: lp})
	}
	if len(spec.Communities) > 0 {
		c := &attr.Communities{}
		for _, v := range spec.Communities {
			c.Values = append(c.Values, uint32(v))
		}
		list = append(list, c)
	}
	if as4 != nil {
		list = append(list, as4)
	}
	if len(spec.LargeCommunities) > 0 {
		c := &attr.LargeCommunities{}
		for _, v := range spec.LargeCommunities {
			c.Values = append(c.Values, attr.LargeCommunity{Global: v.Global, Local1: v.Local1, Local2: v.Local2})
		}
		list = append(list, c)
	}
	return list
}

// splitMessages cuts a Packer's output into one slice per message, as
// Session.Send takes them (it counts them one by one). The slices share
// the buffer, which is not written again.
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

// advertised is one route of the Adj-RIB-Out, as sent.
type advertised struct {
	prefix netip.Prefix
	attrs  attr.List
}

// snapshot returns what was sent, sorted by prefix.
func (a *advertiser) snapshot() []advertised {
	local := a.s.LocalAddr.Addr()
	a.mu.Lock()
	out := make([]advertised, 0, len(a.sent))
	for p, o := range a.sent {
		out = append(out, advertised{prefix: p, attrs: nil})
		out[len(out)-1].attrs = a.attrs(o, familyOf(p), local)
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y advertised) int { return comparePrefix(x.prefix, y.prefix) })
	return out
}

// counts returns the number of routes sent per family.
func (a *advertiser) counts() map[nlri.Family]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[nlri.Family]int, len(a.count))
	for f, c := range a.count {
		m[f] = c
	}
	return m
}

// comparePrefix orders prefixes: IPv4 before IPv6, then by address, then
// shorter first.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}
