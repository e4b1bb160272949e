package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// nodeDecoder is implemented (on the pointer) by types that read their own
// YAML form. decodeNode returns the reason the node is not acceptable, or
// "" when it was stored.
type nodeDecoder interface {
	decodeNode(n *yaml.Node) string
}

// nodeEncoder is implemented by types that print their own YAML form.
type nodeEncoder interface {
	encodeNode() *yaml.Node
}

// ASN is an autonomous system number (4 octets, RFC 6793). In YAML it is a
// plain integer; 0 is not a valid AS number and stands for "unset" in Go.
type ASN uint32

// ASTrans is the 2-octet stand-in AS (RFC 6793), which is never configured.
const ASTrans ASN = 23456

func (a *ASN) decodeNode(n *yaml.Node) string {
	v, ok := intValue(n)
	if !ok {
		return "must be an AS number, got " + describe(n)
	}
	if v < 1 || v > 4294967295 {
		return "must be 1..4294967295, got " + strconv.FormatInt(v, 10)
	}
	if ASN(v) == ASTrans {
		return "23456 is AS_TRANS (RFC 6793) and cannot be configured"
	}
	*a = ASN(v)
	return ""
}

func (a ASN) encodeNode() *yaml.Node { return intNode(int64(a)) }

// Family is an address family as spelt in BGPPeer.families.
type Family string

// The families a peer can negotiate.
const (
	IPv4Unicast Family = "ipv4-unicast"
	IPv6Unicast Family = "ipv6-unicast"
	IPv4VPN     Family = "ipv4-vpn"
	IPv6VPN     Family = "ipv6-vpn"
	L2VPNEVPN   Family = "l2vpn-evpn"
)

// Families lists every Family in canonical order.
var Families = []Family{IPv4Unicast, IPv6Unicast, IPv4VPN, IPv6VPN, L2VPNEVPN}

// UnicastFamily is the unicast family of a's address family.
func UnicastFamily(a netip.Addr) Family {
	if a.Is4() {
		return IPv4Unicast
	}
	return IPv6Unicast
}

func (f *Family) decodeNode(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "must be an address family, got " + describe(n)
	}
	if !slices.Contains(Families, Family(n.Value)) {
		return fmt.Sprintf("unknown family %q (want ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn or l2vpn-evpn)", n.Value)
	}
	*f = Family(n.Value)
	return ""
}

// Community is a standard community (RFC 1997): "asn:value", or the name of
// a well-known community (RFC 1997, RFC 3765, RFC 7999, RFC 8326), which is
// also how it prints.
type Community uint32

// wellKnownCommunities are printed and accepted by name.
var wellKnownCommunities = []struct {
	name string
	c    Community
}{
	{"graceful-shutdown", 0xFFFF0000},
	{"accept-own", 0xFFFF0001},
	{"llgr-stale", 0xFFFF0006},
	{"no-llgr", 0xFFFF0007},
	{"blackhole", 0xFFFF029A},
	{"no-export", 0xFFFFFF01},
	{"no-advertise", 0xFFFFFF02},
	{"no-export-subconfed", 0xFFFFFF03},
	{"no-peer", 0xFFFFFF04},
}

func (c Community) String() string {
	for _, w := range wellKnownCommunities {
		if w.c == c {
			return w.name
		}
	}
	return fmt.Sprintf("%d:%d", uint32(c)>>16, uint32(c)&0xFFFF)
}

// MarshalText prints c as String does.
func (c Community) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads "asn:value" (each 0..65535) or a well-known name.
func (c *Community) UnmarshalText(b []byte) error {
	s := string(b)
	for _, w := range wellKnownCommunities {
		if w.name == s {
			*c = w.c
			return nil
		}
	}
	hi, lo, ok := strings.Cut(s, ":")
	a, err1 := strconv.ParseUint(hi, 10, 16)
	v, err2 := strconv.ParseUint(lo, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("must be a community like 65000:100 (each part 0..65535) or a well-known name, got %q", s)
	}
	*c = Community(a<<16 | v)
	return nil
}

// LargeCommunity is a large community (RFC 8092), "global:local1:local2".
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

func (c LargeCommunity) String() string {
	return fmt.Sprintf("%d:%d:%d", c.Global, c.Local1, c.Local2)
}

