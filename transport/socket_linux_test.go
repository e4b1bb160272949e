package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Connect timeouts: a connect that the kernel lets through takes well under
// a millisecond on loopback; one whose SYN or SYN-ACK the kernel drops
// (MD5, TTL) never completes, and waiting this long shows it.
const (
	okTimeout    = 5 * time.Second
	blockTimeout = 500 * time.Millisecond
)

var (
	lo4 = netip.MustParseAddr("127.0.0.1")
	lo6 = netip.MustParseAddr("::1")
)

// noLeak fails the test when, after its cleanups, more goroutines run than
// before it. Call it first so that its cleanup runs last.
func noLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// accepted is one call of the Handler.
type accepted struct {
	conn          net.Conn
	local, remote netip.AddrPort
}

// listen starts a Listener whose Handler sends to the returned channel;
// the test's cleanup closes the Listener and every accepted connection.
func listen(t *testing.T, cfg ListenConfig) (*Listener, chan accepted) {
	t.Helper()
	ch := make(chan accepted, 16)
	cfg.Handler = func(c net.Conn, local, remote netip.AddrPort) {
		ch <- accepted{c, local, remote}
	}
	l, err := Listen(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		close(ch)
		for a := range ch {
			a.conn.Close()
		}
	})
	return l, ch
}

// addrOf returns the listener's bound address of addr's family.
func addrOf(t *testing.T, l *Listener, addr netip.Addr) netip.AddrPort {
	t.Helper()
	for _, ap := range l.Addrs() {
		if ap.Addr().Is4() == addr.Is4() || (ap.Addr().IsUnspecified() && ap.Addr().Is6()) {
			return netip.AddrPortFrom(addr, ap.Port())
		}
	}
	t.Fatalf("no listening socket for %s in %v", addr, l.Addrs())
	return netip.AddrPort{}
}

// dial dials with cfg and the given timeout.
func dial(cfg DialConfig, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Dial(ctx, cfg)
}

// mustConnect dials, waits for the accept and checks that bytes flow both
// ways; it returns both ends (closed at cleanup).
func mustConnect(t *testing.T, ch chan accepted, cfg DialConfig) (net.Conn, accepted) {
	t.Helper()
	c, err := dial(cfg, okTimeout)
	if err != nil {
		t.Fatalf("Dial %s: %v", cfg.Remote, err)
	}
	t.Cleanup(func() { c.Close() })
	var a accepted
	select {
	case a = <-ch:
	case <-time.After(okTimeout):
		t.Fatal("dial completed but nothing was accepted")
	}
	if got, want := a.remote, unmapAddrPort(c.LocalAddr()); got != want {
		t.Errorf("Handler remote = %s, want the dialer's %s", got, want)
	}
	if got, want := a.local, unmapAddrPort(c.RemoteAddr()); got != want {
		t.Errorf("Handler local = %s, want %s", got, want)
	}
	exchange(t, c, a.conn)
	return c, a
}

// exchange sends a KEEPALIVE each way.
func exchange(t *testing.T, a, b net.Conn) {
	t.Helper()
	ka := message(0x04, HeaderLen)
	for _, p := range [][2]net.Conn{{a, b}, {b, a}} {
		if _, err := p[0].Write(ka); err != nil {
			t.Fatalf("write: %v", err)
		}
		p[1].SetReadDeadline(time.Now().Add(okTimeout))
		r := NewReader(p[1])
		if _, _, err := r.ReadMessage(); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}

// mustNotConnect checks that a dial times out and nothing is accepted.
func mustNotConnect(t *testing.T, ch chan accepted, cfg DialConfig) {
	t.Helper()
	c, err := dial(cfg, blockTimeout)
	if err == nil {
		c.Close()
		t.Fatalf("Dial %s connected, want a time-out", cfg.Remote)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Dial %s: %v, want a time-out", cfg.Remote, err)
	}
	select {
	case a := <-ch:
		a.conn.Close()
		t.Fatalf("a connection from %s was accepted", a.remote)
	default:
	}
}

// sockopt reads an integer socket option of c.
func sockopt(t *testing.T, c syscall.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := control(rc, func(fd int) (err error) {
		v, err = unix.GetsockoptInt(fd, level, opt)
		return err
	}); err != nil {
		t.Fatalf("getsockopt(%d, %d): %v", level, opt, err)
	}
	return v
}

func TestListenDialLoopback(t *testing.T) {
	noLeak(t)
	for _, tt := range []struct {
		name   string
		listen string
		addr   netip.Addr
	}{
		{"IPv4", "127.0.0.1:0", lo4},
		{"IPv6", "[::1]:0", lo6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}})
			mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, tt.addr)})
		})
	}
}

