package attr

import (
	"encoding/binary"
	"strings"

	"github.com/godwit-bgp/godwit/wire/nlri"
)

// The administrator:assigned-number forms shared by route targets, route
// origins and route distinguishers (RFC 4360 §3, RFC 5668 §2, RFC 4364
// §4.2) are nlri.FormatAdmin's and nlri.ParseAdmin's, with one addition:
// a four-octet-AS value (kind 2) whose AS fits in two octets is written
// "asL:n" (the suffix Junos and Cisco use), which parseAdmin reads back as
// kind 2, so that every route target survives a text round trip.

func formatAdmin(kind uint16, v [6]byte) string {
	s := nlri.FormatAdmin(kind, v)
	if kind == 2 && binary.BigEndian.Uint32(v[:]) <= 0xffff {
		i := strings.LastIndexByte(s, ':')
		s = s[:i] + "L" + s[i:]
	}
	return s
}

func parseAdmin(s string) (uint16, [6]byte, error) {
	if i := strings.LastIndexByte(s, ':'); i > 0 && s[i-1] == 'L' {
		as, err := parseAS(s[:i-1])
		if err != nil {
			return 0, [6]byte{}, err
		}
		k, v, err := nlri.ParseAdmin("4294967295" + s[i:])
		if err != nil || k != 2 {
			return 0, [6]byte{}, errorf("%q: assigned number out of range 0..65535 for a four-octet AS", s)
		}
		binary.BigEndian.PutUint32(v[:], as)
		return 2, v, nil
	}
	return nlri.ParseAdmin(s)
}
