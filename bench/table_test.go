package bench

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
)

var nh = netip.MustParseAddr("10.255.0.1")

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(20_000, 7), Generate(20_000, 7)
	if len(a.Prefixes) != len(b.Prefixes) || len(a.Sets) != len(b.Sets) {
		t.Fatalf("sizes differ: %d/%d prefixes, %d/%d sets", len(a.Prefixes), len(b.Prefixes), len(a.Sets), len(b.Sets))
	}
	for i := range a.Prefixes {
		if a.Prefixes[i] != b.Prefixes[i] {
			t.Fatalf("prefix %d: %s != %s", i, a.Prefixes[i], b.Prefixes[i])
		}
	}
	for j := range 3 {
		sa, err := a.Encode(j, 3, 65001+uint32(j), nh)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.Encode(j, 3, 65001+uint32(j), nh)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sa.Updates, sb.Updates) {
			t.Errorf("injector %d: the encoded tables of two generations with one seed differ", j)
		}
	}
	c := Generate(20_000, 8)
	same := 0
	for i := range c.Prefixes {
		if c.Prefixes[i] == a.Prefixes[i] {
			same++
		}
	}
	if same > 100 {
		t.Errorf("seeds 7 and 8 share %d of 20000 prefixes at the same position", same)
	}
}

func TestGenerateDistribution(t *testing.T) {
	tab := Generate(100_000, 1)
	st := tab.Stats()
	t.Logf("%s", st)
	if st.Prefixes != 100_000 {
		t.Fatalf("%d prefixes", st.Prefixes)
	}
	if st.Share24 < 0.57 || st.Share24 > 0.63 {
		t.Errorf("share of /24: %.3f, want about 0.60", st.Share24)
	}
	if st.PrefixesPerSet < 27 || st.PrefixesPerSet > 33 {
		t.Errorf("prefixes per attribute set: %.1f, want about 30", st.PrefixesPerSet)
	}
	spread := 0
	for bits := 0; bits <= 32; bits++ {
		n := st.ByLength[bits]
		switch {
		case bits < 8 || bits > 24:
			if n != 0 {
				t.Errorf("%d prefixes of length /%d", n, bits)
			}
		case bits < 24 && n > 0:
			spread++
		}
	}
	if spread < 14 {
		t.Errorf("only %d of the lengths /8../23 occur", spread)
	}
	seen := map[Prefix]bool{}
	for _, p := range tab.Prefixes {
		if seen[p] {
			t.Fatalf("%s twice", p)
		}
		seen[p] = true
		if !usable(p) || p.Addr&^mask(int(p.Bits)) != 0 {
			t.Fatalf("%s: not a usable, masked prefix", p)
		}
	}
	var med, comm, pathLen [8]int
	for g := range tab.Sets {
		l := tab.Attrs(g, 0, 1, 65001, nh)
		p, _ := l.ASPath()
		n := len(p.Segments[0].ASNs)
		if n < 2 || n > 7 || p.Segments[0].ASNs[0] != 65001 {
			t.Fatalf("set %d: AS path %v", g, p.Segments)
		}
		pathLen[n]++
		if l.Has(4) {
			med[0]++
		}
		if c, ok := l.Get(8).(*attr.Communities); ok && len(c.Values) > 0 {
			comm[0]++
		}
	}
	sets := float64(len(tab.Sets))
	if f := float64(med[0]) / sets; f < 0.25 || f > 0.35 {
		t.Errorf("MED on %.2f of the sets, want about 0.3", f)
	}
	if f := float64(comm[0]) / sets; f < 0.35 || f > 0.45 {
		t.Errorf("communities on %.2f of the sets, want about 0.4", f)
	}
	for n := 2; n <= 7; n++ {
		if pathLen[n] == 0 {
			t.Errorf("no AS path of %d hops", n)
		}
	}
}

