package lab

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// podBridge is the bridge of the pods in a node's namespace; a node's
// uplink is eth0, and a pod's only interface is eth0 too.
const (
	podBridge = "pods"
	uplink    = "eth0"
)

// handles are the namespaces of a built (or found) lab, by member name.
type handles map[string]*netns.NS

// build creates the namespaces and links of the plan: the router's
// namespace with one bridge per segment, each node's namespace on its
// segment (a veth named after the node on the router's side) with a pod
// bridge, the LoadBalancer addresses it serves on lo, and its pods on
// that bridge. Every namespace is recorded in st as soon as it exists.
// Nothing is made outside the lab's namespaces: each veth pair is
// created inside one of them and moved straight into the other.
func (l *Lab) build(p *Plan, st *state) (handles, error) {
	o := &l.o
	h := handles{}
	create := func(member, name string) (*netns.NS, error) {
		ns, err := netns.Create(name)
		if err != nil {
			return nil, err
		}
		h[member] = ns
		st.Namespaces = append(st.Namespaces, name)
		return ns, o.save(st)
	}
	tor, err := create(p.Router.Name, p.Router.Namespace)
	if err != nil {
		return h, err
	}
	for _, seg := range p.Segments {
		if err := tor.AddBridge(seg.Name, seg.Router.String()); err != nil {
			return h, err
		}
	}
	for _, n := range p.Nodes {
		if len(n.Name) > 15 {
			return h, fmt.Errorf("node name %q is longer than an interface name may be (15 bytes)", n.Name)
		}
		ns, err := create(n.Name, n.Namespace)
		if err != nil {
			return h, err
		}
		if _, _, err := netns.Veth(netns.End{NS: tor, Ifname: n.Name}, netns.End{NS: ns, Ifname: uplink, Addrs: []string{n.Address.String()}}); err != nil {
			return h, err
		}
		if err := tor.SetMaster(n.Name, n.Segment); err != nil {
			return h, err
		}
		if err := ns.AddBridge(podBridge, n.Bridge.String()); err != nil {
			return h, err
		}
		for _, name := range n.Serves {
			lb := p.loadBalancer(name)
			if err := ns.AddAddr("lo", netip.PrefixFrom(lb.Address, lb.Address.BitLen()).String()); err != nil {
				return h, err
			}
		}
		for i, pod := range n.Pods {
			pns, err := create(pod.Name, pod.Namespace)
			if err != nil {
				return h, err
			}
			port := fmt.Sprintf("pod%d", i+1)
			if _, _, err := netns.Veth(netns.End{NS: ns, Ifname: port}, netns.End{NS: pns, Ifname: uplink, Addrs: []string{pod.Address.String()}}); err != nil {
				return h, err
			}
			if err := ns.SetMaster(port, podBridge); err != nil {
				return h, err
			}
			if err := pns.AddRoute("default", pod.Gateway.String()); err != nil {
				return h, err
			}
		}
	}
	return h, nil
}

// loadBalancer returns the LoadBalancer of that name, or nil.
func (p *Plan) loadBalancer(name string) *LoadBalancer {
	for i := range p.LoadBalancers {
		if p.LoadBalancers[i].Name == name {
			return &p.LoadBalancers[i]
		}
	}
	return nil
}

// routerConfig is the FRR configuration of the router: a neighbour per
// node, and ECMP over paths from different ASes (the nodes that serve a
// LoadBalancer each have their own AS).
func (l *Lab) routerConfig(p *Plan) routers.Config {
	cfg := routers.Config{
		Name:     p.Router.Name,
		RouterID: p.Router.RouterID.String(),
		LocalAS:  p.Router.AS,
		Dir:      l.o.path(routerDir),
		// routers renders the neighbours; this adds to the same
		// instance. multipath-relax: the paths of a LoadBalancer come
		// from different neighbouring ASes, which plain ECMP would not
		// combine.
		Extra: fmt.Sprintf(`router bgp %d
 bgp bestpath as-path multipath-relax
 address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
exit
!`, p.Router.AS),
	}
	for _, nb := range p.Router.Neighbors {
		cfg.Neighbors = append(cfg.Neighbors, routers.Neighbor{Address: nb.Address.String(), RemoteAS: nb.AS, HoldTime: nb.HoldTime})
	}
	return cfg
}

// startRouter starts FRR in the router's namespace and records zebra and
// bgpd.
func (l *Lab) startRouter(p *Plan, h handles, st *state) (*routers.FRR, error) {
	frr, err := routers.StartFRR(h[p.Router.Name], l.routerConfig(p))
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"zebra", "bgpd"} {
		pid, err := readPIDFile(l.o.path(routerDir, d+".pid"))
		if err != nil {
			return nil, fmt.Errorf("frr %s: %w", d, err)
		}
		st.Processes = append(st.Processes, record(d, p.Router.Name, p.Router.Namespace, pid, l.o.path(routerDir, d+".log")))
	}
	return frr, l.o.save(st)
}

func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return pid, nil
}

// startNode starts godwitd for node n, with the shared configuration and
// allocation file, and records it.
func (l *Lab) startNode(n *Node, h handles, st *state) error {
	o := &l.o
	if err := os.MkdirAll(o.path(n.Name), 0o755); err != nil {
		return err
	}
	pid, err := h[n.Name].Start(n.Log, o.Godwitd,
		"--config", o.path(configFile),
		"--node", n.Name,
		"--cluster-state", o.path(clusterFile),
		"--api", "unix://"+n.API,
		"--log-level", "info")
	if err != nil {
		return err
	}
	st.Processes = append(st.Processes, record("godwitd", n.Name, n.Namespace, pid, n.Log))
	return o.save(st)
}
