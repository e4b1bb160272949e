package rib

import "net/netip"

// Next-hop tracking: step 1 (is the next hop resolvable) and step 8 (the
// IGP cost to it) of the decision process get their answers from a
// NextHopResolver, per next hop, not per path.
//
//	LocRIB.acquire (a set's first path) ──Watch/Resolve──▶ resolver (fib.Resolver in the daemon)
//	LocRIB.releaseSet (a set's last path) ──Unwatch──────▶
//	resolver: the kernel changed ──(daemon hands it to the owner)──▶ LocRIB.NextHopsChanged
//
// Each attribute set in use names its next hop's slot in nhs; a slot counts
// the sets using it, so Watch and Unwatch are called once per next hop,
// not per path. A change of what a next hop resolves to re-runs the
// decision process for exactly the prefixes with a path through it: one
// walk over the entries (as BIRD's next-hop update does), cheap next to the
// kernel event that caused it, and no per-prefix index to keep.

// NextHopResolver answers whether the kernel reaches a next hop and at what
// cost (its route's metric). The RIB's owner goroutine calls it; Resolve
// must be cheap (a lookup, no system call).
type NextHopResolver interface {
	Resolve(addr netip.Addr) (ok bool, cost uint32)
	// Watch and Unwatch say which next hops the table uses, so that the
	// resolver reports their changes (to NextHopsChanged, through the
	// owner).
	Watch(addrs ...netip.Addr)
	Unwatch(addrs ...netip.Addr)
}

// nhSlot is one tracked next hop.
type nhSlot struct {
	addr         netip.Addr
	sets         uint32 // attribute sets in use that name this next hop
	unresolvable bool
	cost         uint32
	changed      bool // set by NextHopsChanged until its walk is done
}

// SetResolver makes the table ask res about next hops. Paths already held
// are resolved at once and selected again. With no resolver (the default)
// every next hop is resolvable at cost 0.
func (r *LocRIB[K]) SetResolver(res NextHopResolver) {
	if r.res != nil {
		var addrs []netip.Addr
		for i := 1; i < len(r.nhs); i++ {
			if r.nhs[i].sets > 0 {
				addrs = append(addrs, r.nhs[i].addr)
			}
		}
		if len(addrs) > 0 {
			r.res.Unwatch(addrs...)
		}
	}
	r.res = res
	r.forgetEarly()
	r.nhs, r.nhIndex, r.freeNH = nil, nil, nil
	for i := range r.sets {
		if s := &r.sets[i]; s.a != nil {
			s.nh = r.trackNextHop(s.a)
		}
	}
	r.Reselect()
}

// tracked says whether a set's next hop is resolved through the kernel:
// a path with no next hop (a local route) or an unspecified one always
// counts as resolvable.
func tracked(a *Attrs) bool {
	return a.NextHop.IsValid() && !a.NextHop.IsUnspecified()
}

// trackNextHop returns the slot of a's next hop (0: untracked), taking it
// or creating it; a new one is watched and resolved.
func (r *LocRIB[K]) trackNextHop(a *Attrs) uint32 {
	if r.res == nil || !tracked(a) {
		return 0
	}
	if r.nhIndex == nil {
		r.nhIndex = map[netip.Addr]uint32{}
		r.nhs = make([]nhSlot, 1) // slot 0 is "untracked"
	}
	if i, ok := r.nhIndex[a.NextHop]; ok {
		r.nhs[i].sets++
		return i
	}
	ok, cost := r.res.Resolve(a.NextHop)
	slot := nhSlot{addr: a.NextHop, sets: 1, unresolvable: !ok, cost: cost}
	var i uint32
	if n := len(r.freeNH); n > 0 {
		i = r.freeNH[n-1]
		r.freeNH = r.freeNH[:n-1]
		r.nhs[i] = slot
	} else {
		i = uint32(len(r.nhs))
		r.nhs = append(r.nhs, slot)
	}
	r.nhIndex[a.NextHop] = i
	r.res.Watch(a.NextHop)
	return i
}

// untrackNextHop drops one set's use of slot i.
func (r *LocRIB[K]) untrackNextHop(i uint32) {
	if i == 0 {
		return
	}
	s := &r.nhs[i]
	if s.sets--; s.sets > 0 {
		return
	}
	r.res.Unwatch(s.addr)
	delete(r.nhIndex, s.addr)
	*s = nhSlot{}
	r.freeNH = append(r.freeNH, i)
}

// NextHopsChanged resolves addrs again (the resolver reports only the
// next hops whose resolution changed: reachability, cost, or the gateway
// or interface they are reached through) and re-runs the decision process
// for every prefix with a path through one of them. The next Drain reports
// the prefixes whose selection changed and those whose selected paths go
// through a changed next hop (their kernel route may have to change even
// when the selection did not). It returns how many of addrs the table
// tracks; the others are ignored.
func (r *LocRIB[K]) NextHopsChanged(addrs []netip.Addr) int {
	if r.res == nil {
		return 0
	}
	changed := 0
	for _, addr := range addrs {
		i, ok := r.nhIndex[addr]
		if !ok {
			continue
		}
		s := &r.nhs[i]
		ok, cost := r.res.Resolve(addr)
		s.unresolvable, s.cost, s.changed = !ok, cost, true
		changed++
	}
	if changed == 0 {
		return 0
	}
	r.forgetEarly()
	for ei := range uint32(r.entries.Len()) {
		e := r.entries.At(ei)
		if e.cls&entryFree != 0 || e.n == 0 {
			continue
		}
		for _, p := range r.recs.run(e.off, int(e.n)) {
			if r.nhs[r.sets[p.set].nh].changed {
				r.savePrev(e)
				r.reselect(ei)
				for _, q := range r.recs.run(e.off, int(e.nsel)) {
					if r.nhs[r.sets[q.set].nh].changed {
						r.markDirty(ei)
						break
					}
				}
				break
			}
		}
	}
	for i := range r.nhs {
		r.nhs[i].changed = false
	}
	return changed
}

// NextHop describes one tracked next hop for listings.
type NextHop struct {
	Addr       netip.Addr
	Resolvable bool
	Cost       uint32
	// Sets is the number of attribute sets in use that name it.
	Sets int
}

// NextHops lists the tracked next hops (none without a resolver).
func (r *LocRIB[K]) NextHops() []NextHop {
	var out []NextHop
	for i := 1; i < len(r.nhs); i++ {
		if s := &r.nhs[i]; s.sets > 0 {
			out = append(out, NextHop{Addr: s.addr, Resolvable: !s.unresolvable, Cost: s.cost, Sets: int(s.sets)})
		}
	}
	return out
}

// resolution is what step 1 and step 8 see for set i.
func (r *LocRIB[K]) resolution(set uint32) (unresolvable bool, cost uint32) {
	if nh := r.sets[set].nh; nh != 0 {
		s := &r.nhs[nh]
		return s.unresolvable, s.cost
	}
	return false, 0
}
