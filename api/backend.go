package api

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Backend is what the daemon gives the API. The Server calls it from one
// goroutine per request, so its methods must be safe for concurrent use,
// and it must return promptly once ctx is done (ctx is cancelled when the
// client goes away and when the Server closes; Server.Close waits for
// every call to return).
//
// Errors: a method returns an *Error (NeighborNotFound, BadRequest,
// Unavailable, ...) to choose the HTTP status, the message and the hint the
// user sees; any other error is reported as an internal error (500) with
// its text.
type Backend interface {
	// Status is called for GET /v1/status and returns the speaker's
	// overview. The Server fills Version when it is empty.
	Status(ctx context.Context) (Status, error)

	// Neighbors is called for GET /v1/neighbors and returns every
	// configured neighbour, in any order (the Server sorts them by
	// address). None is an empty (or nil) slice, not an error.
	Neighbors(ctx context.Context) ([]Neighbor, error)

	// Neighbor is called for GET /v1/neighbors/{addr} and returns one
	// neighbour in detail, or NeighborNotFound(addr) when no neighbour
	// has that address.
	Neighbor(ctx context.Context, addr netip.Addr) (NeighborDetail, error)

	// NeighborAction is called for POST /v1/neighbors/{addr}/{action}.
	// The Server has checked that action is one of Actions and that
	// message is empty unless action.TakesMessage() (and at most 255
	// octets of UTF-8, RFC 9003). It returns once the action has been
	// handed to the session (not when the session has reacted), or
	// NeighborNotFound(addr).
	NeighborAction(ctx context.Context, addr netip.Addr, action Action, message string) error

	// Routes is called for GET /v1/routes and calls emit for every path
	// that matches q (normalised by RouteQuery.Normalize), grouping the
	// paths of one prefix together, best path first. emit writes the
	// path to the client and blocks while the client is not reading, so
	// Routes must walk an immutable snapshot rather than hold locks the
	// speaker needs. When emit returns an error (the client went away,
	// the Server is closing) Routes must stop and return; what it returns
	// then is ignored. An unknown VRF or peer is an *Error with status
	// 404 (NotFound); no matching path is no call to emit and a nil
	// error.
	Routes(ctx context.Context, q RouteQuery, emit func(Route) error) error

	// Watch is called for GET /v1/watch. It emits the current state of
	// the given kinds (never empty, no duplicates) as OpSnapshot events,
	// then one OpSynced event, then every change as OpUpdate or OpDelete
	// events, until ctx is done or emit returns an error; it then returns.
	// emit blocks while the client is not reading: Watch must coalesce
	// changes (the latest state per neighbour or prefix) rather than queue
	// them without bound.
	Watch(ctx context.Context, kinds []EventKind, emit func(Event) error) error

	// ConfigStatus is called for GET /v1/config/status and reports which
	// configuration is in force and how the last (re)load went.
	ConfigStatus(ctx context.Context) (ConfigStatus, error)

	// TestPolicy is called for GET /v1/policies/{name}/test. It runs the
	// named RoutePolicy over the paths to prefix (masked, exact match)
	// without changing anything: the best path when peer is invalid,
	// else every path received from that neighbour, the ones import
	// refused included. An unknown policy is PolicyNotFound(name), an
	// unknown neighbour NeighborNotFound(peer); no path is an empty (or
	// nil) slice and a nil error.
	TestPolicy(ctx context.Context, name string, prefix netip.Prefix, peer netip.Addr) ([]PolicyTestResult, error)

	// Announcements is called for GET /v1/announcements and returns every
	// prefix the speaker originates, from the configuration and added at
	// run time, in any order (the Server sorts them by prefix). A runtime
	// announcement that a configured one shadows is not listed (it is not
	// originated). None is an empty (or nil) slice, not an error.
	Announcements(ctx context.Context) ([]Announcement, error)

	// AddAnnouncement is called for POST /v1/announcements. The Server
	// has normalised req (AnnouncementRequest.Normalize): Prefix is a
	// canonical CIDR prefix without host bits. It originates the prefix
	// with req's attributes, replacing a runtime announcement of the same
	// prefix, and returns the announcement as stored (ShadowedBy set when
	// a configured Announcement originates the prefix instead) and
	// whether it is new (false when it replaced one). A community the
	// Backend cannot read is BadRequest. It returns once the route has
	// been handed to the RIB, not when peers have it.
	AddAnnouncement(ctx context.Context, req AnnouncementRequest) (a Announcement, created bool, err error)

	// DeleteAnnouncement is called for DELETE /v1/announcements and
	// removes the runtime announcement of prefix (masked), withdrawing
	// its route unless a configured Announcement originates it too. With
	// no runtime announcement of prefix it returns
	// AnnouncementNotFound: configured ones change in the configuration
	// only.
	DeleteAnnouncement(ctx context.Context, prefix netip.Prefix) (AnnouncementDeleted, error)

	// FIB is called for GET /v1/fib and compares the kernel's routes
	// with the RIB's: the reconciler's state and counters, the tracked
	// next hops in any order (the Server sorts them by address), and the
	// routes in the order to list them (by table, then prefix): with all
	// every route desired or installed, else only those whose kernel
	// state differs from the desired one (held routes of a previous run
	// included). Before the kernel has been opened it returns
	// Unavailable.
	FIB(ctx context.Context, all bool) (FIB, error)
}

