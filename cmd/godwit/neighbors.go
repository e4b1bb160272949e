package main

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/spf13/cobra"
)

func newNeighborsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "neighbors",
		Aliases: []string{"neighbours"},
		Short:   "List the BGP neighbours (like show bgp summary)",
		Long: `List the BGP neighbours, like FRR's show bgp summary.

With -o json: a JSON array (empty when there are none), one object per
neighbour with at least address, asn, state (the RFC 4271 name),
prefixesReceived, prefixesAccepted, prefixesAdvertised and uptimeSeconds.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			ns, err := c.Neighbors(ctx)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.jsonOutput() {
				return writeJSON(w, ns)
			}
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			g.printSummary(w, st, ns)
			return nil
		},
	}
}

// printSummary writes the neighbour summary in the manner of FRR's show
// bgp summary.
func (g *globals) printSummary(w io.Writer, st api.Status, ns []api.Neighbor) {
	fmt.Fprintf(w, "BGP router identifier %s, local AS number %d\n", st.RouterID, st.ASNumber)
	if len(ns) == 0 {
		fmt.Fprintln(w, "No neighbors configured.")
		return
	}
	fmt.Fprintln(w)
	cols := []column{
		{header: "Neighbor"}, {header: "V", right: true}, {header: "AS", right: true},
		{header: "MsgRcvd", right: true}, {header: "MsgSent", right: true},
		{header: "Up/Down", right: true}, {header: "State/PfxRcd", right: true},
		{header: "PfxSnt", right: true}, {header: "Desc"},
	}
	rows := make([][]string, 0, len(ns))
	for _, n := range ns {
		updown := "never"
		switch {
		case n.State == api.StateEstablished:
			updown = upDown(time.Duration(n.UptimeSeconds) * time.Second)
		case !n.Since.IsZero():
			updown = upDown(g.now().Sub(n.Since))
		}
		state := string(n.State)
		switch {
		case n.State == api.StateEstablished:
			state = strconv.FormatUint(n.PrefixesAccepted, 10)
		case n.AdminShutdown:
			state = "Idle (Admin)"
		}
		rows = append(rows, []string{
			n.Address, "4", strconv.FormatUint(uint64(n.ASN), 10),
			strconv.FormatUint(n.MessagesReceived, 10), strconv.FormatUint(n.MessagesSent, 10),
			updown, state, strconv.FormatUint(n.PrefixesAdvertised, 10), orNA(n.Description),
		})
	}
	plainTable(w, cols, rows)
	fmt.Fprintf(w, "\nTotal number of neighbors %d\n", len(ns))
}

// neighborActions maps the words after `neighbor ADDR` to API actions.
var neighborActions = map[string]api.Action{
	"reset":    api.ActionReset,
	"shutdown": api.ActionShutdown,
	"enable":   api.ActionEnable,
}

func newNeighborCmd(g *globals) *cobra.Command {
	var message string
	cmd := &cobra.Command{
		Use:     "neighbor ADDR [reset|shutdown|enable|refresh in|out]",
		Aliases: []string{"neighbour"},
		Short:   "Show one neighbour in detail, or reset, shut down, enable or refresh its session",
		Long: `Without an action: the neighbour in detail, like FRR's show bgp neighbor.

  godwit neighbor ADDR reset [--message TEXT]     close the session (Cease, administrative reset); it comes back
  godwit neighbor ADDR shutdown [--message TEXT]  close the session and keep it down
  godwit neighbor ADDR enable                     undo shutdown
  godwit neighbor ADDR refresh in|out             ask the neighbour to resend its routes, or resend ours

