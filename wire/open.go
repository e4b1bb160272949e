package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// ASTrans is the 2-octet AS number a 4-octet speaker puts in My Autonomous
// System when its AS does not fit (RFC 6793 §9); the same as attr.ASTrans.
const ASTrans = attr.ASTrans

// Version is the BGP version godwit speaks (RFC 4271 §4.2).
const Version = 4

// Open is an OPEN message (RFC 4271 §4.2).
type Open struct {
	Version  uint8
	MyAS     uint16
	HoldTime uint16
	// BGPID is the BGP Identifier, an IPv4 address (RFC 6286: any
	// non-zero 4-octet value). The zero Addr encodes as 0.0.0.0.
	BGPID netip.Addr
	// Params are the optional parameters in their received order and
	// grouping: several capabilities in one parameter or one per
	// parameter, kept so that re-encoding gives the same bytes.
	Params []Param
	// ExtendedParams is set when the optional parameters use the extended
	// length form of RFC 9072. AppendTo uses that form when it is set or
	// when the parameters need it (more than 255 octets).
	ExtendedParams bool
}

// Param is one optional parameter. A Capabilities parameter (type 2) holds
// its capabilities in Caps; any other type keeps its value in Value.
type Param struct {
	Type  iana.ParamType
	Caps  []Capability
	Value []byte
}

// NewOpen returns an OPEN for the given AS, putting AS_TRANS in My
// Autonomous System when as does not fit two octets, and all caps in one
// Capabilities parameter. The caller adds CapFourOctetAS to caps.
func NewOpen(as uint32, holdTime uint16, id netip.Addr, caps ...Capability) *Open {
	my := uint16(as)
	if as > 0xffff {
		my = ASTrans
	}
	o := &Open{Version: Version, MyAS: my, HoldTime: holdTime, BGPID: id}
	if len(caps) > 0 {
		o.Params = []Param{{Type: iana.ParamCapabilities, Caps: caps}}
	}
	return o
}

// Type returns iana.MsgOpen.
func (*Open) Type() iana.MsgType { return iana.MsgOpen }

// Capabilities returns every capability of every Capabilities parameter,
// in order.
func (o *Open) Capabilities() []Capability {
	var caps []Capability
	for _, p := range o.Params {
		if p.Type == iana.ParamCapabilities {
			caps = append(caps, p.Caps...)
		}
	}
	return caps
}

// AS is the speaker's AS number: the 4-octet AS capability's value when
// present (RFC 6793 §4.1), My Autonomous System otherwise.
func (o *Open) AS() uint32 {
	for _, c := range o.Capabilities() {
		if c, ok := c.(CapFourOctetAS); ok {
			return c.AS
		}
	}
	return uint32(o.MyAS)
}

// AppendTo appends the whole OPEN message.
func (o *Open) AppendTo(b []byte, _ Options) []byte {
	start := len(b)
	b = appendHeader(b, iana.MsgOpen)
	b = append(b, o.Version)
	b = binary.BigEndian.AppendUint16(b, o.MyAS)
	b = binary.BigEndian.AppendUint16(b, o.HoldTime)
	id := [4]byte{}
	if o.BGPID.Is4() {
		id = o.BGPID.As4()
	}
	b = append(b, id[:]...)
	if o.ExtendedParams || o.needsExtended() {
		return finish(o.appendParams(b, true), start)
	}
	return finish(o.appendParams(b, false), start)
}

// needsExtended reports whether a parameter or the parameters together are
// longer than the one-octet lengths allow (RFC 9072 §2).
func (o *Open) needsExtended() bool {
	total := 0
	for _, p := range o.Params {
		n := p.valueLen()
		if n > 255 {
			return true
		}
		total += 2 + n
	}
	return total > 255
}

func (p Param) valueLen() int {
	if p.Type != iana.ParamCapabilities {
		return len(p.Value)
	}
	n := 0
	for _, c := range p.Caps {
		n += len(AppendCapability(nil, c))
	}
	return n
}

// appendParams writes the Optional Parameters Length and the parameters, in
// the RFC 4271 form or the RFC 9072 extended form (Non-Ext OP Len 255,
// Non-Ext OP Type 255, two-octet lengths).
func (o *Open) appendParams(b []byte, ext bool) []byte {
	lenAt := len(b)
	if ext {
		b = append(b, 255, 255, 0, 0)
	} else {
		b = append(b, 0)
	}
	body := len(b)
	for _, p := range o.Params {
		b = append(b, byte(p.Type))
		plen := len(b)
		if ext {
			b = append(b, 0, 0)
		} else {
			b = append(b, 0)
		}
		vstart := len(b)
		if p.Type == iana.ParamCapabilities {
			for _, c := range p.Caps {
				b = AppendCapability(b, c)
			}
		} else {
			b = append(b, p.Value...)
		}
		n := len(b) - vstart
		if ext {
			binary.BigEndian.PutUint16(b[plen:], uint16(n))
		} else {
			b[plen] = byte(n)
		}
	}
	n := len(b) - body
	if ext {
		binary.BigEndian.PutUint16(b[lenAt+2:], uint16(n))
	} else {
		b[lenAt] = byte(n)
	}
	return b
}

