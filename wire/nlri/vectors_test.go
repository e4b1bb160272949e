package nlri

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// Golden vector files (testdata/*.txt) hold NLRI fields one wire field per
// line. The format, which each file repeats in its header:
//
//	# family: <family>   before the first vector: the file's default family;
//	                     inside a vector: that vector's family (ParseFamily)
//	# name: <text>       starts a vector; vectors are separated by blank lines
//	# addpath            the vector's field carries ADD-PATH path identifiers
//	<hex>  # <comment>   one field: hex octets (spaces ignored), concatenated
//	                     in order to make the NLRI field
//	= <text>             String() of the next decoded NLRI, in order
//	~ <text>             optional, after its "=" line: every field of that
//	                     NLRI, as detail() prints it
//	! <subcode>          the field is malformed: Decode must fail with this
//	                     UPDATE Message Error subcode and SessionReset
//
// Any other line starting with "#" is a comment.

type expect struct {
	str, detail string
}

type vector struct {
	pos     string // file:line of the name line
	name    string
	fam     Family
	addPath bool
	data    []byte
	want    []expect
	fault   string
}

func loadVectors(t testing.TB, path string) []vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out    []vector
		cur    *vector
		defFam Family
		hasDef bool
		line   int
	)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	finish := func() {
		if cur == nil {
			return
		}
		if len(cur.data) == 0 && cur.fault == "" {
			fail("vector %q has no data", cur.name)
		}
		if cur.fault == "" && len(cur.want) == 0 {
			fail("vector %q has neither = nor ! lines", cur.name)
		}
		out = append(out, *cur)
		cur = nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "":
			finish()
		case strings.HasPrefix(s, "# name:"):
			finish()
			if !hasDef {
				fail("no family before the first vector")
			}
			cur = &vector{pos: fmt.Sprintf("%s:%d", filepath.Base(path), line),
				name: strings.TrimSpace(strings.TrimPrefix(s, "# name:")), fam: defFam}
		case strings.HasPrefix(s, "# family:"):
			fam, err := ParseFamily(strings.TrimSpace(strings.TrimPrefix(s, "# family:")))
			if err != nil {
				fail("%v", err)
			}
			if cur == nil {
				defFam, hasDef = fam, true
			} else {
				cur.fam = fam
			}
		case s == "# addpath":
			if cur == nil {
				fail("# addpath outside a vector")
			}
			cur.addPath = true
		case strings.HasPrefix(s, "#"):
			// comment
		case cur == nil:
			fail("data outside a vector: %q", s)
		case strings.HasPrefix(s, "="):
			cur.want = append(cur.want, expect{str: strings.TrimSpace(s[1:])})
		case strings.HasPrefix(s, "~"):
			if len(cur.want) == 0 {
				fail("~ line before any = line")
			}
			cur.want[len(cur.want)-1].detail = strings.TrimSpace(s[1:])
		case strings.HasPrefix(s, "!"):
			cur.fault = strings.TrimSpace(s[1:])
		default:
			h, _, _ := strings.Cut(s, "#")
			h = strings.ReplaceAll(strings.TrimSpace(h), " ", "")
			b, err := hex.DecodeString(h)
			if err != nil {
				fail("bad hex %q: %v", h, err)
			}
			cur.data = append(cur.data, b...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	finish()
	return out
}

// allVectors loads every testdata/*.txt file.
func allVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vector files: %v", err)
	}
	var all []vector
	for _, f := range files {
		all = append(all, loadVectors(t, f)...)
	}
	return all
}

