package nlri

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// cmpNetip compares netip values by ==, which go-cmp cannot do on its own
// (unexported fields).
var cmpNetip = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func mustRD(s string) RD {
	rd, err := ParseRD(s)
	if err != nil {
		panic(err)
	}
	return rd
}

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

// TestRoundTripValues builds values, encodes them and decodes the result:
// the value must come back unchanged, and each entry's String is checked.
func TestRoundTripValues(t *testing.T) {
	esi := ESI{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	mac := MAC{0xaa, 0xbb, 0xcc, 0, 0, 1}
	tests := []struct {
		name    string
		fam     Family
		addPath bool
		in      []NLRI
		str     []string
	}{
		{"labeled v4", IPv4Labeled, false, []NLRI{
			Labeled{Labels: []Label{NewLabel(100, true)}, Prefix: pfx("10.0.0.0/8")},
			Labeled{Labels: []Label{NewLabel(16, false), NewLabel(17, false), NewLabel(18, true)}, Prefix: pfx("192.0.2.0/24")},
			Labeled{Labels: []Label{WithdrawLabel}, Prefix: pfx("192.0.2.0/24")},
		}, []string{"10.0.0.0/8", "192.0.2.0/24", "192.0.2.0/24"}},
		{"labeled v6 add-path", IPv6Labeled, true, []NLRI{
			Labeled{PathID: 3, Labels: []Label{NewLabel(2, true)}, Prefix: pfx("2001:db8::/32")},
		}, []string{"2001:db8::/32 path-id 3"}},
		{"vpn v4", IPv4VPN, false, []NLRI{
			VPN{Labels: []Label{NewLabel(1000, true)}, RD: mustRD("65000:100"), Prefix: pfx("10.0.0.0/24")},
			VPN{Labels: []Label{NewLabel(1000, true)}, RD: mustRD("192.0.2.1:100"), Prefix: pfx("10.0.0.0/24")},
			VPN{Labels: []Label{NewLabel(1000, true)}, RD: mustRD("4200000001:100"), Prefix: pfx("10.0.0.0/24")},
		}, []string{"65000:100:10.0.0.0/24", "192.0.2.1:100:10.0.0.0/24", "4200000001:100:10.0.0.0/24"}},
		{"vpn v6 add-path", IPv6VPN, true, []NLRI{
			VPN{PathID: 1, Labels: []Label{CompatLabel}, RD: mustRD("65000:100"), Prefix: pfx("2001:db8::/48")},
		}, []string{"65000:100:2001:db8::/48 path-id 1"}},
		{"evpn", L2VPNEVPN, false, []NLRI{
			EthernetAD{RD: mustRD("65000:1"), ESI: esi, EthernetTag: 7, Label: NewLabel(5, true)},
			MACIP{RD: mustRD("65000:1"), ESI: esi, EthernetTag: 7, MAC: mac, Labels: []Label{NewLabel(5, true)}},
			MACIP{RD: mustRD("65000:1"), EthernetTag: 7, MAC: mac, IP: addr("10.0.0.1"), Labels: []Label{NewLabel(5, true), NewLabel(6, true)}},
			MACIP{RD: mustRD("65000:1"), MAC: mac, IP: addr("2001:db8::1"), Labels: []Label{NewLabel(5, true)}},
			InclusiveMulticast{RD: mustRD("65000:1"), EthernetTag: 7, OriginatorIP: addr("192.0.2.1")},
			InclusiveMulticast{RD: mustRD("65000:1"), OriginatorIP: addr("2001:db8::2")},
			EthernetSegment{RD: mustRD("192.0.2.1:3"), ESI: esi, OriginatorIP: addr("192.0.2.1")},
			EthernetSegment{RD: mustRD("192.0.2.1:3"), ESI: esi, OriginatorIP: addr("2001:db8::3")},
			IPPrefix{RD: mustRD("65000:1"), Prefix: pfx("10.1.0.0/16"), Gateway: addr("10.0.0.1"), Label: Label(10100)},
			IPPrefix{RD: mustRD("65000:1"), ESI: esi, EthernetTag: 1, Prefix: pfx("2001:db8:1::/48"), Label: Label(10100)},
			EVPNUnknown{Type: 9, Data: []byte{1, 2, 3}},
			EVPNUnknown{Type: 0},
		}, []string{
			"[1]:[65000:1]:[00:01:02:03:04:05:06:07:08:09]:[7]",
			"[2]:[65000:1]:[7]:[48]:[aa:bb:cc:00:00:01]",
			"[2]:[65000:1]:[7]:[48]:[aa:bb:cc:00:00:01]:[32]:[10.0.0.1]",
			"[2]:[65000:1]:[0]:[48]:[aa:bb:cc:00:00:01]:[128]:[2001:db8::1]",
			"[3]:[65000:1]:[7]:[32]:[192.0.2.1]",
			"[3]:[65000:1]:[0]:[128]:[2001:db8::2]",
			"[4]:[192.0.2.1:3]:[00:01:02:03:04:05:06:07:08:09]:[32]:[192.0.2.1]",
			"[4]:[192.0.2.1:3]:[00:01:02:03:04:05:06:07:08:09]:[128]:[2001:db8::3]",
			"[5]:[65000:1]:[0]:[16]:[10.1.0.0]",
			"[5]:[65000:1]:[1]:[48]:[2001:db8:1::]",
			"[9]:[0x010203]",
			"[0]:[0x]",
		}},
		{"evpn add-path", L2VPNEVPN, true, []NLRI{
			EthernetAD{PathID: 1, RD: mustRD("65000:1"), Label: NewLabel(5, true)},
			IPPrefix{PathID: 2, RD: mustRD("65000:1"), Prefix: pfx("0.0.0.0/0")},
			EVPNUnknown{PathID: 3, Type: 200, Data: bytes.Repeat([]byte{0xee}, 255)},
		}, []string{
			"[1]:[65000:1]:[00:00:00:00:00:00:00:00:00:00]:[0] path-id 1",
			"[5]:[65000:1]:[0]:[0]:[0.0.0.0] path-id 2",
			"[200]:[0x" + string(bytes.Repeat([]byte("ee"), 255)) + "] path-id 3",
		}},
		{"rtc", IPv4RTC, true, []NLRI{
			RTC{PathID: 9},
			RTC{Length: 96, OriginAS: 65000, RT: [8]byte{0, 2, 0xfd, 0xe8, 0, 0, 0, 1}},
			RTC{Length: 64, OriginAS: 65000, RT: [8]byte{1, 2, 10, 0, 0, 0, 0, 0}},
		}, []string{"default path-id 9", "65000:65000:1/96", "65000:0x01020a00/64"}},
		{"unicast", IPv6Unicast, false, []NLRI{
			Prefix{Prefix: pfx("2001:db8::/32")},
		}, []string{"2001:db8::/32"}},
		{"opaque", Family{iana.AFIL2VPN, iana.SAFIVPLS}, false, []NLRI{
			Opaque{Fam: Family{iana.AFIL2VPN, iana.SAFIVPLS}, Data: []byte{0, 3, 1, 2, 3}},
		}, []string{"afi-25/safi-65 0x0003010203"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Append(nil, tt.in, tt.addPath)
			got, err := Decode(tt.fam, b, tt.addPath)
			if err != nil {
				t.Fatalf("Decode(%x): %v", b, err)
			}
			if diff := cmp.Diff(tt.in, got, cmpNetip); diff != "" {
				t.Errorf("round trip (-in +got):\n%s", diff)
			}
			for i, n := range got {
				if i < len(tt.str) && n.String() != tt.str[i] {
					t.Errorf("entry %d String = %q, want %q", i, n.String(), tt.str[i])
				}
				if n.Family() != wantFamily(tt.fam, n) {
					t.Errorf("entry %d Family = %v, want %v", i, n.Family(), tt.fam)
				}
				if e, ok := n.(EVPN); ok {
					if enc := e.AppendTo(nil, false); enc[0] != uint8(e.RouteType()) {
						t.Errorf("entry %d: RouteType %d, encoded as %d", i, e.RouteType(), enc[0])
					}
				}
			}
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, f := range []Family{IPv4Unicast, IPv6Labeled, IPv4VPN, L2VPNEVPN, IPv4RTC, IPv4FlowSpec} {
		for _, addPath := range []bool{false, true} {
			if got, err := Decode(f, nil, addPath); got != nil || err != nil {
				t.Errorf("Decode(%v, empty, %v) = %v, %v", f, addPath, got, err)
			}
		}
	}
}

// TestLabelStacksCapped checks that appending to one decoded label stack
// cannot overwrite the next route's, although they share an array.
func TestLabelStacksCapped(t *testing.T) {
	in := []NLRI{
		VPN{Labels: []Label{NewLabel(1, true)}, RD: mustRD("1:1"), Prefix: pfx("10.0.0.0/8")},
		VPN{Labels: []Label{NewLabel(2, true)}, RD: mustRD("1:1"), Prefix: pfx("10.0.0.0/8")},
	}
	got, err := Decode(IPv4VPN, Append(nil, in, false), false)
	if err != nil {
		t.Fatal(err)
	}
	first := got[0].(VPN)
	_ = append(first.Labels, NewLabel(99, true))
	if l := got[1].(VPN).Labels[0]; l != NewLabel(2, true) {
		t.Errorf("second stack clobbered: %v", l)
	}
}

func TestDecodeTypedAppends(t *testing.T) {
	b := Append(nil, []NLRI{
		VPN{Labels: []Label{NewLabel(1, true)}, RD: mustRD("1:1"), Prefix: pfx("10.0.0.0/8")},
	}, false)
	dst := []VPN{{RD: mustRD("9:9")}}
	dst, err := DecodeVPN(dst, b, iana.AFIIPv4, false)
	if err != nil || len(dst) != 2 || dst[0].RD != mustRD("9:9") || dst[1].String() != "1:1:10.0.0.0/8" {
		t.Fatalf("DecodeVPN = %v, %v", dst, err)
	}
	bad := append(b[:len(b):len(b)], 0x70)
	if out, err := DecodeVPN(dst, bad, iana.AFIIPv4, false); err == nil || len(out) != 2 {
		t.Errorf("DecodeVPN on malformed input = %v, %v; want dst unchanged and a fault", out, err)
	}
	lb := Append(nil, []NLRI{Labeled{Labels: []Label{NewLabel(1, true)}, Prefix: pfx("2001:db8::/32")}}, true)
	ls, err := DecodeLabeled(nil, lb, iana.AFIIPv6, true)
	if err != nil || len(ls) != 1 || ls[0].Prefix != pfx("2001:db8::/32") {
		t.Fatalf("DecodeLabeled = %v, %v", ls, err)
	}
}
