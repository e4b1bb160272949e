package wire

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// readHex reads a golden vector: hex digits, one field per line, each
// followed by a comment naming it ('#' to the end of the line).
func readHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseHexVector(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

func parseHexVector(s string) ([]byte, error) {
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(sb.String())
}

// goldenOpts are the session options each golden vector is read with;
// the others use Permissive.
var goldenOpts = map[string]Options{
	"update-addpath": {AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)},
	"update-as2":     {AS4: false},
}

func goldenOptions(name string) Options {
	if o, ok := goldenOpts[name]; ok {
		return o
	}
	return Permissive()
}

// TestGoldenRoundTrip decodes every vector of testdata/messages and
// encodes the result back to the same octets.
func TestGoldenRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/messages/*.hex")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden vectors: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		t.Run(name, func(t *testing.T) {
			b := readHex(t, f)
			opt := goldenOptions(name)
			m, err := Decode(b, opt)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got := m.AppendTo(nil, opt)
			if !bytes.Equal(got, b) {
				t.Errorf("re-encoded\n got %x\nwant %x", got, b)
			}
			if _, err := Append(nil, m, opt); err != nil {
				t.Errorf("Append: %v", err)
			}
		})
	}
}

var capCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// TestGoldenValues compares the decoded vectors that are not UPDATEs with
// the values they encode; update_test.go does the UPDATEs.
func TestGoldenValues(t *testing.T) {
	tests := []struct {
		name string
		want Message
	}{
		{"keepalive", Keepalive{}},
		{"open-one-per-param", &Open{
			Version: 4, MyAS: 65000, HoldTime: 180, BGPID: netip.MustParseAddr("10.0.0.1"),
			Params: []Param{
				{Type: iana.ParamCapabilities, Caps: []Capability{CapMultiprotocol{nlri.IPv4Unicast}}},
				{Type: iana.ParamCapabilities, Caps: []Capability{CapMultiprotocol{nlri.IPv6Unicast}}},
				{Type: iana.ParamCapabilities, Caps: []Capability{CapRouteRefresh{}}},
				{Type: iana.ParamCapabilities, Caps: []Capability{CapFourOctetAS{65000}}},
			},
		}},
		{"open-grouped", &Open{
			Version: 4, MyAS: ASTrans, HoldTime: 90, BGPID: netip.MustParseAddr("192.0.2.1"),
			Params: []Param{{Type: iana.ParamCapabilities, Caps: []Capability{
				CapMultiprotocol{nlri.IPv4Unicast},
				CapMultiprotocol{nlri.IPv6Unicast},
				CapMultiprotocol{nlri.L2VPNEVPN},
				CapRouteRefresh{},
				CapEnhancedRouteRefresh{},
				CapExtendedMessage{},
				CapExtendedNextHop{Entries: []NextHopEntry{
					{Family: nlri.IPv4Unicast, NextHopAFI: iana.AFIIPv6},
					{Family: nlri.IPv4VPN, NextHopAFI: iana.AFIIPv6},
				}},
				CapGracefulRestart{Restarting: true, Notification: true, Time: 120, Families: []GRFamily{
					{Family: nlri.IPv4Unicast, Forwarding: true},
					{Family: nlri.IPv6Unicast},
				}},
				CapFourOctetAS{130032},
				CapAddPath{Entries: []AddPathEntry{
					{Family: nlri.IPv4Unicast, Mode: AddPathBoth},
					{Family: nlri.IPv6Unicast, Mode: AddPathReceive},
				}},
				CapLongLivedGR{Families: []LLGRFamily{{Family: nlri.IPv4Unicast, Flags: 0x80, StaleTime: 57600}}},
				CapFQDN{Hostname: "node1", Domain: "example.net"},
				CapRole{iana.RoleCustomer},
				CapSoftwareVersion{"godwit/0.1dev"},
				CapUnknown{CapCode: iana.CapRouteRefreshCisco, Value: []byte{}},
				CapUnknown{CapCode: 200, Value: []byte{0xbe, 0xef}},
			}}},
		}},
		{"open-extended-params", &Open{
			Version: 4, MyAS: 65001, HoldTime: 0, BGPID: netip.MustParseAddr("10.0.0.2"),
			Params: []Param{{Type: iana.ParamCapabilities, Caps: []Capability{
				CapMultiprotocol{nlri.IPv4Unicast}, CapFourOctetAS{65001},
			}}},
			ExtendedParams: true,
		}},
		{"open-no-params", &Open{Version: 4, MyAS: 65000, HoldTime: 3, BGPID: netip.MustParseAddr("1.2.3.4")}},
		{"notification-shutdown", &Notification{Code: iana.NotifCease, Subcode: 2, Data: append([]byte{11}, "maintenance"...)}},
		{"notification-hard-reset", &Notification{Code: iana.NotifCease, Subcode: 9, Data: []byte{4, 0}}},
		{"notification-update-error", &Notification{Code: iana.NotifUpdateMessage, Subcode: 3, Data: []byte{2}}},
		{"notification-bare", &Notification{Code: iana.NotifCease, Subcode: 3}},
		{"route-refresh", &RouteRefresh{Family: nlri.IPv6Unicast, Subtype: iana.RefreshNormal}},
		{"route-refresh-borr", &RouteRefresh{Family: nlri.IPv4Unicast, Subtype: iana.RefreshBeginning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := readHex(t, filepath.Join("testdata/messages", tt.name+".hex"))
			got, err := Decode(b, Permissive())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, capCmp); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if enc := tt.want.AppendTo(nil, Permissive()); !bytes.Equal(enc, b) {
				t.Errorf("encoded value\n got %x\nwant %x", enc, b)
			}
		})
	}
}

func TestOpenHelpers(t *testing.T) {
	b := readHex(t, "testdata/messages/open-grouped.hex")
	m, err := Decode(b, Permissive())
	if err != nil {
		t.Fatal(err)
	}
	o := m.(*Open)
	if got := o.AS(); got != 130032 {
		t.Errorf("AS() = %d, want 130032", got)
	}
	if got := len(o.Capabilities()); got != 16 {
		t.Errorf("%d capabilities, want 16", got)
	}
	o2 := NewOpen(65000, 90, netip.MustParseAddr("10.0.0.1"), CapMultiprotocol{nlri.IPv4Unicast}, CapFourOctetAS{65000})
	if o2.AS() != 65000 || o2.MyAS != 65000 {
		t.Errorf("NewOpen 2-octet AS: MyAS %d AS %d", o2.MyAS, o2.AS())
	}
	o3 := NewOpen(4200000000, 90, netip.MustParseAddr("10.0.0.1"), CapFourOctetAS{4200000000})
	if o3.MyAS != ASTrans || o3.AS() != 4200000000 {
		t.Errorf("NewOpen 4-octet AS: MyAS %d AS %d", o3.MyAS, o3.AS())
	}
	if !strings.Contains(o.String(), "four-octet-as 130032") {
		t.Errorf("String() = %q", o.String())
	}
}

// TestOpenExtendedWhenNeeded checks that AppendTo switches to the RFC 9072
// form when the parameters outgrow one-octet lengths, and that it decodes.
func TestOpenExtendedWhenNeeded(t *testing.T) {
	var caps []Capability
	for i := 0; i < 50; i++ {
		caps = append(caps, CapUnknown{CapCode: 250, Value: []byte{byte(i), 1, 2, 3}})
	}
	o := NewOpen(65000, 90, netip.MustParseAddr("10.0.0.1"), caps...)
	b := o.AppendTo(nil, Options{})
	if b[28] != 255 || b[29] != 255 {
		t.Fatalf("not the extended form: %x", b[28:32])
	}
	m, err := Decode(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Open)
	if !got.ExtendedParams || len(got.Capabilities()) != 50 {
		t.Errorf("decoded extended=%v caps=%d", got.ExtendedParams, len(got.Capabilities()))
	}
	if !bytes.Equal(got.AppendTo(nil, Options{}), b) {
		t.Error("extended OPEN does not round-trip")
	}
}

func TestNotificationHelpers(t *testing.T) {
	n := NewShutdown(iana.CeaseAdministrativeShutdown, "maintenance")
	if msg, ok := n.ShutdownMessage(); !ok || msg != "maintenance" {
		t.Errorf("ShutdownMessage = %q, %v", msg, ok)
	}
	if got, want := n.String(), `Cease / Administrative Shutdown: "maintenance"`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	long := NewShutdown(iana.CeaseAdministrativeReset, strings.Repeat("é", 200))
	if msg, ok := long.ShutdownMessage(); !ok || len(msg) != 254 {
		t.Errorf("long message cut to %d octets (ok %v), want 254 (whole runes)", len(msg), ok)
	}
	bad := &Notification{Code: iana.NotifCease, Subcode: 2, Data: []byte{2, 0xff, 0xfe}}
	if _, ok := bad.ShutdownMessage(); ok {
		t.Error("invalid UTF-8 accepted as a shutdown message")
	}
	if !strings.Contains(bad.String(), "data 02fffe") {
		t.Errorf("String of invalid shutdown = %q", bad.String())
	}
	short := &Notification{Code: iana.NotifCease, Subcode: 2, Data: []byte{5, 'a'}}
	if _, ok := short.ShutdownMessage(); ok {
		t.Error("length past the data accepted")
	}
	hr := NewHardReset(*NewShutdown(iana.CeaseAdministrativeShutdown, "bye"))
	code, sub, data, ok := hr.HardResetInner()
	if !ok || code != iana.NotifCease || sub != 2 || string(data) != "\x03bye" {
		t.Errorf("HardResetInner = %v %v %q %v", code, sub, data, ok)
	}
	if got, want := hr.String(), `Cease / Hard Reset (Cease / Administrative Shutdown: "bye")`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if _, _, _, ok := n.HardResetInner(); ok {
		t.Error("HardResetInner on a shutdown")
	}
}

// TestDecodeErrors checks the faults of malformed messages other than
// UPDATE: each is a session reset with the NOTIFICATION RFC 4271 §6 names.
func TestDecodeErrors(t *testing.T) {
	const m = "ffffffffffffffffffffffffffffffff"
	tests := []struct {
		name string
		hex  string
		opt  Options
		code iana.NotifCode
		sub  uint8
		data string // expected fault data in hex, "-" to skip
	}{
		{"short", "ffff", Options{}, iana.NotifMessageHeader, 2, ""},
		{"marker", "fffffffffffffffffffffffffffffffe001304", Options{}, iana.NotifMessageHeader, 1, ""},
		{"length below 19", m + "001204", Options{}, iana.NotifMessageHeader, 2, "0012"},
		{"length vs buffer", m + "001404", Options{}, iana.NotifMessageHeader, 2, "0014"},
		{"length over 4096", m + "100104" + strings.Repeat("00", 4097-19), Options{}, iana.NotifMessageHeader, 2, "1001"},
		{"OPEN over 4096 with extended message", m + "100101" + strings.Repeat("00", 4097-19), Options{ExtendedMessage: true}, iana.NotifMessageHeader, 2, "1001"},
		{"type", m + "001306", Options{}, iana.NotifMessageHeader, 3, "06"},
		{"keepalive with body", m + "00140400", Options{}, iana.NotifMessageHeader, 2, "0014"},
		{"OPEN too short", m + "001b0104fde800b40a0000", Options{}, iana.NotifMessageHeader, 2, "001b"},
		{"UPDATE too short", m + "0015020000", Options{}, iana.NotifMessageHeader, 2, "0015"},
		{"NOTIFICATION too short", m + "001403" + "06", Options{}, iana.NotifMessageHeader, 2, "0014"},
		{"OPEN version 3", m + "001d01" + "03fde800b40a00000100", Options{}, iana.NotifOpenMessage, 1, "0004"},
		{"OPEN hold time 2", m + "001d01" + "04fde800020a00000100", Options{}, iana.NotifOpenMessage, 6, ""},
		{"OPEN BGP identifier 0", m + "001d01" + "04fde800b40000000000", Options{}, iana.NotifOpenMessage, 3, ""},
		{"OPEN params length too long", m + "001d01" + "04fde800b40a00000105", Options{}, iana.NotifOpenMessage, 0, ""},
		{"OPEN param overruns", m + "001f01" + "04fde800b40a00000102" + "0205", Options{}, iana.NotifOpenMessage, 0, "-"},
		{"OPEN unsupported param", m + "002001" + "04fde800b40a00000103" + "010100", Options{}, iana.NotifOpenMessage, 4, "01"},
		{"OPEN capability overruns", m + "002101" + "04fde800b40a00000104" + "02020104", Options{}, iana.NotifOpenMessage, 0, "0104"},
		{"OPEN multiprotocol length 3", m + "002401" + "04fde800b40a00000107" + "0205" + "0103000101", Options{}, iana.NotifOpenMessage, 0, "0103000101"},
		{"OPEN four-octet-as length 1", m + "002201" + "04fde800b40a00000105" + "0203" + "4101fd", Options{}, iana.NotifOpenMessage, 0, "4101fd"},
		{"OPEN graceful restart length 3", m + "002401" + "04fde800b40a00000107" + "0205" + "4003007800", Options{}, iana.NotifOpenMessage, 0, "4003007800"},
		{"OPEN extended next hop SAFI > 255", m + "002701" + "04fde800b40a0000010a" + "0208" + "0506000101000002", Options{}, iana.NotifOpenMessage, 0, "0506000101000002"},
		{"OPEN fqdn overrun", m + "002301" + "04fde800b40a00000106" + "0204" + "49020501", Options{}, iana.NotifOpenMessage, 0, "49020501"},
		{"ROUTE-REFRESH length 24", m + "00180500010001" + "00", Options{}, iana.NotifRouteRefresh, 1, "ffffffffffffffffffffffffffffffff0018050001000100"},
		{"ROUTE-REFRESH length 22", m + "0016050001" + "00", Options{}, iana.NotifRouteRefresh, 1, "-"},
		{"UPDATE withdrawn length overrun", m + "001b02" + "00050000" + "18c63364", Options{}, iana.NotifUpdateMessage, 1, ""},
		{"UPDATE attribute length overrun", m + "001b02" + "00000010" + "40010100", Options{}, iana.NotifUpdateMessage, 1, ""},
		{"UPDATE bad NLRI", m + "001802" + "00000000" + "21", Options{}, iana.NotifUpdateMessage, 10, "-"},
		{"UPDATE bad withdrawn", m + "001802" + "0001" + "18" + "0000", Options{}, iana.NotifUpdateMessage, 10, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Decode(b, tt.opt)
			f := faultOf(t, err)
			if f.Code != tt.code || f.Subcode != tt.sub {
				t.Errorf("got %v, want code %d subcode %d", f, tt.code, tt.sub)
			}
			if tt.data != "-" && hex.EncodeToString(f.Data) != tt.data {
				t.Errorf("data %x, want %s", f.Data, tt.data)
			}
		})
	}
}

func TestOpenReturnedWithSemanticFault(t *testing.T) {
	b, _ := hex.DecodeString("ffffffffffffffffffffffffffffffff001d01" + "04fde800010a00000100")
	m, err := Decode(b, Options{})
	if err == nil || m == nil {
		t.Fatalf("want the OPEN and a fault, got %v, %v", m, err)
	}
	if m.(*Open).HoldTime != 1 {
		t.Errorf("hold time %d", m.(*Open).HoldTime)
	}
}

func TestNewNotificationFits(t *testing.T) {
	f := fault.Update(fault.SessionReset, iana.UpdateMalformedAttributeList, make([]byte, 60000), "big")
	if _, err := Append(nil, NewNotification(f), Options{}); err != nil {
		t.Error(err)
	}
	n := NewNotification(fault.Open(iana.OpenBadBGPIdentifier, nil, "zero"))
	if n.Code != iana.NotifOpenMessage || n.Subcode != 3 || len(n.Data) != 0 {
		t.Errorf("got %v", n)
	}
}

func TestAppendChecksLength(t *testing.T) {
	n := &Notification{Code: iana.NotifCease, Data: make([]byte, 5000)}
	if _, err := Append(nil, n, Options{}); err == nil {
		t.Error("5019-octet NOTIFICATION accepted without extended messages")
	}
	if b, err := Append([]byte{1}, n, Options{ExtendedMessage: true}); err != nil || len(b) != 1+5021 {
		t.Errorf("extended: %d octets, %v", len(b), err)
	}
}
