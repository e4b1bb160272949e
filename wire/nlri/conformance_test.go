package nlri

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// The conformance tests read ExaBGP's qa vectors in place, from
// ../shared/conformance/exabgp-qa beside the module root: every UPDATE's
// MP_REACH_NLRI and MP_UNREACH_NLRI field is decoded and re-encoded, and for
// labeled unicast, VPN and EVPN the routes are compared with ExaBGP's own
// JSON decoding where the vector has one.

// conformanceDir finds ../shared/conformance/<sub> from the module root, or
// skips the test.
func conformanceDir(t *testing.T, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("skipping: no go.mod above the test directory, so no ../shared/conformance")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "conformance", sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: third-party vectors not found at %s (CI puts shared/conformance beside the module)", p)
	}
	return p
}

// mpField is the NLRI of one MP_REACH_NLRI (reach) or MP_UNREACH_NLRI.
type mpField struct {
	fam   Family
	reach bool
	nlri  []byte
}

// mpFields finds the MP attributes of an UPDATE message body (after the
// 19-octet header).
func mpFields(body []byte) ([]mpField, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("UPDATE body of %d octets", len(body))
	}
	wl := int(binary.BigEndian.Uint16(body))
	if len(body) < 4+wl {
		return nil, fmt.Errorf("withdrawn length %d past the end", wl)
	}
	al := int(binary.BigEndian.Uint16(body[2+wl:]))
	attrs := body[4+wl:]
	if len(attrs) < al {
		return nil, fmt.Errorf("attribute length %d past the end", al)
	}
	attrs = attrs[:al]
	var out []mpField
	for len(attrs) > 0 {
		if len(attrs) < 3 {
			return nil, fmt.Errorf("truncated attribute header")
		}
		flags, code := attrs[0], attrs[1]
		hl, l := 3, int(attrs[2])
		if flags&0x10 != 0 {
			if len(attrs) < 4 {
				return nil, fmt.Errorf("truncated attribute header")
			}
			hl, l = 4, int(binary.BigEndian.Uint16(attrs[2:]))
		}
		if len(attrs) < hl+l {
			return nil, fmt.Errorf("attribute %d of length %d past the end", code, l)
		}
		v := attrs[hl : hl+l]
		attrs = attrs[hl+l:]
		switch {
		case code == 14 && len(v) >= 5:
			nh := int(v[3])
			if len(v) < 5+nh {
				return nil, fmt.Errorf("MP_REACH next hop past the end")
			}
			out = append(out, mpField{Family{iana.AFI(binary.BigEndian.Uint16(v)), iana.SAFI(v[2])}, true, v[5+nh:]})
		case code == 15 && len(v) >= 3:
			out = append(out, mpField{Family{iana.AFI(binary.BigEndian.Uint16(v)), iana.SAFI(v[2])}, false, v[3:]})
		}
	}
	return out, nil
}

// exaFamilies maps ExaBGP's family names (configuration and JSON keys).
var exaFamilies = map[string]Family{
	"ipv4 unicast":   IPv4Unicast,
	"ipv6 unicast":   IPv6Unicast,
	"ipv4 nlri-mpls": IPv4Labeled,
	"ipv6 nlri-mpls": IPv6Labeled,
	"ipv4 mpls-vpn":  IPv4VPN,
	"ipv6 mpls-vpn":  IPv6VPN,
	"l2vpn evpn":     L2VPNEVPN,
}

// exaAddPath reads which families an ExaBGP neighbour configuration sends
// with path identifiers: those of an "add-path { ... }" block, or every
// family when only the capability is configured. It returns nil for none.
func exaAddPath(conf string) func(Family) bool {
	if i := strings.Index(conf, "add-path {"); i >= 0 {
		block := conf[i+len("add-path {"):]
		block = block[:strings.IndexByte(block, '}')]
		var fams []Family
		for _, l := range strings.Split(block, ";") {
			if f, ok := exaFamilies[strings.TrimSpace(l)]; ok {
				fams = append(fams, f)
			}
		}
		ap := NewAddPath(fams...)
		return ap.Has
	}
	if regexp.MustCompile(`add-path\s+(send|receive)`).MatchString(conf) {
		return func(Family) bool { return true }
	}
	return func(Family) bool { return false }
}

