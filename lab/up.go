package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// Report is what Up did and found. Its JSON form is `godwit lab up -o
// json`.
type Report struct {
	// OK: every session Established, every route as planned, every ping
	// answered.
	OK bool `json:"ok"`
	// AlreadyUp: the lab was running, Up only checked it.
	AlreadyUp bool   `json:"alreadyUp"`
	Prefix    string `json:"prefix"`
	StateDir  string `json:"stateDir"`
	// Installed lists the packages Up installed.
	Installed []string  `json:"installed"`
	Plan      *Plan     `json:"plan"`
	Sessions  []Session `json:"sessions"`
	// Routes are the router's routes to the pod blocks and the
	// LoadBalancers.
	Routes []Route `json:"routes"`
	Pings  []Ping  `json:"pings"`
	// Problems says what is not as it should be, one sentence each.
	Problems []string `json:"problems"`
	// Seconds is the time from the start of Up to the last ping
	// answered (or to the failure).
	Seconds float64 `json:"seconds"`
}

// Failures of Up's checks. The lab stays up after them, for a look.
var (
	ErrSessions = errors.New("BGP sessions did not come up")
	ErrRoutes   = errors.New("routes did not converge")
	ErrPings    = errors.New("pings failed")
)

// upRun is one run of Up: its clock, output and findings.
type upRun struct {
	*Lab
	ctx   context.Context
	start time.Time
	rep   *Report
	plan  *Plan
	h     handles
	frr   *routers.FRR
	st    *state
}

func (u *upRun) progress(format string, args ...any) {
	fmt.Fprintf(u.o.Out, "[%s] %s\n", elapsed(time.Since(u.start)), fmt.Sprintf(format, args...))
}

func (u *upRun) printf(format string, args ...any) { fmt.Fprintf(u.o.Out, format, args...) }

// Up builds the lab and checks it: it creates the namespaces and links,
// starts FRR and a godwitd per node, waits for the sessions and routes,
// prints each node's `godwit status`, the router's table and its route to
// each LoadBalancer, and pings pod to pod across nodes and each
// LoadBalancer; everything keeps running after Up returns, until Down.
//
// Up is idempotent: when the lab is already up it only checks it again
// (the same output, nothing rebuilt); remains of a broken or half-built
// lab are removed first. When a check fails the lab is left running and
// the error wraps ErrSessions, ErrRoutes or ErrPings; a lab that could
// not be built is removed again.
func (l *Lab) Up(ctx context.Context) (*Report, error) {
	u := &upRun{Lab: l, ctx: ctx, start: time.Now(),
		rep: &Report{Prefix: l.o.Prefix, StateDir: l.o.StateDir, Installed: []string{}, Sessions: []Session{}, Routes: []Route{}, Pings: []Ping{}, Problems: []string{}}}
	err := u.run()
	if u.rep.Seconds == 0 {
		u.rep.Seconds = time.Since(u.start).Seconds()
	}
	if err != nil {
		u.rep.Problems = append(u.rep.Problems, err.Error())
	}
	u.rep.OK = err == nil
	return u.rep, err
}

func (u *upRun) run() error {
	if err := needRoot(); err != nil {
		return err
	}
	if u.o.Godwitd == "" {
		return errors.New("no godwitd given (build it with make build)")
	}
	unlock, err := lock(u.o.lockPath())
	if err != nil {
		return err
	}
	defer unlock()

	st, err := u.o.readState()
	if err != nil {
		u.progress("the lab's record is unreadable (%v); starting afresh", err)
	}
	if healthy, why := u.healthy(st); healthy {
		u.rep.AlreadyUp = true
		if err := u.attach(st); err != nil {
			return err
		}
	} else {
		if why != "" {
			u.progress("found the remains of an earlier lab (%s); removing them first", why)
			dr := u.down()
			for _, p := range dr.Problems {
				u.progress("  %s", p)
			}
		}
		if err := u.create(); err != nil {
			if u.st != nil {
				u.progress("the lab could not be built; removing what was made")
				u.dumpLogs()
				u.down()
			}
			return err
		}
	}
	if err := u.verify(); err != nil {
		return fmt.Errorf("%w (the lab is left running for a look; godwit lab down removes it)", err)
	}
	return nil
}

// healthy reports whether the recorded lab is complete and running; when
// it is not, why says what is left of it ("" when nothing is).
func (u *upRun) healthy(st *state) (bool, string) {
	var left []string
	names, _ := netns.List(u.o.Prefix + "-")
	if len(names) > 0 {
		left = append(left, fmt.Sprintf("%d %s-* namespaces", len(names), u.o.Prefix))
	}
	if st == nil {
		if _, err := os.Stat(u.o.StateDir); err == nil {
			left = append(left, u.o.StateDir)
		}
		return false, strings.Join(left, ", ")
	}
	var broken []string
	if st.Ready.IsZero() || st.Plan == nil {
		broken = append(broken, "it was never completed")
	}
	for _, name := range st.Namespaces {
		if _, err := os.Stat("/run/netns/" + name); err != nil {
			broken = append(broken, "namespace "+name+" is gone")
		}
	}
	for _, p := range st.Processes {
		if !p.alive(u.o.StateDir) {
			broken = append(broken, fmt.Sprintf("%s of %s (pid %d) is not running", p.Name, p.Member, p.PID))
		}
	}
	if len(broken) == 0 && len(st.Processes) > 0 {
		return true, ""
	}
	if len(left) == 0 {
		left = append(left, u.o.StateDir)
	}
	return false, strings.Join(append(left, broken...), ", ")
}

