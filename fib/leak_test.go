package fib_test

import (
	"testing"

	"github.com/godwit-bgp/godwit/internal/testkit/leak"
)

// TestMain fails the run when a goroutine of the fib packages outlives the
// tests: every Run and subscription must end with its context.
func TestMain(m *testing.M) { leak.Main(m, "godwit-bgp/godwit/fib") }
