package attr

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire/iana"
)

func seq(as ...uint32) Segment    { return Segment{iana.SegmentASSequence, as} }
func set(as ...uint32) Segment    { return Segment{iana.SegmentASSet, as} }
func cseq(as ...uint32) Segment   { return Segment{iana.SegmentConfedSequence, as} }
func cset(as ...uint32) Segment   { return Segment{iana.SegmentConfedSet, as} }
func path(s ...Segment) *ASPath   { return &ASPath{Segments: s} }
func path4(s ...Segment) *AS4Path { return &AS4Path{Segments: s} }

func TestASPathText(t *testing.T) {
	tests := []struct {
		name   string
		p      *ASPath
		text   string
		length int
		flat   []uint32
	}{
		{"empty", path(), "", 0, []uint32{}},
		{"sequence", path(seq(65001, 65002, 4200000000)), "65001 65002 4200000000", 3, []uint32{65001, 65002, 4200000000}},
		{"set", path(seq(65001), set(65002, 65003)), "65001 {65002,65003}", 2, []uint32{65001, 65002, 65003}},
		{"confed", path(cseq(65100, 65101), cset(65102, 65103), seq(65001)), "(65100 65101) [65102,65103] 65001", 1,
			[]uint32{65100, 65101, 65102, 65103, 65001}},
		{"two sequences", path(seq(1), seq(2)), "1 2", 2, []uint32{1, 2}},
		{"one-member set", path(set(7)), "{7}", 1, []uint32{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := tt.p.String(); s != tt.text {
				t.Errorf("String = %q, want %q", s, tt.text)
			}
			if n := tt.p.Length(); n != tt.length {
				t.Errorf("Length = %d, want %d", n, tt.length)
			}
			if f := tt.p.Flat(); !slices.Equal(f, tt.flat) {
				t.Errorf("Flat = %v, want %v", f, tt.flat)
			}
			back, err := ParseASPath(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if back.String() != tt.text || back.Length() != tt.length {
				t.Errorf("ParseASPath(%q) = %q", tt.text, back)
			}
		})
	}
}

func TestParseASPath(t *testing.T) {
	p, err := ParseASPath(" 65001  {65002 65003}(1.10)[5, 6] ")
	if err != nil {
		t.Fatal(err)
	}
	want := path(seq(65001), set(65002, 65003), cseq(65546), cset(5, 6))
	if d := cmp.Diff(want.Segments, p.Segments); d != "" {
		t.Fatal(d)
	}
	for _, bad := range []string{"{1", "1 x", "{}", "4294967296", "1 (2"} {
		if _, err := ParseASPath(bad); err == nil {
			t.Errorf("ParseASPath(%q) succeeded", bad)
		}
	}
}

func TestASPathHelpers(t *testing.T) {
	p := path(seq(65001, 65002), set(65003, 65004))
	if as, ok := p.First(); !ok || as != 65001 {
		t.Errorf("First = %d %v", as, ok)
	}
	if _, ok := p.OriginAS(); ok {
		t.Error("OriginAS of a path ending with a set")
	}
	if as, ok := path(seq(1, 2, 3)).OriginAS(); !ok || as != 3 {
		t.Errorf("OriginAS = %d %v", as, ok)
	}
	if _, ok := path(cseq(1), seq(2)).First(); ok {
		t.Error("First of a path starting with a confed segment")
	}
	if !p.Contains(65004) || p.Contains(1) {
		t.Error("Contains")
	}
	var nilPath *ASPath
	if nilPath.Length() != 0 || nilPath.String() != "" || nilPath.Contains(1) || nilPath.Flat() != nil {
		t.Error("nil path")
	}

	pre := p.Prepend(65000, 2)
	if pre.String() != "65000 65000 65001 65002 {65003,65004}" {
		t.Errorf("Prepend = %q", pre)
	}
	if p.String() != "65001 65002 {65003,65004}" {
		t.Errorf("Prepend changed the original: %q", p)
	}
	if s := path(set(1)).Prepend(2, 1).String(); s != "2 {1}" {
		t.Errorf("Prepend before a set = %q", s)
	}
	if s := path(cseq(9), seq(1)).Prepend(2, 1).String(); s != "2 (9) 1" {
		t.Errorf("Prepend before a confed segment = %q", s)
	}
	if s := nilPath.Prepend(5, 1).String(); s != "5" {
		t.Errorf("Prepend to nil = %q", s)
	}
	c := p.Clone()
	c.Segments[0].ASNs[0] = 1
	if p.Segments[0].ASNs[0] != 65001 {
		t.Error("Clone shares memory")
	}
}

// TestASPathEncoding checks 2-octet encoding (AS_TRANS for large numbers),
// splitting of segments longer than 255 and leaving out empty segments.
func TestASPathEncoding(t *testing.T) {
	p := path(seq(65001, 4200000000), Segment{Type: iana.SegmentASSet})
	got := p.AppendValue(nil, Options{})
	want := []byte{2, 2, 0xfd, 0xe9, 0x5b, 0xa0}
	if !bytes.Equal(got, want) {
		t.Fatalf("2-octet encoding %x, want %x", got, want)
	}
	long := make([]uint32, 300)
	for i := range long {
		long[i] = uint32(i + 1)
	}
	enc := Append(nil, path(seq(long...)), Options{AS4: true})
	l, faults := Decode(enc, Options{AS4: true})
	if len(faults) != 0 {
		t.Fatal(faults)
	}
	dp, _ := l.ASPath()
	if len(dp.Segments) != 2 || len(dp.Segments[0].ASNs) != 255 || !slices.Equal(dp.Flat(), long) {
		t.Fatalf("long path decoded as %d segments", len(dp.Segments))
	}
	if dp.Length() != 300 {
		t.Fatalf("Length = %d", dp.Length())
	}
}

// TestMergeAS4Path covers RFC 6793 §4.2.3.
func TestMergeAS4Path(t *testing.T) {
	const trans = ASTrans
	tests := []struct {
		name   string
		asPath *ASPath
		as4    *AS4Path
		want   string
	}{
		{"no AS4_PATH", path(seq(1, trans)), nil, "1 23456"},
		{"replace the tail", path(seq(65001, trans, 65003)), path4(seq(4200000000, 65003)), "65001 4200000000 65003"},
		{"equal length", path(seq(trans, trans)), path4(seq(4200000000, 4200000001)), "4200000000 4200000001"},
		{"AS4_PATH longer: ignored", path(seq(trans)), path4(seq(4200000000, 4200000001)), "23456"},
		{"AS4_PATH longer by set count: ignored", path(set(trans, 1)), path4(seq(4200000000, 1)), "{23456,1}"},
		{"cut inside a sequence", path(seq(1, 2, 3, trans)), path4(seq(4200000000)), "1 2 3 4200000000"},
		{"sets count one", path(seq(65001, trans), set(65010, trans)), path4(seq(4200000000), set(65010, 4200000001)),
			"65001 4200000000 {65010,4200000001}"},
		{"set kept from AS_PATH", path(set(1, 2), seq(trans)), path4(seq(4200000000)), "{1,2} 4200000000"},
		{"leading confed kept", path(cseq(65100, 65101), seq(65001, trans)), path4(seq(4200000000)),
			"(65100 65101) 65001 4200000000"},
		{"leading confed kept with nothing to take", path(cseq(65100), seq(trans)), path4(seq(4200000000)),
			"(65100) 4200000000"},
		{"confed set and sequence lead", path(cseq(65100), cset(65200, 65201), seq(trans, trans)),
			path4(seq(4200000000, 4200000001)), "(65100) [65200,65201] 4200000000 4200000001"},
		{"AS4_PATH confed segments dropped", path(seq(65001, trans)), path4(cseq(65100), seq(4200000000)),
			"65001 4200000000"},
		{"AS4_PATH only confed: ignored", path(seq(trans)), path4(cseq(65100)), "23456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.asPath.String()
			got := MergeAS4Path(tt.asPath, tt.as4)
			if got.String() != tt.want {
				t.Fatalf("MergeAS4Path = %q, want %q", got, tt.want)
			}
			if tt.asPath.String() != before {
				t.Fatal("MergeAS4Path changed its input")
			}
		})
	}
	if MergeAS4Path(nil, path4(seq(1))) != nil {
		t.Error("MergeAS4Path(nil, ...) != nil")
	}
	// Adjacent sequences merge into one segment.
	if got := MergeAS4Path(path(seq(1, trans)), path4(seq(4200000000))); len(got.Segments) != 1 {
		t.Errorf("segments %v", got.Segments)
	}
}

