// Package nlri encodes and decodes Network Layer Reachability Information,
// one file per family: IPv4 and IPv6 unicast (with ADD-PATH path
// identifiers, RFC 7911), labeled unicast (RFC 8277), VPNv4 and VPNv6
// (RFC 4364, RFC 4659), EVPN (RFC 7432, RFC 9136), route-target constraint
// (RFC 4684); NLRI of other families are kept as opaque bytes.
//
// Layer: wire. Imports wire/iana and wire/fault only.
//
// The hot path is unicast: Iter walks the prefixes of an NLRI field straight
// from the received buffer without allocating, and AppendPrefix writes one
// back. Everything else goes through the NLRI interface (Decode, Append);
// DecodeVPN and DecodeLabeled are the allocation-light typed forms for the
// two label-carrying families.
//
// Every decoder keeps what it received, bits past a prefix length and
// unassigned type codes included, so that encoding a decoded value gives back
// the same octets; every fault is an UPDATE Message Error / Invalid Network
// Field with Action SessionReset (see Decode).
//
// Start with family.go, then prefix.go, then nlri.go (the NLRI interface and
// Decode). The other files, one per family or building block:
//
//	label.go    Label, a 3-octet MPLS label field
//	rd.go       RD, route distinguishers; FormatAdmin and ParseAdmin, the
//	            administrator:assigned text shared with route targets
//	mpls.go     the layout labeled unicast and VPN share, label stack rules
//	labeled.go  Labeled (SAFI 4)
//	vpn.go      VPN (SAFI 128)
//	evpn.go     EVPN route types 1-5, EVPNUnknown, ESI, MAC; String forms
//	rtc.go      RTC (SAFI 132)
//	opaque.go   Opaque, any other family
//
// Golden vectors are in testdata/*.txt, one wire field per line; the format
// is described at the top of each file and in vectors_test.go.
package nlri
