package attr

import (
	"encoding/binary"
	"net/netip"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// MPReach is the MP_REACH_NLRI attribute (type 14, optional non-transitive,
// RFC 4760 §3). The next hop and the NLRI are kept raw: how the NLRI field
// parses depends on ADD-PATH, which package wire knows and this package does
// not. NextHops reads the next hop.
type MPReach struct {
	flagBits
	Family nlri.Family
	// NextHop is the Network Address of Next Hop field, without its length
	// octet (at most 255 octets are written).
	NextHop []byte
	// Reserved is the octet after the next hop; RFC 4760 §3 says to send 0
	// and ignore it, and it is kept for byte-exact re-encoding.
	Reserved byte
	// NLRI is the raw NLRI field.
	NLRI []byte
}

// Code returns AttrMPReachNLRI.
func (*MPReach) Code() iana.AttrCode { return iana.AttrMPReachNLRI }

// Flags returns the received flags, or optional non-transitive.
func (m *MPReach) Flags() Flags { return m.flagsOr(optNonTrans) }

// AppendValue appends AFI, SAFI, the next hop with its length, the reserved
// octet and the NLRI.
func (m *MPReach) AppendValue(b []byte, _ Options) []byte {
	nh := m.NextHop
	if len(nh) > 0xff {
		nh = nh[:0xff]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(m.Family.AFI))
	b = append(b, byte(m.Family.SAFI), byte(len(nh)))
	b = append(b, nh...)
	b = append(b, m.Reserved)
	return append(b, m.NLRI...)
}

// NewMPReach builds an MP_REACH_NLRI for family f with next hop global (and
// linkLocal when valid, for IPv6 next hops, RFC 2545 §3) and a raw NLRI
// field. For the VPN SAFIs the next hop gets the zero route distinguisher
// RFC 4364 §4.3.2 and RFC 4659 §3.2 require.
func NewMPReach(f nlri.Family, global, linkLocal netip.Addr, nlriField []byte) *MPReach {
	return &MPReach{Family: f, NextHop: AppendNextHop(nil, f, global, linkLocal), NLRI: nlriField}
}

// AppendNextHop appends the Network Address of Next Hop field for family f:
// 4 octets for an IPv4 global address, 16 for IPv6, 32 with an IPv6
// link-local address (RFC 2545 §3); for the VPN SAFIs each address is
// preceded by an all-zero RD (12, 24 or 48 octets). An invalid global
// address writes nothing (flow specification routes have no next hop).
func AppendNextHop(b []byte, f nlri.Family, global, linkLocal netip.Addr) []byte {
	if !global.IsValid() {
		return b
	}
	vpn := isVPN(f.SAFI)
	var zeroRD [8]byte
	if vpn {
		b = append(b, zeroRD[:]...)
	}
	if global.Is4() {
		a := global.As4()
		return append(b, a[:]...)
	}
	a := global.As16()
	b = append(b, a[:]...)
	if linkLocal.IsValid() {
		if vpn {
			b = append(b, zeroRD[:]...)
		}
		l := linkLocal.As16()
		b = append(b, l[:]...)
	}
	return b
}

// NextHops reads the next hop by its length (RFC 4760 §3, RFC 2545 §3,
// RFC 4364 §4.3.2, RFC 4659 §3.2, RFC 8950 §3, RFC 7432 §7, RFC 4684 §4):
//
//	 4  IPv4 (unicast, labeled, EVPN, RTC, VPLS, ...)
//	16  IPv6, or an IPv4-mapped IPv6 address (RFC 4798); also IPv4 NLRI
//	    with an IPv6 next hop (RFC 8950)
//	32  IPv6 global followed by IPv6 link-local
//	12  RD + IPv4 (VPN-IPv4)
//	24  RD + IPv6 (VPN-IPv6, or VPN-IPv4 with an IPv6 next hop, RFC 8950)
//	48  RD + IPv6 global, RD + IPv6 link-local
//	 0  no next hop: allowed for flow specification (RFC 8955 §4), an
//	    error otherwise
//
// rd is the RD of the global address (zero on every correct speaker).
func (m *MPReach) NextHops() (global, linkLocal netip.Addr, rd nlri.RD, err error) {
	nh := m.NextHop
	switch len(nh) {
	case 0:
		if m.Family.SAFI == iana.SAFIFlowSpec || m.Family.SAFI == iana.SAFIFlowSpecVPN {
			return
		}
		err = errorf("%s: MP_REACH_NLRI has no next hop", m.Family)
	case 4:
		global = netip.AddrFrom4([4]byte(nh))
	case 16:
		global = netip.AddrFrom16([16]byte(nh))
	case 32:
		global = netip.AddrFrom16([16]byte(nh))
		linkLocal = netip.AddrFrom16([16]byte(nh[16:]))
	case 12:
		rd = nlri.RD(nh)
		global = netip.AddrFrom4([4]byte(nh[8:]))
	case 24:
		rd = nlri.RD(nh)
		global = netip.AddrFrom16([16]byte(nh[8:]))
	case 48:
		rd = nlri.RD(nh)
		global = netip.AddrFrom16([16]byte(nh[8:]))
		linkLocal = netip.AddrFrom16([16]byte(nh[32:]))
	default:
		err = errorf("%s: next hop of %d octets", m.Family, len(nh))
	}
	return
}

func isVPN(s iana.SAFI) bool { return s == iana.SAFIVPN || s == iana.SAFIVPNMulticast }

// nextHopLenOK reports whether a next hop of n octets is valid for family f,
// for the families whose next hop this package knows; others pass. Which
// address family the next hop may have depends on the Extended Next Hop
// capability (RFC 8950), which the session knows and this package does not,
// so every address form NextHops reads is accepted: 4, 16 or 32 octets
// without an RD, 12, 24 or 48 with one for the VPN SAFIs. (ExaBGP, for one,
// sends IPv6 unicast routes with a 4-octet IPv4 next hop when configured
// to.) The session checks the next hop's family against what it
// negotiated.
func nextHopLenOK(f nlri.Family, n int) bool {
	switch f.SAFI {
	case iana.SAFIUnicast, iana.SAFIMulticast, iana.SAFILabeledUnicast, iana.SAFIEVPN, iana.SAFIRTC:
		if f.AFI == iana.AFIIPv4 || f.AFI == iana.AFIIPv6 || f.SAFI == iana.SAFIEVPN {
			return n == 4 || n == 16 || n == 32 // RFC 4760 §3, RFC 2545 §3, RFC 8950, RFC 7432 §7
		}
	case iana.SAFIVPN, iana.SAFIVPNMulticast:
		if f.AFI == iana.AFIIPv4 || f.AFI == iana.AFIIPv6 {
			return n == 12 || n == 24 || n == 48 // RFC 4364 §4.3.2, RFC 4659 §3.2, RFC 8950 §4
		}
	}
	return true
}

// RFC 7606 §7.11 and RFC 4760 §7: a malformed MP_REACH_NLRI disables its
// AFI/SAFI when the AFI/SAFI can be read (the first three octets), and
// resets the session otherwise. Malformed here means too short for the
// fixed fields, a next hop running past the attribute, or a next hop length
// that does not fit the family. The NLRI field is checked by package wire.
func decodeMPReach(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) < 3 {
		return nil, d.failAction(fault.SessionReset, iana.UpdateAttributeLengthError,
			"MP_REACH_NLRI of %d octets has no AFI/SAFI", len(v))
	}
	fam := nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[2])}
	if len(v) < 5 {
		return nil, d.fail(iana.UpdateAttributeLengthError,
			"%s: MP_REACH_NLRI of %d octets, want at least 5", fam, len(v))
	}
	n := int(v[3])
	if 4+n+1 > len(v) {
		return nil, d.fail(iana.UpdateAttributeLengthError,
			"%s: next hop of %d octets and the reserved octet run past the attribute (%d octets left)", fam, n, len(v)-4)
	}
	if !nextHopLenOK(fam, n) {
		return nil, d.fail(iana.UpdateOptionalAttributeError, "%s: next hop of %d octets is not valid for the family", fam, n)
	}
	c := clone(v[4:])
	m := &MPReach{Family: fam, NextHop: c[:n:n], Reserved: c[n]}
	if len(c) > n+1 {
		m.NLRI = c[n+1:]
	}
	return m, nil
}

