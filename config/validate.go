package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// validator collects the errors of one resource as (path, reason) pairs;
// the caller attaches the file, document and line.
type validator struct {
	errs []pathError
}

func (v *validator) errf(path, format string, args ...any) {
	v.errs = append(v.errs, pathError{path: path, reason: fmt.Sprintf(format, args...)})
}

func (v *validator) required(path string) { v.errf(path, "required") }

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// nameProblem says what is wrong with a resource name, or "".
func nameProblem(name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) > 253:
		return fmt.Sprintf("must be at most 253 characters, got %d", len(name))
	case !nameRE.MatchString(name):
		return fmt.Sprintf("must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, got %q", name)
	}
	return ""
}

// optionalName checks a reference to another resource by name.
func (v *validator) optionalName(path, name string) {
	if name == "" {
		return
	}
	if p := nameProblem(name); p != "" {
		v.errf(path, "%s", p)
	}
}

// families rejects duplicates (unknown families are refused when decoding).
func (v *validator) families(path string, fs []Family) {
	for i, f := range fs {
		if j := slices.Index(fs[:i], f); j >= 0 {
			v.errf(fmt.Sprintf("%s[%d]", path, i), "%s is listed twice (also item %d)", f, j)
		}
	}
}

func (v *validator) uniquePrefixes(path string, ps []netip.Prefix) {
	for i, p := range ps {
		if j := slices.Index(ps[:i], p); j >= 0 {
			v.errf(fmt.Sprintf("%s[%d]", path, i), "%s is listed twice (also item %d)", p, j)
		}
	}
}

var (
	labelNameRE   = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelPrefixRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
)

// labels checks label keys and values with Kubernetes' rules: a key is
// an optional DNS prefix and "/", then a name of at most 63 characters; a
// value is empty or such a name.
func (v *validator) labels(path string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		if p := labelKeyProblem(k); p != "" {
			v.errf(joinPath(path, k), "%s", p)
		} else if p := labelValueProblem(m[k]); p != "" {
			v.errf(joinPath(path, k), "%s", p)
		}
	}
}

// labelKeyProblem says what is wrong with a label key, or "".
func labelKeyProblem(k string) string {
	name := k
	if prefix, rest, ok := strings.Cut(k, "/"); ok {
		if !labelPrefixRE.MatchString(prefix) {
			return fmt.Sprintf("the key's prefix must be a DNS subdomain, got %q", prefix)
		}
		name = rest
	}
	if !labelNameRE.MatchString(name) {
		return fmt.Sprintf("the key must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got %q", k)
	}
	return ""
}

// labelValueProblem says what is wrong with a label value, or "".
func labelValueProblem(val string) string {
	if val != "" && !labelNameRE.MatchString(val) {
		return fmt.Sprintf("the value must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got %q", val)
	}
	return ""
}

// selector checks that the labels and values a selector tests could be
// those of a resource (labels checks them with the same rules), so that
// a typo does not become a selector that never matches. The syntax was
// checked when it was parsed.
func (v *validator) selector(path string, s Selector) {
	seen := map[string]bool{}
	report := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			v.errf(path, "%s", p)
		}
	}
	s.labelsOf(func(key string, vals []string) {
		report(labelKeyProblem(key))
		for _, val := range vals {
			report(labelValueProblem(val))
		}
	})
}

