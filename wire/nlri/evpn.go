package nlri

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// EVPN NLRI (RFC 7432 §7) are a 1-octet route type, a 1-octet length and a
// body whose layout the route type selects; with ADD-PATH a path identifier
// comes first. Route types 1 to 4 are RFC 7432's, type 5 RFC 9136's; other
// types are kept byte-exact as EVPNUnknown.
//
// String forms are the route's key: the fields RFC 7432 §7.1-7.4 and
// RFC 9136 §3.1 say are part of the prefix, in FRR's bracketed style with the
// route distinguisher added (a key without it is ambiguous across RDs):
//
//	[1]:[RD]:[ESI]:[tag]                       Ethernet auto-discovery
//	[2]:[RD]:[tag]:[48]:[MAC]                  MAC/IP advertisement, no IP
//	[2]:[RD]:[tag]:[48]:[MAC]:[32|128]:[IP]    MAC/IP advertisement with IP
//	[3]:[RD]:[tag]:[32|128]:[originator IP]    inclusive multicast Ethernet tag
//	[4]:[RD]:[ESI]:[32|128]:[originator IP]    Ethernet segment
//	[5]:[RD]:[tag]:[prefix length]:[prefix]    IP prefix
//	[T]:[0x<body in hex>]                      any other route type T
//
// for example "[2]:[65000:1]:[0]:[48]:[aa:bb:cc:dd:ee:ff]:[32]:[10.0.0.1]".
// The tag is decimal, an RD as RD.String writes it, an ESI as ESI.String.
// Labels, the ESI of types 2 and 5 and the gateway of type 5 are not part of
// the key and do not appear; " path-id N" follows when the path identifier is
// not zero.

// EVPN is one EVPN route of any route type.
type EVPN interface {
	NLRI
	// RouteType is the EVPN route type (RFC 7432 §7).
	RouteType() iana.EVPNRouteType
}

// ESI is an Ethernet segment identifier (RFC 7432 §5): a type octet and nine
// octets of value. The all-zero ESI names a single-homed site.
type ESI [10]byte

// Type returns the ESI type, its first octet.
func (e ESI) Type() uint8 { return e[0] }

// String is the ten octets in lower-case hex separated by colons,
// "00:11:22:33:44:55:66:77:88:99".
func (e ESI) String() string { return colonHex(e[:]) }

// ParseESI reads an ESI as String writes it.
func ParseESI(s string) (ESI, error) {
	var e ESI
	if err := parseColonHex(e[:], s); err != nil {
		return e, fmt.Errorf("ESI %q: %w", s, err)
	}
	return e, nil
}

// MAC is a 48-bit IEEE MAC address.
type MAC [6]byte

// String is the address in lower-case hex separated by colons,
// "aa:bb:cc:dd:ee:ff".
func (m MAC) String() string { return colonHex(m[:]) }

// ParseMAC reads a 48-bit MAC address in any form net.ParseMAC accepts.
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return MAC{}, err
	}
	if len(hw) != 6 {
		return MAC{}, fmt.Errorf("MAC address %q is not 48 bits", s)
	}
	return MAC(hw), nil
}

// EthernetAD is an Ethernet auto-discovery route (type 1, RFC 7432 §7.1).
type EthernetAD struct {
	PathID      uint32
	RD          RD
	ESI         ESI
	EthernetTag uint32
	Label       Label
}

// MACIP is a MAC/IP advertisement route (type 2, RFC 7432 §7.2).
type MACIP struct {
	PathID      uint32
	RD          RD
	ESI         ESI
	EthernetTag uint32
	MAC         MAC
	// IP is the invalid netip.Addr when the route carries no IP address
	// (IP Address Length 0); otherwise an IPv4 (4 octets) or IPv6 (16)
	// address.
	IP netip.Addr
	// Labels holds MPLS Label1 and, when present, MPLS Label2 (the L3 VNI
	// or label): one or two entries.
	Labels []Label
}

// InclusiveMulticast is an inclusive multicast Ethernet tag route (type 3,
// RFC 7432 §7.3).
type InclusiveMulticast struct {
	PathID       uint32
	RD           RD
	EthernetTag  uint32
	OriginatorIP netip.Addr
}

