package attr

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// This file holds the small fixed-size attributes of RFC 4271 §5.1 and of
// route reflection (RFC 4456 §8), and OTC (RFC 9234 §5).

// OriginCode is the value of the ORIGIN attribute (RFC 4271 §5.1.1).
type OriginCode uint8

// The ORIGIN values.
const (
	OriginIGP        OriginCode = 0
	OriginEGP        OriginCode = 1
	OriginIncomplete OriginCode = 2
)

// String names the value as FRR and the API print it: "igp", "egp",
// "incomplete".
func (o OriginCode) String() string {
	switch o {
	case OriginIGP:
		return "igp"
	case OriginEGP:
		return "egp"
	case OriginIncomplete:
		return "incomplete"
	}
	return "origin-" + strconv.Itoa(int(o))
}

// ParseOrigin reads an ORIGIN value by name ("igp", "egp", "incomplete";
// any case, "?" for incomplete as in show output).
func ParseOrigin(s string) (OriginCode, error) {
	switch s {
	case "igp", "IGP", "i":
		return OriginIGP, nil
	case "egp", "EGP", "e":
		return OriginEGP, nil
	case "incomplete", "INCOMPLETE", "Incomplete", "?":
		return OriginIncomplete, nil
	}
	return 0, errorf("unknown origin %q (want igp, egp or incomplete)", s)
}

// Origin is the ORIGIN attribute (type 1, well-known mandatory).
type Origin struct {
	flagBits
	Value OriginCode
}

// Code returns AttrOrigin.
func (*Origin) Code() iana.AttrCode { return iana.AttrOrigin }

// Flags returns the received flags, or well-known transitive.
func (a *Origin) Flags() Flags { return a.flagsOr(wellKnown) }

// AppendValue appends the one-octet value.
func (a *Origin) AppendValue(b []byte, _ Options) []byte { return append(b, byte(a.Value)) }

// String is the value's name.
func (a *Origin) String() string { return a.Value.String() }

// RFC 7606 §7.1: length other than 1, or an undefined value, is
// treat-as-withdraw.
func decodeOrigin(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 1 {
		return nil, d.lengthFault(len(v), "1")
	}
	if v[0] > byte(OriginIncomplete) {
		return nil, d.fail(iana.UpdateInvalidOriginAttribute, "undefined ORIGIN value %d", v[0])
	}
	a := d.newOrigin()
	a.Value = OriginCode(v[0])
	return a, nil
}

// NextHop is the NEXT_HOP attribute (type 3, well-known): an IPv4 address.
type NextHop struct {
	flagBits
	Addr netip.Addr
}

// Code returns AttrNextHop.
func (*NextHop) Code() iana.AttrCode { return iana.AttrNextHop }

// Flags returns the received flags, or well-known transitive.
func (a *NextHop) Flags() Flags { return a.flagsOr(wellKnown) }

// AppendValue appends the four octets of the address (zeros when Addr is not
// an IPv4 address).
func (a *NextHop) AppendValue(b []byte, _ Options) []byte { return appendIPv4(b, a.Addr) }

// String is the address.
func (a *NextHop) String() string { return a.Addr.String() }

// RFC 7606 §7.3: length other than 4 is treat-as-withdraw. The semantic
// checks of RFC 4271 §6.3 (martians, own address) need the session and are
// the caller's.
func decodeNextHop(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 4 {
		return nil, d.lengthFault(len(v), "4")
	}
	a := d.newNextHop()
	a.Addr = netip.AddrFrom4([4]byte(v))
	return a, nil
}

// MED is the MULTI_EXIT_DISC attribute (type 4, optional non-transitive).
type MED struct {
	flagBits
	Value uint32
}

// Code returns AttrMED.
func (*MED) Code() iana.AttrCode { return iana.AttrMED }

// Flags returns the received flags, or optional non-transitive.
func (a *MED) Flags() Flags { return a.flagsOr(optNonTrans) }

// AppendValue appends the four-octet value.
func (a *MED) AppendValue(b []byte, _ Options) []byte {
	return binary.BigEndian.AppendUint32(b, a.Value)
}

// String is the value in decimal.
func (a *MED) String() string { return strconv.FormatUint(uint64(a.Value), 10) }

// RFC 7606 §7.4: length other than 4 is treat-as-withdraw.
func decodeMED(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 4 {
		return nil, d.lengthFault(len(v), "4")
	}
	a := d.newMED()
	a.Value = binary.BigEndian.Uint32(v)
	return a, nil
}

// LocalPref is the LOCAL_PREF attribute (type 5, well-known).
type LocalPref struct {
	flagBits
	Value uint32
}

// Code returns AttrLocalPref.
func (*LocalPref) Code() iana.AttrCode { return iana.AttrLocalPref }

// Flags returns the received flags, or well-known transitive.
func (a *LocalPref) Flags() Flags { return a.flagsOr(wellKnown) }

// AppendValue appends the four-octet value.
func (a *LocalPref) AppendValue(b []byte, _ Options) []byte {
	return binary.BigEndian.AppendUint32(b, a.Value)
}

// String is the value in decimal.
func (a *LocalPref) String() string { return strconv.FormatUint(uint64(a.Value), 10) }

