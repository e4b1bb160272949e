package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// VRFSpec is a tenant routing instance (RFC 4364) with its EVPN VNI.
type VRFSpec struct {
	// RouteDistinguisher makes the VRF's routes unique in VPN families
	// (required).
	RouteDistinguisher RD `json:"routeDistinguisher"`
	// ImportRouteTargets: VPN routes carrying any of these are imported.
	ImportRouteTargets []RouteTarget `json:"importRouteTargets,omitempty"`
	// ExportRouteTargets are attached to the VRF's routes when exported.
	ExportRouteTargets []RouteTarget `json:"exportRouteTargets,omitempty"`
	// VNI is the VXLAN network identifier for EVPN (1..16777215).
	VNI uint32 `json:"vni,omitempty" range:"1..16777215"`
	// Interfaces are the Linux interfaces enslaved to the VRF.
	Interfaces []string `json:"interfaces,omitempty"`
	// Table is the kernel routing table of the VRF; default: allocated.
	// 253..255 are the kernel's default, main and local tables.
	Table uint32 `json:"table,omitempty" range:"1..4294967295"`
}

// Kind implements Spec.
func (*VRFSpec) Kind() Kind { return KindVRF }

func (s *VRFSpec) validate(v *validator) {
	if s.RouteDistinguisher.IsZero() {
		v.required("spec.routeDistinguisher")
	}
	for _, l := range []struct {
		name string
		rts  []RouteTarget
	}{{"importRouteTargets", s.ImportRouteTargets}, {"exportRouteTargets", s.ExportRouteTargets}} {
		for i, rt := range l.rts {
			for j := range i {
				if l.rts[j] == rt {
					v.errf(fmt.Sprintf("spec.%s[%d]", l.name, i), "%s is listed twice (also item %d)", rt, j)
					break
				}
			}
		}
	}
	for i, name := range s.Interfaces {
		p := fmt.Sprintf("spec.interfaces[%d]", i)
		// Linux: IFNAMSIZ-1 bytes, no '/', no whitespace, not "." or "..".
		switch {
		case name == "" || len(name) > 15:
			v.errf(p, "must be an interface name of 1..15 bytes, got %q", name)
		case strings.ContainsAny(name, "/: \t\n") || name == "." || name == "..":
			v.errf(p, "must be a valid interface name, got %q", name)
		}
		for j := range i {
			if s.Interfaces[j] == name {
				v.errf(p, "%s is listed twice (also item %d)", name, j)
				break
			}
		}
	}
	if s.Table >= 253 && s.Table <= 255 {
		v.errf("spec.table", "must not be 253..255 (the kernel's default, main and local tables), got %d", s.Table)
	}
}

// BGPaaSSpec is a BGP-as-a-Service session: a workload that peers with its
// network's gateway and service addresses.
type BGPaaSSpec struct {
	// WorkloadAddress is the workload's address (required).
	WorkloadAddress netip.Addr `json:"workloadAddress"`
	// Network is the cloud's name of the workload's virtual network;
	// exactly one of Network and VRF.
	Network string `json:"network,omitempty"`
	// VRF names the VRF the session terminates into.
	VRF string `json:"vrf,omitempty"`
	// PeerASN is the workload's AS (required).
	PeerASN ASN `json:"peerASN"`
	// AllowedPrefixes are the ranges the workload may announce routes
	// within (at any length); its own address is always allowed.
	AllowedPrefixes []netip.Prefix `json:"allowedPrefixes,omitempty"`
	// MaxPrefixes bounds the prefixes accepted from the workload.
	MaxPrefixes uint32 `json:"maxPrefixes,omitempty"`
	// ASOverride replaces the workload's AS by ours in paths sent to it,
	// so that workloads of one AS at several sites accept each other's
	// routes.
	ASOverride bool `json:"asOverride,omitempty"`
	// HoldTime in seconds, 0 or 3..65535; default the BGPConfiguration's.
	HoldTime *int `json:"holdTime,omitempty"`
	// Families to negotiate; default the unicast family of the workload's
	// address.
	Families []Family `json:"families,omitempty"`
	// Shutdown keeps the session administratively down.
	Shutdown bool `json:"shutdown,omitempty"`
}

// Kind implements Spec.
func (*BGPaaSSpec) Kind() Kind { return KindBGPaaS }

func (s *BGPaaSSpec) validate(v *validator) {
	if !s.WorkloadAddress.IsValid() {
		v.required("spec.workloadAddress")
	}
	switch {
	case s.Network == "" && s.VRF == "":
		v.errf("spec.vrf", "required (or give network)")
	case s.Network != "" && s.VRF != "":
		v.errf("spec.network", "cannot be combined with vrf")
	}
	v.optionalName("spec.vrf", s.VRF)
	if s.PeerASN == 0 {
		v.required("spec.peerASN")
	}
	v.uniquePrefixes("spec.allowedPrefixes", s.AllowedPrefixes)
	validateTimers(v, "spec", s.HoldTime, nil)
	v.families("spec.families", s.Families)
	for i, f := range s.Families {
		if f != IPv4Unicast && f != IPv6Unicast {
			v.errf(fmt.Sprintf("spec.families[%d]", i), "a workload session carries unicast families only, got %s", f)
		}
	}
}