// EthernetSegment is an Ethernet segment route (type 4, RFC 7432 §7.4).
type EthernetSegment struct {
	PathID       uint32
	RD           RD
	ESI          ESI
	OriginatorIP netip.Addr
}

// IPPrefix is an IP prefix route (type 5, RFC 9136 §3.1). The prefix and the
// gateway are of the same family: 34 octets for IPv4, 58 for IPv6.
type IPPrefix struct {
	PathID      uint32
	RD          RD
	ESI         ESI
	EthernetTag uint32
	// Prefix keeps the address octets as received, bits past the length
	// included (the field has a fixed size).
	Prefix netip.Prefix
	// Gateway is the invalid netip.Addr when the field is all zeros (no
	// gateway overlay index, RFC 9136 §3.2).
	Gateway netip.Addr
	Label   Label
}

// EVPNUnknown is a route of a type this package does not parse, kept as
// received: Data is the body after the type and length octets. Decode never
// makes one of types 1 to 5; one built with such a type encodes as given but
// decodes as that type (or fails).
type EVPNUnknown struct {
	PathID uint32
	Type   iana.EVPNRouteType
	Data   []byte
}

// Fixed parts of the bodies (RFC 7432 §7.1-7.4, RFC 9136 §3.1).
const (
	evpnADLen      = 8 + 10 + 4 + 3 // RD, ESI, tag, label
	evpnMACIPFixed = 8 + 10 + 4 + 1 + 6 + 1
	evpnIMETFixed  = 8 + 4 + 1
	evpnESFixed    = 8 + 10 + 1
	evpnPrefix4Len = 8 + 10 + 4 + 1 + 4 + 4 + 3
	evpnPrefix6Len = 8 + 10 + 4 + 1 + 16 + 16 + 3
	evpnMACLenBits = 48
)

// RouteType implements EVPN.
func (EthernetAD) RouteType() iana.EVPNRouteType         { return iana.EVPNEthernetAutoDiscovery }
func (MACIP) RouteType() iana.EVPNRouteType              { return iana.EVPNMACIPAdvertisement }
func (InclusiveMulticast) RouteType() iana.EVPNRouteType { return iana.EVPNInclusiveMulticast }
func (EthernetSegment) RouteType() iana.EVPNRouteType    { return iana.EVPNEthernetSegment }
func (IPPrefix) RouteType() iana.EVPNRouteType           { return iana.EVPNIPPrefix }
func (u EVPNUnknown) RouteType() iana.EVPNRouteType      { return u.Type }

// Family returns L2VPNEVPN.
func (EthernetAD) Family() Family         { return L2VPNEVPN }
func (MACIP) Family() Family              { return L2VPNEVPN }
func (InclusiveMulticast) Family() Family { return L2VPNEVPN }
func (EthernetSegment) Family() Family    { return L2VPNEVPN }
func (IPPrefix) Family() Family           { return L2VPNEVPN }
func (EVPNUnknown) Family() Family        { return L2VPNEVPN }

// String forms are described at the top of evpn.go.
func (r EthernetAD) String() string {
	return withPathID("[1]:["+r.RD.String()+"]:["+r.ESI.String()+"]:["+utoa(r.EthernetTag)+"]", r.PathID)
}

func (r MACIP) String() string {
	s := "[2]:[" + r.RD.String() + "]:[" + utoa(r.EthernetTag) + "]:[48]:[" + r.MAC.String() + "]"
	if r.IP.IsValid() {
		s += ":" + bracketAddr(r.IP)
	}
	return withPathID(s, r.PathID)
}

func (r InclusiveMulticast) String() string {
	return withPathID("[3]:["+r.RD.String()+"]:["+utoa(r.EthernetTag)+"]:"+bracketAddr(r.OriginatorIP), r.PathID)
}

func (r EthernetSegment) String() string {
	return withPathID("[4]:["+r.RD.String()+"]:["+r.ESI.String()+"]:"+bracketAddr(r.OriginatorIP), r.PathID)
}

func (r IPPrefix) String() string {
	return withPathID("[5]:["+r.RD.String()+"]:["+utoa(r.EthernetTag)+"]:["+
		strconv.Itoa(r.Prefix.Bits())+"]:["+r.Prefix.Addr().String()+"]", r.PathID)
}

