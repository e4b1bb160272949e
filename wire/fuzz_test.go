package wire

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// The fuzz targets take the negotiated options as one octet, so that the
// fuzzer explores them with the bytes.
const (
	optAS4 = 1 << iota
	optExtendedMessage
	optAddPathIPv4
	optAddPathIPv6
	optAddPathIPv4VPN
	optAddPathIPv6VPN
	optAddPathEVPN
	optAddPathLabeled
)

var addPathBits = []struct {
	bit byte
	fam nlri.Family
}{
	{optAddPathIPv4, nlri.IPv4Unicast},
	{optAddPathIPv6, nlri.IPv6Unicast},
	{optAddPathIPv4VPN, nlri.IPv4VPN},
	{optAddPathIPv6VPN, nlri.IPv6VPN},
	{optAddPathEVPN, nlri.L2VPNEVPN},
	{optAddPathLabeled, nlri.IPv4Labeled},
}

func optionsFromByte(b byte) Options {
	o := Options{AS4: b&optAS4 != 0, ExtendedMessage: b&optExtendedMessage != 0}
	var fams []nlri.Family
	for _, x := range addPathBits {
		if b&x.bit != 0 {
			fams = append(fams, x.fam)
		}
	}
	o.AddPath = nlri.NewAddPath(fams...)
	return o
}

func optionsToByte(o Options) byte {
	var b byte
	if o.AS4 {
		b |= optAS4
	}
	if o.ExtendedMessage {
		b |= optExtendedMessage
	}
	for _, x := range addPathBits {
		if o.AddPath.Has(x.fam) {
			b |= x.bit
		}
	}
	return b
}

// allocated returns the bytes allocated by f. runtime/metrics is cheap but
// counts small objects a span at a time; when its figure is over bound, f
// runs again under ReadMemStats (which stops the world but is exact).
func allocated(bound uint64, f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	if n := s[0].Value.Uint64() - before; n <= bound {
		return n
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// allocBound is the most a decoder may allocate for n octets of input: a
// fixed part plus a constant factor, so that no input amplifies memory.
func allocBound(n int) uint64 { return 1<<16 + 64*uint64(n) }

// checkFault checks that err is a fault a speaker can act on.
func checkFault(t *testing.T, err error) *fault.Error {
	t.Helper()
	f := fault.As(err)
	if f == nil {
		t.Fatalf("error %v (%T) is not a *fault.Error", err, err)
	}
	if !iana.ValidNotification(f.Code, f.Subcode) {
		t.Fatalf("fault %v: code %d subcode %d is not a valid NOTIFICATION", f, f.Code, f.Subcode)
	}
	if f.Action > fault.SessionReset {
		t.Fatalf("fault %v: action %d out of range", f, f.Action)
	}
	if f.Action != fault.SessionReset && f.Code != iana.NotifUpdateMessage {
		t.Fatalf("fault %v: only UPDATE errors may leave the session up", f)
	}
	return f
}

// exercise walks everything a caller may walk on a decoded message.
func exercise(m Message) {
	switch m := m.(type) {
	case *Update:
		for r := range m.Reach() {
			_ = r.String()
		}
		for r := range m.Unreach() {
			_ = r.String()
		}
		m.EndOfRIB()
		c := m.Clone()
		for range c.Reach() {
		}
	case *Open:
		_ = m.String()
		m.AS()
	case *Notification:
		_ = m.String()
		m.ShutdownMessage()
		m.HardResetInner()
	case *RouteRefresh:
		_ = m.String()
	}
}

// checkCanonical checks that a decoded message re-encodes to a canonical
// form: decode(encode(m)) encodes to the same octets, with no worse fault.
func checkCanonical(t *testing.T, m Message, err error, opt Options) {
	t.Helper()
	enc1 := m.AppendTo(nil, opt)
	m2, err2 := Decode(enc1, opt)
	if m2 == nil {
		t.Fatalf("re-encoded %s does not decode: %v\nencoded %x", m.Type(), err2, enc1)
	}
	if err == nil && err2 != nil {
		t.Fatalf("clean %s re-encodes into a faulty one: %v\nencoded %x", m.Type(), err2, enc1)
	}
	if err2 != nil && err != nil && fault.As(err2).Action > fault.As(err).Action {
		t.Fatalf("re-encoding worsens %v into %v", err, err2)
	}
	if enc2 := m2.AppendTo(nil, opt); !bytes.Equal(enc1, enc2) {
		t.Fatalf("encoding is not stable:\nfirst  %x\nsecond %x", enc1, enc2)
	}
}

func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, flags byte) {
		opt := optionsFromByte(flags)
		var m Message
		var err error
		if n := allocated(allocBound(len(data)), func() { m, err = Decode(data, opt) }); n > allocBound(len(data)) {
			t.Fatalf("decoding %d octets allocated %d bytes", len(data), n)
		}
		if err != nil {
			fa := checkFault(t, err)
			if m != nil && fa.Action == fault.SessionReset && m.Type() != iana.MsgOpen {
				t.Fatalf("%s handed up with a session reset", m.Type())
			}
		}
		if m == nil {
			return
		}
		exercise(m)
		if m.Type() == iana.MsgOpen && err != nil {
			// An OPEN with an unacceptable value is handed up for logging;
			// its re-encoding may carry the same fault, which is fine.
			return
		}
		checkCanonical(t, m, err, opt)
		if err == nil && len(data) >= HeaderLen && data[18] != byte(iana.MsgOpen) {
			if _, err := Append(nil, m, opt); err != nil {
				t.Fatalf("decoded message does not fit again: %v", err)
			}
		}
	})
}

func FuzzOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var o *Open
		var err error
		if n := allocated(allocBound(len(body)), func() { o, err = DecodeOpen(body) }); n > allocBound(len(body)) {
			t.Fatalf("decoding %d octets allocated %d bytes", len(body), n)
		}
		if err != nil {
			checkFault(t, err)
		}
		if o == nil {
			return
		}
		exercise(o)
		if err != nil {
			return
		}
		enc1 := o.AppendTo(nil, Options{})
		o2, err2 := DecodeOpen(enc1[HeaderLen:])
		if err2 != nil {
			t.Fatalf("re-encoded OPEN does not decode: %v\n%x", err2, enc1)
		}
		if enc2 := o2.AppendTo(nil, Options{}); !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding is not stable:\nfirst  %x\nsecond %x", enc1, enc2)
		}
	})
}

// fuzzPrime is an UPDATE with many attributes: FuzzUpdate decodes it
// into an UpdateDecoder before each input, so that the input is decoded
// into memory another UPDATE filled, and a failure reproduces from the
// input alone.
var fuzzPrime = func() []byte {
	p := NewPacker(Options{AS4: true})
	p.SetAttrs(attr.List{
		&attr.Origin{Value: attr.OriginEGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, 4200000000, 65002}},
			{Type: iana.SegmentASSet, ASNs: []uint32{1, 2, 3}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")},
		&attr.MED{Value: 7},
		&attr.LocalPref{Value: 200},
		&attr.AtomicAggregate{},
		&attr.Communities{Values: []uint32{65000<<16 | 1, 65000<<16 | 2}},
		&attr.LargeCommunities{Values: []attr.LargeCommunity{{Global: 65000, Local1: 1, Local2: 2}}},
	})
	if err := p.Announce(nlri.Prefix{Prefix: netip.MustParsePrefix("198.51.100.0/24")}); err != nil {
		panic(err)
	}
	b := p.Bytes()
	return b[HeaderLen:]
}()

