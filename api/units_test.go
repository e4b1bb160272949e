package api_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/api"
	"github.com/google/go-cmp/cmp"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in      string
		want    api.Addr
		wantErr bool
	}{
		{"", api.Addr{Network: "unix", Address: "/run/godwit/godwitd.sock"}, false},
		{"unix:///tmp/g.sock", api.Addr{Network: "unix", Address: "/tmp/g.sock"}, false},
		{"/tmp/g.sock", api.Addr{Network: "unix", Address: "/tmp/g.sock"}, false},
		{"g.sock", api.Addr{Network: "unix", Address: "g.sock"}, false},
		{"https://127.0.0.1:7179", api.Addr{Network: "tcp", Address: "127.0.0.1:7179"}, false},
		{"https://[::1]:7179/", api.Addr{Network: "tcp", Address: "[::1]:7179"}, false},
		{"unix://", api.Addr{}, true},
		{"http://127.0.0.1:7179", api.Addr{}, true},
		{"https://127.0.0.1", api.Addr{}, true},
		{"/" + string(make([]byte, 107)), api.Addr{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := api.ParseAddr(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseAddr(%q) = %+v, %v", tc.in, got, err)
			}
			if err == nil {
				if back, err := api.ParseAddr(got.String()); err != nil || back != got {
					t.Errorf("String %q does not parse back: %+v, %v", got.String(), back, err)
				}
			}
		})
	}
}

func TestFormatASPath(t *testing.T) {
	seq := func(a ...uint32) api.ASPathSegment { return api.ASPathSegment{Type: api.SegmentSequence, ASNs: a} }
	tests := []struct {
		name string
		segs []api.ASPathSegment
		text string
		flat []uint32
	}{
		{"empty", nil, "", []uint32{}},
		{"sequence", []api.ASPathSegment{seq(65100, 64512)}, "65100 64512", []uint32{65100, 64512}},
		{"set", []api.ASPathSegment{seq(65100), {Type: api.SegmentSet, ASNs: []uint32{64512, 64513}}}, "65100 {64512 64513}", []uint32{65100, 64512, 64513}},
		{"confederation", []api.ASPathSegment{{Type: api.SegmentConfedSequence, ASNs: []uint32{65001, 65002}}, {Type: api.SegmentConfedSet, ASNs: []uint32{65003}}, seq(4200000000)}, "(65001 65002) [65003] 4200000000", []uint32{65001, 65002, 65003, 4200000000}},
		{"empty segment", []api.ASPathSegment{seq(), seq(1)}, "1", []uint32{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r api.Route
			r.SetASPath(tc.segs)
			if r.ASPathText != tc.text {
				t.Errorf("text %q, want %q", r.ASPathText, tc.text)
			}
			if diff := cmp.Diff(tc.flat, r.ASPath); diff != "" {
				t.Errorf("flat (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouteQueryNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      api.RouteQuery
		want    api.RouteQuery
		wantErr string
	}{
		{"empty", api.RouteQuery{}, api.RouteQuery{}, ""},
		{"prefix infers family", api.RouteQuery{Prefix: "10.2.3.4/16"}, api.RouteQuery{Family: "ipv4-unicast", Prefix: "10.2.0.0/16"}, ""},
		{"address", api.RouteQuery{Prefix: "2001:DB8::1"}, api.RouteQuery{Family: "ipv6-unicast", Prefix: "2001:db8::1"}, ""},
		{"vpn prefix kept", api.RouteQuery{Family: "ipv4-vpn", Prefix: "65000:1:10.0.0.0/24"}, api.RouteQuery{Family: "ipv4-vpn", Prefix: "65000:1:10.0.0.0/24"}, ""},
		{"family mismatch", api.RouteQuery{Family: "ipv6-unicast", Prefix: "10.0.0.0/8"}, api.RouteQuery{}, "prefix 10.0.0.0/8 is not in family ipv6-unicast"},
		{"unknown family", api.RouteQuery{Family: "ipv4"}, api.RouteQuery{}, `unknown address family "ipv4"; families are ipv4-unicast, ipv6-unicast, ipv4-vpn, ipv6-vpn, l2vpn-evpn`},
		{"bad prefix", api.RouteQuery{Prefix: "10.0.0.0/40"}, api.RouteQuery{}, `bad prefix "10.0.0.0/40"`},
		{"peer", api.RouteQuery{Peer: "10.0.1.2", Received: true}, api.RouteQuery{Peer: "10.0.1.2", Received: true}, ""},
		{"bad peer", api.RouteQuery{Peer: "router"}, api.RouteQuery{}, `bad peer address "router"`},
		{"received without peer", api.RouteQuery{Received: true}, api.RouteQuery{}, "received and advertised routes are per neighbour; add --peer ADDR"},
		{"both directions", api.RouteQuery{Peer: "10.0.1.2", Received: true, Advertised: true}, api.RouteQuery{}, "received and advertised exclude each other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Normalize()
			if tc.wantErr != "" {
				if err == nil || len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNoSecretFields guards the rule that no API type can carry a
// password or a key: they have no field for one.
func TestNoSecretFields(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(path string, ty reflect.Type)
	walk = func(path string, ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for f := range ty.Fields() {
			name := strings.ToLower(f.Name)
			for _, bad := range []string{"password", "secret", "token", "md5", "privatekey", "authkey"} {
				if strings.Contains(name, bad) {
					t.Errorf("%s.%s may carry a secret", path, f.Name)
				}
			}
			walk(path+"."+f.Name, f.Type)
		}
	}
	for _, v := range []any{api.Status{}, api.NeighborDetail{}, api.Route{}, api.ConfigStatus{}, api.Event{}, api.ActionResult{}, api.VersionInfo{}, api.FIB{}} {
		walk(reflect.TypeOf(v).Name(), reflect.TypeOf(v))
	}
}
