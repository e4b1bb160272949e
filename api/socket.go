package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// probeTimeout bounds the connection attempt that tells a live socket from
// a stale one.
const probeTimeout = time.Second

// listenUnix binds the API socket at path: it creates the parent directory
// (0755), removes a socket left by a crashed predecessor, refuses to start
// when a live server answers on it, and sets the socket's mode (0600, or
// 0660 with group ownership when group is set).
func listenUnix(path, group string, log *slog.Logger) (*net.UnixListener, error) {
	gid := -1
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return nil, err
		}
		gid = g
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("API socket directory: %w", err)
	}
	if err := clearStaleSocket(path, log); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("API socket: %w", err)
	}
	// The socket is created with the process umask; narrow it at once. With
	// the usual umask (022) nobody else can connect in the meantime, since
	// connecting needs write permission.
	mode := os.FileMode(0o600)
	if gid >= 0 {
		mode = 0o660
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("API socket: %w", err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("API socket: %w", err)
	}
	return ln, nil
}

// clearStaleSocket removes the socket at path when nothing listens on it.
// It refuses to remove anything that is not a socket, and fails when a
// server answers.
func clearStaleSocket(path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("API socket: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("API socket path %s exists and is not a socket; remove it or choose another --api path", path)
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		who := ""
		if pid, _, ok := peerCred(c.(*net.UnixConn)); ok && pid > 0 {
			who = fmt.Sprintf(" (pid %d)", pid)
		}
		c.Close()
		return fmt.Errorf("another godwitd is running on %s%s; stop it first, or choose another --api path", path, who)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("API socket %s exists and cannot be checked: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale API socket: %w", err)
	}
	log.Info("removed stale API socket", "path", path)
	return nil
}

// lookupGroup resolves a group name or numeric id.
func lookupGroup(group string) (int, error) {
	if id, err := strconv.Atoi(group); err == nil && id >= 0 {
		return id, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return -1, fmt.Errorf("API socket group: %w", err)
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1, fmt.Errorf("API socket group %s: gid %q is not a number", group, g.Gid)
	}
	return id, nil
}
