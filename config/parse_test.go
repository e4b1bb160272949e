package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The examples of DESIGN.md must parse and validate exactly as written.
func TestParseDesignExamples(t *testing.T) {
	tests := []struct {
		file string
		want []*Resource
	}{
		{
			file: "minimal.yaml",
			want: []*Resource{
				New("default", &BGPConfigurationSpec{ASNumber: 65010, RouterID: mustAddr("10.0.1.10")}),
				New("router", &BGPPeerSpec{PeerAddress: mustAddr("10.0.1.2"), PeerASN: 65100}),
				New("pod-cidr", &AnnouncementSpec{Prefixes: []netip.Prefix{mustPrefix("172.31.254.0/26")}}),
			},
		},
		{
			file: "accept-all.yaml",
			want: []*Resource{
				New("accept-all", &RoutePolicySpec{Statements: []Statement{
					{Name: "everything", Actions: Actions{Result: ResultAccept}},
				}}),
			},
		},
		{
			file: "from-router.yaml",
			want: []*Resource{
				New("from-router", &RoutePolicySpec{Statements: []Statement{
					{
						Name: "no-long-prefixes",
						Conditions: &Conditions{PrefixSet: []PrefixMatch{
							{Prefix: mustPrefix("10.2.0.0/16"), Ge: ptr(24), Le: ptr(32)},
						}},
						Actions: Actions{Result: ResultReject},
					},
					{
						Name:       "prefer-tagged",
						Conditions: &Conditions{Communities: []Community{65100<<16 | 1}},
						Actions:    Actions{Result: ResultAccept, Set: &SetActions{LocalPreference: ptr(uint32(250))}},
					},
					{Name: "rest", Actions: Actions{Result: ResultAccept}},
				}}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := LoadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts...); diff != "" {
				t.Errorf("LoadFile (-want +got):\n%s", diff)
			}
		})
	}
}

// The three DESIGN.md examples together: a peer can name the policies.
func TestParseDesignExamplesTogether(t *testing.T) {
	var src []string
	for _, f := range []string{"minimal.yaml", "accept-all.yaml", "from-router.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, string(b))
	}
	all := strings.Join(src, "---\n") + `---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: router2}
spec: {peerAddress: 10.0.1.3, peerASN: 65100, importPolicy: from-router, exportPolicy: accept-all}
`
	rs := mustParse(t, all)
	if len(rs) != 6 {
		t.Fatalf("got %d resources, want 6", len(rs))
	}
}

const (
	hdrConfig = "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPConfiguration\nmetadata: {name: default}\n"
	hdrPeer   = "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer\nmetadata: {name: router}\n"
	hdrPolicy = "apiVersion: bgp.godwit.dev/v1alpha1\nkind: RoutePolicy\nmetadata: {name: p}\n"
	goodConf  = hdrConfig + "spec: {asNumber: 65010, routerID: 10.0.1.10}\n"
)

