package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// conn is one connection slot of a peer: an FSM, its timers, and the TCP
// connection it currently has (link, nil in Idle, Connect and Active
// without a connection). The driver owns it.
type conn struct {
	p         *Peer
	id        uint64
	fsm       *FSM
	secondary bool
	t         *link

	timers   [StableTimer + 1]interface{ Stop() bool }
	timerGen [StableTimer + 1]uint64
}

// link is one TCP connection. A new one is made for every connection, so
// that the goroutines of an old connection never see a new one's state.
// The driver owns the plain fields; the reader and writer touch only the
// atomics, the queues and nc.
type link struct {
	c        *conn
	nc       net.Conn
	outbound bool

	localOpen        *wire.Open
	open             *wire.Open
	neg              *Negotiated
	peerNotification *wire.Notification
	readErr          error // set by the reader or writer before it posts its event
	session          *Session

	recvOpts    atomic.Pointer[wire.Options]
	established atomic.Bool
	delivering  atomic.Bool
	lastRecv    atomic.Int64 // unix nanoseconds
	sendHold    atomic.Int64 // time.Duration; 0 until Established

	urgent  chan []byte // OPEN, KEEPALIVE, NOTIFICATION
	bulk    chan []byte // UPDATE and ROUTE-REFRESH
	closing chan struct{}
	// readerDone is closed when the reader has stopped reading; the writer
	// waits for it (bounded) before closing the socket.
	readerDone chan struct{}
	final      []byte // the NOTIFICATION flushed before closing; set before closing is closed
	once       sync.Once
	downErr    error // why the connection was dropped; set before closing is closed
	// handlerMu is held around every Handler call of the reader, so
	// that SessionDown, called as soon as the connection is dropped (not
	// when the reader has finished draining it), never overlaps one; down
	// is set then, and the reader delivers nothing more.
	handlerMu sync.Mutex
	down      bool
	downOnce  sync.Once
}

// attach gives c a new TCP connection and starts its reader and writer.
func (c *conn) attach(nc net.Conn, outbound bool) {
	t := &link{c: c, nc: nc, outbound: outbound,
		urgent: make(chan []byte, 16), bulk: make(chan []byte, 256), closing: make(chan struct{}),
		readerDone: make(chan struct{})}
	t.lastRecv.Store(c.p.opt.Clock.Now().UnixNano())
	c.t = t
	c.p.wg.Add(3)
	go func() { defer c.p.wg.Done(); t.readLoop() }()
	go func() { defer c.p.wg.Done(); t.writeLoop() }()
	go func() {
		defer c.p.wg.Done()
		// The session is down when the driver drops the connection, not
		// when the reader has drained it (the reader may wait up to
		// lingerTime for a peer that never closes: a dead link).
		select {
		case <-t.closing:
		case <-c.p.done:
		case <-t.readerDone:
		}
		t.sessionDown()
	}()
}

// drop closes c's connection, flushing n first when given, and detaches it.
func (c *conn) drop(n *wire.Notification, reason error) {
	t := c.t
	if t == nil {
		return
	}
	c.t = nil
	t.once.Do(func() {
		if n != nil {
			t.final = n.AppendTo(nil, wire.Options{})
		}
		t.downErr = reason
		close(t.closing)
		// A writer stuck on a full socket gets two seconds more.
		t.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	})
}

// sendUrgent queues a message on the urgent lane. The lane is drained
// first and is never full in practice (a few messages per hold time); if
// it is, the message is dropped rather than blocking the driver, and the
// hold timer deals with a peer that does not read.
func (c *conn) sendUrgent(msg []byte, typ iana.MsgType) {
	t := c.t
	if t == nil {
		return
	}
	select {
	case t.urgent <- msg:
		c.p.stats.sent(typ)
	default:
		c.p.log.Warn("urgent queue full; message dropped", "type", typ)
	}
}

func (c *conn) startTimer(t Timer, d time.Duration) {
	c.stopTimer(t)
	c.timerGen[t]++
	gen, p := c.timerGen[t], c.p
	c.timers[t] = p.opt.Clock.AfterFunc(d, func() {
		p.post(event{kind: evTimer, c: c, timer: t, gen: gen})
	})
}

func (c *conn) stopTimer(t Timer) {
	if c.timers[t] != nil {
		c.timers[t].Stop()
		c.timers[t] = nil
	}
	c.timerGen[t]++
}

