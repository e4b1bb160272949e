package attr

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// ExtCommunity is one extended community (RFC 4360 §2): a type octet, a
// sub-type octet (for the types that have one) and six octets of value. It
// is a comparable value; route target matching compares whole values.
type ExtCommunity [8]byte

// Extended community types (IANA "BGP Extended Communities Type").
const (
	ExtTypeTwoOctetAS          uint8 = 0x00 // transitive two-octet AS-specific
	ExtTypeIPv4                uint8 = 0x01 // transitive IPv4-address-specific
	ExtTypeFourOctetAS         uint8 = 0x02 // transitive four-octet AS-specific
	ExtTypeOpaque              uint8 = 0x03 // transitive opaque
	ExtTypeEVPN                uint8 = 0x06 // EVPN (RFC 7153 §5.2.9)
	ExtTypeNonTransTwoOctetAS  uint8 = 0x40 // non-transitive two-octet AS-specific
	ExtTypeNonTransIPv4        uint8 = 0x41
	ExtTypeNonTransFourOctetAS uint8 = 0x42
	ExtTypeNonTransOpaque      uint8 = 0x43
)

// Extended community sub-types (IANA, per type).
const (
	ExtSubRouteTarget    uint8 = 0x02 // AS- and IPv4-specific types (RFC 4360 §4)
	ExtSubRouteOrigin    uint8 = 0x03 // AS- and IPv4-specific types (RFC 4360 §5)
	ExtSubLinkBandwidth  uint8 = 0x04 // non-transitive two-octet AS (draft-ietf-idr-link-bandwidth)
	ExtSubColor          uint8 = 0x0b // opaque (RFC 9012 §4.3)
	ExtSubEncapsulation  uint8 = 0x0c // opaque (RFC 9012 §4.1)
	ExtSubDefaultGateway uint8 = 0x0d // opaque (RFC 7432 §7.8)
	ExtSubMACMobility    uint8 = 0x00 // EVPN (RFC 7432 §7.7)
	ExtSubESILabel       uint8 = 0x01 // EVPN (RFC 7432 §7.5)
	ExtSubESImportRT     uint8 = 0x02 // EVPN (RFC 7432 §7.6)
	ExtSubRouterMAC      uint8 = 0x03 // EVPN (RFC 9135 §8.1)
)

// Type is the type octet (with its IANA-authority and transitive bits).
func (e ExtCommunity) Type() uint8 { return e[0] }

// SubType is the sub-type octet.
func (e ExtCommunity) SubType() uint8 { return e[1] }

// IsTransitive reports whether the community may cross AS boundaries: the
// Transitive bit (0x40) of the type is clear (RFC 4360 §2).
func (e ExtCommunity) IsTransitive() bool { return e[0]&0x40 == 0 }

// Value is the six octets after type and sub-type.
func (e ExtCommunity) Value() [6]byte { return [6]byte(e[2:]) }

// adminKind maps the type octet of a route target or route origin to the
// administrator form (0 two-octet AS, 1 IPv4, 2 four-octet AS), the same
// numbering as RD types (RFC 4364 §4.2).
func (e ExtCommunity) adminKind() (uint16, bool) {
	switch e[0] {
	case ExtTypeTwoOctetAS:
		return 0, true
	case ExtTypeIPv4:
		return 1, true
	case ExtTypeFourOctetAS:
		return 2, true
	}
	return 0, false
}

// IsRouteTarget reports whether e is a route target of any of the three
// forms (RFC 4360 §4, RFC 5668).
func (e ExtCommunity) IsRouteTarget() bool {
	_, ok := e.adminKind()
	return ok && e[1] == ExtSubRouteTarget
}

// IsRouteOrigin reports whether e is a route origin (site of origin) of any
// of the three forms.
func (e ExtCommunity) IsRouteOrigin() bool {
	_, ok := e.adminKind()
	return ok && e[1] == ExtSubRouteOrigin
}

// RouteTarget returns a route target as "asn:nn" or "ip:nn" (a four-octet
// AS below 65536 as "asnL:nn", so that the form survives a round trip).
func (e ExtCommunity) RouteTarget() (string, bool) {
	if !e.IsRouteTarget() {
		return "", false
	}
	k, _ := e.adminKind()
	return formatAdmin(k, e.Value()), true
}