// doc returns a document of the given kind and name with spec as the body
// under "spec:" (indented by the caller). The spec starts on line 5.
func doc(kind, name, spec string) string {
	return "apiVersion: bgp.godwit.dev/v1alpha1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" + spec
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // every error, one per line
	}{
		{
			name: "peer AS 0",
			src:  goodConf + "---\n" + doc("BGPPeer", "router", "  peerAddress: 10.0.1.2\n  peerASN: 0\n"),
			want: `godwit.yaml: document 2 (BGPPeer "router"), line 11: spec.peerASN: must be 1..4294967295, got 0`,
		},
		{
			name: "AS_TRANS",
			src:  hdrConfig + "spec: {asNumber: 23456, routerID: 10.0.1.10}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.asNumber: 23456 is AS_TRANS (RFC 6793) and cannot be configured`,
		},
		{
			name: "AS too large",
			src:  hdrConfig + "spec: {asNumber: 4294967296, routerID: 10.0.1.10}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.asNumber: must be 1..4294967295, got 4294967296`,
		},
		{
			name: "router ID not IPv4",
			src:  hdrConfig + "spec: {asNumber: 65010, routerID: \"2001:db8::1\"}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.routerID: must be an IPv4 address, got 2001:db8::1`,
		},
		{
			name: "router ID not an address",
			src:  hdrConfig + "spec: {asNumber: 65010, routerID: router-1}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.routerID: must be an IP address, got "router-1"`,
		},
		{
			name: "missing required fields",
			src:  hdrConfig + "spec: {maxPaths: 4}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.asNumber: required`,
		},
		{
			name: "missing spec",
			src:  hdrConfig,
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 1: spec: required`,
		},
		{
			name: "kernel protocol owned by zebra",
			src:  hdrConfig + "spec: {asNumber: 65010, routerID: 10.0.1.10, kernelProtocol: 186}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.kernelProtocol: must not be 186..198 (FRR's zebra owns them), got 186`,
		},
		{
			name: "kernel protocol out of range",
			src:  hdrConfig + "spec: {asNumber: 65010, routerID: 10.0.1.10, kernelProtocol: 256}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.kernelProtocol: must be 1..255, got 256`,
		},
		{
			name: "maxPaths 0",
			src:  hdrConfig + "spec: {asNumber: 65010, routerID: 10.0.1.10, maxPaths: 0}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 4: spec.maxPaths: must be 1..256, got 0`,
		},
		{
			name: "hold time 1",
			src:  goodConf + "---\n" + hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, holdTime: 1}\n",
			want: `godwit.yaml: document 2 (BGPPeer "router"), line 9: spec.holdTime: must be 0 or 3..65535, got 1`,
		},
		{
			name: "hold time 2 in BGPConfiguration",
			src:  hdrConfig + "spec:\n  asNumber: 65010\n  routerID: 10.0.1.10\n  holdTime: 2\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 7: spec.holdTime: must be 0 or 3..65535, got 2`,
		},
		{
			name: "keepalive above a third of the hold time",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, holdTime: 9, keepaliveTime: 4}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.keepaliveTime: must be at most a third of holdTime (3), got 4`,
		},
		{
			name: "unknown family",
			src:  hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerASN: 65100\n  families: [ipv4-unicast, ipv4-flowspec]\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 7: spec.families[1]: unknown family "ipv4-flowspec" (want ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn or l2vpn-evpn)`,
		},
		{
			name: "family listed twice",
			src:  hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerASN: 65100\n  families: [ipv4-unicast, ipv4-unicast]\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 7: spec.families[1]: ipv4-unicast is listed twice (also item 0)`,
		},
		{
			name: "unknown policy",
			src:  goodConf + "---\n" + hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerASN: 65100\n  importPolicy: from-router\n",
			want: `godwit.yaml: document 2 (BGPPeer "router"), line 12: spec.importPolicy: no RoutePolicy named "from-router"`,
		},
		{
			name: "unknown field with a suggestion",
			src:  hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerAsn: 65100\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.peerASN: required (or give peerSelector)
godwit.yaml: document 1 (BGPPeer "router"), line 6: spec.peerAsn: unknown field (did you mean peerASN?)`,
		},
		{
			name: "unknown top-level field",
			src:  goodConf + "status2: {}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 5: status2: unknown field (did you mean status?)`,
		},
		{
			name: "unknown kind",
			src:  "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPNeighbor\nmetadata: {name: x}\nspec: {}\n",
			want: `godwit.yaml: document 1, line 2: kind: unknown kind "BGPNeighbor" (want one of BGPConfiguration, RoutePolicy, VRF, IPPool, Node, Announcement, Redistribution, LoadBalancer, BGPPeer, BGPaaS)`,
		},
		{
			name: "wrong apiVersion",
			src:  "apiVersion: v1\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 65010, routerID: 10.0.1.10}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "default"), line 1: apiVersion: must be bgp.godwit.dev/v1alpha1, got "v1"`,
		},
		{
			name: "wrong types",
			src:  hdrPeer + "spec:\n  peerAddress: [10.0.1.2]\n  peerASN: \"65100\"\n  passive: yes\n  description: 12\n  families: ipv4-unicast\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 5: spec.peerAddress: must be an IP address, got a list
godwit.yaml: document 1 (BGPPeer "router"), line 6: spec.peerASN: must be an AS number, got string "65100"
godwit.yaml: document 1 (BGPPeer "router"), line 7: spec.passive: must be true or false, got string "yes"
godwit.yaml: document 1 (BGPPeer "router"), line 8: spec.description: must be a string, got integer 12
godwit.yaml: document 1 (BGPPeer "router"), line 9: spec.families: must be a list, got string "ipv4-unicast"`,
		},
		{
			name: "password of the wrong type is not echoed",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, password: 123456}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.password: must be a string (quote it)`,
		},
		{
			name: "password too long is not echoed",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, password: \"" + strings.Repeat("x", 81) + "\"}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.password: must be at most 80 bytes (RFC 2385 keys), got 81`,
		},
		{
			name: "redacted password pasted back",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, password: <redacted>}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.password: is the placeholder <redacted> from a printed configuration; give the real password`,
		},
		{
			name: "duplicate names within a kind",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100}\n---\n" + hdrPeer + "spec: {peerAddress: 10.0.1.3, peerASN: 65100}\n",
			want: `godwit.yaml: document 2 (BGPPeer "router"), line 8: metadata.name: duplicate BGPPeer "router" (first is document 1)`,
		},
		{
			name: "same name in different kinds is fine, two BGPConfigurations are not",
			src:  goodConf + "---\n" + goodConf,
			want: `godwit.yaml: document 2 (BGPConfiguration "default"), line 7: kind: only one BGPConfiguration is allowed (the first is document 1)`,
		},
		{
			name: "BGPConfiguration not named default",
			src:  "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPConfiguration\nmetadata: {name: main}\nspec: {asNumber: 65010, routerID: 10.0.1.10}\n",
			want: `godwit.yaml: document 1 (BGPConfiguration "main"), line 3: metadata.name: must be default (there is one BGPConfiguration), got "main"`,
		},
		{
			name: "bad name",
			src:  "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer\nmetadata: {name: Router_1}\nspec: {peerAddress: 10.0.1.2, peerASN: 65100}\n",
			want: `godwit.yaml: document 1 (BGPPeer "Router_1"), line 3: metadata.name: must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, got "Router_1"`,
		},
		{
			name: "missing name",
			src:  "apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer\nmetadata: {}\nspec: {peerAddress: 10.0.1.2, peerASN: 65100}\n",
			want: `godwit.yaml: document 1 (BGPPeer), line 3: metadata.name: required`,
		},
		{
			name: "bad CIDR",
			src:  doc("Announcement", "a", "  prefixes: [172.31.254.0/33, 10.1.2.3/8, 10.0.0.0/8, 10.0.0.0/8]\n"),
			want: `godwit.yaml: document 1 (Announcement "a"), line 5: spec.prefixes[0]: must be a CIDR prefix like 10.0.0.0/8, got "172.31.254.0/33"
