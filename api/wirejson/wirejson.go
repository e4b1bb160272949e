// Package wirejson turns decoded BGP messages (package wire) into JSON
// documents and text for people. It is the conversion layer STYLE.md asks
// for: wire stays free of JSON, and its consumers (godwit decode, the API)
// share this one rendering.
//
// The JSON spells values as operators read them: prefixes as CIDR strings,
// AS paths as arrays of numbers in path order, communities as "a:b", large
// communities as "a:b:c", route targets and RDs as "asn:nn" or "ip:nn",
// MAC addresses as "aa:bb:cc:dd:ee:ff". Every attribute is also listed in
// received order with its flags and raw value, so nothing is lost.
package wirejson

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// Message is one decoded message. Exactly one of the kind-specific parts
// is set, as Type says.
type Message struct {
	Type   string `json:"type"`
	Length int    `json:"length"`

	Open         *Open         `json:"open,omitempty"`
	Update       *Update       `json:"update,omitempty"`
	Notification *Notification `json:"notification,omitempty"`
	RouteRefresh *RouteRefresh `json:"routeRefresh,omitempty"`

	// Faults lists what RFC 7606 found wrong, most severe first.
	Faults []Fault `json:"faults,omitempty"`
}

// Fault is one decoding fault.
type Fault struct {
	Action      string `json:"action"`
	Code        uint8  `json:"code"`
	Subcode     uint8  `json:"subcode"`
	CodeName    string `json:"codeName"`
	SubcodeName string `json:"subcodeName"`
	Attribute   string `json:"attribute,omitempty"`
	Reason      string `json:"reason"`
	Data        string `json:"data,omitempty"`
}

// NewFault renders a fault.
func NewFault(f *fault.Error) Fault {
	x := Fault{
		Action: f.Action.String(), Code: uint8(f.Code), Subcode: f.Subcode,
		CodeName: f.Code.String(), SubcodeName: iana.SubcodeString(f.Code, f.Subcode),
		Reason: f.Reason, Data: hex.EncodeToString(f.Data),
	}
	if f.Attr != 0 {
		x.Attribute = f.Attr.String()
	}
	return x
}

// Open is an OPEN message.
type Open struct {
	Version        uint8        `json:"version"`
	MyAS           uint16       `json:"myAS"`
	ASN            uint32       `json:"asn"`
	HoldTime       uint16       `json:"holdTime"`
	BGPID          string       `json:"bgpID"`
	ExtendedParams bool         `json:"extendedParameters,omitempty"`
	Capabilities   []Capability `json:"capabilities"`
	// Parameters other than capabilities (deprecated authentication, ...).
	OtherParameters []RawParam `json:"otherParameters,omitempty"`
}

// RawParam is an optional parameter kept as bytes.
type RawParam struct {
	Type  uint8  `json:"type"`
	Value string `json:"value"`
}

// Capability is one capability of an OPEN.
type Capability struct {
	Code uint8  `json:"code"`
	Name string `json:"name"`
	// Families for multiprotocol, graceful restart, ADD-PATH, LLGR and
	// extended next hop, with what each says of the family.
	Families []CapFamily `json:"families,omitempty"`
	ASN      uint32      `json:"asn,omitempty"`
	// Graceful restart (RFC 4724, RFC 8538).
	RestartTime  *uint16 `json:"restartTime,omitempty"`
	Restarting   bool    `json:"restarting,omitempty"`
	Notification bool    `json:"notification,omitempty"`
	Role         string  `json:"role,omitempty"`
	Hostname     string  `json:"hostname,omitempty"`
	Domain       string  `json:"domain,omitempty"`
	Version      string  `json:"version,omitempty"`
	Value        string  `json:"value,omitempty"`
}

// CapFamily is a family inside a capability.
type CapFamily struct {
	Family     string `json:"family"`
	Forwarding *bool  `json:"forwarding,omitempty"`
	AddPath    string `json:"addPath,omitempty"`
	NextHopAFI string `json:"nextHopAFI,omitempty"`
	StaleTime  uint32 `json:"staleTime,omitempty"`
}

