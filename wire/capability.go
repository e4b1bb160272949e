package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Capability is one capability of an OPEN's Capabilities parameter
// (RFC 5492 §4): a code and a value. Decoding gives the typed values below
// for the codes godwit knows, CapUnknown for the others.
type Capability interface {
	// Code is the capability code.
	Code() iana.CapCode
	// AppendValue appends the capability value (without code and length).
	AppendValue(b []byte) []byte
}

// AppendCapability appends one capability TLV: code, length, value. A value
// longer than 255 octets cannot be written and is truncated to 255: keep
// values within the limit (no capability godwit builds comes close).
func AppendCapability(b []byte, c Capability) []byte {
	start := len(b)
	b = append(b, byte(c.Code()), 0)
	b = c.AppendValue(b)
	n := len(b) - start - 2
	if n > 255 {
		b = b[:start+2+255]
		n = 255
	}
	b[start+1] = byte(n)
	return b
}

// CapMultiprotocol announces an address family (RFC 4760 §8).
type CapMultiprotocol struct {
	Family nlri.Family
}

// Code returns iana.CapMultiprotocol.
func (CapMultiprotocol) Code() iana.CapCode { return iana.CapMultiprotocol }

// AppendValue appends the capability value.
func (c CapMultiprotocol) AppendValue(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(c.Family.AFI))
	return append(b, 0, byte(c.Family.SAFI))
}

// CapRouteRefresh announces ROUTE-REFRESH support (RFC 2918 §2).
type CapRouteRefresh struct{}

// Code returns iana.CapRouteRefresh.
func (CapRouteRefresh) Code() iana.CapCode { return iana.CapRouteRefresh }

// AppendValue appends the capability value.
func (CapRouteRefresh) AppendValue(b []byte) []byte { return b }

// NextHopEntry is one tuple of the Extended Next Hop Encoding capability:
// NLRI of Family may carry a next hop of NextHopAFI (RFC 8950 §3). The
// capability spells the SAFI in two octets; SAFIs are one octet everywhere
// else, so a value above 255 is refused as malformed.
type NextHopEntry struct {
	Family     nlri.Family
	NextHopAFI iana.AFI
}

// CapExtendedNextHop is the Extended Next Hop Encoding capability (RFC 8950).
type CapExtendedNextHop struct {
	Entries []NextHopEntry
}

// Code returns iana.CapExtendedNextHop.
func (CapExtendedNextHop) Code() iana.CapCode { return iana.CapExtendedNextHop }

// AppendValue appends the capability value.
func (c CapExtendedNextHop) AppendValue(b []byte) []byte {
	for _, e := range c.Entries {
		b = binary.BigEndian.AppendUint16(b, uint16(e.Family.AFI))
		b = binary.BigEndian.AppendUint16(b, uint16(e.Family.SAFI))
		b = binary.BigEndian.AppendUint16(b, uint16(e.NextHopAFI))
	}
	return b
}

// CapExtendedMessage announces messages up to 65535 octets (RFC 8654).
type CapExtendedMessage struct{}

// Code returns iana.CapExtendedMessage.
func (CapExtendedMessage) Code() iana.CapCode { return iana.CapExtendedMessage }

// AppendValue appends the capability value.
func (CapExtendedMessage) AppendValue(b []byte) []byte { return b }

// GRFamily is one address family of the Graceful Restart capability.
type GRFamily struct {
	Family nlri.Family
	// Forwarding is the F bit: forwarding state was preserved.
	Forwarding bool
}

// CapGracefulRestart is the Graceful Restart capability (RFC 4724 §3, with
// the N bit of RFC 8538 §2).
type CapGracefulRestart struct {
	// Restarting is the R bit (Restart State).
	Restarting bool
	// Notification is the N bit: the speaker supports graceful restart
	// for NOTIFICATION messages (RFC 8538).
	Notification bool
	// Time is the restart time in seconds (12 bits).
	Time     uint16
	Families []GRFamily
}

// Code returns iana.CapGracefulRestart.
func (CapGracefulRestart) Code() iana.CapCode { return iana.CapGracefulRestart }

// AppendValue appends the capability value.
func (c CapGracefulRestart) AppendValue(b []byte) []byte {
	v := c.Time & 0x0fff
	if c.Restarting {
		v |= 0x8000
	}
	if c.Notification {
		v |= 0x4000
	}
	b = binary.BigEndian.AppendUint16(b, v)
	for _, f := range c.Families {
		b = binary.BigEndian.AppendUint16(b, uint16(f.Family.AFI))
		var flags byte
		if f.Forwarding {
			flags = 0x80
		}
		b = append(b, byte(f.Family.SAFI), flags)
	}
	return b
}

