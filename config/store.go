package config

import (
	"context"
	"errors"
	"fmt"
)

// Store holds the resources. The in-memory Memory is the one
// implementation today; etcd and Kubernetes backends are to follow behind
// the same interface, which is why it has the shape of theirs: versions are
// store revisions, writes are compare-and-swap, and watches start with a
// snapshot.
//
// Every method is safe for concurrent use. Resources returned (by Get, List,
// the writes and in watch events) are shared snapshots that callers must
// not modify; Resource.Clone gives a private copy. Resources passed in are
// copied, so the caller may reuse them.
type Store interface {
	// Get returns the resource of that kind and name, or an error that
	// matches ErrNotFound.
	Get(ctx context.Context, kind Kind, name string) (*Resource, error)

	// List returns every resource of kind, sorted by name; an empty kind
	// lists every kind (sorted as SortResources does).
	List(ctx context.Context, kind Kind) ([]*Resource, error)

	// Watch streams changes to the resources of the given kinds (every
	// kind when none is given). The stream starts with the current
	// resources as Added events (sorted as List sorts them) and one Synced
	// event; then comes one Added, Modified or Deleted event per write, in
	// revision order. Events are buffered: the watcher must keep up, or
	// the store ends the watch (writers never wait for watchers). The
	// channel is closed when the watch ends; the last event before that is
	// a Closed event saying why: ctx's error when ctx ended, ErrClosed, or
	// an error matching ErrWatchOverflow when the watcher fell behind, in
	// which case the watcher calls Watch again and continues from the new
	// snapshot (which replaces everything it knew).
	Watch(ctx context.Context, kinds ...Kind) (<-chan Event, error)

	// CompareAndSwap writes r (its kind, name, owner and spec; not its
	// versions or status) if the stored resource's ResourceVersion is
	// expected, where 0 expects that no such resource exists. It returns
	// the stored resource with its new versions, or an error matching
	// ErrConflict (see *ConflictError for the current version) or, when r
	// is not valid on its own, the validation errors (see Error). A write
	// that changes nothing returns the stored resource without a new
	// revision or event. The store checks each resource on its own; that
	// references between resources hold is the writer's business (Apply
	// writes in KindOrder for that reason).
	CompareAndSwap(ctx context.Context, r *Resource, expected uint64) (*Resource, error)

	// Delete removes the resource if its ResourceVersion is expected (any
	// version when expected is 0). It returns ErrNotFound or ErrConflict
	// errors as CompareAndSwap does.
	Delete(ctx context.Context, kind Kind, name string, expected uint64) error

	// SetStatus replaces the resource's status. It takes a new revision
	// (so the ResourceVersion changes and watchers see a Modified event)
	// but leaves Generation alone. Setting the status it already has is
	// a no-op.
	SetStatus(ctx context.Context, kind Kind, name string, status Status) (*Resource, error)

	// Revision is the store's current revision: the ResourceVersion of
	// the latest write. It only grows.
	Revision(ctx context.Context) (uint64, error)
}

// EventType says what happened to a resource.
type EventType int

// The event types.
const (
	Added    EventType = iota + 1 // the resource was created (or is part of the initial snapshot)
	Modified                      // its spec, owner or status changed
	Deleted                       // it was removed; Resource is its last state
	Synced                        // the initial snapshot is complete; Resource is nil
	Closed                        // the watch ended (Err says why); the channel is closed next
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "Added"
	case Modified:
		return "Modified"
	case Deleted:
		return "Deleted"
	case Synced:
		return "Synced"
	case Closed:
		return "Closed"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one item of a watch stream.
type Event struct {
	Type EventType
	// Resource is the resource after the change (for Deleted, its last
	// state, with the ResourceVersion of the deletion); nil for Synced and
	// Closed.
	Resource *Resource
	// Revision is the store revision of the change; for snapshot events
	// and Synced, the revision of the snapshot.
	Revision uint64
	// Err is set on Closed events.
	Err error
}

func (e Event) String() string {
	switch e.Type {
	case Synced:
		return fmt.Sprintf("Synced @%d", e.Revision)
	case Closed:
		return fmt.Sprintf("Closed: %v", e.Err)
	}
	return fmt.Sprintf("%s %s @%d", e.Type, e.Resource.Ref(), e.Revision)
}

// Errors of the store.
var (
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("version conflict")
	ErrWatchOverflow = errors.New("watcher fell behind; list again and watch anew")
	ErrClosed        = errors.New("store closed")
)

// NotFoundError says which resource was not found; it matches ErrNotFound.
type NotFoundError struct {
	Ref Ref
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s not found", e.Ref) }

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError says that a compare-and-swap found another version; it
// matches ErrConflict.
type ConflictError struct {
	Ref      Ref
	Expected uint64 // the version the writer expected (0: none)
	Current  uint64 // the version stored (0: none)
}

func (e *ConflictError) Error() string {
	switch {
	case e.Current == 0:
		return fmt.Sprintf("%s: version conflict: expected version %d, but it does not exist", e.Ref, e.Expected)
	case e.Expected == 0:
		return fmt.Sprintf("%s: version conflict: expected no such resource, but version %d exists", e.Ref, e.Current)
	}
	return fmt.Sprintf("%s: version conflict: expected version %d, stored version is %d", e.Ref, e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
