package transport

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// message returns a message of the given type and total length whose body
// is filler octets; length may be anything, for bad headers.
func message(typ iana.MsgType, length int) []byte {
	b := make([]byte, max(length, HeaderLen))
	for i := range 16 {
		b[i] = 0xff
	}
	binary.BigEndian.PutUint16(b[16:18], uint16(length))
	b[18] = byte(typ)
	for i := HeaderLen; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Real messages, also the fuzz seeds.
const (
	keepaliveHex = "ffffffffffffffffffffffffffffffff001304"
	// OPEN: version 4, AS 65010, hold time 90, router ID 10.0.1.10, and
	// capabilities MP-BGP IPv4 unicast, route refresh, 4-octet AS 65010.
	openHex = "ffffffffffffffffffffffffffffffff" + "002d" + "01" +
		"04" + "fdf2" + "005a" + "0a00010a" + "10" +
		"020e" + "01040001" + "0001" + "0200" + "4104" + "0000fdf2"
	// UPDATE: ORIGIN IGP, AS_PATH (65010 65100), NEXT_HOP 10.0.1.10,
	// NLRI 172.31.254.0/26.
	updateHex = "ffffffffffffffffffffffffffffffff" + "0034" + "02" +
		"0000" + "0018" +
		"40010100" + "40020a0202" + "0000fdf2" + "0000fe4c" + "4003040a00010a" +
		"1aac1ffe00"
)

func TestRealMessages(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  []byte
		typ  iana.MsgType
	}{
		{"keepalive", mustHex(t, keepaliveHex), iana.MsgKeepalive},
		{"open", mustHex(t, openHex), iana.MsgOpen},
		{"update", mustHex(t, updateHex), iana.MsgUpdate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.msg))
			typ, msg, err := r.ReadMessage()
			if err != nil || typ != tt.typ || !bytes.Equal(msg, tt.msg) {
				t.Fatalf("ReadMessage = %v, %x, %v; want %v, %x", typ, msg, err, tt.typ, tt.msg)
			}
			if _, _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("second ReadMessage err = %v, want EOF", err)
			}
		})
	}
}

