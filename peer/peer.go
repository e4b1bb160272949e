package peer

// The goroutines of one Peer and what flows between them:
//
//	 daemon/API ──Start/Shutdown/Enable/Reset/Stop──┐
//	 Dispatcher ──Accept(conn)──────────────────────┤
//	 timers (Clock.AfterFunc) ──timer events────────┤ (bounded channel)
//	 dialer goroutine ──connected / failed──────────┤
//	 reader goroutine(s) ──OPEN, NOTIFICATION, ─────┤
//	   pre-Established KEEPALIVE (each waits        ▼
//	   for the driver's ack)                  ┌──────────┐
//	                                          │  driver  │ owns the FSMs, the
//	                                          │  (run)   │ conns, the timers
//	                                          └────┬─────┘
//	                     urgent queue: OPEN,        │
//	                     KEEPALIVE, NOTIFICATION    ▼
//	 Session.Send ──bulk queue: UPDATEs──▶ writer goroutine (one per conn) ──▶ TCP
//	 TCP ──▶ reader goroutine ──Updates(batch), RouteRefresh──▶ Handler (the RIB)
//
// The reader hands UPDATEs straight to the Handler once the session is
// Established; a slow Handler stops the reader, and TCP pushes back on the
// peer. While the reader is inside the Handler the hold timer does not
// expire (we are the slow side, not the peer). KEEPALIVE and NOTIFICATION
// travel on the urgent queue, which the writer always drains first, so
// UPDATE traffic never delays them in our queues. A peer that stops reading
// cannot wedge us: every write has a deadline (the RFC 9687 send hold
// timer).
//
// Each connection has its own FSM; normally there is one (the primary). A
// second connection from the peer while the first is past Active gets a
// second FSM, and collision detection (RFC 4271 §6.8) runs when an OPEN
// arrives on either; the loser is dumped with Cease / Connection Collision
// Resolution.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Handler is what the layer above (the RIB) provides. Its methods for one
// session are called in order: SessionUp, then any number of Updates and
// RouteRefresh calls, then SessionDown; calls for one session never
// overlap.
type Handler interface {
	// SessionUp is called when the session reaches Established, before any
	// UPDATE of it is delivered. It should return quickly.
	SessionUp(s *Session)
	// Updates delivers decoded UPDATEs in arrival order. The batch and
	// everything in it are valid only during the call: they point into
	// the reader's buffer, and their attributes live in the reader's
	// decoder (wire.UpdateDecoder), reused for the next batch. What must
	// be kept is copied (the RIB interns each set's canonical
	// encoding). Blocking here pushes back on the peer through TCP. Each
	// Update's Faults and Action say what RFC 7606 treatment applies; an
	// UPDATE whose fault resets the session is never delivered.
	Updates(s *Session, batch []*wire.Update)
	// RouteRefresh delivers a ROUTE-REFRESH (RFC 2918, RFC 7313).
	RouteRefresh(s *Session, rr *wire.RouteRefresh)
	// SessionDown is called once when the session leaves Established,
	// with the reason. hardReset is false when the peer may come back
	// with graceful restart (RFC 4724, RFC 8538) and its routes should be
	// kept as stale.
	SessionDown(s *Session, reason error, graceful bool)
}

// Clock is the time source of a Peer; tests inject their own.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) interface{ Stop() bool }
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	return time.AfterFunc(d, f)
}

// jitter scales d by a random factor in [0.75, 1] (RFC 4271 §10).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + 0.25*rand.Float64()))
}

// Options are a Peer's collaborators.
type Options struct {
	Handler Handler
	Logger  *slog.Logger
	Clock   Clock
	// Dial opens the TCP connection; nil uses transport.Dial.
	Dial func(ctx context.Context, cfg transport.DialConfig) (net.Conn, error)
	// Metrics receives counters; nil discards them.
	Metrics *Metrics
	// OnStateChange, when set, is called on the driver goroutine after
	// every state change of the peer (its primary connection). It must
	// not block and must not call the Peer's methods.
	OnStateChange func(k Key, from, to State)
	// RestartState, when set, gives the graceful restart capability's R
	// and F bits when each OPEN is built (overriding the Config's): they
	// are state, cleared when our restart is over, and changing them
	// needs no new session.
	RestartState func() (restarting, forwarding bool)
}