func (r EVPNUnknown) String() string {
	return withPathID("["+strconv.Itoa(int(r.Type))+"]:[0x"+hex.EncodeToString(r.Data)+"]", r.PathID)
}

// AppendTo appends the wire form.
func (r EthernetAD) AppendTo(b []byte, addPath bool) []byte {
	b, at := evpnHeader(b, r.PathID, r.RouteType(), addPath)
	b = append(b, r.RD[:]...)
	b = append(b, r.ESI[:]...)
	b = binary.BigEndian.AppendUint32(b, r.EthernetTag)
	b = appendLabel(b, r.Label)
	return evpnFinish(b, at)
}

// AppendTo appends the wire form; Labels should hold one or two entries.
func (r MACIP) AppendTo(b []byte, addPath bool) []byte {
	b, at := evpnHeader(b, r.PathID, r.RouteType(), addPath)
	b = append(b, r.RD[:]...)
	b = append(b, r.ESI[:]...)
	b = binary.BigEndian.AppendUint32(b, r.EthernetTag)
	b = append(b, evpnMACLenBits)
	b = append(b, r.MAC[:]...)
	b = appendLenAddr(b, r.IP)
	b = appendLabels(b, r.Labels)
	return evpnFinish(b, at)
}

// AppendTo appends the wire form; OriginatorIP must be valid.
func (r InclusiveMulticast) AppendTo(b []byte, addPath bool) []byte {
	b, at := evpnHeader(b, r.PathID, r.RouteType(), addPath)
	b = append(b, r.RD[:]...)
	b = binary.BigEndian.AppendUint32(b, r.EthernetTag)
	b = appendLenAddr(b, r.OriginatorIP)
	return evpnFinish(b, at)
}

// AppendTo appends the wire form; OriginatorIP must be valid.
func (r EthernetSegment) AppendTo(b []byte, addPath bool) []byte {
	b, at := evpnHeader(b, r.PathID, r.RouteType(), addPath)
	b = append(b, r.RD[:]...)
	b = append(b, r.ESI[:]...)
	b = appendLenAddr(b, r.OriginatorIP)
	return evpnFinish(b, at)
}

// AppendTo appends the wire form: the 34-octet form when the prefix is IPv4,
// the 58-octet one otherwise. A Gateway that is invalid, or not of the
// prefix's family, is written as zeros.
func (r IPPrefix) AppendTo(b []byte, addPath bool) []byte {
	b, at := evpnHeader(b, r.PathID, r.RouteType(), addPath)
	b = append(b, r.RD[:]...)
	b = append(b, r.ESI[:]...)
	b = binary.BigEndian.AppendUint32(b, r.EthernetTag)
	b = append(b, byte(max(r.Prefix.Bits(), 0)))
	if r.Prefix.Addr().Is4() {
		a := r.Prefix.Addr().As4()
		b = append(b, a[:]...)
		var g [4]byte
		if r.Gateway.Is4() {
			g = r.Gateway.As4()
		}
		b = append(b, g[:]...)
	} else {
		var a, g [16]byte
		if r.Prefix.Addr().IsValid() {
			a = r.Prefix.Addr().As16()
		}
		if r.Gateway.Is6() {
			g = r.Gateway.As16()
		}
		b = append(b, a[:]...)
		b = append(b, g[:]...)
	}
	b = appendLabel(b, r.Label)
	return evpnFinish(b, at)
}

// AppendTo appends the wire form; Data longer than 255 octets does not
// encode correctly.
func (r EVPNUnknown) AppendTo(b []byte, addPath bool) []byte {
	b, at := evpnHeader(b, r.PathID, r.Type, addPath)
	b = append(b, r.Data...)
	return evpnFinish(b, at)
}

// evpnHeader writes the path identifier, the route type and a placeholder
// length, and returns where the length octet is.
func evpnHeader(b []byte, pathID uint32, t iana.EVPNRouteType, addPath bool) ([]byte, int) {
	if addPath {
		b = binary.BigEndian.AppendUint32(b, pathID)
	}
	b = append(b, byte(t), 0)
	return b, len(b) - 1
}

