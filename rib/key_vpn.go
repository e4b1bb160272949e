package rib

// Keys for the VPN families (RFC 4364, RFC 4659) and EVPN (RFC 7432,
// RFC 9136). See the overview at the top of key.go.

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// The wider keys hash as the XOR of their big-endian words, each
// multiplied by its own odd constant (the products are independent, so the
// CPU overlaps them rather than waiting on a chain), then fold: the high
// half onto the low half and one last Fibonacci multiply. A word's bit i
// moves only the product's bits from i up; fold carries every bit into the
// top ones, which the index uses for the home slot and the tag.
const (
	mul0 = fib64
	mul1 = 0xbb67ae8584caa73b // these four are SHA-512's initial values, all odd
	mul2 = 0x3c6ef372fe94f82b
	mul3 = 0xa54ff53a5f1d36f1
	mul4 = 0x510e527fade682d1
)

func fold(h uint64) uint64 { return (h ^ h>>32) * fib64 }

// VPN4 is a VPN-IPv4 route key (RFC 4364 §4.3.4): a route distinguisher and
// an IPv4 prefix. The RD is kept as its 8 wire octets read big-endian, so
// any RD type round-trips; the prefix is a Prefix4, host bits zero. The
// MPLS labels are not part of the key: they belong to the path.
//
// 16 bytes, no padding; an entry in a LocRIB[VPN4] takes 24.
type VPN4 struct {
	rd uint64
	p  Prefix4
}

// VPN4From makes the key of the VPN-IPv4 route (rd, p), masking p's host
// bits (a decoded nlri.VPN keeps them as received). It reports false when
// p is not a valid IPv4 prefix.
func VPN4From(rd nlri.RD, p netip.Prefix) (VPN4, bool) {
	k, ok := Prefix4From(p)
	if !ok {
		return VPN4{}, false
	}
	return MakeVPN4(rd, k), true
}

// MakeVPN4 pairs rd with a unicast key: what a VRF exports its routes as.
func MakeVPN4(rd nlri.RD, p Prefix4) VPN4 {
	return VPN4{rd: binary.BigEndian.Uint64(rd[:]), p: p}
}

// RD returns the route distinguisher.
func (k VPN4) RD() nlri.RD {
	var rd nlri.RD
	binary.BigEndian.PutUint64(rd[:], k.rd)
	return rd
}

// Prefix4 returns the prefix as a unicast key: the route as a VRF imports it.
func (k VPN4) Prefix4() Prefix4 { return k.p }

// Prefix returns the prefix.
func (k VPN4) Prefix() netip.Prefix { return k.p.Prefix() }

// String is "RD:prefix", "65000:100:10.0.0.0/24", as nlri.VPN writes it.
func (k VPN4) String() string { return k.RD().String() + ":" + k.p.String() }

func (k VPN4) hash() uint64 { return fold(k.rd*mul0 ^ uint64(k.p)*mul1) }

// VPN6 is a VPN-IPv6 route key (RFC 4659 §3.2): the 8 RD octets as on the
// wire, the 16 address octets (host bits zero), then the prefix length. A
// byte array, so a table of them has no padding: 25 bytes, 36 per entry in
// a LocRIB[VPN6]. The labels are not part of the key.
type VPN6 [25]byte

// VPN6From makes the key of the VPN-IPv6 route (rd, p), masking p's host
// bits. It reports false when p is not a valid IPv6 prefix (IPv4-mapped
// addresses are IPv6 here, as on the wire).
func VPN6From(rd nlri.RD, p netip.Prefix) (VPN6, bool) {
	k, ok := Prefix6From(p)
	if !ok {
		return VPN6{}, false
	}
	return MakeVPN6(rd, k), true
}

// MakeVPN6 pairs rd with a unicast key.
func MakeVPN6(rd nlri.RD, p Prefix6) VPN6 {
	var k VPN6
	copy(k[:8], rd[:])
	copy(k[8:], p[:])
	return k
}

// RD returns the route distinguisher.
func (k VPN6) RD() nlri.RD { return nlri.RD(k[:8]) }

// Prefix6 returns the prefix as a unicast key.
func (k VPN6) Prefix6() Prefix6 { return Prefix6(k[8:]) }

