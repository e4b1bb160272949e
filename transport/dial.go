package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// DialConfig says how to open one connection to a peer.
type DialConfig struct {
	// Remote is the peer; port 0 is 179. An IPv4-mapped address is dialled
	// as IPv4. A link-local IPv6 address needs its zone.
	Remote netip.AddrPort
	// Local is the source address (BGPPeer.localAddress); the zero Addr
	// lets the kernel choose. It must be of Remote's family.
	Local netip.Addr
	// LocalPort is the source port; 0 lets the kernel choose. A fixed port
	// is for relays that name a session by its source port (BGPaaS).
	LocalPort uint16
	// Password is the TCP MD5 key (RFC 2385), at most 80 bytes; "" is none.
	// It is set before connect, so the SYN is signed.
	Password string
	// TTL is the outgoing TTL (IPv6 hop limit), 1..255; 0 leaves the
	// kernel's default (net.ipv4.ip_default_ttl, usually 64). The caller
	// decides: 1 for a directly connected eBGP peer, N for eBGP multihop,
	// 255 for iBGP and whenever GTSM is on.
	TTL int
	// MinTTL is the minimum TTL of incoming segments (RFC 5082, GTSM), set
	// before connect so that a SYN-ACK from too far away is dropped and the
	// dial times out. Use GTSMMinTTL(hops) with TTL 255. 0 is off.
	MinTTL int
}

// Dial connects to cfg.Remote with the options of cfg and DSCP CS6. The
// context bounds the connect: a peer whose MD5 key or TTL does not match
// never answers in a way the kernel lets through, so the dial ends only
// when ctx does. The connection is a *net.TCPConn.
func Dial(ctx context.Context, cfg DialConfig) (net.Conn, error) {
	remote := cfg.Remote.Addr().Unmap()
	if !remote.IsValid() {
		return nil, errors.New("transport: dial: no remote address")
	}
	port := cfg.Remote.Port()
	if port == 0 {
		port = DefaultPort
	}
	raddr := netip.AddrPortFrom(remote, port)
	if err := checkTTL(cfg.TTL, cfg.MinTTL); err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", raddr, err)
	}
	if err := checkKey(cfg.Password); err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", raddr, err)
	}
	network, family := "tcp4", familyV4
	if remote.Is6() {
		network, family = "tcp6", familyV6
	}
	var d net.Dialer
	if cfg.Local.IsValid() || cfg.LocalPort != 0 {
		local := cfg.Local.Unmap()
		switch {
		case !local.IsValid() && remote.Is4():
			local = netip.IPv4Unspecified()
		case !local.IsValid():
			local = netip.IPv6Unspecified()
		case local.Is4() != remote.Is4():
			return nil, fmt.Errorf("transport: dial %s: local address %s is of another family", raddr, local)
		}
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, cfg.LocalPort))
	}
	// Control runs after the socket exists and before bind and connect.
	d.Control = func(_, _ string, rc syscall.RawConn) error {
		return control(rc, func(fd int) error {
			if d.LocalAddr != nil {
				if err := setDialerBind(fd, cfg.LocalPort != 0); err != nil {
					return err
				}
			}
			if err := setBase(fd, family, cfg.TTL, cfg.MinTTL); err != nil {
				return err
			}
			if cfg.Password != "" {
				return setMD5(fd, family, hostPrefix(remote), cfg.Password)
			}
			return nil
		})
	}
	c, err := d.DialContext(ctx, network, raddr.String())
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	return c, nil
}

// SetTTL changes the outgoing TTL (when ttl > 0) and the minimum incoming
// TTL (minTTL; 0 turns the check off) of a connection from Dial or from a
// Listener, for a peer layer that learns which peer a connection belongs
// to only after it was accepted, or whose configuration changed.
func SetTTL(c net.Conn, ttl, minTTL int) error {
	if err := checkTTL(ttl, minTTL); err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("transport: SetTTL: %T is not a socket", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("transport: SetTTL: %w", err)
	}
	family, err := socketFamily(rc)
	if err != nil {
		return fmt.Errorf("transport: SetTTL: %w", err)
	}
	err = control(rc, func(fd int) error {
		if ttl > 0 {
			if err := setTTL(fd, family, ttl); err != nil {
				return err
			}
		}
		return setMinTTL(fd, family, minTTL)
	})
	if err != nil {
		return fmt.Errorf("transport: SetTTL: %w", err)
	}
	return nil
}
