package rib

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
	"github.com/google/go-cmp/cmp"
)

// cmpAddrs compares netip values by ==, which cmp cannot do on its own
// (unexported fields).
var cmpAddrs = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func rd(s string) nlri.RD { return mustRD(s) }

// wireVPN encodes v with ADD-PATH and decodes it back, so the keys are made
// from what the decoder gives.
func wireVPN(t *testing.T, v nlri.VPN) nlri.VPN {
	t.Helper()
	afi := iana.AFIIPv4
	if v.Prefix.Addr().Is6() {
		afi = iana.AFIIPv6
	}
	got, err := nlri.DecodeVPN(nil, v.AppendTo(nil, true), afi, true)
	if err != nil || len(got) != 1 {
		t.Fatalf("decoding %s: %v (%d routes)", v, err, len(got))
	}
	return got[0]
}

func TestVPN4(t *testing.T) {
	labels := []nlri.Label{nlri.NewLabel(100, true)}
	tests := []struct {
		rd, prefix string
		want       string
	}{
		{"65000:100", "10.0.0.0/24", "65000:100:10.0.0.0/24"},
		{"65000:100", "10.1.2.3/8", "65000:100:10.0.0.0/8"}, // host bits masked
		{"192.0.2.1:7", "0.0.0.0/0", "192.0.2.1:7:0.0.0.0/0"},
		{"4200000001:100", "192.0.2.1/32", "4200000001:100:192.0.2.1/32"},
		{"0:0", "10.0.0.0/8", "0:0:10.0.0.0/8"},
		{"0x0003010203040506", "10.0.0.0/8", "0x0003010203040506:10.0.0.0/8"}, // an RD type nobody defined yet
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			v := wireVPN(t, nlri.VPN{PathID: 9, Labels: labels, RD: rd(tc.rd), Prefix: netip.MustParsePrefix(tc.prefix)})
			k, ok := VPN4From(v.RD, v.Prefix)
			if !ok {
				t.Fatal("VPN4From refused a VPN-IPv4 route")
			}
			if k.String() != tc.want {
				t.Errorf("String %q, want %q", k, tc.want)
			}
			if k.RD() != v.RD || k.Prefix() != v.Prefix.Masked() {
				t.Errorf("back: %s %s, want %s %s", k.RD(), k.Prefix(), v.RD, v.Prefix.Masked())
			}
			if s := (nlri.VPN{RD: k.RD(), Prefix: k.Prefix()}).String(); s != k.String() {
				t.Errorf("String %q, nlri.VPN writes %q", k, s)
			}
			if k != MustVPN4(tc.rd, tc.prefix) || k != MakeVPN4(v.RD, MustPrefix4(tc.prefix)) {
				t.Error("constructors disagree")
			}
			if k.Prefix4() != MustPrefix4(tc.prefix) {
				t.Errorf("Prefix4 %s", k.Prefix4())
			}
		})
	}
	if _, ok := VPN4From(rd("1:1"), netip.MustParsePrefix("2001:db8::/32")); ok {
		t.Error("an IPv6 prefix made a VPN4 key")
	}
	if _, ok := VPN4From(rd("1:1"), netip.Prefix{}); ok {
		t.Error("the invalid prefix made a VPN4 key")
	}
}

func TestVPN6(t *testing.T) {
	labels := []nlri.Label{nlri.NewLabel(16, false), nlri.NewLabel(17, true)}
	tests := []struct {
		rd, prefix string
		want       string
	}{
		{"65000:100", "2001:db8::/32", "65000:100:2001:db8::/32"},
		{"65000:100", "2001:db8:1:2::1/48", "65000:100:2001:db8:1::/48"},
		{"192.0.2.1:7", "::/0", "192.0.2.1:7:::/0"},
		{"4200000001:100", "2001:db8::1/128", "4200000001:100:2001:db8::1/128"},
		{"65000:1", "::ffff:10.0.0.0/104", "65000:1:::ffff:10.0.0.0/104"}, // IPv4-mapped: IPv6 on the wire
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			v := wireVPN(t, nlri.VPN{Labels: labels, RD: rd(tc.rd), Prefix: netip.MustParsePrefix(tc.prefix)})
			k, ok := VPN6From(v.RD, v.Prefix)
			if !ok {
				t.Fatal("VPN6From refused a VPN-IPv6 route")
			}
			if k.String() != tc.want {
				t.Errorf("String %q, want %q", k, tc.want)
			}
			if k.RD() != v.RD || k.Prefix() != v.Prefix.Masked() {
				t.Errorf("back: %s %s, want %s %s", k.RD(), k.Prefix(), v.RD, v.Prefix.Masked())
			}
			if s := (nlri.VPN{RD: k.RD(), Prefix: k.Prefix()}).String(); s != k.String() {
				t.Errorf("String %q, nlri.VPN writes %q", k, s)
			}
			if k != MustVPN6(tc.rd, tc.prefix) || k != MakeVPN6(v.RD, MustPrefix6(tc.prefix)) {
				t.Error("constructors disagree")
			}
			if k.Prefix6() != MustPrefix6(tc.prefix) {
				t.Errorf("Prefix6 %s", k.Prefix6())
			}
		})
	}
	if _, ok := VPN6From(rd("1:1"), netip.MustParsePrefix("10.0.0.0/8")); ok {
		t.Error("an IPv4 prefix made a VPN6 key")
	}
}

