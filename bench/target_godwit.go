package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// godwitTarget is godwitd, started with --no-fib and --log-level warn, with
// no GC settings from the environment (its defaults are its own).
//
// Configuration: passive peers with eBGP multihop 2 from 10.0.0.1; the
// monitors get the accept-all export policy, the injectors none (the
// default policy sends learned routes to no eBGP peer).
type godwitTarget struct {
	bin  string // empty: find it
	name string // empty: "godwit"
}

func (g *godwitTarget) Name() string {
	if g.name != "" {
		return g.name
	}
	return "godwit"
}

// binary finds godwitd: the given path, else next to this program, else
// on PATH.
func (g *godwitTarget) binary() (string, error) {
	if g.bin != "" {
		if _, err := os.Stat(g.bin); err != nil {
			return "", err
		}
		return g.bin, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "godwitd")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("godwitd"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("godwitd %w next to this program or on PATH (go build -o bin/ ./cmd/godwitd, or --godwitd PATH)", errNotFound)
}

func (g *godwitTarget) Check() error {
	_, err := g.binary()
	return err
}

func (g *godwitTarget) Start(ns *netns.NS, dir string, topo *Topology) (*Daemon, error) {
	bin, err := g.binary()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "godwitd.yaml")
	if err := os.WriteFile(conf, []byte(renderGodwit(topo)), 0o600); err != nil {
		return nil, err
	}
	d := &Daemon{ns: ns}
	err = d.start(dir, "godwitd", bin, "--config", conf, "--api", "unix://"+filepath.Join(dir, "godwitd.sock"),
		"--no-fib", "--log-level", "warn")
	return d, err
}

func renderGodwit(t *Topology) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("apiVersion: bgp.godwit.dev/v1alpha1")
	w("kind: BGPConfiguration")
	w("metadata: {name: default}")
	w("spec: {asNumber: %d, routerID: %s, listenAddresses: [\"%s:179\"]}", t.AS, t.Addr, t.Addr)
	w("---")
	w("apiVersion: bgp.godwit.dev/v1alpha1")
	w("kind: RoutePolicy")
	w("metadata: {name: accept-all}")
	w("spec:")
	w("  statements:")
	w("  - name: everything")
	w("    actions: {result: accept}")
	peer := func(name string, n Neighbor, export string) {
		w("---")
		w("apiVersion: bgp.godwit.dev/v1alpha1")
		w("kind: BGPPeer")
		w("metadata: {name: %s}", name)
		extra := ""
		if export != "" {
			extra = ", exportPolicy: " + export
		}
		w("spec: {peerAddress: %s, peerASN: %d, localAddress: %s, passive: true, ebgpMultihop: 2%s}", n.Addr, n.AS, t.Addr, extra)
	}
	for i, n := range t.Injectors {
		peer(fmt.Sprintf("injector%d", i+1), n, "")
	}
	for i, n := range t.Monitors {
		peer(fmt.Sprintf("monitor%d", i+1), n, "accept-all")
	}
	return b.String()
}
