package attr

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// Segment is one AS_PATH segment (RFC 4271 §4.3, RFC 5065 §3): its type and
// AS numbers in path order.
type Segment struct {
	Type iana.SegmentType
	ASNs []uint32
}

// ASPath is the AS_PATH attribute (type 2, well-known mandatory). Its AS
// numbers are two octets on the wire unless the session negotiated 4-octet
// AS numbers (Options.AS4); in memory they are always full 32-bit numbers.
type ASPath struct {
	flagBits
	Segments []Segment
}

// Code returns AttrASPath.
func (*ASPath) Code() iana.AttrCode { return iana.AttrASPath }

// Flags returns the received flags, or well-known transitive.
func (p *ASPath) Flags() Flags { return p.flagsOr(wellKnown) }

// AppendValue appends the segments, with 4-octet AS numbers when opt.AS4
// and 2-octet ones otherwise (an AS that does not fit becomes AS_TRANS:
// build the AS4_PATH with SplitAS4 first). Empty segments are left out and
// segments longer than 255 AS numbers are split, as the segment length is
// one octet.
func (p *ASPath) AppendValue(b []byte, opt Options) []byte {
	return appendSegments(b, p.Segments, opt.AS4)
}

// Length is the path length for route selection (RFC 4271 §9.1.2.2 a): an
// AS_SET counts as one, confederation segments count as zero (RFC 5065 §5.3).
func (p *ASPath) Length() int {
	if p == nil {
		return 0
	}
	return pathLength(p.Segments)
}

// String is the path as FRR prints it: AS_SEQUENCE numbers separated by
// spaces, an AS_SET in braces with commas "{1,2}", an AS_CONFED_SEQUENCE in
// parentheses "(1 2)", an AS_CONFED_SET in brackets "[1,2]", segments
// separated by spaces. The empty path is "".
func (p *ASPath) String() string {
	if p == nil {
		return ""
	}
	return formatSegments(p.Segments)
}

// Flat returns every AS number of the path in path order, the members of
// sets and confederation segments included (the API's asPath array).
func (p *ASPath) Flat() []uint32 {
	if p == nil {
		return nil
	}
	return flatSegments(p.Segments)
}

// Contains reports whether as appears anywhere in the path (the loop check
// of RFC 4271 §9.1.2).
func (p *ASPath) Contains(as uint32) bool {
	if p == nil {
		return false
	}
	for _, s := range p.Segments {
		for _, x := range s.ASNs {
			if x == as {
				return true
			}
		}
	}
	return false
}

// First returns the leftmost AS of the path when the path starts with an
// AS_SEQUENCE: the neighbouring AS (RFC 4271 §6.3 checks it against the
// peer's AS; route selection compares MED between routes whose First is
// equal, RFC 4271 §9.1.2.2 c).
func (p *ASPath) First() (uint32, bool) {
	if p == nil {
		return 0, false
	}
	for _, s := range p.Segments {
		if len(s.ASNs) == 0 {
			continue
		}
		if s.Type == iana.SegmentASSequence {
			return s.ASNs[0], true
		}
		return 0, false
	}
	return 0, false
}

// OriginAS returns the rightmost AS of the path when the path ends with an
// AS_SEQUENCE: the AS that originated the route.
func (p *ASPath) OriginAS() (uint32, bool) {
	if p == nil {
		return 0, false
	}
	for i := len(p.Segments) - 1; i >= 0; i-- {
		s := p.Segments[i]
		if len(s.ASNs) == 0 {
			continue
		}
		if s.Type == iana.SegmentASSequence {
			return s.ASNs[len(s.ASNs)-1], true
		}
		return 0, false
	}
	return 0, false
}

// Clone returns a deep copy with the flags of a value built in code.
func (p *ASPath) Clone() *ASPath {
	if p == nil {
		return &ASPath{}
	}
	return &ASPath{Segments: cloneSegments(p.Segments)}
}

// Prepend returns a new path with as put in front n times (RFC 4271 §5.1.2:
// into the leading AS_SEQUENCE, or a new one when the path starts with a
// set, a confederation segment or is empty). p is not changed.
func (p *ASPath) Prepend(as uint32, n int) *ASPath {
	out := &ASPath{}
	var segs []Segment
	if p != nil {
		segs = p.Segments
	}
	if n <= 0 {
		out.Segments = cloneSegments(segs)
		return out
	}
	front := make([]uint32, n)
	for i := range front {
		front[i] = as
	}
	if len(segs) > 0 && segs[0].Type == iana.SegmentASSequence {
		first := Segment{Type: iana.SegmentASSequence, ASNs: append(front, segs[0].ASNs...)}
		out.Segments = append([]Segment{first}, cloneSegments(segs[1:])...)
		return out
	}
	out.Segments = append([]Segment{{Type: iana.SegmentASSequence, ASNs: front}}, cloneSegments(segs)...)
	return out
}

