package bench

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/cputime"
)

var sink int

func TestCPUBetween(t *testing.T) {
	b := Process{PID: 1, CPUTicks: 100, threads: map[int]int64{1: 1e9, 2: 5e8}}
	cases := []struct {
		name string
		a    Process
		want float64
	}{
		{"every thread there", Process{PID: 1, CPUTicks: 103, threads: map[int]int64{1: 1_020_000_000, 2: 512_345_678}}, 0.032345678},
		{"a new thread counts from zero", Process{PID: 1, CPUTicks: 104, threads: map[int]int64{1: 1_020_000_000, 2: 5e8, 3: 7_000_000}}, 0.027},
		{"a thread exited: ticks", Process{PID: 1, CPUTicks: 104, threads: map[int]int64{1: 1_030_000_000}}, 0.04},
		{"no thread times: ticks", Process{PID: 1, CPUTicks: 102}, 0.02},
	}
	for _, c := range cases {
		if got := cpuBetween(b, c.a); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestReadProcessThreads reads this process: its threads' times add up
// to its utime+stime, within the ticks' resolution.
func TestReadProcessThreads(t *testing.T) {
	// Some CPU time to read.
	t0, start := time.Now(), cputime.Process()
	for cputime.Process()-start < 100*time.Millisecond && time.Since(t0) < 2*time.Second {
		for i := range 100_000 {
			sink ^= i * i
		}
	}
	p, err := readProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.threads) == 0 {
		t.Skip("no /proc/PID/task/TID/schedstat on this kernel")
	}
	var ns int64
	for _, v := range p.threads {
		ns += v
	}
	ticks := float64(p.CPUTicks) / clockTicks
	// utime and stime are each truncated to a tick; a running thread's
	// time may lag by one scheduler tick (at most 10 ms at HZ 100).
	if d := float64(ns)/1e9 - ticks; d < -0.01 || d > 0.035 {
		t.Errorf("threads' time %.4f s, utime+stime %.2f s", float64(ns)/1e9, ticks)
	}
}

// TestNewTargetBuild: godwit=PATH is another godwitd build, named after
// the file, so that two builds are told apart in one report.
func TestNewTargetBuild(t *testing.T) {
	tg, err := NewTarget("godwit=/tmp/new/godwitd-b", "")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name() != "godwit@godwitd-b" || tg.(*godwitTarget).bin != "/tmp/new/godwitd-b" {
		t.Errorf("godwit=PATH: %q, %+v", tg.Name(), tg)
	}
	if tg, _ := NewTarget("godwit", "/x/godwitd"); tg.Name() != "godwit" {
		t.Errorf("godwit: %q", tg.Name())
	}
	if _, err := NewTarget("godwit=", ""); err == nil {
		t.Error("godwit= without a path: no error")
	}
}
