package nlri

import "encoding/hex"

// Opaque is the NLRI field of a family this package does not parse (FlowSpec,
// MVPN, VPLS, BGP-LS, ...): the whole field as one entry, path identifiers
// included, since it cannot be split into routes without knowing the family.
// It lets a speaker pass such a field on unchanged.
type Opaque struct {
	Fam  Family
	Data []byte
}

// Family returns Fam.
func (o Opaque) Family() Family { return o.Fam }

// String is the family and the field in hex: "ipv4-flowspec 0x0a1b2c".
func (o Opaque) String() string { return o.Fam.String() + " 0x" + hex.EncodeToString(o.Data) }

// AppendTo appends Data as is; addPath is ignored because Data already holds
// whatever path identifiers the field carried.
func (o Opaque) AppendTo(b []byte, addPath bool) []byte { return append(b, o.Data...) }
