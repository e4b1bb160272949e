package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Sizes of the fixed header and the length limits (RFC 4271 §4.1, RFC 8654).
const (
	// HeaderLen is the length of the message header: marker, length, type.
	HeaderLen = 19
	// MaxLen is the largest message without the Extended Message capability.
	MaxLen = 4096
	// MaxExtendedLen is the largest message once RFC 8654 is negotiated.
	MaxExtendedLen = 65535
	// markerLen is the length of the all-ones marker.
	markerLen = 16
)

// Smallest whole message per type (RFC 4271 §4.2-§4.5, RFC 2918 §3).
const (
	minOpenLen         = 29
	minUpdateLen       = 23
	keepaliveLen       = 19
	minNotificationLen = 21
	routeRefreshLen    = 23
)

// Message is one BGP message.
type Message interface {
	// Type is the message type of the header.
	Type() iana.MsgType
	// AppendTo appends the whole message, header included, to b. It does
	// not check the length against the negotiated maximum: Append does.
	AppendTo(b []byte, opt Options) []byte
}

// Options are what a session negotiated that changes how bytes are read and
// written. The zero value is a session without any capability: 2-octet AS
// numbers, no ADD-PATH, 4096-octet messages.
type Options struct {
	// AS4 is set when both sides announced the 4-octet AS capability
	// (RFC 6793): AS_PATH and AGGREGATOR carry 4-octet AS numbers.
	AS4 bool
	// AddPath lists the families whose NLRI carry a path identifier in this
	// direction of the session (RFC 7911 §3).
	AddPath nlri.AddPath
	// ExtendedMessage allows messages up to 65535 octets (RFC 8654).
	ExtendedMessage bool
}

// Permissive returns the options that accept whatever a session could have
// negotiated without ambiguity: 4-octet AS and extended messages. ADD-PATH
// stays off, since it changes how NLRI are read. `godwit decode` uses it.
func Permissive() Options {
	return Options{AS4: true, ExtendedMessage: true}
}

// MaxLen is the largest message the options allow.
func (o Options) MaxLen() int {
	if o.ExtendedMessage {
		return MaxExtendedLen
	}
	return MaxLen
}

// Header is the fixed part in front of every message (RFC 4271 §4.1).
type Header struct {
	Length uint16
	Type   iana.MsgType
}

// ParseHeader validates the first HeaderLen octets of b: the marker, the
// length against the limits the options allow and the type's own minimum,
// and the type. It does not look at len(b) beyond the header, so that a
// reader can call it to learn how many more octets to read. Faults are
// Message Header Errors (RFC 4271 §6.1).
func ParseHeader(b []byte, opt Options) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fault.Header(iana.HeaderBadMessageLength, lengthData(b),
			"message of %d octets is shorter than the %d-octet header", len(b), HeaderLen)
	}
	for _, c := range b[:markerLen] {
		if c != 0xff {
			return Header{}, fault.Header(iana.HeaderConnectionNotSynchronized, nil, "marker is not all ones")
		}
	}
	h := Header{Length: binary.BigEndian.Uint16(b[16:18]), Type: iana.MsgType(b[18])}
	n := int(h.Length)
	if n < HeaderLen || n > opt.MaxLen() {
		return h, fault.Header(iana.HeaderBadMessageLength, b[16:18],
			"length %d outside %d..%d", n, HeaderLen, opt.MaxLen())
	}
	var min int
	exact := false
	switch h.Type {
	case iana.MsgOpen:
		min = minOpenLen
		// RFC 8654 §4: the extended length never applies to OPEN.
		if n > MaxLen {
			return h, fault.Header(iana.HeaderBadMessageLength, b[16:18],
				"OPEN of %d octets exceeds %d (RFC 8654 §4)", n, MaxLen)
		}
	case iana.MsgUpdate:
		min = minUpdateLen
	case iana.MsgNotification:
		min = minNotificationLen
	case iana.MsgKeepalive:
		min, exact = keepaliveLen, true
	case iana.MsgRouteRefresh:
		// A wrong ROUTE-REFRESH length is a ROUTE-REFRESH Message Error
		// (RFC 7313 §5), found by the body decoder.
		min = HeaderLen
	default:
		return h, fault.Header(iana.HeaderBadMessageType, b[18:19], "unknown message type %d", b[18])
	}
	if n < min || (exact && n != min) {
		return h, fault.Header(iana.HeaderBadMessageLength, b[16:18],
			"%s of %d octets, need %d", h.Type, n, min)
	}
	return h, nil
}