// Peer is one configured neighbour. Create it with New, run it with Start,
// end it with Stop. All methods are safe for concurrent use.
type Peer struct {
	opt    Options
	log    *slog.Logger
	events chan event
	done   chan struct{} // closed when the driver exits
	wg     sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context

	// cfg is replaced only by the driver (Update); read it via config().
	cfgMu sync.Mutex
	cfg   Config

	// Owned by the driver goroutine.
	primary   *conn
	secondary *conn
	nextID    uint64
	dialStop  context.CancelFunc
	// dialGen numbers dials; a result whose number is not the latest
	// belongs to a dial already given up on and is ignored.
	dialGen uint64

	stats stats

	// faultMu guards the rate limit of the malformed-input log (stats.go).
	faultMu      sync.Mutex
	faultLogged  time.Time
	faultSkipped int
}

// New returns a stopped peer for cfg.
func New(cfg Config, opt Options) *Peer {
	if opt.Clock == nil {
		opt.Clock = realClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Dial == nil {
		opt.Dial = transport.Dial
	}
	c := cfg.withDefaults()
	p := &Peer{
		opt:    opt,
		cfg:    c,
		events: make(chan event, 64),
		done:   make(chan struct{}),
	}
	p.log = opt.Logger.With("peer", c.Key.String())
	p.stats.init(c)
	return p
}

// Key is the peer's key.
func (p *Peer) Key() Key { return p.config().Key }

func (p *Peer) config() Config {
	p.cfgMu.Lock()
	defer p.cfgMu.Unlock()
	return p.cfg
}

type eventKind uint8

const (
	evFSM     eventKind = iota + 1 // an FSM event for conn c
	evTimer                        // timer t of conn c fired (gen must match)
	evDialed                       // the dialer connected (nc) or failed (err)
	evAccept                       // an incoming connection (nc)
	evCommand                      // an operator command (cmd)
	evPanic                        // a goroutine of conn c panicked
)

type event struct {
	kind  eventKind
	c     *conn
	t     *link // the connection an evFSM or evPanic came from
	fsm   Event
	timer Timer
	gen   uint64
	nc    net.Conn
	err   error
	msg   wire.Message
	cmd   command
	ack   chan struct{} // closed when the driver has handled the event
}

type command struct {
	op      string // "start", "shutdown", "reset", "update", "stop"
	hardSub iana.CeaseSubcode
	message string
	fam     nlri.Family // maxprefix
	limit   uint32      // maxprefix
	cfg     Config
	hard    bool
	reply   chan error
}

// Start runs the peer: it begins connecting (or waiting for the peer to
// connect, when passive). A peer that is to stay down starts with Start
// and an immediate Shutdown: a passive peer never dials, and an active one
// is stopped before its first dial completes. ctx bounds the peer's life.
func (p *Peer) Start(ctx context.Context) {
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Add(1)
	go p.run()
	p.command(command{op: "start"})
}

// Stop sends a Cease (Peer De-configured, or Hard Reset when hard is set
// for a daemon shutdown without graceful restart) and waits until every
// goroutine of the peer has ended.
func (p *Peer) Stop(sub iana.CeaseSubcode, hard bool) {
	if p.cancel == nil {
		return // never started
	}
	p.command(command{op: "stop", hard: hard, message: "", cfg: Config{}, reply: nil, hardSub: sub})
	p.cancel()
	p.wg.Wait()
}

// Shutdown administratively stops the session with an RFC 9003 message and
// keeps it down until Enable.
func (p *Peer) Shutdown(message string) { p.command(command{op: "shutdown", message: message}) }

// MaxPrefixes closes the session with Cease / Maximum Number of Prefixes
// Reached (RFC 4486 §4: the data is the family and the limit), sent as a
// Hard Reset when both sides set the N bit (RFC 8538 §5), and keeps it
// down until Enable; the status says why.
func (p *Peer) MaxPrefixes(f nlri.Family, limit uint32) {
	p.command(command{op: "maxprefix", fam: f, limit: limit})
}

// Enable starts a shut-down peer.
func (p *Peer) Enable() { p.command(command{op: "start"}) }

// Reset closes the session with Cease / Administrative Reset (and an RFC
// 9003 message) and lets it come back.
func (p *Peer) Reset(message string) { p.command(command{op: "reset", message: message}) }

// LinkDown drops the session at once because the interface it runs over
// went down (fast external failover, as FRR and BIRD do for directly
// connected eBGP): no NOTIFICATION can get through, so the connection is
// closed as if it had failed, and the peer reconnects by its usual
// back-off once the link is back.
func (p *Peer) LinkDown(ifname string) { p.command(command{op: "linkdown", message: ifname}) }

// Update applies a changed configuration. When the change affects the
// OPEN or the socket, the session is reset with Cease / Other
// Configuration Change; otherwise the session carries on.
func (p *Peer) Update(cfg Config) { p.command(command{op: "update", cfg: cfg.withDefaults()}) }

func (p *Peer) command(c command) {
	c.reply = make(chan error, 1)
	select {
	case p.events <- event{kind: evCommand, cmd: c}:
	case <-p.done:
		return
	}
	select {
	case <-c.reply:
	case <-p.done:
	}
}

// post hands an event to the driver; it gives up when the peer has ended.
func (p *Peer) post(e event) bool {
	select {
	case p.events <- e:
		return true
	case <-p.done:
		return false
	}
}

// Accept hands an incoming connection to the peer (the dispatcher calls
// it). The peer owns conn from then on.
func (p *Peer) Accept(nc net.Conn) {
	if !p.post(event{kind: evAccept, nc: nc}) {
		nc.Close()
	}
}

// run is the driver goroutine.
func (p *Peer) run() {
	defer p.wg.Done()
	defer close(p.done)
	defer p.teardown()
	p.primary = p.newConn(false)
	for {
		select {
		case <-p.ctx.Done():
			return
		case e := <-p.events:
			if p.handle(e) {
				return
			}
		}
	}
}

// handle processes one event, recovering from a panic by resetting the
// peer alone. It reports whether the driver must exit.
func (p *Peer) handle(e event) (exit bool) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("peer driver panicked; resetting this peer", "panic", r, "stack", string(debug.Stack()))
			p.stats.setError(fmt.Sprintf("internal error: %v", r))
			p.dropAll(&wire.Notification{Code: iana.NotifCease, Subcode: uint8(iana.CeaseUnspecific)}, errors.New("internal error"))
			p.primary = p.newConn(false)
			if p.stats.enabled() {
				p.stepConn(p.primary, Event{Type: AutomaticStart})
			}
		}
		if e.ack != nil {
			close(e.ack)
		}
	}()
	switch e.kind {
	case evCommand:
		return p.handleCommand(e.cmd)
	case evAccept:
		p.accept(e.nc)
	case evDialed:
		p.dialed(e.c, e.gen, e.nc, e.err)
	case evTimer:
		p.timerFired(e.c, e.timer, e.gen)
	case evFSM:
		if !p.live(e.c) || e.c.t != e.t {
			return false // from a connection already dropped
		}
		p.fsmEvent(e.c, e.fsm, e.msg)
	case evPanic:
		if p.live(e.c) && e.c.t == e.t {
			p.stats.setError(e.err.Error())
			p.stepConn(e.c, Event{Type: AutomaticStop, Code: iana.NotifCease, Subcode: uint8(iana.CeaseUnspecific)})
		}
	}
	return false
}

