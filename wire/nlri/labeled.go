package nlri

import (
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// Labeled is one labeled unicast NLRI (SAFI 4, RFC 8277): an IPv4 or IPv6
// prefix with its MPLS label stack. The wire layout and the label stack rules
// are described in mpls.go.
//
// Labels holds at least one entry in a decoded NLRI; in a withdrawal it is
// usually WithdrawLabel. The prefix keeps the bits past its length as
// received, like Prefix.
type Labeled struct {
	PathID uint32
	Labels []Label
	Prefix netip.Prefix
}

// Family returns IPv4Labeled or IPv6Labeled by the prefix's address.
func (l Labeled) Family() Family {
	if l.Prefix.Addr().Is4() {
		return IPv4Labeled
	}
	return IPv6Labeled
}

// String is the prefix in CIDR form, with " path-id N" when the path
// identifier is not zero; the labels are not part of the route's key.
func (l Labeled) String() string {
	return withPathID(l.Prefix.String(), l.PathID)
}

// AppendTo appends the wire form. The length octet counts 24 bits per label;
// a Labeled with more labels than fit in 255 bits does not encode correctly.
func (l Labeled) AppendTo(b []byte, addPath bool) []byte {
	return appendMPLS(b, l.PathID, l.Labels, nil, l.Prefix, addPath)
}

// DecodeLabeled parses a whole labeled unicast NLRI field of afi (IPv4 or
// IPv6; anything else reads as IPv4) and appends the entries to dst. It
// allocates one array for all the label stacks and none per route, so a
// caller that reuses dst decodes without allocating per route. Faults are as
// for Decode; on a fault dst is returned unchanged.
func DecodeLabeled(dst []Labeled, b []byte, afi iana.AFI, addPath bool) ([]Labeled, error) {
	v6 := afi == iana.AFIIPv6
	routes, labels, f := countMPLS(b, v6, false, addPath)
	if f != nil {
		return dst, f
	}
	dst = slices.Grow(dst, routes)
	arena := newLabelArena(labels)
	for off := 0; off < len(b); {
		n, k, _ := frameMPLS(b[off:], v6, false, addPath)
		e := readMPLS(b[off:], k, v6, false, addPath)
		dst = append(dst, Labeled{PathID: e.pathID, Labels: arena.take(e.labels), Prefix: e.prefix})
		off += n
	}
	return dst, nil
}

// withPathID appends " path-id N" to s when id is not zero, as every String
// in this package does.
func withPathID(s string, id uint32) string {
	if id == 0 {
		return s
	}
	return s + " path-id " + itoa(uint64(id))
}
