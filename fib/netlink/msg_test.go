//go:build linux

package netlink

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/godwit-bgp/godwit/fib"
)

// TestEncodeDecode checks that what the encoder writes reads back as the
// same route (the kernel answers a dump in the same format), for each shape
// of route the reconciler writes.
func TestEncodeDecode(t *testing.T) {
	nh := func(addr string, ifindex, weight int) fib.NextHop {
		var a netip.Addr
		if addr != "" {
			a = netip.MustParseAddr(addr)
		}
		return fib.NextHop{Addr: a, Ifindex: ifindex, Weight: weight}
	}
	tests := []struct {
		name string
		r    fib.Route
	}{
		{"IPv4 one next hop", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.1.0.0/24"), Metric: 20,
			NextHops: []fib.NextHop{nh("192.0.2.2", 3, 1)}}},
		{"IPv4 ECMP with weights", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.1.0.0/24"), Metric: 20,
			NextHops: []fib.NextHop{nh("192.0.2.2", 3, 1), nh("198.51.100.2", 4, 7)}}},
		{"IPv6 ECMP in a table above 255", fib.Route{Table: 1000, Prefix: netip.MustParsePrefix("2001:db8:99::/48"), Metric: 1024,
			NextHops: []fib.NextHop{nh("2001:db8:1::2", 3, 1), nh("2001:db8:2::2", 4, 1)}}},
		{"IPv4 route, IPv6 next hop (RFC 8950)", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.2.0.0/16"), Metric: 20,
			NextHops: []fib.NextHop{nh("2001:db8:1::2", 3, 1)}}},
		{"IPv4 ECMP, one IPv6 next hop", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.2.0.0/16"), Metric: 20,
			NextHops: []fib.NextHop{nh("192.0.2.2", 3, 1), nh("2001:db8:1::2", 3, 1)}}},
		{"device route", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.3.0.0/24"), Metric: 5,
			NextHops: []fib.NextHop{nh("", 3, 1)}}},
		{"default route", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("0.0.0.0/0"), Metric: 20,
			NextHops: []fib.NextHop{nh("192.0.2.2", 3, 1)}}},
		{"blackhole", fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.9.0.0/16"), Metric: 20, Blackhole: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e encoder
			e.route(fib.Op{Kind: fib.OpReplace, Route: tc.r}, 200, 7, true)
			if got := int(ne.Uint32(e.buf)); got != len(e.buf) {
				t.Fatalf("nlmsg_len %d, message is %d bytes", got, len(e.buf))
			}
			if typ, flags := ne.Uint16(e.buf[4:]), ne.Uint16(e.buf[6:]); typ != unix.RTM_NEWROUTE ||
				flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK {
				t.Errorf("type %d flags %#x", typ, flags)
			}
			kr, ok, err := decodeRoute(e.buf[sizeofNlMsghdr:])
			if err != nil || !ok {
				t.Fatalf("decode: ok %v, %v", ok, err)
			}
			wantType := fib.TypeUnicast
			if tc.r.Blackhole {
				wantType = fib.TypeBlackhole
			}
			want := fib.KernelRoute{Route: tc.r.Canonical(), Protocol: 200, Type: wantType}
			if diff := cmp.Diff(want, kr, netipEqual...); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeDelete(t *testing.T) {
	var e encoder
	r := fib.Route{Table: 254, Prefix: netip.MustParsePrefix("10.1.0.0/24"), Metric: 20,
		NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("192.0.2.2"), Weight: 1}}}
	e.route(fib.Op{Kind: fib.OpDelete, Route: r}, 200, 1, false)
	if typ, flags := ne.Uint16(e.buf[4:]), ne.Uint16(e.buf[6:]); typ != unix.RTM_DELROUTE || flags != unix.NLM_F_REQUEST {
		t.Errorf("type %d flags %#x", typ, flags)
	}
	kr, _, err := decodeRoute(e.buf[sizeofNlMsghdr:])
	if err != nil {
		t.Fatal(err)
	}
	// A delete names no next hop (it matches the route whatever its
	// next hops are) and any scope.
	if len(kr.NextHops) != 0 || kr.Protocol != 200 || kr.Metric != 20 || e.buf[sizeofNlMsghdr+6] != unix.RT_SCOPE_NOWHERE {
		t.Errorf("delete decoded as %+v, scope %d", kr, e.buf[sizeofNlMsghdr+6])
	}
}

// netipEqual compares netip values, whose fields are unexported.
var netipEqual = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}