func (p *Peer) live(c *conn) bool { return c != nil && (c == p.primary || c == p.secondary) }

func (p *Peer) handleCommand(cmd command) bool {
	defer func() {
		if cmd.reply != nil {
			cmd.reply <- nil
		}
	}()
	switch cmd.op {
	case "start":
		p.stats.setAdmin(false, "")
		if p.primary.fsm.State() == Idle {
			p.stepConn(p.primary, Event{Type: ManualStart})
		}
	case "shutdown":
		p.stats.setAdmin(true, cmd.message)
		n := wire.NewShutdown(iana.CeaseAdministrativeShutdown, cmd.message)
		p.stopAll(Event{Type: ManualStop, Code: n.Code, Subcode: n.Subcode, Data: n.Data})
	case "maxprefix":
		p.stats.setAdmin(true, fmt.Sprintf("maximum number of prefixes reached (%d, %s)", cmd.limit, cmd.fam))
		data := binary.BigEndian.AppendUint16(nil, uint16(cmd.fam.AFI))
		data = append(data, byte(cmd.fam.SAFI))
		data = binary.BigEndian.AppendUint32(data, cmd.limit)
		p.stopAll(Event{Type: ManualStop, Code: iana.NotifCease, Subcode: uint8(iana.CeaseMaxPrefixesReached), Data: data})
	case "reset":
		n := wire.NewShutdown(iana.CeaseAdministrativeReset, cmd.message)
		p.stopAll(Event{Type: AutomaticStop, Code: n.Code, Subcode: n.Subcode, Data: n.Data})
	case "linkdown":
		for _, c := range []*conn{p.primary, p.secondary} {
			if c != nil && c.t != nil {
				p.stats.setError("interface " + cmd.message + " went down (fast external failover)")
				p.stepConn(c, Event{Type: TCPConnectionFails})
			}
		}
	case "update":
		old := p.config()
		p.cfgMu.Lock()
		p.cfg = cmd.cfg
		p.cfgMu.Unlock()
		p.stats.setConfig(cmd.cfg)
		if !old.SameSession(&cmd.cfg) {
			p.log.Info("configuration change needs a new session; resetting")
			p.stopAll(Event{Type: AutomaticStop, Code: iana.NotifCease, Subcode: uint8(iana.CeaseOtherConfigurationChange)})
			p.primary = p.newConn(false)
			if !p.stats.adminDown() {
				p.stepConn(p.primary, Event{Type: ManualStart})
			}
		}
	case "stop":
		ev := Event{Type: ManualStop, Code: iana.NotifCease, Subcode: uint8(cmd.hardSub)}
		if cmd.hardSub == 0 {
			ev.Subcode = uint8(iana.CeasePeerDeconfigured)
		}
		if cmd.hard {
			hr := wire.NewHardReset(wire.Notification{Code: iana.NotifCease, Subcode: ev.Subcode})
			ev.Code, ev.Subcode, ev.Data = hr.Code, hr.Subcode, hr.Data
		}
		p.stopAll(ev)
		return true
	}
	return false
}

