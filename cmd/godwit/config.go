package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/config"
	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a configuration file, or show the configuration godwitd runs",
		Args:  exactArgs(0, "a subcommand: validate or status"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("config needs a subcommand: validate or status")
		},
	}
	cmd.AddCommand(newConfigValidateCmd(g), newConfigStatusCmd(g))
	return cmd
}

// validateOutput is `godwit config validate -o json`.
type validateOutput struct {
	File      string              `json:"file"`
	OK        bool                `json:"ok"`
	Resources []api.ResourceCount `json:"resources"`
	Errors    []string            `json:"errors"`
}

func newConfigValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a configuration file (no daemon needed)",
		Long: `Parse and validate a configuration file as godwitd would load it, without a
daemon. Prints "FILE: OK (N resources: ...)", or every error found, one a
line, naming the document, the field and the reason (exit status 1).`,
		Args: exactArgs(1, "one file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			rs, err := config.LoadFile(path)
			var cerrs []*config.Error
			if err != nil {
				cerrs = config.Errors(err)
				if len(cerrs) == 0 {
					return err // the file could not be read
				}
			}
			out := validateOutput{File: path, OK: err == nil, Resources: countKinds(rs), Errors: []string{}}
			for _, e := range cerrs {
				out.Errors = append(out.Errors, oneLine(e.Error()))
			}
			w := cmd.OutOrStdout()
			if g.jsonOutput() {
				if err := writeJSON(w, out); err != nil {
					return err
				}
			} else {
				printValidation(w, out, len(rs))
			}
			if !out.OK {
				plural := "s"
				if len(out.Errors) == 1 {
					plural = ""
				}
				return fmt.Errorf("%s: %d error%s", path, len(out.Errors), plural)
			}
			return nil
		},
	}
}

// countKinds counts resources by kind, in the resource model's order.
func countKinds(rs []*config.Resource) []api.ResourceCount {
	counts := map[config.Kind]int{}
	for _, r := range rs {
		counts[r.Kind]++
	}
	out := []api.ResourceCount{}
	for _, k := range config.KindOrder {
		if n := counts[k]; n > 0 {
			out = append(out, api.ResourceCount{Kind: string(k), Count: n})
		}
	}
	return out
}

func printValidation(w io.Writer, out validateOutput, total int) {
	if !out.OK {
		for _, e := range out.Errors {
			fmt.Fprintln(w, e)
		}
		return
	}
	parts := make([]string, len(out.Resources))
	for i, c := range out.Resources {
		parts[i] = fmt.Sprintf("%d %s", c.Count, c.Kind)
	}
	plural := "s"
	if total == 1 {
		plural = ""
	}
	detail := ""
	if len(parts) > 0 {
		detail = ": " + strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "%s: OK (%d resource%s%s)\n", out.File, total, plural, detail)
}

func newConfigStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the configuration godwitd runs and how its last reload went",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(ctx context.Context, c *api.Client) (api.ConfigStatus, error) { return c.ConfigStatus(ctx) }
			return show(g, cmd, get, func(w io.Writer, cs api.ConfigStatus) error {
				fmt.Fprintf(w, "Source:       %s\n", cs.Source)
				fmt.Fprintf(w, "Generation:   %d, applied %s\n", cs.Generation, g.stamp(cs.AppliedAt))
				parts := make([]string, len(cs.Resources))
				for i, r := range cs.Resources {
					parts[i] = fmt.Sprintf("%d %s", r.Count, r.Kind)
				}
				fmt.Fprintf(w, "Resources:    %s\n", orNA(strings.Join(parts, ", ")))
				result := "OK"
				if !cs.OK {
					result = "FAILED (the previous configuration stays in force)"
				}
				fmt.Fprintf(w, "Last attempt: %s, %s\n", g.stamp(cs.LastAttempt), result)
				for _, e := range cs.Errors {
					fmt.Fprintf(w, "  %s\n", e)
				}
				return nil
			})
		},
	}
}
