package attr

import (
	"net/netip"
	"strconv"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// PMSILeafInfoRequired is the Leaf Information Required bit of the PMSI
// tunnel flags (RFC 6514 §5).
const PMSILeafInfoRequired uint8 = 0x01

// PMSITunnel is the PMSI_TUNNEL attribute (type 22, optional transitive,
// RFC 6514 §5): how multicast or broadcast traffic reaches the advertising
// PE. EVPN uses it on inclusive multicast routes (RFC 7432 §11.2), with
// ingress replication and, for VXLAN, the VNI in the label field (RFC 8365
// §5.1.3).
//
// The flags field is TunnelFlags because Flags is the attribute's flags
// method.
type PMSITunnel struct {
	flagBits
	TunnelFlags uint8
	Type        iana.PMSITunnelType
	// Label is the 3-octet MPLS label field as received; for a VXLAN VNI
	// read all 24 bits as uint32(Label).
	Label nlri.Label
	// TunnelID is the tunnel identifier, whose layout the type selects.
	TunnelID []byte
}

// Code returns AttrPMSITunnel.
func (*PMSITunnel) Code() iana.AttrCode { return iana.AttrPMSITunnel }

// Flags returns the received flags, or optional transitive.
func (p *PMSITunnel) Flags() Flags { return p.flagsOr(optTrans) }

// AppendValue appends the flags, type, label and tunnel identifier.
func (p *PMSITunnel) AppendValue(b []byte, _ Options) []byte {
	b = append(b, p.TunnelFlags, byte(p.Type), byte(p.Label>>16), byte(p.Label>>8), byte(p.Label))
	return append(b, p.TunnelID...)
}

// TunnelAddr returns the tunnel endpoint of an ingress replication tunnel:
// the tunnel identifier read as an IPv4 or IPv6 address (RFC 6514 §5,
// RFC 7432 §11.2).
func (p *PMSITunnel) TunnelAddr() (netip.Addr, bool) {
	if p.Type != iana.PMSIIngressReplication {
		return netip.Addr{}, false
	}
	switch len(p.TunnelID) {
	case 4:
		return netip.AddrFrom4([4]byte(p.TunnelID)), true
	case 16:
		return netip.AddrFrom16([16]byte(p.TunnelID)), true
	}
	return netip.Addr{}, false
}

// NewIngressReplication returns the PMSI_TUNNEL attribute of an ingress
// replication tunnel to endpoint, with the given label field (a VNI for
// VXLAN: nlri.Label(vni)).
func NewIngressReplication(endpoint netip.Addr, label nlri.Label) *PMSITunnel {
	var id []byte
	if endpoint.Is4() {
		a := endpoint.As4()
		id = a[:]
	} else {
		a := endpoint.As16()
		id = a[:]
	}
	return &PMSITunnel{Type: iana.PMSIIngressReplication, Label: label, TunnelID: id}
}

// String is "type label=N [endpoint|id=hex]".
func (p *PMSITunnel) String() string {
	s := p.Type.String() + " label=" + strconv.FormatUint(uint64(p.Label), 10)
	if p.TunnelFlags&PMSILeafInfoRequired != 0 {
		s += " leaf-info-required"
	}
	if a, ok := p.TunnelAddr(); ok {
		return s + " " + a.String()
	}
	if len(p.TunnelID) > 0 {
		s += " id=" + hexString(p.TunnelID)
	}
	return s
}

// RFC 6514 §5 fixes five octets before the tunnel identifier; a shorter
// attribute is malformed (treat-as-withdraw, see specs). An ingress
// replication tunnel identifier must be an IPv4 or IPv6 address.
func decodePMSITunnel(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) < 5 {
		return nil, d.lengthFault(len(v), "at least 5")
	}
	p := &PMSITunnel{
		TunnelFlags: v[0],
		Type:        iana.PMSITunnelType(v[1]),
		Label:       nlri.Label(uint32(v[2])<<16 | uint32(v[3])<<8 | uint32(v[4])),
		TunnelID:    clone(v[5:]),
	}
	if p.Type == iana.PMSIIngressReplication && len(p.TunnelID) != 4 && len(p.TunnelID) != 16 {
		return nil, d.fail(iana.UpdateOptionalAttributeError,
			"ingress replication tunnel identifier of %d octets, want an IPv4 or IPv6 address", len(p.TunnelID))
	}
	return p, nil
}
