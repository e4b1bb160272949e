package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TB is the part of testing.TB this package uses. Every *testing.T and
// *testing.B satisfies it; the package does not import testing, so that the
// lab (a command, not a test) does not link it.
type TB interface {
	Helper()
	Name() string
	Cleanup(func())
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
}

// NS is one named network namespace (a file under /run/netns) and the
// processes this package started inside it.
//
// Ownership: an NS may be used from several goroutines; mu guards procs,
// cleanups, ifCount and closed. Close is idempotent.
type NS struct {
	name string
	logf func(format string, args ...any)
	// tied: processes die with the creating process (tests); the lab's
	// namespaces are not tied, its daemons outlive `godwit lab up`.
	tied bool

	mu       sync.Mutex
	procs    map[int]*proc
	cleanups []func()
	ifCount  int
	closed   bool
}

// Prefix starts the name of every namespace New makes for a test. Sweep only
// ever touches names that start with it and carry a dead owner's PID.
const Prefix = "gwt-"

// maxNameLen keeps names readable in `ip netns list` and well under the 255
// bytes a file name in /run/netns may have.
const maxNameLen = 48

// runDir is where iproute2 keeps named namespaces.
const runDir = "/run/netns"

// testName matches the names New gives: gwt-<test>-<role>-p<PID>-<4 hex>.
var testName = regexp.MustCompile(`^` + Prefix + `.*-p([0-9]+)-[0-9a-f]{4}$`)

var sweepOnce sync.Once

// New makes a fresh namespace for a test, named after the test and role
// (for example "gwt-TestFRRBIRD-frr-p4242-9f3c"), with lo up, IPv6 duplicate
// address detection off and forwarding on. The test fails at once if that is
// impossible; call RequireRoot first to skip instead. t.Cleanup stops every
// process started in it and removes it, whether the test passed or not.
//
// The first call in a process also sweeps namespaces that earlier test runs
// left behind when they were killed before their cleanups ran (see Sweep).
func New(tb TB, role string) *NS {
	tb.Helper()
	sweepOnce.Do(func() {
		for _, name := range Sweep() {
			tb.Logf("netns: removed %s, left by a test process that no longer runs", name)
		}
	})
	name := testNSName(tb.Name(), role, os.Getpid())
	n, err := create(name, tb.Logf)
	if err != nil {
		tb.Fatalf("netns: %v", err)
	}
	n.tied = true
	tb.Cleanup(func() {
		if err := n.Close(); err != nil {
			tb.Logf("netns: cleanup of %s: %v", name, err)
		}
	})
	return n
}

// Create makes a namespace with exactly the given name, for callers that are
// not tests (the lab). The caller must Close it, or leave it running: unlike
// New's, processes started in it outlive the calling process (`godwit lab
// up` returns while the lab runs), and another process finds the namespace
// again with List or Open and removes it with Remove.
func Create(name string) (*NS, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	return create(name, nil)
}

// Open returns a handle on an existing namespace (made by Create, perhaps in
// another process) to run more commands in it. Close on the handle stops
// everything running inside and deletes the namespace, like Remove.
func Open(name string) (*NS, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(runDir, name)); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	return &NS{name: name, procs: map[int]*proc{}}, nil
}

