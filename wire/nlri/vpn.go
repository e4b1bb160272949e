package nlri

import (
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// VPN is one BGP/MPLS IP VPN NLRI (SAFI 128): a VPN-IPv4 (RFC 4364 §4.3.4)
// or VPN-IPv6 (RFC 4659 §3.2) prefix, that is a route distinguisher and a
// prefix, with its MPLS label stack. The wire layout and the label stack
// rules are described in mpls.go.
//
// Labels holds at least one entry in a decoded NLRI; in a withdrawal it is
// usually WithdrawLabel. The prefix keeps the bits past its length as
// received, like Prefix.
type VPN struct {
	PathID uint32
	Labels []Label
	RD     RD
	Prefix netip.Prefix
}

// Family returns IPv4VPN or IPv6VPN by the prefix's address.
func (v VPN) Family() Family {
	if v.Prefix.Addr().Is4() {
		return IPv4VPN
	}
	return IPv6VPN
}

// String is "RD:prefix", "65000:100:10.0.0.0/24" or
// "192.0.2.1:7:2001:db8::/32", with " path-id N" when the path identifier is
// not zero; the labels are not part of the route's key.
func (v VPN) String() string {
	return withPathID(v.RD.String()+":"+v.Prefix.String(), v.PathID)
}

// AppendTo appends the wire form. The length octet counts 24 bits per label
// and 64 for the RD; a VPN with more labels than fit in 255 bits does not
// encode correctly.
func (v VPN) AppendTo(b []byte, addPath bool) []byte {
	return appendMPLS(b, v.PathID, v.Labels, &v.RD, v.Prefix, addPath)
}

// DecodeVPN parses a whole VPN NLRI field of afi (IPv4 or IPv6; anything
// else reads as IPv4) and appends the entries to dst. It allocates one array
// for all the label stacks and none per route, so a caller that reuses dst
// decodes without allocating per route. Faults are as for Decode; on a fault
// dst is returned unchanged.
func DecodeVPN(dst []VPN, b []byte, afi iana.AFI, addPath bool) ([]VPN, error) {
	v6 := afi == iana.AFIIPv6
	routes, labels, f := countMPLS(b, v6, true, addPath)
	if f != nil {
		return dst, f
	}
	dst = slices.Grow(dst, routes)
	arena := newLabelArena(labels)
	for off := 0; off < len(b); {
		n, k, _ := frameMPLS(b[off:], v6, true, addPath)
		e := readMPLS(b[off:], k, v6, true, addPath)
		dst = append(dst, VPN{PathID: e.pathID, Labels: arena.take(e.labels), RD: e.rd, Prefix: e.prefix})
		off += n
	}
	return dst, nil
}
