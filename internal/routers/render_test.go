package routers

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/render/*.conf from the renderers")

// renderCase is a configuration using every field, with the policies each
// daemon can express.
func renderCase(k Kind) Config {
	c := Config{
		Name:     "r1",
		RouterID: "10.0.0.1",
		LocalAS:  65001,
		Neighbors: []Neighbor{
			{Address: "10.0.0.2", RemoteAS: 65002, LocalAddress: "10.0.0.1", Password: "s3cret", HoldTime: 9, Passive: true, Multihop: 2},
			{Address: "2001:db8::2", RemoteAS: 65003, TTLSecurity: 1, AddPath: AddPathBoth,
				Families: []Family{IPv6Unicast, IPv4Unicast}},
		},
		Routes: []Route{
			{Prefix: "192.0.2.0/24"},
			{Prefix: "198.51.100.7/24", MED: U32(10), Communities: []string{"65001:1", "65001:2"}},
			{Prefix: "2001:db8:1::/48"},
		},
	}
	switch k {
	case KindFRR:
		c.Neighbors[0].ImportPolicy, c.Neighbors[0].ExportPolicy = "IMPORT", "EXPORT"
		c.Extra = "route-map IMPORT permit 10\nexit\nroute-map EXPORT permit 10\nexit"
	case KindBIRD:
		c.Neighbors[0].ImportPolicy, c.Neighbors[0].ExportPolicy = "import_all", "export_all"
		c.Extra = "filter import_all { accept; }\nfilter export_all { accept; }"
	case KindGoBGP:
		c.Neighbors[0].ImportPolicy = "import-all"
		c.Extra = "[[policy-definitions]]\n  name = \"import-all\"\n  [[policy-definitions.statements]]\n    name = \"all\"\n    [policy-definitions.statements.actions]\n      route-disposition = \"accept-route\""
	case KindOpenBGPD:
		c.Extra = "deny from any prefix 0.0.0.0/0 prefixlen > 24"
	case KindExaBGP:
		c.Routes[1].NextHop = "10.0.0.1"
		c.Neighbors[1].LocalAddress = "2001:db8::1"
	}
	return c
}

func render(k Kind, c *Config, dir string) (string, error) {
	switch k {
	case KindFRR:
		return renderFRR(c)
	case KindBIRD:
		return renderBIRD(c)
	case KindGoBGP:
		return renderGoBGP(c)
	case KindOpenBGPD:
		return renderOpenBGPD(c, filepath.Join(dir, "bgpd.sock"))
	case KindExaBGP:
		conf, _, err := renderExaBGP(c, filepath.Join(dir, "api.sh"))
		return conf, err
	}
	return "", nil
}

// checkCommand returns the daemon's own configuration check for a file.
func checkCommand(k Kind, file, dir string) []string {
	switch k {
	case KindFRR:
		return []string{filepath.Join(FRRDir, "bgpd"), "-C", "-f", file, "-i", filepath.Join(dir, "bgpd.pid"), "-z", filepath.Join(dir, "zserv.api"), "--vty_socket", dir, "-S"}
	case KindBIRD:
		return []string{"bird", "-p", "-c", file}
	case KindGoBGP:
		return []string{"gobgpd", "-d", "-f", file}
	case KindOpenBGPD:
		return []string{OpenBGPDPath, "-n", "-f", file}
	case KindExaBGP:
		return []string{"exabgp", "--validate", file}
	}
	return nil
}

// TestRender compares each renderer's output with its golden file and,
// when the daemon is installed, has the daemon check the file.
func TestRender(t *testing.T) {
	for _, k := range []Kind{KindFRR, KindBIRD, KindGoBGP, KindOpenBGPD, KindExaBGP} {
		t.Run(string(k), func(t *testing.T) {
			c := renderCase(k)
			dir := "/godwit-test"
			got, err := render(k, &c, dir)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "render", string(k)+".conf")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered configuration differs from %s (run with -update after checking):\n%s", golden, got)
			}

			if os.Geteuid() != 0 || len(Missing(k)) > 0 {
				t.Skipf("not checking with the daemon: needs root and %v", Binaries(k))
			}
			tmp := t.TempDir()
			if err := os.Chmod(tmp, 0o755); err != nil {
				t.Fatal(err)
			}
			got, err = render(k, &c, tmp)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(tmp, string(k)+".conf")
			if err := os.WriteFile(file, []byte(got), 0o600); err != nil {
				t.Fatal(err)
			}
			if k == KindExaBGP {
				if err := os.WriteFile(filepath.Join(tmp, "api.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			args := checkCommand(k, file, tmp)
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = append(os.Environ(), exabgpEnv...)
			out, err := cmd.CombinedOutput()
			if k == KindFRR && cmd.Process != nil {
				// FRR's dry run, run as root with -S, leaves its crash-log
				// directory behind.
				os.RemoveAll(fmt.Sprintf("/var/tmp/frr/bgpd.%d", cmd.Process.Pid))
			}
			t.Logf("%s:\n%s", strings.Join(args, " "), out)
			// FRR's dry run exits 0 even when it skips lines.
			if err != nil || k == KindFRR && strings.Contains(string(out), "config line") {
				t.Errorf("%s rejects the configuration: %v\n%s\n--- configuration ---\n%s", strings.Join(args, " "), err, out, got)
			}
		})
	}
}
