// Package crosscheck holds tests only: it checks godwit's UPDATE encoder and
// decoder (packages wire, wire/attr and wire/nlri) against decoders written
// by other people, so that a misreading of an RFC that our own golden
// vectors share with our code still shows up.
//
// Layer: test-only, beside wire. It imports wire, wire/attr, wire/nlri and
// wire/iana and is imported by nothing.
//
// Where to start: gen_test.go makes a deterministic set of random, valid
// UPDATEs (seeded math/rand) with wire.NewUpdate and wire.Packer, and
// view_test.go the notation every decoder's reading is turned into before
// go-cmp compares it. Then one file per decoder:
//
//	roundtrip_test.go  godwit itself: decode(b) says what was encoded,
//	                   and encode(decode(b)) == b
//	tshark_test.go     Wireshark's dissector: every message, written into
//	                   one pcap file (pcap_test.go) and read by one tshark
//	                   run (its JSON repeats keys: jsontree_test.go)
//	exabgp_test.go     ExaBGP 4.2's `exabgp --decode`: a sample, several
//	                   messages per process where ExaBGP allows it
//
// Each decoder file starts with the conventions and limits of that decoder
// and how the comparison maps them; a difference that is not one of those
// fails the test with the message's hex and both readings.
//
// The external tools are optional: a test skips, saying which tool is
// missing, when it is not on PATH. Flags (go test ./wire/crosscheck/ -args
// -crosscheck.seed=7 ...) change the seed, the message count and the
// ExaBGP sample, and keep the pcap for a look in Wireshark; see flags in
// gen_test.go.
package crosscheck
