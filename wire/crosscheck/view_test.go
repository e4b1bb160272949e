package crosscheck

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// view is one UPDATE as every decoder is made to describe it: plain
// strings in a notation of this package, so that godwit's values, tshark's
// fields and ExaBGP's JSON can be compared with go-cmp. An attribute that
// is absent is the zero value.
//
// Notation:
//
//	routes        10.0.0.0/24, 2001:db8::/32 (unicast; "10.0.0.0/24 path-id 7"
//	              with a non-zero ADD-PATH path identifier)
//	              vpn rd=RD label=L P (VPN-IPv4; L the 20-bit label value,
//	              or "withdrawn" for the field 0x800000 of RFC 8277 §2.4)
//	              evpn1 rd=RD esi=ESI tag=T label=L
//	              evpn2 rd=RD esi=ESI tag=T mac=MAC [ip=IP] label=L[,L2]
//	              evpn3 rd=RD tag=T orig=IP
//	              evpn4 rd=RD esi=ESI orig=IP
//	              evpn5 rd=RD esi=ESI tag=T prefix=P gw=IP label=L
//	RD            admin:assigned (type 0 and 2: AS number, type 1: IPv4)
//	ESI, MAC      lower-case hex octets with colons
//	AS path       segments joined by spaces; AS_SEQUENCE "1 2",
//	              AS_SET "{1,2}"
//	communities   high:low in decimal; large ones g:l1:l2
//	ext. comm.    rt:RD-like value or ro:... (route target or origin), else
//	              the 8 octets in hex
type view struct {
	Announce         []string
	Withdraw         []string
	NextHop          string   // NEXT_HOP
	MPNextHop        []string // MP_REACH_NLRI: global, then link-local
	Origin           string
	ASPath           string
	MED              string
	LocalPref        string
	AtomicAggregate  bool
	Aggregator       string // "AS address"
	Communities      []string
	LargeCommunities []string
	ExtCommunities   []string
	OriginatorID     string
	ClusterList      []string
}

// String lists the fields that are set, one per line, for failure
// messages.
func (v view) String() string {
	var b strings.Builder
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if f := rv.Field(i); !f.IsZero() {
			fmt.Fprintf(&b, "  %s: %v\n", rv.Type().Field(i).Name, f.Interface())
		}
	}
	return b.String()
}

// coverage counts, per field of view, the messages in which it was set, so
// that a test can say what it compared.
type coverage map[string]int

func (c coverage) add(v view) {
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if !rv.Field(i).IsZero() {
			c[rv.Type().Field(i).Name]++
		}
	}
}

// String is "Announce 2810, Withdraw 910, ..." in field order.
func (c coverage) String() string {
	var parts []string
	t := reflect.TypeFor[view]()
	for i := range t.NumField() {
		parts = append(parts, fmt.Sprintf("%s %d", t.Field(i).Name, c[t.Field(i).Name]))
	}
	return strings.Join(parts, ", ")
}

// sorted returns v with the route lists sorted: decoders group routes by
// family (and ExaBGP by next hop), so only the multiset is comparable.
func (v view) sorted() view {
	v.Announce = slices.Sorted(slices.Values(v.Announce))
	v.Withdraw = slices.Sorted(slices.Values(v.Withdraw))
	return v
}

// modelView is the view of what the generator handed to the encoder.
func modelView(attrs attr.List, withdraw, announce []nlri.NLRI) view {
	var v view
	for _, r := range announce {
		v.Announce = append(v.Announce, routeKey(r))
	}
	for _, r := range withdraw {
		v.Withdraw = append(v.Withdraw, routeKey(r))
	}
	if len(announce) == 0 {
		// NewUpdate and the Packer drop the attributes of an UPDATE that
		// announces nothing.
		return v
	}
	hasMP := false
	for _, r := range announce {
		if r.Family() != nlri.IPv4Unicast {
			hasMP = true
		}
	}
	if !hasMP {
		attrs = attrs.Delete(iana.AttrMPReachNLRI)
	}
	attrsView(&v, attrs)
	return v
}

