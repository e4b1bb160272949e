package interop_test

// A scripted BGP peer for the fault-injection tests (faults_test.go): just
// enough of a speaker, built on wire and transport, to bring a session up
// with godwitd and then send whatever bytes a test wants, well-formed or
// not, and to record every byte godwitd sends back.
//
//	test goroutine ──send/sendRaw──▶ wmu ──▶ TCP ──▶ godwitd
//	keepalive goroutine ──KEEPALIVE every hold/3──▶ wmu
//	godwitd ──▶ TCP ──▶ reader goroutine ──▶ mu: messages, NOTIFICATION,
//	                                             routes (raw attributes)
//
// The peer has no FSM and no hold timer of its own: godwitd's behaviour is
// what the tests look at. The reader closes the connection as soon as a
// NOTIFICATION arrives (godwitd lingers until its peer closes, so that the
// NOTIFICATION is not lost to an RST).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// scriptHoldTime is the hold time the scripted peers offer; godwitd's
// (holdTime: 9 in rrConf) is shorter and wins.
const scriptHoldTime = 90

// scriptPeer is one connection of a scripted peer.
type scriptPeer struct {
	name string
	as   uint32
	nc   net.Conn
	rd   *transport.Reader
	hold time.Duration // negotiated; 0: no KEEPALIVEs

	wmu sync.Mutex // serialises writes, one chunk at a time

	stopKA chan struct{} // closed to stop the keepalive goroutine
	kaOnce sync.Once
	wg     sync.WaitGroup
	done   chan struct{} // closed when the reader has ended
	once   sync.Once

	mu      sync.Mutex
	msgs    []iana.MsgType          // types of the messages received after the handshake
	notif   *wire.Notification      // the NOTIFICATION godwitd sent, if any
	readErr error                   // why the reader ended (io.EOF when godwitd closed)
	routes  map[netip.Prefix][]byte // what godwitd advertises: prefix -> raw path attributes
	bad     []string                // UPDATEs from godwitd that did not decode
}

// scriptOpen is the OPEN of a scripted peer: IPv4 unicast, route refresh,
// 4-octet AS; no extended messages, so that godwitd keeps the 4096-octet
// limit.
func scriptOpen(as uint32, id netip.Addr) []byte {
	return wire.NewOpen(as, scriptHoldTime, id,
		wire.CapMultiprotocol{Family: nlri.IPv4Unicast},
		wire.CapRouteRefresh{},
		wire.CapFourOctetAS{AS: as},
	).AppendTo(nil, wire.Options{})
}

var scriptKeepalive = wire.Keepalive{}.AppendTo(nil, wire.Options{})

// scriptDialRaw opens a TCP connection from local (an address of ns) to
// godwitd at remote:179, retrying until godwitd accepts it and does not
// close it at once (it is still starting, or not configured yet), or the
// test's deadline passes. Nothing is sent; godwitd's OPEN, which shows
// that it took the connection, is returned.
func scriptDialRaw(t *testing.T, ns *netns.NS, local, remote string) (net.Conn, *transport.Reader, *wire.Open) {
	t.Helper()
	var nc net.Conn
	var rd *transport.Reader
	var open *wire.Open
	daemonEventually(t, fmt.Sprintf("a connection from %s to godwitd at %s that godwitd keeps", local, remote), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: netip.MustParseAddr(local).AsSlice()}}
		c, err := ns.Dial(ctx, d, "tcp", net.JoinHostPort(remote, "179"))
		if err != nil {
			return false, err.Error()
		}
		// godwitd refuses a connection by closing it; one it takes gets
		// our OPEN's answer. Peek for its OPEN so that a refusal is
		// retried here, not mistaken for the fault under test.
		r := transport.NewReader(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, msg, err := r.ReadMessage()
		c.SetReadDeadline(time.Time{})
		if err != nil || typ != iana.MsgOpen {
			c.Close()
			return false, fmt.Sprintf("godwitd sent no OPEN (%v, %v)", typ, err)
		}
		o, err := wire.DecodeOpen(msg[wire.HeaderLen:])
		if err != nil {
			c.Close()
			return false, fmt.Sprintf("godwitd's OPEN: %v", err)
		}
		nc, rd, open = c, r, o
		return true, ""
	})
	return nc, rd, open
}

