package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTimers(t *testing.T) {
	global := &BGPConfigurationSpec{HoldTime: ptr(30)}
	tests := []struct {
		name            string
		global          *BGPConfigurationSpec
		peer            BGPPeerSpec
		hold, keepalive time.Duration
		retry           time.Duration
	}{
		{"defaults", nil, BGPPeerSpec{}, 90 * time.Second, 30 * time.Second, 120 * time.Second},
		{"global hold", global, BGPPeerSpec{}, 30 * time.Second, 10 * time.Second, 120 * time.Second},
		{"peer hold", global, BGPPeerSpec{HoldTime: ptr(9)}, 9 * time.Second, 3 * time.Second, 120 * time.Second},
		{"peer keepalive only", global, BGPPeerSpec{KeepaliveTime: ptr(5)}, 30 * time.Second, 5 * time.Second, 120 * time.Second},
		{"no hold timer", nil, BGPPeerSpec{HoldTime: ptr(0)}, 0, 0, 120 * time.Second},
		{"retry", &BGPConfigurationSpec{ConnectRetryTime: 30}, BGPPeerSpec{ConnectRetryTime: 5}, 90 * time.Second, 30 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, k, r := tt.peer.Timers(tt.global)
			if h != tt.hold || k != tt.keepalive || r != tt.retry {
				t.Errorf("Timers = %v %v %v, want %v %v %v", h, k, r, tt.hold, tt.keepalive, tt.retry)
			}
		})
	}
}

func TestEffectiveValues(t *testing.T) {
	var c BGPConfigurationSpec
	if c.EffectiveMaxPaths() != 16 || c.EffectiveKernelProtocol() != 200 {
		t.Errorf("defaults: %d %d", c.EffectiveMaxPaths(), c.EffectiveKernelProtocol())
	}
	c.MaxPaths, c.KernelProtocol = 1, 201
	if c.EffectiveMaxPaths() != 1 || c.EffectiveKernelProtocol() != 201 {
		t.Errorf("set: %d %d", c.EffectiveMaxPaths(), c.EffectiveKernelProtocol())
	}
	for _, tt := range []struct {
		peer BGPPeerSpec
		want []Family
	}{
		{BGPPeerSpec{PeerAddress: mustAddr("10.0.0.1")}, []Family{IPv4Unicast}},
		{BGPPeerSpec{PeerAddress: mustAddr("2001:db8::1")}, []Family{IPv6Unicast}},
		{BGPPeerSpec{PeerAddress: mustAddr("2001:db8::1"), Families: []Family{L2VPNEVPN}}, []Family{L2VPNEVPN}},
	} {
		if diff := cmp.Diff(tt.want, tt.peer.EffectiveFamilies()); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.peer.PeerAddress, diff)
		}
	}
	for _, tt := range []struct {
		pool IPPoolSpec
		use  string
		size int
	}{
		{IPPoolSpec{CIDR: mustPrefix("10.0.0.0/16")}, PoolUsePods, 26},
		{IPPoolSpec{CIDR: mustPrefix("fd00::/48")}, PoolUsePods, 122},
		{IPPoolSpec{CIDR: mustPrefix("10.0.0.0/16"), BlockSize: 24}, PoolUsePods, 24},
		{IPPoolSpec{CIDR: mustPrefix("10.0.0.0/16"), Use: PoolUseLoadBalancer}, PoolUseLoadBalancer, 32},
	} {
		if tt.pool.EffectiveUse() != tt.use || tt.pool.EffectiveBlockSize() != tt.size {
			t.Errorf("%s: %s %d", tt.pool.CIDR, tt.pool.EffectiveUse(), tt.pool.EffectiveBlockSize())
		}
	}
	if (Actions{}).EffectiveResult() != ResultNext {
		t.Error("a statement without result must fall through")
	}
}

func TestPrefixMatch(t *testing.T) {
	exact := PrefixMatch{Prefix: mustPrefix("10.2.0.0/16")}
	geLe := PrefixMatch{Prefix: mustPrefix("10.2.0.0/16"), Ge: ptr(24), Le: ptr(32)}
	geOnly := PrefixMatch{Prefix: mustPrefix("10.2.0.0/16"), Ge: ptr(20)}
	leOnly := PrefixMatch{Prefix: mustPrefix("10.2.0.0/16"), Le: ptr(18)}
	tests := []struct {
		m    PrefixMatch
		p    string
		want bool
	}{
		{exact, "10.2.0.0/16", true},
		{exact, "10.2.1.0/24", false},
		{geLe, "10.2.1.0/24", true},
		{geLe, "10.2.1.1/32", true},
		{geLe, "10.2.0.0/23", false},
		{geLe, "10.3.0.0/24", false},
		{geOnly, "10.2.1.1/32", true},
		{geOnly, "10.2.0.0/19", false},
		{leOnly, "10.2.0.0/16", true},
		{leOnly, "10.2.64.0/18", true},
		{leOnly, "10.2.0.0/19", false},
		{exact, "::/16", false},
	}
	for _, tt := range tests {
		if got := tt.m.Matches(mustPrefix(tt.p)); got != tt.want {
			lo, hi := tt.m.Lengths()
			t.Errorf("%s %d..%d matches %s = %v, want %v", tt.m.Prefix, lo, hi, tt.p, got, tt.want)
		}
	}
}

