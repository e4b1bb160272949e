// Package prefetch asks the processor to start loading a cache line that
// will be read soon, without waiting for it: the PREFETCHT0 instruction on
// amd64, PRFM PLDL1KEEP on arm64, nothing elsewhere.
//
// Why: a table of a million prefixes does not fit any cache, so a lookup
// waits for a memory load (about 150 ns on the machines here) and a loop
// of lookups waits for them one after the other. Prefetching the next
// few keys' slots while working on the current one keeps several loads in
// flight. A plain load does not do the same: the processor cannot retire
// anything past a load that has not arrived, and its reorder window fills
// within one lookup's worth of work.
package prefetch

import "unsafe"

// Line starts loading the cache line holding p. p is only a hint: it is
// never dereferenced by Go code, and an address that is not mapped is
// ignored by the processor.
func Line(p unsafe.Pointer) { line(p) }
