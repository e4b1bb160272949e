package daemon

// The Adj-RIB-In of one neighbour, minimal until the rib layer lands: a map
// from (family, prefix, path identifier) to the path's attributes. Every
// route of one UPDATE shares one pathAttrs (the attribute values
// themselves are shared with the decoded UPDATE, which never changes
// them). There is no import policy yet: every path is accepted, except
// one whose AS_PATH holds our own AS (RFC 4271 §9.1.2: excluded from the
// decision process), which stays in the table, counted as received, and
// shown as filtered.

import (
	"net/netip"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// staleHoldTime bounds how long stale routes wait for End-of-RIB once the
// restarted peer is back (FRR's default stalepath-time).
const staleHoldTime = 360 * time.Second

// ribKey names one path of the table.
type ribKey struct {
	fam  nlri.Family
	pfx  netip.Prefix // unicast and multicast families, masked
	text string       // other families: the NLRI's text form
	id   uint32       // ADD-PATH path identifier
}

// path is one entry: immutable once stored (a change stores a new one).
type path struct {
	attrs *pathAttrs
	since time.Time
	stale bool
}

// pathAttrs are the attributes of the routes of one UPDATE and family.
type pathAttrs struct {
	list     attr.List    // without MP_REACH_NLRI / MP_UNREACH_NLRI
	nextHop  netip.Addr   // from NEXT_HOP or the family's MP_REACH_NLRI
	asPath   *attr.ASPath // AS_PATH merged with AS4_PATH (RFC 6793); nil when absent
	internal bool         // learned over iBGP
	looped   bool         // AS_PATH holds our AS: not accepted
	family   nlri.Family  // the family the routes sharing it belong to
}

// adjRIBIn is guarded by mu: the peer's reader goroutine writes it (through
// the Handler), the API and metrics read it, the stale timer flushes it.
type adjRIBIn struct {
	n *neighbor

	mu        sync.Mutex
	paths     map[ribKey]path
	count     map[nlri.Family]int  // paths
	accepted  map[nlri.Family]int  // paths without an AS loop
	disabled  map[nlri.Family]bool // AFI/SAFI disabled on this session (RFC 7606 §2)
	withdrawn uint64               // withdrawn NLRI received, all sessions
	stale     int
	timer     *time.Timer // flushes stale paths when it fires
	gen       uint64      // invalidates a timer that was replaced
	closed    bool
}

func (in *adjRIBIn) init(n *neighbor) {
	in.n = n
	in.paths = map[ribKey]path{}
	in.count = map[nlri.Family]int{}
	in.accepted = map[nlri.Family]int{}
	in.disabled = map[nlri.Family]bool{}
}

func keyOf(r wire.Route) ribKey {
	if r.NLRI == nil {
		return ribKey{fam: r.Family, pfx: r.Prefix.Prefix.Masked(), id: r.Prefix.PathID}
	}
	return ribKey{fam: r.Family, text: r.NLRI.String()}
}

// update applies a batch of UPDATEs: End-of-RIB markers, withdrawals
// (treat-as-withdraw included: Unreach gives those routes), then
// announcements, each replacing the path it has the key of (an implicit
// withdrawal, RFC 4271 §3.1).
func (in *adjRIBIn) update(s *peer.Session, batch []*wire.Update) {
	opts := attr.Options{AS4: s.Negotiated.Receive.AS4}
	ibgp := s.IBGP()
	localAS := s.LocalAS
	now := time.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	for _, u := range batch {
		if fam, ok := u.EndOfRIB(); ok {
			in.endOfRIBLocked(fam)
			continue
		}
		for _, fam := range u.Disabled() {
			if !in.disabled[fam] {
				in.disabled[fam] = true
				in.flushFamilyLocked(fam)
				in.n.log.Warn("address family disabled on this session after a malformed MP attribute (RFC 7606 §2); its routes are dropped until the session restarts", "family", fam)
			}
		}
		for r := range u.Unreach() {
			in.withdrawn++
			k := keyOf(r)
			if p, ok := in.paths[k]; ok {
				in.deleteLocked(k, p)
			}
		}
		var cache []*pathAttrs // per family of this UPDATE, built on first use
		for r := range u.Reach() {
			if in.disabled[r.Family] {
				continue
			}
			var pa *pathAttrs
			for _, c := range cache {
				if c != nil && c.fam(r.Family) {
					pa = c
					break
				}
			}
			if pa == nil {
				pa = newPathAttrs(u, r.Family, opts, ibgp, localAS)
				cache = append(cache, pa)
			}
			k := keyOf(r)
			if old, ok := in.paths[k]; ok {
				in.deleteLocked(k, old)
			}
			in.paths[k] = path{attrs: pa, since: now}
			in.count[k.fam]++
			if !pa.looped {
				in.accepted[k.fam]++
			}
		}
	}
}

// fam reports whether a belongs to family f (built by newPathAttrs for it).
func (a *pathAttrs) fam(f nlri.Family) bool { return a.family == f }

// newPathAttrs extracts what the table keeps of u's attributes for routes
// of family fam.
func newPathAttrs(u *wire.Update, fam nlri.Family, opts attr.Options, ibgp bool, localAS uint32) *pathAttrs {
	pa := &pathAttrs{internal: ibgp, family: fam}
	pa.list = make(attr.List, 0, len(u.Attrs))
	var mp *attr.MPReach
	for _, a := range u.Attrs {
		switch a := a.(type) {
		case *attr.MPReach:
			if a.Family == fam {
				mp = a
			}
		case *attr.MPUnreach:
		default:
			pa.list = append(pa.list, a)
		}
	}
	pa.asPath, _ = u.Attrs.ReconcileAS4(opts)
	pa.looped = pa.asPath.Contains(localAS)
	if mp != nil {
		if g, _, _, err := mp.NextHops(); err == nil {
			pa.nextHop = g // an IPv4-mapped IPv6 next hop is shown as sent
		}
	} else if nh, ok := u.Attrs.NextHop(); ok {
		pa.nextHop = nh.Addr
	}
	return pa
}

func (in *adjRIBIn) deleteLocked(k ribKey, p path) {
	delete(in.paths, k)
	decrement(in.count, k.fam)
	if !p.attrs.looped {
		decrement(in.accepted, k.fam)
	}
	if p.stale {
		in.stale--
	}
}

func decrement(m map[nlri.Family]int, f nlri.Family) {
	if m[f]--; m[f] <= 0 {
		delete(m, f)
	}
}

func (in *adjRIBIn) flushFamilyLocked(fam nlri.Family) {
	for k, p := range in.paths {
		if k.fam == fam {
			in.deleteLocked(k, p)
		}
	}
}

// endOfRIBLocked ends the graceful restart of one family: the stale paths
// the peer did not send again are withdrawn (RFC 4724 §4.2).
func (in *adjRIBIn) endOfRIBLocked(fam nlri.Family) {
	if in.stale == 0 {
		return
	}
	n := 0
	for k, p := range in.paths {
		if k.fam == fam && p.stale {
			in.deleteLocked(k, p)
			n++
		}
	}
	if n > 0 {
		in.n.log.Info("End-of-RIB: stale routes withdrawn", "family", fam, "routes", n)
	}
	if in.stale == 0 {
		in.stopTimerLocked()
	}
}

// sessionUp starts a session's table: stale paths from before a graceful
// restart wait for End-of-RIB if the peer still announces graceful
// restart, and go at once if it does not (RFC 4724 §4.2).
func (in *adjRIBIn) sessionUp(s *peer.Session) {
	in.mu.Lock()
	defer in.mu.Unlock()
	clear(in.disabled)
	if in.stale == 0 {
		return
	}
	if s.Negotiated.GracefulRestart == nil {
		in.flushStaleLocked("the peer came back without graceful restart")
		return
	}
	in.startTimerLocked(staleHoldTime, "no End-of-RIB within the stale path time")
}

// sessionDown flushes the table, or marks it stale when the peer may
// restart gracefully, for at most its restart time (RFC 4724 §4.2).
func (in *adjRIBIn) sessionDown(s *peer.Session, graceful bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	var restart time.Duration
	if gr := s.Negotiated.GracefulRestart; gr != nil {
		restart = time.Duration(gr.Time) * time.Second
	}
	if !graceful || restart == 0 || len(in.paths) == 0 {
		in.flushAllLocked()
		return
	}
	for k, p := range in.paths {
		if !p.stale {
			p.stale = true
			in.paths[k] = p
			in.stale++
		}
	}
	in.n.log.Info("session down; keeping its routes as stale while the peer restarts (RFC 4724)",
		"routes", len(in.paths), "restart-time", restart)
	in.startTimerLocked(restart, "the peer's restart time expired")
}

func (in *adjRIBIn) startTimerLocked(d time.Duration, why string) {
	in.stopTimerLocked()
	gen := in.gen
	in.timer = time.AfterFunc(d, func() {
		in.mu.Lock()
		if in.gen == gen && !in.closed {
			in.flushStaleLocked(why)
		}
		in.mu.Unlock()
		in.n.d.notify()
	})
}

func (in *adjRIBIn) stopTimerLocked() {
	in.gen++
	if in.timer != nil {
		in.timer.Stop()
		in.timer = nil
	}
}

func (in *adjRIBIn) flushStaleLocked(why string) {
	n := 0
	for k, p := range in.paths {
		if p.stale {
			in.deleteLocked(k, p)
			n++
		}
	}
	in.stopTimerLocked()
	if n > 0 {
		in.n.log.Info("stale routes withdrawn", "routes", n, "reason", why)
	}
}

func (in *adjRIBIn) flushAllLocked() {
	clear(in.paths)
	clear(in.count)
	clear(in.accepted)
	in.stale = 0
	in.stopTimerLocked()
}

// close empties the table for good (the neighbour is gone).
func (in *adjRIBIn) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	in.flushAllLocked()
}

// counts returns the number of paths per family, received and accepted,
// and the withdrawals seen.
func (in *adjRIBIn) counts() (received, accepted map[nlri.Family]int, withdrawn uint64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	received = make(map[nlri.Family]int, len(in.count))
	for f, c := range in.count {
		received[f] = c
	}
	accepted = make(map[nlri.Family]int, len(in.accepted))
	for f, c := range in.accepted {
		accepted[f] = c
	}
	return received, accepted, in.withdrawn
}

// each calls fn for every path, under the lock: fn must be quick and must
// not keep k or p beyond what it copies (both are values).
func (in *adjRIBIn) each(fn func(k ribKey, p path)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, p := range in.paths {
		fn(k, p)
	}
}
