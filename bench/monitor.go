package bench

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Expect is what a monitor must end up holding: every prefix of a table,
// each with the path of a given injector (the one whose path is the
// shortest, Table.Winner). It is read-only and shared by the monitors of a
// run.
type Expect struct {
	index    *prefixIndex
	prefixes []Prefix
	// owner[i] is the injector whose path prefix i must have.
	owner []uint8
	// injectorAS[j] is injector j's AS, found at the head of the paths
	// the monitor receives (behind the target's AS).
	injectorAS []uint32
}

// NewExpect returns the expectation for table t announced by injectors with
// the given AS numbers (at most 254 of them).
func NewExpect(t *Table, injectorAS []uint32) *Expect {
	e := &Expect{index: t.indexMap(), prefixes: t.Prefixes, owner: make([]uint8, len(t.Prefixes)), injectorAS: injectorAS}
	k := len(injectorAS)
	if k > 1 {
		for g, s := range t.Sets {
			w := uint8(t.Winner(g, k))
			for i := s.Start; i < s.End; i++ {
				e.owner[i] = w
			}
		}
	}
	return e
}

// Len is the number of prefixes expected.
func (e *Expect) Len() int { return len(e.owner) }

// unknownOwner marks a path whose head names no injector.
const unknownOwner = 0xff

// ownerOf finds the injector of a received path: the first AS of the path
// when it is an injector's (a direct session, the self-check), else the
// second (behind the target's AS).
func (e *Expect) ownerOf(l attr.List) uint8 {
	p, ok := l.ASPath()
	if !ok {
		return unknownOwner
	}
	seen := 0
	for _, seg := range p.Segments {
		for _, as := range seg.ASNs {
			for j, ias := range e.injectorAS {
				if as == ias {
					return uint8(j)
				}
			}
			if seen++; seen == 2 {
				return unknownOwner
			}
		}
	}
	return unknownOwner
}

// Monitor is a test peer that receives what the target re-advertises and
// tracks, per prefix, whether it holds it and from which injector. It is
// done the moment it holds every expected prefix with the expected path.
//
// The monitor's read goroutine owns cur and the counters' values; the
// counters are atomics so that the runner may read progress at any time.
type Monitor struct {
	s    *session
	exp  *Expect
	cur  []uint8 // per prefix: 0 (not held), owner+1, or slotUnknown
	next int     // the position after the last prefix announced
	dec  wire.UpdateDecoder

	held       atomic.Int64 // prefixes held
	correct    atomic.Int64 // prefixes held with the expected path
	updates    atomic.Int64 // UPDATE messages
	announced  atomic.Int64 // announcements (a prefix announced twice counts twice)
	withdrawn  atomic.Int64
	unexpected atomic.Int64 // announcements of prefixes not in the table
	first      atomic.Int64 // unix nanos of the first announcement
	doneAt     atomic.Int64 // unix nanos when every prefix was held as expected
	err        atomic.Pointer[error]

	done     chan struct{}
	readDone chan struct{}
}

func newMonitor(s *session, e *Expect) *Monitor {
	return &Monitor{s: s, exp: e, cur: make([]uint8, e.Len()), done: make(chan struct{}), readDone: make(chan struct{})}
}

// run reads until the connection fails or is closed; KEEPALIVEs go out
// from their own goroutine until ctx ends.
func (m *Monitor) run(ctx context.Context) {
	go m.s.keepalives(ctx)
	defer close(m.readDone)
	if m.exp.Len() == 0 {
		m.finish()
	}
	for {
		typ, msg, err := m.s.rd.ReadMessage()
		if err != nil {
			m.err.Store(&err)
			return
		}
		switch typ {
		case iana.MsgUpdate:
			if err := m.update(msg[wire.HeaderLen:]); err != nil {
				m.err.Store(&err)
				return
			}
		case iana.MsgKeepalive:
			m.s.keepalivesIn.Add(1)
		case iana.MsgNotification:
			err := notificationError(msg[wire.HeaderLen:])
			m.err.Store(&err)
			return
		}
	}
}

