package fault

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// Action is the RFC 7606 outcome of a fault, ordered from mild to severe so
// that the larger value wins when an UPDATE has several faults (RFC 7606 §3 h).
type Action uint8

const (
	// None marks a fault that needs no action beyond logging.
	None Action = iota
	// AttributeDiscard drops the attribute and keeps the route (RFC 7606 §2).
	AttributeDiscard
	// TreatAsWithdraw withdraws every route the UPDATE carries (RFC 7606 §2).
	TreatAsWithdraw
	// AFISAFIDisable stops the address family on the session (RFC 4760 §7).
	AFISAFIDisable
	// SessionReset sends the NOTIFICATION and closes the session (RFC 4271 §6).
	SessionReset
)

// String names the action as RFC 7606 does.
func (a Action) String() string {
	switch a {
	case None:
		return "none"
	case AttributeDiscard:
		return "attribute-discard"
	case TreatAsWithdraw:
		return "treat-as-withdraw"
	case AFISAFIDisable:
		return "afi-safi-disable"
	case SessionReset:
		return "session-reset"
	}
	return fmt.Sprintf("action-%d", uint8(a))
}

// Error is one fault found while decoding. It is immutable once returned.
type Error struct {
	// Action is what RFC 7606 (or RFC 4271 for non-UPDATE messages) says to do.
	Action Action
	// Code and Subcode are the NOTIFICATION to send when Action is
	// SessionReset, and the classification of the fault otherwise.
	Code    iana.NotifCode
	Subcode uint8
	// Attr is the path attribute concerned, or 0.
	Attr iana.AttrCode
	// Data is the offending data for the NOTIFICATION's data field: for an
	// attribute fault the whole attribute (type, length and value) as
	// RFC 4271 §6.3 asks. It is a copy and safe to keep.
	Data []byte
	// Reason says what was wrong, for logs and operators.
	Reason string
}

// Error describes the fault in one line: the NOTIFICATION, the outcome, the
// attribute and the reason.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s / %s (%s)", e.Code, iana.SubcodeString(e.Code, e.Subcode), e.Action)
	if e.Attr != 0 {
		s += " " + e.Attr.String()
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// DataHex is Data in hex, at most 64 bytes of it, for logs.
func (e *Error) DataHex() string {
	if len(e.Data) > 64 {
		return hex.EncodeToString(e.Data[:64]) + "..."
	}
	return hex.EncodeToString(e.Data)
}

// New returns a fault; data is copied.
func New(action Action, code iana.NotifCode, sub uint8, data []byte, format string, args ...any) *Error {
	e := &Error{Action: action, Code: code, Subcode: sub, Reason: fmt.Sprintf(format, args...)}
	if len(data) > 0 {
		e.Data = append([]byte(nil), data...)
	}
	return e
}

// Header is a Message Header Error (RFC 4271 §6.1); it always resets the session.
func Header(sub iana.HeaderSubcode, data []byte, format string, args ...any) *Error {
	return New(SessionReset, iana.NotifMessageHeader, uint8(sub), data, format, args...)
}

// Open is an OPEN Message Error (RFC 4271 §6.2); it always resets the session.
func Open(sub iana.OpenSubcode, data []byte, format string, args ...any) *Error {
	return New(SessionReset, iana.NotifOpenMessage, uint8(sub), data, format, args...)
}

// Update is an UPDATE Message Error with the given outcome.
func Update(action Action, sub iana.UpdateSubcode, data []byte, format string, args ...any) *Error {
	return New(action, iana.NotifUpdateMessage, uint8(sub), data, format, args...)
}

// Attribute is an UPDATE Message Error about one path attribute; data is the
// whole attribute as received.
func Attribute(action Action, sub iana.UpdateSubcode, code iana.AttrCode, data []byte, format string, args ...any) *Error {
	e := New(action, iana.NotifUpdateMessage, uint8(sub), data, format, args...)
	e.Attr = code
	return e
}

// RouteRefresh is a ROUTE-REFRESH Message Error (RFC 7313 §5).
func RouteRefresh(sub iana.RouteRefreshSubcode, data []byte, format string, args ...any) *Error {
	return New(SessionReset, iana.NotifRouteRefresh, uint8(sub), data, format, args...)
}

// Worst returns the most severe of the faults, the first one among equals, or
// nil when there are none.
func Worst(faults []*Error) *Error {
	var w *Error
	for _, f := range faults {
		if f != nil && (w == nil || f.Action > w.Action) {
			w = f
		}
	}
	return w
}

// As returns the fault in err's chain, or nil.
func As(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}
