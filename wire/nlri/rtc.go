package nlri

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// RTC is one route target membership NLRI (SAFI 132, RFC 4684 §4): a length
// in bits and up to 12 octets of prefix, an origin AS (4 octets) followed by
// a route target extended community (8 octets). The prefix may stop anywhere
// after the origin AS, which makes the route target a prefix; length 0 is the
// default route target membership, which matches every route target.
//
// OriginAS and RT hold the octets as received, bits past Length included, and
// zeros where the prefix stopped; AppendTo writes back only the octets the
// length covers.
type RTC struct {
	PathID   uint32
	Length   uint8
	OriginAS uint32
	RT       [8]byte
}

// rtcMaxLen is the longest RTC prefix: origin AS and route target.
const rtcMaxLen = 96

// Family returns IPv4RTC.
func (RTC) Family() Family { return IPv4RTC }

// String is "default" for length 0, otherwise "AS:RT/length": the origin AS
// in decimal; for a whole route target (length 96) of one of the route
// target types (two-octet AS, IPv4 address, four-octet AS; subtype 2) the
// route target as "admin:assigned" (FormatAdmin), "65000:65000:100/96";
// otherwise 0x and the route target octets the length covers in hex,
// "65000:0x0002/48", or nothing for a length of 32, "65000/32". " path-id N"
// follows when the path identifier is not zero.
func (r RTC) String() string {
	if r.Length == 0 {
		return withPathID("default", r.PathID)
	}
	s := utoa(r.OriginAS)
	covered := min((int(r.Length)-32+7)/8, len(r.RT))
	switch {
	case r.Length >= rtcMaxLen && r.RT[0] <= 2 && r.RT[1] == 2:
		s += ":" + FormatAdmin(uint16(r.RT[0]), [6]byte(r.RT[2:]))
	case covered > 0:
		s += ":0x" + hex.EncodeToString(r.RT[:covered])
	}
	return withPathID(s+"/"+strconv.Itoa(int(r.Length)), r.PathID)
}

// AppendTo appends the wire form: the length octet and the octets it covers.
// Length should be 0 or 32 to 96; at most the 12 octets the fields hold are
// written.
func (r RTC) AppendTo(b []byte, addPath bool) []byte {
	if addPath {
		b = binary.BigEndian.AppendUint32(b, r.PathID)
	}
	var full [12]byte
	binary.BigEndian.PutUint32(full[:], r.OriginAS)
	copy(full[4:], r.RT[:])
	n := min((int(r.Length)+7)/8, len(full))
	b = append(b, r.Length)
	return append(b, full[:n]...)
}

// decodeRTC parses a whole RTC NLRI field. A length other than 0 must cover
// at least the origin AS (32 bits; RFC 4684 §4 gives no meaning to a partial
// AS) and at most 96 bits.
func decodeRTC(b []byte, addPath bool) ([]NLRI, error) {
	routes := 0
	for off := 0; off < len(b); routes++ {
		_, n, f := parseRTC(b[off:], addPath)
		if f != nil {
			return nil, f
		}
		off += n
	}
	out := make([]NLRI, 0, routes)
	for off := 0; off < len(b); {
		r, n, _ := parseRTC(b[off:], addPath)
		out = append(out, r)
		off += n
	}
	return out, nil
}

func parseRTC(b []byte, addPath bool) (r RTC, n int, f error) {
	off := 0
	if addPath {
		if len(b) < 5 {
			return r, 0, malformed(b, "ADD-PATH RTC NLRI truncated: %d octets left, need a 4-octet path identifier and a length", len(b))
		}
		r.PathID = binary.BigEndian.Uint32(b)
		off = 4
	}
	r.Length = b[off]
	off++
	if r.Length != 0 && r.Length < 32 || r.Length > rtcMaxLen {
		return r, 0, malformed(b[:off], "RTC prefix length %d, want 0 or 32 to 96", r.Length)
	}
	size := (int(r.Length) + 7) / 8
	if len(b)-off < size {
		return r, 0, malformed(b, "RTC prefix of length /%d needs %d octets, %d left", r.Length, size, len(b)-off)
	}
	var full [12]byte
	copy(full[:], b[off:off+size])
	r.OriginAS = binary.BigEndian.Uint32(full[:])
	r.RT = [8]byte(full[4:])
	return r, off + size, nil
}
