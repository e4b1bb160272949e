package daemon

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/policy"
	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// encodeUpdate packs one UPDATE announcing prefix with attrs and decodes
// it as a session would.
func encodeUpdate(t *testing.T, attrs attr.List, prefix string) *wire.Update {
	t.Helper()
	opt := wire.Options{AS4: true}
	pk := wire.NewPacker(opt)
	pk.SetAttrs(attrs)
	if err := pk.Announce(nlri.Prefix{Prefix: netip.MustParsePrefix(prefix)}); err != nil {
		t.Fatal(err)
	}
	u, err := wire.DecodeUpdate(pk.Bytes()[wire.HeaderLen:], opt)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestImportChecks(t *testing.T) {
	path := func(asns ...uint32) *attr.ASPath {
		return &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: asns}}}
	}
	base := func(nh string, p *attr.ASPath, more ...attr.Attr) attr.List {
		return append(attr.List{&attr.Origin{}, p, &attr.NextHop{Addr: netip.MustParseAddr(nh)}}, more...)
	}
	for _, tc := range []struct {
		name      string
		ibgp      bool
		allowASIn int
		attrs     attr.List
		want      rejectReason
	}{
		{"accepted", false, 0, base("192.0.2.2", path(65002)), accepted},
		{"as loop", false, 0, base("192.0.2.2", path(65002, 65001)), rejectASLoop},
		{"as loop within allowASIn", false, 1, base("192.0.2.2", path(65002, 65001)), accepted},
		{"as loop beyond allowASIn", false, 1, base("192.0.2.2", path(65002, 65001, 65001)), rejectASLoop},
		{"martian next hop 0/8", false, 0, base("0.1.2.3", path(65002)), rejectMartian},
		{"martian next hop multicast", false, 0, base("224.0.0.5", path(65002)), rejectMartian},
		{"martian next hop class E", false, 0, base("240.0.0.1", path(65002)), rejectMartian},
		{"martian next hop loopback", false, 0, base("127.0.0.1", path(65002)), rejectMartian},
		{"documentation range is no martian", false, 0, base("203.0.113.9", path(65002)), accepted},
		{"our own address", false, 0, base("192.0.2.1", path(65002)), rejectOwnNextHop},
		{"our ORIGINATOR_ID", true, 0, base("192.0.2.7", path(), &attr.OriginatorID{ID: netip.MustParseAddr("10.0.0.1")}), rejectOriginator},
		{"another ORIGINATOR_ID", true, 0, base("192.0.2.7", path(), &attr.OriginatorID{ID: netip.MustParseAddr("10.0.0.9")}), accepted},
		{"our cluster ID", true, 0, base("192.0.2.7", path(), &attr.ClusterList{IDs: []netip.Addr{netip.MustParseAddr("9.9.9.9"), netip.MustParseAddr("1.1.1.1")}}), rejectClusterLoop},
		{"ORIGINATOR_ID over eBGP is dropped, not checked", false, 0, base("192.0.2.2", path(65002), &attr.OriginatorID{ID: netip.MustParseAddr("10.0.0.1")}), accepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := &importer{t: rib.NewTable(), opts: attr.Options{AS4: true}, ibgp: tc.ibgp, localAS: 65001,
				allowASIn: tc.allowASIn, routerID: netip.MustParseAddr("10.0.0.1"), clusterID: netip.MustParseAddr("1.1.1.1"),
				local: netip.MustParseAddr("192.0.2.1"), remote: netip.MustParseAddr("192.0.2.2")}
			b := im.batch([]*wire.Update{encodeUpdate(t, tc.attrs, "10.9.0.0/24")})
			if len(b.v4) != 1 {
				t.Fatalf("%d routes", len(b.v4))
			}
			if got := b.v4[0].reason; got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
			b.release(im.t)
			if n := im.t.Len(); n != 0 {
				t.Errorf("%d attribute sets left after release", n)
			}
		})
	}
}

