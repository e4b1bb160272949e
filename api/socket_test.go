package api_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/api/apitest"
)

func TestSocketMode(t *testing.T) {
	checkLeaks(t)
	// The parent directory does not exist yet: the server makes it.
	path := filepath.Join(filepath.Dir(apitest.SocketPath(t)), "run", "godwitd.sock")
	srv, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: "unix://" + path, Logger: apitest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o755 {
		t.Errorf("socket directory: %v, %v; want mode 0755", di.Mode(), err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after Close: %v", err)
	}
}

func TestSocketGroup(t *testing.T) {
	checkLeaks(t)
	gid := os.Getgid()
	path := apitest.SocketPath(t)
	srv, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: path, SocketGroup: strconv.Itoa(gid), Logger: apitest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || int(fi.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Errorf("socket mode %v gid %d, want 0660 and gid %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, gid)
	}
	if _, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: apitest.SocketPath(t), SocketGroup: "no-such-group-godwit"}); err == nil {
		t.Error("an unknown group was accepted")
	}
}

func TestStaleSocketRemoved(t *testing.T) {
	checkLeaks(t)
	path := apitest.SocketPath(t)
	// A crashed daemon leaves its socket file with nobody listening.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer srv.Close()
	if !strings.Contains(logs.String(), "removed stale API socket") {
		t.Errorf("no log line about the stale socket:\n%s", logs.String())
	}
	c, err := api.NewClient(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("new server does not answer: %v", err)
	}
}

func TestLiveSocketRefused(t *testing.T) {
	checkLeaks(t)
	srv := apitest.Serve(t, apitest.Sample())
	path := srv.Addr().Address
	_, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: path, Logger: apitest.Logger(t)})
	want := fmt.Sprintf("another godwitd is running on %s (pid %d)", path, os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second server on a live socket: %v; want %q", err, want)
	}
	// The first server is untouched.
	c, err := api.NewClient(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("first server broken by the refused second: %v", err)
	}
}

func TestNotASocketRefused(t *testing.T) {
	path := apitest.SocketPath(t)
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: path})
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("NewServer over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("the regular file was replaced")
	}
}

func TestClientUnreachable(t *testing.T) {
	checkLeaks(t)
	path := apitest.SocketPath(t)
	c, err := api.NewClient("unix://" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Status(context.Background())
	want := "cannot reach godwitd at " + path + ": no such file (is godwitd running? start it with `godwitd --config FILE`, or pass --api)"
	var ue *api.UnreachableError
	if !errors.As(err, &ue) || err.Error() != want {
		t.Errorf("no daemon:\n got %v\nwant %s", err, want)
	}

	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = c.Neighbors(context.Background())
	if err == nil || !strings.Contains(err.Error(), ": connection refused (is godwitd running?") {
		t.Errorf("stale socket: %v", err)
	}
}

func TestTCPNeedsTLSAndToken(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	cert, key := apitest.WriteCert(t, dir)
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tcp  api.TCPConfig
		want string
	}{
		{"plain", api.TCPConfig{Addr: "127.0.0.1:0"}, "needs TLS and a bearer token: set certFile, keyFile, tokenFile"},
		{"no token", api.TCPConfig{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key}, "set tokenFile"},
		{"no TLS", api.TCPConfig{Addr: "127.0.0.1:0", TokenFile: token}, "set certFile, keyFile"},
		{"bad cert", api.TCPConfig{Addr: "127.0.0.1:0", CertFile: token, KeyFile: key, TokenFile: token}, "API TLS certificate"},
		{"short token", api.TCPConfig{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key, TokenFile: writeFile(t, dir, "short", "abc")}, "too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := apitest.SocketPath(t)
			_, err := api.NewServer(apitest.Sample(), api.ServerConfig{Addr: path, TCP: &tc.tcp})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewServer = %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("refused server left a socket: %v", err)
			}
		})
	}
}

func TestTCPWithTLSAndToken(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	cert, key := apitest.WriteCert(t, dir)
	const secret = "0123456789abcdef0123"
	token := writeFile(t, dir, "token", secret+"\n")
	srv, err := api.NewServer(apitest.Sample(), api.ServerConfig{
		Addr: apitest.SocketPath(t), Logger: apitest.Logger(t),
		TCP: &api.TCPConfig{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key, TokenFile: token},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	caPEM, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	addr := "https://" + srv.TCPAddr().String()

	for _, tc := range []struct {
		name, token string
		ok          bool
	}{{"right token", secret, true}, {"wrong token", "0123456789abcdef0124", false}, {"no token", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := api.NewClient(addr, api.WithToken(tc.token), api.WithTLSConfig(&tls.Config{RootCAs: roots}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Neighbor(context.Background(), netip.MustParseAddr("10.0.1.2"))
			var e *api.Error
			switch {
			case tc.ok && err != nil:
				t.Errorf("with the token: %v", err)
			case !tc.ok && (!errors.As(err, &e) || e.Status != 401):
				t.Errorf("without the token: %v, want a 401", err)
			}
		})
	}
	// The Unix socket needs no token.
	c, err := api.NewClient(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("unix socket: %v", err)
	}
}

func TestRequestsLogged(t *testing.T) {
	checkLeaks(t)
	var logs syncBuffer
	srv, err := api.NewServer(apitest.Sample(), api.ServerConfig{
		Addr:   apitest.SocketPath(t),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	rawDo(t, srv.Addr().Address, "GET", "/v1/routes?best=true", "")
	srv.Close()
	out := logs.String()
	for _, want := range []string{"level=DEBUG msg=\"api request\" method=GET path=/v1/routes status=200", `query="best=true" items=5`, fmt.Sprintf("pid=%d", os.Getpid())} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
