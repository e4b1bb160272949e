//go:build unix

// Package cputime gives the CPU time of the process: the benchmarks
// report it next to wall time, because on shared test machines wall time
// measures the neighbours too, and the performance harness reports its
// own test peers' share of a run.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system, every thread) the process
// has used.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
