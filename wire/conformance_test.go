package wire

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
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// The ExaBGP vectors (../shared/conformance/exabgp-qa, see its README) are
// decoded, compared with ExaBGP's JSON for the families in scope (IPv4/IPv6
// unicast, labeled, VPN, EVPN; other families are checked to be present
// and kept opaque) and re-encoded byte for byte.
//
// knownConformance lists every vector that does not pass all three checks,
// with the reason; the test fails when a vector fails that is not listed,
// and when a listed one passes (so that the table stays true).
//
// FlowSpec, MVPN, VPLS, SR policy, SRv6 MUP and BGP-LS NLRI are kept opaque
// (nlri.Opaque): their UPDATEs must still round-trip byte for byte, and
// their JSON NLRI are only checked for the presence of the family; BGP-LS,
// prefix-SID, tunnel encapsulation, AIGP and IPv6 extended community values
// are checked for presence only (presenceOnly).
var knownConformance = map[string]string{
	"encoding/conf-generic-attribute.ci:6": "ExaBGP's generic attribute 0x99 is sent with flags 0x60 (Optional bit clear): " +
		"an unrecognised well-known attribute resets the session (RFC 4271 §6.3); ExaBGP passes it on",
	"encoding/conf-generic-attribute.ci:9": "same as line 6, flags 0x70 (extended length, Optional bit clear)",
}

// conformanceRoot finds ../shared/conformance beside the module root.
func conformanceRoot(t testing.TB) string {
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
			t.Skip("no go.mod above the test directory; cannot locate ../shared/conformance")
		}
		dir = parent
	}
	root := filepath.Join(dir, "..", "shared", "conformance")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("conformance vectors not found at %s (the folder sits beside the module in CI): %v", root, err)
	}
	return root
}

// vector is one raw message of exabgp-qa.
type vector struct {
	folder string // decoding, encoding, api
	id     string // folder/file:line
	raw    []byte // a whole message (or an NLRI field when nlriFam is set)
	opt    Options
	json   string
	// nlriFam is set for the decoding vectors that hold a bare NLRI field.
	nlriFam *nlri.Family
}

var exaFamilies = map[string]nlri.Family{
	"ipv4 unicast":   nlri.IPv4Unicast,
	"ipv6 unicast":   nlri.IPv6Unicast,
	"ipv4 nlri-mpls": nlri.IPv4Labeled,
	"ipv6 nlri-mpls": nlri.IPv6Labeled,
	"ipv4 mpls-vpn":  nlri.IPv4VPN,
	"ipv6 mpls-vpn":  nlri.IPv6VPN,
	"l2vpn evpn":     nlri.L2VPNEVPN,
	// Out of scope: only checked to be present.
	"ipv4 flow":      {AFI: iana.AFIIPv4, SAFI: iana.SAFIFlowSpec},
	"ipv6 flow":      {AFI: iana.AFIIPv6, SAFI: iana.SAFIFlowSpec},
	"ipv4 flow-vpn":  {AFI: iana.AFIIPv4, SAFI: iana.SAFIFlowSpecVPN},
	"ipv6 flow-vpn":  {AFI: iana.AFIIPv6, SAFI: iana.SAFIFlowSpecVPN},
	"ipv4 mup":       {AFI: iana.AFIIPv4, SAFI: iana.SAFIMUP},
	"ipv6 mup":       {AFI: iana.AFIIPv6, SAFI: iana.SAFIMUP},
	"ipv4 mcast-vpn": {AFI: iana.AFIIPv4, SAFI: iana.SAFIMVPN},
	"ipv6 mcast-vpn": {AFI: iana.AFIIPv6, SAFI: iana.SAFIMVPN},
	"l2vpn vpls":     {AFI: iana.AFIL2VPN, SAFI: iana.SAFIVPLS},
	"ipv4 sr-policy": {AFI: iana.AFIIPv4, SAFI: iana.SAFISRPolicy},
	"ipv6 sr-policy": {AFI: iana.AFIIPv6, SAFI: iana.SAFISRPolicy},
	"bgp-ls bgp-ls":  {AFI: iana.AFIBGPLS, SAFI: iana.SAFIBGPLS},
}

