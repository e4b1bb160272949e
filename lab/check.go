package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// Session is one BGP session of the lab, seen from both ends.
type Session struct {
	Node        string `json:"node"`
	NodeAddress string `json:"nodeAddress"`
	// RouterAddress is the router's end.
	RouterAddress string `json:"routerAddress"`
	// RouterState is the state FRR reports, NodeState the one godwitd
	// reports (RFC 4271 names; empty when the daemon did not answer).
	RouterState string `json:"routerState"`
	NodeState   string `json:"nodeState"`
	// Problem says why a side did not answer.
	Problem string `json:"problem,omitempty"`
}

// Established reports whether both ends say Established.
func (s Session) Established() bool {
	return s.RouterState == "Established" && s.NodeState == "Established"
}

// sessions reads the sessions from FRR and from each godwitd's API.
func sessions(ctx context.Context, p *Plan, frr *routers.FRR) []Session {
	var out []Session
	at := map[string]routers.Session{}
	ss, frrErr := frr.Sessions()
	for _, s := range ss {
		at[s.Address] = s
	}
	for _, n := range p.Nodes {
		s := Session{Node: n.Name, NodeAddress: n.Address.Addr().String(), RouterAddress: n.Gateway.String()}
		if frrErr != nil {
			s.Problem = "router: " + frrErr.Error()
		} else if rs, ok := at[s.NodeAddress]; ok {
			s.RouterState = rs.State
		}
		ns, err := nodeNeighbors(ctx, n.API)
		if err != nil {
			// The client's error suggests how to start a godwitd by hand;
			// here the lab starts them.
			s.Problem = strings.TrimPrefix(s.Problem+"; ", "; ") + fmt.Sprintf("%s: godwitd does not answer on %s", n.Name, n.API)
		}
		for _, nb := range ns {
			if a, err := netip.ParseAddr(nb.Address); err == nil && a == n.Gateway {
				s.NodeState = string(nb.State)
			}
		}
		out = append(out, s)
	}
	return out
}

// nodeNeighbors asks a godwitd for its neighbours.
func nodeNeighbors(ctx context.Context, sock string) ([]api.Neighbor, error) {
	c, err := api.NewClient("unix://" + sock)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return c.Neighbors(ctx)
}

// Route is a prefix as the router has it: its paths' next hops and
// whether they form one ECMP route, at FRR and in the kernel.
type Route struct {
	Prefix string `json:"prefix"`
	// What the prefix is: "pod block of node1", "LoadBalancer web".
	What string `json:"what"`
	// NextHops are the next hops of FRR's valid paths that are best or
	// multipath; KernelNextHops those of the router's kernel route.
	NextHops       []string `json:"nextHops"`
	KernelNextHops []string `json:"kernelNextHops"`
	// Want are the next hops the plan expects (the nodes' addresses).
	Want []string `json:"want"`
}

// ok reports whether FRR and the kernel both use exactly the expected
// next hops.
func (r Route) ok() bool {
	return slices.Equal(r.NextHops, r.Want) && slices.Equal(r.KernelNextHops, r.Want)
}

