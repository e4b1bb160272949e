package attr

import (
	"math"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
)

func TestCommunityText(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		text string // FormatCommunity of want
	}{
		{"65000:100", 65000<<16 | 100, "65000:100"},
		{"0:0", 0, "0:0"},
		{"65535:65535", 0xffffffff, "65535:65535"},
		{"NO_EXPORT", CommunityNoExport, "65535:65281"},
		{"no-export", CommunityNoExport, "65535:65281"},
		{"no-advertise", CommunityNoAdvertise, "65535:65282"},
		{"NO_EXPORT_SUBCONFED", CommunityNoExportSubconfed, "65535:65283"},
		{"local-AS", CommunityNoExportSubconfed, "65535:65283"},
		{"NO_PEER", CommunityNoPeer, "65535:65284"},
		{"nopeer", CommunityNoPeer, "65535:65284"},
		{"blackhole", CommunityBlackhole, "65535:666"},
		{"graceful-shutdown", CommunityGracefulShutdown, "65535:0"},
		{"LLGR_STALE", CommunityLLGRStale, "65535:6"},
		{"no-llgr", CommunityNoLLGR, "65535:7"},
		{"accept-own", CommunityAcceptOwn, "65535:1"},
		{"accept-own-nexthop", CommunityAcceptOwnNexthop, "65535:8"},
		{"4294967041", CommunityNoExport, "65535:65281"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseCommunity(tt.in)
			if err != nil || v != tt.want {
				t.Fatalf("ParseCommunity = %#x, %v; want %#x", v, err, tt.want)
			}
			if s := FormatCommunity(v); s != tt.text {
				t.Fatalf("FormatCommunity = %q, want %q", s, tt.text)
			}
			if back, err := ParseCommunity(FormatCommunity(v)); err != nil || back != v {
				t.Fatalf("round trip: %#x %v", back, err)
			}
		})
	}
	for _, bad := range []string{"", "65536:1", "1:65536", "a:b", "no-such", "1:2:3", "-1:0"} {
		if _, err := ParseCommunity(bad); err == nil {
			t.Errorf("ParseCommunity(%q) succeeded", bad)
		}
	}
	if n, ok := CommunityName(CommunityNoExport); !ok || n != "NO_EXPORT" {
		t.Errorf("CommunityName = %q %v", n, ok)
	}
	if _, ok := CommunityName(1); ok {
		t.Error("CommunityName(1)")
	}
	// Every registry name parses back to its value.
	for _, w := range wellKnownCommunities {
		if v, err := ParseCommunity(w.name); err != nil || v != w.v {
			t.Errorf("ParseCommunity(%q) = %#x %v", w.name, v, err)
		}
	}
	c := &Communities{Values: []uint32{65000<<16 | 1, CommunityNoExport}}
	if c.String() != "65000:1 65535:65281" || strings.Join(c.Strings(), ",") != "65000:1,65535:65281" {
		t.Errorf("String = %q", c)
	}
	if !c.Has(CommunityNoExport) || c.Has(1) {
		t.Error("Has")
	}
}

func TestLargeCommunityText(t *testing.T) {
	for _, s := range []string{"65000:1:2", "4294967295:0:4294967295", "0:0:0"} {
		c, err := ParseLargeCommunity(s)
		if err != nil || c.String() != s {
			t.Errorf("%q: %v %v", s, c, err)
		}
	}
	for _, bad := range []string{"1:2", "1:2:3:4", "4294967296:0:0", "a:b:c", ""} {
		if _, err := ParseLargeCommunity(bad); err == nil {
			t.Errorf("ParseLargeCommunity(%q) succeeded", bad)
		}
	}
	l := &LargeCommunities{Values: []LargeCommunity{{1, 2, 3}, {4, 5, 6}}}
	if l.String() != "1:2:3 4:5:6" || !l.Has(LargeCommunity{4, 5, 6}) || l.Has(LargeCommunity{}) {
		t.Errorf("LargeCommunities: %q", l)
	}
}