func TestMergeAS4Aggregator(t *testing.T) {
	a := addr("192.0.2.1")
	b := addr("192.0.2.2")
	trans := &Aggregator{AS: ASTrans, Addr: a}
	other := &Aggregator{AS: 65001, Addr: a}
	as4 := &AS4Aggregator{AS: 4200000000, Addr: b}
	if got := MergeAS4Aggregator(trans, as4); got.AS != 4200000000 || got.Addr != b {
		t.Errorf("AS_TRANS: %v", got)
	}
	if got := MergeAS4Aggregator(other, as4); got != other {
		t.Errorf("non-AS_TRANS: %v", got)
	}
	if got := MergeAS4Aggregator(trans, nil); got != trans {
		t.Errorf("no AS4_AGGREGATOR: %v", got)
	}
	if got := MergeAS4Aggregator(nil, as4); got != nil {
		t.Errorf("no AGGREGATOR: %v", got)
	}
}

func TestReconcileAS4(t *testing.T) {
	asPath := path(seq(65001, ASTrans))
	as4Path := path4(seq(4200000000))
	l := List{asPath, as4Path, &Aggregator{AS: ASTrans, Addr: addr("192.0.2.1")}, &AS4Aggregator{AS: 4200000001, Addr: addr("192.0.2.9")}}
	p, agg := l.ReconcileAS4(Options{})
	if p.String() != "65001 4200000000" || agg.AS != 4200000001 || agg.Addr != addr("192.0.2.9") {
		t.Errorf("OLD peer: %s / %v", p, agg)
	}
	// From a NEW peer the AS4 attributes are ignored (RFC 6793 §4.2.2).
	p, agg = l.ReconcileAS4(Options{AS4: true})
	if p != asPath || agg.AS != ASTrans {
		t.Errorf("NEW peer: %s / %v", p, agg)
	}
	// AGGREGATOR not AS_TRANS beside AS4_AGGREGATOR: both AS4 attributes
	// are ignored (RFC 6793 §4.2.3).
	l[2] = &Aggregator{AS: 65002, Addr: addr("192.0.2.1")}
	p, agg = l.ReconcileAS4(Options{})
	if p != asPath || agg.AS != 65002 {
		t.Errorf("OLD aggregator: %s / %v", p, agg)
	}
	p, agg = List{}.ReconcileAS4(Options{})
	if p != nil || agg != nil {
		t.Error("empty list")
	}
}