// scriptConnect dials godwitd from local in ns and brings the session up.
// The connection is closed at cleanup.
func scriptConnect(t *testing.T, ns *netns.NS, name, local, remote string, as uint32) *scriptPeer {
	t.Helper()
	nc, rd, open := scriptDialRaw(t, ns, local, remote)
	sp, err := scriptHandshake(name, as, netip.MustParseAddr(local), nc, rd, open)
	if err != nil {
		nc.Close()
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(sp.close)
	return sp
}

// scriptAccept takes godwitd's next connection on ln and brings the
// session up.
func scriptAccept(t *testing.T, ln net.Listener, name string, as uint32, id netip.Addr) *scriptPeer {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(routers.DefaultTimeout))
	nc, err := ln.Accept()
	if err != nil {
		t.Fatalf("%s: no connection from godwitd: %v", name, err)
	}
	sp, err := scriptHandshake(name, as, id, nc, transport.NewReader(nc), nil)
	if err != nil {
		nc.Close()
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(sp.close)
	return sp
}

// scriptHandshake runs OPEN and KEEPALIVE (open: godwitd's OPEN when it
// was read already) and starts the reader and keepalive goroutines.
func scriptHandshake(name string, as uint32, id netip.Addr, nc net.Conn, rd *transport.Reader, open *wire.Open) (*scriptPeer, error) {
	sp := &scriptPeer{name: name, as: as, nc: nc, rd: rd, stopKA: make(chan struct{}), done: make(chan struct{}),
		routes: map[netip.Prefix][]byte{}}
	nc.SetDeadline(time.Now().Add(routers.DefaultTimeout))
	defer nc.SetDeadline(time.Time{})
	if _, err := nc.Write(scriptOpen(as, id)); err != nil {
		return nil, fmt.Errorf("send OPEN: %w", err)
	}
	hold := time.Duration(scriptHoldTime) * time.Second
	gotOpen := open != nil
	if gotOpen {
		hold = min(hold, time.Duration(open.HoldTime)*time.Second)
		if _, err := nc.Write(scriptKeepalive); err != nil {
			return nil, fmt.Errorf("send KEEPALIVE: %w", err)
		}
	}
	for {
		typ, msg, err := rd.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		body := msg[wire.HeaderLen:]
		switch typ {
		case iana.MsgOpen:
			o, err := wire.DecodeOpen(body)
			if err != nil {
				return nil, fmt.Errorf("godwitd's OPEN: %w", err)
			}
			hold = min(hold, time.Duration(o.HoldTime)*time.Second)
			gotOpen = true
			if _, err := nc.Write(scriptKeepalive); err != nil {
				return nil, fmt.Errorf("send KEEPALIVE: %w", err)
			}
		case iana.MsgKeepalive:
			if !gotOpen {
				return nil, errors.New("KEEPALIVE before OPEN")
			}
			sp.hold = hold
			sp.wg.Add(2)
			go sp.readLoop()
			go sp.keepalives()
			return sp, nil
		case iana.MsgNotification:
			n, _ := wire.DecodeNotification(body)
			return nil, fmt.Errorf("handshake: godwitd sent NOTIFICATION %v", n)
		default:
			return nil, fmt.Errorf("handshake: unexpected %v", typ)
		}
	}
}

// readLoop records what godwitd sends until the connection ends; it
// closes the connection after a NOTIFICATION.
func (sp *scriptPeer) readLoop() {
	defer sp.wg.Done()
	defer close(sp.done)
	opt := wire.Options{AS4: true}
	for {
		typ, msg, err := sp.rd.ReadMessage()
		if err != nil {
			sp.mu.Lock()
			sp.readErr = err
			sp.mu.Unlock()
			return
		}
		body := msg[wire.HeaderLen:]
		sp.mu.Lock()
		sp.msgs = append(sp.msgs, typ)
		switch typ {
		case iana.MsgNotification:
			n, err := wire.DecodeNotification(body)
			if err != nil {
				n = &wire.Notification{Code: iana.NotifCode(body[0]), Subcode: body[1], Data: append([]byte(nil), body[2:]...)}
			}
			sp.notif = n
			sp.readErr = errors.New("NOTIFICATION received")
			sp.mu.Unlock()
			sp.nc.Close()
			return
		case iana.MsgUpdate:
			u, err := wire.DecodeUpdate(body, opt)
			if err != nil {
				sp.bad = append(sp.bad, fmt.Sprintf("%v: %x", err, msg))
				break
			}
			for r := range u.Unreach() {
				delete(sp.routes, r.Prefix.Prefix)
			}
			for r := range u.Reach() {
				sp.routes[r.Prefix.Prefix] = append([]byte(nil), u.RawAttrs...)
			}
		}
		sp.mu.Unlock()
	}
}

// keepalives sends a KEEPALIVE every third of the hold time until stopped
// or the connection ends.
func (sp *scriptPeer) keepalives() {
	defer sp.wg.Done()
	if sp.hold == 0 {
		return
	}
	tick := time.NewTicker(sp.hold / 3)
	defer tick.Stop()
	for {
		select {
		case <-sp.stopKA:
			return
		case <-sp.done:
			return
		case <-tick.C:
			if sp.send(scriptKeepalive) != nil {
				return
			}
		}
	}
}

// stopKeepalives ends the keepalive goroutine, so that a test's raw bytes
// are all that goes out from then on.
func (sp *scriptPeer) stopKeepalives() {
	sp.kaOnce.Do(func() { close(sp.stopKA) })
}

// send writes b (whole messages, or deliberately not) in one piece.
func (sp *scriptPeer) send(b ...[]byte) error {
	sp.wmu.Lock()
	defer sp.wmu.Unlock()
	sp.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for _, m := range b {
		if _, err := sp.nc.Write(m); err != nil {
			return err
		}
	}
	return nil
}

// mustSend is send for the test goroutine.
func (sp *scriptPeer) mustSend(t *testing.T, b ...[]byte) {
	t.Helper()
	if err := sp.send(b...); err != nil {
		t.Fatalf("%s: write: %v", sp.name, err)
	}
}

// close ends the connection and waits for the goroutines.
func (sp *scriptPeer) close() {
	sp.once.Do(func() {
		sp.stopKeepalives()
		sp.nc.Close()
		sp.wg.Wait()
	})
}

// closeWrite half-closes the connection: godwitd reads end of stream,
// and the reader goes on reading what godwitd still sends.
func (sp *scriptPeer) closeWrite() error {
	sp.stopKeepalives()
	sp.wmu.Lock()
	defer sp.wmu.Unlock()
	return sp.nc.(*net.TCPConn).CloseWrite()
}

// ended reports whether the reader has ended, with the NOTIFICATION
// received (nil if none) and the reader's error.
func (sp *scriptPeer) ended() (bool, *wire.Notification, error) {
	select {
	case <-sp.done:
	default:
		return false, nil, nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return true, sp.notif, sp.readErr
}

// waitEnd waits until godwitd ends the connection and returns the
// NOTIFICATION it sent, nil when it closed without one.
func (sp *scriptPeer) waitEnd(t *testing.T) *wire.Notification {
	t.Helper()
	daemonEventually(t, sp.name+": godwitd ends the session", func() (bool, string) {
		done, _, _ := sp.ended()
		return done, fmt.Sprintf("still open (%s)", sp)
	})
	_, n, _ := sp.ended()
	return n
}

// alive fails the test when godwitd ended this connection.
func (sp *scriptPeer) alive(t *testing.T) {
	t.Helper()
	if done, n, err := sp.ended(); done {
		t.Fatalf("%s: godwitd ended the session: NOTIFICATION %v, read error %v", sp.name, n, err)
	}
}

// route returns the raw path attributes godwitd advertised for p.
func (sp *scriptPeer) route(p string) ([]byte, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	a, ok := sp.routes[netip.MustParsePrefix(p)]
	return a, ok
}

// hasRoutes reports whether godwitd advertised exactly want among the
// prefixes of interest (present: true, withdrawn: false), for polls.
func (sp *scriptPeer) hasRoutes(want map[string]bool) (bool, string) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	ok := true
	var wrong []string
	for p, present := range want {
		if _, got := sp.routes[netip.MustParsePrefix(p)]; got != present {
			ok = false
			wrong = append(wrong, fmt.Sprintf("%s present=%t want %t", p, got, present))
		}
	}
	sort.Strings(wrong)
	if len(sp.bad) > 0 {
		ok = false
		wrong = append(wrong, fmt.Sprintf("undecodable UPDATEs from godwitd: %q", sp.bad))
	}
	return ok, fmt.Sprintf("%s: %s", sp.name, strings.Join(wrong, "; "))
}

func (sp *scriptPeer) String() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	ps := make([]string, 0, len(sp.routes))
	for p := range sp.routes {
		ps = append(ps, p.String())
	}
	sort.Strings(ps)
	return fmt.Sprintf("%s: %d messages after the handshake, NOTIFICATION %v, read error %v, routes %v, bad UPDATEs %q",
		sp.name, len(sp.msgs), sp.notif, sp.readErr, ps, sp.bad)
}