func FuzzUpdate(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, flags byte) {
		opt := optionsFromByte(flags)
		var u *Update
		var err error
		if n := allocated(allocBound(len(body)), func() { u, err = DecodeUpdate(body, opt) }); n > allocBound(len(body)) {
			t.Fatalf("decoding %d octets allocated %d bytes", len(body), n)
		}
		if err != nil {
			fa := checkFault(t, err)
			if u != nil && fa.Action == fault.SessionReset {
				t.Fatal("UPDATE handed up with a session reset")
			}
			if u != nil && fault.Worst(u.Faults) != fa {
				t.Fatalf("returned %v, worst of Faults is %v", fa, fault.Worst(u.Faults))
			}
		}
		// An UpdateDecoder decodes the same, into memory another UPDATE
		// used (fuzzPrime, then Reset), and two decodings of one batch
		// both stay intact after the second, as a reader's batch must.
		var dec UpdateDecoder
		if _, err := dec.Decode(fuzzPrime, Options{AS4: true}); err != nil {
			t.Fatal(err)
		}
		dec.Reset()
		var uds [2]*Update
		for i := range uds {
			ud, errd := dec.Decode(body, opt)
			if (ud == nil) != (u == nil) || (errd == nil) != (err == nil) {
				t.Fatalf("UpdateDecoder gives %v, %v; DecodeUpdate %v, %v", ud != nil, errd, u != nil, err)
			}
			uds[i] = ud
		}
		for i, ud := range uds {
			if u != nil && !bytes.Equal(ud.AppendTo(nil, opt), u.AppendTo(nil, opt)) {
				t.Fatalf("UpdateDecoder's decoding %d of the batch and DecodeUpdate's differ", i+1)
			}
		}
		if u == nil {
			return
		}
		for _, x := range u.Faults {
			checkFault(t, x)
		}
		exercise(u)
		// The options allow the longest message, so that any body that
		// decoded fits once more.
		big := opt
		big.ExtendedMessage = true
		if len(body)+HeaderLen <= MaxExtendedLen {
			checkCanonical(t, u, err, big)
		}
	})
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/<Target>/ seeds from the golden and conformance vectors")

// seed is one input of the fuzz corpus.
type seed struct {
	name  string
	msg   []byte
	flags byte
}

// seedInputs gathers the golden vectors, the ExaBGP vectors and GoBGP's
// bad-length corpus (as is and with the marker repaired).
func seedInputs(t *testing.T) []seed {
	var out []seed
	files, _ := filepath.Glob("testdata/messages/*.hex")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		out = append(out, seed{"golden-" + name, readHex(t, f), optionsToByte(goldenOptions(name))})
	}
	root := conformanceRoot(t)
	for _, v := range loadExaBGP(t, root) {
		if v.nlriFam != nil {
			continue
		}
		name := "exabgp-" + strings.NewReplacer("/", "-", ":", "-", ".ci", "").Replace(v.id)
		out = append(out, seed{name, v.raw, optionsToByte(v.opt)})
	}
	bad, _ := filepath.Glob(filepath.Join(root, "gobgp-bad-len", "*"))
	for _, f := range bad {
		if filepath.Base(f) == "README.md" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := "gobgp-bad-len-" + filepath.Base(f)[:12]
		out = append(out, seed{name, b, optAS4})
		r := append([]byte(nil), b...)
		copy(r, marker[:])
		out = append(out, seed{name + "-repaired", r, optAS4})
	}
	return out
}

// TestWriteFuzzSeeds rewrites the committed seed corpus (run with
// -write-seeds). Without the flag it checks that every seed it would write
// is there, so that a new vector is not forgotten.
func TestWriteFuzzSeeds(t *testing.T) {
	type file struct{ dir, name, body string }
	var want []file
	for _, s := range seedInputs(t) {
		want = append(want, file{"FuzzDecode", s.name, corpusFile(s.msg, &s.flags)})
		if len(s.msg) < HeaderLen {
			continue
		}
		body := s.msg[HeaderLen:]
		switch iana.MsgType(s.msg[18]) {
		case iana.MsgOpen:
			want = append(want, file{"FuzzOpen", s.name, corpusFile(body, nil)})
		case iana.MsgUpdate:
			want = append(want, file{"FuzzUpdate", s.name, corpusFile(body, &s.flags)})
		}
	}
	for _, w := range want {
		path := filepath.Join("testdata", "fuzz", w.dir, w.name)
		if *writeSeeds {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(w.body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != w.body {
			t.Errorf("seed %s missing or stale; run go test -run TestWriteFuzzSeeds -write-seeds", path)
		}
	}
}

// corpusFile is the `go test fuzz v1` encoding of one input.
func corpusFile(data []byte, flags *byte) string {
	s := "go test fuzz v1\n[]byte(" + goQuote(data) + ")\n"
	if flags != nil {
		s += fmt.Sprintf("byte('\\x%02x')\n", *flags)
	}
	return s
}

// goQuote writes data as a Go string literal of \x escapes and printable
// ASCII.
func goQuote(data []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range data {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			sb.WriteString(`\x`)
			sb.WriteString(hex.EncodeToString([]byte{c}))
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
