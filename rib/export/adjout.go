package export

import (
	"net/netip"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/rib"
)

// adjOut is one family's Adj-RIB-Out of a group: the paths sent per
// prefix.
//
// Without ADD-PATH a prefix has one path (path ID 0), and the table is
// indexed by the Loc-RIB's entry number for the prefix (Change.Slot)
// rather than hashed by prefix: two arrays outside the Go heap
// (offheap.Paged), the key and the out set + 1 at each slot, grown a page
// at a time to the highest slot an announcement has used. That is 12
// bytes a prefix for IPv4 (21 for IPv6), with no hashing or probing, and
// nothing for the collector to scan or to count in its pacing. The
// Loc-RIB keeps its entry numbers dense, so the arrays are about as long
// as the Loc-RIB.
//
//	slot  keys          sent
//	0     10.0.0.0/24   4
//	1     10.0.1.0/24   4
//	2     (any)         0     nothing sent: withdrawn, not exported, or a free entry
//	3     192.0.2.0/24  1     out set 0
//
// A slot names a prefix only until the Loc-RIB has reported the prefix
// with no paths; after that it may be given to another prefix. So every
// change checks the key at its slot: a change for another key first
// withdraws the one stored (the slot was reused, and the old key's report
// with no paths is still to come: the MRAI hold replays in any order, see
// Group.hold), and a withdrawal for another key leaves the slot alone (it
// is that late report). Without that check a reused slot would send the
// new prefix but never withdraw the old one, or withdraw the new one.
//
// With ADD-PATH a prefix has a slice of paths, in a map by key; the slot
// is not used.
type adjOut[K rib.Key] struct {
	addPath bool
	prefix  func(K) netip.Prefix

	keys offheap.Paged[K]      // by slot: the prefix sent
	sent offheap.Paged[uint32] // by slot: its out set + 1; 0 when nothing is sent

	multi map[K][]outPath // ADD-PATH
}

func newAdjOut[K rib.Key](addPath bool, prefix func(K) netip.Prefix) *adjOut[K] {
	t := &adjOut[K]{addPath: addPath, prefix: prefix}
	if addPath {
		t.multi = map[K][]outPath{}
	}
	return t
}

// get returns the paths sent for k at slot (buf holds them when there is
// one).
func (t *adjOut[K]) get(slot uint32, k K, buf *[1]outPath) []outPath {
	if t.addPath {
		return t.multi[k]
	}
	if int(slot) >= t.sent.Len() {
		return nil
	}
	s := *t.sent.At(slot)
	if s == 0 || *t.keys.At(slot) != k {
		return nil
	}
	buf[0] = outPath{set: s - 1}
	return buf[:]
}

// other reports the prefix sent at slot when it is not k (the slot was
// reused), with its path.
func (t *adjOut[K]) other(slot uint32, k K) (K, outPath, bool) {
	var none K
	if t.addPath || int(slot) >= t.sent.Len() {
		return none, outPath{}, false
	}
	s := *t.sent.At(slot)
	if s == 0 {
		return none, outPath{}, false
	}
	o := *t.keys.At(slot)
	if o == k {
		return none, outPath{}, false
	}
	return o, outPath{set: s - 1}, true
}

// set stores ps (copied) as the paths sent for k at slot; none removes
// what the slot holds (without ADD-PATH) or k (with it).
func (t *adjOut[K]) set(slot uint32, k K, ps []outPath) {
	if !t.addPath {
		if len(ps) == 0 {
			if int(slot) < t.sent.Len() {
				*t.sent.At(slot) = 0
			}
			return
		}
		if int(slot) >= t.sent.Len() {
			t.keys.Grow(int(slot) + 1)
			t.sent.Grow(int(slot) + 1)
		}
		*t.keys.At(slot) = k
		*t.sent.At(slot) = ps[0].set + 1
		return
	}
	if len(ps) == 0 {
		delete(t.multi, k)
		return
	}
	if old := t.multi[k]; len(old) == len(ps) {
		copy(old, ps)
		return
	}
	t.multi[k] = append([]outPath(nil), ps...)
}

// each calls fn for every prefix sent (in slot order without ADD-PATH).
func (t *adjOut[K]) each(fn func(k K, ps []outPath)) {
	if t.addPath {
		for k, ps := range t.multi {
			fn(k, ps)
		}
		return
	}
	var buf [1]outPath
	for i := range uint32(t.sent.Len()) {
		if s := *t.sent.At(i); s != 0 {
			buf[0] = outPath{set: s - 1}
			fn(*t.keys.At(i), buf[:])
		}
	}
}

// sentPaths reports, for each path of rep whose key keyOf gives (those
// of this family), whether the table sends it (kept[i]; the other entries
// are left alone). Without ADD-PATH the table has no index by prefix, so
// rather than a search per path it walks the table once, looking the
// prefixes up in a map of rep's.
func (t *adjOut[K]) sentPaths(rep []Advertised, keyOf func(Advertised) (K, bool), kept []bool) {
	if t.addPath {
		for i, a := range rep {
			if k, ok := keyOf(a); ok {
				for _, p := range t.multi[k] {
					kept[i] = kept[i] || p.id == a.PathID
				}
			}
		}
		return
	}
	sent := map[K]bool{} // a prefix of rep sent with path ID 0 → found in the table
	for _, a := range rep {
		if k, ok := keyOf(a); ok && a.PathID == 0 {
			sent[k] = false
		}
	}
	if len(sent) == 0 {
		return
	}
	t.each(func(k K, _ []outPath) {
		if _, ok := sent[k]; ok {
			sent[k] = true
		}
	})
	for i, a := range rep {
		if k, ok := keyOf(a); ok && a.PathID == 0 {
			kept[i] = sent[k]
		}
	}
}

// free gives the arrays back at once (the group has ended).
func (t *adjOut[K]) free() {
	t.keys.Free()
	t.sent.Free()
}
