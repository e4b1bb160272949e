package attr

import (
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// TunnelEncap is the TUNNEL_ENCAPSULATION attribute (type 23, optional
// transitive, RFC 9012): one Tunnel TLV per tunnel, each with sub-TLVs. The
// TLV structure is decoded and length-checked; sub-TLV values are kept raw.
type TunnelEncap struct {
	flagBits
	Tunnels []Tunnel
}

// Tunnel is one Tunnel TLV (RFC 9012 §2).
type Tunnel struct {
	Type    iana.TunnelType
	SubTLVs []SubTLV
}

// SubTLV is one sub-TLV of a Tunnel TLV (RFC 9012 §2): types 0-127 have a
// one-octet length, types 128-255 a two-octet one.
type SubTLV struct {
	Type  uint8
	Value []byte
}

// Sub-TLV types used by the dataplanes godwit programs (RFC 9012 §3).
const (
	SubTLVEncapsulation      uint8 = 1  // RFC 9012 §3.2
	SubTLVProtocolType       uint8 = 2  // RFC 9012 §3.4.1
	SubTLVColor              uint8 = 4  // RFC 9012 §3.4.2
	SubTLVUDPDestinationPort uint8 = 8  // RFC 9012 §3.3.2
	SubTLVEgressEndpoint     uint8 = 6  // RFC 9012 §3.1
	SubTLVPrefixSID          uint8 = 11 // RFC 9012 §3.5
)

// Code returns AttrTunnelEncap.
func (*TunnelEncap) Code() iana.AttrCode { return iana.AttrTunnelEncap }

// Flags returns the received flags, or optional transitive.
func (t *TunnelEncap) Flags() Flags { return t.flagsOr(optTrans) }

// AppendValue appends each Tunnel TLV with its sub-TLVs. A sub-TLV value
// longer than its length field can say is cut.
func (t *TunnelEncap) AppendValue(b []byte, _ Options) []byte {
	for _, tun := range t.Tunnels {
		b = binary.BigEndian.AppendUint16(b, uint16(tun.Type))
		lenAt := len(b)
		b = append(b, 0, 0)
		for _, s := range tun.SubTLVs {
			v := s.Value
			b = append(b, s.Type)
			if s.Type < 128 {
				if len(v) > 0xff {
					v = v[:0xff]
				}
				b = append(b, byte(len(v)))
			} else {
				if len(v) > 0xffff {
					v = v[:0xffff]
				}
				b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
			}
			b = append(b, v...)
		}
		binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-lenAt-2))
	}
	return b
}

// Sub returns the value of the first sub-TLV of the given type.
func (tun Tunnel) Sub(typ uint8) ([]byte, bool) {
	for _, s := range tun.SubTLVs {
		if s.Type == typ {
			return s.Value, true
		}
	}
	return nil, false
}

// String lists each tunnel as "type[sub=hex,...]".
func (t *TunnelEncap) String() string {
	parts := make([]string, len(t.Tunnels))
	for i, tun := range t.Tunnels {
		var b strings.Builder
		b.WriteString(tun.Type.String())
		if len(tun.SubTLVs) > 0 {
			b.WriteByte('[')
			for j, s := range tun.SubTLVs {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(itoa(int(s.Type)))
				b.WriteByte('=')
				b.WriteString(hex.EncodeToString(s.Value))
			}
			b.WriteByte(']')
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, " ")
}

// RFC 7606 §7.13 and RFC 9012 §13: an attribute whose TLV or sub-TLV
// lengths do not add up is malformed: treat-as-withdraw. Unknown tunnel and
// sub-TLV types are kept (RFC 9012 §13 says to ignore them when using the
// attribute, and a speaker passes them on).
func decodeTunnelEncap(d *decoder, v []byte) (Attr, *fault.Error) {
	ntun, nsub := 0, 0
	for off := 0; off < len(v); ntun++ {
		if len(v)-off < 4 {
			return nil, d.fail(iana.UpdateOptionalAttributeError,
				"TUNNEL_ENCAPSULATION: %d octets left, too few for a Tunnel TLV header", len(v)-off)
		}
		l := int(binary.BigEndian.Uint16(v[off+2:]))
		if off+4+l > len(v) {
			return nil, d.fail(iana.UpdateOptionalAttributeError,
				"TUNNEL_ENCAPSULATION: Tunnel TLV length %d, %d octets left", l, len(v)-off-4)
		}
		body := v[off+4 : off+4+l]
		for s := 0; s < len(body); nsub++ {
			typ := body[s]
			hdr, sl := 2, 0
			if typ >= 128 {
				hdr = 3
			}
			if len(body)-s < hdr {
				return nil, d.fail(iana.UpdateOptionalAttributeError,
					"TUNNEL_ENCAPSULATION: sub-TLV %d header cut short", typ)
			}
			if hdr == 2 {
				sl = int(body[s+1])
			} else {
				sl = int(binary.BigEndian.Uint16(body[s+1:]))
			}
			if s+hdr+sl > len(body) {
				return nil, d.fail(iana.UpdateOptionalAttributeError,
					"TUNNEL_ENCAPSULATION: sub-TLV %d length %d, %d octets left in its Tunnel TLV", typ, sl, len(body)-s-hdr)
			}
			s += hdr + sl
		}
		off += 4 + l
	}
	c := clone(v)
	subs := make([]SubTLV, nsub)
	t := &TunnelEncap{Tunnels: make([]Tunnel, ntun)}
	for off, i := 0, 0; off < len(c); i++ {
		l := int(binary.BigEndian.Uint16(c[off+2:]))
		body := c[off+4 : off+4+l]
		n := 0
		for s := 0; s < len(body); n++ {
			typ := body[s]
			hdr, sl := 2, int(body[s+1])
			if typ >= 128 {
				hdr, sl = 3, int(binary.BigEndian.Uint16(body[s+1:]))
			}
			subs[n] = SubTLV{Type: typ, Value: body[s+hdr : s+hdr+sl : s+hdr+sl]}
			s += hdr + sl
		}
		var mine []SubTLV
		if n > 0 {
			mine, subs = subs[:n:n], subs[n:]
		}
		t.Tunnels[i] = Tunnel{Type: iana.TunnelType(binary.BigEndian.Uint16(c[off:])), SubTLVs: mine}
		off += 4 + l
	}
	return t, nil
}
