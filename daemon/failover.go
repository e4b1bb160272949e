package daemon

// Fast external failover: a directly connected eBGP session goes down at
// once when the interface it runs over loses its link, as FRR and BIRD do,
// instead of waiting for the hold timer. Other sessions (iBGP, multihop
// eBGP) run over whatever path the kernel finds and keep relying on the
// hold timer.
//
//	kernel ──link events──▶ failover goroutine ──Peer.LinkDown──▶ the sessions over that interface

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/godwit-bgp/godwit/fib"
)

// failover follows the kernel's link events until ctx ends.
func (d *Daemon) failover(ctx context.Context, src fib.RouteSource) {
	wait := time.Second
	for ctx.Err() == nil {
		events, err := src.Subscribe(ctx, fib.SubscribeOptions{Links: true})
		if err != nil {
			d.log.Warn("fast external failover: cannot follow link events; sessions rely on their hold timers", "err", err, "retry-in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Minute)
			continue
		}
		wait = time.Second
		up := map[int]bool{}
		if links, err := src.Links(); err == nil {
			for _, l := range links {
				up[l.Index] = l.Up
			}
		}
		for ev := range events {
			if ev.Kind != fib.EventLink {
				continue
			}
			l := ev.Link
			was, known := up[l.Index]
			up[l.Index] = l.Up
			if l.Up || (known && !was) {
				continue
			}
			d.linkDown(l)
		}
	}
}

// linkDown drops the directly connected eBGP sessions whose local address
// is on the interface.
func (d *Daemon) linkDown(l fib.Link) {
	ifc, err := net.InterfaceByIndex(l.Index)
	if err != nil {
		return
	}
	on := map[netip.Addr]bool{}
	for _, a := range interfaceAddrs(ifc) {
		on[a] = true
	}
	for _, n := range d.neighborList() {
		s := n.sess.Load()
		d.mu.RLock()
		ttl := n.cfg.TTL
		d.mu.RUnlock()
		if s == nil || s.IBGP() || ttl != 1 {
			continue // not a directly connected eBGP session
		}
		if !on[s.LocalAddr.Addr().Unmap()] {
			continue
		}
		n.log.Warn("interface down: closing the directly connected session (fast external failover)",
			"interface", ifc.Name)
		n.p.LinkDown(ifc.Name)
	}
}