// RouteOrigin returns a route origin in the form RouteTarget uses.
func (e ExtCommunity) RouteOrigin() (string, bool) {
	if !e.IsRouteOrigin() {
		return "", false
	}
	k, _ := e.adminKind()
	return formatAdmin(k, e.Value()), true
}

func newAdmin(typ, sub uint8, v [6]byte) ExtCommunity {
	var e ExtCommunity
	e[0], e[1] = typ, sub
	copy(e[2:], v[:])
	return e
}

func as2Value(as uint16, n uint32) (v [6]byte) {
	binary.BigEndian.PutUint16(v[:], as)
	binary.BigEndian.PutUint32(v[2:], n)
	return v
}

func ipv4Value(a netip.Addr, n uint16) (v [6]byte) {
	a4 := a.Unmap().As4()
	copy(v[:], a4[:])
	binary.BigEndian.PutUint16(v[4:], n)
	return v
}

func as4Value(as uint32, n uint16) (v [6]byte) {
	binary.BigEndian.PutUint32(v[:], as)
	binary.BigEndian.PutUint16(v[4:], n)
	return v
}

// NewRouteTargetAS2 returns the route target as:n with a two-octet AS.
func NewRouteTargetAS2(as uint16, n uint32) ExtCommunity {
	return newAdmin(ExtTypeTwoOctetAS, ExtSubRouteTarget, as2Value(as, n))
}

// NewRouteTargetIPv4 returns the route target a:n with an IPv4 address.
func NewRouteTargetIPv4(a netip.Addr, n uint16) ExtCommunity {
	return newAdmin(ExtTypeIPv4, ExtSubRouteTarget, ipv4Value(a, n))
}

// NewRouteTargetAS4 returns the route target as:n with a four-octet AS
// (RFC 5668).
func NewRouteTargetAS4(as uint32, n uint16) ExtCommunity {
	return newAdmin(ExtTypeFourOctetAS, ExtSubRouteTarget, as4Value(as, n))
}

// NewRouteOriginAS2 returns the route origin as:n with a two-octet AS.
func NewRouteOriginAS2(as uint16, n uint32) ExtCommunity {
	return newAdmin(ExtTypeTwoOctetAS, ExtSubRouteOrigin, as2Value(as, n))
}

// NewRouteOriginIPv4 returns the route origin a:n with an IPv4 address.
func NewRouteOriginIPv4(a netip.Addr, n uint16) ExtCommunity {
	return newAdmin(ExtTypeIPv4, ExtSubRouteOrigin, ipv4Value(a, n))
}

// NewRouteOriginAS4 returns the route origin as:n with a four-octet AS.
func NewRouteOriginAS4(as uint32, n uint16) ExtCommunity {
	return newAdmin(ExtTypeFourOctetAS, ExtSubRouteOrigin, as4Value(as, n))
}

// ParseRouteTarget reads a route target as RouteTarget writes it ("65000:100",
// "192.0.2.1:100", "4200000000:100", "65000L:100"); an optional "rt:",
// "target:" or "route-target:" prefix is accepted. A plain AS above 65535
// selects the four-octet AS form, otherwise the two-octet one.
func ParseRouteTarget(s string) (ExtCommunity, error) {
	s = trimPrefixFold(s, "rt:", "target:", "route-target:")
	k, v, err := parseAdmin(s)
	if err != nil {
		return ExtCommunity{}, errorf("bad route target %q: %v", s, err)
	}
	return newAdmin(uint8(k), ExtSubRouteTarget, v), nil
}

// ParseRouteOrigin reads a route origin like ParseRouteTarget; an optional
// "soo:", "origin:" or "route-origin:" prefix is accepted.
func ParseRouteOrigin(s string) (ExtCommunity, error) {
	s = trimPrefixFold(s, "soo:", "origin:", "route-origin:")
	k, v, err := parseAdmin(s)
	if err != nil {
		return ExtCommunity{}, errorf("bad route origin %q: %v", s, err)
	}
	return newAdmin(uint8(k), ExtSubRouteOrigin, v), nil
}

// NewEncapsulation returns the Encapsulation extended community (RFC 9012
// §4.1) for a tunnel type.
func NewEncapsulation(t iana.TunnelType) ExtCommunity {
	e := ExtCommunity{ExtTypeOpaque, ExtSubEncapsulation}
	binary.BigEndian.PutUint16(e[6:], uint16(t))
	return e
}

