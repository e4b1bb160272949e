package daemon

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

func TestSessionTTL(t *testing.T) {
	for _, tc := range []struct {
		name        string
		spec        config.BGPPeerSpec
		ttl, minTTL int
	}{
		{"ebgp directly connected", config.BGPPeerSpec{PeerASN: 65002}, 1, 0},
		{"ibgp", config.BGPPeerSpec{PeerASN: 65001}, 255, 0},
		{"ebgp multihop", config.BGPPeerSpec{PeerASN: 65002, EBGPMultihop: 3}, 3, 0},
		{"gtsm one hop", config.BGPPeerSpec{PeerASN: 65002, TTLSecurity: 1}, 255, 255},
		{"gtsm three hops", config.BGPPeerSpec{PeerASN: 65001, TTLSecurity: 3}, 255, 253},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ttl, minTTL := sessionTTL(&tc.spec, 65001)
			if ttl != tc.ttl || minTTL != tc.minTTL {
				t.Errorf("sessionTTL = %d, %d; want %d, %d", ttl, minTTL, tc.ttl, tc.minTTL)
			}
		})
	}
}

func TestPeerConfig(t *testing.T) {
	hold := 30
	g := &config.BGPConfigurationSpec{ASNumber: 65001, RouterID: mustAddr("10.0.0.1"),
		GracefulRestart: &config.GracefulRestart{Enabled: true, RestartTime: 90}}
	spec := &config.BGPPeerSpec{PeerAddress: mustAddr("192.0.2.2"), PeerASN: 65002, LocalASN: 65010,
		LocalAddress: mustAddr("192.0.2.1"), HoldTime: &hold, Passive: true, Password: "s3cret",
		Families: []config.Family{config.IPv4Unicast, config.L2VPNEVPN}, Description: "tor",
		AddPath: &config.AddPath{Receive: []config.Family{config.IPv4Unicast}}}
	c, err := peerConfig(spec, g, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := peer.Config{
		Key: peer.Key{Addr: mustAddr("192.0.2.2")}, Description: "tor", LocalAS: 65010, PeerAS: 65002,
		RouterID: mustAddr("10.0.0.1"), Remote: netip.MustParseAddrPort("192.0.2.2:179"), Local: mustAddr("192.0.2.1"),
		Password: "s3cret", TTL: 1, Passive: true, HoldTime: 30 * time.Second, KeepaliveTime: 10 * time.Second,
		ConnectRetryTime: 120 * time.Second, Families: []nlri.Family{nlri.IPv4Unicast, nlri.L2VPNEVPN},
		AddPathReceive:  []nlri.Family{nlri.IPv4Unicast},
		GracefulRestart: &peer.GracefulRestart{Enabled: true, RestartTime: 90 * time.Second},
	}
	if diff := cmp.Diff(want, c, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})); diff != "" {
		t.Errorf("peerConfig (-want +got):\n%s", diff)
	}
	// Without gracefulRestart the capability is still sent (helper role).
	g.GracefulRestart = nil
	c, _ = peerConfig(spec, g, &Options{PeerPort: 1179})
	if c.GracefulRestart == nil || c.GracefulRestart.Enabled || c.Remote.Port() != 1179 {
		t.Errorf("graceful restart %+v, remote %s", c.GracefulRestart, c.Remote)
	}
	if s := listenSecurity(&c); s != (transport.PeerSecurity{Password: "s3cret", TTL: 1}) {
		t.Errorf("listen security %+v", s)
	}
}

func TestSetGCDefaults(t *testing.T) {
	// The environment wins: nothing is changed.
	s := SetGCDefaults(func(string) string { return "set" })
	if s.GCPercent != -1 || s.MemoryLimit != 0 {
		t.Errorf("with GOGC and GOMEMLIMIT set: %+v", s)
	}
	if avail, src := availableMemory(); avail <= 0 || src == "" {
		t.Errorf("available memory %d from %q", avail, src)
	}
}
