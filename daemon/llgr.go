package daemon

// Long-lived graceful restart as the helper (RFC 9494): when a peer that
// asked for it (the LLGR capability) is not back by the end of its restart
// time, its stale paths of those families are kept for the long-lived
// stale time, marked with the LLGR_STALE community and least preferred of
// all (rib.StepLLGRStale); paths with NO_LLGR go at once. They are sent
// on only to peers that support LLGR themselves (export.Rules.LLGR). The
// returning session refreshes them and its End-of-RIB sweeps the rest, as
// for graceful restart.

import (
	"slices"
	"time"

	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// longLived reads the peer's LLGR capability: the families it asked to be
// kept and the shortest of their stale times (one timer serves them all;
// the shortest never keeps a family longer than its peer asked).
func longLived(s *peer.Session) (map[nlri.Family]bool, time.Duration) {
	c := s.Negotiated.LongLivedGR
	if c == nil {
		return nil, 0
	}
	fams := map[nlri.Family]bool{}
	var llst time.Duration
	for _, f := range c.Families {
		if !slices.Contains(s.Negotiated.Families, f.Family) || f.StaleTime == 0 {
			continue
		}
		d := time.Duration(f.StaleTime) * time.Second
		if llst == 0 || d < llst {
			llst = d
		}
		fams[f.Family] = true
	}
	if len(fams) == 0 {
		return nil, 0
	}
	return fams, llst
}

// enterLLGR turns the neighbour's stale paths of its LLGR families into
// long-lived stale ones and sweeps the others; the long-lived stale time
// then bounds them.
func (l *ribLoop) enterLLGR(n *neighbor, rs *ribSource) {
	var held []*rib.Attrs
	mark := func(a *rib.Attrs) *rib.Attrs {
		list := a.List()
		c, hasComm := list.Communities()
		if hasComm && c.Has(attr.CommunityNoLLGR) {
			return nil
		}
		if a.LLGRStale {
			return a
		}
		var vals []uint32
		if hasComm {
			vals = slices.Clone(c.Values)
		}
		vals = append(vals, attr.CommunityLLGRStale)
		list = list.Set(&attr.Communities{Values: vals})
		na, _ := l.attrs.Intern(list, nil)
		held = append(held, na)
		return na
	}
	kept, removed := 0, 0
	for fam := range rs.staleFams {
		if !rs.llgr[fam] {
			l.sweepFamily(n, rs, fam)
			continue
		}
		var k, r int
		switch fam {
		case nlri.IPv4Unicast:
			k, r = l.v4.ReplaceStale(rs.id, mark)
		case nlri.IPv6Unicast:
			k, r = l.v6.ReplaceStale(rs.id, mark)
		}
		kept, removed = kept+k, removed+r
	}
	for _, a := range held {
		l.attrs.Release(a)
	}
	rs.llgrPhase = true
	n.log.Info("restart time over: keeping the peer's routes as long-lived stale (RFC 9494)",
		"routes", kept, "no-llgr-removed", removed, "long-lived-stale-time", rs.llst)
	if len(rs.staleFams) == 0 {
		l.publish(n, rs)
		return
	}
	l.startStaleTimer(n, rs, rs.llst, "the peer's long-lived stale time expired")
	l.publish(n, rs)
}