// CapFourOctetAS is the 4-octet AS number capability (RFC 6793 §3).
type CapFourOctetAS struct {
	AS uint32
}

// Code returns iana.CapFourOctetAS.
func (CapFourOctetAS) Code() iana.CapCode { return iana.CapFourOctetAS }

// AppendValue appends the capability value.
func (c CapFourOctetAS) AppendValue(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, c.AS)
}

// AddPathMode is the Send/Receive field of the ADD-PATH capability
// (RFC 7911 §4).
type AddPathMode uint8

// ADD-PATH modes. Other values are kept as received; RFC 7911 §4 says to
// ignore the tuple.
const (
	AddPathReceive AddPathMode = 1
	AddPathSend    AddPathMode = 2
	AddPathBoth    AddPathMode = 3
)

// String names the mode as RFC 7911 does.
func (m AddPathMode) String() string {
	switch m {
	case AddPathReceive:
		return "receive"
	case AddPathSend:
		return "send"
	case AddPathBoth:
		return "send/receive"
	}
	return "mode-" + strconv.Itoa(int(m))
}

// Receive reports whether the speaker can receive multiple paths.
func (m AddPathMode) Receive() bool { return m == AddPathReceive || m == AddPathBoth }

// Send reports whether the speaker can send multiple paths.
func (m AddPathMode) Send() bool { return m == AddPathSend || m == AddPathBoth }

// AddPathEntry is one family of the ADD-PATH capability.
type AddPathEntry struct {
	Family nlri.Family
	Mode   AddPathMode
}

// CapAddPath is the ADD-PATH capability (RFC 7911 §4).
type CapAddPath struct {
	Entries []AddPathEntry
}

// Code returns iana.CapAddPath.
func (CapAddPath) Code() iana.CapCode { return iana.CapAddPath }

// AppendValue appends the capability value.
func (c CapAddPath) AppendValue(b []byte) []byte {
	for _, e := range c.Entries {
		b = binary.BigEndian.AppendUint16(b, uint16(e.Family.AFI))
		b = append(b, byte(e.Family.SAFI), byte(e.Mode))
	}
	return b
}

// CapEnhancedRouteRefresh announces BoRR/EoRR support (RFC 7313 §3).
type CapEnhancedRouteRefresh struct{}

// Code returns iana.CapEnhancedRouteRefresh.
func (CapEnhancedRouteRefresh) Code() iana.CapCode { return iana.CapEnhancedRouteRefresh }

// AppendValue appends the capability value.
func (CapEnhancedRouteRefresh) AppendValue(b []byte) []byte { return b }

// LLGRFamily is one family of the Long-Lived Graceful Restart capability.
type LLGRFamily struct {
	Family nlri.Family
	// Flags holds the F bit (0x80, forwarding state preserved) and the
	// reserved bits as received.
	Flags uint8
	// StaleTime is the long-lived stale time in seconds (24 bits).
	StaleTime uint32
}

// CapLongLivedGR is the Long-Lived Graceful Restart capability (RFC 9494 §3).
type CapLongLivedGR struct {
	Families []LLGRFamily
}

// Code returns iana.CapLongLivedGracefulRestart.
func (CapLongLivedGR) Code() iana.CapCode { return iana.CapLongLivedGracefulRestart }

// AppendValue appends the capability value.
func (c CapLongLivedGR) AppendValue(b []byte) []byte {
	for _, f := range c.Families {
		b = binary.BigEndian.AppendUint16(b, uint16(f.Family.AFI))
		t := f.StaleTime & 0xffffff
		b = append(b, byte(f.Family.SAFI), f.Flags, byte(t>>16), byte(t>>8), byte(t))
	}
	return b
}

// CapFQDN is the hostname capability (draft-walton-bgp-hostname-capability):
// a length-prefixed host name and a length-prefixed domain name. The strings
// hold the octets as received; they need not be UTF-8.
type CapFQDN struct {
	Hostname string
	Domain   string
}

// Code returns iana.CapFQDN.
func (CapFQDN) Code() iana.CapCode { return iana.CapFQDN }

// AppendValue appends the capability value.
func (c CapFQDN) AppendValue(b []byte) []byte {
	b = appendShortString(b, c.Hostname)
	return appendShortString(b, c.Domain)
}

