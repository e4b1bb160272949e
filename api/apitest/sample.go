package apitest

import (
	"net/netip"
	"time"

	"github.com/godwit-bgp/godwit/api"
)

// Sample returns a Backend holding a small, fixed speaker: AS 65010,
// router ID 10.0.1.10, a top-of-rack router (10.0.1.2, AS 65100), three
// mesh and reflector-client neighbours in various states, an IPv6 session,
// a handful of routes (ECMP, an AS_SET, a local announcement, a VPN
// route), a VRF "blue", the results of testing two RoutePolicies,
// from-router and only-pods, over some of the routes, three
// announcements (the configured pod-cidr, two added through the API), and
// a kernel FIB shortly after a restart (a route of the previous run held,
// one to replace, one the kernel refuses). Every time is relative to
// Epoch, so goldens are stable.
func Sample() *Backend {
	ago := func(d time.Duration) time.Time { return Epoch.Add(-d) }
	tor := api.Neighbor{
		Address: "10.0.1.2", ASN: 65100, State: api.StateEstablished, PeerType: api.PeerTypeGlobal,
		Description:      "top-of-rack router",
		PrefixesReceived: 4, PrefixesAccepted: 3, PrefixesAdvertised: 1,
		MessagesReceived: 182, MessagesSent: 176,
		UptimeSeconds: 7512, Since: ago(7512 * time.Second), Info: "Established",
	}
	mesh1 := api.Neighbor{
		Address: "10.0.1.11", ASN: 65010, State: api.StateEstablished, PeerType: api.PeerTypeMesh,
		PrefixesReceived: 2, PrefixesAccepted: 2, PrefixesAdvertised: 4,
		MessagesReceived: 95, MessagesSent: 97,
		UptimeSeconds: 3 * 86400, Since: ago(3 * 24 * time.Hour), Info: "Established",
	}
	mesh2 := api.Neighbor{
		Address: "10.0.1.12", ASN: 65010, State: api.StateActive, PeerType: api.PeerTypeMesh,
		Since: ago(42 * time.Second), Info: "Connect Socket: Connection refused",
	}
	rrc := api.Neighbor{
		Address: "10.0.1.13", ASN: 65010, State: api.StateIdle, PeerType: api.PeerTypeRRClient,
		Since: ago(26 * time.Hour), Info: "Idle (admin shutdown)", AdminShutdown: true,
	}
	v6 := api.Neighbor{
		Address: "2001:db8::2", ASN: 65100, State: api.StateEstablished, PeerType: api.PeerTypeNodeSpecific,
		PrefixesReceived: 1, PrefixesAccepted: 1, PrefixesAdvertised: 0,
		MessagesReceived: 40, MessagesSent: 41,
		UptimeSeconds: 600, Since: ago(10 * time.Minute), Info: "Established",
	}

	torDetail := api.NeighborDetail{
		Neighbor:     tor,
		LocalAddress: "10.0.1.10", LocalASN: 65010, RouterID: "10.0.0.1",
		LocalPort: 179, RemotePort: 40312,
		HoldTime:           api.Timer{Configured: 90, Negotiated: 90},
		KeepaliveTime:      api.Timer{Configured: 30, Negotiated: 30},
		Families:           []string{"ipv4-unicast"},
		ConfiguredFamilies: []string{"ipv4-unicast"},
		Prefixes:           []api.FamilyPrefixes{{Family: "ipv4-unicast", Received: 4, Accepted: 3, Advertised: 1}},
		Capabilities: []api.Capability{
			{Code: 1, Name: "multiprotocol", Sent: true, Received: true, Negotiated: true, SentDetail: "ipv4-unicast", ReceivedDetail: "ipv4-unicast"},
			{Code: 2, Name: "route-refresh", Sent: true, Received: true, Negotiated: true},
			{Code: 64, Name: "graceful-restart", Sent: false, Received: true, ReceivedDetail: "restart time 120s"},
			{Code: 65, Name: "4-octet-as", Sent: true, Received: true, Negotiated: true, SentDetail: "65010", ReceivedDetail: "65100"},
		},
		Counters: api.Counters{
			Sent:                   api.MessageCounts{Open: 2, Update: 3, Notification: 1, Keepalive: 170, Total: 176},
			Received:               api.MessageCounts{Open: 2, Update: 9, Keepalive: 170, RouteRefresh: 1, Total: 182},
			PrefixesWithdrawn:      1,
			EstablishedTransitions: 2,
		},
		LastError: "hold timer expired",
		LastNotificationSent: &api.Notification{
			Code: 4, Subcode: 0, CodeName: "Hold Timer Expired", Time: ago(7530 * time.Second),
		},
		LastNotificationReceived: &api.Notification{
			Code: 6, Subcode: 2, CodeName: "Cease", SubcodeName: "Administrative Shutdown",
			Message: "maintenance window", Time: ago(30 * time.Hour),
		},
		FlapCount: 1, ConnectRetryCounter: 1,
		ImportPolicy: "from-router",
	}
	rrcDetail := api.NeighborDetail{
		Neighbor: rrc, LocalASN: 65010,
		HoldTime:             api.Timer{Configured: 90},
		KeepaliveTime:        api.Timer{Configured: 30},
		ConfiguredFamilies:   []string{"ipv4-unicast"},
		ShutdownMessage:      "replacing the NIC",
		RouteReflectorClient: true,
	}

	aspath := func(segs ...api.ASPathSegment) func(*api.Route) {
		return func(r *api.Route) { r.SetASPath(segs) }
	}
	seq := func(asns ...uint32) api.ASPathSegment {
		return api.ASPathSegment{Type: api.SegmentSequence, ASNs: asns}
	}
	set := func(asns ...uint32) api.ASPathSegment { return api.ASPathSegment{Type: api.SegmentSet, ASNs: asns} }
	route := func(r api.Route, path func(*api.Route)) api.Route {
		path(&r)
		if r.Since.IsZero() {
			r.Since = ago(2 * time.Hour)
		}
		if r.LocalPreference == 0 {
			r.LocalPreference = 100
		}
		return r
	}
	routes := []api.Route{
		route(api.Route{Prefix: "10.2.0.0/16", Family: "ipv4-unicast", NextHop: "10.0.1.2", Origin: api.OriginIGP, MED: 10,
			Communities: []string{"65100:1"}, LargeCommunities: []string{"65100:1:2"}, Best: true, Peer: "10.0.1.2"},
			aspath(seq(65100, 64512), set(64513, 64514))),
		route(api.Route{Prefix: "10.2.0.0/16", Family: "ipv4-unicast", NextHop: "10.0.1.11", Origin: api.OriginIGP,
			Peer: "10.0.1.11", Internal: true, OriginatorID: "10.0.1.11", ClusterList: []string{"10.0.1.11"}},
			aspath(seq(65100, 64512, 64520))),
		route(api.Route{Prefix: "172.31.254.0/26", Family: "ipv4-unicast", NextHop: "0.0.0.0", Origin: api.OriginIGP,
			Best: true, Peer: "local"}, aspath()),
		route(api.Route{Prefix: "192.0.2.0/24", Family: "ipv4-unicast", NextHop: "10.0.1.2", Origin: api.OriginIncomplete,
			Best: true, Multipath: true, Peer: "10.0.1.2"}, aspath(seq(65100))),
		route(api.Route{Prefix: "192.0.2.0/24", Family: "ipv4-unicast", NextHop: "10.0.1.11", Origin: api.OriginIncomplete,
			Multipath: true, Peer: "10.0.1.11", Internal: true, Stale: true}, aspath(seq(65100))),
		route(api.Route{Prefix: "2001:db8:100::/48", Family: "ipv6-unicast", NextHop: "2001:db8::2", Origin: api.OriginEGP,
			LocalPreference: 200, Best: true, Peer: "2001:db8::2"}, aspath(seq(65100, 65200))),
		route(api.Route{Prefix: "65000:1:10.10.0.0/24", Family: "ipv4-vpn", NextHop: "10.0.1.11", Origin: api.OriginIGP,
			ExtendedCommunities: []string{"rt:65000:1"}, Labels: []uint32{100}, Best: true, Peer: "10.0.1.11", Internal: true},
			aspath()),
		route(api.Route{Prefix: "10.10.1.0/24", Family: "ipv4-unicast", VRF: "blue", NextHop: "10.0.1.11", Origin: api.OriginIGP,
			ExtendedCommunities: []string{"rt:65000:1"}, Best: true, Peer: "10.0.1.11", Internal: true}, aspath()),
	}
	received := []api.Route{
		routes[0],
		route(api.Route{Prefix: "10.2.3.0/24", Family: "ipv4-unicast", NextHop: "10.0.1.2", Origin: api.OriginIGP,
			Peer: "10.0.1.2", Filtered: true}, aspath(seq(65100))),
		routes[3],
	}
	advertised := []api.Route{
		route(api.Route{Prefix: "172.31.254.0/26", Family: "ipv4-unicast", NextHop: "10.0.1.10", Origin: api.OriginIGP,
			Best: true, Peer: "local"}, aspath(seq(65010))),
	}

	// The policy tests: from-router (the top-of-rack router's import
	// policy: no long prefixes of 10.2.0.0/16, local preference 250 for
	// 65100:1, accept the rest) and only-pods (accepts the pod block, with
	// a prepend, a community and a next hop; rejects the rest by falling
	// off the end).
	after := func(r api.Route, change func(*api.PolicyAttributes)) *api.PolicyAttributes {
		a := api.PolicyAttributesOf(r)
		if change != nil {
			change(&a)
		}
		return &a
	}
	missed := func(name, cond string) api.PolicyStatement {
		return api.PolicyStatement{Name: name, FailedCondition: cond}
	}
	fromRouter := []api.PolicyTestResult{
		{Policy: "from-router", Path: routes[0], Accepted: true, Statement: "prefer-tagged", Changed: true,
			Attributes: after(routes[0], func(a *api.PolicyAttributes) { a.LocalPreference = 250 }),
			Trace: []api.PolicyStatement{missed("no-long-prefixes", "prefixSet"),
				{Name: "prefer-tagged", Matched: true, Set: []string{"localPreference 250"}, Result: "accept"}}},
		{Policy: "from-router", Path: routes[1], Accepted: true, Statement: "rest", Attributes: after(routes[1], nil),
			Trace: []api.PolicyStatement{missed("no-long-prefixes", "prefixSet"), missed("prefer-tagged", "communities"),
				{Name: "rest", Matched: true, Result: "accept"}}},
		{Policy: "from-router", Path: received[1], Statement: "no-long-prefixes",
			Trace: []api.PolicyStatement{{Name: "no-long-prefixes", Matched: true, Result: "reject"}}},
		{Policy: "from-router", Path: routes[3], Accepted: true, Statement: "rest", Attributes: after(routes[3], nil),
			Trace: []api.PolicyStatement{missed("no-long-prefixes", "prefixSet"), missed("prefer-tagged", "communities"),
				{Name: "rest", Matched: true, Result: "accept"}}},
	}
	onlyPods := []api.PolicyTestResult{
		{Policy: "only-pods", Path: routes[2], Accepted: true, Statement: "pods", Changed: true,
			Attributes: after(routes[2], func(a *api.PolicyAttributes) {
				a.NextHop, a.NextHopAction = "10.0.1.10", "10.0.1.10"
				a.ASPath, a.ASPathText, a.ASPathSegments = []uint32{65010, 65010}, "65010 65010", []api.ASPathSegment{seq(65010, 65010)}
				a.Communities = []string{"65010:100"}
			}),
			Trace: []api.PolicyStatement{{Name: "pods", Matched: true,
				Set: []string{"nextHop 10.0.1.10", "communities add 65010:100", "asPathPrepend 65010 65010"}, Result: "accept"}}},
		{Policy: "only-pods", Path: routes[0], Trace: []api.PolicyStatement{missed("pods", "prefixSet")}},
	}

	return &Backend{
		StatusInfo: api.Status{
			RouterID: "10.0.1.10", ASNumber: 65010, Version: "1.2.3-test",
			StartedAt: ago(3*24*time.Hour + time.Hour), UptimeSeconds: 3*86400 + 3600,
			Peers:  api.PeerCounts{Configured: 5, Established: 3, Down: 2},
			Routes: uint64(len(routes)),
		},
		NeighborList: []api.Neighbor{v6, rrc, mesh2, mesh1, tor},
		Details: map[netip.Addr]api.NeighborDetail{
			netip.MustParseAddr(tor.Address): torDetail,
			netip.MustParseAddr(rrc.Address): rrcDetail,
		},
		// Unsorted, as a Backend may give them: the Server sorts.
		Announced: []api.Announcement{
			{Prefix: "2001:db8:42::/64", Announcement: "api:2001:db8:42::/64", Runtime: true,
				LargeCommunities: []string{"65010:1:2"}},
			{Prefix: "172.31.254.0/26", Announcement: "pod-cidr"},
			{Prefix: "198.51.100.7/32", Announcement: "api:198.51.100.7/32", Runtime: true,
				Communities: []string{"65010:100", "65535:65281"}, LocalPreference: ptr(uint32(200)), MED: ptr(uint32(10))},
		},
		FIBInfo:     sampleFIB(ago),
		VRFs:        []string{"blue"},
		RouteList:   routes,
		Received:    map[string][]api.Route{tor.Address: received},
		Advertised:  map[string][]api.Route{tor.Address: advertised},
		PolicyTests: map[string][]api.PolicyTestResult{"from-router": fromRouter, "only-pods": onlyPods},
		Config: api.ConfigStatus{
			Source: "/etc/godwit/godwit.yaml", Generation: 3, AppliedAt: ago(time.Hour),
			Resources: []api.ResourceCount{
				{Kind: "BGPConfiguration", Count: 1}, {Kind: "Announcement", Count: 1}, {Kind: "BGPPeer", Count: 2},
			},
			LastAttempt: ago(time.Hour), OK: true,
		},
	}
}

