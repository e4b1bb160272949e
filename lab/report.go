package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// The text Up prints for people. Sections start with "== " and name the
// command that shows the same thing, so that a reader can ask again.

// printPlan shows what the lab is made of, before it is built.
func (u *upRun) printPlan() {
	p := u.plan
	u.printf("godwit lab: a top-of-rack router running FRR (AS %d) and %d nodes running godwitd, in network namespaces %s-*\n\n",
		p.Router.AS, len(p.Nodes), u.o.Prefix)
	rows := [][]string{}
	for _, n := range p.Nodes {
		var pods []string
		for _, pod := range n.Pods {
			pods = append(pods, pod.Address.Addr().String())
		}
		var serves []string
		for _, name := range n.Serves {
			if lb := p.loadBalancer(name); lb != nil {
				serves = append(serves, fmt.Sprintf("%s %s", lb.Name, lb.Address))
			}
		}
		rows = append(rows, []string{n.Name, n.Segment, n.Address.Addr().String(), fmt.Sprint(n.AS), n.Block.String(), strings.Join(pods, " "), orDash(strings.Join(serves, ", "))})
	}
	table(u.o.Out, "  ", []string{"NODE", "RACK", "ADDRESS", "AS", "POD BLOCK", "PODS", "SERVES"}, rows)
	for _, lb := range p.LoadBalancers {
		u.printf("  LoadBalancer %s %s is served by %s: the router should reach it over %d equal paths (ECMP)\n", lb.Name, lb.Address, strings.Join(lb.Nodes, " and "), len(lb.Nodes))
	}
	u.printf("\n")
}

// printStatus prints each node's `godwit status`.
func (u *upRun) printStatus() {
	cli := u.o.Godwit
	if cli == "" {
		cli, _ = exec.LookPath("godwit")
	}
	for _, n := range u.plan.Nodes {
		u.printf("\n== %s: %s --api unix://%s status\n", n.Name, u.cliName(), n.API)
		if cli == "" {
			u.printf("(no godwit CLI to run; sessions: %s)\n", u.sessionLine(n.Name))
			continue
		}
		ctx, cancel := context.WithTimeout(u.ctx, 10*time.Second)
		out, err := exec.CommandContext(ctx, cli, "--api", "unix://"+n.API, "status").CombinedOutput()
		cancel()
		u.printf("%s", out)
		if err != nil {
			u.printf("(godwit status: %v)\n", err)
		}
	}
}

func (u *upRun) sessionLine(node string) string {
	for _, s := range u.rep.Sessions {
		if s.Node == node {
			return fmt.Sprintf("with %s %s", s.RouterAddress, s.NodeState)
		}
	}
	return "none"
}

// printRouter prints the router's BGP table and, for each LoadBalancer,
// its BGP paths and its route (the ECMP route).
func (u *upRun) printRouter() {
	dir := u.o.path(routerDir)
	show := func(cmd string) {
		u.printf("\n== %s: vtysh --vty_socket %s -c '%s'\n", u.plan.Router.Name, dir, cmd)
		out, err := u.frr.Vtysh(cmd)
		if out = strings.Trim(out, "\n"); out != "" {
			u.printf("%s\n", out)
		}
		if err != nil {
			u.printf("(%v)\n", err)
		}
	}
	show("show bgp ipv4 unicast")
	for _, lb := range u.plan.LoadBalancers {
		show("show ip route " + lb.Prefix.String())
	}
}

// printSummary ends Up's output: the verdict, the time, and what to try.
func (u *upRun) printSummary(took time.Duration, failedPings int) {
	est := 0
	for _, s := range u.rep.Sessions {
		if s.Established() {
			est++
		}
	}
	routesOK := 0
	for _, r := range u.rep.Routes {
		if r.ok() {
			routesOK++
		}
	}
	verdict := "The lab is up"
	if failedPings > 0 || routesOK < len(u.rep.Routes) {
		verdict = "The lab is up, but not everything works"
	}
	timing := fmt.Sprintf("%.1f s from start to the last ping", took.Seconds())
	if u.rep.AlreadyUp {
		verdict = strings.Replace(verdict, "The lab is up", "The lab was up already", 1)
		timing = fmt.Sprintf("checked in %.1f s", took.Seconds())
	}
	u.printf("\n%s: %d/%d sessions Established, %d/%d router routes as planned, %d/%d pings ok; %s.\n",
		verdict, est, len(u.rep.Sessions), routesOK, len(u.rep.Routes), len(u.rep.Pings)-failedPings, len(u.rep.Pings), timing)
	if len(u.plan.Nodes) == 0 {
		return
	}
	n := u.plan.Nodes[0]
	u.printf("\nHave a look around (it keeps running until `godwit lab down`):\n")
	var tries [][2]string
	if len(n.Pods) > 0 && len(u.plan.LoadBalancers) > 0 {
		tries = append(tries, [2]string{fmt.Sprintf("ip netns exec %s ping %s", n.Pods[0].Namespace, u.plan.LoadBalancers[0].Address), "a pod of " + n.Name + " reaches " + u.plan.LoadBalancers[0].Name})
	}
	cli := u.cliName()
	tries = append(tries,
		[2]string{fmt.Sprintf("%s --api unix://%s routes", cli, n.API), n.Name + "'s routes"},
		[2]string{fmt.Sprintf("ip -n %s route", n.Namespace), "its kernel table (proto 200 is godwit's)"},
		[2]string{fmt.Sprintf("vtysh --vty_socket %s", u.o.path(routerDir)), "the router's shell"},
		[2]string{cli + " lab status", "the lab at a glance"},
		[2]string{cli + " lab down", "removes every namespace and process of the lab"},
	)
	width := 0
	for _, t := range tries {
		width = max(width, len(t[0]))
	}
	for _, t := range tries {
		u.printf("  sudo %-*s   # %s\n", width, t[0], t[1])
	}
}

// cliName is how a person runs the godwit CLI from here: "godwit" when
// that is the one on PATH, else its path (relative to the working
// directory when below it, as bin/godwit after make lab).
func (u *upRun) cliName() string {
	cli := u.o.Godwit
	if cli == "" {
		return "godwit"
	}
	if p, err := exec.LookPath("godwit"); err == nil && sameFile(p, cli) {
		return "godwit"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, cli); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return cli
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// table writes rows in aligned columns, each line starting with indent.
func table(w io.Writer, indent string, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
