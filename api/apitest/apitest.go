package apitest

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
)

// Backend is a fake api.Backend over fixed data. Set its exported fields
// before serving it; the methods only read them (except the recorded
// calls, which the mutex guards).
type Backend struct {
	StatusInfo api.Status
	// NeighborList is what Neighbors returns; Details what Neighbor
	// returns (a neighbour in NeighborList without a Details entry is
	// returned with its summary fields only).
	NeighborList []api.Neighbor
	Details      map[netip.Addr]api.NeighborDetail
	// VRFs are the VRFs besides the default one; Routes of another VRF is
	// a 404.
	VRFs []string
	// RouteList is the Loc-RIB that Routes filters; Received and
	// Advertised are the Adj-RIBs-In and -Out by neighbour address.
	RouteList  []api.Route
	Received   map[string][]api.Route
	Advertised map[string][]api.Route
	// RoutesFunc, when set, serves Routes instead of the lists.
	RoutesFunc func(ctx context.Context, q api.RouteQuery, emit func(api.Route) error) error
	Config     api.ConfigStatus
	// PolicyTests are what TestPolicy serves, by policy name: paths run
	// through that policy (filtered ones included). TestPolicy keeps the
	// results of the prefix and, with a peer, those of paths from it (a
	// peer not in NeighborList is a 404), without one the best path's. A
	// name not in the map is a 404.
	PolicyTests map[string][]api.PolicyTestResult
	// Announced are the announcements at the start: configured ones and,
	// with Runtime set, ones added through the API. AddAnnouncement and
	// DeleteAnnouncement change a copy of it, which Announcements lists;
	// a runtime announcement of a prefix that a configured one has is
	// kept but not listed (it is shadowed).
	Announced []api.Announcement
	// FIBInfo is what FIB returns: every route, in the order to list
	// them; FIB without all keeps those whose State is not FIBOK.
	FIBInfo api.FIB
	// Changes feeds Watch after its snapshot; nil means no changes.
	Changes chan api.Event
	// Err, when set, is returned by every method.
	Err error

	mu         sync.Mutex
	actions    []ActionCall
	queries    []api.RouteQuery
	watchEnded chan error
	anns       []api.Announcement // nil until the first call: Announced
}

// ActionCall is one recorded NeighborAction call.
type ActionCall struct {
	Addr    netip.Addr
	Action  api.Action
	Message string
}

var _ api.Backend = (*Backend)(nil)

// Status returns StatusInfo.
func (b *Backend) Status(ctx context.Context) (api.Status, error) {
	return b.StatusInfo, b.Err
}

// Neighbors returns NeighborList.
func (b *Backend) Neighbors(ctx context.Context) ([]api.Neighbor, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	return slices.Clone(b.NeighborList), nil
}

func (b *Backend) known(addr netip.Addr) (api.Neighbor, bool) {
	for _, n := range b.NeighborList {
		if n.Address == addr.String() {
			return n, true
		}
	}
	return api.Neighbor{}, false
}

// Neighbor returns Details[addr], or the summary from NeighborList.
func (b *Backend) Neighbor(ctx context.Context, addr netip.Addr) (api.NeighborDetail, error) {
	if b.Err != nil {
		return api.NeighborDetail{}, b.Err
	}
	if d, ok := b.Details[addr]; ok {
		return d, nil
	}
	if n, ok := b.known(addr); ok {
		return api.NeighborDetail{Neighbor: n, LocalASN: b.StatusInfo.ASNumber}, nil
	}
	return api.NeighborDetail{}, api.NeighborNotFound(addr)
}

// NeighborAction records the call.
func (b *Backend) NeighborAction(ctx context.Context, addr netip.Addr, action api.Action, message string) error {
	if b.Err != nil {
		return b.Err
	}
	if _, ok := b.known(addr); !ok {
		return api.NeighborNotFound(addr)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.actions = append(b.actions, ActionCall{Addr: addr, Action: action, Message: message})
	return nil
}

// ActionCalls returns the NeighborAction calls so far.
func (b *Backend) ActionCalls() []ActionCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.actions)
}

// RouteQueries returns the queries Routes was called with so far.
func (b *Backend) RouteQueries() []api.RouteQuery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.queries)
}