// create builds and starts the lab from scratch.
func (u *upRun) create() error {
	if err := os.MkdirAll(u.o.StateDir, 0o755); err != nil {
		return err
	}
	// FRR runs as the frr user and must reach its directory inside.
	if err := os.Chmod(u.o.StateDir, 0o755); err != nil {
		return err
	}
	u.st = &state{Prefix: u.o.Prefix, StateDir: u.o.StateDir, Started: time.Now().UTC(), Namespaces: []string{}, Processes: []process{}}
	if err := u.o.save(u.st); err != nil {
		return err
	}
	if err := os.WriteFile(u.o.path(configFile), u.o.Config, 0o644); err != nil {
		return err
	}
	rs, err := u.o.resources()
	if err != nil {
		return err
	}
	if u.plan, err = planFor(&u.o, rs, u.o.path(clusterFile)); err != nil {
		return err
	}
	u.st.Plan = u.plan
	if err := u.o.save(u.st); err != nil {
		return err
	}
	u.rep.Plan = u.plan
	u.printPlan()

	missing, _ := missingPackages()
	if err := ensurePackages(u.ctx, u.o.Install, u.progress); err != nil {
		return err
	}
	u.rep.Installed = append(u.rep.Installed, missing...)
	if len(missing) == 0 {
		u.progress("FRR and ping are installed")
	}
	if u.h, err = u.build(u.plan, u.st); err != nil {
		return err
	}
	var segs []string
	for _, s := range u.plan.Segments {
		segs = append(segs, s.Name)
	}
	u.progress("%d namespaces (%s-*) and their links: router, %d nodes on %s, %d pods",
		len(u.st.Namespaces), u.o.Prefix, len(u.plan.Nodes), strings.Join(segs, " and "), len(u.st.Namespaces)-1-len(u.plan.Nodes))

	if u.frr, err = u.startRouter(u.plan, u.h, u.st); err != nil {
		return err
	}
	var addrs []string
	for _, s := range u.plan.Segments {
		addrs = append(addrs, fmt.Sprintf("%s on %s", s.Router, s.Name))
	}
	u.progress("FRR is running in %s: AS %d, %s", u.plan.Router.Namespace, u.plan.Router.AS, strings.Join(addrs, ", "))

	var started []string
	for i := range u.plan.Nodes {
		n := &u.plan.Nodes[i]
		if err := u.startNode(n, u.h, u.st); err != nil {
			return err
		}
		started = append(started, fmt.Sprintf("%s (pid %d)", n.Name, u.st.Processes[len(u.st.Processes)-1].PID))
	}
	u.progress("godwitd is running on %s", strings.Join(started, ", "))
	return nil
}

// attach finds the running lab's namespaces and router.
func (u *upRun) attach(st *state) error {
	u.st = st
	u.plan = st.Plan
	u.rep.Plan = u.plan
	u.printPlan()
	u.progress("the lab is already up (since %s); checking it", st.Started.Local().Format("15:04:05"))
	var err error
	if u.h, err = openHandles(u.plan); err != nil {
		return err
	}
	u.frr, err = u.attachRouter(u.plan)
	return err
}

