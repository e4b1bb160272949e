package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/godwit-bgp/godwit/api"
)

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// boxTable renders a table framed like calicoctl's (headers centred,
// cells left-aligned):
//
//	+------+-------+
//	| NAME | STATE |
//	+------+-------+
//	| a    | up    |
//	+------+-------+
func boxTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var rule strings.Builder
	rule.WriteByte('+')
	for _, wd := range widths {
		rule.WriteString(strings.Repeat("-", wd+2))
		rule.WriteByte('+')
	}
	line := func(cells []string, center bool) {
		var b strings.Builder
		b.WriteByte('|')
		for i, c := range cells {
			pad := widths[i] - utf8.RuneCountInString(c)
			left := 0
			if center {
				left = pad / 2
			}
			fmt.Fprintf(&b, " %s%s%s |", strings.Repeat(" ", left), c, strings.Repeat(" ", pad-left))
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w, rule.String())
	line(header, true)
	fmt.Fprintln(w, rule.String())
	for _, r := range rows {
		line(r, false)
	}
	fmt.Fprintln(w, rule.String())
}

// column is one column of a plainTable.
type column struct {
	header string
	right  bool // right-aligned (numbers)
}

// plainTable renders columns separated by spaces, like FRR's summaries.
// The last column is not padded.
func plainTable(w io.Writer, cols []column, rows [][]string) {
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.header)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(' ')
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case cols[i].right:
				b.WriteString(pad + c)
			case i == len(cells)-1:
				b.WriteString(c)
			default:
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	line(headers)
	for _, r := range rows {
		line(r)
	}
}

// upDown formats a duration the way FRR's Up/Down column does:
// hh:mm:ss under a day, XdYYhZZm under a week, XXwYdZZh after.
func upDown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	const day, week = 86400, 7 * 86400
	switch {
	case s < day:
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	case s < week:
		return fmt.Sprintf("%dd%02dh%02dm", s/day, s%day/3600, s%3600/60)
	}
	return fmt.Sprintf("%02dw%dd%02dh", s/week, s%week/day, s%day/3600)
}

// since formats a state-change time like BIRD's (and so calicoctl's)
// SINCE column: the time of day when it is today, the date otherwise.
func (g *globals) since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t, now := t.In(g.loc), g.now().In(g.loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02")
}

// stamp formats a time for detail views: RFC 3339 in the local zone and
// how long ago.
func (g *globals) stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", t.In(g.loc).Format(time.RFC3339), upDown(g.now().Sub(t)))
}

// orNA is s, or "N/A" when it is empty.
func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// show asks the daemon once and prints the answer: as JSON with -o json,
// else with text. It is the shape of most commands that read the daemon.
func show[T any](g *globals, cmd *cobra.Command, get func(context.Context, *api.Client) (T, error), text func(io.Writer, T) error) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := get(cmd.Context(), c)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if g.jsonOutput() {
		return writeJSON(w, v)
	}
	return text(w, v)
}