// Prefix returns the prefix.
func (k VPN6) Prefix() netip.Prefix { return k.Prefix6().Prefix() }

// String is "RD:prefix", "65000:100:2001:db8::/32", as nlri.VPN writes it.
func (k VPN6) String() string { return k.RD().String() + ":" + k.Prefix().String() }

func (k VPN6) hash() uint64 {
	return fold(binary.BigEndian.Uint64(k[0:8])*mul0 ^ binary.BigEndian.Uint64(k[8:16])*mul1 ^
		binary.BigEndian.Uint64(k[16:24])*mul2 ^ uint64(k[24])*mul3)
}

// EVPN is an EVPN route key: the route type, the RD, and the fields that
// RFC 7432 §7.1-7.4 and RFC 9136 §3.1 say are part of the prefix "for the
// purpose of BGP route key processing". The other NLRI fields (MPLS
// labels, the ESI of types 2 and 5, the gateway of type 5) are route
// attributes: they belong to the path, so two advertisements that differ
// only there are the same route, the later replacing the earlier.
//
// The layout is the route type, the 8 RD octets as on the wire, then the
// key fields in wire order, the unused tail zero. An IP address is its
// length in bits (0, 32 or 128, as on the wire, so IPv4 and IPv6 never
// collide) and 16 octets, an IPv4 address in the first four. By octet,
// with the length each type uses:
//
//	       0     1-8   9 ...
//	type 1 [1]   RD    ESI (10)  tag (4)                                   23
//	type 2 [2]   RD    tag (4)   MAC (6)   IP bits  IP (16)                36
//	type 3 [3]   RD    tag (4)   IP bits   originator IP (16)              30
//	type 4 [4]   RD    ESI (10)  IP bits   originator IP (16)              36
//	type 5 [5]   RD    tag (4)   IP bits   prefix length  prefix (16)      31
//
// The MAC address length of type 2 is not kept: it is always 48 (the
// decoder rejects any other). A type 5 prefix has its host bits zero, like
// the unicast keys.
//
// 36 bytes, alignment 1: an entry in a LocRIB[EVPN] takes 44. Route types
// beyond 5 (RFC 9251's multicast routes need three addresses) do not fit;
// they will need a wider array or a key type of their own.
type EVPN [evpnKeyLen]byte

const evpnKeyLen = 36

// Where the fields start in an EVPN key.
const (
	evpnKeyRD     = 1
	evpnKeyBody   = 9
	evpnKeyT1Tag  = evpnKeyBody + 10 // after the ESI
	evpnKeyT2MAC  = evpnKeyBody + 4  // after the tag
	evpnKeyT2IP   = evpnKeyT2MAC + 6 // IP bits, then the address
	evpnKeyT3IP   = evpnKeyBody + 4
	evpnKeyT4IP   = evpnKeyBody + 10
	evpnKeyT5Bits = evpnKeyBody + 4 // address bits, prefix length, address
	evpnKeyT5Len  = evpnKeyT5Bits + 1
	evpnKeyT5Addr = evpnKeyT5Len + 1
)

