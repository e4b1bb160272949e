// Package attr encodes and decodes BGP path attributes (RFC 4271 §4.3 and
// §5, and the RFCs that add attributes), and classifies malformed ones by
// RFC 7606.
//
// Layer: wire. Imports wire/iana, wire/fault and wire/nlri; imported by
// package wire (which parses UPDATEs and the NLRI inside MP_REACH_NLRI and
// MP_UNREACH_NLRI, since only it knows ADD-PATH) and everything above.
//
// Start with attr.go (Flags, Options, the Attr interface, Append, List),
// then decode.go (Decode, the per-code table and RFC 7606 handling). One
// file per attribute family:
//
//	basic.go        ORIGIN, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE,
//	                ORIGINATOR_ID, CLUSTER_LIST, OTC
//	aspath.go       AS_PATH, AS4_PATH, their text form
//	as4.go          RFC 6793: merging and splitting AS_PATH/AS4_PATH and
//	                AGGREGATOR/AS4_AGGREGATOR
//	aggregator.go   AGGREGATOR, AS4_AGGREGATOR
//	community.go    COMMUNITIES (well-known names), LARGE_COMMUNITY
//	extcommunity.go EXTENDED_COMMUNITIES (route targets and origins, EVPN
//	                and RFC 9012 kinds), IPv6 address-specific ones
//	mp.go           MP_REACH_NLRI (next hop forms), MP_UNREACH_NLRI
//	pmsi.go         PMSI_TUNNEL
//	tunnelencap.go  TUNNEL_ENCAPSULATION
//	aigp.go         AIGP
//	admin.go        the admin:number text form of route targets
//
// Every attribute type keeps the flags it was received with, so encoding a
// decoded attribute gives back its octets; a value built in code has the
// code's canonical flags. Decoded values never alias the input buffer. A
// typical attribute block decodes with one allocation for the common
// attributes together (see block in decode.go) and one for each rarer or
// larger one; none per AS number or community.
//
// Canonical writes an attribute list sorted by code with canonical flags;
// the rib interns attribute sets by those octets.
//
// # RFC 7606 handling in Decode
//
//	attribute                  malformed when                       action
//	-------------------------  -----------------------------------  ------------------
//	ORIGIN (§7.1)              length != 1, value > 2               treat-as-withdraw
//	AS_PATH (§7.2)             segment overrun/underrun, zero-      treat-as-withdraw
//	                           length or unknown segment, AS 0      (Malformed AS_PATH)
//	                           (RFC 7607)
//	NEXT_HOP (§7.3)            length != 4                          treat-as-withdraw
//	MULTI_EXIT_DISC (§7.4)     length != 4                          treat-as-withdraw
//	LOCAL_PREF (§7.5)          length != 4                          treat-as-withdraw
//	ATOMIC_AGGREGATE (§7.6)    length != 0                          attribute discard
//	AGGREGATOR (§7.7)          length != 6 (2-octet AS session) or  attribute discard
//	                           != 8 (4-octet), AS 0 (RFC 7607)
//	COMMUNITIES (§7.8)         length not a non-zero multiple of 4  treat-as-withdraw
//	ORIGINATOR_ID (§7.9)       length != 4                          treat-as-withdraw
//	CLUSTER_LIST (§7.10)       length not a non-zero multiple of 4  treat-as-withdraw
//	MP_REACH_NLRI (§7.11)      shorter than AFI/SAFI                session reset
//	                           fixed fields or next hop cut short,  AFI/SAFI disable
//	                           next hop length wrong for the family
//	MP_UNREACH_NLRI (§7.11)    shorter than AFI/SAFI                session reset
//	EXTENDED_COMMUNITIES       length not a non-zero multiple of 8  treat-as-withdraw
//	(§7.14)
//	AS4_PATH (RFC 6793 §6)     as AS_PATH, 4-octet                  attribute discard
//	AS4_AGGREGATOR (RFC 6793)  length != 8, AS 0                    attribute discard
//	PMSI_TUNNEL (RFC 6514)     shorter than 5, ingress replication  treat-as-withdraw
//	                           ID not an IPv4/IPv6 address
//	TUNNEL_ENCAPSULATION       TLV or sub-TLV lengths inconsistent  treat-as-withdraw
//	(§7.13, RFC 9012 §13)
//	IPv6 ext. communities      length not a non-zero multiple of    treat-as-withdraw
//	(§7.15)                    20
//	AIGP (RFC 7311 §4)         TLV lengths inconsistent, AIGP TLV   attribute discard
//	                           length != 11
//	LARGE_COMMUNITY (RFC 8092) length not a non-zero multiple of    treat-as-withdraw
//	                           12
//	OTC (RFC 9234 §5)          length != 4                          treat-as-withdraw
//	any known code (§3 c)      Optional/Transitive bits wrong       treat-as-withdraw,
//	                                                                discard for the
//	                                                                discard rows above
//	unknown well-known code    (RFC 4271 §6.3)                      session reset
//	any repeated code (§3 g)   second MP_REACH/MP_UNREACH           session reset
//	                           any other repeat                     discard the repeat
//	attribute runs past the    (§4, first case)                     treat-as-withdraw;
//	field                                                           for MP_REACH/
//	                                                                MP_UNREACH AFI/SAFI
//	                                                                disable (reset if
//	                                                                no AFI/SAFI), §3 j
//	1-3 octets left over       (§4, second case)                    treat-as-withdraw
//
// A length error has subcode Attribute Length Error, a flags error Attribute
// Flags Error, an undefined ORIGIN Invalid ORIGIN Attribute, an AS path error
// Malformed AS_PATH, an optional attribute's content error Optional
// Attribute Error, a repeat Malformed Attribute List.
package attr
