package fib

import "time"

// Clock is the time source of the Reconciler and the Resolver; tests inject
// their own so that retries, the restart hold and scans run when the test
// says, never after a sleep. It has the shape of peer.Clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) interface{ Stop() bool }
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	return time.AfterFunc(d, f)
}