// routerRoutes reads, for every pod block and LoadBalancer, the router's
// paths and kernel route.
func routerRoutes(p *Plan, frr *routers.FRR, tor *netns.NS) ([]Route, error) {
	var out []Route
	add := func(prefix netip.Prefix, what string, nodes []string) error {
		r := Route{Prefix: prefix.String(), What: what, NextHops: []string{}, KernelNextHops: []string{}}
		for _, name := range nodes {
			if n := p.node(name); n != nil {
				r.Want = append(r.Want, n.Address.Addr().String())
			}
		}
		slices.Sort(r.Want)
		paths, err := frr.Route(routers.IPv4Unicast, prefix.String())
		if err != nil {
			return err
		}
		for _, path := range paths {
			if path.Valid && (path.Best || path.Multipath) && path.NextHop != "" {
				r.NextHops = append(r.NextHops, path.NextHop)
			}
		}
		slices.Sort(r.NextHops)
		r.NextHops = slices.Compact(r.NextHops)
		if r.KernelNextHops, err = kernelNextHops(tor, prefix); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}
	for _, n := range p.Nodes {
		if err := add(n.Block, "pod block of "+n.Name, []string{n.Name}); err != nil {
			return nil, err
		}
	}
	for _, lb := range p.LoadBalancers {
		if err := add(lb.Prefix, "LoadBalancer "+lb.Name, lb.Nodes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kernelRoute is the part of `ip -j route` the lab reads.
type kernelRoute struct {
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Type     string `json:"type"`
	Protocol string `json:"protocol"`
	NextHops []struct {
		Gateway string `json:"gateway"`
	} `json:"nexthops"`
}

// prefix returns the route's destination as a prefix (ip prints host
// routes without their length).
func (k kernelRoute) prefix() netip.Prefix {
	if p, err := netip.ParsePrefix(k.Dst); err == nil {
		return p
	}
	if a, err := netip.ParseAddr(k.Dst); err == nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.Prefix{}
}

// gateways are the route's next hops, sorted.
func (k kernelRoute) gateways() []string {
	out := []string{}
	if k.Gateway != "" {
		out = append(out, k.Gateway)
	}
	for _, nh := range k.NextHops {
		if nh.Gateway != "" {
			out = append(out, nh.Gateway)
		}
	}
	slices.Sort(out)
	return out
}

// kernelRoutes lists a namespace's main IPv4 table, with extra selectors
// for `ip route show` ("proto", "200").
func kernelRoutes(ns *netns.NS, sel ...string) ([]kernelRoute, error) {
	out, err := ns.IP(append([]string{"-j", "-4", "route", "show", "table", "main"}, sel...)...)
	if err != nil {
		return nil, err
	}
	var rs []kernelRoute
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		return nil, fmt.Errorf("ip -j route in %s: %w", ns.Name(), err)
	}
	return rs, nil
}

// kernelNextHops returns the next hops of the namespace's route for
// exactly prefix (none when it has none).
func kernelNextHops(ns *netns.NS, prefix netip.Prefix) ([]string, error) {
	rs, err := kernelRoutes(ns, "exact", prefix.String())
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.prefix() == prefix {
			return r.gateways(), nil
		}
	}
	return []string{}, nil
}

// missingNodeRoutes returns, for each node, the other nodes' blocks (and
// the LoadBalancers it does not serve) that its kernel has no godwit route
// for (protocol 200, the contract's default).
func missingNodeRoutes(p *Plan, h handles) []string {
	var missing []string
	for _, n := range p.Nodes {
		rs, err := kernelRoutes(h[n.Name], "proto", "200")
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", n.Name, err))
			continue
		}
		have := map[netip.Prefix]bool{}
		for _, r := range rs {
			if r.Type != "blackhole" {
				have[r.prefix()] = true
			}
		}
		for _, m := range p.Nodes {
			if m.Name != n.Name && !have[m.Block] {
				missing = append(missing, fmt.Sprintf("%s has no route to %s (pods of %s)", n.Name, m.Block, m.Name))
			}
		}
		for _, lb := range p.LoadBalancers {
			if !slices.Contains(lb.Nodes, n.Name) && !have[lb.Prefix] {
				missing = append(missing, fmt.Sprintf("%s has no route to %s (LoadBalancer %s)", n.Name, lb.Prefix, lb.Name))
			}
		}
	}
	return missing
}

// Ping is the result of one ping.
type Ping struct {
	From string `json:"from"`
	To   string `json:"to"`
	// FromAddress is empty when the kernel chooses (the router).
	FromAddress string `json:"fromAddress,omitempty"`
	ToAddress   string `json:"toAddress"`
	OK          bool   `json:"ok"`
	// RTTMillis is the round trip of the answered ping.
	RTTMillis float64 `json:"rttMillis,omitempty"`
	// Attempts counts the pings sent until one was answered (or all).
	Attempts int    `json:"attempts"`
	Detail   string `json:"detail,omitempty"`
}

