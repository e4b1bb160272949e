package attr

import "github.com/godwit-bgp/godwit/wire/iana"

// This file converts between the 4-octet AS path of a NEW speaker and the
// AS_PATH + AS4_PATH pair (and AGGREGATOR + AS4_AGGREGATOR) that an OLD
// speaker, one without the 4-octet AS capability, carries (RFC 6793 §4).

// ReconcileAS4 returns the AS path and aggregator a route really has, from
// the attributes received on a session with the given options (RFC 6793
// §4.2.3):
//
//   - With opt.AS4 the peer is a NEW speaker: AS_PATH and AGGREGATOR are
//     complete, and any AS4_PATH or AS4_AGGREGATOR is ignored (RFC 6793
//     §4.2.2 says a NEW speaker never sends them to a NEW speaker).
//   - Otherwise, when AGGREGATOR holds an AS other than AS_TRANS while an
//     AS4_AGGREGATOR is present, both AS4_AGGREGATOR and AS4_PATH are
//     ignored (the aggregating speaker was an OLD one, so the AS4_PATH is
//     stale).
//   - Otherwise the aggregator is MergeAS4Aggregator's and the path is
//     MergeAS4Path's.
//
// Either result is nil when the list has no such attribute. The results may
// share memory with the list; treat them as read-only.
func (l List) ReconcileAS4(opt Options) (*ASPath, *Aggregator) {
	path, _ := l.ASPath()
	agg, _ := l.Aggregator()
	if opt.AS4 {
		return path, agg
	}
	as4agg, _ := l.AS4Aggregator()
	as4path, _ := l.AS4Path()
	if agg != nil && as4agg != nil && agg.AS != ASTrans {
		return path, agg
	}
	return MergeAS4Path(path, as4path), MergeAS4Aggregator(agg, as4agg)
}

// MergeAS4Path reconstructs the AS path from AS_PATH and AS4_PATH received
// from an OLD speaker (RFC 6793 §4.2.3):
//
//   - AS4_PATH confederation segments are dropped first (RFC 6793 §6).
//   - AS numbers are counted as for route selection: an AS_SET counts one, a
//     confederation segment zero.
//   - When AS_PATH has fewer AS numbers than AS4_PATH, AS4_PATH is ignored
//     and asPath is returned as it is.
//   - Otherwise the result is the leading len(AS_PATH)-len(AS4_PATH) AS
//     numbers of AS_PATH (whole segments, the last AS_SEQUENCE cut where the
//     count runs out) followed by AS4_PATH. A confederation segment of
//     AS_PATH is kept when it leads the path or is adjacent to a kept
//     segment.
//
// When the last kept AS_PATH segment and the first AS4_PATH segment are both
// AS_SEQUENCE they become one segment. asPath and as4 are not changed; the
// result is asPath itself when there is nothing to merge, else a new value.
func MergeAS4Path(asPath *ASPath, as4 *AS4Path) *ASPath {
	if asPath == nil || as4 == nil {
		return asPath
	}
	var tail []Segment
	for _, s := range as4.Segments {
		if (s.Type == iana.SegmentASSequence || s.Type == iana.SegmentASSet) && len(s.ASNs) > 0 {
			tail = append(tail, s)
		}
	}
	n2, n4 := pathLength(asPath.Segments), pathLength(tail)
	if n4 == 0 || n2 < n4 {
		return asPath
	}
	k := n2 - n4 // AS numbers still to take from the front of AS_PATH
	var out []Segment
	taken := false // whether the previous AS_PATH segment was kept
walk:
	for i, s := range asPath.Segments {
		switch s.Type {
		case iana.SegmentConfedSequence, iana.SegmentConfedSet:
			if k > 0 || i == 0 || taken {
				out = append(out, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)})
				taken = true
				continue
			}
			break walk
		case iana.SegmentASSet:
			if len(s.ASNs) == 0 {
				continue
			}
			if k == 0 {
				break walk
			}
			out = append(out, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)})
			k--
			taken = true
		case iana.SegmentASSequence:
			if k == 0 {
				break walk
			}
			n := min(k, len(s.ASNs))
			out = append(out, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs[:n]...)})
			k -= n
			taken = true
			if n < len(s.ASNs) {
				break walk
			}
		default:
			break walk
		}
	}
	for _, s := range tail {
		if last := len(out) - 1; last >= 0 && s.Type == iana.SegmentASSequence && out[last].Type == iana.SegmentASSequence {
			out[last].ASNs = append(out[last].ASNs, s.ASNs...)
			continue
		}
		out = append(out, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)})
	}
	return &ASPath{Segments: out}
}

// MergeAS4Aggregator returns the aggregator of a route received from an OLD
// speaker (RFC 6793 §4.2.3): AS4_AGGREGATOR's AS and address when AGGREGATOR
// holds AS_TRANS, AGGREGATOR otherwise. An AS4_AGGREGATOR without an
// AGGREGATOR is ignored. agg is returned as it is when AS4_AGGREGATOR does
// not apply.
func MergeAS4Aggregator(agg *Aggregator, as4 *AS4Aggregator) *Aggregator {
	if agg == nil || as4 == nil || agg.AS != ASTrans {
		return agg
	}
	return &Aggregator{AS: as4.AS, Addr: as4.Addr}
}

// SplitAS4 prepares a path for an OLD peer (RFC 6793 §4.2.2): the AS_PATH to
// send, with AS_TRANS in place of every AS number that does not fit in two
// octets, and the AS4_PATH with the full numbers and without confederation
// segments. When every AS number outside confederation segments fits, the
// AS4_PATH is nil (RFC 6793 §4.2.2: it is only sent when needed) and the
// returned path is p itself.
func SplitAS4(p *ASPath) (*ASPath, *AS4Path) {
	if p == nil {
		return nil, nil
	}
	need := false
	for _, s := range p.Segments {
		if s.Type != iana.SegmentASSequence && s.Type != iana.SegmentASSet {
			continue
		}
		for _, as := range s.ASNs {
			if as > 0xffff {
				need = true
			}
		}
	}
	if !need {
		return p, nil
	}
	two := &ASPath{Segments: cloneSegments(p.Segments)}
	for _, s := range two.Segments {
		for i, as := range s.ASNs {
			s.ASNs[i] = uint32(as2(as))
		}
	}
	four := &AS4Path{}
	for _, s := range p.Segments {
		if (s.Type == iana.SegmentASSequence || s.Type == iana.SegmentASSet) && len(s.ASNs) > 0 {
			four.Segments = append(four.Segments, Segment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)})
		}
	}
	return two, four
}

// SplitAS4Aggregator prepares an aggregator for an OLD peer (RFC 6793
// §4.2.2): an AGGREGATOR with AS_TRANS and an AS4_AGGREGATOR with the full
// number when the AS does not fit in two octets; agg itself and nil
// otherwise.
func SplitAS4Aggregator(agg *Aggregator) (*Aggregator, *AS4Aggregator) {
	if agg == nil || agg.AS <= 0xffff {
		return agg, nil
	}
	return &Aggregator{AS: ASTrans, Addr: agg.Addr}, &AS4Aggregator{AS: agg.AS, Addr: agg.Addr}
}