// Encapsulation returns the tunnel type of an Encapsulation extended
// community. The four reserved octets are not checked (RFC 9012 §4.1 says to
// ignore them).
func (e ExtCommunity) Encapsulation() (iana.TunnelType, bool) {
	if e[0] != ExtTypeOpaque || e[1] != ExtSubEncapsulation {
		return 0, false
	}
	return iana.TunnelType(binary.BigEndian.Uint16(e[6:])), true
}

// NewMACMobility returns the MAC Mobility extended community (RFC 7432
// §7.7): the sequence number and the sticky (static) flag.
func NewMACMobility(seq uint32, sticky bool) ExtCommunity {
	e := ExtCommunity{ExtTypeEVPN, ExtSubMACMobility}
	if sticky {
		e[2] = 0x01
	}
	binary.BigEndian.PutUint32(e[4:], seq)
	return e
}

// MACMobility returns the sequence number and sticky flag of a MAC Mobility
// extended community.
func (e ExtCommunity) MACMobility() (seq uint32, sticky, ok bool) {
	if e[0] != ExtTypeEVPN || e[1] != ExtSubMACMobility {
		return 0, false, false
	}
	return binary.BigEndian.Uint32(e[4:]), e[2]&0x01 != 0, true
}

// NewESILabel returns the ESI Label extended community (RFC 7432 §7.5): the
// single-active flag and a 20-bit MPLS label.
func NewESILabel(singleActive bool, label uint32) ExtCommunity {
	e := ExtCommunity{ExtTypeEVPN, ExtSubESILabel}
	if singleActive {
		e[2] = 0x01
	}
	l := label << 4
	e[5], e[6], e[7] = byte(l>>16), byte(l>>8), byte(l)
	return e
}

// ESILabel returns the single-active flag and the 20-bit MPLS label of an ESI
// Label extended community.
func (e ExtCommunity) ESILabel() (singleActive bool, label uint32, ok bool) {
	if e[0] != ExtTypeEVPN || e[1] != ExtSubESILabel {
		return false, 0, false
	}
	raw := uint32(e[5])<<16 | uint32(e[6])<<8 | uint32(e[7])
	return e[2]&0x01 != 0, raw >> 4, true
}

// NewESImportRT returns the ES-Import Route Target (RFC 7432 §7.6).
func NewESImportRT(mac [6]byte) ExtCommunity {
	return newAdmin(ExtTypeEVPN, ExtSubESImportRT, mac)
}

// ESImportRT returns the MAC address of an ES-Import Route Target.
func (e ExtCommunity) ESImportRT() ([6]byte, bool) {
	if e[0] != ExtTypeEVPN || e[1] != ExtSubESImportRT {
		return [6]byte{}, false
	}
	return e.Value(), true
}

// NewRouterMAC returns the EVPN Router's MAC extended community (RFC 9135
// §8.1).
func NewRouterMAC(mac [6]byte) ExtCommunity {
	return newAdmin(ExtTypeEVPN, ExtSubRouterMAC, mac)
}

// RouterMAC returns the MAC address of a Router's MAC extended community.
func (e ExtCommunity) RouterMAC() ([6]byte, bool) {
	if e[0] != ExtTypeEVPN || e[1] != ExtSubRouterMAC {
		return [6]byte{}, false
	}
	return e.Value(), true
}

// NewDefaultGateway returns the Default Gateway extended community (RFC 7432
// §7.8).
func NewDefaultGateway() ExtCommunity { return ExtCommunity{ExtTypeOpaque, ExtSubDefaultGateway} }

// IsDefaultGateway reports whether e is the Default Gateway extended
// community.
func (e ExtCommunity) IsDefaultGateway() bool {
	return e[0] == ExtTypeOpaque && e[1] == ExtSubDefaultGateway
}

// NewColor returns the Color extended community (RFC 9012 §4.3).
func NewColor(color uint32) ExtCommunity {
	e := ExtCommunity{ExtTypeOpaque, ExtSubColor}
	binary.BigEndian.PutUint32(e[4:], color)
	return e
}

// Color returns the color of a Color extended community.
func (e ExtCommunity) Color() (uint32, bool) {
	if e[0] != ExtTypeOpaque || e[1] != ExtSubColor {
		return 0, false
	}
	return binary.BigEndian.Uint32(e[4:]), true
}

