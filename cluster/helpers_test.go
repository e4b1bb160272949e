package cluster

import (
	"fmt"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/config"
)

// parse builds a resource set from one line per resource, "Kind name
// spec", the spec in YAML flow style:
//
//	Node n1 {address: 10.0.0.1, labels: {rack: a}}
//
// The set goes through config.Parse, so it is validated as a file is.
func parse(t testing.TB, lines ...string) []*config.Resource {
	t.Helper()
	var b strings.Builder
	for i, l := range lines {
		kind, rest, _ := strings.Cut(strings.TrimSpace(l), " ")
		name, spec, _ := strings.Cut(rest, " ")
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata: {name: %s}\nspec: %s\n", config.APIVersion, kind, name, spec)
	}
	rs, err := config.Parse("test.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, b.String())
	}
	return rs
}

// render prints peerings one per line, for comparing with a table:
//
//	10.0.0.2 AS65000 n2 from 10.0.0.1 AS65000: node-to-node mesh, passive
func render(ps []Peering) string {
	var lines []string
	for _, p := range ps {
		var b strings.Builder
		fmt.Fprintf(&b, "%s AS%d", p.Address, p.PeerAS)
		if p.Node != "" {
			fmt.Fprintf(&b, " %s", p.Node)
		}
		if p.VRF != "" {
			fmt.Fprintf(&b, " vrf %s", p.VRF)
		}
		fmt.Fprintf(&b, " from %s AS%d: %s", p.LocalAddress, p.LocalAS, p.Type)
		if p.BGPPeer != "" {
			fmt.Fprintf(&b, " %s", p.BGPPeer)
		}
		if p.RouteReflectorClient {
			fmt.Fprintf(&b, ", client of cluster %s", p.ClusterID)
		}
		if p.PeerReflector {
			b.WriteString(", reflector")
		}
		if p.Passive {
			b.WriteString(", passive")
		}
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}