func TestListenEveryAddress(t *testing.T) {
	noLeak(t)
	t.Run("two sockets", func(t *testing.T) {
		l, ch := listen(t, ListenConfig{Addresses: []string{":0"}})
		addrs := l.Addrs()
		if len(addrs) != 2 || !addrs[0].Addr().Is4() || !addrs[1].Addr().Is6() || addrs[0].Port() != addrs[1].Port() {
			t.Fatalf("Addrs = %v, want 0.0.0.0 and [::] on one port", addrs)
		}
		if v := sockopt(t, l.socks[1].ln, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); v != 1 {
			t.Errorf("IPV6_V6ONLY = %d on the [::] socket, want 1", v)
		}
		mustConnect(t, ch, DialConfig{Remote: netip.AddrPortFrom(lo4, addrs[0].Port())})
		mustConnect(t, ch, DialConfig{Remote: netip.AddrPortFrom(lo6, addrs[0].Port())})
	})
	t.Run("dual-stack", func(t *testing.T) {
		l, ch := listen(t, ListenConfig{Addresses: []string{":0"}, DualStack: true})
		addrs := l.Addrs()
		if len(addrs) != 1 || addrs[0].Addr() != netip.IPv6Unspecified() {
			t.Fatalf("Addrs = %v, want [::] alone", addrs)
		}
		if v := sockopt(t, l.socks[0].ln, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); v != 0 {
			t.Errorf("IPV6_V6ONLY = %d on the dual-stack socket, want 0", v)
		}
		// mustConnect checks that the IPv4 peer is handed up unmapped.
		mustConnect(t, ch, DialConfig{Remote: netip.AddrPortFrom(lo4, addrs[0].Port())})
		mustConnect(t, ch, DialConfig{Remote: netip.AddrPortFrom(lo6, addrs[0].Port())})
	})
	t.Run("list", func(t *testing.T) {
		l, ch := listen(t, ListenConfig{Addresses: []string{"127.0.0.1:0", "[::1]:0", "127.0.0.2:0"}})
		addrs := l.Addrs()
		if len(addrs) != 3 {
			t.Fatalf("Addrs = %v, want 3", addrs)
		}
		for _, ap := range addrs {
			mustConnect(t, ch, DialConfig{Remote: ap})
		}
	})
}

func TestListenSocketOptions(t *testing.T) {
	noLeak(t)
	l, _ := listen(t, ListenConfig{Addresses: []string{"127.0.0.1:0", "[::1]:0"}})
	for _, s := range l.socks {
		if v := sockopt(t, s.ln, unix.SOL_SOCKET, unix.SO_REUSEADDR); v == 0 {
			t.Errorf("%s: SO_REUSEADDR off", s.addr)
		}
		if v := sockopt(t, s.ln, unix.IPPROTO_IP, unix.IP_TTL); v != 255 {
			t.Errorf("%s: IP_TTL = %d, want 255", s.addr, v)
		}
	}
}

func TestListenErrors(t *testing.T) {
	noLeak(t)
	h := func(c net.Conn, _, _ netip.AddrPort) { c.Close() }
	for _, tt := range []struct {
		name string
		cfg  ListenConfig
	}{
		{"no handler", ListenConfig{Addresses: []string{"127.0.0.1:0"}}},
		{"host name", ListenConfig{Addresses: []string{"localhost:0"}, Handler: h}},
		{"TTL 256", ListenConfig{Addresses: []string{"127.0.0.1:0"}, TTL: 256, Handler: h}},
		{"long key", ListenConfig{Addresses: []string{"127.0.0.1:0"}, Handler: h,
			Peers: map[netip.Addr]PeerSecurity{lo4: {Password: string(make([]byte, 81))}}}},
		{"address not here", ListenConfig{Addresses: []string{"192.0.2.200:0"}, Handler: h}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := Listen(context.Background(), tt.cfg); err == nil {
				l.Close()
				t.Fatal("Listen succeeded, want an error")
			}
		})
	}
	t.Run("second socket fails", func(t *testing.T) {
		l, _ := listen(t, ListenConfig{Addresses: []string{"127.0.0.1:0"}})
		taken := l.Addrs()[0].String()
		_, err := Listen(context.Background(), ListenConfig{Addresses: []string{"[::1]:0", taken}, Handler: h})
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("Listen on a taken port: %v, want EADDRINUSE", err)
		}
	})
}

