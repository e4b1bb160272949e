package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// routeStrings lists the routes of an iterator as "family route" text.
func routeStrings(seq func(func(Route) bool)) []string {
	var out []string
	for r := range seq {
		out = append(out, r.Family.String()+" "+r.String())
	}
	return out
}

func TestUpdateGolden(t *testing.T) {
	tests := []struct {
		name    string
		reach   []string
		unreach []string
		eor     string
		check   func(t *testing.T, u *Update)
	}{
		{name: "update-ipv4",
			reach: []string{"ipv4-unicast 198.51.100.0/24", "ipv4-unicast 10.1.0.0/16", "ipv4-unicast 0.0.0.0/0"},
			check: func(t *testing.T, u *Update) {
				if o, ok := u.Attrs.Origin(); !ok || o.Value != attr.OriginIGP {
					t.Errorf("origin %v", o)
				}
				if p, ok := u.Attrs.ASPath(); !ok || !slices.Equal(p.Flat(), []uint32{65001, 65002, 65003}) {
					t.Errorf("as path %v", p)
				}
				if nh, ok := u.Attrs.NextHop(); !ok || nh.Addr != netip.MustParseAddr("192.0.2.1") {
					t.Errorf("next hop %v", nh)
				}
				if m, ok := u.Attrs.MED(); !ok || m.Value != 100 {
					t.Errorf("med %v", m)
				}
				if lp, ok := u.Attrs.LocalPref(); !ok || lp.Value != 200 {
					t.Errorf("local pref %v", lp)
				}
				if c, ok := u.Attrs.Communities(); !ok || !slices.Equal(c.Values, []uint32{65000<<16 | 1, 65000<<16 | 2}) {
					t.Errorf("communities %v", c)
				}
			}},
		{name: "update-withdraw", unreach: []string{"ipv4-unicast 198.51.100.0/24", "ipv4-unicast 192.0.2.1/32"}},
		{name: "update-eor-ipv4", eor: "ipv4-unicast"},
		{name: "update-eor-ipv6", eor: "ipv6-unicast"},
		{name: "update-ipv6",
			reach: []string{"ipv6-unicast 2001:db8:1::/48", "ipv6-unicast 2001:db8:2::/64"},
			check: func(t *testing.T, u *Update) {
				m, ok := u.Attrs.MPReach()
				if !ok {
					t.Fatal("no MP_REACH_NLRI")
				}
				g, ll, _, err := m.NextHops()
				if err != nil || g != netip.MustParseAddr("2001:db8::1") || ll != netip.MustParseAddr("fe80::1") {
					t.Errorf("next hops %v %v %v", g, ll, err)
				}
			}},
		{name: "update-ipv6-withdraw", unreach: []string{"ipv6-unicast 2001:db8:1::/48"}},
		{name: "update-addpath",
			reach:   []string{"ipv4-unicast 203.0.113.0/24 path-id 1", "ipv4-unicast 203.0.113.0/24 path-id 2"},
			unreach: []string{"ipv4-unicast 198.51.100.0/24 path-id 7"}},
		{name: "update-as2",
			reach: []string{"ipv4-unicast 198.51.100.0/24"},
			check: func(t *testing.T, u *Update) {
				p, _ := u.Attrs.ASPath()
				p4, _ := u.Attrs.AS4Path()
				if !slices.Equal(p.Flat(), []uint32{ASTrans, 65001}) || p4 == nil || !slices.Equal(p4.Flat(), []uint32{130032, 65001}) {
					t.Errorf("AS_PATH %v AS4_PATH %v", p, p4)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := readHex(t, filepath.Join("testdata/messages", tt.name+".hex"))
			m, err := Decode(b, goldenOptions(tt.name))
			if err != nil {
				t.Fatal(err)
			}
			u := m.(*Update)
			if diff := cmp.Diff(tt.reach, routeStrings(u.Reach())); diff != "" {
				t.Errorf("Reach (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.unreach, routeStrings(u.Unreach())); diff != "" {
				t.Errorf("Unreach (-want +got):\n%s", diff)
			}
			f, ok := u.EndOfRIB()
			if got := map[bool]string{true: f.String(), false: ""}[ok]; got != tt.eor {
				t.Errorf("EndOfRIB = %q, want %q", got, tt.eor)
			}
			if len(u.Faults) != 0 || u.Action() != fault.None {
				t.Errorf("faults %v", u.Faults)
			}
			if tt.check != nil {
				tt.check(t, u)
			}
		})
	}
}

// Attribute octets for the RFC 7606 table below.
const (
	aOrigin   = "40010100"
	aASPath   = "40020602010000fde9" // AS_SEQUENCE 65001
	aNextHop  = "400304c0000201"
	aBadOrig  = "40010105" // ORIGIN 5
	aBadAggr  = "c0070300fde9"
	mpV6Reach = "900e001c" + "0002" + "01" + "10" + "20010db8000000000000000000000001" + "00" + "3020010db80001"
	mpV6Bad   = "900e001c" + "0002" + "01" + "10" + "20010db8000000000000000000000001" + "00" + "8120010db80001" // /129
	mpV6Unr   = "800f0a" + "0002" + "01" + "3020010db80009"
	mpV6UnBad = "800f0a" + "0002" + "01" + "3120010db80009" // /49 needs 7 octets
	mpV6NH5   = "900e0011" + "0002" + "01" + "05" + "c000020101" + "00" + "3020010db80001"
	mpEVPNBad = "900e000d" + "0019" + "46" + "04" + "c0000201" + "00" + "0205" + "0000"
)

// body builds an UPDATE body from its three fields in hex.
func body(withdrawn, attrs, nlriField string) []byte {
	w, _ := hex.DecodeString(withdrawn)
	a, _ := hex.DecodeString(attrs)
	n, _ := hex.DecodeString(nlriField)
	b := binary.BigEndian.AppendUint16(nil, uint16(len(w)))
	b = append(b, w...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a)))
	b = append(b, a...)
	return append(b, n...)
}