// CapRole is the BGP Role capability (RFC 9234 §4.1).
type CapRole struct {
	Role iana.Role
}

// Code returns iana.CapRole.
func (CapRole) Code() iana.CapCode { return iana.CapRole }

// AppendValue appends the capability value.
func (c CapRole) AppendValue(b []byte) []byte { return append(b, byte(c.Role)) }

// CapSoftwareVersion is the Software Version capability
// (draft-ietf-idr-software-version): a length-prefixed version string.
type CapSoftwareVersion struct {
	Version string
}

// Code returns iana.CapSoftwareVersion.
func (CapSoftwareVersion) Code() iana.CapCode { return iana.CapSoftwareVersion }

// AppendValue appends the capability value.
func (c CapSoftwareVersion) AppendValue(b []byte) []byte {
	return appendShortString(b, c.Version)
}

// CapUnknown is a capability godwit does not interpret, kept byte for byte.
type CapUnknown struct {
	CapCode iana.CapCode
	Value   []byte
}

// Code returns CapCode.
func (c CapUnknown) Code() iana.CapCode { return c.CapCode }

// AppendValue appends the capability value.
func (c CapUnknown) AppendValue(b []byte) []byte { return append(b, c.Value...) }

// appendShortString appends a one-octet length and at most 255 octets of s.
func appendShortString(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// decodeCapabilities reads the capabilities of one Capabilities parameter
// (RFC 5492 §4). A capability that runs past the parameter, or a known one
// whose value has the wrong length, is an OPEN Message Error with subcode 0
// (RFC 4271 §6.2: recognised but malformed) and the TLV as data.
func decodeCapabilities(b []byte) ([]Capability, error) {
	var caps []Capability
	for len(b) > 0 {
		if len(b) < 2 {
			return caps, fault.Open(iana.OpenUnspecific, b, "capability truncated: %d octet left", len(b))
		}
		n := int(b[1])
		if len(b) < 2+n {
			return caps, fault.Open(iana.OpenUnspecific, b,
				"capability %s of length %d overruns the parameter (%d octets left)", iana.CapCode(b[0]), n, len(b)-2)
		}
		c, err := decodeCapability(iana.CapCode(b[0]), b[2:2+n])
		if err != nil {
			return caps, fault.Open(iana.OpenUnspecific, b[:2+n], "malformed %s capability: %s", iana.CapCode(b[0]), err)
		}
		caps = append(caps, c)
		b = b[2+n:]
	}
	return caps, nil
}

// decodeCapability decodes one capability value. The returned values never
// alias v.
func decodeCapability(code iana.CapCode, v []byte) (Capability, error) {
	lenIs := func(want int) error {
		if len(v) != want {
			return fmt.Errorf("length %d, want %d", len(v), want)
		}
		return nil
	}
	lenMultiple := func(min, unit int) error {
		if len(v) < min || (len(v)-min)%unit != 0 {
			return fmt.Errorf("length %d is not %d plus a multiple of %d", len(v), min, unit)
		}
		return nil
	}
	switch code {
	case iana.CapMultiprotocol:
		if err := lenIs(4); err != nil {
			return nil, err
		}
		return CapMultiprotocol{Family: nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[3])}}, nil
	case iana.CapRouteRefresh:
		return CapRouteRefresh{}, lenIs(0)
	case iana.CapExtendedNextHop:
		if err := lenMultiple(0, 6); err != nil {
			return nil, err
		}
		c := CapExtendedNextHop{Entries: make([]NextHopEntry, 0, len(v)/6)}
		for ; len(v) > 0; v = v[6:] {
			safi := binary.BigEndian.Uint16(v[2:])
			if safi > 0xff {
				return nil, fmt.Errorf("SAFI %d does not fit the SAFI registry", safi)
			}
			c.Entries = append(c.Entries, NextHopEntry{
				Family:     nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(safi)},
				NextHopAFI: iana.AFI(binary.BigEndian.Uint16(v[4:])),
			})
		}
		return c, nil
	case iana.CapExtendedMessage:
		return CapExtendedMessage{}, lenIs(0)
	case iana.CapGracefulRestart:
		if err := lenMultiple(2, 4); err != nil {
			return nil, err
		}
		f := binary.BigEndian.Uint16(v)
		c := CapGracefulRestart{
			Restarting:   f&0x8000 != 0,
			Notification: f&0x4000 != 0,
			Time:         f & 0x0fff,
		}
		for v = v[2:]; len(v) > 0; v = v[4:] {
			c.Families = append(c.Families, GRFamily{
				Family:     nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[2])},
				Forwarding: v[3]&0x80 != 0,
			})
		}
		return c, nil
	case iana.CapFourOctetAS:
		if err := lenIs(4); err != nil {
			return nil, err
		}
		return CapFourOctetAS{AS: binary.BigEndian.Uint32(v)}, nil
	case iana.CapAddPath:
		if err := lenMultiple(0, 4); err != nil {
			return nil, err
		}
		c := CapAddPath{Entries: make([]AddPathEntry, 0, len(v)/4)}
		for ; len(v) > 0; v = v[4:] {
			c.Entries = append(c.Entries, AddPathEntry{
				Family: nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[2])},
				Mode:   AddPathMode(v[3]),
			})
		}
		return c, nil
	case iana.CapEnhancedRouteRefresh:
		return CapEnhancedRouteRefresh{}, lenIs(0)
	case iana.CapLongLivedGracefulRestart:
		if err := lenMultiple(0, 7); err != nil {
			return nil, err
		}
		c := CapLongLivedGR{Families: make([]LLGRFamily, 0, len(v)/7)}
		for ; len(v) > 0; v = v[7:] {
			c.Families = append(c.Families, LLGRFamily{
				Family:    nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[2])},
				Flags:     v[3],
				StaleTime: uint32(v[4])<<16 | uint32(v[5])<<8 | uint32(v[6]),
			})
		}
		return c, nil
	case iana.CapFQDN:
		host, rest, ok := shortString(v)
		if !ok {
			return nil, fmt.Errorf("host name overruns the value")
		}
		dom, rest, ok := shortString(rest)
		if !ok || len(rest) != 0 {
			return nil, fmt.Errorf("domain name does not end the value")
		}
		return CapFQDN{Hostname: host, Domain: dom}, nil
	case iana.CapRole:
		if err := lenIs(1); err != nil {
			return nil, err
		}
		return CapRole{Role: iana.Role(v[0])}, nil
	case iana.CapSoftwareVersion:
		s, rest, ok := shortString(v)
		if !ok || len(rest) != 0 {
			return nil, fmt.Errorf("version length does not match the value")
		}
		return CapSoftwareVersion{Version: s}, nil
	}
	return CapUnknown{CapCode: code, Value: append([]byte{}, v...)}, nil
}