godwit.yaml: document 1 (Announcement "a"), line 5: spec.prefixes[1]: 10.1.2.3/8 has host bits set (did you mean 10.0.0.0/8?)
godwit.yaml: document 1 (Announcement "a"), line 5: spec.prefixes[3]: 10.0.0.0/8 is listed twice (also item 2)`,
		},
		{
			name: "ge below the prefix length, le beyond the address",
			src:  hdrPolicy + "spec:\n  statements:\n  - name: s\n    conditions:\n      prefixSet:\n      - {prefix: 10.2.0.0/16, ge: 8}\n      - {prefix: 10.2.0.0/16, ge: 24, le: 33}\n      - {prefix: 10.2.0.0/16, ge: 24, le: 20}\n      - {prefix: \"2001:db8::/32\", le: 16}\n      - {prefix: 10.2.0.0/16, ge: 129}\n",
			want: `godwit.yaml: document 1 (RoutePolicy "p"), line 9: spec.statements[0].conditions.prefixSet[0].ge: must be 16..32 (from the prefix length to the address length), got 8
godwit.yaml: document 1 (RoutePolicy "p"), line 10: spec.statements[0].conditions.prefixSet[1].le: must be 24..32 (from ge to the address length), got 33
godwit.yaml: document 1 (RoutePolicy "p"), line 11: spec.statements[0].conditions.prefixSet[2].le: must be 24..32 (from ge to the address length), got 20
godwit.yaml: document 1 (RoutePolicy "p"), line 12: spec.statements[0].conditions.prefixSet[3].le: must be 32..128 (from the prefix length to the address length), got 16
godwit.yaml: document 1 (RoutePolicy "p"), line 13: spec.statements[0].conditions.prefixSet[4].ge: must be 0..128, got 129`,
		},
		{
			name: "bad policy values",
			src:  hdrPolicy + "spec:\n  statements:\n  - name: s\n    conditions: {asPathRegex: \"(65000\", origin: bgp, routeType: static, communities: [\"65536:1\"]}\n    actions: {result: maybe, set: {nextHop: router, asPathPrepend: 2, asPathPrependASNs: [65000]}}\n  - name: s\n",
			want: `godwit.yaml: document 1 (RoutePolicy "p"), line 7: spec.statements[0].conditions.asPathRegex: invalid regular expression "(65000": missing closing )
