package config

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func peerRes(name, addr string, asn ASN) *Resource {
	return New(name, &BGPPeerSpec{PeerAddress: mustAddr(addr), PeerASN: asn})
}

// eventText is an event as "Type Kind/name v<version> g<generation>".
func eventText(ev Event) string {
	switch ev.Type {
	case Synced:
		return fmt.Sprintf("Synced @%d", ev.Revision)
	case Closed:
		return fmt.Sprintf("Closed @%d: %v", ev.Revision, ev.Err)
	}
	m := ev.Resource.Metadata
	return fmt.Sprintf("%s %s/%s v%d g%d @%d", ev.Type, ev.Resource.Kind, m.Name, m.ResourceVersion, m.Generation, ev.Revision)
}

// drain reads n events, failing if they do not come quickly.
func drain(t *testing.T, ch <-chan Event, n int) []string {
	t.Helper()
	var out []string
	for range n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %v", out)
			}
			out = append(out, eventText(ev))
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out after %v", out)
		}
	}
	return out
}

// expectQuiet checks that no event is pending.
func expectQuiet(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %s", eventText(ev))
	default:
	}
}

func TestMemoryVersions(t *testing.T) {
	ctx := context.Background()
	s := NewMemory()
	type step struct {
		name    string
		do      func() (*Resource, error)
		wantRV  uint64 // of the returned resource
		wantGen int64
		wantErr string
	}
	steps := []step{
		{name: "create", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 65100), 0)
		}, wantRV: 1, wantGen: 1},
		{name: "create again", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 65100), 0)
		}, wantErr: `BGPPeer "router": version conflict: expected no such resource, but version 1 exists`},
		{name: "another kind takes the next revision", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, New("default", &BGPConfigurationSpec{ASNumber: 65010, RouterID: mustAddr("10.0.1.10")}), 0)
		}, wantRV: 2, wantGen: 1},
		{name: "update", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 65101), 1)
		}, wantRV: 3, wantGen: 2},
		{name: "stale update", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 65102), 1)
		}, wantErr: `BGPPeer "router": version conflict: expected version 1, stored version is 3`},
		{name: "update of nothing", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("nobody", "10.0.1.2", 65102), 7)
		}, wantErr: `BGPPeer "nobody": version conflict: expected version 7, but it does not exist`},
		{name: "no-op update keeps the version", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 65101), 3)
		}, wantRV: 3, wantGen: 2},
		{name: "status takes a revision, not a generation", do: func() (*Resource, error) {
			return s.SetStatus(ctx, KindBGPPeer, "router", Status{ObservedGeneration: 2, Message: "up"})
		}, wantRV: 4, wantGen: 2},
		{name: "same status is a no-op", do: func() (*Resource, error) {
			return s.SetStatus(ctx, KindBGPPeer, "router", Status{ObservedGeneration: 2, Message: "up"})
		}, wantRV: 4, wantGen: 2},
		{name: "owner change is a change", do: func() (*Resource, error) {
			r := peerRes("router", "10.0.1.2", 65101)
			r.Metadata.Owner = APIOwner("x")
			return s.CompareAndSwap(ctx, r, 4)
		}, wantRV: 5, wantGen: 3},
		{name: "invalid resource", do: func() (*Resource, error) {
			return s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 0), 5)
		}, wantErr: `BGPPeer "router": spec.peerASN: required (or give peerSelector)`},
		{name: "status of nothing", do: func() (*Resource, error) {
			return s.SetStatus(ctx, KindBGPPeer, "nobody", Status{})
		}, wantErr: `BGPPeer "nobody" not found`},
	}
	for _, st := range steps {
		r, err := st.do()
		if st.wantErr != "" {
			if err == nil || err.Error() != st.wantErr {
				t.Fatalf("%s: got error %v, want %s", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if r.Metadata.ResourceVersion != st.wantRV || r.Metadata.Generation != st.wantGen {
			t.Fatalf("%s: version %d generation %d, want %d and %d", st.name, r.Metadata.ResourceVersion, r.Metadata.Generation, st.wantRV, st.wantGen)
		}
	}
	r, err := s.Get(ctx, KindBGPPeer, "router")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == nil || r.Status.Message != "up" {
		t.Errorf("a spec write lost the status: %+v", r.Status)
	}
	if err := s.Delete(ctx, KindBGPPeer, "router", 4); !errors.Is(err, ErrConflict) {
		t.Errorf("stale delete: got %v, want a conflict", err)
	}
	var ce *ConflictError
	if err := s.Delete(ctx, KindBGPPeer, "router", 4); !errors.As(err, &ce) || ce.Current != 5 {
		t.Errorf("stale delete: got %v, want current version 5", err)
	}
	if err := s.Delete(ctx, KindBGPPeer, "router", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, KindBGPPeer, "router"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := s.Delete(ctx, KindBGPPeer, "router", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if rev, _ := s.Revision(ctx); rev != 6 {
		t.Errorf("Revision = %d, want 6", rev)
	}
	// A deleted name can be created again, from a new generation.
	r, err = s.CompareAndSwap(ctx, peerRes("router", "10.0.1.2", 65100), 0)
	if err != nil || r.Metadata.ResourceVersion != 7 || r.Metadata.Generation != 1 || r.Status != nil {
		t.Errorf("re-create: %v %v", r, err)
	}
}

func TestMemoryCopiesInput(t *testing.T) {
	ctx := context.Background()
	s := NewMemory()
	in := New("a", &AnnouncementSpec{Prefixes: []netip.Prefix{mustPrefix("10.0.0.0/24")}})
	if _, err := s.CompareAndSwap(ctx, in, 0); err != nil {
		t.Fatal(err)
	}
	in.Spec.(*AnnouncementSpec).Prefixes[0] = mustPrefix("10.9.9.0/24")
	in.Metadata.Name = "b"
	got, err := s.Get(ctx, KindAnnouncement, "a")
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Spec.(*AnnouncementSpec).Prefixes[0]; p != mustPrefix("10.0.0.0/24") {
		t.Errorf("the store shares the caller's value: %s", p)
	}
}

func TestMemoryList(t *testing.T) {
	ctx := context.Background()
	s := NewMemory()
	for _, r := range []*Resource{peerRes("b", "10.0.0.2", 1), peerRes("a", "10.0.0.1", 1), New("x", &AnnouncementSpec{Prefixes: []netip.Prefix{mustPrefix("10.0.0.0/24")}})} {
		if _, err := s.CompareAndSwap(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	names := func(rs []*Resource) (out []string) {
		for _, r := range rs {
			out = append(out, string(r.Kind)+"/"+r.Metadata.Name)
		}
		return out
	}
	peers, _ := s.List(ctx, KindBGPPeer)
	all, _ := s.List(ctx, "")
	none, _ := s.List(ctx, KindVRF)
	if diff := cmp.Diff([]string{"BGPPeer/a", "BGPPeer/b"}, names(peers)); diff != "" {
		t.Errorf("List(BGPPeer) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Announcement/x", "BGPPeer/a", "BGPPeer/b"}, names(all)); diff != "" {
		t.Errorf("List() (-want +got):\n%s", diff)
	}
	if len(none) != 0 {
		t.Errorf("List(VRF) = %v", names(none))
	}
}

func TestWatchSnapshotThenEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewMemory()
	mustCAS(t, s, peerRes("b", "10.0.0.2", 1), 0)                                                      // 1
	mustCAS(t, s, peerRes("a", "10.0.0.1", 1), 0)                                                      // 2
	mustCAS(t, s, New("x", &AnnouncementSpec{Prefixes: []netip.Prefix{mustPrefix("10.0.0.0/24")}}), 0) // 3

	ch, err := s.Watch(ctx, KindBGPPeer)
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, ch, 3)
	want := []string{"Added BGPPeer/a v2 g1 @3", "Added BGPPeer/b v1 g1 @3", "Synced @3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
	expectQuiet(t, ch)

	mustCAS(t, s, peerRes("a", "10.0.0.1", 2), 2)                                                      // 4
	mustCAS(t, s, New("y", &AnnouncementSpec{Prefixes: []netip.Prefix{mustPrefix("10.0.1.0/24")}}), 0) // 5: not watched
	mustCAS(t, s, peerRes("c", "10.0.0.3", 1), 0)                                                      // 6
	if _, err := s.SetStatus(ctx, KindBGPPeer, "c", Status{Message: "hi"}); err != nil {               // 7
		t.Fatal(err)
	}
	if err := s.Delete(ctx, KindBGPPeer, "b", 0); err != nil { // 8
		t.Fatal(err)
	}
	got = drain(t, ch, 4)
	want = []string{
		"Modified BGPPeer/a v4 g2 @4",
		"Added BGPPeer/c v6 g1 @6",
		"Modified BGPPeer/c v7 g1 @7",
		"Deleted BGPPeer/b v8 g1 @8",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	expectQuiet(t, ch)

	// Every kind when none is named.
	all, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, all, 5); got[4] != "Synced @8" || len(got) != 5 {
		t.Errorf("snapshot of every kind: %v", got)
	}
}

func TestWatchCancelLeavesNoGoroutine(t *testing.T) {
	s := NewMemory()
	mustCAS(t, s, peerRes("a", "10.0.0.1", 1), 0)
	before := runtime.NumGoroutine()
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := s.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		drain(t, ch, 2)
		cancel()
		got := drain(t, ch, 1)
		if want := "Closed @1: context canceled"; got[0] != want {
			t.Fatalf("got %s, want %s", got[0], want)
		}
		if _, ok := <-ch; ok {
			t.Fatal("channel not closed after the Closed event")
		}
	}
	// Writes after the watchers left reach nobody and block nothing.
	mustCAS(t, s, peerRes("b", "10.0.0.2", 1), 0)
	waitGoroutines(t, before)
	s.mu.Lock()
	n := len(s.watchers)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d watchers still registered", n)
	}
}

// waitGoroutines waits for the goroutine count to come back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatchAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewMemory().Watch(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch with a cancelled context: %v", err)
	}
}

func TestWatchSlowWatcherIsDropped(t *testing.T) {
	ctx := context.Background()
	s := NewMemory(WithWatchBuffer(4))
	mustCAS(t, s, peerRes("a", "10.0.0.1", 1), 0)
	slow, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, fast, 2)
	var fastGot []string
	// Ten writes: the slow watcher reads nothing, and no writer waits.
	for i := range 10 {
		mustCAS(t, s, peerRes("a", "10.0.0.1", ASN(i+2)), uint64(i+1))
		fastGot = append(fastGot, drain(t, fast, 1)...)
	}
	got := drain(t, slow, 2+4+1)
	want := []string{
		"Added BGPPeer/a v1 g1 @1", "Synced @1",
		"Modified BGPPeer/a v2 g2 @2", "Modified BGPPeer/a v3 g3 @3", "Modified BGPPeer/a v4 g4 @4", "Modified BGPPeer/a v5 g5 @5",
		"Closed @6: watcher fell behind; list again and watch anew (more than 4 events pending at revision 6)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slow watcher (-want +got):\n%s", diff)
	}
	if _, ok := <-slow; ok {
		t.Error("slow watcher's channel not closed")
	}
	if len(fastGot) != 10 || fastGot[9] != "Modified BGPPeer/a v11 g11 @11" {
		t.Errorf("fast watcher got %v", fastGot)
	}
	// Watching again starts from a fresh snapshot.
	again, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Added BGPPeer/a v11 g11 @11", "Synced @11"}, drain(t, again, 2)); diff != "" {
		t.Errorf("new snapshot (-want +got):\n%s", diff)
	}
}