// ParseASPath reads a path in the form String writes. Sets may separate
// their members with commas or spaces; "" is the empty path.
func ParseASPath(s string) (*ASPath, error) {
	segs, err := parseSegments(s)
	if err != nil {
		return nil, err
	}
	return &ASPath{Segments: segs}, nil
}

// RFC 7606 §7.2: a malformed AS_PATH is treat-as-withdraw with subcode
// Malformed AS_PATH.
func decodeASPath(d *decoder, v []byte) (Attr, *fault.Error) {
	segs, f := decodeSegments(d, v, d.opt.AS4)
	if f != nil {
		return nil, f
	}
	p := d.newASPath()
	p.Segments = segs
	return p, nil
}

// AS4Path is the AS4_PATH attribute (type 17, optional transitive, RFC 6793
// §3): the AS path with 4-octet AS numbers, sent beside a 2-octet AS_PATH
// that holds AS_TRANS for the numbers that do not fit. It must not carry
// confederation segments (RFC 6793 §3); received ones are kept, for
// byte-exact re-encoding, and left out by MergeAS4Path (RFC 6793 §6).
type AS4Path struct {
	flagBits
	Segments []Segment
}

// Code returns AttrAS4Path.
func (*AS4Path) Code() iana.AttrCode { return iana.AttrAS4Path }

// Flags returns the received flags, or optional transitive.
func (p *AS4Path) Flags() Flags { return p.flagsOr(optTrans) }

// AppendValue appends the segments with 4-octet AS numbers, whatever opt.
func (p *AS4Path) AppendValue(b []byte, _ Options) []byte {
	return appendSegments(b, p.Segments, true)
}

// Length is the path length as ASPath.Length counts it.
func (p *AS4Path) Length() int {
	if p == nil {
		return 0
	}
	return pathLength(p.Segments)
}

// String is the path as ASPath.String writes it.
func (p *AS4Path) String() string {
	if p == nil {
		return ""
	}
	return formatSegments(p.Segments)
}

// Flat returns every AS number of the path in path order.
func (p *AS4Path) Flat() []uint32 {
	if p == nil {
		return nil
	}
	return flatSegments(p.Segments)
}

// RFC 6793 §6: a malformed AS4_PATH is discarded (attribute discard).
func decodeAS4Path(d *decoder, v []byte) (Attr, *fault.Error) {
	segs, f := decodeSegments(d, v, true)
	if f != nil {
		return nil, f
	}
	return &AS4Path{Segments: segs}, nil
}

// decodeSegments validates and decodes AS path segments. RFC 7606 §7.2 says
// an AS_PATH is malformed when a segment's length runs past the attribute
// (overrun), when a single octet is left after the last segment (underrun),
// when a segment has length zero, or when a segment type is unrecognised.
// RFC 7607 §2 adds an AS number of zero. The first pass validates and
// counts, so that the second fills two slices sized exactly (none per AS).
func decodeSegments(d *decoder, v []byte, as4 bool) ([]Segment, *fault.Error) {
	width := 2
	if as4 {
		width = 4
	}
	nsegs, nasns := 0, 0
	for off := 0; off < len(v); {
		if len(v)-off < 2 {
			return nil, d.fail(iana.UpdateMalformedASPath, "%s: 1 octet left after the last segment", d.code)
		}
		t := iana.SegmentType(v[off])
		n := int(v[off+1])
		if !t.Known() {
			return nil, d.fail(iana.UpdateMalformedASPath, "%s: unrecognised segment type %d", d.code, uint8(t))
		}
		if n == 0 {
			return nil, d.fail(iana.UpdateMalformedASPath, "%s: %s segment of length 0", d.code, t)
		}
		end := off + 2 + n*width
		if end > len(v) {
			return nil, d.fail(iana.UpdateMalformedASPath, "%s: %s segment of %d AS numbers needs %d octets, %d left",
				d.code, t, n, n*width, len(v)-off-2)
		}
		for i := off + 2; i < end; i += width {
			if (width == 2 && v[i]|v[i+1] == 0) || (width == 4 && v[i]|v[i+1]|v[i+2]|v[i+3] == 0) {
				return nil, d.fail(iana.UpdateMalformedASPath, "%s: AS number 0 (RFC 7607)", d.code)
			}
		}
		nsegs++
		nasns += n
		off = end
	}
	if nsegs == 0 {
		return nil, nil
	}
	segs := d.segments(nsegs)
	asns := d.uint32s(nasns)
	for off, i := 0, 0; off < len(v); i++ {
		t, n := iana.SegmentType(v[off]), int(v[off+1])
		s := asns[:n:n]
		asns = asns[n:]
		off += 2
		for j := range s {
			if as4 {
				s[j] = binary.BigEndian.Uint32(v[off:])
			} else {
				s[j] = uint32(binary.BigEndian.Uint16(v[off:]))
			}
			off += width
		}
		segs[i] = Segment{Type: t, ASNs: s}
	}
	return segs, nil
}