func TestHeaderChecks(t *testing.T) {
	withMarker := func(m []byte, i int, v byte) []byte { m[i] = v; return m }
	type want struct {
		typ iana.MsgType // a good header
		sub iana.HeaderSubcode
		// data is the NOTIFICATION data of a bad header.
		data string
	}
	tests := []struct {
		name     string
		in       []byte
		extended bool
		want     want
	}{
		{"keepalive", message(iana.MsgKeepalive, 19), false, want{typ: iana.MsgKeepalive}},
		{"open minimum", message(iana.MsgOpen, 29), false, want{typ: iana.MsgOpen}},
		{"update minimum", message(iana.MsgUpdate, 23), false, want{typ: iana.MsgUpdate}},
		{"notification minimum", message(iana.MsgNotification, 21), false, want{typ: iana.MsgNotification}},
		{"route refresh", message(iana.MsgRouteRefresh, 23), false, want{typ: iana.MsgRouteRefresh}},
		{"enhanced route refresh longer", message(iana.MsgRouteRefresh, 40), false, want{typ: iana.MsgRouteRefresh}},
		{"update 4096", message(iana.MsgUpdate, 4096), false, want{typ: iana.MsgUpdate}},
		{"open 4096", message(iana.MsgOpen, 4096), false, want{typ: iana.MsgOpen}},
		{"extended update 4097", message(iana.MsgUpdate, 4097), true, want{typ: iana.MsgUpdate}},
		{"extended update 65535", message(iana.MsgUpdate, 65535), true, want{typ: iana.MsgUpdate}},
		{"extended notification 65535", message(iana.MsgNotification, 65535), true, want{typ: iana.MsgNotification}},

		{"marker first octet", withMarker(message(iana.MsgKeepalive, 19), 0, 0), false,
			want{sub: iana.HeaderConnectionNotSynchronized}},
		{"marker last octet", withMarker(message(iana.MsgKeepalive, 19), 15, 0xfe), false,
			want{sub: iana.HeaderConnectionNotSynchronized}},
		{"marker zero beats bad length", withMarker(message(iana.MsgUpdate, 3), 7, 0), false,
			want{sub: iana.HeaderConnectionNotSynchronized}},
		{"length 0", message(iana.MsgKeepalive, 0), false, want{sub: iana.HeaderBadMessageLength, data: "0000"}},
		{"length 18", message(iana.MsgKeepalive, 18), false, want{sub: iana.HeaderBadMessageLength, data: "0012"}},
		{"length 4097", message(iana.MsgUpdate, 4097), false, want{sub: iana.HeaderBadMessageLength, data: "1001"}},
		{"length 65535", message(iana.MsgUpdate, 65535), false, want{sub: iana.HeaderBadMessageLength, data: "ffff"}},
		{"bad length beats bad type", message(9, 5), false, want{sub: iana.HeaderBadMessageLength, data: "0005"}},
		{"type 0", message(0, 19), false, want{sub: iana.HeaderBadMessageType, data: "00"}},
		{"type 6", message(6, 40), false, want{sub: iana.HeaderBadMessageType, data: "06"}},
		{"type 255", message(255, 19), false, want{sub: iana.HeaderBadMessageType, data: "ff"}},
		{"open 28", message(iana.MsgOpen, 28), false, want{sub: iana.HeaderBadMessageLength, data: "001c"}},
		{"update 22", message(iana.MsgUpdate, 22), false, want{sub: iana.HeaderBadMessageLength, data: "0016"}},
		{"notification 20", message(iana.MsgNotification, 20), false, want{sub: iana.HeaderBadMessageLength, data: "0014"}},
		{"keepalive 20", message(iana.MsgKeepalive, 20), false, want{sub: iana.HeaderBadMessageLength, data: "0014"}},
		{"keepalive 4096", message(iana.MsgKeepalive, 4096), false, want{sub: iana.HeaderBadMessageLength, data: "1000"}},
		{"route refresh 22", message(iana.MsgRouteRefresh, 22), false, want{sub: iana.HeaderBadMessageLength, data: "0016"}},
		{"extended open 4097", message(iana.MsgOpen, 4097), true, want{sub: iana.HeaderBadMessageLength, data: "1001"}},
		{"extended keepalive 4097", message(iana.MsgKeepalive, 4097), true, want{sub: iana.HeaderBadMessageLength, data: "1001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if tt.want.sub != 0 {
				// A bad header is found from its 19 octets alone, without
				// waiting for a body that may never come.
				in = in[:HeaderLen]
			}
			r := NewReader(bytes.NewReader(in))
			if tt.extended {
				r.SetMaxLength(MaxExtendedMessageLen)
			}
			typ, msg, err := r.ReadMessage()
			if tt.want.sub == 0 {
				if err != nil || typ != tt.want.typ || !bytes.Equal(msg, in) {
					t.Fatalf("ReadMessage = %v, %d octets, %v; want %v, %d octets", typ, len(msg), err, tt.want.typ, len(in))
				}
				return
			}
			f := fault.As(err)
			if f == nil {
				t.Fatalf("ReadMessage err = %v, want a *fault.Error", err)
			}
			if f.Code != iana.NotifMessageHeader || f.Subcode != uint8(tt.want.sub) || f.Action != fault.SessionReset {
				t.Errorf("fault = %v / %d (%v), want %v / %v (session-reset)", f.Code, f.Subcode, f.Action, iana.NotifMessageHeader, tt.want.sub)
			}
			if got := hex.EncodeToString(f.Data); got != tt.want.data {
				t.Errorf("fault data = %q, want %q", got, tt.want.data)
			}
			if msg != nil {
				t.Errorf("msg = %x on error, want nil", msg)
			}
			// The stream is lost: the fault sticks.
			if _, _, err2 := r.ReadMessage(); err2 != err {
				t.Errorf("second ReadMessage err = %v, want the same fault", err2)
			}
		})
	}
}

// stream returns n messages of assorted types and sizes, back to back.
func stream(n int) ([]byte, []int) {
	var out []byte
	var lens []int
	sizes := []int{19, 23, 120, 4096, 57, 29, 1000, 21, 333}
	types := []iana.MsgType{iana.MsgKeepalive, iana.MsgUpdate, iana.MsgUpdate, iana.MsgUpdate,
		iana.MsgNotification, iana.MsgOpen, iana.MsgUpdate, iana.MsgNotification, iana.MsgRouteRefresh}
	for i := range n {
		m := message(types[i%len(types)], sizes[i%len(sizes)])
		if len(m) > HeaderLen {
			m[len(m)-1] = byte(i) // tell messages apart
		}
		out = append(out, m...)
		lens = append(lens, len(m))
	}
	return out, lens
}

