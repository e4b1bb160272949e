//go:build !linux

package api

import "net"

// peerCred is not available on this system.
func peerCred(*net.UnixConn) (pid, uid int, ok bool) { return 0, 0, false }
