package api

import (
	"fmt"
	"net"
	"strings"
)

// DefaultAddr is where godwitd serves the API and the CLI looks for it.
const DefaultAddr = "unix:///run/godwit/godwitd.sock"

// maxSocketPath is the longest Unix socket path Linux takes (sun_path is
// 108 bytes, one of them the terminating NUL).
const maxSocketPath = 107

// Addr is a parsed API address.
type Addr struct {
	// Network is "unix" (Address is a socket path) or "tcp" (Address is
	// host:port, spoken over TLS).
	Network string
	Address string
}

// ParseAddr parses an API address: "unix://PATH", a bare PATH, or
// "https://HOST:PORT" for a TCP listener (TLS and a bearer token). The
// empty string is DefaultAddr.
func ParseAddr(s string) (Addr, error) {
	if s == "" {
		s = DefaultAddr
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "unix", s
	}
	switch scheme {
	case "unix":
		if rest == "" {
			return Addr{}, fmt.Errorf("API address %q has no socket path; write unix:///run/godwit/godwitd.sock or a path", s)
		}
		if len(rest) > maxSocketPath {
			return Addr{}, fmt.Errorf("API socket path %s is too long (%d bytes; Linux takes at most %d)", rest, len(rest), maxSocketPath)
		}
		return Addr{Network: "unix", Address: rest}, nil
	case "https":
		host, port, err := net.SplitHostPort(strings.TrimSuffix(rest, "/"))
		if err != nil || port == "" {
			return Addr{}, fmt.Errorf("API address %q: want https://HOST:PORT", s)
		}
		return Addr{Network: "tcp", Address: net.JoinHostPort(host, port)}, nil
	}
	return Addr{}, fmt.Errorf("API address %q: unknown scheme %q; use unix://PATH, a path, or https://HOST:PORT", s, scheme)
}

// String is the address in the form ParseAddr reads.
func (a Addr) String() string {
	if a.Network == "tcp" {
		return "https://" + a.Address
	}
	return "unix://" + a.Address
}

// Display is the address for messages: the socket path, or host:port.
func (a Addr) Display() string { return a.Address }