// godwitView is the view of an UPDATE decoded by package wire.
func godwitView(u *wire.Update) view {
	var v view
	for r := range u.Reach() {
		v.Announce = append(v.Announce, routeKeyOf(r))
	}
	for r := range u.Unreach() {
		v.Withdraw = append(v.Withdraw, routeKeyOf(r))
	}
	attrsView(&v, u.Attrs)
	return v
}

func routeKeyOf(r wire.Route) string {
	if r.NLRI != nil {
		return routeKey(r.NLRI)
	}
	return routeKey(r.Prefix)
}

// attrsView fills in the attributes of v from l.
func attrsView(v *view, l attr.List) {
	for _, a := range l {
		switch a := a.(type) {
		case *attr.Origin:
			v.Origin = a.Value.String()
		case *attr.ASPath:
			var segs []string
			for _, s := range a.Segments {
				segs = append(segs, formatSegment(s.Type, s.ASNs))
			}
			v.ASPath = strings.Join(segs, " ")
		case *attr.NextHop:
			v.NextHop = a.Addr.String()
		case *attr.MPReach:
			global, ll, rd, err := a.NextHops()
			if err != nil {
				v.MPNextHop = []string{"error: " + err.Error()}
				break
			}
			prefix := ""
			if rd != (nlri.RD{}) {
				prefix = "rd=" + formatRD(rd) + " "
			}
			v.MPNextHop = []string{prefix + global.String()}
			if ll.IsValid() {
				v.MPNextHop = append(v.MPNextHop, ll.String())
			}
		case *attr.MED:
			v.MED = strconv.FormatUint(uint64(a.Value), 10)
		case *attr.LocalPref:
			v.LocalPref = strconv.FormatUint(uint64(a.Value), 10)
		case *attr.AtomicAggregate:
			v.AtomicAggregate = true
		case *attr.Aggregator:
			v.Aggregator = fmt.Sprintf("%d %s", a.AS, a.Addr)
		case *attr.Communities:
			for _, c := range a.Values {
				v.Communities = append(v.Communities, formatCommunity(c))
			}
		case *attr.LargeCommunities:
			for _, c := range a.Values {
				v.LargeCommunities = append(v.LargeCommunities, fmt.Sprintf("%d:%d:%d", c.Global, c.Local1, c.Local2))
			}
		case *attr.ExtCommunities:
			for _, e := range a.Values {
				v.ExtCommunities = append(v.ExtCommunities, formatExtCommunity(e))
			}
		case *attr.OriginatorID:
			v.OriginatorID = a.ID.String()
		case *attr.ClusterList:
			for _, id := range a.IDs {
				v.ClusterList = append(v.ClusterList, id.String())
			}
		}
	}
}

func formatSegment(t iana.SegmentType, asns []uint32) string {
	parts := make([]string, len(asns))
	for i, as := range asns {
		parts[i] = strconv.FormatUint(uint64(as), 10)
	}
	switch t {
	case iana.SegmentASSet:
		return "{" + strings.Join(parts, ",") + "}"
	case iana.SegmentASSequence:
		return strings.Join(parts, " ")
	}
	return fmt.Sprintf("type%d(%s)", t, strings.Join(parts, " "))
}

func formatCommunity(c uint32) string { return fmt.Sprintf("%d:%d", c>>16, c&0xffff) }

// formatExtCommunity writes route targets and route origins as rt: or
// ro: and the administrator:assigned value, anything else in hex.
func formatExtCommunity(e attr.ExtCommunity) string {
	var kind string
	switch e[1] {
	case attr.ExtSubRouteTarget:
		kind = "rt:"
	case attr.ExtSubRouteOrigin:
		kind = "ro:"
	}
	if kind != "" {
		switch e[0] {
		case attr.ExtTypeTwoOctetAS, attr.ExtTypeIPv4, attr.ExtTypeFourOctetAS:
			return kind + formatAdmin(e[0], [6]byte(e[2:]))
		}
	}
	return "0x" + hex.EncodeToString(e[:])
}

