package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// Injector is a test peer that sends one pre-encoded table as fast as TCP
// takes it, then End-of-RIB, then KEEPALIVEs until stopped. It reads and
// discards what the target sends, counting UPDATEs (which a target
// configured not to export to injectors should never send) and
// KEEPALIVEs.
//
//	run ──start──> write chunks ─> EndOfRIB ─> (KEEPALIVE goroutine keeps going)
//	read goroutine: ReadMessage loop, counts UPDATEs and KEEPALIVEs, stops on error
//
// Fields set by the goroutines are atomics; the rest is fixed at creation.
type Injector struct {
	s      *session
	stream *Stream

	started  atomic.Int64 // unix nanos of the first write
	written  atomic.Int64 // unix nanos when the last chunk was handed to the kernel
	received atomic.Int64 // UPDATEs with routes received from the target
	// withdrawals counts those of them with withdrawn routes.
	withdrawals atomic.Int64
	readErr     atomic.Pointer[error]
	writeErr    atomic.Pointer[error]
	readDone    chan struct{}
	writeDone   chan struct{}
}

func newInjector(s *session, st *Stream) *Injector {
	return &Injector{s: s, stream: st, readDone: make(chan struct{}), writeDone: make(chan struct{})}
}

// run sends the table once start closes, then keeps the session alive until
// ctx ends. It returns when ctx ends.
func (in *Injector) run(ctx context.Context, start <-chan struct{}) {
	go in.read()
	go in.s.keepalives(ctx)
	select {
	case <-ctx.Done():
		close(in.writeDone)
		return
	case <-start:
	}
	in.started.Store(time.Now().UnixNano())
	var err error
	for _, c := range in.stream.Chunks {
		if err = in.s.write(c); err != nil {
			break
		}
	}
	if err == nil {
		in.written.Store(time.Now().UnixNano())
		err = in.s.write(in.stream.EndOfRIB)
	}
	if err != nil {
		in.writeErr.Store(&err)
	}
	close(in.writeDone)
	<-ctx.Done()
}

func (in *Injector) read() {
	defer close(in.readDone)
	for {
		typ, msg, err := in.s.rd.ReadMessage()
		if err != nil {
			in.readErr.Store(&err)
			return
		}
		switch typ {
		case iana.MsgUpdate:
			// End-of-RIB (an empty UPDATE) is not a route.
			if len(msg) > wire.HeaderLen+4 {
				in.received.Add(1)
				if binary.BigEndian.Uint16(msg[wire.HeaderLen:]) > 0 {
					in.withdrawals.Add(1)
				}
			}
		case iana.MsgKeepalive:
			in.s.keepalivesIn.Add(1)
		case iana.MsgNotification:
			err := notificationError(msg[wire.HeaderLen:])
			in.readErr.Store(&err)
			return
		}
	}
}

// Err returns why the session failed, or nil; a connection closed by our
// own side at the end of a run is not a failure.
func (in *Injector) Err() error {
	if p := in.writeErr.Load(); p != nil {
		return *p
	}
	if p := in.readErr.Load(); p != nil && !closedByUs(*p) {
		return *p
	}
	return in.s.err()
}

func closedByUs(err error) bool {
	return errors.Is(err, net.ErrClosed)
}

func (in *Injector) close() { in.s.conn.Close() }

// startedAt and writtenAt are zero until they happened.
func (in *Injector) startedAt() time.Time { return unixTime(in.started.Load()) }
func (in *Injector) writtenAt() time.Time { return unixTime(in.written.Load()) }

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
