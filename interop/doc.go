// Package interop holds the tests that run godwit against the real BGP
// daemons it must interoperate with (FRR, BIRD, GoBGP, OpenBGPD, ExaBGP),
// each in its own network namespace, joined to a godwit speaker by a veth
// pair.
//
// Layer: lab (DESIGN.md). The package has no code of its own outside its
// tests; they import peer, transport and wire from the speaker, and
// internal/netns and internal/routers for the namespaces and the daemons.
// Nothing may import this package.
//
// Where to start: harness_test.go builds the topology and the godwit test
// speaker (a transport.Listener, a peer.Dispatcher and peer.Peers whose
// dials run inside the speaker's namespace, with a Handler that records
// what it is told); session_test.go is the session matrix (establishment
// either way, IPv6, TCP MD5, 4-octet AS, hold time, collisions,
// administrative shutdown, a peer that dies, a peer that sends garbage,
// GTSM), which TestSessions runs in parallel and summarises as a table of
// peer x scenario at the end.
//
// The tests need root and the daemons' programs; without them they skip
// and say which is missing. Every wait polls a condition with a deadline
// (routers.DefaultTimeout); on failure each test prints the daemons' logs
// and the godwit peers' status and log.
package interop
