//go:build !linux

package transport

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// Outside Linux the package builds so that the layers above it (which run
// over any net.Conn) can be developed and tested anywhere, but the socket
// options are not implemented: plain TCP works, TCP MD5 and TTL security
// return errors.ErrUnsupported, and DSCP is left at the system default.

const (
	familyV4 = syscall.AF_INET
	familyV6 = syscall.AF_INET6
)

func setBase(fd, family, ttl, minTTL int) error {
	if ttl > 0 || minTTL > 0 {
		return fmt.Errorf("TTL security: %w", errors.ErrUnsupported)
	}
	return nil
}

func setTTL(fd, family, ttl int) error {
	return fmt.Errorf("set TTL: %w", errors.ErrUnsupported)
}

func setMinTTL(fd, family, minTTL int) error {
	return fmt.Errorf("set minimum TTL: %w", errors.ErrUnsupported)
}

func setListenerBase(fd, family int, v6only bool) error { return nil }

func setDialerBind(fd int, fixedPort bool) error { return nil }

func setMD5(fd, family int, pfx netip.Prefix, key string) error {
	if key == "" {
		return nil
	}
	return fmt.Errorf("TCP MD5: %w", errors.ErrUnsupported)
}

func control(rc syscall.RawConn, f func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func socketFamily(rc syscall.RawConn) (int, error) {
	return 0, fmt.Errorf("socket family: %w", errors.ErrUnsupported)
}
