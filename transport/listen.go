package transport

// Goroutines and ownership of a Listener:
//
//	 Listen (caller)          builds every socket, then starts one accept
//	   │                      goroutine per socket; ctx cancel == Close
//	   ├─ accept goroutine ─┐
//	   ├─ accept goroutine ─┼─> per-peer TTL on the new socket ─> Handler(conn, local, remote)
//	   │                    │   (the handler owns conn from then on)
//	   │                    └─ reads peers under mu
//	 SetPeerKey / SetPrefixKey / SetPeerTTL (any goroutine, e.g. config reload)
//	   └─ mu ─> TCP_MD5SIG on every listening socket; peers map
//	 Close (any goroutine but a Handler)
//	   └─ closes the sockets, waits for every accept goroutine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultPort is the TCP port IANA assigns to BGP (RFC 4271 §1); a listen
// or dial address without a port gets it.
const DefaultPort = 179

// PeerSecurity is what a Listener does for connections from one peer.
type PeerSecurity struct {
	// Password is the TCP MD5 key (RFC 2385), at most 80 bytes; "" is none.
	Password string
	// TTL is the outgoing TTL (IPv6 hop limit) set on the accepted socket:
	// 1 for a directly connected eBGP peer, N for eBGP multihop, 255 for
	// iBGP and for GTSM. 0 keeps the listener's TTL.
	TTL int
	// MinTTL is the minimum TTL (hop limit) the accepted socket accepts
	// (RFC 5082, GTSM): GTSMMinTTL(hops). 0 keeps the listener's MinTTL.
	// It is set once the connection is accepted; see the package comment
	// for what that leaves open.
	MinTTL int
}

// ListenConfig says where and how a Listener listens.
type ListenConfig struct {
	// Addresses are the host:port pairs to listen on, IPv4 or IPv6
	// ("192.0.2.1:179", "[2001:db8::1]:179"). A missing port is 179; a bare
	// IPv6 address may go without brackets; ":PORT" or "" means every
	// address (below). Only address literals are taken, no host names.
	// Empty: every address on port 179.
	//
	// Every address is, by default, two sockets: 0.0.0.0 (AF_INET) and
	// [::] with IPV6_V6ONLY (AF_INET6), on the same port. Two sockets keep
	// IPv4 peers IPv4 everywhere (MD5 keys, socket options, addresses
	// handed up) and do not depend on the net.ipv6.bindv6only sysctl. When
	// the host has no IPv6, the IPv4 socket alone is used.
	Addresses []string
	// DualStack makes "every address", and an explicit "[::]", one AF_INET6
	// socket without IPV6_V6ONLY that takes IPv4 connections as
	// IPv4-mapped addresses. The Listener hides the mapping: keys are
	// installed in the mapped form for IPv4 peers, and addresses are
	// handed to the Handler unmapped. An explicit "0.0.0.0" next to a
	// dual-stack "[::]" on the same port fails with EADDRINUSE.
	DualStack bool
	// TTL is the outgoing TTL of the listening sockets, which the SYN-ACK
	// carries and accepted sockets inherit. 0 means 255, so that a peer
	// that requires GTSM of us can complete the handshake before the
	// per-peer TTL is set on the accepted socket.
	TTL int
	// MinTTL is a minimum incoming TTL on the listening sockets. Linux
	// checks it against every SYN from every peer, so it is only for a
	// listener whose peers all use GTSM with the same hop count; per-peer
	// GTSM is PeerSecurity.MinTTL. 0 is off.
	MinTTL int
	// Peers are installed before the sockets listen, so that no connection
	// from a keyed peer is ever accepted without its key. Change them later
	// with SetPeerKey and SetPeerTTL. The map is not kept.
	Peers map[netip.Addr]PeerSecurity
	// Handler is called for every accepted connection, on that socket's
	// accept goroutine, with the local and the remote address (IPv4
	// unmapped). It owns conn and must close it. It should hand the
	// connection off quickly (the next accept waits for it) and must not
	// call Close. Required.
	Handler func(conn net.Conn, local, remote netip.AddrPort)
	// Logger receives accept failures. nil discards them.
	Logger *slog.Logger
}

