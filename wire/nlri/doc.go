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
// back. Everything else goes through the NLRI interface (Decode, Append).
// Start with family.go, then prefix.go.
package nlri