// evpnFinish fills in the length octet written by evpnHeader.
func evpnFinish(b []byte, at int) []byte {
	b[at] = byte(len(b) - at - 1)
	return b
}

// appendLenAddr writes an IP Address Length in bits and the address: 0 and
// nothing for the invalid Addr.
func appendLenAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		a4 := a.As4()
		return append(append(b, 32), a4[:]...)
	}
	a16 := a.As16()
	return append(append(b, 128), a16[:]...)
}

// evpnEntry is one framed and validated EVPN route; body points into the
// input.
type evpnEntry struct {
	pathID uint32
	typ    iana.EVPNRouteType
	body   []byte
}

// frameEVPN checks the EVPN route at the start of b (which is not empty):
// its framing and, for the types it knows, the type's fixed lengths. It
// returns the entry, the octets it takes and how many label fields a MACIP
// carries (0 for other types).
func frameEVPN(b []byte, addPath bool) (e evpnEntry, n, labels int, f *fault.Error) {
	off := 0
	if addPath {
		if len(b) < 4 {
			return e, 0, 0, malformed(b, "ADD-PATH EVPN NLRI truncated: %d octets left, need a 4-octet path identifier", len(b))
		}
		e.pathID = binary.BigEndian.Uint32(b)
		off = 4
	}
	if len(b)-off < 2 {
		return e, 0, 0, malformed(b, "EVPN NLRI truncated: %d octets left, need a route type and a length", len(b)-off)
	}
	e.typ = iana.EVPNRouteType(b[off])
	l := int(b[off+1])
	off += 2
	if len(b)-off < l {
		return e, 0, 0, malformed(b, "EVPN route type %d of length %d runs past the end of the field (%d octets left)", e.typ, l, len(b)-off)
	}
	e.body = b[off : off+l]
	entry := b[:off+l]
	body := e.body
	bad := func(format string, args ...any) (evpnEntry, int, int, *fault.Error) {
		return e, 0, 0, malformed(entry, "EVPN %s route: "+format, append([]any{e.typ}, args...)...)
	}
	switch e.typ {
	case iana.EVPNEthernetAutoDiscovery:
		if l != evpnADLen {
			return bad("length %d, want %d", l, evpnADLen)
		}
	case iana.EVPNMACIPAdvertisement:
		if l < evpnMACIPFixed {
			return bad("length %d is shorter than the %d fixed octets", l, evpnMACIPFixed)
		}
		if body[22] != evpnMACLenBits {
			return bad("MAC address length %d bits, want 48", body[22])
		}
		ipBits := body[29]
		if ipBits != 0 && ipBits != 32 && ipBits != 128 {
			return bad("IP address length %d bits, want 0, 32 or 128", ipBits)
		}
		rest := l - evpnMACIPFixed - int(ipBits)/8
		if rest != 3 && rest != 6 {
			return bad("length %d with a %d-bit IP address leaves %d octets for labels, want 3 or 6", l, ipBits, rest)
		}
		labels = rest / 3
	case iana.EVPNInclusiveMulticast:
		if l < evpnIMETFixed {
			return bad("length %d is shorter than the %d fixed octets", l, evpnIMETFixed)
		}
		if f := checkIPLen(body[12], l-evpnIMETFixed); f != "" {
			return bad("%s", f)
		}
	case iana.EVPNEthernetSegment:
		if l < evpnESFixed {
			return bad("length %d is shorter than the %d fixed octets", l, evpnESFixed)
		}
		if f := checkIPLen(body[18], l-evpnESFixed); f != "" {
			return bad("%s", f)
		}
	case iana.EVPNIPPrefix:
		switch {
		case l == evpnPrefix4Len && body[22] > 32:
			return bad("IPv4 prefix length %d exceeds 32", body[22])
		case l == evpnPrefix6Len && body[22] > 128:
			return bad("IPv6 prefix length %d exceeds 128", body[22])
		case l != evpnPrefix4Len && l != evpnPrefix6Len:
			return bad("length %d, want %d (IPv4) or %d (IPv6)", l, evpnPrefix4Len, evpnPrefix6Len)
		}
	}
	return e, off + l, labels, nil
}