func (c *conn) stopTimers() {
	for t := range c.timers {
		c.stopTimer(Timer(t))
	}
}

// postFSM hands an FSM event from the reader or writer to the driver and,
// when wait is set, waits until the driver has handled it (so that the
// reader reads the next message under the state that event produced).
func (t *link) postFSM(ev Event, msg wire.Message, wait bool) {
	c := t.c
	e := event{kind: evFSM, c: c, t: t, fsm: ev, msg: msg}
	if wait {
		e.ack = make(chan struct{})
	}
	if !c.p.post(e) || !wait {
		return
	}
	select {
	case <-e.ack:
	case <-c.p.done:
	}
}

// readLoop is the reader goroutine: framing, decoding, and delivery.
func (t *link) readLoop() {
	c, nc := t.c, t.nc
	defer close(t.readerDone)
	var s *Session
	defer func() {
		if r := recover(); r != nil {
			c.p.log.Error("peer reader panicked; resetting this peer", "panic", r, "stack", string(debug.Stack()))
			c.p.post(event{kind: evPanic, c: c, t: t, err: fmt.Errorf("internal error in the reader: %v", r)})
			nc.Close()
		}
		// Wait until the driver has dropped the connection, so that the
		// reason and the graceful-restart decision are known.
		select {
		case <-t.closing:
		case <-c.p.done:
		}
		t.sessionDown()
	}()
	rd := transport.NewReader(nc)
	batch := make([]*wire.Update, 0, 64)
	// The batch's UPDATEs are decoded into memory reused once the
	// Handler has had them (it keeps nothing of them: see Handler).
	var dec wire.UpdateDecoder
	deliver := func() {
		t.deliver(s, batch)
		batch = batch[:0]
		dec.Reset()
	}
	for {
		typ, msg, err := rd.ReadMessage()
		if err != nil {
			if len(batch) > 0 {
				deliver()
			}
			t.readFailed(err)
			if fault.As(err) != nil {
				t.drain()
			}
			return
		}
		select {
		case <-t.closing:
			// We are closing: read and drop what still comes, so that
			// unread data does not make our close an RST that destroys
			// the NOTIFICATION we just sent (see linger).
			continue
		default:
		}
		now := c.p.opt.Clock.Now()
		t.lastRecv.Store(now.UnixNano())
		c.p.stats.received(typ)
		body := msg[wire.HeaderLen:]
		if t.established.Load() {
			if s == nil {
				s = t.session
				if o := t.recvOpts.Load(); o != nil && o.ExtendedMessage {
					rd.SetMaxLength(wire.MaxExtendedLen)
				}
			}
			switch typ {
			case iana.MsgUpdate:
				u, err := dec.Decode(body, *t.recvOpts.Load())
				if f := fault.As(err); f != nil {
					c.p.noteFault(f)
					if f.Action == fault.SessionReset || u == nil {
						t.deliver(s, batch)
						t.postFSM(Event{Type: UpdateMsgErr, Code: f.Code, Subcode: f.Subcode, Data: f.Data}, nil, true)
						t.drain()
						return
					}
					c.p.log.Warn("malformed UPDATE handled per RFC 7606", "action", f.Action, "attr", f.Attr, "reason", f.Reason, "data", f.DataHex())
				}
				batch = append(batch, u)
				// Batch while whole messages are already buffered: the
				// slices stay valid because the Reader does not refill.
				if len(batch) == cap(batch) || !rd.HasMessage() {
					deliver()
				}
				continue
			case iana.MsgKeepalive:
				if len(batch) > 0 && !rd.HasMessage() {
					deliver()
				}
				continue
			case iana.MsgRouteRefresh:
				deliver()
				rr, err := wire.DecodeRouteRefresh(body)
				if f := fault.As(err); f != nil {
					t.postFSM(Event{Type: UpdateMsgErr, Code: f.Code, Subcode: f.Subcode, Data: f.Data}, nil, true)
					t.drain()
					return
				}
				if c.p.opt.Handler != nil {
					t.handlerMu.Lock()
					if !t.down {
						c.p.opt.Handler.RouteRefresh(s, rr)
					}
					t.handlerMu.Unlock()
				}
				continue
			}
			deliver()
		}
		// Before Established, and OPEN/NOTIFICATION at any time: the
		// driver decides, and the reader waits for it.
		switch typ {
		case iana.MsgOpen:
			m, err := wire.DecodeBody(typ, body, wire.Options{})
			if f := fault.As(err); f != nil {
				t.postFSM(Event{Type: BGPOpenMsgErr, Code: f.Code, Subcode: f.Subcode, Data: f.Data}, nil, true)
				t.drain()
				return
			}
			t.postFSM(Event{Type: BGPOpen}, m, true)
		case iana.MsgNotification:
			n, err := wire.DecodeNotification(body)
			if err != nil {
				n = &wire.Notification{}
			}
			t.postFSM(Event{Type: NotifMsg}, n, true)
			return
		case iana.MsgKeepalive:
			t.postFSM(Event{Type: KeepAliveMsg}, nil, true)
		case iana.MsgUpdate, iana.MsgRouteRefresh:
			t.postFSM(Event{Type: UpdateMsg}, nil, true)
		}
		select {
		case <-t.closing:
			t.drain()
			return
		default:
		}
	}
}

