package daemon

// Redistribution: kernel and connected routes chosen by a selector become
// local routes, so that a node announces what another agent programmed.
//
//	reconciler ──syncRedistributions (specs)──▶ redistributor.wake
//	kernel ──route/link events (not our protocol)──▶ redistributor goroutine
//	         (debounced; lists the tables read, selects, builds one
//	          announcement per Redistribution)
//	                       └──setRedistributed──▶ origin set ──▶ RIB loop
//
// The selection is recomputed from a fresh listing after every burst of
// events: tables that hold what is redistributed are a node's own, small
// ones, and a listing can never drift from the kernel as an incremental
// mirror could after a lost event.

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/fib"
)

// redistDebounce is how long the redistributor waits for a burst of kernel
// events to end before listing the tables again.
const redistDebounce = 100 * time.Millisecond

// protoKernel is the protocol of the kernel's own routes (RTPROT_KERNEL):
// the connected networks of the interfaces.
const protoKernel = 2

type redistributor struct {
	d     *Daemon
	src   fib.RouteSource
	proto fib.Protocol // ours: never redistributed

	mu    sync.Mutex
	specs map[string]*config.RedistributionSpec
	wake  chan struct{}
}

func redistName(name string) string { return "redistribute:" + name }

// syncRedistributions takes the Redistributions of d.desired (the
// reconciler's) to the redistributor.
func (d *Daemon) syncRedistributions() {
	specs := map[string]*config.RedistributionSpec{}
	for name, r := range d.desired.redis {
		if spec, _ := r.Spec.(*config.RedistributionSpec); spec != nil {
			specs[name] = spec
		}
	}
	k := d.fib.Load()
	if k == nil || k.redist == nil {
		return
	}
	rd := k.redist
	rd.mu.Lock()
	rd.specs = specs
	rd.mu.Unlock()
	select {
	case rd.wake <- struct{}{}:
	default:
	}
}

// run follows the kernel until ctx ends.
func (rd *redistributor) run(ctx context.Context) {
	wait := time.Second
	for ctx.Err() == nil {
		if err := rd.follow(ctx); err != nil && ctx.Err() == nil {
			rd.d.log.Warn("redistribution: following the kernel's routes failed; starting again", "err", err, "in", wait)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
		}
	}
}

func (rd *redistributor) follow(ctx context.Context) error {
	stop := func() {} // ends the current subscription
	defer func() { stop() }()
	var events <-chan fib.Event
	subscribed := false
	debounce := time.NewTimer(0) // a first listing at once
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rd.wake:
			debounce.Reset(0)
		case _, ok := <-events:
			if !ok {
				return errSubscriptionEnded
			}
			debounce.Reset(redistDebounce)
		case <-debounce.C:
			rd.mu.Lock()
			specs := rd.specs
			rd.mu.Unlock()
			if len(specs) == 0 {
				// Nothing to follow: drop the subscription and what
				// was redistributed.
				if subscribed {
					stop()
					events, subscribed = nil, false
				}
				rd.d.setRedistributed(nil)
				continue
			}
			if !subscribed {
				sctx, cancel := context.WithCancel(ctx)
				ch, err := rd.src.Subscribe(sctx, fib.SubscribeOptions{Routes: true, Links: true, SkipProtocol: rd.proto})
				if err != nil {
					cancel()
					return err
				}
				events, subscribed, stop = ch, true, cancel
			}
			sel, err := rd.selectRoutes(specs)
			if err != nil {
				return err
			}
			rd.d.setRedistributed(sel)
		}
	}
}

var errSubscriptionEnded = errors.New("the kernel's route events ended")

// selectRoutes lists the tables the specs read and builds one announcement
// per Redistribution with the prefixes it selects.
func (rd *redistributor) selectRoutes(specs map[string]*config.RedistributionSpec) (map[string]*config.AnnouncementSpec, error) {
	links, err := rd.src.Links()
	if err != nil {
		return nil, err
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Index] = l.Name
	}
	tables := map[int][]fib.KernelRoute{}
	out := map[string]*config.AnnouncementSpec{}
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		spec := specs[name]
		t := spec.EffectiveTable()
		rs, ok := tables[t]
		if !ok {
			if rs, err = rd.src.Routes(t); err != nil {
				return nil, err
			}
			tables[t] = rs
		}
		protos, _ := spec.ProtocolNumbers() // validated
		ann := &config.AnnouncementSpec{Communities: spec.Communities, LargeCommunities: spec.LargeCommunities,
			LocalPreference: spec.LocalPreference, MED: spec.MED}
		seen := map[netip.Prefix]bool{}
		for i := range rs {
			kr := &rs[i]
			p := kr.Prefix.Masked()
			if seen[p] || !rd.selects(spec, protos, kr, names) {
				continue
			}
			seen[p] = true
			ann.Prefixes = append(ann.Prefixes, p)
		}
		slices.SortFunc(ann.Prefixes, comparePrefix)
		if len(ann.Prefixes) > 0 {
			out[name] = ann
		}
	}
	return out, nil
}

// selects reports whether spec takes kr.
func (rd *redistributor) selects(spec *config.RedistributionSpec, protos []int, kr *fib.KernelRoute, names map[int]string) bool {
	if kr.Protocol == rd.proto {
		return false
	}
	p := kr.Prefix
	a := p.Addr()
	if a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || (a.Is4() && p.Bits() >= 4 && netip.MustParsePrefix("240.0.0.0/4").Contains(a)) {
		return false
	}
	connected := kr.Protocol == protoKernel && kr.Type == fib.TypeUnicast && len(kr.NextHops) > 0 &&
		!slices.ContainsFunc(kr.NextHops, func(nh fib.NextHop) bool { return nh.Addr.IsValid() })
	switch spec.Source {
	case config.RedistributeConnected:
		if !connected {
			return false
		}
	case config.RedistributeKernel:
		if connected || kr.Protocol == protoKernel {
			return false
		}
		if len(protos) > 0 && !slices.Contains(protos, int(kr.Protocol)) {
			return false
		}
		switch kr.Type {
		case fib.TypeUnicast, fib.TypeBlackhole, fib.TypeUnreachable, fib.TypeProhibit:
		default:
			return false
		}
	default:
		return false
	}
	if len(spec.Interfaces) > 0 && !slices.ContainsFunc(kr.NextHops, func(nh fib.NextHop) bool {
		name := names[nh.Ifindex]
		return name != "" && slices.ContainsFunc(spec.Interfaces, func(pat string) bool {
			ok, _ := path.Match(pat, name)
			return ok
		})
	}) {
		return false
	}
	if len(spec.PrefixSet) == 0 {
		return p.Bits() > 0
	}
	for _, m := range spec.PrefixSet {
		if m.Matches(p) && (p.Bits() > 0 || m.Prefix.Bits() == 0) {
			return true
		}
	}
	return false
}

// setRedistributed replaces the redistributed announcements.
func (d *Daemon) setRedistributed(sel map[string]*config.AnnouncementSpec) {
	d.originMu.Lock()
	defer d.originMu.Unlock()
	if len(sel) == 0 && len(d.annRedist) == 0 {
		return
	}
	if maps.EqualFunc(sel, d.annRedist, func(a, b *config.AnnouncementSpec) bool { return config.SpecEqual(a, b) }) {
		return
	}
	d.annRedist = sel
	d.rebuildOriginsLocked()
}
