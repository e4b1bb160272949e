// Package apitest is a fake api.Backend and helpers that serve it on a
// temporary Unix socket, for tests of the API, the CLI and programs built
// on the Client.
//
// Layer: api (test support). It imports api only.
package apitest