// Over eBGP, LOCAL_PREF is ignored (RFC 4271 §5.1.5) and ORIGINATOR_ID
// and CLUSTER_LIST discarded (RFC 7606 §7.9-7.10); over iBGP they stay.
func TestImportDropsIBGPOnlyAttributes(t *testing.T) {
	attrs := attr.List{&attr.Origin{}, &attr.ASPath{}, &attr.NextHop{Addr: netip.MustParseAddr("192.0.2.2")},
		&attr.LocalPref{Value: 300}, &attr.OriginatorID{ID: netip.MustParseAddr("10.0.0.9")}}
	for _, ibgp := range []bool{false, true} {
		im := &importer{t: rib.NewTable(), opts: attr.Options{AS4: true}, ibgp: ibgp, localAS: 65001,
			remote: netip.MustParseAddr("192.0.2.2")}
		b := im.batch([]*wire.Update{encodeUpdate(t, attrs, "10.9.0.0/24")})
		a := b.attrs(b.v4[0].set)
		if a.HasLocalPref != ibgp || a.OriginatorID().IsValid() != ibgp {
			t.Errorf("ibgp %v: LOCAL_PREF %v, ORIGINATOR_ID %v", ibgp, a.HasLocalPref, a.OriginatorID())
		}
	}
}

