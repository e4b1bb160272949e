package attr

import "testing"

// typicalBlock is the attribute block of a typical full-table route:
// ORIGIN, AS_PATH of 5, NEXT_HOP, MED and three communities (the "typical"
// golden vector in testdata/list.vec).
func typicalBlock(b *testing.B) []byte {
	for _, v := range loadVectors(b) {
		if v.name == "typical" {
			return v.bytes
		}
	}
	b.Fatal("no typical vector")
	return nil
}

func BenchmarkDecodeTypical(b *testing.B) {
	in := typicalBlock(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		l, faults := Decode(in, Options{AS4: true})
		if len(faults) != 0 || len(l) != 5 {
			b.Fatal(faults)
		}
	}
}

func BenchmarkAppendListTypical(b *testing.B) {
	l, _ := Decode(typicalBlock(b), Options{AS4: true})
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendList(buf[:0], l, Options{AS4: true})
	}
}

func BenchmarkCanonicalTypical(b *testing.B) {
	l, _ := Decode(typicalBlock(b), Options{AS4: true})
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = Canonical(buf[:0], l, Options{AS4: true})
	}
}
