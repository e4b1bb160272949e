package attr

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// builtAll is one value built in code of every attribute type.
func builtAll() List {
	return List{
		&Origin{Value: OriginEGP},
		path(seq(65001, 4200000000)),
		&NextHop{Addr: addr("192.0.2.1")},
		&MED{Value: 5},
		&LocalPref{Value: 100},
		&AtomicAggregate{},
		&Aggregator{AS: 65001, Addr: addr("192.0.2.2")},
		&Communities{Values: []uint32{1}},
		&OriginatorID{ID: addr("10.0.0.1")},
		&ClusterList{IDs: []netip.Addr{addr("10.0.0.2")}},
		NewMPReach(nlri.IPv6Unicast, addr("2001:db8::1"), addr("fe80::1"), []byte{0}),
		&MPUnreach{Family: nlri.IPv4VPN},
		&ExtCommunities{Values: []ExtCommunity{NewRouteTargetAS2(1, 1)}},
		path4(seq(4200000000)),
		&AS4Aggregator{AS: 4200000000, Addr: addr("192.0.2.3")},
		NewIngressReplication(addr("192.0.2.4"), 10000),
		&TunnelEncap{Tunnels: []Tunnel{{Type: iana.TunnelVXLAN}}},
		&IPv6ExtCommunities{Values: [][20]byte{NewIPv6RouteTarget(addr("2001:db8::2"), 1)}},
		NewAIGP(10),
		&LargeCommunities{Values: []LargeCommunity{{1, 2, 3}}},
		&OTC{AS: 65001},
		&Unknown{F: FlagOptional | FlagTransitive, C: 99, Value: []byte{1}},
	}
}