func TestParseListenAddress(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // netip.AddrPort text, "all:PORT", or "error"
	}{
		{"", "all:179"},
		{":1179", "all:1179"},
		{"192.0.2.1", "192.0.2.1:179"},
		{"192.0.2.1:1179", "192.0.2.1:1179"},
		{"2001:db8::1", "[2001:db8::1]:179"},
		{"[2001:db8::1]", "[2001:db8::1]:179"},
		{"[2001:db8::1]:1179", "[2001:db8::1]:1179"},
		{"[fe80::1%eth0]:179", "[fe80::1%eth0]:179"},
		{"[::ffff:192.0.2.1]:179", "192.0.2.1:179"},
		{"0.0.0.0", "0.0.0.0:179"},
		{"::", "[::]:179"},
		{"localhost:179", "error"},
		{":http", "error"},
		{"192.0.2.1:70000", "error"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			ap, all, err := ParseListenAddress(tt.in)
			got := ap.String()
			switch {
			case err != nil:
				got = "error"
			case all:
				got = "all:" + strconv.Itoa(int(ap.Port()))
			}
			if got != tt.want {
				t.Errorf("ParseListenAddress(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestCloseAndCancel(t *testing.T) {
	noLeak(t)
	t.Run("close waits", func(t *testing.T) {
		before := runtime.NumGoroutine()
		l, err := Listen(context.Background(), ListenConfig{
			Addresses: []string{":0", "127.0.0.1:0"},
			Handler:   func(c net.Conn, _, _ netip.AddrPort) { c.Close() },
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := runtime.NumGoroutine(); n < before+3 {
			t.Errorf("%d goroutines with 3 sockets, had %d before", n, before)
		}
		for range 3 {
			c, err := dial(DialConfig{Remote: addrOf(t, l, lo4)}, okTimeout)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		// Close waited: the accept goroutines are gone already (other
		// goroutines, such as the dialler's, may still be on their way out).
		buf := make([]byte, 1<<20)
		if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "acceptLoop") {
			t.Errorf("an accept goroutine runs after Close:\n%s", stacks)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
	t.Run("context cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		l, err := Listen(ctx, ListenConfig{
			Addresses: []string{"127.0.0.1:0"},
			Handler:   func(c net.Conn, _, _ netip.AddrPort) { c.Close() },
		})
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addrs()[0]
		cancel()
		deadline := time.Now().Add(okTimeout)
		for {
			c, err := net.DialTimeout("tcp", addr.String(), time.Second)
			if err != nil {
				break // the socket is closed: refused
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatal("still accepting after cancel")
			}
			time.Sleep(10 * time.Millisecond)
		}
		l.Close()
	})
}

func TestDSCP(t *testing.T) {
	noLeak(t)
	for _, tt := range []struct {
		name  string
		addr  netip.Addr
		level int
		opt   int
	}{
		{"IPv4 IP_TOS", lo4, unix.IPPROTO_IP, unix.IP_TOS},
		{"IPv6 IPV6_TCLASS", lo6, unix.IPPROTO_IPV6, unix.IPV6_TCLASS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, ch := listen(t, ListenConfig{Addresses: []string{netip.AddrPortFrom(tt.addr, 0).String()}})
			c, a := mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, tt.addr)})
			for name, sc := range map[string]syscall.Conn{
				"dialled":   c.(syscall.Conn),
				"accepted":  a.conn.(syscall.Conn),
				"listening": l.socks[0].ln,
			} {
				if v := sockopt(t, sc, tt.level, tt.opt); v != 0xc0 {
					t.Errorf("%s socket: %#x, want 0xc0 (CS6)", name, v)
				}
			}
		})
	}
	t.Run("dual-stack sets both", func(t *testing.T) {
		l, ch := listen(t, ListenConfig{Addresses: []string{"[::]:0"}, DualStack: true})
		_, a := mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, lo4)})
		for _, opt := range [][2]int{{unix.IPPROTO_IP, unix.IP_TOS}, {unix.IPPROTO_IPV6, unix.IPV6_TCLASS}} {
			if v := sockopt(t, a.conn.(syscall.Conn), opt[0], opt[1]); v != 0xc0 {
				t.Errorf("accepted IPv4-mapped socket, option %d/%d: %#x, want 0xc0", opt[0], opt[1], v)
			}
		}
	})
}

