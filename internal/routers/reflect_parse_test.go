package routers

// The route-reflection attributes (RFC 4456) as FRR and BIRD show them,
// captured from TestGodwitReflectsForFRRAndBIRD (interop): godwitd at
// 10.73.0.1 reflecting with cluster ID 3.3.3.3 between FRR (10.73.0.2) and
// BIRD (10.73.0.3), with a second cluster ID added to BIRD's list. These
// run without root.

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
)

const birdReflected = `BIRD 2.0.12 ready.
Table master4:
172.23.3.0/24        blackhole [static4 2026-11-22 05:21:12] * (200)
	Type: static univ
172.23.2.0/24        unreachable [peer0 2026-11-22 05:21:14 from 10.73.0.1] * (100) [i]
	Type: BGP univ
	BGP.origin: IGP
	BGP.as_path: 
	BGP.next_hop: 10.73.0.2
	BGP.med: 0
	BGP.local_pref: 100
	BGP.originator_id: 10.73.0.2
	BGP.cluster_list: 3.3.3.3 1.1.1.1
`

const frrReflected = `{
  "prefix":"172.23.3.0/24",
  "paths":[
    {
      "aspath":{"string":"Local","segments":[],"length":0},
      "origin":"IGP",
      "locPrf":100,
      "valid":true,
      "bestpath":{"overall":true,"selectionReason":"First path received"},
      "originatorId":"10.73.0.3",
      "clusterList":{"list":["3.3.3.3"]},
      "nexthops":[{"ip":"10.73.0.3","afi":"ipv4","metric":0,"accessible":true,"used":true}],
      "peer":{"peerId":"10.73.0.1","routerId":"10.73.0.1","type":"internal"}
    }
  ]
}`

func TestParseBIRDReflected(t *testing.T) {
	ps, err := parseBIRDRoutes(birdReflected, map[string]string{"peer0": "10.73.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var got *Path
	for i := range ps {
		if ps[i].Prefix == netip.MustParsePrefix("172.23.2.0/24") {
			got = &ps[i]
		}
	}
	if got == nil || got.Peer != "10.73.0.1" || got.NextHop != "10.73.0.2" || got.OriginatorID != "10.73.0.2" ||
		!slices.Equal(got.ClusterList, []string{"3.3.3.3", "1.1.1.1"}) {
		t.Errorf("reflected path = %+v, want from 10.73.0.1 via 10.73.0.2, originator 10.73.0.2, cluster list [3.3.3.3 1.1.1.1]", got)
	}
	for _, p := range ps {
		if p.Prefix == netip.MustParsePrefix("172.23.3.0/24") && (p.OriginatorID != "" || p.ClusterList != nil) {
			t.Errorf("local path %+v has reflection attributes", p)
		}
	}
}

func TestParseFRRReflected(t *testing.T) {
	var one struct {
		Paths []frrPath `json:"paths"`
	}
	if err := json.Unmarshal([]byte(frrReflected), &one); err != nil {
		t.Fatal(err)
	}
	if len(one.Paths) != 1 {
		t.Fatalf("%d paths, want 1", len(one.Paths))
	}
	p := one.Paths[0].toPath(netip.MustParsePrefix("172.23.3.0/24"))
	if p.Peer != "10.73.0.1" || p.NextHop != "10.73.0.3" || p.OriginatorID != "10.73.0.3" || !slices.Equal(p.ClusterList, []string{"3.3.3.3"}) || !p.Best {
		t.Errorf("reflected path = %+v, want best from 10.73.0.1 via 10.73.0.3, originator 10.73.0.3, cluster list [3.3.3.3]", p)
	}
}
