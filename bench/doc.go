// Package bench measures BGP daemons side by side on one machine, in the
// manner of bgperf: injector peers push a table into the daemon under test
// as fast as TCP takes it, monitor peers receive what it re-advertises,
// and the clock runs from the first UPDATE to the moment every monitor
// holds every prefix with its best path. It is the library behind
// cmd/godwit-bench; docs/performance.md says how to run it and what the
// numbers of the last run were.
//
// Layer: lab (test and measurement infrastructure, like internal/routers).
// It imports wire and transport for its own test peers, internal/netns for
// the namespace of each run and internal/routers for where Debian puts the
// daemons; nothing in the speaker imports it.
//
// Where to start:
//
//   - table.go: the deterministic table generator (Generate) and the
//     attribute sets each injector announces (Table.Attrs); mrt.go loads
//     a real table from an MRT RIB dump instead (LoadMRT).
//   - encode.go: every injector's table packed into UPDATEs before the
//     clock starts (Table.Encode, wire.Packer).
//   - session.go, injector.go, monitor.go: the test peers, a minimal
//     speaker each (OPEN, KEEPALIVE, then raw writes or in-place decoding);
//     index.go is the monitors' prefix index; peers.go connects them to a
//     target, or to each other for the self-check.
//   - target*.go: how each daemon is configured and started (BIRD, FRR,
//     GoBGP, OpenBGPD, godwitd), with the same policy everywhere: accept
//     everything from the injectors, send everything to the monitors,
//     nothing back to the injectors, no kernel writes, warnings only.
//   - run.go: one run (a fresh namespace, the target, the sessions, the
//     measurement) and the runner that interleaves targets over
//     repetitions; proc.go reads CPU and peak RSS of every process in the
//     run's namespace; idle.go samples the target at rest after a run
//     (--idle); selfcheck.go measures the test peers alone;
//     report.go turns runs into medians, ranges, ratios, a text table and
//     JSON.
//
// # The traps it avoids
//
//   - A tester that is the bottleneck: tables are encoded before the
//     clock, written in large chunks, and decoded by the monitors without
//     a per-prefix allocation; the self-check measures injector to monitor
//     with no target in between and reports how many times faster than
//     the fastest target that is.
//   - Memory or CPU of one process of several: every process in the run's
//     namespace is counted (FRR's zebra and bgpd, OpenBGPD's parent and
//     engines), found through /proc/PID/ns/net rather than by name.
//   - Warm caches on one side only: each target gets an unmeasured
//     warm-up run, every run starts the daemon afresh in a fresh
//     namespace, and the order of targets rotates between repetitions.
//   - An early stop: a monitor is done only when it holds every prefix
//     with the path the decision process must pick (S3 makes one
//     injector's path strictly shortest per prefix), not when it has seen
//     every prefix once.
package bench