// TestUpdateRFC7606 checks the rules that need the whole UPDATE (the table
// in doc.go) and what Reach and Unreach hand up under each outcome.
func TestUpdateRFC7606(t *testing.T) {
	const nlri24 = "18c63364" // 198.51.100.0/24
	tests := []struct {
		name     string
		body     []byte
		action   fault.Action // worst; None for a clean UPDATE
		sub      iana.UpdateSubcode
		attr     iana.AttrCode
		reach    []string
		unreach  []string
		disabled []nlri.Family
	}{
		{name: "complete", body: body("", aOrigin+aASPath+aNextHop, nlri24),
			reach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "ORIGIN missing", body: body("", aASPath+aNextHop, nlri24),
			action: fault.TreatAsWithdraw, sub: iana.UpdateMissingWellKnownAttribute, attr: iana.AttrOrigin,
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "AS_PATH missing", body: body("", aOrigin+aNextHop, nlri24),
			action: fault.TreatAsWithdraw, sub: iana.UpdateMissingWellKnownAttribute, attr: iana.AttrASPath,
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "NEXT_HOP missing with NLRI", body: body("", aOrigin+aASPath, nlri24),
			action: fault.TreatAsWithdraw, sub: iana.UpdateMissingWellKnownAttribute, attr: iana.AttrNextHop,
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "withdrawn with TAW keeps withdrawals", body: body("100a01", aASPath+aNextHop, nlri24),
			action: fault.TreatAsWithdraw, sub: iana.UpdateMissingWellKnownAttribute, attr: iana.AttrOrigin,
			unreach: []string{"ipv4-unicast 10.1.0.0/16", "ipv4-unicast 198.51.100.0/24"}},
		{name: "NEXT_HOP without IPv4 NLRI", body: body("", aOrigin+aASPath+aNextHop+mpV6Reach, ""),
			reach: []string{"ipv6-unicast 2001:db8:1::/48"}},
		{name: "MP_REACH without NEXT_HOP", body: body("", mpV6Reach+aOrigin+aASPath, ""),
			reach: []string{"ipv6-unicast 2001:db8:1::/48"}},
		{name: "MP_REACH without AS_PATH", body: body("", mpV6Reach+aOrigin, ""),
			action: fault.TreatAsWithdraw, sub: iana.UpdateMissingWellKnownAttribute, attr: iana.AttrASPath,
			unreach: []string{"ipv6-unicast 2001:db8:1::/48"}},
		{name: "only MP_UNREACH", body: body("", mpV6Unr, ""),
			unreach: []string{"ipv6-unicast 2001:db8:9::/48"}},
		{name: "only withdrawn", body: body(nlri24, "", ""),
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "attributes without reachability", body: body("", aOrigin, ""), action: fault.None},
		{name: "MP_REACH NLRI malformed", body: body("", mpV6Bad+aOrigin+aASPath+aNextHop, nlri24),
			action: fault.AFISAFIDisable, sub: iana.UpdateInvalidNetworkField, attr: iana.AttrMPReachNLRI,
			reach: []string{"ipv4-unicast 198.51.100.0/24"}, disabled: []nlri.Family{nlri.IPv6Unicast}},
		{name: "MP_UNREACH NLRI malformed", body: body(nlri24, mpV6UnBad, ""),
			action: fault.AFISAFIDisable, sub: iana.UpdateInvalidNetworkField, attr: iana.AttrMPUnreachNLRI,
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}, disabled: []nlri.Family{nlri.IPv6Unicast}},
		{name: "MP_REACH next hop length", body: body("", mpV6NH5+aOrigin+aASPath, ""),
			action: fault.AFISAFIDisable, sub: iana.UpdateOptionalAttributeError, attr: iana.AttrMPReachNLRI,
			disabled: []nlri.Family{nlri.IPv6Unicast}},
		{name: "EVPN NLRI malformed", body: body("", mpEVPNBad+aOrigin+aASPath, ""),
			action: fault.AFISAFIDisable, sub: iana.UpdateInvalidNetworkField, attr: iana.AttrMPReachNLRI,
			disabled: []nlri.Family{nlri.L2VPNEVPN}},
		{name: "malformed ORIGIN", body: body("", aBadOrig+aASPath+aNextHop, nlri24),
			action: fault.TreatAsWithdraw, sub: iana.UpdateInvalidOriginAttribute, attr: iana.AttrOrigin,
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "malformed ORIGIN and MP family disabled", body: body("", mpV6Bad+aBadOrig+aASPath+aNextHop, nlri24),
			action: fault.AFISAFIDisable, sub: iana.UpdateInvalidNetworkField, attr: iana.AttrMPReachNLRI,
			unreach: []string{"ipv4-unicast 198.51.100.0/24"}, disabled: []nlri.Family{nlri.IPv6Unicast}},
		{name: "AGGREGATOR discarded", body: body("", aOrigin+aASPath+aNextHop+aBadAggr, nlri24),
			action: fault.AttributeDiscard, sub: iana.UpdateAttributeLengthError, attr: iana.AttrAggregator,
			reach: []string{"ipv4-unicast 198.51.100.0/24"}},
		{name: "MP_REACH twice", body: body("", mpV6Reach+mpV6Reach+aOrigin+aASPath, ""),
			action: fault.SessionReset, sub: iana.UpdateMalformedAttributeList, attr: iana.AttrMPReachNLRI},
		{name: "lengths overrun", body: append(body("", aOrigin, ""), 0)[:5],
			action: fault.SessionReset, sub: iana.UpdateMalformedAttributeList},
		{name: "NLRI field malformed", body: body("", aOrigin+aASPath+aNextHop, "21c6336401"),
			action: fault.SessionReset, sub: iana.UpdateInvalidNetworkField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := DecodeUpdate(tt.body, Options{AS4: true})
			if tt.action == fault.None {
				if err != nil {
					t.Fatalf("unexpected fault %v", err)
				}
			} else {
				f := faultOf(t, err)
				if f.Action != tt.action || f.Subcode != uint8(tt.sub) || f.Attr != tt.attr {
					t.Fatalf("got %v (attr %v), want %v / %v / %v", f, f.Attr, tt.action, tt.sub, tt.attr)
				}
			}
			if tt.action == fault.SessionReset {
				if u != nil {
					t.Error("Update returned with a session reset")
				}
				return
			}
			if u == nil {
				t.Fatal("no Update")
			}
			if u.Action() != tt.action {
				t.Errorf("Action() = %v", u.Action())
			}
			if diff := cmp.Diff(tt.reach, routeStrings(u.Reach())); diff != "" {
				t.Errorf("Reach (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.unreach, routeStrings(u.Unreach())); diff != "" {
				t.Errorf("Unreach (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.disabled, u.Disabled()); diff != "" {
				t.Errorf("Disabled (-want +got):\n%s", diff)
			}
			for _, f := range u.Faults {
				if !iana.ValidNotification(f.Code, f.Subcode) {
					t.Errorf("fault %v has no valid NOTIFICATION", f)
				}
			}
		})
	}
}

