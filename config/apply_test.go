package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const policyDoc = `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: RoutePolicy
metadata: {name: accept-all}
spec:
  statements:
  - name: everything
    actions: {result: accept}
`

func refs(rs ...string) []Ref {
	var out []Ref
	for _, s := range rs {
		k, n, _ := strings.Cut(s, "/")
		out = append(out, Ref{Kind(k), n})
	}
	return out
}

func TestApplyEmitsOnlyChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewMemory()
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, ch, 1)
	minimal := string(mustRead(t, "testdata/minimal.yaml"))

	steps := []struct {
		name       string
		src        string
		wantResult ApplyResult
		wantEvents []string
	}{
		{
			name:       "first load",
			src:        minimal,
			wantResult: ApplyResult{Added: refs("BGPConfiguration/default", "Announcement/pod-cidr", "BGPPeer/router")},
			wantEvents: []string{
				"Added BGPConfiguration/default v1 g1 @1",
				"Added Announcement/pod-cidr v2 g1 @2",
				"Added BGPPeer/router v3 g1 @3",
			},
		},
		{
			name:       "same file again",
			src:        minimal,
			wantResult: ApplyResult{Unchanged: refs("BGPConfiguration/default", "Announcement/pod-cidr", "BGPPeer/router")},
		},
		{
			name: "same resources, spelt differently and in another order",
			src: strings.Replace(strings.Replace(minimal, "peerASN: 65100", "peerASN: 0xfe4c, families: []", 1),
				"metadata: {name: default}", "metadata: {name: default} # comment", 1),
			wantResult: ApplyResult{Unchanged: refs("BGPConfiguration/default", "Announcement/pod-cidr", "BGPPeer/router")},
		},
		{
			name: "a policy added, the peer changed to use it, the announcement removed",
			src: strings.Replace(minimal[:strings.Index(minimal, "---\napiVersion: bgp.godwit.dev/v1alpha1\nkind: Announcement")],
				"peerASN: 65100", "peerASN: 65100, importPolicy: accept-all", 1) + policyDoc,
			wantResult: ApplyResult{
				Added:     refs("RoutePolicy/accept-all"),
				Modified:  refs("BGPPeer/router"),
				Deleted:   refs("Announcement/pod-cidr"),
				Unchanged: refs("BGPConfiguration/default"),
			},
			// The policy exists before the peer names it; the announcement
			// goes last.
			wantEvents: []string{
				"Added RoutePolicy/accept-all v4 g1 @4",
				"Modified BGPPeer/router v5 g2 @5",
				"Deleted Announcement/pod-cidr v6 g1 @6",
			},
		},
		{
			name: "everything removed, policy after the peer that used it",
			src:  "",
			wantResult: ApplyResult{
				Deleted: refs("BGPPeer/router", "RoutePolicy/accept-all", "BGPConfiguration/default"),
			},
			wantEvents: []string{
				"Deleted BGPPeer/router v7 g2 @7",
				"Deleted RoutePolicy/accept-all v8 g1 @8",
				"Deleted BGPConfiguration/default v9 g1 @9",
			},
		},
	}
	for _, st := range steps {
		rs := mustParse(t, st.src)
		res, err := Apply(ctx, s, rs, OwnerFile)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if diff := cmp.Diff(st.wantResult, res); diff != "" {
			t.Errorf("%s: result (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.wantEvents, drain(t, ch, len(st.wantEvents))); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", st.name, diff)
		}
		expectQuiet(t, ch)
	}
}