func TestExtCommunityText(t *testing.T) {
	tests := []struct {
		e    ExtCommunity
		text string
	}{
		{NewRouteTargetAS2(65000, 100), "rt:65000:100"},
		{NewRouteTargetAS2(1, 4294967295), "rt:1:4294967295"},
		{NewRouteTargetIPv4(addr("192.0.2.1"), 100), "rt:192.0.2.1:100"},
		{NewRouteTargetAS4(4200000000, 100), "rt:4200000000:100"},
		{NewRouteTargetAS4(65000, 100), "rt:65000L:100"},
		{NewRouteOriginAS2(65000, 1), "soo:65000:1"},
		{NewRouteOriginIPv4(addr("10.0.0.1"), 7), "soo:10.0.0.1:7"},
		{NewRouteOriginAS4(70000, 1), "soo:70000:1"},
		{NewEncapsulation(iana.TunnelVXLAN), "encap:vxlan"},
		{NewEncapsulation(iana.TunnelMPLSinGRE), "encap:mpls-in-gre"},
		{NewEncapsulation(999), "encap:999"},
		{NewColor(100), "color:100"},
		{NewDefaultGateway(), "default-gateway"},
		{NewMACMobility(7, false), "mac-mobility:7"},
		{NewMACMobility(4294967295, true), "mac-mobility:4294967295:sticky"},
		{NewESILabel(false, 100), "esi-label:100"},
		{NewESILabel(true, 1048575), "esi-label:1048575:single-active"},
		{NewESImportRT([6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}), "es-import:00:11:22:33:44:55"},
		{NewRouterMAC([6]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}), "rmac:aa:bb:cc:dd:ee:ff"},
		{NewLinkBandwidth(65000, 125e6), "lb:65000:1.25e+08"},
		{NewLinkBandwidth(1, 0), "lb:1:0"},
		{ExtCommunity{0x80, 0x06}, "ext:8006000000000000"},
		{ExtCommunity{0x03, 0x0c, 1}, "ext:030c010000000000"},                // encapsulation with reserved bits set
		{ExtCommunity{0x06, 0x00, 0x02}, "ext:0600020000000000"},             // MAC mobility with an unknown flag
		{ExtCommunity{0x06, 0x01, 0, 0, 0, 0, 0, 1}, "ext:0601000000000001"}, // ESI label with BOS bit
		{NewLinkBandwidth(1, float32(math.NaN())), "ext:400400017fc00000"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if s := tt.e.String(); s != tt.text {
				t.Fatalf("String = %q, want %q", s, tt.text)
			}
			back, err := ParseExtCommunity(tt.text)
			if err != nil || back != tt.e {
				t.Fatalf("ParseExtCommunity(%q) = %x, %v; want %x", tt.text, back[:], err, tt.e[:])
			}
		})
	}
	for _, alias := range []struct{ in, text string }{
		{"target:65000:100", "rt:65000:100"},
		{"RT:65000:100", "rt:65000:100"},
		{"route-target:1.2:3", "rt:65538:3"},
		{"origin:65000:1", "soo:65000:1"},
		{"SoO:65000:1", "soo:65000:1"},
		{"Default-Gateway", "default-gateway"},
		{"encap:8", "encap:vxlan"},
	} {
		e, err := ParseExtCommunity(alias.in)
		if err != nil || e.String() != alias.text {
			t.Errorf("ParseExtCommunity(%q) = %s, %v; want %s", alias.in, e, err, alias.text)
		}
	}
	for _, bad := range []string{"", "rt", "rt:1", "rt:65536:65536", "rt:192.0.2.1:65536", "rt:2001:db8::1:1",
		"encap:nope", "mac-mobility:x", "mac-mobility:1:stuck", "esi-label:1048576", "rmac:00:11", "lb:1",
		"ext:00", "zz:1:2", "color:-1"} {
		if e, err := ParseExtCommunity(bad); err == nil {
			t.Errorf("ParseExtCommunity(%q) = %s, want an error", bad, e)
		}
	}
}

