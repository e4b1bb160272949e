package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/godwit-bgp/godwit/internal/version"
)

// The endpoints. Every answer is JSON; failures are an Error object with
// the matching status. Listings that may be large and the watch feed are
// NDJSON streams.
//
//	GET  /v1/version                     VersionInfo
//	GET  /v1/status                      Status
//	GET  /v1/neighbors                   [Neighbor] (a JSON array, sorted by address)
//	GET  /v1/neighbors/{addr}            NeighborDetail
//	POST /v1/neighbors/{addr}/{action}   ActionResult; body ActionRequest (optional)
//	GET  /v1/routes?vrf=&family=&prefix=&peer=&received=&advertised=&best=
//	                                     Route per line (NDJSON)
//	GET  /v1/watch?kinds=neighbor,route,config
//	                                     Event per line (NDJSON), flushed per event
//	GET  /v1/config/status               ConfigStatus
//	GET  /v1/policies/{name}/test?prefix=&peer=
//	                                     [PolicyTestResult] (a JSON array, [] for no path)
//	GET, POST, DELETE /v1/announcements  the route-injection API (announce.go)
//	GET  /v1/fib?all=                    FIB: the kernel's routes against the RIB's (fib.go)
const (
	contentJSON   = "application/json"
	contentNDJSON = "application/x-ndjson"
)

// maxActionBody bounds the body of a neighbour action.
const maxActionBody = 4096

// maxShutdownMessage is RFC 9003's limit on a shutdown communication.
const maxShutdownMessage = 255