// MarshalText prints c as String does.
func (c LargeCommunity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads "global:local1:local2", each part 0..4294967295.
func (c *LargeCommunity) UnmarshalText(b []byte) error {
	parts := strings.Split(string(b), ":")
	var v [3]uint32
	bad := len(parts) != 3
	for i := 0; !bad && i < 3; i++ {
		x, err := strconv.ParseUint(parts[i], 10, 32)
		bad = err != nil
		v[i] = uint32(x)
	}
	if bad {
		return fmt.Errorf("must be a large community like 65000:1:2 (each part 0..4294967295), got %q", string(b))
	}
	*c = LargeCommunity{v[0], v[1], v[2]}
	return nil
}

// RouteTarget is a route target or a route distinguisher (RFC 4364 §4.2,
// RFC 4360): "asn:number" with a 2-octet AS and a 4-octet number (type 0),
// "ipv4:number" with a 2-octet number (type 1), or "asn:number" with a
// 4-octet AS and a 2-octet number (type 2).
type RouteTarget struct {
	Type uint8      // 0, 1 or 2, as on the wire
	ASN  uint32     // types 0 and 2
	Addr netip.Addr // type 1
	Num  uint32
}

// RD is a route distinguisher; it has the forms of RouteTarget.
type RD = RouteTarget

func (t RouteTarget) String() string {
	if t.Type == 1 {
		return fmt.Sprintf("%s:%d", t.Addr, t.Num)
	}
	return fmt.Sprintf("%d:%d", t.ASN, t.Num)
}

// IsZero reports whether t is unset.
func (t RouteTarget) IsZero() bool { return t == RouteTarget{} }

// MarshalText prints t as String does.
func (t RouteTarget) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads one of the three forms.
func (t *RouteTarget) UnmarshalText(b []byte) error {
	s := string(b)
	bad := fmt.Errorf("must be asn:number or ipv4:number (like 65000:100 or 10.0.0.1:100), got %q", s)
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return bad
	}
	hi, lo := s[:i], s[i+1:]
	num, err := strconv.ParseUint(lo, 10, 32)
	if err != nil {
		return bad
	}
	if a, err := netip.ParseAddr(hi); err == nil {
		if !a.Is4() {
			return fmt.Errorf("the address part of %q must be IPv4", s)
		}
		if num > 65535 {
			return fmt.Errorf("the number after an IPv4 address must be 0..65535, got %d", num)
		}
		*t = RouteTarget{Type: 1, Addr: a, Num: uint32(num)}
		return nil
	}
	asn, err := strconv.ParseUint(hi, 10, 32)
	if err != nil {
		return bad
	}
	if asn <= 65535 {
		*t = RouteTarget{Type: 0, ASN: uint32(asn), Num: uint32(num)}
		return nil
	}
	if num > 65535 {
		return fmt.Errorf("the number after a 4-octet AS must be 0..65535, got %d", num)
	}
	*t = RouteTarget{Type: 2, ASN: uint32(asn), Num: uint32(num)}
	return nil
}

// ExtendedCommunity is an extended community (RFC 4360) of the route
// target or site of origin kinds: "rt:65000:100", "soo:10.0.0.1:7".
type ExtendedCommunity struct {
	SubType string // "rt" or "soo"
	Value   RouteTarget
}

func (c ExtendedCommunity) String() string { return c.SubType + ":" + c.Value.String() }

// MarshalText prints c as String does.
func (c ExtendedCommunity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads "rt:..." or "soo:..." followed by a RouteTarget form.
func (c *ExtendedCommunity) UnmarshalText(b []byte) error {
	sub, rest, ok := strings.Cut(string(b), ":")
	if !ok || (sub != "rt" && sub != "soo") {
		return fmt.Errorf("must be rt:<target> or soo:<target> (like rt:65000:100), got %q", string(b))
	}
	var t RouteTarget
	if err := t.UnmarshalText([]byte(rest)); err != nil {
		return err
	}
	*c = ExtendedCommunity{SubType: sub, Value: t}
	return nil
}

// Redacted is what every printer shows in place of a password.
const Redacted = "<redacted>"

// Secret is a password. Every way of printing it (String, %v, %#v, JSON,
// text, Print without ShowSecrets) shows Redacted; Reveal returns the text.
type Secret string

// Reveal returns the secret's text, for the code that uses it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from showing the secret.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format keeps every fmt verb from showing the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalText shows Redacted (so JSON does too).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Secret) decodeNode(n *yaml.Node) string {
	// Never echo the value: it may be a password with a typo.
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "must be a string (quote it)"
	}
	*s = Secret(n.Value)
	return ""
}

