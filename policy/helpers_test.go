package policy

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// parseDocs parses YAML documents with package config, as a configuration
// file would be, and compiles every RoutePolicy in it by name.
func parseDocs(t testing.TB, docs string) map[string]*Policy {
	t.Helper()
	rs, err := config.Parse("test.yaml", []byte(docs))
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	out := map[string]*Policy{}
	for _, r := range rs {
		spec, ok := r.Spec.(*config.RoutePolicySpec)
		if !ok {
			continue
		}
		p, err := Compile(r.Metadata.Name, spec)
		if err != nil {
			t.Fatalf("Compile(%s): %v", r.Metadata.Name, err)
		}
		out[r.Metadata.Name] = p
	}
	return out
}

// policyOf parses one RoutePolicy document whose spec is given (YAML,
// without the "spec:" line) and compiles it.
func policyOf(t testing.TB, spec string) *Policy {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: bgp.godwit.dev/v1alpha1\nkind: RoutePolicy\nmetadata: {name: test}\nspec:\n")
	for line := range strings.SplitSeq(strings.Trim(spec, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	ps := parseDocs(t, b.String())
	return ps["test"]
}

// attrsOf builds an attribute list from a compact text, one attribute per
// ';'-separated item, in the order given:
//
//	origin igp | aspath 65001 {1,2} | nh 192.0.2.1 | med 5 | lp 100 |
//	comm 65000:1 no-export | large 1:2:3 | ext rt:65000:1 soo:1.2.3.4:5
//
// "aspath" with nothing after it is the empty path.
func attrsOf(t testing.TB, text string) attr.List {
	t.Helper()
	var l attr.List
	if strings.TrimSpace(text) == "" {
		return l
	}
	for item := range strings.SplitSeq(text, ";") {
		item = strings.TrimSpace(item)
		kind, rest, _ := strings.Cut(item, " ")
		rest = strings.TrimSpace(rest)
		fields := strings.Fields(rest)
		switch kind {
		case "origin":
			o, err := attr.ParseOrigin(rest)
			check(t, err)
			l = append(l, &attr.Origin{Value: o})
		case "aspath":
			p, err := attr.ParseASPath(rest)
			check(t, err)
			l = append(l, p)
		case "nh":
			l = append(l, &attr.NextHop{Addr: netip.MustParseAddr(rest)})
		case "med":
			v, err := strconv.ParseUint(rest, 10, 32)
			check(t, err)
			l = append(l, &attr.MED{Value: uint32(v)})
		case "lp":
			v, err := strconv.ParseUint(rest, 10, 32)
			check(t, err)
			l = append(l, &attr.LocalPref{Value: uint32(v)})
		case "comm":
			a := &attr.Communities{}
			for _, f := range fields {
				v, err := attr.ParseCommunity(f)
				check(t, err)
				a.Values = append(a.Values, v)
			}
			l = append(l, a)
		case "large":
			a := &attr.LargeCommunities{}
			for _, f := range fields {
				v, err := attr.ParseLargeCommunity(f)
				check(t, err)
				a.Values = append(a.Values, v)
			}
			l = append(l, a)
		case "ext":
			a := &attr.ExtCommunities{}
			for _, f := range fields {
				v, err := attr.ParseExtCommunity(f)
				check(t, err)
				a.Values = append(a.Values, v)
			}
			l = append(l, a)
		default:
			t.Fatalf("attrsOf: unknown item %q", item)
		}
	}
	return l
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// render writes a list in attrsOf's form, in list order; communities as
// "a:b" numbers (FormatCommunity), so 65535:65281 is NO_EXPORT.
func render(l attr.List) string {
	var parts []string
	for _, a := range l {
		switch v := a.(type) {
		case *attr.Origin:
			parts = append(parts, "origin "+v.String())
		case *attr.ASPath:
			parts = append(parts, strings.TrimSpace("aspath "+v.String()))
		case *attr.NextHop:
			parts = append(parts, "nh "+v.String())
		case *attr.MED:
			parts = append(parts, "med "+v.String())
		case *attr.LocalPref:
			parts = append(parts, "lp "+v.String())
		case *attr.Communities:
			parts = append(parts, "comm "+v.String())
		case *attr.LargeCommunities:
			parts = append(parts, "large "+v.String())
		case *attr.ExtCommunities:
			parts = append(parts, "ext "+v.String())
		default:
			parts = append(parts, fmt.Sprintf("%v %x", a.Code(), a.AppendValue(nil, attr.Options{AS4: true})))
		}
	}
	return strings.Join(parts, "; ")
}

// snapshot records everything about a list that Eval must leave alone: the
// attribute pointers (the whole backing array, beyond len too), and each
// attribute's flags and value octets.
type snapshot struct {
	ptrs  []string
	bytes [][]byte
}

func takeSnapshot(l attr.List) snapshot {
	var s snapshot
	for _, a := range l[:cap(l)] {
		s.ptrs = append(s.ptrs, fmt.Sprintf("%p", a))
		if a == nil {
			s.bytes = append(s.bytes, nil)
			continue
		}
		b := []byte{byte(a.Flags()), byte(a.Code())}
		s.bytes = append(s.bytes, a.AppendValue(b, attr.Options{AS4: true}))
	}
	return s
}

func (s snapshot) equal(o snapshot) bool {
	if len(s.ptrs) != len(o.ptrs) {
		return false
	}
	for i := range s.ptrs {
		if s.ptrs[i] != o.ptrs[i] || !bytes.Equal(s.bytes[i], o.bytes[i]) {
			return false
		}
	}
	return true
}

// route4 is an IPv4 unicast route learned over eBGP from 192.0.2.1.
func route4(t testing.TB, prefix, attrs string) *Route {
	t.Helper()
	return &Route{
		Family:   nlri.IPv4Unicast,
		Prefix:   netip.MustParsePrefix(prefix),
		Attrs:    attrsOf(t, attrs),
		NextHop:  netip.MustParseAddr("192.0.2.1"),
		Neighbor: netip.MustParseAddr("192.0.2.1"),
		Type:     EBGP,
	}
}

// sortedByCode reports whether l is in canonical order.
func sortedByCode(l attr.List) bool {
	for i := 1; i < len(l); i++ {
		if l[i].Code() < l[i-1].Code() {
			return false
		}
	}
	return true
}
