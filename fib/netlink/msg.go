//go:build linux

package netlink

// Route messages (rtnetlink(7)), encoded straight into one reusable buffer so
// that a batch of thousands of routes is a handful of allocations, and
// decoded without building the library's larger Route values.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/godwit-bgp/godwit/fib"
)

var ne = binary.NativeEndian

const (
	sizeofNlMsghdr  = unix.SizeofNlMsghdr // 16
	sizeofRtMsg     = unix.SizeofRtMsg    // 12
	sizeofRtAttr    = unix.SizeofRtAttr   // 4
	sizeofRtNexthop = unix.SizeofRtNexthop
	sizeofIfInfomsg = unix.SizeofIfInfomsg
	rtaAlignTo      = 4
)

func align(n int) int { return (n + rtaAlignTo - 1) &^ (rtaAlignTo - 1) }

// encoder appends netlink messages to buf.
type encoder struct {
	buf []byte
}

// grow appends n zero bytes and returns their offset.
func (e *encoder) grow(n int) int {
	off := len(e.buf)
	e.buf = append(e.buf, make([]byte, n)...)
	return off
}

func (e *encoder) attr(typ uint16, data []byte) {
	off := e.grow(align(sizeofRtAttr + len(data)))
	ne.PutUint16(e.buf[off:], uint16(sizeofRtAttr+len(data)))
	ne.PutUint16(e.buf[off+2:], typ)
	copy(e.buf[off+sizeofRtAttr:], data)
}

func (e *encoder) attrU32(typ uint16, v uint32) {
	var b [4]byte
	ne.PutUint32(b[:], v)
	e.attr(typ, b[:])
}

// gateway adds RTA_GATEWAY, or RTA_VIA for an IPv6 gateway on an IPv4
// route (RFC 8950; the kernel takes it since 5.2).
func (e *encoder) gateway(family uint8, a netip.Addr) {
	a = a.Unmap()
	if a.Is4() == (family == unix.AF_INET) {
		e.attr(unix.RTA_GATEWAY, a.AsSlice())
		return
	}
	var via [18]byte
	ne.PutUint16(via[:], unix.AF_INET6)
	b := a.As16()
	copy(via[2:], b[:])
	e.attr(unix.RTA_VIA, via[:])
}

