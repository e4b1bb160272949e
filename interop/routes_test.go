package interop_test

// Route reflection, ECMP and best-path selection with godwitd as a real
// process, next to FRR, BIRD and ExaBGP, read through the CLI contract of
// DESIGN.md (`godwit routes -o json`) and the daemons' own clients.
//
// Every test puts its speakers on one shared segment: a bridge in a
// namespace of its own, each speaker in its namespace with one interface
// "lan" on it. Every test has its own /24 (the namespaces keep them apart
// anyway; distinct ranges keep logs and captures unambiguous next to the
// 10.0.0.0/30, 10.0.1.0/24 and 10.0.2.0/24 of the other interop tests):
//
//	TestRouteReflectorCluster        10.71.0.0/24  godwitd RR + 3 godwitd clients
//	TestFRRReflectsForGodwit         10.72.0.0/24  FRR RR + 2 godwitd clients
//	TestGodwitReflectsForFRRAndBIRD  10.73.0.0/24  godwitd RR + FRR + BIRD clients
//	TestECMPAtFRR/ebgp               10.74.0.0/24  FRR + 2 godwitd (eBGP)
//	TestECMPAtFRR/addpath            10.75.0.0/24  godwitd RR (ADD-PATH) + 2 godwitd + FRR
//	TestBestPathAgreesWithFRR        10.76.0.0/24  godwitd + FRR, 2 ExaBGP injectors
//	TestGodwitAcceptsActiveOnlyPeer  10.77.0.0/24  godwitd + FRR, 1 ExaBGP that only dials
//
// The prefixes they originate follow the segment: 172.2N.x.0 blocks and the
// LoadBalancer address 198.18.7N.10/32 for the segment 10.7N.0.0/24.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// rrBin holds godwitd and godwit, built once per test binary run.
var rrBin struct {
	once            sync.Once
	godwitd, godwit string
	err             error
}

// rrBinPrefix names the build directories, one per test process, under
// os.TempDir(); the next run removes those of processes that have gone.
const rrBinPrefix = "godwit-interop-bin-p"

// rrBuild builds godwitd and godwit once per test binary, as daemonBuild
// does per test. The directory outlives the test that built it (the next
// tests reuse it), so it cannot be a t.TempDir: it is named after the
// process, and a later run sweeps it.
func rrBuild(t *testing.T) (godwitd, godwit string) {
	t.Helper()
	rrBin.once.Do(func() {
		old, _ := filepath.Glob(filepath.Join(os.TempDir(), rrBinPrefix+"*"))
		for _, dir := range old {
			pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), rrBinPrefix))
			if err == nil && pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
				os.RemoveAll(dir)
			}
		}
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", rrBinPrefix, os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			rrBin.err = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/godwitd", "./cmd/godwit")
		cmd.Dir = filepath.Dir(filepath.Dir(file))
		if out, err := cmd.CombinedOutput(); err != nil {
			rrBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		rrBin.godwitd, rrBin.godwit = filepath.Join(dir, "godwitd"), filepath.Join(dir, "godwit")
	})
	if rrBin.err != nil {
		t.Fatal(rrBin.err)
	}
	return rrBin.godwitd, rrBin.godwit
}

// ---------------------------------------------------------------------
// godwitd configuration.

// rrConf is one godwitd's configuration, rendered as the YAML resources of
// DESIGN.md.
type rrConf struct {
	AS       uint32
	RouterID string
	// Global holds more BGPConfiguration spec fields in YAML flow form
	// ("routeReflectorClusterID: 1.1.1.1").
	Global   string
	Peers    []rrPeerConf
	Announce []string
}

type rrPeerConf struct {
	Name string
	Addr string
	AS   uint32
	// Spec holds more BGPPeer spec fields in YAML flow form.
	Spec string
}

func (c rrConf) yaml() string {
	var docs []string
	global := fmt.Sprintf("asNumber: %d, routerID: %s, holdTime: 9, connectRetryTime: 2", c.AS, c.RouterID)
	if c.Global != "" {
		global += ", " + c.Global
	}
	docs = append(docs, fmt.Sprintf("apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {%s}\n", global))
	for _, p := range c.Peers {
		spec := fmt.Sprintf("peerAddress: %s, peerASN: %d", p.Addr, p.AS)
		if p.Spec != "" {
			spec += ", " + p.Spec
		}
		docs = append(docs, fmt.Sprintf("apiVersion: bgp.godwit.dev/v1alpha1\nkind: BGPPeer\nmetadata: {name: %s}\nspec: {%s}\n", p.Name, spec))
	}
	if len(c.Announce) > 0 {
		docs = append(docs, fmt.Sprintf("apiVersion: bgp.godwit.dev/v1alpha1\nkind: Announcement\nmetadata: {name: own}\nspec: {prefixes: [%s]}\n", strings.Join(c.Announce, ", ")))
	}
	return strings.Join(docs, "---\n")
}

