package attr

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// vector is one golden vector from testdata/*.vec (format documented at the
// top of testdata/basic.vec).
type vector struct {
	file, name string
	line       int
	opt        Options
	bytes      []byte
	bad        bool // has a !! line
	action     fault.Action
	subcode    iana.UpdateSubcode
}

// loadVectors reads every testdata/*.vec file.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob("testdata/*.vec")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden vectors: %v", err)
	}
	var out []vector
	for _, f := range files {
		vs, err := parseVectors(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, vs...)
	}
	return out
}

func parseVectors(path string) ([]vector, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []vector
	var cur *vector
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		where := fmt.Sprintf("%s:%d", path, n)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "=="):
			f := strings.Fields(line[2:])
			if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "as2") {
				return nil, fmt.Errorf("%s: want '== NAME [as2]'", where)
			}
			out = append(out, vector{file: filepath.Base(path), name: f[0], line: n, opt: Options{AS4: len(f) == 1}})
			cur = &out[len(out)-1]
		case strings.HasPrefix(line, "!!"):
			if cur == nil {
				return nil, fmt.Errorf("%s: '!!' before any vector", where)
			}
			f := strings.Fields(line[2:])
			if len(f) != 2 {
				return nil, fmt.Errorf("%s: want '!! ACTION SUBCODE'", where)
			}
			act, ok := parseAction(f[0])
			sub, err := strconv.ParseUint(f[1], 10, 8)
			if !ok || err != nil {
				return nil, fmt.Errorf("%s: bad action or subcode %q", where, line)
			}
			cur.bad, cur.action, cur.subcode = true, act, iana.UpdateSubcode(sub)
		default:
			if cur == nil {
				return nil, fmt.Errorf("%s: data before any vector", where)
			}
			h, comment, ok := strings.Cut(line, "#")
			if !ok || strings.TrimSpace(comment) == "" {
				return nil, fmt.Errorf("%s: every data line needs a comment naming its field", where)
			}
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(h), " ", ""))
			if err != nil || len(b) == 0 {
				return nil, fmt.Errorf("%s: bad hex %q", where, h)
			}
			cur.bytes = append(cur.bytes, b...)
		}
	}
	return out, sc.Err()
}

func parseAction(s string) (fault.Action, bool) {
	for a := fault.None; a <= fault.SessionReset; a++ {
		if a.String() == s {
			return a, true
		}
	}
	return 0, false
}