// route appends one RTM_NEWROUTE or RTM_DELROUTE for op, with sequence
// number seq; ack asks the kernel to acknowledge it even when it succeeds.
func (e *encoder) route(op fib.Op, proto fib.Protocol, seq uint32, ack bool) {
	r := op.Route
	start := len(e.buf)
	e.grow(sizeofNlMsghdr + sizeofRtMsg)
	h := e.buf[start:]
	typ := uint16(unix.RTM_NEWROUTE)
	flags := uint16(unix.NLM_F_REQUEST)
	switch op.Kind {
	case fib.OpAdd:
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
	case fib.OpReplace:
		flags |= unix.NLM_F_CREATE | unix.NLM_F_REPLACE
	case fib.OpDelete:
		typ = unix.RTM_DELROUTE
	}
	if ack {
		flags |= unix.NLM_F_ACK
	}
	ne.PutUint16(h[4:], typ)
	ne.PutUint16(h[6:], flags)
	ne.PutUint32(h[8:], seq)

	m := h[sizeofNlMsghdr:]
	family := uint8(unix.AF_INET)
	if r.Prefix.Addr().Is6() {
		family = unix.AF_INET6
	}
	m[0] = family
	m[1] = uint8(r.Prefix.Bits())
	if r.Table < 256 {
		m[4] = uint8(r.Table)
	}
	m[5] = uint8(proto)
	switch {
	case op.Kind == fib.OpDelete:
		// Any scope and type: table, destination, metric and
		// protocol identify our route.
		m[6] = unix.RT_SCOPE_NOWHERE
	case r.Blackhole:
		m[6] = unix.RT_SCOPE_UNIVERSE
		m[7] = unix.RTN_BLACKHOLE
	default:
		m[6] = unix.RT_SCOPE_LINK
		for _, nh := range r.NextHops {
			if nh.Addr.IsValid() {
				m[6] = unix.RT_SCOPE_UNIVERSE
			}
		}
		m[7] = unix.RTN_UNICAST
	}

	e.attrU32(unix.RTA_TABLE, uint32(r.Table))
	e.attr(unix.RTA_DST, r.Prefix.Addr().AsSlice())
	e.attrU32(unix.RTA_PRIORITY, uint32(r.Metric))
	if op.Kind != fib.OpDelete && !r.Blackhole {
		switch len(r.NextHops) {
		case 1:
			nh := r.NextHops[0]
			if nh.Addr.IsValid() {
				e.gateway(family, nh.Addr)
			}
			if nh.Ifindex != 0 {
				e.attrU32(unix.RTA_OIF, uint32(nh.Ifindex))
			}
		default:
			mp := e.grow(sizeofRtAttr)
			for _, nh := range r.NextHops {
				rtnh := e.grow(sizeofRtNexthop)
				e.buf[rtnh+3] = uint8(max(nh.Weight, 1) - 1) // rtnh_hops
				ne.PutUint32(e.buf[rtnh+4:], uint32(nh.Ifindex))
				if nh.Addr.IsValid() {
					e.gateway(family, nh.Addr)
				}
				ne.PutUint16(e.buf[rtnh:], uint16(len(e.buf)-rtnh))
			}
			ne.PutUint16(e.buf[mp:], uint16(len(e.buf)-mp))
			ne.PutUint16(e.buf[mp+2:], unix.RTA_MULTIPATH)
		}
	}
	ne.PutUint32(e.buf[start:], uint32(len(e.buf)-start))
}