// Notification is a NOTIFICATION message.
type Notification struct {
	Code        uint8  `json:"code"`
	Subcode     uint8  `json:"subcode"`
	CodeName    string `json:"codeName"`
	SubcodeName string `json:"subcodeName"`
	Data        string `json:"data,omitempty"`
	// ShutdownMessage is the RFC 9003 shutdown communication.
	ShutdownMessage *string `json:"shutdownMessage,omitempty"`
	// HardReset is the NOTIFICATION a Hard Reset wraps (RFC 8538).
	HardReset *Notification `json:"hardReset,omitempty"`
	Text      string        `json:"text"`
}

// RouteRefresh is a ROUTE-REFRESH message.
type RouteRefresh struct {
	Family  string `json:"family"`
	Subtype string `json:"subtype"`
}

// Update is an UPDATE message: the attributes, and the routes it
// announces and withdraws in every family.
type Update struct {
	EndOfRIB   string      `json:"endOfRIB,omitempty"`
	Attributes *Attributes `json:"attributes,omitempty"`
	Announced  []Route     `json:"announced"`
	Withdrawn  []Route     `json:"withdrawn"`
	AttrList   []RawAttr   `json:"attributeList"`
	Disabled   []string    `json:"disabledFamilies,omitempty"`
}

// RawAttr is one path attribute as received.
type RawAttr struct {
	Code   uint8    `json:"code"`
	Name   string   `json:"name"`
	Flags  []string `json:"flags"`
	Length int      `json:"length"`
	Value  string   `json:"value"`
}

// Attributes are the path attributes by name.
type Attributes struct {
	Origin              string      `json:"origin,omitempty"`
	ASPath              []uint32    `json:"asPath,omitempty"`
	ASPathText          *string     `json:"asPathText,omitempty"`
	ASPathSegments      []Segment   `json:"asPathSegments,omitempty"`
	AS4Path             []Segment   `json:"as4Path,omitempty"`
	NextHop             string      `json:"nextHop,omitempty"`
	MED                 *uint32     `json:"med,omitempty"`
	LocalPreference     *uint32     `json:"localPreference,omitempty"`
	AtomicAggregate     bool        `json:"atomicAggregate,omitempty"`
	Aggregator          *Aggregator `json:"aggregator,omitempty"`
	AS4Aggregator       *Aggregator `json:"as4Aggregator,omitempty"`
	Communities         []string    `json:"communities,omitempty"`
	OriginatorID        string      `json:"originatorID,omitempty"`
	ClusterList         []string    `json:"clusterList,omitempty"`
	ExtendedCommunities []string    `json:"extendedCommunities,omitempty"`
	RouteTargets        []string    `json:"routeTargets,omitempty"`
	IPv6ExtCommunities  []string    `json:"ipv6ExtendedCommunities,omitempty"`
	LargeCommunities    []string    `json:"largeCommunities,omitempty"`
	PMSITunnel          *PMSITunnel `json:"pmsiTunnel,omitempty"`
	TunnelEncap         []Tunnel    `json:"tunnelEncapsulation,omitempty"`
	AIGP                *uint64     `json:"aigp,omitempty"`
	OTC                 *uint32     `json:"otc,omitempty"`
	MPReach             *MPReach    `json:"mpReach,omitempty"`
	MPUnreach           *MPUnreach  `json:"mpUnreach,omitempty"`
	Unknown             []RawAttr   `json:"unknown,omitempty"`
}

// Segment is one AS_PATH segment.
type Segment struct {
	Type string   `json:"type"`
	ASNs []uint32 `json:"asns"`
}

// Aggregator is AGGREGATOR or AS4_AGGREGATOR.
type Aggregator struct {
	ASN     uint32 `json:"asn"`
	Address string `json:"address"`
}

// PMSITunnel is the RFC 6514 attribute.
type PMSITunnel struct {
	Type     string `json:"type"`
	Flags    uint8  `json:"flags"`
	Label    uint32 `json:"label"`
	TunnelID string `json:"tunnelID"`
}

