package attr

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// The fuzz targets are seeded from the golden vectors (committed under
// testdata/fuzz/<Target>/ by TestWriteFuzzSeeds) and, when the conformance
// folder is present, from the ExaBGP attribute blocks.

// addSeeds adds every golden vector, and the ExaBGP blocks when available.
func addSeeds(f *testing.F, add func(b []byte, as4 bool)) {
	for _, v := range loadVectors(f) {
		add(v.bytes, v.opt.AS4)
	}
	if _, ok := findConformance(); ok {
		for _, u := range exabgpUpdates(f) {
			add(u.attrs, u.opt.AS4)
		}
	}
}

// findConformance returns ../shared/conformance beside the module root
// (the folder holding go.mod), and whether it exists.
func findConformance() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(dir, "..", "shared", "conformance")
			_, err := os.Stat(c)
			return c, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// decodeAlloc measures the bytes Decode allocates for b: the smaller of two
// runs, as the fuzzing engine's own goroutines allocate now and then too.
func decodeAlloc(b []byte, opt Options) uint64 {
	var least uint64
	for i := range 2 {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		Decode(b, opt)
		runtime.ReadMemStats(&ms1)
		if d := ms1.TotalAlloc - ms0.TotalAlloc; i == 0 || d < least {
			least = d
		}
	}
	return least
}

// maxAllocPerOctet bounds what decoding may allocate for each input octet
// (plus a fixed allowance): allocation follows the data, never a length
// field's claim.
const maxAllocPerOctet = 160

func FuzzDecode(f *testing.F) {
	addSeeds(f, func(b []byte, as4 bool) { f.Add(b, as4) })
	f.Fuzz(func(t *testing.T, b []byte, as4 bool) {
		opt := Options{AS4: as4}
		l, faults := Decode(b, opt)
		if alloc := decodeAlloc(b, opt); alloc > uint64(16384+maxAllocPerOctet*len(b)) {
			t.Fatalf("decoding %d octets allocated %d bytes", len(b), alloc)
		}
		checkFaults(t, b, faults)
		for _, a := range l {
			if a == nil {
				t.Fatal("nil attribute in the list")
			}
		}
		if len(l) > len(b)/3 {
			t.Fatalf("%d attributes from %d octets", len(l), len(b))
		}
		enc := AppendList(nil, l, opt)
		// DecodeScratch decodes the same, the second time into memory
		// the first used (a scratch of the input's own, so that a
		// failure reproduces from the input alone).
		var scratch Scratch
		for range 2 {
			ls, fs := DecodeScratch(b, opt, &scratch)
			if got := AppendList(nil, ls, opt); !bytes.Equal(got, enc) || len(fs) != len(faults) {
				t.Fatalf("DecodeScratch gives %x with %d faults, Decode %x with %d", got, len(fs), enc, len(faults))
			}
		}
		if len(faults) == 0 && !bytes.Equal(enc, b) {
			t.Fatalf("clean input not re-encoded byte-exact:\n got %x\nwant %x", enc, b)
		}
		// Canonical re-encoding: decode(encode(x)) encodes the same again.
		// The only faults left are flags faults of attributes returned
		// beside treat-as-withdraw.
		l2, faults2 := Decode(enc, opt)
		for _, f := range faults2 {
			if iana.UpdateSubcode(f.Subcode) != iana.UpdateAttributeFlagsError {
				t.Fatalf("re-decoding what was decoded: %v", f)
			}
		}
		if enc2 := AppendList(nil, l2, opt); !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding not stable:\n%x\n%x", enc, enc2)
		}
		// The canonical form is stable too.
		c := Canonical(nil, l, opt)
		l3, _ := Decode(c, opt)
		if c2 := Canonical(nil, l3, opt); !bytes.Equal(c, c2) {
			t.Fatalf("canonical form not stable:\n%x\n%x", c, c2)
		}
		if w := fault.Worst(faults); w != nil && w.Action == fault.AFISAFIDisable {
			if _, ok := FaultFamily(w); !ok {
				t.Fatalf("AFI/SAFI disable without a readable family: %v", w)
			}
		}
		// Accessors and text forms never panic.
		for _, a := range l {
			if s, ok := a.(fmt.Stringer); ok {
				_ = s.String()
			}
		}
		p, agg := l.ReconcileAS4(opt)
		if ap, ok := l.ASPath(); ok && p.Length() != ap.Length() {
			t.Fatalf("merged path length %d, AS_PATH length %d", p.Length(), ap.Length())
		}
		_ = agg
		if m, ok := l.MPReach(); ok {
			_, _, _, _ = m.NextHops()
		}
	})
}

