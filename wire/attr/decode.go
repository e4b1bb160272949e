package attr

import (
	"encoding/binary"
	"fmt"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// spec is what this package knows about one attribute code: the flags its
// specification fixes, what RFC 7606 (or the attribute's own RFC) says to do
// with a malformed one, and its decoder. The table is modelled on BIRD's
// bgp_attr_table: one row per code, read by Decode.
type spec struct {
	flags Flags        // canonical Optional|Transitive bits
	bad   fault.Action // the action for a malformed value
	// decode parses the value v; on failure it returns a fault made with
	// d.fail (which fills in Data and the action).
	decode func(d *decoder, v []byte) (Attr, *fault.Error)
}

const (
	wellKnown    = FlagTransitive
	optTrans     = FlagOptional | FlagTransitive
	optNonTrans  = FlagOptional
	withdraw     = fault.TreatAsWithdraw
	discard      = fault.AttributeDiscard
	familyAction = fault.AFISAFIDisable
)

// specs is indexed by attribute code. The actions are RFC 7606 §7 unless the
// comment says otherwise.
var specs [256]spec

func init() {
	specs[iana.AttrOrigin] = spec{wellKnown, withdraw, decodeOrigin}                  // §7.1
	specs[iana.AttrASPath] = spec{wellKnown, withdraw, decodeASPath}                  // §7.2
	specs[iana.AttrNextHop] = spec{wellKnown, withdraw, decodeNextHop}                // §7.3
	specs[iana.AttrMED] = spec{optNonTrans, withdraw, decodeMED}                      // §7.4
	specs[iana.AttrLocalPref] = spec{wellKnown, withdraw, decodeLocalPref}            // §7.5
	specs[iana.AttrAtomicAggregate] = spec{wellKnown, discard, decodeAtomicAggregate} // §7.6
	specs[iana.AttrAggregator] = spec{optTrans, discard, decodeAggregator}            // §7.7
	specs[iana.AttrCommunities] = spec{optTrans, withdraw, decodeCommunities}         // §7.8
	specs[iana.AttrOriginatorID] = spec{optNonTrans, withdraw, decodeOriginatorID}    // §7.9
	specs[iana.AttrClusterList] = spec{optNonTrans, withdraw, decodeClusterList}      // §7.10
	// §7.11: AFI/SAFI disable, or session reset when the AFI/SAFI cannot be
	// read (decodeMPReach and decodeMPUnreach pick).
	specs[iana.AttrMPReachNLRI] = spec{optNonTrans, familyAction, decodeMPReach}
	specs[iana.AttrMPUnreachNLRI] = spec{optNonTrans, familyAction, decodeMPUnreach}
	specs[iana.AttrExtendedCommunities] = spec{optTrans, withdraw, decodeExtCommunities} // §7.14
	// RFC 6793 §6: a malformed AS4_PATH or AS4_AGGREGATOR is discarded.
	specs[iana.AttrAS4Path] = spec{optTrans, discard, decodeAS4Path}
	specs[iana.AttrAS4Aggregator] = spec{optTrans, discard, decodeAS4Aggregator}
	// RFC 6514 §5 gives no error handling; it carries forwarding state of the
	// route, so a malformed one withdraws the route (RFC 7606 §2 guidance).
	specs[iana.AttrPMSITunnel] = spec{optTrans, withdraw, decodePMSITunnel}
	specs[iana.AttrTunnelEncap] = spec{optTrans, withdraw, decodeTunnelEncap}                    // §7.13, RFC 9012 §13
	specs[iana.AttrIPv6ExtendedCommunities] = spec{optTrans, withdraw, decodeIPv6ExtCommunities} // §7.15
	specs[iana.AttrAIGP] = spec{optNonTrans, discard, decodeAIGP}                                // RFC 7311 §4
	specs[iana.AttrLargeCommunities] = spec{optTrans, withdraw, decodeLargeCommunities}          // RFC 8092 §6
	specs[iana.AttrOTC] = spec{optTrans, withdraw, decodeOTC}                                    // RFC 9234 §5
}

// Known reports whether this package decodes attributes of the given code
// into a typed value (the others become Unknown).
func Known(code iana.AttrCode) bool { return specs[code].decode != nil }

// decoder carries the state of one Decode call: the options, the attribute
// being decoded (for faults) and the block typed values are carved from.
type decoder struct {
	opt  Options
	code iana.AttrCode
	raw  []byte // the whole attribute being decoded: flags, type, length, value
	blk  *block
}

// fail returns a fault about the current attribute with the action its spec
// gives for a malformed value.
func (d *decoder) fail(sub iana.UpdateSubcode, format string, args ...any) *fault.Error {
	return d.failAction(specs[d.code].bad, sub, format, args...)
}

func (d *decoder) failAction(action fault.Action, sub iana.UpdateSubcode, format string, args ...any) *fault.Error {
	return fault.Attribute(action, sub, d.code, d.raw, format, args...)
}

// lengthFault is the common "length must be n" fault.
func (d *decoder) lengthFault(got int, want string) *fault.Error {
	return d.fail(iana.UpdateAttributeLengthError, "%s length %d, want %s", d.code, got, want)
}

// block holds the typed values of one attribute block together so that
// decoding a typical block costs one allocation for all of them, plus one
// for each attribute that is large or rare. Each slot is used at most once
// per block (duplicates are discarded before they are decoded), and the
// slices carved from it have their capacity capped, so values never overlap.
type block struct {
	dec    decoder
	list   [12]Attr
	origin Origin
	aspath ASPath
	nh     NextHop
	med    MED
	lp     LocalPref
	comm   Communities
	segs   [4]Segment
	u32    [40]uint32
	nsegs  int
	nu32   int
}

func (d *decoder) newOrigin() *Origin {
	if d.blk != nil {
		return &d.blk.origin
	}
	return new(Origin)
}

func (d *decoder) newASPath() *ASPath {
	if d.blk != nil {
		return &d.blk.aspath
	}
	return new(ASPath)
}

func (d *decoder) newNextHop() *NextHop {
	if d.blk != nil {
		return &d.blk.nh
	}
	return new(NextHop)
}

func (d *decoder) newMED() *MED {
	if d.blk != nil {
		return &d.blk.med
	}
	return new(MED)
}

func (d *decoder) newLocalPref() *LocalPref {
	if d.blk != nil {
		return &d.blk.lp
	}
	return new(LocalPref)
}

func (d *decoder) newCommunities() *Communities {
	if d.blk != nil {
		return &d.blk.comm
	}
	return new(Communities)
}

// uint32s returns a zeroed slice of n values with capacity n.
func (d *decoder) uint32s(n int) []uint32 {
	if b := d.blk; b != nil && b.nu32+n <= len(b.u32) {
		s := b.u32[b.nu32 : b.nu32+n : b.nu32+n]
		b.nu32 += n
		return s
	}
	return make([]uint32, n)
}

// segments returns a zeroed slice of n segments with capacity n.
func (d *decoder) segments(n int) []Segment {
	if b := d.blk; b != nil && b.nsegs+n <= len(b.segs) {
		s := b.segs[b.nsegs : b.nsegs+n : b.nsegs+n]
		b.nsegs += n
		return s
	}
	return make([]Segment, n)
}

// clone copies b so that a decoded value never aliases the caller's buffer,
// which is reused for the next message.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Decode parses the Path Attributes field of an UPDATE (RFC 4271 §4.3) and
// classifies every error by RFC 7606. It returns the attributes that could be
// parsed, in received order, and every fault found; it keeps going after a
// fault that does not stop parsing, so that all of them are reported. The
// caller acts on fault.Worst of the faults:
//
//   - AttributeDiscard: the attribute is not in the list; use the rest.
//   - TreatAsWithdraw: withdraw the UPDATE's routes. The list still holds
//     every attribute that parsed (MP_REACH_NLRI and MP_UNREACH_NLRI
//     included), so that the caller can find them.
//   - AFISAFIDisable: the MP_REACH_NLRI or MP_UNREACH_NLRI attribute is
//     malformed; FaultFamily reads its AFI/SAFI from the fault's Data.
//   - SessionReset: send the NOTIFICATION the fault names.
//
// Every fault's Data is the whole offending attribute (flags, type, length,
// value) as RFC 4271 §6.3 asks for the NOTIFICATION's data field. Decoded
// values never alias b.
//
// What Decode checks, and what it leaves to its callers:
//
//   - Attribute framing, RFC 7606 §4. When an attribute's length runs past
//     the end of the field ("the length of the last encountered path
//     attribute would cause the Total Attribute Length to be exceeded") or
//     fewer octets than an attribute header remain, parsing stops and the
//     fault is treat-as-withdraw: the Total Attribute Length still locates
//     the NLRI field. When that last attribute is MP_REACH_NLRI or
//     MP_UNREACH_NLRI, its NLRI cannot be parsed, and RFC 7606 §3 j says
//     treat-as-withdraw is then not possible: the fault is AFI/SAFI disable
//     (§7.11) when its AFI/SAFI octets are present, session reset
//     otherwise.
//   - Flags, RFC 7606 §3 c: Optional or Transitive bits that conflict with
//     the code make the attribute malformed: treat-as-withdraw, except for
//     the attributes whose own rules say attribute discard (ATOMIC_AGGREGATE
//     §7.6, AGGREGATOR §7.7, AS4_PATH and AS4_AGGREGATOR by RFC 6793 §6,
//     AIGP by RFC 7311 §4), which are discarded. Subcode Attribute Flags
//     Error. An attribute with wrong flags whose value parses is still
//     returned, so that treat-as-withdraw can find MP_REACH_NLRI.
//   - Unrecognised codes: a well-known one (Optional bit clear) resets the
//     session with Unrecognized Well-known Attribute (RFC 4271 §6.3); an
//     optional one is kept as Unknown.
//   - Duplicates, RFC 7606 §3 g: a second MP_REACH_NLRI or MP_UNREACH_NLRI
//     resets the session with Malformed Attribute List; any other repeated
//     attribute is discarded (an AttributeDiscard fault reports it) and the
//     first occurrence is used.
//   - Values, per attribute: see each decoder and the table in doc.go.
//
// Missing well-known attributes (RFC 7606 §3 d), the NEXT_HOP and
// MP_REACH_NLRI semantics, NLRI parsing, AS_PATH checks that need the peer
// (first AS, confederation segments from an external peer) and discarding
// LOCAL_PREF from an external peer are the caller's: they need the NLRI
// fields or the session.
func Decode(b []byte, opt Options) (List, []*fault.Error) {
	if len(b) == 0 {
		return nil, nil
	}
	return decodeInto(b, opt, new(block))
}

// Scratch is memory DecodeScratch reuses from one call to the next.
type Scratch struct{ blk block }

// DecodeScratch is Decode into s's memory: the list and the attributes it
// can hold (the common ones, as Decode's one allocation does) are valid
// until the next DecodeScratch with s, so it allocates nothing for a
// usual set. It is for callers that only read the attributes, or encode
// them, before decoding the next set (an update group turning interned
// sets into the sets it sends).
func DecodeScratch(b []byte, opt Options, s *Scratch) (List, []*fault.Error) {
	if len(b) == 0 {
		return nil, nil
	}
	s.blk = block{}
	return decodeInto(b, opt, &s.blk)
}

func decodeInto(b []byte, opt Options, blk *block) (List, []*fault.Error) {
	// The decoder lives in the block: passing it to the decoders through
	// the table's function values would move a stack decoder to the heap.
	d := &blk.dec
	*d = decoder{opt: opt, blk: blk}
	l := List(blk.list[:0])
	var faults []*fault.Error
	var seen [4]uint64
	for off := 0; off < len(b); {
		rest := b[off:]
		hdr := 3
		if len(rest) >= 1 && Flags(rest[0])&FlagExtendedLength != 0 {
			hdr = 4
		}
		if len(rest) < hdr {
			// RFC 7606 §4, second case: data remains, but not enough for an
			// attribute header. Treat-as-withdraw; nothing follows that
			// could hold MP_REACH_NLRI.
			faults = append(faults, fault.Update(fault.TreatAsWithdraw, iana.UpdateMalformedAttributeList, rest,
				"%d octets left at the end of the path attributes, too few for an attribute header", len(rest)))
			break
		}
		flags := Flags(rest[0])
		code := iana.AttrCode(rest[1])
		n := int(rest[2])
		if hdr == 4 {
			n = int(binary.BigEndian.Uint16(rest[2:]))
		}
		if hdr+n > len(rest) {
			faults = append(faults, overrun(code, rest, hdr, n))
			break
		}
		raw := rest[:hdr+n]
		val := raw[hdr:]
		off += hdr + n
		d.code, d.raw = code, raw

		if seen[code/64]&(1<<(code%64)) != 0 {
			// RFC 7606 §3 g.
			if code == iana.AttrMPReachNLRI || code == iana.AttrMPUnreachNLRI {
				faults = append(faults, d.failAction(fault.SessionReset, iana.UpdateMalformedAttributeList,
					"%s appears more than once", code))
			} else {
				faults = append(faults, d.failAction(fault.AttributeDiscard, iana.UpdateMalformedAttributeList,
					"%s appears more than once; only the first is used", code))
			}
			continue
		}
		seen[code/64] |= 1 << (code % 64)

		sp := &specs[code]
		if sp.decode == nil {
			if flags&FlagOptional == 0 {
				faults = append(faults, d.failAction(fault.SessionReset, iana.UpdateUnrecognizedWellKnownAttribute,
					"unrecognised well-known attribute %d", uint8(code)))
				continue
			}
			l = append(l, &Unknown{F: flags, C: code, Value: clone(val)})
			continue
		}
		if flags&typeBits != sp.flags {
			// RFC 7606 §3 c.
			action := fault.TreatAsWithdraw
			if sp.bad == fault.AttributeDiscard {
				action = fault.AttributeDiscard
			}
			faults = append(faults, d.failAction(action, iana.UpdateAttributeFlagsError,
				"%s flags %#02x (%s), want %s", code, uint8(flags), flags, sp.flags))
			if action == fault.AttributeDiscard {
				continue
			}
		}
		a, f := sp.decode(d, val)
		if f != nil {
			faults = append(faults, f)
			continue
		}
		a.(FlagSetter).SetFlags(flags)
		l = append(l, a)
	}
	if len(l) == 0 {
		l = nil
	}
	return l, faults
}

// overrun classifies an attribute whose length runs past the end of the
// attributes field (RFC 7606 §4, first case).
func overrun(code iana.AttrCode, rest []byte, hdr, n int) *fault.Error {
	if code == iana.AttrMPReachNLRI || code == iana.AttrMPUnreachNLRI {
		// RFC 7606 §3 j: the MP attribute cannot be parsed, so treat-as-
		// withdraw is not possible for its routes.
		action := fault.SessionReset
		if len(rest)-hdr >= 3 {
			action = fault.AFISAFIDisable
		}
		return fault.Attribute(action, iana.UpdateAttributeLengthError, code, rest,
			"%s length %d runs past the end of the path attributes (%d octets left)", code, n, len(rest)-hdr)
	}
	return fault.Attribute(fault.TreatAsWithdraw, iana.UpdateAttributeLengthError, code, rest,
		"%s length %d runs past the end of the path attributes (%d octets left)", code, n, len(rest)-hdr)
}

// DecodeValue decodes the value of one attribute received with the given
// flags, applying the same per-attribute rules as Decode (flags check
// included). Codes this package does not decode give an Unknown. It is meant
// for attributes that arrive outside an UPDATE (BMP, MRT) and for tests.
func DecodeValue(code iana.AttrCode, flags Flags, value []byte, opt Options) (Attr, *fault.Error) {
	raw := make([]byte, 0, len(value)+4)
	if len(value) > 0xff || flags&FlagExtendedLength != 0 {
		raw = append(raw, byte(flags|FlagExtendedLength), byte(code), byte(len(value)>>8), byte(len(value)))
	} else {
		raw = append(raw, byte(flags), byte(code), byte(len(value)))
	}
	raw = append(raw, value...)
	d := decoder{opt: opt, code: code, raw: raw}
	sp := &specs[code]
	if sp.decode == nil {
		if flags&FlagOptional == 0 {
			return nil, d.failAction(fault.SessionReset, iana.UpdateUnrecognizedWellKnownAttribute,
				"unrecognised well-known attribute %d", uint8(code))
		}
		return &Unknown{F: flags, C: code, Value: clone(value)}, nil
	}
	if flags&typeBits != sp.flags {
		action := fault.TreatAsWithdraw
		if sp.bad == fault.AttributeDiscard {
			action = fault.AttributeDiscard
		}
		return nil, d.failAction(action, iana.UpdateAttributeFlagsError,
			"%s flags %#02x (%s), want %s", code, uint8(flags), flags, sp.flags)
	}
	a, f := sp.decode(&d, value)
	if f != nil {
		return nil, f
	}
	a.(FlagSetter).SetFlags(flags)
	return a, nil
}

// FaultFamily returns the address family of the MP_REACH_NLRI or
// MP_UNREACH_NLRI attribute a fault is about, read from the fault's Data
// (the whole attribute), so that a caller can disable that family on the
// session (RFC 7606 §7.11, RFC 4760 §7). ok is false when the fault is not
// about such an attribute or its AFI/SAFI octets are missing.
func FaultFamily(f *fault.Error) (fam nlri.Family, ok bool) {
	if f == nil || (f.Attr != iana.AttrMPReachNLRI && f.Attr != iana.AttrMPUnreachNLRI) || len(f.Data) < 3 {
		return nlri.Family{}, false
	}
	hdr := 3
	if Flags(f.Data[0])&FlagExtendedLength != 0 {
		hdr = 4
	}
	v := f.Data[hdr:]
	if len(v) < 3 {
		return nlri.Family{}, false
	}
	return nlri.Family{AFI: iana.AFI(binary.BigEndian.Uint16(v)), SAFI: iana.SAFI(v[2])}, true
}

// errorf is a plain error for the string parsers and accessors (not for
// decoding peer input, which returns faults).
func errorf(format string, args ...any) error { return fmt.Errorf("attr: "+format, args...) }
