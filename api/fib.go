package api

// The kernel FIB endpoint: the routes godwitd wants in the kernel against
// the ones the kernel holds, for `godwit fib`.
//
//	GET /v1/fib              FIB with only the routes that differ from the RIB
//	GET /v1/fib?all=true     FIB with every route, the ones in sync included
//
// The answer is one object, not a stream: without all it lists only the
// differences, which a healthy node has few of.

import (
	"fmt"
	"net/http"
	"slices"
)

// fibQuery reads the one parameter of GET /v1/fib: all, a boolean (an
// empty value is true, as for the routes' flags).
func fibQuery(r *http.Request) (bool, error) {
	all := false
	for key, vals := range r.URL.Query() {
		if key != "all" {
			return false, BadRequest(fmt.Sprintf("unknown parameter %q", key), "the only parameter is all")
		}
		if len(vals) != 1 {
			return false, BadRequest(fmt.Sprintf("parameter %q given %d times", key, len(vals)), "")
		}
		b, err := parseBool(key, vals[0])
		if err != nil {
			return false, err
		}
		all = b
	}
	return all, nil
}

func (s *Server) handleFIB(w http.ResponseWriter, r *http.Request) {
	all, err := fibQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.backend.FIB(r.Context(), all)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.NextHops = slices.Clone(f.NextHops)
	slices.SortStableFunc(f.NextHops, func(a, b TrackedNextHop) int { return compareAddrText(a.Address, b.Address) })
	s.writeJSON(w, r, http.StatusOK, f)
}
