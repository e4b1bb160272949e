package policy

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// fuzzHeader is the number of octets before the attribute block in a
// FuzzEval input:
//
//	0     flags: 0x01 4-octet AS session, 0x06 route type (0 local, 1 ebgp,
//	      2 or 3 ibgp), 0x08 IPv6, 0x10 no prefix (a VPN route), 0x20 no
//	      next hop (use NEXT_HOP)
//	1     prefix length (modulo the address length plus one)
//	2-5   prefix address octets (IPv4: all four; IPv6: after 2001:db8::/32)
//	6-9   Env.LocalAS
//	10    last octet of the neighbor address (and of the next hop)
//	11-   the path attributes, as in an UPDATE
const fuzzHeader = 11

// routeFromFuzz builds a route from a FuzzEval input, or false when it is
// too short or its attribute block does not decode to anything usable.
func routeFromFuzz(data []byte) (*Route, Env, bool) {
	if len(data) < fuzzHeader {
		return nil, Env{}, false
	}
	h := data[:fuzzHeader]
	opt := attr.Options{AS4: h[0]&0x01 != 0}
	l, _ := attr.Decode(data[fuzzHeader:], opt)
	// Whatever decoded is evaluated, faults or not: a policy must cope with
	// any list the decoder returns.
	r := &Route{Family: nlri.IPv4Unicast, Attrs: l}
	switch h[0] >> 1 & 3 {
	case 0:
		r.Type = Local
	case 1:
		r.Type = EBGP
	default:
		r.Type = IBGP
	}
	if h[0]&0x08 != 0 {
		r.Family = nlri.IPv6Unicast
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		copy(a[4:8], h[2:6])
		r.Prefix, _ = netip.AddrFrom16(a).Prefix(int(h[1]) % 129)
		a[15] = h[10]
		r.Neighbor = netip.AddrFrom16(a)
	} else {
		r.Prefix, _ = netip.AddrFrom4([4]byte(h[2:6])).Prefix(int(h[1]) % 33)
		r.Neighbor = netip.AddrFrom4([4]byte{192, 0, 2, h[10]})
	}
	if h[0]&0x10 != 0 {
		r.Family, r.Prefix = nlri.IPv4VPN, netip.Prefix{}
	}
	if h[0]&0x20 == 0 {
		r.NextHop = r.Neighbor
	}
	if r.Type == Local {
		r.Neighbor = netip.Addr{}
	}
	return r, Env{LocalAS: binary.BigEndian.Uint32(h[6:10])}, true
}

func FuzzEval(f *testing.F) {
	seeds := []struct {
		head  []byte
		attrs string
	}{
		{[]byte{0x03, 24, 192, 0, 2, 0, 0, 0, 0xfd, 0xe8, 1}, "origin igp; aspath 65001 64512 65002; nh 192.0.2.1; comm 65000:666 65001:100 65535:65281; large 65000:0:1; ext rt:65000:1 rt:65000:2"},
		{[]byte{0x03, 16, 10, 1, 0, 0, 0, 0, 0xfd, 0xe8, 1}, "origin incomplete; aspath 3356 {64513,174}; comm 65000:666"},
		{[]byte{0x05, 24, 198, 51, 100, 0, 0xfa, 0x56, 0xea, 0x00, 2}, "origin igp; aspath 64512; lp 50; med 7"},
		{[]byte{0x0b, 48, 0, 1, 0, 0, 0, 0, 0xfd, 0xe8, 9}, "origin egp; aspath (64512 64513) [64514] 65002 65002 65002 65002 65002 65002 65002"},
		{[]byte{0x33, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "origin igp; aspath; nh 203.0.113.9"},
		{[]byte{0x02, 25, 203, 0, 113, 128, 0, 0, 0, 1, 1}, "origin igp; aspath 65002"},
	}
	for _, s := range seeds {
		opt := attr.Options{AS4: s.head[0]&1 != 0}
		b := attr.AppendList(append([]byte(nil), s.head...), attrsOf(f, s.attrs), opt)
		f.Add(b)
	}
	// A 2-octet AS session with AS4_PATH, and some junk.
	f.Add(append([]byte{0x02, 24, 192, 0, 2, 0, 0, 0, 0xfd, 0xe8, 1},
		0x40, 1, 1, 0, 0x40, 2, 4, 2, 1, 0x5b, 0xa0, 0xc0, 17, 6, 2, 1, 0, 1, 0x11, 0x70))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})

	p := policyOf(f, everyAction)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, env, ok := routeFromFuzz(data)
		if !ok {
			return
		}
		before := takeSnapshot(r.Attrs)
		res := p.Eval(r, env)
		tres, tr := p.Trace(r, env)
		if !takeSnapshot(r.Attrs).equal(before) {
			t.Fatalf("Route.Attrs modified")
		}
		if res.Accept != tres.Accept || res.Statement != tres.Statement || res.Changed != tres.Changed ||
			render(res.Attrs) != render(tres.Attrs) || res.NextHop != tres.NextHop {
			t.Fatalf("Eval %+v and Trace %+v differ", res, tres)
		}
		if len(tr) == 0 || len(tr) > len(p.stmts) {
			t.Fatalf("trace of %d statements", len(tr))
		}
		if !res.Accept && (res.Changed || !sameSlice(res.Attrs, r.Attrs)) {
			t.Fatalf("rejected route with changed attributes")
		}
		if !res.Changed {
			if !sameSlice(res.Attrs, r.Attrs) {
				t.Fatalf("unchanged result is a different list")
			}
			return
		}
		if !sortedByCode(res.Attrs) {
			t.Fatalf("changed list not sorted: %s", render(res.Attrs))
		}
		// What the policy built encodes and decodes back (the input was
		// decoded, so only the policy's own values can break this).
		for _, a := range res.Attrs {
			switch v := a.(type) {
			case *attr.Communities:
				if len(v.Values) == 0 {
					t.Fatalf("empty COMMUNITIES")
				}
			case *attr.LargeCommunities:
				if len(v.Values) == 0 {
					t.Fatalf("empty LARGE_COMMUNITY")
				}
			case *attr.ExtCommunities:
				if len(v.Values) == 0 {
					t.Fatalf("empty EXTENDED_COMMUNITIES")
				}
			case *attr.ASPath:
				for _, s := range v.Segments {
					if len(s.ASNs) == 0 || len(s.ASNs) > maxSegment {
						t.Fatalf("segment of %d ASes", len(s.ASNs))
					}
				}
				if len(v.Segments) == 0 {
					continue
				}
				val := v.AppendValue(nil, attr.Options{AS4: true})
				if _, f := attr.DecodeValue(iana.AttrASPath, attr.FlagTransitive, val, attr.Options{AS4: true}); f != nil {
					t.Fatalf("AS_PATH %q does not decode: %v", v, f)
				}
			}
		}
	})
}