// NewLinkBandwidth returns the Link Bandwidth extended community
// (draft-ietf-idr-link-bandwidth §2: non-transitive, two-octet AS, the
// bandwidth in bytes per second as an IEEE float).
func NewLinkBandwidth(as uint16, bytesPerSecond float32) ExtCommunity {
	e := ExtCommunity{ExtTypeNonTransTwoOctetAS, ExtSubLinkBandwidth}
	binary.BigEndian.PutUint16(e[2:], as)
	binary.BigEndian.PutUint32(e[4:], math.Float32bits(bytesPerSecond))
	return e
}

// LinkBandwidth returns the AS and the bandwidth (bytes per second) of a
// Link Bandwidth extended community, in its non-transitive form or the
// transitive one some implementations send.
func (e ExtCommunity) LinkBandwidth() (as uint16, bytesPerSecond float32, ok bool) {
	if (e[0] != ExtTypeNonTransTwoOctetAS && e[0] != ExtTypeTwoOctetAS) || e[1] != ExtSubLinkBandwidth {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(e[2:]), math.Float32frombits(binary.BigEndian.Uint32(e[4:])), true
}

// String writes the community in the form ParseExtCommunity reads:
//
//	rt:65000:100  rt:192.0.2.1:100  rt:4200000000:100  rt:65000L:100
//	soo:65000:100 (same forms)      encap:vxlan        color:100
//	default-gateway                 mac-mobility:7[:sticky]
//	esi-label:100[:single-active]   es-import:00:11:22:33:44:55
//	rmac:00:11:22:33:44:55          lb:65000:1.25e+08
//
// Anything else, and a known kind whose reserved or flag bits are not the
// ones the form can show, is "ext:" and the 16 hex digits of the community,
// so that every value survives a round trip.
func (e ExtCommunity) String() string {
	if s, ok := e.RouteTarget(); ok {
		return "rt:" + s
	}
	if s, ok := e.RouteOrigin(); ok {
		return "soo:" + s
	}
	switch {
	case e[0] == ExtTypeOpaque && e[1] == ExtSubEncapsulation && e[2]|e[3]|e[4]|e[5] == 0:
		t, _ := e.Encapsulation()
		if t.Known() {
			return "encap:" + t.String()
		}
		return "encap:" + strconv.Itoa(int(t))
	case e[0] == ExtTypeOpaque && e[1] == ExtSubColor && e[2]|e[3] == 0:
		c, _ := e.Color()
		return "color:" + strconv.FormatUint(uint64(c), 10)
	case e[0] == ExtTypeOpaque && e[1] == ExtSubDefaultGateway && e[2]|e[3]|e[4]|e[5]|e[6]|e[7] == 0:
		return "default-gateway"
	case e[0] == ExtTypeEVPN && e[1] == ExtSubMACMobility && e[2]&^0x01 == 0 && e[3] == 0:
		seq, sticky, _ := e.MACMobility()
		s := "mac-mobility:" + strconv.FormatUint(uint64(seq), 10)
		if sticky {
			s += ":sticky"
		}
		return s
	case e[0] == ExtTypeEVPN && e[1] == ExtSubESILabel && e[2]&^0x01 == 0 && e[3]|e[4] == 0 && e[7]&0x0f == 0:
		single, label, _ := e.ESILabel()
		s := "esi-label:" + strconv.FormatUint(uint64(label), 10)
		if single {
			s += ":single-active"
		}
		return s
	case e[0] == ExtTypeEVPN && e[1] == ExtSubESImportRT:
		return "es-import:" + formatMAC(e.Value())
	case e[0] == ExtTypeEVPN && e[1] == ExtSubRouterMAC:
		return "rmac:" + formatMAC(e.Value())
	case e[0] == ExtTypeNonTransTwoOctetAS && e[1] == ExtSubLinkBandwidth:
		as, bw, _ := e.LinkBandwidth()
		if !math.IsNaN(float64(bw)) && !math.IsInf(float64(bw), 0) && !(bw == 0 && math.Signbit(float64(bw))) {
			return "lb:" + strconv.FormatUint(uint64(as), 10) + ":" + strconv.FormatFloat(float64(bw), 'g', -1, 32)
		}
	}
	return "ext:" + hex.EncodeToString(e[:])
}

// ParseExtCommunity reads an extended community in any form String writes;
// for route targets and origins the prefixes "target:" and "origin:" are
// accepted too, and "rt"/"soo" in any case.
func ParseExtCommunity(s string) (ExtCommunity, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		if strings.EqualFold(s, "default-gateway") {
			return NewDefaultGateway(), nil
		}
		return ExtCommunity{}, errorf("bad extended community %q", s)
	}
	bad := func() (ExtCommunity, error) { return ExtCommunity{}, errorf("bad extended community %q", s) }
	switch strings.ToLower(kind) {
	case "rt", "target", "route-target":
		return ParseRouteTarget(rest)
	case "soo", "origin", "route-origin":
		return ParseRouteOrigin(rest)
	case "encap":
		if n, err := strconv.ParseUint(rest, 10, 16); err == nil {
			return NewEncapsulation(iana.TunnelType(n)), nil
		}
		for t := range 1 << 16 {
			if tt := iana.TunnelType(t); tt.Known() && tt.String() == rest {
				return NewEncapsulation(tt), nil
			}
		}
		return bad()
	case "color":
		n, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			return bad()
		}
		return NewColor(uint32(n)), nil
	case "mac-mobility":
		num, flag, _ := strings.Cut(rest, ":")
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || (flag != "" && flag != "sticky") {
			return bad()
		}
		return NewMACMobility(uint32(n), flag == "sticky"), nil
	case "esi-label":
		num, flag, _ := strings.Cut(rest, ":")
		n, err := strconv.ParseUint(num, 10, 20)
		if err != nil || (flag != "" && flag != "single-active") {
			return bad()
		}
		return NewESILabel(flag == "single-active", uint32(n)), nil
	case "es-import", "rmac":
		mac, err := parseMAC(rest)
		if err != nil {
			return bad()
		}
		if strings.ToLower(kind) == "rmac" {
			return NewRouterMAC(mac), nil
		}
		return NewESImportRT(mac), nil
	case "lb":
		as, bw, ok := strings.Cut(rest, ":")
		a, err1 := strconv.ParseUint(as, 10, 16)
		f, err2 := strconv.ParseFloat(bw, 32)
		if !ok || err1 != nil || err2 != nil {
			return bad()
		}
		return NewLinkBandwidth(uint16(a), float32(f)), nil
	case "ext":
		b, err := hex.DecodeString(rest)
		if err != nil || len(b) != 8 {
			return bad()
		}
		return ExtCommunity(b), nil
	}
	return bad()
}

