//go:build linux

package netlink

import (
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/fib"
)

// FuzzDecode feeds the route and link decoders what a hostile or broken
// kernel reply could hold: they must return an error or a route, never
// panic, and a route they accept must encode again.
func FuzzDecode(f *testing.F) {
	for _, r := range []fib.Route{
		{Table: 254, Prefix: netip.MustParsePrefix("10.1.0.0/24"), Metric: 20,
			NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("192.0.2.2"), Ifindex: 3}}},
		{Table: 1000, Prefix: netip.MustParsePrefix("2001:db8::/32"), Metric: 1024,
			NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("2001:db8:1::2"), Ifindex: 3}, {Addr: netip.MustParseAddr("2001:db8:2::2"), Ifindex: 4, Weight: 5}}},
		{Table: 254, Prefix: netip.MustParsePrefix("10.2.0.0/16"), Metric: 20,
			NextHops: []fib.NextHop{{Addr: netip.MustParseAddr("2001:db8:1::2"), Ifindex: 3}}},
		{Table: 254, Prefix: netip.MustParsePrefix("10.9.0.0/16"), Blackhole: true},
	} {
		var e encoder
		e.route(fib.Op{Kind: fib.OpReplace, Route: r}, 200, 1, true)
		f.Add(e.buf[sizeofNlMsghdr:])
	}
	f.Add([]byte{})
	f.Add(make([]byte, 12))
	f.Fuzz(func(t *testing.T, b []byte) {
		if kr, ok, err := decodeRoute(b); err == nil && ok && kr.Prefix.IsValid() && len(kr.NextHops) > 0 {
			var e encoder
			e.route(fib.Op{Kind: fib.OpReplace, Route: kr.Route}, kr.Protocol, 1, false)
		}
		_, _ = decodeLink(b)
	})
}
