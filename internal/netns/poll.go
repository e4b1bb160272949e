package netns

import (
	"fmt"
	"time"
)

// Wait calls cond at once and then every interval until it reports true or
// timeout has passed. cond returns whether the awaited state holds and a
// description of what it saw; on timeout Wait returns an error carrying the
// last description, so the failure says what was missing.
func Wait(timeout, interval time.Duration, cond func() (bool, string)) error {
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, desc := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still not true after %v: %s", time.Since(start).Round(time.Millisecond), desc)
		}
		<-tick.C
	}
}

// Eventually is Wait for tests: it fails the test (t.Fatalf) with the last
// description when cond does not become true within timeout. Tests poll with
// it instead of sleeping.
func Eventually(tb TB, timeout, interval time.Duration, cond func() (bool, string)) {
	tb.Helper()
	if err := Wait(timeout, interval, cond); err != nil {
		tb.Fatalf("%v", err)
	}
}
