package nlri

import (
	"strconv"
)

// Label is one 3-octet label field as it appears in an NLRI: the 24 bits of
// an MPLS label stack entry without the TTL octet (RFC 3032 §2.1, RFC 8277
// §2): a 20-bit label value, a 3-bit traffic class and the bottom-of-stack
// bit, in that order. It holds the bits as received so that re-encoding is
// byte-exact.
//
// EVPN (RFC 7432 §7, RFC 8365 §5.1.3) reuses the field for a VXLAN VNI: read
// the 24 bits as uint32(l) there rather than Value.
type Label uint32

const (
	// WithdrawLabel is the label field a speaker sends in a withdrawal
	// (RFC 8277 §2.4): value 0x80000, bottom-of-stack bit clear.
	WithdrawLabel Label = 0x800000
	// CompatLabel is the all-zero label field that RFC 3107 speakers may
	// send in a withdrawal instead of WithdrawLabel (RFC 8277 §2.4).
	CompatLabel Label = 0x000000
)

// NewLabel returns the label field carrying label value v (its low 20 bits),
// traffic class 0 and the bottom-of-stack bit bos.
func NewLabel(v uint32, bos bool) Label {
	l := Label(v&0xfffff) << 4
	if bos {
		l |= 1
	}
	return l
}

// Value returns the 20-bit label value.
func (l Label) Value() uint32 { return uint32(l>>4) & 0xfffff }

// TC returns the 3-bit traffic class (RFC 5462; formerly EXP).
func (l Label) TC() uint8 { return uint8(l>>1) & 7 }

// BOS reports whether the bottom-of-stack bit is set.
func (l Label) BOS() bool { return l&1 == 1 }

// String is the label value in decimal, then "/tc=N" when the traffic class
// is not zero and "/bos" when the bottom-of-stack bit is set: "1000/bos".
func (l Label) String() string {
	s := strconv.FormatUint(uint64(l.Value()), 10)
	if tc := l.TC(); tc != 0 {
		s += "/tc=" + strconv.Itoa(int(tc))
	}
	if l.BOS() {
		s += "/bos"
	}
	return s
}

// appendLabels writes each label field as 3 octets.
func appendLabels(b []byte, ls []Label) []byte {
	for _, l := range ls {
		b = appendLabel(b, l)
	}
	return b
}

// appendLabel writes one label field as 3 octets.
func appendLabel(b []byte, l Label) []byte {
	return append(b, byte(l>>16), byte(l>>8), byte(l))
}

// getLabel reads one 3-octet label field; b must hold 3 octets.
func getLabel(b []byte) Label {
	return Label(b[0])<<16 | Label(b[1])<<8 | Label(b[2])
}