func TestDialOptions(t *testing.T) {
	noLeak(t)
	l, ch := listen(t, ListenConfig{Addresses: []string{"127.0.0.1:0", "[::1]:0"}})
	t.Run("TTL and MinTTL IPv4", func(t *testing.T) {
		c, _ := mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, lo4), TTL: 255, MinTTL: GTSMMinTTL(1)})
		if v := sockopt(t, c.(syscall.Conn), unix.IPPROTO_IP, unix.IP_TTL); v != 255 {
			t.Errorf("IP_TTL = %d, want 255", v)
		}
		if v := sockopt(t, c.(syscall.Conn), unix.IPPROTO_IP, unix.IP_MINTTL); v != 255 {
			t.Errorf("IP_MINTTL = %d, want 255", v)
		}
	})
	t.Run("multihop TTL IPv6", func(t *testing.T) {
		c, _ := mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, lo6), TTL: 3})
		if v := sockopt(t, c.(syscall.Conn), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS); v != 3 {
			t.Errorf("IPV6_UNICAST_HOPS = %d, want 3", v)
		}
		if err := SetTTL(c, 255, GTSMMinTTL(2)); err != nil {
			t.Fatal(err)
		}
		if v := sockopt(t, c.(syscall.Conn), unix.IPPROTO_IPV6, unix.IPV6_MINHOPCOUNT); v != 254 {
			t.Errorf("IPV6_MINHOPCOUNT after SetTTL = %d, want 254", v)
		}
	})
	t.Run("source address", func(t *testing.T) {
		src := netip.MustParseAddr("127.0.0.3")
		_, a := mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, lo4), Local: src})
		if a.remote.Addr() != src {
			t.Errorf("accepted from %s, want %s", a.remote, src)
		}
	})
	t.Run("source port", func(t *testing.T) {
		p, err := net.Listen("tcp4", "127.0.0.1:0") // find a free port
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(p.Addr().(*net.TCPAddr).Port)
		p.Close()
		_, a := mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, lo4), LocalPort: port})
		if a.remote.Port() != port {
			t.Errorf("accepted from %s, want port %d", a.remote, port)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, cfg := range []DialConfig{
			{},
			{Remote: addrOf(t, l, lo4), Local: lo6},
			{Remote: addrOf(t, l, lo4), TTL: -1},
			{Remote: addrOf(t, l, lo4), MinTTL: 300},
			{Remote: addrOf(t, l, lo4), Password: string(make([]byte, 81))},
		} {
			if c, err := dial(cfg, okTimeout); err == nil {
				c.Close()
				t.Errorf("Dial(%+v) succeeded, want an error", cfg)
			}
		}
	})
}

