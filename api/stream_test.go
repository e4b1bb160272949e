package api_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/apitest"
)

// bigTable emits n routes made up on the fly, counting them in produced,
// and reports how it ended on done.
func bigTable(n int, produced *atomic.Int64, done chan<- error) func(context.Context, api.RouteQuery, func(api.Route) error) error {
	return func(ctx context.Context, q api.RouteQuery, emit func(api.Route) error) (err error) {
		defer func() { done <- err }()
		for i := range n {
			r := api.Route{
				Prefix: fmt.Sprintf("%d.%d.%d.0/24", 10+i>>16, i>>8&0xff, i&0xff), Family: "ipv4-unicast",
				NextHop: "192.0.2.1", Origin: api.OriginIGP, LocalPreference: 100, Best: true, Peer: "192.0.2.1",
				ASPath: []uint32{65001, uint32(i)}, ASPathText: fmt.Sprintf("65001 %d", i),
			}
			if err := emit(r); err != nil {
				return err
			}
			produced.Add(1)
		}
		return nil
	}
}

// TestRoutesStreamIncrementally lists 100,000 routes and checks that the
// server does not hold them: the client sees the first route long before
// the backend has produced the last, and while the client does not read,
// the backend is held back (backpressure).
func TestRoutesStreamIncrementally(t *testing.T) {
	checkLeaks(t)
	const n = 100_000
	var produced atomic.Int64
	done := make(chan error, 1)
	srv := apitest.Serve(t, &apitest.Backend{RoutesFunc: bigTable(n, &produced, done)})
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	got := 0
	var atFirst, stalled int64
	err = c.Routes(context.Background(), api.RouteQuery{}, func(r api.Route) error {
		got++
		if got == 1 {
			atFirst = produced.Load()
			// Stop reading until the backend is stuck on a full socket.
			last := int64(-1)
			for cur := produced.Load(); cur != last; cur = produced.Load() {
				last = cur
				time.Sleep(200 * time.Millisecond)
			}
			stalled = last
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("got %d routes, want %d", got, n)
	}
	if err := <-done; err != nil {
		t.Errorf("backend: %v", err)
	}
	t.Logf("routes produced when the client saw the first: %d; while it did not read: %d", atFirst, stalled)
	if atFirst >= n {
		t.Errorf("the first route arrived only after the backend produced all %d", n)
	}
	// A socket pair and the server's buffer hold a few megabytes, far
	// less than the whole table (about 30 MB of JSON).
	if stalled > n/2 {
		t.Errorf("backend produced %d routes while the client read none: no backpressure", stalled)
	}
}

// TestRoutesClientGoneCancelsBackend checks that a client that stops
// reading a listing stops the backend's walk.
func TestRoutesClientGoneCancelsBackend(t *testing.T) {
	checkLeaks(t)
	var produced atomic.Int64
	done := make(chan error, 1)
	srv := apitest.Serve(t, &apitest.Backend{RoutesFunc: bigTable(1<<30, &produced, done)})
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errStop := errors.New("enough")
	got := 0
	err = c.Routes(context.Background(), api.RouteQuery{}, func(api.Route) error {
		if got++; got == 10 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Routes = %v, want the emit error", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("backend ended without an error from emit")
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("backend still emitting after the client went away (%d routes)", produced.Load())
	}
}

// TestWatch checks the snapshot, the synced marker, a change, and that the
// backend's Watch ends when the client goes away.
func TestWatch(t *testing.T) {
	checkLeaks(t)
	b := apitest.Sample()
	b.Changes = make(chan api.Event)
	srv := apitest.Serve(t, b)
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var ops []string
	errStop := errors.New("seen enough")
	update := api.Neighbor{Address: "10.0.1.12", ASN: 65010, State: api.StateEstablished, Info: "Established"}
	err = c.Watch(context.Background(), []api.EventKind{api.KindNeighbor, api.KindConfig}, func(ev api.Event) error {
		ops = append(ops, fmt.Sprintf("%s %s", ev.Op, ev.Kind))
		switch ev.Op {
		case api.OpSynced:
			go func() {
				b.Changes <- api.Event{Op: api.OpUpdate, Kind: api.KindRoute, Route: &api.Route{Prefix: "10.9.0.0/16"}}
				b.Changes <- api.Event{Op: api.OpUpdate, Kind: api.KindNeighbor, Neighbor: &update}
			}()
		case api.OpUpdate:
			if ev.Neighbor == nil || ev.Neighbor.State != api.StateEstablished {
				t.Errorf("update event = %+v", ev)
			}
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Watch = %v", err)
	}
	want := "[snapshot neighbor snapshot neighbor snapshot neighbor snapshot neighbor snapshot neighbor snapshot config synced  update neighbor]"
	if got := fmt.Sprint(ops); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	select {
	case err := <-b.WatchEnded():
		if err == nil {
			t.Error("backend Watch ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("backend Watch still running after the client went away")
	}
}

// TestWatchRaw checks the watch feed's wire form: NDJSON, one event a line.
func TestWatchRaw(t *testing.T) {
	checkLeaks(t)
	b := apitest.Sample()
	srv := apitest.Serve(t, b)
	sock := srv.Addr().Address
	bad := rawDo(t, sock, "GET", "/v1/watch?kinds=neighbor,peer", "")
	golden(t, "endpoints/watch_unknown_kind.golden", bad.render(t))

	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The watch never ends by itself: read the snapshot through the
	// Client and compare the events' JSON.
	var lines []byte
	errStop := errors.New("synced")
	err = c.Watch(context.Background(), []api.EventKind{api.KindConfig, api.KindNeighbor}, func(ev api.Event) error {
		line, err := jsonLine(ev)
		if err != nil {
			return err
		}
		lines = append(lines, line...)
		if ev.Op == api.OpSynced {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	golden(t, "endpoints/watch_snapshot.golden", lines)
}

// TestCloseEndsStreams checks that closing the server ends a watch in
// progress, waits for the backend, and leaves no goroutine behind.
func TestCloseEndsStreams(t *testing.T) {
	checkLeaks(t)
	b := apitest.Sample()
	srv, err := api.NewServer(b, api.ServerConfig{Addr: apitest.SocketPath(t), Logger: apitest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	synced := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- c.Watch(context.Background(), nil, func(ev api.Event) error {
			if ev.Op == api.OpSynced {
				close(synced)
			}
			return nil
		})
	}()
	<-synced
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-b.WatchEnded():
		if !errors.Is(err, context.Canceled) && err == nil {
			t.Errorf("backend Watch ended with %v", err)
		}
	default:
		t.Error("Close returned before the backend's Watch did")
	}
	select {
	case err := <-watchErr:
		if err == nil {
			t.Error("client Watch ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client Watch still running after Close")
	}
}

// TestSlowClientDropped checks that a stream whose client stops reading
// is dropped after StreamWriteTimeout, freeing the backend.
func TestSlowClientDropped(t *testing.T) {
	checkLeaks(t)
	var produced atomic.Int64
	done := make(chan error, 1)
	srv, err := api.NewServer(&apitest.Backend{RoutesFunc: bigTable(1<<30, &produced, done)},
		api.ServerConfig{Addr: apitest.SocketPath(t), Logger: apitest.Logger(t), StreamWriteTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	release := make(chan struct{})
	clientDone := make(chan error, 1)
	go func() {
		clientDone <- c.Routes(context.Background(), api.RouteQuery{}, func(api.Route) error {
			<-release // never read again until the server gave up
			return nil
		})
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("backend ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client that does not read kept the backend busy")
	}
	close(release)
	if err := <-clientDone; err == nil {
		t.Error("client saw a complete listing")
	}
}