// TestVPNKeyIdentity: labels and path identifiers are not part of the
// route; the RD and every prefix bit up to the length are.
func TestVPNKeyIdentity(t *testing.T) {
	v4 := func(v nlri.VPN) VPN4 {
		k, ok := VPN4From(v.RD, v.Prefix)
		if !ok {
			t.Fatalf("%s refused", v)
		}
		return k
	}
	p := netip.MustParsePrefix
	base := nlri.VPN{Labels: []nlri.Label{nlri.NewLabel(100, true)}, RD: rd("65000:1"), Prefix: p("10.0.0.0/24")}
	same := []nlri.VPN{
		{Labels: []nlri.Label{nlri.NewLabel(200, true)}, RD: rd("65000:1"), Prefix: p("10.0.0.0/24")},
		{PathID: 7, Labels: []nlri.Label{nlri.WithdrawLabel}, RD: rd("65000:1"), Prefix: p("10.0.0.0/24")},
		{RD: rd("65000:1"), Prefix: p("10.0.0.77/24")},
	}
	differ := []nlri.VPN{
		{RD: rd("65000:2"), Prefix: p("10.0.0.0/24")},
		{RD: rd("1:65000"), Prefix: p("10.0.0.0/24")},
		{RD: nlri.NewRD(2, [6]byte{0, 0, 0xfd, 0xe8, 0, 1}), Prefix: p("10.0.0.0/24")}, // type 2 65000:1
		{RD: rd("65000:1"), Prefix: p("10.0.0.0/25")},
		{RD: rd("65000:1"), Prefix: p("10.0.1.0/24")},
	}
	k := v4(base)
	for _, v := range same {
		if v4(v) != k {
			t.Errorf("%s: key %s, want the key of %s", v, v4(v), base)
		}
	}
	for _, v := range differ {
		if v4(v) == k {
			t.Errorf("%s has the key of %s", v, base)
		}
	}
}