func TestMD5(t *testing.T) {
	noLeak(t)
	for _, tt := range []struct {
		name   string
		listen string
		dual   bool
		peer   netip.Addr
	}{
		{"IPv4", "127.0.0.1:0", false, lo4},
		{"IPv6", "[::1]:0", false, lo6},
		{"IPv4 peer on dual-stack socket", "[::]:0", true, lo4},
		{"IPv6 peer on dual-stack socket", "[::]:0", true, lo6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("keys from the config", func(t *testing.T) {
				l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}, DualStack: tt.dual,
					Peers: map[netip.Addr]PeerSecurity{tt.peer: {Password: "s3cret"}}})
				remote := addrOf(t, l, tt.peer)
				mustConnect(t, ch, DialConfig{Remote: remote, Password: "s3cret"})
				mustNotConnect(t, ch, DialConfig{Remote: remote})
				mustNotConnect(t, ch, DialConfig{Remote: remote, Password: "wrong"})
			})
			t.Run("keys set at run time", func(t *testing.T) {
				l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}, DualStack: tt.dual})
				remote := addrOf(t, l, tt.peer)
				// The listener has no key: a signed SYN is dropped too.
				mustNotConnect(t, ch, DialConfig{Remote: remote, Password: "s3cret"})
				if err := l.SetPeerKey(tt.peer, "s3cret"); err != nil {
					t.Fatal(err)
				}
				c, a := mustConnect(t, ch, DialConfig{Remote: remote, Password: "s3cret"})
				mustNotConnect(t, ch, DialConfig{Remote: remote})
				// A new key: new connections need it, the old one keeps working.
				if err := l.SetPeerKey(tt.peer, "n3w"); err != nil {
					t.Fatal(err)
				}
				mustNotConnect(t, ch, DialConfig{Remote: remote, Password: "s3cret"})
				mustConnect(t, ch, DialConfig{Remote: remote, Password: "n3w"})
				exchange(t, c, a.conn)
				// Removed: unsigned connections again; removing twice is fine.
				for range 2 {
					if err := l.SetPeerKey(tt.peer, ""); err != nil {
						t.Fatal(err)
					}
				}
				mustConnect(t, ch, DialConfig{Remote: remote})
			})
		})
	}
	t.Run("IPv4-mapped key address", func(t *testing.T) {
		l, ch := listen(t, ListenConfig{Addresses: []string{"127.0.0.1:0"}})
		if err := l.SetPeerKey(netip.MustParseAddr("::ffff:127.0.0.1"), "k"); err != nil {
			t.Fatal(err)
		}
		mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, lo4), Password: "k"})
	})
	t.Run("prefix key", func(t *testing.T) {
		l, ch := listen(t, ListenConfig{Addresses: []string{"[::]:0"}, DualStack: true})
		remote := addrOf(t, l, lo4)
		pfx := netip.MustParsePrefix("127.0.0.0/8")
		if err := l.SetPrefixKey(pfx, "range"); err != nil {
			t.Fatal(err)
		}
		mustNotConnect(t, ch, DialConfig{Remote: remote})
		mustConnect(t, ch, DialConfig{Remote: remote, Password: "range", Local: netip.MustParseAddr("127.0.0.9")})
		if err := l.SetPrefixKey(pfx, ""); err != nil {
			t.Fatal(err)
		}
		mustConnect(t, ch, DialConfig{Remote: remote})
	})
	t.Run("kernel wants the mapped form on AF_INET6", func(t *testing.T) {
		// Why setMD5 maps IPv4 peers on AF_INET6 sockets: an AF_INET
		// address there is refused.
		l, _ := listen(t, ListenConfig{Addresses: []string{"[::]:0"}, DualStack: true})
		err := control(l.socks[0].rc, func(fd int) error { return setMD5(fd, familyV4, hostPrefix(lo4), "k") })
		if err == nil {
			t.Fatal("AF_INET key address accepted on an AF_INET6 socket")
		}
	})
	t.Run("key too long", func(t *testing.T) {
		l, _ := listen(t, ListenConfig{Addresses: []string{"127.0.0.1:0"}})
		if err := l.SetPeerKey(lo4, string(make([]byte, 81))); err == nil {
			t.Fatal("81-octet key accepted")
		}
		if err := l.SetPeerKey(lo4, string(make([]byte, 80))); err != nil {
			t.Fatalf("80-octet key: %v", err)
		}
	})
}

