package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// state is the record of what Up made, in STATEDIR/lab.json. Up rewrites
// it after every namespace and process it makes, so that Down finds them
// even when Up was killed half way. Down trusts it only as far as the
// system confirms it: a process is stopped only when /proc still shows
// the recorded start time and a command line that names the lab's state
// directory (so a PID reused by something else is never signalled).
type state struct {
	Prefix     string    `json:"prefix"`
	StateDir   string    `json:"stateDir"`
	Started    time.Time `json:"started"`
	Ready      time.Time `json:"ready,omitzero"`
	Namespaces []string  `json:"namespaces"`
	Processes  []process `json:"processes"`
	// Plan is the lab as planned; `lab status` and a repeated `lab up`
	// read it instead of planning again.
	Plan *Plan `json:"plan,omitempty"`
}

// process is a daemon the lab started.
type process struct {
	// Name is the program ("godwitd", "zebra", "bgpd"); Member the lab
	// member it belongs to ("tor", "node1").
	Name      string `json:"name"`
	Member    string `json:"member"`
	Namespace string `json:"namespace"`
	PID       int    `json:"pid"`
	// StartTime is field 22 of /proc/PID/stat (clock ticks after boot):
	// with the PID it identifies the process across PID reuse.
	StartTime uint64 `json:"startTime"`
	Log       string `json:"log,omitempty"`
}

func (o *Options) readState() (*state, error) {
	b, err := os.ReadFile(o.path(stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", o.path(stateFile), err)
	}
	return &st, nil
}

// save writes the record atomically.
func (o *Options) save(st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := o.path(stateFile + ".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, o.path(stateFile))
}

// procInfo is what /proc says about a PID.
type procInfo struct {
	exists    bool
	zombie    bool
	startTime uint64
	args      []string
}

func readProc(pid int) procInfo {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}
	}
	info := procInfo{exists: true}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after the last ')' are plain.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+1:])
		// f[0] is field 3 (state), so field 22 is f[19].
		if len(f) > 19 {
			info.zombie = f[0] == "Z" || f[0] == "X"
			info.startTime, _ = strconv.ParseUint(f[19], 10, 64)
		}
	}
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		info.args = strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	}
	return info
}

// running reports whether the process runs (exists and is not a zombie
// waiting to be reaped).
func (p procInfo) running() bool { return p.exists && !p.zombie }

// program is the base name of the process's program.
func (p procInfo) program() string {
	if len(p.args) == 0 {
		return ""
	}
	return filepath.Base(p.args[0])
}

// ours reports whether the command line names a file in the lab's state
// directory: every daemon the lab starts gets its configuration from
// there, nothing else does.
func (p procInfo) ours(stateDir string) bool {
	dir := strings.TrimRight(stateDir, "/") + "/"
	for _, a := range p.args {
		if strings.HasPrefix(a, dir) || strings.HasPrefix(a, "unix://"+dir) {
			return true
		}
	}
	return false
}

// alive reports whether the recorded process still runs as the lab's:
// the PID runs, with the recorded start time, and its command line (when
// readable: it is empty for a moment while `ip netns exec` execs the
// daemon) names the state directory.
func (pr process) alive(stateDir string) bool {
	info := readProc(pr.PID)
	if !info.running() || info.startTime != pr.StartTime {
		return false
	}
	return len(info.args) == 0 || info.args[0] == "" || info.ours(stateDir)
}

// record makes the record of a process just started.
func record(name, member, namespace string, pid int, log string) process {
	return process{Name: name, Member: member, Namespace: namespace, PID: pid, StartTime: readProc(pid).startTime, Log: log}
}

// stopProcesses sends SIGTERM (and SIGCONT) to each PID, waits up to grace for them to
// end, then sends SIGKILL to the rest and waits a little more. It returns
// the PIDs still running at the end.
func stopProcesses(pids []int, grace time.Duration) []int {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		// A stopped process (SIGSTOP, a debugger) acts on SIGTERM only
		// once continued.
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	left := waitGone(pids, grace)
	for _, pid := range left {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return waitGone(left, 3*time.Second)
}

// waitGone polls until none of the PIDs runs, or timeout; it returns those
// still running.
func waitGone(pids []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		for _, pid := range pids {
			if readProc(pid).running() {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}
