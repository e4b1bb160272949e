package rib

// Route keys: what a table is indexed by. A key is a small fixed-size value
// (no pointers, so a million of them cost the garbage collector nothing to
// scan), comparable, so it can index a Go map directly, with a hash for the
// LocRIB's own index (index.go). A LocRIB is instantiated per key type:
//
//	key      family                 layout                                 key   entry
//	Prefix4  IPv4 unicast           one word, address<<8 | length           8 B  16 B
//	Prefix6  IPv6 unicast           16 address bytes, then the length      17 B  28 B
//	VPN4     VPN-IPv4 (RFC 4364)    struct{ RD as a uint64; Prefix4 }      16 B  24 B
//	VPN6     VPN-IPv6 (RFC 4659)    8 RD bytes, then a Prefix6's 17        25 B  36 B
//	EVPN     EVPN (RFC 7432, 9136)  route type, RD, the type's key fields  36 B  44 B
//
// (entry is what the LocRIB stores per prefix: the key, the run offset and
// counts; TestKeyLayout pins these sizes.) Prefix4 and Prefix6 are here;
// VPN4, VPN6 and EVPN are in key_vpn.go.
//
// Every key holds exactly the fields that identify the route, so two
// advertisements of one route get one key and the later replaces the
// earlier:
//
//   - Host bits past the prefix length are zero (the decoder keeps them as
//     received; the constructors mask them).
//   - An RD is kept as its 8 wire octets, so any RD type round-trips and
//     prints as nlri.RD does ("65000:100:10.0.0.0/24").
//   - MPLS labels are not part of any key: they belong to the path, like
//     its attributes, so a new label for a route replaces its path.
//   - EVPN keys hold the fields RFC 7432 §7.1-7.4 and RFC 9136 §3.1 name as
//     part of the prefix for route key processing: for a MAC/IP route the
//     Ethernet tag, MAC and IP, not the ESI nor the labels; for an IP prefix
//     route the tag and the prefix, not the ESI, gateway nor label. Route
//     types above 5 have no key yet (EVPNFrom refuses them).
//   - ADD-PATH path identifiers (RFC 7911) are not part of the key: they
//     identify a path within the prefix, so they live in the path record
//     next to the source, and (source, path ID) names one path.
//
// Hashes are multiplicative (Fibonacci). The wider keys (VPN4, VPN6, EVPN)
// multiply each word by its own constant, XOR the products, fold the high
// half down and multiply once more, so that the top bits, which pick the
// index slot and form its tag, depend on every key bit (TestKeyHash checks
// the spread on structured key sets and that every input bit moves the
// tag).

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Key is what a LocRIB is indexed by: a comparable, fixed-size value
// without pointers (Prefix4, Prefix6, VPN4, VPN6, EVPN). String is for
// logs and tests; hash feeds the table's index (index.go), which is why
// key types are defined in this package.
type Key interface {
	comparable
	String() string
	hash() uint64
}

const fib64 = 0x9E3779B97F4A7C15 // 2^64 / golden ratio

func (k Prefix4) hash() uint64 { return uint64(k) * fib64 }

func (k Prefix6) hash() uint64 {
	hi := binary.BigEndian.Uint64(k[:8])
	lo := binary.BigEndian.Uint64(k[8:16])
	h := (hi ^ uint64(k[16])<<56) * fib64
	h = (h ^ h>>32 ^ lo) * fib64
	return h ^ h>>29
}

// Prefix4 is an IPv4 prefix packed as address<<8 | length. Host bits are
// zero, so each prefix has exactly one key.
type Prefix4 uint64

// Prefix4From packs p. It reports false when p is not a valid IPv4 prefix.
func Prefix4From(p netip.Prefix) (Prefix4, bool) {
	a := p.Addr()
	if !p.IsValid() || !a.Is4() {
		return 0, false
	}
	// MakePrefix4 masks the host bits: cheaper than p.Masked, and this
	// runs for every prefix received.
	b := a.As4()
	return MakePrefix4(binary.BigEndian.Uint32(b[:]), uint8(p.Bits())), true
}

// MakePrefix4 packs address a (host order) and length bits, masking the
// host bits: the form a decoder walking NLRI in place produces cheaply.
func MakePrefix4(a uint32, bits uint8) Prefix4 {
	if bits > 32 {
		bits = 32
	}
	if bits < 32 {
		a &^= ^uint32(0) >> bits
	}
	return Prefix4(uint64(a)<<8 | uint64(bits))
}

// Prefix unpacks k.
func (k Prefix4) Prefix() netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(k>>8))
	return netip.PrefixFrom(netip.AddrFrom4(a), int(k&0xff))
}

func (k Prefix4) String() string { return k.Prefix().String() }

// Prefix6 is an IPv6 prefix: 16 address bytes (host bits zero), then the
// length. It is a byte array so that a table of them has no padding.
type Prefix6 [17]byte

// Prefix6From packs p. It reports false when p is not a valid IPv6 prefix
// (IPv4-mapped addresses are IPv6 here, as on the wire).
func Prefix6From(p netip.Prefix) (Prefix6, bool) {
	if !p.IsValid() || !p.Addr().Is6() || p.Addr().Zone() != "" {
		return Prefix6{}, false
	}
	p = p.Masked()
	var k Prefix6
	a := p.Addr().As16()
	copy(k[:16], a[:])
	k[16] = byte(p.Bits())
	return k, true
}

// Prefix unpacks k.
func (k Prefix6) Prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte(k[:16])), int(k[16]))
}

func (k Prefix6) String() string { return k.Prefix().String() }

// MustPrefix4 is Prefix4From for constants in tests and configuration
// defaults; it panics on a malformed prefix.
func MustPrefix4(s string) Prefix4 {
	k, ok := Prefix4From(netip.MustParsePrefix(s))
	if !ok {
		panic(fmt.Sprintf("rib: %q is not an IPv4 prefix", s))
	}
	return k
}

// MustPrefix6 is Prefix6From for constants; it panics on a malformed
// prefix.
func MustPrefix6(s string) Prefix6 {
	k, ok := Prefix6From(netip.MustParsePrefix(s))
	if !ok {
		panic(fmt.Sprintf("rib: %q is not an IPv6 prefix", s))
	}
	return k
}
