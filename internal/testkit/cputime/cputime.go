//go:build unix

// Package cputime gives the CPU time of the process, for benchmarks that
// report it next to wall time: the test machines are shared, and wall
// time then measures the neighbours too.
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
