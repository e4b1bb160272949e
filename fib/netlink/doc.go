// Package netlink is the Linux backend of package fib: it writes godwit's
// kernel routes through rtnetlink, lists them, and follows route and link
// events. It uses github.com/vishvananda/netlink for the sockets (in any
// network namespace), the interface list and the one-request-per-route
// mode; route messages are encoded and decoded here, so that a full table
// costs a few allocations per batch rather than several per route.
//
// Layer: fib (the Linux side of fib.Backend and fib.RouteSource). It imports
// fib and the netlink libraries. Start with Backend.Apply.
//
// How a batch is written. Each op becomes one RTM_NEWROUTE (add: CREATE|EXCL,
// so another protocol's route of the same identity is never overwritten;
// replace: CREATE|REPLACE, for our own routes only) or RTM_DELROUTE
// (matched by table, destination, metric and protocol). About a thousand
// messages go out in one sendmsg; the kernel handles them in order within
// that call and answers only the failures, each carrying its sequence
// number, plus an acknowledgement of the last message that marks the end of
// the batch. A route costs no round trip of its own: BenchmarkInstall
// compares this with Options.PerRoute (one request and acknowledgement per
// route, the usual way).
//
// Goroutines: none but those of each subscription (see Subscribe):
//
//	Reconciler/Resolver goroutine --List/Apply/Routes (mu)--> request socket --> kernel
//	kernel --events--> subscription socket --> reader goroutine --chan--> subscriber
//	                                    closer goroutine (ctx) --^
package netlink
