package attr

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// ASTrans is the reserved 2-octet AS number that stands in for a 4-octet
// one towards a speaker that only knows 2-octet AS numbers (RFC 6793 §2).
const ASTrans = 23456

// Aggregator is the AGGREGATOR attribute (type 7, optional transitive,
// RFC 4271 §5.1.7): the AS and BGP identifier of the speaker that formed an
// aggregate. On a session without 4-octet AS numbers the AS is two octets
// (6 octets in all), otherwise four (8 octets).
type Aggregator struct {
	flagBits
	AS   uint32
	Addr netip.Addr
}

// Code returns AttrAggregator.
func (*Aggregator) Code() iana.AttrCode { return iana.AttrAggregator }

// Flags returns the received flags, or optional transitive.
func (a *Aggregator) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends the AS (two octets unless opt.AS4; an AS that does
// not fit becomes AS_TRANS, RFC 6793 §4.2.2) and the address.
func (a *Aggregator) AppendValue(b []byte, opt Options) []byte {
	if opt.AS4 {
		b = binary.BigEndian.AppendUint32(b, a.AS)
	} else {
		b = binary.BigEndian.AppendUint16(b, as2(a.AS))
	}
	return appendIPv4(b, a.Addr)
}

// String is "AS address", as FRR shows it ("Aggregated by").
func (a *Aggregator) String() string {
	return strconv.FormatUint(uint64(a.AS), 10) + " " + a.Addr.String()
}

// RFC 7606 §7.7: AGGREGATOR is malformed when its length is not 6 (no
// 4-octet AS on the session) or not 8 (4-octet AS on the session):
// attribute discard. RFC 7607 §2: an AS number of zero makes it malformed
// too.
func decodeAggregator(d *decoder, v []byte) (Attr, *fault.Error) {
	as, addr, f := decodeAggregatorValue(d, v, d.opt.AS4)
	if f != nil {
		return nil, f
	}
	return &Aggregator{AS: as, Addr: addr}, nil
}

func decodeAggregatorValue(d *decoder, v []byte, as4 bool) (uint32, netip.Addr, *fault.Error) {
	want := 6
	if as4 {
		want = 8
	}
	if len(v) != want {
		return 0, netip.Addr{}, d.lengthFault(len(v), strconv.Itoa(want))
	}
	var as uint32
	if as4 {
		as = binary.BigEndian.Uint32(v)
	} else {
		as = uint32(binary.BigEndian.Uint16(v))
	}
	if as == 0 {
		return 0, netip.Addr{}, d.fail(iana.UpdateOptionalAttributeError, "%s with AS 0 (RFC 7607)", d.code)
	}
	return as, netip.AddrFrom4([4]byte(v[want-4:])), nil
}

// AS4Aggregator is the AS4_AGGREGATOR attribute (type 18, optional
// transitive, RFC 6793 §3): the AGGREGATOR with a 4-octet AS, sent beside a
// 2-octet AGGREGATOR holding AS_TRANS. Always 8 octets.
type AS4Aggregator struct {
	flagBits
	AS   uint32
	Addr netip.Addr
}

// Code returns AttrAS4Aggregator.
func (*AS4Aggregator) Code() iana.AttrCode { return iana.AttrAS4Aggregator }

// Flags returns the received flags, or optional transitive.
func (a *AS4Aggregator) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends the 4-octet AS and the address.
func (a *AS4Aggregator) AppendValue(b []byte, _ Options) []byte {
	b = binary.BigEndian.AppendUint32(b, a.AS)
	return appendIPv4(b, a.Addr)
}

// String is "AS address".
func (a *AS4Aggregator) String() string {
	return strconv.FormatUint(uint64(a.AS), 10) + " " + a.Addr.String()
}

// RFC 6793 §6: a malformed AS4_AGGREGATOR (length other than 8) is
// discarded; RFC 7607 §2 adds AS 0.
func decodeAS4Aggregator(d *decoder, v []byte) (Attr, *fault.Error) {
	as, addr, f := decodeAggregatorValue(d, v, true)
	if f != nil {
		return nil, f
	}
	return &AS4Aggregator{AS: as, Addr: addr}, nil
}

// as2 maps an AS number to two octets: itself when it fits, AS_TRANS
// otherwise (RFC 6793 §4.2.2).
func as2(as uint32) uint16 {
	if as > 0xffff {
		return ASTrans
	}
	return uint16(as)
}
