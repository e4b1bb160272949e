package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/backend"
	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/godwit-bgp/godwit/internal/version"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// flags are godwitd's command line.
type flags struct {
	config        string
	api           string
	apiGroup      string
	noFIB         bool
	node          string
	clusterState  string
	metrics       string
	pprof         string
	cpuProfile    string
	memProfile    string
	logFormat     string
	logLevel      string
	watchConfig   bool
	watchInterval time.Duration
	version       bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("godwitd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "the configuration `FILE` (required)")
	fs.StringVar(&f.api, "api", api.DefaultAddr, "the API socket: unix://`PATH` or a path")
	fs.StringVar(&f.apiGroup, "api-group", "", "a `GROUP` whose members may use the API socket (mode 0660); default: root only (0600)")
	fs.BoolVar(&f.noFIB, "no-fib", false, "keep learned routes out of the kernel: it is read (next hops resolve through it) but never written")
	fs.StringVar(&f.node, "node", "", "this speaker is the cluster Node `NAME`: its sessions, pod blocks and LoadBalancer addresses come from the shared resources")
	fs.StringVar(&f.clusterState, "cluster-state", daemon.DefaultClusterState, "the `FILE` that keeps pod block and LoadBalancer address allocations (with --node; nodes on one machine may share it)")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at /metrics on `ADDR` (host:port)")
	fs.StringVar(&f.pprof, "pprof", "", "serve net/http/pprof at /debug/pprof/ on `ADDR` (host:port; keep it on loopback)")
	fs.StringVar(&f.memProfile, "memprofile", "", "write the allocation profile of the whole run (pprof's allocs: every allocation since the start, and what is live) to `FILE` when godwitd stops")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `FILE` when godwitd stops (SIGTERM or SIGINT); for benchmarks, where --pprof's fixed-length profiles miss the interesting second")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&f.watchConfig, "watch-config", false, "poll the configuration file and reload it when it changes")
	fs.DurationVar(&f.watchInterval, "watch-interval", 2*time.Second, "how often --watch-config polls")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: godwitd --config FILE [flags]\n\nThe godwit BGP speaker.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; see --help)", fs.Arg(0))
	}
	if f.version {
		return f, nil
	}
	if f.config == "" {
		return nil, errors.New("--config FILE is required")
	}
	if f.logFormat != "text" && f.logFormat != "json" {
		return nil, fmt.Errorf("--log-format must be text or json, got %q", f.logFormat)
	}
	if _, err := parseLevel(f.logLevel); err != nil {
		return nil, err
	}
	if f.watchInterval <= 0 {
		return nil, fmt.Errorf("--watch-interval must be positive, got %s", f.watchInterval)
	}
	return f, nil
}

func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", s)
}

func newLogger(f *flags, w io.Writer) *slog.Logger {
	level, _ := parseLevel(f.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	if f.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// run is godwitd; it returns the exit status.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "godwitd: %v\n", err)
		return exitUsage
	}
	if f.version {
		fmt.Fprintf(stdout, "godwitd %s\n", version.String())
		return exitOK
	}
	// Signals are caught from the start: one that arrives while the
	// configuration loads waits in the channel.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	log := newLogger(f, stderr)
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "godwitd: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer stop()
	}
	if f.memProfile != "" {
		// Sampled as the runtime samples by default (one per 512 KiB):
		// enough to see where the bytes go without slowing the run.
		defer func() {
			if err := writeMemProfile(f.memProfile); err != nil {
				fmt.Fprintf(stderr, "godwitd: --memprofile: %v\n", err)
			}
		}()
	}
	gc := daemon.SetGCDefaults(getenv)
	log.Info("GC settings", "gc-percent", gc.GCPercent, "memory-limit", gc.MemoryLimit, "limit-from", gc.Source)

	opt := daemon.Options{
		ConfigPath:   f.config,
		MetricsAddr:  f.metrics,
		PprofAddr:    f.pprof,
		NoFIB:        f.noFIB,
		Node:         f.node,
		ClusterState: f.clusterState,
		Logger:       log,
		Version:      version.String(),
	}
	if f.watchConfig {
		opt.WatchConfig = f.watchInterval
	}
	d, err := daemon.New(opt)
	if err != nil {
		printError(stderr, err)
		return exitError
	}
	srv, err := api.NewServer(backend.New(d), api.ServerConfig{Addr: f.api, SocketGroup: f.apiGroup, Logger: log})
	if err != nil {
		printError(stderr, err)
		return exitError
	}

	go func() {
		for {
			select {
			case <-d.Done():
				return
			case sig := <-sigs:
				switch sig {
				case syscall.SIGHUP:
					log.Info("SIGHUP: reloading the configuration")
					_ = d.Reload() // logged and recorded by the daemon
				default:
					log.Info("stopping", "signal", sig.String())
					d.Stop(false)
				}
			}
		}
	}()

	err = d.Run(context.Background())
	srv.Close()
	if err != nil {
		printError(stderr, err)
		return exitError
	}
	return exitOK
}

// startCPUProfile starts the CPU profile written to path by the returned
// function.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printError writes err on stderr, one configuration error a line.
func printError(w io.Writer, err error) {
	if errs := config.Errors(err); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(w, "godwitd: %s\n", e)
		}
		return
	}
	fmt.Fprintf(w, "godwitd: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
}
