package nlri

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RD is a route distinguisher (RFC 4364 §4.2): a 2-octet type followed by a
// 6-octet value whose layout the type selects:
//
//	type 0: 2-octet administrator (an AS number), 4-octet assigned number
//	type 1: 4-octet administrator (an IPv4 address), 2-octet assigned number
//	type 2: 4-octet administrator (an AS number), 2-octet assigned number
//
// The array holds the octets as on the wire, so any type round-trips.
type RD [8]byte

// NewRD returns the route distinguisher of type typ with value v.
func NewRD(typ uint16, v [6]byte) RD {
	var rd RD
	binary.BigEndian.PutUint16(rd[:], typ)
	copy(rd[2:], v[:])
	return rd
}

// Type returns the RD type field.
func (rd RD) Type() uint16 { return binary.BigEndian.Uint16(rd[:]) }

// Value returns the 6-octet administrator and assigned number field.
func (rd RD) Value() [6]byte { return [6]byte(rd[2:]) }

// String is "administrator:assigned": "65000:100" (type 0),
// "192.0.2.1:100" (type 1), "4200000001:100" (type 2). An RD of another type
// prints as 0x and its 8 octets in hex, which ParseRD reads back.
//
// A type 2 RD whose AS number is at most 65535 prints like a type 0 one; the
// text alone does not tell them apart (as with FRR and GoBGP).
func (rd RD) String() string {
	if t := rd.Type(); t <= 2 {
		return FormatAdmin(t, rd.Value())
	}
	return "0x" + hex.EncodeToString(rd[:])
}

// ParseRD reads a route distinguisher as String writes it. The type follows
// from the text: an IPv4 administrator gives type 1, an AS number above 65535
// (or in asdot form, "1.10", RFC 5396) type 2, any other AS number type 0.
func ParseRD(s string) (RD, error) {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		var rd RD
		if len(h) != 16 {
			return rd, fmt.Errorf("route distinguisher %q: want 0x and 16 hex digits", s)
		}
		if _, err := hex.Decode(rd[:], []byte(h)); err != nil {
			return rd, fmt.Errorf("route distinguisher %q: %w", s, err)
		}
		return rd, nil
	}
	t, v, err := ParseAdmin(s)
	if err != nil {
		return RD{}, fmt.Errorf("route distinguisher: %w", err)
	}
	return NewRD(t, v), nil
}

// FormatAdmin formats the 6-octet administrator:assigned value shared by
// route distinguishers (RFC 4364 §4.2) and the route target extended
// communities (RFC 4360 §4, RFC 5668 §2): typ 0 is a 2-octet AS number and a
// 4-octet number, 1 an IPv4 address and a 2-octet number, 2 a 4-octet AS
// number and a 2-octet number. Another typ gives 0x and the 6 octets in hex.
func FormatAdmin(typ uint16, v [6]byte) string {
	switch typ {
	case 0:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint16(v[:])), 10) + ":" +
			strconv.FormatUint(uint64(binary.BigEndian.Uint32(v[2:])), 10)
	case 1:
		return netip.AddrFrom4([4]byte(v[:4])).String() + ":" +
			strconv.FormatUint(uint64(binary.BigEndian.Uint16(v[4:])), 10)
	case 2:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(v[:])), 10) + ":" +
			strconv.FormatUint(uint64(binary.BigEndian.Uint16(v[4:])), 10)
	}
	return "0x" + hex.EncodeToString(v[:])
}

// ParseAdmin reads "administrator:assigned" as FormatAdmin writes it for
// types 0, 1 and 2, choosing the type as ParseRD does.
func ParseAdmin(s string) (typ uint16, v [6]byte, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return 0, v, fmt.Errorf("%q: want administrator:assigned", s)
	}
	admin, assigned := s[:i], s[i+1:]
	n, err := strconv.ParseUint(assigned, 10, 32)
	if err != nil {
		return 0, v, fmt.Errorf("%q: assigned number %q is not a 32-bit decimal number", s, assigned)
	}
	if a, err := netip.ParseAddr(admin); err == nil {
		if !a.Is4() {
			return 0, v, fmt.Errorf("%q: administrator address must be IPv4", s)
		}
		if n > 0xffff {
			return 0, v, fmt.Errorf("%q: assigned number %d exceeds 65535 with an IPv4 administrator", s, n)
		}
		a4 := a.As4()
		copy(v[:4], a4[:])
		binary.BigEndian.PutUint16(v[4:], uint16(n))
		return 1, v, nil
	}
	asn, asdot, err := parseASN(admin)
	if err != nil {
		return 0, v, fmt.Errorf("%q: %w", s, err)
	}
	if asn > 0xffff || asdot {
		if n > 0xffff {
			return 0, v, fmt.Errorf("%q: assigned number %d exceeds 65535 with a 4-octet AS administrator", s, n)
		}
		binary.BigEndian.PutUint32(v[:4], asn)
		binary.BigEndian.PutUint16(v[4:], uint16(n))
		return 2, v, nil
	}
	binary.BigEndian.PutUint16(v[:2], uint16(asn))
	binary.BigEndian.PutUint32(v[2:], uint32(n))
	return 0, v, nil
}

// parseASN reads an AS number in asplain or asdot+ form (RFC 5396); asdot
// reports the latter, which always names a 4-octet administrator.
func parseASN(s string) (asn uint32, asdot bool, err error) {
	if hi, lo, ok := strings.Cut(s, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, false, fmt.Errorf("administrator %q is neither an IPv4 address nor an AS number", s)
		}
		return uint32(h)<<16 | uint32(l), true, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false, errors.New("administrator " + strconv.Quote(s) + " is neither an IPv4 address nor an AS number")
	}
	return uint32(n), false, nil
}
