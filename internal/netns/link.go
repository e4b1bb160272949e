package netns

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// End is one end of a link: the namespace, the interface name there (at most
// 15 bytes; empty picks "ethN") and the addresses to put on it in CIDR form,
// IPv4 or IPv6 ("10.0.0.1/30", "2001:db8::1/64").
type End struct {
	NS     *NS
	Ifname string
	Addrs  []string
}

// Veth joins two namespaces with a veth pair, puts the addresses on both
// ends and brings them up. It returns the interface names used. The pair is
// created directly inside the namespaces, so names only need to be unique
// per namespace, and it disappears with them.
func Veth(a, b End) (aIf, bIf string, err error) {
	if a.NS == nil || b.NS == nil {
		return "", "", fmt.Errorf("veth: both ends need a namespace")
	}
	aIf, bIf = a.Ifname, b.Ifname
	if aIf == "" {
		aIf = a.NS.nextIfname("eth")
	}
	if bIf == "" {
		bIf = b.NS.nextIfname("eth")
	}
	for _, name := range []string{aIf, bIf} {
		if len(name) > 15 {
			return "", "", fmt.Errorf("veth: interface name %q is longer than 15 bytes", name)
		}
	}
	if _, err := a.NS.IP("link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.NS.name); err != nil {
		return "", "", err
	}
	for _, e := range []struct {
		ns    *NS
		ifn   string
		addrs []string
	}{{a.NS, aIf, a.Addrs}, {b.NS, bIf, b.Addrs}} {
		for _, addr := range e.addrs {
			if err := e.ns.AddAddr(e.ifn, addr); err != nil {
				return "", "", err
			}
		}
		if err := e.ns.SetUp(e.ifn); err != nil {
			return "", "", err
		}
	}
	return aIf, bIf, nil
}

func (n *NS) nextIfname(prefix string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		name := fmt.Sprintf("%s%d", prefix, n.ifCount)
		n.ifCount++
		if !n.hasLink(name) {
			return name
		}
	}
}

func (n *NS) hasLink(name string) bool {
	_, err := n.IP("link", "show", "dev", name)
	return err == nil
}

// AddAddr adds an address in CIDR form to an interface. IPv6 addresses are
// added with nodad, so they are usable at once.
func (n *NS) AddAddr(ifname, cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("address %q on %s: %w", cidr, ifname, err)
	}
	args := []string{"addr", "add", cidr, "dev", ifname}
	if p.Addr().Is6() {
		args = append([]string{"-6"}, append(args, "nodad")...)
	}
	_, err = n.IP(args...)
	return err
}

// SetUp brings an interface up.
func (n *NS) SetUp(ifname string) error {
	_, err := n.IP("link", "set", "dev", ifname, "up")
	return err
}

// AddBridge creates a Linux bridge (no STP, no multicast snooping, so ports
// forward at once) with the given addresses, and brings it up.
func (n *NS) AddBridge(name string, addrs ...string) error {
	if _, err := n.IP("link", "add", name, "type", "bridge", "stp_state", "0", "mcast_snooping", "0"); err != nil {
		return err
	}
	for _, a := range addrs {
		if err := n.AddAddr(name, a); err != nil {
			return err
		}
	}
	return n.SetUp(name)
}

// SetMaster enslaves an interface to a bridge (or any master device).
func (n *NS) SetMaster(ifname, master string) error {
	_, err := n.IP("link", "set", "dev", ifname, "master", master)
	return err
}

// Plug connects peer to the bridge named bridge in this namespace with a
// veth pair; this side ("portN") joins the bridge, peer gets its addresses.
func (n *NS) Plug(bridge string, peer End) (peerIf string, err error) {
	port, peerIf, err := Veth(End{NS: n, Ifname: n.nextIfname("port")}, peer)
	if err != nil {
		return "", err
	}
	return peerIf, n.SetMaster(port, bridge)
}

// Bridge is a namespace holding one bridge: a shared segment (a LAN) for
// more than two routers. Attach routers to it with Attach.
type Bridge struct {
	*NS
	Dev string
}

// NewBridge makes a namespace for a test holding bridge "br0" (see New).
func NewBridge(tb TB, role string) *Bridge {
	tb.Helper()
	n := New(tb, role)
	if err := n.AddBridge("br0"); err != nil {
		tb.Fatalf("netns: %v", err)
	}
	return &Bridge{NS: n, Dev: "br0"}
}

// CreateBridge makes a namespace with exactly the given name holding bridge
// "br0", for the lab (see Create).
func CreateBridge(name string) (*Bridge, error) {
	n, err := Create(name)
	if err != nil {
		return nil, err
	}
	if err := n.AddBridge("br0"); err != nil {
		_ = n.Close()
		return nil, err
	}
	return &Bridge{NS: n, Dev: "br0"}, nil
}

// Attach plugs e into the segment and returns its interface name there.
func (b *Bridge) Attach(e End) (string, error) {
	return b.Plug(b.Dev, e)
}

// AddRoute adds a route to dst ("10.1.0.0/16", "2001:db8::/32" or
// "default") through one gateway, or through several as one ECMP route.
// Extra arguments for `ip route` (dev, metric, table, ...) go through IP.
func (n *NS) AddRoute(dst string, gateways ...string) error {
	if len(gateways) == 0 {
		return fmt.Errorf("route %s: no gateway", dst)
	}
	args := []string{"route", "add", dst}
	gw, err := netip.ParseAddr(gateways[0])
	if err != nil {
		return fmt.Errorf("route %s: gateway %q: %w", dst, gateways[0], err)
	}
	if gw.Is6() {
		args = append([]string{"-6"}, args...)
	}
	if len(gateways) == 1 {
		args = append(args, "via", gateways[0])
	} else {
		for _, g := range gateways {
			args = append(args, "nexthop", "via", g)
		}
	}
	_, err = n.IP(args...)
	return err
}

// Sysctl sets a per-namespace kernel setting, given as a path under
// /proc/sys with slashes ("net/ipv4/ip_forward") or dots
// ("net.ipv4.ip_forward"; use slashes when a part holds a dot, such as
// an interface "eth0.100").
func (n *NS) Sysctl(key, value string) error {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	path := filepath.Join("/proc/sys", key)
	// /proc/sys/net follows the network namespace of the thread that opens
	// the file, so opening it inside Do reaches the namespace's copy.
	return n.Do(func() error {
		return os.WriteFile(path, []byte(value), 0o644)
	})
}

// WaitNoTentative waits until no IPv6 address in the namespace is tentative
// (duplicate address detection still running). New turns detection off, so
// this only matters for addresses added by other means.
func (n *NS) WaitNoTentative(timeout time.Duration) error {
	return Wait(timeout, 50*time.Millisecond, func() (bool, string) {
		out, err := n.IP("-6", "addr", "show", "tentative")
		if err != nil {
			return false, err.Error()
		}
		out = strings.TrimSpace(out)
		return out == "", "tentative addresses:\n" + out
	})
}
