// Package api is godwit's management API: the JSON types the CLI and other
// programs see, the Backend interface the daemon implements, a Server that
// serves that interface as HTTP/JSON on a Unix socket (and, optionally, on
// TCP with TLS and a bearer token), and the Client the CLI uses.
//
// Layer: api, above daemon. It imports no other godwit package but
// internal/version: the daemon implements Backend, so that this package can
// be tested with a fake (package apitest) and the daemon can change its
// insides without changing the wire contract.
//
// The JSON field names are part of the command-line contract in DESIGN.md
// (outside tests read `godwit neighbors -o json` and `godwit routes -o
// json`): extend the types, never rename a field.
//
//	CLI / program              godwitd
//	  Client ── HTTP/1.1 ──▶ Server ──▶ Backend (daemon)
//	           unix socket     one goroutine per request (net/http);
//	                           streams call Backend with an emit func that
//	                           writes one NDJSON line and blocks on the socket
//
// Large listings (routes) and the watch feed are newline-delimited JSON
// (application/x-ndjson): one object per line, so that neither side ever
// holds a whole table. A stream that fails after it has started ends with
// one line holding an Error object ({"error": ..., "hint": ...}).
//
// Start with Backend in backend.go, then the types in types.go, then
// Server in server.go.
package api
