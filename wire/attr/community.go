package attr

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// The well-known communities (IANA "BGP Well-known Communities").
const (
	CommunityGracefulShutdown        uint32 = 0xFFFF0000 // RFC 8326
	CommunityAcceptOwn               uint32 = 0xFFFF0001 // RFC 7611
	CommunityRouteFilterTranslatedV4 uint32 = 0xFFFF0002
	CommunityRouteFilterV4           uint32 = 0xFFFF0003
	CommunityRouteFilterTranslatedV6 uint32 = 0xFFFF0004
	CommunityRouteFilterV6           uint32 = 0xFFFF0005
	CommunityLLGRStale               uint32 = 0xFFFF0006 // RFC 9494
	CommunityNoLLGR                  uint32 = 0xFFFF0007 // RFC 9494
	CommunityAcceptOwnNexthop        uint32 = 0xFFFF0008
	CommunityStandbyPE               uint32 = 0xFFFF0009
	CommunityBlackhole               uint32 = 0xFFFF029A // RFC 7999
	CommunityNoExport                uint32 = 0xFFFFFF01 // RFC 1997
	CommunityNoAdvertise             uint32 = 0xFFFFFF02 // RFC 1997
	CommunityNoExportSubconfed       uint32 = 0xFFFFFF03 // RFC 1997
	CommunityNoPeer                  uint32 = 0xFFFFFF04 // RFC 3765
)

// wellKnownCommunities are the registry's names, first; the aliases after a
// value's first entry are accepted by ParseCommunity only (FRR's spellings).
var wellKnownCommunities = []struct {
	v    uint32
	name string
}{
	{CommunityGracefulShutdown, "GRACEFUL_SHUTDOWN"},
	{CommunityAcceptOwn, "ACCEPT_OWN"},
	{CommunityRouteFilterTranslatedV4, "ROUTE_FILTER_TRANSLATED_v4"},
	{CommunityRouteFilterV4, "ROUTE_FILTER_v4"},
	{CommunityRouteFilterTranslatedV6, "ROUTE_FILTER_TRANSLATED_v6"},
	{CommunityRouteFilterV6, "ROUTE_FILTER_v6"},
	{CommunityLLGRStale, "LLGR_STALE"},
	{CommunityNoLLGR, "NO_LLGR"},
	{CommunityAcceptOwnNexthop, "ACCEPT_OWN_NEXTHOP"},
	{CommunityStandbyPE, "STANDBY_PE"},
	{CommunityBlackhole, "BLACKHOLE"},
	{CommunityNoExport, "NO_EXPORT"},
	{CommunityNoAdvertise, "NO_ADVERTISE"},
	{CommunityNoExportSubconfed, "NO_EXPORT_SUBCONFED"},
	{CommunityNoPeer, "NO_PEER"},
	// Aliases.
	{CommunityNoPeer, "NOPEER"},
	{CommunityNoExportSubconfed, "LOCAL_AS"},
}

// CommunityName returns the registry name of a well-known community
// ("NO_EXPORT"), or false.
func CommunityName(v uint32) (string, bool) {
	for _, w := range wellKnownCommunities {
		if w.v == v {
			return w.name, true
		}
	}
	return "", false
}

// FormatCommunity writes a community as "a:b", the high and low 16 bits in
// decimal (RFC 1997), well-known ones included ("65535:65281" for
// NO_EXPORT), as the API's communities array has them.
func FormatCommunity(v uint32) string {
	return string(appendCommunity(nil, v))
}

func appendCommunity(b []byte, v uint32) []byte {
	b = strconv.AppendUint(b, uint64(v>>16), 10)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(v&0xffff), 10)
}

// ParseCommunity reads "a:b" (each 0..65535), a well-known community's name
// in any case with '-' or '_' ("NO_EXPORT", "no-export", "local-AS",
// "blackhole"), or a plain 32-bit number.
func ParseCommunity(s string) (uint32, error) {
	if hi, lo, ok := strings.Cut(s, ":"); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, errorf("bad community %q (want a:b with each part 0..65535)", s)
		}
		return uint32(h<<16 | l), nil
	}
	if v, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(v), nil
	}
	norm := strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
	for _, w := range wellKnownCommunities {
		if strings.ToUpper(w.name) == norm {
			return w.v, nil
		}
	}
	return 0, errorf("bad community %q (want a:b or a well-known name such as no-export)", s)
}

