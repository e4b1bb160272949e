package transport

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// chunkReader returns at most n octets per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}

type readResult struct {
	msgs [][]byte
	err  error
}

// readAll reads messages until an error; messages are copied.
func readAll(r *Reader) readResult {
	var res readResult
	for {
		_, msg, err := r.ReadMessage()
		if err != nil {
			res.err = err
			return res
		}
		res.msgs = append(res.msgs, append([]byte(nil), msg...))
	}
}

// FuzzReader feeds random byte streams to a Reader, with and without
// extended messages, in random read sizes. Properties: no panic; every
// message is framed, of a known type and within the maximum, and the
// messages are the input's prefix in order; the stream ends in io.EOF or
// io.ErrUnexpectedEOF exactly when the input is used up, or else in a
// *fault.Error that is a valid Message Header Error NOTIFICATION; and the
// read sizes change nothing. Seeds: testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, extended bool, chunk uint8) {
		maxLen := MaxMessageLen
		if extended {
			maxLen = MaxExtendedMessageLen
		}
		whole := NewReaderSize(bytes.NewReader(data), 0)
		whole.SetMaxLength(maxLen)
		want := readAll(whole)

		off := 0
		for i, m := range want.msgs {
			if len(m) < HeaderLen || len(m) > maxLen || int(binary.BigEndian.Uint16(m[16:18])) != len(m) {
				t.Fatalf("message %d: %d octets, badly framed", i, len(m))
			}
			if !iana.MsgType(m[18]).Known() {
				t.Fatalf("message %d: unknown type %d", i, m[18])
			}
			if !bytes.Equal(m, data[off:off+len(m)]) {
				t.Fatalf("message %d is not the input at offset %d", i, off)
			}
			off += len(m)
		}
		switch want.err {
		case io.EOF:
			if off != len(data) {
				t.Fatalf("EOF with %d of %d octets used", off, len(data))
			}
		case io.ErrUnexpectedEOF:
			if off >= len(data) {
				t.Fatalf("ErrUnexpectedEOF with the whole input used")
			}
		default:
			fe := fault.As(want.err)
			if fe == nil {
				t.Fatalf("error %v (%T) is not a *fault.Error", want.err, want.err)
			}
			if fe.Code != iana.NotifMessageHeader || !iana.ValidNotification(fe.Code, fe.Subcode) || fe.Action != fault.SessionReset {
				t.Fatalf("fault %v is not a valid Message Header Error", fe)
			}
			if len(data)-off < HeaderLen {
				t.Fatalf("fault %v from fewer than %d octets", fe, HeaderLen)
			}
		}

		if chunk == 0 {
			return
		}
		r := NewReaderSize(&chunkReader{r: bytes.NewReader(data), n: int(chunk)}, 0)
		r.SetMaxLength(maxLen)
		got := readAll(r)
		if len(got.msgs) != len(want.msgs) {
			t.Fatalf("reads of %d octets: %d messages, whole reads: %d", chunk, len(got.msgs), len(want.msgs))
		}
		for i := range got.msgs {
			if !bytes.Equal(got.msgs[i], want.msgs[i]) {
				t.Fatalf("reads of %d octets: message %d differs", chunk, i)
			}
		}
		if got.err.Error() != want.err.Error() {
			t.Fatalf("reads of %d octets: err %v, whole reads: %v", chunk, got.err, want.err)
		}
	})
}
