package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"syscall"
)

// Error is an error the API reports to its client: an HTTP status, a
// one-line message and an optional hint saying what to do about it. It is
// also the JSON body of every failed request ({"error": ..., "hint": ...})
// and the last line of a stream that failed after it started.
type Error struct {
	// Status is the HTTP status code; 0 means 500.
	Status int `json:"-"`
	// Message says what went wrong, in one line.
	Message string `json:"error"`
	// Hint, when set, says what to do about it.
	Hint string `json:"hint,omitempty"`
}

// Error returns the message and the hint, separated by "; ".
func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + "; " + e.Hint
}

// HTTPStatus is e.Status, or 500 when it is not set.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// NeighborNotFound is the error for a neighbour address that is not
// configured (404).
func NeighborNotFound(addr netip.Addr) error {
	return &Error{
		Status:  http.StatusNotFound,
		Message: "no such neighbor " + addr.String(),
		Hint:    "`godwit neighbors` lists the configured ones",
	}
}

// PolicyNotFound is the error for a RoutePolicy name that is not
// configured (404).
func PolicyNotFound(name string) error {
	return &Error{
		Status:  http.StatusNotFound,
		Message: fmt.Sprintf("no such RoutePolicy %q", name),
		Hint:    "the RoutePolicy resources of the configuration name the policies",
	}
}

// AnnouncementNotFound is the error for deleting a prefix that has no
// runtime announcement (404). configuredBy, when set, names the configured
// Announcement that originates the prefix: those change in the
// configuration, not through the API.
func AnnouncementNotFound(prefix netip.Prefix, configuredBy string) error {
	hint := "`godwit announce list` shows what is announced; configured Announcements are changed in the configuration file"
	if configuredBy != "" {
		hint = fmt.Sprintf("it is announced by the configured Announcement %q: change or remove it in the configuration file", configuredBy)
	}
	return &Error{
		Status:  http.StatusNotFound,
		Message: "no runtime announcement of " + prefix.String(),
		Hint:    hint,
	}
}

// NotFound is the error for any other missing thing, a VRF for instance
// (404).
func NotFound(message, hint string) error {
	return &Error{Status: http.StatusNotFound, Message: message, Hint: hint}
}

// BadRequest is the error for a request that cannot be served as asked
// (400).
func BadRequest(message, hint string) error {
	return &Error{Status: http.StatusBadRequest, Message: message, Hint: hint}
}

// Conflict is the error for a request that the current state does not
// allow, such as refreshing a session that is not Established (409).
func Conflict(message, hint string) error {
	return &Error{Status: http.StatusConflict, Message: message, Hint: hint}
}

// Unavailable is the error for a request the daemon cannot serve right
// now, while starting or stopping for instance (503).
func Unavailable(message, hint string) error {
	return &Error{Status: http.StatusServiceUnavailable, Message: message, Hint: hint}
}

// IsNotFound reports whether err is an *Error with status 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// UnreachableError is the Client's error when it cannot connect to
// godwitd at all.
type UnreachableError struct {
	Addr Addr
	Err  error
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func (e *UnreachableError) Error() string {
	reason, hint := e.Err.Error(), "is godwitd running? start it with `godwitd --config FILE`, or pass --api"
	switch {
	case errors.Is(e.Err, os.ErrNotExist):
		reason = "no such file"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.Is(e.Err, os.ErrPermission):
		reason = "permission denied"
		hint = "run as root, or as a member of the socket's group"
	case errors.Is(e.Err, os.ErrDeadlineExceeded):
		reason = "timed out"
	}
	return fmt.Sprintf("cannot reach godwitd at %s: %s (%s)", e.Addr.Display(), reason, hint)
}