func TestEVPN(t *testing.T) {
	r1, r2 := rd("65000:1"), rd("192.0.2.1:100")
	esi := nlri.ESI{0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99}
	esi2 := nlri.ESI{3, 1, 2, 3, 4, 5, 6, 0, 0, 1}
	mac := nlri.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	ip4, ip6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	l1, l2 := nlri.NewLabel(100, true), nlri.NewLabel(5000, true)
	tests := []struct {
		in   nlri.EVPN // as sent, non-key fields set
		key  nlri.EVPN // in with only the key fields
		want string
	}{
		{nlri.EthernetAD{PathID: 3, RD: r1, ESI: esi, EthernetTag: 0xffffffff, Label: l1},
			nlri.EthernetAD{RD: r1, ESI: esi, EthernetTag: 0xffffffff},
			"[1]:[65000:1]:[00:11:22:33:44:55:66:77:88:99]:[4294967295]"},
		{nlri.MACIP{RD: r1, ESI: esi, EthernetTag: 0, MAC: mac, IP: ip4, Labels: []nlri.Label{l1, l2}},
			nlri.MACIP{RD: r1, MAC: mac, IP: ip4},
			"[2]:[65000:1]:[0]:[48]:[aa:bb:cc:dd:ee:ff]:[32]:[10.0.0.1]"},
		{nlri.MACIP{RD: r2, EthernetTag: 10, MAC: mac, IP: ip6, Labels: []nlri.Label{l1}},
			nlri.MACIP{RD: r2, EthernetTag: 10, MAC: mac, IP: ip6},
			"[2]:[192.0.2.1:100]:[10]:[48]:[aa:bb:cc:dd:ee:ff]:[128]:[2001:db8::1]"},
		{nlri.MACIP{RD: r1, ESI: esi2, EthernetTag: 10, MAC: mac, Labels: []nlri.Label{l1}},
			nlri.MACIP{RD: r1, EthernetTag: 10, MAC: mac},
			"[2]:[65000:1]:[10]:[48]:[aa:bb:cc:dd:ee:ff]"},
		{nlri.InclusiveMulticast{PathID: 1, RD: r2, EthernetTag: 100, OriginatorIP: ip4},
			nlri.InclusiveMulticast{RD: r2, EthernetTag: 100, OriginatorIP: ip4},
			"[3]:[192.0.2.1:100]:[100]:[32]:[10.0.0.1]"},
		{nlri.InclusiveMulticast{RD: r1, OriginatorIP: ip6},
			nlri.InclusiveMulticast{RD: r1, OriginatorIP: ip6},
			"[3]:[65000:1]:[0]:[128]:[2001:db8::1]"},
		{nlri.EthernetSegment{RD: r1, ESI: esi2, OriginatorIP: ip4},
			nlri.EthernetSegment{RD: r1, ESI: esi2, OriginatorIP: ip4},
			"[4]:[65000:1]:[03:01:02:03:04:05:06:00:00:01]:[32]:[10.0.0.1]"},
		{nlri.EthernetSegment{RD: r1, ESI: esi, OriginatorIP: ip6},
			nlri.EthernetSegment{RD: r1, ESI: esi, OriginatorIP: ip6},
			"[4]:[65000:1]:[00:11:22:33:44:55:66:77:88:99]:[128]:[2001:db8::1]"},
		{nlri.IPPrefix{RD: r1, ESI: esi, EthernetTag: 0, Prefix: netip.MustParsePrefix("10.1.1.0/24"),
			Gateway: netip.MustParseAddr("10.1.1.1"), Label: l2},
			nlri.IPPrefix{RD: r1, Prefix: netip.MustParsePrefix("10.1.1.0/24")},
			"[5]:[65000:1]:[0]:[24]:[10.1.1.0]"},
		{nlri.IPPrefix{RD: r1, EthernetTag: 7, Prefix: netip.MustParsePrefix("10.1.1.9/24"), Label: l2}, // host bits
			nlri.IPPrefix{RD: r1, EthernetTag: 7, Prefix: netip.MustParsePrefix("10.1.1.0/24")},
			"[5]:[65000:1]:[7]:[24]:[10.1.1.0]"},
		{nlri.IPPrefix{RD: r2, Prefix: netip.MustParsePrefix("2001:db8:1::/48"), Label: l2},
			nlri.IPPrefix{RD: r2, Prefix: netip.MustParsePrefix("2001:db8:1::/48")},
			"[5]:[192.0.2.1:100]:[0]:[48]:[2001:db8:1::]"},
		{nlri.IPPrefix{RD: r2, Prefix: netip.MustParsePrefix("0.0.0.0/0"), Label: l2},
			nlri.IPPrefix{RD: r2, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
			"[5]:[192.0.2.1:100]:[0]:[0]:[0.0.0.0]"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			for _, addPath := range []bool{false, true} {
				got, err := nlri.Decode(nlri.L2VPNEVPN, tc.in.AppendTo(nil, addPath), addPath)
				if err != nil || len(got) != 1 {
					t.Fatalf("decoding %s: %v (%d routes)", tc.in, err, len(got))
				}
				k, ok := EVPNFrom(got[0].(nlri.EVPN))
				if !ok {
					t.Fatalf("EVPNFrom refused %s", got[0])
				}
				if k.String() != tc.want {
					t.Errorf("String %q, want %q", k, tc.want)
				}
				if k.String() != tc.key.String() {
					t.Errorf("String %q, nlri writes %q", k, tc.key)
				}
				if diff := cmp.Diff(tc.key, k.NLRI(), cmpAddrs); diff != "" {
					t.Errorf("NLRI (-want +got):\n%s", diff)
				}
				if k2, _ := EVPNFrom(k.NLRI()); k2 != k {
					t.Errorf("key of NLRI() %s, want %s", k2, k)
				}
				if k.RouteType() != tc.in.RouteType() {
					t.Errorf("RouteType %v, want %v", k.RouteType(), tc.in.RouteType())
				}
			}
		})
	}
}