// Tunnel is one tunnel of the RFC 9012 attribute.
type Tunnel struct {
	Type    string   `json:"type"`
	SubTLVs []RawTLV `json:"subTLVs,omitempty"`
}

// RawTLV is a sub-TLV kept as bytes.
type RawTLV struct {
	Type  uint8  `json:"type"`
	Value string `json:"value"`
}

// MPReach is MP_REACH_NLRI's fixed part; its routes are in Announced.
type MPReach struct {
	Family           string `json:"family"`
	NextHop          string `json:"nextHop,omitempty"`
	LinkLocalNextHop string `json:"linkLocalNextHop,omitempty"`
	NextHopRD        string `json:"nextHopRD,omitempty"`
	NextHopRaw       string `json:"nextHopRaw"`
}

// MPUnreach is MP_UNREACH_NLRI's family; its routes are in Withdrawn.
type MPUnreach struct {
	Family string `json:"family"`
}

// Route is one announced or withdrawn route, in any family.
type Route struct {
	Family  string `json:"family"`
	Prefix  string `json:"prefix"`
	PathID  uint32 `json:"pathId,omitempty"`
	NextHop string `json:"nextHop,omitempty"`
	// Labeled, VPN and EVPN parts.
	Labels      []uint32 `json:"labels,omitempty"`
	RD          string   `json:"rd,omitempty"`
	RouteType   string   `json:"routeType,omitempty"`
	ESI         string   `json:"esi,omitempty"`
	EthernetTag *uint32  `json:"ethernetTag,omitempty"`
	MAC         string   `json:"mac,omitempty"`
	IP          string   `json:"ip,omitempty"`
	Originator  string   `json:"originator,omitempty"`
	Gateway     string   `json:"gateway,omitempty"`
	RouteTarget string   `json:"routeTarget,omitempty"`
	OriginAS    *uint32  `json:"originAS,omitempty"`
	Raw         string   `json:"raw,omitempty"`
}

// FromMessage renders m; faults are those the decoder returned with it.
// opt must be the options m was decoded with (AS_PATH and AS4_PATH are
// merged per RFC 6793 when opt.AS4 is off).
func FromMessage(m wire.Message, length int, opt wire.Options, faults []*fault.Error) Message {
	out := Message{Type: m.Type().String(), Length: length}
	switch m := m.(type) {
	case *wire.Open:
		out.Open = fromOpen(m)
	case *wire.Update:
		out.Update = fromUpdate(m, opt)
	case *wire.Notification:
		out.Notification = fromNotification(m)
	case *wire.RouteRefresh:
		out.RouteRefresh = &RouteRefresh{Family: m.Family.String(), Subtype: m.Subtype.String()}
	}
	worst := fault.Worst(faults)
	if worst != nil {
		out.Faults = append(out.Faults, NewFault(worst))
	}
	for _, f := range faults {
		if f != nil && f != worst {
			out.Faults = append(out.Faults, NewFault(f))
		}
	}
	return out
}

func fromOpen(o *wire.Open) *Open {
	x := &Open{Version: o.Version, MyAS: o.MyAS, ASN: o.AS(), HoldTime: o.HoldTime,
		ExtendedParams: o.ExtendedParams, Capabilities: []Capability{}}
	if o.BGPID.IsValid() {
		x.BGPID = o.BGPID.String()
	} else {
		x.BGPID = "0.0.0.0"
	}
	for _, p := range o.Params {
		if p.Type != iana.ParamCapabilities {
			x.OtherParameters = append(x.OtherParameters, RawParam{Type: uint8(p.Type), Value: hex.EncodeToString(p.Value)})
			continue
		}
		for _, c := range p.Caps {
			x.Capabilities = append(x.Capabilities, fromCapability(c))
		}
	}
	return x
}

