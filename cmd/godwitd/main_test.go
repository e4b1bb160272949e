package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/apitest"
)

// keepRuntime leaves GOGC and GOMEMLIMIT to the test process.
func keepRuntime(string) string { return "set" }

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no config", nil, exitUsage, "", "--config FILE is required"},
		{"unknown flag", []string{"--config", "x", "--frobnicate"}, exitUsage, "", "flag provided but not defined: -frobnicate"},
		{"argument", []string{"--config", "x", "extra"}, exitUsage, "", `unexpected argument "extra"`},
		{"bad log format", []string{"--config", "x", "--log-format", "xml"}, exitUsage, "", "--log-format must be text or json"},
		{"bad log level", []string{"--config", "x", "--log-level", "loud"}, exitUsage, "", "--log-level must be debug, info, warn or error"},
		{"version", []string{"--version"}, exitOK, "godwitd ", ""},
		{"help", []string{"--help"}, exitOK, "", "Usage: godwitd --config FILE"},
		{"missing file", []string{"--config", "/nonexistent/godwit.yaml"}, exitError, "", "godwitd: configuration: open /nonexistent/godwit.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr, keepRuntime)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestConfigErrorAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(`apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65010, routerID: 10.0.1.10}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: router}
spec: {peerAddress: 10.0.1.2, peerASN: 0}
`), 0o600)
	var stdout, stderr bytes.Buffer
	code := run([]string{"--config", path, "--api", apitest.SocketPath(t)}, &stdout, &stderr, keepRuntime)
	want := path + `: document 2 (BGPPeer "router"), line 9: spec.peerASN: must be 1..4294967295, got 0`
	if code != exitError || !strings.Contains(stderr.String(), "godwitd: "+want) {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and %q", code, stderr.String(), want)
	}
}

// testConfig returns a minimal file listening on a loopback address of its
// own with one peer that never answers.
func testConfig(t *testing.T, description string) (path, listen string) {
	t.Helper()
	host := fmt.Sprintf("127.%d.%d.1", 230+os.Getpid()%20, os.Getpid()%250+1)
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	listen = ln.Addr().String()
	ln.Close()
	path = filepath.Join(t.TempDir(), "godwit.yaml")
	writeConfig(t, path, listen, description)
	return path, listen
}

func writeConfig(t *testing.T, path, listen, description string) {
	t.Helper()
	err := os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65010, routerID: 10.0.1.10, listenAddresses: ["%s"]}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: BGPPeer
metadata: {name: router}
spec: {peerAddress: 192.0.2.2, peerASN: 65100, passive: true, description: %q}
---
apiVersion: bgp.godwit.dev/v1alpha1
kind: Announcement
metadata: {name: pod-cidr}
spec: {prefixes: [172.31.254.0/26]}
`, listen, description)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
}

// The whole program: API socket, SIGHUP reload, a second godwitd refused
// on the same socket, SIGTERM, exit 0, socket removed.
func TestRunSignals(t *testing.T) {
	path, listen := testConfig(t, "before")
	sock := apitest.SocketPath(t)
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--config", path, "--api", "unix://" + sock, "--log-level", "debug"}, &bytes.Buffer{}, stderr, keepRuntime)
	}()

	c, err := api.NewClient(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	describe := func() string {
		ns, err := c.Neighbors(t.Context())
		if err != nil || len(ns) != 1 {
			return fmt.Sprint(err)
		}
		return ns[0].Description
	}
	waitFor(t, func() bool { return describe() == "before" }, func() string { return describe() + "\n" + stderr.String() })

	// A second godwitd on the same socket is refused, and the first one
	// keeps it.
	var out2 bytes.Buffer
	if code := run([]string{"--config", path, "--api", sock}, &bytes.Buffer{}, &out2, keepRuntime); code != exitError ||
		!strings.Contains(out2.String(), "another godwitd is running on "+sock) {
		t.Errorf("second godwitd: exit %d, stderr %s", code, out2.String())
	}
	if describe() != "before" {
		t.Errorf("the first godwitd lost its socket")
	}

	writeConfig(t, path, listen, "after")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, func() bool { return describe() == "after" }, func() string { return describe() + "\n" + stderr.String() })

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("godwitd did not stop on SIGTERM:\n%s", stderr.String())
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("API socket left behind: %v", err)
	}
	for _, want := range []string{"SIGHUP: reloading the configuration", "stopping", "godwitd stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// A stale socket left by a crashed godwitd is removed at start.
func TestStaleSocket(t *testing.T) {
	path, _ := testConfig(t, "x")
	sock := apitest.SocketPath(t)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: stale
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run([]string{"--config", path, "--api", sock}, &bytes.Buffer{}, stderr, keepRuntime) }()
	c, err := api.NewClient(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, func() bool { _, err := c.Status(t.Context()); return err == nil }, stderr.String)
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if code := <-done; code != exitOK {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "removed stale API socket") {
		t.Errorf("log:\n%s", stderr.String())
	}
}

func waitFor(t *testing.T, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
