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
// rather than hashed by prefix: an array outside the Go heap
// (offheap.Paged) of the out set + 1 at each slot, grown a page at a time
// to the highest slot an announcement has used. That is 4 bytes a prefix,
// with no hashing or probing, and nothing for the collector to scan or to
// count in its pacing. The Loc-RIB keeps its entry numbers dense, so the
// array is about as long as the Loc-RIB.
//
//	slot  sent
//	0     4     out set 3
//	1     4
//	2     0     nothing sent: withdrawn, not exported, or a free entry
//	3     1     out set 0
//
// The table does not know its prefixes: a slot names a prefix from the
// Loc-RIB's first report of it until its report of the prefix with no
// paths, and the Loc-RIB makes that report before it gives the slot to
// another prefix (rib.LocRIB.DrainAll). A group without MRAI applies the
// reports in the Loc-RIB's order, so the state at a slot is always that of
// the prefix the Loc-RIB names by it now; what lists the table (a dump, a
// Snapshot) gets the prefixes from a walk of the Loc-RIB (Walk in
// group.go).
//
// With an MRAI the held changes are replayed in map order (Group.hold),
// so a change may reach a slot before the withdrawal of the prefix that
// held it. Such a table also keeps the key at each slot (keys: 8 more
// bytes a prefix for IPv4, 17 for IPv6), and every change checks it: a
// change for another key first withdraws the one stored (the slot was
// reused, and the old key's report with no paths is still to come), and a
// withdrawal for another key leaves the slot alone (it is that late
// report). Without that check a reused slot would send the new prefix but
// never withdraw the old one, or withdraw the new one. Its held changes
// also make it differ from the Loc-RIB for a while, so it lists itself
// from its keys rather than from a walk.
//
// With ADD-PATH a prefix has a slice of paths, in a map by key; the slot
// is not used, and the table lists itself.
type adjOut[K rib.Key] struct {
	addPath bool
	keyed   bool // keys is kept (an MRAI: see above)
	prefix  func(K) netip.Prefix

	keys offheap.Paged[K]      // by slot: the prefix sent (keyed only)
	sent offheap.Paged[uint32] // by slot: its out set + 1; 0 when nothing is sent

	multi map[K][]outPath // ADD-PATH
}

func newAdjOut[K rib.Key](addPath, keyed bool, prefix func(K) netip.Prefix) *adjOut[K] {
	t := &adjOut[K]{addPath: addPath, keyed: keyed && !addPath, prefix: prefix}
	if addPath {
		t.multi = map[K][]outPath{}
	}
	return t
}

// listed reports whether the table knows its prefixes (each), so that
// listing it needs no walk of the Loc-RIB.
func (t *adjOut[K]) listed() bool { return t.addPath || t.keyed }

// get returns the paths sent for k at slot (buf holds them when there is
// one). Without keys the slot is k's by the Loc-RIB's contract.
func (t *adjOut[K]) get(slot uint32, k K, buf *[1]outPath) []outPath {
	if t.addPath {
		return t.multi[k]
	}
	if int(slot) >= t.sent.Len() {
		return nil
	}
	s := *t.sent.At(slot)
	if s == 0 || (t.keyed && *t.keys.At(slot) != k) {
		return nil
	}
	buf[0] = outPath{set: s - 1}
	return buf[:]
}

// other reports the prefix sent at slot when it is not k (the slot was
// reused while changes were held), with its path. Only a keyed table can
// tell, and only it needs to.
func (t *adjOut[K]) other(slot uint32, k K) (K, outPath, bool) {
	var none K
	if !t.keyed || int(slot) >= t.sent.Len() {
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
			t.sent.Grow(int(slot) + 1)
			if t.keyed {
				t.keys.Grow(int(slot) + 1)
			}
		}
		if t.keyed {
			*t.keys.At(slot) = k
		}
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

// each calls fn for every prefix sent (in slot order without ADD-PATH);
// only a listed table can.
func (t *adjOut[K]) each(fn func(k K, ps []outPath)) {
	if t.addPath {
		for k, ps := range t.multi {
			fn(k, ps)
		}
		return
	}
	if !t.keyed {
		panic("export: listing an Adj-RIB-Out that keeps no keys")
	}
	var buf [1]outPath
	for i := range uint32(t.sent.Len()) {
		if s := *t.sent.At(i); s != 0 {
			buf[0] = outPath{set: s - 1}
			fn(*t.keys.At(i), buf[:])
		}
	}
}

// at calls fn for each of keys (a chunk of a walk of the Loc-RIB, each at
// the slot of the same index) that is sent.
func (t *adjOut[K]) at(keys []K, slots []uint32, fn func(k K, ps []outPath)) {
	var buf [1]outPath
	for i, k := range keys {
		if ps := t.get(slots[i], k, &buf); len(ps) > 0 {
			fn(k, ps)
		}
	}
}

// free gives the arrays back at once (the group has ended).
func (t *adjOut[K]) free() {
	t.keys.Free()
	t.sent.Free()
}