// TestImportIPv4FastPath checks importer.reachIPv4, the path most of a
// full table takes, against the general loop over Update.Reach: the same
// UPDATEs go through an importer that keeps pre-policy copies (soft
// reconfiguration), which always takes the general loop, and the routes
// must match but for those copies. The UPDATEs cover every prefix length,
// host bits set in the last octet, prefixes at the end of the field
// (fewer than four octets after them), path identifiers, policies that
// look at the prefix and policies that do not, and UPDATEs the fast path
// must leave alone (MP_REACH_NLRI beside the NLRI, treated as withdraw).
func TestImportIPv4FastPath(t *testing.T) {
	policyOf := func(spec string) *policy.Policy {
		t.Helper()
		doc := "apiVersion: bgp.godwit.dev/v1alpha1\nkind: RoutePolicy\nmetadata: {name: p}\nspec:\n  statements:\n" + spec
		rs, err := config.Parse("test.yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		p, err := policy.Compile("p", rs[0].Spec.(*config.RoutePolicySpec))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := attr.List{&attr.Origin{}, &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65002}}}},
		&attr.NextHop{Addr: netip.MustParseAddr("192.0.2.2")}}
	// plain is every length from 0 to 32, the last octet's host
	// bits set, then a /32 and a /24 at the end of the field.
	var plain []byte
	for bits := 0; bits <= 32; bits++ {
		n := (bits + 7) / 8
		plain = append(plain, byte(bits))
		for i := range n {
			plain = append(plain, byte(10+i*37+bits))
		}
	}
	plain = append(plain, 32, 198, 51, 100, 7, 24, 203, 0, 113)
	withIDs := func(field []byte) []byte {
		var out []byte
		id := uint32(1)
		for off := 0; off < len(field); id++ {
			n := 1 + (int(field[off])+7)/8
			out = binary.BigEndian.AppendUint32(out, id*0x01010101)
			out = append(out, field[off:off+n]...)
			off += n
		}
		return out
	}
	// update encodes attrs and the given NLRI field by hand.
	update := func(attrs attr.List, field []byte, opt wire.Options) *wire.Update {
		t.Helper()
		var body []byte
		body = append(body, 0, 0) // no withdrawn routes
		encoded := attr.Canonical(nil, attrs, attr.Options{AS4: true})
		body = binary.BigEndian.AppendUint16(body, uint16(len(encoded)))
		body = append(body, encoded...)
		body = append(body, field...)
		u, err := wire.DecodeUpdate(body, opt)
		if f := fault.As(err); err != nil && (f == nil || f.Action == fault.SessionReset) {
			t.Fatal(err)
		}
		return u
	}
	addPath := wire.Options{AS4: true, AddPath: nlri.NewAddPath(nlri.IPv4Unicast)}
	mpReach := &attr.MPReach{Family: nlri.IPv6Unicast, NextHop: netip.MustParseAddr("2001:db8::2").AsSlice(),
		NLRI: []byte{32, 0x20, 0x01, 0x0d, 0xb8}}
	cases := []struct {
		name   string
		u      func() *wire.Update
		policy *policy.Policy
		reach  bool // ReachIPv4 takes the UPDATE
	}{
		{"plain", func() *wire.Update { return update(base, plain, wire.Options{AS4: true}) }, nil, true},
		{"path IDs", func() *wire.Update { return update(base, withIDs(plain), addPath) }, nil, true},
		{"policy on attributes only", func() *wire.Update { return update(base, plain, wire.Options{AS4: true}) },
			policyOf("  - name: s\n    actions: {set: {localPreference: 50, communities: {add: [\"65000:1\"]}}, result: accept}\n"), true},
		{"policy rejecting everything", func() *wire.Update { return update(base, plain, wire.Options{AS4: true}) },
			policyOf("  - name: s\n    actions: {result: reject}\n"), true},
		{"policy on the prefix", func() *wire.Update { return update(base, plain, wire.Options{AS4: true}) },
			policyOf("  - name: s\n    conditions: {prefixSet: [{prefix: 10.0.0.0/8, le: 32}]}\n    actions: {result: reject}\n  - name: t\n    actions: {result: accept}\n"), true},
		{"MP_REACH_NLRI too", func() *wire.Update {
			return update(append(slices.Clone(base), mpReach), plain, wire.Options{AS4: true})
		}, nil, false},
		{"treated as withdraw", func() *wire.Update {
			return update(attr.List{base[0], base[2]}, plain, wire.Options{AS4: true}) // no AS_PATH
		}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(keepPre bool) (*importer, *routeBatch, *wire.Update) {
				im := &importer{t: rib.NewTable(), opts: attr.Options{AS4: true}, localAS: 65001, keepPre: keepPre,
					local: netip.MustParseAddr("192.0.2.1"), remote: netip.MustParseAddr("192.0.2.2")}
				if tc.policy != nil {
					im.policy.Store(tc.policy)
				}
				u := tc.u()
				return im, im.batch([]*wire.Update{u}), u
			}
			im, got, u := run(false)
			imRef, want, _ := run(true)
			if _, _, ok := u.ReachIPv4(); ok != tc.reach {
				t.Fatalf("ReachIPv4 says %v, want %v", ok, tc.reach)
			}
			if len(got.v4) != len(want.v4) || len(got.v4) == 0 && tc.reach {
				t.Fatalf("%d routes, the general loop gives %d", len(got.v4), len(want.v4))
			}
			for i := range got.v4 {
				g, w := got.v4[i], want.v4[i]
				ga, wa := got.attrs(g.set), want.attrs(w.set)
				if g.key != w.key || g.id != w.id || g.reason != w.reason {
					t.Errorf("route %d: %s id %d %q, the general loop gives %s id %d %q", i, g.key, g.id, g.reason, w.key, w.id, w.reason)
				}
				if (ga == nil) != (wa == nil) || ga != nil && ga.Key() != wa.Key() {
					t.Errorf("route %d (%s): other attributes than the general loop's", i, g.key)
				}
			}
			if len(got.v6) != len(want.v6) || got.withdrawn != want.withdrawn {
				t.Errorf("%d IPv6 routes and %d withdrawn, the general loop gives %d and %d", len(got.v6), got.withdrawn, len(want.v6), want.withdrawn)
			}
			if field, addPath, ok := u.ReachIPv4(); ok && (tc.policy == nil || !tc.policy.PrefixDependent()) {
				// batch took reachIPv4 for this UPDATE: so does a
				// direct call, with the same routes.
				imFast, _, _ := run(false)
				direct := &routeBatch{}
				imFast.pol = tc.policy
				imFast.reachIPv4(u, field, addPath, direct)
				if len(direct.v4) != len(want.v4) {
					t.Fatalf("reachIPv4 gives %d routes, the general loop %d", len(direct.v4), len(want.v4))
				}
				for i := range direct.v4 {
					if d, w := direct.v4[i], want.v4[i]; d.key != w.key || d.id != w.id || d.reason != w.reason {
						t.Errorf("reachIPv4's route %d: %s id %d %q, the general loop gives %s id %d %q", i, d.key, d.id, d.reason, w.key, w.id, w.reason)
					}
				}
				direct.release(imFast.t)
			}
			got.release(im.t)
			want.release(imRef.t)
		})
	}
}