func fromCapability(c wire.Capability) Capability {
	x := Capability{Code: uint8(c.Code()), Name: c.Code().String()}
	switch c := c.(type) {
	case wire.CapMultiprotocol:
		x.Families = []CapFamily{{Family: c.Family.String()}}
	case wire.CapFourOctetAS:
		x.ASN = c.AS
	case wire.CapGracefulRestart:
		t := c.Time
		x.RestartTime, x.Restarting, x.Notification = &t, c.Restarting, c.Notification
		for _, f := range c.Families {
			fw := f.Forwarding
			x.Families = append(x.Families, CapFamily{Family: f.Family.String(), Forwarding: &fw})
		}
	case wire.CapAddPath:
		for _, e := range c.Entries {
			x.Families = append(x.Families, CapFamily{Family: e.Family.String(), AddPath: e.Mode.String()})
		}
	case wire.CapExtendedNextHop:
		for _, e := range c.Entries {
			x.Families = append(x.Families, CapFamily{Family: e.Family.String(), NextHopAFI: e.NextHopAFI.String()})
		}
	case wire.CapLongLivedGR:
		for _, f := range c.Families {
			fw := f.Flags&0x80 != 0
			x.Families = append(x.Families, CapFamily{Family: f.Family.String(), Forwarding: &fw, StaleTime: f.StaleTime})
		}
	case wire.CapRole:
		x.Role = c.Role.String()
	case wire.CapFQDN:
		x.Hostname, x.Domain = c.Hostname, c.Domain
	case wire.CapSoftwareVersion:
		x.Version = c.Version
	case wire.CapUnknown:
		x.Value = hex.EncodeToString(c.Value)
	}
	return x
}

func fromNotification(n *wire.Notification) *Notification {
	x := &Notification{Code: uint8(n.Code), Subcode: n.Subcode, CodeName: n.Code.String(),
		SubcodeName: iana.SubcodeString(n.Code, n.Subcode), Data: hex.EncodeToString(n.Data), Text: n.String()}
	if m, ok := n.ShutdownMessage(); ok {
		x.ShutdownMessage = &m
	}
	if code, sub, data, ok := n.HardResetInner(); ok {
		x.HardReset = fromNotification(&wire.Notification{Code: code, Subcode: sub, Data: data})
	}
	return x
}

func fromUpdate(u *wire.Update, opt wire.Options) *Update {
	x := &Update{Announced: []Route{}, Withdrawn: []Route{}, AttrList: []RawAttr{}}
	if f, ok := u.EndOfRIB(); ok {
		x.EndOfRIB = f.String()
	}
	aopt := attr.Options{AS4: opt.AS4}
	for _, a := range u.Attrs {
		x.AttrList = append(x.AttrList, rawAttr(a, aopt))
	}
	if len(u.Attrs) > 0 {
		x.Attributes = fromAttrs(u.Attrs, aopt)
	}
	for _, f := range u.Disabled() {
		x.Disabled = append(x.Disabled, f.String())
	}
	nh := ""
	if x.Attributes != nil {
		nh = x.Attributes.NextHop
	}
	mpNH := ""
	if x.Attributes != nil && x.Attributes.MPReach != nil {
		mpNH = x.Attributes.MPReach.NextHop
	}
	for r := range u.Reach() {
		rt := fromRoute(r)
		if r.Family == nlri.IPv4Unicast && len(u.NLRI) > 0 && !inMP(u, r.Family) {
			rt.NextHop = nh
		} else {
			rt.NextHop = mpNH
		}
		x.Announced = append(x.Announced, rt)
	}
	for r := range u.Unreach() {
		x.Withdrawn = append(x.Withdrawn, fromRoute(r))
	}
	return x
}

// inMP reports whether MP_REACH carries family f (IPv4 unicast can come
// either way).
func inMP(u *wire.Update, f nlri.Family) bool {
	mp, ok := u.Attrs.MPReach()
	return ok && mp.Family == f && len(mp.NLRI) > 0 && len(u.NLRI) == 0
}

func flagNames(f attr.Flags) []string {
	names := []string{}
	if f&attr.FlagOptional != 0 {
		names = append(names, "optional")
	} else {
		names = append(names, "well-known")
	}
	if f&attr.FlagTransitive != 0 {
		names = append(names, "transitive")
	}
	if f&attr.FlagPartial != 0 {
		names = append(names, "partial")
	}
	if f&attr.FlagExtendedLength != 0 {
		names = append(names, "extended-length")
	}
	return names
}

