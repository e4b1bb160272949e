package attr

import (
	"encoding/binary"
	"strings"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// Flags are the Attribute Flags octet of a path attribute (RFC 4271 §4.3).
// The low four bits are unused; they are kept as received so that
// re-encoding is byte-exact.
type Flags uint8

// The attribute flag bits (RFC 4271 §4.3).
const (
	FlagOptional       Flags = 0x80 // optional (1) or well-known (0)
	FlagTransitive     Flags = 0x40 // transitive (1) or non-transitive (0)
	FlagPartial        Flags = 0x20 // an optional transitive attribute some speaker did not recognise
	FlagExtendedLength Flags = 0x10 // the Attribute Length field is two octets
)

// typeBits are the two bits that say what kind of attribute a code is; RFC
// 7606 §3 c checks only these against the code.
const typeBits = FlagOptional | FlagTransitive

// String lists the set bits, e.g. "optional|transitive|partial".
func (f Flags) String() string {
	var parts []string
	if f&FlagOptional != 0 {
		parts = append(parts, "optional")
	} else {
		parts = append(parts, "well-known")
	}
	if f&FlagTransitive != 0 {
		parts = append(parts, "transitive")
	} else {
		parts = append(parts, "non-transitive")
	}
	if f&FlagPartial != 0 {
		parts = append(parts, "partial")
	}
	if f&FlagExtendedLength != 0 {
		parts = append(parts, "extended-length")
	}
	return strings.Join(parts, "|")
}

// Options are the parts of a session's negotiation that change how attribute
// values are laid out on the wire.
type Options struct {
	// AS4 is true when both speakers announced the four-octet AS number
	// capability (RFC 6793 §3): AS_PATH and AGGREGATOR then carry 4-octet AS
	// numbers. When false they carry 2-octet ones and AS4_PATH and
	// AS4_AGGREGATOR carry the full numbers.
	AS4 bool
}

// Attr is one path attribute.
//
// Every type in this package keeps the flags it was received with, so that
// Append writes back the same octets; a value built in code (flags never set)
// reports the canonical flags of its code. All of them also implement
// FlagSetter.
type Attr interface {
	// Code is the attribute type code.
	Code() iana.AttrCode
	// Flags are the flags as received, or the canonical flags of the code
	// for a value built in code.
	Flags() Flags
	// AppendValue appends the attribute's value (without flags, type and
	// length) as the session described by opt lays it out.
	AppendValue(b []byte, opt Options) []byte
}

// FlagSetter is implemented by every attribute type of this package; SetFlags
// replaces the flags Flags reports and Append writes.
type FlagSetter interface {
	SetFlags(Flags)
}

// flagBits is embedded in every attribute type: the flags as received, or
// nothing for a value built in code.
type flagBits struct {
	f   Flags
	set bool
}

// SetFlags replaces the attribute's flags.
func (x *flagBits) SetFlags(f Flags) { x.f, x.set = f, true }

func (x *flagBits) flagsOr(canonical Flags) Flags {
	if x.set {
		return x.f
	}
	return canonical
}

// Append appends the whole attribute: flags, type code, length and value.
// The length takes two octets when Flags has FlagExtendedLength, or when the
// value is longer than 255 octets (the bit is then set in what is written).
//
// An attribute value cannot exceed 65535 octets; a longer one (which no BGP
// message can carry) is cut to 65535 octets, so the message that would carry
// it fails the message length check of package wire.
func Append(b []byte, a Attr, opt Options) []byte {
	return appendAttr(b, a.Flags(), a, opt)
}

// appendAttr appends a with the given flags.
func appendAttr(b []byte, f Flags, a Attr, opt Options) []byte {
	start := len(b)
	if f&FlagExtendedLength != 0 {
		b = append(b, byte(f), byte(a.Code()), 0, 0)
		b = a.AppendValue(b, opt)
		n := len(b) - start - 4
		if n > 0xffff {
			b, n = b[:start+4+0xffff], 0xffff
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
		return b
	}
	b = append(b, byte(f), byte(a.Code()), 0)
	b = a.AppendValue(b, opt)
	n := len(b) - start - 3
	if n <= 0xff {
		b[start+2] = byte(n)
		return b
	}
	// Too long for one octet: make room for the second length octet. This
	// moves the value once, and only for values longer than 255 octets.
	b = append(b, 0)
	copy(b[start+4:], b[start+3:len(b)-1])
	if n > 0xffff {
		b, n = b[:start+4+0xffff], 0xffff
	}
	b[start] |= byte(FlagExtendedLength)
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return b
}

// List is the path attributes of one UPDATE, in received order (or in the
// order a builder put them). Attributes are shared by pointer; a List that
// has been interned is never mutated.
type List []Attr

// Get returns the first attribute with the given code, or nil.
func (l List) Get(code iana.AttrCode) Attr {
	for _, a := range l {
		if a.Code() == code {
			return a
		}
	}
	return nil
}

// Has reports whether the list holds an attribute with the given code.
func (l List) Has(code iana.AttrCode) bool { return l.Get(code) != nil }

// Set returns the list with a replacing the attribute of the same code, or
// with a appended when there is none. The list's backing array is modified.
func (l List) Set(a Attr) List {
	for i, x := range l {
		if x.Code() == a.Code() {
			l[i] = a
			return l
		}
	}
	return append(l, a)
}

// Delete returns the list without the attributes of the given code. The
// list's backing array is modified.
func (l List) Delete(code iana.AttrCode) List {
	out := l[:0]
	for _, a := range l {
		if a.Code() != code {
			out = append(out, a)
		}
	}
	clear(l[len(out):])
	return out
}

func get[T Attr](l List, code iana.AttrCode) (T, bool) {
	for _, a := range l {
		if a.Code() == code {
			t, ok := a.(T)
			return t, ok
		}
	}
	var zero T
	return zero, false
}

// Origin returns the ORIGIN attribute.
func (l List) Origin() (*Origin, bool) { return get[*Origin](l, iana.AttrOrigin) }

// ASPath returns the AS_PATH attribute.
func (l List) ASPath() (*ASPath, bool) { return get[*ASPath](l, iana.AttrASPath) }

// NextHop returns the NEXT_HOP attribute.
func (l List) NextHop() (*NextHop, bool) { return get[*NextHop](l, iana.AttrNextHop) }

// MED returns the MULTI_EXIT_DISC attribute.
func (l List) MED() (*MED, bool) { return get[*MED](l, iana.AttrMED) }

// LocalPref returns the LOCAL_PREF attribute.
func (l List) LocalPref() (*LocalPref, bool) { return get[*LocalPref](l, iana.AttrLocalPref) }

// AtomicAggregate returns the ATOMIC_AGGREGATE attribute.
func (l List) AtomicAggregate() (*AtomicAggregate, bool) {
	return get[*AtomicAggregate](l, iana.AttrAtomicAggregate)
}

// Aggregator returns the AGGREGATOR attribute.
func (l List) Aggregator() (*Aggregator, bool) { return get[*Aggregator](l, iana.AttrAggregator) }

// Communities returns the COMMUNITIES attribute.
func (l List) Communities() (*Communities, bool) {
	return get[*Communities](l, iana.AttrCommunities)
}

// OriginatorID returns the ORIGINATOR_ID attribute.
func (l List) OriginatorID() (*OriginatorID, bool) {
	return get[*OriginatorID](l, iana.AttrOriginatorID)
}

// ClusterList returns the CLUSTER_LIST attribute.
func (l List) ClusterList() (*ClusterList, bool) {
	return get[*ClusterList](l, iana.AttrClusterList)
}

// MPReach returns the MP_REACH_NLRI attribute.
func (l List) MPReach() (*MPReach, bool) { return get[*MPReach](l, iana.AttrMPReachNLRI) }

// MPUnreach returns the MP_UNREACH_NLRI attribute.
func (l List) MPUnreach() (*MPUnreach, bool) { return get[*MPUnreach](l, iana.AttrMPUnreachNLRI) }

// ExtCommunities returns the EXTENDED_COMMUNITIES attribute.
func (l List) ExtCommunities() (*ExtCommunities, bool) {
	return get[*ExtCommunities](l, iana.AttrExtendedCommunities)
}

// AS4Path returns the AS4_PATH attribute.
func (l List) AS4Path() (*AS4Path, bool) { return get[*AS4Path](l, iana.AttrAS4Path) }

// AS4Aggregator returns the AS4_AGGREGATOR attribute.
func (l List) AS4Aggregator() (*AS4Aggregator, bool) {
	return get[*AS4Aggregator](l, iana.AttrAS4Aggregator)
}

// PMSITunnel returns the PMSI_TUNNEL attribute.
func (l List) PMSITunnel() (*PMSITunnel, bool) { return get[*PMSITunnel](l, iana.AttrPMSITunnel) }

// TunnelEncap returns the TUNNEL_ENCAPSULATION attribute.
func (l List) TunnelEncap() (*TunnelEncap, bool) {
	return get[*TunnelEncap](l, iana.AttrTunnelEncap)
}

// IPv6ExtCommunities returns the IPv6 Address Specific Extended Community
// attribute.
func (l List) IPv6ExtCommunities() (*IPv6ExtCommunities, bool) {
	return get[*IPv6ExtCommunities](l, iana.AttrIPv6ExtendedCommunities)
}

// AIGP returns the AIGP attribute.
func (l List) AIGP() (*AIGP, bool) { return get[*AIGP](l, iana.AttrAIGP) }

// LargeCommunities returns the LARGE_COMMUNITY attribute.
func (l List) LargeCommunities() (*LargeCommunities, bool) {
	return get[*LargeCommunities](l, iana.AttrLargeCommunities)
}

// OTC returns the Only to Customer attribute.
func (l List) OTC() (*OTC, bool) { return get[*OTC](l, iana.AttrOTC) }

// AppendList appends every attribute of l, in list order, as Append writes
// it. It does not reorder: a builder that wants MP_REACH_NLRI first (RFC 7606
// §5.1) puts it first.
func AppendList(b []byte, l List, opt Options) []byte {
	for _, a := range l {
		b = Append(b, a, opt)
	}
	return b
}

// MarkPartial sets the Partial bit on an optional transitive attribute, as a
// speaker must when it passes on an optional transitive attribute it does not
// recognise (RFC 4271 §5 and §9.1.3 a). It does nothing to other attributes,
// and nothing to an attribute that does not implement FlagSetter.
//
// It changes a in place; callers must not call it on an interned attribute
// but on their own copy.
func MarkPartial(a Attr) {
	f := a.Flags()
	if f&typeBits != typeBits || f&FlagPartial != 0 {
		return
	}
	if s, ok := a.(FlagSetter); ok {
		s.SetFlags(f | FlagPartial)
	}
}

// CanonicalFlags returns the flags this package writes for an attribute of
// the given code that was built in code: the Optional and Transitive bits
// the code's specification fixes, nothing else. For a code this package does
// not know it returns optional transitive.
func CanonicalFlags(code iana.AttrCode) Flags {
	if s := &specs[code]; s.decode != nil {
		return s.flags
	}
	return FlagOptional | FlagTransitive
}

// Canonical appends l in a form that depends only on the attributes'
// meaning, for hashing and comparing attribute sets: sorted by type code
// (the first of equal codes first), each with canonical flags (the code's
// Optional/Transitive bits, plus the received Partial bit of an optional
// transitive attribute, which must be passed on; for an unknown attribute
// its received Optional, Transitive and Partial bits) and the
// extended-length bit only when the value needs it. The rib interns
// attribute sets by these octets, and keeps only them, so two lists that
// differ only in order or in the extended-length bit share one interned
// set, and what is kept is what is sent on.
//
// Canonical encodes everything in l, MP_REACH_NLRI and MP_UNREACH_NLRI
// included; a caller interning the attributes of routes (rather than of an
// UPDATE) removes those first and keeps the next hop beside the set.
func Canonical(b []byte, l List, opt Options) []byte {
	var stack [16]Attr
	var sorted []Attr
	if len(l) <= len(stack) {
		sorted = stack[:len(l)]
	} else {
		sorted = make([]Attr, len(l))
	}
	copy(sorted, l)
	// Insertion sort: lists are short, and it is stable without allocating.
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].Code() < sorted[j-1].Code(); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for _, a := range sorted {
		var f Flags
		if u, ok := a.(*Unknown); ok {
			f = u.F & (typeBits | FlagPartial)
		} else {
			f = CanonicalFlags(a.Code())
			if f&typeBits == typeBits {
				// Optional transitive: Partial says a speaker on the
				// path did not know the attribute, and stays set on
				// the way on (RFC 4271 §5), so it is part of the set.
				f |= a.Flags() & FlagPartial
			}
		}
		b = appendAttr(b, f, a, opt)
	}
	return b
}

// Unknown is an attribute this package does not decode (or a code it does
// not know), kept byte-exact: optional transitive ones are passed on with the
// Partial bit set (MarkPartial), optional non-transitive ones are not passed
// on (RFC 4271 §9.1.3), which is the speaker's decision.
type Unknown struct {
	F     Flags
	C     iana.AttrCode
	Value []byte
}

// Code returns C.
func (u *Unknown) Code() iana.AttrCode { return u.C }

// Flags returns F.
func (u *Unknown) Flags() Flags { return u.F }

// SetFlags replaces F.
func (u *Unknown) SetFlags(f Flags) { u.F = f }

// AppendValue appends Value.
func (u *Unknown) AppendValue(b []byte, _ Options) []byte { return append(b, u.Value...) }

// Transitive reports whether the attribute is passed on to other speakers
// (RFC 4271 §5: optional transitive attributes are, optional non-transitive
// ones are not).
func (u *Unknown) Transitive() bool { return u.F&FlagTransitive != 0 }
