package daemon

// The host's interfaces, as sessions need them: which interface a
// session's local address is on (the zone of link-local next hops, fast
// external failover) and the other family's address there (our next hop
// for routes of that family). Read when a session comes up or a link goes
// down, never per UPDATE.

import (
	"net"
	"net/netip"
)

// interfaceAddrs lists ifc's addresses (unmapped).
func interfaceAddrs(ifc *net.Interface) []netip.Addr {
	as, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// interfaceWith finds the interface that holds addr and its addresses
// ("" and nil for none, and for loopback).
func interfaceWith(addr netip.Addr) (string, []netip.Addr) {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() || addr.IsLoopback() {
		return "", nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return "", nil
	}
	for i := range ifs {
		as := interfaceAddrs(&ifs[i])
		for _, a := range as {
			if a == addr {
				return ifs[i].Name, as
			}
		}
	}
	return "", nil
}

// interfaceOf names the interface that holds addr: its zone when it has
// one, else the interface found by interfaceWith.
func interfaceOf(addr netip.Addr) string {
	if z := addr.Zone(); z != "" {
		return z
	}
	name, _ := interfaceWith(addr)
	return name
}

// addressBeside returns a global unicast address of the other family on
// the interface that holds addr, or the zero Addr. For an IPv6 address
// beside an IPv4 one, the interface's link-local address stands in when
// it has no global one (as FRR sends it: an IPv4-mapped next hop cannot
// be installed).
func addressBeside(addr netip.Addr) netip.Addr {
	addr = addr.Unmap()
	_, as := interfaceWith(addr)
	var linkLocal netip.Addr
	for _, ip := range as {
		switch {
		case ip.Is4() != addr.Is4() && ip.IsGlobalUnicast():
			return ip
		case ip.Is6() && addr.Is4() && ip.IsLinkLocalUnicast() && !linkLocal.IsValid():
			linkLocal = ip
		}
	}
	return linkLocal
}