func TestExtCommunityViews(t *testing.T) {
	rt := NewRouteTargetIPv4(addr("192.0.2.1"), 5)
	if s, ok := rt.RouteTarget(); !ok || s != "192.0.2.1:5" || !rt.IsRouteTarget() || rt.IsRouteOrigin() {
		t.Errorf("RouteTarget = %q %v", s, ok)
	}
	if _, ok := rt.RouteOrigin(); ok {
		t.Error("a route target is not a route origin")
	}
	if !rt.IsTransitive() || rt.Type() != ExtTypeIPv4 || rt.SubType() != ExtSubRouteTarget {
		t.Error("type accessors")
	}
	p, err := ParseRouteTarget("65000:100")
	if err != nil || p != NewRouteTargetAS2(65000, 100) {
		t.Errorf("ParseRouteTarget: %v %v", p, err)
	}
	p, err = ParseRouteTarget("4200000000:7")
	if err != nil || p != NewRouteTargetAS4(4200000000, 7) {
		t.Errorf("ParseRouteTarget 4-octet: %v %v", p, err)
	}
	if _, err := ParseRouteTarget("4200000000:70000"); err == nil {
		t.Error("4-octet AS with a 4-octet number")
	}
	if _, err := ParseRouteTarget("65000L:70000"); err == nil {
		t.Error("4-octet AS (L form) with a 4-octet number")
	}
	o, err := ParseRouteOrigin("soo:10.0.0.1:3")
	if err != nil || o != NewRouteOriginIPv4(addr("10.0.0.1"), 3) {
		t.Errorf("ParseRouteOrigin: %v %v", o, err)
	}

	lb := NewLinkBandwidth(65000, 1e9)
	if lb.IsTransitive() {
		t.Error("link bandwidth is non-transitive")
	}
	if as, bw, ok := lb.LinkBandwidth(); !ok || as != 65000 || bw != 1e9 {
		t.Errorf("LinkBandwidth = %d %g %v", as, bw, ok)
	}
	if _, bw, ok := (ExtCommunity{0x00, 0x04, 0, 1, 0x4c, 0xee, 0x6b, 0x28}).LinkBandwidth(); !ok || bw != 125e6 {
		t.Error("transitive link bandwidth")
	}
	if seq, sticky, ok := NewMACMobility(9, true).MACMobility(); !ok || seq != 9 || !sticky {
		t.Error("MACMobility")
	}
	if single, label, ok := NewESILabel(true, 16).ESILabel(); !ok || !single || label != 16 {
		t.Error("ESILabel")
	}
	if tt, ok := NewEncapsulation(iana.TunnelGeneve).Encapsulation(); !ok || tt != iana.TunnelGeneve {
		t.Error("Encapsulation")
	}
	mac := [6]byte{1, 2, 3, 4, 5, 6}
	if m, ok := NewRouterMAC(mac).RouterMAC(); !ok || m != mac {
		t.Error("RouterMAC")
	}
	if m, ok := NewESImportRT(mac).ESImportRT(); !ok || m != mac {
		t.Error("ESImportRT")
	}
	if c, ok := NewColor(5).Color(); !ok || c != 5 {
		t.Error("Color")
	}
	if !NewDefaultGateway().IsDefaultGateway() || rt.IsDefaultGateway() {
		t.Error("IsDefaultGateway")
	}
	// Every typed view rejects a different kind.
	other := ExtCommunity{0x80, 0x06}
	if _, ok := other.Encapsulation(); ok {
		t.Error("Encapsulation of another kind")
	}
	if _, _, ok := other.MACMobility(); ok {
		t.Error("MACMobility of another kind")
	}
	if _, _, ok := other.ESILabel(); ok {
		t.Error("ESILabel of another kind")
	}
	if _, ok := other.RouterMAC(); ok {
		t.Error("RouterMAC of another kind")
	}
	if _, ok := other.ESImportRT(); ok {
		t.Error("ESImportRT of another kind")
	}
	if _, _, ok := other.LinkBandwidth(); ok {
		t.Error("LinkBandwidth of another kind")
	}
	if _, ok := other.Color(); ok {
		t.Error("Color of another kind")
	}
	if _, ok := other.RouteTarget(); ok || !other.IsTransitive() {
		t.Error("RouteTarget of another kind")
	}

	ec := &ExtCommunities{Values: []ExtCommunity{rt, lb, NewRouteTargetAS2(1, 1)}}
	if got := ec.RouteTargets(); len(got) != 2 || got[0] != rt {
		t.Errorf("RouteTargets = %v", got)
	}
	if !ec.Has(lb) || ec.Has(other) {
		t.Error("Has")
	}
	if ec.String() != "rt:192.0.2.1:5 lb:65000:1e+09 rt:1:1" {
		t.Errorf("String = %q", ec)
	}
}

func TestIPv6ExtCommunityText(t *testing.T) {
	rt := NewIPv6RouteTarget(addr("2001:db8::1"), 100)
	soo := rt
	soo[1] = ExtSubRouteOrigin
	var other [20]byte
	other[0] = 0x40
	for _, tt := range []struct {
		v    [20]byte
		text string
	}{
		{rt, "rt:[2001:db8::1]:100"},
		{soo, "soo:[2001:db8::1]:100"},
		{other, "ext6:4000000000000000000000000000000000000000"},
	} {
		if s := FormatIPv6ExtCommunity(tt.v); s != tt.text {
			t.Errorf("Format = %q, want %q", s, tt.text)
		}
		if back, err := ParseIPv6ExtCommunity(tt.text); err != nil || back != tt.v {
			t.Errorf("Parse(%q) = %x %v", tt.text, back, err)
		}
	}
	for _, bad := range []string{"rt:2001:db8::1:100", "rt:[192.0.2.1]:1", "xx:[::1]:1", "rt:[::1]:70000", "ext6:00"} {
		if _, err := ParseIPv6ExtCommunity(bad); err == nil {
			t.Errorf("ParseIPv6ExtCommunity(%q) succeeded", bad)
		}
	}
	a := &IPv6ExtCommunities{Values: [][20]byte{rt, soo}}
	if a.String() != "rt:[2001:db8::1]:100 soo:[2001:db8::1]:100" {
		t.Errorf("String = %q", a)
	}
}

func TestOriginText(t *testing.T) {
	for _, o := range []OriginCode{OriginIGP, OriginEGP, OriginIncomplete} {
		back, err := ParseOrigin(o.String())
		if err != nil || back != o {
			t.Errorf("%s: %v %v", o, back, err)
		}
	}
	if OriginCode(7).String() != "origin-7" {
		t.Error("undefined origin")
	}
	if _, err := ParseOrigin("bgp"); err == nil {
		t.Error("ParseOrigin(bgp)")
	}
}
