package config

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files and fuzz seeds under testdata/")

// inputs are the configuration files of testdata/.
func inputs(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

// TestGolden parses each testdata file, prints it canonically (passwords
// shown, so that the output reads back) and compares with
// testdata/golden/<name>; go test -update rewrites the goldens.
func TestGolden(t *testing.T) {
	for _, in := range inputs(t) {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			rs, err := LoadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(rs, PrintOptions{ShowSecrets: true})
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("printed form differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestRoundTrip: parse, print, parse gives the same resources, and
// printing again gives the same text.
func TestRoundTrip(t *testing.T) {
	for _, in := range inputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			rs, err := LoadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, rs)
		})
	}
}

func checkRoundTrip(t *testing.T, rs []*Resource) {
	t.Helper()
	out, err := Marshal(rs, PrintOptions{ShowSecrets: true})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Parse("printed.yaml", out)
	if err != nil {
		t.Fatalf("parsing the printed form: %v\n%s", err, out)
	}
	if diff := cmp.Diff(rs, back, cmpOpts...); diff != "" {
		t.Fatalf("round trip changed the resources (-parsed +reparsed):\n%s\nprinted:\n%s", diff, out)
	}
	again, err := Marshal(back, PrintOptions{ShowSecrets: true})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(out, again) {
		t.Fatalf("printing is not idempotent:\n%s\nthen:\n%s", out, again)
	}
}

// Resources that the store holds print with their metadata and status and
// read back the same.
func TestRoundTripStoreMetadata(t *testing.T) {
	r := New("router", &BGPPeerSpec{PeerAddress: mustAddr("2001:db8::2"), PeerASN: 65100, Password: "pw"})
	r.Metadata.Owner = APIOwner("cni")
	r.Metadata.ResourceVersion = 42
	r.Metadata.Generation = 3
	r.Status = &Status{ObservedGeneration: 2, LastError: "x", Message: "multi\nline", Conditions: []Condition{
		{Type: "Established", Status: ConditionTrue, Reason: "Up", LastTransitionTime: mustTime(t, "2024-05-06T07:08:09.5+02:00")},
	}}
	checkRoundTrip(t, []*Resource{r})
	out, _ := Marshal([]*Resource{r}, PrintOptions{})
	want := `apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata:
  name: router
  owner: api:cni
  resourceVersion: 42
  generation: 3
spec:
  peerAddress: 2001:db8::2
  peerASN: 65100
  password: <redacted>
status:
  observedGeneration: 2
  conditions:
    - type: Established
      status: "True"
      reason: Up
      lastTransitionTime: "2024-05-06T07:08:09.5+02:00"
  lastError: x
  message: |-
    multi
    line
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Values that have several spellings print in one.
func TestCanonicalSpelling(t *testing.T) {
	src := doc("RoutePolicy", "p", `  statements:
  - name: s
    conditions:
      communities: ["65535:65281", "0:0"]
      neighbor: 10.0.0.1
      nextHop: ["2001:DB8::1", 2001:db8::/32]
    actions:
      set:
        med: 0x10
        nextHop: 2001:0db8:0:0::1
        extendedCommunities: {remove: ["rt:70000:1"]}
`) + "---\n" + doc("BGPPeer", "r", "  peerAddress: 10.0.0.1\n  peerASN: 65_000\n  maxPrefixes: 1\n  maxPrefixesRestart: 3600\n")
	rs := mustParse(t, src)
	out, err := Marshal(rs, PrintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"communities: [no-export, '0:0']",
		"neighbor: [10.0.0.1]",
		"nextHop: ['2001:db8::1', '2001:db8::/32']",
		"med: 16",
		"nextHop: 2001:db8::1",
		"remove: ['rt:70000:1']",
		"peerASN: 65000",
		"maxPrefixesRestart: 1h0m0s",
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	checkRoundTrip(t, rs)
}

func TestSortResources(t *testing.T) {
	rs := mustParse(t, string(mustRead(t, "testdata/full.yaml")))
	SortResources(rs)
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s/%s", r.Kind, r.Metadata.Name))
	}
	want := []string{
		"BGPConfiguration/default", "RoutePolicy/accept-all", "RoutePolicy/to-router", "VRF/blue",
		"IPPool/old", "IPPool/pods", "IPPool/pods6", "IPPool/services", "Node/node-a",
		"Announcement/blue-net", "Announcement/pod-cidr", "LoadBalancer/dns", "LoadBalancer/web",
		"BGPPeer/client", "BGPPeer/reflectors", "BGPPeer/router", "BGPaaS/vnf-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
