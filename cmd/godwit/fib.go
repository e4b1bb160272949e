package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/api"
	"github.com/spf13/cobra"
)

func newFIBCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "fib [--all]",
		Short: "Compare the kernel's routes with the RIB's (what godwitd writes to the kernel)",
		Long: `Show the kernel routing table against the RIB: the routes godwitd wants in the
kernel's main table (the best paths of the default VRF, gateways resolved
through the kernel) next to the routes of its protocol that the kernel
holds, and the BGP next hops it tracks through the kernel.

The header gives the route protocol number of godwit's routes (kernelProtocol,
the "proto" of ip route), the mode (writing, or a dry run with --no-fib:
nothing is written and pending counts what would be), whether the RIB has
converged since the start (the routes a previous run left are kept until
every peer has sent End-of-RIB or selectionDeferralTime has passed), the
routes desired, installed, pending and failed, the kernel operations since
godwitd started, and the last error.

Without --all only the routes that differ from the RIB are listed; their
STATE says what godwitd does about them:

  add      desired, not in the kernel yet
  replace  in the kernel with other next hops
  delete   in the kernel, no longer desired
  held     left by the previous run, kept until the RIB has converged
  ok       (--all only) in the kernel as desired

Held routes go once every peer has sent End-of-RIB, or after
selectionDeferralTime (30 s by default) when one does not. A route that
stays listed with an ERROR is retried with backoff. "route exists" means
another program has a route of the same prefix and metric in the table,
which godwit never replaces: ip route show PREFIX says whose it is; remove
it if godwit's route should win. An unreachable gateway means no interface
that is up has a connected network holding it: check the interface and its
addresses. A next hop that is not RESOLVABLE makes the paths through it
ineligible for best path: check that the kernel has a route to it (ip
route get ADDR).

With -o json: one object with protocol, dryRun, converged, adopted,
holding, desired, installed, held, pending, failed, added, replaced,
deleted, lastSync, and lastError and lastErrorAt when there was one;
routes (an array, empty when none is listed), each with prefix, table,
state, desired and installed (nextHops with gateway, interface and weight,
metric, blackhole; omitted where there is none) and error; and nextHops,
each with address, resolvable, cost and attributeSets.`,
		Example: "  godwit fib\n  godwit fib --all -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(g, cmd, func(ctx context.Context, c *api.Client) (api.FIB, error) { return c.FIB(ctx, all) },
				func(w io.Writer, f api.FIB) error { g.printFIB(w, f); return nil })
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every route, the ones as desired too")
	return cmd
}

// printFIB writes the reconciler's state, the routes and the tracked next
// hops.
func (g *globals) printFIB(w io.Writer, f api.FIB) {
	fmt.Fprintf(w, "Protocol:   %d\n", f.Protocol)
	mode := "writing"
	if f.DryRun {
		mode = "dry run (--no-fib): nothing is written; pending counts what would be"
	}
	fmt.Fprintf(w, "Mode:       %s\n", mode)
	converged := "no"
	switch {
	case f.Holding:
		converged = fmt.Sprintf("no, holding %s of the previous run until every peer has sent End-of-RIB",
			plural(f.Held, "route", "routes"))
	case f.Converged && f.Adopted > 0:
		converged = fmt.Sprintf("yes (%s of the previous run adopted at start)", plural(f.Adopted, "route", "routes"))
	case f.Converged:
		converged = "yes"
	}
	fmt.Fprintf(w, "Converged:  %s\n", converged)
	fmt.Fprintf(w, "Routes:     %d desired, %d installed, %d pending, %d failed\n", f.Desired, f.Installed, f.Pending, f.Failed)
	fmt.Fprintf(w, "Operations: %d added, %d replaced, %d deleted\n", f.Added, f.Replaced, f.Deleted)
	fmt.Fprintf(w, "Last sync:  %s\n", g.stamp(f.LastSync))
	if f.LastError != "" {
		fmt.Fprintf(w, "Last error: %s\n", g.stamp(f.LastErrorAt))
		for line := range strings.SplitSeq(strings.TrimSpace(f.LastError), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}

	fmt.Fprintln(w)
	if len(f.Routes) == 0 {
		fmt.Fprintf(w, "kernel matches the RIB: %s installed\n", plural(f.Installed, "route", "routes"))
	} else {
		rows := make([][]string, 0, len(f.Routes))
		for _, r := range f.Routes {
			prefix := r.Prefix
			if r.Table != 0 && r.Table != mainTable {
				prefix += " table " + strconv.Itoa(r.Table)
			}
			errText := "-"
			if r.Error != "" {
				errText = strings.ReplaceAll(strings.TrimSpace(r.Error), "\n", "; ")
			}
			rows = append(rows, []string{prefix, string(r.State), kernelRouteText(r.Desired), kernelRouteText(r.Installed), errText})
		}
		boxTable(w, []string{"PREFIX", "STATE", "DESIRED", "INSTALLED", "ERROR"}, rows)
	}

	fmt.Fprintln(w)
	if len(f.NextHops) == 0 {
		fmt.Fprintln(w, "No next hops tracked.")
		return
	}
	rows := make([][]string, 0, len(f.NextHops))
	for _, nh := range f.NextHops {
		resolvable := "no"
		if nh.Resolvable {
			resolvable = "yes"
		}
		rows = append(rows, []string{nh.Address, resolvable, strconv.FormatUint(uint64(nh.Cost), 10)})
	}
	boxTable(w, []string{"NEXT HOP", "RESOLVABLE", "COST"}, rows)
}

// mainTable is the kernel's main table, which the route table leaves
// unnamed.
const mainTable = 254

// kernelRouteText is a kernel route as ip route writes its forwarding:
// "via 192.0.2.1 dev eth0 metric 20", next hops of a multipath route
// separated by commas (with their weights when one is not 1), "blackhole
// metric 20"; "-" for none.
func kernelRouteText(r *api.KernelRoute) string {
	if r == nil {
		return "-"
	}
	var parts []string
	if r.Blackhole {
		parts = append(parts, "blackhole")
	}
	weighted := false
	for _, nh := range r.NextHops {
		weighted = weighted || nh.Weight > 1
	}
	for _, nh := range r.NextHops {
		var b []string
		if nh.Gateway != "" {
			b = append(b, "via "+nh.Gateway)
		}
		if nh.Interface != "" {
			b = append(b, "dev "+nh.Interface)
		}
		if weighted {
			b = append(b, "weight "+strconv.Itoa(nh.Weight))
		}
		parts = append(parts, strings.Join(b, " "))
	}
	return strings.Join(parts, ", ") + " metric " + strconv.Itoa(r.Metric)
}