// inScope are the families whose NLRI are compared with the JSON.
func inScope(f nlri.Family) bool {
	switch f {
	case nlri.IPv4Unicast, nlri.IPv6Unicast, nlri.IPv4Labeled, nlri.IPv6Labeled, nlri.IPv4VPN, nlri.IPv6VPN, nlri.L2VPNEVPN:
		return true
	}
	return false
}

var hexJunk = strings.NewReplacer(":", "", " ", "", "\t", "")

// loadExaBGP reads every raw message of exabgp-qa with the options its
// configuration gives.
func loadExaBGP(t testing.TB, root string) []vector {
	t.Helper()
	dir := filepath.Join(root, "exabgp-qa")
	var out []vector
	files, _ := filepath.Glob(filepath.Join(dir, "decoding", "*"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 {
			t.Fatalf("%s: want a kind line and a hex line", f)
		}
		kind := strings.Fields(lines[0])
		h := hexJunk.Replace(strings.TrimSpace(lines[1]))
		raw, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v := vector{folder: "decoding", id: "decoding/" + filepath.Base(f), opt: Permissive()}
		if len(lines) == 3 {
			v.json = strings.TrimSpace(lines[2])
		}
		switch {
		case kind[0] == "nlri":
			fam := exaFamilies[strings.Join(kind[1:], " ")]
			v.nlriFam = &fam
		case !bytes.HasPrefix(raw, marker[:]):
			// The UPDATE body alone: put the header in front.
			msg := appendHeader(nil, iana.MsgUpdate)
			raw = finish(append(msg, raw...), 0)
		}
		v.raw = raw
		out = append(out, v)
	}
	for _, folder := range []string{"encoding", "api"} {
		files, _ := filepath.Glob(filepath.Join(dir, folder, "*.ci"))
		sort.Strings(files)
		for _, f := range files {
			out = append(out, loadCI(t, dir, folder, f)...)
		}
	}
	return out
}

var ciLine = regexp.MustCompile(`^([A-Za-z0-9]+):(raw|json|jsv6|option):(.*)$`)

func loadCI(t testing.TB, dir, folder, path string) []vector {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	opt := Permissive()
	var out []vector
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if conf, ok := strings.CutPrefix(line, "option:file:"); ok {
			opt = confOptions(t, filepath.Join(dir, "conf", conf))
			continue
		}
		m := ciLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch m[2] {
		case "raw":
			raw, err := hex.DecodeString(hexJunk.Replace(m[3]))
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			out = append(out, vector{folder: folder, id: fmt.Sprintf("%s/%s:%d", folder, filepath.Base(path), n), raw: raw, opt: opt})
		case "json", "jsv6":
			if len(out) > 0 && out[len(out)-1].json == "" {
				out[len(out)-1].json = m[3]
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// confOptions reads the session options of an ExaBGP neighbor
// configuration: ASN4 unless "asn4 disable", and ADD-PATH when the
// capability is on, for the families of the add-path block or else of the
// family block (IPv4 and IPv6 unicast when there is none).
func confOptions(t testing.TB, path string) Options {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	s := string(b)
	opt := Permissive()
	if strings.Contains(s, "asn4 disable") {
		opt.AS4 = false
	}
	if !regexp.MustCompile(`add-path\s+(send/receive|receive|send)`).MatchString(s) {
		return opt
	}
	block := func(name string) []nlri.Family {
		m := regexp.MustCompile(`(?s)\n\s*` + name + `\s*\{(.*?)\}`).FindStringSubmatch(s)
		if m == nil {
			return nil
		}
		var fams []nlri.Family
		for _, l := range strings.Split(m[1], ";") {
			if f, ok := exaFamilies[strings.Join(strings.Fields(l), " ")]; ok {
				fams = append(fams, f)
			}
		}
		return fams
	}
	fams := block("add-path")
	if fams == nil {
		fams = block("family")
	}
	if fams == nil {
		fams = []nlri.Family{nlri.IPv4Unicast, nlri.IPv6Unicast}
	}
	opt.AddPath = nlri.NewAddPath(fams...)
	return opt
}

// outcome is what happened to one vector.
type outcome struct {
	decoded, jsonChecked, jsonOK, roundTrip bool
	problems                                []string
}

func (o outcome) ok() bool { return len(o.problems) == 0 }

func TestConformanceExaBGP(t *testing.T) {
	root := conformanceRoot(t)
	vectors := loadExaBGP(t, root)
	if len(vectors) < 300 {
		t.Fatalf("only %d vectors found", len(vectors))
	}
	type tally struct{ n, decoded, json, jsonOK, roundTrip int }
	tallies := map[string]*tally{}
	var order []string
	failed := map[string]string{}
	for _, v := range vectors {
		o := checkVector(v)
		tl := tallies[v.folder]
		if tl == nil {
			tl = &tally{}
			tallies[v.folder] = tl
			order = append(order, v.folder)
		}
		tl.n++
		if o.decoded {
			tl.decoded++
		}
		if o.jsonChecked {
			tl.json++
			if o.jsonOK {
				tl.jsonOK++
			}
		}
		if o.roundTrip {
			tl.roundTrip++
		}
		if !o.ok() {
			failed[v.id] = strings.Join(o.problems, "; ")
		}
	}
	t.Logf("%-9s %7s %7s %14s %10s", "folder", "vectors", "decode", "json agree", "round trip")
	for _, f := range order {
		tl := tallies[f]
		t.Logf("%-9s %7d %7d %7d/%-6d %10d", f, tl.n, tl.decoded, tl.jsonOK, tl.json, tl.roundTrip)
	}
	t.Logf("JSON: %d routes compared (with next hop, labels, RD, path id), %d attribute values (%d of them presence only), %d opaque-family route sets checked for presence",
		jsonStats.routes, jsonStats.attrs, jsonStats.presence, jsonStats.opaqueFamilies)
	for id, why := range failed {
		if _, ok := knownConformance[id]; !ok {
			t.Errorf("%s: %s", id, why)
		} else {
			t.Logf("known failure %s: %s (%s)", id, knownConformance[id], why)
		}
	}
	for id := range knownConformance {
		if _, ok := failed[id]; !ok {
			t.Errorf("%s is listed in knownConformance but passes", id)
		}
	}
}

func checkVector(v vector) (o outcome) {
	fail := func(format string, args ...any) { o.problems = append(o.problems, fmt.Sprintf(format, args...)) }
	if v.nlriFam != nil {
		ns, err := nlri.Decode(*v.nlriFam, v.raw, false)
		if err != nil {
			fail("NLRI decode: %v", err)
			return
		}
		o.decoded = true
		if got := nlri.Append(nil, ns, false); bytes.Equal(got, v.raw) {
			o.roundTrip = true
		} else {
			fail("NLRI re-encoded as %x", got)
		}
		// The JSON of a bare BGP-LS NLRI describes its TLVs, which are
		// kept opaque: not compared.
		return
	}
	m, err := Decode(v.raw, v.opt)
	if err != nil {
		fail("decode: %v", err)
		return
	}
	o.decoded = true
	if got := m.AppendTo(nil, v.opt); bytes.Equal(got, v.raw) {
		o.roundTrip = true
	} else {
		fail("re-encoded\n got %x\nwant %x", got, v.raw)
	}
	if v.json != "" {
		o.jsonChecked = true
		problems := compareJSON(m, v.json, v.opt)
		o.jsonOK = len(problems) == 0
		o.problems = append(o.problems, problems...)
	}
	return o
}

// jsonStats counts what the JSON comparison looked at, for the summary.
var jsonStats struct{ routes, attrs, presence, opaqueFamilies int }

// compareJSON compares a decoded message with ExaBGP's JSON decoding of it
// and returns the differences.
func compareJSON(m Message, js string, opt Options) []string {
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return []string{"JSON does not parse: " + err.Error()}
	}
	nb, _ := doc["neighbor"].(map[string]any)
	if nb == nil {
		return []string{"JSON has no neighbor"}
	}
	if op, ok := nb["open"].(map[string]any); ok {
		o, isOpen := m.(*Open)
		if !isOpen {
			return []string{fmt.Sprintf("JSON is an OPEN, message is %s", m.Type())}
		}
		return compareOpenJSON(o, op)
	}
	msg, _ := nb["message"].(map[string]any)
	upd, _ := msg["update"].(map[string]any)
	if upd == nil {
		return []string{"JSON has no message.update"}
	}
	u, ok := m.(*Update)
	if !ok {
		return []string{fmt.Sprintf("JSON is an UPDATE, message is %s", m.Type())}
	}
	var p []string
	if a, ok := upd["attribute"].(map[string]any); ok {
		p = append(p, compareAttrsJSON(u, a, opt)...)
	}
	p = append(p, compareRoutesJSON(u, upd)...)
	return p
}

func compareOpenJSON(o *Open, j map[string]any) []string {
	var p []string
	want := func(name string, got, exp string) {
		if got != exp {
			p = append(p, fmt.Sprintf("open %s: got %s, JSON %s", name, got, exp))
		}
	}
	want("version", strconv.Itoa(int(o.Version)), fmt.Sprint(j["version"]))
	want("asn", strconv.FormatUint(uint64(o.AS()), 10), fmt.Sprint(j["asn"]))
	want("hold time", strconv.Itoa(int(o.HoldTime)), fmt.Sprint(j["hold_time"]))
	want("router id", o.BGPID.String(), fmt.Sprint(j["router_id"]))
	caps, _ := j["capabilities"].(map[string]any)
	for code, v := range caps {
		c, _ := strconv.Atoi(code)
		var found []Capability
		for _, x := range o.Capabilities() {
			if int(x.Code()) == c {
				found = append(found, x)
			}
		}
		if len(found) == 0 {
			p = append(p, "open: capability "+code+" missing")
			continue
		}
		jv, _ := v.(map[string]any)
		switch iana.CapCode(c) {
		case iana.CapMultiprotocol:
			var got []string
			for _, x := range found {
				f := x.(CapMultiprotocol).Family
				got = append(got, f.AFI.String()+"/"+f.SAFI.String())
			}
			want("multiprotocol", fmt.Sprint(got), fmt.Sprint(jv["families"]))
		case iana.CapFourOctetAS:
			want("asn4", strconv.FormatUint(uint64(found[0].(CapFourOctetAS).AS), 10), fmt.Sprint(jv["asn4"]))
		case iana.CapSoftwareVersion:
			want("software version", found[0].(CapSoftwareVersion).Version, fmt.Sprint(jv["software"]))
		}
	}
	return p
}

// jsonNum reads a json.Number as uint64.
func jsonNum(v any) (uint64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	return u, err == nil
}

// presenceOnly are attribute keys of ExaBGP's JSON whose values are not
// compared (their contents are the attribute package's business and the
// JSON shapes are ExaBGP's own); the attribute must be present.
var presenceOnly = map[string]iana.AttrCode{
	"bgp-ls":                  iana.AttrBGPLS,
	"bgp-prefix-sid":          iana.AttrPrefixSID,
	"extended-community-ipv6": iana.AttrIPv6ExtendedCommunities,
	"tunnel-encap":            iana.AttrTunnelEncap,
	"aigp":                    iana.AttrAIGP,
	"pmsi":                    iana.AttrPMSITunnel,
}

var unknownAttrKey = regexp.MustCompile(`^attribute-0x([0-9A-Fa-f]{2})-0x([0-9A-Fa-f]{2})$`)

func compareAttrsJSON(u *Update, j map[string]any, opt Options) []string {
	var p []string
	mismatch := func(key string, got, want any) {
		p = append(p, fmt.Sprintf("%s: got %v, JSON %v", key, got, want))
	}
	for key, v := range j {
		jsonStats.attrs++
		switch key {
		case "origin":
			if o, ok := u.Attrs.Origin(); !ok || o.Value.String() != v {
				mismatch(key, o, v)
			}
		case "as-path":
			path, _ := u.Attrs.ReconcileAS4(attr.Options{AS4: opt.AS4})
			if path == nil {
				mismatch(key, nil, v)
				continue
			}
			segs, _ := v.(map[string]any)
			var want []string
			for i := 0; i < len(segs); i++ {
				s, _ := segs[strconv.Itoa(i)].(map[string]any)
				want = append(want, fmt.Sprintf("%v%v", s["element"], s["value"]))
			}
			var got []string
			names := map[iana.SegmentType]string{iana.SegmentASSequence: "as-sequence", iana.SegmentASSet: "as-set",
				iana.SegmentConfedSequence: "confed-sequence", iana.SegmentConfedSet: "confed-set"}
			for _, s := range path.Segments {
				got = append(got, fmt.Sprintf("%s%v", names[s.Type], s.ASNs))
			}
			if !slices.Equal(got, want) {
				mismatch(key, got, want)
			}
		case "med", "local-preference":
			var got uint32
			var ok bool
			if key == "med" {
				var m *attr.MED
				if m, ok = u.Attrs.MED(); ok {
					got = m.Value
				}
			} else {
				var l *attr.LocalPref
				if l, ok = u.Attrs.LocalPref(); ok {
					got = l.Value
				}
			}
			if w, _ := jsonNum(v); !ok || uint64(got) != w {
				mismatch(key, got, v)
			}
		case "atomic-aggregate":
			if _, ok := u.Attrs.AtomicAggregate(); !ok {
				mismatch(key, false, v)
			}
		case "aggregator":
			_, a := u.Attrs.ReconcileAS4(attr.Options{AS4: opt.AS4})
			if a == nil || fmt.Sprintf("%d:%s", a.AS, a.Addr) != v {
				mismatch(key, a, v)
			}
		case "next-hop":
			if nh, ok := u.Attrs.NextHop(); !ok || nh.Addr.String() != v {
				mismatch(key, nh, v)
			}
		case "community":
			c, _ := u.Attrs.Communities()
			var got []string
			if c != nil {
				for _, x := range c.Values {
					got = append(got, fmt.Sprintf("[%d %d]", x>>16, x&0xffff))
				}
			}
			var want []string
			for _, x := range v.([]any) {
				want = append(want, fmt.Sprint(x))
			}
			if !slices.Equal(got, want) {
				mismatch(key, got, want)
			}
		case "large-community":
			c, _ := u.Attrs.LargeCommunities()
			var got []string
			if c != nil {
				for _, x := range c.Values {
					got = append(got, fmt.Sprintf("[%d %d %d]", x.Global, x.Local1, x.Local2))
				}
			}
			var want []string
			for _, x := range v.([]any) {
				want = append(want, fmt.Sprint(x))
			}
			if !slices.Equal(got, want) {
				mismatch(key, got, want)
			}
		case "extended-community":
			c, _ := u.Attrs.ExtCommunities()
			var got, want []uint64
			if c != nil {
				for _, x := range c.Values {
					got = append(got, binary.BigEndian.Uint64(x[:]))
				}
			}
			for _, x := range v.([]any) {
				n, _ := jsonNum(x.(map[string]any)["value"])
				want = append(want, n)
			}
			if !slices.Equal(got, want) {
				mismatch(key, got, want)
			}
		case "originator-id":
			if o, ok := u.Attrs.OriginatorID(); !ok || o.ID.String() != v {
				mismatch(key, o, v)
			}
		case "cluster-list":
			c, _ := u.Attrs.ClusterList()
			var got, want []string
			if c != nil {
				for _, id := range c.IDs {
					got = append(got, id.String())
				}
			}
			for _, x := range v.([]any) {
				want = append(want, fmt.Sprint(x))
			}
			if !slices.Equal(got, want) {
				mismatch(key, got, want)
			}
		default:
			if code, ok := presenceOnly[key]; ok {
				jsonStats.presence++
				if !u.Attrs.Has(code) {
					mismatch(key, "absent", "present")
				}
				continue
			}
			if m := unknownAttrKey.FindStringSubmatch(key); m != nil {
				code, _ := strconv.ParseUint(m[1], 16, 8)
				flags, _ := strconv.ParseUint(m[2], 16, 8)
				a, ok := u.Attrs.Get(iana.AttrCode(code)).(*attr.Unknown)
				if !ok || uint64(a.F) != flags || "0x"+strings.ToUpper(hex.EncodeToString(a.Value)) != v {
					mismatch(key, a, v)
				}
				continue
			}
			p = append(p, "attribute key not compared: "+key)
		}
	}
	return p
}

// compareRoutesJSON compares the announced and withdrawn routes.
func compareRoutesJSON(u *Update, j map[string]any) []string {
	var p []string
	got := map[string][]string{} // "announce family" or "withdraw family" -> entries
	for r := range u.Reach() {
		k := "announce " + r.Family.String()
		got[k] = append(got[k], routeKey(r)+" via "+nextHopOf(u, r.Family))
	}
	for r := range u.Unreach() {
		k := "withdraw " + r.Family.String()
		got[k] = append(got[k], routeKey(r))
	}
	want := map[string][]string{}
	present := map[string]bool{}
	if ann, ok := j["announce"].(map[string]any); ok {
		for fam, byNH := range ann {
			f, ok := exaFamilies[fam]
			if !ok {
				p = append(p, "JSON family not known: "+fam)
				continue
			}
			present["announce "+f.String()] = true
			for nh, entries := range byNH.(map[string]any) {
				for _, e := range entries.([]any) {
					if inScope(f) {
						k := "announce " + f.String()
						want[k] = append(want[k], jsonRouteKey(f, e.(map[string]any))+" via "+nh)
					}
				}
			}
		}
	}
	if wd, ok := j["withdraw"].(map[string]any); ok {
		for fam, entries := range wd {
			f, ok := exaFamilies[fam]
			if !ok {
				p = append(p, "JSON family not known: "+fam)
				continue
			}
			present["withdraw "+f.String()] = true
			for _, e := range entries.([]any) {
				if inScope(f) {
					k := "withdraw " + f.String()
					want[k] = append(want[k], jsonRouteKey(f, e.(map[string]any)))
				}
			}
		}
	}
	// Families out of scope: the MP attribute must be there.
	for k := range present {
		dir, fam, _ := strings.Cut(k, " ")
		f, _ := nlri.ParseFamily(fam)
		if inScope(f) {
			continue
		}
		found := false
		for _, a := range u.Attrs {
			switch a := a.(type) {
			case *attr.MPReach:
				found = found || (dir == "announce" && a.Family == f && len(a.NLRI) > 0)
			case *attr.MPUnreach:
				found = found || (dir == "withdraw" && a.Family == f && len(a.NLRI) > 0)
			}
		}
		if !found {
			p = append(p, k+": no MP attribute of the family")
		}
		jsonStats.opaqueFamilies++
	}
	for k, w := range want {
		g := got[k]
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			p = append(p, fmt.Sprintf("%s:\n  got  %q\n  JSON %q", k, g, w))
		}
		jsonStats.routes += len(w)
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			f, _ := nlri.ParseFamily(strings.SplitN(k, " ", 2)[1])
			if inScope(f) {
				p = append(p, fmt.Sprintf("%s: %d routes not in the JSON", k, len(g)))
			}
		}
	}
	return p
}

// routeKey is a route in the terms ExaBGP's JSON uses.
func routeKey(r Route) string {
	pathID := func(id uint32) string {
		if id == 0 {
			return ""
		}
		return " path " + netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, id))).String()
	}
	labels := func(ls []nlri.Label) string {
		var s []string
		for _, l := range ls {
			s = append(s, strconv.Itoa(int(l.Value())))
		}
		return " label " + strings.Join(s, ",")
	}
	switch n := r.NLRI.(type) {
	case nil:
		return r.Prefix.Prefix.String() + pathID(r.Prefix.PathID)
	case nlri.Labeled:
		return n.Prefix.String() + labels(n.Labels) + pathID(n.PathID)
	case nlri.VPN:
		return "rd " + n.RD.String() + " " + n.Prefix.String() + labels(n.Labels) + pathID(n.PathID)
	}
	s := "raw " + strings.ToUpper(hex.EncodeToString(r.NLRI.AppendTo(nil, false)))
	if m, ok := r.NLRI.(nlri.MACIP); ok {
		s += fmt.Sprintf(" rd %s tag %d mac %s", m.RD, m.EthernetTag, strings.ToUpper(m.MAC.String()))
		if m.IP.IsValid() {
			s += " ip " + m.IP.String()
		}
	}
	return s
}