// Listener accepts BGP connections on one or more sockets.
//
// Ownership: the sockets are built by Listen and read-only afterwards; each
// has one accept goroutine, which Close stops and waits for. mu guards
// peers and serialises key changes, so that every socket sees the same
// sequence of keys. All methods are safe for concurrent use.
type Listener struct {
	handler func(net.Conn, netip.AddrPort, netip.AddrPort)
	log     *slog.Logger
	socks   []*socket

	mu    sync.Mutex
	peers map[netip.Addr]PeerSecurity // TTL and MinTTL only; keys live in the kernel

	done     chan struct{} // closed by shutdown
	once     sync.Once
	closeErr error // set inside once
	wg       sync.WaitGroup
	stop     func() bool // unregisters the ctx hook
}

// socket is one listening socket.
type socket struct {
	ln     *net.TCPListener
	rc     syscall.RawConn
	addr   netip.AddrPort // as bound, IPv4 unmapped
	family int
	dual   bool // AF_INET6 that also takes IPv4 (IPv4-mapped)
}

// takes reports whether connections from addr (unmapped) can reach s.
func (s *socket) takes(addr netip.Addr) bool {
	if addr.Is4() {
		return s.family == familyV4 || s.dual
	}
	return s.family == familyV6
}

// listenSpec is one socket to open.
type listenSpec struct {
	addr     netip.AddrPort
	network  string // for net.ListenConfig: tcp4, tcp6 (v6-only) or tcp (dual-stack)
	family   int
	dual     bool
	optional bool // the IPv6 half of the default pair: skipped when the host has no IPv6
	portFrom int  // index of the spec whose bound port this one takes when its port is 0, or -1
}

