// Package config is godwit's configuration: the resource model of
// DESIGN.md ("Resource model") as Go types, a strict YAML parser and
// validator, a canonical printer, and the store that holds the resources
// and tells the rest of the daemon when they change.
//
// # Layer
//
// config sits above wire ... evpn and below cluster, proxy and daemon
// (DESIGN.md, "Architecture"). It imports no other godwit package, only the
// standard library and go.yaml.in/yaml/v3: the lower layers take plain
// values (the daemon converts), and the higher ones read resources from a
// Store.
//
// # What it owns
//
//   - Resources: Resource (apiVersion, kind, metadata, spec, status) and one
//     spec type per kind: BGPConfigurationSpec, BGPPeerSpec, RoutePolicySpec,
//     VRFSpec, IPPoolSpec, NodeSpec, AnnouncementSpec, LoadBalancerSpec,
//     BGPaaSSpec. Field names are the YAML/JSON names (`json` tags).
//     Addresses and prefixes are netip values; BGP timers (holdTime,
//     keepaliveTime, connectRetryTime, restartTime) are whole seconds, as in
//     FRR and BIRD; other lengths of time (maxPrefixesRestart) are Go
//     durations ("5m", or whole seconds). Unset fields are zero values and
//     the Effective... and Timers methods give the defaults.
//   - Parsing and validation (parse.go, decode.go, validate.go): Parse and
//     LoadFile decode document by document with no unknown field, wrong type
//     or duplicate key let through, check every spec and the references
//     between resources, and return all errors at once as *Error values
//     that name the file, document, resource, line, field path and reason.
//     Passwords (Secret) never appear in errors or printed output.
//   - Selectors (selector.go): Selector, a label selector in Calico's
//     syntax (rack == 'a' && !has(route-reflector)), parsed once when
//     decoded, printed canonically, matched without allocating.
//   - Printing (print.go): Print writes the canonical YAML form; parsing it
//     gives back the same resources.
//   - The store (store.go, memory.go): the Store interface (Get, List,
//     Watch, CompareAndSwap, Delete, SetStatus, Revision), shaped so that
//     etcd and Kubernetes backends can follow, and Memory, the in-memory
//     implementation. Versions are store revisions as in etcd; Generation
//     counts spec changes; watches start with a snapshot and never block
//     writers (a watcher that falls behind is ended with ErrWatchOverflow
//     and re-lists by watching again).
//   - The file backend (apply.go, file.go): Apply makes one owner's
//     resources in a store equal a parsed file, writing only the
//     differences; FileSource loads a file on demand or when it changes
//     (polling), keeps the last good configuration when the file is bad,
//     and reports the error in its Status and on the BGPConfiguration.
//     Resources carry an owner ("file", "api:<client>"); a file reload never
//     touches resources of another owner.
//
// # Where to start
//
// Read resource.go (the envelope and kinds), then the spec_*.go files (one
// per group of kinds, each with its validation), then store.go. Tests:
// parse_test.go shows every error message; testdata/ holds the examples of
// DESIGN.md and their canonical (golden) forms.
package config