func TestASPathRegex(t *testing.T) {
	tests := []struct {
		expr, path string
		want       bool
	}{
		{"_65001_", "65000 65001 65002", true},
		{"_65001_", "65000 650011", false},
		{"^65000_", "65000 65001", true},
		{"^65000_", "165000 65001", false},
		{"_65003$", "65000 {65002,65003}", false},
		{"_65003_", "65000 {65002,65003}", true},
		{"^$", "", true},
	}
	for _, tt := range tests {
		re, err := CompileASPathRegex(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.path); got != tt.want {
			t.Errorf("%q on %q = %v, want %v", tt.expr, tt.path, got, tt.want)
		}
	}
}

func TestTextForms(t *testing.T) {
	tests := []struct {
		in      string
		v       interface{ UnmarshalText([]byte) error }
		want    string
		wantErr string
	}{
		{"65100:1", new(Community), "65100:1", ""},
		{"no-export", new(Community), "no-export", ""},
		{"65535:65282", new(Community), "no-advertise", ""},
		{"65100", new(Community), "", `must be a community like 65000:100 (each part 0..65535) or a well-known name, got "65100"`},
		{"4200000000:1:2", new(LargeCommunity), "4200000000:1:2", ""},
		{"1:2", new(LargeCommunity), "", `must be a large community like 65000:1:2 (each part 0..4294967295), got "1:2"`},
		{"65000:4294967295", new(RouteTarget), "65000:4294967295", ""},
		{"4200000000:65535", new(RouteTarget), "4200000000:65535", ""},
		{"4200000000:65536", new(RouteTarget), "", "the number after a 4-octet AS must be 0..65535, got 65536"},
		{"10.0.0.1:7", new(RouteTarget), "10.0.0.1:7", ""},
		{"2001:db8::1:7", new(RouteTarget), "", `the address part of "2001:db8::1:7" must be IPv4`},
		{"rt:65000:1", new(ExtendedCommunity), "rt:65000:1", ""},
		{"soo:10.0.0.1:1", new(ExtendedCommunity), "soo:10.0.0.1:1", ""},
		{"color:1", new(ExtendedCommunity), "", `must be rt:<target> or soo:<target> (like rt:65000:100), got "color:1"`},
		{"self", new(NextHop), "self", ""},
		{"::ffff:10.0.0.1", new(NextHop), "", "::ffff:10.0.0.1 is an IPv4-mapped IPv6 address (write 10.0.0.1)"},
	}
	for _, tt := range tests {
		err := tt.v.UnmarshalText([]byte(tt.in))
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%T %q: got error %v, want %s", tt.v, tt.in, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%T %q: %v", tt.v, tt.in, err)
		default:
			if got := fmt.Sprint(tt.v); got != tt.want && !strings.Contains(got, tt.want) {
				t.Errorf("%T %q prints %q, want %q", tt.v, tt.in, got, tt.want)
			}
		}
	}
}

// Anchors and aliases work where their value fits.
func TestAliases(t *testing.T) {
	src := doc("VRF", "blue", "  routeDistinguisher: 65000:1\n  importRouteTargets: &rts [\"65000:1\", \"65000:2\"]\n  exportRouteTargets: *rts\n")
	rs := mustParse(t, src)
	v := rs[0].Spec.(*VRFSpec)
	if len(v.ExportRouteTargets) != 2 || v.ExportRouteTargets[1].Num != 2 {
		t.Errorf("alias not expanded: %v", v.ExportRouteTargets)
	}
}

// A document that expands (through aliases) into too many nodes is refused
// quickly.
func TestParseLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdrPolicy + "spec:\n  statements:\n  - &s\n    name: s\n    conditions:\n      prefixSet:\n")
	for range 1000 {
		b.WriteString("      - {prefix: 10.0.0.0/8}\n")
	}
	for range 1000 {
		b.WriteString("  - *s\n")
	}
	start := time.Now()
	_, err := Parse("big.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "document too large (more than 200000 nodes, aliases expanded)") {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := Parse("huge.yaml", make([]byte, MaxFileSize+1)); err == nil || err.Error() != "huge.yaml: larger than 16777216 bytes" {
		t.Errorf("got %v", err)
	}
}
