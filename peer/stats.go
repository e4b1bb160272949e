package peer

import (
	"encoding/hex"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// NotificationRecord is a NOTIFICATION sent or received, for operators.
type NotificationRecord struct {
	Time    time.Time
	Code    iana.NotifCode
	Subcode uint8
	Data    []byte
	// Message is the RFC 9003 shutdown communication, when there is one.
	Message string
}

// Status is a snapshot of a peer for the API. It holds no secrets.
type Status struct {
	Key         Key
	Description string
	LocalAS     uint32
	PeerAS      uint32
	Remote      netip.AddrPort
	Passive     bool
	State       State
	// Since is when State was entered.
	Since time.Time
	// Session is the Established session's details, nil otherwise.
	Session             *Session
	ConnectRetryCounter int
	// Flaps counts how often the session left Established.
	Flaps           int
	LastError       string
	LastSent        *NotificationRecord
	LastReceived    *NotificationRecord
	AdminDown       bool
	ShutdownMessage string
	// MessagesIn and MessagesOut count messages by type (index iana.MsgType).
	MessagesIn  [6]uint64
	MessagesOut [6]uint64
	// Faults counts malformed input by RFC 7606 action (index fault.Action).
	Faults [5]uint64
}

// stats is the peer's status under a mutex, with counters as atomics so the
// reader and writer never wait for the API.
type stats struct {
	mu  sync.Mutex
	st  Status
	in  [6]atomic.Uint64
	out [6]atomic.Uint64
	flt [5]atomic.Uint64
}

func (s *stats) init(c Config) {
	s.setConfig(c)
	s.st.State = Idle
	s.st.Since = time.Now()
}

func (s *stats) setConfig(c Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Key, s.st.Description, s.st.LocalAS, s.st.PeerAS = c.Key, c.Description, c.LocalAS, c.PeerAS
	s.st.Remote, s.st.Passive = c.Remote, c.Passive
}

func (s *stats) setState(st State, now time.Time, counter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.State != st {
		if s.st.State == Established {
			s.st.Flaps++
		}
		s.st.State, s.st.Since = st, now
	}
	s.st.ConnectRetryCounter = counter
	if st == Established {
		s.st.LastError = ""
	}
}

func (s *stats) setSession(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Session = sess
}

// sessionDown forgets sess, unless a newer session has replaced it already
// (the old reader can finish after the next session is up).
func (s *stats) sessionDown(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Session == sess {
		s.st.Session = nil
	}
}

func (s *stats) setError(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.LastError = e
}

func (s *stats) setAdmin(down bool, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.AdminDown, s.st.ShutdownMessage = down, msg
}

func (s *stats) adminDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.AdminDown
}

func (s *stats) enabled() bool { return !s.adminDown() }

func (s *stats) notification(sent bool, n *wire.Notification, now time.Time) {
	r := &NotificationRecord{Time: now, Code: n.Code, Subcode: n.Subcode, Data: append([]byte(nil), n.Data...)}
	if m, ok := n.ShutdownMessage(); ok {
		r.Message = m
	} else if code, sub, data, ok := n.HardResetInner(); ok {
		// RFC 8538: the shutdown communication travels inside the Hard
		// Reset; operators want to read it all the same.
		if m, ok := (&wire.Notification{Code: code, Subcode: sub, Data: data}).ShutdownMessage(); ok {
			r.Message = m
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sent {
		s.st.LastSent = r
	} else {
		s.st.LastReceived = r
	}
}

func (s *stats) received(t iana.MsgType) {
	if int(t) < len(s.in) {
		s.in[t].Add(1)
	}
}

func (s *stats) sent(t iana.MsgType) {
	if int(t) < len(s.out) {
		s.out[t].Add(1)
	}
}

func (s *stats) fault(f *fault.Error) {
	if int(f.Action) < len(s.flt) {
		s.flt[f.Action].Add(1)
	}
}

// Status returns a snapshot of the peer.
func (p *Peer) Status() Status {
	s := &p.stats
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	for i := range st.MessagesIn {
		st.MessagesIn[i] = s.in[i].Load()
		st.MessagesOut[i] = s.out[i].Load()
	}
	for i := range st.Faults {
		st.Faults[i] = s.flt[i].Load()
	}
	return st
}

// faultLogEvery bounds the log lines about malformed input to one per
// interval per peer; the ones left out are counted in the next line (the
// metrics count every one).
const faultLogEvery = time.Second

// noteFault counts a malformed message (RFC 7606 outcome) and logs it with
// the attribute and its bytes, at most once per faultLogEvery.
func (p *Peer) noteFault(f *fault.Error) {
	p.stats.fault(f)
	p.faultMu.Lock()
	now := time.Now()
	if now.Sub(p.faultLogged) < faultLogEvery {
		p.faultSkipped++
		p.faultMu.Unlock()
		return
	}
	skipped := p.faultSkipped
	p.faultLogged, p.faultSkipped = now, 0
	p.faultMu.Unlock()
	data := f.Data
	more := ""
	if len(data) > 64 {
		data, more = data[:64], "..."
	}
	p.log.Warn("malformed input from the peer", "action", f.Action.String(), "attribute", f.Attr.String(),
		"reason", f.Reason, "bytes", hex.EncodeToString(data)+more, "notification", f.Code.String(),
		"not-logged-since-last", skipped)
}