// validateResource checks one resource on its own: envelope, name and
// spec. It does not look at other resources.
func validateResource(r *Resource) []pathError {
	var v validator
	if r.APIVersion != APIVersion {
		if r.APIVersion == "" {
			v.required("apiVersion")
		} else {
			v.errf("apiVersion", "must be %s, got %q", APIVersion, r.APIVersion)
		}
	}
	if !r.Kind.Known() {
		if r.Kind == "" {
			v.required("kind")
		} else {
			v.errf("kind", "unknown kind %q (want one of %s)", r.Kind, kindList())
		}
		return v.errs
	}
	if p := nameProblem(r.Metadata.Name); p != "" {
		v.errf("metadata.name", "%s", p)
	}
	if r.Kind == KindBGPConfiguration && r.Metadata.Name != "" && r.Metadata.Name != "default" {
		v.errf("metadata.name", "must be default (there is one BGPConfiguration), got %q", r.Metadata.Name)
	}
	if o := r.Metadata.Owner; o != "" {
		if p := ownerProblem(o); p != "" {
			v.errf("metadata.owner", "%s", p)
		}
	}
	switch {
	case r.Spec == nil:
		v.required("spec")
	case r.Spec.Kind() != r.Kind:
		v.errf("spec", "is a %s spec in a %s resource", r.Spec.Kind(), r.Kind)
	case isNilSpec(r.Spec):
		v.required("spec")
	default:
		r.Spec.validate(&v)
	}
	return v.errs
}

// ownerProblem says what is wrong with an owner, or "".
func ownerProblem(o string) string {
	if o == "" {
		return "required"
	}
	if len(o) > 253 {
		return fmt.Sprintf("must be at most 253 characters, got %d", len(o))
	}
	for _, r := range o {
		if r <= ' ' || r == 0x7f {
			return fmt.Sprintf("must not contain spaces or control characters, got %q", o)
		}
	}
	return ""
}