func ptr[T any](v T) *T { return &v }

// sampleFIB is the kernel FIB of Sample: routes in the daemon's order (by
// table, then prefix), next hops unsorted as a Backend may give them.
func sampleFIB(ago func(time.Duration) time.Time) api.FIB {
	via := func(metric int, gws ...string) *api.KernelRoute {
		r := &api.KernelRoute{Metric: metric}
		for _, gw := range gws {
			r.NextHops = append(r.NextHops, api.KernelNextHop{Gateway: gw, Interface: "eth0", Weight: 1})
		}
		return r
	}
	return api.FIB{
		Protocol: 200, Adopted: 4, Holding: true,
		Desired: 4, Installed: 4, Held: 1, Pending: 2, Failed: 1,
		Added: 2, Replaced: 1, Deleted: 0,
		LastSync:  ago(2 * time.Second),
		LastError: "add 192.0.2.0/24 table 254: route exists: file exists", LastErrorAt: ago(30 * time.Second),
		Routes: []api.FIBRoute{
			{Prefix: "10.2.0.0/16", Table: 254, State: api.FIBOK, Desired: via(20, "10.0.1.2"), Installed: via(20, "10.0.1.2")},
			{Prefix: "10.2.3.0/24", Table: 254, State: api.FIBReplace, Desired: via(20, "10.0.1.2", "10.0.1.11"), Installed: via(20, "10.0.1.2")},
			{Prefix: "10.8.0.0/24", Table: 254, State: api.FIBHeld, Installed: via(20, "10.0.1.12")},
			{Prefix: "192.0.2.0/24", Table: 254, State: api.FIBAdd, Desired: via(20, "10.0.1.11"), Error: "route exists: file exists"},
			{Prefix: "2001:db8:100::/48", Table: 254, State: api.FIBOK, Desired: via(20, "2001:db8::2"), Installed: via(20, "2001:db8::2")},
		},
		NextHops: []api.TrackedNextHop{
			{Address: "2001:db8::2", Resolvable: true, AttributeSets: 1},
			{Address: "10.0.1.11", Resolvable: true, Cost: 10, AttributeSets: 2},
			{Address: "203.0.113.9", AttributeSets: 1},
			{Address: "10.0.1.2", Resolvable: true, AttributeSets: 3},
		},
	}
}
