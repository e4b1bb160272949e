package config

import (
	"fmt"
	"slices"
	"time"
)

// APIVersion is the apiVersion every resource carries.
const APIVersion = "bgp.godwit.dev/v1alpha1"

// Kind names a resource type, spelt as in the YAML "kind" field.
type Kind string

// The resource kinds. The order of KindOrder is also the dependency order:
// a kind may refer only to kinds listed before it (a BGPPeer names a
// RoutePolicy and a VRF, a LoadBalancer names an IPPool).
const (
	KindBGPConfiguration Kind = "BGPConfiguration"
	KindRoutePolicy      Kind = "RoutePolicy"
	KindVRF              Kind = "VRF"
	KindIPPool           Kind = "IPPool"
	KindNode             Kind = "Node"
	KindAnnouncement     Kind = "Announcement"
	KindRedistribution   Kind = "Redistribution"
	KindLoadBalancer     Kind = "LoadBalancer"
	KindBGPPeer          Kind = "BGPPeer"
	KindBGPaaS           Kind = "BGPaaS"
)

// KindOrder lists every kind in dependency order. Writers that apply a set
// of resources one at a time (Apply) create and update in this order and
// delete in the reverse one, so that a watcher never sees a reference to a
// resource that does not exist yet.
var KindOrder = []Kind{
	KindBGPConfiguration,
	KindRoutePolicy,
	KindVRF,
	KindIPPool,
	KindNode,
	KindAnnouncement,
	KindRedistribution,
	KindLoadBalancer,
	KindBGPPeer,
	KindBGPaaS,
}

// Known reports whether k is one of the kinds of KindOrder.
func (k Kind) Known() bool { return slices.Contains(KindOrder, k) }

// rank is k's position in KindOrder (unknown kinds sort last).
func (k Kind) rank() int {
	if i := slices.Index(KindOrder, k); i >= 0 {
		return i
	}
	return len(KindOrder)
}

// NewSpec returns an empty spec of kind k, or nil when k is not known.
func NewSpec(k Kind) Spec {
	switch k {
	case KindBGPConfiguration:
		return &BGPConfigurationSpec{}
	case KindRoutePolicy:
		return &RoutePolicySpec{}
	case KindVRF:
		return &VRFSpec{}
	case KindIPPool:
		return &IPPoolSpec{}
	case KindNode:
		return &NodeSpec{}
	case KindAnnouncement:
		return &AnnouncementSpec{}
	case KindRedistribution:
		return &RedistributionSpec{}
	case KindLoadBalancer:
		return &LoadBalancerSpec{}
	case KindBGPPeer:
		return &BGPPeerSpec{}
	case KindBGPaaS:
		return &BGPaaSSpec{}
	}
	return nil
}

// Spec is the desired state of one resource: a pointer to one of the
// *Spec types of this package (the set is closed).
type Spec interface {
	// Kind is the kind this spec belongs to.
	Kind() Kind
	// validate reports the spec's own errors (not references to other
	// resources) to v, with paths under "spec".
	validate(v *validator)
}