// TestBuiltValues: values built in code carry canonical flags and decode
// back without a fault.
func TestBuiltValues(t *testing.T) {
	l := builtAll()
	for _, a := range l {
		if u, ok := a.(*Unknown); ok {
			if u.Flags() != u.F {
				t.Errorf("Unknown flags")
			}
			continue
		}
		if a.Flags() != CanonicalFlags(a.Code()) {
			t.Errorf("%s: built flags %s, canonical %s", a.Code(), a.Flags(), CanonicalFlags(a.Code()))
		}
	}
	enc := AppendList(nil, l, Options{AS4: true})
	got, faults := Decode(enc, Options{AS4: true})
	if len(faults) != 0 {
		t.Fatalf("faults %v", faults)
	}
	if d := diffList(got, l); d != "" {
		t.Fatal(d)
	}
	if CanonicalFlags(99) != FlagOptional|FlagTransitive {
		t.Error("CanonicalFlags of an unknown code")
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[Flags]string{
		FlagTransitive: "well-known|transitive",
		FlagOptional:   "optional|non-transitive",
		0xf0:           "optional|transitive|partial|extended-length",
	} {
		if f.String() != want {
			t.Errorf("%#x: %q, want %q", uint8(f), f.String(), want)
		}
	}
}

func TestMarkPartial(t *testing.T) {
	u := &Unknown{F: FlagOptional | FlagTransitive, C: 99}
	MarkPartial(u)
	if u.F != FlagOptional|FlagTransitive|FlagPartial {
		t.Errorf("Unknown flags %s", u.F)
	}
	c := &Communities{Values: []uint32{1}}
	MarkPartial(c)
	if c.Flags() != FlagOptional|FlagTransitive|FlagPartial {
		t.Errorf("Communities flags %s", c.Flags())
	}
	nt := &Unknown{F: FlagOptional, C: 98}
	MarkPartial(nt)
	wk := &Origin{}
	MarkPartial(wk)
	if nt.F != FlagOptional || wk.Flags() != FlagTransitive {
		t.Error("MarkPartial changed a non-transitive or well-known attribute")
	}
	enc := Append(nil, c, Options{})
	if enc[0] != 0xe0 {
		t.Errorf("encoded flags %#x", enc[0])
	}
}

func TestCanonical(t *testing.T) {
	// The same attributes in another order, with the extended-length bit
	// on a known attribute, give the same canonical octets.
	a := List{
		withFlags(&Communities{Values: []uint32{1}}, FlagOptional|FlagTransitive|FlagPartial|FlagExtendedLength),
		&Origin{Value: OriginIGP},
		&Unknown{F: FlagOptional | FlagTransitive | FlagPartial | FlagExtendedLength, C: 99, Value: []byte{1}},
		path(seq(1)),
	}
	b := List{path(seq(1)), &Unknown{F: FlagOptional | FlagTransitive | FlagPartial, C: 99, Value: []byte{1}},
		&Origin{Value: OriginIGP}, withFlags(&Communities{Values: []uint32{1}}, FlagOptional|FlagTransitive|FlagPartial)}
	ca, cb := Canonical(nil, a, Options{AS4: true}), Canonical(nil, b, Options{AS4: true})
	if !bytes.Equal(ca, cb) {
		t.Fatalf("canonical forms differ:\n%x\n%x", ca, cb)
	}
	want := cat(raw(FlagTransitive, iana.AttrOrigin, 0), raw(FlagTransitive, iana.AttrASPath, 2, 1, 0, 0, 0, 1),
		raw(FlagOptional|FlagTransitive|FlagPartial, iana.AttrCommunities, 0, 0, 0, 1), raw(FlagOptional|FlagTransitive|FlagPartial, 99, 1))
	if !bytes.Equal(ca, want) {
		t.Fatalf("canonical\n got %x\nwant %x", ca, want)
	}
	// The Partial bit of a known optional transitive attribute is kept
	// (RFC 4271 §5: it stays set when passed on).
	if bytes.Equal(ca, Canonical(nil, List{path(seq(1)), b[1], &Origin{Value: OriginIGP}, &Communities{Values: []uint32{1}}}, Options{AS4: true})) {
		t.Fatal("Partial bit of COMMUNITIES ignored")
	}
	// The Partial bit of an unknown attribute is part of its meaning.
	b[1] = &Unknown{F: FlagOptional | FlagTransitive, C: 99, Value: []byte{1}}
	if bytes.Equal(ca, Canonical(nil, b, Options{AS4: true})) {
		t.Fatal("Partial bit of an unknown attribute ignored")
	}
	// The input list keeps its order; long lists work too.
	if a[0].Code() != iana.AttrCommunities {
		t.Fatal("Canonical reordered its input")
	}
	long := builtAll()
	long = append(long, builtAll()...)
	if got := Canonical(nil, long, Options{AS4: true}); len(got) <= len(Canonical(nil, builtAll(), Options{AS4: true})) {
		t.Fatal("long list")
	}
}

func TestListHelpers(t *testing.T) {
	l := builtAll()
	if _, ok := l.Origin(); !ok {
		t.Error("Origin")
	}
	found := func(_ any, ok bool) bool { return ok }
	getters := map[string]bool{
		"ASPath": found(l.ASPath()), "NextHop": found(l.NextHop()), "MED": found(l.MED()),
		"LocalPref": found(l.LocalPref()), "AtomicAggregate": found(l.AtomicAggregate()),
		"Aggregator": found(l.Aggregator()), "Communities": found(l.Communities()),
		"OriginatorID": found(l.OriginatorID()), "ClusterList": found(l.ClusterList()),
		"MPReach": found(l.MPReach()), "MPUnreach": found(l.MPUnreach()),
		"ExtCommunities": found(l.ExtCommunities()), "AS4Path": found(l.AS4Path()),
		"AS4Aggregator": found(l.AS4Aggregator()), "PMSITunnel": found(l.PMSITunnel()),
		"TunnelEncap": found(l.TunnelEncap()), "IPv6ExtCommunities": found(l.IPv6ExtCommunities()),
		"AIGP": found(l.AIGP()), "LargeCommunities": found(l.LargeCommunities()), "OTC": found(l.OTC()),
	}
	for name, ok := range getters {
		if !ok {
			t.Errorf("List.%s not found", name)
		}
	}
	if _, ok := (List{}).MED(); ok {
		t.Error("MED in an empty list")
	}
	// A code held by an Unknown is not returned by a typed getter.
	if _, ok := (List{&Unknown{F: FlagOptional, C: iana.AttrMED}}).MED(); ok {
		t.Error("typed getter returned an Unknown")
	}
	l = l.Set(&MED{Value: 9})
	if m, _ := l.MED(); m.Value != 9 {
		t.Error("Set did not replace")
	}
	n := len(l)
	l = l.Set(&Unknown{F: FlagOptional, C: 250})
	if len(l) != n+1 || !l.Has(250) {
		t.Error("Set did not append")
	}
	l = l.Delete(iana.AttrMED)
	if l.Has(iana.AttrMED) || len(l) != n || l.Get(iana.AttrMED) != nil {
		t.Error("Delete")
	}
}

func TestMPReachNextHops(t *testing.T) {
	rd := nlri.RD{0, 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name     string
		fam      nlri.Family
		global   string
		ll       string
		wantLen  int
		wantNHRD nlri.RD
	}{
		{"ipv4", nlri.IPv4Unicast, "192.0.2.1", "", 4, rd},
		{"ipv6", nlri.IPv6Unicast, "2001:db8::1", "", 16, rd},
		{"ipv6 link-local", nlri.IPv6Unicast, "2001:db8::1", "fe80::1", 32, rd},
		{"ipv4 over ipv6 (RFC 8950)", nlri.IPv4Unicast, "2001:db8::1", "", 16, rd},
		{"vpnv4", nlri.IPv4VPN, "192.0.2.1", "", 12, rd},
		{"vpnv6", nlri.IPv6VPN, "2001:db8::1", "", 24, rd},
		{"vpnv6 link-local", nlri.IPv6VPN, "2001:db8::1", "fe80::1", 48, rd},
		{"vpnv4 over ipv6 (RFC 8950)", nlri.IPv4VPN, "2001:db8::1", "", 24, rd},
		{"evpn", nlri.L2VPNEVPN, "192.0.2.1", "", 4, rd},
		{"evpn ipv6", nlri.L2VPNEVPN, "2001:db8::1", "", 16, rd},
		{"rtc", nlri.IPv4RTC, "192.0.2.1", "", 4, rd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := addr(tt.global)
			var ll netip.Addr
			if tt.ll != "" {
				ll = addr(tt.ll)
			}
			m := NewMPReach(tt.fam, g, ll, nil)
			if len(m.NextHop) != tt.wantLen {
				t.Fatalf("next hop of %d octets, want %d", len(m.NextHop), tt.wantLen)
			}
			gg, gl, grd, err := m.NextHops()
			if err != nil || gg != g || gl != ll || grd != tt.wantNHRD {
				t.Fatalf("NextHops = %v %v %v %v", gg, gl, grd, err)
			}
			enc := Append(nil, m, Options{})
			l, faults := Decode(enc, Options{})
			if len(faults) != 0 {
				t.Fatalf("faults %v", faults)
			}
			if d := diffList(l, List{m}); d != "" {
				t.Fatal(d)
			}
		})
	}
	// A non-zero RD in the next hop is reported.
	m := &MPReach{Family: nlri.IPv4VPN, NextHop: mustHex("0000fde800000064 c0000201")}
	if _, _, r, err := m.NextHops(); err != nil || r.String() != "65000:100" {
		t.Errorf("RD = %v %v", r, err)
	}
	for _, bad := range []*MPReach{
		{Family: nlri.IPv4Unicast},
		{Family: nlri.IPv4Unicast, NextHop: make([]byte, 5)},
	} {
		if _, _, _, err := bad.NextHops(); err == nil {
			t.Errorf("NextHops of %d octets succeeded", len(bad.NextHop))
		}
	}
	if g, _, _, err := (&MPReach{Family: nlri.IPv4FlowSpec}).NextHops(); err != nil || g.IsValid() {
		t.Error("flow spec without next hop")
	}
	if b := AppendNextHop(nil, nlri.IPv4FlowSpec, netip.Addr{}, netip.Addr{}); len(b) != 0 {
		t.Error("AppendNextHop without address")
	}
}