func FuzzASPath(f *testing.F) {
	f.Add([]byte{2, 1, 0, 0, 0xfd, 0xe8}, []byte{2, 1, 0, 0, 0xfd, 0xe8}, true)
	addSeeds(f, func(b []byte, as4 bool) {
		if len(b) > 3 && (b[1] == byte(iana.AttrASPath) || b[1] == byte(iana.AttrAS4Path)) && b[0]&byte(FlagExtendedLength) == 0 {
			f.Add(b[3:], b[3:], as4)
		}
	})
	f.Fuzz(func(t *testing.T, v, v4 []byte, as4 bool) {
		opt := Options{AS4: as4}
		a, fa := DecodeValue(iana.AttrASPath, FlagTransitive, v, opt)
		if fa != nil {
			if fa.Action != fault.TreatAsWithdraw || iana.UpdateSubcode(fa.Subcode) != iana.UpdateMalformedASPath {
				t.Fatalf("AS_PATH fault %v", fa)
			}
			return
		}
		p := a.(*ASPath)
		if enc := p.AppendValue(nil, opt); !bytes.Equal(enc, v) {
			t.Fatalf("AS_PATH re-encoded %x, want %x", enc, v)
		}
		back, err := ParseASPath(p.String())
		if err != nil || back.String() != p.String() || back.Length() != p.Length() {
			t.Fatalf("text round trip of %q: %q %v", p, back, err)
		}
		if p.Length() > len(p.Flat()) {
			t.Fatalf("Length %d > %d AS numbers", p.Length(), len(p.Flat()))
		}
		if pre := p.Prepend(1, 3); pre.Length() != p.Length()+3 {
			t.Fatalf("Prepend length %d", pre.Length())
		}
		b4, fb := DecodeValue(iana.AttrAS4Path, FlagOptional|FlagTransitive, v4, Options{})
		if fb != nil {
			if fb.Action != fault.AttributeDiscard {
				t.Fatalf("AS4_PATH fault %v", fb)
			}
			return
		}
		m := MergeAS4Path(p, b4.(*AS4Path))
		if m.Length() != p.Length() {
			t.Fatalf("merged %q (%d) from %q (%d) and %q", m, m.Length(), p, p.Length(), b4.(*AS4Path))
		}
		two, four := SplitAS4(m)
		if four != nil {
			if back := MergeAS4Path(two, four); back.Length() != m.Length() {
				t.Fatalf("split and merge of %q gave %q", m, back)
			}
		}
	})
}

func FuzzExtCommunities(f *testing.F) {
	f.Add([]byte{0, 2, 0xfd, 0xe8, 0, 0, 0, 0x64})
	addSeeds(f, func(b []byte, _ bool) {
		if len(b) > 3 && b[1] == byte(iana.AttrExtendedCommunities) && b[0]&byte(FlagExtendedLength) == 0 {
			f.Add(b[3:])
		}
	})
	f.Fuzz(func(t *testing.T, v []byte) {
		a, fa := DecodeValue(iana.AttrExtendedCommunities, FlagOptional|FlagTransitive, v, Options{})
		if fa == nil {
			for _, e := range a.(*ExtCommunities).Values {
				s := e.String()
				back, err := ParseExtCommunity(s)
				if err != nil || back != e {
					t.Fatalf("%x: String %q parses to %x, %v", e[:], s, back[:], err)
				}
			}
			if enc := a.AppendValue(nil, Options{}); !bytes.Equal(enc, v) {
				t.Fatalf("re-encoded %x, want %x", enc, v)
			}
		}
		b, fb := DecodeValue(iana.AttrIPv6ExtendedCommunities, FlagOptional|FlagTransitive, v, Options{})
		if fb == nil {
			for _, e := range b.(*IPv6ExtCommunities).Values {
				s := FormatIPv6ExtCommunity(e)
				back, err := ParseIPv6ExtCommunity(s)
				if err != nil || back != e {
					t.Fatalf("%x: %q parses to %x, %v", e, s, back, err)
				}
			}
		}
		if len(v) >= 12 {
			c, fc := DecodeValue(iana.AttrLargeCommunities, FlagOptional|FlagTransitive, v[:len(v)/12*12], Options{})
			if fc != nil {
				t.Fatalf("large communities: %v", fc)
			}
			for _, lc := range c.(*LargeCommunities).Values {
				if back, err := ParseLargeCommunity(lc.String()); err != nil || back != lc {
					t.Fatalf("%v: %v %v", lc, back, err)
				}
			}
		}
	})
}