// Listen opens the sockets cfg names and starts accepting on them. The
// sockets listen until Close, or until ctx is cancelled (which closes the
// Listener; Close still waits). An error closes whatever was opened.
func Listen(ctx context.Context, cfg ListenConfig) (*Listener, error) {
	if cfg.Handler == nil {
		return nil, errors.New("transport: ListenConfig.Handler is nil")
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = 255
	}
	if err := checkTTL(ttl, cfg.MinTTL); err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	for addr, p := range cfg.Peers {
		if err := checkPeer(addr, p); err != nil {
			return nil, fmt.Errorf("transport: listen: %w", err)
		}
	}
	specs, err := listenSpecs(cfg.Addresses, cfg.DualStack)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	l := &Listener{
		handler: cfg.Handler,
		log:     cfg.Logger,
		peers:   make(map[netip.Addr]PeerSecurity),
		done:    make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	for addr, p := range cfg.Peers {
		if p.TTL != 0 || p.MinTTL != 0 {
			l.peers[peerKey(addr)] = PeerSecurity{TTL: p.TTL, MinTTL: p.MinTTL}
		}
	}
	bound := make([]uint16, len(specs)) // port each spec got, by spec index
	for i, sp := range specs {
		if sp.portFrom >= 0 && sp.addr.Port() == 0 {
			sp.addr = netip.AddrPortFrom(sp.addr.Addr(), bound[sp.portFrom])
		}
		s, err := openListener(ctx, sp, ttl, cfg.MinTTL, cfg.Peers)
		if err != nil {
			if sp.optional && noIPv6(err) {
				l.log.Warn("transport: no IPv6 on this host, listening on IPv4 only", "addr", sp.addr, "err", err)
				continue
			}
			for _, s := range l.socks {
				s.ln.Close()
			}
			return nil, fmt.Errorf("transport: listen on %s: %w", sp.addr, err)
		}
		l.socks = append(l.socks, s)
		bound[i] = s.addr.Port()
	}
	l.stop = context.AfterFunc(ctx, l.shutdown)
	for _, s := range l.socks {
		l.wg.Add(1)
		go l.acceptLoop(s)
	}
	return l, nil
}

// openListener opens one listening socket; its options and the initial
// MD5 keys are set before bind.
func openListener(ctx context.Context, sp listenSpec, ttl, minTTL int, peers map[netip.Addr]PeerSecurity) (*socket, error) {
	s := &socket{family: sp.family, dual: sp.dual}
	lc := net.ListenConfig{
		Control: func(_, _ string, rc syscall.RawConn) error {
			return control(rc, func(fd int) error {
				if err := setListenerBase(fd, sp.family, !sp.dual); err != nil {
					return err
				}
				if err := setBase(fd, sp.family, ttl, minTTL); err != nil {
					return err
				}
				for addr, p := range peers {
					if p.Password == "" || !s.takes(peerKey(addr)) {
						continue
					}
					if err := setMD5(fd, sp.family, hostPrefix(addr), p.Password); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	ln, err := lc.Listen(ctx, sp.network, sp.addr.String())
	if err != nil {
		return nil, err
	}
	s.ln = ln.(*net.TCPListener)
	if s.rc, err = s.ln.SyscallConn(); err != nil {
		ln.Close()
		return nil, err
	}
	s.addr = unmapAddrPort(s.ln.Addr())
	return s, nil
}

// noIPv6 reports whether err says the host cannot do IPv6 at all.
func noIPv6(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) ||
		errors.Is(err, syscall.EPROTONOSUPPORT)
}

// Addrs returns the addresses the sockets are bound to (with the actual
// port when 0 was asked for), in the order of ListenConfig.Addresses.
func (l *Listener) Addrs() []netip.AddrPort {
	out := make([]netip.AddrPort, len(l.socks))
	for i, s := range l.socks {
		out[i] = s.addr
	}
	return out
}

// SetPeerKey installs key as the TCP MD5 key (RFC 2385) for connections
// from addr on every listening socket that addr can reach; "" removes it.
// It takes effect for the next SYN: established connections keep the key
// they were accepted with (a changed key needs the session reset). An
// IPv4-mapped addr is taken as the IPv4 address.
func (l *Listener) SetPeerKey(addr netip.Addr, key string) error {
	if !addr.IsValid() {
		return errors.New("transport: SetPeerKey: invalid address")
	}
	return l.SetPrefixKey(hostPrefix(addr), key)
}

// SetPrefixKey is SetPeerKey for every peer in pfx (TCP_MD5SIG_EXT, for
// listen ranges). A key for an exact address wins over a prefix key.
// Remove a prefix key with the same prefix it was set with.
func (l *Listener) SetPrefixKey(pfx netip.Prefix, key string) error {
	if !pfx.IsValid() {
		return errors.New("transport: SetPrefixKey: invalid prefix")
	}
	pfx = unmapPrefix(pfx)
	if err := checkKey(key); err != nil {
		return fmt.Errorf("transport: %s: %w", pfx, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, s := range l.socks {
		if !s.takes(pfx.Addr()) {
			continue
		}
		if err := control(s.rc, func(fd int) error { return setMD5(fd, s.family, pfx, key) }); err != nil {
			errs = append(errs, fmt.Errorf("transport: listener %s: %w", s.addr, err))
		}
	}
	return errors.Join(errs...)
}

// SetPeerTTL sets the outgoing TTL and the minimum incoming TTL (GTSM)
// that sockets accepted from addr get from now on (see PeerSecurity); 0 and
// 0 forget the peer. Established connections are not changed: use SetTTL
// on them.
func (l *Listener) SetPeerTTL(addr netip.Addr, ttl, minTTL int) error {
	if !addr.IsValid() {
		return errors.New("transport: SetPeerTTL: invalid address")
	}
	if err := checkTTL(ttl, minTTL); err != nil {
		return fmt.Errorf("transport: %s: %w", addr, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ttl == 0 && minTTL == 0 {
		delete(l.peers, peerKey(addr))
	} else {
		l.peers[peerKey(addr)] = PeerSecurity{TTL: ttl, MinTTL: minTTL}
	}
	return nil
}

// Close stops accepting: it closes every listening socket and waits for
// the accept goroutines, so no Handler runs after it returns. Connections
// already handed to the Handler are not touched. It is safe to call more
// than once and from several goroutines, but not from a Handler.
func (l *Listener) Close() error {
	l.stop()
	l.shutdown()
	l.wg.Wait()
	return l.closeErr
}

// shutdown closes the sockets once; it does not wait.
func (l *Listener) shutdown() {
	l.once.Do(func() {
		close(l.done)
		var errs []error
		for _, s := range l.socks {
			if err := s.ln.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		l.closeErr = errors.Join(errs...)
	})
}

// Accept retry delays after an error such as EMFILE: doubling, capped.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptLoop runs on its own goroutine for one socket until Close.
func (l *Listener) acceptLoop(s *socket) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			l.log.Warn("transport: accept failed", "listen", s.addr, "err", err, "retry", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-l.done:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff = 0
		select {
		case <-l.done:
			c.Close()
			return
		default:
		}
		l.serve(s, c)
	}
}

// serve applies the per-peer options to an accepted socket and hands it to
// the Handler. A socket whose options cannot be set is closed: accepting a
// peer without the TTL security it is configured with would fail open.
func (l *Listener) serve(s *socket, c *net.TCPConn) {
	local, remote := unmapAddrPort(c.LocalAddr()), unmapAddrPort(c.RemoteAddr())
	l.mu.Lock()
	p := l.peers[peerKey(remote.Addr())]
	l.mu.Unlock()
	err := func() error {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		return control(rc, func(fd int) error { return setBase(fd, s.family, p.TTL, p.MinTTL) })
	}()
	if err != nil {
		l.log.Warn("transport: dropping accepted connection", "local", local, "remote", remote, "err", err)
		c.Close()
		return
	}
	l.handler(c, local, remote)
}

// listenSpecs turns ListenConfig.Addresses into sockets to open.
func listenSpecs(addrs []string, dual bool) ([]listenSpec, error) {
	if len(addrs) == 0 {
		addrs = []string{""}
	}
	var specs []listenSpec
	for _, s := range addrs {
		ap, all, err := ParseListenAddress(s)
		if err != nil {
			return nil, err
		}
		if all {
			if dual {
				specs = append(specs, listenSpec{addr: netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port()),
					network: "tcp", family: familyV6, dual: true, portFrom: -1})
				continue
			}
			v4 := len(specs)
			specs = append(specs,
				listenSpec{addr: netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port()),
					network: "tcp4", family: familyV4, portFrom: -1},
				listenSpec{addr: netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port()),
					network: "tcp6", family: familyV6, optional: true, portFrom: v4})
			continue
		}
		a := ap.Addr()
		switch {
		case a.Is4():
			specs = append(specs, listenSpec{addr: ap, network: "tcp4", family: familyV4, portFrom: -1})
		case a.IsUnspecified() && dual:
			specs = append(specs, listenSpec{addr: ap, network: "tcp", family: familyV6, dual: true, portFrom: -1})
		default:
			specs = append(specs, listenSpec{addr: ap, network: "tcp6", family: familyV6, portFrom: -1})
		}
	}
	return specs, nil
}

// ParseListenAddress parses one entry of ListenConfig.Addresses. It returns
// the address (IPv4 unmapped, port 179 when none is given) and whether the
// entry means every address ("" or ":PORT"; the address is then invalid).
func ParseListenAddress(s string) (ap netip.AddrPort, all bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.AddrPortFrom(netip.Addr{}, DefaultPort), true, nil
	}
	if rest, ok := strings.CutPrefix(s, ":"); ok && !strings.Contains(rest, ":") {
		port, err := strconv.ParseUint(rest, 10, 16)
		if err != nil {
			return netip.AddrPort{}, false, fmt.Errorf("listen address %q: bad port", s)
		}
		return netip.AddrPortFrom(netip.Addr{}, uint16(port)), true, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), false, nil
	}
	host := s
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, false, fmt.Errorf("listen address %q: want an IP address with an optional port", s)
	}
	return netip.AddrPortFrom(a.Unmap(), DefaultPort), false, nil
}

// checkTTL validates a TTL pair; 0 means unset for both.
func checkTTL(ttl, minTTL int) error {
	if ttl < 0 || ttl > 255 {
		return fmt.Errorf("TTL %d out of range 0..255", ttl)
	}
	if minTTL < 0 || minTTL > 255 {
		return fmt.Errorf("minimum TTL %d out of range 0..255", minTTL)
	}
	return nil
}

func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return fmt.Errorf("TCP MD5 key is %d bytes, at most %d allowed", len(key), maxKeyLen)
	}
	return nil
}

func checkPeer(addr netip.Addr, p PeerSecurity) error {
	if !addr.IsValid() {
		return errors.New("peer with an invalid address")
	}
	if err := checkKey(p.Password); err != nil {
		return fmt.Errorf("peer %s: %w", addr, err)
	}
	if err := checkTTL(p.TTL, p.MinTTL); err != nil {
		return fmt.Errorf("peer %s: %w", addr, err)
	}
	return nil
}

// maxKeyLen is TCP_MD5SIG_MAXKEYLEN of Linux.
const maxKeyLen = 80

// GTSMMinTTL is the minimum incoming TTL for a peer hops hops away under
// RFC 5082 §3: 255 - (hops - 1). hops is 1 for a directly connected peer.
func GTSMMinTTL(hops int) int {
	return 256 - min(max(hops, 1), 255)
}

// peerKey is the form of a peer address used for lookups: IPv4 unmapped,
// no zone.
func peerKey(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

func hostPrefix(a netip.Addr) netip.Prefix {
	a = peerKey(a)
	return netip.PrefixFrom(a, a.BitLen())
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96).
func unmapPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}

// unmapAddrPort is the address of a TCP socket with IPv4 unmapped.
func unmapAddrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