// EVPNFrom makes the key of an EVPN route of types 1 to 5, given as the
// value types of package nlri (nlri.EthernetAD, nlri.MACIP,
// nlri.InclusiveMulticast, nlri.EthernetSegment, nlri.IPPrefix). It reports
// false for other types (nlri.EVPNUnknown: their key fields are unknown)
// and for routes whose addresses cannot be on the wire: a type 3 or 4
// route without an originator address, a type 5 route without a valid
// prefix, or an address with a zone.
func EVPNFrom(r nlri.EVPN) (EVPN, bool) {
	var k EVPN
	switch r := r.(type) {
	case nlri.EthernetAD:
		k.head(r.RouteType(), r.RD)
		copy(k[evpnKeyBody:], r.ESI[:])
		binary.BigEndian.PutUint32(k[evpnKeyT1Tag:], r.EthernetTag)
	case nlri.MACIP:
		k.head(r.RouteType(), r.RD)
		binary.BigEndian.PutUint32(k[evpnKeyBody:], r.EthernetTag)
		copy(k[evpnKeyT2MAC:], r.MAC[:])
		if r.IP.IsValid() && !k.putAddr(evpnKeyT2IP, evpnKeyT2IP+1, r.IP) {
			return EVPN{}, false
		}
	case nlri.InclusiveMulticast:
		k.head(r.RouteType(), r.RD)
		binary.BigEndian.PutUint32(k[evpnKeyBody:], r.EthernetTag)
		if !k.putAddr(evpnKeyT3IP, evpnKeyT3IP+1, r.OriginatorIP) {
			return EVPN{}, false
		}
	case nlri.EthernetSegment:
		k.head(r.RouteType(), r.RD)
		copy(k[evpnKeyBody:], r.ESI[:])
		if !k.putAddr(evpnKeyT4IP, evpnKeyT4IP+1, r.OriginatorIP) {
			return EVPN{}, false
		}
	case nlri.IPPrefix:
		if !r.Prefix.IsValid() {
			return EVPN{}, false
		}
		p := r.Prefix.Masked()
		k.head(r.RouteType(), r.RD)
		binary.BigEndian.PutUint32(k[evpnKeyBody:], r.EthernetTag)
		if !k.putAddr(evpnKeyT5Bits, evpnKeyT5Addr, p.Addr()) {
			return EVPN{}, false
		}
		k[evpnKeyT5Len] = byte(p.Bits())
	default:
		return EVPN{}, false
	}
	return k, true
}

func (k *EVPN) head(t iana.EVPNRouteType, rd nlri.RD) {
	k[0] = byte(t)
	copy(k[evpnKeyRD:], rd[:])
}

// putAddr writes a's length in bits at bitsAt and its octets at addrAt.
// It reports false for the invalid Addr and for one with a zone.
func (k *EVPN) putAddr(bitsAt, addrAt int, a netip.Addr) bool {
	switch {
	case !a.IsValid() || a.Zone() != "":
		return false
	case a.Is4():
		a4 := a.As4()
		k[bitsAt] = 32
		copy(k[addrAt:], a4[:])
	default:
		a16 := a.As16()
		k[bitsAt] = 128
		copy(k[addrAt:], a16[:])
	}
	return true
}

// addr reads what putAddr wrote: the invalid Addr for a length of 0.
func (k *EVPN) addr(bitsAt, addrAt int) netip.Addr {
	switch k[bitsAt] {
	case 32:
		return netip.AddrFrom4([4]byte(k[addrAt : addrAt+4]))
	case 128:
		return netip.AddrFrom16([16]byte(k[addrAt : addrAt+16]))
	}
	return netip.Addr{}
}

// RouteType returns the EVPN route type (0 for the zero EVPN, which no
// route has).
func (k EVPN) RouteType() iana.EVPNRouteType { return iana.EVPNRouteType(k[0]) }

// RD returns the route distinguisher.
func (k EVPN) RD() nlri.RD { return nlri.RD(k[evpnKeyRD:evpnKeyBody]) }

// EthernetTag returns the Ethernet tag ID of types 1, 2, 3 and 5, and 0
// for type 4, which has none.
func (k EVPN) EthernetTag() uint32 {
	switch k.RouteType() {
	case iana.EVPNEthernetAutoDiscovery:
		return binary.BigEndian.Uint32(k[evpnKeyT1Tag:])
	case iana.EVPNMACIPAdvertisement, iana.EVPNInclusiveMulticast, iana.EVPNIPPrefix:
		return binary.BigEndian.Uint32(k[evpnKeyBody:])
	}
	return 0
}

// ESI returns the Ethernet segment identifier of types 1 and 4; for the
// other types it is not part of the key and ESI returns the zero ESI.
func (k EVPN) ESI() nlri.ESI {
	switch k.RouteType() {
	case iana.EVPNEthernetAutoDiscovery, iana.EVPNEthernetSegment:
		return nlri.ESI(k[evpnKeyBody : evpnKeyBody+10])
	}
	return nlri.ESI{}
}

// MAC returns the MAC address of a type 2 route, the zero MAC otherwise.
func (k EVPN) MAC() nlri.MAC {
	if k.RouteType() != iana.EVPNMACIPAdvertisement {
		return nlri.MAC{}
	}
	return nlri.MAC(k[evpnKeyT2MAC : evpnKeyT2MAC+6])
}