// ---------------------------------------------------------------------
// The segment and the speakers on it.

// rrJoin makes a namespace for role with interface "lan" on the segment,
// holding addr/24.
func rrJoin(t *testing.T, lan *netns.Bridge, role, addr string) *netns.NS {
	t.Helper()
	ns := netns.New(t, role)
	if _, err := lan.Attach(netns.End{NS: ns, Ifname: "lan", Addrs: []string{addr + "/24"}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// rrSpeaker is a godwitd on the segment.
type rrSpeaker struct {
	*daemonProc
	name string
}

// rrStart starts godwitd in its own namespace on the segment, with c
// (whose RouterID is also its address on the segment).
func rrStart(t *testing.T, lan *netns.Bridge, name string, c rrConf) *rrSpeaker {
	t.Helper()
	godwitd, godwit := rrBuild(t)
	ns := rrJoin(t, lan, name, c.RouterID)
	d := daemonStart(t, ns, godwitd, godwit, c.yaml())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("===== godwitd %s configuration =====\n%s", name, c.yaml())
			if out, err := d.run("status"); err == nil {
				t.Logf("===== godwit status (%s) =====\n%s", name, out)
			}
			if out, err := d.run("routes"); err == nil {
				t.Logf("===== godwit routes (%s) =====\n%s", name, out)
			}
		}
	})
	return &rrSpeaker{daemonProc: d, name: name}
}

// alive fails the test at once when godwitd has exited.
func (s *rrSpeaker) alive(t *testing.T) {
	t.Helper()
	if done, err := s.ns.Exited(s.pid); done {
		t.Fatalf("godwitd %s exited: %v", s.name, err)
	}
}

// rrRoute is one object of `godwit routes -o json`.
type rrRoute struct {
	Prefix          string   `json:"prefix"`
	PathID          uint32   `json:"pathId"`
	NextHop         string   `json:"nextHop"`
	ASPath          []uint32 `json:"asPath"`
	Origin          string   `json:"origin"`
	LocalPreference uint32   `json:"localPreference"`
	MED             uint32   `json:"med"`
	Best            bool     `json:"best"`
	Multipath       bool     `json:"multipath"`
	Peer            string   `json:"peer"`
	OriginatorID    string   `json:"originatorID"`
	ClusterList     []string `json:"clusterList"`
}

func (r rrRoute) String() string {
	return fmt.Sprintf("{%s id %d via %s from %s path %v origin %s lp %d med %d best %t multipath %t originator %q clusters %v}",
		r.Prefix, r.PathID, r.NextHop, r.Peer, r.ASPath, r.Origin, r.LocalPreference, r.MED, r.Best, r.Multipath, r.OriginatorID, r.ClusterList)
}

// routes runs `godwit routes ARGS -o json`.
func (s *rrSpeaker) routes(args ...string) ([]rrRoute, error) {
	out, err := s.run(append(append([]string{"routes"}, args...), "-o", "json")...)
	if err != nil {
		return nil, fmt.Errorf("godwit routes %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
	}
	var rs []rrRoute
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		return nil, fmt.Errorf("godwit routes %s -o json: %v in %q", strings.Join(args, " "), err, out)
	}
	return rs, nil
}

// waitRoutes polls `godwit routes ARGS` until ok accepts the paths, and
// returns them.
func (s *rrSpeaker) waitRoutes(t *testing.T, what string, ok func([]rrRoute) bool, args ...string) []rrRoute {
	t.Helper()
	var got []rrRoute
	daemonEventually(t, fmt.Sprintf("godwitd %s: %s", s.name, what), func() (bool, string) {
		s.alive(t)
		rs, err := s.routes(args...)
		if err != nil {
			return false, err.Error()
		}
		got = rs
		return ok(rs), fmt.Sprintf("godwit routes %s: %v", strings.Join(args, " "), rs)
	})
	return got
}

