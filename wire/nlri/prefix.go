package nlri

import (
	"encoding/binary"
	"net/netip"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// Prefix is one unicast NLRI: an IPv4 or IPv6 prefix and, on a session that
// negotiated ADD-PATH for its family, the path identifier (RFC 7911 §3).
//
// The prefix is kept as received: bits past the prefix length in its last
// octet are not cleared (RFC 4271 §4.3 calls them irrelevant), so that
// re-encoding gives back the same bytes. Tables use Prefix.Masked().
type Prefix struct {
	Prefix netip.Prefix
	PathID uint32
}

// Family returns IPv4Unicast or IPv6Unicast by the prefix's address.
func (p Prefix) Family() Family {
	if p.Prefix.Addr().Is4() {
		return IPv4Unicast
	}
	return IPv6Unicast
}

// String is the CIDR form, with the path identifier after it when non-zero.
func (p Prefix) String() string {
	if p.PathID != 0 {
		return p.Prefix.String() + " path-id " + itoa(uint64(p.PathID))
	}
	return p.Prefix.String()
}

// AppendTo appends the wire form; addPath writes the path identifier first.
func (p Prefix) AppendTo(b []byte, addPath bool) []byte {
	return AppendPrefix(b, p.Prefix, p.PathID, addPath)
}

// AppendPrefix appends one unicast NLRI (RFC 4271 §4.3: a length octet and
// the fewest octets that hold it), preceded by the path identifier when
// addPath is set. It does not allocate when b has room.
func AppendPrefix(b []byte, p netip.Prefix, pathID uint32, addPath bool) []byte {
	if addPath {
		b = binary.BigEndian.AppendUint32(b, pathID)
	}
	bits := p.Bits()
	if bits < 0 {
		bits = 0
	}
	if p.Addr().Is4() {
		a := p.Addr().As4()
		return appendBits(b, a[:], bits)
	}
	a := p.Addr().As16()
	return appendBits(b, a[:], bits)
}

// AppendPrefix4 is AppendPrefix for the IPv4 prefix addr/bits (addr in
// host order, bits at most 32), for callers that keep prefixes packed.
func AppendPrefix4(b []byte, addr uint32, bits uint8, pathID uint32, addPath bool) []byte {
	if addPath {
		b = binary.BigEndian.AppendUint32(b, pathID)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], addr)
	return appendBits(b, a[:], int(bits))
}

// appendBits appends the length octet and the first bits of addr.
func appendBits(b, addr []byte, bits int) []byte {
	b = append(b, byte(bits))
	return append(b, addr[:(bits+7)/8]...)
}

// Iter walks the unicast NLRI in b (an UPDATE's Withdrawn Routes or NLRI
// field, or the NLRI of MP_REACH/MP_UNREACH for unicast families) without
// allocating. Use it as
//
//	it := nlri.NewIter(b, iana.AFIIPv4, addPath)
//	for it.Next() {
//		use(it.Prefix())
//	}
//	if err := it.Err(); err != nil { ... }
//
// Iteration stops at the first malformed entry; Err then returns a fault
// with subcode Invalid Network Field and Action SessionReset (RFC 7606 §5.3:
// a field that cannot be parsed cannot be treated as withdrawn). A caller
// reading MP_REACH/MP_UNREACH may downgrade it to AFISAFIDisable.
type Iter struct {
	b       []byte
	off     int
	v6      bool
	addPath bool
	cur     Prefix
	err     *fault.Error
}

// NewIter returns an iterator over the prefixes of afi (IPv4 or IPv6) in b.
func NewIter(b []byte, afi iana.AFI, addPath bool) Iter {
	return Iter{b: b, v6: afi == iana.AFIIPv6, addPath: addPath}
}

// Next advances to the next prefix and reports whether there is one.
func (it *Iter) Next() bool {
	if it.err != nil || it.off >= len(it.b) {
		return false
	}
	b := it.b[it.off:]
	var id uint32
	if it.addPath {
		if len(b) < 5 {
			it.fail(b, "ADD-PATH NLRI truncated: %d octets left, need a 4-octet path identifier and a length", len(b))
			return false
		}
		id = binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	bits := int(b[0])
	max := 32
	if it.v6 {
		max = 128
	}
	if bits > max {
		it.fail(b, "prefix length %d exceeds %d", bits, max)
		return false
	}
	n := (bits + 7) / 8
	if len(b) < 1+n {
		it.fail(b, "prefix of length /%d needs %d octets, %d left", bits, n, len(b)-1)
		return false
	}
	var addr netip.Addr
	if it.v6 {
		var a [16]byte
		copy(a[:], b[1:1+n])
		addr = netip.AddrFrom16(a)
	} else {
		var a [4]byte
		copy(a[:], b[1:1+n])
		addr = netip.AddrFrom4(a)
	}
	it.cur = Prefix{Prefix: netip.PrefixFrom(addr, bits), PathID: id}
	it.off = len(it.b) - len(b) + 1 + n
	return true
}

func (it *Iter) fail(rest []byte, format string, args ...any) {
	it.err = malformed(rest, format, args...)
}

// Prefix returns the current prefix.
func (it *Iter) Prefix() Prefix { return it.cur }

// Err returns the fault that stopped iteration, or nil.
func (it *Iter) Err() error {
	if it.err == nil {
		return nil
	}
	return it.err
}

// Fault returns the fault that stopped iteration as its concrete type, or nil.
func (it *Iter) Fault() *fault.Error { return it.err }

// Count validates the unicast NLRI in b and returns how many prefixes it
// holds, without building them.
func Count(b []byte, afi iana.AFI, addPath bool) (int, error) {
	max := 32
	if afi == iana.AFIIPv6 {
		max = 128
	}
	n := 0
	for off := 0; off < len(b); n++ {
		if addPath {
			if len(b)-off < 5 {
				return n, malformed(b[off:], "ADD-PATH NLRI truncated")
			}
			off += 4
		}
		bits := int(b[off])
		if bits > max {
			return n, malformed(b[off:], "prefix length %d exceeds %d", bits, max)
		}
		off += 1 + (bits+7)/8
		if off > len(b) {
			return n, malformed(nil, "prefix of length /%d runs past the end of the field", bits)
		}
	}
	return n, nil
}

func itoa(v uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(buf[i:])
		}
	}
}