// checkIPLen checks an originating router's IP address length octet (in
// bits, 32 or 128) against the octets that follow it.
func checkIPLen(bits byte, left int) string {
	if bits != 32 && bits != 128 {
		return fmt.Sprintf("originating router's IP address length %d bits, want 32 or 128", bits)
	}
	if int(bits)/8 != left {
		return fmt.Sprintf("originating router's IP address of %d bits but %d octets follow", bits, left)
	}
	return ""
}

// build makes the route of a framed entry; it cannot fail.
func (e evpnEntry) build(arena *labelArena) NLRI {
	b := e.body
	switch e.typ {
	case iana.EVPNEthernetAutoDiscovery:
		return EthernetAD{PathID: e.pathID, RD: RD(b[0:8]), ESI: ESI(b[8:18]),
			EthernetTag: binary.BigEndian.Uint32(b[18:]), Label: getLabel(b[22:])}
	case iana.EVPNMACIPAdvertisement:
		ipLen := int(b[29]) / 8
		r := MACIP{PathID: e.pathID, RD: RD(b[0:8]), ESI: ESI(b[8:18]),
			EthernetTag: binary.BigEndian.Uint32(b[18:]), MAC: MAC(b[23:29])}
		r.IP = addrFrom(b[30 : 30+ipLen])
		r.Labels = arena.take(b[30+ipLen:])
		return r
	case iana.EVPNInclusiveMulticast:
		return InclusiveMulticast{PathID: e.pathID, RD: RD(b[0:8]),
			EthernetTag: binary.BigEndian.Uint32(b[8:]), OriginatorIP: addrFrom(b[13:])}
	case iana.EVPNEthernetSegment:
		return EthernetSegment{PathID: e.pathID, RD: RD(b[0:8]), ESI: ESI(b[8:18]), OriginatorIP: addrFrom(b[19:])}
	case iana.EVPNIPPrefix:
		w := 4 // the width of the prefix and gateway fields
		if len(b) == evpnPrefix6Len {
			w = 16
		}
		r := IPPrefix{PathID: e.pathID, RD: RD(b[0:8]), ESI: ESI(b[8:18]),
			EthernetTag: binary.BigEndian.Uint32(b[18:])}
		r.Prefix = netip.PrefixFrom(addrFrom(b[23:23+w]), int(b[22]))
		if g := b[23+w : 23+2*w]; !allZero(g) {
			r.Gateway = addrFrom(g)
		}
		r.Label = getLabel(b[23+2*w:])
		return r
	}
	return EVPNUnknown{PathID: e.pathID, Type: e.typ, Data: append([]byte(nil), b...)}
}

func decodeEVPN(b []byte, addPath bool) ([]NLRI, error) {
	routes, labels := 0, 0
	for off := 0; off < len(b); routes++ {
		_, n, l, f := frameEVPN(b[off:], addPath)
		if f != nil {
			return nil, f
		}
		labels += l
		off += n
	}
	out := make([]NLRI, 0, routes)
	arena := newLabelArena(labels)
	for off := 0; off < len(b); {
		e, n, _, _ := frameEVPN(b[off:], addPath)
		out = append(out, e.build(&arena))
		off += n
	}
	return out, nil
}

// addrFrom makes an address of 4 or 16 octets; anything else is the invalid
// Addr.
func addrFrom(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	return netip.Addr{}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// bracketAddr is "[32]:[192.0.2.1]" or "[128]:[2001:db8::1]".
func bracketAddr(a netip.Addr) string {
	bits := "128"
	if a.Is4() {
		bits = "32"
	}
	return "[" + bits + "]:[" + a.String() + "]"
}

func utoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func colonHex(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			s = append(s, ':')
		}
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

func parseColonHex(dst []byte, s string) error {
	parts := strings.Split(s, ":")
	if len(parts) != len(dst) {
		return fmt.Errorf("want %d colon-separated octets", len(dst))
	}
	for i, p := range parts {
		if len(p) != 2 {
			return fmt.Errorf("octet %q is not two hex digits", p)
		}
		if _, err := hex.Decode(dst[i:i+1], []byte(p)); err != nil {
			return err
		}
	}
	return nil
}
