package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestUsageErrors checks that a wrong command line exits 2 with a reason,
// before anything needs root.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"scenario", []string{"--scenarios", "S9"}, `unknown scenario "S9"`},
		{"target", []string{"--targets", "bird,quagga"}, `unknown target "quagga"`},
		{"argument", []string{"S1"}, `unexpected argument "S1"`},
		{"flag", []string{"--runs", "x"}, "invalid value"},
		{"idle", []string{"--idle", "-1s"}, "--idle -1s: must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", errb.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 {
		t.Errorf("--help exits %d", code)
	}
	if !strings.Contains(errb.String(), "-scenarios") {
		t.Errorf("usage: %s", errb.String())
	}
}
