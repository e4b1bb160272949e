package config

// The in-memory store.
//
//	writers (CompareAndSwap, Delete, SetStatus)
//	   │  hold mu, bump rev, update items
//	   ▼
//	notifyLocked ──non-blocking send──► watcher.ch (buffered) ──► consumer
//	   │                                    ▲
//	   └─ channel nearly full: send Closed{ErrWatchOverflow}, close
//	                                        │
//	ctx done ─ context.AfterFunc ─► endWatch: send Closed{ctx.Err()}, close
//
// There is no goroutine per watcher: events are sent by the writer that
// makes them, under mu, and a send never blocks because the channel's last
// slot is kept for the Closed event.

import (
	"context"
	"fmt"
	"sync"
)

// DefaultWatchBuffer is how many events a watcher may have pending, beyond
// its initial snapshot, before the store ends its watch.
const DefaultWatchBuffer = 1024

// Memory is a Store that keeps everything in memory. It is the store of a
// daemon that reads its configuration from a file, and the reference for
// the other backends' behaviour.
type Memory struct {
	buffer int

	mu       sync.Mutex // guards everything below
	rev      uint64
	items    map[Ref]*Resource // immutable once stored; replaced, never changed
	watchers map[*watcher]struct{}
	closed   bool
}

// watcher is one Watch call. Its channel is written only with Memory.mu
// held.
type watcher struct {
	ch    chan Event
	kinds map[Kind]bool // nil: every kind
	stop  func() bool   // unregisters the context.AfterFunc
}

func (w *watcher) wants(k Kind) bool { return w.kinds == nil || w.kinds[k] }

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithWatchBuffer sets how many events (beyond the initial snapshot) a
// watcher may have pending before the store ends its watch with
// ErrWatchOverflow (default DefaultWatchBuffer).
func WithWatchBuffer(n int) MemoryOption {
	return func(m *Memory) { m.buffer = max(n, 1) }
}

// NewMemory returns an empty store at revision 0.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		buffer:   DefaultWatchBuffer,
		items:    map[Ref]*Resource{},
		watchers: map[*watcher]struct{}{},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

var _ Store = (*Memory)(nil)

// Get implements Store.
func (m *Memory) Get(ctx context.Context, kind Kind, name string) (*Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return nil, err
	}
	r, ok := m.items[Ref{kind, name}]
	if !ok {
		return nil, &NotFoundError{Ref{kind, name}}
	}
	return r, nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, kind Kind) ([]*Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return nil, err
	}
	var kinds map[Kind]bool
	if kind != "" {
		kinds = map[Kind]bool{kind: true}
	}
	return m.listLocked(kinds), nil
}

func (m *Memory) listLocked(kinds map[Kind]bool) []*Resource {
	var out []*Resource
	for ref, r := range m.items {
		if kinds == nil || kinds[ref.Kind] {
			out = append(out, r)
		}
	}
	SortResources(out)
	return out
}

// Revision implements Store.
func (m *Memory) Revision(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return 0, err
	}
	return m.rev, nil
}

