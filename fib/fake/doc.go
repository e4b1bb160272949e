// Package fake is an in-memory kernel for the fib tests: routing tables with
// routes of any protocol, interfaces that go up and down, and route and
// link events. It follows the kernel's rules where the reconciler depends on
// them (what identifies a route, what an add, a replace and a delete
// match, a gateway that must be on a connected network, IPv4 routes that
// vanish silently with their interface), and renders its state as sorted
// text, one route a line, so that a test compares one string.
//
// Layer: fib (test support). It imports fib only. Start with Kernel.Apply
// and Kernel.Text.
//
// Goroutines: none of its own but one per subscription, which waits for
// the subscriber's context and then closes the channel:
//
//	Kernel (mu) --emit, non-blocking--> sub.ch (cap 256) --> subscriber
//	     ^                                  ^
//	     |                                  +-- close <-- goroutine <-- ctx.Done
//	Apply / AddLink / SetLinkUp / AddRoute / DeleteRoute (tests)
package fake