func TestMissingAttributeData(t *testing.T) {
	_, err := DecodeUpdate(body("", aOrigin+aNextHop, "18c63364"), Options{AS4: true})
	if f := faultOf(t, err); !bytes.Equal(f.Data, []byte{byte(iana.AttrASPath)}) {
		t.Errorf("data %x, want the type code of AS_PATH", f.Data)
	}
}

// manyPrefixes returns the NLRI field of n distinct /24s (and /16s every
// third one).
func manyPrefixes(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		bits := 24
		if i%3 == 0 {
			bits = 16
			a = netip.AddrFrom4([4]byte{byte(20 + i>>8), byte(i), 0, 0})
		}
		b = nlri.AppendPrefix(b, netip.PrefixFrom(a, bits), 0, false)
	}
	return b
}

func TestUpdateAllocs(t *testing.T) {
	attrs := aOrigin + aASPath + aNextHop + "80040400000064" + "c00808fde80001fde80002"
	small := body("", attrs, hex.EncodeToString(manyPrefixes(10)))
	large := body("", attrs, hex.EncodeToString(manyPrefixes(800)))
	opt := Options{AS4: true, ExtendedMessage: true}
	decode := func(b []byte) func() {
		return func() {
			u, err := DecodeUpdate(b, opt)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for r := range u.Reach() {
				n += r.Prefix.Prefix.Bits()
			}
		}
	}
	as := testing.AllocsPerRun(100, decode(small))
	al := testing.AllocsPerRun(100, decode(large))
	if as != al {
		t.Errorf("allocations grow with prefixes: %v for 10, %v for 800", as, al)
	}
	u, _ := DecodeUpdate(large, opt)
	if a := testing.AllocsPerRun(100, func() {
		for r := range u.Reach() {
			_ = r
		}
	}); a > 1 {
		t.Errorf("Reach allocates %v times per walk", a)
	}
}