// streamFlushInterval is how long a listing may sit in the connection's
// buffer before it is flushed.
const streamFlushInterval = 50 * time.Millisecond

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", s.handleVersion)
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("GET /v1/neighbors", s.handleNeighbors)
	mux.HandleFunc("GET /v1/neighbors/{addr}", s.handleNeighbor)
	mux.HandleFunc("POST /v1/neighbors/{addr}/{action}", s.handleNeighborAction)
	mux.HandleFunc("GET /v1/routes", s.handleRoutes)
	mux.HandleFunc("GET /v1/watch", s.handleWatch)
	mux.HandleFunc("GET /v1/config/status", s.handleConfigStatus)
	mux.HandleFunc("GET /v1/policies/{name}/test", s.handlePolicyTest)
	mux.HandleFunc("GET /v1/announcements", s.handleAnnouncements)
	mux.HandleFunc("POST /v1/announcements", s.handleAddAnnouncement)
	mux.HandleFunc("DELETE /v1/announcements", s.handleDeleteAnnouncement)
	mux.HandleFunc("GET /v1/fib", s.handleFIB)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.handleUnknown(mux, w, r) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			s.writeError(w, r, Unavailable("godwitd is shutting down", ""))
			return
		}
		defer s.handlers.Done()
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		if !s.authorized(r) {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="godwit"`)
			s.writeError(rec, r, &Error{Status: http.StatusUnauthorized, Message: "missing or wrong bearer token", Hint: "send Authorization: Bearer TOKEN"})
		} else {
			mux.ServeHTTP(rec, r)
		}
		s.logRequest(r, rec, time.Since(start))
	})
}

// logRequest writes the request's debug line.
func (s *Server) logRequest(r *http.Request, rec *recorder, d time.Duration) {
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", cmp.Or(rec.status, http.StatusOK)),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", d),
	}
	if r.URL.RawQuery != "" {
		attrs = append(attrs, slog.String("query", r.URL.RawQuery))
	}
	if rec.items > 0 {
		attrs = append(attrs, slog.Int("items", rec.items))
	}
	if info, _ := r.Context().Value(connInfoKey{}).(*connInfo); info != nil {
		if info.hasCred {
			attrs = append(attrs, slog.Int("pid", info.pid), slog.Int("uid", info.uid))
		} else if info.tcp {
			attrs = append(attrs, slog.String("remote", r.RemoteAddr))
		}
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "api request", attrs...)
}

// recorder notes what a handler wrote, for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	items  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and SetWriteDeadline.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeJSON writes v as the whole answer.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("encoding the answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// apiError turns any error into the Error the client sees.
func (s *Server) apiError(r *http.Request, err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case s.ctx.Err() != nil:
		return &Error{Status: http.StatusServiceUnavailable, Message: "godwitd is shutting down"}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client went away; nobody reads this.
		return &Error{Status: http.StatusServiceUnavailable, Message: "request cancelled"}
	}
	s.log.Warn("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return &Error{Status: http.StatusInternalServerError, Message: err.Error()}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.apiError(r, err)
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(e.HTTPStatus())
	w.Write(append(b, '\n'))
}

func (s *Server) handleUnknown(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	// The catch-all also catches a known path with the wrong method.
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		hint := "use " + allowed[0]
		if n := len(allowed); n > 1 {
			hint = "use " + strings.Join(allowed[:n-1], ", ") + " or " + allowed[n-1]
		}
		s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Message: fmt.Sprintf("%s %s: method not allowed", r.Method, r.URL.Path), Hint: hint})
		return
	}
	s.writeError(w, r, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path), Hint: "this godwitd serves API " + APIVersion})
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, VersionInfo{Version: version.String(), API: APIVersion})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if st.Version == "" {
		st.Version = version.String()
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

func (s *Server) handleNeighbors(w http.ResponseWriter, r *http.Request) {
	ns, err := s.backend.Neighbors(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ns = slices.Clone(nonNil(ns))
	slices.SortStableFunc(ns, func(a, b Neighbor) int { return compareAddrText(a.Address, b.Address) })
	s.writeJSON(w, r, http.StatusOK, ns)
}

// compareAddrText orders addresses numerically (IPv4 first), and anything
// that does not parse after them, as text.
func compareAddrText(a, b string) int {
	pa, errA := netip.ParseAddr(a)
	pb, errB := netip.ParseAddr(b)
	switch {
	case errA == nil && errB == nil:
		return pa.Compare(pb)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// neighborAddr parses the {addr} path element.
func neighborAddr(r *http.Request) (netip.Addr, error) {
	text := r.PathValue("addr")
	a, err := netip.ParseAddr(text)
	if err != nil {
		return netip.Addr{}, BadRequest(fmt.Sprintf("bad neighbor address %q", text), "give an IPv4 or IPv6 address, e.g. 192.0.2.1")
	}
	return a, nil
}

func (s *Server) handleNeighbor(w http.ResponseWriter, r *http.Request) {
	addr, err := neighborAddr(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.backend.Neighbor(r.Context(), addr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

func (s *Server) handleNeighborAction(w http.ResponseWriter, r *http.Request) {
	addr, err := neighborAddr(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	action := Action(r.PathValue("action"))
	if !slices.Contains(Actions, action) {
		names := make([]string, len(Actions))
		for i, a := range Actions {
			names[i] = string(a)
		}
		s.writeError(w, r, BadRequest(fmt.Sprintf("unknown neighbor action %q", action), "actions are "+strings.Join(names, ", ")))
		return
	}
	var req ActionRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
	if err != nil {
		s.writeError(w, r, BadRequest("request body too large", ""))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.writeError(w, r, BadRequest("bad request body: "+err.Error(), `send {"message": "TEXT"} or nothing`))
			return
		}
	}
	if req.Message != "" {
		if !action.TakesMessage() {
			s.writeError(w, r, BadRequest(fmt.Sprintf("%s takes no message", action), "only reset and shutdown send one"))
			return
		}
		if len(req.Message) > maxShutdownMessage || !utf8.ValidString(req.Message) {
			s.writeError(w, r, BadRequest("the shutdown message must be UTF-8 of at most 255 bytes (RFC 9003)", ""))
			return
		}
	}
	if err := s.backend.NeighborAction(r.Context(), addr, action, req.Message); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("neighbor action", "neighbor", addr.String(), "action", string(action), "message", req.Message, "uid", requestUID(r))
	s.writeJSON(w, r, http.StatusOK, ActionResult{Address: addr.String(), Action: action, Message: req.Message})
}

// requestUID is the user id of the process that sent r over the Unix
// socket, for the log lines of requests that change something; -1 when it
// is not known (TCP).
func requestUID(r *http.Request) int {
	if info, _ := r.Context().Value(connInfoKey{}).(*connInfo); info != nil && info.hasCred {
		return info.uid
	}
	return -1
}

func (s *Server) handleConfigStatus(w http.ResponseWriter, r *http.Request) {
	cs, err := s.backend.ConfigStatus(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, cs)
}

// policyTestQuery reads the parameters of a policy test: prefix (a CIDR
// prefix, required) and peer (a neighbour's address, optional). An empty
// value is an absent parameter, as for the routes.
func policyTestQuery(r *http.Request) (netip.Prefix, netip.Addr, error) {
	var prefix netip.Prefix
	var peer netip.Addr
	for key, vals := range r.URL.Query() {
		if len(vals) != 1 {
			return prefix, peer, BadRequest(fmt.Sprintf("parameter %q given %d times", key, len(vals)), "")
		}
		v := vals[0]
		switch key {
		case "prefix":
			if v == "" {
				continue
			}
			p, err := netip.ParsePrefix(v)
			if err != nil {
				hint := "give a CIDR prefix like 10.0.0.0/24"
				if a, err := netip.ParseAddr(v); err == nil {
					hint = fmt.Sprintf("%s is an address; give a CIDR prefix like %s", v, netip.PrefixFrom(a, a.BitLen()))
				}
				return prefix, peer, BadRequest(fmt.Sprintf("bad prefix %q", v), hint)
			}
			prefix = p.Masked()
		case "peer":
			if v == "" {
				continue
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return prefix, peer, BadRequest(fmt.Sprintf("bad peer address %q", v), "give the neighbour's IPv4 or IPv6 address")
			}
			peer = a
		default:
			return prefix, peer, BadRequest(fmt.Sprintf("unknown parameter %q", key), "parameters are prefix and peer")
		}
	}
	if !prefix.IsValid() {
		return prefix, peer, BadRequest("the prefix parameter is missing", "give prefix=CIDR, e.g. prefix=10.0.0.0/24")
	}
	return prefix, peer, nil
}

func (s *Server) handlePolicyTest(w http.ResponseWriter, r *http.Request) {
	prefix, peer, err := policyTestQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.backend.TestPolicy(r.Context(), r.PathValue("name"), prefix, peer)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, nonNil(res))
}

// routeQuery reads a RouteQuery from the URL's parameters.
func routeQuery(r *http.Request) (RouteQuery, error) {
	var q RouteQuery
	for key, vals := range r.URL.Query() {
		if len(vals) != 1 {
			return q, BadRequest(fmt.Sprintf("parameter %q given %d times", key, len(vals)), "")
		}
		v := vals[0]
		var err error
		switch key {
		case "vrf":
			q.VRF = v
		case "family":
			q.Family = v
		case "prefix":
			q.Prefix = v
		case "peer":
			q.Peer = v
		case "received":
			q.Received, err = parseBool(key, v)
		case "advertised":
			q.Advertised, err = parseBool(key, v)
		case "best":
			q.BestOnly, err = parseBool(key, v)
		default:
			return q, BadRequest(fmt.Sprintf("unknown parameter %q", key), "parameters are vrf, family, prefix, peer, received, advertised, best")
		}
		if err != nil {
			return q, err
		}
	}
	return q.Normalize()
}

func parseBool(key, v string) (bool, error) {
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, BadRequest(fmt.Sprintf("parameter %s=%q is not true or false", key, v), "")
	}
	return b, nil
}

func (s *Server) handleRoutes(w http.ResponseWriter, r *http.Request) {
	q, err := routeQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := s.newStream(w, r, false)
	err = s.backend.Routes(r.Context(), q, func(rt Route) error {
		wire := rt.wire()
		return st.send(&wire)
	})
	st.finish(err)
}

func (s *Server) handleWatch(w http.ResponseWriter, r *http.Request) {
	var kinds []EventKind
	for key, vals := range r.URL.Query() {
		if key != "kinds" {
			s.writeError(w, r, BadRequest(fmt.Sprintf("unknown parameter %q", key), "the only parameter is kinds"))
			return
		}
		for _, v := range vals {
			for k := range strings.SplitSeq(v, ",") {
				k = strings.TrimSpace(k)
				if k == "" {
					continue
				}
				if !slices.Contains(EventKinds, EventKind(k)) {
					s.writeError(w, r, BadRequest(fmt.Sprintf("unknown event kind %q", k), "kinds are neighbor, route, config"))
					return
				}
				if !slices.Contains(kinds, EventKind(k)) {
					kinds = append(kinds, EventKind(k))
				}
			}
		}
	}
	if len(kinds) == 0 {
		kinds = slices.Clone(EventKinds)
	}
	st := s.newStream(w, r, true)
	err := s.backend.Watch(r.Context(), kinds, func(ev Event) error { return st.send(ev) })
	st.finish(err)
}

// stream writes one NDJSON answer. Items go through the connection's
// buffer and are flushed every streamFlushInterval (or after every item
// for the watch feed), so that send blocks when the client stops reading:
// that is the backpressure the Backend sees. The header goes out with the
// first item, so a Backend that fails before emitting anything still gets
// its error's status.
type stream struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	rc        *http.ResponseController
	rec       *recorder
	enc       *json.Encoder
	flushEach bool
	started   bool
	lastFlush time.Time
	sendErr   error // the first write failure: the client is gone
}

func (s *Server) newStream(w http.ResponseWriter, r *http.Request, flushEach bool) *stream {
	rec, _ := w.(*recorder)
	return &stream{s: s, w: w, r: r, rc: http.NewResponseController(w), rec: rec, enc: json.NewEncoder(w), flushEach: flushEach}
}

func (st *stream) send(v any) error {
	if st.sendErr != nil {
		return st.sendErr
	}
	if err := st.r.Context().Err(); err != nil {
		st.sendErr = err
		return err
	}
	if !st.started {
		st.start()
	}
	if err := st.enc.Encode(v); err != nil {
		st.sendErr = err
		return err
	}
	if st.rec != nil {
		st.rec.items++
	}
	if st.flushEach || time.Since(st.lastFlush) >= streamFlushInterval {
		if err := st.flush(); err != nil {
			st.sendErr = err
			return err
		}
	}
	return nil
}

func (st *stream) start() {
	st.started = true
	h := st.w.Header()
	h.Set("Content-Type", contentNDJSON)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	st.w.WriteHeader(http.StatusOK)
	st.flush()
}

func (st *stream) flush() error {
	st.lastFlush = time.Now()
	// The deadline covers the buffered writes up to the next flush too:
	// a client that reads nothing for writeTimeout is dropped.
	st.rc.SetWriteDeadline(st.lastFlush.Add(st.s.writeTimeout))
	return st.rc.Flush()
}

// finish ends the stream after the Backend returned err.
func (st *stream) finish(err error) {
	switch {
	case st.sendErr != nil:
		// The client is gone or too slow: nothing more can be said.
		st.s.log.Debug("API stream ended early", "path", st.r.URL.Path, "err", st.sendErr)
	case err != nil && !st.started:
		st.s.writeError(st.w, st.r, err)
	case err != nil:
		// The status is out already: the error is the last line.
		if e := st.s.apiError(st.r, err); st.enc.Encode(e) == nil {
			st.flush()
		}
	case !st.started:
		st.start()
	}
}
