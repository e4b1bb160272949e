package daemon

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// GC defaults of godwitd. The big tables of a BGP speaker (the Loc-RIB's
// index, entries and path records, the Adj-RIB-Outs) live outside the Go
// heap (internal/offheap), so the heap holds only attribute sets, sessions
// and the batches in flight: a few tens of megabytes for a full table.
// The collector's work over a load is about the bytes allocated divided
// by GOGC percent (each cycle marks the live heap, and a cycle comes
// every GOGC percent of it), while its headroom, GOGC percent of that
// small live heap, is memory held at the peak. GOGC 200 is the default:
// measured against 100 with the two builds' runs interleaved in one
// harness run (docs/performance.md), it took 5 to 15% less CPU loading
// ten peers' tables and 6 to 11% less loading a million prefixes, for
// 3 to 4 MiB more peak RSS; 300 saved a little more for 5 to 6 MiB. The
// soft memory limit keeps a heap that grows anyway (many VRFs, many
// sessions) from an out-of-memory kill: the collector runs harder as the
// heap nears it.
const (
	DefaultGCPercent = 200
	// memoryLimitShare is the part of the memory available to the process
	// (the cgroup limit, or the machine's memory) taken as the limit.
	memoryLimitShare = 0.75
)

// GCSettings says what SetGCDefaults did.
type GCSettings struct {
	GCPercent   int    // -1 when GOGC was left to the environment
	MemoryLimit int64  // bytes; 0 when GOMEMLIMIT was left to the environment
	Source      string // where the limit's base came from
}

// SetGCDefaults sets the collector's target percentage and soft memory
// limit, unless the environment (getenv: GOGC, GOMEMLIMIT) sets them: an
// operator's explicit setting always wins. It is for the godwitd binary;
// tests leave the runtime alone.
func SetGCDefaults(getenv func(string) string) GCSettings {
	s := GCSettings{GCPercent: -1}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
		s.GCPercent = DefaultGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		if avail, src := availableMemory(); avail > 0 {
			s.MemoryLimit = int64(float64(avail) * memoryLimitShare)
			s.Source = src
			debug.SetMemoryLimit(s.MemoryLimit)
		}
	}
	return s
}

// availableMemory is the memory limit of the process's cgroup (v2) when
// it has one (a systemd MemoryMax=, a container limit), else the machine's
// total memory; 0 when neither can be read.
func availableMemory() (int64, string) {
	if v, ok := cgroupMemoryMax(); ok {
		return v, "cgroup memory.max"
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kb * 1024, "MemTotal"
			}
		}
	}
	return 0, ""
}

// cgroupMemoryMax reads memory.max of the cgroup /proc/self/cgroup names
// (the "0::PATH" line of cgroup v2), or of the cgroup root as a container
// sees it. "max" (no limit) and anything unreadable give false.
func cgroupMemoryMax() (int64, bool) {
	paths := []string{"/sys/fs/cgroup/memory.max"}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "0::"); ok && rest != "/" && rest != "" {
				paths = append([]string{filepath.Join("/sys/fs/cgroup", rest, "memory.max")}, paths...)
			}
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
			return v, true
		}
		return 0, false // "max": this cgroup has no limit
	}
	return 0, false
}