// TestEVPNAccessors checks the per-field accessors against the route.
func TestEVPNAccessors(t *testing.T) {
	r := rd("65000:1")
	esi := nlri.ESI{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	mac := nlri.MAC{2, 0, 0, 0, 0, 1}
	ip := netip.MustParseAddr("192.0.2.7")
	type fields struct {
		Type iana.EVPNRouteType
		RD   nlri.RD
		Tag  uint32
		ESI  nlri.ESI
		MAC  nlri.MAC
		IP   netip.Addr
		Pfx  netip.Prefix
	}
	tests := []struct {
		in   nlri.EVPN
		want fields
	}{
		{nlri.EthernetAD{RD: r, ESI: esi, EthernetTag: 5}, fields{Type: 1, RD: r, Tag: 5, ESI: esi}},
		{nlri.MACIP{RD: r, ESI: esi, EthernetTag: 6, MAC: mac, IP: ip}, fields{Type: 2, RD: r, Tag: 6, MAC: mac, IP: ip}},
		{nlri.InclusiveMulticast{RD: r, EthernetTag: 7, OriginatorIP: ip}, fields{Type: 3, RD: r, Tag: 7, IP: ip}},
		{nlri.EthernetSegment{RD: r, ESI: esi, OriginatorIP: ip}, fields{Type: 4, RD: r, ESI: esi, IP: ip}},
		{nlri.IPPrefix{RD: r, ESI: esi, EthernetTag: 8, Prefix: netip.MustParsePrefix("2001:db8::/64")},
			fields{Type: 5, RD: r, Tag: 8, Pfx: netip.MustParsePrefix("2001:db8::/64")}},
	}
	for _, tc := range tests {
		t.Run(tc.in.String(), func(t *testing.T) {
			k, ok := EVPNFrom(tc.in)
			if !ok {
				t.Fatal("refused")
			}
			got := fields{k.RouteType(), k.RD(), k.EthernetTag(), k.ESI(), k.MAC(), k.IP(), k.Prefix()}
			if diff := cmp.Diff(tc.want, got, cmpAddrs); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEVPNKeyIdentity: routes that differ only in what RFC 7432 and
// RFC 9136 call route attributes share a key; a difference in any key
// field gives another key.
func TestEVPNKeyIdentity(t *testing.T) {
	r1 := rd("65000:1")
	esi := nlri.ESI{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	esi2 := nlri.ESI{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	mac := nlri.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	ip4 := netip.MustParseAddr("10.0.0.1")
	l := func(vs ...uint32) []nlri.Label {
		var ls []nlri.Label
		for i, v := range vs {
			ls = append(ls, nlri.NewLabel(v, i == len(vs)-1))
		}
		return ls
	}
	pfx := netip.MustParsePrefix
	tests := []struct {
		name string
		a, b nlri.EVPN
		same bool
	}{
		{"type 1 label", nlri.EthernetAD{RD: r1, ESI: esi, Label: l(1)[0]}, nlri.EthernetAD{PathID: 9, RD: r1, ESI: esi, Label: l(2)[0]}, true},
		{"type 1 ESI", nlri.EthernetAD{RD: r1, ESI: esi}, nlri.EthernetAD{RD: r1, ESI: esi2}, false},
		{"type 1 tag", nlri.EthernetAD{RD: r1, ESI: esi}, nlri.EthernetAD{RD: r1, ESI: esi, EthernetTag: 1}, false},
		{"type 2 labels", nlri.MACIP{RD: r1, MAC: mac, IP: ip4, Labels: l(100)}, nlri.MACIP{RD: r1, MAC: mac, IP: ip4, Labels: l(100, 5000)}, true},
		{"type 2 ESI", nlri.MACIP{RD: r1, ESI: esi, MAC: mac, IP: ip4, Labels: l(100)}, nlri.MACIP{RD: r1, ESI: esi2, MAC: mac, IP: ip4, Labels: l(200)}, true},
		{"type 2 RD", nlri.MACIP{RD: r1, MAC: mac}, nlri.MACIP{RD: rd("65000:2"), MAC: mac}, false},
		{"type 2 tag", nlri.MACIP{RD: r1, MAC: mac}, nlri.MACIP{RD: r1, EthernetTag: 1, MAC: mac}, false},
		{"type 2 MAC", nlri.MACIP{RD: r1, MAC: mac}, nlri.MACIP{RD: r1, MAC: nlri.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xfe}}, false},
		{"type 2 with and without IP", nlri.MACIP{RD: r1, MAC: mac}, nlri.MACIP{RD: r1, MAC: mac, IP: ip4}, false},
		{"type 2 IPv4 and IPv4-mapped", nlri.MACIP{RD: r1, MAC: mac, IP: ip4}, nlri.MACIP{RD: r1, MAC: mac, IP: netip.AddrFrom16(ip4.As16())}, false},
		{"type 2 IP 0.0.0.0 is an IP", nlri.MACIP{RD: r1, MAC: mac}, nlri.MACIP{RD: r1, MAC: mac, IP: netip.IPv4Unspecified()}, false},
		{"type 3 originator", nlri.InclusiveMulticast{RD: r1, OriginatorIP: ip4}, nlri.InclusiveMulticast{RD: r1, OriginatorIP: netip.MustParseAddr("10.0.0.2")}, false},
		{"type 3 path ID", nlri.InclusiveMulticast{RD: r1, OriginatorIP: ip4}, nlri.InclusiveMulticast{PathID: 4, RD: r1, OriginatorIP: ip4}, true},
		{"type 4 ESI", nlri.EthernetSegment{RD: r1, ESI: esi, OriginatorIP: ip4}, nlri.EthernetSegment{RD: r1, ESI: esi2, OriginatorIP: ip4}, false},
		{"type 5 ESI gateway label", nlri.IPPrefix{RD: r1, ESI: esi, Prefix: pfx("10.1.0.0/16"), Gateway: ip4, Label: l(1)[0]},
			nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.0.0/16"), Label: l(2)[0]}, true},
		{"type 5 host bits", nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.0.0/16")}, nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.2.3/16")}, true},
		{"type 5 length", nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.0.0/16")}, nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.0.0/17")}, false},
		{"type 5 tag", nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.0.0/16")}, nlri.IPPrefix{RD: r1, EthernetTag: 1, Prefix: pfx("10.1.0.0/16")}, false},
		{"type 5 IPv4 and IPv6 of equal octets", nlri.IPPrefix{RD: r1, Prefix: pfx("10.1.0.0/16")}, nlri.IPPrefix{RD: r1, Prefix: pfx("a01::/16")}, false},
		// Two types whose key fields have the same octets.
		{"type 1 and type 4", nlri.EthernetAD{RD: r1, ESI: esi}, nlri.EthernetSegment{RD: r1, ESI: esi, OriginatorIP: ip4}, false},
		{"type 3 and type 5", nlri.InclusiveMulticast{RD: r1, OriginatorIP: ip4}, nlri.IPPrefix{RD: r1, Prefix: pfx("10.0.0.1/32")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, oka := EVPNFrom(tc.a)
			kb, okb := EVPNFrom(tc.b)
			if !oka || !okb {
				t.Fatalf("refused: %v %v", oka, okb)
			}
			if (ka == kb) != tc.same {
				t.Errorf("%s and %s: same key %v, want %v", tc.a, tc.b, ka == kb, tc.same)
			}
		})
	}
}

func TestEVPNRefused(t *testing.T) {
	tests := []struct {
		name string
		in   nlri.EVPN
	}{
		{"unknown type", nlri.EVPNUnknown{Type: 6, Data: []byte{1, 2, 3}}},
		{"type 3 without originator", nlri.InclusiveMulticast{RD: rd("1:1")}},
		{"type 4 without originator", nlri.EthernetSegment{RD: rd("1:1")}},
		{"type 5 without prefix", nlri.IPPrefix{RD: rd("1:1")}},
		{"zone", nlri.InclusiveMulticast{RD: rd("1:1"), OriginatorIP: netip.MustParseAddr("fe80::1%eth0")}},
		{"pointer", &nlri.MACIP{RD: rd("1:1")}},
		{"nil", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if k, ok := EVPNFrom(tc.in); ok {
				t.Errorf("made key %s", k)
			}
		})
	}
	if s := (EVPN{}).String(); s != "[0]:[invalid EVPN key]" {
		t.Errorf("zero key prints %q", s)
	}
	if (EVPN{}).NLRI() != nil {
		t.Error("zero key has a route")
	}
}

// exerciseLocRIB runs keys through a LocRIB[K]: two sources, ADD-PATH on
// the first key, Update, Lookup, Drain, Withdraw and WithdrawSource.
func exerciseLocRIB[K Key](t *testing.T, keys []K) {
	t.Helper()
	tb := NewTable()
	r := NewLocRIB[K](tb, NewOptions())
	a := r.AddSource(&Source{Addr: netip.MustParseAddr("192.0.2.1"), RouterID: netip.MustParseAddr("10.0.0.1"), AS: 65001})
	b := r.AddSource(&Source{Addr: netip.MustParseAddr("192.0.2.2"), RouterID: netip.MustParseAddr("10.0.0.2"), AS: 65001})
	set, _ := tb.Intern(attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001}}}},
	}, nil)
	for _, k := range keys {
		for range 2 { // the second is the same path again: no change
			if err := r.Update(a, 0, k, set); err != nil {
				t.Fatal(err)
			}
		}
	}
	for id := uint32(1); id <= 2; id++ { // ADD-PATH: two paths from b
		if err := r.Update(b, id, keys[0], set); err != nil {
			t.Fatal(err)
		}
	}
	if r.Len() != len(keys) {
		t.Fatalf("Len %d, want %d", r.Len(), len(keys))
	}
	drain := func() map[K]string {
		got := map[K]string{}
		r.Drain(func(k K, best *Path, mp []*Path) {
			if _, dup := got[k]; dup {
				t.Errorf("%s drained twice", k)
			}
			got[k] = "withdrawn"
			if best != nil {
				got[k] = fmt.Sprintf("%s#%d/%d", best.Source.Addr, best.PathID, len(mp))
			}
		})
		return got
	}
	want := map[K]string{}
	for _, k := range keys {
		want[k] = "192.0.2.1#0/1"
	}
	want[keys[0]] = "192.0.2.1#0/3"
	if diff := cmp.Diff(want, drain()); diff != "" {
		t.Errorf("first drain (-want +got):\n%s", diff)
	}
	if ps, sel := r.Lookup(keys[0]); len(ps) != 3 || sel != 3 {
		t.Errorf("Lookup %s: %d paths, %d selected; want 3, 3", keys[0], len(ps), sel)
	}
	if !r.Withdraw(a, 0, keys[0]) || r.Withdraw(a, 0, keys[0]) {
		t.Error("Withdraw: want true, then false")
	}
	if diff := cmp.Diff(map[K]string{keys[0]: "192.0.2.2#1/2"}, drain()); diff != "" {
		t.Errorf("after withdrawing a's path (-want +got):\n%s", diff)
	}
	r.Withdraw(b, 1, keys[0])
	r.Withdraw(b, 2, keys[0])
	if diff := cmp.Diff(map[K]string{keys[0]: "withdrawn"}, drain()); diff != "" {
		t.Errorf("after withdrawing b's paths (-want +got):\n%s", diff)
	}
	if ps, _ := r.Lookup(keys[0]); len(ps) != 0 {
		t.Errorf("%s still has %d paths", keys[0], len(ps))
	}
	if n := r.WithdrawSource(a); n != len(keys)-1 {
		t.Errorf("WithdrawSource removed %d paths, want %d", n, len(keys)-1)
	}
	if got := drain(); len(got) != len(keys)-1 {
		t.Errorf("%d withdrawals drained, want %d", len(got), len(keys)-1)
	}
	if r.Len() != 0 || r.idx.count != 0 {
		t.Errorf("after withdrawing everything: Len %d, index %d", r.Len(), r.idx.count)
	}
	tb.Release(set)
	if tb.Len() != 0 {
		t.Error("attribute set still interned")
	}
}