// DecodeOpen decodes an OPEN body (after the header) and checks it as
// RFC 4271 §6.2 asks, leaving to the session what needs its configuration
// (the peer's AS, the identifier's uniqueness, the role's match). Faults
// are OPEN Message Errors:
//
//   - version other than 4: Unsupported Version Number, data the largest
//     version supported (4);
//   - hold time 1 or 2: Unacceptable Hold Time;
//   - BGP Identifier 0: Bad BGP Identifier (RFC 6286 §2.2);
//   - parameter lengths that do not add up, or a malformed capability:
//     subcode 0 (Unspecific);
//   - a parameter type other than Capabilities: Unsupported Optional
//     Parameter (the Authentication parameter is deprecated, RFC 5492).
//
// The Open is returned with the fault when the body parsed, so that the
// session can log it; it is nil when it could not be parsed. It does not
// alias body.
func DecodeOpen(body []byte) (*Open, error) {
	if len(body) < minOpenLen-HeaderLen {
		return nil, fault.Header(iana.HeaderBadMessageLength, lengthField(len(body)),
			"OPEN body of %d octets, need %d", len(body), minOpenLen-HeaderLen)
	}
	o := &Open{
		Version:  body[0],
		MyAS:     binary.BigEndian.Uint16(body[1:]),
		HoldTime: binary.BigEndian.Uint16(body[3:]),
		BGPID:    netip.AddrFrom4([4]byte(body[5:9])),
	}
	if o.Version != Version {
		// RFC 4271 §6.2: the data is the largest locally supported version.
		return o, fault.Open(iana.OpenUnsupportedVersionNumber, []byte{0, Version},
			"version %d, only %d is supported", o.Version, Version)
	}
	if err := o.decodeParams(body[9:]); err != nil {
		return nil, err
	}
	var unsupported *fault.Error
	for _, p := range o.Params {
		if p.Type != iana.ParamCapabilities {
			// RFC 4271 §6.2 names no data for this subcode; the
			// type tells the peer which parameter was refused.
			unsupported = fault.Open(iana.OpenUnsupportedOptionalParameter, []byte{byte(p.Type)},
				"optional parameter type %d is not supported", uint8(p.Type))
			break
		}
	}
	switch {
	case o.HoldTime == 1 || o.HoldTime == 2:
		return o, fault.Open(iana.OpenUnacceptableHoldTime, nil, "hold time %d s (must be 0 or at least 3)", o.HoldTime)
	case o.BGPID.As4() == [4]byte{}:
		return o, fault.Open(iana.OpenBadBGPIdentifier, nil, "BGP Identifier is 0")
	case unsupported != nil:
		return o, unsupported
	}
	return o, nil
}

// decodeParams reads the Optional Parameters Length and the parameters
// (RFC 4271 §4.2, RFC 9072 §2).
func (o *Open) decodeParams(b []byte) error {
	plen := int(b[0])
	b = b[1:]
	ext := false
	// RFC 9072 §2: a Non-Ext OP Type of 255 announces the extended form.
	if plen != 0 && len(b) > 0 && b[0] == byte(iana.ParamExtendedLength) {
		if len(b) < 3 {
			return fault.Open(iana.OpenUnspecific, b, "extended optional parameters length truncated")
		}
		ext = true
		o.ExtendedParams = true
		plen = int(binary.BigEndian.Uint16(b[1:]))
		b = b[3:]
	}
	if plen != len(b) {
		return fault.Open(iana.OpenUnspecific, nil,
			"optional parameters length %d, but %d octets follow", plen, len(b))
	}
	hdr := 2
	if ext {
		hdr = 3
	}
	for len(b) > 0 {
		if len(b) < hdr {
			return fault.Open(iana.OpenUnspecific, b, "optional parameter header truncated")
		}
		t := iana.ParamType(b[0])
		n := int(b[1])
		if ext {
			n = int(binary.BigEndian.Uint16(b[1:]))
		}
		if len(b) < hdr+n {
			return fault.Open(iana.OpenUnspecific, b,
				"optional parameter %d of length %d overruns the parameters (%d octets left)", uint8(t), n, len(b)-hdr)
		}
		v := b[hdr : hdr+n]
		p := Param{Type: t}
		if t == iana.ParamCapabilities {
			caps, err := decodeCapabilities(v)
			if err != nil {
				return err
			}
			p.Caps = caps
		} else {
			p.Value = append([]byte{}, v...)
		}
		o.Params = append(o.Params, p)
		b = b[hdr+n:]
	}
	return nil
}

// String describes the OPEN on one line.
func (o *Open) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "OPEN version %d as %d hold %d id %s", o.Version, o.AS(), o.HoldTime, o.BGPID)
	for _, p := range o.Params {
		if p.Type != iana.ParamCapabilities {
			fmt.Fprintf(&sb, " param-%d %x", uint8(p.Type), p.Value)
			continue
		}
		for _, c := range p.Caps {
			sb.WriteString(", ")
			sb.WriteString(capabilityString(c))
		}
	}
	return sb.String()
}