func TestReaderStream(t *testing.T) {
	data, lens := stream(500)
	readers := map[string]func() io.Reader{
		"whole":      func() io.Reader { return bytes.NewReader(data) },
		"one byte":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"half":       func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"data + EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			r := NewReaderSize(mk(), 0) // smallest buffer: most compaction
			off := 0
			for i, l := range lens {
				_, msg, err := r.ReadMessage()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !bytes.Equal(msg, data[off:off+l]) {
					t.Fatalf("message %d differs", i)
				}
				off += l
			}
			for range 2 {
				if _, _, err := r.ReadMessage(); err != io.EOF {
					t.Fatalf("after the last message err = %v, want EOF", err)
				}
			}
		})
	}
}

func TestReaderExtendedBackToBack(t *testing.T) {
	var data []byte
	for i := range 10 {
		m := message(iana.MsgUpdate, MaxExtendedMessageLen-i*1000)
		data = append(data, m...)
	}
	r := NewReaderSize(iotest.HalfReader(bytes.NewReader(data)), 0)
	r.SetMaxLength(MaxExtendedMessageLen)
	off := 0
	for i := range 10 {
		_, msg, err := r.ReadMessage()
		if err != nil || !bytes.Equal(msg, data[off:off+len(msg)]) || len(msg) != MaxExtendedMessageLen-i*1000 {
			t.Fatalf("message %d: %d octets, %v", i, len(msg), err)
		}
		off += len(msg)
	}
}