// RFC 7606 §7.5: length other than 4 is treat-as-withdraw. Discarding
// LOCAL_PREF received from an external peer is the session's job.
func decodeLocalPref(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 4 {
		return nil, d.lengthFault(len(v), "4")
	}
	a := d.newLocalPref()
	a.Value = binary.BigEndian.Uint32(v)
	return a, nil
}

// AtomicAggregate is the ATOMIC_AGGREGATE attribute (type 6, well-known,
// no value).
type AtomicAggregate struct {
	flagBits
}

// Code returns AttrAtomicAggregate.
func (*AtomicAggregate) Code() iana.AttrCode { return iana.AttrAtomicAggregate }

// Flags returns the received flags, or well-known transitive.
func (a *AtomicAggregate) Flags() Flags { return a.flagsOr(wellKnown) }

// AppendValue appends nothing: the attribute has no value.
func (a *AtomicAggregate) AppendValue(b []byte, _ Options) []byte { return b }

// RFC 7606 §7.6: a length other than 0 is attribute discard.
func decodeAtomicAggregate(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 0 {
		return nil, d.lengthFault(len(v), "0")
	}
	return new(AtomicAggregate), nil
}

// OriginatorID is the ORIGINATOR_ID attribute (type 9, optional
// non-transitive, RFC 4456 §8): the router ID of the route's originator.
type OriginatorID struct {
	flagBits
	ID netip.Addr
}

// Code returns AttrOriginatorID.
func (*OriginatorID) Code() iana.AttrCode { return iana.AttrOriginatorID }

// Flags returns the received flags, or optional non-transitive.
func (a *OriginatorID) Flags() Flags { return a.flagsOr(optNonTrans) }

// AppendValue appends the four octets of ID.
func (a *OriginatorID) AppendValue(b []byte, _ Options) []byte { return appendIPv4(b, a.ID) }

// String is the ID in dotted-quad form.
func (a *OriginatorID) String() string { return a.ID.String() }

// RFC 7606 §7.9: length other than 4 is treat-as-withdraw.
func decodeOriginatorID(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 4 {
		return nil, d.lengthFault(len(v), "4")
	}
	return &OriginatorID{ID: netip.AddrFrom4([4]byte(v))}, nil
}

// ClusterList is the CLUSTER_LIST attribute (type 10, optional
// non-transitive, RFC 4456 §8): the cluster IDs the route passed through,
// most recent first.
type ClusterList struct {
	flagBits
	IDs []netip.Addr
}

// Code returns AttrClusterList.
func (*ClusterList) Code() iana.AttrCode { return iana.AttrClusterList }

// Flags returns the received flags, or optional non-transitive.
func (a *ClusterList) Flags() Flags { return a.flagsOr(optNonTrans) }

// AppendValue appends four octets per ID.
func (a *ClusterList) AppendValue(b []byte, _ Options) []byte {
	for _, id := range a.IDs {
		b = appendIPv4(b, id)
	}
	return b
}

// Contains reports whether id is in the list (the loop check of RFC 4456 §8).
func (a *ClusterList) Contains(id netip.Addr) bool {
	for _, x := range a.IDs {
		if x == id {
			return true
		}
	}
	return false
}

// String lists the IDs separated by spaces.
func (a *ClusterList) String() string {
	var b []byte
	for i, id := range a.IDs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = id.AppendTo(b)
	}
	return string(b)
}

// RFC 7606 §7.10: a length that is not a non-zero multiple of 4 is
// treat-as-withdraw.
func decodeClusterList(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) == 0 || len(v)%4 != 0 {
		return nil, d.lengthFault(len(v), "a non-zero multiple of 4")
	}
	ids := make([]netip.Addr, len(v)/4)
	for i := range ids {
		ids[i] = netip.AddrFrom4([4]byte(v[4*i:]))
	}
	return &ClusterList{IDs: ids}, nil
}

// OTC is the Only to Customer attribute (type 35, optional transitive,
// RFC 9234 §5): the AS that marked the route.
type OTC struct {
	flagBits
	AS uint32
}

// Code returns AttrOTC.
func (*OTC) Code() iana.AttrCode { return iana.AttrOTC }

// Flags returns the received flags, or optional transitive.
func (a *OTC) Flags() Flags { return a.flagsOr(optTrans) }

// AppendValue appends the four-octet AS.
func (a *OTC) AppendValue(b []byte, _ Options) []byte { return binary.BigEndian.AppendUint32(b, a.AS) }

// String is the AS in decimal.
func (a *OTC) String() string { return strconv.FormatUint(uint64(a.AS), 10) }

// RFC 9234 §5: a length other than 4 is treat-as-withdraw. The role checks
// (ingress and egress procedures) are the session's.
func decodeOTC(d *decoder, v []byte) (Attr, *fault.Error) {
	if len(v) != 4 {
		return nil, d.lengthFault(len(v), "4")
	}
	return &OTC{AS: binary.BigEndian.Uint32(v)}, nil
}

// appendIPv4 appends the four octets of an IPv4 address, or four zeros for
// anything else (a value built with the wrong address family; the caller's
// bug, encoded visibly rather than panicking).
func appendIPv4(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	if a.Is4In6() {
		v := a.Unmap().As4()
		return append(b, v[:]...)
	}
	return append(b, 0, 0, 0, 0)
}
