package bench

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/godwit-bgp/godwit/wire/attr"
)

// MRT record types and subtypes read here (RFC 6396 §4, RFC 8050 §4).
const (
	mrtTableDump   = 12
	mrtTableDumpV2 = 13

	tdAFIIPv4 = 1 // TABLE_DUMP subtype

	tdv2RIBIPv4Unicast        = 2
	tdv2RIBIPv4UnicastAddPath = 8
)

// LoadMRT reads the IPv4 unicast routes of an MRT RIB dump (TABLE_DUMP_V2
// RIB_IPV4_UNICAST, with or without ADD-PATH, or the older TABLE_DUMP;
// plain, gzip or bzip2) into a table: the first route the dump gives for
// each prefix, its attributes grouped into sets as they came. Only what an
// eBGP speaker passes on is kept (ORIGIN, AS_PATH, MED, COMMUNITIES,
// LARGE_COMMUNITY, AGGREGATOR, ATOMIC_AGGREGATE); NEXT_HOP is the
// injector's. Prefixes outside unicast space and in 10/8 (the benchmark's
// own addresses) are left out. seed chooses the best path per set when
// several injectors send the table.
func LoadMRT(path string, seed uint64) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := decompress(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := readMRT(rd, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Source = path
	return t, nil
}

func decompress(br *bufio.Reader) (io.Reader, error) {
	magic, _ := br.Peek(3)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return gzip.NewReader(br)
	case len(magic) == 3 && string(magic) == "BZh":
		return bzip2.NewReader(br), nil
	}
	return br, nil
}

// mrtRoute is one route of a dump: its prefix and raw attributes.
type mrtRoute struct {
	p     Prefix
	attrs []byte
	as4   bool
}

func readMRT(rd io.Reader, seed uint64) (*Table, error) {
	type group struct {
		set      Set
		prefixes []Prefix
	}
	var groups []*group
	bySet := map[string]*group{}
	seen := map[uint64]struct{}{}
	var enc []byte
	add := func(r mrtRoute) error {
		if !usable(r.p) {
			return nil
		}
		if _, dup := seen[r.p.key()]; dup {
			return nil
		}
		list, _ := attr.Decode(r.attrs, attr.Options{AS4: r.as4})
		s, kept := setFromAttrs(list)
		enc = attr.AppendList(enc[:0], kept, attr.Options{AS4: true})
		g := bySet[string(enc)]
		if g == nil {
			g = &group{set: s}
			bySet[string(enc)] = g
			groups = append(groups, g)
		}
		seen[r.p.key()] = struct{}{}
		g.prefixes = append(g.prefixes, r.p)
		return nil
	}
	var hdr [12]byte
	var body []byte
	records := 0
	for {
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("record %d: header: %w", records+1, err)
		}
		typ, sub := binary.BigEndian.Uint16(hdr[4:]), binary.BigEndian.Uint16(hdr[6:])
		n := binary.BigEndian.Uint32(hdr[8:])
		if n > 16<<20 {
			return nil, fmt.Errorf("record %d: length %d", records+1, n)
		}
		body = slices.Grow(body[:0], int(n))[:n]
		if _, err := io.ReadFull(rd, body); err != nil {
			return nil, fmt.Errorf("record %d: body: %w", records+1, err)
		}
		records++
		var err error
		switch {
		case typ == mrtTableDump && sub == tdAFIIPv4:
			err = tableDumpIPv4(body, add)
		case typ == mrtTableDumpV2 && (sub == tdv2RIBIPv4Unicast || sub == tdv2RIBIPv4UnicastAddPath):
			err = ribIPv4(body, sub == tdv2RIBIPv4UnicastAddPath, add)
		}
		if err != nil {
			return nil, fmt.Errorf("record %d (type %d/%d): %w", records, typ, sub, err)
		}
	}
	t := &Table{Seed: seed}
	for _, g := range groups {
		s := g.set
		s.Start = int32(len(t.Prefixes))
		t.Prefixes = append(t.Prefixes, g.prefixes...)
		s.End = int32(len(t.Prefixes))
		t.Sets = append(t.Sets, s)
	}
	if len(t.Prefixes) == 0 {
		return nil, fmt.Errorf("no IPv4 unicast RIB entries in %d records", records)
	}
	return t, nil
}

