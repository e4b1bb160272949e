package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// FindGodwitd returns the godwitd to run: the one next to self (the path
// of the running godwit, from os.Executable), else the one on PATH.
func FindGodwitd(self string) (string, error) {
	if self != "" {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		p := filepath.Join(filepath.Dir(self), "godwitd")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("godwitd"); err == nil {
		return filepath.Abs(p)
	}
	where := "on PATH"
	if self != "" {
		where = fmt.Sprintf("next to %s nor on PATH", self)
	}
	return "", fmt.Errorf("godwitd not found %s (build it with make build)", where)
}

// packages maps the programs the lab runs to the Debian packages that
// carry them.
var packages = []struct {
	pkg      string
	binaries []string
}{
	{"frr", routers.Binaries(routers.KindFRR)},
	{"iputils-ping", []string{"ping"}},
}

// missingPackages returns the packages whose programs are missing, and
// those programs.
func missingPackages() (pkgs, programs []string) {
	for _, p := range packages {
		if m := netns.MissingBinaries(p.binaries...); len(m) > 0 {
			pkgs = append(pkgs, p.pkg)
			programs = append(programs, m...)
		}
	}
	return pkgs, programs
}

// ensurePackages installs FRR and ping with apt-get when they are missing
// (and only then), saying so on progress.
func ensurePackages(ctx context.Context, install bool, progress func(string, ...any)) error {
	pkgs, programs := missingPackages()
	if len(pkgs) == 0 {
		return nil
	}
	if !install {
		return fmt.Errorf("missing %s: install %s (apt-get install %s)", strings.Join(programs, ", "), strings.Join(pkgs, " and "), strings.Join(pkgs, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing %s, and there is no apt-get to install %s with", strings.Join(programs, ", "), strings.Join(pkgs, " "))
	}
	progress("installing %s with apt-get (missing %s)", strings.Join(pkgs, " and "), strings.Join(programs, ", "))
	ctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()
	apt := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, lines[len(lines)-1])
		}
		return nil
	}
	install1 := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	if err := apt(install1...); err != nil {
		// A fresh machine has no package lists yet.
		progress("apt-get install failed; updating the package lists and trying again")
		if err := apt("update"); err != nil {
			return err
		}
		if err := apt(install1...); err != nil {
			return err
		}
	}
	if _, still := missingPackages(); len(still) > 0 {
		return errors.New("still missing after apt-get install: " + strings.Join(still, ", "))
	}
	progress("installed %s", strings.Join(pkgs, " and "))
	return nil
}
