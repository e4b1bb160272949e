package fake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/godwit-bgp/godwit/fib"
)

// ProtoKernel is the protocol of connected routes (RTPROT_KERNEL).
const ProtoKernel fib.Protocol = 2

// eventBuffer is the capacity of a subscription's channel; past it events
// are dropped and the subscriber gets fib.EventLost, as from a netlink
// socket that overflowed.
const eventBuffer = 256

// Kernel is an in-memory kernel routing table with interfaces. It
// implements fib.Backend and fib.RouteSource. All methods are safe for
// concurrent use (mu guards everything).
type Kernel struct {
	mu     sync.Mutex
	routes map[ident]fib.KernelRoute
	links  map[int]*fib.Link
	conn   map[int]netip.Prefix // the connected network of each link
	subs   map[*sub]struct{}
	fail   func(proto fib.Protocol, op fib.Op) error
	log    []string
}

// ident is the kernel's identity of a route: table, destination and metric
// (with tos, always 0 here). The protocol is not part of it.
type ident struct {
	table  int
	prefix netip.Prefix
	metric int
}

type sub struct {
	opts fib.SubscribeOptions
	ch   chan fib.Event
	lost bool
}

// New returns an empty kernel.
func New() *Kernel {
	return &Kernel{
		routes: map[ident]fib.KernelRoute{},
		links:  map[int]*fib.Link{},
		conn:   map[int]netip.Prefix{},
		subs:   map[*sub]struct{}{},
	}
}

// AddLink adds an interface (up, with carrier) and its connected network
// (a route of protocol kernel, scope link, in the main table), as giving an
// interface an address does. cidr may be empty.
func (k *Kernel) AddLink(index int, name string, cidr string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := &fib.Link{Index: index, Name: name, Up: true}
	k.links[index] = l
	k.emitLocked(fib.Event{Kind: fib.EventLink, Link: *l})
	if cidr != "" {
		k.conn[index] = netip.MustParsePrefix(cidr).Masked()
		k.connectLocked(index)
	}
}

func (k *Kernel) connectLocked(index int) {
	p, ok := k.conn[index]
	if !ok {
		return
	}
	k.putLocked(fib.KernelRoute{
		Route:    fib.Route{Table: fib.MainTable, Prefix: p, NextHops: []fib.NextHop{{Ifindex: index}}}.Canonical(),
		Protocol: ProtoKernel,
		Type:     fib.TypeUnicast,
	})
}

// SetLinkUp takes an interface up or down. Going down removes, without
// route events, every route through it, as the kernel does for IPv4; coming
// up restores its connected network.
func (k *Kernel) SetLinkUp(index int, up bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.links[index]
	if l == nil {
		return
	}
	l.Up = up
	if !up {
		for id, kr := range k.routes {
			if slices.ContainsFunc(kr.NextHops, func(nh fib.NextHop) bool { return nh.Ifindex == index }) {
				delete(k.routes, id)
			}
		}
	}
	k.emitLocked(fib.Event{Kind: fib.EventLink, Link: *l})
	if up {
		k.connectLocked(index)
	}
}

// AddRoute installs a route as another program would (with its own
// protocol), with an event.
func (k *Kernel) AddRoute(kr fib.KernelRoute) {
	if kr.Type == 0 {
		kr.Type = fib.TypeUnicast
		if kr.Blackhole {
			kr.Type = fib.TypeBlackhole
		}
	}
	kr.Route = kr.Canonical()
	kr.NextHops = slices.Clone(kr.NextHops)
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, nh := range kr.NextHops {
		if ifindex, err := k.resolveLocked(nh); err == nil {
			kr.NextHops[i].Ifindex = ifindex
		}
	}
	k.putLocked(kr)
}

// DeleteRoute removes the route of table, prefix and metric, with an event.
func (k *Kernel) DeleteRoute(table int, prefix string, metric int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := ident{table, netip.MustParsePrefix(prefix).Masked(), metric}
	if kr, ok := k.routes[id]; ok {
		delete(k.routes, id)
		k.emitLocked(fib.Event{Kind: fib.EventRouteDelete, Route: kr})
	}
}

// FailWith makes Apply fail every op for which f returns an error (nil f:
// none fail). Other ops of the batch go ahead, as in the kernel.
func (k *Kernel) FailWith(f func(proto fib.Protocol, op fib.Op) error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = f
}