godwit.yaml: document 1 (RoutePolicy "p"), line 7: spec.statements[0].conditions.origin: must be igp, egp or incomplete, got "bgp"
godwit.yaml: document 1 (RoutePolicy "p"), line 7: spec.statements[0].conditions.routeType: must be local, ebgp or ibgp, got "static"
godwit.yaml: document 1 (RoutePolicy "p"), line 7: spec.statements[0].conditions.communities[0]: must be a community like 65000:100 (each part 0..65535) or a well-known name, got "65536:1"
godwit.yaml: document 1 (RoutePolicy "p"), line 8: spec.statements[0].actions.result: must be accept, reject or next, got "maybe"
godwit.yaml: document 1 (RoutePolicy "p"), line 8: spec.statements[0].actions.set.nextHop: must be self, peer, unchanged or an IP address, got "router"
godwit.yaml: document 1 (RoutePolicy "p"), line 8: spec.statements[0].actions.set.asPathPrependASNs: cannot be combined with asPathPrepend
godwit.yaml: document 1 (RoutePolicy "p"), line 9: spec.statements[1].name: duplicate statement name "s" (also statement 0)`,
		},
		{
			name: "policy without statements",
			src:  hdrPolicy + "spec: {statements: []}\n",
			want: `godwit.yaml: document 1 (RoutePolicy "p"), line 4: spec.statements: required`,
		},
		{
			name: "duplicate key",
			src:  hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerASN: 65100\n  peerASN: 65101\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 7: spec.peerASN: duplicate field (first at line 6)`,
		},
		{
			name: "YAML syntax error after a good document",
			src:  goodConf + "---\n" + hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100\n",
			want: `godwit.yaml: document 2, line 9: invalid YAML: did not find expected ',' or '}'`,
		},
		{
			name: "document that is not a mapping",
			src:  "- a\n- b\n",
			want: `godwit.yaml: document 1, line 1: a document must be a resource (a mapping with apiVersion, kind, metadata and spec), got a list`,
		},
		{
			name: "merge keys",
			src:  hdrPeer + "spec:\n  <<: {peerASN: 65100}\n  peerAddress: 10.0.1.2\n",
			// The errors below a field that failed to decode are not reported.
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 5: spec: merge keys (<<) are not supported`,
		},
		{
			name: "alias that contains itself",
			src:  hdrPolicy + "spec: &s {statements: [*s]}\n",
			want: `godwit.yaml: document 1 (RoutePolicy "p"), line 4: spec.statements[0].statements: unknown field
godwit.yaml: document 1 (RoutePolicy "p"), line 4: spec.statements[0].name: required`,
		},
		{
			name: "peer options that conflict",
			src:  goodConf + "---\n" + hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerASN: 65100\n  localAddress: \"2001:db8::1\"\n  ttlSecurity: 1\n  ebgpMultihop: 2\n  maxPrefixesWarning: 80\n  routeReflectorClient: true\n  addPath: {send: [ipv6-unicast], sendMode: best-n}\n  maxPrefixesPerFamily: {l2vpn-evpn: 10}\n",
			want: `godwit.yaml: document 2 (BGPPeer "router"), line 12: spec.localAddress: must be of the same family as peerAddress 10.0.1.2, got 2001:db8::1
godwit.yaml: document 2 (BGPPeer "router"), line 13: spec.ttlSecurity: cannot be combined with ebgpMultihop
godwit.yaml: document 2 (BGPPeer "router"), line 16: spec.routeReflectorClient: applies to iBGP peers only (peerASN 65100, local AS 65010)
godwit.yaml: document 2 (BGPPeer "router"), line 17: spec.addPath.sendMax: required with sendMode best-n
godwit.yaml: document 2 (BGPPeer "router"), line 17: spec.addPath.send[0]: family ipv6-unicast is not negotiated with this peer (families: ipv4-unicast)
godwit.yaml: document 2 (BGPPeer "router"), line 18: spec.maxPrefixesPerFamily.l2vpn-evpn: family l2vpn-evpn is not negotiated with this peer (families: ipv4-unicast)`,
		},
		{
			name: "peer with a selector and an address",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerSelector: \"rack == 'a'\", maxPrefixesRestart: 5x}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.peerSelector: cannot be combined with peerAddress
godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.maxPrefixesRestart: must be a duration like 90s or 5m, or whole seconds, got "5x"`,
		},
		{
			name: "cluster kinds",
			src: doc("IPPool", "a", "  cidr: 10.0.0.0/16\n  blockSize: 8\n  use: services\n") + "---\n" +
				doc("IPPool", "b", "  cidr: 10.0.128.0/17\n") + "---\n" +
				doc("LoadBalancer", "lb", "  pool: a\n") + "---\n" +
				doc("Node", "n1", "  address: 10.1.0.1\n  labels: {\"bad key!\": x}\n") + "---\n" +
				doc("Node", "n2", "  address: 10.1.0.1\n"),
			want: `godwit.yaml: document 1 (IPPool "a"), line 6: spec.blockSize: must be 16..32 (from the CIDR's length to the address length), got 8
godwit.yaml: document 1 (IPPool "a"), line 7: spec.use: must be pods or loadBalancer, got "services"
godwit.yaml: document 2 (IPPool "b"), line 13: spec.cidr: 10.0.128.0/17 overlaps 10.0.0.0/16 of document 1
godwit.yaml: document 3 (LoadBalancer "lb"), line 19: spec.pool: IPPool "a" is not for use loadBalancer
godwit.yaml: document 4 (Node "n1"), line 26: spec.labels["bad key!"]: the key must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "bad key!"
godwit.yaml: document 5 (Node "n2"), line 32: spec.address: 10.1.0.1 is already an address of document 4`,
		},
		{
			name: "vpn kinds",
			src: doc("VRF", "blue", "  routeDistinguisher: 65000:1\n  vni: 16777216\n  interfaces: [tap0, tap0, this-name-is-too-long]\n  table: 254\n") + "---\n" +
				doc("VRF", "red", "  routeDistinguisher: 65000:1\n  importRouteTargets: [\"1.2.3.4:70000\"]\n") + "---\n" +
				doc("BGPaaS", "vm", "  workloadAddress: 10.0.0.5\n  vrf: green\n  peerASN: 64512\n  families: [l2vpn-evpn]\n"),
			want: `godwit.yaml: document 1 (VRF "blue"), line 6: spec.vni: must be 1..16777215, got 16777216
godwit.yaml: document 1 (VRF "blue"), line 7: spec.interfaces[1]: tap0 is listed twice (also item 0)
godwit.yaml: document 1 (VRF "blue"), line 7: spec.interfaces[2]: must be an interface name of 1..15 bytes, got "this-name-is-too-long"
godwit.yaml: document 1 (VRF "blue"), line 8: spec.table: must not be 253..255 (the kernel's default, main and local tables), got 254
godwit.yaml: document 2 (VRF "red"), line 14: spec.routeDistinguisher: 65000:1 is already used by document 1
godwit.yaml: document 2 (VRF "red"), line 15: spec.importRouteTargets[0]: the number after an IPv4 address must be 0..65535, got 70000
godwit.yaml: document 3 (BGPaaS "vm"), line 22: spec.vrf: no VRF named "green"
godwit.yaml: document 3 (BGPaaS "vm"), line 24: spec.families[0]: a workload session carries unicast families only, got l2vpn-evpn`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse("godwit.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %d resources, want errors:\n%s", len(rs), tt.want)
			}
			if rs != nil {
				t.Errorf("Parse returned %d resources along with errors", len(rs))
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if n := len(Errors(err)); n != strings.Count(tt.want, "\n")+1 {
				t.Errorf("Errors returned %d errors, want %d", n, strings.Count(tt.want, "\n")+1)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Document: 2, Kind: KindBGPPeer, Name: "r", Line: 14, Path: "spec.peerASN", Reason: "bad"}, `a.yaml: document 2 (BGPPeer "r"), line 14: spec.peerASN: bad`},
		{Error{File: "a.yaml", Document: 2, Line: 3, Reason: "bad"}, `a.yaml: document 2, line 3: bad`},
		{Error{Kind: KindBGPPeer, Name: "r", Path: "spec.peerASN", Reason: "bad"}, `BGPPeer "r": spec.peerASN: bad`},
		{Error{File: "a.yaml", Reason: "too large"}, `a.yaml: too large`},
		{Error{Reason: "bad"}, `bad`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Parse("f.yaml", []byte(hdrPeer+"spec: {peerAddress: 10.0.1.2, peerASN: 0}\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v) found no *Error", err)
	}
	want := &Error{File: "f.yaml", Document: 1, Kind: KindBGPPeer, Name: "router", Line: 4, Path: "spec.peerASN", Reason: "must be 1..4294967295, got 0"}
	if diff := cmp.Diff(want, e, cmpopts.IgnoreUnexported(Error{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEmptyDocumentsAreCounted(t *testing.T) {
	src := "---\n# nothing here\n---\n" + hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 0}\n"
	_, err := Parse("f.yaml", []byte(src))
	want := `f.yaml: document 2 (BGPPeer "router"), line 7: spec.peerASN: must be 1..4294967295, got 0`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	rs, err := Parse("f.yaml", nil)
	if err != nil || len(rs) != 0 {
		t.Errorf("empty input: got %v, %v; want nothing", rs, err)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	rs := []*Resource{
		New("router", &BGPPeerSpec{PeerAddress: mustAddr("10.0.1.2"), PeerASN: 65100, ImportPolicy: "nope"}),
		New("default", &BGPConfigurationSpec{ASNumber: 65010, RouterID: mustAddr("10.0.1.10"), KernelProtocol: 190}),
	}
	want := `BGPPeer "router": spec.importPolicy: no RoutePolicy named "nope"
BGPConfiguration "default": spec.kernelProtocol: must not be 186..198 (FRR's zebra owns them), got 190`
	err := Validate(rs)
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	// Validate reports in resource order: own errors first, then references.
	got := err.Error()
	for _, line := range strings.Split(want, "\n") {
		if !strings.Contains(got, line) {
			t.Errorf("missing %q in:\n%s", line, got)
		}
	}
}

func TestSecretsNeverShown(t *testing.T) {
	const pw = "hunter2-secret"
	src := goodConf + "---\n" + hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, password: " + pw + ", holdTime: 1}\n"
	_, err := Parse("f.yaml", []byte(src))
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Fatalf("error shows the password or is missing: %v", err)
	}
	rs := mustParse(t, strings.Replace(src, ", holdTime: 1", "", 1))
	peer := rs[1]
	spec := peer.Spec.(*BGPPeerSpec)
	if spec.Password.Reveal() != pw {
		t.Fatalf("Reveal = %q", spec.Password.Reveal())
	}
	shown := []string{
		peer.String(),
		fmt.Sprint(spec), fmt.Sprintf("%v", *spec), fmt.Sprintf("%+v", *spec), fmt.Sprintf("%#v", *spec),
		fmt.Sprintf("%s %q %x", spec.Password, spec.Password, spec.Password),
	}
	j, err := jsonMarshal(peer)
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(j))
	y, err := Marshal(rs, PrintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(y))
	red := peer.Redacted()
	if red.Spec.(*BGPPeerSpec).Password.Reveal() != Redacted || spec.Password.Reveal() != pw {
		t.Errorf("Redacted: copy has %q, original %q", red.Spec.(*BGPPeerSpec).Password.Reveal(), spec.Password.Reveal())
	}
	for _, s := range shown {
		if strings.Contains(s, pw) {
			t.Errorf("password shown in %s", s)
		}
	}
	if !strings.Contains(string(y), "password: <redacted>") {
		t.Errorf("printed YAML lacks the placeholder:\n%s", y)
	}
	y, _ = Marshal(rs, PrintOptions{ShowSecrets: true})
	if !strings.Contains(string(y), "password: "+pw) {
		t.Errorf("ShowSecrets output lacks the password:\n%s", y)
	}
}
