package main

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/godwit-bgp/godwit/api"
	"github.com/spf13/cobra"
)

// statusOutput is `godwit status -o json`: the speaker's overview and its
// neighbours.
type statusOutput struct {
	api.Status
	Neighbors []api.Neighbor `json:"neighbors"`
}

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show whether godwitd runs, and its BGP sessions (like calicoctl node status)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			ns, err := c.Neighbors(ctx)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.jsonOutput() {
				return writeJSON(w, statusOutput{Status: st, Neighbors: ns})
			}
			g.printStatus(w, st, ns)
			return nil
		},
	}
}

// printStatus writes the calicoctl-style status: a line about the daemon,
// then a table of peers for each of IPv4 and IPv6.
func (g *globals) printStatus(w io.Writer, st api.Status, ns []api.Neighbor) {
	fmt.Fprintf(w, "godwit is running (AS %d, router ID %s, version %s).\n", st.ASNumber, st.RouterID, st.Version)
	var v4, v6 [][]string
	for _, n := range ns {
		row := []string{n.Address, string(n.PeerType), string(n.State), g.since(n.Since), n.Info}
		if a, err := netip.ParseAddr(n.Address); err == nil && a.Is6() && !a.Is4In6() {
			v6 = append(v6, row)
		} else {
			v4 = append(v4, row)
		}
	}
	header := []string{"PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"}
	for i, sec := range []struct {
		name string
		rows [][]string
	}{{"IPv4", v4}, {"IPv6", v6}} {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s BGP status\n", sec.name)
		if len(sec.rows) == 0 {
			fmt.Fprintf(w, "No %s peers found.\n", sec.name)
			continue
		}
		boxTable(w, header, sec.rows)
	}
}