// slot values in cur: 0 is "not held"; an owner o is stored as o+1, and an
// unknown owner as slotUnknown.
const slotUnknown = 0xff

// update applies one UPDATE. It is decoded into the monitor's reused
// memory and its NLRI walked in place: nothing is allocated per message
// once the decoder has grown.
func (m *Monitor) update(body []byte) error {
	// Decoded into memory reused from UPDATE to UPDATE: one UPDATE is
	// looked at at a time, and nothing of it is kept.
	m.dec.Reset()
	u, err := m.dec.Decode(body, sessionOptions)
	if u == nil {
		return err
	}
	m.updates.Add(1)
	held, correct := m.held.Load(), m.correct.Load()
	var announced, withdrawn, unexpected int64
	idx, want, cur, ps, next := m.exp.index, m.exp.owner, m.cur, m.exp.prefixes, m.next
	for r := range u.Unreach() {
		if r.Family != nlri.IPv4Unicast {
			continue
		}
		i := idx.lookup(routeKey(r.Prefix))
		if i < 0 {
			continue
		}
		withdrawn++
		if old := cur[i]; old != 0 {
			held--
			if old == want[i]+1 {
				correct--
			}
			cur[i] = 0
		}
	}
	slot := uint8(slotUnknown)
	if o := m.exp.ownerOf(u.Attrs); o != unknownOwner {
		slot = o + 1
	}
	// Targets re-advertise a set's prefixes mostly in the order they got
	// them, and the table lists them in that order: try the prefix after
	// the last one first (a sequential read), and the index (a cache
	// miss on a large table) only when that fails.
	add := func(addr uint32, bits int) {
		announced++
		i := next
		if i >= len(ps) || ps[i].Addr != addr || int(ps[i].Bits) != bits {
			if i = idx.lookup(indexKey(addr, bits)); i < 0 {
				unexpected++
				return
			}
		}
		next = i + 1
		old := cur[i]
		if old == slot {
			return
		}
		if old == 0 {
			held++
		} else if old == want[i]+1 {
			correct--
		}
		if slot == want[i]+1 {
			correct++
		}
		cur[i] = slot
	}
	if field, addPath, ok := u.ReachIPv4(); ok {
		// The NLRI field only, read without a netip.Prefix per prefix.
		c := wire.IPv4Cursor{Field: field, AddPath: addPath}
		for {
			addr, bits, _, ok := c.Next()
			if !ok {
				break
			}
			add(addr, bits)
		}
	} else {
		for r := range u.Reach() {
			if r.Family == nlri.IPv4Unicast {
				add(routeAddr(r.Prefix))
			}
		}
	}
	m.next = next
	if announced > 0 && m.first.Load() == 0 {
		m.first.Store(time.Now().UnixNano())
	}
	m.announced.Add(announced)
	m.withdrawn.Add(withdrawn)
	m.unexpected.Add(unexpected)
	m.held.Store(held)
	m.correct.Store(correct)
	if correct == int64(len(want)) && m.doneAt.Load() == 0 {
		m.finish()
	}
	return nil
}

func (m *Monitor) finish() {
	m.doneAt.Store(time.Now().UnixNano())
	close(m.done)
}

func routeKey(p nlri.Prefix) uint64 { return indexKey(routeAddr(p)) }

func routeAddr(p nlri.Prefix) (uint32, int) {
	a := p.Prefix.Addr().As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), p.Prefix.Bits()
}

// Err returns why the session failed, or nil (a connection we closed is
// not a failure).
func (m *Monitor) Err() error {
	if p := m.err.Load(); p != nil && !closedByUs(*p) {
		return *p
	}
	return m.s.err()
}

func (m *Monitor) close() { m.s.conn.Close() }

func (m *Monitor) doneTime() time.Time  { return unixTime(m.doneAt.Load()) }
func (m *Monitor) firstTime() time.Time { return unixTime(m.first.Load()) }
