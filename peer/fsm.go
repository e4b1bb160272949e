package peer

// The RFC 4271 §8 finite state machine of one BGP connection, as a pure
// function: Step takes an event and returns the actions the driver must
// carry out. It never sleeps, never touches a socket and never reads the
// clock; timers are actions ("start ConnectRetry for 30s") and their expiry
// comes back as events. Randomness (timer jitter, RFC 4271 §10) is injected.
//
// Where this FSM departs from or adds to §8:
//
//   - Collision detection (§6.8) needs two connections, so it is the
//     driver's job: each connection has its own FSM, and the driver sends
//     OpenCollisionDump to the loser. The FSM only carries out the dump.
//   - The idle hold timer (§8.1.1 DampPeerOscillations) always runs after an
//     error: it starts at IdleHoldTime and doubles with each consecutive
//     failure up to MaxIdleHoldTime; a session that stays Established for
//     StableTime clears the count (as BIRD's "error forget time" does).
//   - The send hold timer of RFC 9687 is armed by the writer, which alone
//     knows whether it is making progress; its expiry is an event here.
//   - In Established the driver does not feed every UPDATE and KEEPALIVE
//     through Step: the reader records when the last message arrived and a
//     HoldTimerExpires event is only raised when nothing arrived for the
//     whole hold time. Step still handles UpdateMsg and KeepAliveMsg in
//     every state, so a driver that does feed them gets the RFC behaviour.
//   - ReleaseResources is emitted only when leaving Established, the only
//     state with routes to release.

