// Command godwit-bench measures BGP daemons side by side, bgperf-style:
// godwitd, BIRD 2, FRR, GoBGP and OpenBGPD, each fed the same table by the
// same injector peers in a fresh network namespace per run, with the same
// monitor peers receiving what they re-advertise.
//
//	godwit-bench [--scenarios S1,S2,S3] [--targets bird,frr,gobgp,openbgpd,godwit]
//	             [--runs 3] [--prefixes N] [--seed 1] [--mrt FILE]
//	             [--timeout DURATION] [--silence 30s] [--idle DURATION] [--godwitd PATH]
//	             [--no-warmup] [--no-self-check] [--keep DIR] [--json] [--json-out FILE]
//	             [--cpuprofile FILE]
//
// A target godwit=PATH is another godwitd build, measured beside the
// others (--targets godwit,godwit=/tmp/new/godwitd compares two builds in
// one interleaved run).
//
// It needs root (network namespaces) and the daemons from Debian's
// packages (scripts/install-deps.sh). Progress goes to stderr; the result
// table (or, with --json, one JSON document) to stdout.
// docs/performance.md explains the method and holds the last results.
//
// Layer: programs: flags, signals, output; the work is in package bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godwit-bgp/godwit/bench"
	"github.com/godwit-bgp/godwit/internal/netns"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("godwit-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenarios", "S1,S2,S3", "comma-separated `LIST` of scenarios (S1..S4, DESIGN.md)")
	targets := fs.String("targets", strings.Join(bench.TargetNames, ","), "comma-separated `LIST` of targets; godwit=PATH adds another godwitd build, to compare two in one run")
	runs := fs.Int("runs", 3, "measured repetitions per scenario and target, interleaved")
	prefixes := fs.Int("prefixes", 0, "prefixes per table, replacing each scenario's count (`N`; 0: the scenario's)")
	seed := fs.Uint64("seed", 1, "seed of the table generator")
	mrt := fs.String("mrt", "", "take the table from an MRT RIB dump `FILE` (TABLE_DUMP_V2 or TABLE_DUMP; gzip or bzip2 allowed)")
	timeout := fs.Duration("timeout", 0, "limit of one run from the first UPDATE (0: 60s + 200µs per injected path)")
	silence := fs.Duration("silence", 30*time.Second, "a target whose monitor gets no route within this long is not measurable")
	idle := fs.Duration("idle", 0, "after each measured run converged, keep the target and its sessions up this long and sample its CPU and RSS (0: off)")
	godwitd := fs.String("godwitd", "", "godwitd binary (default: next to this program, then PATH)")
	noWarmup := fs.Bool("no-warmup", false, "skip the unmeasured warm-up run of each target")
	noSelfCheck := fs.Bool("no-self-check", false, "skip measuring the injectors against the monitors without a target")
	keepDir := fs.String("keep", "", "copy each run's configuration and logs under `DIR`")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout instead of the table")
	jsonOut := fs.String("json-out", "", "also write the JSON report to `FILE`")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the test peers (this process) to `FILE`")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: godwit-bench [flags]\n\nMeasures BGP daemons side by side (needs root and the daemons installed).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "godwit-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *idle < 0 {
		fmt.Fprintf(stderr, "godwit-bench: --idle %s: must not be negative\n", *idle)
		return 2
	}
	scs, err := bench.ParseScenarios(*scenarios)
	if err != nil {
		fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
		return 2
	}
	var ts []bench.Target
	seen := map[string]bool{}
	for _, name := range strings.Split(*targets, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		t, err := bench.NewTarget(name, *godwitd)
		if err != nil {
			fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
			return 2
		}
		if seen[t.Name()] {
			fmt.Fprintf(stderr, "godwit-bench: target %s given twice (builds compared side by side need different file names)\n", t.Name())
			return 2
		}
		seen[t.Name()] = true
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		fmt.Fprintf(stderr, "godwit-bench: no target given\n")
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "godwit-bench: needs root (it runs each daemon in a network namespace)\n")
		return 1
	}
	sweep(stderr)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	seq := 0
	r, err := bench.NewRunner(bench.Config{
		Scenarios: scs,
		Targets:   ts,
		Runs:      *runs,
		Seed:      *seed,
		MRT:       *mrt,
		Prefixes:  *prefixes,
		Timeout:   *timeout,
		Silence:   *silence,
		Idle:      *idle,
		Warmup:    !*noWarmup,
		SelfCheck: !*noSelfCheck,
		KeepDir:   *keepDir,
		Log:       stderr,
		NewNS: func(string) (*netns.NS, error) {
			seq++
			return netns.Create(fmt.Sprintf("%sp%d-%d", nsPrefix, os.Getpid(), seq))
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
		return 2
	}
	rep, err := r.Run(ctx)
	if rep == nil {
		fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "godwit-bench: stopped early: %v (printing what was measured)\n", err)
	}
	if *jsonOut != "" {
		f, ferr := os.Create(*jsonOut)
		if ferr == nil {
			ferr = rep.WriteJSON(f)
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
		}
		if ferr != nil {
			fmt.Fprintf(stderr, "godwit-bench: %v\n", ferr)
			return 1
		}
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "godwit-bench: %v\n", err)
		return 1
	}
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

// nsPrefix starts the name of every namespace this program makes:
// gwb-p<PID>-<n>.
const nsPrefix = "gwb-"

var nsName = regexp.MustCompile(`^` + nsPrefix + `p([0-9]+)-[0-9]+$`)

// sweep removes namespaces an earlier godwit-bench left behind when it was
// killed before its cleanup ran (their PID no longer runs).
func sweep(stderr io.Writer) {
	names, _ := netns.List(nsPrefix)
	for _, name := range names {
		m := nsName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue
		}
		if err := netns.Remove(name); err == nil {
			fmt.Fprintf(stderr, "godwit-bench: removed %s, left by a run that no longer exists\n", name)
		}
	}
}
