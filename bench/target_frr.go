package bench

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// frrTarget is FRR 8.4: zebra and bgpd, both counted.
//
// Configuration choices: bgpd runs with --no_kernel (-n), so it sends no
// route to zebra and nothing reaches the kernel (zebra still runs and
// tracks next hops for bgpd, as in a real deployment); `frr defaults
// traditional` with `no bgp ebgp-requires-policy`; eBGP multihop 2 and
// update-source (addresses on lo); advertisement-interval 0 towards every
// peer, since the other daemons have no MRAI; a deny-all route-map out
// towards the injectors (no transit back to them). Logging: warnings.
type frrTarget struct{}

func (frrTarget) Name() string { return "frr" }

func (frrTarget) Check() error {
	return needBinaries(filepath.Join(routers.FRRDir, "zebra"), filepath.Join(routers.FRRDir, "bgpd"))
}

func (frrTarget) Start(ns *netns.NS, dir string, topo *Topology) (*Daemon, error) {
	files := map[string]string{
		"zebra.conf": "hostname bench\nlog stdout warnings\n",
		"bgpd.conf":  renderFRR(topo),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	// The daemons drop to user frr: it must own the directory to write
	// pid files and sockets there.
	if err := chownTo(dir, "frr", "zebra.conf", "bgpd.conf"); err != nil {
		return nil, err
	}
	args := func(daemon string, extra ...string) []string {
		return append([]string{
			filepath.Join(routers.FRRDir, daemon),
			"-f", filepath.Join(dir, daemon+".conf"),
			"-i", filepath.Join(dir, daemon+".pid"),
			"-z", filepath.Join(dir, "zserv.api"),
			"--vty_socket", dir,
			"-P", "0",
		}, extra...)
	}
	d := &Daemon{ns: ns}
	if err := d.start(dir, "zebra", args("zebra")...); err != nil {
		return d, err
	}
	// bgpd needs zebra's socket at start.
	if err := netns.Wait(20*time.Second, 20*time.Millisecond, func() (bool, string) {
		if d.Alive() != nil {
			return true, ""
		}
		_, err := os.Stat(filepath.Join(dir, "zserv.api"))
		return err == nil, "waiting for zebra's zserv socket"
	}); err != nil {
		return d, err
	}
	if err := d.Alive(); err != nil {
		return d, err
	}
	err := d.start(dir, "bgpd", args("bgpd", "-p", "179", "-n")...)
	return d, err
}

func renderFRR(t *Topology) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("frr defaults traditional")
	w("hostname bench")
	w("log stdout warnings")
	w("!")
	w("route-map BENCH-NONE deny 10")
	w("exit")
	w("!")
	w("router bgp %d", t.AS)
	w(" bgp router-id %s", t.Addr)
	w(" no bgp ebgp-requires-policy")
	w(" no bgp default ipv4-unicast")
	all := append(append([]Neighbor(nil), t.Injectors...), t.Monitors...)
	for _, n := range all {
		w(" neighbor %s remote-as %d", n.Addr, n.AS)
		w(" neighbor %s update-source %s", n.Addr, t.Addr)
		w(" neighbor %s ebgp-multihop 2", n.Addr)
		w(" neighbor %s passive", n.Addr)
		w(" neighbor %s advertisement-interval 0", n.Addr)
	}
	w(" address-family ipv4 unicast")
	for _, n := range all {
		w("  neighbor %s activate", n.Addr)
	}
	for _, n := range t.Injectors {
		w("  neighbor %s route-map BENCH-NONE out", n.Addr)
	}
	w(" exit-address-family")
	w("exit")
	return b.String()
}

// chownTo gives dir and the named files in it to a system user.
func chownTo(dir, name string, files ...string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Chown(filepath.Join(dir, f), uid, gid); err != nil {
			return err
		}
	}
	return nil
}