func TestApplyLeavesOtherOwnersAlone(t *testing.T) {
	ctx := context.Background()
	s := NewMemory()
	api := peerRes("from-api", "10.0.9.9", 65200)
	api.Metadata.Owner = APIOwner("cni")
	mustCAS(t, s, api, 0)
	minimal := mustParse(t, string(mustRead(t, "testdata/minimal.yaml")))
	if _, err := Apply(ctx, s, minimal, OwnerFile); err != nil {
		t.Fatal(err)
	}
	// A reload without the file's peer deletes that one, not the API's.
	res, err := Apply(ctx, s, minimal[:1], OwnerFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refs("BGPPeer/router", "Announcement/pod-cidr"), res.Deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if _, err := s.Get(ctx, KindBGPPeer, "from-api"); err != nil {
		t.Errorf("the API's peer is gone: %v", err)
	}

	// A file resource whose name the API owns: nothing is written.
	rev, _ := s.Revision(ctx)
	clash := append(minimal, peerRes("from-api", "10.0.9.9", 65200))
	_, err = Apply(ctx, s, clash, OwnerFile)
	want := `BGPPeer "from-api" is owned by "api:cni", not "file"; remove it there first or rename it`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if after, _ := s.Revision(ctx); after != rev {
		t.Errorf("a refused Apply wrote: revision %d -> %d", rev, after)
	}
}

func TestApplyRefusesInvalidSets(t *testing.T) {
	ctx := context.Background()
	s := NewMemory()
	rs := []*Resource{New("router", &BGPPeerSpec{PeerAddress: mustAddr("10.0.1.2"), PeerASN: 65100, ExportPolicy: "nope"})}
	_, err := Apply(ctx, s, rs, OwnerFile)
	if want := `BGPPeer "router": spec.exportPolicy: no RoutePolicy named "nope"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := Apply(ctx, s, nil, "has space"); err == nil {
		t.Error("Apply accepted a bad owner")
	}
	if rev, _ := s.Revision(ctx); rev != 0 {
		t.Errorf("refused Applies wrote: revision %d", rev)
	}
}

// writeFile replaces path's content and moves its mtime forward, so that
// polling sees the change even on file systems with coarse timestamps.
func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestFileSourceBadFileKeepsLastGood(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "godwit.yaml")
	minimal := string(mustRead(t, "testdata/minimal.yaml"))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	writeFile(t, path, minimal, t0)

	s := NewMemory()
	clock := t0
	f := NewFileSource(s, path, WithClock(func() time.Time { return clock }))
	if _, err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, _ := s.Get(ctx, KindBGPConfiguration, "default")
	if c := cfg.Status.Condition(ConditionConfigLoaded); c == nil || c.Status != ConditionTrue {
		t.Fatalf("after a good load: %+v", cfg.Status)
	}
	before, _ := s.List(ctx, "")

	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, ch, 4)

	// A bad file: the peer's AS is 0 and a policy is missing.
	clock = t0.Add(time.Minute)
	bad := strings.Replace(minimal, "peerASN: 65100", "peerASN: 0, importPolicy: nope", 1)
	writeFile(t, path, bad, t0.Add(time.Minute))
	if !f.Poll(ctx) {
		t.Fatal("Poll did not see the change")
	}
	wantErr := path + `: document 2 (BGPPeer "router"), line 9: spec.peerASN: must be 1..4294967295, got 0` + "\n" +
		path + `: document 2 (BGPPeer "router"), line 9: spec.importPolicy: no RoutePolicy named "nope"`
	st := f.Status()
	if st.LastError == nil || st.LastError.Error() != wantErr || !st.LastErrorAt.Equal(clock) {
		t.Errorf("Status: %+v\nwant error:\n%s", st, wantErr)
	}
	if !st.LoadedAt.Equal(t0) {
		t.Errorf("LoadedAt moved to %v", st.LoadedAt)
	}
	// Only the status of the BGPConfiguration changed.
	got := drain(t, ch, 1)
	if got[0] != "Modified BGPConfiguration/default v5 g1 @5" {
		t.Errorf("event %s", got[0])
	}
	expectQuiet(t, ch)
	after, _ := s.List(ctx, "")
	for i := range before {
		if !SpecEqual(before[i].Spec, after[i].Spec) || before[i].Metadata.Generation != after[i].Metadata.Generation {
			t.Errorf("%s changed", after[i])
		}
	}
	cfg, _ = s.Get(ctx, KindBGPConfiguration, "default")
	c := cfg.Status.Condition(ConditionConfigLoaded)
	if c == nil || c.Status != ConditionFalse || c.Reason != ReasonInvalidFile ||
		c.Message != "kept the last good configuration: "+wantErr || !c.LastTransitionTime.Equal(clock) ||
		cfg.Status.LastError != wantErr {
		t.Errorf("status after a bad load: %+v", cfg.Status)
	}

	// The same bad content is not loaded again; a touch without change
	// neither.
	if f.Poll(ctx) {
		t.Error("Poll loaded an unchanged file")
	}
	writeFile(t, path, bad, t0.Add(2*time.Minute))
	if f.Poll(ctx) {
		t.Error("Poll loaded a file that was only touched")
	}
	expectQuiet(t, ch)

	// Fixed: loaded, condition back to True.
	clock = t0.Add(3 * time.Minute)
	writeFile(t, path, strings.Replace(minimal, "peerASN: 65100", "peerASN: 65101", 1), t0.Add(3*time.Minute))
	if !f.Poll(ctx) {
		t.Fatal("Poll did not see the fix")
	}
	if st := f.Status(); st.LastError != nil || !st.LoadedAt.Equal(clock) || len(st.Result.Modified) != 1 {
		t.Errorf("Status after the fix: %+v", st)
	}
	got = drain(t, ch, 2)
	want := []string{"Modified BGPPeer/router v6 g2 @6", "Modified BGPConfiguration/default v7 g1 @7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events after the fix (-want +got):\n%s", diff)
	}

	// A missing file is an error too, reported once, and changes nothing.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	f.Poll(ctx)
	if st := f.Status(); !errors.Is(st.LastError, os.ErrNotExist) {
		t.Errorf("after removal: %v", st.LastError)
	}
	drain(t, ch, 1) // the condition
	f.Poll(ctx)
	expectQuiet(t, ch)
	if peers, _ := s.List(ctx, KindBGPPeer); len(peers) != 1 {
		t.Errorf("peers after removal: %v", peers)
	}
}

func TestFileSourceFirstLoadFails(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "godwit.yaml")
	writeFile(t, path, "kind: Nope\n", time.Now())
	s := NewMemory()
	f := NewFileSource(s, path)
	if _, err := f.Load(ctx); err == nil {
		t.Fatal("Load of a bad file succeeded")
	}
	if rev, _ := s.Revision(ctx); rev != 0 {
		t.Errorf("store written: revision %d", rev)
	}
	if f.Status().LastError == nil {
		t.Error("no error in Status")
	}
}

func TestFileSourceRunStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "godwit.yaml")
	writeFile(t, path, string(mustRead(t, "testdata/minimal.yaml")), time.Now())
	s := NewMemory()
	f := NewFileSource(s, path, WithOwner("file:"+path))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx, time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if peers, _ := s.List(context.Background(), KindBGPPeer); len(peers) == 1 {
			if peers[0].Metadata.Owner != "file:"+path {
				t.Errorf("owner %q", peers[0].Metadata.Owner)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not load the file")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}