// Communities is the COMMUNITIES attribute (type 8, optional transitive,
// RFC 1997), in received order.
type Communities struct {
	flagBits
	Values []uint32
}

// Code returns AttrCommunities.
func (*Communities) Code() iana.AttrCode { return iana.AttrCommunities }

// Flags returns the received flags, or optional transitive.
func (a *Communities) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends four octets per community.
func (a *Communities) AppendValue(b []byte, _ Options) []byte {
	for _, v := range a.Values {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// Has reports whether v is among the communities.
func (a *Communities) Has(v uint32) bool {
	if a == nil {
		return false
	}
	for _, x := range a.Values {
		if x == v {
			return true
		}
	}
	return false
}

// Strings returns each community as FormatCommunity writes it.
func (a *Communities) Strings() []string {
	out := make([]string, len(a.Values))
	for i, v := range a.Values {
		out[i] = FormatCommunity(v)
	}
	return out
}

// String is the communities as "a:b", separated by spaces.
func (a *Communities) String() string {
	var b []byte
	for i, v := range a.Values {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendCommunity(b, v)
	}
	return string(b)
}

// RFC 7606 §7.8: a length that is not a non-zero multiple of 4 is
// treat-as-withdraw.
func decodeCommunities(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) == 0 || len(v)%4 != 0 {
		return nil, d.lengthFault(len(v), "a non-zero multiple of 4")
	}
	a := d.newCommunities()
	a.Values = d.uint32s(len(v) / 4)
	for i := range a.Values {
		a.Values[i] = binary.BigEndian.Uint32(v[4*i:])
	}
	return a, nil
}

// LargeCommunity is one BGP large community (RFC 8092 §3): the global
// administrator (an AS) and two local data parts.
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

// String is "global:local1:local2" in decimal (RFC 8195 §2).
func (c LargeCommunity) String() string {
	b := strconv.AppendUint(nil, uint64(c.Global), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(c.Local1), 10)
	b = append(b, ':')
	return string(strconv.AppendUint(b, uint64(c.Local2), 10))
}

// ParseLargeCommunity reads "a:b:c", each part 0..4294967295.
func ParseLargeCommunity(s string) (LargeCommunity, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return LargeCommunity{}, errorf("bad large community %q (want a:b:c)", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return LargeCommunity{}, errorf("bad large community %q (want a:b:c, each part 0..4294967295)", s)
		}
		v[i] = uint32(n)
	}
	return LargeCommunity{v[0], v[1], v[2]}, nil
}

// LargeCommunities is the LARGE_COMMUNITY attribute (type 32, optional
// transitive, RFC 8092), in received order.
type LargeCommunities struct {
	flagBits
	Values []LargeCommunity
}

// Code returns AttrLargeCommunities.
func (*LargeCommunities) Code() iana.AttrCode { return iana.AttrLargeCommunities }

// Flags returns the received flags, or optional transitive.
func (a *LargeCommunities) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends twelve octets per community.
func (a *LargeCommunities) AppendValue(b []byte, _ Options) []byte {
	for _, c := range a.Values {
		b = binary.BigEndian.AppendUint32(b, c.Global)
		b = binary.BigEndian.AppendUint32(b, c.Local1)
		b = binary.BigEndian.AppendUint32(b, c.Local2)
	}
	return b
}

// Has reports whether c is among the communities.
func (a *LargeCommunities) Has(c LargeCommunity) bool {
	if a == nil {
		return false
	}
	for _, x := range a.Values {
		if x == c {
			return true
		}
	}
	return false
}

// String is the communities separated by spaces.
func (a *LargeCommunities) String() string {
	parts := make([]string, len(a.Values))
	for i, c := range a.Values {
		parts[i] = c.String()
	}
	return strings.Join(parts, " ")
}

// RFC 8092 §6: a length that is not a non-zero multiple of 12 is
// treat-as-withdraw. (Duplicate values are to be ignored by the receiver;
// they are kept here so that re-encoding is byte-exact.)
func decodeLargeCommunities(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) == 0 || len(v)%12 != 0 {
		return nil, d.lengthFault(len(v), "a non-zero multiple of 12")
	}
	vals := make([]LargeCommunity, len(v)/12)
	for i := range vals {
		p := v[12*i:]
		vals[i] = LargeCommunity{binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:])}
	}
	return &LargeCommunities{Values: vals}, nil
}