// stopAll feeds ev to every connection.
func (p *Peer) stopAll(ev Event) {
	if p.secondary != nil {
		p.stepConn(p.secondary, ev)
	}
	p.stepConn(p.primary, ev)
}

// teardown closes every connection when the driver exits and waits for
// their goroutines.
func (p *Peer) teardown() {
	if p.dialStop != nil {
		p.dialStop()
	}
	p.dropAll(nil, errors.New("peer stopped"))
	for _, c := range []*conn{p.primary, p.secondary} {
		if c != nil {
			c.stopTimers()
		}
	}
}

func (p *Peer) dropAll(n *wire.Notification, reason error) {
	for _, c := range []*conn{p.primary, p.secondary} {
		if c != nil {
			c.drop(n, reason)
		}
	}
	p.secondary = nil
}

// newConn makes a connection slot with a fresh FSM.
func (p *Peer) newConn(secondary bool) *conn {
	p.nextID++
	cfg := p.config()
	fc := cfg.fsm()
	if secondary {
		fc.Passive = true
	}
	return &conn{p: p, id: p.nextID, fsm: NewFSM(fc), secondary: secondary}
}

// accept takes an incoming connection (§8.2.2 events 14 and 17).
func (p *Peer) accept(nc net.Conn) {
	pc := p.primary
	switch st := pc.fsm.State(); {
	case st == Idle && pc.fsm.enabled && !p.stats.adminDown() && p.secondary == nil:
		// Idle between attempts (the idle hold timer runs): a peer that
		// only dials out would never meet our own attempts, so its
		// connection is taken on a passive second connection, as FRR
		// and BIRD take it; established() makes it the primary.
		c := p.newConn(true)
		p.secondary = c
		c.attach(nc, false)
		p.stepConn(c, Event{Type: AutomaticStart})
		p.stepConn(c, Event{Type: TCPConnectionConfirmed})
	case st == Idle:
		// §8.2.2 Idle: refuse all incoming connections (stopped, shut
		// down, or a second connection already opening).
		p.log.Debug("refusing connection while Idle", "remote", nc.RemoteAddr())
		nc.Close()
	case (st == Connect || st == Active) && pc.t == nil:
		if p.dialStop != nil {
			p.dialStop()
			p.dialStop = nil
		}
		pc.attach(nc, false)
		p.stepConn(pc, Event{Type: TCPConnectionConfirmed})
	case p.secondary == nil:
		c := p.newConn(true)
		p.secondary = c
		c.attach(nc, false)
		p.stepConn(c, Event{Type: AutomaticStart})
		p.stepConn(c, Event{Type: TCPConnectionConfirmed})
	default:
		p.log.Debug("refusing a third connection", "remote", nc.RemoteAddr())
		nc.Close()
	}
}

