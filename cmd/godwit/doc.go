// Command godwit is godwit's command-line client: it shows and changes the
// state of a running godwitd through its API (package api), and has tools
// that work without a daemon (decode, config validate, lab).
//
// Layer: programs. Flags, output formatting and nothing else: every
// command is a call of api.Client, config or another package, then text
// or JSON on stdout. Start with newRootCmd in root.go.
package main
