package crosscheck

import (
	"fmt"
	"slices"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Wireshark's BGP dissector does not learn ADD-PATH from the OPEN
// messages, and 4.0 has no preference for it. It guesses: it reads the
// unicast routes of a field (Withdrawn Routes, NLRI, the NLRI of
// MP_REACH_NLRI and MP_UNREACH_NLRI) with path identifiers when the rest
// of the field looks like ADD-PATH and "not like standard BGP"
// (detect_add_path_prefix4 and detect_add_path_prefix46 in packet-bgp.c;
// for the MP attributes the guess is made again at every route, so it can
// switch in the middle of a field). "Not standard" includes a zero-length
// prefix (0.0.0.0/0, ::/0) anywhere in the rest of a field longer than
// one octet; "looks like ADD-PATH" does not check that the last path
// identifier and prefix fit, so the dissector may then read past the end
// of the field, show routes and attributes made of the octets after it,
// or stop with an exception (a malformed packet).
//
// So a valid UPDATE without ADD-PATH that has a default route among other
// routes in a field is now and then misread. The test excuses that only
// where the heuristic applies: godwit's plain reading of each field the
// dissector read with path identifiers holds a zero-length prefix, the
// field is longer than one octet, and the routes the dissector read
// before its first path identifier are godwit's first routes of that
// field. The rest of such a message is not compared: what the dissector
// shows after the misreading is not a reading of our octets.

// nlriField names the fields of an UPDATE that carry routes.
type nlriField int

const (
	fieldWithdrawn nlriField = iota // Withdrawn Routes (IPv4 unicast)
	fieldNLRI                       // NLRI (IPv4 unicast)
	fieldMPReach                    // the NLRI of MP_REACH_NLRI
	fieldMPUnreach                  // the NLRI of MP_UNREACH_NLRI
	numFields
)

var fieldNames = [numFields]string{"Withdrawn Routes", "NLRI", "MP_REACH_NLRI", "MP_UNREACH_NLRI"}

// fieldOf returns the family and octets of field f of u.
func fieldOf(u *wire.Update, f nlriField) (nlri.Family, []byte) {
	switch f {
	case fieldWithdrawn:
		return nlri.IPv4Unicast, u.Withdrawn
	case fieldNLRI:
		return nlri.IPv4Unicast, u.NLRI
	case fieldMPReach:
		if m, ok := u.Attrs.MPReach(); ok {
			return m.Family, m.NLRI
		}
	case fieldMPUnreach:
		if m, ok := u.Attrs.MPUnreach(); ok {
			return m.Family, m.NLRI
		}
	}
	return nlri.Family{}, nil
}

// addPathExcuse returns "" when the dissector's ADD-PATH heuristic
// explains every field of r it read with path identifiers, and says why
// not otherwise.
func addPathExcuse(u *wire.Update, r tsharkReading) string {
	for f := range numFields {
		if !r.pathIDs[f] {
			continue
		}
		fam, field := fieldOf(u, f)
		if fam != nlri.IPv4Unicast && fam != nlri.IPv6Unicast {
			return fmt.Sprintf("tshark read the %s field (%s) with ADD-PATH path identifiers", fieldNames[f], fam)
		}
		routes, err := nlri.Decode(fam, field, false)
		if err != nil {
			return fmt.Sprintf("the %s field does not parse: %v", fieldNames[f], err)
		}
		var plain []string
		zero := false
		for _, x := range routes {
			plain = append(plain, routeKey(x))
			zero = zero || x.(nlri.Prefix).Prefix.Bits() == 0
		}
		if !zero || len(field) < 2 {
			return fmt.Sprintf("tshark read the %s field with ADD-PATH path identifiers, and its heuristic does "+
				"not explain why (no zero-length prefix in a field of %d octets)", fieldNames[f], len(field))
		}
		n := r.firstPathID[f]
		if n > len(plain) || !slices.Equal(r.routes[f][:n], plain[:n]) {
			return fmt.Sprintf("the %s field: tshark's routes before it guessed ADD-PATH, %v, are not godwit's first %d, %v",
				fieldNames[f], r.routes[f][:n], n, plain)
		}
	}
	return ""
}
