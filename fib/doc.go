// Package fib puts the routes godwit has chosen into the kernel and tells
// the RIB which next hops the kernel can reach.
//
// Layer: fib (DESIGN.md), above rib and policy. It imports the standard
// library only; the kernel is behind the Backend and RouteSource interfaces,
// implemented by fib/netlink (Linux) and fib/fake (tests). The RIB, a lower
// layer, reaches the Resolver through an interface of its own that
// *Resolver satisfies (Resolve, Watch, Unwatch), and implements
// NextHopObserver, which this package declares; the daemon connects them.
//
// Two parts:
//
//   - Reconciler (reconciler.go) is declarative: the caller says which routes
//     should exist (Set, or Update for changes) and the reconciler makes the
//     kernel's routes of its protocol (kernelProtocol, default 200; never
//     FRR's 186-198) match, in the tables it owns and nowhere else. It keeps
//     a desired and an installed map, diffs the keys that changed, and
//     applies adds and in-place replaces before deletes, in batches. A
//     failed op is retried with exponential backoff; Status and the errors
//     Set returns report health. With DryRun (--no-fib) it reads the kernel
//     and writes nothing. After a restart, Adopt takes over the routes the
//     previous run left and keeps them until Converged (or HoldTime): a
//     route still desired is never removed and re-added.
//   - Resolver (resolver.go) mirrors the kernel's main table, without
//     godwit's own routes, and answers Resolve by longest match (the
//     default route included), following route and link events; Watch
//     names the next hops whose changes the observer hears about.
//
// Goroutines (each one's main file draws it in more detail):
//
//	                Set/Update/Sync/Diff        Converged
//	RIB, API  ---------- reqs ------------>  +------------------+
//	          <--------- reply ------------  | Reconciler.Run   |--List/Apply--> kernel
//	          <--- Status (atomic) --------  | (owns all maps)  |<--link events-- Subscribe goroutine
//	                                         +------------------+
//	          Resolve/Watch (RWMutex)        +------------------+
//	RIB       ---------------------------->  | Resolver.Run     |<--route+link events-- Subscribe goroutine
//	          <-- NextHopsChanged ---------  | (sole writer)    |--Routes/Links--> kernel
//	                                         +------------------+
//
// Start with Reconciler.pass, then the table test in reconciler_test.go,
// which shows each behaviour as kernel state rendered by fib/fake.
package fib