// jsonRouteKey is routeKey for one route of ExaBGP's JSON.
func jsonRouteKey(f nlri.Family, e map[string]any) string {
	path := ""
	if pi, ok := e["path-information"].(string); ok && pi != "0.0.0.0" {
		path = " path " + pi
	}
	labels := func() string {
		var s []string
		for _, l := range e["label"].([]any) {
			s = append(s, fmt.Sprint(l.([]any)[0]))
		}
		return " label " + strings.Join(s, ",")
	}
	switch f {
	case nlri.IPv4Unicast, nlri.IPv6Unicast:
		return fmt.Sprint(e["nlri"]) + path
	case nlri.IPv4Labeled, nlri.IPv6Labeled:
		return fmt.Sprint(e["nlri"]) + labels() + path
	case nlri.IPv4VPN, nlri.IPv6VPN:
		return "rd " + fmt.Sprint(e["rd"]) + " " + fmt.Sprint(e["nlri"]) + labels() + path
	}
	s := "raw " + strings.ToUpper(fmt.Sprint(e["raw"]))
	if e["code"] == json.Number("2") && e["parsed"] == true {
		s += fmt.Sprintf(" rd %v tag %v mac %v", e["rd"], e["ethernet-tag"], strings.ToUpper(fmt.Sprint(e["mac"])))
		if ip, ok := e["ip"]; ok {
			s += fmt.Sprintf(" ip %v", ip)
		}
	}
	return s
}