// detail prints every field of an NLRI: %+v of a copy of its struct without
// methods, so that the fields' own String methods (RD, Label, ESI, MAC,
// netip) apply but the NLRI's String does not.
func detail(n NLRI) string {
	switch v := n.(type) {
	case Prefix:
		type T Prefix
		return fmt.Sprintf("%+v", T(v))
	case Labeled:
		type T Labeled
		return fmt.Sprintf("%+v", T(v))
	case VPN:
		type T VPN
		return fmt.Sprintf("%+v", T(v))
	case EthernetAD:
		type T EthernetAD
		return fmt.Sprintf("%+v", T(v))
	case MACIP:
		type T MACIP
		return fmt.Sprintf("%+v", T(v))
	case InclusiveMulticast:
		type T InclusiveMulticast
		return fmt.Sprintf("%+v", T(v))
	case EthernetSegment:
		type T EthernetSegment
		return fmt.Sprintf("%+v", T(v))
	case IPPrefix:
		type T IPPrefix
		return fmt.Sprintf("%+v", T(v))
	case EVPNUnknown:
		return fmt.Sprintf("{PathID:%d Type:%d Data:%x}", v.PathID, uint8(v.Type), v.Data)
	case RTC:
		return fmt.Sprintf("{PathID:%d Length:%d OriginAS:%d RT:%x}", v.PathID, v.Length, v.OriginAS, v.RT)
	case Opaque:
		return fmt.Sprintf("{Fam:%s Data:%x}", v.Fam, v.Data)
	}
	return fmt.Sprintf("%T%+v", n, n)
}

// wantFamily is the family a decoded NLRI of field family f reports:
// f itself, except that Prefix does not know about multicast.
func wantFamily(f Family, n NLRI) Family {
	if _, ok := n.(Prefix); ok && f.SAFI == iana.SAFIMulticast {
		return Family{f.AFI, iana.SAFIUnicast}
	}
	return f
}

// checkFault checks that err is the fault every decoder here returns.
func checkFault(t testing.TB, err error) *fault.Error {
	t.Helper()
	f := fault.As(err)
	if f == nil {
		t.Fatalf("error %v (%T) is not a *fault.Error", err, err)
	}
	if !iana.ValidNotification(f.Code, f.Subcode) {
		t.Errorf("fault %v has an invalid NOTIFICATION code/subcode %d/%d", f, f.Code, f.Subcode)
	}
	if f.Code != iana.NotifUpdateMessage || f.Subcode != uint8(iana.UpdateInvalidNetworkField) || f.Action != fault.SessionReset {
		t.Errorf("fault %v: want UPDATE / Invalid Network Field, session-reset", f)
	}
	return f
}

// checkDecodeFault checks a fault from Decode, which also caps its data.
func checkDecodeFault(t testing.TB, err error) *fault.Error {
	t.Helper()
	f := checkFault(t, err)
	if len(f.Data) > maxFaultData {
		t.Errorf("fault data of %d octets, want at most %d", len(f.Data), maxFaultData)
	}
	return f
}

func TestVectors(t *testing.T) {
	counts := map[string]int{}
	for _, v := range allVectors(t) {
		t.Run(v.pos+" "+v.name, func(t *testing.T) {
			counts[v.pos[:strings.IndexByte(v.pos, ':')]]++
			in := bytes.Clone(v.data)
			got, err := Decode(v.fam, in, v.addPath)
			for i := range in {
				in[i] ^= 0xff // results must not alias the input
			}
			if v.fault != "" {
				if err == nil {
					t.Fatalf("decoded %v, want fault %q", got, v.fault)
				}
				f := checkDecodeFault(t, err)
				if s := iana.SubcodeString(f.Code, f.Subcode); s != v.fault {
					t.Errorf("subcode %q, want %q", s, v.fault)
				}
				if got != nil {
					t.Errorf("Decode returned %d entries with a fault", len(got))
				}
				t.Logf("fault: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var gotStr, wantStr []string
			for _, n := range got {
				gotStr = append(gotStr, n.String())
			}
			for _, w := range v.want {
				wantStr = append(wantStr, w.str)
			}
			if diff := cmp.Diff(wantStr, gotStr); diff != "" {
				t.Fatalf("String forms (-want +got):\n%s", diff)
			}
			for i, w := range v.want {
				if d := detail(got[i]); w.detail != "" && d != w.detail {
					t.Errorf("entry %d detail:\n got  %s\n want %s", i, d, w.detail)
				}
				if f := got[i].Family(); f != wantFamily(v.fam, got[i]) {
					t.Errorf("entry %d: Family() = %v, want %v", i, f, v.fam)
				}
			}
			if b := Append(nil, got, v.addPath); !bytes.Equal(b, v.data) {
				t.Errorf("re-encoded\n %x\nwant\n %x", b, v.data)
			}
		})
	}
	for f, n := range counts {
		t.Logf("%s: %d vectors", f, n)
	}
}
