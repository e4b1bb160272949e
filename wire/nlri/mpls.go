package nlri

import (
	"encoding/binary"
	"net/netip"

	"github.com/godwit-bgp/godwit/wire/fault"
)

// The labeled unicast (RFC 8277 §2) and VPN (RFC 4364 §4.3.4, RFC 4659 §3.2)
// NLRI share one layout:
//
//	[path identifier, 4 octets, with ADD-PATH]
//	length in bits, 1 octet: labels + route distinguisher + prefix
//	label stack, 3 octets per label, up to the bottom-of-stack bit
//	[route distinguisher, 8 octets, VPN only]
//	prefix, the fewest octets that hold its bits
//
// The label stack ends at the first entry with the bottom-of-stack bit set,
// or right after a first entry of 0x800000 or 0x000000: the values a
// withdrawal carries in place of a label (RFC 8277 §2.4; the second is the
// RFC 3107 practice), neither of which has the bit set. They are accepted in
// any NLRI because the decoder is not told whether it reads a withdrawal.
// Several labels are accepted whether or not the Multiple Labels capability
// was negotiated (RFC 8277 §2.1): being lenient here costs nothing, and the
// length octet still bounds the stack.

// mplsEntry is one labeled or VPN NLRI as parsed; labels points into the
// input, 3 octets per label field.
type mplsEntry struct {
	pathID uint32
	labels []byte
	rd     RD
	prefix netip.Prefix
}

// frameMPLS checks the entry at the start of b (which is not empty) and
// returns the octets it takes and the number of its labels.
func frameMPLS(b []byte, v6, withRD, addPath bool) (n, labels int, f *fault.Error) {
	off := 0
	if addPath {
		if len(b) < 5 {
			return 0, 0, malformed(b, "ADD-PATH NLRI truncated: %d octets left, need a 4-octet path identifier and a length", len(b))
		}
		off = 4
	}
	bits := int(b[off])
	off++
	size := (bits + 7) / 8
	if len(b)-off < size {
		return 0, 0, malformed(b, "NLRI of %d bits needs %d octets, %d left", bits, size, len(b)-off)
	}
	entry := b[:off+size]
	body := b[off : off+size]
	left := bits
	k := 0
	for {
		if left < 24 {
			return 0, 0, malformed(entry, "label stack runs past the NLRI length of %d bits without a bottom-of-stack bit", bits)
		}
		l := getLabel(body[3*k:])
		k++
		left -= 24
		if l.BOS() || (k == 1 && (l == WithdrawLabel || l == CompatLabel)) {
			break
		}
	}
	if withRD {
		if left < 64 {
			return 0, 0, malformed(entry, "NLRI of %d bits has no room for a route distinguisher after a label stack of %d", bits, k)
		}
		left -= 64
	}
	max := 32
	if v6 {
		max = 128
	}
	if left > max {
		return 0, 0, malformed(entry, "prefix length %d exceeds %d (NLRI of %d bits, label stack of %d)", left, max, bits, k)
	}
	return off + size, k, nil
}

// readMPLS reads an entry that frameMPLS accepted with k labels.
func readMPLS(b []byte, k int, v6, withRD, addPath bool) (e mplsEntry) {
	if addPath {
		e.pathID = binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	left := int(b[0]) - 24*k
	b = b[1:]
	e.labels = b[:3*k]
	b = b[3*k:]
	if withRD {
		e.rd = RD(b[:8])
		b = b[8:]
		left -= 64
	}
	if v6 {
		var a [16]byte
		copy(a[:], b[:(left+7)/8])
		e.prefix = netip.PrefixFrom(netip.AddrFrom16(a), left)
	} else {
		var a [4]byte
		copy(a[:], b[:(left+7)/8])
		e.prefix = netip.PrefixFrom(netip.AddrFrom4(a), left)
	}
	return e
}

// countMPLS validates a whole field and counts its entries and label fields,
// so that the decoders can size their arrays exactly.
func countMPLS(b []byte, v6, withRD, addPath bool) (routes, labels int, f *fault.Error) {
	for off := 0; off < len(b); {
		n, k, f := frameMPLS(b[off:], v6, withRD, addPath)
		if f != nil {
			return 0, 0, f
		}
		routes++
		labels += k
		off += n
	}
	return routes, labels, nil
}

// decodeMPLS is Decode for labeled unicast and VPN: the values are boxed as
// they are parsed, with no intermediate slice.
func decodeMPLS(b []byte, v6, withRD, addPath bool) ([]NLRI, error) {
	routes, labels, f := countMPLS(b, v6, withRD, addPath)
	if f != nil {
		return nil, f
	}
	out := make([]NLRI, 0, routes)
	arena := newLabelArena(labels)
	for off := 0; off < len(b); {
		n, k, _ := frameMPLS(b[off:], v6, withRD, addPath)
		e := readMPLS(b[off:], k, v6, withRD, addPath)
		if withRD {
			out = append(out, VPN{PathID: e.pathID, Labels: arena.take(e.labels), RD: e.rd, Prefix: e.prefix})
		} else {
			out = append(out, Labeled{PathID: e.pathID, Labels: arena.take(e.labels), Prefix: e.prefix})
		}
		off += n
	}
	return out, nil
}

// appendMPLS writes one labeled or VPN entry; rd is nil for labeled unicast.
func appendMPLS(b []byte, pathID uint32, labels []Label, rd *RD, p netip.Prefix, addPath bool) []byte {
	if addPath {
		b = binary.BigEndian.AppendUint32(b, pathID)
	}
	bits := max(p.Bits(), 0)
	total := 24*len(labels) + bits
	if rd != nil {
		total += 64
	}
	b = append(b, byte(total))
	b = appendLabels(b, labels)
	if rd != nil {
		b = append(b, rd[:]...)
	}
	n := (bits + 7) / 8
	if p.Addr().Is4() {
		a := p.Addr().As4()
		return append(b, a[:n]...)
	}
	a := p.Addr().As16()
	return append(b, a[:n]...)
}
