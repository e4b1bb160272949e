package daemon

import (
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/rib"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
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
