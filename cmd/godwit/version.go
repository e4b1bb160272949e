package main

import (
	"context"
	"fmt"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/internal/version"
	"github.com/spf13/cobra"
)

// versionOutput is `godwit version -o json`.
type versionOutput struct {
	Client string `json:"client"`
	// Daemon is null when godwitd did not answer; DaemonError says why.
	Daemon      *api.VersionInfo `json:"daemon"`
	DaemonError string           `json:"daemonError,omitempty"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show godwit's version, and godwitd's when it answers",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := versionOutput{Client: version.String()}
			if c, err := g.client(); err != nil {
				out.DaemonError = err.Error()
			} else {
				ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
				v, err := c.Version(ctx)
				cancel()
				c.Close()
				if err != nil {
					out.DaemonError = err.Error()
				} else {
					out.Daemon = &v
				}
			}
			w := cmd.OutOrStdout()
			if g.jsonOutput() {
				return writeJSON(w, out)
			}
			fmt.Fprintf(w, "godwit version %s\n", out.Client)
			if out.Daemon != nil {
				fmt.Fprintf(w, "godwitd version %s (API %s at %s)\n", out.Daemon.Version, out.Daemon.API, g.api)
			} else {
				fmt.Fprintf(w, "godwitd: %s\n", out.DaemonError)
			}
			return nil
		},
	}
}