func rawAttr(a attr.Attr, opt attr.Options) RawAttr {
	v := a.AppendValue(nil, opt)
	return RawAttr{Code: uint8(a.Code()), Name: a.Code().String(), Flags: flagNames(a.Flags()), Length: len(v), Value: hex.EncodeToString(v)}
}

func segments(segs []attr.Segment) []Segment {
	out := make([]Segment, 0, len(segs))
	for _, s := range segs {
		out = append(out, Segment{Type: s.Type.String(), ASNs: append([]uint32{}, s.ASNs...)})
	}
	return out
}

func fromAttrs(l attr.List, opt attr.Options) *Attributes {
	x := &Attributes{}
	// RFC 6793 §4.2.3: on a 2-octet session the real path is the merge
	// of AS_PATH and AS4_PATH.
	path, agg := l.ReconcileAS4(opt)
	if path != nil {
		x.ASPath = path.Flat()
		if x.ASPath == nil {
			x.ASPath = []uint32{}
		}
		s := path.String()
		x.ASPathText = &s
		x.ASPathSegments = segments(path.Segments)
	}
	if agg != nil {
		x.Aggregator = &Aggregator{ASN: agg.AS, Address: agg.Addr.String()}
	}
	for _, a := range l {
		switch a := a.(type) {
		case *attr.Origin:
			x.Origin = strings.ToUpper(a.Value.String())
			if a.Value == attr.OriginIncomplete {
				x.Origin = "incomplete"
			}
		case *attr.ASPath, *attr.Aggregator:
			// Rendered above from the reconciled values.
		case *attr.AS4Path:
			x.AS4Path = segments(a.Segments)
		case *attr.AS4Aggregator:
			x.AS4Aggregator = &Aggregator{ASN: a.AS, Address: a.Addr.String()}
		case *attr.NextHop:
			x.NextHop = a.Addr.String()
		case *attr.MED:
			v := a.Value
			x.MED = &v
		case *attr.LocalPref:
			v := a.Value
			x.LocalPreference = &v
		case *attr.AtomicAggregate:
			x.AtomicAggregate = true
		case *attr.Communities:
			x.Communities = a.Strings()
		case *attr.OriginatorID:
			x.OriginatorID = a.ID.String()
		case *attr.ClusterList:
			for _, id := range a.IDs {
				x.ClusterList = append(x.ClusterList, id.String())
			}
		case *attr.ExtCommunities:
			for _, c := range a.Values {
				x.ExtendedCommunities = append(x.ExtendedCommunities, c.String())
				if rt, ok := c.RouteTarget(); ok {
					x.RouteTargets = append(x.RouteTargets, rt)
				}
			}
		case *attr.IPv6ExtCommunities:
			for _, c := range a.Values {
				x.IPv6ExtCommunities = append(x.IPv6ExtCommunities, attr.FormatIPv6ExtCommunity(c))
			}
		case *attr.LargeCommunities:
			for _, c := range a.Values {
				x.LargeCommunities = append(x.LargeCommunities, c.String())
			}
		case *attr.PMSITunnel:
			id := hex.EncodeToString(a.TunnelID)
			if ip, ok := a.TunnelAddr(); ok {
				id = ip.String()
			}
			x.PMSITunnel = &PMSITunnel{Type: a.Type.String(), Flags: a.TunnelFlags, Label: a.Label.Value(), TunnelID: id}
		case *attr.TunnelEncap:
			for _, t := range a.Tunnels {
				tt := Tunnel{Type: t.Type.String()}
				for _, s := range t.SubTLVs {
					tt.SubTLVs = append(tt.SubTLVs, RawTLV{Type: s.Type, Value: hex.EncodeToString(s.Value)})
				}
				x.TunnelEncap = append(x.TunnelEncap, tt)
			}
		case *attr.AIGP:
			if m, ok := a.Metric(); ok {
				x.AIGP = &m
			}
		case *attr.OTC:
			v := a.AS
			x.OTC = &v
		case *attr.MPReach:
			mp := &MPReach{Family: a.Family.String(), NextHopRaw: hex.EncodeToString(a.NextHop)}
			if g, ll, rd, err := a.NextHops(); err == nil {
				if g.IsValid() {
					mp.NextHop = g.String()
				}
				if ll.IsValid() {
					mp.LinkLocalNextHop = ll.String()
				}
				if rd != (nlri.RD{}) {
					mp.NextHopRD = rd.String()
				}
			}
			x.MPReach = mp
		case *attr.MPUnreach:
			x.MPUnreach = &MPUnreach{Family: a.Family.String()}
		default:
			x.Unknown = append(x.Unknown, rawAttr(a, opt))
		}
	}
	return x
}