func TestLocRIBVPN4(t *testing.T) {
	var keys []VPN4
	for _, rd := range []string{"65000:1", "65000:2", "192.0.2.1:1"} {
		for _, p := range []string{"10.0.0.0/24", "10.0.0.0/25", "10.0.1.0/24", "0.0.0.0/0", "192.0.2.1/32"} {
			keys = append(keys, MustVPN4(rd, p))
		}
	}
	exerciseLocRIB(t, keys)
}

func TestLocRIBVPN6(t *testing.T) {
	var keys []VPN6
	for _, rd := range []string{"65000:1", "65000:2", "192.0.2.1:1"} {
		for _, p := range []string{"2001:db8::/32", "2001:db8::/48", "2001:db8:1::/48", "::/0", "2001:db8::1/128"} {
			keys = append(keys, MustVPN6(rd, p))
		}
	}
	exerciseLocRIB(t, keys)
}

func TestLocRIBEVPN(t *testing.T) {
	r := rd("192.0.2.1:100")
	ip := netip.MustParseAddr("192.0.2.1")
	routes := []nlri.EVPN{
		nlri.MACIP{RD: r, MAC: nlri.MAC{2, 0, 0, 0, 0, 1}},
		nlri.MACIP{RD: r, MAC: nlri.MAC{2, 0, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.1")},
		nlri.MACIP{RD: r, MAC: nlri.MAC{2, 0, 0, 0, 0, 2}},
		nlri.EthernetAD{RD: r, ESI: nlri.ESI{0, 1}, EthernetTag: 0xffffffff},
		nlri.InclusiveMulticast{RD: r, OriginatorIP: ip},
		nlri.EthernetSegment{RD: r, ESI: nlri.ESI{0, 1}, OriginatorIP: ip},
		nlri.IPPrefix{RD: r, Prefix: netip.MustParsePrefix("10.0.0.0/24")},
		nlri.IPPrefix{RD: r, Prefix: netip.MustParsePrefix("2001:db8::/64")},
	}
	var keys []EVPN
	for _, rt := range routes {
		k, ok := EVPNFrom(rt)
		if !ok {
			t.Fatalf("%s refused", rt)
		}
		keys = append(keys, k)
	}
	exerciseLocRIB(t, keys)
}

// pointerFree reports whether a value of type t holds no pointers, so a
// slice of them is never scanned by the garbage collector.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// TestKeyLayout pins each key's size and its LocRIB entry's, and checks
// that keys are comparable and pointer-free (run with -v for the table).
func TestKeyLayout(t *testing.T) {
	tests := []struct {
		name        string
		key, entry  reflect.Type
		size, esize uintptr
	}{
		{"Prefix4", reflect.TypeFor[Prefix4](), reflect.TypeFor[entry[Prefix4]](), 8, 16},
		{"Prefix6", reflect.TypeFor[Prefix6](), reflect.TypeFor[entry[Prefix6]](), 17, 28},
		{"VPN4", reflect.TypeFor[VPN4](), reflect.TypeFor[entry[VPN4]](), 16, 24},
		{"VPN6", reflect.TypeFor[VPN6](), reflect.TypeFor[entry[VPN6]](), 25, 36},
		{"EVPN", reflect.TypeFor[EVPN](), reflect.TypeFor[entry[EVPN]](), 36, 44},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("%-8s key %2d bytes, entry %2d bytes", tc.name, tc.key.Size(), tc.entry.Size())
			if tc.key.Size() != tc.size || tc.entry.Size() != tc.esize {
				t.Errorf("key %d bytes, entry %d; want %d and %d", tc.key.Size(), tc.entry.Size(), tc.size, tc.esize)
			}
			if !tc.key.Comparable() {
				t.Error("not comparable")
			}
			if !pointerFree(tc.key) || !pointerFree(tc.entry) {
				t.Error("holds pointers")
			}
		})
	}
	// The path record: 16 bytes and pointer-free (locrib.go's header).
	if rec := reflect.TypeFor[pathRec](); rec.Size() != 16 || !pointerFree(rec) {
		t.Errorf("path record %d bytes (pointer-free: %v), want 16 and no pointers", rec.Size(), pointerFree(rec))
	}
	// unsafe.Sizeof agrees with reflect; keep one use so the two can't drift.
	if unsafe.Sizeof(EVPN{}) != evpnKeyLen || unsafe.Sizeof(VPN4{}) != 16 {
		t.Error("unsafe.Sizeof disagrees")
	}
}

