package bench

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// monitorInput is a table re-advertised as a target would: by the
// target's AS, packed per attribute set (perSet) or one UPDATE per prefix
// (as GoBGP sends).
func monitorInput(b *testing.B, n int, perSet bool) (*Expect, [][]byte) {
	tab := Generate(n, 1)
	e := NewExpect(tab, []uint32{65001})
	var msgs [][]byte
	p := wire.NewPacker(sessionOptions)
	for g := range tab.Sets {
		l := tab.Attrs(g, 0, 1, 65001, nh)
		ap, _ := l.ASPath()
		asns := append([]uint32{TargetAS}, ap.Segments[0].ASNs...)
		l[1] = &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}}
		l[2] = &attr.NextHop{Addr: netip.MustParseAddr("10.0.0.1")}
		p.SetAttrs(l)
		for _, pfx := range tab.Prefixes[tab.Sets[g].Start:tab.Sets[g].End] {
			if !perSet {
				p.SetAttrs(l)
			}
			if err := p.Announce(nlri.Prefix{Prefix: pfx.Netip()}); err != nil {
				b.Fatal(err)
			}
		}
	}
	all := p.Bytes()
	for off := 0; off < len(all); {
		h, _ := wire.ParseHeader(all[off:], sessionOptions)
		msgs = append(msgs, all[off+wire.HeaderLen:off+int(h.Length)])
		off += int(h.Length)
	}
	return e, msgs
}

// BenchmarkMonitor reports what the monitor costs per prefix: it must stay
// far below any target's cost (the self-check shows it end to end).
func BenchmarkMonitor(b *testing.B) {
	for _, tc := range []struct {
		name   string
		perSet bool
	}{{"packed", true}, {"onePerUpdate", false}} {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%d", tc.name, n), func(b *testing.B) {
				e, msgs := monitorInput(b, n, tc.perSet)
				b.ReportAllocs()
				for b.Loop() {
					m := newMonitor(&session{}, e)
					for _, body := range msgs {
						if err := m.update(body); err != nil {
							b.Fatal(err)
						}
					}
					if m.correct.Load() != int64(n) {
						b.Fatalf("%d correct", m.correct.Load())
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/prefix")
			})
		}
	}
}