func labelValues(ls []nlri.Label) []uint32 {
	var out []uint32
	for _, l := range ls {
		out = append(out, l.Value())
	}
	return out
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func fromRoute(r wire.Route) Route {
	x := Route{Family: r.Family.String()}
	if r.NLRI == nil {
		x.Prefix, x.PathID = r.Prefix.Prefix.String(), r.Prefix.PathID
		return x
	}
	x.Prefix = r.NLRI.String()
	switch n := r.NLRI.(type) {
	case nlri.Prefix:
		x.Prefix, x.PathID = n.Prefix.String(), n.PathID
	case nlri.Labeled:
		x.Prefix, x.PathID, x.Labels = n.Prefix.String(), n.PathID, labelValues(n.Labels)
	case nlri.VPN:
		x.Prefix, x.PathID, x.Labels, x.RD = n.Prefix.String(), n.PathID, labelValues(n.Labels), n.RD.String()
	case nlri.EthernetAD:
		tag := n.EthernetTag
		x.PathID, x.RD, x.ESI, x.EthernetTag, x.Labels = n.PathID, n.RD.String(), n.ESI.String(), &tag, labelValues([]nlri.Label{n.Label})
		x.RouteType = n.RouteType().String()
	case nlri.MACIP:
		tag := n.EthernetTag
		x.PathID, x.RD, x.ESI, x.EthernetTag, x.MAC, x.IP, x.Labels = n.PathID, n.RD.String(), n.ESI.String(), &tag, n.MAC.String(), addrString(n.IP), labelValues(n.Labels)
		x.RouteType = n.RouteType().String()
	case nlri.InclusiveMulticast:
		tag := n.EthernetTag
		x.PathID, x.RD, x.EthernetTag, x.Originator = n.PathID, n.RD.String(), &tag, addrString(n.OriginatorIP)
		x.RouteType = n.RouteType().String()
	case nlri.EthernetSegment:
		x.PathID, x.RD, x.ESI, x.Originator = n.PathID, n.RD.String(), n.ESI.String(), addrString(n.OriginatorIP)
		x.RouteType = n.RouteType().String()
	case nlri.IPPrefix:
		tag := n.EthernetTag
		x.PathID, x.RD, x.ESI, x.EthernetTag, x.IP, x.Gateway = n.PathID, n.RD.String(), n.ESI.String(), &tag, n.Prefix.String(), addrString(n.Gateway)
		x.Labels = labelValues([]nlri.Label{n.Label})
		x.RouteType = n.RouteType().String()
	case nlri.EVPNUnknown:
		x.PathID, x.RouteType, x.Raw = n.PathID, n.Type.String(), hex.EncodeToString(n.Data)
	case nlri.RTC:
		as := n.OriginAS
		x.PathID, x.OriginAS = n.PathID, &as
		if n.Length >= 96 {
			x.RouteTarget = attr.ExtCommunity(n.RT).String()
		}
	case nlri.Opaque:
		x.Raw = hex.EncodeToString(n.Data)
	}
	return x
}

// Text renders a message for people: one line per field.
func Text(m Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d octets)\n", m.Type, m.Length)
	row := func(k, v string) { fmt.Fprintf(&b, "  %-22s %s\n", k, v) }
	switch {
	case m.Open != nil:
		o := m.Open
		row("version", fmt.Sprint(o.Version))
		row("AS", fmt.Sprintf("%d (my AS field %d)", o.ASN, o.MyAS))
		row("hold time", fmt.Sprintf("%d s", o.HoldTime))
		row("BGP identifier", o.BGPID)
		for _, c := range o.Capabilities {
			row("capability", capText(c))
		}
	case m.Notification != nil:
		row("notification", m.Notification.Text)
		if m.Notification.Data != "" {
			row("data", m.Notification.Data)
		}
	case m.RouteRefresh != nil:
		row("family", m.RouteRefresh.Family)
		row("subtype", m.RouteRefresh.Subtype)
	case m.Update != nil:
		u := m.Update
		if u.EndOfRIB != "" {
			row("End-of-RIB", u.EndOfRIB)
		}
		for _, a := range u.AttrList {
			row(a.Name, attrText(a, u.Attributes))
		}
		for _, r := range u.Announced {
			s := r.Family + " " + r.Prefix
			if r.NextHop != "" {
				s += " via " + r.NextHop
			}
			if len(r.Labels) > 0 {
				s += fmt.Sprintf(" labels %v", r.Labels)
			}
			row("announce", s)
		}
		for _, r := range u.Withdrawn {
			row("withdraw", r.Family+" "+r.Prefix)
		}
	}
	for _, f := range m.Faults {
		row("FAULT", fmt.Sprintf("%s: %s / %s: %s", f.Action, f.CodeName, f.SubcodeName, f.Reason))
	}
	return b.String()
}