// keySets are structured key sets of n keys each, shaped like real tables:
// many prefixes under one RD, one prefix under many RDs, consecutive MACs.
func keySets(n int) (vpn4 map[string][]VPN4, vpn6 map[string][]VPN6, evpn map[string][]EVPN) {
	rdOf := func(i int) nlri.RD {
		var v [6]byte
		binary.BigEndian.PutUint16(v[:], 65000)
		binary.BigEndian.PutUint32(v[2:], uint32(i))
		return nlri.NewRD(0, v)
	}
	vpn4 = map[string][]VPN4{}
	vpn6 = map[string][]VPN6{}
	evpn = map[string][]EVPN{}
	for i := range n {
		vpn4["one RD, consecutive /24s"] = append(vpn4["one RD, consecutive /24s"], MakeVPN4(rdOf(1), MakePrefix4(0x0a000000+uint32(i)<<8, 24)))
		vpn4["one /24, consecutive RDs"] = append(vpn4["one /24, consecutive RDs"], MakeVPN4(rdOf(i), MakePrefix4(0x0a000000, 24)))
		var a [16]byte
		binary.BigEndian.PutUint64(a[:], 0x20010db800000000|uint64(i))
		p6, _ := Prefix6From(netip.PrefixFrom(netip.AddrFrom16(a), 64))
		vpn6["one RD, consecutive /64s"] = append(vpn6["one RD, consecutive /64s"], MakeVPN6(rdOf(1), p6))
		vpn6["one /64, consecutive RDs"] = append(vpn6["one /64, consecutive RDs"], MakeVPN6(rdOf(i), MustPrefix6("2001:db8::/64")))
		grid := MakeVPN4(rdOf(i>>8), MakePrefix4(0x0a000000+uint32(i&0xff)<<8, 24))
		vpn4["256 RDs x 256 /24s"] = append(vpn4["256 RDs x 256 /24s"], grid)
		vpn6["256 RDs x 256 /64s"] = append(vpn6["256 RDs x 256 /64s"], MakeVPN6(rdOf(i>>8), vpn6["one RD, consecutive /64s"][i&0xff].Prefix6()))
		k, _ := EVPNFrom(nlri.MACIP{RD: rdOf(i >> 8), MAC: nlri.MAC{2, 0, 0, 0, 0, byte(i)}})
		evpn["type 2, 256 RDs x 256 MACs"] = append(evpn["type 2, 256 RDs x 256 MACs"], k)
		mac := nlri.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}
		k, _ = EVPNFrom(nlri.MACIP{RD: rdOf(1), MAC: mac})
		evpn["type 2, consecutive MACs"] = append(evpn["type 2, consecutive MACs"], k)
		k, _ = EVPNFrom(nlri.MACIP{RD: rdOf(1), MAC: nlri.MAC{2, 0, 0, 0, 0, 1},
			IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})})
		evpn["type 2, one MAC, consecutive IPs"] = append(evpn["type 2, one MAC, consecutive IPs"], k)
		k, _ = EVPNFrom(nlri.InclusiveMulticast{RD: rdOf(i), OriginatorIP: netip.MustParseAddr("192.0.2.1")})
		evpn["type 3, consecutive RDs"] = append(evpn["type 3, consecutive RDs"], k)
		k, _ = EVPNFrom(nlri.IPPrefix{RD: rdOf(1), Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)})
		evpn["type 5, consecutive /24s"] = append(evpn["type 5, consecutive /24s"], k)
	}
	return vpn4, vpn6, evpn
}