// nextHopOf is the next hop of the family's routes as ExaBGP prints it: the
// NEXT_HOP attribute for the NLRI field, the global address of
// MP_REACH_NLRI otherwise.
func nextHopOf(u *Update, f nlri.Family) string {
	if f == nlri.IPv4Unicast {
		if m, ok := u.Attrs.MPReach(); !ok || m.Family != f {
			if nh, ok := u.Attrs.NextHop(); ok {
				return nh.Addr.String()
			}
		}
	}
	for _, a := range u.Attrs {
		if m, ok := a.(*attr.MPReach); ok && m.Family == f {
			g, _, _, err := m.NextHops()
			if err != nil {
				return "invalid"
			}
			return g.String()
		}
	}
	return "none"
}

// TestConformanceGoBGPBadLength runs GoBGP's malformed-length corpus: each
// file gives an error (a Message Header Error only with subcode Bad Message
// Length) or a clean parse that re-encodes. Most files have a marker of
// ASCII '0's, which is a Connection Not Synchronized error before anything
// else is read (RFC 4271 §6.1); so the files are run as they are (that
// subcode is then accepted too) and again with the marker repaired to all
// ones, where GoBGP's rule applies unchanged.
func TestConformanceGoBGPBadLength(t *testing.T) {
	root := conformanceRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "gobgp-bad-len", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "README.md" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, repaired := range []bool{false, true} {
			b := append([]byte(nil), raw...)
			if repaired && len(b) >= markerLen {
				copy(b, marker[:])
			}
			name := filepath.Base(f)[:12]
			if repaired {
				name += "/repaired"
			}
			t.Run(name, func(t *testing.T) {
				for _, opt := range []Options{{}, Permissive(), {AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)}} {
					m, err := Decode(b, opt)
					if err != nil {
						f := faultOf(t, err)
						if f.Code == iana.NotifMessageHeader && f.Subcode != uint8(iana.HeaderBadMessageLength) &&
							(repaired || f.Subcode != uint8(iana.HeaderConnectionNotSynchronized)) {
							t.Errorf("header error with subcode %d: %v", f.Subcode, f)
						}
						if m != nil {
							if fa := fault.As(err); fa.Action == fault.SessionReset && m.Type() == iana.MsgUpdate {
								t.Errorf("UPDATE handed up with a session reset")
							}
						}
						t.Logf("%+v: %v", opt.AS4, err)
						continue
					}
					if got := m.AppendTo(nil, opt); !bytes.Equal(got, b) {
						t.Errorf("clean parse re-encodes as %x, was %x", got, b)
					}
				}
			})
		}
	}
	if n != 11 {
		t.Errorf("%d files, want 11", n)
	}
}