// IP returns the IP address of a type 2 route (the invalid Addr when it
// has none) or the originating router's address of types 3 and 4; the
// invalid Addr for types 1 and 5.
func (k EVPN) IP() netip.Addr {
	switch k.RouteType() {
	case iana.EVPNMACIPAdvertisement:
		return k.addr(evpnKeyT2IP, evpnKeyT2IP+1)
	case iana.EVPNInclusiveMulticast:
		return k.addr(evpnKeyT3IP, evpnKeyT3IP+1)
	case iana.EVPNEthernetSegment:
		return k.addr(evpnKeyT4IP, evpnKeyT4IP+1)
	}
	return netip.Addr{}
}

// Prefix returns the IP prefix of a type 5 route (host bits zero), the
// zero Prefix otherwise.
func (k EVPN) Prefix() netip.Prefix {
	if k.RouteType() != iana.EVPNIPPrefix {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(k.addr(evpnKeyT5Bits, evpnKeyT5Addr), int(k[evpnKeyT5Len]))
}

// NLRI returns the route k is the key of, with only its key fields set:
// no path identifier, labels, gateway, nor the ESI of types 2 and 5. It
// returns nil for a key EVPNFrom did not make (the zero EVPN).
func (k EVPN) NLRI() nlri.EVPN {
	switch k.RouteType() {
	case iana.EVPNEthernetAutoDiscovery:
		return nlri.EthernetAD{RD: k.RD(), ESI: k.ESI(), EthernetTag: k.EthernetTag()}
	case iana.EVPNMACIPAdvertisement:
		return nlri.MACIP{RD: k.RD(), EthernetTag: k.EthernetTag(), MAC: k.MAC(), IP: k.IP()}
	case iana.EVPNInclusiveMulticast:
		return nlri.InclusiveMulticast{RD: k.RD(), EthernetTag: k.EthernetTag(), OriginatorIP: k.IP()}
	case iana.EVPNEthernetSegment:
		return nlri.EthernetSegment{RD: k.RD(), ESI: k.ESI(), OriginatorIP: k.IP()}
	case iana.EVPNIPPrefix:
		return nlri.IPPrefix{RD: k.RD(), EthernetTag: k.EthernetTag(), Prefix: k.Prefix()}
	}
	return nil
}

// String is the route's key as nlri writes EVPN routes, in FRR's
// bracketed style with the RD: "[2]:[65000:1]:[0]:[48]:[aa:bb:cc:dd:ee:ff]:[32]:[10.0.0.1]",
// "[5]:[65000:1]:[0]:[24]:[10.1.1.0]" (see wire/nlri/evpn.go).
func (k EVPN) String() string {
	if r := k.NLRI(); r != nil {
		return r.String()
	}
	return fmt.Sprintf("[%d]:[invalid EVPN key]", k[0])
}

func (k EVPN) hash() uint64 {
	return fold(binary.BigEndian.Uint64(k[0:8])*mul0 ^ binary.BigEndian.Uint64(k[8:16])*mul1 ^
		binary.BigEndian.Uint64(k[16:24])*mul2 ^ binary.BigEndian.Uint64(k[24:32])*mul3 ^
		uint64(binary.BigEndian.Uint32(k[32:36]))*mul4)
}

// MustVPN4 is VPN4From for constants in tests and configuration defaults:
// rd as nlri.ParseRD reads it, p a prefix. It panics on malformed input.
func MustVPN4(rd, p string) VPN4 {
	k, ok := VPN4From(mustRD(rd), netip.MustParsePrefix(p))
	if !ok {
		panic(fmt.Sprintf("rib: %q is not an IPv4 prefix", p))
	}
	return k
}

// MustVPN6 is VPN6From for constants; it panics on malformed input.
func MustVPN6(rd, p string) VPN6 {
	k, ok := VPN6From(mustRD(rd), netip.MustParsePrefix(p))
	if !ok {
		panic(fmt.Sprintf("rib: %q is not an IPv6 prefix", p))
	}
	return k
}

func mustRD(s string) nlri.RD {
	rd, err := nlri.ParseRD(s)
	if err != nil {
		panic("rib: " + err.Error())
	}
	return rd
}