// checkSpread buckets keys by the top bits of their hash, as the index
// picks home slots, and fails when a bucket is far from the mean; it also
// counts equal 32-bit tags, which cost the index a key comparison.
func checkSpread[K Key](t *testing.T, name string, keys []K) {
	t.Run(name, func(t *testing.T) {
		const logBuckets = 10
		counts := make([]int, 1<<logBuckets)
		tags := make(map[uint64]int, len(keys))
		for _, k := range keys {
			h := k.hash()
			counts[h>>(64-logBuckets)]++
			tags[h>>32]++
		}
		mean := len(keys) >> logBuckets
		lo, hi := len(keys), 0
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		if lo < mean/4 || hi > mean*5/2 {
			t.Errorf("bucket loads %d to %d, mean %d", lo, hi, mean)
		}
		if dup := len(keys) - len(tags); dup > 8 {
			t.Errorf("%d equal tags among %d keys", dup, len(keys))
		}
	})
}

// checkAvalanche flips each bit of random keys and counts how many of the
// hash's top 32 bits (the index's tag) change: about 16 for every input
// bit, or keys that differ only there crowd together.
func checkAvalanche[K Key](t *testing.T, name string, gen func(*rand.Rand) K) {
	t.Run(name, func(t *testing.T) {
		const samples = 200
		rng := rand.New(rand.NewPCG(7432, 9136))
		var k K
		size := int(unsafe.Sizeof(k))
		flips := make([]int, size*8)
		for range samples {
			k = gen(rng)
			h := k.hash() >> 32
			for bit := range flips {
				k2 := k
				b := unsafe.Slice((*byte)(unsafe.Pointer(&k2)), size)
				b[bit/8] ^= 1 << (bit % 8)
				flips[bit] += bits.OnesCount64(k2.hash()>>32 ^ h)
			}
		}
		for bit, n := range flips {
			if avg := float64(n) / samples; avg < 13 || avg > 19 {
				t.Errorf("input bit %d changes %.1f of the top 32 hash bits on average, want about 16", bit, avg)
			}
		}
	})
}