// ---------------------------------------------------------------------
// Hand-built messages. Nothing here validates: the point is to send what
// a well-behaved encoder would refuse to produce.

// Attribute flags (RFC 4271 §4.3).
const (
	flagOptional   = 0x80
	flagTransitive = 0x40
	flagPartial    = 0x20
	flagExtLen     = 0x10
	flagWellKnown  = flagTransitive
)

// rawAttr is one path attribute: flags, type, length, value. The length
// is one octet unless flags ask for two or the value needs them.
func rawAttr(flags, code byte, value []byte) []byte {
	if len(value) > 0xff {
		flags |= flagExtLen
	}
	b := []byte{flags, code}
	if flags&flagExtLen != 0 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(value)))
	} else {
		b = append(b, byte(len(value)))
	}
	return append(b, value...)
}

// rawHeader is a message header with the given length and type.
func rawHeader(length int, typ iana.MsgType) []byte {
	b := make([]byte, 16, wire.HeaderLen)
	for i := range b {
		b[i] = 0xff
	}
	b = binary.BigEndian.AppendUint16(b, uint16(length))
	return append(b, byte(typ))
}

// rawUpdate is an UPDATE with the given fields, the lengths computed.
func rawUpdate(withdrawn, attrs, nlriField []byte) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(len(withdrawn)))
	body = append(body, withdrawn...)
	body = binary.BigEndian.AppendUint16(body, uint16(len(attrs)))
	body = append(body, attrs...)
	body = append(body, nlriField...)
	return append(rawHeader(wire.HeaderLen+len(body), iana.MsgUpdate), body...)
}