// Resource is one configuration object, Kubernetes style.
//
// Resources handed out by a Store (Get, List, Watch events) are shared,
// immutable snapshots: callers must not modify them, and use Clone to get a
// copy they may change. The store itself copies what it is given.
type Resource struct {
	APIVersion string   `json:"apiVersion"`
	Kind       Kind     `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
	// Status is what the daemon observed about the resource. It is set only
	// through Store.SetStatus; writes of the resource keep it unchanged.
	Status *Status `json:"status,omitempty"`
}

// New returns a resource of the spec's kind named name.
func New(name string, spec Spec) *Resource {
	return &Resource{APIVersion: APIVersion, Kind: spec.Kind(), Metadata: Metadata{Name: name}, Spec: spec}
}

// Metadata identifies a resource and carries the store's bookkeeping.
// Name is the only field a configuration file sets: the others are written
// by the store (ResourceVersion, Generation) or by whoever writes the
// resource (Owner); in a file they are accepted, for round trips of store
// dumps, and ignored by Apply.
type Metadata struct {
	// Name is unique within its kind: lower-case letters, digits, '-' and
	// '.', at most 253 characters, starting and ending with a letter or a
	// digit.
	Name string `json:"name"`
	// Owner says which source wrote the resource: "file" (or
	// "file:<path>") for a configuration file, "api:<client>" for
	// resources injected through the management API. Apply only ever
	// modifies or deletes resources of its own owner, so reloading the file
	// never deletes an API-owned resource.
	Owner string `json:"owner,omitempty"`
	// ResourceVersion is the store revision of the resource's last write
	// (spec or status). Revisions increase by one with every write to the
	// store, whatever the resource, as in etcd. Zero means "not stored".
	ResourceVersion uint64 `json:"resourceVersion,omitempty"`
	// Generation counts the changes of the spec (and owner): 1 when the
	// resource is created, one more for every write that changes them.
	// Status writes leave it alone, so a consumer compares it with
	// Status.ObservedGeneration to know whether it has caught up.
	Generation int64 `json:"generation,omitempty" range:"0..9223372036854775807"`
}

// Status is the observed state of a resource, written by the component
// that acts on it.
type Status struct {
	// ObservedGeneration is the Generation the writer of the status acted on.
	ObservedGeneration int64 `json:"observedGeneration,omitempty" range:"0..9223372036854775807"`
	// Conditions are named, independent facts, Kubernetes style.
	Conditions []Condition `json:"conditions,omitempty"`
	// LastError is the most recent error about the resource, if any.
	LastError string `json:"lastError,omitempty"`
	// Message is free text for people.
	Message string `json:"message,omitempty"`
}

// Condition is one fact about a resource, such as "Loaded" being "False".
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
	LastTransitionTime time.Time       `json:"lastTransitionTime,omitzero"`
}

// ConditionStatus is "True", "False" or "Unknown".
type ConditionStatus string

// The values of ConditionStatus.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition returns the condition of type t, or nil.
func (s *Status) Condition(t string) *Condition {
	if s == nil {
		return nil
	}
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// SetCondition sets c, replacing the condition of the same type. The
// transition time is kept when the status value did not change, and set to
// now when it did and c carries none.
func (s *Status) SetCondition(c Condition, now time.Time) {
	if old := s.Condition(c.Type); old != nil {
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = now
		}
		*old = c
		return
	}
	if c.LastTransitionTime.IsZero() {
		c.LastTransitionTime = now
	}
	s.Conditions = append(s.Conditions, c)
}

// Ref names a resource.
type Ref struct {
	Kind Kind
	Name string
}

func (r Ref) String() string { return fmt.Sprintf("%s %q", r.Kind, r.Name) }

// Ref returns the kind and name of r.
func (r *Resource) Ref() Ref { return Ref{Kind: r.Kind, Name: r.Metadata.Name} }

// String names the resource and its version; it never shows the spec (and
// so never a password).
func (r *Resource) String() string {
	if r == nil {
		return "<nil>"
	}
	if r.Metadata.ResourceVersion != 0 {
		return fmt.Sprintf("%s %q (version %d)", r.Kind, r.Metadata.Name, r.Metadata.ResourceVersion)
	}
	return fmt.Sprintf("%s %q", r.Kind, r.Metadata.Name)
}

// Clone returns a deep copy of r, which the caller may modify.
func (r *Resource) Clone() *Resource {
	if r == nil {
		return nil
	}
	return deepCopy(r)
}

// Redacted returns a copy of r with every password replaced by the
// placeholder "<redacted>", for display. Print redacts by itself; this is
// for other encoders (JSON for the API).
func (r *Resource) Redacted() *Resource {
	c := r.Clone()
	redact(c)
	return c
}

// SortResources sorts rs canonically: by kind in KindOrder, then by name.
func SortResources(rs []*Resource) {
	slices.SortStableFunc(rs, func(a, b *Resource) int {
		if d := a.Kind.rank() - b.Kind.rank(); d != 0 {
			return d
		}
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		switch {
		case a.Metadata.Name < b.Metadata.Name:
			return -1
		case a.Metadata.Name > b.Metadata.Name:
			return 1
		}
		return 0
	})
}