// Log returns the ops applied (or attempted) since the last call, one
// "add 10.1.0.0/24 table 254 metric 20" per op, with " failed" appended
// to the ones that failed.
func (k *Kernel) Log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.log
	k.log = nil
	return l
}

func (k *Kernel) putLocked(kr fib.KernelRoute) {
	k.routes[ident{kr.Table, kr.Prefix, kr.Metric}] = kr
	k.emitLocked(fib.Event{Kind: fib.EventRouteAdd, Route: kr})
}

func (k *Kernel) emitLocked(ev fib.Event) {
	for s := range k.subs {
		switch ev.Kind {
		case fib.EventRouteAdd, fib.EventRouteDelete:
			if !s.opts.Routes || (s.opts.SkipProtocol != 0 && ev.Route.Protocol == s.opts.SkipProtocol) {
				continue
			}
		case fib.EventLink, fib.EventLinkDelete:
			if !s.opts.Links {
				continue
			}
		}
		if s.lost {
			select {
			case s.ch <- fib.Event{Kind: fib.EventLost}:
				s.lost = false
			default:
				continue
			}
		}
		select {
		case s.ch <- ev:
		default:
			s.lost = true
		}
	}
}

// List implements fib.Backend.
func (k *Kernel) List(table int, proto fib.Protocol) ([]fib.Route, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []fib.Route
	for _, kr := range k.routes {
		if kr.Table == table && kr.Protocol == proto {
			out = append(out, kr.Route)
		}
	}
	return out, nil
}

// Routes implements fib.RouteSource.
func (k *Kernel) Routes(table int) ([]fib.KernelRoute, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []fib.KernelRoute
	for _, kr := range k.routes {
		if kr.Table == table {
			out = append(out, kr)
		}
	}
	return out, nil
}

// Links implements fib.RouteSource.
func (k *Kernel) Links() ([]fib.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []fib.Link
	for _, l := range k.links {
		out = append(out, *l)
	}
	return out, nil
}

// Subscribe implements fib.Backend and fib.RouteSource.
func (k *Kernel) Subscribe(ctx context.Context, opts fib.SubscribeOptions) (<-chan fib.Event, error) {
	s := &sub{opts: opts, ch: make(chan fib.Event, eventBuffer)}
	k.mu.Lock()
	k.subs[s] = struct{}{}
	k.mu.Unlock()
	go func() {
		<-ctx.Done()
		k.mu.Lock()
		delete(k.subs, s)
		close(s.ch)
		k.mu.Unlock()
	}()
	return s.ch, nil
}

