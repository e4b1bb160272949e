package wire

import "github.com/godwit-bgp/godwit/wire/iana"

// Keepalive is a KEEPALIVE message: the header alone (RFC 4271 §4.4).
type Keepalive struct{}

// Type returns iana.MsgKeepalive.
func (Keepalive) Type() iana.MsgType { return iana.MsgKeepalive }

// AppendTo appends the 19-octet KEEPALIVE.
func (Keepalive) AppendTo(b []byte, _ Options) []byte {
	start := len(b)
	return finish(appendHeader(b, iana.MsgKeepalive), start)
}

// String is "KEEPALIVE".
func (Keepalive) String() string { return "KEEPALIVE" }
