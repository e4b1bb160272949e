package nlri

import (
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// NLRI is one reachability entry of any family.
//
// The concrete types are values: Prefix (unicast and multicast), Labeled,
// VPN, the EVPN routes (EthernetAD, MACIP, InclusiveMulticast,
// EthernetSegment, IPPrefix, EVPNUnknown), RTC and Opaque. Decode returns
// them as such, so a type switch uses the value types (case nlri.VPN:).
type NLRI interface {
	// Family is the address family the entry belongs to.
	Family() Family
	// AppendTo appends the wire form, the path identifier first when
	// addPath is set (RFC 7911 §3).
	AppendTo(b []byte, addPath bool) []byte
	// String is the text form the CLI and the JSON "prefix" field use: the
	// route's key (what tells two routes of the family apart), with
	// " path-id N" after it when the path identifier is not zero.
	String() string
}

// Decode parses a whole NLRI field of family f: an UPDATE's NLRI or
// Withdrawn Routes field, or the NLRI of MP_REACH_NLRI / MP_UNREACH_NLRI.
//
//	IPv4/IPv6 unicast and multicast   Prefix
//	IPv4/IPv6 labeled unicast (4)     Labeled
//	VPNv4/VPNv6 (128)                 VPN
//	L2VPN EVPN                        EthernetAD, MACIP, InclusiveMulticast,
//	                                  EthernetSegment, IPPrefix, EVPNUnknown
//	IPv4 route target constraint      RTC
//	anything else                     one Opaque holding the whole field
//
// The results copy what they need from b and may be kept after b is reused.
// An empty field gives no entries. Prefix.Family reports the unicast family
// even for a multicast field; the caller knows f.
//
// Decode allocates the result slice, one label array per field and one value
// per entry (the boxing into NLRI). DecodeVPN and DecodeLabeled, into a
// reused slice, avoid the per-entry allocation; Iter does for unicast.
//
// A malformed field gives a nil slice and a *fault.Error with subcode Invalid
// Network Field and Action SessionReset: when an NLRI field cannot be parsed
// it is unknown which routes it carried, so it cannot be treated as a
// withdrawal (RFC 7606 §5.3). Decode cannot tell where the field came from;
// the caller (package wire) downgrades a fault found in MP_REACH_NLRI or
// MP_UNREACH_NLRI to AFISAFIDisable where RFC 7606 allows it. The fault's
// Data holds the offending entry, at most 64 octets of it.
func Decode(f Family, b []byte, addPath bool) ([]NLRI, error) {
	if len(b) == 0 {
		return nil, nil
	}
	ip := f.AFI == iana.AFIIPv4 || f.AFI == iana.AFIIPv6
	switch {
	case ip && (f.SAFI == iana.SAFIUnicast || f.SAFI == iana.SAFIMulticast):
		return decodeUnicast(b, f.AFI, addPath)
	case ip && f.SAFI == iana.SAFILabeledUnicast:
		return decodeMPLS(b, f.AFI == iana.AFIIPv6, false, addPath)
	case ip && f.SAFI == iana.SAFIVPN:
		return decodeMPLS(b, f.AFI == iana.AFIIPv6, true, addPath)
	case f == L2VPNEVPN:
		return decodeEVPN(b, addPath)
	case f == IPv4RTC:
		return decodeRTC(b, addPath)
	}
	return []NLRI{Opaque{Fam: f, Data: append([]byte(nil), b...)}}, nil
}

// Append appends the wire form of every entry of ns, as one NLRI field.
func Append(b []byte, ns []NLRI, addPath bool) []byte {
	for _, n := range ns {
		b = n.AppendTo(b, addPath)
	}
	return b
}

func decodeUnicast(b []byte, afi iana.AFI, addPath bool) ([]NLRI, error) {
	n, err := Count(b, afi, addPath)
	if err != nil {
		if f := fault.As(err); f != nil && len(f.Data) > maxFaultData {
			// Count puts the whole rest of the field in Data; cap it as
			// this package's other decoders do.
			c := *f
			c.Data = c.Data[:maxFaultData:maxFaultData]
			return nil, &c
		}
		return nil, err
	}
	out := make([]NLRI, 0, n)
	it := NewIter(b, afi, addPath)
	for it.Next() {
		out = append(out, it.Prefix())
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// maxFaultData caps the offending octets a fault carries.
const maxFaultData = 64

// malformed is the fault every decoder in this package returns. entry is the
// offending entry (or what is left of the field), copied into the fault's
// data and capped so that a long field does not make a long NOTIFICATION.
func malformed(entry []byte, format string, args ...any) *fault.Error {
	if len(entry) > maxFaultData {
		entry = entry[:maxFaultData]
	}
	return fault.Update(fault.SessionReset, iana.UpdateInvalidNetworkField, entry, format, args...)
}

// labelArena hands out label stacks from one backing array per decoded field,
// so that decoding does not allocate per route. Each stack is capped (a
// three-index slice), so appending to one never overwrites the next.
type labelArena struct {
	buf []Label
}

// newLabelArena makes room for n label fields; decoders count them first so
// that the array is exact (a kept route retains the whole array).
func newLabelArena(n int) labelArena {
	return labelArena{buf: make([]Label, 0, n)}
}

// take copies the 3-octet label fields in f into the arena and returns them
// as one stack.
func (a *labelArena) take(f []byte) []Label {
	if len(f) == 0 {
		return nil
	}
	mark := len(a.buf)
	for i := 0; i+3 <= len(f); i += 3 {
		a.buf = append(a.buf, getLabel(f[i:]))
	}
	return a.buf[mark:len(a.buf):len(a.buf)]
}
