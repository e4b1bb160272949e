// Package daemon is godwitd's lifecycle and wiring: it loads the
// configuration into a store, applies it from the store's watch events to
// the layers below, runs one peer per BGPPeer behind one transport
// listener, keeps the routing state of this first version, and exposes
// metrics, pprof and the queries the management API serves.
//
// # Layer
//
// daemon (DESIGN.md, "Architecture"). It imports config, peer, transport
// and wire, and never api: the API's Backend is implemented above both, in
// package api/backend, which converts this package's answers (Info,
// NeighborInfo, Route, ConfigState) into the API's JSON types. cmd/godwitd
// wires the two with api.Server.
//
// # What it owns
//
//   - Lifecycle (daemon.go): New loads the file (a bad file is an error:
//     godwitd exits 1), Run starts the listener, the peers and the HTTP
//     servers and blocks, Reload re-reads the file (SIGHUP), Stop ends Run
//     with a Cease to every peer: a Hard Reset (RFC 8538), or, for an
//     intended graceful restart, what RFC 8538 §3-4 and RFC 4724 §4 ask
//     (stopPeers in reconcile.go).
//   - Configuration (reconcile.go, peerconfig.go): the reconciler applies
//     watch events: BGPConfiguration (AS, router ID, listen addresses; a
//     new AS or router ID resets every session), BGPPeer (added, changed
//     through peer.Update, which resets only when the OPEN or the socket
//     changes, removed with Cease / Peer De-configured), Announcement
//     (origin.go). A bad file never reaches the store (config.FileSource
//     keeps the last good configuration and records the error).
//   - Routes (ribloop.go, import.go, outbound.go, policies.go, origin.go):
//     one goroutine owns the Loc-RIBs and the update groups; peer readers
//     do the import work (checks, policy, interning) and post batches;
//     every flush hands the changes to the update groups, the route feed
//     (feed.go) and the kernel FIB.
//   - Kernel (fib.go): the best routes of the default VRF go to the
//     kernel's main table through fib.Reconciler (--no-fib: read, never
//     written); next hops resolve through fib.Resolver, whose changes
//     re-run selection; routes of a previous run are adopted and kept
//     until every peer has sent End-of-RIB.
//   - Observation: the monitor (monitor.go) logs every session state
//     change it sees and counts NOTIFICATIONs; metrics.go exports
//     per-peer series from snapshots; http.go serves /metrics and
//     /debug/pprof/ on their own listeners.
//
// # Where to start
//
// daemon.go (the goroutine diagram at its top, then Run), reconcile.go,
// then ribloop.go and fib.go. Tests: daemon_test.go runs
// two daemons in one process that peer with each other over loopback.
package daemon