func capText(c Capability) string {
	s := c.Name
	var parts []string
	for _, f := range c.Families {
		p := f.Family
		if f.AddPath != "" {
			p += " " + f.AddPath
		}
		if f.NextHopAFI != "" {
			p += " nexthop " + f.NextHopAFI
		}
		parts = append(parts, p)
	}
	if c.ASN != 0 {
		parts = append(parts, fmt.Sprint(c.ASN))
	}
	if c.RestartTime != nil {
		parts = append(parts, fmt.Sprintf("restart %ds", *c.RestartTime))
	}
	if c.Role != "" {
		parts = append(parts, c.Role)
	}
	if c.Hostname != "" {
		parts = append(parts, c.Hostname)
	}
	if c.Version != "" {
		parts = append(parts, c.Version)
	}
	if c.Value != "" {
		parts = append(parts, "0x"+c.Value)
	}
	if len(parts) > 0 {
		s += " " + strings.Join(parts, ", ")
	}
	return s
}

func attrText(a RawAttr, x *Attributes) string {
	if x == nil {
		return "0x" + a.Value
	}
	switch iana.AttrCode(a.Code) {
	case iana.AttrOrigin:
		return x.Origin
	case iana.AttrASPath:
		if x.ASPathText != nil {
			return *x.ASPathText
		}
	case iana.AttrNextHop:
		return x.NextHop
	case iana.AttrMED:
		if x.MED != nil {
			return fmt.Sprint(*x.MED)
		}
	case iana.AttrLocalPref:
		if x.LocalPreference != nil {
			return fmt.Sprint(*x.LocalPreference)
		}
	case iana.AttrCommunities:
		return strings.Join(x.Communities, " ")
	case iana.AttrLargeCommunities:
		return strings.Join(x.LargeCommunities, " ")
	case iana.AttrExtendedCommunities:
		return strings.Join(x.ExtendedCommunities, " ")
	case iana.AttrOriginatorID:
		return x.OriginatorID
	case iana.AttrClusterList:
		return strings.Join(x.ClusterList, " ")
	case iana.AttrMPReachNLRI:
		if x.MPReach != nil {
			s := x.MPReach.Family + " next hop " + x.MPReach.NextHop
			if x.MPReach.LinkLocalNextHop != "" {
				s += " " + x.MPReach.LinkLocalNextHop
			}
			return s
		}
	case iana.AttrMPUnreachNLRI:
		if x.MPUnreach != nil {
			return x.MPUnreach.Family
		}
	case iana.AttrAtomicAggregate:
		return "yes"
	case iana.AttrAggregator:
		if x.Aggregator != nil {
			return fmt.Sprintf("AS %d %s", x.Aggregator.ASN, x.Aggregator.Address)
		}
	}
	return "0x" + a.Value
}
