package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// RequireRoot skips the test unless it runs as root with iproute2 present,
// which creating namespaces needs.
func RequireRoot(tb TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("skipped: needs root to create network namespaces (running as uid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skipf("skipped: needs the ip command (apt-get install iproute2)")
	}
}

// RequireBinaries skips the test, naming every missing program, unless all
// are found. A name with a slash is a path (such as /usr/lib/frr/bgpd, which
// is not on PATH); others are looked up on PATH.
func RequireBinaries(tb TB, names ...string) {
	tb.Helper()
	if missing := MissingBinaries(names...); len(missing) > 0 {
		tb.Skipf("skipped: missing %s", strings.Join(missing, ", "))
	}
}

// Require is RequireRoot followed by RequireBinaries.
func Require(tb TB, binaries ...string) {
	tb.Helper()
	RequireRoot(tb)
	RequireBinaries(tb, binaries...)
}

// MissingBinaries returns the programs among names that cannot be run.
func MissingBinaries(names ...string) []string {
	var missing []string
	for _, name := range names {
		if strings.Contains(name, "/") {
			if fi, err := os.Stat(name); err != nil || fi.Mode()&0o111 == 0 {
				missing = append(missing, name)
			}
			continue
		}
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// probe is the cached answer to "does the kernel have this feature".
type probe struct {
	once sync.Once
	ok   bool
	why  string
}

var (
	vrfProbe, mplsProbe, dummyProbe, greProbe probe
)

func (p *probe) run(feature string, try func(n *NS) error) (bool, string) {
	p.once.Do(func() {
		if os.Geteuid() != 0 {
			p.why = fmt.Sprintf("cannot probe for %s: not root", feature)
			return
		}
		n, err := create(testNSName("probe", feature, os.Getpid()), nil)
		if err != nil {
			p.why = fmt.Sprintf("cannot probe for %s: %v", feature, err)
			return
		}
		defer n.Close()
		if err := try(n); err != nil {
			p.why = fmt.Sprintf("kernel lacks %s: %v", feature, err)
			return
		}
		p.ok = true
	})
	return p.ok, p.why
}

// HasVRF reports whether the kernel can create VRF (l3mdev) devices, trying
// it in a scratch namespace; when it cannot, why says what failed.
func HasVRF() (ok bool, why string) {
	return vrfProbe.run("VRF devices", func(n *NS) error {
		_, err := n.IP("link", "add", "probe", "type", "vrf", "table", "100")
		return err
	})
}

// HasDummy reports whether the kernel can create dummy links.
func HasDummy() (ok bool, why string) {
	return dummyProbe.run("dummy links", func(n *NS) error {
		_, err := n.IP("link", "add", "probe", "type", "dummy")
		return err
	})
}

// HasGRE reports whether the kernel can create GRE tunnels.
func HasGRE() (ok bool, why string) {
	return greProbe.run("GRE tunnels", func(n *NS) error {
		_, err := n.IP("link", "add", "probe", "type", "gre", "local", "192.0.2.1", "remote", "192.0.2.2")
		return err
	})
}

// HasMPLS reports whether the kernel forwards MPLS: the per-namespace
// net.mpls sysctls exist and an MPLS route can be added.
func HasMPLS() (ok bool, why string) {
	return mplsProbe.run("MPLS forwarding", func(n *NS) error {
		err := n.Do(func() error {
			_, err := os.Stat(filepath.Join("/proc/sys/net/mpls/platform_labels"))
			return err
		})
		if err != nil {
			return fmt.Errorf("no net.mpls sysctls (module mpls_router not loaded or not built): %w", err)
		}
		if err := n.Sysctl("net/mpls/platform_labels", "1000"); err != nil {
			return err
		}
		_, err = n.IP("-f", "mpls", "route", "add", "100", "dev", "lo")
		return err
	})
}

func requireFeature(tb TB, ok bool, why string) {
	tb.Helper()
	if !ok {
		tb.Skipf("skipped: %s", why)
	}
}

// RequireVRF skips the test when HasVRF is false, giving the reason.
func RequireVRF(tb TB) {
	tb.Helper()
	RequireRoot(tb)
	ok, why := HasVRF()
	requireFeature(tb, ok, why)
}

// RequireMPLS skips the test when HasMPLS is false, giving the reason.
func RequireMPLS(tb TB) {
	tb.Helper()
	RequireRoot(tb)
	ok, why := HasMPLS()
	requireFeature(tb, ok, why)
}

// RequireDummy skips the test when HasDummy is false, giving the reason.
func RequireDummy(tb TB) {
	tb.Helper()
	RequireRoot(tb)
	ok, why := HasDummy()
	requireFeature(tb, ok, why)
}

// RequireGRE skips the test when HasGRE is false, giving the reason.
func RequireGRE(tb TB) {
	tb.Helper()
	RequireRoot(tb)
	ok, why := HasGRE()
	requireFeature(tb, ok, why)
}