// tableDumpIPv4 reads a TABLE_DUMP AFI_IPv4 record (RFC 6396 §4.2): one
// route, 2-octet AS numbers.
func tableDumpIPv4(b []byte, add func(mrtRoute) error) error {
	// view(2) seq(2) prefix(4) len(1) status(1) time(4) peer(4) peerAS(2) attrLen(2)
	if len(b) < 22 {
		return fmt.Errorf("TABLE_DUMP record of %d octets", len(b))
	}
	bits := b[8]
	if bits > 32 {
		return fmt.Errorf("prefix length %d", bits)
	}
	alen := int(binary.BigEndian.Uint16(b[20:]))
	if 22+alen > len(b) {
		return fmt.Errorf("attribute length %d overruns the record", alen)
	}
	p := Prefix{Addr: binary.BigEndian.Uint32(b[4:]) & mask(int(bits)), Bits: bits}
	return add(mrtRoute{p: p, attrs: b[22 : 22+alen], as4: false})
}

// ribIPv4 reads a TABLE_DUMP_V2 RIB_IPV4_UNICAST record (RFC 6396 §4.3.2),
// or its ADD-PATH form (RFC 8050 §4): one prefix, its entries with
// 4-octet AS numbers. Every entry is offered; add keeps the first.
func ribIPv4(b []byte, addPath bool, add func(mrtRoute) error) error {
	if len(b) < 5 {
		return fmt.Errorf("RIB record of %d octets", len(b))
	}
	bits := int(b[4])
	n := (bits + 7) / 8
	if bits > 32 || len(b) < 5+n+2 {
		return fmt.Errorf("prefix length %d in a %d-octet record", bits, len(b))
	}
	var a [4]byte
	copy(a[:], b[5:5+n])
	p := Prefix{Addr: binary.BigEndian.Uint32(a[:]) & mask(bits), Bits: uint8(bits)}
	off := 5 + n
	count := int(binary.BigEndian.Uint16(b[off:]))
	off += 2
	for i := 0; i < count; i++ {
		// peer index(2) originated time(4) [path id(4)] attribute length(2)
		fixed := 8
		if addPath {
			fixed += 4
		}
		if off+fixed > len(b) {
			return fmt.Errorf("entry %d overruns the record", i)
		}
		alen := int(binary.BigEndian.Uint16(b[off+fixed-2:]))
		off += fixed
		if off+alen > len(b) {
			return fmt.Errorf("entry %d: attribute length %d overruns the record", i, alen)
		}
		if err := add(mrtRoute{p: p, attrs: b[off : off+alen], as4: true}); err != nil {
			return err
		}
		off += alen
	}
	return nil
}

// setFromAttrs keeps the attributes an eBGP speaker passes on, as a Set,
// and returns them as a list too (the set's identity).
func setFromAttrs(l attr.List) (Set, attr.List) {
	s := Set{Loaded: true, Path: []attr.Segment{}}
	var kept attr.List
	for _, a := range l {
		switch a := a.(type) {
		case *attr.Origin:
			s.Origin = a.Value
		case *attr.ASPath:
			s.Path = append(s.Path, a.Segments...)
		case *attr.MED:
			s.HasMED, s.MED = true, a.Value
		case *attr.Communities:
			s.Communities = a.Values
		case *attr.LargeCommunities, *attr.AtomicAggregate, *attr.Aggregator:
			s.Extra = append(s.Extra, a)
		default:
			continue
		}
		kept = append(kept, a)
	}
	if _, ok := l.Origin(); !ok {
		kept = append(kept, &attr.Origin{Value: attr.OriginIGP})
	}
	return s, kept
}