// Families lists the address families, spelt as in BGPPeer.families.
var Families = []string{"ipv4-unicast", "ipv6-unicast", "ipv4-vpn", "ipv6-vpn", "l2vpn-evpn"}

// RouteQuery selects the paths GET /v1/routes lists.
type RouteQuery struct {
	// VRF is the VRF's name; empty is the default VRF.
	VRF string
	// Family is one of Families; empty is every family of the VRF.
	Family string
	// Prefix, when set, selects one prefix: a CIDR prefix matches
	// exactly, an address selects the longest prefix that contains it.
	// For VPN and EVPN families it is the route's text form and matches
	// exactly.
	Prefix string
	// Peer, when set, is a neighbour's address: only the paths learned
	// from it, or with Received or Advertised its Adj-RIB-In or
	// Adj-RIB-Out.
	Peer string
	// Received lists Peer's Adj-RIB-In, before import policy; paths the
	// policy rejected are included and marked Filtered.
	Received bool
	// Advertised lists what is sent to Peer (its Adj-RIB-Out).
	Advertised bool
	// BestOnly leaves out the paths that are not best.
	BestOnly bool
}

// Normalize checks q and returns it in canonical form: Family known,
// unicast Prefix parsed and written canonically (an address as an
// address, a CIDR prefix masked), Family inferred from a unicast Prefix
// when empty, Peer a canonical address, Received and Advertised only with
// Peer and not both. Its errors are *Error with status 400.
func (q RouteQuery) Normalize() (RouteQuery, error) {
	if q.Family != "" && !slices.Contains(Families, q.Family) {
		return q, BadRequest(fmt.Sprintf("unknown address family %q", q.Family),
			"families are "+strings.Join(Families, ", "))
	}
	if q.Prefix != "" && (q.Family == "" || strings.HasSuffix(q.Family, "-unicast")) {
		family, text, err := parseUnicastPrefix(q.Prefix)
		if err != nil {
			return q, err
		}
		if q.Family != "" && q.Family != family {
			return q, BadRequest(fmt.Sprintf("prefix %s is not in family %s", q.Prefix, q.Family), "")
		}
		q.Family, q.Prefix = family, text
	}
	if q.Peer != "" {
		a, err := netip.ParseAddr(q.Peer)
		if err != nil {
			return q, BadRequest(fmt.Sprintf("bad peer address %q", q.Peer), "give the neighbour's IPv4 or IPv6 address")
		}
		q.Peer = a.String()
	}
	if (q.Received || q.Advertised) && q.Peer == "" {
		return q, BadRequest("received and advertised routes are per neighbour", "add --peer ADDR")
	}
	if q.Received && q.Advertised {
		return q, BadRequest("received and advertised exclude each other", "ask for one, then the other")
	}
	return q, nil
}

// parseUnicastPrefix parses a CIDR prefix or an address and returns its
// family and canonical text.
func parseUnicastPrefix(s string) (family, text string, err error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", "", BadRequest(fmt.Sprintf("bad prefix %q", s), "give a CIDR prefix like 10.0.0.0/24 or an address")
		}
		return unicastFamily(p.Addr()), p.Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", "", BadRequest(fmt.Sprintf("bad prefix %q", s), "give a CIDR prefix like 10.0.0.0/24 or an address")
	}
	return unicastFamily(a), a.String(), nil
}

func unicastFamily(a netip.Addr) string {
	if a.Is4() {
		return "ipv4-unicast"
	}
	return "ipv6-unicast"
}