func TestClone(t *testing.T) {
	b := body("100a01", aOrigin+aASPath+aNextHop, "18c63364")
	u, err := DecodeUpdate(b, Options{AS4: true})
	if err != nil {
		t.Fatal(err)
	}
	want := append(routeStrings(u.Reach()), routeStrings(u.Unreach())...)
	c := u.Clone()
	clear(b)
	got := append(routeStrings(c.Reach()), routeStrings(c.Unreach())...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clone changed with the buffer (-want +got):\n%s", diff)
	}
	if enc := c.AppendTo(nil, Options{AS4: true}); len(enc) != HeaderLen+len(body("100a01", aOrigin+aASPath+aNextHop, "18c63364")) {
		t.Errorf("clone encodes to %d octets", len(enc))
	}
}

// decodeStream splits back-to-back messages and decodes each.
func decodeStream(t *testing.T, b []byte, opt Options) []*Update {
	t.Helper()
	var out []*Update
	for len(b) > 0 {
		h, err := ParseHeader(b, opt)
		if err != nil {
			t.Fatalf("header: %v", err)
		}
		m, err := Decode(b[:h.Length], opt)
		if err != nil {
			t.Fatalf("message %d: %v", len(out), err)
		}
		out = append(out, m.(*Update))
		b = b[h.Length:]
	}
	return out
}

func testAttrs(i int) attr.List {
	return attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, uint32(65100 + i)}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")},
		&attr.MED{Value: uint32(i)},
		attr.NewMPReach(nlri.IPv6Unicast, netip.MustParseAddr("2001:db8::1"), netip.Addr{}, nil),
	}
}