// waitNeighbors waits until godwitd's sessions with every address are
// Established.
func (s *rrSpeaker) waitNeighbors(t *testing.T, addrs ...string) {
	t.Helper()
	daemonEventually(t, fmt.Sprintf("godwitd %s: sessions with %v", s.name, addrs), func() (bool, string) {
		s.alive(t)
		out, err := s.run("neighbors", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		var ns []map[string]any
		if err := json.Unmarshal([]byte(out), &ns); err != nil {
			return false, err.Error()
		}
		state := map[string]any{}
		var desc []string
		for _, n := range ns {
			state[fmt.Sprint(n["address"])] = n["state"]
			desc = append(desc, fmt.Sprintf("%v %v (%v)", n["address"], n["state"], n["info"]))
		}
		for _, a := range addrs {
			if state[a] != "Established" {
				return false, strings.Join(desc, "; ")
			}
		}
		return true, ""
	})
}

// reflected accepts one path from peer (the reflector) with the next hop,
// ORIGINATOR_ID and CLUSTER_LIST of a route reflected once.
func reflected(peer, nextHop, originator string, clusters ...string) func([]rrRoute) bool {
	return func(rs []rrRoute) bool {
		return len(rs) == 1 && rs[0].Peer == peer && rs[0].NextHop == nextHop && rs[0].Best &&
			rs[0].OriginatorID == originator && slices.Equal(rs[0].ClusterList, clusters) && len(rs[0].ASPath) == 0
	}
}

// ---------------------------------------------------------------------
// 1. A Calico-style cluster: one godwitd reflector, three godwitd clients.

func TestRouteReflectorCluster(t *testing.T) {
	netns.RequireRoot(t)
	const (
		as        = 64512
		rrAddr    = "10.71.0.1"
		clusterID = "1.1.1.1"
	)
	clients := []struct{ name, addr, block string }{
		{"node1", "10.71.0.11", "172.21.1.0/26"},
		{"node2", "10.71.0.12", "172.21.2.0/26"},
		{"node3", "10.71.0.13", "172.21.3.0/26"},
	}
	lan := netns.NewBridge(t, "lan")
	rrc := rrConf{AS: as, RouterID: rrAddr, Global: "routeReflectorClusterID: " + clusterID}
	for _, c := range clients {
		rrc.Peers = append(rrc.Peers, rrPeerConf{Name: c.name, Addr: c.addr, AS: as, Spec: "routeReflectorClient: true"})
	}
	rr := rrStart(t, lan, "rr", rrc)
	nodes := make([]*rrSpeaker, len(clients))
	for i, c := range clients {
		nodes[i] = rrStart(t, lan, c.name, rrConf{AS: as, RouterID: c.addr,
			Peers: []rrPeerConf{{Name: "rr", Addr: rrAddr, AS: as}}, Announce: []string{c.block}})
	}
	rr.waitNeighbors(t, clients[0].addr, clients[1].addr, clients[2].addr)

	// The reflector holds every block, learned from its client, as best.
	for _, c := range clients {
		rr.waitRoutes(t, "the client's block", func(rs []rrRoute) bool {
			return len(rs) == 1 && rs[0].Best && rs[0].Peer == c.addr && rs[0].NextHop == c.addr &&
				len(rs[0].ASPath) == 0 && rs[0].LocalPreference == 100 && rs[0].OriginatorID == "" && len(rs[0].ClusterList) == 0
		}, c.block)
	}
	// Every client learns the other two blocks through the reflector:
	// next hop the originating client, ORIGINATOR_ID its router ID,
	// CLUSTER_LIST the reflector's cluster ID (RFC 4456 §8).
	for i, n := range nodes {
		for j, c := range clients {
			if i == j {
				continue
			}
			n.waitRoutes(t, "the reflected block of "+c.name, reflected(rrAddr, c.addr, c.addr, clusterID), c.block)
		}
		// Its own block comes back at most as the reflector's copy with
		// our own ORIGINATOR_ID, which must be refused (RFC 4456 §8):
		// the only path is our local one.
		rs, err := n.routes(clients[i].block)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Peer != "local" || !rs[0].Best {
			t.Errorf("%s: own block %s: %v, want only the local path", n.name, clients[i].block, rs)
		}
	}
	// What the reflector sends node1: the blocks of node2 and node3, with
	// the reflection attributes.
	adv, err := rr.routes("--peer", clients[0].addr, "--advertised")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients[1:] {
		i := slices.IndexFunc(adv, func(r rrRoute) bool { return r.Prefix == c.block })
		if i < 0 || adv[i].OriginatorID != c.addr || !slices.Equal(adv[i].ClusterList, []string{clusterID}) || adv[i].NextHop != c.addr {
			t.Errorf("advertised to %s: %v, want %s with originator %s, cluster list [%s], next hop %s", clients[0].addr, adv, c.block, c.addr, clusterID, c.addr)
		}
	}
}

// ---------------------------------------------------------------------
// 2. FRR reflects for two godwitd clients.

func TestFRRReflectsForGodwit(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	const (
		as        = 64512
		frrAddr   = "10.72.0.1"
		clusterID = "2.2.2.2"
	)
	clients := []struct{ name, addr, block string }{
		{"node1", "10.72.0.11", "172.22.1.0/26"},
		{"node2", "10.72.0.12", "172.22.2.0/26"},
	}
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	// The launcher has no reflection knobs: a second "router bgp" block
	// in Extra adds them (FRR merges it into the first).
	cfg := routers.Config{RouterID: frrAddr, LocalAS: as}
	extra := fmt.Sprintf("router bgp %d\n bgp cluster-id %s\n address-family ipv4 unicast\n", as, clusterID)
	for _, c := range clients {
		cfg.Neighbors = append(cfg.Neighbors, routers.Neighbor{Address: c.addr, RemoteAS: as, HoldTime: 9})
		extra += fmt.Sprintf("  neighbor %s route-reflector-client\n", c.addr)
	}
	cfg.Extra = extra + " exit-address-family\nexit\n"
	frr, err := routers.StartFRR(frrNS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	nodes := make([]*rrSpeaker, len(clients))
	for i, c := range clients {
		nodes[i] = rrStart(t, lan, c.name, rrConf{AS: as, RouterID: c.addr,
			Peers: []rrPeerConf{{Name: "rr", Addr: frrAddr, AS: as}}, Announce: []string{c.block}})
	}
	for _, c := range clients {
		routers.WaitEstablished(t, frr, c.addr)
	}
	// FRR reflects each block to the other client with ORIGINATOR_ID the
	// originator's router ID and its cluster ID in CLUSTER_LIST.
	for i, n := range nodes {
		other := clients[1-i]
		n.waitRoutes(t, "the block of "+other.name+" reflected by FRR", reflected(frrAddr, other.addr, other.addr, clusterID), other.block)
	}
	// FRR's own view: each block from its client, best.
	for _, c := range clients {
		routers.WaitRoute(t, frr, routers.IPv4Unicast, c.block, func(ps []routers.Path) bool {
			return len(ps) == 1 && ps[0].Best && ps[0].Peer == c.addr && ps[0].NextHop == c.addr
		})
	}
}

// ---------------------------------------------------------------------
// 3. godwitd reflects between FRR and BIRD.

func TestGodwitReflectsForFRRAndBIRD(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindBIRD)
	const (
		as        = 64512
		rrAddr    = "10.73.0.1"
		frrAddr   = "10.73.0.2"
		birdAddr  = "10.73.0.3"
		clusterID = "3.3.3.3"
		frrNet    = "172.23.2.0/24"
		birdNet   = "172.23.3.0/24"
	)
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	birdNS := rrJoin(t, lan, "bird", birdAddr)
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: as,
		Neighbors: []routers.Neighbor{{Address: rrAddr, RemoteAS: as, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: frrNet}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	bird, err := routers.StartBIRD(birdNS, routers.Config{RouterID: birdAddr, LocalAS: as,
		Neighbors: []routers.Neighbor{{Address: rrAddr, RemoteAS: as, HoldTime: 9}},
		Routes:    []routers.Route{{Prefix: birdNet}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, bird)
	rr := rrStart(t, lan, "rr", rrConf{AS: as, RouterID: rrAddr, Global: "routeReflectorClusterID: " + clusterID,
		Peers: []rrPeerConf{
			{Name: "frr", Addr: frrAddr, AS: as, Spec: "routeReflectorClient: true"},
			{Name: "bird", Addr: birdAddr, AS: as, Spec: "routeReflectorClient: true"},
		}})
	routers.WaitEstablished(t, frr, rrAddr)
	routers.WaitEstablished(t, bird, rrAddr)

	// The reflector holds both prefixes from their originators.
	for _, c := range []struct{ net, from string }{{frrNet, frrAddr}, {birdNet, birdAddr}} {
		rr.waitRoutes(t, "the client's prefix", func(rs []rrRoute) bool {
			return len(rs) == 1 && rs[0].Best && rs[0].Peer == c.from && rs[0].NextHop == c.from
		}, c.net)
	}
	// FRR's prefix at BIRD and BIRD's at FRR: next hop and ORIGINATOR_ID
	// the originator, CLUSTER_LIST the reflector's cluster ID. (BIRD shows
	// its path "unreachable": it resolves iBGP next hops recursively in its
	// own table, which the launcher keeps empty of connected routes.)
	for _, c := range []struct {
		at        routers.Router
		net, from string
	}{{bird, frrNet, frrAddr}, {frr, birdNet, birdAddr}} {
		routers.WaitRoute(t, c.at, routers.IPv4Unicast, c.net, func(ps []routers.Path) bool {
			return len(ps) == 1 && ps[0].Peer == rrAddr && ps[0].NextHop == c.from && len(ps[0].ASPath) == 0 &&
				ps[0].OriginatorID == c.from && slices.Equal(ps[0].ClusterList, []string{clusterID})
		})
	}
	// And the reflector says it sent them so.
	for _, c := range []struct{ to, net, from string }{{birdAddr, frrNet, frrAddr}, {frrAddr, birdNet, birdAddr}} {
		adv, err := rr.routes("--peer", c.to, "--advertised", c.net)
		if err != nil {
			t.Fatal(err)
		}
		if len(adv) != 1 || adv[0].OriginatorID != c.from || !slices.Equal(adv[0].ClusterList, []string{clusterID}) {
			t.Errorf("advertised to %s: %v, want %s with originator %s and cluster list [%s]", c.to, adv, c.net, c.from, clusterID)
		}
	}
}

// ---------------------------------------------------------------------
// 4. A LoadBalancer address served by two godwitd nodes: one ECMP route at
// FRR, over eBGP, and through a godwitd reflector with ADD-PATH.

func TestECMPAtFRR(t *testing.T) {
	routers.Require(t, routers.KindFRR)
	t.Run("ebgp", testECMPAtFRREBGP)
	t.Run("addpath", testECMPAtFRRAddPath)
}

// frrECMP waits until FRR holds lb with two valid multipath paths, one
// best, their next hops nhs; and until zebra has put one route with both
// next hops in the namespace's kernel table. match, when not nil, must
// accept the paths too.
func frrECMP(t *testing.T, frr *routers.FRR, lb string, match func([]routers.Path) bool, nhs ...string) {
	t.Helper()
	daemonEventually(t, "FRR's multipath route for "+lb, func() (bool, string) {
		if err := frr.Alive(); err != nil {
			t.Fatal(err)
		}
		ps, err := frr.Route(routers.IPv4Unicast, lb)
		if err != nil {
			return false, err.Error()
		}
		var hops []string
		best := 0
		for _, p := range ps {
			if !p.Valid || !p.Multipath {
				return false, fmt.Sprintf("paths %+v", ps)
			}
			if p.Best {
				best++
			}
			hops = append(hops, p.NextHop)
		}
		slices.Sort(hops)
		return best == 1 && slices.Equal(hops, nhs) && (match == nil || match(ps)), fmt.Sprintf("paths %+v", ps)
	})
	daemonEventually(t, "the ECMP route in FRR's kernel table", func() (bool, string) {
		out, err := frr.NS().IP("-4", "route", "show", lb)
		if err != nil {
			return false, err.Error()
		}
		for _, nh := range nhs {
			if !strings.Contains(out, "nexthop via "+nh+" ") {
				return false, out
			}
		}
		return true, ""
	})
}

func testECMPAtFRREBGP(t *testing.T) {
	const (
		frrAS   = 64500
		frrAddr = "10.74.0.1"
		lb      = "198.18.74.10/32"
	)
	nodes := []struct {
		name, addr string
		as         uint32
	}{{"node1", "10.74.0.11", 64600}, {"node2", "10.74.0.12", 64601}}
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	cfg := routers.Config{RouterID: frrAddr, LocalAS: frrAS,
		Extra: fmt.Sprintf("router bgp %d\n bgp bestpath as-path multipath-relax\n address-family ipv4 unicast\n  maximum-paths 4\n exit-address-family\nexit\n", frrAS)}
	for _, n := range nodes {
		cfg.Neighbors = append(cfg.Neighbors, routers.Neighbor{Address: n.addr, RemoteAS: n.as, HoldTime: 9})
	}
	frr, err := routers.StartFRR(frrNS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	for _, n := range nodes {
		rrStart(t, lan, n.name, rrConf{AS: n.as, RouterID: n.addr,
			Peers: []rrPeerConf{{Name: "tor", Addr: frrAddr, AS: frrAS}}, Announce: []string{lb}})
	}
	for _, n := range nodes {
		routers.WaitEstablished(t, frr, n.addr)
	}
	frrECMP(t, frr, lb, func(ps []routers.Path) bool {
		for _, p := range ps {
			if len(p.ASPath) != 1 || (p.ASPath[0] != nodes[0].as && p.ASPath[0] != nodes[1].as) {
				return false
			}
		}
		return ps[0].ASPath[0] != ps[1].ASPath[0]
	}, nodes[0].addr, nodes[1].addr)
}

func testECMPAtFRRAddPath(t *testing.T) {
	const (
		as        = 64700
		rrAddr    = "10.75.0.1"
		frrAddr   = "10.75.0.2"
		clusterID = "7.7.7.7"
		lb        = "198.18.75.10/32"
	)
	nodes := []struct{ name, addr string }{{"node1", "10.75.0.11"}, {"node2", "10.75.0.12"}}
	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	// FRR announces the ADD-PATH receive capability by default; iBGP
	// multipath needs maximum-paths ibgp.
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: as,
		Neighbors: []routers.Neighbor{{Address: rrAddr, RemoteAS: as, HoldTime: 9}},
		Extra:     fmt.Sprintf("router bgp %d\n address-family ipv4 unicast\n  maximum-paths ibgp 4\n exit-address-family\nexit\n", as)})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	rrc := rrConf{AS: as, RouterID: rrAddr, Global: "routeReflectorClusterID: " + clusterID,
		Peers: []rrPeerConf{{Name: "tor", Addr: frrAddr, AS: as,
			Spec: "routeReflectorClient: true, addPath: {send: [ipv4-unicast], sendMode: ecmp}"}}}
	for _, n := range nodes {
		rrc.Peers = append(rrc.Peers, rrPeerConf{Name: n.name, Addr: n.addr, AS: as, Spec: "routeReflectorClient: true"})
	}
	rr := rrStart(t, lan, "rr", rrc)
	for _, n := range nodes {
		rrStart(t, lan, n.name, rrConf{AS: as, RouterID: n.addr,
			Peers: []rrPeerConf{{Name: "rr", Addr: rrAddr, AS: as}}, Announce: []string{lb}})
	}
	routers.WaitEstablished(t, frr, rrAddr)
	rr.waitNeighbors(t, frrAddr, nodes[0].addr, nodes[1].addr)

	// The reflector's own view: two paths, one best and one multipath.
	rr.waitRoutes(t, "two ECMP paths for "+lb, func(rs []rrRoute) bool {
		return len(rs) == 2 && rs[0].Best != rs[1].Best && (rs[0].Multipath || rs[1].Multipath)
	}, lb)
	// It sends FRR both, with distinct path identifiers.
	rr.waitRoutes(t, "both paths advertised to FRR", func(rs []rrRoute) bool {
		return len(rs) == 2 && rs[0].PathID != rs[1].PathID
	}, "--peer", frrAddr, "--advertised", lb)
	// FRR announced receive (its default) and saw our send.
	nb, err := frr.Neighbor(rrAddr)
	if err != nil {
		t.Fatal(err)
	}
	caps, _ := nb["neighborCapabilities"].(map[string]any)
	ap, _ := caps["addPath"].(map[string]any)
	v4, _ := ap["ipv4Unicast"].(map[string]any)
	if v4["rxAdvertised"] != true || v4["txReceived"] != true {
		t.Errorf("FRR's ADD-PATH capabilities with the reflector: %v, want rxAdvertised and txReceived for ipv4Unicast", caps["addPath"])
	}
	// FRR: two paths from the reflector, distinct path IDs, each with its
	// originator's next hop and ORIGINATOR_ID, both in the multipath set.
	frrECMP(t, frr, lb, func(ps []routers.Path) bool {
		return len(ps) == 2 && ps[0].PathID != ps[1].PathID && ps[0].Peer == rrAddr && ps[1].Peer == rrAddr &&
			ps[0].OriginatorID == ps[0].NextHop && ps[1].OriginatorID == ps[1].NextHop &&
			slices.Equal(ps[0].ClusterList, []string{clusterID}) && slices.Equal(ps[1].ClusterList, []string{clusterID})
	}, nodes[0].addr, nodes[1].addr)
}

// ---------------------------------------------------------------------
// 5. The decision process of godwitd against FRR's, on the same paths.

func TestBestPathAgreesWithFRR(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindExaBGP)
	const (
		as      = 65000
		gwAddr  = "10.76.0.1"
		frrAddr = "10.76.0.2"
	)
	// Two injectors, iBGP with both godwitd and FRR (which do not peer
	// with each other). x1 has the lower address, x2 the lower router ID,
	// so that the last two tie-breakers pick different paths.
	inj := []struct{ name, addr, id string }{
		{"x1", "10.76.0.11", "10.76.200.1"},
		{"x2", "10.76.0.12", "10.76.100.2"},
	}
	// One prefix per decision step (RFC 4271 §9.1.2.2, RFC 4456 §9); each
	// case names the winner, and the loser is better at the later steps
	// that could otherwise decide (x2's lower router ID, x1's lower
	// address), so that only this step picks the winner.
	cases := []struct {
		name, prefix string
		x1, x2       string // ExaBGP attributes after "next-hop self"
		want         int    // index in inj
	}{
		{"local-pref", "172.26.1.0/24",
			"origin igp as-path [ 65100 ] local-preference 100",
			"origin incomplete as-path [ 65100 65101 65102 ] local-preference 200", 1},
		{"as-path-length", "172.26.2.0/24",
			"origin incomplete as-path [ 65100 65101 ] med 50",
			"origin igp as-path [ 65100 65101 65102 ] med 0", 0},
		{"origin", "172.26.3.0/24",
			"origin incomplete as-path [ 65100 ] med 0",
			"origin igp as-path [ 65100 ] med 50", 1},
		{"origin-egp", "172.26.4.0/24",
			"origin egp as-path [ 65100 ] med 0",
			"origin igp as-path [ 65100 ] med 50", 1},
		{"med-same-as", "172.26.5.0/24",
			"origin igp as-path [ 65100 ] med 10",
			"origin igp as-path [ 65100 ] med 50", 0},
		{"med-missing-is-zero", "172.26.6.0/24",
			"origin igp as-path [ 65100 ] med 5",
			"origin igp as-path [ 65100 ]", 1},
		{"med-other-as-not-compared", "172.26.7.0/24",
			"origin igp as-path [ 65100 ] med 10",
			"origin igp as-path [ 65200 ] med 50", 1},
		{"router-id", "172.26.8.0/24",
			"origin igp as-path [ 65100 ]",
			"origin igp as-path [ 65100 ]", 1},
		{"originator-id", "172.26.9.0/24",
			"origin igp as-path [ 65100 ] originator-id 10.76.99.1",
			"origin igp as-path [ 65100 ] originator-id 10.76.99.9", 0},
		{"cluster-list-length", "172.26.10.0/24",
			"origin igp as-path [ 65100 ] originator-id 10.76.99.1 cluster-list [ 9.9.9.9 8.8.8.8 ]",
			"origin igp as-path [ 65100 ] originator-id 10.76.99.1 cluster-list [ 9.9.9.9 ]", 1},
		{"peer-address", "172.26.11.0/24",
			"origin igp as-path [ 65100 ] originator-id 10.76.99.1",
			"origin igp as-path [ 65100 ] originator-id 10.76.99.1", 0},
	}

	lan := netns.NewBridge(t, "lan")
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	fcfg := routers.Config{RouterID: frrAddr, LocalAS: as}
	gcfg := rrConf{AS: as, RouterID: gwAddr}
	for _, x := range inj {
		fcfg.Neighbors = append(fcfg.Neighbors, routers.Neighbor{Address: x.addr, RemoteAS: as, HoldTime: 9})
		// ExaBGP dials and never listens; godwitd dials too, and takes
		// ExaBGP's connection between its own attempts
		// (TestGodwitAcceptsActiveOnlyPeer).
		gcfg.Peers = append(gcfg.Peers, rrPeerConf{Name: x.name, Addr: x.addr, AS: as})
	}
	frr, err := routers.StartFRR(frrNS, fcfg)
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	gw := rrStart(t, lan, "gw", gcfg)
	exas := make([]*routers.ExaBGP, len(inj))
	for i, x := range inj {
		ns := rrJoin(t, lan, x.name, x.addr)
		exas[i], err = routers.StartExaBGP(ns, routers.Config{Name: x.name, RouterID: x.id, LocalAS: as,
			Neighbors: []routers.Neighbor{
				{Address: gwAddr, RemoteAS: as, LocalAddress: x.addr, HoldTime: 9},
				{Address: frrAddr, RemoteAS: as, LocalAddress: x.addr, HoldTime: 9},
			}})
		if err != nil {
			t.Fatal(err)
		}
		routers.DumpOnFailure(t, exas[i])
	}
	for i := range inj {
		routers.WaitEstablished(t, exas[i], gwAddr)
		routers.WaitEstablished(t, exas[i], frrAddr)
		for _, c := range cases {
			attrs := c.x1
			if i == 1 {
				attrs = c.x2
			}
			if err := exas[i].API("announce route " + c.prefix + " next-hop self " + attrs); err != nil {
				t.Fatal(err)
			}
		}
	}
	gw.waitNeighbors(t, inj[0].addr, inj[1].addr)

	// FRR runs its decision process from a work queue: for a moment
	// after the second path arrives it still shows the first as best. So
	// every case is polled until both speakers have both paths and show
	// the expected best one, all cases within one deadline; then each
	// case reports what was last seen.
	type seen struct {
		gw      []rrRoute
		frr     []routers.Path
		gwBest  string
		frrBest string
		err     error
	}
	last := make([]seen, len(cases))
	settled := func(i int) bool {
		o, want := last[i], inj[cases[i].want].addr
		return o.err == nil && len(o.gw) == 2 && len(o.frr) == 2 && o.gwBest == want && o.frrBest == want
	}
	_ = netns.Wait(routers.DefaultTimeout, 250*time.Millisecond, func() (bool, string) {
		gw.alive(t)
		if err := frr.Alive(); err != nil {
			t.Fatal(err)
		}
		done := true
		for i, c := range cases {
			if settled(i) {
				continue
			}
			var o seen
			o.gw, o.err = gw.routes(c.prefix)
			if o.err == nil {
				o.frr, o.err = frr.Route(routers.IPv4Unicast, c.prefix)
			}
			for _, r := range o.gw {
				if r.Best {
					o.gwBest = r.Peer
				}
			}
			for _, p := range o.frr {
				if p.Best {
					o.frrBest = p.Peer
				}
			}
			last[i] = o
			done = done && settled(i)
		}
		return done, ""
	})
	var table strings.Builder
	fmt.Fprintf(&table, "%-27s %-12s %-12s %-12s\n", "step", "expected", "godwitd", "FRR")
	for i, c := range cases {
		o, want := last[i], inj[c.want].addr
		fmt.Fprintf(&table, "%-27s %-12s %-12s %-12s\n", c.name, want, o.gwBest, o.frrBest)
		t.Run(c.name, func(t *testing.T) {
			switch {
			case o.err != nil:
				t.Fatal(o.err)
			case len(o.gw) != 2 || len(o.frr) != 2:
				t.Errorf("%s: %d paths at godwitd, %d at FRR, want 2 each\ngodwitd: %v\nFRR: %+v", c.prefix, len(o.gw), len(o.frr), o.gw, o.frr)
			case o.gwBest != want || o.frrBest != want:
				t.Errorf("%s: best path from %q at godwitd, %q at FRR, want %s (x1 %s / x2 %s)\ngodwitd: %v\nFRR: %+v",
					c.prefix, o.gwBest, o.frrBest, want, c.x1, c.x2, o.gw, o.frr)
			}
		})
	}
	t.Logf("best paths:\n%s", table.String())
}

// ---------------------------------------------------------------------
// A peer that only dials (ExaBGP without a bind address never listens).
//
//	ns "gw" godwitd  10.77.0.1  AS 65000  ─┐
//	ns "frr" FRR     10.77.0.2  AS 65000  ─┼─ lan ─ ns "exa" ExaBGP 10.77.0.11
//	                                                AS 65077, dials both
//
// godwitd and FRR are configured as usual (they dial too). Their first
// dials are refused, since ExaBGP listens nowhere; from then on the session
// can only come from ExaBGP's connections, which FRR accepts (after a
// failed connect it waits in Active). godwitd must accept them as well.

func TestGodwitAcceptsActiveOnlyPeer(t *testing.T) {
	routers.Require(t, routers.KindFRR, routers.KindExaBGP)
	const (
		gwAddr  = "10.77.0.1"
		frrAddr = "10.77.0.2"
		exaAddr = "10.77.0.11"
		exaNet  = "172.27.0.0/24"
	)
	lan := netns.NewBridge(t, "lan")
	exaNS := rrJoin(t, lan, "exa", exaAddr)
	frrNS := rrJoin(t, lan, "frr", frrAddr)
	frr, err := routers.StartFRR(frrNS, routers.Config{RouterID: frrAddr, LocalAS: 65000,
		Neighbors: []routers.Neighbor{{Address: exaAddr, RemoteAS: 65077, HoldTime: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, frr)
	gw := rrStart(t, lan, "gw", rrConf{AS: 65000, RouterID: gwAddr, Peers: []rrPeerConf{{Name: "exa", Addr: exaAddr, AS: 65077}}})
	// godwitd has tried and been refused before ExaBGP starts.
	daemonEventually(t, "godwitd's first dial refused", func() (bool, string) {
		gw.alive(t)
		out, err := gw.run("neighbors", "-o", "json")
		return err == nil && strings.Contains(strings.ToLower(out), "refused"), out
	})
	exa, err := routers.StartExaBGP(exaNS, routers.Config{RouterID: exaAddr, LocalAS: 65077,
		Neighbors: []routers.Neighbor{
			{Address: gwAddr, RemoteAS: 65000, LocalAddress: exaAddr, HoldTime: 9},
			{Address: frrAddr, RemoteAS: 65000, LocalAddress: exaAddr, HoldTime: 9},
		},
		Routes: []routers.Route{{Prefix: exaNet}}})
	if err != nil {
		t.Fatal(err)
	}
	routers.DumpOnFailure(t, exa)
	// The control: ExaBGP's connections reach FRR.
	routers.WaitEstablished(t, frr, exaAddr)
	daemonEventually(t, "godwitd accepts ExaBGP's connection", func() (bool, string) {
		gw.alive(t)
		out, err := gw.run("neighbors", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		var ns []map[string]any
		if err := json.Unmarshal([]byte(out), &ns); err != nil || len(ns) != 1 {
			return false, out
		}
		log, _ := os.ReadFile(gw.log)
		return ns[0]["state"] == "Established", fmt.Sprintf("godwitd's session is %v (%v); its log has %d \"refusing connection while Idle\" from ExaBGP, which FRR accepted",
			ns[0]["state"], ns[0]["info"], strings.Count(string(log), "refusing connection while Idle"))
	})
	gw.waitRoutes(t, "ExaBGP's prefix", func(rs []rrRoute) bool {
		return len(rs) == 1 && rs[0].Peer == exaAddr && slices.Equal(rs[0].ASPath, []uint32{65077})
	}, exaNet)
}