// List returns the names of the existing namespaces that start with prefix.
func List(prefix string) ([]string, error) {
	entries, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Remove stops, by PID, every process inside the named namespace (SIGTERM,
// then SIGKILL after StopGrace), removes its Dir and deletes it. It is for namespaces the caller made earlier in another process (the
// lab's `down`); use Close on namespaces made in this process.
func Remove(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	n := &NS{name: name, procs: map[int]*proc{}}
	return n.Close()
}

// Sweep removes the namespaces that New made in test processes that are no
// longer running (a test binary killed by `go test -timeout` runs no
// cleanups), killing what still runs inside them. It returns the names it
// removed. Namespaces of live processes and names New did not make are left
// alone.
func Sweep() []string {
	names, _ := List(Prefix)
	var removed []string
	for _, name := range names {
		m := testName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || processExists(pid) {
			continue
		}
		if Remove(name) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

var nameChars = regexp.MustCompile(`[^A-Za-z0-9_.]+`)

// testNSName builds gwt-<test>-<role>-p<pid>-<rand>, shortening the test and
// role parts (not the suffix, which Sweep parses) to stay within maxNameLen.
func testNSName(test, role string, pid int) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	suffix := fmt.Sprintf("-p%d-%s", pid, hex.EncodeToString(b[:]))
	test = strings.Trim(nameChars.ReplaceAllString(test, "_"), "_")
	role = strings.Trim(nameChars.ReplaceAllString(role, "_"), "_")
	room := maxNameLen - len(Prefix) - len(suffix)
	if role != "" {
		if len(role) > 12 {
			role = role[:12]
		}
		room -= len(role) + 1
	}
	if len(test) > room {
		// Keep the end: subtests differ there.
		test = test[len(test)-room:]
	}
	name := Prefix + test
	if role != "" {
		name += "-" + role
	}
	return name + suffix
}

func validName(name string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "/ \t\n") || name == "." || name == ".." {
		return fmt.Errorf("bad namespace name %q", name)
	}
	return nil
}

func create(name string, logf func(string, ...any)) (*NS, error) {
	// iproute2 makes /run/netns a shared mount the first time it is used;
	// two `ip netns add` racing on a fresh machine can both try it and leave
	// a stacked mount or fail. A host-wide lock serialises the step.
	unlock, err := lockHost()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("ip", "netns", "add", name).CombinedOutput()
	unlock()
	if err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	n := &NS{name: name, logf: logf, procs: map[int]*proc{}}
	if err := n.setup(); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// setup brings lo up, turns duplicate address detection off (so that IPv6
// addresses, link-local ones included, are usable at once) and turns
// forwarding on, since most namespaces here play a router.
func (n *NS) setup() error {
	if _, err := n.IP("link", "set", "lo", "up"); err != nil {
		return err
	}
	for key, val := range map[string]string{
		"net/ipv6/conf/all/accept_dad":     "0",
		"net/ipv6/conf/default/accept_dad": "0",
		"net/ipv6/conf/all/forwarding":     "1",
		"net/ipv4/ip_forward":              "1",
	} {
		if err := n.Sysctl(key, val); err != nil {
			return err
		}
	}
	return nil
}

func lockHost() (func(), error) {
	f, err := os.OpenFile("/run/godwit-netns.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netns lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("netns lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Name is the namespace's name, as `ip netns list` shows it.
func (n *NS) Name() string { return n.name }

// Path is the namespace's file, which setns(2) opens.
func (n *NS) Path() string { return filepath.Join(runDir, n.name) }

// String returns the name.
func (n *NS) String() string { return n.name }

// Dir returns a directory for the namespace's files (daemon configurations,
// sockets, logs): <os.TempDir()>/<name>, mode 0755 so that daemons which
// drop privileges can reach it. It is created on first use and removed
// with the namespace, by Close, Remove and Sweep alike, since it is found by
// the namespace's name.
func (n *NS) Dir() (string, error) {
	dir := filepath.Join(os.TempDir(), n.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// MkdirAll leaves an existing directory's mode alone; umask may have
	// narrowed a new one.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// OnClose registers fn to run when the namespace is closed, after its
// processes have stopped and before the namespace is deleted (for example to
// remove a daemon's working directory). Functions run last registered first.
func (n *NS) OnClose(fn func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cleanups = append(n.cleanups, fn)
}

// Close stops the processes started with Start (SIGTERM, then SIGKILL after
// a grace period), kills by PID anything else still running inside the
// namespace (it can only have been started by this package's callers, since
// the name is unique), runs the OnClose functions, removes Dir and deletes
// the namespace.
// It is safe to call more than once.
func (n *NS) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	pids := make([]int, 0, len(n.procs))
	for pid := range n.procs {
		pids = append(pids, pid)
	}
	cleanups := n.cleanups
	n.cleanups = nil
	n.mu.Unlock()

	// Stop them in parallel: each may take the whole grace period.
	stopErrs := make([]error, len(pids))
	var wg sync.WaitGroup
	for i, pid := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[i] = n.Stop(pid)
		}()
	}
	wg.Wait()
	errs := stopErrs
	errs = append(errs, n.killStragglers())
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	if err := os.RemoveAll(filepath.Join(os.TempDir(), n.name)); err != nil {
		errs = append(errs, err)
	}
	if out, err := exec.Command("ip", "netns", "delete", n.name).CombinedOutput(); err != nil {
		if _, statErr := os.Stat(n.Path()); statErr == nil {
			errs = append(errs, fmt.Errorf("ip netns delete %s: %v: %s", n.name, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// killStragglers stops, by PID, whatever still runs inside the namespace:
// children that left their process group, commands run with Command and
// never waited for, or, for Remove and Sweep, everything started by another
// process. SIGTERM first, SIGKILL after StopGrace.
func (n *NS) killStragglers() error {
	pids, err := n.pids()
	if err != nil || len(pids) == 0 {
		return nil
	}
	for _, pid := range pids {
		if n.logf != nil {
			n.logf("netns %s: stopping leftover process %d (%s)", n.name, pid, procComm(pid))
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	gone := func() (bool, string) {
		left, _ := n.pids()
		return len(left) == 0, fmt.Sprintf("processes %v still in %s", left, n.name)
	}
	if Wait(StopGrace, 20*time.Millisecond, gone) == nil {
		return nil
	}
	left, _ := n.pids()
	for _, pid := range left {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return Wait(5*time.Second, 20*time.Millisecond, gone)
}

// pids lists the processes whose network namespace is this one.
func (n *NS) pids() ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", n.name).Output()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func procComm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