// Line is the ping as the contract prints it: `ping SRC -> DST: ok` or
// `ping SRC -> DST: FAIL detail`.
func (p Ping) Line() string {
	src := p.From
	if p.FromAddress != "" {
		src += " (" + p.FromAddress + ")"
	}
	dst := p.To + " (" + p.ToAddress + ")"
	if p.OK {
		return fmt.Sprintf("ping %s -> %s: ok", src, dst)
	}
	return fmt.Sprintf("ping %s -> %s: FAIL %s", src, dst, p.Detail)
}

// pingJob is one ping to make.
type pingJob struct {
	ns       *netns.NS
	from, to string
	fromAddr string
	toAddr   netip.Addr
}

// pingPlan lists the lab's pings: pod to pod across nodes (each node's
// first pod to the next node's, each second pod to the previous node's,
// so that every pod sends and receives and same-rack and cross-rack
// paths are both taken), each LoadBalancer from the router, and each
// LoadBalancer from a pod of a node that does not serve it.
func pingPlan(p *Plan, h handles) []pingJob {
	var jobs []pingJob
	k := len(p.Nodes)
	if k > 1 {
		for i, n := range p.Nodes {
			for j, pod := range n.Pods {
				step := 1
				if j%2 == 1 {
					step = k - 1
				}
				other := p.Nodes[(i+step)%k]
				if j >= len(other.Pods) {
					continue
				}
				dst := other.Pods[j]
				jobs = append(jobs, pingJob{ns: h[pod.Name], from: pod.Name, fromAddr: pod.Address.Addr().String(), to: dst.Name, toAddr: dst.Address.Addr()})
			}
		}
	}
	for _, lb := range p.LoadBalancers {
		jobs = append(jobs, pingJob{ns: h[p.Router.Name], from: p.Router.Name, to: lb.Name, toAddr: lb.Address})
	}
	for _, lb := range p.LoadBalancers {
		for _, n := range p.Nodes {
			if !slices.Contains(lb.Nodes, n.Name) && len(n.Pods) > 0 {
				pod := n.Pods[0]
				jobs = append(jobs, pingJob{ns: h[pod.Name], from: pod.Name, fromAddr: pod.Address.Addr().String(), to: lb.Name, toAddr: lb.Address})
				break
			}
		}
	}
	return jobs
}

var rttRE = regexp.MustCompile(`time=([0-9.]+) ms`)

// runPings sends the pings in parallel; each is retried (one echo a
// second) until answered or until timeout.
func runPings(ctx context.Context, jobs []pingJob, timeout time.Duration) []Ping {
	out := make([]Ping, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = ping(ctx, j, timeout)
		}()
	}
	wg.Wait()
	return out
}

func ping(ctx context.Context, j pingJob, timeout time.Duration) Ping {
	r := Ping{From: j.from, To: j.to, FromAddress: j.fromAddr, ToAddress: j.toAddr.String()}
	deadline := time.Now().Add(timeout)
	for {
		r.Attempts++
		out, err := j.ns.Exec("ping", "-n", "-c", "1", "-W", "1", r.ToAddress)
		if err == nil {
			r.OK = true
			r.Detail = ""
			if m := rttRE.FindStringSubmatch(out); m != nil {
				fmt.Sscanf(m[1], "%g", &r.RTTMillis)
			}
			return r
		}
		r.Detail = pingFailure(out, err)
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.Detail = fmt.Sprintf("%s (%d attempts)", r.Detail, r.Attempts)
			return r
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// pingFailure picks the informative line of a failed ping: an ICMP error
// ("From 10.0.1.1 icmp_seq=1 Destination Host Unreachable"), the loss
// summary, or the error.
func pingFailure(out string, err error) string {
	var summary string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "From "):
			return line
		case strings.Contains(line, "packet loss"):
			summary = line
		}
	}
	if summary != "" {
		return summary
	}
	return strings.TrimSpace(err.Error())
}