import (
	"fmt"
	"time"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// State is an RFC 4271 §8.2.2 state.
type State uint8

// The six states of §8.2.2.
const (
	Idle State = iota
	Connect
	Active
	OpenSent
	OpenConfirm
	Established
)

// String returns the RFC's name of the state, as `godwit neighbors` prints it.
func (s State) String() string {
	switch s {
	case Idle:
		return "Idle"
	case Connect:
		return "Connect"
	case Active:
		return "Active"
	case OpenSent:
		return "OpenSent"
	case OpenConfirm:
		return "OpenConfirm"
	case Established:
		return "Established"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// EventType names an event of RFC 4271 §8.1 (the number in the comment is
// the RFC's event number).
type EventType uint8

const (
	ManualStart              EventType = iota + 1 // 1 (4 when Passive)
	ManualStop                                    // 2
	AutomaticStart                                // 3 (5, 6, 7 by configuration)
	AutomaticStop                                 // 8
	ConnectRetryTimerExpires                      // 9
	HoldTimerExpires                              // 10
	KeepaliveTimerExpires                         // 11
	DelayOpenTimerExpires                         // 12
	IdleHoldTimerExpires                          // 13
	TCPConnectionValid                            // 14
	TCPConnectionInvalid                          // 15 (Tcp_CR_Invalid)
	TCPConnectionAcked                            // 16 (Tcp_CR_Acked: our connect completed)
	TCPConnectionConfirmed                        // 17 (their connect accepted)
	TCPConnectionFails                            // 18
	BGPOpen                                       // 19 (20 when DelayOpen runs: the FSM tells them apart)
	BGPHeaderErr                                  // 21
	BGPOpenMsgErr                                 // 22
	OpenCollisionDump                             // 23
	NotifMsgVerErr                                // 24
	NotifMsg                                      // 25
	KeepAliveMsg                                  // 26
	UpdateMsg                                     // 27
	UpdateMsgErr                                  // 28
	SendHoldTimerExpires                          // RFC 9687 §4
	StableTimerExpires                            // godwit: Established long enough to forget past errors
)

var eventNames = map[EventType]string{
	ManualStart: "ManualStart", ManualStop: "ManualStop", AutomaticStart: "AutomaticStart",
	AutomaticStop: "AutomaticStop", ConnectRetryTimerExpires: "ConnectRetryTimer_Expires",
	HoldTimerExpires: "HoldTimer_Expires", KeepaliveTimerExpires: "KeepaliveTimer_Expires",
	DelayOpenTimerExpires: "DelayOpenTimer_Expires", IdleHoldTimerExpires: "IdleHoldTimer_Expires",
	TCPConnectionValid: "TcpConnection_Valid", TCPConnectionInvalid: "Tcp_CR_Invalid",
	TCPConnectionAcked: "Tcp_CR_Acked", TCPConnectionConfirmed: "TcpConnectionConfirmed",
	TCPConnectionFails: "TcpConnectionFails", BGPOpen: "BGPOpen", BGPHeaderErr: "BGPHeaderErr",
	BGPOpenMsgErr: "BGPOpenMsgErr", OpenCollisionDump: "OpenCollisionDump",
	NotifMsgVerErr: "NotifMsgVerErr", NotifMsg: "NotifMsg", KeepAliveMsg: "KeepAliveMsg",
	UpdateMsg: "UpdateMsg", UpdateMsgErr: "UpdateMsgErr", SendHoldTimerExpires: "SendHoldTimer_Expires",
	StableTimerExpires: "StableTimer_Expires",
}

// String returns the RFC's name of the event.
func (e EventType) String() string {
	if s, ok := eventNames[e]; ok {
		return s
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// Event is one input to Step.
type Event struct {
	Type EventType
	// HoldTime is the negotiated hold time, for BGPOpen (the driver has
	// already validated the OPEN and negotiated capabilities; a bad OPEN is
	// BGPOpenMsgErr instead).
	HoldTime time.Duration
	// Code, Subcode and Data are the NOTIFICATION to send, for BGPHeaderErr,
	// BGPOpenMsgErr and UpdateMsgErr; and the Cease subcode and data for
	// ManualStop and AutomaticStop (zero: Administrative Shutdown and
	// Unspecific respectively).
	Code    iana.NotifCode
	Subcode uint8
	Data    []byte
}

// Timer names a timer of §8 (and the two additions above).
type Timer uint8

const (
	ConnectRetryTimer Timer = iota + 1
	HoldTimer
	KeepaliveTimer
	DelayOpenTimer
	IdleHoldTimer
	SendHoldTimer
	StableTimer
)

// String names the timer as the RFC does.
func (t Timer) String() string {
	switch t {
	case ConnectRetryTimer:
		return "ConnectRetryTimer"
	case HoldTimer:
		return "HoldTimer"
	case KeepaliveTimer:
		return "KeepaliveTimer"
	case DelayOpenTimer:
		return "DelayOpenTimer"
	case IdleHoldTimer:
		return "IdleHoldTimer"
	case SendHoldTimer:
		return "SendHoldTimer"
	case StableTimer:
		return "StableTimer"
	}
	return fmt.Sprintf("Timer(%d)", uint8(t))
}

// ActionType is something the driver must do.
type ActionType uint8

const (
	// InitiateConnection dials the peer (§8.2.1.1 "initiates a TCP connection").
	InitiateConnection ActionType = iota + 1
	// DropConnection closes the TCP connection.
	DropConnection
	// SendOpen sends our OPEN.
	SendOpen
	// SendKeepalive sends a KEEPALIVE.
	SendKeepalive
	// SendNotification sends the NOTIFICATION in Code/Subcode/Data; the
	// driver then flushes it before DropConnection.
	SendNotification
	// StartTimer (re)starts Timer for Duration.
	StartTimer
	// StopTimer stops Timer.
	StopTimer
	// SessionEstablished: the session is up; routes may flow.
	SessionEstablished
	// ReleaseResources: the session left Established; the layer above
	// withdraws the peer's routes (or keeps them stale for graceful restart).
	ReleaseResources
)

// Action is one output of Step.
type Action struct {
	Type     ActionType
	Timer    Timer
	Duration time.Duration
	Code     iana.NotifCode
	Subcode  uint8
	Data     []byte
}

// String is the transcript form of the action.
func (a Action) String() string {
	switch a.Type {
	case InitiateConnection:
		return "initiate-connection"
	case DropConnection:
		return "drop-connection"
	case SendOpen:
		return "send OPEN"
	case SendKeepalive:
		return "send KEEPALIVE"
	case SendNotification:
		s := fmt.Sprintf("send NOTIFICATION %s / %s", a.Code, iana.SubcodeString(a.Code, a.Subcode))
		if len(a.Data) > 0 {
			s += fmt.Sprintf(" data %x", a.Data)
		}
		return s
	case StartTimer:
		return fmt.Sprintf("start %s %s", a.Timer, a.Duration)
	case StopTimer:
		return fmt.Sprintf("stop %s", a.Timer)
	case SessionEstablished:
		return "session-established"
	case ReleaseResources:
		return "release-resources"
	}
	return fmt.Sprintf("Action(%d)", uint8(a.Type))
}

// fsmCfg holds the FSM's session attributes (§8 "optional session
// attributes"). It is fixed for the FSM's life; a change that needs a new
// OPEN builds a new FSM.
type fsmCfg struct {
	// Passive waits for the peer to connect (§8.1.1 PassiveTcpEstablishment).
	Passive bool
	// ConnectRetryTime is the ConnectRetryTimer's initial value (§10: 120 s).
	ConnectRetryTime time.Duration
	// HoldTime is the hold time we propose; LargeHoldTime is used from
	// sending OPEN until receiving one (§8.2.2: "suggested 4 minutes").
	HoldTime      time.Duration
	LargeHoldTime time.Duration
	// KeepaliveTime is the interval we send at, when the negotiated hold
	// time allows; 0 means a third of the negotiated hold time (§10).
	KeepaliveTime time.Duration
	// DelayOpenTime, when non-zero, waits that long for the peer's OPEN
	// before sending ours (§8.1.1 DelayOpen).
	DelayOpenTime time.Duration
	// IdleHoldTime and MaxIdleHoldTime bound the damping back-off.
	IdleHoldTime    time.Duration
	MaxIdleHoldTime time.Duration
	// StableTime in Established clears the back-off; 0 disables.
	StableTime time.Duration
	// Jitter scales ConnectRetry and Keepalive durations (§10: by a random
	// factor between 0.75 and 1). Nil means no jitter (tests).
	Jitter func(time.Duration) time.Duration
}

// withDefaults fills zero fields with the RFC 4271 §10 suggestions and
// godwit's damping defaults.
func (c fsmCfg) withDefaults() fsmCfg {
	if c.ConnectRetryTime == 0 {
		c.ConnectRetryTime = 120 * time.Second
	}
	if c.HoldTime == 0 {
		c.HoldTime = 90 * time.Second
	}
	if c.LargeHoldTime == 0 {
		c.LargeHoldTime = 4 * time.Minute
	}
	if c.IdleHoldTime == 0 {
		c.IdleHoldTime = time.Second
	}
	if c.MaxIdleHoldTime == 0 {
		c.MaxIdleHoldTime = 60 * time.Second
	}
	return c
}

// FSM is the state of one connection's state machine. It is owned by one
// goroutine (the peer's driver); it has no locks.
type FSM struct {
	cfg   fsmCfg
	state State
	// enabled is false after ManualStop: no automatic restart.
	enabled bool
	// ConnectRetryCounter of §8: consecutive failures; drives the back-off.
	connectRetryCounter int
	delayOpenRunning    bool
	holdTime            time.Duration // negotiated; 0 before OPEN
}

// NewFSM returns an FSM in Idle.
func NewFSM(cfg fsmCfg) *FSM {
	return &FSM{cfg: cfg.withDefaults()}
}

// State is the current state.
func (f *FSM) State() State { return f.state }

// ConnectRetryCounter is the count of consecutive failures.
func (f *FSM) ConnectRetryCounter() int { return f.connectRetryCounter }

// NegotiatedHoldTime is the hold time agreed with the peer (0 when none or
// before the OPEN exchange).
func (f *FSM) NegotiatedHoldTime() time.Duration { return f.holdTime }

// IdleHold is the back-off the next failure would wait.
func (f *FSM) IdleHold() time.Duration {
	d := f.cfg.IdleHoldTime
	for i := 1; i < f.connectRetryCounter && d < f.cfg.MaxIdleHoldTime; i++ {
		d *= 2
	}
	if d > f.cfg.MaxIdleHoldTime {
		d = f.cfg.MaxIdleHoldTime
	}
	return d
}

func (f *FSM) jitter(d time.Duration) time.Duration {
	if f.cfg.Jitter == nil {
		return d
	}
	return f.cfg.Jitter(d)
}

// keepaliveInterval is a third of the negotiated hold time unless configured
// shorter (§4.4, §10).
func (f *FSM) keepaliveInterval() time.Duration {
	k := f.holdTime / 3
	if f.cfg.KeepaliveTime > 0 && f.cfg.KeepaliveTime < k {
		k = f.cfg.KeepaliveTime
	}
	return k
}

// Step feeds one event to the FSM and returns what the driver must do, in
// order.
func (f *FSM) Step(ev Event) []Action {
	var a actions
	switch f.state {
	case Idle:
		f.idle(ev, &a)
	case Connect, Active:
		f.connectOrActive(ev, &a)
	case OpenSent:
		f.openSent(ev, &a)
	case OpenConfirm:
		f.openConfirm(ev, &a)
	case Established:
		f.established(ev, &a)
	}
	return a.list
}

type actions struct{ list []Action }

func (a *actions) add(t ActionType) { a.list = append(a.list, Action{Type: t}) }
func (a *actions) start(t Timer, d time.Duration) {
	a.list = append(a.list, Action{Type: StartTimer, Timer: t, Duration: d})
}
func (a *actions) stop(t Timer) { a.list = append(a.list, Action{Type: StopTimer, Timer: t}) }
func (a *actions) notify(code iana.NotifCode, sub uint8, data []byte) {
	a.list = append(a.list, Action{Type: SendNotification, Code: code, Subcode: sub, Data: data})
}

// start handles the start events from Idle (§8.2.2 Idle, events 1 and 3-7).
func (f *FSM) start(a *actions) {
	f.enabled = true
	a.start(ConnectRetryTimer, f.jitter(f.cfg.ConnectRetryTime))
	if f.cfg.Passive {
		f.state = Active
		return
	}
	a.add(InitiateConnection)
	f.state = Connect
}

func (f *FSM) idle(ev Event, a *actions) {
	switch ev.Type {
	case ManualStart:
		// A manual start resets the damping, as an operator expects.
		f.connectRetryCounter = 0
		a.stop(IdleHoldTimer)
		f.start(a)
	case AutomaticStart, IdleHoldTimerExpires:
		if ev.Type == IdleHoldTimerExpires && !f.enabled {
			return
		}
		f.start(a)
	case ManualStop:
		// Waiting out the damping back-off: an operator's stop must keep
		// the session down, not let the idle hold timer restart it.
		f.enabled = false
		f.connectRetryCounter = 0
		a.stop(IdleHoldTimer)
	}
	// Every other event leaves Idle as it is (§8.2.2 Idle, last paragraph).
}

// toIdle is the common "release, drop, count, damp" exit of §8.2.2.
func (f *FSM) toIdle(a *actions, count bool) {
	a.stop(ConnectRetryTimer)
	if f.delayOpenRunning {
		a.stop(DelayOpenTimer)
		f.delayOpenRunning = false
	}
	if f.state >= OpenSent {
		a.stop(HoldTimer)
		a.stop(KeepaliveTimer)
		a.stop(SendHoldTimer)
	}
	if f.state == Established {
		a.stop(StableTimer)
		a.add(ReleaseResources)
	}
	a.add(DropConnection)
	if count {
		f.connectRetryCounter++
	}
	f.holdTime = 0
	f.state = Idle
	if f.enabled {
		a.start(IdleHoldTimer, f.IdleHold())
	}
}

// sendOpen is the Tcp_CR_Acked / TcpConnectionConfirmed / DelayOpen expiry
// path into OpenSent.
func (f *FSM) sendOpen(a *actions) {
	a.stop(ConnectRetryTimer)
	a.add(SendOpen)
	a.start(HoldTimer, f.cfg.LargeHoldTime)
	f.state = OpenSent
}

// openConfirmed moves to OpenConfirm after a good OPEN: keepalive and the
// negotiated hold timer (§8.2.2 OpenSent event 19).
func (f *FSM) openConfirmed(ev Event, a *actions) {
	f.holdTime = ev.HoldTime
	a.add(SendKeepalive)
	if f.holdTime > 0 {
		a.start(KeepaliveTimer, f.jitter(f.keepaliveInterval()))
		a.start(HoldTimer, f.holdTime)
	} else {
		a.stop(KeepaliveTimer)
		a.stop(HoldTimer)
	}
	f.state = OpenConfirm
}

func (f *FSM) stopReason(ev Event, manual bool) (iana.NotifCode, uint8, []byte) {
	if ev.Code != 0 {
		return ev.Code, ev.Subcode, ev.Data
	}
	if manual {
		return iana.NotifCease, uint8(iana.CeaseAdministrativeShutdown), ev.Data
	}
	return iana.NotifCease, uint8(iana.CeaseUnspecific), ev.Data
}

func (f *FSM) connectOrActive(ev Event, a *actions) {
	switch ev.Type {
	case ManualStart, AutomaticStart, TCPConnectionValid, TCPConnectionInvalid:
		// Ignored (§8.2.2 Connect/Active, events 1, 3-7; 14 and 15 are the
		// driver's accept decision).
	case ManualStop:
		f.enabled = false
		f.connectRetryCounter = 0
		f.toIdle(a, false)
	case ConnectRetryTimerExpires:
		if f.cfg.Passive {
			// A passive peer waits for the peer to connect (§8.1.1
			// PassiveTcpEstablishment); it never dials, as FRR, BIRD,
			// GoBGP and OpenBGPD do not.
			a.start(ConnectRetryTimer, f.jitter(f.cfg.ConnectRetryTime))
			f.state = Active
			return
		}
		if f.state == Connect {
			a.add(DropConnection)
		}
		if f.delayOpenRunning {
			a.stop(DelayOpenTimer)
			f.delayOpenRunning = false
		}
		a.start(ConnectRetryTimer, f.jitter(f.cfg.ConnectRetryTime))
		a.add(InitiateConnection)
		f.state = Connect
	case DelayOpenTimerExpires:
		if !f.delayOpenRunning {
			f.unexpected(ev, a)
			return
		}
		f.delayOpenRunning = false
		f.sendOpen(a)
	case TCPConnectionAcked, TCPConnectionConfirmed:
		if f.cfg.DelayOpenTime > 0 {
			a.stop(ConnectRetryTimer)
			a.start(DelayOpenTimer, f.cfg.DelayOpenTime)
			f.delayOpenRunning = true
			return
		}
		f.sendOpen(a)
	case TCPConnectionFails:
		if f.delayOpenRunning {
			// §8.2.2 Connect event 18 with DelayOpen: back to Active.
			a.stop(DelayOpenTimer)
			f.delayOpenRunning = false
			a.add(DropConnection)
			a.start(ConnectRetryTimer, f.jitter(f.cfg.ConnectRetryTime))
			f.state = Active
			return
		}
		f.toIdle(a, true)
	case BGPOpen:
		if !f.delayOpenRunning {
			// Event 19 without DelayOpen cannot happen before OpenSent.
			f.unexpected(ev, a)
			return
		}
		// Event 20: the peer's OPEN while we delayed ours.
		a.stop(ConnectRetryTimer)
		a.stop(DelayOpenTimer)
		f.delayOpenRunning = false
		a.add(SendOpen)
		f.openConfirmed(ev, a)
	case BGPHeaderErr, BGPOpenMsgErr:
		a.notify(ev.Code, ev.Subcode, ev.Data)
		f.toIdle(a, true)
	case NotifMsgVerErr:
		f.toIdle(a, !f.delayOpenRunning)
	default:
		f.unexpected(ev, a)
	}
}

// unexpected handles "any other event" in Connect and Active (no
// NOTIFICATION: no OPEN was sent) and in the later states (an FSM Error
// with the RFC 6608 subcode for the state).
func (f *FSM) unexpected(ev Event, a *actions) {
	switch f.state {
	case OpenSent:
		a.notify(iana.NotifFSM, uint8(iana.FSMUnexpectedMessageInOpenSent), nil)
	case OpenConfirm:
		a.notify(iana.NotifFSM, uint8(iana.FSMUnexpectedMessageInOpenConfirm), nil)
	case Established:
		a.notify(iana.NotifFSM, uint8(iana.FSMUnexpectedMessageInEstablished), nil)
	}
	f.toIdle(a, true)
}

// common handles the events whose treatment is the same in OpenSent,
// OpenConfirm and Established; it reports whether it handled ev.
func (f *FSM) common(ev Event, a *actions) bool {
	switch ev.Type {
	case ManualStart, AutomaticStart, TCPConnectionValid, TCPConnectionInvalid,
		TCPConnectionAcked, TCPConnectionConfirmed:
		// Ignored: a second connection is the driver's collision business.
		return true
	case ManualStop:
		code, sub, data := f.stopReason(ev, true)
		a.notify(code, sub, data)
		f.enabled = false
		f.connectRetryCounter = 0
		f.toIdle(a, false)
		return true
	case AutomaticStop:
		code, sub, data := f.stopReason(ev, false)
		a.notify(code, sub, data)
		f.toIdle(a, true)
		return true
	case HoldTimerExpires:
		a.notify(iana.NotifHoldTimerExpired, 0, nil)
		f.toIdle(a, true)
		return true
	case SendHoldTimerExpires:
		// RFC 9687 §4: try to send the NOTIFICATION, but do not wait for it.
		a.notify(iana.NotifSendHoldTimerExpired, 0, nil)
		f.toIdle(a, true)
		return true
	case BGPHeaderErr, BGPOpenMsgErr:
		a.notify(ev.Code, ev.Subcode, ev.Data)
		f.toIdle(a, true)
		return true
	case OpenCollisionDump:
		a.notify(iana.NotifCease, uint8(iana.CeaseConnectionCollisionResolution), nil)
		f.toIdle(a, true)
		return true
	case NotifMsgVerErr:
		f.toIdle(a, false)
		return true
	case NotifMsg, TCPConnectionFails:
		f.toIdle(a, true)
		return true
	}
	return false
}

func (f *FSM) openSent(ev Event, a *actions) {
	if ev.Type == TCPConnectionFails {
		// §8.2.2 OpenSent event 18: back to Active and listen.
		a.add(DropConnection)
		a.stop(HoldTimer)
		a.start(ConnectRetryTimer, f.jitter(f.cfg.ConnectRetryTime))
		f.state = Active
		return
	}
	if f.common(ev, a) {
		return
	}
	switch ev.Type {
	case BGPOpen:
		f.openConfirmed(ev, a)
	default:
		f.unexpected(ev, a)
	}
}

func (f *FSM) openConfirm(ev Event, a *actions) {
	if f.common(ev, a) {
		return
	}
	switch ev.Type {
	case KeepaliveTimerExpires:
		a.add(SendKeepalive)
		a.start(KeepaliveTimer, f.jitter(f.keepaliveInterval()))
	case KeepAliveMsg:
		if f.holdTime > 0 {
			a.start(HoldTimer, f.holdTime)
		}
		a.add(SessionEstablished)
		if f.cfg.StableTime > 0 {
			a.start(StableTimer, f.cfg.StableTime)
		}
		f.state = Established
	default:
		f.unexpected(ev, a)
	}
}

func (f *FSM) established(ev Event, a *actions) {
	if f.common(ev, a) {
		return
	}
	switch ev.Type {
	case KeepaliveTimerExpires:
		a.add(SendKeepalive)
		a.start(KeepaliveTimer, f.jitter(f.keepaliveInterval()))
	case KeepAliveMsg, UpdateMsg:
		if f.holdTime > 0 {
			a.start(HoldTimer, f.holdTime)
		}
	case UpdateMsgErr:
		a.notify(ev.Code, ev.Subcode, ev.Data)
		f.toIdle(a, true)
	case StableTimerExpires:
		f.connectRetryCounter = 0
	default:
		f.unexpected(ev, a)
	}
}