func TestPacker(t *testing.T) {
	for _, opt := range []Options{
		{AS4: true},
		{AS4: true, ExtendedMessage: true},
		{AS4: false, AddPath: nlri.NewAddPath(nlri.IPv4Unicast, nlri.IPv6Unicast)},
	} {
		t.Run(fmt.Sprintf("as4=%v ext=%v addpath=%v", opt.AS4, opt.ExtendedMessage, opt.AddPath.Has(nlri.IPv4Unicast)), func(t *testing.T) {
			p := NewPacker(opt)
			var want []string
			const sets, per = 5, 3000
			for s := 0; s < sets; s++ {
				p.SetAttrs(testAttrs(s))
				for i := 0; i < per; i++ {
					pfx := nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(s), byte(i >> 8), byte(i)}), 32-i%9).Masked(), PathID: uint32(i % 4)}
					if !opt.AddPath.Has(nlri.IPv4Unicast) {
						pfx.PathID = 0
					}
					if err := p.Announce(pfx); err != nil {
						t.Fatal(err)
					}
					want = append(want, fmt.Sprintf("%d ipv4-unicast %s", s, pfx))
				}
				for i := 0; i < per/10; i++ {
					pfx := nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, byte(s), byte(i)}), 48+i%17).Masked()}
					if err := p.Announce(pfx); err != nil {
						t.Fatal(err)
					}
					want = append(want, fmt.Sprintf("%d ipv6-unicast %s", s, pfx))
				}
			}
			var wantW []string
			for i := 0; i < 2000; i++ {
				pfx := nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), 32)}
				if err := p.Withdraw(pfx); err != nil {
					t.Fatal(err)
				}
				wantW = append(wantW, "ipv4-unicast "+pfx.String())
				v6 := nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 0xff, byte(i >> 8), byte(i)}), 64)}
				if err := p.Withdraw(v6); err != nil {
					t.Fatal(err)
				}
				wantW = append(wantW, "ipv6-unicast "+v6.String())
			}
			p.EndOfRIB(nlri.IPv4Unicast)
			p.EndOfRIB(nlri.IPv6Unicast)
			msgs := p.Messages()
			out := p.Bytes()
			us := decodeStream(t, out, opt)
			if len(us) != msgs {
				t.Errorf("Messages() = %d, decoded %d", msgs, len(us))
			}
			var got, gotW []string
			for _, u := range us {
				if u.Attrs.Has(iana.AttrMPReachNLRI) && u.Attrs.Has(iana.AttrNextHop) {
					t.Error("MP_REACH_NLRI UPDATE carries NEXT_HOP (RFC 4760 §3)")
				}
				med, _ := u.Attrs.MED()
				for r := range u.Reach() {
					got = append(got, fmt.Sprintf("%d %s %s", med.Value, r.Family, r))
				}
				gotW = append(gotW, routeStrings(u.Unreach())...)
				if u.AppendTo(nil, opt) == nil {
					t.Fatal("no encoding")
				}
			}
			slices.Sort(gotW)
			slices.Sort(wantW)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("announced (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantW, gotW); diff != "" {
				t.Errorf("withdrawn (-want +got):\n%s", diff)
			}
			if f, ok := us[len(us)-1].EndOfRIB(); !ok || f != nlri.IPv6Unicast {
				t.Errorf("last message is not the IPv6 End-of-RIB")
			}
			// Packing must fill messages: all but the last of each run
			// are within one route of the maximum.
			full := 0
			for _, u := range us {
				if n := len(u.AppendTo(nil, opt)); n > opt.MaxLen()-30 {
					full++
				}
			}
			if full == 0 && !opt.ExtendedMessage {
				t.Error("no message was filled")
			}
			p.Reset()
			if len(p.Bytes()) != 0 || p.Messages() != 0 {
				t.Error("Reset kept messages")
			}
		})
	}
}

func TestPackerAllocs(t *testing.T) {
	p := NewPacker(Options{AS4: true})
	attrs := testAttrs(1)
	prefixes := make([]nlri.Prefix, 5000)
	for i := range prefixes {
		prefixes[i] = nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}
	}
	run := func() {
		p.Reset()
		p.SetAttrs(attrs)
		for _, pfx := range prefixes {
			if err := p.Announce(pfx); err != nil {
				t.Fatal(err)
			}
		}
		p.Bytes()
	}
	run()
	if a := testing.AllocsPerRun(20, run); a > 0 {
		t.Errorf("packing 5000 prefixes allocates %v times", a)
	}
}

