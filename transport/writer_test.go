package transport

import (
	"bytes"
	"errors"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// recorder keeps every Write.
type recorder struct {
	writes [][]byte
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (r *recorder) all() []byte { return bytes.Join(r.writes, nil) }

func TestWriterCoalesces(t *testing.T) {
	rec := &recorder{}
	w := NewWriter(rec)
	var want []byte
	for i := range 1000 {
		m := message(iana.MsgUpdate, 23+i%40)
		want = append(want, m...)
		if err := w.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes before Flush, want 0 (%d octets fit the buffer)", len(rec.writes), len(want))
	}
	if w.Buffered() != len(want) {
		t.Fatalf("Buffered = %d, want %d", w.Buffered(), len(want))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 || !bytes.Equal(rec.all(), want) {
		t.Fatalf("%d writes, content equal %v; want 1 write of everything", len(rec.writes), bytes.Equal(rec.all(), want))
	}
	if err := w.Flush(); err != nil || len(rec.writes) != 1 {
		t.Fatalf("empty Flush: %v, %d writes", err, len(rec.writes))
	}
}

func TestWriterFullBuffers(t *testing.T) {
	rec := &recorder{}
	w := NewWriterSize(rec, MaxMessageLen)
	var want []byte
	for i := range 100 {
		m := message(iana.MsgUpdate, 100+i*37)
		want = append(want, m...)
		if err := w.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.all(), want) {
		t.Fatal("written stream differs")
	}
	// Every write but the last is a full buffer.
	for i, b := range rec.writes[:len(rec.writes)-1] {
		if len(b) != MaxMessageLen {
			t.Fatalf("write %d is %d octets, want %d", i, len(b), MaxMessageLen)
		}
	}
}

func TestWriterLargeMessageDirect(t *testing.T) {
	rec := &recorder{}
	w := NewWriterSize(rec, MaxMessageLen)
	big := message(iana.MsgUpdate, MaxExtendedMessageLen)
	if err := w.WriteMessage(big); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 || len(rec.writes[0]) != len(big) || w.Buffered() != 0 {
		t.Fatalf("%d writes, buffered %d; want the message written at once", len(rec.writes), w.Buffered())
	}
}

func TestWriterRefusesUnframed(t *testing.T) {
	w := NewWriter(&recorder{})
	bad := message(iana.MsgUpdate, 100)[:99]
	for _, m := range [][]byte{nil, bad[:18], bad} {
		if err := w.WriteMessage(m); err == nil {
			t.Errorf("WriteMessage(%d octets) = nil, want an error", len(m))
		}
	}
	// A refused message does not poison the writer.
	if err := w.WriteMessage(message(iana.MsgKeepalive, 19)); err != nil {
		t.Fatal(err)
	}
}

func TestWriterStickyError(t *testing.T) {
	boom := errors.New("boom")
	rec := &recorder{err: boom}
	w := NewWriter(rec)
	if err := w.WriteMessage(message(iana.MsgKeepalive, 19)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want %v", err, boom)
	}
	rec.err = nil
	if err := w.WriteMessage(message(iana.MsgKeepalive, 19)); !errors.Is(err, boom) {
		t.Fatalf("WriteMessage after error = %v, want %v", err, boom)
	}
	w.Reset(rec)
	if err := w.WriteMessage(message(iana.MsgKeepalive, 19)); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkWriter writes the 10,000 UPDATEs of BenchmarkReader per op.
func BenchmarkWriter(b *testing.B) {
	const n = 10000
	data, _ := updateStream(n)
	var msgs [][]byte
	r := NewReader(bytes.NewReader(data))
	for range n {
		_, m, err := r.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, append([]byte(nil), m...))
	}
	w := NewWriter(discard{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			if err := w.WriteMessage(m); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}
