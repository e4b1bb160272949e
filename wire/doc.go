// Package wire is the BGP-4 message codec: the header, OPEN and its
// capabilities, UPDATE, NOTIFICATION, KEEPALIVE and ROUTE-REFRESH, with the
// error classification of RFC 4271 §6 and RFC 7606. It does no I/O, starts
// no goroutines and knows nothing of JSON or the CLI.
//
// Layer: wire, the ground floor. It imports wire/iana (code spaces),
// wire/fault (the typed error), wire/nlri (NLRI per family) and wire/attr
// (path attributes); nothing above it.
//
// Where to start: message.go (Message, Options, Decode, ParseHeader), then
// update.go (Update, DecodeUpdate, Reach, Unreach) and build.go (NewUpdate
// and the Packer that writes full tables). open.go and capability.go hold
// OPEN; notification.go, keepalive.go and refresh.go the small messages.
//
// # Speed
//
// UPDATE is the hot path. DecodeUpdate keeps the classic Withdrawn Routes
// and NLRI fields as raw bytes aliasing the received buffer, checks them
// with nlri.Count, and lets Reach and Unreach walk them in place (IPv4 by
// a word-at-a-time reader, IPv6 with nlri.Iter): no allocation per prefix. The attribute block is decoded once, into values
// that never alias the buffer; Clone copies the raw fields when an UPDATE
// must outlive the buffer. The Packer appends prefixes straight into one
// output buffer, closing an UPDATE when the next prefix would not fit: an
// attribute set is encoded once per SetAttrs, not per UPDATE or prefix.
// The benchmarks in bench_test.go (BenchmarkFullTableDecode and
// BenchmarkFullTableEncode on a synthetic million-prefix table) report
// ns/prefix by wall and by CPU time, the latter because test machines are
// shared.
//
// # Errors
//
// Every decoder returns *fault.Error (package fault): the NOTIFICATION code
// and subcode, the offending octets, and the RFC 7606 action. Header,
// OPEN, NOTIFICATION and ROUTE-REFRESH faults always reset the session. For
// UPDATE the attribute decoder (attr.Decode) classifies each attribute
// (RFC 7606 §7 and §3 a-c, g), and DecodeUpdate adds the rules that need
// the whole message:
//
//	condition                                          action              subcode
//	body < 4, Withdrawn Routes Length or Total Path    session reset       Malformed Attribute List
//	  Attribute Length overrunning the body (§4)
//	Withdrawn Routes or NLRI field not parseable       session reset       Invalid Network Field
//	  (§5.3: prefix length > 32, last prefix overruns)
//	NLRI of MP_REACH_NLRI / MP_UNREACH_NLRI not        AFI/SAFI disable    Invalid Network Field
//	  parseable (§7.11, §5.3)
//	MP attribute refused by attr.Decode with AFI/SAFI  AFI/SAFI disable,   as attr.Decode says
//	  disable (e.g. next hop length wrong for the        or session reset
//	  family, §7.11)                                     when its AFI/SAFI
//	                                                     is unreadable
//	reachability present (NLRI field, or NLRI in an    treat-as-withdraw   Missing Well-known Attribute
//	  MP_REACH_NLRI) and ORIGIN or AS_PATH missing,                          (data: the type code)
//	  or NEXT_HOP missing with a non-empty NLRI
//	  field (§3 d; not reported again when the
//	  attribute was there but faulty)
//	NEXT_HOP present without IPv4 NLRI                 none                -
//	no reachability (withdrawals, MP_UNREACH_NLRI      none                -
//	  only, End-of-RIB): attributes not required
//	LOCAL_PREF missing, peer AS checks, martian        the session's job   -
//	  next hops
//
// When several faults are found the worst action wins (§3 h); all of them
// are in Update.Faults. What parsed is still handed up when the session
// carries on: with treat-as-withdraw, Reach gives nothing and Unreach gives
// every route of the UPDATE, announced ones included; with AFI/SAFI disable
// the family's routes are left out of both (Update.Disabled names the
// families) and the rest is processed.
package wire