// TestPackerIPv4OverIPv6 packs IPv4 routes with an IPv6 next hop
// (RFC 8950) into MP_REACH_NLRI.
func TestPackerIPv4OverIPv6(t *testing.T) {
	opt := Options{AS4: true}
	p := NewPacker(opt)
	p.SetAttrs(attr.List{
		&attr.Origin{}, &attr.ASPath{},
		attr.NewMPReach(nlri.IPv4Unicast, netip.MustParseAddr("2001:db8::1"), netip.Addr{}, nil),
	})
	for _, s := range []string{"10.0.0.0/8", "192.0.2.0/24"} {
		if err := p.Announce(nlri.Prefix{Prefix: netip.MustParsePrefix(s)}); err != nil {
			t.Fatal(err)
		}
	}
	us := decodeStream(t, p.Bytes(), opt)
	if len(us) != 1 || len(us[0].NLRI) != 0 {
		t.Fatalf("%d UPDATEs, NLRI field %x", len(us), us[0].NLRI)
	}
	if diff := cmp.Diff([]string{"ipv4-unicast 10.0.0.0/8", "ipv4-unicast 192.0.2.0/24"}, routeStrings(us[0].Reach())); diff != "" {
		t.Errorf("Reach (-want +got):\n%s", diff)
	}
	m, _ := us[0].Attrs.MPReach()
	if g, _, _, _ := m.NextHops(); g != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("next hop %v", g)
	}
}