// exaVector is one UPDATE from the qa files with ExaBGP's JSON decoding
// (nil when the file gives none) and the add-path setting of its session.
type exaVector struct {
	pos     string
	body    []byte
	json    map[string]any
	addPath func(Family) bool
}

func loadExaBGP(t *testing.T, root string) []exaVector {
	t.Helper()
	var out []exaVector
	ci, _ := filepath.Glob(filepath.Join(root, "encoding", "*.ci"))
	api, _ := filepath.Glob(filepath.Join(root, "api", "*.ci"))
	rawLine := regexp.MustCompile(`^[A-Za-z0-9]+:raw:([0-9A-Fa-f:]+)$`)
	jsonLine := regexp.MustCompile(`^[A-Za-z0-9]+:json:(.*)$`)
	for _, file := range append(ci, api...) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		addPath := func(Family) bool { return false }
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		line := 0
		for sc.Scan() {
			line++
			s := strings.TrimSpace(sc.Text())
			if c, ok := strings.CutPrefix(s, "option:file:"); ok {
				conf, err := os.ReadFile(filepath.Join(root, "conf", c))
				if err != nil {
					t.Fatal(err)
				}
				addPath = exaAddPath(string(conf))
				continue
			}
			if m := rawLine.FindStringSubmatch(s); m != nil {
				msg, err := hex.DecodeString(strings.ReplaceAll(m[1], ":", ""))
				if err != nil {
					t.Fatalf("%s:%d: %v", file, line, err)
				}
				if len(msg) < 19 || msg[18] != 2 {
					continue // not an UPDATE
				}
				out = append(out, exaVector{pos: fmt.Sprintf("%s:%d", filepath.Base(file), line), body: msg[19:], addPath: addPath})
				continue
			}
			if m := jsonLine.FindStringSubmatch(s); m != nil && len(out) > 0 && out[len(out)-1].json == nil {
				var j map[string]any
				if err := json.Unmarshal([]byte(m[1]), &j); err != nil {
					t.Fatalf("%s:%d: %v", file, line, err)
				}
				out[len(out)-1].json = j
			}
		}
		f.Close()
	}
	// decoding/: a kind line, the message (with or without the header, with
	// or without separators) and the JSON.
	dec, _ := filepath.Glob(filepath.Join(root, "decoding", "*"))
	for _, file := range dec {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "update") {
			continue
		}
		h := strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(lines[1]))
		msg, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if bytes.HasPrefix(msg, bytes.Repeat([]byte{0xff}, 16)) {
			msg = msg[19:]
		}
		var j map[string]any
		if err := json.Unmarshal([]byte(lines[2]), &j); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, exaVector{pos: filepath.Base(file), body: msg, json: j, addPath: func(Family) bool { return false }})
	}
	return out
}

func TestExaBGPConformance(t *testing.T) {
	root := conformanceDir(t, "exabgp-qa")
	vectors := loadExaBGP(t, root)
	fields := map[Family]int{}
	compared := map[Family]int{}
	for _, v := range vectors {
		mps, err := mpFields(v.body)
		if err != nil {
			t.Logf("%s: skipped, not a well-formed UPDATE: %v", v.pos, err)
			continue
		}
		for _, mp := range mps {
			if len(mp.nlri) == 0 {
				continue // End-of-RIB
			}
			addPath := v.addPath(mp.fam)
			got, err := Decode(mp.fam, mp.nlri, addPath)
			if err != nil {
				t.Errorf("%s: %v reach=%v: %v\n%x", v.pos, mp.fam, mp.reach, err, mp.nlri)
				continue
			}
			fields[mp.fam]++
			if b := Append(nil, got, addPath); !bytes.Equal(b, mp.nlri) {
				t.Errorf("%s: %v re-encoded\n %x\nwant\n %x", v.pos, mp.fam, b, mp.nlri)
			}
			if v.json == nil {
				continue
			}
			key := ""
			for k, f := range exaFamilies {
				if f == mp.fam && f.SAFI != iana.SAFIUnicast {
					key = k
				}
			}
			if key == "" {
				continue
			}
			entries, err := exaEntries(v.json, key, mp.reach)
			if err != nil {
				t.Errorf("%s: %v", v.pos, err)
				continue
			}
			if len(entries) != len(got) {
				t.Errorf("%s: %v: decoded %d routes, ExaBGP %d", v.pos, mp.fam, len(got), len(entries))
				continue
			}
			for i, n := range got {
				if err := compareExa(n, entries[i]); err != nil {
					t.Errorf("%s: %v route %d (%s): %v", v.pos, mp.fam, i, n, err)
				}
			}
			compared[mp.fam]++
		}
	}
	for f, n := range fields {
		t.Logf("%-22v %3d MP fields decoded and re-encoded, %3d compared with ExaBGP's JSON", f, n, compared[f])
	}
	for _, f := range []Family{IPv4Labeled, IPv4VPN, IPv6VPN, L2VPNEVPN} {
		if compared[f] == 0 {
			t.Errorf("no %v vector compared with JSON", f)
		}
	}
}