// deliver hands a batch to the Handler, marking the reader busy so the hold
// timer knows we, not the peer, are the slow side.
func (t *link) deliver(s *Session, batch []*wire.Update) {
	c := t.c
	if len(batch) == 0 || s == nil || c.p.opt.Handler == nil {
		return
	}
	t.delivering.Store(true)
	t.handlerMu.Lock()
	if !t.down {
		c.p.opt.Handler.Updates(s, batch)
	}
	t.handlerMu.Unlock()
	t.delivering.Store(false)
	t.lastRecv.Store(c.p.opt.Clock.Now().UnixNano())
}

// sessionDown tells the Handler, once, that an Established session is
// down; it waits for a Handler call of the reader in progress, and the
// reader delivers nothing after it.
func (t *link) sessionDown() {
	t.downOnce.Do(func() {
		c := t.c
		t.handlerMu.Lock()
		t.down = true
		t.handlerMu.Unlock()
		if !t.established.Load() || c.p.opt.Handler == nil {
			return
		}
		s := t.session
		if s == nil {
			return
		}
		select {
		case <-t.closing:
		default:
			// Reached from readerDone or done without a drop: the
			// reason and graceful decision come with the drop.
			select {
			case <-t.closing:
			case <-c.p.done:
			}
		}
		c.p.opt.Handler.SessionDown(s, t.downErr, t.graceful())
		c.p.stats.sessionDown(s)
	})
}

// readFailed reports a read error to the driver as the right event.
func (t *link) readFailed(err error) {
	c := t.c
	select {
	case <-t.closing:
		return // we closed it
	default:
	}
	if f := fault.As(err); f != nil {
		c.p.noteFault(f)
		t.postFSM(Event{Type: BGPHeaderErr, Code: f.Code, Subcode: f.Subcode, Data: f.Data}, nil, true)
		return
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("the peer closed the connection")
	}
	t.readErr = err
	t.postFSM(Event{Type: TCPConnectionFails}, nil, true)
}