// dialed takes the dialer's result for conn c.
func (p *Peer) dialed(c *conn, gen uint64, nc net.Conn, err error) {
	if gen != p.dialGen || !p.live(c) || c.t != nil || (c.fsm.State() != Connect) {
		if nc != nil {
			nc.Close()
		}
		return
	}
	p.dialStop = nil
	if err != nil {
		p.stats.setError(p.dialError(err))
		p.stepConn(c, Event{Type: TCPConnectionFails})
		return
	}
	c.attach(nc, true)
	p.stepConn(c, Event{Type: TCPConnectionAcked})
}

func (p *Peer) dialError(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return p.noAnswer()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return "Connect Socket: " + op.Err.Error()
	}
	return "Connect: " + err.Error()
}

// noAnswer explains a connection attempt that got no answer, pointing at
// the silent failures: a TCP MD5 key mismatch and GTSM.
func (p *Peer) noAnswer() string {
	cfg := p.config()
	switch {
	case cfg.Password != "":
		return fmt.Sprintf("Connect: no answer from %s; a TCP MD5 password is configured, and the kernel drops segments whose key does not match without a word: check that both sides use the same password (a rising TcpExtTCPMD5Failure or TcpExtTCPMD5Unexpected in `nstat -az` on either side confirms it)", cfg.Remote)
	case cfg.MinTTL > 0:
		return fmt.Sprintf("Connect: no answer from %s; TTL security (GTSM) is on: check that the peer sends TTL 255 (FRR: neighbor ... ttl-security hops N)", cfg.Remote)
	}
	return fmt.Sprintf("Connect: no answer from %s (is it reachable, and does it accept connections from us?)", cfg.Remote)
}

// timerEvents maps each timer to the event its expiry raises.
var timerEvents = [...]EventType{
	ConnectRetryTimer: ConnectRetryTimerExpires, HoldTimer: HoldTimerExpires,
	KeepaliveTimer: KeepaliveTimerExpires, DelayOpenTimer: DelayOpenTimerExpires,
	IdleHoldTimer: IdleHoldTimerExpires, SendHoldTimer: SendHoldTimerExpires,
	StableTimer: StableTimerExpires,
}