func FuzzTunnelEncap(f *testing.F) {
	f.Add([]byte{0, 8, 0, 3, 1, 1, 0})
	addSeeds(f, func(b []byte, _ bool) {
		if len(b) > 3 && b[1] == byte(iana.AttrTunnelEncap) && b[0]&byte(FlagExtendedLength) == 0 {
			f.Add(b[3:])
		}
	})
	f.Fuzz(func(t *testing.T, v []byte) {
		a, fa := DecodeValue(iana.AttrTunnelEncap, FlagOptional|FlagTransitive, v, Options{})
		if fa != nil {
			if fa.Action != fault.TreatAsWithdraw {
				t.Fatalf("fault %v", fa)
			}
			return
		}
		if enc := a.AppendValue(nil, Options{}); !bytes.Equal(enc, v) {
			t.Fatalf("re-encoded %x, want %x", enc, v)
		}
		_ = a.(*TunnelEncap).String()
	})
}

func FuzzMPReachNextHops(f *testing.F) {
	f.Add([]byte{0, 2, 1, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	addSeeds(f, func(b []byte, _ bool) {
		if len(b) > 4 && b[1] == byte(iana.AttrMPReachNLRI) {
			if b[0]&byte(FlagExtendedLength) != 0 {
				f.Add(b[4:])
			} else {
				f.Add(b[3:])
			}
		}
	})
	f.Fuzz(func(t *testing.T, v []byte) {
		a, fa := DecodeValue(iana.AttrMPReachNLRI, FlagOptional, v, Options{})
		if fa != nil {
			if _, ok := FaultFamily(fa); ok != (fa.Action == fault.AFISAFIDisable) {
				t.Fatalf("fault %v: FaultFamily ok=%v", fa, ok)
			}
			return
		}
		m := a.(*MPReach)
		if enc := m.AppendValue(nil, Options{}); !bytes.Equal(enc, v) {
			t.Fatalf("re-encoded %x, want %x", enc, v)
		}
		g, ll, rd, err := m.NextHops()
		if err != nil {
			return
		}
		// Rebuilding the next hop from what NextHops read gives the same
		// octets when the speaker followed the RFCs (zero RDs, the RD form
		// only for the VPN SAFIs).
		vpn := m.Family.SAFI == iana.SAFIVPN || m.Family.SAFI == iana.SAFIVPNMulticast
		rdForm := len(m.NextHop) == 12 || len(m.NextHop) == 24 || len(m.NextHop) == 48
		zeroRD := rd == nlri.RD{} && (len(m.NextHop) != 48 || bytes.Equal(m.NextHop[24:32], make([]byte, 8)))
		if g.IsValid() && vpn == rdForm && zeroRD {
			if nh := AppendNextHop(nil, m.Family, g, ll); !bytes.Equal(nh, m.NextHop) {
				t.Fatalf("%s: next hop %x rebuilt as %x", m.Family, m.NextHop, nh)
			}
		}
	})
}

// FuzzText checks the text forms: whatever parses prints in a form that
// parses to the same value.
func FuzzText(f *testing.F) {
	for _, s := range []string{"65000:100", "no-export", "rt:65000:100", "soo:192.0.2.1:7", "rt:65000L:1",
		"mac-mobility:5:sticky", "lb:1:1e9", "ext:0102030405060708", "1 2 {3,4} (5 6) [7,8]", "1:2:3",
		"rt:[2001:db8::1]:100", "encap:vxlan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseCommunity(s); err == nil {
			if back, err := ParseCommunity(FormatCommunity(v)); err != nil || back != v {
				t.Fatalf("community %q: %v %v", s, back, err)
			}
		}
		if e, err := ParseExtCommunity(s); err == nil {
			if back, err := ParseExtCommunity(e.String()); err != nil || back != e {
				t.Fatalf("ext community %q -> %q: %v", s, e, err)
			}
		}
		if p, err := ParseASPath(s); err == nil {
			if back, err := ParseASPath(p.String()); err != nil || back.String() != p.String() {
				t.Fatalf("AS path %q -> %q: %v", s, p, err)
			}
		}
		if c, err := ParseLargeCommunity(s); err == nil {
			if back, err := ParseLargeCommunity(c.String()); err != nil || back != c {
				t.Fatalf("large community %q: %v", s, err)
			}
		}
		if e, err := ParseIPv6ExtCommunity(s); err == nil {
			if back, err := ParseIPv6ExtCommunity(FormatIPv6ExtCommunity(e)); err != nil || back != e {
				t.Fatalf("IPv6 ext community %q: %v", s, err)
			}
		}
	})
}

