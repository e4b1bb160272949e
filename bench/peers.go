package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// peers are the test peers of one measurement: injectors that push their
// streams once released, monitors that wait for the table.
type peers struct {
	injectors []*Injector
	monitors  []*Monitor
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// connectPeers establishes every monitor session and then every injector
// session with the target at topo.Addr, from inside ns, in parallel.
// Nothing is sent until release.
//
// alive is polled meanwhile: a daemon that dies gives up at once. hold is
// the hold time the test peers offer, in seconds (0: holdTime).
func connectPeers(ctx context.Context, ns *netns.NS, topo *Topology, streams []*Stream, exp *Expect, timeout time.Duration, hold uint16, alive func() error) (*peers, error) {
	cctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("sessions not up within %s", timeout))
	defer cancel()
	dead := make(chan error, 1)
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
				if err := alive(); err != nil {
					dead <- err
					cancel()
					return
				}
			}
		}
	}()
	died := func(err error) error {
		select {
		case d := <-dead:
			return d
		default:
			return err
		}
	}
	remote := netip.AddrPortFrom(topo.Addr, 179)
	dial := func(list []Neighbor) ([]*session, error) {
		out := make([]*session, len(list))
		errs := make([]error, len(list))
		var wg sync.WaitGroup
		for i, n := range list {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], errs[i] = connect(cctx, dialer{ns: ns, local: n.Addr}, remote, speaker{AS: n.AS, RouterID: n.Addr, Hold: hold})
			}()
		}
		wg.Wait()
		return out, errors.Join(errs...)
	}
	closeAll := func(ss []*session) {
		for _, s := range ss {
			if s != nil {
				s.conn.Close()
			}
		}
	}
	ms, err := dial(topo.Monitors)
	if err != nil {
		closeAll(ms)
		return nil, died(fmt.Errorf("monitor sessions: %w", err))
	}
	is, err := dial(topo.Injectors)
	if err != nil {
		closeAll(ms)
		closeAll(is)
		return nil, died(fmt.Errorf("injector sessions: %w", err))
	}
	p := &peers{}
	for i, s := range is {
		p.injectors = append(p.injectors, newInjector(s, streams[i]))
	}
	for _, s := range ms {
		p.monitors = append(p.monitors, newMonitor(s, exp))
	}
	return p, nil
}

// start runs the monitors' readers at once and the injectors, which push
// their tables when release closes.
func (p *peers) start(release <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for _, m := range p.monitors {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); m.run(ctx) }()
	}
	for _, in := range p.injectors {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); in.run(ctx, release) }()
	}
}

// stop closes every session and waits for the goroutines.
func (p *peers) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	for _, in := range p.injectors {
		in.close()
	}
	for _, m := range p.monitors {
		m.close()
	}
	p.wg.Wait()
	for _, in := range p.injectors {
		<-in.readDone
	}
}

// allDone closes when every monitor holds the whole table.
func (p *peers) allDone() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for _, m := range p.monitors {
			<-m.done
		}
		close(ch)
	}()
	return ch
}

// t0 is the earliest first write of an injector (zero before any).
func (p *peers) t0() time.Time {
	var t time.Time
	for _, in := range p.injectors {
		if s := in.startedAt(); !s.IsZero() && (t.IsZero() || s.Before(t)) {
			t = s
		}
	}
	return t
}

// tEnd is the latest monitor completion (zero unless all are done).
func (p *peers) tEnd() time.Time {
	var t time.Time
	for _, m := range p.monitors {
		d := m.doneTime()
		if d.IsZero() {
			return time.Time{}
		}
		if d.After(t) {
			t = d
		}
	}
	return t
}

// written is when the last injector had handed its whole table to the
// kernel (zero unless all have).
func (p *peers) written() time.Time {
	var t time.Time
	for _, in := range p.injectors {
		w := in.writtenAt()
		if w.IsZero() {
			return time.Time{}
		}
		if w.After(t) {
			t = w
		}
	}
	return t
}

// firstAnnouncement is the earliest time a monitor got a route.
func (p *peers) firstAnnouncement() time.Time {
	var t time.Time
	for _, m := range p.monitors {
		if f := m.firstTime(); !f.IsZero() && (t.IsZero() || f.Before(t)) {
			t = f
		}
	}
	return t
}

// err is the first session failure, if any.
func (p *peers) err() error {
	for i, in := range p.injectors {
		if err := in.Err(); err != nil {
			return fmt.Errorf("injector %d: %w", i+1, err)
		}
	}
	for i, m := range p.monitors {
		if err := m.Err(); err != nil {
			return fmt.Errorf("monitor %d: %w", i+1, err)
		}
	}
	return nil
}

// progress sums the monitors' counters.
func (p *peers) progress() (held, correct, announced, updates, unexpected int64) {
	for _, m := range p.monitors {
		held += m.held.Load()
		correct += m.correct.Load()
		announced += m.announced.Load()
		updates += m.updates.Load()
		unexpected += m.unexpected.Load()
	}
	return
}

// keepalivesReceived counts the KEEPALIVEs every test peer has received
// from the other end since its session came up.
func (p *peers) keepalivesReceived() int64 {
	var n int64
	for _, in := range p.injectors {
		n += in.s.keepalivesIn.Load()
	}
	for _, m := range p.monitors {
		n += m.s.keepalivesIn.Load()
	}
	return n
}

// injectorUpdates counts the UPDATEs with routes the injectors received,
// and how many of them withdrew routes.
func (p *peers) injectorUpdates() (n, withdrawals int64) {
	for _, in := range p.injectors {
		n += in.received.Load()
		withdrawals += in.withdrawals.Load()
	}
	return n, withdrawals
}

// pairDirect connects each injector straight to a monitor of its own over
// loopback TCP in this process's namespace (no target): the self-check,
// and the unit tests. exp[j] is monitor j's expectation; both ends offer
// hold seconds of hold time (0: holdTime).
func pairDirect(ctx context.Context, streams []*Stream, exp []*Expect, as []uint32, hold uint16) (*peers, error) {
	p := &peers{}
	for j := range streams {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.stop()
			return nil, err
		}
		type res struct {
			s   *session
			err error
		}
		accepted := make(chan res, 1)
		monAS := uint32(MonitorAS)
		go func() {
			c, err := l.Accept()
			if err != nil {
				accepted <- res{err: err}
				return
			}
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			s, err := handshake(hctx, c, speaker{AS: monAS, RouterID: netip.MustParseAddr("127.0.0.2"), Hold: hold})
			if err != nil {
				c.Close()
			}
			accepted <- res{s, err}
		}()
		remote := netip.MustParseAddrPort(l.Addr().String())
		is, err := connect(ctx, dialer{}, remote, speaker{AS: as[j], RouterID: netip.AddrFrom4([4]byte{127, 0, 1, byte(j + 1)}), Hold: hold})
		r := <-accepted
		l.Close()
		if err == nil {
			err = r.err
		}
		if err != nil {
			if is != nil {
				is.conn.Close()
			}
			if r.s != nil {
				r.s.conn.Close()
			}
			p.stop()
			return nil, err
		}
		p.injectors = append(p.injectors, newInjector(is, streams[j]))
		p.monitors = append(p.monitors, newMonitor(r.s, exp[j]))
	}
	return p, nil
}
