package bench

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// openbgpdTarget is OpenBGPD (`bgpd -d`): a parent process and its session,
// route decision and RTR engines, all counted.
//
// Configuration choices: fib-update no (nothing reaches the kernel; bgpd
// still reads the kernel's routes to validate next hops); passive
// sessions, multihop 2 and local-address (addresses on lo); `export none`
// towards the injectors; `allow from any` and `allow to any` (the default
// filter denies everything). Logging: bgpd -d without -v logs warnings and
// session changes; it has no quieter level.
type openbgpdTarget struct{}

func (openbgpdTarget) Name() string { return "openbgpd" }

func (openbgpdTarget) Check() error { return needBinaries(routers.OpenBGPDPath) }

func (openbgpdTarget) Start(ns *netns.NS, dir string, topo *Topology) (*Daemon, error) {
	// The engines chroot into the _openbgpd user's home, which the Debian
	// package leaves to systemd to create.
	u, err := user.Lookup(routers.OpenBGPDUser)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", routers.OpenBGPDUser, err)
	}
	if u.HomeDir != "" && u.HomeDir != "/" {
		if err := os.MkdirAll(u.HomeDir, 0o755); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "bgpd.conf")
	// bgpd refuses a configuration others can read.
	if err := os.WriteFile(conf, []byte(renderOpenBGPD(topo, filepath.Join(dir, "bgpd.sock"))), 0o600); err != nil {
		return nil, err
	}
	d := &Daemon{ns: ns}
	err = d.start(dir, "bgpd", routers.OpenBGPDPath, "-d", "-f", conf)
	return d, err
}

func renderOpenBGPD(t *Topology, sock string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("AS %d", t.AS)
	w("router-id %s", t.Addr)
	w("fib-update no")
	w("listen on %s", t.Addr)
	w("socket %q", sock)
	peer := func(n Neighbor, injector bool) {
		w("neighbor %s {", n.Addr)
		w("  remote-as %d", n.AS)
		w("  local-address %s", t.Addr)
		w("  multihop 2")
		w("  passive")
		w("  announce IPv4 unicast")
		if injector {
			w("  export none")
		}
		w("}")
	}
	for _, n := range t.Injectors {
		peer(n, true)
	}
	for _, n := range t.Monitors {
		peer(n, false)
	}
	w("allow from any")
	w("allow to any")
	return b.String()
}
