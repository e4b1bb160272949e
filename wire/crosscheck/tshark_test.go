package crosscheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestTshark writes every generated UPDATE into one capture, has
// Wireshark's BGP dissector (tshark -T json) decode it in one run, and
// compares its reading of each message with godwit's: routes announced and
// withdrawn, next hops, ORIGIN, AS_PATH, MED, LOCAL_PREF,
// ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES, LARGE_COMMUNITY, EXTENDED_
// COMMUNITIES, ORIGINATOR_ID and CLUSTER_LIST. A warning or error of the
// dissector's expert system fails the message too.
//
// Conventions of the dissector (Wireshark 4.0) that the comparison maps:
//
//   - The AS number width does not come from the OPEN messages: the
//     dissector guesses it per AS_PATH unless the preference bgp.asn_len
//     says "4 octet", and the guess gives up on some of these paths ("ASN
//     length uncalculated by heuristic" on 8 of the 3000 messages of the
//     default seed, OPEN pair or not; a 6-octet AS_PATH, for one, is one
//     4-octet or two 2-octet AS numbers). The capture still starts with
//     an OPEN pair announcing the capability, as a real session would.
//   - The prefix length shown for a VPN route is the whole NLRI length in
//     bits (labels and RD included).
//   - The RFC 8277 withdrawal label field 0x800000 is shown as
//     "0 (withdrawn)".
//   - ADD-PATH is not taken from the OPEN messages either, and there is
//     no preference for it: the dissector guesses it per field. See
//     tshark_addpath_test.go for when, and how such a field is compared.
//   - An EVPN type 5 label is shown as the whole 24-bit field (the VNI
//     reading of RFC 8365); type 1 and 2 labels are shown as 20-bit
//     values.
func TestTshark(t *testing.T) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (Debian package tshark); the cross-check against Wireshark's BGP dissector needs it")
	}
	c := getCorpus(t)
	dir := t.TempDir()
	capture := filepath.Join(dir, "updates.pcap")
	pcap := buildPcap(c)
	if err := os.WriteFile(capture, pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	if *pcapFlag != "" {
		if err := os.WriteFile(*pcapFlag, pcap, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	updates, err := runTshark(bin, dir, capture)
	if err != nil {
		t.Fatal(err)
	}
	if len(updates) != len(c.msgs) {
		t.Fatalf("tshark shows %d UPDATE messages, the capture holds %d", len(updates), len(c.msgs))
	}

	failures, addPathGuesses := 0, 0
	cov := coverage{}
	for i, m := range c.msgs {
		node := updates[i]
		u, err := decodeUpdate(m.raw)
		if err != nil {
			t.Fatalf("message %d: godwit cannot decode it: %v", i, err)
		}
		problem, guessed := compareTshark(u, node, len(m.raw), cov)
		if guessed {
			addPathGuesses++
		}
		if problem == "" {
			continue
		}
		failures++
		if failures <= 20 {
			t.Errorf("message %d (group %d, %s): %s\nhex: %s", i, m.group.id, m.group.kind, problem, hex.EncodeToString(m.raw))
		}
	}
	if failures > 20 {
		t.Errorf("%d messages disagree in all (the first 20 are shown)", failures)
	}
	t.Logf("%d UPDATEs cross-checked against tshark in %v (seed %d); %d of them only up to where tshark guessed "+
		"ADD-PATH for a field holding a zero-length prefix",
		len(c.msgs), time.Since(start).Round(time.Millisecond), c.seed, addPathGuesses)
	t.Logf("messages that agree, by field set: %v", cov)
}

// compareTshark compares the dissector's reading of one UPDATE with
// godwit's, u, and returns the problem ("" when they agree) and whether
// the dissector guessed ADD-PATH (the message is then compared only up to
// there). cov counts the fields of the messages that agree.
func compareTshark(u *wire.Update, node tsharkMsg, length int, cov coverage) (problem string, guessed bool) {
	r, err := tsharkView(node.bgp)
	if r.anyPathIDs() {
		return addPathExcuse(u, r), true
	}
	want, got := godwitView(u).sorted(), r.view.sorted()
	switch {
	case err != nil:
		return "cannot read tshark's dissection: " + err.Error(), false
	case node.bgp.get("bgp.length") != strconv.Itoa(length):
		return fmt.Sprintf("tshark's message has length %s, ours %d: the capture is out of step",
			node.bgp.get("bgp.length"), length), false
	case node.malformed:
		return "tshark marks the packet malformed", false
	}
	if w := expertWarnings(node.bgp); len(w) > 0 {
		return "tshark's expert info: " + strings.Join(w, "; "), false
	}
	if d := cmp.Diff(want, got); d != "" {
		return "godwit and tshark disagree (-godwit +tshark):\n" + d + "godwit:\n" + want.String() + "tshark:\n" + got.String(), false
	}
	cov.add(want)
	return "", false
}

// buildPcap writes the session: the handshake, an OPEN from each side
// with the 4-octet AS capability and the families of the corpus, then
// every message of c from the client, one per segment.
func buildPcap(c *corpus) []byte {
	p := newPcapStream()
	caps := []wire.Capability{
		wire.CapMultiprotocol{Family: nlri.IPv4Unicast},
		wire.CapMultiprotocol{Family: nlri.IPv6Unicast},
		wire.CapMultiprotocol{Family: nlri.IPv4VPN},
		wire.CapMultiprotocol{Family: nlri.L2VPNEVPN},
		wire.CapFourOctetAS{AS: 4200000001},
	}
	p.send(true, wire.NewOpen(4200000001, 90, pcapClient, caps...).AppendTo(nil, session))
	caps[len(caps)-1] = wire.CapFourOctetAS{AS: 4200000002}
	p.send(false, wire.NewOpen(4200000002, 90, pcapServer, caps...).AppendTo(nil, session))
	for _, m := range c.msgs {
		p.send(true, m.raw)
	}
	return p.buf
}

// runTshark decodes the capture and returns the dissection of every
// UPDATE, in order. It runs tshark with an empty configuration directory
// (no personal preferences), without name resolution, and with a time
// limit.
func runTshark(bin, dir, capture string) ([]tsharkMsg, error) {
	conf := filepath.Join(dir, "wireshark")
	if err := os.Mkdir(conf, 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-n", "-r", capture,
		"-o", "bgp.asn_len:4 octet",
		"-d", "tcp.port==179,bgp",
		"-T", "json", "-J", "bgp")
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	updates, perr := readTsharkUpdates(bufio.NewReaderSize(out, 1<<20))
	if perr != nil {
		// Drain what is left so that tshark is not stuck on a full pipe.
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if werr != nil {
		return nil, fmt.Errorf("tshark: %v\n%s", werr, stderr.String())
	}
	if perr != nil {
		return nil, fmt.Errorf("reading tshark's JSON: %w", perr)
	}
	return updates, nil
}

// tsharkMsg is the dissection of one UPDATE, and whether the dissector
// marked its packet malformed (it does so beside the bgp layer).
type tsharkMsg struct {
	bgp       *jnode
	malformed bool
}

// readTsharkUpdates reads the packet array packet by packet, keeping only
// the "bgp" layers of type UPDATE (a segment may hold several messages).
func readTsharkUpdates(r *bufio.Reader) ([]tsharkMsg, error) {
	d := json.NewDecoder(r)
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("want a JSON array, got %v (%v)", tok, err)
	}
	var updates []tsharkMsg
	for d.More() {
		pkt, err := readJSONValue(d, "")
		if err != nil {
			return nil, err
		}
		layers := pkt.child("_source").child("layers")
		first := len(updates)
		for _, bgp := range layers.children("bgp") {
			if bgp.get("bgp.type") == "2" {
				updates = append(updates, tsharkMsg{bgp: bgp})
			}
		}
		if layers.child("_ws.malformed") != nil && len(updates) > first {
			// The exception ends the dissection: the last message
			// of the packet is the malformed one.
			updates[len(updates)-1].malformed = true
		}
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	return updates, nil
}

// expertWarnings lists the dissector's expert infos of severity warning
// or error, and malformed-packet markers. (Notes such as "IP Address: NOT
// INCLUDED" for an EVPN MAC route without IP are fine.)
func expertWarnings(bgp *jnode) []string {
	const warn = 0x00600000 // PI_WARN; PI_ERROR is 0x00800000
	var out []string
	bgp.walk(func(n *jnode) {
		switch n.key {
		case "_ws.expert":
			if s, err := strconv.Atoi(n.get("_ws.expert.severity")); err == nil && s >= warn {
				out = append(out, n.get("_ws.expert.message"))
			}
		case "_ws.malformed":
			out = append(out, "malformed packet")
		}
	})
	return out
}

// tsharkReading is the dissector's reading of one UPDATE.
type tsharkReading struct {
	view        view
	routes      [numFields][]string // the routes of each field, as in view
	pathIDs     [numFields]bool     // the field was read with ADD-PATH path identifiers
	firstPathID [numFields]int      // the index in routes of the first with one
}

func (r tsharkReading) anyPathIDs() bool {
	for _, p := range r.pathIDs {
		if p {
			return true
		}
	}
	return false
}

// tsharkView reads the dissection of one UPDATE.
func tsharkView(bgp *jnode) (tsharkReading, error) {
	var r tsharkReading
	v := &r.view
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// prefixes reads the unicast prefixes of field f; addr is the field
	// name of their address.
	prefixes := func(f nlriField, list *jnode, addr string) {
		for _, p := range list.list() {
			if p.child("bgp.nlri_path_id") != nil && !r.pathIDs[f] {
				r.pathIDs[f], r.firstPathID[f] = true, len(r.routes[f])
			}
			r.routes[f] = append(r.routes[f], tsharkPrefix(p, addr, fail))
		}
	}
	prefixes(fieldWithdrawn, bgp.child("bgp.update.withdrawn_routes"), "bgp.withdrawn_prefix")
	prefixes(fieldNLRI, bgp.child("bgp.update.nlri"), "bgp.nlri_prefix")
	const pa = "bgp.update.path_attribute."
	for _, a := range bgp.child("bgp.update.path_attributes").children("bgp.update.path_attribute") {
		switch code := a.get(pa + "type_code"); code {
		case "1":
			origins := map[string]string{"0": "igp", "1": "egp", "2": "incomplete"}
			v.Origin = origins[a.get(pa+"origin")]
		case "2":
			var segs []string
			for _, s := range a.children(pa + "as_path_segment") {
				if s.child(pa+"as_path_segment.as2") != nil {
					fail("AS_PATH read with 2-octet AS numbers")
				}
				var asns []uint32
				for _, as := range s.children(pa + "as_path_segment.as4") {
					asns = append(asns, parseUint32(as.value, fail))
				}
				typ := parseUint32(s.get(pa+"as_path_segment.type"), fail)
				segs = append(segs, formatSegment(segmentType(typ), asns))
			}
			v.ASPath = strings.Join(segs, " ")
		case "3":
			v.NextHop = a.get(pa + "next_hop")
		case "4":
			v.MED = a.get(pa + "multi_exit_disc")
		case "5":
			v.LocalPref = a.get(pa + "local_pref")
		case "6":
			v.AtomicAggregate = true
		case "7":
			v.Aggregator = a.get(pa+"aggregator_as") + " " + a.get(pa+"aggregator_origin")
		case "8":
			for _, c := range a.child(pa + "communities").list() {
				switch c.key {
				case pa + "community":
					v.Communities = append(v.Communities, c.get(pa+"community_as")+":"+c.get(pa+"community_value"))
				case pa + "community_wellknown":
					n, err := strconv.ParseUint(strings.TrimPrefix(c.value, "0x"), 16, 32)
					if err != nil {
						fail("community %q: %v", c.value, err)
					}
					v.Communities = append(v.Communities, formatCommunity(uint32(n)))
				}
			}
		case "9":
			v.OriginatorID = a.get(pa + "originator_id")
		case "10":
			for _, id := range a.child("bgp.path_attribute.cluster_list").children("bgp.path_attribute.cluster_id") {
				v.ClusterList = append(v.ClusterList, id.value)
			}
		case "14":
			afi, safi := a.get(pa+"mp_reach_nlri.afi"), a.get(pa+"mp_reach_nlri.safi")
			nh := a.child(pa + "mp_reach_nlri.next_hop_tree")
			global := nh.get(pa + "mp_reach_nlri.next_hop.ipv4")
			if global == "" {
				global = nh.get(pa + "mp_reach_nlri.next_hop.ipv6")
			}
			if rd := nh.get(pa + "mp_reach_nlri.next_hop.rd"); rd != "" && rd != "0:0" {
				global = "rd=" + rd + " " + global
			}
			v.MPNextHop = []string{global}
			if ll := nh.get(pa + "mp_reach_nlri.next_hop.ipv6.link_local"); ll != "" {
				v.MPNextHop = append(v.MPNextHop, ll)
			}
			if afi+"/"+safi == "2/1" {
				prefixes(fieldMPReach, a.child(pa+"mp_reach_nlri"), "bgp.mp_reach_nlri_ipv6_prefix")
			} else {
				r.routes[fieldMPReach] = tsharkMPRoutes(afi, safi, a.child(pa+"mp_reach_nlri"), "bgp.mp_reach_nlri_", fail)
			}
		case "15":
			afi, safi := a.get(pa+"mp_unreach_nlri.afi"), a.get(pa+"mp_unreach_nlri.safi")
			if afi+"/"+safi == "2/1" {
				prefixes(fieldMPUnreach, a.child(pa+"mp_unreach_nlri"), "bgp.mp_unreach_nlri_ipv6_prefix")
			} else {
				r.routes[fieldMPUnreach] = tsharkMPRoutes(afi, safi, a.child(pa+"mp_unreach_nlri"), "bgp.mp_unreach_nlri_", fail)
			}
		case "16":
			for _, e := range a.child("bgp.ext_communities").children("bgp.ext_community") {
				v.ExtCommunities = append(v.ExtCommunities, tsharkExtCommunity(e, fail))
			}
		case "32":
			for _, l := range a.children("bgp.large_communities_tree") {
				v.LargeCommunities = append(v.LargeCommunities, l.get("bgp.large_communities.ga")+":"+
					l.get("bgp.large_communities.ldp1")+":"+l.get("bgp.large_communities.ldp2"))
			}
		default:
			fail("unexpected path attribute type %s", code)
		}
	}
	v.Withdraw = append(r.routes[fieldWithdrawn], r.routes[fieldMPUnreach]...)
	v.Announce = append(r.routes[fieldNLRI], r.routes[fieldMPReach]...)
	return r, errors.Join(errs...)
}

func segmentType(t uint32) iana.SegmentType { return iana.SegmentType(t) }

func parseUint32(s string, fail func(string, ...any)) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		fail("number %q: %v", s, err)
	}
	return uint32(n)
}

// tsharkPrefix reads a prefix node: the address under field, the length
// under bgp.prefix_length.
func tsharkPrefix(n *jnode, field string, fail func(string, ...any)) string {
	a, err := netip.ParseAddr(n.get(field))
	if err != nil {
		fail("prefix %q: no %s: %v", n.key, field, err)
		return n.key
	}
	p := netip.PrefixFrom(a, int(parseUint32(n.get("bgp.prefix_length"), fail))).String()
	if id := n.get("bgp.nlri_path_id"); id != "" && id != "0" {
		p += " path-id " + id
	}
	return p
}

// tsharkMPRoutes reads the NLRI of an MP attribute of the other
// families the corpus has (VPN-IPv4, EVPN). field is the prefix of the
// prefix fields ("bgp.mp_reach_nlri_" or "bgp.mp_unreach_nlri_").
func tsharkMPRoutes(afi, safi string, routes *jnode, field string, fail func(string, ...any)) (out []string) {
	switch afi + "/" + safi {
	case "1/128":
		for _, p := range routes.children("BGP Prefix") {
			var labels []string
			for _, l := range strings.Split(p.get("bgp.label_stack"), ",") {
				l = strings.TrimSpace(l)
				switch {
				case l == "0 (withdrawn)":
					l = "withdrawn"
				default:
					l = strings.TrimSuffix(l, " (bottom)")
				}
				labels = append(labels, l)
			}
			// The length counts the labels and the RD.
			bits := int(parseUint32(p.get("bgp.prefix_length"), fail)) - 24*len(labels) - 64
			a, err := netip.ParseAddr(p.get(field + "ipv4_prefix"))
			if err != nil || bits < 0 {
				fail("VPN route: address %q (%v), %d bits", p.get(field+"ipv4_prefix"), err, bits)
				continue
			}
			out = append(out, fmt.Sprintf("vpn rd=%s label=%s %s", p.get("bgp.rd"), strings.Join(labels, ","),
				netip.PrefixFrom(a, bits)))
		}
	case "25/70":
		for _, r := range routes.children("bgp.evpn.nlri") {
			out = append(out, tsharkEVPN(r, fail))
		}
	default:
		fail("unexpected family %s/%s", afi, safi)
	}
	return out
}

// tsharkEVPN reads one EVPN route of type 1 to 5.
func tsharkEVPN(r *jnode, fail func(string, ...any)) string {
	const f = "bgp.evpn.nlri."
	var rd nlri.RD
	if b, err := hex.DecodeString(strings.ReplaceAll(r.get(f+"rd"), ":", "")); err != nil || len(b) != 8 {
		fail("EVPN RD %q", r.get(f+"rd"))
	} else {
		rd = nlri.RD(b)
	}
	ip := r.get(f + "ip.addr")
	if ip == "" {
		ip = r.get(f + "ipv6.addr")
	}
	switch typ := r.get(f + "rt"); typ {
	case "1":
		return fmt.Sprintf("evpn1 rd=%s esi=%s tag=%s label=%s", formatRD(rd), r.get(f+"esi"), r.get(f+"etag"), r.get(f+"mpls_ls1"))
	case "4":
		return fmt.Sprintf("evpn4 rd=%s esi=%s orig=%s", formatRD(rd), r.get(f+"esi"), ip)
	case "2":
		s := fmt.Sprintf("evpn2 rd=%s esi=%s tag=%s mac=%s", formatRD(rd), r.get(f+"esi"), r.get(f+"etag"), r.get(f+"mac_addr"))
		if ip != "" {
			s += " ip=" + ip
		}
		s += " label=" + r.get(f+"mpls_ls1")
		if l2 := r.get(f + "mpls_ls2"); l2 != "" {
			s += "," + l2
		}
		return s
	case "3":
		return fmt.Sprintf("evpn3 rd=%s tag=%s orig=%s", formatRD(rd), r.get(f+"etag"), ip)
	case "5":
		gw := r.get(f + "ipv4.gtw_addr")
		if gw == "" {
			gw = r.get(f + "ipv6.gtw_addr")
		}
		// The whole 24-bit label field; godwit's view has the 20-bit
		// label value.
		field := parseUint32(r.child("bgp.update.path_attribute.mpls_label").get("bgp.update.path_attribute.mpls_label_value"), fail)
		prefix := ip + "/" + r.get(f+"prefix_len")
		if a, err := netip.ParseAddr(ip); err == nil {
			prefix = netip.PrefixFrom(a, int(parseUint32(r.get(f+"prefix_len"), fail))).String()
		}
		return fmt.Sprintf("evpn5 rd=%s esi=%s tag=%s prefix=%s gw=%s label=%d", formatRD(rd), r.get(f+"esi"),
			r.get(f+"etag"), prefix, gw, nlri.Label(field).Value())
	default:
		fail("unexpected EVPN route type %s", typ)
		return "evpn" + typ
	}
}

// tsharkExtCommunity rebuilds the 8 octets of a route target or route
// origin from tshark's fields.
func tsharkExtCommunity(e *jnode, fail func(string, ...any)) string {
	const f = "bgp.ext_com."
	typ, err := strconv.ParseUint(strings.TrimPrefix(e.get(f+"type"), "0x"), 16, 8)
	if err != nil {
		fail("extended community type %q", e.get(f+"type"))
	}
	var sub string
	for _, k := range e.kids {
		if strings.HasPrefix(k.key, f+"stype_") {
			sub = k.value
		}
	}
	st, err := strconv.ParseUint(strings.TrimPrefix(sub, "0x"), 16, 8)
	if err != nil {
		fail("extended community subtype %q", sub)
	}
	var ec attr.ExtCommunity
	ec[0], ec[1] = byte(typ), byte(st)
	num := func(key string, bits int) uint64 {
		n, err := strconv.ParseUint(e.get(f+key), 10, bits)
		if err != nil {
			fail("extended community field %s: %v", key, err)
		}
		return n
	}
	switch ec[0] {
	case attr.ExtTypeTwoOctetAS:
		binary.BigEndian.PutUint16(ec[2:], uint16(num("value_as2", 16)))
		binary.BigEndian.PutUint32(ec[4:], uint32(num("value_an4", 32)))
	case attr.ExtTypeIPv4:
		a, err := netip.ParseAddr(e.get(f + "value_IP4"))
		if err != nil || !a.Is4() {
			fail("extended community address %q", e.get(f+"value_IP4"))
		}
		a4 := a.As4()
		copy(ec[2:], a4[:])
		binary.BigEndian.PutUint16(ec[6:], uint16(num("value_an2", 16)))
	case attr.ExtTypeFourOctetAS:
		binary.BigEndian.PutUint32(ec[2:], uint32(num("value_as4", 32)))
		binary.BigEndian.PutUint16(ec[6:], uint16(num("value_an2", 16)))
	default:
		fail("unexpected extended community type %#x", ec[0])
	}
	return formatExtCommunity(ec)
}