// openHandles opens the namespaces of a lab built earlier.
func openHandles(p *Plan) (handles, error) {
	h := handles{}
	add := func(member, name string) error {
		ns, err := netns.Open(name)
		if err != nil {
			return err
		}
		h[member] = ns
		return nil
	}
	if err := add(p.Router.Name, p.Router.Namespace); err != nil {
		return nil, err
	}
	for _, n := range p.Nodes {
		if err := add(n.Name, n.Namespace); err != nil {
			return nil, err
		}
		for _, pod := range n.Pods {
			if err := add(pod.Name, pod.Namespace); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// verify waits for the sessions and routes, prints the nodes' status and
// the router's table, and pings.
func (u *upRun) verify() error {
	if err := u.waitSessions(); err != nil {
		u.dumpLogs()
		return err
	}
	routesErr := u.waitRoutes()
	u.printStatus()
	u.printRouter()
	u.printf("\n== pings\n")
	u.rep.Pings = runPings(u.ctx, pingPlan(u.plan, u.h), 10*time.Second)
	failed := 0
	for _, p := range u.rep.Pings {
		u.printf("%s\n", p.Line())
		if !p.OK {
			failed++
		}
	}
	took := time.Since(u.start)
	u.rep.Seconds = took.Seconds()
	if routesErr == nil && failed == 0 && u.st.Ready.IsZero() {
		u.st.Ready = time.Now().UTC()
		if err := u.o.save(u.st); err != nil {
			return err
		}
	}
	u.printSummary(took, failed)
	switch {
	case routesErr != nil:
		return routesErr
	case failed > 0:
		return fmt.Errorf("%w: %d of %d", ErrPings, failed, len(u.rep.Pings))
	}
	return nil
}

// waitSessions waits until every session is Established at both ends,
// giving up early when a godwitd exits.
func (u *upRun) waitSessions() error {
	var last []Session
	var dead string
	err := netns.Wait(u.o.SessionTimeout, 250*time.Millisecond, func() (bool, string) {
		if dead = u.deadProcesses(); dead != "" {
			return true, ""
		}
		last = sessions(u.ctx, u.plan, u.frr)
		var down []string
		for _, s := range last {
			if !s.Established() {
				down = append(down, describeSession(s))
			}
		}
		return len(down) == 0, strings.Join(down, "; ")
	})
	u.rep.Sessions = last
	switch {
	case dead != "":
		return fmt.Errorf("%w: %s", ErrSessions, dead)
	case err != nil:
		return fmt.Errorf("%w: %v", ErrSessions, err)
	}
	u.progress("%d BGP sessions Established, router and nodes agree", len(last))
	return nil
}

// describeSession says where a session stands, for an error.
func describeSession(s Session) string {
	d := fmt.Sprintf("%s: router says %q, %s says %q", s.Node, s.RouterState, s.Node, s.NodeState)
	if s.Problem != "" {
		d += " (" + s.Problem + ")"
	}
	return d
}

// deadProcesses names the recorded processes that have exited, with the
// last line of their logs, on one line.
func (u *upRun) deadProcesses() string {
	var dead []string
	for _, p := range u.st.Processes {
		if !p.alive(u.o.StateDir) {
			d := fmt.Sprintf("%s of %s (pid %d) exited", p.Name, p.Member, p.PID)
			if last := tail(p.Log, 1); last != "" {
				d += " (" + strings.TrimSpace(last) + ")"
			}
			dead = append(dead, d)
		}
	}
	return strings.Join(dead, "; ")
}

// waitRoutes waits until the router has every pod block and LoadBalancer
// with exactly the planned next hops (all of a LoadBalancer's nodes: one
// ECMP route) at FRR and in its kernel, and every node has godwit routes
// to the other nodes' blocks.
func (u *upRun) waitRoutes() error {
	var problems []string
	err := netns.Wait(u.o.SessionTimeout, 250*time.Millisecond, func() (bool, string) {
		problems = nil
		rs, err := routerRoutes(u.plan, u.frr, u.h[u.plan.Router.Name])
		if err != nil {
			problems = append(problems, err.Error())
			return false, err.Error()
		}
		u.rep.Routes = rs
		for _, r := range rs {
			if !r.ok() {
				problems = append(problems, fmt.Sprintf("the router's route to %s (%s) goes via %v at FRR and %v in the kernel, not via %v", r.Prefix, r.What, r.NextHops, r.KernelNextHops, r.Want))
			}
		}
		problems = append(problems, missingNodeRoutes(u.plan, u.h)...)
		return len(problems) == 0, strings.Join(problems, "; ")
	})
	if err != nil {
		for _, p := range problems {
			u.progress("not as planned: %s", p)
		}
		return fmt.Errorf("%w: %s", ErrRoutes, strings.Join(problems, "; "))
	}
	var blocks, lbs []string
	for _, r := range u.rep.Routes {
		if strings.HasPrefix(r.What, "pod block") {
			blocks = append(blocks, r.Prefix)
		} else {
			lbs = append(lbs, fmt.Sprintf("%s over %d paths", r.Prefix, len(r.NextHops)))
		}
	}
	msg := fmt.Sprintf("routes are in place: the router has %d pod blocks", len(blocks))
	if len(lbs) > 0 {
		msg += " and " + strings.Join(lbs, ", ")
	}
	u.progress("%s; every node has the others' blocks", msg)
	return nil
}

// dumpLogs prints the end of the daemons' logs, after a failure: each
// godwitd's, and bgpd's (zebra says little about sessions).
func (u *upRun) dumpLogs() {
	if u.st == nil {
		return
	}
	for _, p := range u.st.Processes {
		lines := 20
		switch {
		case p.Log == "" || p.Name == "zebra":
			continue
		case p.Name == "bgpd":
			lines = 10
		}
		u.printf("\n--- %s of %s: %s (last %d lines)\n%s\n", p.Name, p.Member, p.Log, lines, tail(p.Log, lines))
	}
}

// down removes the lab without the lock (Up holds it).
func (u *upRun) down() *DownReport {
	return u.Lab.down()
}

// lock takes an exclusive flock on path, creating it.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lab lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