The message is sent with the Cease as an RFC 9003 shutdown communication.`,
		Example: "  godwit neighbor 10.0.1.2\n  godwit neighbor 10.0.1.2 shutdown --message \"maintenance until 14:00\"",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 3 {
				return usagef("neighbor takes an address and optionally an action (see godwit neighbor --help)")
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return g.completeNeighbors(cmd), cobra.ShellCompDirectiveNoFileComp
			case 1:
				return []cobra.Completion{"reset", "shutdown", "enable", "refresh"}, cobra.ShellCompDirectiveNoFileComp
			case 2:
				if args[1] == "refresh" {
					return []cobra.Completion{"in", "out"}, cobra.ShellCompDirectiveNoFileComp
				}
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := netip.ParseAddr(args[0])
			if err != nil {
				return usagef("%q is not a neighbor address (give an IPv4 or IPv6 address)", args[0])
			}
			action, err := parseNeighborAction(args[1:])
			if err != nil {
				return err
			}
			if message != "" && !action.TakesMessage() {
				return usagef("--message goes with reset and shutdown only")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			defer c.Close()
			w := cmd.OutOrStdout()
			if action == "" {
				d, err := c.Neighbor(cmd.Context(), addr)
				if err != nil {
					return err
				}
				if g.jsonOutput() {
					return writeJSON(w, d)
				}
				g.printNeighbor(w, d)
				return nil
			}
			res, err := c.NeighborActionResult(cmd.Context(), addr, action, message)
			if err != nil {
				return err
			}
			if g.jsonOutput() {
				return writeJSON(w, res)
			}
			fmt.Fprintf(w, "neighbor %s: %s requested\n", res.Address, res.Action)
			return nil
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "shutdown communication sent with reset or shutdown (RFC 9003, at most 255 bytes)")
	return cmd
}

// parseNeighborAction reads the words after the address ("" without any).
func parseNeighborAction(words []string) (api.Action, error) {
	if len(words) == 0 {
		return "", nil
	}
	if words[0] == "refresh" {
		if len(words) != 2 || (words[1] != "in" && words[1] != "out") {
			return "", usagef("refresh takes in or out: godwit neighbor ADDR refresh in|out")
		}
		return api.Action("refresh-" + words[1]), nil
	}
	a, ok := neighborActions[words[0]]
	if !ok {
		return "", usagef("unknown neighbor action %q (actions: reset, shutdown, enable, refresh in|out)", words[0])
	}
	if len(words) > 1 {
		return "", usagef("%s takes no further argument (a message goes in --message)", words[0])
	}
	return a, nil
}

// completeNeighbors lists the neighbours' addresses for shell completion,
// or nothing when the daemon does not answer.
func (g *globals) completeNeighbors(cmd *cobra.Command) []cobra.Completion {
	c, err := g.client()
	if err != nil {
		return nil
	}
	defer c.Close()
	ns, err := c.Neighbors(cmd.Context())
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, 0, len(ns))
	for _, n := range ns {
		out = append(out, cobra.CompletionWithDesc(n.Address, fmt.Sprintf("AS %d, %s", n.ASN, n.State)))
	}
	return out
}

// printNeighbor writes one neighbour in detail, in the manner of FRR's
// show bgp neighbor.
func (g *globals) printNeighbor(w io.Writer, d api.NeighborDetail) {
	link := "external"
	if d.ASN == d.LocalASN {
		link = "internal"
	}
	fmt.Fprintf(w, "BGP neighbor is %s, remote AS %d, local AS %d, %s link\n", d.Address, d.ASN, d.LocalASN, link)
	p := func(format string, args ...any) { fmt.Fprintf(w, "  "+format+"\n", args...) }
	if d.Description != "" {
		p("Description: %s", d.Description)
	}
	p("Peer type: %s", d.PeerType)
	if d.VRF != "" {
		p("VRF: %s", d.VRF)
	}
	p("BGP version 4, remote router ID %s", orNA(d.RouterID))
	if d.State == api.StateEstablished {
		p("BGP state = %s, up for %s", d.State, upDown(time.Duration(d.UptimeSeconds)*time.Second))
	} else if d.Info == "" || strings.HasPrefix(d.Info, string(d.State)) {
		p("BGP state = %s", orNA(d.Info))
	} else {
		p("BGP state = %s (%s)", d.State, d.Info)
	}
	p("Last state change: %s", g.stamp(d.Since))
	if d.AdminShutdown {
		if d.ShutdownMessage != "" {
			p("Administratively shut down: %q", d.ShutdownMessage)
		} else {
			p("Administratively shut down")
		}
	}
	if d.Passive {
		p("Passive: waits for the neighbour to connect")
	}
	if d.RouteReflectorClient {
		p("Route reflector client")
	}
	timer := func(name string, t api.Timer) {
		if t.Negotiated != 0 {
			p("%s is %d seconds (configured %d)", name, t.Negotiated, t.Configured)
		} else {
			p("%s is configured %d seconds", name, t.Configured)
		}
	}
	timer("Hold time", d.HoldTime)
	timer("Keepalive interval", d.KeepaliveTime)

	if len(d.Capabilities) > 0 {
		p("Neighbor capabilities:")
		for _, c := range d.Capabilities {
			var how []string
			switch {
			case c.Sent && c.Received:
				how = append(how, "advertised and received")
			case c.Sent:
				how = append(how, "advertised")
			case c.Received:
				how = append(how, "received")
			}
			if c.Negotiated {
				how = append(how, "negotiated")
			}
			if c.SentDetail != "" {
				how = append(how, "sent "+c.SentDetail)
			}
			if c.ReceivedDetail != "" {
				how = append(how, "received "+c.ReceivedDetail)
			}
			p("  %s (%d): %s", c.Name, c.Code, strings.Join(how, "; "))
		}
	}
	if len(d.Families) > 0 {
		p("Address families negotiated: %s", strings.Join(d.Families, ", "))
	}
	if len(d.ConfiguredFamilies) > 0 {
		p("Address families configured: %s", strings.Join(d.ConfiguredFamilies, ", "))
	}

	s, r := d.Counters.Sent, d.Counters.Received
	p("Message statistics:")
	p("  %-16s %10s %10s", "", "Sent", "Rcvd")
	for _, row := range []struct {
		name       string
		sent, rcvd uint64
	}{
		{"Opens:", s.Open, r.Open},
		{"Notifications:", s.Notification, r.Notification},
		{"Updates:", s.Update, r.Update},
		{"Keepalives:", s.Keepalive, r.Keepalive},
		{"Route Refresh:", s.RouteRefresh, r.RouteRefresh},
		{"Total:", s.Total, r.Total},
	} {
		p("  %-16s %10d %10d", row.name, row.sent, row.rcvd)
	}
	if len(d.Prefixes) > 0 {
		for _, f := range d.Prefixes {
			p("For address family: %s", f.Family)
			p("  %d prefixes received, %d accepted, %d advertised", f.Received, f.Accepted, f.Advertised)
		}
	} else {
		p("Prefixes: %d received, %d accepted, %d advertised", d.PrefixesReceived, d.PrefixesAccepted, d.PrefixesAdvertised)
	}
	if d.ImportPolicy != "" || d.ExportPolicy != "" {
		p("Import policy: %s; export policy: %s", orNA(d.ImportPolicy), orNA(d.ExportPolicy))
	}
	p("Connections established %d; dropped %d; connect retry counter %d",
		d.Counters.EstablishedTransitions, d.FlapCount, d.ConnectRetryCounter)
	if d.LastError != "" {
		p("Last error: %s", d.LastError)
	}
	notification := func(dir string, n *api.Notification) {
		if n == nil {
			return
		}
		name := n.CodeName
		if n.SubcodeName != "" {
			name += "/" + n.SubcodeName
		}
		line := fmt.Sprintf("Last notification %s: %s (%d/%d)", dir, name, n.Code, n.Subcode)
		if n.Message != "" {
			line += fmt.Sprintf(" %q", n.Message)
		}
		if n.Data != "" {
			line += " data " + n.Data
		}
		p("%s, %s", line, g.stamp(n.Time))
	}
	notification("sent", d.LastNotificationSent)
	notification("received", d.LastNotificationReceived)
	if d.LocalAddress != "" {
		p("Local host: %s, Local port: %d", d.LocalAddress, d.LocalPort)
	}
	if d.RemotePort != 0 {
		p("Foreign host: %s, Foreign port: %d", d.Address, d.RemotePort)
	}
}
