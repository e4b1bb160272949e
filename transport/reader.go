package transport

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// Sizes from RFC 4271 §4.1 and RFC 8654.
const (
	// HeaderLen is the length of the BGP message header: marker, length, type.
	HeaderLen = 19
	// MaxMessageLen is the largest message without the extended message
	// capability.
	MaxMessageLen = 4096
	// MaxExtendedMessageLen is the largest message once both sides have
	// advertised the extended message capability (RFC 8654).
	MaxExtendedMessageLen = 65535
	// DefaultReaderSize is the buffer of NewReader: two maximal extended
	// messages, so that a refill after a message that ends near the end of
	// the buffer still reads a large block.
	DefaultReaderSize = 128 << 10
)

// minLen is the smallest valid length of each message type (RFC 4271 §4.2
// to §4.5, RFC 2918 §3 and RFC 7313 §5 for ROUTE-REFRESH, whose enhanced
// form may carry more than the 4 octets of RFC 2918); 0 marks a type that
// is not assigned. KEEPALIVE is exactly HeaderLen, checked apart.
var minLen = [256]uint16{
	iana.MsgOpen:         29,
	iana.MsgUpdate:       23,
	iana.MsgNotification: 21,
	iana.MsgKeepalive:    HeaderLen,
	iana.MsgRouteRefresh: 23,
}

// Reader splits a byte stream into BGP messages and checks their headers
// (RFC 4271 §6.1). It reads in large blocks into one buffer and hands out
// messages as slices of it, so that a message costs no allocation and a
// read syscall brings in as many messages as the socket has queued.
//
// A Reader belongs to one goroutine (a peer's reader goroutine); it is not
// safe for concurrent use.
type Reader struct {
	rd   io.Reader
	buf  []byte
	r, w int // buf[r:w] is read from rd and not yet handed out
	max  int
	err  error // a header fault (sticky) or a read error (returned once)
}

// NewReader returns a Reader over rd with a DefaultReaderSize buffer and
// the 4096-octet maximum of a session without extended messages.
func NewReader(rd io.Reader) *Reader {
	return NewReaderSize(rd, DefaultReaderSize)
}

// NewReaderSize is NewReader with a buffer of size octets, raised to
// MaxExtendedMessageLen when smaller (a buffer must hold any message).
func NewReaderSize(rd io.Reader, size int) *Reader {
	size = max(size, MaxExtendedMessageLen)
	return &Reader{rd: rd, buf: make([]byte, size), max: MaxMessageLen}
}

// Reset makes r read from rd from scratch, keeping its buffer; the
// maximum length goes back to MaxMessageLen.
func (r *Reader) Reset(rd io.Reader) {
	r.rd, r.r, r.w, r.max, r.err = rd, 0, 0, MaxMessageLen, nil
}

// SetMaxLength sets the largest length accepted: MaxMessageLen, or
// MaxExtendedMessageLen once the extended message capability is agreed
// (RFC 8654 §4). It is clamped to that range. OPEN stays limited to 4096
// octets whatever it is, since RFC 8654 does not extend OPEN.
func (r *Reader) SetMaxLength(n int) {
	r.max = min(max(n, MaxMessageLen), MaxExtendedMessageLen)
}

// Buffered returns how many octets are read from the stream and not yet
// returned as messages.
func (r *Reader) Buffered() int { return r.w - r.r }

// ReadMessage returns the next message: its type and the whole message,
// header included. msg points into the Reader's buffer and is valid until
// the next call that has to read from the stream; copy what must outlive
// it. Only fill moves or overwrites the buffer, and ReadMessage calls it
// only when no whole message is buffered, so messages returned while
// HasMessage (peek.go) reports true stay valid together: a peer's reader
// can hand up such a batch without copying.
//
// A malformed header yields a *fault.Error with the Message Header Error
// subcode and data of RFC 4271 §6.1 (SessionReset); the stream cannot be
// resynchronised, so every later call returns the same fault. The header
// is checked as soon as its 19 octets are in, before the body arrives.
// When the stream ends, the error is io.EOF at a message boundary and
// io.ErrUnexpectedEOF inside a message; other read errors are returned as
// they come, once.
func (r *Reader) ReadMessage() (typ iana.MsgType, msg []byte, err error) {
	if r.err != nil {
		if f, ok := r.err.(*fault.Error); ok {
			return 0, nil, f
		}
	}
	for {
		if n := r.w - r.r; n >= HeaderLen {
			t, length, f := checkHeader(r.buf[r.r:r.r+HeaderLen], r.max)
			if f != nil {
				r.err = f
				return 0, nil, f
			}
			if n >= length {
				msg = r.buf[r.r : r.r+length : r.r+length]
				r.r += length
				return t, msg, nil
			}
		}
		if r.err != nil {
			err = r.err
			r.err = nil
			if err == io.EOF && r.r != r.w {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		r.fill()
	}
}

// maxEmptyReads is how many times in a row a Read may return nothing
// before the Reader gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// fill reads once from the stream into the free end of the buffer, after
// moving the unread part (less than one message) to the front so that the
// read is as large as the buffer allows. The buffer holds at least
// MaxExtendedMessageLen octets, so the message being completed always fits.
func (r *Reader) fill() {
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	for i := 0; i < maxEmptyReads; i++ {
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.err = errors.New("transport: reader returned an invalid count")
			return
		}
		r.w += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// checkHeader checks a message header (RFC 4271 §6.1) in the order the
// RFC lists the checks: marker, length within bounds, type, length for the
// type. It returns the type and the length.
func checkHeader(h []byte, maxLen int) (iana.MsgType, int, *fault.Error) {
	// The marker is all ones (RFC 4271 §4.1); nothing else identifies a
	// message boundary, so a bad one means the stream is lost.
	if binary.LittleEndian.Uint64(h[0:8]) != ^uint64(0) || binary.LittleEndian.Uint64(h[8:16]) != ^uint64(0) {
		return 0, 0, fault.Header(iana.HeaderConnectionNotSynchronized, nil, "marker is not all ones")
	}
	length := int(binary.BigEndian.Uint16(h[16:18]))
	typ := iana.MsgType(h[18])
	if length < HeaderLen || length > maxLen {
		return 0, 0, fault.Header(iana.HeaderBadMessageLength, h[16:18],
			"length %d outside %d..%d", length, HeaderLen, maxLen)
	}
	minimum := int(minLen[typ])
	if minimum == 0 {
		// Data is the type field (RFC 4271 §6.1).
		return 0, 0, fault.Header(iana.HeaderBadMessageType, h[18:19], "unknown message type %d", uint8(typ))
	}
	switch {
	case length < minimum:
		return 0, 0, fault.Header(iana.HeaderBadMessageLength, h[16:18],
			"%s length %d below %d", typ, length, minimum)
	case typ == iana.MsgKeepalive && length != HeaderLen:
		return 0, 0, fault.Header(iana.HeaderBadMessageLength, h[16:18],
			"KEEPALIVE length %d, must be %d", length, HeaderLen)
	case typ == iana.MsgOpen && length > MaxMessageLen:
		// RFC 8654 §4: the extended message capability does not apply to OPEN.
		return 0, 0, fault.Header(iana.HeaderBadMessageLength, h[16:18],
			"OPEN length %d above %d", length, MaxMessageLen)
	}
	return typ, length, nil
}
