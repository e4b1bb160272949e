package main

import (
	"os"

	"github.com/godwit-bgp/godwit/lab"
	"github.com/spf13/cobra"
)

// newLabCmd is `godwit lab up|down|status`: the demonstration topology of
// DESIGN.md (package lab). It needs no daemon, but root.
func newLabCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "A small cluster in network namespaces: a top-of-rack router (FRR) and three godwitd nodes",
		Long: `godwit lab builds, inside network namespaces on this machine, a small
bare-metal cluster: a top-of-rack router running FRR (AS 65100) and three
nodes running godwitd in two racks, each node with two pods in its pod
CIDR block, and a LoadBalancer address served by two nodes. It needs root.

  godwit lab up       build it, wait for the sessions, show them, ping across
  godwit lab status   namespaces, processes and sessions
  godwit lab down     remove every namespace and process of the lab

The lab keeps running after "lab up" returns, until "lab down". Its files
(configuration, logs, sockets) are in ` + lab.DefaultStateDir + `.`,
		Args: exactArgs(0, "a subcommand (up, down or status)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("lab needs a subcommand: up, down or status")
		},
	}
	cmd.AddCommand(newLabUpCmd(g), newLabDownCmd(g), newLabStatusCmd(g))
	return cmd
}

func newLabUpCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Build the lab (or check it, when it is up), show its sessions and routes, and ping across it",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, _ := os.Executable()
			godwitd, err := lab.FindGodwitd(self)
			if err != nil {
				return err
			}
			// With -o json, stdout holds the one JSON document; the
			// progress goes to stderr.
			out := cmd.OutOrStdout()
			if g.jsonOutput() {
				out = cmd.ErrOrStderr()
			}
			l := lab.New(lab.Options{Godwitd: godwitd, Godwit: self, Out: out, Install: true})
			rep, err := l.Up(cmd.Context())
			if g.jsonOutput() && rep != nil {
				if werr := writeJSON(cmd.OutOrStdout(), rep); werr != nil {
					return werr
				}
			}
			return err
		},
	}
}

func newLabDownCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove every namespace, link and process of the lab (also after a crash)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := lab.New(lab.Options{}).Down(cmd.Context())
			if rep != nil {
				if g.jsonOutput() {
					if werr := writeJSON(cmd.OutOrStdout(), rep); werr != nil {
						return werr
					}
				} else {
					_, _ = cmd.OutOrStdout().Write([]byte(rep.Text()))
				}
			}
			return err
		},
	}
}

func newLabStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the lab's namespaces, processes and sessions",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := lab.New(lab.Options{}).Status(cmd.Context())
			if err != nil {
				return err
			}
			if g.jsonOutput() {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			_, err = cmd.OutOrStdout().Write([]byte(rep.Text()))
			return err
		},
	}
}