func (m *Memory) usableLocked(ctx context.Context) error {
	if m.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// CompareAndSwap implements Store.
func (m *Memory) CompareAndSwap(ctx context.Context, r *Resource, expected uint64) (*Resource, error) {
	if r == nil {
		return nil, fmt.Errorf("config: CompareAndSwap of a nil resource")
	}
	if err := ValidateResource(r); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return nil, err
	}
	ref := r.Ref()
	cur := m.items[ref]
	var curVersion uint64
	if cur != nil {
		curVersion = cur.Metadata.ResourceVersion
	}
	if curVersion != expected {
		return nil, &ConflictError{Ref: ref, Expected: expected, Current: curVersion}
	}
	if cur != nil && cur.Metadata.Owner == r.Metadata.Owner && SpecEqual(cur.Spec, r.Spec) {
		return cur, nil
	}
	n := r.Clone()
	n.APIVersion = APIVersion
	n.Status = nil
	n.Metadata.Generation = 1
	typ := Added
	if cur != nil {
		n.Status = cur.Status
		n.Metadata.Generation = cur.Metadata.Generation + 1
		typ = Modified
	}
	m.rev++
	n.Metadata.ResourceVersion = m.rev
	m.items[ref] = n
	m.notifyLocked(Event{Type: typ, Resource: n, Revision: m.rev})
	return n, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, kind Kind, name string, expected uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return err
	}
	ref := Ref{kind, name}
	cur, ok := m.items[ref]
	if !ok {
		return &NotFoundError{ref}
	}
	if expected != 0 && cur.Metadata.ResourceVersion != expected {
		return &ConflictError{Ref: ref, Expected: expected, Current: cur.Metadata.ResourceVersion}
	}
	m.rev++
	last := *cur // shares the immutable spec and status
	last.Metadata.ResourceVersion = m.rev
	delete(m.items, ref)
	m.notifyLocked(Event{Type: Deleted, Resource: &last, Revision: m.rev})
	return nil
}

// SetStatus implements Store.
func (m *Memory) SetStatus(ctx context.Context, kind Kind, name string, status Status) (*Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return nil, err
	}
	ref := Ref{kind, name}
	cur, ok := m.items[ref]
	if !ok {
		return nil, &NotFoundError{ref}
	}
	if statusEqual(cur.Status, &status) {
		return cur, nil
	}
	n := *cur // shares the immutable spec
	n.Status = deepCopy(&status)
	m.rev++
	n.Metadata.ResourceVersion = m.rev
	m.items[ref] = &n
	m.notifyLocked(Event{Type: Modified, Resource: &n, Revision: m.rev})
	return &n, nil
}

// Watch implements Store. The channel holds the whole initial snapshot
// plus the watch buffer (WithWatchBuffer); a watcher that lets that many
// events pile up is ended with ErrWatchOverflow.
func (m *Memory) Watch(ctx context.Context, kinds ...Kind) (<-chan Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(ctx); err != nil {
		return nil, err
	}
	w := &watcher{}
	if len(kinds) > 0 {
		w.kinds = map[Kind]bool{}
		for _, k := range kinds {
			w.kinds[k] = true
		}
	}
	snap := m.listLocked(w.kinds)
	// snapshot + Synced + buffer + the slot kept for Closed.
	w.ch = make(chan Event, len(snap)+1+m.buffer+1)
	for _, r := range snap {
		w.ch <- Event{Type: Added, Resource: r, Revision: m.rev}
	}
	w.ch <- Event{Type: Synced, Revision: m.rev}
	m.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.endWatchLocked(w, ctx.Err())
	})
	return w.ch, nil
}

// notifyLocked hands ev to every watcher that wants it.
func (m *Memory) notifyLocked(ev Event) {
	for w := range m.watchers {
		if !w.wants(ev.Resource.Kind) {
			continue
		}
		if len(w.ch) >= cap(w.ch)-1 {
			// Writers never wait for a watcher: a watcher this far behind
			// is told to start over from a new snapshot.
			m.endWatchLocked(w, fmt.Errorf("%w (more than %d events pending at revision %d)", ErrWatchOverflow, m.buffer, ev.Revision))
			w.stop()
			continue
		}
		w.ch <- ev
	}
}

// endWatchLocked sends the Closed event and closes the channel, once.
func (m *Memory) endWatchLocked(w *watcher, err error) {
	if _, ok := m.watchers[w]; !ok {
		return
	}
	delete(m.watchers, w)
	w.ch <- Event{Type: Closed, Err: err, Revision: m.rev}
	close(w.ch)
}

// Close ends every watch with ErrClosed; every later call fails with
// ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for w := range m.watchers {
		m.endWatchLocked(w, ErrClosed)
		w.stop()
	}
	return nil
}