// TestOverlapWinner checks the property S3 relies on: for every set, the
// winner's AS path is strictly shorter than every other injector's.
func TestOverlapWinner(t *testing.T) {
	tab := Generate(5_000, 3)
	const k = 10
	wins := make([]int, k)
	for g := range tab.Sets {
		w := tab.Winner(g, k)
		wins[w]++
		wl := pathLen(tab.Attrs(g, w, k, 65001, nh))
		for j := range k {
			if j == w {
				continue
			}
			if l := pathLen(tab.Attrs(g, j, k, 65001+uint32(j), nh)); l <= wl {
				t.Fatalf("set %d: injector %d's path (%d) is not longer than the winner %d's (%d)", g, j, l, w, wl)
			}
		}
	}
	for j, n := range wins {
		if n == 0 {
			t.Errorf("injector %d never wins", j)
		}
	}
}

func pathLen(l attr.List) int {
	p, _ := l.ASPath()
	n := 0
	for _, s := range p.Segments {
		n += len(s.ASNs)
	}
	return n
}

// TestEncode decodes an injector's stream back: every prefix, in order,
// in UPDATEs that fit 4096 octets, chunks cut at message boundaries.
func TestEncode(t *testing.T) {
	tab := Generate(20_000, 5)
	st, err := tab.Encode(0, 1, 65001, nh)
	if err != nil {
		t.Fatal(err)
	}
	var joined []byte
	for _, c := range st.Chunks {
		if len(c) > chunkSize {
			t.Errorf("chunk of %d octets", len(c))
		}
		joined = append(joined, c...)
	}
	if !bytes.Equal(joined, st.Updates) {
		t.Fatal("chunks do not add up to the stream")
	}
	i, msgs := 0, 0
	for off := 0; off < len(st.Updates); msgs++ {
		h, err := wire.ParseHeader(st.Updates[off:], sessionOptions)
		if err != nil {
			t.Fatal(err)
		}
		u, err := wire.DecodeUpdate(st.Updates[off+wire.HeaderLen:off+int(h.Length)], sessionOptions)
		if err != nil {
			t.Fatal(err)
		}
		for r := range u.Reach() {
			if got := PrefixFrom(r.Prefix.Prefix); got != tab.Prefixes[i] {
				t.Fatalf("prefix %d: got %s, want %s", i, got, tab.Prefixes[i])
			}
			i++
		}
		off += int(h.Length)
	}
	if i != len(tab.Prefixes) || msgs != st.Messages {
		t.Errorf("decoded %d prefixes in %d UPDATEs, want %d in %d", i, msgs, len(tab.Prefixes), st.Messages)
	}
	// About one UPDATE per attribute set, a few more where a set does not
	// fit one message.
	if st.Messages < len(tab.Sets) || st.Messages > len(tab.Sets)*11/10 {
		t.Errorf("%d UPDATEs for %d attribute sets", st.Messages, len(tab.Sets))
	}
}

func TestTruncate(t *testing.T) {
	tab := Generate(1000, 2)
	u := tab.Truncate(500)
	if len(u.Prefixes) != 500 || u.Sets[len(u.Sets)-1].End != 500 {
		t.Fatalf("truncated to %d prefixes, last set ends at %d", len(u.Prefixes), u.Sets[len(u.Sets)-1].End)
	}
	if _, err := u.Encode(0, 1, 65001, nh); err != nil {
		t.Fatal(err)
	}
}

func TestPrefixIndex(t *testing.T) {
	tab := Generate(50_000, 9)
	x := newPrefixIndex(tab.Prefixes)
	for i, p := range tab.Prefixes {
		if got := x.lookup(p.key()); got != i {
			t.Fatalf("%s: position %d, want %d", p, got, i)
		}
	}
	other := Generate(50_000, 10)
	in := map[Prefix]bool{}
	for _, p := range tab.Prefixes {
		in[p] = true
	}
	for _, p := range other.Prefixes {
		if got := x.lookup(p.key()); (got >= 0) != in[p] {
			t.Fatalf("%s: position %d, in the table: %v", p, got, in[p])
		}
	}
	if x.lookup(indexKey(0x0a000000, 8)) != -1 {
		t.Error("found 10.0.0.0/8")
	}
}
