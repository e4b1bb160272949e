package wire

import (
	"encoding/binary"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// RouteRefresh is a ROUTE-REFRESH message (RFC 2918 §3): a request to
// resend a family, or with Enhanced Route Refresh the beginning or end of a
// re-advertisement (RFC 7313 §3.2). The octet between AFI and SAFI, reserved
// in RFC 2918, is the subtype.
type RouteRefresh struct {
	Family  nlri.Family
	Subtype iana.RefreshSubtype
}

// Type returns iana.MsgRouteRefresh.
func (*RouteRefresh) Type() iana.MsgType { return iana.MsgRouteRefresh }

// AppendTo appends the 23-octet ROUTE-REFRESH.
func (r *RouteRefresh) AppendTo(b []byte, _ Options) []byte {
	start := len(b)
	b = appendHeader(b, iana.MsgRouteRefresh)
	b = binary.BigEndian.AppendUint16(b, uint16(r.Family.AFI))
	b = append(b, byte(r.Subtype), byte(r.Family.SAFI))
	return finish(b, start)
}

// DecodeRouteRefresh decodes a ROUTE-REFRESH body. A body other than 4
// octets is a ROUTE-REFRESH Message Error / Invalid Message Length with the
// whole message as data (RFC 7313 §5). godwit does not negotiate Outbound
// Route Filtering (RFC 5291), whose entries would follow the four octets.
// An unknown subtype decodes: RFC 7313 §5 says to ignore the message, which
// is the session's decision.
func DecodeRouteRefresh(body []byte) (*RouteRefresh, error) {
	if len(body) != 4 {
		msg := appendHeader(nil, iana.MsgRouteRefresh)
		msg = append(msg, body...)
		return nil, fault.RouteRefresh(iana.RouteRefreshInvalidMessageLength, finish(msg, 0),
			"ROUTE-REFRESH body of %d octets, want 4", len(body))
	}
	return &RouteRefresh{
		Family:  nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(body)), SAFI: iana.SAFI(body[3])},
		Subtype: iana.RefreshSubtype(body[2]),
	}, nil
}

// String describes the message, e.g. "ROUTE-REFRESH ipv4-unicast BoRR".
func (r *RouteRefresh) String() string {
	return "ROUTE-REFRESH " + r.Family.String() + " " + r.Subtype.String()
}