func TestSplitAS4(t *testing.T) {
	p := path(cseq(4200000009), seq(65001, 4200000000), set(4200000001, 7))
	two, four := SplitAS4(p)
	if two.String() != "(23456) 65001 23456 {23456,7}" {
		t.Errorf("AS_PATH = %q", two)
	}
	if four.String() != "65001 4200000000 {4200000001,7}" {
		t.Errorf("AS4_PATH = %q", four)
	}
	if p.String() != "(4200000009) 65001 4200000000 {4200000001,7}" {
		t.Error("SplitAS4 changed its input")
	}
	// The pair merges back to the path, minus what the confederation
	// segment lost (RFC 6793 keeps confederations out of AS4_PATH).
	if m := MergeAS4Path(two, four); m.String() != "(23456) 65001 4200000000 {4200000001,7}" {
		t.Errorf("merged back = %q", m)
	}
	small := path(seq(1, 2))
	if two, four := SplitAS4(small); two != small || four != nil {
		t.Error("a 2-octet path needs no AS4_PATH")
	}
	if two, four := SplitAS4(nil); two != nil || four != nil {
		t.Error("nil")
	}
	agg, agg4 := SplitAS4Aggregator(&Aggregator{AS: 4200000000, Addr: addr("192.0.2.1")})
	if agg.AS != ASTrans || agg4.AS != 4200000000 || agg4.Addr != addr("192.0.2.1") {
		t.Errorf("SplitAS4Aggregator: %v %v", agg, agg4)
	}
	small2 := &Aggregator{AS: 1}
	if a, a4 := SplitAS4Aggregator(small2); a != small2 || a4 != nil {
		t.Error("small aggregator")
	}
	// Encoding the built pair for an OLD peer gives the RFC's layout.
	enc := AppendList(nil, List{two, four}, Options{})
	l, faults := Decode(enc, Options{})
	if len(faults) != 0 {
		t.Fatal(faults)
	}
	if got, _ := l.ReconcileAS4(Options{}); got.String() != "(23456) 65001 4200000000 {4200000001,7}" {
		t.Errorf("round trip through an OLD session: %q", got)
	}
}
