package routers

import (
	"net/netip"
	"sort"
)

// sortSessions orders sessions by address, so output is stable.
func sortSessions(ss []Session) {
	sort.Slice(ss, func(i, j int) bool {
		a, _ := netip.ParseAddr(ss[i].Address)
		b, _ := netip.ParseAddr(ss[j].Address)
		return a.Less(b)
	})
}

// sortPaths orders paths by prefix, then best first, then peer.
func sortPaths(ps []Path) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Prefix != b.Prefix {
			if a.Prefix.Addr() != b.Prefix.Addr() {
				return a.Prefix.Addr().Less(b.Prefix.Addr())
			}
			return a.Prefix.Bits() < b.Prefix.Bits()
		}
		if a.Best != b.Best {
			return a.Best
		}
		if a.Peer != b.Peer {
			return a.Peer < b.Peer
		}
		return a.PathID < b.PathID
	})
}
