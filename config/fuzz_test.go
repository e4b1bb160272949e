package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse feeds bytes to the parser. Nothing may panic; every error must
// be an *Error with a reason; whatever parses must print, parse back to the
// same resources, and print the same again.
//
// The seed corpus is testdata/fuzz/FuzzParse/: the testdata files (written
// by go test -update, see TestFuzzSeeds) and any minimised crashers, plus
// the inputs of TestParseErrors added here.
func FuzzParse(f *testing.F) {
	for _, in := range inputs(f) {
		f.Add(mustRead(f, in))
	}
	f.Add([]byte(goodConf + "---\n" + hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 0}\n"))
	f.Add([]byte(hdrPolicy + "spec: &s {statements: [*s]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return // big inputs only slow the fuzzer down
		}
		rs, err := Parse("fuzz.yaml", data)
		if err != nil {
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatalf("error without *Error values: %v", err)
			}
			for _, e := range errs {
				if e.Reason == "" {
					t.Fatalf("error without a reason: %#v", e)
				}
			}
			return
		}
		out, err := Marshal(rs, PrintOptions{ShowSecrets: true})
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse("printed.yaml", out)
		if err != nil {
			t.Fatalf("the printed form does not parse: %v\ninput:\n%q\nprinted:\n%s", err, data, out)
		}
		if diff := cmp.Diff(rs, back, cmpOpts...); diff != "" {
			t.Fatalf("round trip changed the resources (-parsed +reparsed):\n%s\ninput:\n%q\nprinted:\n%s", diff, data, out)
		}
		again, err := Marshal(back, PrintOptions{ShowSecrets: true})
		if err != nil || string(again) != string(out) {
			t.Fatalf("printing is not idempotent (%v):\n%s\nthen:\n%s", err, out, again)
		}
		for _, r := range rs {
			c := r.Clone()
			if diff := cmp.Diff(r, c, cmpOpts...); diff != "" {
				t.Fatalf("Clone differs (-orig +clone):\n%s", diff)
			}
			if !SpecEqual(r.Spec, c.Spec) {
				t.Fatalf("SpecEqual(r, clone) is false for %s", r)
			}
		}
	})
}

// TestFuzzSeeds keeps testdata/fuzz/FuzzParse/ seeded with the testdata
// files (go test -update writes them).
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	for _, in := range inputs(t) {
		seed := filepath.Join(dir, "seed-"+strings.TrimSuffix(filepath.Base(in), ".yaml"))
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(mustRead(t, in))))
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seed, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(seed)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date (run go test -update)", seed)
		}
	}
}
