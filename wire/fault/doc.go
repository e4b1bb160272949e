// Package fault is the typed error every decoder in the wire layer returns.
//
// A fault carries what a speaker needs to act on malformed input without
// guessing: the RFC 7606 outcome (attribute discard, treat-as-withdraw,
// AFI/SAFI disable, session reset), the NOTIFICATION code and subcode a reset
// sends, the offending bytes for the NOTIFICATION's data field, and the
// attribute concerned. Callers find it with errors.As and act on the most
// severe outcome (Worst).
//
// Layer: wire. Imports only wire/iana. Start with Error in fault.go.
package fault