func lengthData(b []byte) []byte {
	if len(b) >= 18 {
		return b[16:18]
	}
	return nil
}

// Decode decodes exactly one whole message, header included, and checks that
// the header's length is len(b).
//
// On error the message is still returned when the bytes could be parsed and
// the outcome lets the session carry on (an UPDATE whose faults call for
// attribute discard, treat-as-withdraw or AFI/SAFI disable), and for an
// OPEN that parsed but carries an unacceptable value (version, hold time,
// BGP identifier, unsupported parameter), so that the caller can log it.
// Every error is a *fault.Error; act on its Action.
//
// The returned message may alias b (see DecodeUpdate).
func Decode(b []byte, opt Options) (Message, error) {
	h, err := ParseHeader(b, opt)
	if err != nil {
		return nil, err
	}
	if int(h.Length) != len(b) {
		return nil, fault.Header(iana.HeaderBadMessageLength, b[16:18],
			"length field says %d octets, message has %d", h.Length, len(b))
	}
	return DecodeBody(h.Type, b[HeaderLen:], opt)
}

// DecodeBody decodes the body of a message whose header was already read
// (ParseHeader). It applies the same rules as Decode.
func DecodeBody(typ iana.MsgType, body []byte, opt Options) (Message, error) {
	switch typ {
	case iana.MsgOpen:
		o, err := DecodeOpen(body)
		if o == nil {
			return nil, err
		}
		return o, err
	case iana.MsgUpdate:
		u, err := DecodeUpdate(body, opt)
		if u == nil {
			return nil, err
		}
		return u, err
	case iana.MsgNotification:
		n, err := DecodeNotification(body)
		if err != nil {
			return nil, err
		}
		return n, nil
	case iana.MsgKeepalive:
		if len(body) != 0 {
			return nil, fault.Header(iana.HeaderBadMessageLength, lengthField(len(body)),
				"KEEPALIVE with a %d-octet body", len(body))
		}
		return Keepalive{}, nil
	case iana.MsgRouteRefresh:
		r, err := DecodeRouteRefresh(body)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, fault.Header(iana.HeaderBadMessageType, []byte{byte(typ)}, "unknown message type %d", uint8(typ))
}

// lengthField is the header's length field for a body of n octets, for the
// data of a Bad Message Length NOTIFICATION.
func lengthField(n int) []byte {
	return binary.BigEndian.AppendUint16(nil, uint16(n+HeaderLen))
}

// Append appends m to b like m.AppendTo, and fails when the result exceeds
// the largest message the options allow (4096 octets for OPEN and KEEPALIVE
// in any case, RFC 8654 §4). b is returned unchanged on error.
func Append(b []byte, m Message, opt Options) ([]byte, error) {
	start := len(b)
	out := m.AppendTo(b, opt)
	n := len(out) - start
	max := opt.MaxLen()
	if t := m.Type(); t == iana.MsgOpen || t == iana.MsgKeepalive {
		max = MaxLen
	}
	if n > max {
		return b[:start], fmt.Errorf("%s of %d octets exceeds the %d-octet maximum", m.Type(), n, max)
	}
	return out, nil
}

// appendHeader starts a message of type t; finish writes its length.
func appendHeader(b []byte, t iana.MsgType) []byte {
	b = append(b, marker[:]...)
	return append(b, 0, 0, byte(t))
}

// finish sets the length field of the message that starts at start. A length
// beyond 65535 cannot be written and is left as 0, which no decoder accepts;
// Append reports it.
func finish(b []byte, start int) []byte {
	n := len(b) - start
	if n <= 0xffff {
		binary.BigEndian.PutUint16(b[start+16:], uint16(n))
	}
	return b
}

var marker = [markerLen]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}
