package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line is wrong
)

// globals are the settings every command shares: the global flags, and
// the clock and time zone the text output uses (fixed in tests).
type globals struct {
	api       string // --api
	output    string // -o, --output
	tokenFile string // --token-file, for an https:// API
	caFile    string // --ca-file, for an https:// API
	now       func() time.Time
	loc       *time.Location
}

// jsonOutput reports whether -o json was asked for.
func (g *globals) jsonOutput() bool { return g.output == "json" }

// client returns a client for --api.
func (g *globals) client() (*api.Client, error) {
	var opts []api.ClientOption
	if g.tokenFile != "" {
		token, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("API token: %w", err)
		}
		opts = append(opts, api.WithToken(string(token)))
	}
	if g.caFile != "" {
		pem, err := os.ReadFile(g.caFile)
		if err != nil {
			return nil, fmt.Errorf("API CA certificate: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("API CA certificate: no PEM certificate in %s", g.caFile)
		}
		opts = append(opts, api.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}))
	}
	c, err := api.NewClient(g.api, opts...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// usageError is an error in the command line (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run runs the CLI with args and returns the exit status. Output goes to
// stdout; a failure is one line on stderr ("godwit: REASON").
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{now: time.Now, loc: time.Local}
	return runWith(ctx, g, args, stdin, stdout, stderr)
}

func runWith(ctx context.Context, g *globals, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "godwit: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		return exitUsage
	}
	return exitError
}

// oneLine keeps the first line of a message (cobra's suggestions follow
// on later lines).
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "godwit",
		Short: "Control and inspect godwitd, the godwit BGP speaker",
		Long: `godwit shows and changes the state of a running godwitd through its API
socket, and has tools that work without a daemon (decode, config validate).

Commands that talk to the daemon print text for people, or one JSON
document with -o json.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "text" && g.output != "json" {
				return usagef("-o %s: the output formats are text and json", g.output)
			}
			return nil
		},
		// Without a command: a usage error (the help is one flag away).
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("no command given (see godwit --help)")
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.api, "api", api.DefaultAddr, "godwitd's API: unix://PATH, a socket path, or https://HOST:PORT")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	pf.StringVar(&g.tokenFile, "token-file", "", "file holding the bearer token, for an https:// API")
	pf.StringVar(&g.caFile, "ca-file", "", "CA certificate (PEM) that signed an https:// API's, instead of the system's")

	root.AddCommand(
		newStatusCmd(g),
		newNeighborsCmd(g),
		newNeighborCmd(g),
		newRoutesCmd(g),
		newVersionCmd(g),
		newConfigCmd(g),
		newPolicyCmd(g),
		newAnnounceCmd(g),
		newFIBCmd(g),
	)

	// ---- Commands that live in their own files, written separately. ----
	// decode (decode.go): decodes a BGP message; JSON by default, so it
	// reads -o with outputFormat(cmd, "json").
	root.AddCommand(newDecodeCmd())
	// lab (lab.go): the namespace topology of package lab; needs root,
	// not a daemon.
	root.AddCommand(newLabCmd(g))
	// ---- end ----

	return root
}

// outputFormat returns -o as given, or def when the command line did not
// set it (decode defaults to JSON where the others default to text).
func outputFormat(cmd *cobra.Command, def string) string {
	f := cmd.Flag("output")
	if f == nil || !f.Changed {
		return def
	}
	return f.Value.String()
}

// exactArgs is cobra.ExactArgs with a usage error and a clearer message.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (see %s --help)", cmd.Name(), names, cmd.CommandPath())
		}
		return nil
	}
}
