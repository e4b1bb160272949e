package wire

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// MaxShutdownLen is the longest Shutdown Communication (RFC 9003 §2).
const MaxShutdownLen = 255

// Notification is a NOTIFICATION message (RFC 4271 §4.5). Any code and
// subcode decode: an unknown one is still a NOTIFICATION, and the session
// closes all the same.
type Notification struct {
	Code    iana.NotifCode
	Subcode uint8
	Data    []byte
}

// Type returns iana.MsgNotification.
func (*Notification) Type() iana.MsgType { return iana.MsgNotification }

// NewNotification returns the NOTIFICATION that reports f. Its data is cut
// to what fits a 4096-octet message (an attribute quoted from an extended
// message can be longer), so that it can be sent on any session.
func NewNotification(f *fault.Error) *Notification {
	data := f.Data
	if max := MaxLen - minNotificationLen; len(data) > max {
		data = data[:max]
	}
	return &Notification{Code: f.Code, Subcode: f.Subcode, Data: data}
}

// AppendTo appends the whole NOTIFICATION message.
func (n *Notification) AppendTo(b []byte, _ Options) []byte {
	start := len(b)
	b = appendHeader(b, iana.MsgNotification)
	b = append(b, byte(n.Code), n.Subcode)
	b = append(b, n.Data...)
	return finish(b, start)
}

// DecodeNotification decodes a NOTIFICATION body. Data does not alias body.
func DecodeNotification(body []byte) (*Notification, error) {
	if len(body) < 2 {
		return nil, fault.Header(iana.HeaderBadMessageLength, lengthField(len(body)),
			"NOTIFICATION body of %d octets, need 2", len(body))
	}
	n := &Notification{Code: iana.NotifCode(body[0]), Subcode: body[1]}
	if len(body) > 2 {
		n.Data = append([]byte{}, body[2:]...)
	}
	return n, nil
}

// NewShutdown returns a Cease with a Shutdown Communication (RFC 9003 §2):
// sub is Administrative Shutdown or Administrative Reset. A msg longer than
// 255 octets is cut at the last whole UTF-8 character that fits.
func NewShutdown(sub iana.CeaseSubcode, msg string) *Notification {
	if len(msg) > MaxShutdownLen {
		cut := MaxShutdownLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	data := make([]byte, 0, 1+len(msg))
	data = append(data, byte(len(msg)))
	data = append(data, msg...)
	return &Notification{Code: iana.NotifCease, Subcode: uint8(sub), Data: data}
}

// ShutdownMessage returns the Shutdown Communication of a Cease /
// Administrative Shutdown or Administrative Reset (RFC 9003 §2). ok is false
// when there is none, or when it is malformed (a length past the data, or
// not UTF-8): RFC 9003 §3 asks to log that, and the NOTIFICATION stands.
func (n *Notification) ShutdownMessage() (string, bool) {
	if n.Code != iana.NotifCease || (n.Subcode != uint8(iana.CeaseAdministrativeShutdown) && n.Subcode != uint8(iana.CeaseAdministrativeReset)) {
		return "", false
	}
	if len(n.Data) == 0 {
		return "", false
	}
	l := int(n.Data[0])
	if len(n.Data) < 1+l {
		return "", false
	}
	msg := n.Data[1 : 1+l]
	if !utf8.Valid(msg) {
		return "", false
	}
	return string(msg), true
}

// NewHardReset wraps inner in a Cease / Hard Reset (RFC 8538 §3): the data
// is the inner code, subcode and data.
func NewHardReset(inner Notification) *Notification {
	data := make([]byte, 0, 2+len(inner.Data))
	data = append(data, byte(inner.Code), inner.Subcode)
	data = append(data, inner.Data...)
	return &Notification{Code: iana.NotifCease, Subcode: uint8(iana.CeaseHardReset), Data: data}
}

// HardResetInner returns the NOTIFICATION a Cease / Hard Reset carries
// (RFC 8538 §3). ok is false for any other NOTIFICATION and for a Hard
// Reset whose data is shorter than a code and a subcode. data aliases n.Data.
func (n *Notification) HardResetInner() (code iana.NotifCode, sub uint8, data []byte, ok bool) {
	if n.Code != iana.NotifCease || n.Subcode != uint8(iana.CeaseHardReset) || len(n.Data) < 2 {
		return 0, 0, nil, false
	}
	return iana.NotifCode(n.Data[0]), n.Data[1], n.Data[2:], true
}

// String describes the NOTIFICATION: code and subcode by name, then the
// shutdown message, the inner NOTIFICATION of a Hard Reset, or the data in
// hex, e.g. `Cease / Administrative Shutdown: "maintenance"`.
func (n *Notification) String() string { return n.describe(true) }

// describe is String; unwrap says whether a Hard Reset's inner NOTIFICATION
// is shown (one level only: a Hard Reset inside a Hard Reset is data).
func (n *Notification) describe(unwrap bool) string {
	s := n.Code.String() + " / " + iana.SubcodeString(n.Code, n.Subcode)
	if msg, ok := n.ShutdownMessage(); ok {
		return s + ": " + strconv.Quote(msg)
	}
	if code, sub, data, ok := n.HardResetInner(); ok && unwrap {
		inner := Notification{Code: code, Subcode: sub, Data: data}
		return s + " (" + inner.describe(false) + ")"
	}
	if len(n.Data) > 0 {
		if len(n.Data) > 64 {
			return fmt.Sprintf("%s: data %x...", s, n.Data[:64])
		}
		return fmt.Sprintf("%s: data %x", s, n.Data)
	}
	return s
}