func TestPackerErrors(t *testing.T) {
	p := NewPacker(Options{})
	p.SetAttrs(attr.List{&attr.Origin{}})
	if err := p.Announce(nlri.Prefix{Prefix: netip.MustParsePrefix("2001:db8::/32")}); err == nil {
		t.Error("IPv6 announced without a next hop")
	}
	if err := p.Announce(nlri.Prefix{Prefix: netip.MustParsePrefix("10.0.0.0/8")}); err == nil {
		t.Error("IPv4 announced without NEXT_HOP")
	}
	p.SetAttrs(attr.List{&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")}, &attr.Unknown{F: attr.FlagOptional | attr.FlagTransitive, C: 250, Value: make([]byte, 4080)}})
	if err := p.Announce(nlri.Prefix{Prefix: netip.MustParsePrefix("10.0.0.0/8")}); err == nil {
		t.Error("route packed behind attributes that fill the message")
	}
}

func TestNewUpdate(t *testing.T) {
	rd, _ := nlri.ParseRD("65000:1")
	vpn := nlri.VPN{Labels: []nlri.Label{nlri.NewLabel(100, true)}, RD: rd, Prefix: netip.MustParsePrefix("10.9.0.0/16")}
	attrs := attr.List{
		&attr.Origin{Value: attr.OriginIGP},
		&attr.ASPath{},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.1")},
		attr.NewMPReach(nlri.IPv6Unicast, netip.MustParseAddr("2001:db8::1"), netip.Addr{}, nil),
		attr.NewMPReach(nlri.IPv4VPN, netip.MustParseAddr("192.0.2.1"), netip.Addr{}, nil),
	}
	announce := []nlri.NLRI{
		nlri.Prefix{Prefix: netip.MustParsePrefix("198.51.100.0/24")},
		vpn,
	}
	withdraw := []nlri.NLRI{
		nlri.Prefix{Prefix: netip.MustParsePrefix("203.0.113.0/24")},
		nlri.Prefix{Prefix: netip.MustParsePrefix("2001:db8:6::/48")},
	}
	opt := Options{AS4: true}
	u, err := NewUpdate(attrs, withdraw, announce, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Append(nil, u, opt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	d := m.(*Update)
	if diff := cmp.Diff([]string{"ipv4-unicast 198.51.100.0/24", "ipv4-vpn 65000:1:10.9.0.0/16"}, routeStrings(d.Reach())); diff != "" {
		t.Errorf("Reach (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ipv4-unicast 203.0.113.0/24", "ipv6-unicast 2001:db8:6::/48"}, routeStrings(d.Unreach())); diff != "" {
		t.Errorf("Unreach (-want +got):\n%s", diff)
	}
	if d.Attrs[0].Code() != iana.AttrMPReachNLRI {
		t.Errorf("first attribute %v, want MP_REACH_NLRI first (RFC 7606 §5.1)", d.Attrs[0].Code())
	}
	if _, err := NewUpdate(attr.List{}, nil, []nlri.NLRI{nlri.Prefix{Prefix: netip.MustParsePrefix("2001:db8::/32")}}, opt); err == nil {
		t.Error("IPv6 announced without a next hop")
	}
	if _, err := NewUpdate(attrs, nil, append(announce, nlri.Prefix{Prefix: netip.MustParsePrefix("2001:db8:5::/48")}), opt); err == nil {
		t.Error("two MP_REACH_NLRI families in one UPDATE")
	}
	eor := NewEndOfRIB(nlri.L2VPNEVPN)
	b = eor.AppendTo(nil, opt)
	m, _ = Decode(b, opt)
	if f, ok := m.(*Update).EndOfRIB(); !ok || f != nlri.L2VPNEVPN {
		t.Errorf("EndOfRIB = %v %v", f, ok)
	}
	if got := hex.EncodeToString(NewEndOfRIB(nlri.IPv4Unicast).AppendTo(nil, opt)); got != strings.Repeat("f", 32)+"00170200000000" {
		t.Errorf("IPv4 End-of-RIB %s", got)
	}
}

// TestWalkIPv4MatchesIter checks the word-at-a-time IPv4 reader against
// nlri.Iter, bits past the prefix length and the short tail included.
func TestWalkIPv4MatchesIter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 2000; round++ {
		addPath := round%2 == 1
		var field []byte
		for i := 0; i < r.IntN(8); i++ {
			bits := r.IntN(33)
			n := (bits + 7) / 8
			if addPath {
				field = binary.BigEndian.AppendUint32(field, r.Uint32())
			}
			field = append(field, byte(bits))
			for j := 0; j < n; j++ {
				field = append(field, byte(r.Uint32()))
			}
		}
		var want, got []nlri.Prefix
		it := nlri.NewIter(field, iana.AFIIPv4, addPath)
		for it.Next() {
			want = append(want, it.Prefix())
		}
		walkIPv4(nlri.IPv4Unicast, field, addPath, func(r Route) bool {
			got = append(got, r.Prefix)
			return true
		})
		if !slices.Equal(want, got) {
			t.Fatalf("field %x addPath %v:\n iter %v\n walk %v", field, addPath, want, got)
		}
	}
}

// TestPackerVPN packs VPNv4 routes, which go through AnnounceNLRI, over
// several UPDATEs, and withdraws them again.
func TestPackerVPN(t *testing.T) {
	opt := Options{AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4VPN)}
	p := NewPacker(opt)
	rd, _ := nlri.ParseRD("65000:7")
	p.SetAttrs(attr.List{
		&attr.Origin{}, &attr.ASPath{},
		attr.NewMPReach(nlri.IPv4VPN, netip.MustParseAddr("192.0.2.1"), netip.Addr{}, nil),
	})
	var want []string
	var routes []nlri.NLRI
	for i := 0; i < 1000; i++ {
		v := nlri.VPN{PathID: uint32(i), Labels: []nlri.Label{nlri.NewLabel(uint32(16+i), true)}, RD: rd,
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}
		routes = append(routes, v)
		if err := p.AnnounceNLRI(v); err != nil {
			t.Fatal(err)
		}
		want = append(want, "ipv4-vpn "+v.String())
	}
	for _, r := range routes {
		if err := p.WithdrawNLRI(r); err != nil {
			t.Fatal(err)
		}
	}
	us := decodeStream(t, p.Bytes(), opt)
	if len(us) < 4 {
		t.Errorf("%d UPDATEs for 1000 VPN routes and their withdrawals", len(us))
	}
	var got, gotW []string
	for _, u := range us {
		got = append(got, routeStrings(u.Reach())...)
		gotW = append(gotW, routeStrings(u.Unreach())...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("announced (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, gotW); diff != "" {
		t.Errorf("withdrawn (-want +got):\n%s", diff)
	}
}

// TestPackerEncoded packs with sets encoded beforehand (SetEncoded) and
// checks the output is the octets SetAttrs gives, and that an Encoded
// decodes back to its attributes.
func TestPackerEncoded(t *testing.T) {
	for _, opt := range []Options{{AS4: true}, {AS4: false}, {AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)}} {
		sets := []attr.List{
			testAttrs(1), // NEXT_HOP and an IPv6 MP_REACH_NLRI
			{&attr.Origin{Value: attr.OriginIGP}, attr.NewMPReach(nlri.IPv4Unicast, netip.MustParseAddr("2001:db8::7"), netip.Addr{}, nil)}, // RFC 8950
			testAttrs(2),
		}
		pack := func(set func(p *Packer, i int)) []byte {
			p := NewPacker(opt)
			for i := range sets {
				set(p, i)
				for j := range 700 {
					_ = p.Announce(nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(j >> 8), byte(j)}), 32)})
					_ = p.Announce(nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, byte(i), byte(j >> 8), byte(j)}), 64)})
				}
			}
			return bytes.Clone(p.Bytes())
		}
		want := pack(func(p *Packer, i int) { p.SetAttrs(sets[i]) })
		// Kept sets live in their keys; a key tells sets apart as sent.
		var c Encoder
		kept := make([]Encoded, len(sets))
		keys := map[string]int{}
		for i := range sets {
			enc := c.Encode(sets[i], opt)
			var key string
			kept[i], key = c.Keep()
			if key != string(enc) {
				t.Errorf("set %d: Keep's key %x, Encode's %x", i, key, enc)
			}
			if j, dup := keys[key]; dup {
				t.Errorf("sets %d and %d have one key", j, i)
			}
			keys[key] = i
		}
		if j, ok := keys[string(c.Encode(sets[0], opt))]; !ok || j != 0 {
			t.Error("encoding set 0 again gives another key")
		}
		if got := pack(func(p *Packer, i int) { p.SetEncoded(&kept[i]) }); !bytes.Equal(got, want) {
			t.Errorf("AS4 %v: SetEncoded packs %d octets that differ from SetAttrs's %d", opt.AS4, len(got), len(want))
		}
		for i, e := range kept {
			l, err := e.List(opt)
			if err != nil {
				t.Fatalf("set %d: %v", i, err)
			}
			if a, b := attr.Canonical(nil, l, attr.Options{AS4: true}), attr.Canonical(nil, sets[i], attr.Options{AS4: true}); !bytes.Equal(a, b) {
				t.Errorf("set %d decodes to %x, want %x", i, a, b)
			}
		}
	}
}

