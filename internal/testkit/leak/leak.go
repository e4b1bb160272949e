// Package leak checks, at the end of a test binary, that no goroutine of
// the packages under test outlives the tests. It is test infrastructure
// (STYLE.md: internal/testkit) and imports only the standard library.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { leak.Main(m, "godwit-bgp/godwit/fib") }
package leak

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and, when they passed, fails the run if a goroutine
// whose stack mentions pkg is still alive after a grace period of a few
// seconds (goroutines that are ending get the time to end).
func Main(m *testing.M, pkg string) {
	code := m.Run()
	if code == 0 {
		if left := Goroutines(pkg, 5*time.Second); left != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", left)
			code = 1
		}
	}
	os.Exit(code)
}

// Goroutines polls for up to wait until no goroutine's stack mentions pkg,
// and returns the stacks of those left (empty when none).
func Goroutines(pkg string, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		var found []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, pkg) && !strings.Contains(g, "testkit/leak.Goroutines") {
				found = append(found, g)
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return strings.Join(found, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