// shortString reads a one-octet length and that many octets.
func shortString(b []byte) (s string, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}

// capabilityString describes a capability for logs and `godwit decode -o text`.
func capabilityString(c Capability) string {
	switch c := c.(type) {
	case CapMultiprotocol:
		return "multiprotocol " + c.Family.String()
	case CapExtendedNextHop:
		parts := make([]string, len(c.Entries))
		for i, e := range c.Entries {
			parts[i] = e.Family.String() + " via " + e.NextHopAFI.String()
		}
		return "extended-next-hop " + strings.Join(parts, ", ")
	case CapGracefulRestart:
		s := fmt.Sprintf("graceful-restart time %d", c.Time)
		if c.Restarting {
			s += " restarting"
		}
		if c.Notification {
			s += " notification"
		}
		for _, f := range c.Families {
			s += " " + f.Family.String()
			if f.Forwarding {
				s += "(forwarding)"
			}
		}
		return s
	case CapFourOctetAS:
		return "four-octet-as " + strconv.FormatUint(uint64(c.AS), 10)
	case CapAddPath:
		parts := make([]string, len(c.Entries))
		for i, e := range c.Entries {
			parts[i] = e.Family.String() + " " + e.Mode.String()
		}
		return "add-path " + strings.Join(parts, ", ")
	case CapLongLivedGR:
		parts := make([]string, len(c.Families))
		for i, f := range c.Families {
			parts[i] = fmt.Sprintf("%s stale %d flags %#x", f.Family, f.StaleTime, f.Flags)
		}
		return "long-lived-graceful-restart " + strings.Join(parts, ", ")
	case CapFQDN:
		return fmt.Sprintf("fqdn %q %q", c.Hostname, c.Domain)
	case CapRole:
		return "role " + c.Role.String()
	case CapSoftwareVersion:
		return fmt.Sprintf("software-version %q", c.Version)
	case CapUnknown:
		return fmt.Sprintf("%s %x", c.CapCode, c.Value)
	}
	return c.Code().String()
}