// TestWriteFuzzSeeds (re)writes the committed seed corpus from the golden
// vectors when GODWIT_WRITE_FUZZ_SEEDS=1; otherwise it checks the corpus is
// there.
func TestWriteFuzzSeeds(t *testing.T) {
	targets := map[string]func(v vector) [][]any{
		"FuzzDecode": func(v vector) [][]any { return [][]any{{v.bytes, v.opt.AS4}} },
		"FuzzASPath": func(v vector) [][]any {
			if v.bytes[1] == byte(iana.AttrASPath) || v.bytes[1] == byte(iana.AttrAS4Path) {
				val := attrValue(v.bytes)
				return [][]any{{val, val, v.opt.AS4}}
			}
			return nil
		},
		"FuzzExtCommunities": func(v vector) [][]any {
			return valueOf(v, iana.AttrExtendedCommunities, iana.AttrIPv6ExtendedCommunities, iana.AttrLargeCommunities)
		},
		"FuzzTunnelEncap":     func(v vector) [][]any { return valueOf(v, iana.AttrTunnelEncap) },
		"FuzzMPReachNextHops": func(v vector) [][]any { return valueOf(v, iana.AttrMPReachNLRI) },
	}
	write := os.Getenv("GODWIT_WRITE_FUZZ_SEEDS") == "1"
	for name, seeds := range targets {
		dir := filepath.Join("testdata", "fuzz", name)
		if !write {
			if ents, err := os.ReadDir(dir); err != nil || len(ents) == 0 {
				t.Errorf("no committed seeds in %s (run with GODWIT_WRITE_FUZZ_SEEDS=1)", dir)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, v := range loadVectors(t) {
			for i, args := range seeds(v) {
				var b bytes.Buffer
				b.WriteString("go test fuzz v1\n")
				for _, a := range args {
					switch a := a.(type) {
					case []byte:
						fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(a)))
					case bool:
						fmt.Fprintf(&b, "bool(%v)\n", a)
					}
				}
				file := filepath.Join(dir, "golden-"+v.name)
				if i > 0 {
					file += "-" + strconv.Itoa(i)
				}
				if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// attrValue returns the value of the first attribute of a vector.
func attrValue(b []byte) []byte {
	hdr := 3
	if Flags(b[0])&FlagExtendedLength != 0 {
		hdr = 4
	}
	if len(b) < hdr {
		return nil
	}
	return b[hdr:]
}

func valueOf(v vector, codes ...iana.AttrCode) [][]any {
	for _, c := range codes {
		if len(v.bytes) > 1 && v.bytes[1] == byte(c) {
			return [][]any{{attrValue(v.bytes)}}
		}
	}
	return nil
}
