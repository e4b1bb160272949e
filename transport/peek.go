package transport

import "encoding/binary"

// HasMessage reports whether ReadMessage can return its next result
// without reading from the stream: a whole message (or a header that is
// already known to be bad) is buffered. Until then ReadMessage does not
// move the buffer, so messages it returned earlier stay valid; a peer's
// reader uses this to hand up a batch of UPDATEs without copying them.
func (r *Reader) HasMessage() bool {
	n := r.w - r.r
	if n < HeaderLen {
		return false
	}
	length := int(binary.BigEndian.Uint16(r.buf[r.r+16 : r.r+18]))
	return length <= n || length < HeaderLen || length > r.max
}
