package daemon

import (
	"net/netip"
	"slices"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/rib/export"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// staleHoldTime bounds how long stale routes wait for End-of-RIB once the
// restarted peer is back (FRR's default stalepath-time).
const staleHoldTime = 360 * time.Second

// unicastFamilies are the families the RIB holds.
var unicastFamilies = []nlri.Family{nlri.IPv4Unicast, nlri.IPv6Unicast}

func familyOf(p netip.Prefix) nlri.Family {
	if p.Addr().Is4() {
		return nlri.IPv4Unicast
	}
	return nlri.IPv6Unicast
}

// exportConfig is the update group a session belongs to: the export
// rules of its peer type, our addresses on it, its codec options and its
// ADD-PATH send mode.
func (d *Daemon) exportConfig(spec *config.BGPPeerSpec, s *peer.Session, clusterID netip.Addr) export.Config {
	ibgp := s.IBGP()
	r := export.Rules{LocalAS: s.LocalAS, IBGP: ibgp, Client: ibgp && spec.RouteReflectorClient, ClusterID: clusterID}
	local := s.LocalAddr.Addr().Unmap()
	// Our next hops: the session's address, and for the other family an
	// address of that family on the same interface, as FRR chooses (an
	// IPv6 route over an IPv4 session needs a real IPv6 next hop to be
	// usable); without one, IPv6 routes get the IPv4-mapped address and
	// IPv4 routes are not sent over an IPv6 session (unless RFC 8950).
	other := addressBeside(local)
	if local.Is4() {
		r.NextHop4 = local
		r.NextHop6 = netip.AddrFrom16(local.As16())
		if other.IsValid() {
			r.NextHop6 = other
		}
	} else {
		r.NextHop6 = local
		r.NextHop4 = other
	}
	r.LLGR = s.Negotiated.LongLivedGR != nil
	if i := slices.Index(config.Roles, spec.Role); i >= 0 && !ibgp {
		r.Role = uint8(i) + 1
	}
	r.ExtendedNextHop = slices.Contains(s.Negotiated.ExtendedNextHop, wire.NextHopEntry{Family: nlri.IPv4Unicast, NextHopAFI: iana.AFIIPv6})
	if spec.ExportPolicy != "" {
		if p := d.exportPolicy(spec.ExportPolicy, s.RemoteAddr.Addr().Unmap(), s.LocalAS); p != nil {
			r.Policy, r.PolicyKey = p, p.key
		} else {
			r.PolicyKey = "missing:" + spec.ExportPolicy
		}
	}
	c := export.Config{Rules: r, Options: s.Negotiated.Send, AddPathMode: export.AddPathAll,
		MRAI: time.Duration(spec.AdvertisementInterval)}
	if ap := spec.AddPath; ap != nil {
		switch ap.SendMode {
		case config.AddPathSendECMP:
			c.AddPathMode = export.AddPathECMP
		case config.AddPathSendBestN:
			c.AddPathMode, c.AddPathMax = export.AddPathBestN, ap.SendMax
		}
	}
	return c
}

// localAttrs are the attributes of a route we originate, as the Loc-RIB
// holds it: ORIGIN IGP, an empty AS_PATH, an unspecified next hop (each
// session's export puts our address there), and the Announcement's MED,
// LOCAL_PREF and communities.
func localAttrs(o *origin, fam nlri.Family) attr.List {
	spec := o.spec
	list := attr.List{&attr.Origin{Value: attr.OriginIGP}, &attr.ASPath{}}
	if fam == nlri.IPv4Unicast {
		list = append(list, &attr.NextHop{Addr: netip.IPv4Unspecified()})
	} else {
		list = append(list, attr.NewMPReach(fam, netip.IPv6Unspecified(), netip.Addr{}, nil))
	}
	if spec.MED != nil {
		list = append(list, &attr.MED{Value: *spec.MED})
	}
	if spec.LocalPreference != nil {
		list = append(list, &attr.LocalPref{Value: *spec.LocalPreference})
	}
	if len(spec.Communities) > 0 {
		c := &attr.Communities{}
		for _, v := range spec.Communities {
			c.Values = append(c.Values, uint32(v))
		}
		list = append(list, c)
	}
	if len(spec.LargeCommunities) > 0 {
		c := &attr.LargeCommunities{}
		for _, v := range spec.LargeCommunities {
			c.Values = append(c.Values, attr.LargeCommunity{Global: v.Global, Local1: v.Local1, Local2: v.Local2})
		}
		list = append(list, c)
	}
	return list
}