func appendSegments(b []byte, segs []Segment, as4 bool) []byte {
	for _, s := range segs {
		asns := s.ASNs
		for len(asns) > 0 {
			n := min(len(asns), 255)
			b = append(b, byte(s.Type), byte(n))
			for _, as := range asns[:n] {
				if as4 {
					b = binary.BigEndian.AppendUint32(b, as)
				} else {
					b = binary.BigEndian.AppendUint16(b, as2(as))
				}
			}
			asns = asns[n:]
		}
	}
	return b
}

func pathLength(segs []Segment) int {
	n := 0
	for _, s := range segs {
		switch s.Type {
		case iana.SegmentASSequence:
			n += len(s.ASNs)
		case iana.SegmentASSet:
			if len(s.ASNs) > 0 {
				n++
			}
		}
	}
	return n
}

func flatSegments(segs []Segment) []uint32 {
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

func cloneSegments(segs []Segment) []Segment {
	if len(segs) == 0 {
		return nil
	}
	out := make([]Segment, len(segs))
	for i, s := range segs {
		out[i] = Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)}
	}
	return out
}

// segment delimiters as FRR's aspath_delimiter_char has them.
func delimiters(t iana.SegmentType) (open, close, sep byte) {
	switch t {
	case iana.SegmentASSet:
		return '{', '}', ','
	case iana.SegmentConfedSequence:
		return '(', ')', ' '
	case iana.SegmentConfedSet:
		return '[', ']', ','
	}
	return 0, 0, ' '
}

func formatSegments(segs []Segment) string {
	var b []byte
	for _, s := range segs {
		if len(s.ASNs) == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ' ')
		}
		open, close, sep := delimiters(s.Type)
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
	return string(b)
}

func parseSegments(s string) ([]Segment, error) {
	var segs []Segment
	var seq []uint32 // the AS_SEQUENCE being collected
	flush := func() {
		if len(seq) > 0 {
			segs = append(segs, Segment{Type: iana.SegmentASSequence, ASNs: seq})
			seq = nil
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			as, err := parseAS(s[i:j])
			if err != nil {
				return nil, err
			}
			seq = append(seq, as)
			i = j
		case c == '{' || c == '(' || c == '[':
			var t iana.SegmentType
			var close byte
			switch c {
			case '{':
				t, close = iana.SegmentASSet, '}'
			case '(':
				t, close = iana.SegmentConfedSequence, ')'
			default:
				t, close = iana.SegmentConfedSet, ']'
			}
			j := strings.IndexByte(s[i:], close)
			if j < 0 {
				return nil, errorf("AS path %q: %q without %q", s, c, close)
			}
			inner := s[i+1 : i+j]
			var asns []uint32
			for _, f := range strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
				as, err := parseAS(f)
				if err != nil {
					return nil, err
				}
				asns = append(asns, as)
			}
			if len(asns) == 0 {
				return nil, errorf("AS path %q: empty segment", s)
			}
			flush()
			segs = append(segs, Segment{Type: t, ASNs: asns})
			i += j + 1
		default:
			return nil, errorf("AS path %q: unexpected %q", s, c)
		}
	}
	flush()
	return segs, nil
}

// parseAS reads an AS number in asplain form (RFC 5396), or asdot "a.b".
func parseAS(s string) (uint32, error) {
	if hi, lo, ok := strings.Cut(s, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, errorf("bad AS number %q", s)
		}
		return uint32(h<<16 | l), nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errorf("bad AS number %q", s)
	}
	return uint32(v), nil
}