func formatMAC(m [6]byte) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, x := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[x>>4], digits[x&0xf])
	}
	return string(b)
}

func parseMAC(s string) ([6]byte, error) {
	var m [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, errorf("bad MAC address %q", s)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return m, errorf("bad MAC address %q", s)
		}
		m[i] = byte(v)
	}
	return m, nil
}

func trimPrefixFold(s string, prefixes ...string) string {
	for _, p := range prefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):]
		}
	}
	return s
}

// ExtCommunities is the EXTENDED_COMMUNITIES attribute (type 16, optional
// transitive, RFC 4360), in received order.
type ExtCommunities struct {
	flagBits
	Values []ExtCommunity
}

// Code returns AttrExtendedCommunities.
func (*ExtCommunities) Code() iana.AttrCode { return iana.AttrExtendedCommunities }

// Flags returns the received flags, or optional transitive.
func (a *ExtCommunities) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends eight octets per community.
func (a *ExtCommunities) AppendValue(b []byte, _ Options) []byte {
	for _, e := range a.Values {
		b = append(b, e[:]...)
	}
	return b
}

// Has reports whether e is among the communities.
func (a *ExtCommunities) Has(e ExtCommunity) bool {
	if a == nil {
		return false
	}
	for _, x := range a.Values {
		if x == e {
			return true
		}
	}
	return false
}

// RouteTargets returns the route targets among the communities.
func (a *ExtCommunities) RouteTargets() []ExtCommunity {
	if a == nil {
		return nil
	}
	var out []ExtCommunity
	for _, e := range a.Values {
		if e.IsRouteTarget() {
			out = append(out, e)
		}
	}
	return out
}

// String is the communities as ExtCommunity.String writes them, separated by
// spaces.
func (a *ExtCommunities) String() string {
	parts := make([]string, len(a.Values))
	for i, e := range a.Values {
		parts[i] = e.String()
	}
	return strings.Join(parts, " ")
}

