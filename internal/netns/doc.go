// Package netns builds throwaway network topologies out of Linux network
// namespaces, for the interop tests and for `godwit lab`.
//
// It is test and lab infrastructure, not part of the speaker: it sits in the
// lab layer of DESIGN.md, imports only the standard library, and nothing in
// the daemon may import it. Everything it does needs root; it shells out to
// iproute2 (`ip`) rather than speaking netlink, because a few milliseconds
// per call do not matter here and the commands are what a person debugging
// a failed test would type.
//
// Where to start:
//
//   - New(t, role) makes a namespace named after the test (lo up, IPv6 DAD
//     off, forwarding on) and removes it in t.Cleanup, pass or fail, after
//     stopping every process started in it. Create/Close do the same for the
//     lab, with names it chooses; Open, List and Remove find and delete them
//     again from another process (`lab down`).
//   - Dir is a directory for the namespace's files that goes with it.
//   - Veth joins two namespaces; NewBridge/Bridge.Attach make a shared
//     segment for three routers or more; AddAddr, AddRoute, Sysctl and IP
//     change one namespace.
//   - Exec and Command run a program inside; Start runs a daemon in the
//     background with its output in a log file and returns its PID; Stop
//     ends it (SIGTERM to its process group, SIGKILL after StopGrace).
//   - Do runs Go code with the thread switched into the namespace;
//     ListenTCP, DialTCP, Listen and Dial return sockets made inside it,
//     usable from any goroutine. Read Do's comment before using it.
//   - Require, RequireRoot and RequireBinaries skip a test with the reason;
//     HasVRF, HasMPLS, HasDummy and HasGRE probe the kernel in a scratch
//     namespace and say what is missing.
//   - Eventually (tests) and Wait (the lab) poll a condition and report the
//     last thing seen on timeout. Tests never sleep for a fixed time.
//
// Names made by New look like gwt-<test>-<role>-p<PID>-<hex>. A test binary
// killed by `go test -timeout` runs no cleanups; the next New in any test
// process removes namespaces whose PID is no longer running (Sweep).
package netns