func TestReaderTruncated(t *testing.T) {
	ka := message(iana.MsgKeepalive, 19)
	up := message(iana.MsgUpdate, 100)
	tests := []struct {
		name string
		in   []byte
		n    int // messages before the error
		want error
	}{
		{"empty", nil, 0, io.EOF},
		{"clean end", append(ka[:19:19], up...), 2, io.EOF},
		{"partial header", append(ka[:19:19], up[:10]...), 1, io.ErrUnexpectedEOF},
		{"partial body", append(ka[:19:19], up[:50]...), 1, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in))
			for i := range tt.n {
				if _, _, err := r.ReadMessage(); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if _, _, err := r.ReadMessage(); err != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// flakyReader returns errOnce on its first Read, then reads from r.
type flakyReader struct {
	r    io.Reader
	done bool
}

var errOnce = errors.New("timeout")

func (f *flakyReader) Read(p []byte) (int, error) {
	if !f.done {
		f.done = true
		return 0, errOnce
	}
	return f.r.Read(p)
}

func TestReaderErrorReturnedOnce(t *testing.T) {
	r := NewReader(&flakyReader{r: bytes.NewReader(message(iana.MsgKeepalive, 19))})
	if _, _, err := r.ReadMessage(); err != errOnce {
		t.Fatalf("first err = %v, want %v", err, errOnce)
	}
	if typ, _, err := r.ReadMessage(); err != nil || typ != iana.MsgKeepalive {
		t.Fatalf("after the error: %v, %v", typ, err)
	}
}

func TestReaderNoProgress(t *testing.T) {
	r := NewReader(iotest.ErrReader(nil)) // always 0, nil
	if _, _, err := r.ReadMessage(); err != io.ErrNoProgress {
		t.Fatalf("err = %v, want io.ErrNoProgress", err)
	}
}

func TestReaderSetMaxLength(t *testing.T) {
	in := message(iana.MsgUpdate, 5000)
	r := NewReader(bytes.NewReader(in))
	r.SetMaxLength(100) // clamped up to 4096
	if _, _, err := r.ReadMessage(); fault.As(err) == nil {
		t.Fatalf("5000 octets at max 4096: err = %v, want a fault", err)
	}
	r.Reset(bytes.NewReader(in))
	r.SetMaxLength(1 << 20) // clamped down to 65535
	if _, msg, err := r.ReadMessage(); err != nil || len(msg) != 5000 {
		t.Fatalf("5000 octets extended: %d octets, %v", len(msg), err)
	}
}

// TestReaderHasMessageKeepsBatch checks the promise peer's reader relies
// on: messages read while HasMessage is true stay valid together.
func TestReaderHasMessageKeepsBatch(t *testing.T) {
	data, lens := stream(2000)
	r := NewReaderSize(iotest.HalfReader(bytes.NewReader(data)), 0)
	off, i, batches := 0, 0, 0
	for i < len(lens) {
		var batch [][]byte
		start := off
		for {
			_, msg, err := r.ReadMessage()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			batch = append(batch, msg)
			off += lens[i]
			i++
			if i == len(lens) || !r.HasMessage() {
				break
			}
		}
		batches++
		for _, m := range batch {
			if !bytes.Equal(m, data[start:start+len(m)]) {
				t.Fatalf("batch %d: a message changed before the batch ended", batches)
			}
			start += len(m)
		}
	}
	if batches >= len(lens) {
		t.Errorf("%d batches for %d messages: HasMessage never said yes", batches, len(lens))
	}
	// A bad header is also "a result without reading".
	r = NewReader(bytes.NewReader(append(message(iana.MsgKeepalive, 19), message(9, 19)...)))
	if _, _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if !r.HasMessage() {
		t.Error("HasMessage = false with a bad header buffered")
	}
}

// countingReader counts Read calls.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestReaderFewReads checks that the Reader reads in large blocks: about
// one Read per buffer of data, not one per message or header.
func TestReaderFewReads(t *testing.T) {
	data, n := updateStream(10000)
	cr := &countingReader{r: bytes.NewReader(data)}
	r := NewReader(cr)
	for i := range n {
		if _, _, err := r.ReadMessage(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	// Each Read fills all but the tail of the previous block.
	limit := len(data)/(DefaultReaderSize-MaxMessageLen) + 2
	if cr.reads > limit {
		t.Errorf("%d Reads for %d octets, want at most %d", cr.reads, len(data), limit)
	}
	t.Logf("%d messages, %d octets, %d Reads", n, len(data), cr.reads)
}

// loopReader replays data forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func TestReaderNoAllocs(t *testing.T) {
	data, _ := updateStream(1000)
	r := NewReader(&loopReader{data: data})
	allocs := testing.AllocsPerRun(10000, func() {
		if _, _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per message, want 0", allocs)
	}
}

// updateStream returns n UPDATEs of realistic shape and size (an eBGP
// full-table feed: ORIGIN, AS_PATH of 2 to 7 four-octet ASes, NEXT_HOP,
// MED, COMMUNITIES, and 1 to 24 IPv4 prefixes of /16 to /24).
func updateStream(n int) ([]byte, int) {
	var out []byte
	for i := range n {
		start := len(out)
		out = append(out, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0, 0, byte(iana.MsgUpdate), 0, 0, 0, 0)
		attrs := len(out)
		out = append(out, 0x40, 1, 1, byte(i%3)) // ORIGIN
		hops := 2 + i%6
		out = append(out, 0x40, 2, byte(2+4*hops), 2, byte(hops)) // AS_PATH, one AS_SEQUENCE
		for h := range hops {
			out = binary.BigEndian.AppendUint32(out, uint32(64512+(i*7+h*13)%1000))
		}
		out = append(out, 0x40, 3, 4, 192, 0, 2, byte(1+i%250))                   // NEXT_HOP
		out = append(out, 0x80, 4, 4, 0, 0, 0, byte(i))                           // MED
		out = append(out, 0xc0, 8, 8, 0xfd, 0xe8, 0, byte(i%5), 0xfd, 0xe8, 1, 0) // COMMUNITIES
		binary.BigEndian.PutUint16(out[attrs-2:attrs], uint16(len(out)-attrs))
		for p := range 1 + (i*5)%24 {
			bits := 16 + (i+p)%9
			out = append(out, byte(bits), 10+byte(i%200), byte(p))
			if bits > 16 {
				out = append(out, byte(i))
			}
		}
		binary.BigEndian.PutUint16(out[start+16:start+18], uint16(len(out)-start))
	}
	return out, n
}

// BenchmarkReader reads a stream of 10,000 UPDATEs per op from a
// bytes.Reader; allocs/op is for all 10,000 messages.
func BenchmarkReader(b *testing.B) {
	const n = 10000
	data, _ := updateStream(n)
	br := bytes.NewReader(data)
	r := NewReader(br)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(data)
		r.Reset(br)
		for range n {
			if _, _, err := r.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
	b.ReportMetric(float64(len(data))/n, "B/msg")
}
