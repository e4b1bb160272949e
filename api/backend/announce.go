package backend

// The route-injection API over the daemon's originated prefixes
// (daemon/origin.go): listing, and adding and deleting the runtime
// announcements.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/godwit-bgp/godwit/wire/attr"
)

// Announcements implements api.Backend.
func (b *Backend) Announcements(ctx context.Context) ([]api.Announcement, error) {
	if err := b.stopping(); err != nil {
		return nil, err
	}
	as := b.d.Announcements()
	out := make([]api.Announcement, 0, len(as))
	for i := range as {
		out = append(out, announcement(&as[i]))
	}
	return out, nil
}

// AddAnnouncement implements api.Backend. Whether the announcement is new
// is read from the listing before the change, so a runtime announcement
// that a configured one shadows counts as new when it is replaced.
func (b *Backend) AddAnnouncement(ctx context.Context, req api.AnnouncementRequest) (api.Announcement, bool, error) {
	if err := b.stopping(); err != nil {
		return api.Announcement{}, false, err
	}
	prefix, err := api.ParseAnnouncementPrefix(req.Prefix)
	if err != nil {
		return api.Announcement{}, false, err
	}
	spec, err := announcementSpec(req)
	if err != nil {
		return api.Announcement{}, false, err
	}
	before := b.announced(prefix)
	if err := b.d.AddAnnouncement(prefix, spec); err != nil {
		if errors.Is(err, daemon.ErrBadAnnouncement) {
			return api.Announcement{}, false, api.BadRequest(err.Error(), "")
		}
		return api.Announcement{}, false, err
	}
	spec.Prefixes = []netip.Prefix{prefix}
	a := announcement(&daemon.Announced{Prefix: prefix, Announcement: runtimeName(prefix), Runtime: true, Spec: &spec})
	if now := b.announced(prefix); now != nil && !now.Runtime {
		a.ShadowedBy = now.Announcement
	}
	return a, before == nil || !before.Runtime, nil
}

// DeleteAnnouncement implements api.Backend.
func (b *Backend) DeleteAnnouncement(ctx context.Context, prefix netip.Prefix) (api.AnnouncementDeleted, error) {
	if err := b.stopping(); err != nil {
		return api.AnnouncementDeleted{}, err
	}
	prefix = prefix.Masked()
	deleted := b.d.DeleteAnnouncement(prefix)
	configured := ""
	if a := b.announced(prefix); a != nil && !a.Runtime {
		configured = a.Announcement
	}
	if !deleted {
		return api.AnnouncementDeleted{}, api.AnnouncementNotFound(prefix, configured)
	}
	return api.AnnouncementDeleted{Prefix: prefix.String(), Announcement: runtimeName(prefix), ShadowedBy: configured}, nil
}

// announced returns how prefix is originated, or nil when it is not.
func (b *Backend) announced(prefix netip.Prefix) *daemon.Announced {
	for _, a := range b.d.Announcements() {
		if a.Prefix == prefix {
			return &a
		}
	}
	return nil
}

// runtimeName is the daemon's name of a runtime announcement.
func runtimeName(p netip.Prefix) string { return "api:" + p.String() }

// announcementSpec reads the attributes of a request, with the
// configuration's syntax for communities.
func announcementSpec(req api.AnnouncementRequest) (config.AnnouncementSpec, error) {
	var spec config.AnnouncementSpec
	for _, s := range req.Communities {
		var c config.Community
		if err := c.UnmarshalText([]byte(s)); err != nil {
			return spec, api.BadRequest(fmt.Sprintf("bad community %q", s), "give a:b (each part 0..65535) or a well-known name such as no-export")
		}
		spec.Communities = append(spec.Communities, c)
	}
	for _, s := range req.LargeCommunities {
		var c config.LargeCommunity
		if err := c.UnmarshalText([]byte(s)); err != nil {
			return spec, api.BadRequest(fmt.Sprintf("bad large community %q", s), "give a:b:c (each part 0..4294967295)")
		}
		spec.LargeCommunities = append(spec.LargeCommunities, c)
	}
	if req.LocalPreference != nil {
		v := *req.LocalPreference
		spec.LocalPreference = &v
	}
	if req.MED != nil {
		v := *req.MED
		spec.MED = &v
	}
	return spec, nil
}

// announcement converts an originated prefix. Communities are written as
// the routes' are ("a:b", well-known ones as numbers too).
func announcement(a *daemon.Announced) api.Announcement {
	out := api.Announcement{Prefix: a.Prefix.String(), Announcement: a.Announcement, Runtime: a.Runtime}
	s := a.Spec
	if s == nil {
		return out
	}
	for _, c := range s.Communities {
		out.Communities = append(out.Communities, attr.FormatCommunity(uint32(c)))
	}
	for _, c := range s.LargeCommunities {
		out.LargeCommunities = append(out.LargeCommunities, c.String())
	}
	if s.LocalPreference != nil {
		v := *s.LocalPreference
		out.LocalPreference = &v
	}
	if s.MED != nil {
		v := *s.MED
		out.MED = &v
	}
	return out
}