// Apply implements fib.Backend with the kernel's rules: an add finds no
// route of the same identity, a replace overwrites whatever has it (the
// reconciler must only replace its own), a delete matches the protocol too,
// and a gateway must be on a connected network of an interface that is up.
func (k *Kernel) Apply(proto fib.Protocol, ops []fib.Op) error {
	if err := proto.Validate(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	errs := make([]error, len(ops))
	failed := false
	for i, op := range ops {
		err := k.applyLocked(proto, op)
		entry := fmt.Sprintf("%s %s table %d metric %d", op.Kind, op.Route.Prefix, op.Route.Table, op.Route.Metric)
		if err != nil {
			entry += " failed"
			errs[i] = fmt.Errorf("%s %s: %w", op.Kind, op.Route.Prefix, err)
			failed = true
		}
		k.log = append(k.log, entry)
	}
	if failed {
		return &fib.ApplyError{Errs: errs}
	}
	return nil
}

func (k *Kernel) applyLocked(proto fib.Protocol, op fib.Op) error {
	if k.fail != nil {
		if err := k.fail(proto, op); err != nil {
			return err
		}
	}
	rt := op.Route.Canonical()
	id := ident{rt.Table, rt.Prefix, rt.Metric}
	cur, exists := k.routes[id]
	switch op.Kind {
	case fib.OpDelete:
		if !exists || cur.Protocol != proto {
			return fmt.Errorf("%w: %w", fib.ErrNotFound, syscall.ESRCH)
		}
		delete(k.routes, id)
		k.emitLocked(fib.Event{Kind: fib.EventRouteDelete, Route: cur})
		return nil
	case fib.OpAdd:
		if exists {
			return fmt.Errorf("%w: %w", fib.ErrExists, syscall.EEXIST)
		}
	case fib.OpReplace:
	default:
		return fmt.Errorf("unknown op %v", op.Kind)
	}
	if err := rt.Validate(); err != nil {
		return fmt.Errorf("%w: %v", syscall.EINVAL, err)
	}
	rt.NextHops = slices.Clone(rt.NextHops)
	for i, nh := range rt.NextHops {
		ifindex, err := k.resolveLocked(nh)
		if err != nil {
			return err
		}
		rt.NextHops[i].Ifindex = ifindex
	}
	typ := fib.TypeUnicast
	if rt.Blackhole {
		typ = fib.TypeBlackhole
	}
	k.putLocked(fib.KernelRoute{Route: rt, Protocol: proto, Type: typ})
	return nil
}

// resolveLocked finds the interface of a next hop as the kernel does when
// it checks a gateway: through a connected route of an interface that is
// up.
func (k *Kernel) resolveLocked(nh fib.NextHop) (int, error) {
	if nh.Ifindex != 0 {
		if l := k.links[nh.Ifindex]; l == nil {
			return 0, syscall.ENODEV
		} else if !l.Up {
			return 0, syscall.ENETDOWN
		}
		if !nh.Addr.IsValid() {
			return nh.Ifindex, nil
		}
	}
	for _, kr := range k.routes {
		if kr.Table != fib.MainTable || kr.Protocol != ProtoKernel || !kr.Prefix.Contains(nh.Addr) {
			continue
		}
		for _, c := range kr.NextHops {
			if l := k.links[c.Ifindex]; l != nil && l.Up && (nh.Ifindex == 0 || nh.Ifindex == c.Ifindex) {
				return c.Ifindex, nil
			}
		}
	}
	return 0, syscall.ENETUNREACH
}

// Text renders the routes of the given protocols (all when none is
// given), one line each, sorted by table, family, prefix, metric:
//
//	table 254 proto 200 10.1.0.0/24 metric 20 nexthop via 192.0.2.1 dev eth0 weight 1
//
// A blackhole reads "blackhole 10.9.0.0/24", other types likewise.
func (k *Kernel) Text(protos ...fib.Protocol) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var rs []fib.KernelRoute
	for _, kr := range k.routes {
		if len(protos) == 0 || slices.Contains(protos, kr.Protocol) {
			rs = append(rs, kr)
		}
	}
	slices.SortFunc(rs, func(a, b fib.KernelRoute) int {
		if c := cmp.Compare(a.Table, b.Table); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Prefix.Addr().BitLen(), b.Prefix.Addr().BitLen()); c != 0 {
			return c
		}
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()); c != 0 {
			return c
		}
		return cmp.Compare(a.Metric, b.Metric)
	})
	var b strings.Builder
	for _, kr := range rs {
		b.WriteString("table ")
		b.WriteString(strconv.Itoa(kr.Table))
		b.WriteString(" proto ")
		b.WriteString(kr.Protocol.String())
		b.WriteString(" ")
		if kr.Type != fib.TypeUnicast {
			b.WriteString(kr.Type.String())
			b.WriteString(" ")
		}
		b.WriteString(kr.Prefix.String())
		b.WriteString(" metric ")
		b.WriteString(strconv.Itoa(kr.Metric))
		for _, nh := range kr.NextHops {
			b.WriteString(" nexthop")
			if nh.Addr.IsValid() {
				b.WriteString(" via ")
				b.WriteString(nh.Addr.String())
			}
			if nh.Ifindex != 0 {
				b.WriteString(" dev ")
				if l := k.links[nh.Ifindex]; l != nil {
					b.WriteString(l.Name)
				} else {
					b.WriteString("#" + strconv.Itoa(nh.Ifindex))
				}
			}
			b.WriteString(" weight ")
			b.WriteString(strconv.Itoa(max(nh.Weight, 1)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ErrInjected is what tests usually make FailWith return.
var ErrInjected = errors.New("injected failure")

// NewReachable returns a kernel where every address is reachable: one
// interface (eth0, 198.18.0.0/15) and a default route for each family
// through it, as a node with a default route towards its fabric has. Tests
// of the layers above use it when next hops are not what they test.
func NewReachable() *Kernel {
	k := New()
	k.AddLink(1, "eth0", "198.18.0.0/15")
	k.AddRoute(fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix("0.0.0.0/0"),
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("198.18.0.1")}}}, Protocol: 3})
	k.AddRoute(fib.KernelRoute{Route: fib.Route{Table: fib.MainTable, Prefix: netip.MustParsePrefix("::/0"),
		NextHops: []fib.NextHop{{Ifindex: 1}}}, Protocol: 3})
	return k
}
