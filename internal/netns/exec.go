package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ExecTimeout bounds every command Exec and IP run, so that a wedged tool
// fails a test instead of hanging it until `go test -timeout`.
var ExecTimeout = 2 * time.Minute

// StopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
var StopGrace = 5 * time.Second

// proc is a process started with Start. done closes when Wait has returned;
// err is valid after that.
type proc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// Command returns a command that runs args inside the namespace (through
// `ip netns exec`). The caller may set Env, Dir, Stdin and so on before
// running it; Start takes such a command too.
func (n *NS) Command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.name}, args...)...)
}

// Exec runs args inside the namespace and returns stdout and stderr together.
// A non-zero exit is an error that quotes the output.
func (n *NS) Exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.name}, args...)...)
	return run(cmd)
}

// IP runs `ip -n NAME args...`: iproute2 switches namespaces itself, which
// is cheaper than `ip netns exec` for the many calls that build a topology.
func (n *NS) IP(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"-n", n.name}, args...)...)
	return run(cmd)
}

func run(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Start runs args inside the namespace in the background, stdout and stderr
// appended to logFile, and returns its PID. The process leads its own process
// group, so that Stop and Close also reach the children it forks. In a
// namespace from New it is killed if the test process dies; in one from
// Create it outlives the calling process.
func (n *NS) Start(logFile string, args ...string) (int, error) {
	return n.StartCmd(n.Command(args...), logFile)
}

// StartCmd starts cmd, which should come from Command, as Start does. Its
// Stdout and Stderr, if unset, go to logFile.
func (n *NS) StartCmd(cmd *exec.Cmd, logFile string) (int, error) {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("namespace %s is closed", n.name)
	}
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if cmd.Stderr == nil {
		cmd.Stderr = f
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if n.tied {
		// If the test binary dies (a -timeout panic runs no cleanups),
		// the kernel kills what it started. Daemons that change user
		// lose this; Sweep catches those on the next run.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return 0, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	p := &proc{cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	pid := cmd.Process.Pid
	n.mu.Lock()
	n.procs[pid] = p
	n.mu.Unlock()
	return pid, nil
}

// Exited reports whether a process started with Start has ended, and if so
// how (nil for exit status 0).
func (n *NS) Exited(pid int) (bool, error) {
	p := n.proc(pid)
	if p == nil {
		return true, fmt.Errorf("pid %d was not started in %s", pid, n.name)
	}
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop ends a process started with Start: SIGTERM to its process group,
// SIGKILL after StopGrace. It returns once the process has been reaped. A
// process that already exited is not an error.
func (n *NS) Stop(pid int) error {
	p := n.proc(pid)
	if p == nil {
		return fmt.Errorf("pid %d was not started in %s", pid, n.name)
	}
	defer func() {
		n.mu.Lock()
		delete(n.procs, pid)
		n.mu.Unlock()
	}()
	select {
	case <-p.done:
		killGroup(pid, syscall.SIGKILL)
		return nil
	default:
	}
	killGroup(pid, syscall.SIGTERM)
	select {
	case <-p.done:
		// The leader is gone; children that ignored SIGTERM go now.
		killGroup(pid, syscall.SIGKILL)
		return nil
	case <-time.After(StopGrace):
	}
	killGroup(pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pid %d in %s survived SIGKILL", pid, n.name)
	}
}

func killGroup(pgid int, sig syscall.Signal) {
	err := syscall.Kill(-pgid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		// Fall back to the leader alone.
		_ = syscall.Kill(pgid, sig)
	}
}

func (n *NS) proc(pid int) *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.procs[pid]
}