// timerFired handles a timer's expiry, ignoring stale ones.
func (p *Peer) timerFired(c *conn, t Timer, gen uint64) {
	if !p.live(c) || c.timerGen[t] != gen {
		return
	}
	c.timers[t] = nil
	if t == ConnectRetryTimer && c.fsm.State() == Connect && c.t == nil && p.dialStop != nil {
		// The dial got no answer for a whole ConnectRetryTime.
		p.stats.setError(p.noAnswer())
	}
	if t == HoldTimer && c.fsm.State() >= OpenConfirm {
		// The reader records every message; the hold timer only expires
		// when nothing came for the whole hold time, and never while the
		// reader is inside the Handler (then we are the slow side).
		hold := c.fsm.NegotiatedHoldTime()
		idle := time.Duration(0)
		if c.t != nil {
			idle = p.opt.Clock.Now().Sub(time.Unix(0, c.t.lastRecv.Load()))
		}
		if (c.t != nil && c.t.delivering.Load()) || idle < hold {
			c.startTimer(HoldTimer, max(hold-idle, time.Second))
			return
		}
		p.stats.setError(fmt.Sprintf("hold timer expired: nothing from the peer for %s", hold))
	}
	p.stepConn(c, Event{Type: timerEvents[t]})
}

// fsmEvent handles an event from a connection's reader or writer, with the
// checks that need the whole peer (negotiation, collision).
func (p *Peer) fsmEvent(c *conn, ev Event, msg wire.Message) {
	switch ev.Type {
	case BGPOpen:
		open := msg.(*wire.Open)
		cfg := p.config()
		t := c.t
		neg, f := Negotiate(&cfg, t.localOpen, open)
		if f != nil {
			p.stats.setError("OPEN refused: " + f.Reason)
			p.stepConn(c, Event{Type: BGPOpenMsgErr, Code: f.Code, Subcode: f.Subcode, Data: f.Data})
			return
		}
		t.open, t.neg = open, neg
		if p.collision(c) {
			return
		}
		t.recvOpts.Store(&neg.Receive)
		ev.HoldTime = neg.HoldTime
	case NotifMsg:
		n := msg.(*wire.Notification)
		p.stats.notification(false, n, p.opt.Clock.Now())
		p.stats.setError("peer sent NOTIFICATION " + n.String())
		c.t.peerNotification = n
		if n.Code == iana.NotifOpenMessage && n.Subcode == uint8(iana.OpenUnsupportedVersionNumber) {
			ev.Type = NotifMsgVerErr
		}
	case TCPConnectionFails:
		if c.fsm.State() == Established || c.fsm.State() == OpenConfirm {
			p.stats.setError("connection closed by the peer or the network: " + errString(c.t.readErr))
		}
	}
	p.stepConn(c, ev)
}

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}

// collision runs RFC 4271 §6.8 when c has just received an OPEN; it
// reports whether c itself was dumped.
func (p *Peer) collision(c *conn) bool {
	other := p.primary
	if c == p.primary {
		other = p.secondary
	}
	if other == nil {
		return false
	}
	st := other.fsm.State()
	if st != OpenSent && st != OpenConfirm && st != Established {
		return false
	}
	// §6.8 looks at connections in OpenConfirm, and allows looking at one
	// in OpenSent when the peer's identifier is known by other means: it
	// is, from this connection's OPEN. Resolving it now matters: the peer
	// may already have resolved the same collision by the identifiers,
	// and a connection we then let win as the first to be established is
	// the one it closed (FRR resolves OpenSent too).
	var loser *conn
	if st == Established {
		if gr := c.t.neg.GracefulRestart; gr != nil && gr.Restarting && other.t != nil && other.t.neg != nil &&
			other.t.neg.GracefulRestart != nil {
			// RFC 4724 §4.2: an OPEN with the Restart State bit from a
			// peer whose old session is still up means it restarted:
			// close the old one. Without the bit it is an ordinary
			// collision (the peer's other connection, opened before the
			// session came up): the established session stays.
			loser = other
		} else {
			loser = c
		}
	} else {
		local := p.config().RouterID.As4()
		remote := c.t.neg.PeerID.As4()
		localWins := uint32(local[0])<<24|uint32(local[1])<<16|uint32(local[2])<<8|uint32(local[3]) >
			uint32(remote[0])<<24|uint32(remote[1])<<16|uint32(remote[2])<<8|uint32(remote[3])
		// The higher identifier's connection survives: if ours is higher,
		// keep the connection we initiated.
		if localWins == c.t.outbound {
			loser = other
		} else {
			loser = c
		}
	}
	p.log.Info("connection collision", "dumped-outbound", loser.t != nil && loser.t.outbound)
	p.stepConn(loser, Event{Type: OpenCollisionDump})
	return loser == c
}