// TestGTSM checks that the kernel enforces the minimum TTL on loopback: on
// the listening socket (SYNs dropped), on a dialled socket (SYN-ACK
// dropped) and on an accepted socket (data dropped after the handshake).
func TestGTSM(t *testing.T) {
	noLeak(t)
	for _, tt := range []struct {
		name   string
		listen string
		dual   bool
		peer   netip.Addr
	}{
		{"IPv4", "127.0.0.1:0", false, lo4},
		{"IPv6", "[::1]:0", false, lo6},
		{"IPv4 peer on dual-stack socket", "[::]:0", true, lo4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("listener MinTTL", func(t *testing.T) {
				l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}, DualStack: tt.dual, MinTTL: GTSMMinTTL(1)})
				remote := addrOf(t, l, tt.peer)
				mustNotConnect(t, ch, DialConfig{Remote: remote, TTL: 64})
				mustNotConnect(t, ch, DialConfig{Remote: remote, TTL: 254})
				mustConnect(t, ch, DialConfig{Remote: remote, TTL: 255})
			})
			t.Run("dialer MinTTL", func(t *testing.T) {
				l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}, DualStack: tt.dual, TTL: 64})
				remote := addrOf(t, l, tt.peer)
				mustNotConnect(t, ch, DialConfig{Remote: remote, TTL: 255, MinTTL: GTSMMinTTL(1)})
				// GTSM allowing 191 hops lets TTL 64 through.
				mustConnect(t, ch, DialConfig{Remote: remote, TTL: 255, MinTTL: GTSMMinTTL(192)})
			})
			t.Run("dialer MinTTL against default listener", func(t *testing.T) {
				// The listener sends 255 by default, so GTSM peers get our SYN-ACK.
				l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}, DualStack: tt.dual})
				mustConnect(t, ch, DialConfig{Remote: addrOf(t, l, tt.peer), TTL: 255, MinTTL: GTSMMinTTL(1)})
			})
			t.Run("per-peer MinTTL on accept", func(t *testing.T) {
				l, ch := listen(t, ListenConfig{Addresses: []string{tt.listen}, DualStack: tt.dual})
				if err := l.SetPeerTTL(tt.peer, 255, GTSMMinTTL(1)); err != nil {
					t.Fatal(err)
				}
				remote := addrOf(t, l, tt.peer)
				mustConnect(t, ch, DialConfig{Remote: remote, TTL: 255})

				// Too far away: the handshake completes (the documented
				// limitation) but no data gets through once the option is set.
				c, err := dial(DialConfig{Remote: remote, TTL: 64}, okTimeout)
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				defer c.Close()
				a := <-ch
				defer a.conn.Close()
				sc := a.conn.(syscall.Conn)
				level, opt := unix.IPPROTO_IP, unix.IP_MINTTL
				if a.local.Addr().Is6() {
					level, opt = unix.IPPROTO_IPV6, unix.IPV6_MINHOPCOUNT
				}
				if v := sockopt(t, sc, level, opt); v != 255 {
					t.Fatalf("accepted socket minimum TTL = %d, want 255", v)
				}
				if v := sockopt(t, sc, unix.IPPROTO_IP, unix.IP_TTL); v != 255 {
					t.Errorf("accepted socket IP_TTL = %d, want 255", v)
				}
				if _, err := c.Write(message(0x04, HeaderLen)); err != nil {
					t.Fatal(err)
				}
				a.conn.SetReadDeadline(time.Now().Add(blockTimeout))
				if n, err := io.ReadFull(a.conn, make([]byte, HeaderLen)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read %d octets from a peer at TTL 64 (err %v), want none", n, err)
				}
				// Forgetting the peer affects new connections only.
				if err := l.SetPeerTTL(tt.peer, 0, 0); err != nil {
					t.Fatal(err)
				}
				mustConnect(t, ch, DialConfig{Remote: remote, TTL: 64})
			})
		})
	}
}

// BenchmarkReaderTCP reads 10,000 UPDATEs per op from a loopback TCP
// connection, written by a Writer on another goroutine: the framing cost
// with real read syscalls.
func BenchmarkReaderTCP(b *testing.B) {
	const n = 10000
	data, _ := updateStream(n)
	var msgs [][]byte
	r := NewReader(bytes.NewReader(data))
	for range n {
		_, m, err := r.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, append([]byte(nil), m...))
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := Dial(context.Background(), DialConfig{Remote: ln.Addr().(*net.TCPAddr).AddrPort()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := make(chan int)
	done := make(chan error, 1)
	w := NewWriter(c)
	go func() {
		var err error
		for ops := range start {
			for range ops {
				for _, m := range msgs {
					if err == nil {
						err = w.WriteMessage(m)
					}
				}
			}
			if err == nil {
				err = w.Flush()
			}
			done <- err
		}
	}()
	defer close(start)
	rd := NewReader(s)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start <- b.N
	for range b.N * n {
		if _, _, err := rd.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}