func TestPMSIAndTunnels(t *testing.T) {
	p := NewIngressReplication(addr("2001:db8::9"), nlri.Label(10000))
	if a, ok := p.TunnelAddr(); !ok || a != addr("2001:db8::9") {
		t.Errorf("TunnelAddr = %v %v", a, ok)
	}
	if p.String() != "ingress-replication label=10000 2001:db8::9" {
		t.Errorf("String = %q", p)
	}
	q := &PMSITunnel{TunnelFlags: PMSILeafInfoRequired, Type: iana.PMSIRSVPTEP2MP, TunnelID: []byte{1, 2}}
	if _, ok := q.TunnelAddr(); ok {
		t.Error("TunnelAddr of RSVP-TE")
	}
	if q.String() != "rsvp-te-p2mp label=0 leaf-info-required id=0102" {
		t.Errorf("String = %q", q)
	}
	te := &TunnelEncap{Tunnels: []Tunnel{{Type: iana.TunnelVXLAN, SubTLVs: []SubTLV{{Type: 8, Value: []byte{0x12, 0xb5}}}}}}
	if v, ok := te.Tunnels[0].Sub(SubTLVUDPDestinationPort); !ok || !bytes.Equal(v, []byte{0x12, 0xb5}) {
		t.Error("Sub")
	}
	if _, ok := te.Tunnels[0].Sub(1); ok {
		t.Error("Sub of a missing type")
	}
	if te.String() != "vxlan[8=12b5]" {
		t.Errorf("String = %q", te)
	}
	a := NewAIGP(1 << 40)
	if m, ok := a.Metric(); !ok || m != 1<<40 || a.String() != "1099511627776" {
		t.Error("AIGP metric")
	}
	if (&AIGP{TLVs: []AIGPTLV{{Type: 5}}}).String() != "1 TLVs" {
		t.Error("AIGP without metric")
	}
}

