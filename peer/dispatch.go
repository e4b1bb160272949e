package peer

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Resolver finds the peer an incoming connection belongs to. The
// Dispatcher asks its resolvers in order; the first that claims the
// connection gets it. Configured peers by address come first; listen
// ranges (dynamic peers) and relayed BGP as a Service sessions plug in as
// further resolvers without changing the Dispatcher.
type Resolver interface {
	// Resolve is called on the accepting goroutine for every incoming
	// connection; it must not block. ok is false when the connection is
	// not this resolver's.
	Resolve(local, remote netip.AddrPort) (p *Peer, ok bool)
}

// Dispatcher hands incoming connections to peers. Connections nobody
// claims are closed at once and logged at most once a minute per source.
type Dispatcher struct {
	log *slog.Logger

	mu        sync.RWMutex
	byAddr    map[netip.Addr]*Peer // default VRF, no relay port
	resolvers []Resolver
	lastLog   map[netip.Addr]time.Time
	refused   uint64
}

// NewDispatcher returns an empty dispatcher.
func NewDispatcher(log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{log: log, byAddr: map[netip.Addr]*Peer{}, lastLog: map[netip.Addr]time.Time{}}
}

// Add makes p reachable by its address.
func (d *Dispatcher) Add(p *Peer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byAddr[p.Key().Addr.Unmap()] = p
}

// Remove forgets the peer at k.
func (d *Dispatcher) Remove(k Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byAddr, k.Addr.Unmap())
}

// AddResolver appends a resolver asked after the configured addresses.
func (d *Dispatcher) AddResolver(r Resolver) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resolvers = append(d.resolvers, r)
}

// Refused counts connections no peer claimed.
func (d *Dispatcher) Refused() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.refused
}

// Handle is a transport.ListenConfig Handler.
func (d *Dispatcher) Handle(nc net.Conn, local, remote netip.AddrPort) {
	d.mu.RLock()
	p := d.byAddr[remote.Addr().Unmap()]
	rs := d.resolvers
	d.mu.RUnlock()
	if p == nil {
		for _, r := range rs {
			if q, ok := r.Resolve(local, remote); ok {
				p = q
				break
			}
		}
	}
	if p != nil {
		p.Accept(nc)
		return
	}
	nc.Close()
	d.mu.Lock()
	d.refused++
	src := remote.Addr()
	now := time.Now()
	logIt := now.Sub(d.lastLog[src]) > time.Minute
	if logIt {
		d.lastLog[src] = now
		if len(d.lastLog) > 4096 {
			clear(d.lastLog)
		}
	}
	d.mu.Unlock()
	if logIt {
		d.log.Warn("connection from an unknown source refused", "remote", remote, "local", local)
	}
}
