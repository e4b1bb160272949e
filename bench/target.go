package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// Topology is the address plan of one run, inside the run's namespace:
// every session runs over addresses on lo, and the injectors' next hops
// sit on a veth link of the namespace so that every daemon resolves them
// as directly connected (a next hop that is one of the router's own
// addresses is refused by FRR, and one on lo is not "connected").
type Topology struct {
	// Addr and AS are the target's; RouterID is Addr.
	Addr netip.Addr
	AS   uint32
	// Injectors and Monitors are the test peers, in order.
	Injectors []Neighbor
	Monitors  []Neighbor
	// NextHopLink is the veth in the namespace that holds NextHopNet.
	NextHopLink string
	NextHopNet  netip.Prefix
}

// Neighbor is one test peer as the target sees it.
type Neighbor struct {
	Addr netip.Addr
	AS   uint32
	// NextHop is what an injector puts in NEXT_HOP (an address on
	// NextHopNet that no interface holds).
	NextHop netip.Addr
}

// AS numbers of the benchmark (DESIGN.md): the target is 65000, the
// injectors 65001 and up, the monitor 65002, the S4 monitors 65101 and up.
// Injectors skip 65002 so that in S3 no injector shares the monitor's AS.
const (
	TargetAS       = 65000
	firstInjector  = 65001
	MonitorAS      = 65002
	firstFanoutMon = 65101
)

// NewTopology lays out a run with the given numbers of injectors and
// monitors (at most 200 each).
func NewTopology(injectors, monitors int) *Topology {
	t := &Topology{
		Addr:        netip.MustParseAddr("10.0.0.1"),
		AS:          TargetAS,
		NextHopLink: "bnh0",
		NextHopNet:  netip.MustParsePrefix("10.255.0.0/24"),
	}
	as := uint32(firstInjector)
	for i := range injectors {
		if as == MonitorAS {
			as++
		}
		t.Injectors = append(t.Injectors, Neighbor{
			Addr:    netip.AddrFrom4([4]byte{10, 0, 1, byte(1 + i)}),
			AS:      as,
			NextHop: netip.AddrFrom4([4]byte{10, 255, 0, byte(1 + i)}),
		})
		as++
	}
	for i := range monitors {
		m := Neighbor{Addr: netip.AddrFrom4([4]byte{10, 0, 2, byte(1 + i)}), AS: MonitorAS}
		if monitors > 1 {
			m.AS = firstFanoutMon + uint32(i)
		}
		t.Monitors = append(t.Monitors, m)
	}
	return t
}

// injectorAS lists the injectors' AS numbers in order.
func (t *Topology) injectorAS() []uint32 {
	out := make([]uint32, len(t.Injectors))
	for i, n := range t.Injectors {
		out[i] = n.AS
	}
	return out
}

// setup gives the namespace the topology's addresses: the session
// addresses as /32s on lo, and a veth pair with NextHopNet on one end.
func (t *Topology) setup(ns *netns.NS) error {
	var b strings.Builder
	fmt.Fprintf(&b, "address add %s/32 dev lo\n", t.Addr)
	for _, n := range append(append([]Neighbor(nil), t.Injectors...), t.Monitors...) {
		fmt.Fprintf(&b, "address add %s/32 dev lo\n", n.Addr)
	}
	gw := t.NextHopNet.Addr().As4()
	gw[3] = 254
	fmt.Fprintf(&b, "link add %s type veth peer name %s\n", t.NextHopLink, strings.Replace(t.NextHopLink, "0", "1", 1))
	fmt.Fprintf(&b, "address add %s/%d dev %s\n", netip.AddrFrom4(gw), t.NextHopNet.Bits(), t.NextHopLink)
	fmt.Fprintf(&b, "link set %s up\n", t.NextHopLink)
	fmt.Fprintf(&b, "link set %s up\n", strings.Replace(t.NextHopLink, "0", "1", 1))
	dir, err := ns.Dir()
	if err != nil {
		return err
	}
	batch := filepath.Join(dir, "topology.ip")
	if err := os.WriteFile(batch, []byte(b.String()), 0o644); err != nil {
		return err
	}
	_, err = ns.IP("-batch", batch)
	return err
}

// Target is a BGP daemon under test.
type Target interface {
	// Name is how --targets and the report call it.
	Name() string
	// Check returns an error naming what is missing to run it here.
	Check() error
	// Start renders the daemon's configuration for topo into dir, starts
	// it in ns and returns at once: the test peers' connection attempts
	// wait for it to listen.
	Start(ns *netns.NS, dir string, topo *Topology) (*Daemon, error)
}

// Daemon is a started target: its processes (those this package started;
// forks are found through the namespace) and their logs.
type Daemon struct {
	ns    *netns.NS
	procs []daemonProc
}

type daemonProc struct {
	label string
	pid   int
	log   string
}

// start runs args in ns with output to dir/label.log. The environment is
// this process's without the Go runtime knobs (GOGC, GOMEMLIMIT, GODEBUG,
// GOMAXPROCS), so that Go daemons run with their own defaults whatever the
// caller's shell set. The daemon is killed if this process dies.
func (d *Daemon) start(dir, label string, args ...string) error {
	cmd := d.ns.Command(args...)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	log := filepath.Join(dir, label+".log")
	pid, err := d.ns.StartCmd(cmd, log)
	if err != nil {
		return err
	}
	d.procs = append(d.procs, daemonProc{label: label, pid: pid, log: log})
	return nil
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Alive returns an error naming the first started process that has exited,
// with the tail of its log.
func (d *Daemon) Alive() error {
	for _, p := range d.procs {
		if exited, err := d.ns.Exited(p.pid); exited {
			return fmt.Errorf("%s (pid %d) exited (%v); log tail:\n%s", p.label, p.pid, err, tail(p.log, 15))
		}
	}
	return nil
}

// Logs returns the tail of every log.
func (d *Daemon) Logs() string {
	var b strings.Builder
	for _, p := range d.procs {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.label, p.log, tail(p.log, 30))
	}
	return b.String()
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(data) > 8<<10 {
		data = data[len(data)-8<<10:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// needBinaries returns an error naming the programs not installed.
func needBinaries(names ...string) error {
	var missing []string
	for _, n := range names {
		if strings.Contains(n, "/") {
			if _, err := os.Stat(n); err != nil {
				missing = append(missing, n)
			}
		} else if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not installed: %s", strings.Join(missing, ", "))
	}
	return nil
}

// TargetNames are the targets in their default order.
var TargetNames = []string{"bird", "frr", "gobgp", "openbgpd", "godwit"}

// NewTarget returns the target of the given name; godwitd is the path of
// the godwitd binary for "godwit" (empty: next to this program, then PATH).
// "godwit=PATH" is another godwitd build, named "godwit@" and PATH's base
// name, measured beside the others: two builds compared in one run, their
// runs interleaved, see the same machine (this is how a change is judged
// on a noisy one).
func NewTarget(name, godwitd string) (Target, error) {
	if bin, ok := strings.CutPrefix(name, "godwit="); ok && bin != "" {
		return &godwitTarget{bin: bin, name: "godwit@" + filepath.Base(bin)}, nil
	}
	switch name {
	case "bird":
		return birdTarget{}, nil
	case "frr":
		return frrTarget{}, nil
	case "gobgp":
		return gobgpTarget{}, nil
	case "openbgpd":
		return openbgpdTarget{}, nil
	case "godwit":
		return &godwitTarget{bin: godwitd}, nil
	}
	return nil, fmt.Errorf("unknown target %q (have %s, and godwit=PATH)", name, strings.Join(TargetNames, ", "))
}

var errNotFound = errors.New("not found")