// rawPrefixes is an NLRI field holding the IPv4 prefixes.
func rawPrefixes(ps ...string) []byte {
	var b []byte
	for _, s := range ps {
		p := netip.MustParsePrefix(s)
		a := p.Addr().As4()
		b = append(b, byte(p.Bits()))
		b = append(b, a[:(p.Bits()+7)/8]...)
	}
	return b
}

// Well-formed attributes of a route from AS as: ORIGIN IGP, AS_PATH [as]
// (4-octet), NEXT_HOP nh.
func rawOrigin(v byte) []byte { return rawAttr(flagWellKnown, 1, []byte{v}) }

func rawASPath(as ...uint32) []byte {
	v := []byte{2, byte(len(as))} // one AS_SEQUENCE
	for _, a := range as {
		v = binary.BigEndian.AppendUint32(v, a)
	}
	return rawAttr(flagWellKnown, 2, v)
}

func rawNextHop(nh string) []byte {
	a := netip.MustParseAddr(nh).As4()
	return rawAttr(flagWellKnown, 3, a[:])
}

// rawBase is ORIGIN IGP, AS_PATH [as], NEXT_HOP nh.
func rawBase(as uint32, nh string) []byte {
	return concat(rawOrigin(0), rawASPath(as), rawNextHop(nh))
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// rawAttribute is one path attribute as it was on the wire.
type rawAttribute struct {
	Flags byte
	Code  byte
	Value []byte
}

// splitAttrs splits a path attributes field into its attributes; ok is
// false when the field does not parse.
func splitAttrs(b []byte) ([]rawAttribute, bool) {
	var out []rawAttribute
	for len(b) > 0 {
		if len(b) < 3 {
			return out, false
		}
		flags, code := b[0], b[1]
		hdr, n := 3, int(b[2])
		if flags&flagExtLen != 0 {
			if len(b) < 4 {
				return out, false
			}
			hdr, n = 4, int(binary.BigEndian.Uint16(b[2:]))
		}
		if len(b) < hdr+n {
			return out, false
		}
		out = append(out, rawAttribute{Flags: flags, Code: code, Value: b[hdr : hdr+n]})
		b = b[hdr+n:]
	}
	return out, true
}

func findAttr(as []rawAttribute, code byte) (rawAttribute, bool) {
	for _, a := range as {
		if a.Code == code {
			return a, true
		}
	}
	return rawAttribute{}, false
}
