package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/internal/netns"
)

// gobgpTarget is GoBGP 3 (gobgpd), one process, without zebra (so nothing
// reaches the kernel, and next hops are taken as reachable).
//
// Configuration choices: passive sessions, eBGP multihop 2, local address
// 10.0.0.1; global import accept; a global export policy that rejects
// routes towards the injectors (the neighbor-set condition of an export
// policy matches the destination) and accepts the rest. Logging: warn.
// Its gRPC API listens on the namespace's 127.0.0.1 (for a person
// debugging a run), pprof is off.
type gobgpTarget struct{}

func (gobgpTarget) Name() string { return "gobgp" }

func (gobgpTarget) Check() error { return needBinaries("gobgpd") }

func (gobgpTarget) Start(ns *netns.NS, dir string, topo *Topology) (*Daemon, error) {
	conf := filepath.Join(dir, "gobgpd.toml")
	if err := os.WriteFile(conf, []byte(renderGoBGP(topo)), 0o644); err != nil {
		return nil, err
	}
	d := &Daemon{ns: ns}
	err := d.start(dir, "gobgpd", "gobgpd", "-f", conf, "--api-hosts", "127.0.0.1:50051",
		"--pprof-disable", "--log-plain", "--log-level=warn")
	return d, err
}

func renderGoBGP(t *Topology) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	q := strconv.Quote
	w("[global.config]")
	w("  as = %d", t.AS)
	w("  router-id = %s", q(t.Addr.String()))
	w("  local-address-list = [%s]", q(t.Addr.String()))
	w("[global.apply-policy.config]")
	w("  default-import-policy = \"accept-route\"")
	w("  export-policy-list = [\"bench-no-transit\"]")
	w("  default-export-policy = \"accept-route\"")
	var inj []string
	for _, n := range t.Injectors {
		inj = append(inj, q(n.Addr.String()+"/32"))
	}
	w("")
	w("[[defined-sets.neighbor-sets]]")
	w("  neighbor-set-name = \"injectors\"")
	w("  neighbor-info-list = [%s]", strings.Join(inj, ", "))
	w("")
	w("[[policy-definitions]]")
	w("  name = \"bench-no-transit\"")
	w("  [[policy-definitions.statements]]")
	w("    name = \"not-to-injectors\"")
	w("    [policy-definitions.statements.conditions.match-neighbor-set]")
	w("      neighbor-set = \"injectors\"")
	w("    [policy-definitions.statements.actions]")
	w("      route-disposition = \"reject-route\"")
	for _, n := range append(append([]Neighbor(nil), t.Injectors...), t.Monitors...) {
		w("")
		w("[[neighbors]]")
		w("  [neighbors.config]")
		w("    neighbor-address = %s", q(n.Addr.String()))
		w("    peer-as = %d", n.AS)
		w("  [neighbors.transport.config]")
		w("    passive-mode = true")
		w("    local-address = %s", q(t.Addr.String()))
		w("  [neighbors.ebgp-multihop.config]")
		w("    enabled = true")
		w("    multihop-ttl = 2")
		w("  [[neighbors.afi-safis]]")
		w("    [neighbors.afi-safis.config]")
		w("      afi-safi-name = \"ipv4-unicast\"")
	}
	return b.String()
}