// exaEntries returns ExaBGP's route objects of family key in the announce
// (reach) or withdraw section of an UPDATE's JSON.
func exaEntries(j map[string]any, key string, reach bool) ([]map[string]any, error) {
	upd, ok := dig(j, "neighbor", "message", "update").(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no neighbor.message.update in the JSON")
	}
	var list []any
	if reach {
		byNH, ok := dig(upd, "announce", key).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no announce[%q] in the JSON", key)
		}
		if len(byNH) != 1 {
			return nil, fmt.Errorf("announce[%q] has %d next hops, want 1", key, len(byNH))
		}
		for _, l := range byNH {
			list, _ = l.([]any)
		}
	} else {
		list, ok = dig(upd, "withdraw", key).([]any)
		if !ok {
			return nil, fmt.Errorf("no withdraw[%q] in the JSON", key)
		}
	}
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("route %v is not an object", e)
		}
		out = append(out, m)
	}
	return out, nil
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// compareExa compares one decoded route with ExaBGP's JSON object for it.
func compareExa(n NLRI, e map[string]any) error {
	var errs []string
	check := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			errs = append(errs, fmt.Sprintf("%s: got %v, ExaBGP %v", field, got, want))
		}
	}
	num := func(v any) any {
		if f, ok := v.(float64); ok {
			return uint64(f)
		}
		return v
	}
	labels := func(ls []Label) {
		want, _ := e["label"].([]any)
		if len(want) != len(ls) {
			errs = append(errs, fmt.Sprintf("label: got %v, ExaBGP %v", ls, e["label"]))
			return
		}
		for i, w := range want {
			pair, _ := w.([]any)
			if len(pair) > 0 {
				check("label value", uint64(ls[i].Value()), num(pair[0]))
			}
			if len(pair) > 1 {
				check("label field", uint64(ls[i]), num(pair[1]))
			}
		}
	}
	pathID := func(id uint32) {
		want := uint32(0)
		if s, ok := e["path-information"].(string); ok {
			a, err := netip.ParseAddr(s)
			if err != nil || !a.Is4() {
				errs = append(errs, "path-information "+s)
				return
			}
			want = binary.BigEndian.Uint32(a.AsSlice())
		}
		check("path-information", id, want)
	}
	switch r := n.(type) {
	case Labeled:
		check("nlri", r.Prefix.Masked(), e["nlri"])
		labels(r.Labels)
		pathID(r.PathID)
	case VPN:
		check("nlri", r.Prefix.Masked(), e["nlri"])
		check("rd", r.RD, e["rd"])
		labels(r.Labels)
		pathID(r.PathID)
	case EVPN:
		check("code", uint64(r.RouteType()), num(e["code"]))
		check("raw", strings.ToUpper(hex.EncodeToString(r.AppendTo(nil, false))), e["raw"])
		if m, ok := r.(MACIP); ok {
			check("rd", m.RD, e["rd"])
			esi := m.ESI.String()
			if m.ESI == (ESI{}) {
				esi = "-"
			}
			check("esi", esi, e["esi"])
			check("ethernet-tag", uint64(m.EthernetTag), num(e["ethernet-tag"]))
			check("mac", m.MAC, strings.ToLower(fmt.Sprint(e["mac"])))
			if m.IP.IsValid() {
				check("ip", m.IP, e["ip"])
			} else if ip, ok := e["ip"]; ok {
				errs = append(errs, fmt.Sprintf("ip: none, ExaBGP %v", ip))
			}
			labels(m.Labels)
		} else if parsed, _ := e["parsed"].(bool); parsed {
			if _, unknown := r.(EVPNUnknown); unknown {
				errs = append(errs, "ExaBGP parsed a route type we keep opaque")
			}
		}
	default:
		return fmt.Errorf("unexpected type %T", n)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
