package api

// The local route-injection endpoints: other controllers on the node (a
// CNI plugin, a load-balancer controller) originate prefixes through
// godwitd instead of running a BGP speaker of their own.
//
//	GET    /v1/announcements            [Announcement] (a JSON array, sorted by prefix)
//	POST   /v1/announcements            Announcement (201 new, 200 replaced); body AnnouncementRequest
//	DELETE /v1/announcements?prefix=P   AnnouncementDeleted; 404 without a runtime announcement of P
//
// The prefix of DELETE is a query parameter because a prefix holds a "/".

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// maxAnnouncementBody bounds the body of POST /v1/announcements (room for
// a few thousand communities).
const maxAnnouncementBody = 64 << 10

// announcementBodyHint says what POST /v1/announcements takes.
const announcementBodyHint = `send {"prefix": "10.0.0.0/24"}, optionally with communities, largeCommunities, localPreference and med`

// ParseAnnouncementPrefix reads the prefix of an announcement: a CIDR
// prefix without host bits. Its errors are *Error with status 400 and say
// what to write instead.
func ParseAnnouncementPrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, BadRequest("the prefix is missing", "give a CIDR prefix like 10.0.0.0/24")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		hint := "give a CIDR prefix like 10.0.0.0/24"
		if a, err := netip.ParseAddr(s); err == nil {
			hint = fmt.Sprintf("%s is an address; give a CIDR prefix like %s", s, netip.PrefixFrom(a, a.BitLen()))
		}
		return netip.Prefix{}, BadRequest(fmt.Sprintf("bad prefix %q", s), hint)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, BadRequest(fmt.Sprintf("%s is an IPv4-mapped IPv6 prefix", s), "write it as an IPv4 prefix")
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, BadRequest(fmt.Sprintf("prefix %s has host bits set", s), fmt.Sprintf("did you mean %s?", m))
	}
	return p, nil
}

// Normalize checks r's prefix (ParseAnnouncementPrefix) and returns r
// with the prefix in canonical form. The attributes are the Backend's to
// check. Its errors are *Error with status 400.
func (r AnnouncementRequest) Normalize() (AnnouncementRequest, error) {
	p, err := ParseAnnouncementPrefix(r.Prefix)
	if err != nil {
		return r, err
	}
	r.Prefix = p.String()
	return r, nil
}

func (s *Server) handleAnnouncements(w http.ResponseWriter, r *http.Request) {
	as, err := s.backend.Announcements(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	as = slices.Clone(nonNil(as))
	slices.SortStableFunc(as, func(a, b Announcement) int { return comparePrefixText(a.Prefix, b.Prefix) })
	s.writeJSON(w, r, http.StatusOK, as)
}

// comparePrefixText orders prefixes by address (IPv4 first), then by
// length, and anything that does not parse after them, as text.
func comparePrefixText(a, b string) int {
	pa, errA := netip.ParsePrefix(a)
	pb, errB := netip.ParsePrefix(b)
	switch {
	case errA == nil && errB == nil:
		if c := pa.Addr().Compare(pb.Addr()); c != 0 {
			return c
		}
		return pa.Bits() - pb.Bits()
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// readAnnouncementRequest reads the body of POST /v1/announcements: one
// JSON object with no unknown field.
func readAnnouncementRequest(w http.ResponseWriter, r *http.Request) (AnnouncementRequest, error) {
	var req AnnouncementRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnnouncementBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, BadRequest(fmt.Sprintf("request body too large (more than %d bytes)", maxAnnouncementBody), "")
		}
		return req, BadRequest("reading the request body: "+err.Error(), "")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, BadRequest("the request has no body", announcementBodyHint)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			want := map[string]string{
				"prefix":           "a string",
				"communities":      "a list of strings",
				"largeCommunities": "a list of strings",
				"localPreference":  "a whole number 0..4294967295",
				"med":              "a whole number 0..4294967295",
			}[te.Field]
			if want == "" {
				want = "a " + te.Type.String()
			}
			return req, BadRequest(fmt.Sprintf("bad request body: %s must be %s, not %s", te.Field, want, te.Value), announcementBodyHint)
		}
		return req, BadRequest("bad request body: "+err.Error(), announcementBodyHint)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, BadRequest("bad request body: more than one JSON value", announcementBodyHint)
	}
	return req.Normalize()
}

func (s *Server) handleAddAnnouncement(w http.ResponseWriter, r *http.Request) {
	req, err := readAnnouncementRequest(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, created, err := s.backend.AddAnnouncement(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("announcement added", "prefix", a.Prefix, "created", created, "communities", a.Communities,
		"largeCommunities", a.LargeCommunities, "shadowedBy", a.ShadowedBy, "uid", requestUID(r))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeJSON(w, r, status, a)
}

// announcementPrefixQuery reads the one parameter of DELETE
// /v1/announcements: prefix, required.
func announcementPrefixQuery(r *http.Request) (netip.Prefix, error) {
	text := ""
	for key, vals := range r.URL.Query() {
		if key != "prefix" {
			return netip.Prefix{}, BadRequest(fmt.Sprintf("unknown parameter %q", key), "the only parameter is prefix")
		}
		if len(vals) != 1 {
			return netip.Prefix{}, BadRequest(fmt.Sprintf("parameter %q given %d times", key, len(vals)), "")
		}
		text = vals[0]
	}
	if text == "" {
		return netip.Prefix{}, BadRequest("the prefix parameter is missing", "give prefix=CIDR, e.g. prefix=10.0.0.0/24")
	}
	return ParseAnnouncementPrefix(text)
}

func (s *Server) handleDeleteAnnouncement(w http.ResponseWriter, r *http.Request) {
	prefix, err := announcementPrefixQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.backend.DeleteAnnouncement(r.Context(), prefix)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("announcement deleted", "prefix", d.Prefix, "shadowedBy", d.ShadowedBy, "uid", requestUID(r))
	s.writeJSON(w, r, http.StatusOK, d)
}
