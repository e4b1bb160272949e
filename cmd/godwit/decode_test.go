package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runDecode(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"decode"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const marker = "ffffffffffffffffffffffffffffffff"

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		// check reads the JSON document.
		check func(t *testing.T, m map[string]any)
	}{
		{
			name: "keepalive with 0x and spaces",
			args: []string{"0x" + marker, "0013", "04"},
			check: func(t *testing.T, m map[string]any) {
				want(t, m["type"], "KEEPALIVE")
			},
		},
		{
			name:  "update from stdin",
			stdin: "ffffffffffffffffffffffffffffffff 0049 02\n0000\n002b\n40 01 01 00\n50 02 00 0e 02 03 00 00 fd ea 00 00 fd e8 00 00 00 64\n40 03 04 c0 00 02 01\n80 04 04 00 00 00 64\nc0 08 04 fd e8 00 01\n18 ac 1f fe\n10 0a 01\n",
			check: func(t *testing.T, m map[string]any) {
				u := m["update"].(map[string]any)
				a := u["attributes"].(map[string]any)
				want(t, jsonText(a["asPath"]), "[65002,65000,100]")
				want(t, a["origin"], "IGP")
				want(t, jsonText(a["communities"]), `["65000:1"]`)
				want(t, a["med"], float64(100))
				ann := u["announced"].([]any)
				want(t, ann[0].(map[string]any)["prefix"], "172.31.254.0/24")
				want(t, ann[1].(map[string]any)["nextHop"], "192.0.2.1")
			},
		},
		{
			name: "2-octet AS path with --as2",
			// AS_PATH AS_SEQUENCE of 2-octet 65001 65002.
			args: []string{"--as2", marker + "002d" + "02" + "0000" + "0014" + "40010100" + "4002060202fde9fdea" + "400304c0000201" + "080a"},
			check: func(t *testing.T, m map[string]any) {
				a := m["update"].(map[string]any)["attributes"].(map[string]any)
				want(t, jsonText(a["asPath"]), "[65001,65002]")
			},
		},
		{
			name: "add-path ipv4-unicast",
			args: []string{"--addpath", "ipv4-unicast", marker + "002d" + "02" + "0000" + "000e" + "40010100" + "400200" + "400304c0000201" + "00000007" + "18c00002"},
			check: func(t *testing.T, m map[string]any) {
				r := m["update"].(map[string]any)["announced"].([]any)[0].(map[string]any)
				want(t, r["prefix"], "192.0.2.0/24")
				want(t, r["pathId"], float64(7))
			},
		},
		{
			name: "open with capabilities",
			args: []string{marker + "002b" + "01" + "04" + "fde9" + "005a" + "c0000201" + "0e" + "020c" + "0104" + "00010001" + "4104" + "0000fde9"},
			check: func(t *testing.T, m map[string]any) {
				o := m["open"].(map[string]any)
				want(t, o["asn"], float64(65001))
				want(t, o["bgpID"], "192.0.2.1")
				caps := o["capabilities"].([]any)
				want(t, caps[0].(map[string]any)["name"], "multiprotocol")
				want(t, caps[1].(map[string]any)["asn"], float64(65001))
			},
		},
		{
			name: "shutdown communication",
			// Cease / Administrative Shutdown with "maintenance 42" (RFC 9003).
			args: []string{marker + "0024" + "03" + "0602" + "0e" + "6d61696e74656e616e6365203432"},
			check: func(t *testing.T, m map[string]any) {
				n := m["notification"].(map[string]any)
				want(t, n["shutdownMessage"], "maintenance 42")
				want(t, n["subcodeName"], "Administrative Shutdown")
			},
		},
		{
			name: "enhanced route refresh BoRR",
			args: []string{marker + "0017" + "05" + "0001" + "01" + "01"},
			check: func(t *testing.T, m map[string]any) {
				r := m["routeRefresh"].(map[string]any)
				want(t, r["family"], "ipv4-unicast")
				want(t, r["subtype"], "BoRR")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runDecode(t, tt.stdin, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
			}
			tt.check(t, m)
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string // substring of the one stderr line
		jsonOut bool   // the partly usable message is still printed
	}{
		{"bad marker", []string{"00" + marker[2:] + "001304"}, 1, "outcome session-reset; NOTIFICATION 1/1 (Message Header Error / Connection Not Synchronized)", false},
		{"too short", []string{"ffff"}, 1, "NOTIFICATION 1/2 (Message Header Error / Bad Message Length)", false},
		{"length mismatch", []string{marker + "001404"}, 1, "NOTIFICATION 1/2", false},
		{"bad type", []string{marker + "001309"}, 1, "NOTIFICATION 1/3 (Message Header Error / Bad Message Type)", false},
		{"invalid origin", []string{marker + "0029" + "02" + "0000" + "000e" + "40010107" + "400200" + "400304c0000201" + "18c00002"}, 1, "outcome treat-as-withdraw; NOTIFICATION 3/6 (UPDATE Message Error / Invalid ORIGIN Attribute)", true},
		{"attribute overrun", []string{marker + "001b" + "02" + "0000" + "0004" + "400109" + "00"}, 1, "outcome treat-as-withdraw; NOTIFICATION 3/5 (UPDATE Message Error / Attribute Length Error)", true},
		{"not hex", []string{"xyz"}, 2, "input is not hex", false},
		{"empty", []string{"-"}, 2, "no input", false},
		{"bad family", []string{"--addpath", "ipv5", marker + "001304"}, 2, "unknown address family", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runDecode(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tt.stderr) {
				t.Errorf("stderr %q, want one line containing %q", errs, tt.stderr)
			}
			if tt.jsonOut != (out != "") {
				t.Errorf("stdout %q", out)
			}
			if out != "" && !json.Valid([]byte(out)) {
				t.Errorf("stdout is not JSON: %s", out)
			}
		})
	}
}

func want(t *testing.T, got, w any) {
	t.Helper()
	if got != w {
		t.Errorf("got %v (%T), want %v (%T)", got, got, w, w)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
