package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// birdTarget is BIRD 2 (`bird -f`), one process.
//
// Configuration choices: the sessions are multihop (the addresses are on
// lo, and BIRD refuses a one-hop session to a neighbour it cannot find on
// a link), so BIRD resolves next hops recursively (BIRD refuses `gateway
// direct` with multihop): a direct protocol puts the next hops' link into
// the table (one lookup per next hop, cached). No kernel protocol: nothing
// is learned from or written to the kernel.
// Injectors: import all, export none; monitors: import none, export
// every BGP route. Logging: warnings and worse.
type birdTarget struct{}

func (birdTarget) Name() string { return "bird" }

func (birdTarget) Check() error { return needBinaries("bird") }

func (birdTarget) Start(ns *netns.NS, dir string, topo *Topology) (*Daemon, error) {
	conf := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(renderBIRD(topo)), 0o644); err != nil {
		return nil, err
	}
	d := &Daemon{ns: ns}
	err := d.start(dir, "bird", "bird", "-f", "-c", conf, "-s", filepath.Join(dir, "bird.ctl"), "-P", filepath.Join(dir, "bird.pid"))
	return d, err
}

func renderBIRD(t *Topology) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("log stderr { warning, error, fatal, bug };")
	w("router id %s;", t.Addr)
	w("protocol device {}")
	// The next hops' link, so that multihop sessions resolve them
	// (recursively, through this route).
	w("protocol direct { ipv4; interface %q; }", t.NextHopLink)
	peer := func(name string, n Neighbor, channel string) {
		w("protocol bgp %s {", name)
		w("  local %s as %d;", t.Addr, t.AS)
		w("  neighbor %s as %d;", n.Addr, n.AS)
		w("  multihop 2;")
		w("  passive on;")
		w("  ipv4 { %s };", channel)
		w("}")
	}
	for i, n := range t.Injectors {
		peer(fmt.Sprintf("inj%d", i+1), n, "import all; export none;")
	}
	for i, n := range t.Monitors {
		peer(fmt.Sprintf("mon%d", i+1), n, "import none; export where source = RTS_BGP;")
	}
	return b.String()
}
