// Package rib holds routes: interned attribute sets, paths, and the BGP
// decision process. It is the layer above peer and below policy: it imports
// wire (and its subpackages) only; policy plugs in through hooks declared
// here, and the daemon wires peers to it.
//
// This first part has the pieces every table is built from:
//
//   - attrs.go: attribute sets interned once per speaker (Table), shared by
//     every RIB and VRF by pointer and reference-counted, with the values the
//     decision process needs decoded once per set rather than per path.
//   - decide.go: the decision process of RFC 4271 §9.1.2.2 with the
//     customary additions, as a comparison of two paths that reports the
//     step that decided, and Select, which picks the best path and the
//     multipath (ECMP) set of a prefix.
//
// Start with decide.go: its header restates the steps in order.
package rib