// Duration is a length of time written as a Go duration ("90s", "5m") or
// as an integer number of seconds; it prints in Go's form.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText prints d in Go's form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) decodeNode(n *yaml.Node) string {
	if v, ok := intValue(n); ok {
		if v < 0 || v > int64(time.Duration(1<<63-1)/time.Second) {
			return "must be a non-negative duration, got " + n.Value
		}
		*d = Duration(time.Duration(v) * time.Second)
		return ""
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Sprintf("must be a duration like 90s or 5m, or whole seconds, got %q", n.Value)
		}
		if v < 0 {
			return fmt.Sprintf("must not be negative, got %q", n.Value)
		}
		*d = Duration(v)
		return ""
	}
	return "must be a duration like 90s or 5m, or whole seconds, got " + describe(n)
}

func (d Duration) encodeNode() *yaml.Node { return strNode(d.String()) }

// NextHop is the next hop a policy sets: "self", "peer", "unchanged", or an
// address.
type NextHop struct {
	// Mode is "self", "peer", "unchanged" or "address".
	Mode string
	// Addr is the address when Mode is "address".
	Addr netip.Addr
}

// The modes of NextHop.
const (
	NextHopSelf      = "self"
	NextHopPeer      = "peer"
	NextHopUnchanged = "unchanged"
	NextHopAddress   = "address"
)

// IsZero reports whether n is unset.
func (n NextHop) IsZero() bool { return n.Mode == "" }

func (n NextHop) String() string {
	if n.Mode == NextHopAddress {
		return n.Addr.String()
	}
	return n.Mode
}

// MarshalText prints n as String does.
func (n NextHop) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText reads a mode or an address.
func (n *NextHop) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case NextHopSelf, NextHopPeer, NextHopUnchanged:
		*n = NextHop{Mode: s}
		return nil
	default:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("must be self, peer, unchanged or an IP address, got %q", s)
		}
		if reason := plainAddr(a); reason != "" {
			return fmt.Errorf("%s", reason)
		}
		*n = NextHop{Mode: NextHopAddress, Addr: a}
		return nil
	}
}

// PrefixList is a list of prefixes in which a bare address stands for its
// host prefix (/32 or /128), written as one scalar or as a list. It prints
// as a list, host prefixes as bare addresses.
type PrefixList []netip.Prefix

// Contains reports whether a is in one of the prefixes.
func (l PrefixList) Contains(a netip.Addr) bool {
	for _, p := range l {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (l *PrefixList) decodeNode(n *yaml.Node) string {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out PrefixList
	for i, it := range items {
		it = resolveAlias(it)
		at := ""
		if n.Kind == yaml.SequenceNode {
			at = fmt.Sprintf("item %d: ", i)
		}
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			return at + "must be an IP address or a prefix, or a list of them, got " + describe(it)
		}
		p, reason := parsePrefixOrAddr(it.Value)
		if reason != "" {
			return at + reason
		}
		out = append(out, p)
	}
	if len(out) > 0 {
		*l = out
	}
	return ""
}

func (l PrefixList) encodeNode() *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, p := range l {
		if p.IsSingleIP() {
			seq.Content = append(seq.Content, strNode(p.Addr().String()))
		} else {
			seq.Content = append(seq.Content, strNode(p.String()))
		}
	}
	return flowIfShort(seq)
}

// parsePrefixOrAddr reads a masked prefix or a bare address.
func parsePrefixOrAddr(s string) (netip.Prefix, string) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Sprintf("must be an IP address or a prefix, got %q", s)
		}
		if reason := plainAddr(a); reason != "" {
			return netip.Prefix{}, reason
		}
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	return parsePrefix(s)
}

// parsePrefix reads a CIDR prefix without host bits.
func parsePrefix(s string) (netip.Prefix, string) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("must be a CIDR prefix like 10.0.0.0/8, got %q", s)
	}
	if reason := plainAddr(p.Addr()); reason != "" {
		return netip.Prefix{}, reason
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Sprintf("%s has host bits set (did you mean %s?)", s, p.Masked())
	}
	return p, ""
}

// plainAddr rejects the address forms that have a simpler spelling or no
// meaning in a configuration: zones and IPv4-mapped IPv6 addresses.
func plainAddr(a netip.Addr) string {
	if a.Zone() != "" {
		return fmt.Sprintf("%s: IPv6 zones are not supported", a)
	}
	if a.Is4In6() {
		return fmt.Sprintf("%s is an IPv4-mapped IPv6 address (write %s)", a, a.Unmap())
	}
	return ""
}
