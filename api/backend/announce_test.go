package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// atB returns B's paths to prefix, as the API writes them.
func (p *pair) atB(t *testing.T, prefix string) []api.Route {
	t.Helper()
	rs, err := p.b.Routes(daemon.RouteQuery{Prefix: netip.MustParsePrefix(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]api.Route, 0, len(rs))
	for i := range rs {
		out = append(out, route(&rs[i]))
	}
	return out
}

// describe is a path as the tests compare it.
func describe(r api.Route) string {
	return fmt.Sprintf("%s from %s path [%s] communities %v large %v med %d", r.Prefix, r.Peer, r.ASPathText,
		r.Communities, r.LargeCommunities, r.MED)
}

// The route-injection API: a runtime announcement is listed, reaches B
// with its attributes, is replaced and deleted; one that a configured
// Announcement shadows changes nothing on the wire; bad requests change
// nothing at all.
func TestAnnouncements(t *testing.T) {
	p := setup(t)
	ctx := t.Context()
	u32 := func(v uint32) *uint32 { return &v }
	pods := api.Announcement{Prefix: "10.1.0.0/24", Announcement: "pods", Communities: []string{"65001:7"}}
	list := func() []api.Announcement {
		t.Helper()
		as, err := p.client.Announcements(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	if diff := cmp.Diff([]api.Announcement{pods}, list(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("announcements at the start (-want +got):\n%s", diff)
	}

	// Add: the answer, the listing, A's table and B's.
	a, created, err := p.client.AddAnnouncement(ctx, api.AnnouncementRequest{
		Prefix: "10.9.0.0/24", Communities: []string{"65001:100", "65001:101"}, LargeCommunities: []string{"65001:1:2"},
		LocalPreference: u32(250), MED: u32(20),
	})
	if err != nil || !created {
		t.Fatalf("add: created %v, %v", created, err)
	}
	added := api.Announcement{Prefix: "10.9.0.0/24", Announcement: "api:10.9.0.0/24", Runtime: true,
		Communities: []string{"65001:100", "65001:101"}, LargeCommunities: []string{"65001:1:2"},
		LocalPreference: u32(250), MED: u32(20)}
	if diff := cmp.Diff(added, a, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("add answered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]api.Announcement{pods, added}, list(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("announcements after the add (-want +got):\n%s", diff)
	}
	var local []api.Route
	err = p.client.Routes(ctx, api.RouteQuery{Prefix: "10.9.0.0/24"}, func(r api.Route) error {
		local = append(local, r)
		return nil
	})
	if err != nil || len(local) != 1 || local[0].Peer != "local" || !local[0].Best || local[0].LocalPreference != 250 || local[0].MED != 20 {
		t.Errorf("A's route to 10.9.0.0/24: %+v, %v", local, err)
	}
	wantAtB := fmt.Sprintf("10.9.0.0/24 from %s path [65001] communities [65001:100 65001:101] large [65001:1:2] med 20", p.a1)
	eventually(t, 10*time.Second, func() (bool, string) {
		rs := p.atB(t, "10.9.0.0/24")
		return len(rs) == 1 && describe(rs[0]) == wantAtB, fmt.Sprintf("B has %v, want %s", rs, wantAtB)
	})

	// The JSON of the listing: the contract's types; no localPreference
	// or med where they are not set.
	var raw []map[string]any
	if err := json.Unmarshal(p.get(t, "/v1/announcements"), &raw); err != nil || len(raw) != 2 {
		t.Fatalf("listing: %v, %v", raw, err)
	}
	checkTypes(t, "runtime announcement", raw[1], map[string]string{"prefix": "string", "announcement": "string", "runtime": "bool",
		"communities": "array", "largeCommunities": "array", "localPreference": "number", "med": "number"})
	checkTypes(t, "configured announcement", raw[0], map[string]string{"prefix": "string", "announcement": "string", "runtime": "bool",
		"communities": "array", "largeCommunities": "array"})
	for _, k := range []string{"localPreference", "med", "shadowedBy"} {
		if _, ok := raw[0][k]; ok {
			t.Errorf("the configured announcement has %s: %v", k, raw[0])
		}
	}

	// Replace: new attributes, MED gone.
	a, created, err = p.client.AddAnnouncement(ctx, api.AnnouncementRequest{Prefix: "10.9.0.0/24", Communities: []string{"65001:200"}})
	if err != nil || created || !slices.Equal(a.Communities, []string{"65001:200"}) || a.MED != nil {
		t.Fatalf("replace: %+v, created %v, %v", a, created, err)
	}
	wantAtB = fmt.Sprintf("10.9.0.0/24 from %s path [65001] communities [65001:200] large [] med 0", p.a1)
	eventually(t, 10*time.Second, func() (bool, string) {
		rs := p.atB(t, "10.9.0.0/24")
		return len(rs) == 1 && describe(rs[0]) == wantAtB, fmt.Sprintf("B has %v, want %s", rs, wantAtB)
	})

	// A prefix of the configuration: stored, but the configured
	// Announcement wins; deleting it leaves the configured route.
	a, created, err = p.client.AddAnnouncement(ctx, api.AnnouncementRequest{Prefix: "10.1.0.0/24", Communities: []string{"65001:300"}})
	if err != nil || !created || a.ShadowedBy != "pods" || !a.Runtime {
		t.Fatalf("shadowed add: %+v, created %v, %v", a, created, err)
	}
	if as := list(); len(as) != 2 || as[0].Announcement != "pods" || as[0].Runtime {
		t.Errorf("the configured announcement lost to a runtime one: %+v", as)
	}
	d, err := p.client.DeleteAnnouncement(ctx, netip.MustParsePrefix("10.1.0.0/24"))
	if err != nil || d != (api.AnnouncementDeleted{Prefix: "10.1.0.0/24", Announcement: "api:10.1.0.0/24", ShadowedBy: "pods"}) {
		t.Errorf("delete of the shadowed one: %+v, %v", d, err)
	}
	_, err = p.client.DeleteAnnouncement(ctx, netip.MustParsePrefix("10.1.0.0/24"))
	if !api.IsNotFound(err) || err.Error() != `no runtime announcement of 10.1.0.0/24; it is announced by the configured Announcement "pods": change or remove it in the configuration file` {
		t.Errorf("delete of a configured prefix: %v", err)
	}

	// Delete: withdrawn at B; a second delete is a 404.
	d, err = p.client.DeleteAnnouncement(ctx, netip.MustParsePrefix("10.9.0.0/24"))
	if err != nil || d != (api.AnnouncementDeleted{Prefix: "10.9.0.0/24", Announcement: "api:10.9.0.0/24"}) {
		t.Errorf("delete: %+v, %v", d, err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		rs := p.atB(t, "10.9.0.0/24")
		return len(rs) == 0, fmt.Sprintf("B still has %v", rs)
	})
	if rs := p.atB(t, "10.1.0.0/24"); len(rs) != 1 || !slices.Equal(rs[0].Communities, []string{"65001:7"}) {
		t.Errorf("B's route to the configured prefix: %v", rs)
	}
	status, body := p.do(t, http.MethodDelete, "/v1/announcements?prefix=10.9.0.0/24", "")
	if want := "{\"error\":\"no runtime announcement of 10.9.0.0/24\",\"hint\":\"`godwit announce list` shows what is announced; configured Announcements are changed in the configuration file\"}"; status != http.StatusNotFound || strings.TrimSpace(string(body)) != want {
		t.Errorf("second delete: %d %s, want 404 %s", status, body, want)
	}

	// Bad requests: 400, and nothing changes.
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/v1/announcements", `{"prefix": "10.9.0.1/24"}`, `{"error":"prefix 10.9.0.1/24 has host bits set","hint":"did you mean 10.9.0.0/24?"}`},
		{"POST", "/v1/announcements", `{"prefix": "ten-nine"}`, `{"error":"bad prefix \"ten-nine\"","hint":"give a CIDR prefix like 10.0.0.0/24"}`},
		{"POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "communities": ["65001:99999"]}`,
			`{"error":"bad community \"65001:99999\"","hint":"give a:b (each part 0..65535) or a well-known name such as no-export"}`},
		{"POST", "/v1/announcements", `{"prefix": "10.9.0.0/24", "largeCommunities": ["1:2"]}`,
			`{"error":"bad large community \"1:2\"","hint":"give a:b:c (each part 0..4294967295)"}`},
		{"DELETE", "/v1/announcements?prefix=10.9.0.1/24", "", `{"error":"prefix 10.9.0.1/24 has host bits set","hint":"did you mean 10.9.0.0/24?"}`},
	} {
		status, body := p.do(t, tc.method, tc.path, tc.body)
		if status != http.StatusBadRequest || strings.TrimSpace(string(body)) != tc.want {
			t.Errorf("%s %s %s: %d %s, want 400 %s", tc.method, tc.path, tc.body, status, body, tc.want)
		}
	}
	// The Backend checks the prefix itself too, for callers other than
	// the Server; "NO_EXPORT" is not how the configuration spells it.
	for _, req := range []api.AnnouncementRequest{{Prefix: "10.9.0.1/24"}, {Prefix: "10.9.0.0/24", Communities: []string{"NO_EXPORT"}}} {
		_, _, err := New(p.a).AddAnnouncement(ctx, req)
		var e *api.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Errorf("Backend.AddAnnouncement(%+v): %v, want a 400", req, err)
		}
	}
	if diff := cmp.Diff([]api.Announcement{pods}, list(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("announcements at the end (-want +got):\n%s", diff)
	}
}
