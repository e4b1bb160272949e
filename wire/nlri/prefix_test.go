package nlri

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

func TestIterRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		afi     iana.AFI
		addPath bool
		in      []Prefix
	}{
		{"ipv4", iana.AFIIPv4, false, []Prefix{
			{Prefix: netip.MustParsePrefix("10.0.0.0/8")},
			{Prefix: netip.MustParsePrefix("192.0.2.0/24")},
			{Prefix: netip.MustParsePrefix("0.0.0.0/0")},
			{Prefix: netip.MustParsePrefix("198.51.100.7/32")},
		}},
		{"ipv4 add-path", iana.AFIIPv4, true, []Prefix{
			{Prefix: netip.MustParsePrefix("10.1.0.0/16"), PathID: 1},
			{Prefix: netip.MustParsePrefix("10.1.0.0/16"), PathID: 0xfffffffe},
		}},
		{"ipv6", iana.AFIIPv6, false, []Prefix{
			{Prefix: netip.MustParsePrefix("2001:db8::/32")},
			{Prefix: netip.MustParsePrefix("2001:db8:1:2::/64")},
			{Prefix: netip.MustParsePrefix("::/0")},
			{Prefix: netip.MustParsePrefix("2001:db8::1/128")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			for _, p := range tt.in {
				b = p.AppendTo(b, tt.addPath)
			}
			it := NewIter(b, tt.afi, tt.addPath)
			var got []Prefix
			for it.Next() {
				got = append(got, it.Prefix())
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.in) {
				t.Fatalf("got %d prefixes, want %d", len(got), len(tt.in))
			}
			for i := range got {
				if got[i] != tt.in[i] {
					t.Errorf("prefix %d: got %v, want %v", i, got[i], tt.in[i])
				}
			}
			n, err := Count(b, tt.afi, tt.addPath)
			if err != nil || n != len(tt.in) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(tt.in))
			}
		})
	}
}

func TestIterHostBitsKept(t *testing.T) {
	b := []byte{23, 10, 0, 3} // 10.0.3.0/23: the last bit is past the length
	it := NewIter(b, iana.AFIIPv4, false)
	if !it.Next() {
		t.Fatal(it.Err())
	}
	if got := it.Prefix().AppendTo(nil, false); !bytes.Equal(got, b) {
		t.Errorf("re-encoded %x, want %x", got, b)
	}
}

func TestIterMalformed(t *testing.T) {
	tests := []struct {
		name    string
		afi     iana.AFI
		addPath bool
		b       []byte
		good    int
	}{
		{"length too long v4", iana.AFIIPv4, false, []byte{33, 1, 2, 3, 4, 5}, 0},
		{"length too long v6", iana.AFIIPv6, false, []byte{129}, 0},
		{"truncated", iana.AFIIPv4, false, []byte{8, 10, 24, 192, 0}, 1},
		{"add-path truncated", iana.AFIIPv4, true, []byte{0, 0, 0, 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := NewIter(tt.b, tt.afi, tt.addPath)
			n := 0
			for it.Next() {
				n++
			}
			if n != tt.good {
				t.Errorf("read %d good prefixes, want %d", n, tt.good)
			}
			f := it.Fault()
			if f == nil {
				t.Fatal("no fault")
			}
			if f.Code != iana.NotifUpdateMessage || f.Subcode != uint8(iana.UpdateInvalidNetworkField) || f.Action != fault.SessionReset {
				t.Errorf("fault %v", f)
			}
			if _, err := Count(tt.b, tt.afi, tt.addPath); err == nil {
				t.Error("Count accepted malformed NLRI")
			}
		})
	}
}

func TestFamilyNames(t *testing.T) {
	for _, n := range familyNames {
		f, err := ParseFamily(n.f.String())
		if err != nil || f != n.f {
			t.Errorf("%s: round trip gave %v, %v", n.name, f, err)
		}
	}
	if f, err := ParseFamily("afi-16388/safi-71"); err != nil || f != (Family{iana.AFIBGPLS, iana.SAFIBGPLS}) {
		t.Errorf("numeric family: %v %v", f, err)
	}
	if _, err := ParseFamily("ipv5-unicast"); err == nil {
		t.Error("accepted ipv5-unicast")
	}
	if !NewAddPath(IPv4Unicast).Has(IPv4Unicast) || NewAddPath(IPv4Unicast).Has(IPv6Unicast) {
		t.Error("AddPath membership wrong")
	}
}

func BenchmarkIterIPv4(b *testing.B) {
	var buf []byte
	for i := 0; i < 500; i++ {
		buf = AppendPrefix(buf, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24), 0, false)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := NewIter(buf, iana.AFIIPv4, false)
		for it.Next() {
			_ = it.Prefix()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/prefix")
}
