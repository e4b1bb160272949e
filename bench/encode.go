package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// sessionOptions are what every benchmark session negotiates: 4-octet AS
// numbers, IPv4 unicast, no ADD-PATH, no extended messages (4096 octets, as
// most sessions on the Internet).
var sessionOptions = wire.Options{AS4: true}

// Stream is one injector's table, encoded before the clock starts: the
// UPDATEs back to back, cut into chunks at message boundaries so that a
// KEEPALIVE can go between two chunks, and the End-of-RIB marker.
type Stream struct {
	Updates  []byte
	Chunks   [][]byte
	EndOfRIB []byte
	Messages int
	Prefixes int
}

// chunkSize is about how much one write hands the kernel. Large enough
// that the injector makes few system calls; small enough that a KEEPALIVE
// never waits long behind a slow target.
const chunkSize = 256 << 10

// Encode packs the table as injector j of k (AS as, NEXT_HOP nextHop) sends
// it: attribute set by attribute set, each set's prefixes in as few
// UPDATEs as fit (wire.Packer).
func (t *Table) Encode(j, k int, as uint32, nextHop netip.Addr) (*Stream, error) {
	p := wire.NewPacker(sessionOptions)
	for g := range t.Sets {
		s := &t.Sets[g]
		p.SetAttrs(t.Attrs(g, j, k, as, nextHop))
		for _, pfx := range t.Prefixes[s.Start:s.End] {
			if err := p.Announce(nlri.Prefix{Prefix: pfx.Netip()}); err != nil {
				return nil, fmt.Errorf("set %d, prefix %s: %w", g, pfx, err)
			}
		}
	}
	st := &Stream{Messages: p.Messages(), Prefixes: len(t.Prefixes)}
	st.Updates = p.Bytes()
	st.Chunks = ChunkMessages(st.Updates, chunkSize)
	st.EndOfRIB = wire.NewEndOfRIB(nlri.IPv4Unicast).AppendTo(nil, sessionOptions)
	return st, nil
}

// ChunkMessages cuts back-to-back messages into pieces of about size
// octets, each ending at a message boundary (for writes that keep
// KEEPALIVEs or a rate between them).
func ChunkMessages(b []byte, size int) [][]byte {
	var out [][]byte
	start := 0
	for off := 0; off < len(b); {
		n := int(binary.BigEndian.Uint16(b[off+16:]))
		if off+n-start > size && off > start {
			out = append(out, b[start:off])
			start = off
		}
		off += n
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