// stepConn feeds ev to c's FSM and carries out the actions.
func (p *Peer) stepConn(c *conn, ev Event) {
	before := c.fsm.State()
	acts := c.fsm.Step(ev)
	var notif *wire.Notification
	for _, a := range acts {
		switch a.Type {
		case InitiateConnection:
			p.startDial(c)
		case DropConnection:
			if c == p.primary && p.dialStop != nil {
				p.dialStop()
				p.dialStop = nil
			}
			c.drop(notif, p.downReason(c, ev, notif))
		case SendOpen:
			cfg := p.config()
			if gr := cfg.GracefulRestart; gr != nil && p.opt.RestartState != nil {
				g := *gr
				g.Restarting, g.Forwarding = p.opt.RestartState()
				cfg.GracefulRestart = &g
			}
			if c.t != nil {
				c.t.localOpen = LocalOpen(&cfg)
				c.sendUrgent(c.t.localOpen.AppendTo(nil, wire.Options{}), iana.MsgOpen)
			}
		case SendKeepalive:
			c.sendUrgent(wire.Keepalive{}.AppendTo(nil, wire.Options{}), iana.MsgKeepalive)
		case SendNotification:
			notif = &wire.Notification{Code: a.Code, Subcode: a.Subcode, Data: a.Data}
			if hardResetRequired(c, notif) {
				notif = wire.NewHardReset(*notif)
			}
			p.stats.notification(true, notif, p.opt.Clock.Now())
			c.sendUrgent(notif.AppendTo(nil, wire.Options{}), iana.MsgNotification)
		case StartTimer:
			if a.Timer == IdleHoldTimer && c != p.primary {
				continue // a dumped second connection just goes away
			}
			c.startTimer(a.Timer, a.Duration)
		case StopTimer:
			c.stopTimer(a.Timer)
		case SessionEstablished:
			p.established(c)
		case ReleaseResources:
			// The reader tells the Handler (SessionDown) once the
			// connection is closed: it alone knows no UPDATE is in flight.
		}
	}
	after := c.fsm.State()
	if c == p.primary || (p.secondary == c && after > p.primary.fsm.State()) {
		p.stats.setState(after, p.opt.Clock.Now(), c.fsm.ConnectRetryCounter())
	}
	if before != after {
		p.log.Debug("state change", "from", before, "to", after, "event", ev.Type, "conn", c.id)
		p.opt.Metrics.transition(before, after)
		if c == p.primary && p.opt.OnStateChange != nil {
			p.opt.OnStateChange(p.config().Key, before, after)
		}
	}
	if after == Idle && c.t == nil {
		p.promote(c)
	}
}

// hardResetRequired applies RFC 8538 §5: once both sides announced the N
// bit, a Cease that ends the peering for good is sent as a Hard Reset, so
// that the peer deletes our routes instead of keeping them as stale. The
// subcodes are those the RFC's table marks "Hard Reset": Maximum Number of
// Prefixes Reached, Administrative Shutdown and Peer De-configured.
// Administrative Reset is left to the operator ("provide user control"): it
// stays graceful unless the caller wraps it, as a planned restart does not.
func hardResetRequired(c *conn, n *wire.Notification) bool {
	if n.Code != iana.NotifCease || c.t == nil || c.t.neg == nil || c.t.neg.GracefulRestart == nil ||
		!c.t.neg.GracefulRestart.Notification || !localNBit(c.t.neg) {
		return false
	}
	switch iana.CeaseSubcode(n.Subcode) {
	case iana.CeaseMaxPrefixesReached, iana.CeaseAdministrativeShutdown, iana.CeasePeerDeconfigured:
		return true
	}
	return false
}

// localNBit reports whether our OPEN carried the N bit.
func localNBit(n *Negotiated) bool {
	for _, c := range n.LocalCaps {
		if gr, ok := c.(wire.CapGracefulRestart); ok {
			return gr.Notification
		}
	}
	return false
}

