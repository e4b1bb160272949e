package attr

import (
	"encoding/binary"
	"strconv"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// AIGPTypeMetric is the type of the AIGP TLV (RFC 7311 §3).
const AIGPTypeMetric uint8 = 1

// AIGPTLV is one TLV of the AIGP attribute. Value excludes the type and the
// length (whose field counts the three header octets too).
type AIGPTLV struct {
	Type  uint8
	Value []byte
}

// AIGP is the Accumulated IGP Metric attribute (type 26, optional
// non-transitive, RFC 7311): a list of TLVs, of which type 1 carries the
// metric in 8 octets.
type AIGP struct {
	flagBits
	TLVs []AIGPTLV
}

// Code returns AttrAIGP.
func (*AIGP) Code() iana.AttrCode { return iana.AttrAIGP }

// Flags returns the received flags, or optional non-transitive.
func (a *AIGP) Flags() Flags { return a.flagsOr(optNonTrans) }

// AppendValue appends each TLV (values longer than 65532 octets are cut).
func (a *AIGP) AppendValue(b []byte, _ Options) []byte {
	for _, t := range a.TLVs {
		v := t.Value
		if len(v) > 0xffff-3 {
			v = v[:0xffff-3]
		}
		b = append(b, t.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)+3))
		b = append(b, v...)
	}
	return b
}

// NewAIGP returns an AIGP attribute holding the metric.
func NewAIGP(metric uint64) *AIGP {
	return &AIGP{TLVs: []AIGPTLV{{Type: AIGPTypeMetric, Value: binary.BigEndian.AppendUint64(nil, metric)}}}
}

// Metric returns the metric of the first AIGP TLV.
func (a *AIGP) Metric() (uint64, bool) {
	for _, t := range a.TLVs {
		if t.Type == AIGPTypeMetric && len(t.Value) == 8 {
			return binary.BigEndian.Uint64(t.Value), true
		}
	}
	return 0, false
}

// String is the metric, or the number of TLVs when there is none.
func (a *AIGP) String() string {
	if m, ok := a.Metric(); ok {
		return strconv.FormatUint(m, 10)
	}
	return strconv.Itoa(len(a.TLVs)) + " TLVs"
}

// RFC 7311 §4: a malformed AIGP attribute is discarded (attribute discard).
// It is malformed when a TLV is shorter than its header or runs past the
// attribute, or when an AIGP TLV's length is not 11.
func decodeAIGP(d *decoder, v []byte) (Attr, *fault.Error) {
	n := 0
	for off := 0; off < len(v); n++ {
		if len(v)-off < 3 {
			return nil, d.fail(iana.UpdateOptionalAttributeError, "AIGP: %d octets left, too few for a TLV header", len(v)-off)
		}
		l := int(binary.BigEndian.Uint16(v[off+1:]))
		if l < 3 || off+l > len(v) {
			return nil, d.fail(iana.UpdateOptionalAttributeError, "AIGP: TLV length %d with %d octets left", l, len(v)-off)
		}
		if v[off] == AIGPTypeMetric && l != 11 {
			return nil, d.fail(iana.UpdateOptionalAttributeError, "AIGP: AIGP TLV length %d, want 11", l)
		}
		off += l
	}
	c := clone(v)
	tlvs := make([]AIGPTLV, 0, n)
	for off := 0; off < len(c); {
		l := int(binary.BigEndian.Uint16(c[off+1:]))
		tlvs = append(tlvs, AIGPTLV{Type: c[off], Value: c[off+3 : off+l : off+l]})
		off += l
	}
	return &AIGP{TLVs: tlvs}, nil
}
