package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// holdTime is what the test peers offer (unless a test asks for a shorter
// one). The daemons keep their own defaults or accept it; the test peers
// never enforce it on the target (a target too busy to send KEEPALIVEs is
// measured, not reset), but they send their own KEEPALIVEs at a third of
// the negotiated hold time for as long as the session lasts, so that the
// target's hold timer never drops them, however long a run stays idle.
const holdTime = 90

// session is the smallest BGP speaker that can stand in for a peer in a
// benchmark: an OPEN with 4-octet AS and IPv4 unicast, the KEEPALIVE
// handshake, then raw access to the connection. It is not a general
// speaker: no FSM, no collision handling, no hold timer on the other side.
//
// Ownership: the goroutine that calls read owns rd; writes from several
// goroutines (the table, KEEPALIVEs) are serialised by wmu, one whole
// chunk of messages at a time. keepalivesIn is counted by the reading
// goroutine, kaErr set by the KEEPALIVE goroutine; both may be read at
// any time.
type session struct {
	conn   net.Conn
	rd     *transport.Reader
	peerAS uint32
	hold   time.Duration

	wmu sync.Mutex
	// keepalivesIn counts the KEEPALIVEs received after the handshake.
	keepalivesIn atomic.Int64
	// kaErr is why sending a KEEPALIVE failed.
	kaErr atomic.Pointer[error]
}

// speaker is what a test peer says about itself in its OPEN.
type speaker struct {
	AS       uint32
	RouterID netip.Addr
	// Hold is the hold time offered, in seconds; 0 is holdTime.
	Hold uint16
}

func (sp speaker) offeredHold() uint16 {
	if sp.Hold == 0 {
		return holdTime
	}
	return sp.Hold
}

func (sp speaker) open() []byte {
	o := wire.NewOpen(sp.AS, sp.offeredHold(), sp.RouterID,
		wire.CapMultiprotocol{Family: nlri.IPv4Unicast},
		wire.CapRouteRefresh{},
		wire.CapFourOctetAS{AS: sp.AS},
	)
	return o.AppendTo(nil, wire.Options{})
}

var keepalive = wire.Keepalive{}.AppendTo(nil, wire.Options{})

// handshake runs OPEN and KEEPALIVE on a fresh connection, from either end
// (both sides send OPEN first, RFC 4271 §8.2.2). It gives up at the
// context's deadline. The peer must announce the 4-octet AS capability.
func handshake(ctx context.Context, conn net.Conn, sp speaker) (*session, error) {
	s := &session{conn: conn, rd: transport.NewReader(conn)}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	defer conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	if _, err := conn.Write(sp.open()); err != nil {
		return nil, fmt.Errorf("send OPEN: %w", err)
	}
	gotOpen := false
	for {
		typ, msg, err := s.rd.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		body := msg[wire.HeaderLen:]
		switch typ {
		case iana.MsgOpen:
			o, err := wire.DecodeOpen(body)
			if err != nil {
				return nil, fmt.Errorf("peer's OPEN: %w", err)
			}
			as4 := false
			for _, c := range o.Capabilities() {
				if _, ok := c.(wire.CapFourOctetAS); ok {
					as4 = true
				}
			}
			if !as4 {
				return nil, errors.New("peer's OPEN has no 4-octet AS capability")
			}
			s.peerAS = o.AS()
			h := min(o.HoldTime, sp.offeredHold())
			if h > 0 {
				s.hold = time.Duration(h) * time.Second
			}
			gotOpen = true
			if _, err := conn.Write(keepalive); err != nil {
				return nil, fmt.Errorf("send KEEPALIVE: %w", err)
			}
		case iana.MsgKeepalive:
			if gotOpen {
				return s, nil
			}
		case iana.MsgNotification:
			return nil, notificationError(body)
		default:
			return nil, fmt.Errorf("handshake: unexpected %v", typ)
		}
	}
}

func notificationError(body []byte) error {
	m, err := wire.DecodeBody(iana.MsgNotification, body, sessionOptions)
	if err != nil {
		return fmt.Errorf("NOTIFICATION (undecodable: %v)", err)
	}
	return fmt.Errorf("NOTIFICATION from peer: %v", m)
}

// write sends b (whole messages) under the write lock.
func (s *session) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.conn.Write(b)
	return err
}

// keepalives sends a KEEPALIVE every third of the negotiated hold time
// (RFC 4271 §10) until ctx ends or a write fails; a failure while ctx is
// still live is kept for err. With a hold time of zero none are sent, as
// the RFC says.
func (s *session) keepalives(ctx context.Context) {
	if s.hold == 0 {
		return
	}
	t := time.NewTicker(s.hold / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.write(keepalive); err != nil {
				if ctx.Err() == nil {
					err = fmt.Errorf("send KEEPALIVE: %w", err)
					s.kaErr.Store(&err)
				}
				return
			}
		}
	}
}

// err is why sending a KEEPALIVE failed, or nil (a connection closed by
// our own side is not a failure).
func (s *session) err() error {
	if p := s.kaErr.Load(); p != nil && !closedByUs(*p) {
		return *p
	}
	return nil
}

// dialer opens the TCP connection of a test peer: from inside the run's
// namespace when ns is set, from a given local address.
type dialer struct {
	ns    *netns.NS
	local netip.Addr
}

func (d dialer) dial(ctx context.Context, remote netip.AddrPort) (net.Conn, error) {
	nd := &net.Dialer{Timeout: 5 * time.Second}
	if d.local.IsValid() {
		nd.LocalAddr = &net.TCPAddr{IP: d.local.AsSlice()}
	}
	if d.ns != nil {
		return d.ns.Dial(ctx, nd, "tcp", remote.String())
	}
	return nd.DialContext(ctx, "tcp", remote.String())
}

// connect dials remote and runs the handshake, retrying until ctx ends:
// a daemon that is still starting refuses the connection, or accepts it
// and closes it before its configuration is loaded.
func connect(ctx context.Context, d dialer, remote netip.AddrPort, sp speaker) (*session, error) {
	var last error
	for {
		conn, err := d.dial(ctx, remote)
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			var s *session
			s, err = handshake(hctx, conn, sp)
			cancel()
			if err == nil {
				return s, nil
			}
			conn.Close()
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("session %s -> %s not established: %w", d.local, remote, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
