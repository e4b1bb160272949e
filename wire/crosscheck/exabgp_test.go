package crosscheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestExaBGP has ExaBGP 4.2 (`exabgp --decode HEX CONF`) decode a sample
// of the generated UPDATEs and compares its JSON with godwit's reading:
// the same fields as TestTshark, in the shape ExaBGP 4.2 gives them.
//
// One process decodes several messages: `--decode` takes messages back to
// back and decodes them in turn (configuration/check.py, check_update).
// But it reads the message length as (octet 16 << 16) + octet 17 instead
// of << 8, so a message of 256 octets or more swallows everything after
// it: a batch is any number of messages shorter than 256 octets followed
// by at most one longer message.
//
// What ExaBGP 4.2 does not show, or shows differently, and how the
// comparison deals with it:
//
//   - It keeps one list of AS_SEQUENCE numbers and one of AS_SET numbers
//     per path (aspath.py, _new_aspaths), so segment boundaries and the
//     order of sequences and sets are lost: both sides are reduced to
//     those two lists.
//   - NEXT_HOP is only shown as the key of IPv4 unicast announcements:
//     it is compared when the message announces IPv4 unicast routes.
//   - An IPv6 next hop with a link-local address is two next hops to it
//     (mprnlri.py): every route is listed under both. The two lists must
//     be equal and are read as global plus link-local.
//   - Labels are shown as 20-bit values (the RFC 8277 withdrawal field
//     0x800000 as 524288); EVPN MAC/IP routes show MPLS Label1 only
//     (evpn/mac.py unpacks 3 octets), so Label2 is left out.
//   - EVPN MACs are upper case, a zero ESI is "-".
//   - Route origins with a 2-octet AS or an IPv4 administrator have a
//     wrong "string" (type 0x00 is read as AS and IPv4 address, type 0x01
//     prints "origin:number:address" because OriginIPASN.unpack passes
//     its arguments in the wrong order); extended communities are
//     compared by their "value" (the 8 octets), and the "string" of route
//     targets and of 4-octet-AS route origins is checked too.
//   - It refuses an EVPN MP_REACH_NLRI with an IPv6 (16-octet) next hop
//     ("invalid l2vpn evpn next-hop length 16 expected 4": Family.size
//     allows 4 only), which RFC 7432 §7 and RFC 4760 permit: such
//     messages are left out of the sample.
func TestExaBGP(t *testing.T) {
	bin, err := exec.LookPath("exabgp")
	if err != nil {
		t.Skip("exabgp is not installed (Debian package exabgp); the cross-check against ExaBGP needs it")
	}
	c := getCorpus(t)
	n := *exabgpFlag
	if n <= 0 {
		n = 300
		if testing.Short() {
			n = 40
		}
	}
	sample, excluded := exabgpSample(c, n)

	dir := t.TempDir()
	conf := filepath.Join(dir, "exabgp.conf")
	if err := os.WriteFile(conf, []byte(exabgpConf), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	batches := exabgpBatches(c, sample)
	outputs := make([][]string, len(batches)) // JSON per message of each batch
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	work := make(chan int)
	for range 2 { // the test machines have two cores
		wg.Go(func() {
			for i := range work {
				outputs[i], errs[i] = runExaBGP(bin, conf, c, batches[i])
			}
		})
	}
	for i := range batches {
		work <- i
	}
	close(work)
	wg.Wait()

	failures := 0
	cov := coverage{}
	report := func(i int, problem string) {
		failures++
		if failures <= 20 {
			m := c.msgs[i]
			t.Errorf("message %d (group %d, %s): %s\nhex: %s", i, m.group.id, m.group.kind, problem, hex.EncodeToString(m.raw))
		}
	}
	for b, batch := range batches {
		for k, i := range batch {
			if errs[b] != nil && k >= len(outputs[b]) {
				report(i, "exabgp did not decode it: "+errs[b].Error())
				continue
			}
			u, err := decodeUpdate(c.msgs[i].raw)
			if err != nil {
				t.Fatalf("message %d: godwit cannot decode it: %v", i, err)
			}
			want := exabgpWant(u)
			got, err := exabgpView(outputs[b][k])
			if err != nil {
				report(i, "cannot read exabgp's JSON: "+err.Error()+"\n"+outputs[b][k])
				continue
			}
			want, got = want.sorted(), got.sorted()
			if d := cmp.Diff(want, got); d != "" {
				report(i, "godwit and exabgp disagree (-godwit +exabgp):\n"+d+"godwit:\n"+want.String()+
					"exabgp:\n"+got.String()+"exabgp's JSON: "+outputs[b][k])
				continue
			}
			cov.add(want)
		}
	}
	if failures > 20 {
		t.Errorf("%d messages disagree in all (the first 20 are shown)", failures)
	}
	t.Logf("%d UPDATEs cross-checked against exabgp in %d processes, %v (seed %d; the %d EVPN messages of the corpus "+
		"with an IPv6 next hop are left out)",
		len(sample), len(batches), time.Since(start).Round(time.Millisecond), c.seed, excluded)
	t.Logf("messages that agree, by field set: %v", cov)
}

// exabgpConf is a neighbor with the corpus's families and 4-octet AS
// numbers; ADD-PATH stays off.
const exabgpConf = `neighbor 192.0.2.1 {
	router-id 192.0.2.2;
	local-address 192.0.2.2;
	local-as 4200000002;
	peer-as 4200000001;
	family {
		ipv4 unicast;
		ipv6 unicast;
		ipv4 mpls-vpn;
		l2vpn evpn;
	}
	capability {
		asn4 enable;
	}
}
`

// exabgpSample picks up to n messages, taking the groups' kinds in turn
// so that the rare kinds are in even a small sample, and leaves out what
// ExaBGP 4.2 cannot decode (see TestExaBGP). It returns message indices
// in corpus order and how many messages were left out.
func exabgpSample(c *corpus, n int) (sample []int, excluded int) {
	byKind := map[string][]int{}
	var order []string
	for i, m := range c.msgs {
		if evpnIPv6NextHop(m.raw) {
			excluded++
			continue
		}
		k := m.group.kind
		if _, ok := byKind[k]; !ok {
			order = append(order, k)
		}
		byKind[k] = append(byKind[k], i)
	}
	slices.Sort(order)
	for len(sample) < n {
		took := false
		for _, k := range order {
			if len(byKind[k]) > 0 && len(sample) < n {
				sample = append(sample, byKind[k][0])
				byKind[k] = byKind[k][1:]
				took = true
			}
		}
		if !took {
			break
		}
	}
	slices.Sort(sample)
	return sample, excluded
}

// evpnIPv6NextHop reports whether the message announces EVPN routes with
// a 16-octet next hop.
func evpnIPv6NextHop(raw []byte) bool {
	u, err := decodeUpdate(raw)
	if err != nil {
		return false
	}
	m, ok := u.Attrs.MPReach()
	return ok && m.Family == nlri.L2VPNEVPN && len(m.NextHop) == 16
}

// exabgpBatches groups the sample for the processes: messages shorter
// than 256 octets, then at most one longer one (see TestExaBGP), at most
// 64 KiB of hex per command line.
func exabgpBatches(c *corpus, sample []int) [][]int {
	var batches [][]int
	var cur []int
	size := 0
	for _, i := range sample {
		n := len(c.msgs[i].raw)
		if len(cur) > 0 && size+n > 32<<10 {
			batches = append(batches, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
		if n >= 256 {
			batches = append(batches, cur)
			cur, size = nil, 0
		}
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

// runExaBGP decodes the messages of one batch in one process and returns
// the JSON ExaBGP printed for each, in order. When ExaBGP stops early it
// returns what it printed and an error with its complaint.
func runExaBGP(bin, conf string, c *corpus, batch []int) ([]string, error) {
	var msgs []byte
	for _, i := range batch {
		msgs = append(msgs, c.msgs[i].raw...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--decode", strings.ToUpper(hex.EncodeToString(msgs)), conf)
	// Pin what the installed exabgp.env could change: log to stdout, at
	// INFO (the level of the "update json" lines), no CLI pipes.
	cmd.Env = append(os.Environ(),
		"exabgp_log_destination=stdout", "exabgp_log_level=INFO", "exabgp_log_enable=true",
		"exabgp_api_cli=false", "exabgp_daemon_daemonize=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out []string
	var complaint []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if _, js, ok := strings.Cut(line, "| update json "); ok {
			out = append(out, js)
		} else if strings.Contains(line, "could not parse") || strings.Contains(line, "Notify") ||
			strings.Contains(line, "Error") {
			complaint = append(complaint, strings.TrimSpace(line))
		}
	}
	if len(out) == len(batch) {
		return out, nil
	}
	return out, fmt.Errorf("%d of %d messages of its batch decoded (exit: %v): %s %s", len(out), len(batch), runErr,
		strings.Join(complaint, " / "), strings.TrimSpace(stderr.String()))
}

// exabgpWant is godwit's view reduced to what ExaBGP 4.2 shows (see
// TestExaBGP).
func exabgpWant(u *wire.Update) view {
	var v view
	classicNLRI := false
	for r := range u.Reach() {
		v.Announce = append(v.Announce, exabgpRouteKey(r))
		classicNLRI = classicNLRI || r.Family == nlri.IPv4Unicast
	}
	for r := range u.Unreach() {
		v.Withdraw = append(v.Withdraw, exabgpRouteKey(r))
	}
	attrsView(&v, u.Attrs)
	if !classicNLRI {
		v.NextHop = ""
	}
	if p, ok := u.Attrs.ASPath(); ok {
		var seq, set []uint32
		for _, s := range p.Segments {
			switch s.Type {
			case iana.SegmentASSequence:
				seq = append(seq, s.ASNs...)
			case iana.SegmentASSet:
				set = append(set, s.ASNs...)
			}
		}
		v.ASPath = exabgpPath(seq, set)
	}
	return v
}

// exabgpPath is an AS path as ExaBGP 4.2 keeps it: all AS_SEQUENCE
// numbers, then all AS_SET numbers; "" when there are none.
func exabgpPath(seq, set []uint32) string {
	if len(seq) == 0 && len(set) == 0 {
		return ""
	}
	return "sequence(" + formatSegment(iana.SegmentASSequence, seq) + ") set" + formatSegment(iana.SegmentASSet, set)
}

// exabgpRouteKey is routeKey with labels as ExaBGP 4.2 shows them: 20-bit
// values, and the first label only of an EVPN MAC/IP route.
func exabgpRouteKey(r wire.Route) string {
	switch n := r.NLRI.(type) {
	case nlri.VPN:
		return fmt.Sprintf("vpn rd=%s label=%s %s", formatRD(n.RD), plainLabels(n.Labels), n.Prefix)
	case nlri.MACIP:
		n.Labels = n.Labels[:1]
		return routeKey(n)
	}
	return routeKeyOf(r)
}

func plainLabels(ls []nlri.Label) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = strconv.FormatUint(uint64(l.Value()), 10)
	}
	return strings.Join(parts, ",")
}

// exabgpView reads ExaBGP's JSON for one UPDATE into a view.
func exabgpView(js string) (view, error) {
	var doc struct {
		Type     string `json:"type"`
		Neighbor struct {
			Message struct {
				Update struct {
					Attribute map[string]json.RawMessage             `json:"attribute"`
					Announce  map[string]map[string][]map[string]any `json:"announce"`
					Withdraw  map[string][]map[string]any            `json:"withdraw"`
				} `json:"update"`
			} `json:"message"`
		} `json:"neighbor"`
	}
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return view{}, err
	}
	if doc.Type != "update" {
		return view{}, fmt.Errorf("message type %q", doc.Type)
	}
	up := doc.Neighbor.Message.Update
	var v view
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for fam, routes := range up.Withdraw {
		for _, r := range routes {
			v.Withdraw = append(v.Withdraw, exabgpRoute(fam, r, fail))
		}
	}
	for fam, byNH := range up.Announce {
		var hops []string
		var lists [][]string
		for nh, routes := range byNH {
			var keys []string
			for _, r := range routes {
				keys = append(keys, exabgpRoute(fam, r, fail))
			}
			hops = append(hops, nh)
			lists = append(lists, keys)
		}
		switch {
		case len(hops) == 2 && isLinkLocal(hops[0]) != isLinkLocal(hops[1]):
			// Global and link-local (see TestExaBGP).
			if isLinkLocal(hops[0]) {
				hops[0], hops[1] = hops[1], hops[0]
			}
			if !slices.Equal(lists[0], lists[1]) {
				fail("%s: different routes under the global and link-local next hops: %v, %v", fam, lists[0], lists[1])
			}
			lists = lists[:1]
		case len(hops) != 1:
			fail("%s: %d next hops %v", fam, len(hops), hops)
		}
		for _, l := range lists {
			v.Announce = append(v.Announce, l...)
		}
		if fam == "ipv4 unicast" {
			v.NextHop = hops[0]
		} else {
			v.MPNextHop = hops
		}
	}

	str := func(raw json.RawMessage) string {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			fail("%s is not a string: %v", raw, err)
		}
		return s
	}
	var seq, set []uint32
	for k, raw := range up.Attribute {
		switch k {
		case "origin":
			v.Origin = str(raw)
		case "as-path":
			seq = exabgpASNs(raw, fail)
		case "as-set":
			set = exabgpASNs(raw, fail)
		case "confederation-path", "confederation-set":
			if c := exabgpASNs(raw, fail); len(c) > 0 {
				fail("%s %v: the corpus has no confederation segments", k, c)
			}
		case "med":
			v.MED = string(raw)
		case "local-preference":
			v.LocalPref = string(raw)
		case "atomic-aggregate":
			v.AtomicAggregate = string(raw) == "true"
		case "aggregator":
			as, addr, _ := strings.Cut(str(raw), ":")
			v.Aggregator = as + " " + addr
		case "community":
			var cs [][2]uint16
			if err := json.Unmarshal(raw, &cs); err != nil {
				fail("community %s: %v", raw, err)
			}
			for _, c := range cs {
				v.Communities = append(v.Communities, fmt.Sprintf("%d:%d", c[0], c[1]))
			}
		case "large-community":
			var cs [][3]uint32
			if err := json.Unmarshal(raw, &cs); err != nil {
				fail("large-community %s: %v", raw, err)
			}
			for _, c := range cs {
				v.LargeCommunities = append(v.LargeCommunities, fmt.Sprintf("%d:%d:%d", c[0], c[1], c[2]))
			}
		case "extended-community":
			var es []struct {
				Value  json.Number `json:"value"`
				String string      `json:"string"`
			}
			if err := json.Unmarshal(raw, &es); err != nil {
				fail("extended-community %s: %v", raw, err)
			}
			for _, e := range es {
				n, err := strconv.ParseUint(e.Value.String(), 10, 64)
				if err != nil {
					fail("extended community value %q: %v", e.Value, err)
				}
				var ec attr.ExtCommunity
				binary.BigEndian.PutUint64(ec[:], n)
				if want, ok := exabgpExtString(ec); ok && want != e.String {
					fail("extended community %s shown as %q, want %q", formatExtCommunity(ec), e.String, want)
				}
				v.ExtCommunities = append(v.ExtCommunities, formatExtCommunity(ec))
			}
		case "originator-id":
			v.OriginatorID = str(raw)
		case "cluster-list":
			if err := json.Unmarshal(raw, &v.ClusterList); err != nil {
				fail("cluster-list %s: %v", raw, err)
			}
		default:
			fail("unexpected attribute %q: %s", k, raw)
		}
	}
	v.ASPath = exabgpPath(seq, set)
	return v, errors.Join(errs...)
}

func isLinkLocal(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.IsLinkLocalUnicast()
}

func exabgpASNs(raw json.RawMessage, fail func(string, ...any)) []uint32 {
	var asns []uint32
	if err := json.Unmarshal(raw, &asns); err != nil {
		fail("AS numbers %s: %v", raw, err)
	}
	return asns
}

// exabgpExtString is the "string" ExaBGP 4.2 gives a route target of any
// form or a route origin with a 4-octet AS; false for the route origins it
// prints wrongly (see TestExaBGP).
func exabgpExtString(e attr.ExtCommunity) (string, bool) {
	var kind string
	switch e[1] {
	case attr.ExtSubRouteTarget:
		kind = "target:"
	case attr.ExtSubRouteOrigin:
		if e[0] != attr.ExtTypeFourOctetAS {
			return "", false
		}
		kind = "origin:"
	default:
		return "", false
	}
	switch e[0] {
	case attr.ExtTypeTwoOctetAS:
		return kind + formatAdmin(0, [6]byte(e[2:])), true
	case attr.ExtTypeIPv4:
		return kind + formatAdmin(1, [6]byte(e[2:])), true
	case attr.ExtTypeFourOctetAS:
		return fmt.Sprintf("%s%dL:%d", kind, binary.BigEndian.Uint32(e[2:]), binary.BigEndian.Uint16(e[6:])), true
	}
	return "", false
}

// exabgpRoute reads one route of ExaBGP's JSON in the notation of view.
func exabgpRoute(fam string, r map[string]any, fail func(string, ...any)) string {
	s := func(k string) string {
		switch x := r[k].(type) {
		case string:
			return x
		case json.Number:
			return x.String()
		case nil:
			return ""
		}
		fail("%s: field %q is %T", fam, k, r[k])
		return ""
	}
	// labels reads "label": [[value], ...] or [[value, field], ...] and
	// returns the values; a field, when given, must agree with its value.
	labels := func() []string {
		ls, _ := r["label"].([]any)
		var out []string
		for _, l := range ls {
			parts, _ := l.([]any)
			if len(parts) == 0 {
				fail("%s: label %v", fam, l)
				continue
			}
			val := fmt.Sprint(parts[0])
			if len(parts) > 1 {
				field, err := strconv.ParseUint(fmt.Sprint(parts[1]), 10, 32)
				if err != nil || strconv.FormatUint(field>>4, 10) != val {
					fail("%s: label value %s and field %v disagree", fam, val, parts[1])
				}
			}
			out = append(out, val)
		}
		return out
	}
	esi := func() string {
		if e := s("esi"); e != "-" {
			return e
		}
		return colonHex(make([]byte, 10))
	}
	prefix := func(p string) string {
		pp, err := netip.ParsePrefix(p)
		if err != nil {
			fail("%s: prefix %q: %v", fam, p, err)
			return p
		}
		return pp.String()
	}
	switch fam {
	case "ipv4 unicast", "ipv6 unicast":
		return prefix(s("nlri"))
	case "ipv4 mpls-vpn":
		return fmt.Sprintf("vpn rd=%s label=%s %s", s("rd"), strings.Join(labels(), ","), prefix(s("nlri")))
	case "l2vpn evpn":
		switch s("code") {
		case "1":
			return fmt.Sprintf("evpn1 rd=%s esi=%s tag=%s label=%s", s("rd"), esi(), s("ethernet-tag"), strings.Join(labels(), ","))
		case "4":
			return fmt.Sprintf("evpn4 rd=%s esi=%s orig=%s", s("rd"), esi(), s("ip"))
		case "2":
			k := fmt.Sprintf("evpn2 rd=%s esi=%s tag=%s mac=%s", s("rd"), esi(), s("ethernet-tag"), strings.ToLower(s("mac")))
			if ip := s("ip"); ip != "" {
				k += " ip=" + ip
			}
			return k + " label=" + strings.Join(labels(), ",")
		case "3":
			return fmt.Sprintf("evpn3 rd=%s tag=%s orig=%s", s("rd"), s("ethernet-tag"), s("ip"))
		case "5":
			return fmt.Sprintf("evpn5 rd=%s esi=%s tag=%s prefix=%s gw=%s label=%s", s("rd"), esi(), s("ethernet-tag"),
				prefix(s("ip")+"/"+s("iplen")), s("gateway"), strings.Join(labels(), ","))
		}
		fail("%s: route %v", fam, r)
		return "evpn?"
	}
	fail("unexpected family %q", fam)
	return fam
}
