package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/godwit-bgp/godwit/api"
	"github.com/spf13/cobra"
)

func newRoutesCmd(g *globals) *cobra.Command {
	var q api.RouteQuery
	cmd := &cobra.Command{
		Use:   "routes [PREFIX]",
		Short: "List the routes (like show bgp ipv4 unicast)",
		Long: `List the paths in the routing table that passed import policy, like FRR's
show bgp ipv4 unicast. PREFIX selects one prefix: a CIDR prefix exactly, an
address by longest-prefix match.

--peer ADDR keeps the paths learned from that neighbour; with --received it
lists what the neighbour sent, before import policy (filtered paths marked
F), with --advertised what is sent to it.

With -o json: a JSON array (empty when nothing matches), one object per
path with at least prefix, nextHop, asPath, asPathText, origin,
localPreference, med, communities, best and peer. The array is written as
it arrives, so a full table never sits in memory.`,
		Example: "  godwit routes\n  godwit routes 10.2.0.0/16 -o json\n  godwit routes --peer 10.0.1.2 --received",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("routes takes at most one prefix (see godwit routes --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				q.Prefix = args[0]
			}
			nq, err := q.Normalize()
			if err != nil {
				return usageError{err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			defer c.Close()
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			if g.jsonOutput() {
				arr := &jsonArray{w: out}
				if err := c.Routes(cmd.Context(), nq, arr.add); err != nil {
					out.Flush()
					return err
				}
				return arr.close()
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			p := &routePrinter{w: out, status: st}
			err = c.Routes(cmd.Context(), nq, p.add)
			if err == nil {
				p.finish()
			}
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.VRF, "vrf", "", "VRF name (default: the default VRF)")
	f.StringVar(&q.Family, "family", "", "address family: "+strings.Join(api.Families, ", ")+" (default: all)")
	f.StringVar(&q.Peer, "peer", "", "only the paths of this neighbour")
	f.BoolVar(&q.Received, "received", false, "with --peer: the paths received from it, before import policy")
	f.BoolVar(&q.Advertised, "advertised", false, "with --peer: the paths sent to it")
	f.BoolVar(&q.BestOnly, "best", false, "only the best paths")
	cmd.RegisterFlagCompletionFunc("family", cobra.FixedCompletions(api.Families, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("peer", func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return g.completeNeighbors(cmd), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// jsonArray writes routes as one JSON array, element by element, as they
// arrive: "[" then the elements separated by ",\n" then "]".
type jsonArray struct {
	w *bufio.Writer
	n int
}

func (a *jsonArray) add(r api.Route) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if a.n == 0 {
		a.w.WriteByte('[')
	} else {
		a.w.WriteString(",\n")
	}
	a.n++
	_, err = a.w.Write(b)
	return err
}

func (a *jsonArray) close() error {
	if a.n == 0 {
		a.w.WriteByte('[')
	}
	a.w.WriteString("]\n")
	return a.w.Flush()
}

// familyTitles are FRR's names of the address families.
var familyTitles = map[string]string{
	"ipv4-unicast": "IPv4 Unicast",
	"ipv6-unicast": "IPv6 Unicast",
	"ipv4-vpn":     "IPv4 VPN",
	"ipv6-vpn":     "IPv6 VPN",
	"l2vpn-evpn":   "L2VPN EVPN",
}

// Column widths of the route table (FRR's, near enough).
const (
	networkWidth = 17
	nextHopWidth = 19
)

// routePrinter writes routes as they arrive, in the manner of FRR's show
// bgp: a section per family and VRF, the prefix only on its first path.
type routePrinter struct {
	w          io.Writer
	status     api.Status
	section    string // family and VRF of the section being written
	prefix     string // prefix of the previous path
	prefixes   int
	paths      int
	headerDone bool
}

func (p *routePrinter) add(r api.Route) error {
	if !p.headerDone {
		p.headerDone = true
		fmt.Fprintf(p.w, "BGP router identifier %s, local AS number %d\n", p.status.RouterID, p.status.ASNumber)
		fmt.Fprintln(p.w, "Status codes: * valid, > best, = multipath, i internal, S stale, F filtered")
		fmt.Fprintln(p.w, "Origin codes: i - IGP, e - EGP, ? - incomplete")
	}
	if section := r.Family + "\x00" + r.VRF; section != p.section {
		p.section, p.prefix = section, ""
		title := familyTitles[r.Family]
		if title == "" {
			title = r.Family
		}
		if r.VRF != "" {
			title += " (VRF " + r.VRF + ")"
		}
		fmt.Fprintf(p.w, "\n%s\n", title)
		fmt.Fprintf(p.w, "   %-*s %-*s %6s %6s %s\n", networkWidth, "Network", nextHopWidth, "Next Hop", "Metric", "LocPrf", "Path")
	}
	if r.Prefix != p.prefix {
		p.prefixes++
	}
	p.paths++

	codes := []byte("*  ")
	switch {
	case r.Filtered:
		codes[0] = 'F'
	case r.Stale:
		codes[0] = 'S'
	}
	switch {
	case r.Best:
		codes[1] = '>'
	case r.Multipath:
		codes[1] = '='
	}
	if r.Internal {
		codes[2] = 'i'
	}
	network := r.Prefix
	if network == p.prefix {
		network = ""
	}
	p.prefix = r.Prefix

	var b strings.Builder
	b.Write(codes)
	// A field too long for its column goes on a line of its own, and the
	// next line starts at the following column, as FRR does.
	field := func(s string, width, indent int) {
		if len(s) > width {
			b.WriteString(s + "\n" + strings.Repeat(" ", indent+width))
		} else {
			fmt.Fprintf(&b, "%-*s", width, s)
		}
	}
	field(network, networkWidth, 3)
	b.WriteByte(' ')
	field(r.NextHop, nextHopWidth, 3+networkWidth+1)
	path := r.Origin.Code()
	if r.ASPathText != "" {
		path = r.ASPathText + " " + path
	}
	fmt.Fprintf(&b, " %6d %6d %s\n", r.MED, r.LocalPreference, path)
	_, err := io.WriteString(p.w, b.String())
	return err
}

func (p *routePrinter) finish() {
	if p.paths == 0 {
		fmt.Fprintln(p.w, "No BGP prefixes displayed.")
		return
	}
	fmt.Fprintf(p.w, "\nDisplayed %d routes and %d total paths\n", p.prefixes, p.paths)
}
