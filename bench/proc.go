package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports (the kernel fixes it for
// the user ABI whatever CONFIG_HZ is).
const clockTicks = 100

// Process is one process of a target, as /proc shows it.
type Process struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	// CPUTicks is utime+stime, in clock ticks, since the process started.
	CPUTicks int64 `json:"-"`
	// threads is each thread's CPU time in nanoseconds since it started
	// (sum_exec_runtime, the first field of /proc/PID/task/TID/schedstat),
	// by thread ID; nil where the kernel does not show it.
	threads map[int]int64
	// CPUSeconds is the CPU time spent during the measurement.
	CPUSeconds float64 `json:"cpuSeconds"`
	// PeakRSS is VmHWM, in bytes.
	PeakRSS int64 `json:"peakRSSBytes"`
	// RSS is VmRSS, in bytes, when the process was read.
	RSS int64 `json:"rssBytes,omitempty"`
}

// nsInode returns the inode of a network namespace file (/run/netns/NAME
// or /proc/PID/ns/net): the namespace's identity.
func nsInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// nsProcesses lists every process whose network namespace has the given
// inode: all of a target's processes, since a run's namespace holds only
// the target (FRR's zebra and bgpd, OpenBGPD's parent and its engines).
// Finding them by namespace rather than by process group also catches a
// daemon that forks into its own session.
func nsProcesses(ino uint64) ([]Process, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	want := fmt.Sprintf("net:[%d]", ino)
	self := os.Getpid()
	var out []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		link, err := os.Readlink("/proc/" + e.Name() + "/ns/net")
		if err != nil || link != want {
			continue
		}
		p, err := readProcess(pid)
		if err != nil {
			continue // gone meanwhile
		}
		out = append(out, p)
	}
	return out, nil
}

// readProcess reads utime+stime from /proc/PID/stat and VmHWM and VmRSS
// from /proc/PID/status. For a multi-threaded process they cover every
// thread.
func readProcess(pid int) (Process, error) {
	p := Process{PID: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// comm is in parentheses and may hold spaces: split after the last ')'.
	open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return p, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	p.Comm = string(stat[open+1 : closing])
	f := strings.Fields(string(stat[closing+1:]))
	// Fields after comm start at field 3 (state); utime and stime are
	// fields 14 and 15.
	if len(f) < 13 {
		return p, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return p, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	p.CPUTicks = ut + st
	p.threads = readThreads(pid)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			p.PeakRSS = statusKB(v)
		} else if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			p.RSS = statusKB(v)
		}
	}
	return p, nil
}

// readThreads reads the CPU time of each thread of pid in nanoseconds
// (see Process.threads), or returns nil.
func readThreads(pid int) map[int]int64 {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make(map[int]int64, len(ents))
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile: cpuBetween sees it gone
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return nil
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil
		}
		out[tid] = ns
	}
	return out
}

// statusKB reads a "   1234 kB" value of /proc/PID/status, in bytes.
func statusKB(v string) int64 {
	kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return kb << 10
}

// usage is a target's resource use between two samples.
type usage struct {
	CPUSeconds float64
	PeakRSS    int64
	Processes  []Process
}

// diffUsage is the CPU spent by each process between before and after (a
// process born in between counts from zero) and the sum of the peak RSS
// of the processes alive at the end.
func diffUsage(before, after []Process) usage {
	base := map[int]Process{}
	for _, p := range before {
		base[p.PID] = p
	}
	var u usage
	for _, p := range after {
		b, ok := base[p.PID]
		if !ok {
			b = Process{PID: p.PID, threads: map[int]int64{}}
		}
		p.CPUSeconds = cpuBetween(b, p)
		u.CPUSeconds += p.CPUSeconds
		u.PeakRSS += p.PeakRSS
		u.Processes = append(u.Processes, p)
	}
	return u
}

// cpuBetween is the CPU time process p spent between samples b and a, in
// seconds: the sum of its threads' times, to the nanosecond, when every
// thread of b is still there in a; otherwise (a thread exited, taking
// its time with it, or the kernel shows no thread times) the difference
// of utime+stime, which counts exited threads but in clock ticks. The
// kernel scales utime+stime to the same exact runtime, so the two agree
// but for the ticks' resolution: 10 ms, a twentieth of a run of S3.
func cpuBetween(b, a Process) float64 {
	ticks := float64(a.CPUTicks-b.CPUTicks) / clockTicks
	if a.threads == nil || b.threads == nil {
		return ticks
	}
	for tid := range b.threads {
		if _, ok := a.threads[tid]; !ok {
			return ticks
		}
	}
	var ns int64
	for tid, t := range a.threads {
		ns += t - b.threads[tid]
	}
	return float64(ns) / 1e9
}

// waitIdle waits until the target's processes have used less than 20 ms
// of CPU over 300 ms (done starting up, sessions settled), or timeout
// passes; it returns the last sample.
func waitIdle(ino uint64, timeout time.Duration) []Process {
	deadline := time.Now().Add(timeout)
	prev, _ := nsProcesses(ino)
	for {
		time.Sleep(300 * time.Millisecond)
		cur, _ := nsProcesses(ino)
		if diffUsage(prev, cur).CPUSeconds < 0.02 || time.Now().After(deadline) {
			return cur
		}
		prev = cur
	}
}

// waitQuiet waits until the machine as a whole has been busy less than a
// tenth of its CPUs' time over 300 ms (/proc/stat), or timeout passes:
// the self-check measures what the test peers can do, which a machine
// still busy with the previous target's exit (GoBGP gives back 2 GiB)
// hides. It reports whether the machine got quiet.
func waitQuiet(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	prevBusy, prevTotal, ok := cpuTimes()
	if !ok {
		return false
	}
	for {
		time.Sleep(300 * time.Millisecond)
		busy, total, ok := cpuTimes()
		if !ok {
			return false
		}
		if db, dt := busy-prevBusy, total-prevTotal; dt > 0 && db*10 < dt {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		prevBusy, prevTotal = busy, total
	}
}

// cpuTimes returns the busy and total clock ticks of all CPUs since boot,
// from the first line of /proc/stat (idle and iowait count as not busy).
func cpuTimes() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i >= 7 {
			break // guest time is counted in user time already
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, true
}

// loadAvg returns /proc/loadavg's three load averages.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}
