// Command godwitd is the godwit BGP speaker.
//
//	godwitd --config FILE [--api ADDR] [--no-fib] [--node NAME [--cluster-state FILE]] [--metrics ADDR] [--pprof ADDR] [--cpuprofile FILE] [--memprofile FILE]
//	        [--log-format text|json] [--log-level debug|info|warn|error]
//	        [--watch-config] [--watch-interval DURATION] [--api-group GROUP] [--version]
//
// Layer: programs. Flags, signals and wiring, nothing else: it builds a
// daemon.Daemon, serves it on the API socket (api.Server over
// api/backend), and turns signals into calls: SIGHUP reloads the
// configuration file, SIGTERM and SIGINT stop the speaker (every peer gets
// a Cease, see daemon.Daemon.Stop), after which godwitd exits 0. A
// configuration that does not load at start, an API socket already served
// by a live godwitd, or a listener that cannot open exits 1 with the
// reason on stderr; a wrong command line exits 2.
//
// The binary sets its own GC defaults (daemon.SetGCDefaults) unless GOGC
// or GOMEMLIMIT are set in the environment. docs/operations.md is the
// operator's guide.
package main