func TestKeyHash(t *testing.T) {
	vpn4, vpn6, evpn := keySets(1 << 16)
	for name, keys := range vpn4 {
		checkSpread(t, "VPN4/"+name, keys)
	}
	for name, keys := range vpn6 {
		checkSpread(t, "VPN6/"+name, keys)
	}
	for name, keys := range evpn {
		checkSpread(t, "EVPN/"+name, keys)
	}
	randBytes := func(rng *rand.Rand, b []byte) {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	checkAvalanche(t, "VPN4", func(rng *rand.Rand) VPN4 { return VPN4{rd: rng.Uint64(), p: Prefix4(rng.Uint64())} })
	checkAvalanche(t, "VPN6", func(rng *rand.Rand) (k VPN6) { randBytes(rng, k[:]); return k })
	checkAvalanche(t, "EVPN", func(rng *rand.Rand) (k EVPN) { randBytes(rng, k[:]); return k })
}

func benchHash[K Key](b *testing.B, keys []K) {
	var sink uint64
	i := 0
	for b.Loop() {
		sink += keys[i&(len(keys)-1)].hash()
		i++
	}
	runtime.KeepAlive(sink)
}

func BenchmarkKeyHash(b *testing.B) {
	vpn4, vpn6, evpn := keySets(1 << 10)
	p6 := make([]Prefix6, 1<<10)
	for i := range p6 {
		p6[i] = vpn6["one RD, consecutive /64s"][i].Prefix6()
	}
	b.Run("Prefix4", func(b *testing.B) { benchHash(b, benchKeys(1<<10)) })
	b.Run("Prefix6", func(b *testing.B) { benchHash(b, p6) })
	b.Run("VPN4", func(b *testing.B) { benchHash(b, vpn4["one RD, consecutive /24s"]) })
	b.Run("VPN6", func(b *testing.B) { benchHash(b, vpn6["one RD, consecutive /64s"]) })
	b.Run("EVPN", func(b *testing.B) { benchHash(b, evpn["type 2, consecutive MACs"]) })
}

// benchLocRIBKeys inserts keys from one source, drains, and reports the
// time and the table's memory per route (without the attribute sets; see
// reportMemory).
func benchLocRIBKeys[K Key](b *testing.B, keys []K) {
	tb := NewTable()
	sets := benchAttrs(tb, 65001, len(keys)/prefixesPerAttrs+1)
	base := heapAlloc()
	mapped := offheap.Mapped()
	var r *LocRIB[K]
	for b.Loop() {
		if r != nil {
			r.Close()
		}
		r = NewLocRIB[K](tb, NewOptions())
		src := r.AddSource(&Source{Addr: netip.MustParseAddr("192.0.2.1"), RouterID: netip.MustParseAddr("10.0.0.1"), AS: 65001})
		for i, k := range keys {
			if err := r.Update(src, 0, k, sets[i/prefixesPerAttrs]); err != nil {
				b.Fatal(err)
			}
		}
		r.Drain(func(K, *Path, []*Path) {})
	}
	b.StopTimer()
	if r.Len() != len(keys) {
		b.Fatalf("Len %d, want %d", r.Len(), len(keys))
	}
	after := heapAlloc()
	mapped = offheap.Mapped() - mapped
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/route")
	reportMemory(b, "route", len(keys), after-base, mapped)
	r.Close()
}

// BenchmarkLocRIBKeys: 100k routes of each key type into one table; the
// key size shows in table-B/route.
func BenchmarkLocRIBKeys(b *testing.B) {
	const n = 100_000
	p4 := benchKeys(n)
	v4, v6, p6 := make([]VPN4, n), make([]VPN6, n), make([]Prefix6, n)
	e := make([]EVPN, n)
	for i, k := range p4 {
		r := nlri.NewRD(0, [6]byte{0xfd, 0xe8, 0, 0, 0, byte(i % 16)}) // 16 VRFs
		v4[i] = MakeVPN4(r, k)
		var a [16]byte
		binary.BigEndian.PutUint64(a[:], 0x20010db800000000|uint64(i))
		p6[i], _ = Prefix6From(netip.PrefixFrom(netip.AddrFrom16(a), 64))
		v6[i] = MakeVPN6(r, p6[i])
		e[i], _ = EVPNFrom(nlri.MACIP{RD: r, MAC: nlri.MAC{2, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}})
	}
	b.Run("Prefix4", func(b *testing.B) { benchLocRIBKeys(b, p4) })
	b.Run("Prefix6", func(b *testing.B) { benchLocRIBKeys(b, p6) })
	b.Run("VPN4", func(b *testing.B) { benchLocRIBKeys(b, v4) })
	b.Run("VPN6", func(b *testing.B) { benchLocRIBKeys(b, v6) })
	b.Run("EVPN", func(b *testing.B) { benchLocRIBKeys(b, e) })
}
