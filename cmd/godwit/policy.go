package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/godwit-bgp/godwit/api"
	"github.com/spf13/cobra"
)

func newPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Try a RoutePolicy on the routes in the table",
		Args:  exactArgs(0, "a subcommand: test"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("policy needs a subcommand: test")
		},
	}
	cmd.AddCommand(newPolicyTestCmd(g))
	return cmd
}

func newPolicyTestCmd(g *globals) *cobra.Command {
	var prefixText, peerText string
	cmd := &cobra.Command{
		Use:   "test NAME --prefix PREFIX [--peer ADDR]",
		Short: "Run a RoutePolicy over the paths to a prefix and show what each statement did",
		Long: `Run the RoutePolicy NAME over the paths to PREFIX (a CIDR prefix, matched
exactly) and show, for each path, the statements evaluated in order (whether
the conditions held or which one failed, what the set actions did, the
result), the verdict, and the attributes after the policy. Nothing in the
daemon changes.

Without --peer the policy runs over the best path; with --peer ADDR over
every path received from that neighbour, the ones import refused included.
The path is presented as import sees it: the neighbour is the path's peer
and the route type that of its session. A path in the table has the
attributes its import policy left (testing that same policy again shows
its set actions changing nothing); a refused one those it was received
with.

When there is no such path, the text output is the one line "no path to
PREFIX in the table" (or "no path to PREFIX from ADDR in the table") on
stderr and the exit status is 1; with -o json the output is [] and the
exit status 0. An unknown policy or neighbour is an error (exit status 1).

With -o json: a JSON array, one object per path, with policy, path (a
route as godwit routes -o json prints it), accepted, statement, changed,
attributes (an accepted path's attributes after the policy: nextHop,
nextHopAction, asPath, asPathText, origin, localPreference, med,
communities, largeCommunities, extendedCommunities) and trace (name,
matched, failedCondition, set, result per statement).`,
		Example: "  godwit policy test from-router --prefix 10.2.0.0/16\n" +
			"  godwit policy test from-router --prefix 10.2.3.0/24 --peer 10.0.1.2 -o json",
		Args: exactArgs(1, "a policy name"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if prefixText == "" {
				return usagef("policy test needs --prefix PREFIX (see godwit policy test --help)")
			}
			prefix, err := netip.ParsePrefix(prefixText)
			if err != nil {
				if a, err := netip.ParseAddr(prefixText); err == nil {
					return usagef("bad prefix %q: %s is an address; give a CIDR prefix like %s", prefixText, a, netip.PrefixFrom(a, a.BitLen()))
				}
				return usagef("bad prefix %q: give a CIDR prefix like 10.0.0.0/24", prefixText)
			}
			prefix = prefix.Masked()
			var peer netip.Addr
			if peerText != "" {
				if peer, err = netip.ParseAddr(peerText); err != nil {
					return usagef("--peer %q is not a neighbor address (give an IPv4 or IPv6 address)", peerText)
				}
			}
			get := func(ctx context.Context, c *api.Client) ([]api.PolicyTestResult, error) {
				return c.TestPolicy(ctx, name, prefix, peer)
			}
			return show(g, cmd, get, func(w io.Writer, res []api.PolicyTestResult) error {
				if len(res) == 0 {
					if peer.IsValid() {
						return fmt.Errorf("no path to %s from %s in the table", prefix, peer)
					}
					return fmt.Errorf("no path to %s in the table", prefix)
				}
				printPolicyTests(w, name, prefix, peer, res)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&prefixText, "prefix", "", "the prefix whose paths the policy runs over (CIDR, required)")
	f.StringVar(&peerText, "peer", "", "the paths received from this neighbour (default: the best path)")
	cmd.RegisterFlagCompletionFunc("prefix", cobra.NoFileCompletions)
	cmd.RegisterFlagCompletionFunc("peer", func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return g.completeNeighbors(cmd), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// printPolicyTests writes the results for people: per path, the path, a
// table of the statements evaluated, the verdict and the attributes after
// the policy.
func printPolicyTests(w io.Writer, name string, prefix netip.Prefix, peer netip.Addr, res []api.PolicyTestResult) {
	if peer.IsValid() {
		fmt.Fprintf(w, "RoutePolicy %s on the paths to %s from %s:\n", name, prefix, peer)
	} else {
		fmt.Fprintf(w, "RoutePolicy %s on the best path to %s:\n", name, prefix)
	}
	for _, r := range res {
		fmt.Fprintln(w)
		fmt.Fprintln(w, pathLine(r.Path))
		printTrace(w, r.Trace)
		switch {
		case r.Accepted:
			fmt.Fprintf(w, "  accepted by statement %s\n", r.Statement)
		case r.Statement != "":
			fmt.Fprintf(w, "  rejected by statement %s\n", r.Statement)
		default:
			fmt.Fprintln(w, "  rejected: no statement accepted it")
		}
		if r.Accepted && r.Attributes != nil {
			printAttributesAfter(w, r.Path, *r.Attributes, r.Changed)
		}
	}
}

// pathLine describes a path in one line: prefix, next hop, AS path, where
// it came from, and its state in the table.
func pathLine(p api.Route) string {
	nh := p.NextHop
	if nh == "" {
		nh = "-"
	}
	path := "AS path " + p.ASPathText
	if p.ASPathText == "" {
		path = "empty AS path"
	}
	from := "from " + p.Peer
	if p.Peer == "local" || p.Peer == "" {
		from = "originated here"
	}
	var flags []string
	if p.PathID != 0 {
		flags = append(flags, "path ID "+strconv.FormatUint(uint64(p.PathID), 10))
	}
	switch {
	case p.Best:
		flags = append(flags, "best")
	case p.Multipath:
		flags = append(flags, "multipath")
	}
	if p.Internal {
		flags = append(flags, "iBGP")
	}
	if p.Stale {
		flags = append(flags, "stale")
	}
	if p.Filtered {
		flags = append(flags, "filtered on import")
	}
	line := fmt.Sprintf("%s via %s, %s, %s", p.Prefix, nh, path, from)
	if len(flags) > 0 {
		line += " (" + strings.Join(flags, ", ") + ")"
	}
	return line
}

// printTrace writes the statements evaluated as an indented table.
func printTrace(w io.Writer, trace []api.PolicyStatement) {
	if len(trace) == 0 {
		fmt.Fprintln(w, "  (the policy has no statements)")
		return
	}
	rows := make([][]string, 0, len(trace))
	for _, st := range trace {
		cond := "matched"
		if !st.Matched {
			cond = "failed: " + orDash(st.FailedCondition)
		}
		// A set action's own text may hold commas ("communities remove
		// a, add b"): actions are separated by semicolons.
		rows = append(rows, []string{st.Name, cond, orDash(strings.Join(st.Set, "; ")), orDash(st.Result)})
	}
	indentedTable(w, "  ", append([][]string{{"Statement", "Conditions", "Set", "Result"}}, rows...))
}

// indentedTable writes rows (the header first, if any) in left-aligned
// columns two spaces apart, each line after indent; the last column is
// not padded.
func indentedTable(w io.Writer, indent string, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// printAttributesAfter writes an accepted path's attributes after the
// policy, each changed one with its value before; or says that nothing
// changed.
func printAttributesAfter(w io.Writer, before api.Route, a api.PolicyAttributes, changed bool) {
	b := api.PolicyAttributesOf(before)
	nhAction := a.NextHopAction != "" && a.NextHopAction != a.NextHop
	if !changed && !nhAction && a.NextHop == b.NextHop {
		fmt.Fprintln(w, "  attributes unchanged")
		return
	}
	fmt.Fprintln(w, "  attributes after the policy:")
	var rows [][]string
	add := func(name, after, before string, notes ...string) {
		if after != before {
			notes = append(notes, "was "+before)
		}
		if len(notes) > 0 {
			after += " (" + strings.Join(notes, "; ") + ")"
		}
		rows = append(rows, []string{name, after})
	}
	var nhNotes []string
	if nhAction {
		nhNotes = append(nhNotes, "nextHop "+a.NextHopAction)
	}
	add("next hop", orDash(a.NextHop), orDash(b.NextHop), nhNotes...)
	add("AS path", orEmpty(a.ASPathText), orEmpty(b.ASPathText))
	add("origin", string(a.Origin), string(b.Origin))
	add("local preference", strconv.FormatUint(uint64(a.LocalPreference), 10), strconv.FormatUint(uint64(b.LocalPreference), 10))
	add("MED", strconv.FormatUint(uint64(a.MED), 10), strconv.FormatUint(uint64(b.MED), 10))
	lists := []struct {
		name          string
		after, before []string
	}{
		{"communities", a.Communities, b.Communities},
		{"large communities", a.LargeCommunities, b.LargeCommunities},
		{"extended communities", a.ExtendedCommunities, b.ExtendedCommunities},
	}
	for i, l := range lists {
		// The rarer kinds only when the path has some, before or after.
		if i > 0 && len(l.after) == 0 && len(l.before) == 0 {
			continue
		}
		add(l.name, orNone(l.after), orNone(l.before))
	}
	indentedTable(w, "    ", rows)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orEmpty(s string) string {
	if s == "" {
		return "empty"
	}
	return s
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}