// formatAdmin writes a 6-octet administrator:assigned value of kind 0
// (2-octet AS), 1 (IPv4) or 2 (4-octet AS).
func formatAdmin(kind uint8, v [6]byte) string {
	switch kind {
	case 0:
		return fmt.Sprintf("%d:%d", binary.BigEndian.Uint16(v[:]), binary.BigEndian.Uint32(v[2:]))
	case 1:
		return fmt.Sprintf("%s:%d", netip.AddrFrom4([4]byte(v[:4])), binary.BigEndian.Uint16(v[4:]))
	case 2:
		return fmt.Sprintf("%d:%d", binary.BigEndian.Uint32(v[:]), binary.BigEndian.Uint16(v[4:]))
	}
	return "0x" + hex.EncodeToString(v[:])
}

func formatRD(rd nlri.RD) string {
	if t := binary.BigEndian.Uint16(rd[:]); t <= 2 {
		return formatAdmin(uint8(t), [6]byte(rd[2:]))
	}
	return "0x" + hex.EncodeToString(rd[:])
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// labelValues lists the 20-bit label values; the label field RFC 8277 §2.4
// sends in withdrawals (0x800000) is "withdrawn".
func labelValues(ls []nlri.Label) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = strconv.FormatUint(uint64(l.Value()), 10)
		if l == nlri.WithdrawLabel {
			parts[i] = "withdrawn"
		}
	}
	return strings.Join(parts, ",")
}

// routeKey is a route in the notation of view.
func routeKey(r nlri.NLRI) string {
	switch r := r.(type) {
	case nlri.Prefix:
		if r.PathID != 0 {
			return fmt.Sprintf("%s path-id %d", r.Prefix, r.PathID)
		}
		return r.Prefix.String()
	case nlri.VPN:
		return fmt.Sprintf("vpn rd=%s label=%s %s", formatRD(r.RD), labelValues(r.Labels), r.Prefix)
	case nlri.MACIP:
		s := fmt.Sprintf("evpn2 rd=%s esi=%s tag=%d mac=%s", formatRD(r.RD), colonHex(r.ESI[:]), r.EthernetTag, colonHex(r.MAC[:]))
		if r.IP.IsValid() {
			s += " ip=" + r.IP.String()
		}
		return s + " label=" + labelValues(r.Labels)
	case nlri.EthernetAD:
		return fmt.Sprintf("evpn1 rd=%s esi=%s tag=%d label=%s", formatRD(r.RD), colonHex(r.ESI[:]), r.EthernetTag,
			labelValues([]nlri.Label{r.Label}))
	case nlri.InclusiveMulticast:
		return fmt.Sprintf("evpn3 rd=%s tag=%d orig=%s", formatRD(r.RD), r.EthernetTag, r.OriginatorIP)
	case nlri.EthernetSegment:
		return fmt.Sprintf("evpn4 rd=%s esi=%s orig=%s", formatRD(r.RD), colonHex(r.ESI[:]), r.OriginatorIP)
	case nlri.IPPrefix:
		gw := r.Gateway
		if !gw.IsValid() {
			// No gateway is written as the zero address of the
			// prefix's family.
			gw = netip.IPv4Unspecified()
			if r.Prefix.Addr().Is6() {
				gw = netip.IPv6Unspecified()
			}
		}
		return fmt.Sprintf("evpn5 rd=%s esi=%s tag=%d prefix=%s gw=%s label=%s", formatRD(r.RD), colonHex(r.ESI[:]),
			r.EthernetTag, r.Prefix, gw, labelValues([]nlri.Label{r.Label}))
	}
	return fmt.Sprintf("%T %s", r, r)
}
