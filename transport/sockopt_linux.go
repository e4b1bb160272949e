package transport

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file is the only place that speaks to the kernel's socket options.
// Everything here runs on a file descriptor borrowed through
// syscall.RawConn.Control, so the descriptor stays valid for the call.
//
// Address families. A socket is AF_INET or AF_INET6. An AF_INET6 socket
// bound to the wildcard without IPV6_V6ONLY (dual-stack) also carries IPv4
// connections as IPv4-mapped addresses; for those the kernel runs the IPv4
// code path, which reads the IPv4 options (IP_TOS, IP_TTL, IP_MINTTL) of
// the same socket. So on every AF_INET6 socket the IPv4 and the IPv6 form of
// an option are both set; on a v6-only socket the IPv4 form is simply unused.

// dscpCS6 is the TOS / traffic class byte for DSCP CS6 (network control,
// RFC 4594 §3.2), as BGP implementations send it: DSCP 48 shifted past the
// two ECN bits.
const dscpCS6 = 0xC0

// setBase sets what every BGP socket gets: DSCP CS6, and the outgoing TTL
// and the minimum incoming TTL when they are non-zero.
func setBase(fd, family, ttl, minTTL int) error {
	if err := setTOS(fd, family, dscpCS6); err != nil {
		return err
	}
	if ttl > 0 {
		if err := setTTL(fd, family, ttl); err != nil {
			return err
		}
	}
	if minTTL > 0 {
		if err := setMinTTL(fd, family, minTTL); err != nil {
			return err
		}
	}
	return nil
}

// setBoth sets the IPv4 option, and on an AF_INET6 socket the IPv6 one too
// (see the note on address families at the top of the file).
func setBoth(fd, family, v4opt, v6opt, value int, what string) error {
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, v6opt, value); err != nil {
			return fmt.Errorf("set %s (IPv6) to %d: %w", what, value, err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, v4opt, value); err != nil {
		return fmt.Errorf("set %s (IPv4) to %d: %w", what, value, err)
	}
	return nil
}

func setTOS(fd, family, tos int) error {
	return setBoth(fd, family, unix.IP_TOS, unix.IPV6_TCLASS, tos, "DSCP")
}

// setTTL sets the TTL (hop limit) of outgoing segments.
func setTTL(fd, family, ttl int) error {
	return setBoth(fd, family, unix.IP_TTL, unix.IPV6_UNICAST_HOPS, ttl, "TTL")
}

// setMinTTL makes the kernel drop incoming segments whose TTL (hop limit)
// is below minTTL (RFC 5082 §3, GTSM); 0 turns the check off.
func setMinTTL(fd, family, minTTL int) error {
	return setBoth(fd, family, unix.IP_MINTTL, unix.IPV6_MINHOPCOUNT, minTTL, "minimum TTL")
}

// setListenerBase sets the options a listening socket needs before bind:
// SO_REUSEADDR (so a restarted daemon can bind while old connections sit in
// TIME_WAIT) and, on AF_INET6, IPV6_V6ONLY as chosen.
func setListenerBase(fd, family int, v6only bool) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("set SO_REUSEADDR: %w", err)
	}
	if family == unix.AF_INET6 {
		v := 0
		if v6only {
			v = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v); err != nil {
			return fmt.Errorf("set IPV6_V6ONLY: %w", err)
		}
	}
	return nil
}

// setDialerBind prepares a dialing socket for a bind to a source address:
// with a fixed source port, SO_REUSEADDR lets the port be reused while an
// earlier connection is in TIME_WAIT; without one, IP_BIND_ADDRESS_NO_PORT
// defers the choice of port to connect, so the 4-tuple rather than the
// bind reserves it (many sessions from one source address do not exhaust
// the ephemeral range).
func setDialerBind(fd int, fixedPort bool) error {
	if fixedPort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("set SO_REUSEADDR: %w", err)
		}
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
		return fmt.Errorf("set IP_BIND_ADDRESS_NO_PORT: %w", err)
	}
	return nil
}

// setMD5 installs (key != "") or removes (key == "") the RFC 2385 key for
// segments from and to pfx on the socket. An exact address uses
// TCP_MD5SIG; a shorter prefix uses TCP_MD5SIG_EXT with the prefix flag
// (Linux 4.13+). On an AF_INET6 socket an IPv4 peer is given in its
// IPv4-mapped form, which the kernel stores as an IPv4 key; an IPv4 peer
// cannot be given to an AF_INET6 socket any other way (the kernel answers
// EINVAL to an AF_INET address there), and an IPv6 peer never reaches an
// AF_INET socket, so it is skipped by the caller.
//
// Removing a key that is not there is not an error.
func setMD5(fd, family int, pfx netip.Prefix, key string) error {
	if len(key) > unix.TCP_MD5SIG_MAXKEYLEN {
		return fmt.Errorf("TCP MD5 key is %d bytes, at most %d allowed", len(key), unix.TCP_MD5SIG_MAXKEYLEN)
	}
	addr := pfx.Addr().WithZone("")
	sig := unix.TCPMD5Sig{Keylen: uint16(len(key))}
	copy(sig.Key[:], key)
	switch {
	case family == unix.AF_INET && addr.Is4():
		sig.Addr.Family = unix.AF_INET
		a4 := addr.As4()
		// sockaddr_in after the family: port (2 bytes, zero), address.
		copy(sig.Addr.Data[2:6], a4[:])
	case family == unix.AF_INET6:
		sig.Addr.Family = unix.AF_INET6
		a16 := addr.As16() // IPv4 peers come out IPv4-mapped
		// sockaddr_in6 after the family: port (2), flowinfo (4), address.
		copy(sig.Addr.Data[6:22], a16[:])
	default:
		return fmt.Errorf("TCP MD5 key for %s on an IPv4 socket", pfx)
	}
	opt := unix.TCP_MD5SIG
	if pfx.Bits() != addr.BitLen() {
		opt = unix.TCP_MD5SIG_EXT
		sig.Flags = unix.TCP_MD5SIG_FLAG_PREFIX
		sig.Prefixlen = uint8(pfx.Bits()) // for an IPv4 peer, IPv4 bits even on AF_INET6
	}
	err := unix.SetsockoptTCPMD5Sig(fd, unix.IPPROTO_TCP, opt, &sig)
	if err != nil && key == "" && errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		verb := "set"
		if key == "" {
			verb = "remove"
		}
		return fmt.Errorf("%s TCP MD5 key for %s: %w", verb, pfx, err)
	}
	return nil
}

// control runs f on the descriptor behind rc.
func control(rc syscall.RawConn, f func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// socketFamily returns the address family of the socket behind rc.
func socketFamily(rc syscall.RawConn) (int, error) {
	var family int
	err := control(rc, func(fd int) error {
		v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		family = v
		return err
	})
	return family, err
}

const (
	familyV4 = unix.AF_INET
	familyV6 = unix.AF_INET6
)