// drain waits for the driver to close the connection after the reader
// reported a fatal error (so that the NOTIFICATION is flushed first), then
// reads and drops what the peer still sends until it closes or the writer's
// linger deadline ends the read (see linger).
func (t *link) drain() {
	c := t.c
	select {
	case <-t.closing:
	case <-c.p.done:
		return
	}
	var buf [4096]byte
	for {
		if _, err := t.nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// graceful reports whether the peer's routes should be kept as stale: the
// peer announced graceful restart and the session ended without a Hard
// Reset (RFC 4724 §4.2, RFC 8538 §3).
func (t *link) graceful() bool {
	if t.neg == nil || t.neg.GracefulRestart == nil {
		return false
	}
	notifs := []*wire.Notification{t.peerNotification}
	if len(t.final) > wire.HeaderLen+1 {
		notifs = append(notifs, &wire.Notification{Code: iana.NotifCode(t.final[wire.HeaderLen]), Subcode: t.final[wire.HeaderLen+1]})
	}
	for _, n := range notifs {
		if n == nil {
			continue
		}
		// Without the N bit on both sides every NOTIFICATION ends GR.
		if !t.neg.GracefulRestart.Notification {
			return false
		}
		if n.Code == iana.NotifCease && n.Subcode == uint8(iana.CeaseHardReset) {
			return false
		}
	}
	return true
}

// writeLoop is the writer goroutine: the urgent lane first, coalesced
// writes, a deadline on every write (RFC 9687), and the final NOTIFICATION.
func (t *link) writeLoop() {
	c, nc := t.c, t.nc
	defer nc.Close()
	defer func() {
		if r := recover(); r != nil {
			c.p.log.Error("peer writer panicked; resetting this peer", "panic", r, "stack", string(debug.Stack()))
			c.p.post(event{kind: evPanic, c: c, t: t, err: fmt.Errorf("internal error in the writer: %v", r)})
		}
	}()
	w := transport.NewWriter(nc)
	for {
		var msg []byte
		select {
		case msg = <-t.urgent:
		default:
			select {
			case msg = <-t.urgent:
			case msg = <-t.bulk:
			case <-t.closing:
				t.flushFinal(nc, w)
				return
			}
		}
		if hold := time.Duration(t.sendHold.Load()); hold > 0 {
			nc.SetWriteDeadline(time.Now().Add(hold))
		} else {
			nc.SetWriteDeadline(time.Now().Add(4 * time.Minute))
		}
		err := w.WriteMessage(msg)
	more:
		for err == nil {
			select {
			case m := <-t.urgent:
				err = w.WriteMessage(m)
			default:
				select {
				case m := <-t.urgent:
					err = w.WriteMessage(m)
				case m := <-t.bulk:
					err = w.WriteMessage(m)
				default:
					break more
				}
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			select {
			case <-t.closing:
				return
			default:
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.p.stats.setError(fmt.Sprintf("send hold timer expired: the peer read nothing for %s", time.Duration(t.sendHold.Load())))
				t.postFSM(Event{Type: SendHoldTimerExpires}, nil, false)
			} else {
				t.readErr = err
				t.postFSM(Event{Type: TCPConnectionFails}, nil, false)
			}
			<-t.closing
			return
		}
	}
}

// flushFinal writes what the urgent lane holds (the NOTIFICATION is there)
// with a short deadline, then returns so the connection closes.
func (t *link) flushFinal(nc net.Conn, w *transport.Writer) {
	nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	for {
		select {
		case m := <-t.urgent:
			if w.WriteMessage(m) != nil {
				return
			}
		default:
			w.Flush()
			t.linger(nc)
			return
		}
	}
}

// lingerTime bounds how long a closing connection waits for the peer to
// close its side after our NOTIFICATION.
const lingerTime = 2 * time.Second

// linger waits, at most lingerTime, until the reader has seen the peer
// close after our NOTIFICATION; the socket is closed after it. Closing a
// socket that still has, or then receives, unread data makes the kernel
// send an RST instead of a FIN, and an RST makes the peer's kernel throw
// away what it had not yet read: our NOTIFICATION. We do not half-close
// first either: a peer that reads the NOTIFICATION and our FIN together
// may take the close for the reason (FRR 8.4 then loses the RFC 9003
// message), so the peer closes first and reads the NOTIFICATION alone.
func (t *link) linger(nc net.Conn) {
	nc.SetReadDeadline(time.Now().Add(lingerTime))
	<-t.readerDone
}

// Session is an Established session, handed to the Handler. Its exported
// fields are immutable.
type Session struct {
	peer       *Peer
	t          *link
	Key        Key
	LocalAS    uint32
	Negotiated *Negotiated
	LocalAddr  netip.AddrPort
	RemoteAddr netip.AddrPort
	Since      time.Time
}

// ErrSessionClosed is returned by Send after the session has ended.
var ErrSessionClosed = errors.New("peer: session closed")

// Send queues pre-encoded UPDATE (or ROUTE-REFRESH) messages, encoded with
// Negotiated.Send options. It blocks while the bulk queue is full, until
// ctx ends or the session closes. The buffers must not be modified
// afterwards (one buffer may be shared by many sessions).
func (s *Session) Send(ctx context.Context, msgs ...[]byte) error {
	for _, m := range msgs {
		select {
		case s.t.bulk <- m:
			if len(m) > wire.HeaderLen {
				s.peer.stats.sent(iana.MsgType(m[18]))
			}
		case <-s.t.closing:
			return ErrSessionClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.t.closing }

// Peer is the peer the session belongs to.
func (s *Session) Peer() *Peer { return s.peer }

// IBGP reports whether the session is internal.
func (s *Session) IBGP() bool { return s.Negotiated.PeerAS == s.LocalAS }