// dumpRequest appends an RTM_GETROUTE dump of one family, asking the kernel
// (with NETLINK_GET_STRICT_CHK) to send only table and proto (0: all).
func (e *encoder) dumpRequest(family uint8, table int, proto fib.Protocol, seq uint32) {
	start := len(e.buf)
	e.grow(sizeofNlMsghdr + sizeofRtMsg)
	h := e.buf[start:]
	ne.PutUint16(h[4:], unix.RTM_GETROUTE)
	ne.PutUint16(h[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(h[8:], seq)
	m := h[sizeofNlMsghdr:]
	m[0] = family
	if table < 256 {
		m[4] = uint8(table)
	}
	m[5] = uint8(proto)
	if table != 0 {
		e.attrU32(unix.RTA_TABLE, uint32(table))
	}
	ne.PutUint32(e.buf[start:], uint32(len(e.buf)-start))
}

var errShort = errors.New("short route message")

// attrs calls f for each attribute in b.
func attrs(b []byte, f func(typ uint16, data []byte) error) error {
	for len(b) >= sizeofRtAttr {
		l := int(ne.Uint16(b))
		if l < sizeofRtAttr || l > len(b) {
			return errShort
		}
		if err := f(ne.Uint16(b[2:])&^unix.NLA_F_NESTED, b[sizeofRtAttr:l]); err != nil {
			return err
		}
		b = b[min(align(l), len(b)):]
	}
	return nil
}

func addrFrom(b []byte) (netip.Addr, error) {
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return netip.Addr{}, fmt.Errorf("address of %d bytes", len(b))
	}
	return a.Unmap(), nil
}

func viaFrom(b []byte) (netip.Addr, error) {
	if len(b) < 2 {
		return netip.Addr{}, errShort
	}
	return addrFrom(b[2:])
}

var routeTypes = map[uint8]fib.RouteType{
	unix.RTN_UNICAST:     fib.TypeUnicast,
	unix.RTN_LOCAL:       fib.TypeLocal,
	unix.RTN_BLACKHOLE:   fib.TypeBlackhole,
	unix.RTN_UNREACHABLE: fib.TypeUnreachable,
	unix.RTN_PROHIBIT:    fib.TypeProhibit,
	unix.RTN_THROW:       fib.TypeThrow,
}

// decodeRoute parses the body of an RTM_NEWROUTE or RTM_DELROUTE (after the
// netlink header). ok is false for what godwit ignores: cached (cloned)
// routes and families other than IPv4 and IPv6.
func decodeRoute(b []byte) (kr fib.KernelRoute, ok bool, err error) {
	if len(b) < sizeofRtMsg {
		return kr, false, errShort
	}
	family, dstLen, table := b[0], int(b[1]), int(b[4])
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return kr, false, nil
	}
	if ne.Uint32(b[8:])&unix.RTM_F_CLONED != 0 {
		return kr, false, nil
	}
	kr.Protocol = fib.Protocol(b[5])
	kr.Type = routeTypes[b[7]]
	if kr.Type == 0 {
		kr.Type = fib.TypeOther
	}
	var dst, gw netip.Addr
	oif := 0
	err = attrs(b[sizeofRtMsg:], func(typ uint16, data []byte) error {
		var err error
		switch typ {
		case unix.RTA_DST:
			dst, err = addrFrom(data)
		case unix.RTA_TABLE:
			if len(data) >= 4 {
				table = int(ne.Uint32(data))
			}
		case unix.RTA_PRIORITY:
			if len(data) >= 4 {
				kr.Metric = int(ne.Uint32(data))
			}
		case unix.RTA_OIF:
			if len(data) >= 4 {
				oif = int(ne.Uint32(data))
			}
		case unix.RTA_GATEWAY:
			gw, err = addrFrom(data)
		case unix.RTA_VIA:
			gw, err = viaFrom(data)
		case unix.RTA_MULTIPATH:
			err = decodeMultipath(data, &kr.Route)
		}
		return err
	})
	if err != nil {
		return kr, false, err
	}
	if !dst.IsValid() {
		dst = netip.IPv4Unspecified()
		if family == unix.AF_INET6 {
			dst = netip.IPv6Unspecified()
		}
	}
	kr.Prefix, err = dst.Prefix(dstLen)
	if err != nil {
		return kr, false, err
	}
	kr.Table = table
	if gw.IsValid() || oif != 0 {
		kr.NextHops = append(kr.NextHops, fib.NextHop{Addr: gw, Ifindex: oif, Weight: 1})
	}
	kr.Blackhole = kr.Type == fib.TypeBlackhole
	kr.Route = kr.Canonical()
	return kr, true, nil
}

func decodeMultipath(b []byte, r *fib.Route) error {
	for len(b) >= sizeofRtNexthop {
		l := int(ne.Uint16(b))
		if l < sizeofRtNexthop || l > len(b) {
			return errShort
		}
		nh := fib.NextHop{Weight: int(b[3]) + 1, Ifindex: int(int32(ne.Uint32(b[4:])))}
		err := attrs(b[sizeofRtNexthop:l], func(typ uint16, data []byte) error {
			var err error
			switch typ {
			case unix.RTA_GATEWAY:
				nh.Addr, err = addrFrom(data)
			case unix.RTA_VIA:
				nh.Addr, err = viaFrom(data)
			}
			return err
		})
		if err != nil {
			return err
		}
		r.NextHops = append(r.NextHops, nh)
		b = b[min(align(l), len(b)):]
	}
	return nil
}

// decodeLink parses the body of an RTM_NEWLINK or RTM_DELLINK.
func decodeLink(b []byte) (fib.Link, error) {
	if len(b) < sizeofIfInfomsg {
		return fib.Link{}, errShort
	}
	l := fib.Link{Index: int(int32(ne.Uint32(b[4:])))}
	flags := ne.Uint32(b[8:])
	l.Up = flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
	err := attrs(b[sizeofIfInfomsg:], func(typ uint16, data []byte) error {
		if typ == unix.IFLA_IFNAME {
			l.Name = unix.ByteSliceToString(data)
		}
		return nil
	})
	return l, err
}