func TestStrings(t *testing.T) {
	for _, tt := range []struct {
		a    interface{ String() string }
		want string
	}{
		{&Origin{Value: OriginIncomplete}, "incomplete"},
		{&NextHop{Addr: addr("192.0.2.1")}, "192.0.2.1"},
		{&MED{Value: 7}, "7"},
		{&LocalPref{Value: 100}, "100"},
		{&Aggregator{AS: 65001, Addr: addr("192.0.2.1")}, "65001 192.0.2.1"},
		{&AS4Aggregator{AS: 4200000000, Addr: addr("192.0.2.1")}, "4200000000 192.0.2.1"},
		{&OriginatorID{ID: addr("10.0.0.1")}, "10.0.0.1"},
		{&ClusterList{IDs: []netip.Addr{addr("10.0.0.1"), addr("10.0.0.2")}}, "10.0.0.1 10.0.0.2"},
		{&OTC{AS: 65001}, "65001"},
		{path4(seq(1), set(2, 3)), "1 {2,3}"},
	} {
		if s := tt.a.String(); s != tt.want {
			t.Errorf("%T: %q, want %q", tt.a, s, tt.want)
		}
	}
	cl := &ClusterList{IDs: []netip.Addr{addr("10.0.0.1")}}
	if !cl.Contains(addr("10.0.0.1")) || cl.Contains(addr("10.0.0.2")) {
		t.Error("ClusterList.Contains")
	}
	p4 := path4(seq(1, 2), set(3, 4))
	if p4.Length() != 3 || len(p4.Flat()) != 4 {
		t.Error("AS4Path Length/Flat")
	}
}

// TestEncodeWrongFamily: addresses of the wrong family are written as
// zeros rather than panicking.
func TestEncodeWrongFamily(t *testing.T) {
	got := Append(nil, &NextHop{Addr: addr("2001:db8::1")}, Options{})
	if !bytes.Equal(got, []byte{0x40, 3, 4, 0, 0, 0, 0}) {
		t.Errorf("%x", got)
	}
	got = Append(nil, &NextHop{Addr: addr("::ffff:192.0.2.1")}, Options{})
	if !bytes.Equal(got, []byte{0x40, 3, 4, 192, 0, 2, 1}) {
		t.Errorf("%x", got)
	}
	got = Append(nil, &Aggregator{AS: 4200000000}, Options{})
	if !bytes.Equal(got, []byte{0xc0, 7, 6, 0x5b, 0xa0, 0, 0, 0, 0}) {
		t.Errorf("%x", got)
	}
}
