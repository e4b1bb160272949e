package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is one problem with a configuration: where it is and why. Parse and
// Validate return every Error they find, joined with errors.Join; Errors
// takes them apart again.
//
// Its text reads
//
//	godwit.yaml: document 2 (BGPPeer "router"), line 14: spec.peerASN: must be 1..4294967295, got 0
//
// where the parts that are not known are left out (a resource that did not
// come from a file has no file, document or line).
type Error struct {
	File     string // file name as given to Parse or LoadFile
	Document int    // 1-based index of the YAML document; 0 when not from a file
	Kind     Kind   // the resource's kind, when known
	Name     string // the resource's name, when known
	Line     int    // 1-based line, 0 when not known
	Path     string // field path such as "spec.peerASN"; "" for the whole document
	Reason   string // what is wrong, never containing a password

	col int // for sorting errors on one line
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	what := ""
	switch {
	case e.Kind != "" && e.Name != "":
		what = fmt.Sprintf("%s %q", e.Kind, e.Name)
	case e.Kind != "":
		what = string(e.Kind)
	}
	switch {
	case e.Document > 0 && what != "":
		fmt.Fprintf(&b, "document %d (%s)", e.Document, what)
	case e.Document > 0:
		fmt.Fprintf(&b, "document %d", e.Document)
	default:
		b.WriteString(what)
	}
	if e.Line > 0 {
		if e.Document > 0 || what != "" {
			b.WriteString(", ")
		}
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Document > 0 || what != "" || e.Line > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Errors returns the *Error values in err (as joined by Parse, Validate
// or LoadFile), in order.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	walk(err)
	return out
}

// joinErrors joins es into one error, or nil.
func joinErrors(es []*Error) error {
	if len(es) == 0 {
		return nil
	}
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errors.Join(errs...)
}
