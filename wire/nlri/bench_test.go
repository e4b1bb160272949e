package nlri

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// vpnField is an MP_REACH NLRI field of n VPNv4 routes: /24s under one RD
// per 50 routes, one label each, as a gateway sends them.
func vpnField(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		var rd RD
		binary.BigEndian.PutUint16(rd[2:], 65000)
		binary.BigEndian.PutUint32(rd[4:], uint32(i/50))
		v := VPN{
			Labels: []Label{NewLabel(uint32(16+i), true)},
			RD:     rd,
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
		}
		b = v.AppendTo(b, false)
	}
	return b
}

func BenchmarkDecodeVPN(b *testing.B) {
	buf := vpnField(500)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		ns, err := Decode(IPv4VPN, buf, false)
		if err != nil || len(ns) != 500 {
			b.Fatal(len(ns), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/prefix")
}

// BenchmarkDecodeVPNReuse is the typed path a RIB would use on its hot path:
// DecodeVPN into a reused slice, one allocation (the label array) per field.
func BenchmarkDecodeVPNReuse(b *testing.B) {
	buf := vpnField(500)
	var dst []VPN
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		var err error
		dst, err = DecodeVPN(dst[:0], buf, iana.AFIIPv4, false)
		if err != nil || len(dst) != 500 {
			b.Fatal(len(dst), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/prefix")
}

func BenchmarkAppendVPN(b *testing.B) {
	ns, err := Decode(IPv4VPN, vpnField(500), false)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		out = Append(out[:0], ns, false)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/prefix")
}

func BenchmarkDecodeEVPN(b *testing.B) {
	var buf []byte
	for i := 0; i < 500; i++ {
		r := MACIP{RD: NewRD(1, [6]byte{192, 0, 2, 1, 0, 1}), EthernetTag: uint32(i % 10),
			MAC:    MAC{2, 0, 0, 0, byte(i >> 8), byte(i)},
			IP:     netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			Labels: []Label{Label(10100)}}
		buf = r.AppendTo(buf, false)
	}
	b.ReportAllocs()
	for b.Loop() {
		ns, err := Decode(L2VPNEVPN, buf, false)
		if err != nil || len(ns) != 500 {
			b.Fatal(len(ns), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/prefix")
}
