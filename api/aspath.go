package api

import (
	"strconv"
	"strings"
)

// SegmentType is the type of an AS_PATH segment (RFC 4271 §4.3, RFC 5065).
type SegmentType string

// The AS_PATH segment types.
const (
	SegmentSequence       SegmentType = "sequence"
	SegmentSet            SegmentType = "set"
	SegmentConfedSequence SegmentType = "confed-sequence"
	SegmentConfedSet      SegmentType = "confed-set"
)

// ASPathSegment is one segment of an AS_PATH.
type ASPathSegment struct {
	Type SegmentType `json:"type"`
	ASNs []uint32    `json:"asns"`
}

// FormatASPath writes an AS_PATH the way FRR prints it: sequence members
// separated by spaces, AS_SET members in braces ("{64512 64513}"),
// confederation sequences in parentheses and confederation sets in
// brackets. An empty path is "".
func FormatASPath(segs []ASPathSegment) string {
	var b strings.Builder
	for _, s := range segs {
		if len(s.ASNs) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		opening, closing := "", ""
		switch s.Type {
		case SegmentSet:
			opening, closing = "{", "}"
		case SegmentConfedSequence:
			opening, closing = "(", ")"
		case SegmentConfedSet:
			opening, closing = "[", "]"
		}
		b.WriteString(opening)
		for i, asn := range s.ASNs {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(asn), 10))
		}
		b.WriteString(closing)
	}
	return b.String()
}

// FlattenASPath lists the AS numbers of an AS_PATH in path order, set
// members included, as Route.ASPath holds them.
func FlattenASPath(segs []ASPathSegment) []uint32 {
	n := 0
	for _, s := range segs {
		n += len(s.ASNs)
	}
	out := make([]uint32, 0, n)
	for _, s := range segs {
		out = append(out, s.ASNs...)
	}
	return out
}

// SetASPath fills r's ASPath, ASPathText and ASPathSegments from segs.
func (r *Route) SetASPath(segs []ASPathSegment) {
	r.ASPath = FlattenASPath(segs)
	r.ASPathText = FormatASPath(segs)
	r.ASPathSegments = segs
}