// cmpOpts compares attributes by their exported fields; flags are compared
// separately through Flags().
var cmpOpts = cmp.Options{
	cmp.Exporter(func(reflect.Type) bool { return true }),
	cmp.Comparer(func(a, b flagBits) bool { return true }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func diffList(got, want List) string {
	if d := cmp.Diff(want, got, cmpOpts); d != "" {
		return d
	}
	for i := range got {
		if got[i].Flags() != want[i].Flags() {
			return fmt.Sprintf("attribute %d (%s): flags %s, want %s", i, got[i].Code(), got[i].Flags(), want[i].Flags())
		}
	}
	return ""
}

func withFlags[T FlagSetter](a T, f Flags) T {
	a.SetFlags(f)
	return a
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// golden holds the value each good vector decodes to. Values built here
// have canonical flags unless withFlags says otherwise.
var golden = map[string]List{
	"origin-igp":             {&Origin{Value: OriginIGP}},
	"origin-incomplete":      {&Origin{Value: OriginIncomplete}},
	"origin-extended-length": {withFlags(&Origin{Value: OriginEGP}, FlagTransitive|FlagExtendedLength)},
	"next-hop":               {&NextHop{Addr: addr("192.0.2.1")}},
	"med":                    {&MED{Value: 100}},
	"local-pref":             {&LocalPref{Value: 200}},
	"atomic-aggregate":       {&AtomicAggregate{}},
	"originator-id":          {&OriginatorID{ID: addr("10.0.0.1")}},
	"cluster-list":           {&ClusterList{IDs: []netip.Addr{addr("10.0.0.2"), addr("10.0.0.3")}}},
	"otc":                    {&OTC{AS: 65000}},

	"as-path-as4": {&ASPath{Segments: []Segment{{iana.SegmentASSequence, []uint32{65000, 65001, 4200000000}}}}},
	"as-path-as2": {&ASPath{Segments: []Segment{{iana.SegmentASSequence, []uint32{65000, 65001, 23456}}}}},
	"as-path-all-segment-types": {&ASPath{Segments: []Segment{
		{iana.SegmentConfedSequence, []uint32{65008}},
		{iana.SegmentConfedSet, []uint32{65009}},
		{iana.SegmentASSequence, []uint32{65000, 65001}},
		{iana.SegmentASSet, []uint32{65002, 65003}},
	}}},
	"as-path-empty":           {&ASPath{}},
	"as-path-extended-length": {withFlags(&ASPath{Segments: []Segment{{iana.SegmentASSequence, []uint32{65000}}}}, FlagTransitive|FlagExtendedLength)},
	"as4-path":                {&AS4Path{Segments: []Segment{{iana.SegmentASSequence, []uint32{65000, 4200000000}}}}},

	"aggregator-as4":      {&Aggregator{AS: 4200000000, Addr: addr("192.0.2.1")}},
	"aggregator-as2":      {&Aggregator{AS: 23456, Addr: addr("192.0.2.1")}},
	"as4-aggregator":      {&AS4Aggregator{AS: 4200000000, Addr: addr("192.0.2.1")}},
	"communities":         {&Communities{Values: []uint32{65000<<16 | 100, CommunityNoExport, CommunityGracefulShutdown}}},
	"communities-partial": {withFlags(&Communities{Values: []uint32{65000<<16 | 100}}, FlagOptional|FlagTransitive|FlagPartial)},
	"large-communities":   {&LargeCommunities{Values: []LargeCommunity{{65000, 1, 2}, {4200000000, 0, 4294967295}}}},

	"ext-communities-route-targets": {&ExtCommunities{Values: []ExtCommunity{
		NewRouteTargetAS2(65000, 100),
		NewRouteTargetIPv4(addr("192.0.2.1"), 100),
		NewRouteTargetAS4(4200000000, 100),
		NewRouteOriginAS2(65000, 1),
	}}},
	"ext-communities-evpn": {&ExtCommunities{Values: []ExtCommunity{
		NewEncapsulation(iana.TunnelVXLAN),
		NewMACMobility(5, true),
		NewRouterMAC([6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}),
		NewDefaultGateway(),
		NewESILabel(true, 100),
		NewLinkBandwidth(65000, 125e6),
		{0x80, 0x06},
	}}},
	"ipv6-ext-communities": {&IPv6ExtCommunities{Values: [][20]byte{NewIPv6RouteTarget(addr("2001:db8::1"), 100)}}},

	"mp-reach-ipv6": {withFlags(&MPReach{
		Family:  nlri.IPv6Unicast,
		NextHop: mustHex("20010db8000000000000000000000001 fe800000000000000000000000000001"),
		NLRI:    mustHex("40 20010db800000001"),
	}, FlagOptional|FlagExtendedLength)},
	"mp-reach-vpnv4": {&MPReach{
		Family:  nlri.IPv4VPN,
		NextHop: mustHex("0000000000000000 c0000201"),
		NLRI:    mustHex("70 003e81 0000fde800000064 0a0102"),
	}},
	"mp-reach-ipv4-ipv6-next-hop": {&MPReach{
		Family:  nlri.IPv4Unicast,
		NextHop: mustHex("20010db8000000000000000000000001"),
		NLRI:    mustHex("180a0102"),
	}},
	"mp-reach-evpn": {&MPReach{
		Family:  nlri.L2VPNEVPN,
		NextHop: mustHex("c0000201"),
		NLRI:    mustHex("03 11 0000fde800000064 00000000 20 c0000201"),
	}},
	"mp-reach-flowspec-no-next-hop": {&MPReach{
		Family:  nlri.IPv4FlowSpec,
		NextHop: []byte{},
		NLRI:    mustHex("05 01180a0001"),
	}},
	"mp-unreach-ipv6":       {&MPUnreach{Family: nlri.IPv6Unicast, NLRI: mustHex("40 20010db800000001")}},
	"mp-unreach-end-of-rib": {&MPUnreach{Family: nlri.IPv6Unicast}},

	"pmsi-ingress-replication": {&PMSITunnel{Type: iana.PMSIIngressReplication, Label: 10000, TunnelID: mustHex("c0000201")}},
	"pmsi-no-tunnel-leaf-info": {&PMSITunnel{TunnelFlags: PMSILeafInfoRequired, Type: iana.PMSINoTunnel}},
	"tunnel-encap": {&TunnelEncap{Tunnels: []Tunnel{
		{Type: iana.TunnelVXLAN, SubTLVs: []SubTLV{
			{Type: SubTLVEncapsulation, Value: mustHex("8000271000000000")},
			{Type: 144, Value: mustHex("abcd")},
		}},
		{Type: iana.TunnelGRE},
	}}},
	"aigp": {NewAIGP(100)},

	"typical": {
		&Origin{Value: OriginIGP},
		&ASPath{Segments: []Segment{{iana.SegmentASSequence, []uint32{65000, 3356, 174, 13030, 199741}}}},
		&NextHop{Addr: addr("192.0.2.1")},
		&MED{Value: 0},
		&Communities{Values: []uint32{3356<<16 | 2, 3356<<16 | 502, 65000<<16 | 1000}},
	},
	"unknown-optional-transitive":             {&Unknown{F: FlagOptional | FlagTransitive, C: 153, Value: []byte{1, 2, 3}}},
	"unknown-optional-non-transitive-partial": {&Unknown{F: FlagOptional | FlagPartial | FlagExtendedLength, C: 254, Value: []byte{0xff}}},
	"prefix-sid-kept-unknown":                 {&Unknown{F: FlagOptional | FlagTransitive, C: iana.AttrPrefixSID, Value: mustHex("010007 00 0000 00000064")}},
}

// TestGolden decodes every good vector, compares it with its value, and
// encodes the value back to the vector's bytes; every bad vector must give
// its fault, with a valid NOTIFICATION and the offending attribute as data.
func TestGolden(t *testing.T) {
	used := map[string]bool{}
	vs := loadVectors(t)
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			if used[v.name] {
				t.Fatalf("%s:%d: vector name used twice", v.file, v.line)
			}
			used[v.name] = true
			l, faults := Decode(v.bytes, v.opt)
			checkFaults(t, v.bytes, faults)
			if v.bad {
				w := fault.Worst(faults)
				if w == nil {
					t.Fatalf("no fault, want %s %s", v.action, v.subcode)
				}
				if w.Action != v.action || w.Code != iana.NotifUpdateMessage || iana.UpdateSubcode(w.Subcode) != v.subcode {
					t.Fatalf("worst fault %v, want %s / %s", w, v.action, v.subcode)
				}
				return
			}
			if len(faults) > 0 {
				t.Fatalf("faults: %v", faults)
			}
			want, ok := golden[v.name]
			if !ok {
				t.Fatalf("no golden value for %s", v.name)
			}
			if d := diffList(l, want); d != "" {
				t.Fatalf("decode mismatch (-want +got):\n%s", d)
			}
			if enc := AppendList(nil, want, v.opt); !bytes.Equal(enc, v.bytes) {
				t.Fatalf("encode of golden value:\n got %x\nwant %x", enc, v.bytes)
			}
			if enc := AppendList(nil, l, v.opt); !bytes.Equal(enc, v.bytes) {
				t.Fatalf("re-encode of decoded value:\n got %x\nwant %x", enc, v.bytes)
			}
		})
	}
	for name := range golden {
		if !used[name] {
			t.Errorf("golden value %q has no vector", name)
		}
	}
}

// checkFaults checks what every fault must satisfy: a NOTIFICATION a
// speaker may send, and data that is a piece of the input.
func checkFaults(t testing.TB, in []byte, faults []*fault.Error) {
	t.Helper()
	for _, f := range faults {
		if f == nil {
			t.Fatal("nil fault")
		}
		if !iana.ValidNotification(f.Code, f.Subcode) {
			t.Fatalf("fault %v: invalid NOTIFICATION %d/%d", f, f.Code, f.Subcode)
		}
		if f.Action == fault.None {
			t.Fatalf("fault %v without action", f)
		}
		if len(f.Data) == 0 || !bytes.Contains(in, f.Data) {
			t.Fatalf("fault %v: data %x is not a piece of the input", f, f.Data)
		}
	}
}