// MPUnreach is the MP_UNREACH_NLRI attribute (type 15, optional
// non-transitive, RFC 4760 §4): the family and the raw withdrawn-routes
// field. An empty NLRI is the End-of-RIB marker of the family (RFC 4724 §2).
type MPUnreach struct {
	flagBits
	Family nlri.Family
	NLRI   []byte
}

// Code returns AttrMPUnreachNLRI.
func (*MPUnreach) Code() iana.AttrCode { return iana.AttrMPUnreachNLRI }

// Flags returns the received flags, or optional non-transitive.
func (m *MPUnreach) Flags() Flags { return m.flagsOr(optNonTrans) }

// AppendValue appends AFI, SAFI and the NLRI.
func (m *MPUnreach) AppendValue(b []byte, _ Options) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(m.Family.AFI))
	b = append(b, byte(m.Family.SAFI))
	return append(b, m.NLRI...)
}

// RFC 7606 §7.11: an MP_UNREACH_NLRI too short to hold its AFI/SAFI resets
// the session; the NLRI field is checked by package wire.
func decodeMPUnreach(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) < 3 {
		return nil, d.failAction(fault.SessionReset, iana.UpdateAttributeLengthError,
			"MP_UNREACH_NLRI of %d octets has no AFI/SAFI", len(v))
	}
	return &MPUnreach{
		Family: nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[2])},
		NLRI:   clone(v[3:]),
	}, nil
}
