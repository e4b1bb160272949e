// Package iana holds the BGP-4 code spaces: address families, message types,
// capability codes, path attribute codes, NOTIFICATION codes and subcodes,
// and the smaller registries the codec needs. Each code space is its own
// named integer type so that values of different spaces never mix silently.
//
// Layer: wire (the bottom). It imports nothing from this module.
//
// The constants and their String methods are generated from registries.txt
// by gen.go (`go generate`); edit the table, not iana_gen.go. Start with
// registries.txt, then subcode.go for the NOTIFICATION subcode helpers.
package iana

//go:generate go run gen.go
