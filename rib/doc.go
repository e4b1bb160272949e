// Package rib holds routes: interned attribute sets, paths, and the BGP
// decision process. It is the layer above peer and below policy: it imports
// wire (and its subpackages) and internal/offheap only; policy plugs in
// through hooks declared here, and the daemon wires peers to it.
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
//   - key.go: route keys, fixed-size and pointer-free (Prefix4 packed in
//     one word, Prefix6 in 17 bytes), and how VPN, EVPN (key_vpn.go) and ADD-PATH fit.
//   - locrib.go: LocRIB, the Loc-RIB of one (VRF, AFI/SAFI): every path
//     as a 16-byte record in a shared slab, best path and multipath kept
//     current per prefix, and a coalescing change feed (Drain, and
//     DrainAll with a dense slot per prefix for consumers' arrays). One
//     owner goroutine; its header says how readers get consistent views.
//     Its big arrays (index, entries, slab pages) are mapped outside the Go
//     heap through internal/offheap.
//   - index.go: the open-addressing key index behind LocRIB; slab.go: the
//     paged record store.
//
// Start with decide.go: its header restates the steps in order; then
// locrib.go.
package rib