func kindList() string {
	s := make([]string, len(KindOrder))
	for i, k := range KindOrder {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// resourceError is an error about one resource of a set, by its index.
type resourceError struct {
	index int
	pathError
}

// validateSet checks a set of resources together: each on its own, then
// what involves several: unique names, a single BGPConfiguration,
// references by name, overlapping pools and clashing identifiers.
// pos names resource i of the set in errors about another one.
func validateSet(rs []*Resource, pos func(i int) string) []resourceError {
	var out []resourceError
	add := func(i int, errs []pathError) {
		for _, e := range errs {
			out = append(out, resourceError{i, e})
		}
	}
	for i, r := range rs {
		add(i, validateResource(r))
	}

	byName := map[Ref]int{}
	var global *BGPConfigurationSpec
	firstConfig := -1
	for i, r := range rs {
		if !r.Kind.Known() || r.Metadata.Name == "" {
			continue
		}
		if r.Kind == KindBGPConfiguration {
			if firstConfig >= 0 {
				add(i, []pathError{{path: "kind", reason: fmt.Sprintf("only one BGPConfiguration is allowed (the first is %s)", pos(firstConfig))}})
				continue
			}
			firstConfig = i
			global, _ = r.Spec.(*BGPConfigurationSpec)
		}
		ref := r.Ref()
		if j, dup := byName[ref]; dup {
			add(i, []pathError{{path: "metadata.name", reason: fmt.Sprintf("duplicate %s %q (first is %s)", r.Kind, r.Metadata.Name, pos(j))}})
			continue
		}
		byName[ref] = i
	}
	exists := func(k Kind, name string) bool {
		_, ok := byName[Ref{k, name}]
		return ok
	}
	ref := func(i int, path string, k Kind, name string) {
		if name != "" && nameProblem(name) == "" && !exists(k, name) {
			add(i, []pathError{{path: path, reason: fmt.Sprintf("no %s named %q", k, name)}})
		}
	}

	type poolAt struct {
		i int
		p netip.Prefix
	}
	var pools []poolAt
	rds := map[RD]int{}
	vnis := map[uint32]int{}
	nodeAddrs := map[netip.Addr]int{}
	type peerKey struct {
		addr netip.Addr
		vrf  string
		sel  string
	}
	peers := map[peerKey]int{}
	for i, r := range rs {
		if isNilSpec(r.Spec) {
			continue
		}
		switch s := r.Spec.(type) {
		case *BGPPeerSpec:
			ref(i, "spec.importPolicy", KindRoutePolicy, s.ImportPolicy)
			ref(i, "spec.exportPolicy", KindRoutePolicy, s.ExportPolicy)
			ref(i, "spec.vrf", KindVRF, s.VRF)
			if global != nil && s.RouteReflectorClient && s.PeerASN != 0 {
				local := global.ASNumber
				if s.LocalASN != 0 {
					local = s.LocalASN
				}
				if local != 0 && s.PeerASN != local {
					add(i, []pathError{{path: "spec.routeReflectorClient", reason: fmt.Sprintf("applies to iBGP peers only (peerASN %d, local AS %d)", s.PeerASN, local)}})
				}
			}
			if s.PeerAddress.IsValid() {
				k := peerKey{s.PeerAddress, s.VRF, s.NodeSelector.String()}
				if j, dup := peers[k]; dup {
					add(i, []pathError{{path: "spec.peerAddress", reason: fmt.Sprintf("%s is already the peer of %s", s.PeerAddress, pos(j))}})
				} else {
					peers[k] = i
				}
			}
		case *AnnouncementSpec:
			ref(i, "spec.vrf", KindVRF, s.VRF)
		case *BGPaaSSpec:
			ref(i, "spec.vrf", KindVRF, s.VRF)
		case *LoadBalancerSpec:
			if s.Pool != "" && nameProblem(s.Pool) == "" {
				j, ok := byName[Ref{KindIPPool, s.Pool}]
				switch {
				case !ok:
					add(i, []pathError{{path: "spec.pool", reason: fmt.Sprintf("no IPPool named %q", s.Pool)}})
				case !isNilSpec(rs[j].Spec) && rs[j].Spec.(*IPPoolSpec).EffectiveUse() != PoolUseLoadBalancer:
					add(i, []pathError{{path: "spec.pool", reason: fmt.Sprintf("IPPool %q is not for use loadBalancer", s.Pool)}})
				}
			}
		case *IPPoolSpec:
			if !s.CIDR.IsValid() || s.Disabled {
				continue
			}
			for _, o := range pools {
				if o.p.Overlaps(s.CIDR) {
					add(i, []pathError{{path: "spec.cidr", reason: fmt.Sprintf("%s overlaps %s of %s", s.CIDR, o.p, pos(o.i))}})
					break
				}
			}
			pools = append(pools, poolAt{i, s.CIDR})
		case *VRFSpec:
			if !s.RouteDistinguisher.IsZero() {
				if j, dup := rds[s.RouteDistinguisher]; dup {
					add(i, []pathError{{path: "spec.routeDistinguisher", reason: fmt.Sprintf("%s is already used by %s", s.RouteDistinguisher, pos(j))}})
				} else {
					rds[s.RouteDistinguisher] = i
				}
			}
			if s.VNI != 0 {
				if j, dup := vnis[s.VNI]; dup {
					add(i, []pathError{{path: "spec.vni", reason: fmt.Sprintf("%d is already used by %s", s.VNI, pos(j))}})
				} else {
					vnis[s.VNI] = i
				}
			}
		case *NodeSpec:
			for k, a := range append([]netip.Addr{s.Address}, s.Addresses...) {
				if !a.IsValid() {
					continue
				}
				path := "spec.address"
				if k > 0 {
					path = fmt.Sprintf("spec.addresses[%d]", k-1)
				}
				if j, dup := nodeAddrs[a]; dup && j != i {
					add(i, []pathError{{path: path, reason: fmt.Sprintf("%s is already an address of %s", a, pos(j))}})
				} else {
					nodeAddrs[a] = i
				}
			}
		}
	}
	return out
}

// isNilSpec reports whether s is a typed nil pointer.
func isNilSpec(s Spec) bool {
	switch s := s.(type) {
	case nil:
		return true
	case *BGPConfigurationSpec:
		return s == nil
	case *BGPPeerSpec:
		return s == nil
	case *AnnouncementSpec:
		return s == nil
	case *IPPoolSpec:
		return s == nil
	case *NodeSpec:
		return s == nil
	case *LoadBalancerSpec:
		return s == nil
	case *VRFSpec:
		return s == nil
	case *BGPaaSSpec:
		return s == nil
	case *RoutePolicySpec:
		return s == nil
	}
	return false
}
