package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
)

// appendMRT writes a table as TABLE_DUMP_V2 (a PEER_INDEX_TABLE with one
// peer and one RIB_IPV4_UNICAST record per prefix, attributes as injector
// 65001 would send them), for LoadMRT to read back.
func appendMRT(b []byte, t *Table) []byte {
	record := func(b []byte, sub uint16, body []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint16(b, mrtTableDumpV2)
		b = binary.BigEndian.AppendUint16(b, sub)
		b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
		return append(b, body...)
	}
	// Collector 192.0.2.1, no view name, one peer: type 2 (IPv4, 4-octet
	// AS), BGP ID and address 192.0.2.2, AS 65001.
	peer := []byte{192, 0, 2, 1, 0, 0, 0, 1, 2, 192, 0, 2, 2, 192, 0, 2, 2, 0, 0, 0xfd, 0xe9}
	b = record(b, 1, peer)
	for g := range t.Sets {
		s := &t.Sets[g]
		attrs := attr.AppendList(nil, t.Attrs(g, 0, 1, 65001, netip.MustParseAddr("192.0.2.2")), attr.Options{AS4: true})
		for i := s.Start; i < s.End; i++ {
			p := t.Prefixes[i]
			var body []byte
			body = binary.BigEndian.AppendUint32(body, uint32(i))
			body = append(body, p.Bits)
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], p.Addr)
			body = append(body, a[:(p.Bits+7)/8]...)
			body = append(body, 0, 1) // one entry
			body = append(body, 0, 0, 0, 0, 0, 0)
			body = binary.BigEndian.AppendUint16(body, uint16(len(attrs)))
			body = append(body, attrs...)
			b = record(b, tdv2RIBIPv4Unicast, body)
		}
	}
	return b
}

func TestMRTRoundTrip(t *testing.T) {
	src := Generate(3_000, 4)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(appendMRT(nil, src))
	zw.Close()
	path := filepath.Join(t.TempDir(), "rib.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMRT(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Prefixes) != len(src.Prefixes) || len(got.Sets) != len(src.Sets) {
		t.Fatalf("read %d prefixes in %d sets, wrote %d in %d", len(got.Prefixes), len(got.Sets), len(src.Prefixes), len(src.Sets))
	}
	for g := range src.Sets {
		a, b := src.Sets[g], got.Sets[g]
		if a.Start != b.Start || a.End != b.End || a.Origin != b.Origin || a.HasMED != b.HasMED || a.MED != b.MED || len(a.Communities) != len(b.Communities) {
			t.Fatalf("set %d: read %+v, wrote %+v", g, b, a)
		}
		// The dump's path is the injector's; re-announced, it gets the
		// injector's AS once more.
		want := pathLen(src.Attrs(g, 0, 1, 65001, nh)) + 1
		if l := pathLen(got.Attrs(g, 0, 1, 65001, nh)); l != want {
			t.Fatalf("set %d: path of %d ASes, want %d", g, l, want)
		}
	}
	for i := range src.Prefixes {
		if src.Prefixes[i] != got.Prefixes[i] {
			t.Fatalf("prefix %d: read %s, wrote %s", i, got.Prefixes[i], src.Prefixes[i])
		}
	}
	if _, err := got.Encode(0, 3, 65001, nh); err != nil {
		t.Fatal(err)
	}
	// Overlap on a real table: the winner is shorter by construction.
	for g := range got.Sets {
		w := got.Winner(g, 3)
		if pathLen(got.Attrs(g, (w+1)%3, 3, 65003, nh)) <= pathLen(got.Attrs(g, w, 3, 65001, nh)) {
			t.Fatalf("set %d: a losing path is not longer", g)
		}
	}
}

// TestMRTReal reads the 2002 RIPE RIS table (TABLE_DUMP, 2-octet AS) from
// the shared conformance files when they are present: bgpdump lists
// 112,988 distinct prefixes in it.
func TestMRTReal(t *testing.T) {
	const path = "/work/shared/conformance/bgpdump-mrt/test_data/bview.20020722.2337.gz"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the shared MRT fixtures are not here: %v", err)
	}
	if testing.Short() {
		t.Skip("-short: reading 115k records")
	}
	tab, err := LoadMRT(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	st := tab.Stats()
	t.Logf("%s", st)
	// A few prefixes are not usable here (10/8, shorter than /8).
	if st.Prefixes < 112_000 || st.Prefixes > 112_988 {
		t.Errorf("%d prefixes, want a little under 112988", st.Prefixes)
	}
	if st.Sets < 10_000 || st.Sets > st.Prefixes/2 {
		t.Errorf("%d attribute sets", st.Sets)
	}
	if _, err := tab.Encode(0, 1, 65001, nh); err != nil {
		t.Fatal(err)
	}
}

// FuzzReadMRT feeds the MRT reader broken dumps: it must return a table or
// an error, never panic or loop.
func FuzzReadMRT(f *testing.F) {
	f.Add(appendMRT(nil, Generate(20, 1)))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 13, 0, 1, 0, 0, 0, 4, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readMRT(bytes.NewReader(b), 1)
	})
}