// TestPackerAnnounceIPv4 checks that the packed-prefix fast path writes
// the octets Announce writes, with and without ADD-PATH, and falls back
// for a set that sends IPv4 in MP_REACH_NLRI.
func TestPackerAnnounceIPv4(t *testing.T) {
	sets := []attr.List{
		testAttrs(3),
		{&attr.Origin{Value: attr.OriginIGP}, attr.NewMPReach(nlri.IPv4Unicast, netip.MustParseAddr("2001:db8::7"), netip.Addr{}, nil)},
	}
	for _, opt := range []Options{{AS4: true}, {AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)}} {
		for si, set := range sets {
			slow, fast := NewPacker(opt), NewPacker(opt)
			slow.SetAttrs(set)
			fast.SetAttrs(set)
			for i := range 5000 {
				bits := uint8(i % 33)
				addr := (uint32(i)*2654435761 | 1) &^ (^uint32(0) >> bits)
				var a [4]byte
				binary.BigEndian.PutUint32(a[:], addr)
				id := uint32(i % 7)
				if !opt.AddPath.Has(nlri.IPv4Unicast) {
					id = 0
				}
				if err := slow.Announce(nlri.Prefix{Prefix: netip.PrefixFrom(netip.AddrFrom4(a), int(bits)), PathID: id}); err != nil {
					t.Fatal(err)
				}
				if err := fast.AnnounceIPv4(addr, bits, id); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(slow.Bytes(), fast.Bytes()) {
				t.Errorf("set %d, ADD-PATH %v: AnnounceIPv4 packs differently from Announce", si, opt.AddPath.Has(nlri.IPv4Unicast))
			}
		}
	}
}
