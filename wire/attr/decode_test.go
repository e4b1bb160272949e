package attr

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// raw builds one attribute: flags, code, a one-octet length (two octets
// when flags has the extended-length bit) and the value.
func raw(f Flags, code iana.AttrCode, v ...byte) []byte {
	if f&FlagExtendedLength != 0 {
		return append([]byte{byte(f), byte(code), byte(len(v) >> 8), byte(len(v))}, v...)
	}
	return append([]byte{byte(f), byte(code), byte(len(v))}, v...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func zeros(n int) []byte { return make([]byte, n) }

// TestRFC7606 checks the action and subcode for each attribute's length and
// value rules (RFC 7606 §7 and the attributes' own RFCs), one case per rule,
// and that each fault's data is exactly the offending attribute.
func TestRFC7606(t *testing.T) {
	const (
		wk = FlagTransitive
		ot = FlagOptional | FlagTransitive
		on = FlagOptional
	)
	as4 := Options{AS4: true}
	as2 := Options{}
	tests := []struct {
		name   string
		opt    Options
		attr   []byte
		action fault.Action // fault.None: must decode cleanly
		sub    iana.UpdateSubcode
	}{
		{"origin ok", as4, raw(wk, iana.AttrOrigin, 2), fault.None, 0},
		{"origin empty", as4, raw(wk, iana.AttrOrigin), withdraw, iana.UpdateAttributeLengthError},
		{"origin 3", as4, raw(wk, iana.AttrOrigin, 3), withdraw, iana.UpdateInvalidOriginAttribute},
		{"origin 255", as4, raw(wk, iana.AttrOrigin, 255), withdraw, iana.UpdateInvalidOriginAttribute},

		{"as_path 2-octet ok", as2, raw(wk, iana.AttrASPath, 2, 1, 0xfd, 0xe8), fault.None, 0},
		{"as_path 2-octet read as 4-octet", as4, raw(wk, iana.AttrASPath, 2, 1, 0xfd, 0xe8), withdraw, iana.UpdateMalformedASPath},
		{"as_path set ok", as4, raw(wk, iana.AttrASPath, 1, 1, 0, 0, 0xfd, 0xe8), fault.None, 0},
		{"as_path type 0", as4, raw(wk, iana.AttrASPath, 0, 1, 0, 0, 0xfd, 0xe8), withdraw, iana.UpdateMalformedASPath},
		{"as_path single octet", as4, raw(wk, iana.AttrASPath, 2), withdraw, iana.UpdateMalformedASPath},
		{"as_path zero in set", as2, raw(wk, iana.AttrASPath, 1, 2, 0xfd, 0xe8, 0, 0), withdraw, iana.UpdateMalformedASPath},

		{"next_hop 3", as4, raw(wk, iana.AttrNextHop, 1, 2, 3), withdraw, iana.UpdateAttributeLengthError},
		{"next_hop 5", as4, raw(wk, iana.AttrNextHop, 1, 2, 3, 4, 5), withdraw, iana.UpdateAttributeLengthError},
		{"med 0", as4, raw(on, iana.AttrMED), withdraw, iana.UpdateAttributeLengthError},
		{"med 8", as4, raw(on, iana.AttrMED, zeros(8)...), withdraw, iana.UpdateAttributeLengthError},
		{"local_pref 3", as4, raw(wk, iana.AttrLocalPref, 0, 0, 1), withdraw, iana.UpdateAttributeLengthError},
		{"atomic_aggregate 4", as4, raw(wk, iana.AttrAtomicAggregate, zeros(4)...), discard, iana.UpdateAttributeLengthError},

		{"aggregator 6 on 2-octet", as2, raw(ot, iana.AttrAggregator, 0xfd, 0xe8, 1, 2, 3, 4), fault.None, 0},
		{"aggregator 8 on 2-octet", as2, raw(ot, iana.AttrAggregator, 0, 0, 0xfd, 0xe8, 1, 2, 3, 4), discard, iana.UpdateAttributeLengthError},
		{"aggregator 7", as4, raw(ot, iana.AttrAggregator, zeros(7)...), discard, iana.UpdateAttributeLengthError},
		{"aggregator AS 0 2-octet", as2, raw(ot, iana.AttrAggregator, 0, 0, 1, 2, 3, 4), discard, iana.UpdateOptionalAttributeError},

		{"communities 5", as4, raw(ot, iana.AttrCommunities, zeros(5)...), withdraw, iana.UpdateAttributeLengthError},
		{"communities 0", as4, raw(ot, iana.AttrCommunities), withdraw, iana.UpdateAttributeLengthError},
		{"originator_id 0", as4, raw(on, iana.AttrOriginatorID), withdraw, iana.UpdateAttributeLengthError},
		{"cluster_list 4 ok", as4, raw(on, iana.AttrClusterList, 1, 2, 3, 4), fault.None, 0},
		{"cluster_list 7", as4, raw(on, iana.AttrClusterList, zeros(7)...), withdraw, iana.UpdateAttributeLengthError},

		{"mp_reach empty", as4, raw(on, iana.AttrMPReachNLRI), fault.SessionReset, iana.UpdateAttributeLengthError},
		{"mp_reach afi/safi only", as4, raw(on, iana.AttrMPReachNLRI, 0, 2, 1), familyAction, iana.UpdateAttributeLengthError},
		{"mp_reach no reserved", as4, raw(on, iana.AttrMPReachNLRI, 0, 2, 1, 0), familyAction, iana.UpdateAttributeLengthError},
		{"mp_reach ipv6 nh 0", as4, raw(on, iana.AttrMPReachNLRI, 0, 2, 1, 0, 0), familyAction, iana.UpdateOptionalAttributeError},
		{"mp_reach vpnv4 nh 4", as4, raw(on, iana.AttrMPReachNLRI, 0, 1, 128, 4, 1, 2, 3, 4, 0), familyAction, iana.UpdateOptionalAttributeError},
		{"mp_reach vpnv6 nh 24", as4, raw(on, iana.AttrMPReachNLRI, append(append([]byte{0, 2, 128, 24}, zeros(24)...), 0)...), fault.None, 0},
		{"mp_reach evpn nh 12", as4, raw(on, iana.AttrMPReachNLRI, append(append([]byte{0, 25, 70, 12}, zeros(12)...), 0)...), familyAction, iana.UpdateOptionalAttributeError},
		{"mp_reach unknown family nh 7", as4, raw(on, iana.AttrMPReachNLRI, append(append([]byte{0, 99, 9, 7}, zeros(7)...), 0)...), fault.None, 0},
		{"mp_unreach 2", as4, raw(on, iana.AttrMPUnreachNLRI, 0, 2), fault.SessionReset, iana.UpdateAttributeLengthError},

		{"ext_communities 0", as4, raw(ot, iana.AttrExtendedCommunities), withdraw, iana.UpdateAttributeLengthError},
		{"ext_communities 9", as4, raw(ot, iana.AttrExtendedCommunities, zeros(9)...), withdraw, iana.UpdateAttributeLengthError},
		{"as4_path 2-octet layout", as2, raw(ot, iana.AttrAS4Path, 2, 1, 0xfd, 0xe8), discard, iana.UpdateMalformedASPath},
		{"as4_path AS 0", as2, raw(ot, iana.AttrAS4Path, 2, 1, 0, 0, 0, 0), discard, iana.UpdateMalformedASPath},
		{"as4_path confed kept", as2, raw(ot, iana.AttrAS4Path, 3, 1, 0, 0, 0xfd, 0xe8), fault.None, 0},
		{"as4_aggregator 6", as2, raw(ot, iana.AttrAS4Aggregator, zeros(6)...), discard, iana.UpdateAttributeLengthError},
		{"pmsi 4", as4, raw(ot, iana.AttrPMSITunnel, zeros(4)...), withdraw, iana.UpdateAttributeLengthError},
		{"pmsi ingress replication ipv6", as4, raw(ot, iana.AttrPMSITunnel, append([]byte{0, 6, 0, 0, 0}, zeros(16)...)...), fault.None, 0},
		{"tunnel_encap 3", as4, raw(ot, iana.AttrTunnelEncap, 0, 8, 0), withdraw, iana.UpdateOptionalAttributeError},
		{"tunnel_encap sub-TLV header cut", as4, raw(ot, iana.AttrTunnelEncap, 0, 8, 0, 1, 1), withdraw, iana.UpdateOptionalAttributeError},
		{"tunnel_encap long sub-TLV header cut", as4, raw(ot, iana.AttrTunnelEncap, 0, 8, 0, 2, 200, 0), withdraw, iana.UpdateOptionalAttributeError},
		{"ipv6_ext_communities 0", as4, raw(ot, iana.AttrIPv6ExtendedCommunities), withdraw, iana.UpdateAttributeLengthError},
		{"aigp TLV header cut", as4, raw(on, iana.AttrAIGP, 1, 0), discard, iana.UpdateOptionalAttributeError},
		{"aigp TLV length 2", as4, raw(on, iana.AttrAIGP, 1, 0, 2), discard, iana.UpdateOptionalAttributeError},
		{"aigp unknown TLV kept", as4, raw(on, iana.AttrAIGP, 9, 0, 4, 7), fault.None, 0},
		{"aigp empty", as4, raw(on, iana.AttrAIGP), fault.None, 0},
		{"large_communities 0", as4, raw(ot, iana.AttrLargeCommunities), withdraw, iana.UpdateAttributeLengthError},
		{"large_communities 13", as4, raw(ot, iana.AttrLargeCommunities, zeros(13)...), withdraw, iana.UpdateAttributeLengthError},
		{"otc 8", as4, raw(ot, iana.AttrOTC, zeros(8)...), withdraw, iana.UpdateAttributeLengthError},

		{"unknown well-known", as4, raw(wk, 200, 1), fault.SessionReset, iana.UpdateUnrecognizedWellKnownAttribute},
		{"unknown well-known non-transitive", as4, raw(0, 201), fault.SessionReset, iana.UpdateUnrecognizedWellKnownAttribute},
		{"code 0 optional kept", as4, raw(ot, 0, 1), fault.None, 0},
		{"code 255 optional kept", as4, raw(on, 255), fault.None, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, faults := Decode(tt.attr, tt.opt)
			checkFaults(t, tt.attr, faults)
			if tt.action == fault.None {
				if len(faults) != 0 {
					t.Fatalf("faults %v", faults)
				}
				if len(l) != 1 {
					t.Fatalf("got %d attributes, want 1", len(l))
				}
				if enc := AppendList(nil, l, tt.opt); !bytes.Equal(enc, tt.attr) {
					t.Fatalf("re-encoded %x, want %x", enc, tt.attr)
				}
				return
			}
			if len(faults) != 1 {
				t.Fatalf("faults %v, want one", faults)
			}
			f := faults[0]
			if f.Action != tt.action || iana.UpdateSubcode(f.Subcode) != tt.sub || f.Code != iana.NotifUpdateMessage {
				t.Fatalf("fault %v, want %s / %s", f, tt.action, tt.sub)
			}
			if !bytes.Equal(f.Data, tt.attr) {
				t.Fatalf("fault data %x, want the whole attribute %x", f.Data, tt.attr)
			}
			if f.Attr != iana.AttrCode(tt.attr[1]) {
				t.Fatalf("fault attribute %s, want %s", f.Attr, iana.AttrCode(tt.attr[1]))
			}
			if len(l) != 0 {
				t.Fatalf("malformed attribute returned: %v", l)
			}
		})
	}
}

// TestFlagsRFC7606 sets each known code's Optional/Transitive bits to every
// wrong combination: treat-as-withdraw, or attribute discard where the
// attribute's rules say discard (RFC 7606 §3 c). Partial and extended-length
// bits are not checked.
func TestFlagsRFC7606(t *testing.T) {
	values := map[iana.AttrCode][]byte{
		iana.AttrOrigin: {0}, iana.AttrASPath: {}, iana.AttrNextHop: {1, 2, 3, 4}, iana.AttrMED: {0, 0, 0, 1},
		iana.AttrLocalPref: {0, 0, 0, 1}, iana.AttrAtomicAggregate: {}, iana.AttrAggregator: {0, 0, 0, 1, 1, 2, 3, 4},
		iana.AttrCommunities: {0, 0, 0, 1}, iana.AttrOriginatorID: {1, 2, 3, 4}, iana.AttrClusterList: {1, 2, 3, 4},
		iana.AttrMPReachNLRI: {0, 1, 1, 4, 1, 2, 3, 4, 0}, iana.AttrMPUnreachNLRI: {0, 1, 1},
		iana.AttrExtendedCommunities: zeros(8), iana.AttrAS4Path: {2, 1, 0, 0, 0, 1},
		iana.AttrAS4Aggregator: {0, 0, 0, 1, 1, 2, 3, 4}, iana.AttrPMSITunnel: zeros(5), iana.AttrTunnelEncap: {},
		iana.AttrIPv6ExtendedCommunities: zeros(20), iana.AttrAIGP: {}, iana.AttrLargeCommunities: zeros(12),
		iana.AttrOTC: {0, 0, 0, 1},
	}
	for code := range 256 {
		c := iana.AttrCode(code)
		if !Known(c) {
			continue
		}
		v, ok := values[c]
		if !ok {
			t.Fatalf("no test value for %s", c)
		}
		canon := CanonicalFlags(c)
		for _, f := range []Flags{0, FlagTransitive, FlagOptional, FlagOptional | FlagTransitive} {
			for _, extra := range []Flags{0, FlagPartial | FlagExtendedLength | 0x0f} {
				a := raw(f|extra, c, v...)
				l, faults := Decode(a, Options{AS4: true})
				checkFaults(t, a, faults)
				if f == canon {
					if len(faults) != 0 || len(l) != 1 || l[0].Flags() != f|extra {
						t.Errorf("%s flags %s: faults %v, list %v", c, f|extra, faults, l)
					}
					if enc := AppendList(nil, l, Options{AS4: true}); !bytes.Equal(enc, a) {
						t.Errorf("%s flags %s: re-encoded %x, want %x", c, f|extra, enc, a)
					}
					continue
				}
				want := fault.TreatAsWithdraw
				if specs[c].bad == fault.AttributeDiscard {
					want = fault.AttributeDiscard
				}
				if len(faults) != 1 || faults[0].Action != want || iana.UpdateSubcode(faults[0].Subcode) != iana.UpdateAttributeFlagsError {
					t.Errorf("%s flags %s: faults %v, want one %s Attribute Flags Error", c, f|extra, faults, want)
					continue
				}
				if want == fault.TreatAsWithdraw && len(l) != 1 {
					t.Errorf("%s flags %s: value not returned beside a treat-as-withdraw flags fault", c, f|extra)
				}
			}
		}
	}
}

// TestDecodeKeepsGoing checks that every fault of an UPDATE is reported,
// that what parses is returned, and that the worst fault wins.
func TestDecodeKeepsGoing(t *testing.T) {
	in := cat(
		raw(FlagTransitive, iana.AttrOrigin, 0),
		raw(FlagTransitive, iana.AttrAtomicAggregate, 1),                          // discard
		raw(FlagOptional, iana.AttrMED, 0, 0, 0, 5),                               // ok
		raw(FlagOptional|FlagTransitive, iana.AttrCommunities, 1),                 // withdraw
		raw(FlagTransitive, iana.AttrOrigin, 1),                                   // repeat: discard
		raw(FlagOptional|FlagTransitive, iana.AttrLargeCommunities, zeros(12)...), // ok
	)
	l, faults := Decode(in, Options{AS4: true})
	checkFaults(t, in, faults)
	if len(faults) != 3 {
		t.Fatalf("faults %v, want 3", faults)
	}
	if w := fault.Worst(faults); w.Action != fault.TreatAsWithdraw || w.Attr != iana.AttrCommunities {
		t.Fatalf("worst %v", w)
	}
	var codes []iana.AttrCode
	for _, a := range l {
		codes = append(codes, a.Code())
	}
	want := []iana.AttrCode{iana.AttrOrigin, iana.AttrMED, iana.AttrLargeCommunities}
	if len(codes) != len(want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	if o, _ := l.Origin(); o.Value != OriginIGP {
		t.Fatalf("the first ORIGIN must win, got %s", o)
	}
}

// TestRepeatAfterMalformed: a repeat of an attribute whose first occurrence
// was malformed is still a repeat (RFC 7606 §3 g keeps only the first).
func TestRepeatAfterMalformed(t *testing.T) {
	in := cat(raw(FlagTransitive, iana.AttrOrigin, 9), raw(FlagTransitive, iana.AttrOrigin, 0))
	l, faults := Decode(in, Options{AS4: true})
	if len(faults) != 2 || len(l) != 0 {
		t.Fatalf("faults %v, list %v", faults, l)
	}
}

// TestNoAliasing checks that decoded values do not share the input buffer.
func TestNoAliasing(t *testing.T) {
	var in []byte
	for _, v := range loadVectors(t) {
		if !v.bad && v.opt.AS4 {
			in = append(in, v.bytes...)
		}
	}
	// Keep only the first of each code so that the whole decodes cleanly.
	l, _ := Decode(in, Options{AS4: true})
	clean := AppendList(nil, l, Options{AS4: true})
	buf := append([]byte(nil), clean...)
	l, faults := Decode(buf, Options{AS4: true})
	if len(faults) != 0 {
		t.Fatalf("faults %v", faults)
	}
	for i := range buf {
		buf[i] = 0xa5
	}
	if enc := AppendList(nil, l, Options{AS4: true}); !bytes.Equal(enc, clean) {
		t.Fatalf("decoded values changed with the input buffer:\n got %x\nwant %x", enc, clean)
	}
}

func TestDecodeValue(t *testing.T) {
	a, f := DecodeValue(iana.AttrMED, FlagOptional, []byte{0, 0, 1, 0}, Options{})
	if f != nil || a.(*MED).Value != 256 || a.Flags() != FlagOptional {
		t.Fatalf("MED: %v %v", a, f)
	}
	_, f = DecodeValue(iana.AttrMED, FlagOptional, []byte{0, 0, 1}, Options{})
	if f == nil || f.Action != fault.TreatAsWithdraw || !bytes.Equal(f.Data, []byte{0x80, 4, 3, 0, 0, 1}) {
		t.Fatalf("short MED: %v", f)
	}
	_, f = DecodeValue(iana.AttrMED, FlagTransitive, []byte{0, 0, 1, 0}, Options{})
	if f == nil || iana.UpdateSubcode(f.Subcode) != iana.UpdateAttributeFlagsError {
		t.Fatalf("MED with well-known flags: %v", f)
	}
	a, f = DecodeValue(77, FlagOptional|FlagTransitive, []byte{1}, Options{})
	if u, ok := a.(*Unknown); f != nil || !ok || u.C != 77 {
		t.Fatalf("unknown: %v %v", a, f)
	}
	_, f = DecodeValue(77, FlagTransitive, []byte{1}, Options{})
	if f == nil || f.Action != fault.SessionReset {
		t.Fatalf("unknown well-known: %v", f)
	}
	long := make([]byte, 300)
	_, f = DecodeValue(iana.AttrCommunities, FlagOptional|FlagTransitive, long[:299], Options{})
	if f == nil || len(f.Data) != 4+299 || Flags(f.Data[0])&FlagExtendedLength == 0 {
		t.Fatalf("long communities: %v", f)
	}
}

func TestFaultFamily(t *testing.T) {
	_, faults := Decode(raw(FlagOptional, iana.AttrMPReachNLRI, 0, 2, 128, 4, 1, 2, 3, 4, 0), Options{AS4: true})
	if len(faults) != 1 {
		t.Fatalf("faults %v", faults)
	}
	if fam, ok := FaultFamily(faults[0]); !ok || fam != nlri.IPv6VPN {
		t.Fatalf("FaultFamily = %v %v", fam, ok)
	}
	_, faults = Decode(raw(FlagOptional|FlagExtendedLength, iana.AttrMPUnreachNLRI, 0, 2), Options{AS4: true})
	if _, ok := FaultFamily(faults[0]); ok {
		t.Fatal("FaultFamily read a family from a 2-octet MP_UNREACH_NLRI")
	}
	if _, ok := FaultFamily(nil); ok {
		t.Fatal("FaultFamily(nil)")
	}
	_, faults = Decode(raw(FlagTransitive, iana.AttrOrigin, 7), Options{})
	if _, ok := FaultFamily(faults[0]); ok {
		t.Fatal("FaultFamily of an ORIGIN fault")
	}
}

func TestDecodeEmpty(t *testing.T) {
	l, faults := Decode(nil, Options{})
	if l != nil || faults != nil {
		t.Fatalf("%v %v", l, faults)
	}
}

func TestLongAttributeRoundTrip(t *testing.T) {
	// 100 communities: 400 octets, needs the extended length.
	c := &Communities{}
	for i := range 100 {
		c.Values = append(c.Values, uint32(i)+1)
	}
	enc := Append(nil, c, Options{})
	if Flags(enc[0]) != FlagOptional|FlagTransitive|FlagExtendedLength || binary.BigEndian.Uint16(enc[2:]) != 400 {
		t.Fatalf("header %x", enc[:4])
	}
	// An attribute appended after existing bytes keeps them.
	enc2 := Append([]byte{9, 9}, c, Options{})
	if !bytes.Equal(enc2[2:], enc) || enc2[0] != 9 {
		t.Fatal("Append after a prefix differs")
	}
	l, faults := Decode(enc, Options{})
	if len(faults) != 0 || len(l) != 1 {
		t.Fatalf("%v %v", l, faults)
	}
	if got := l[0].(*Communities); len(got.Values) != 100 || got.Values[99] != 100 {
		t.Fatalf("values %v", got.Values)
	}
	if !bytes.Equal(AppendList(nil, l, Options{}), enc) {
		t.Fatal("re-encoding differs")
	}
}