func TestMemoryClose(t *testing.T) {
	ctx := context.Background()
	s := NewMemory()
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, ch, 2); got[1] != "Closed @0: store closed" {
		t.Errorf("got %v", got)
	}
	if _, err := s.CompareAndSwap(ctx, peerRes("a", "10.0.0.1", 1), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("CompareAndSwap after Close: %v", err)
	}
	if _, err := s.Watch(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}

// Concurrent writers and watchers: revisions strictly increase, every
// write is seen once, and the final versions agree (run with -race).
func TestMemoryConcurrent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewMemory(WithWatchBuffer(1 << 16))
	const writers, writes = 4, 50
	ch, err := s.Watch(ctx, KindBGPPeer)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, ch, 1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("p%d", w)
			var v uint64
			for i := range writes {
				for {
					// Two writers share each name, so CAS conflicts happen.
					r, err := s.CompareAndSwap(ctx, peerRes(name[:1]+fmt.Sprint(w%2), "10.0.0.1", ASN(i+1)), v)
					if err == nil {
						v = r.Metadata.ResourceVersion
						break
					}
					var ce *ConflictError
					if !errors.As(err, &ce) {
						t.Error(err)
						return
					}
					v = ce.Current
				}
			}
		})
	}
	wg.Wait()
	rev, _ := s.Revision(ctx)
	var last uint64
	for range rev {
		ev := <-ch
		if ev.Revision <= last {
			t.Fatalf("revision %d after %d", ev.Revision, last)
		}
		last = ev.Revision
	}
	expectQuiet(t, ch)
	if last != rev {
		t.Errorf("last event at %d, store at %d", last, rev)
	}
}

func mustCAS(t *testing.T, s Store, r *Resource, expected uint64) *Resource {
	t.Helper()
	out, err := s.CompareAndSwap(context.Background(), r, expected)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
