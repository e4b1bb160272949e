// Package routers runs the real BGP daemons godwit must interoperate with
// (FRR 8.4, BIRD 2.0, GoBGP 3.10, OpenBGPD 7.7, ExaBGP 4.2, as Debian 12
// packages them) inside network namespaces, and reads their state back as
// Go values.
//
// It is test and lab infrastructure in the lab layer of DESIGN.md: the
// interop tests and `godwit lab` use it; nothing in the speaker may import
// it. It imports only internal/netns and the standard library, and drives
// each daemon through its own command-line client (vtysh, birdc, gobgp,
// bgpctl) or, for ExaBGP, through an API process.
//
// Where to start:
//
//   - Config and Neighbor describe one router in daemon-neutral terms
//     (router ID, AS, neighbours with MD5, hold time, passive, multihop,
//     TTL security, families, ADD-PATH, routes to originate). Raw daemon
//     text for route-maps and filters goes in Config.Extra, and a
//     neighbour names it in ImportPolicy/ExportPolicy.
//   - StartFRR, StartBIRD, StartGoBGP, StartOpenBGPD and StartExaBGP (or
//     Start by Kind) render the configuration into a fresh directory, start
//     the daemon in a netns.NS with its output in log files, and return
//     once it answers its client. Its processes end with Stop, or when the
//     namespace is closed (at test cleanup).
//   - Every launcher is a Router: Sessions and Routes return Session and
//     Path values normalised across daemons (RFC 4271 state names, AS path
//     as numbers, communities as "a:b"); Logs returns the log tails.
//   - For tests: Require skips without root or the programs;
//     DumpOnFailure prints sessions and logs when a test fails;
//     WaitEstablished and WaitRoute poll with DefaultTimeout and fail fast
//     when a daemon dies. The lab uses WaitSession and WaitPaths.
//   - AttachFRR gives another process (the lab's status) a handle on an
//     FRR started earlier, from its directory.
//   - Daemon-specific handles: FRR.Vtysh/ConfigureBGP/Route/Neighbor,
//     BIRD.Birdc, GoBGP.CLI/AddRoute, OpenBGPD.Bgpctl, ExaBGP.API (inject
//     announcements at runtime) and ExaBGP.Received (every message it got,
//     parsed).
//
// Each launcher's type comment says how that daemon runs here; the traps
// found while writing them (FRR and the frr user, OpenBGPD's chroot,
// ExaBGP's environment, connect-retry timers) are commented where they are
// handled. routers_test.go holds the proof: real sessions between pairs of
// daemons, and all five on one segment.
package routers
