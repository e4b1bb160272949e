package daemon

// Prefix limits (BGPPeer maxPrefixes, maxPrefixesPerFamily): checked by
// the RIB loop after each batch of a neighbour, on the paths it accepted
// (ADD-PATH paths count one each). At the warning threshold
// (maxPrefixesWarning percent, default 75) a warning is logged once per
// crossing; past a limit the session is closed with Cease / Maximum
// Number of Prefixes Reached (RFC 4486) and kept down, for
// maxPrefixesRestart when that is set (then it comes back by itself), or
// until an operator enables it. The other peers are not touched.

import (
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// checkLimits runs in the RIB loop.
func (l *ribLoop) checkLimits(n *neighbor, rs *ribSource) {
	n.d.mu.RLock()
	spec := n.spec
	n.d.mu.RUnlock()
	if spec == nil || (spec.MaxPrefixes == 0 && len(spec.MaxPrefixesPerFamily) == 0) || rs.session == nil {
		return
	}
	warnPct := spec.MaxPrefixesWarning
	if warnPct == 0 {
		warnPct = config.DefaultMaxPrefixesWarning
	}
	acc4, acc6 := l.v4.SourcePaths(rs.id), l.v6.SourcePaths(rs.id)
	accepted := func(f nlri.Family) int {
		switch f {
		case nlri.IPv4Unicast:
			return acc4
		case nlri.IPv6Unicast:
			return acc6
		}
		return 0
	}
	check := func(what string, fam nlri.Family, count int, limit uint32) bool {
		if limit == 0 {
			return false
		}
		warnKey := what + fam.String()
		if uint64(count)*100 >= uint64(limit)*uint64(warnPct) {
			if !rs.limitWarned[warnKey] {
				rs.limitWarned[warnKey] = true
				n.log.Warn("prefix count near its limit", "limit", what, "family", fam, "prefixes", count, "max", limit, "warning-percent", warnPct)
			}
		} else {
			delete(rs.limitWarned, warnKey)
		}
		if count <= int(limit) {
			return false
		}
		n.log.Error("maximum number of prefixes reached: closing the session (Cease, RFC 4486)", "limit", what, "family", fam,
			"prefixes", count, "max", limit, "restart-after", time.Duration(spec.MaxPrefixesRestart))
		l.closeForLimit(n, rs, fam, limit, time.Duration(spec.MaxPrefixesRestart))
		return true
	}
	for f, limit := range spec.MaxPrefixesPerFamily {
		fam, err := nlri.ParseFamily(string(f))
		if err == nil && check("maxPrefixesPerFamily", fam, accepted(fam), limit) {
			return
		}
	}
	total := acc4 + acc6
	fam := nlri.IPv4Unicast
	if acc4 == 0 {
		fam = nlri.IPv6Unicast
	}
	check("maxPrefixes", fam, total, spec.MaxPrefixes)
}

// closeForLimit stops the session from outside the loop (the peer's
// driver may be waiting for the loop) and arranges the restart.
func (l *ribLoop) closeForLimit(n *neighbor, rs *ribSource, fam nlri.Family, limit uint32, restart time.Duration) {
	rs.session = nil // its next batches are dropped; SessionDown withdraws the rest
	n.limitDown.Store(true)
	n.d.wg.Add(1)
	go func() {
		defer n.d.wg.Done()
		n.p.MaxPrefixes(fam, limit)
		if restart <= 0 {
			return
		}
		select {
		case <-time.After(restart):
		case <-n.ctx.Done():
			return
		}
		// An operator's shutdown or enable meanwhile cleared limitDown.
		if n.limitDown.CompareAndSwap(true, false) {
			n.log.Info("restarting the session closed for too many prefixes", "after", restart)
			n.p.Enable()
		}
	}()
}