// promote keeps the surviving connection as the primary after c ended.
func (p *Peer) promote(c *conn) {
	if c == p.secondary {
		p.secondary = nil
		return
	}
	if c == p.primary && p.secondary != nil {
		// The dumped primary's idle hold would restart it: drop that.
		c.stopTimers()
		p.primary, p.secondary = p.secondary, nil
		p.primary.secondary = false
		// The second connection was made passive to take an incoming
		// connection; as the primary it behaves as configured, or a peer
		// that is not passive would never dial again.
		cfg := p.config()
		p.primary.fsm.cfg.Passive = cfg.fsm().Passive
	}
}

func (p *Peer) downReason(c *conn, ev Event, notif *wire.Notification) error {
	switch {
	case notif != nil:
		return fmt.Errorf("sent NOTIFICATION %s", notif.String())
	case c.t != nil && c.t.peerNotification != nil:
		return fmt.Errorf("received NOTIFICATION %s", c.t.peerNotification.String())
	case c.t != nil && c.t.readErr != nil:
		return fmt.Errorf("connection lost: %w", c.t.readErr)
	}
	return fmt.Errorf("%s", ev.Type)
}

// established makes the Session and tells the Handler.
func (p *Peer) established(c *conn) {
	cfg := p.config()
	t := c.t
	s := &Session{peer: p, t: t, Key: cfg.Key, Negotiated: t.neg, LocalAS: cfg.LocalAS, Since: p.opt.Clock.Now()}
	s.LocalAddr, s.RemoteAddr = addrPort(t.nc.LocalAddr()), addrPort(t.nc.RemoteAddr())
	t.session = s
	t.sendHold.Store(int64(sendHoldTime(&cfg, t.neg.HoldTime)))
	p.stats.setSession(s)
	if p.opt.Handler != nil {
		p.opt.Handler.SessionUp(s)
	}
	t.established.Store(true)
	p.log.Info("session established", "negotiated", t.neg.String())
	// Only one session per peer: a second connection still opening loses.
	other := p.secondary
	if c == p.secondary {
		other = p.primary
	}
	if other != nil && other.fsm.State() != Idle {
		p.stepConn(other, Event{Type: OpenCollisionDump})
	} else if other != nil && c == p.secondary && other.t == nil {
		// The primary was waiting out its idle hold: the session that
		// came in takes its place, and the idle hold is dropped. The
		// failures it counted are the peer's, not that connection's:
		// the new primary goes on from them, or a peer that flaps by
		// dialling in would reset the damping every time (§8.1.1
		// DampPeerOscillations; only StableTime clears the count).
		other.stopTimers()
		c.fsm.connectRetryCounter = other.fsm.connectRetryCounter
		p.primary, p.secondary = c, nil
		c.secondary = false
		c.fsm.cfg.Passive = cfg.fsm().Passive
	}
}

func sendHoldTime(cfg *Config, hold time.Duration) time.Duration {
	if cfg.SendHoldTime > 0 {
		return cfg.SendHoldTime
	}
	return max(8*time.Minute, 2*hold)
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// startDial connects in the background; the result comes back as an event.
func (p *Peer) startDial(c *conn) {
	if p.dialStop != nil {
		p.dialStop()
	}
	cfg := p.config()
	timeout := cfg.ConnectRetryTime
	if timeout == 0 {
		timeout = 120 * time.Second
	}
	// The ConnectRetryTimer ends an unanswered dial; the context only
	// bounds it should the timer not.
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	p.dialStop = cancel
	p.dialGen++
	gen := p.dialGen
	dc := transport.DialConfig{Remote: cfg.Remote, Local: cfg.Local, Password: cfg.Password, TTL: cfg.TTL, MinTTL: cfg.MinTTL}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer cancel()
		nc, err := p.opt.Dial(ctx, dc)
		if ctx.Err() != nil && err == nil {
			// Cancelled while connecting (an incoming connection won).
			nc.Close()
			return
		}
		if !p.post(event{kind: evDialed, c: c, gen: gen, nc: nc, err: err}) && nc != nil {
			nc.Close()
		}
	}()
}
