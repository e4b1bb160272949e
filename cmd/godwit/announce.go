package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/config"
	"github.com/spf13/cobra"
)

func newAnnounceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "announce",
		Short: "Originate prefixes at run time, or list the prefixes godwitd originates",
		Long: `Originate prefixes through the running godwitd (the local route-injection API
that other controllers on the node use), withdraw them, and list every
prefix godwitd originates, from the configuration's Announcements and from
the API.

  godwit announce add PREFIX [--community C]... [--large-community C]... [--local-preference N] [--med N]
  godwit announce del PREFIX
  godwit announce list

Announcements added here are not saved: they last until they are deleted
or godwitd stops. Adding a prefix again replaces its attributes. The
configuration's Announcements are changed in the configuration file only;
when one of them has the same prefix as a runtime announcement, it wins.`,
		Args: exactArgs(0, "a subcommand: add, del or list"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("announce needs a subcommand: add, del or list")
		},
	}
	cmd.AddCommand(newAnnounceAddCmd(g), newAnnounceDelCmd(g), newAnnounceListCmd(g))
	return cmd
}

func newAnnounceAddCmd(g *globals) *cobra.Command {
	var communities, largeCommunities []string
	var localPref, med uint32
	cmd := &cobra.Command{
		Use:   "add PREFIX [--community C]... [--large-community C]... [--local-preference N] [--med N]",
		Short: "Originate a prefix, or change the attributes of one added before",
		Long: `Originate PREFIX (a CIDR prefix without host bits) with the given attributes,
replacing those of a runtime announcement of the same prefix.

--community takes a:b (each part 0..65535) or a well-known name such as
no-export; --large-community a:b:c. Both may be repeated or given a
comma-separated list.

With -o json: the announcement as godwitd stored it (prefix, announcement,
runtime, communities, largeCommunities, and localPreference and med when
set).`,
		Example: "  godwit announce add 10.9.0.0/24\n" +
			"  godwit announce add 192.0.2.10/32 --community 65010:100 --community no-export --med 10",
		Args: exactArgs(1, "a prefix"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.AnnouncementRequest{Prefix: args[0], Communities: communities, LargeCommunities: largeCommunities}
			if cmd.Flags().Changed("local-preference") {
				req.LocalPreference = &localPref
			}
			if cmd.Flags().Changed("med") {
				req.MED = &med
			}
			req, err := req.Normalize()
			if err != nil {
				return usageError{err}
			}
			for _, s := range communities {
				var c config.Community
				if c.UnmarshalText([]byte(s)) != nil {
					return usagef("bad --community %q: give a:b (each part 0..65535) or a well-known name such as no-export", s)
				}
			}
			for _, s := range largeCommunities {
				var c config.LargeCommunity
				if c.UnmarshalText([]byte(s)) != nil {
					return usagef("bad --large-community %q: give a:b:c (each part 0..4294967295)", s)
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			defer c.Close()
			a, created, err := c.AddAnnouncement(cmd.Context(), req)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.jsonOutput() {
				return writeJSON(w, a)
			}
			what := "replaced"
			if created {
				what = "added"
			}
			if a.ShadowedBy != "" {
				fmt.Fprintf(w, "announcement %s: %s, but not in effect: the configured Announcement %q announces the prefix and wins\n", a.Prefix, what, a.ShadowedBy)
				return nil
			}
			fmt.Fprintf(w, "announcement %s: %s\n", a.Prefix, what)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&communities, "community", nil, "community a:b or a well-known name (repeatable)")
	f.StringSliceVar(&largeCommunities, "large-community", nil, "large community a:b:c (repeatable)")
	f.Uint32Var(&localPref, "local-preference", 0, "LOCAL_PREF of the route (default: none set)")
	f.Uint32Var(&med, "med", 0, "MULTI_EXIT_DISC of the route (default: none set)")
	for _, name := range []string{"community", "large-community", "local-preference", "med"} {
		cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}

func newAnnounceDelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "del PREFIX",
		Aliases: []string{"delete"},
		Short:   "Withdraw a prefix added with announce add",
		Long: `Delete the runtime announcement of PREFIX, which withdraws its route. A prefix
of the configuration's Announcements cannot be deleted here (exit status
1): change the configuration file.

With -o json: {"prefix": ..., "announcement": ...}, and shadowedBy when a
configured Announcement still announces the prefix.`,
		Example: "  godwit announce del 10.9.0.0/24",
		Args:    exactArgs(1, "a prefix"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return g.completeRuntimeAnnouncements(cmd), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix, err := api.ParseAnnouncementPrefix(args[0])
			if err != nil {
				return usageError{err}
			}
			del := func(ctx context.Context, c *api.Client) (api.AnnouncementDeleted, error) {
				return c.DeleteAnnouncement(ctx, prefix)
			}
			return show(g, cmd, del, func(w io.Writer, d api.AnnouncementDeleted) error {
				if d.ShadowedBy != "" {
					fmt.Fprintf(w, "announcement %s: deleted; the configured Announcement %q still announces it\n", d.Prefix, d.ShadowedBy)
					return nil
				}
				fmt.Fprintf(w, "announcement %s: deleted, route withdrawn\n", d.Prefix)
				return nil
			})
		},
	}
}

func newAnnounceListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the prefixes godwitd originates",
		Long: `List every prefix godwitd originates, sorted by prefix: its source (the name
of the configuration's Announcement, or "api" for one added with announce
add), its communities and large communities, LOCAL_PREF and MED ("-" where
none is set).

With -o json: a JSON array (empty when there is none), one object per
prefix with prefix, announcement (the Announcement's name, or
"api:PREFIX"), runtime, communities, largeCommunities, and localPreference
and med when set.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(g, cmd, func(ctx context.Context, c *api.Client) ([]api.Announcement, error) { return c.Announcements(ctx) },
				func(w io.Writer, as []api.Announcement) error { printAnnouncements(w, as); return nil })
		},
	}
}

// printAnnouncements writes the announcements as a table.
func printAnnouncements(w io.Writer, as []api.Announcement) {
	if len(as) == 0 {
		fmt.Fprintln(w, "No prefixes announced.")
		return
	}
	cols := []column{
		{header: "Prefix"}, {header: "Source"}, {header: "Communities"},
		{header: "LocPrf", right: true}, {header: "MED", right: true},
	}
	optional := func(v *uint32) string {
		if v == nil {
			return "-"
		}
		return strconv.FormatUint(uint64(*v), 10)
	}
	rows := make([][]string, 0, len(as))
	runtime := 0
	for _, a := range as {
		source := a.Announcement
		if a.Runtime {
			source = "api"
			runtime++
		}
		cs := strings.Join(append(append([]string{}, a.Communities...), a.LargeCommunities...), " ")
		if cs == "" {
			cs = "-"
		}
		rows = append(rows, []string{a.Prefix, source, cs, optional(a.LocalPreference), optional(a.MED)})
	}
	plainTable(w, cols, rows)
	fmt.Fprintf(w, "\n%s announced: %d from the configuration, %d through the API\n",
		plural(len(as), "prefix", "prefixes"), len(as)-runtime, runtime)
}

// plural is "1 prefix" or "N prefixes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// completeRuntimeAnnouncements lists the prefixes added through the API,
// for shell completion, or nothing when the daemon does not answer.
func (g *globals) completeRuntimeAnnouncements(cmd *cobra.Command) []cobra.Completion {
	c, err := g.client()
	if err != nil {
		return nil
	}
	defer c.Close()
	as, err := c.Announcements(cmd.Context())
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, a := range as {
		if a.Runtime {
			out = append(out, cobra.Completion(a.Prefix))
		}
	}
	return out
}