// Routes filters RouteList (or the Adj-RIBs) by q, or calls RoutesFunc.
func (b *Backend) Routes(ctx context.Context, q api.RouteQuery, emit func(api.Route) error) error {
	b.mu.Lock()
	b.queries = append(b.queries, q)
	b.mu.Unlock()
	if b.Err != nil {
		return b.Err
	}
	if b.RoutesFunc != nil {
		return b.RoutesFunc(ctx, q, emit)
	}
	if q.VRF != "" && !slices.Contains(b.VRFs, q.VRF) {
		return api.NotFound("no such VRF "+q.VRF, "")
	}
	list := b.RouteList
	if q.Peer != "" {
		addr := netip.MustParseAddr(q.Peer)
		if _, ok := b.known(addr); !ok {
			return api.NeighborNotFound(addr)
		}
		switch {
		case q.Received:
			list = b.Received[q.Peer]
		case q.Advertised:
			list = b.Advertised[q.Peer]
		}
	}
	prefixes := matchPrefixes(list, q)
	for _, r := range list {
		switch {
		case r.VRF != q.VRF,
			q.Family != "" && r.Family != q.Family,
			q.Prefix != "" && !prefixes[r.Prefix],
			q.Peer != "" && !q.Received && !q.Advertised && r.Peer != q.Peer,
			q.BestOnly && !r.Best:
			continue
		}
		if err := emit(r); err != nil {
			return err
		}
	}
	return nil
}

// matchPrefixes returns the prefixes q.Prefix selects: itself when it is
// a prefix, the longest prefix containing it when it is an address.
func matchPrefixes(list []api.Route, q api.RouteQuery) map[string]bool {
	m := map[string]bool{}
	if q.Prefix == "" {
		return m
	}
	addr, err := netip.ParseAddr(q.Prefix)
	if err != nil {
		m[q.Prefix] = true
		return m
	}
	best := netip.Prefix{}
	for _, r := range list {
		p, err := netip.ParsePrefix(r.Prefix)
		if err == nil && p.Contains(addr) && (!best.IsValid() || p.Bits() > best.Bits()) {
			best = p
		}
	}
	if best.IsValid() {
		m[best.String()] = true
	}
	return m
}

// Watch emits the snapshot of NeighborList, RouteList and Config, a synced
// event, then what arrives on Changes, until ctx is done or emit fails.
// WatchEnded reports how it ended.
func (b *Backend) Watch(ctx context.Context, kinds []api.EventKind, emit func(api.Event) error) (err error) {
	defer func() {
		select {
		case b.watchEndedChan() <- err:
		default: // nobody is looking
		}
	}()
	if b.Err != nil {
		return b.Err
	}
	at := b.StatusInfo.StartedAt
	for _, k := range kinds {
		switch k {
		case api.KindNeighbor:
			for i := range b.NeighborList {
				if err := emit(api.Event{Op: api.OpSnapshot, Kind: k, Time: at, Neighbor: &b.NeighborList[i]}); err != nil {
					return err
				}
			}
		case api.KindRoute:
			for i := range b.RouteList {
				if err := emit(api.Event{Op: api.OpSnapshot, Kind: k, Time: at, Route: &b.RouteList[i]}); err != nil {
					return err
				}
			}
		case api.KindConfig:
			if err := emit(api.Event{Op: api.OpSnapshot, Kind: k, Time: at, Config: &b.Config}); err != nil {
				return err
			}
		}
	}
	if err := emit(api.Event{Op: api.OpSynced, Time: at}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-b.Changes:
			if !ok {
				<-ctx.Done()
				return ctx.Err()
			}
			if !slices.Contains(kinds, ev.Kind) {
				continue
			}
			if err := emit(ev); err != nil {
				return err
			}
		}
	}
}

func (b *Backend) watchEndedChan() chan error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.watchEnded == nil {
		b.watchEnded = make(chan error, 16)
	}
	return b.watchEnded
}

// WatchEnded delivers the result of each Watch call as it returns.
func (b *Backend) WatchEnded() <-chan error { return b.watchEndedChan() }

// ConfigStatus returns Config.
func (b *Backend) ConfigStatus(ctx context.Context) (api.ConfigStatus, error) {
	return b.Config, b.Err
}

