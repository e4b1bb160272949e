package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// DownReport is what Down removed. Its JSON form is `godwit lab down -o
// json`.
type DownReport struct {
	// Stopped are the lab's processes that were running and were stopped.
	Stopped []StoppedProcess `json:"stopped"`
	// LeftAlone are processes found inside the lab's namespaces that the
	// lab did not start (a shell someone opened there): they are not
	// signalled, and their namespace lives on until they exit.
	LeftAlone []StoppedProcess `json:"leftAlone"`
	// Namespaces are the namespaces deleted.
	Namespaces []string `json:"namespaces"`
	// StateDir is the state directory, when it existed and was removed.
	StateDir string `json:"stateDir,omitempty"`
	// Problems are what could not be removed.
	Problems []string `json:"problems"`
}

// StoppedProcess is a process Down found.
type StoppedProcess struct {
	Name      string `json:"name"`
	PID       int    `json:"pid"`
	Namespace string `json:"namespace"`
}

// stopGrace is how long Down waits after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// Down removes the lab: it stops the lab's processes (those recorded by
// Up, and any other process inside the lab's namespaces whose command
// line names the lab's state directory, which only the lab's daemons do),
// deletes every namespace whose name starts with the prefix (their links
// and bridges go with them) and removes the state directory. It finds
// everything by name, so it works after Up crashed half way, and it is
// safe to run when there is nothing to remove. Processes inside the
// namespaces that the lab did not start are left alone and reported.
func (l *Lab) Down(ctx context.Context) (*DownReport, error) {
	if err := needRoot(); err != nil {
		return nil, err
	}
	unlock, err := lock(l.o.lockPath())
	if err != nil {
		return nil, err
	}
	defer unlock()
	r := l.down()
	if len(r.Problems) > 0 {
		return r, fmt.Errorf("lab down: %s", strings.Join(r.Problems, "; "))
	}
	return r, nil
}

// down is Down with the lock held.
func (l *Lab) down() *DownReport {
	o := &l.o
	r := &DownReport{Stopped: []StoppedProcess{}, LeftAlone: []StoppedProcess{}, Namespaces: []string{}, Problems: []string{}}
	st, err := o.readState()
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("the lab's record: %v (going by names alone)", err))
	}
	names, err := netns.List(o.Prefix + "-")
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	if st != nil {
		for _, n := range st.Namespaces {
			if !slices.Contains(names, n) && exists("/run/netns/"+n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)

	// The processes to stop: the recorded ones that are still the same
	// processes, then whatever runs inside the lab's namespaces and is
	// recognisably the lab's.
	var stop []StoppedProcess
	seen := map[int]bool{}
	if st != nil {
		for _, p := range st.Processes {
			if p.alive(o.StateDir) {
				stop = append(stop, StoppedProcess{Name: p.Name, PID: p.PID, Namespace: p.Namespace})
				seen[p.PID] = true
			}
		}
	}
	for _, name := range names {
		for _, pid := range nsPIDs(name) {
			if seen[pid] || pid == os.Getpid() {
				continue
			}
			seen[pid] = true
			info := readProc(pid)
			if !info.running() {
				continue
			}
			sp := StoppedProcess{Name: info.program(), PID: pid, Namespace: name}
			if info.ours(o.StateDir) {
				stop = append(stop, sp)
			} else {
				r.LeftAlone = append(r.LeftAlone, sp)
			}
		}
	}
	var pids []int
	for _, p := range stop {
		pids = append(pids, p.PID)
	}
	left := stopProcesses(pids, stopGrace)
	for _, p := range stop {
		if slices.Contains(left, p.PID) {
			r.Problems = append(r.Problems, fmt.Sprintf("%s (pid %d) in %s survived SIGKILL", p.Name, p.PID, p.Namespace))
			continue
		}
		r.Stopped = append(r.Stopped, p)
		if p.Name == "zebra" || p.Name == "bgpd" {
			// FRR keeps a crash-log directory per process and removes it
			// only on a clean exit.
			_ = os.RemoveAll(fmt.Sprintf("/var/tmp/frr/%s.%d", p.Name, p.PID))
		}
	}

	// Pods first, the router last: the reverse of how Up made them.
	slices.Reverse(names)
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "ip", "netns", "delete", name).CombinedOutput()
		cancel()
		if err != nil && exists("/run/netns/"+name) {
			r.Problems = append(r.Problems, fmt.Sprintf("ip netns delete %s: %v: %s", name, err, strings.TrimSpace(string(out))))
			continue
		}
		r.Namespaces = append(r.Namespaces, name)
	}
	slices.Reverse(r.Namespaces)

	if exists(o.StateDir) {
		if err := os.RemoveAll(o.StateDir); err != nil {
			r.Problems = append(r.Problems, err.Error())
		} else {
			r.StateDir = o.StateDir
		}
	}
	return r
}

// nsPIDs lists the processes inside a namespace (`ip netns pids`).
func nsPIDs(name string) []int {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Text writes the report for people.
func (r *DownReport) Text() string {
	var b strings.Builder
	if len(r.Stopped)+len(r.Namespaces) == 0 && r.StateDir == "" {
		b.WriteString("Nothing to remove: the lab is not running.\n")
	} else {
		if len(r.Stopped) > 0 {
			var ps []string
			for _, p := range r.Stopped {
				ps = append(ps, fmt.Sprintf("%s %d", p.Name, p.PID))
			}
			fmt.Fprintf(&b, "Stopped %s: %s.\n", plural(len(r.Stopped), "process", "processes"), strings.Join(ps, ", "))
		}
		if len(r.Namespaces) > 0 {
			fmt.Fprintf(&b, "Deleted %s, with their links: %s.\n", plural(len(r.Namespaces), "namespace", "namespaces"), strings.Join(r.Namespaces, " "))
		}
		if r.StateDir != "" {
			fmt.Fprintf(&b, "Removed %s.\n", r.StateDir)
		}
	}
	for _, p := range r.LeftAlone {
		fmt.Fprintf(&b, "Left alone: %s (pid %d) in %s, which the lab did not start; that namespace goes away when it exits.\n", p.Name, p.PID, p.Namespace)
	}
	return b.String()
}

// plural writes n and the noun in the right number.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
