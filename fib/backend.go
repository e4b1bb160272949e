package fib

import (
	"context"
	"errors"
	"fmt"
)

// Backend is the kernel as the Reconciler sees it: a place where routes of
// one protocol are listed and written. fib/netlink is the Linux one,
// fib/fake the in-memory one the tests use.
//
// A backend is called by one reconciler goroutine at a time for List and
// Apply; Subscribe's channel is read by another goroutine.
type Backend interface {
	// List returns the routes of protocol proto that are installed in
	// table now, in canonical form (Route.Canonical). It is called at
	// start-up (Adopt), on a periodic scan and after anything that may
	// have changed the kernel behind the reconciler's back; an error
	// means nothing is known and the reconciler tries again later.
	List(table int, proto Protocol) ([]Route, error)
	// Apply carries out ops in order with protocol proto. Adds must not
	// replace an existing route (another protocol's route may have the
	// same identity); replaces and deletes touch only routes of proto.
	// It returns nil when every op succeeded, an *ApplyError giving the
	// outcome of each op when some failed, or another error when the
	// outcome of the batch is unknown (the reconciler then lists again).
	Apply(proto Protocol, ops []Op) error
	// Subscribe starts a stream of kernel events; see SubscribeOptions
	// and Event. The channel is closed after ctx is done, once the
	// backend has stopped sending (so a reader that drains it until it
	// is closed has waited for the backend's goroutine), or earlier if
	// the subscription breaks, in which case the reader subscribes again
	// and re-reads what it tracks.
	Subscribe(ctx context.Context, opts SubscribeOptions) (<-chan Event, error)
}

// RouteSource is the kernel as the Resolver sees it: every route of a
// table, whatever its protocol, and the interfaces.
type RouteSource interface {
	// Routes returns every route in table (of every protocol and type),
	// in canonical form.
	Routes(table int) ([]KernelRoute, error)
	// Links returns every interface and whether it is up.
	Links() ([]Link, error)
	// Subscribe is Backend.Subscribe.
	Subscribe(ctx context.Context, opts SubscribeOptions) (<-chan Event, error)
}

// OpKind is what one Op does.
type OpKind uint8

const (
	// OpAdd creates a route that must not exist yet (NLM_F_EXCL), so that
	// a route of another protocol with the same identity is never
	// replaced.
	OpAdd OpKind = iota + 1
	// OpReplace replaces our own route in place (NLM_F_REPLACE), without
	// a moment where the destination has no route.
	OpReplace
	// OpDelete removes our route (matched by table, prefix, metric and
	// protocol).
	OpDelete
)

func (k OpKind) String() string {
	switch k {
	case OpAdd:
		return "add"
	case OpReplace:
		return "replace"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one change to the kernel.
type Op struct {
	Kind  OpKind
	Route Route
}

func (o Op) String() string { return o.Kind.String() + " " + o.Route.String() }

// Errors a backend wraps in a failed op's error, so that the reconciler can
// tell them apart from other failures.
var (
	// ErrExists: an add found a route with the same identity (perhaps
	// another protocol's).
	ErrExists = errors.New("route exists")
	// ErrNotFound: a delete found nothing to delete.
	ErrNotFound = errors.New("no such route")
)

// ApplyError is the outcome of a batch in which some ops failed.
type ApplyError struct {
	// Errs has one entry per op of the batch, in order: nil for an op
	// that succeeded.
	Errs []error
}

func (e *ApplyError) Error() string {
	n := 0
	var first error
	for _, err := range e.Errs {
		if err != nil {
			if first == nil {
				first = err
			}
			n++
		}
	}
	if n == 1 {
		return first.Error()
	}
	return fmt.Sprintf("%d of %d ops failed, first: %v", n, len(e.Errs), first)
}

// Unwrap returns the failures, for errors.Is and errors.As.
func (e *ApplyError) Unwrap() []error {
	var out []error
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// RouteType is a kernel route type (rtm_type) as far as godwit cares.
type RouteType uint8

const (
	TypeUnicast RouteType = iota + 1
	TypeLocal
	TypeBlackhole
	TypeUnreachable
	TypeProhibit
	TypeThrow
	TypeOther
)

func (t RouteType) String() string {
	switch t {
	case TypeUnicast:
		return "unicast"
	case TypeLocal:
		return "local"
	case TypeBlackhole:
		return "blackhole"
	case TypeUnreachable:
		return "unreachable"
	case TypeProhibit:
		return "prohibit"
	case TypeThrow:
		return "throw"
	}
	return "other"
}

// KernelRoute is a route of any protocol as the kernel reports it.
type KernelRoute struct {
	Route
	Protocol Protocol
	Type     RouteType
}

// Link is one network interface.
type Link struct {
	Index int
	Name  string
	// Up: administratively up and with carrier (IFF_UP and IFF_RUNNING).
	Up bool
}

// SubscribeOptions choose the events of a subscription.
type SubscribeOptions struct {
	// Routes asks for route events of every table.
	Routes bool
	// Links asks for interface events.
	Links bool
	// SkipProtocol drops route events of this protocol (0: none), as
	// early as the backend can (the netlink backend filters them in the
	// kernel): the reconciler's own full table must not flood the
	// resolver.
	SkipProtocol Protocol
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventRouteAdd: a route was added or replaced (Event.Route).
	EventRouteAdd EventKind = iota + 1
	// EventRouteDelete: a route was removed (Event.Route).
	EventRouteDelete
	// EventLink: an interface appeared or changed (Event.Link).
	EventLink
	// EventLinkDelete: an interface went away (Event.Link).
	EventLinkDelete
	// EventLost: events were dropped (the socket overflowed); whatever the
	// reader tracks must be read again.
	EventLost
)

func (k EventKind) String() string {
	switch k {
	case EventRouteAdd:
		return "route-add"
	case EventRouteDelete:
		return "route-delete"
	case EventLink:
		return "link"
	case EventLinkDelete:
		return "link-delete"
	case EventLost:
		return "lost"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one kernel change.
type Event struct {
	Kind  EventKind
	Route KernelRoute
	Link  Link
}
