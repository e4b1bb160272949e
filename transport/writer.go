package transport

import (
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultWriterSize is the buffer of NewWriter: enough to coalesce a few
// hundred small UPDATEs, or one maximal extended message, into one write.
const DefaultWriterSize = 64 << 10

// Writer sends encoded BGP messages with as few write syscalls as it can:
// messages are copied into one buffer, which is written when it is full or
// on Flush. A message larger than the buffer goes out directly. The caller
// may reuse a message's memory as soon as WriteMessage returns.
//
// A Writer belongs to one goroutine (a peer's writer goroutine), which
// calls Flush when its queue runs empty; it is not safe for concurrent use.
// A write error is sticky: every later call returns it.
type Writer struct {
	wr  io.Writer
	buf []byte // len(buf) is what is waiting to be written
	err error
}

// NewWriter returns a Writer over wr with a DefaultWriterSize buffer.
func NewWriter(wr io.Writer) *Writer {
	return NewWriterSize(wr, DefaultWriterSize)
}

// NewWriterSize is NewWriter with a buffer of size octets (at least
// MaxMessageLen).
func NewWriterSize(wr io.Writer, size int) *Writer {
	return &Writer{wr: wr, buf: make([]byte, 0, max(size, MaxMessageLen))}
}

// Reset drops anything buffered and any error, and makes w write to wr.
func (w *Writer) Reset(wr io.Writer) {
	w.wr, w.buf, w.err = wr, w.buf[:0], nil
}

// Buffered returns how many octets wait for the next write.
func (w *Writer) Buffered() int { return len(w.buf) }

// WriteMessage queues one whole message. It checks only that msg is
// framed (a header whose length field is len(msg)): a message cut short
// would desynchronise the session, so it is refused rather than sent.
func (w *Writer) WriteMessage(msg []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(msg) < HeaderLen || int(binary.BigEndian.Uint16(msg[16:18])) != len(msg) {
		return fmt.Errorf("transport: WriteMessage: %d octets are not one framed message", len(msg))
	}
	for len(msg) > 0 {
		if len(w.buf) == 0 && len(msg) >= cap(w.buf) {
			// Nothing to coalesce with and too big to buffer: no copy.
			return w.write(msg)
		}
		n := copy(w.buf[len(w.buf):cap(w.buf)], msg)
		w.buf = w.buf[:len(w.buf)+n]
		msg = msg[n:]
		if len(w.buf) == cap(w.buf) {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush writes whatever is buffered.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	err := w.write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// write writes p whole or records the error.
func (w *Writer) write(p []byte) error {
	n, err := w.wr.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("transport: write: %w", err)
	}
	return w.err
}