// TestPolicy filters PolicyTests[name].
func (b *Backend) TestPolicy(ctx context.Context, name string, prefix netip.Prefix, peer netip.Addr) ([]api.PolicyTestResult, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	all, ok := b.PolicyTests[name]
	if !ok {
		return nil, api.PolicyNotFound(name)
	}
	if peer.IsValid() {
		if _, ok := b.known(peer); !ok {
			return nil, api.NeighborNotFound(peer)
		}
	}
	var out []api.PolicyTestResult
	for _, r := range all {
		switch {
		case r.Path.Prefix != prefix.Masked().String(),
			peer.IsValid() && r.Path.Peer != peer.String(),
			!peer.IsValid() && !r.Path.Best:
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// SocketPath returns a path for a Unix socket in a new temporary directory
// removed at the end of the test. The directory is short (t.TempDir's
// paths can exceed the 107 bytes a socket path may have).
func SocketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "godwit-api-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "godwitd.sock")
}

// Serve serves b on a new temporary Unix socket and returns the server;
// it is closed at the end of the test. Logs go to t.Log at debug level.
func Serve(t testing.TB, b api.Backend) *api.Server {
	t.Helper()
	srv, err := api.NewServer(b, api.ServerConfig{Addr: SocketPath(t), Logger: Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// Logger returns a logger that writes to t.Log, at debug level.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// Epoch is the fixed time the sample data is built around.
var Epoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// announcementsLocked returns the current announcements; b.mu is held.
func (b *Backend) announcementsLocked() []api.Announcement {
	if b.anns == nil {
		b.anns = append([]api.Announcement{}, b.Announced...)
	}
	return b.anns
}

// configuredLocked names the configured announcement of prefix, if any;
// b.mu is held.
func (b *Backend) configuredLocked(prefix string) string {
	for _, a := range b.announcementsLocked() {
		if !a.Runtime && a.Prefix == prefix {
			return a.Announcement
		}
	}
	return ""
}

// Announcements lists Announced as changed since, without the shadowed
// runtime announcements.
func (b *Backend) Announcements(ctx context.Context) ([]api.Announcement, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []api.Announcement
	for _, a := range b.announcementsLocked() {
		if a.Runtime && b.configuredLocked(a.Prefix) != "" {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// AddAnnouncement stores req as a runtime announcement, checking and
// writing its communities as godwitd does (a:b or a well-known name, a:b:c
// for large ones).
func (b *Backend) AddAnnouncement(ctx context.Context, req api.AnnouncementRequest) (api.Announcement, bool, error) {
	if b.Err != nil {
		return api.Announcement{}, false, b.Err
	}
	var communities []string
	for _, c := range req.Communities {
		ab, ok := community(c)
		if !ok {
			return api.Announcement{}, false, api.BadRequest(fmt.Sprintf("bad community %q", c), "give a:b (each part 0..65535) or a well-known name such as no-export")
		}
		communities = append(communities, ab)
	}
	for _, c := range req.LargeCommunities {
		if !validLargeCommunity(c) {
			return api.Announcement{}, false, api.BadRequest(fmt.Sprintf("bad large community %q", c), "give a:b:c (each part 0..4294967295)")
		}
	}
	a := api.Announcement{
		Prefix: req.Prefix, Announcement: "api:" + req.Prefix, Runtime: true,
		Communities: communities, LargeCommunities: slices.Clone(req.LargeCommunities),
		LocalPreference: req.LocalPreference, MED: req.MED,
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	anns := b.announcementsLocked()
	created := true
	anns = slices.DeleteFunc(anns, func(old api.Announcement) bool {
		if old.Runtime && old.Prefix == a.Prefix {
			created = false
			return true
		}
		return false
	})
	b.anns = append(anns, a)
	a.ShadowedBy = b.configuredLocked(a.Prefix)
	return a, created, nil
}

// DeleteAnnouncement removes the runtime announcement of prefix.
func (b *Backend) DeleteAnnouncement(ctx context.Context, prefix netip.Prefix) (api.AnnouncementDeleted, error) {
	if b.Err != nil {
		return api.AnnouncementDeleted{}, b.Err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	text := prefix.Masked().String()
	anns := b.announcementsLocked()
	n := len(anns)
	b.anns = slices.DeleteFunc(anns, func(a api.Announcement) bool { return a.Runtime && a.Prefix == text })
	configured := b.configuredLocked(text)
	if len(b.anns) == n {
		return api.AnnouncementDeleted{}, api.AnnouncementNotFound(prefix.Masked(), configured)
	}
	return api.AnnouncementDeleted{Prefix: text, Announcement: "api:" + text, ShadowedBy: configured}, nil
}

// wellKnownCommunities are the names godwitd reads, and the "a:b" it
// answers with.
var wellKnownCommunities = map[string]string{
	"graceful-shutdown": "65535:0", "accept-own": "65535:1", "llgr-stale": "65535:6", "no-llgr": "65535:7",
	"blackhole": "65535:666", "no-export": "65535:65281", "no-advertise": "65535:65282",
	"no-export-subconfed": "65535:65283", "no-peer": "65535:65284",
}

// community checks a community and returns it as godwitd writes it.
func community(s string) (string, bool) {
	if ab, ok := wellKnownCommunities[s]; ok {
		return ab, true
	}
	hi, lo, ok := strings.Cut(s, ":")
	a, err1 := strconv.ParseUint(hi, 10, 16)
	b, err2 := strconv.ParseUint(lo, 10, 16)
	return fmt.Sprintf("%d:%d", a, b), ok && err1 == nil && err2 == nil
}

func validLargeCommunity(s string) bool {
	parts := strings.Split(s, ":")
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return false
		}
	}
	return len(parts) == 3
}

// FIB returns FIBInfo; without all, only its routes that are not in sync.
func (b *Backend) FIB(ctx context.Context, all bool) (api.FIB, error) {
	if b.Err != nil {
		return api.FIB{}, b.Err
	}
	f := b.FIBInfo
	f.NextHops = slices.Clone(f.NextHops)
	f.Routes = nil
	for _, r := range b.FIBInfo.Routes {
		if all || r.State != api.FIBOK {
			f.Routes = append(f.Routes, r)
		}
	}
	return f, nil
}
