package policy

import (
	"strconv"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// maxSegment is the most AS numbers one segment can carry: its length is
// one octet (RFC 4271 §4.3).
const maxSegment = 255

// appendPathText appends the path as FRR prints it and attr.ASPath.String
// writes it: AS_SEQUENCE numbers separated by spaces, "{1,2}" for an AS_SET,
// "(1 2)" for an AS_CONFED_SEQUENCE, "[1,2]" for an AS_CONFED_SET, segments
// separated by spaces, empty segments left out. It writes into b so that
// matching a regular expression costs no allocation.
func appendPathText(b []byte, p *attr.ASPath) []byte {
	if p == nil {
		return b
	}
	start := len(b)
	for _, s := range p.Segments {
		if len(s.ASNs) == 0 {
			continue
		}
		if len(b) > start {
			b = append(b, ' ')
		}
		var open, close, sep byte = 0, 0, ' '
		switch s.Type {
		case iana.SegmentASSet:
			open, close, sep = '{', '}', ','
		case iana.SegmentConfedSequence:
			open, close = '(', ')'
		case iana.SegmentConfedSet:
			open, close, sep = '[', ']', ','
		}
		if open != 0 {
			b = append(b, open)
		}
		for i, as := range s.ASNs {
			if i > 0 {
				b = append(b, sep)
			}
			b = strconv.AppendUint(b, uint64(as), 10)
		}
		if close != 0 {
			b = append(b, close)
		}
	}
	return b
}

// prependPath returns a new path with front put before p's ASes, front[0]
// leftmost (RFC 4271 §5.1.2: into the leading AS_SEQUENCE, or a new one
// when the path starts with a set, a confederation segment or is empty).
// The leading sequence is split into segments of at most 255 ASes. The new
// path owns all its memory; p is not changed.
func prependPath(p *attr.ASPath, front []uint32) *attr.ASPath {
	var segs []attr.Segment
	if p != nil {
		segs = p.Segments
	}
	lead := front
	var first []uint32 // the existing leading sequence, merged with front
	rest := segs
	if len(segs) > 0 && segs[0].Type == iana.SegmentASSequence {
		first, rest = segs[0].ASNs, segs[1:]
	}
	nlead := len(lead) + len(first)
	total := nlead
	for _, s := range rest {
		total += len(s.ASNs)
	}
	asns := make([]uint32, total)
	out := make([]attr.Segment, 0, (nlead+maxSegment-1)/maxSegment+len(rest))

	merged := asns[:nlead:nlead]
	copy(merged, lead)
	copy(merged[len(lead):], first)
	for len(merged) > 0 {
		n := min(len(merged), maxSegment)
		out = append(out, attr.Segment{Type: iana.SegmentASSequence, ASNs: merged[:n:n]})
		merged = merged[n:]
	}
	free := asns[nlead:]
	for _, s := range rest {
		if len(s.ASNs) == 0 {
			continue
		}
		n := len(s.ASNs)
		c := free[:n:n]
		copy(c, s.ASNs)
		free = free[n:]
		out = append(out, attr.Segment{Type: s.Type, ASNs: c})
	}
	return &attr.ASPath{Segments: out}
}

// isPrivateAS reports whether as is a private-use AS number (RFC 6996 §5:
// 64512-65534 and 4200000000-4294967294).
func isPrivateAS(as uint32) bool {
	return (as >= 64512 && as <= 65534) || (as >= 4200000000 && as <= 4294967294)
}

// removePrivate returns p without the private AS numbers of its
// AS_SEQUENCE and AS_SET segments, dropping segments that become empty;
// confederation segments are kept whole. It returns p itself, and false,
// when there is nothing to remove.
func removePrivate(p *attr.ASPath) (*attr.ASPath, bool) {
	if p == nil {
		return p, false
	}
	keep := 0
	found := false
	for _, s := range p.Segments {
		strip := s.Type == iana.SegmentASSequence || s.Type == iana.SegmentASSet
		for _, as := range s.ASNs {
			if strip && isPrivateAS(as) {
				found = true
			} else {
				keep++
			}
		}
	}
	if !found {
		return p, false
	}
	// asns has room for exactly what is kept, so appending never moves it
	// and the segments can be carved from it as they are filled.
	asns := make([]uint32, 0, keep)
	var out []attr.Segment
	prev := -1 // where the last segment starts in asns, when a sequence
	for _, s := range p.Segments {
		strip := s.Type == iana.SegmentASSequence || s.Type == iana.SegmentASSet
		start := len(asns)
		for _, as := range s.ASNs {
			if !strip || !isPrivateAS(as) {
				asns = append(asns, as)
			}
		}
		end := len(asns)
		if end == start {
			continue
		}
		// Two sequences that a removed set separated become one, as
		// long as it fits in a segment.
		if s.Type == iana.SegmentASSequence && prev >= 0 && end-prev <= maxSegment {
			out[len(out)-1].ASNs = asns[prev:end:end]
			continue
		}
		prev = -1
		if s.Type == iana.SegmentASSequence {
			prev = start
		}
		out = append(out, attr.Segment{Type: s.Type, ASNs: asns[start:end:end]})
	}
	return &attr.ASPath{Segments: out}, true
}