// RFC 7606 §7.14: a length that is not a non-zero multiple of 8 is
// treat-as-withdraw. Unknown types and sub-types are kept (RFC 4360 §2).
func decodeExtCommunities(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) == 0 || len(v)%8 != 0 {
		return nil, d.lengthFault(len(v), "a non-zero multiple of 8")
	}
	vals := make([]ExtCommunity, len(v)/8)
	for i := range vals {
		vals[i] = ExtCommunity(v[8*i:])
	}
	return &ExtCommunities{Values: vals}, nil
}

// IPv6ExtCommunities is the IPv6 Address Specific Extended Community
// attribute (type 25, optional transitive, RFC 5701): each value is a type
// octet, a sub-type octet, a 16-octet IPv6 global administrator and a
// two-octet local administrator.
type IPv6ExtCommunities struct {
	flagBits
	Values [][20]byte
}

// Code returns AttrIPv6ExtendedCommunities.
func (*IPv6ExtCommunities) Code() iana.AttrCode { return iana.AttrIPv6ExtendedCommunities }

// Flags returns the received flags, or optional transitive.
func (a *IPv6ExtCommunities) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends twenty octets per community.
func (a *IPv6ExtCommunities) AppendValue(b []byte, _ Options) []byte {
	for _, e := range a.Values {
		b = append(b, e[:]...)
	}
	return b
}

// String is the communities as FormatIPv6ExtCommunity writes them,
// separated by spaces.
func (a *IPv6ExtCommunities) String() string {
	parts := make([]string, len(a.Values))
	for i, e := range a.Values {
		parts[i] = FormatIPv6ExtCommunity(e)
	}
	return strings.Join(parts, " ")
}

// NewIPv6RouteTarget returns the IPv6-address-specific route target a:n
// (RFC 5701 §3, transitive type 0x00, sub-type 0x02).
func NewIPv6RouteTarget(a netip.Addr, n uint16) [20]byte {
	var e [20]byte
	e[1] = ExtSubRouteTarget
	a16 := a.As16()
	copy(e[2:], a16[:])
	binary.BigEndian.PutUint16(e[18:], n)
	return e
}

// FormatIPv6ExtCommunity writes "rt:[2001:db8::1]:100" or "soo:[...]:n"
// for route targets and origins (transitive type 0x00, RFC 5701 §3), and
// "ext6:" with the 40 hex digits of the value otherwise.
func FormatIPv6ExtCommunity(e [20]byte) string {
	if e[0] == 0x00 && (e[1] == ExtSubRouteTarget || e[1] == ExtSubRouteOrigin) {
		kind := "rt:["
		if e[1] == ExtSubRouteOrigin {
			kind = "soo:["
		}
		return kind + netip.AddrFrom16([16]byte(e[2:18])).String() + "]:" +
			strconv.FormatUint(uint64(binary.BigEndian.Uint16(e[18:])), 10)
	}
	return "ext6:" + hex.EncodeToString(e[:])
}

// ParseIPv6ExtCommunity reads what FormatIPv6ExtCommunity writes.
func ParseIPv6ExtCommunity(s string) ([20]byte, error) {
	var e [20]byte
	if h, ok := strings.CutPrefix(s, "ext6:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 20 {
			return e, errorf("bad IPv6 extended community %q", s)
		}
		return [20]byte(b), nil
	}
	kind, rest, _ := strings.Cut(s, ":[")
	addr, num, ok := strings.Cut(rest, "]:")
	a, err1 := netip.ParseAddr(addr)
	n, err2 := strconv.ParseUint(num, 10, 16)
	if !ok || err1 != nil || err2 != nil || !a.Is6() || a.Zone() != "" {
		return e, errorf("bad IPv6 extended community %q", s)
	}
	switch kind {
	case "rt":
		e[1] = ExtSubRouteTarget
	case "soo":
		e[1] = ExtSubRouteOrigin
	default:
		return e, errorf("bad IPv6 extended community %q", s)
	}
	a16 := a.As16()
	copy(e[2:], a16[:])
	binary.BigEndian.PutUint16(e[18:], uint16(n))
	return e, nil
}

// RFC 7606 §7.15: a length that is not a non-zero multiple of 20 is
// treat-as-withdraw.
func decodeIPv6ExtCommunities(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) == 0 || len(v)%20 != 0 {
		return nil, d.lengthFault(len(v), "a non-zero multiple of 20")
	}
	vals := make([][20]byte, len(v)/20)
	for i := range vals {
		vals[i] = [20]byte(v[20*i:])
	}
	return &IPv6ExtCommunities{Values: vals}, nil
}
