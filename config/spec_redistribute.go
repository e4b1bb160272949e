package config

import (
	"fmt"
	"path"
	"strconv"
)

// Redistribution sources.
const (
	// RedistributeConnected takes the networks of the node's interfaces
	// (the kernel's own routes of protocol "kernel" without a gateway).
	RedistributeConnected = "connected"
	// RedistributeKernel takes the routes other programs put in the
	// kernel (static, boot, dhcp, another daemon; blackholes included),
	// never godwit's own.
	RedistributeKernel = "kernel"
)

// RedistributionSpec makes kernel routes local routes of the default VRF,
// originated like an Announcement's prefixes, so that a node can announce
// what another agent programmed (FRR's `redistribute kernel|connected`,
// BIRD's kernel protocol with `learn`). A route is taken when it matches
// every selector given: the table, the protocols, the interfaces and the
// prefixSet. A default route is taken only when prefixSet names it.
type RedistributionSpec struct {
	// Source is "connected" or "kernel" (required).
	Source string `json:"source"`
	// Table is the kernel table read (default 254, the main table).
	Table int `json:"table,omitempty" range:"1..4294967295"`
	// Protocols select kernel routes by their protocol: a name of
	// /etc/iproute2/rt_protos (boot, static, dhcp, ra, zebra, bird, ...)
	// or a number (kernel source only; default: any but godwit's own).
	Protocols []RouteProtocol `json:"protocols,omitempty"`
	// Interfaces select routes through these interfaces (names, or shell
	// patterns such as "cali*"); a route matches when one of its next
	// hops' interfaces does. Default: any.
	Interfaces []string `json:"interfaces,omitempty"`
	// PrefixSet selects by prefix, as a RoutePolicy's condition does.
	// Default: any but a default route.
	PrefixSet []PrefixMatch `json:"prefixSet,omitempty"`
	// Communities, LargeCommunities, LocalPreference and MED are set on
	// the routes, as an Announcement's are.
	Communities      []Community      `json:"communities,omitempty"`
	LargeCommunities []LargeCommunity `json:"largeCommunities,omitempty"`
	LocalPreference  *uint32          `json:"localPreference,omitempty"`
	MED              *uint32          `json:"med,omitempty"`
}

// Kind implements Spec.
func (*RedistributionSpec) Kind() Kind { return KindRedistribution }

// KernelProtocols are the route protocol names of iproute2's rt_protos
// that a Redistribution may use, by number.
var KernelProtocols = map[string]int{
	"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9, "mrt": 10, "zebra": 11,
	"bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42,
	"openr": 99, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
}

// RouteProtocol is a kernel route protocol: a name of iproute2's rt_protos
// or a number, written either way in YAML.
type RouteProtocol string

// UnmarshalText takes a name or a number (YAML may write it unquoted).
func (p *RouteProtocol) UnmarshalText(b []byte) error {
	*p = RouteProtocol(b)
	_, err := p.Number()
	return err
}

// Number resolves the protocol.
func (p RouteProtocol) Number() (int, error) {
	if n, ok := KernelProtocols[string(p)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(string(p))
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("unknown route protocol %q: give a name of /etc/iproute2/rt_protos (boot, static, dhcp, ...) or a number 0..255", string(p))
	}
	return n, nil
}

// ProtocolNumbers resolves Protocols.
func (s *RedistributionSpec) ProtocolNumbers() ([]int, error) {
	out := make([]int, 0, len(s.Protocols))
	for _, p := range s.Protocols {
		n, err := p.Number()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// EffectiveTable is Table or the main table.
func (s *RedistributionSpec) EffectiveTable() int { return orDefault(s.Table, 254) }

func (s *RedistributionSpec) validate(v *validator) {
	switch s.Source {
	case "":
		v.required("spec.source")
	case RedistributeConnected, RedistributeKernel:
	default:
		v.errf("spec.source", "must be %q or %q, got %q", RedistributeConnected, RedistributeKernel, s.Source)
	}
	if s.Source == RedistributeConnected && len(s.Protocols) > 0 {
		v.errf("spec.protocols", "selects kernel routes only; connected routes are the kernel's own (remove it, or use source: kernel)")
	}
	for i, p := range s.Protocols {
		if _, err := p.Number(); err != nil {
			v.errf(fmt.Sprintf("spec.protocols[%d]", i), "%v", err)
		}
	}
	for i, pat := range s.Interfaces {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			v.errf(fmt.Sprintf("spec.interfaces[%d]", i), "bad interface pattern %q: give a name or a shell pattern such as \"cali*\"", pat)
		}
	}
	(&Conditions{PrefixSet: s.PrefixSet}).validate(v, "spec")
}
