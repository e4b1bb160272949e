package backend

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/godwit-bgp/godwit/api"
	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/daemon"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// neighbor is the summary line of a neighbour.
func neighbor(n *daemon.NeighborInfo, now time.Time) api.Neighbor {
	st := &n.Status
	recv, acc, adv := n.Totals()
	out := api.Neighbor{
		Address:            n.Address.String(),
		ASN:                n.PeerAS,
		State:              api.SessionState(st.State.String()),
		PeerType:           peerType(n),
		Description:        n.Description,
		PrefixesReceived:   recv,
		PrefixesAccepted:   acc,
		PrefixesAdvertised: adv,
		MessagesReceived:   sum(st.MessagesIn[:]),
		MessagesSent:       sum(st.MessagesOut[:]),
		Since:              st.Since,
		Info:               info(st),
		AdminShutdown:      st.AdminDown,
	}
	if st.State == peer.Established {
		out.UptimeSeconds = max(int64(now.Sub(st.Since)/time.Second), 0)
	}
	return out
}

func sum(v []uint64) uint64 {
	var t uint64
	for _, x := range v {
		t += x
	}
	return t
}

// info is calicoctl's INFO column: "Established", "Idle (admin
// shutdown)", or why the session is not up ("Connect Socket: Connection
// refused"), else the state.
func info(st *peer.Status) string {
	switch {
	case st.State == peer.Established:
		return "Established"
	case st.AdminDown && st.ShutdownMessage != "":
		return fmt.Sprintf("Idle (admin shutdown: %q)", st.ShutdownMessage)
	case st.AdminDown:
		return "Idle (admin shutdown)"
	case st.LastError != "":
		e := st.LastError
		// The peer layer writes "Connect Socket: connect: connection
		// refused"; calicoctl (BIRD) says "Connect Socket: Connection
		// refused".
		if rest, ok := strings.CutPrefix(e, "Connect Socket: connect: "); ok {
			e = "Connect Socket: " + capitalize(rest)
		}
		return e
	}
	return st.State.String()
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }

// neighborDetail is everything about a neighbour.
func neighborDetail(n *daemon.NeighborInfo, now time.Time) api.NeighborDetail {
	st := &n.Status
	d := api.NeighborDetail{
		Neighbor:             neighbor(n, now),
		LocalASN:             n.LocalAS,
		HoldTime:             api.Timer{Configured: seconds(n.HoldTime)},
		KeepaliveTime:        api.Timer{Configured: seconds(n.KeepaliveTime)},
		ConfiguredFamilies:   familyNames(n.Families),
		LastError:            st.LastError,
		FlapCount:            uint64(st.Flaps),
		ConnectRetryCounter:  uint64(st.ConnectRetryCounter),
		ShutdownMessage:      st.ShutdownMessage,
		Passive:              n.Passive,
		RouteReflectorClient: n.RouteReflectorClient,
		ImportPolicy:         n.ImportPolicy,
		ExportPolicy:         n.ExportPolicy,
		LastNotificationSent: notification(st.LastSent),
		Counters: api.Counters{
			Sent:                   messageCounts(&st.MessagesOut),
			Received:               messageCounts(&st.MessagesIn),
			PrefixesWithdrawn:      n.PrefixesWithdrawn,
			EstablishedTransitions: n.EstablishedCount,
		},
		LastNotificationReceived: notification(st.LastReceived),
	}
	if n.LocalAddress.IsValid() {
		d.LocalAddress = n.LocalAddress.String()
	}
	for _, p := range n.Prefixes {
		d.Prefixes = append(d.Prefixes, api.FamilyPrefixes{Family: p.Family.String(), Received: p.Received, Accepted: p.Accepted, Advertised: p.Advertised})
	}
	if s := st.Session; s != nil {
		neg := s.Negotiated
		d.LocalAddress = s.LocalAddr.Addr().String()
		d.LocalPort, d.RemotePort = s.LocalAddr.Port(), s.RemoteAddr.Port()
		d.RouterID = neg.PeerID.String()
		d.HoldTime.Negotiated = seconds(neg.HoldTime)
		d.KeepaliveTime.Negotiated = seconds(neg.KeepaliveTime)
		d.Families = familyNames(neg.Families)
		d.Capabilities = capabilities(neg)
	}
	return d
}

func familyNames(fs []nlri.Family) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}

func messageCounts(c *[6]uint64) api.MessageCounts {
	m := api.MessageCounts{
		Open:         c[iana.MsgOpen],
		Update:       c[iana.MsgUpdate],
		Notification: c[iana.MsgNotification],
		Keepalive:    c[iana.MsgKeepalive],
		RouteRefresh: c[iana.MsgRouteRefresh],
	}
	m.Total = m.Open + m.Update + m.Notification + m.Keepalive + m.RouteRefresh
	return m
}

// notification converts a NOTIFICATION record; the RFC 9003 message is
// shown as text, other data in hex.
func notification(r *peer.NotificationRecord) *api.Notification {
	if r == nil {
		return nil
	}
	n := &api.Notification{Code: uint8(r.Code), Subcode: r.Subcode, CodeName: r.Code.String(), Message: r.Message, Time: r.Time}
	// Hold Timer Expired and Send Hold Timer Expired have no subcodes.
	if r.Subcode != 0 || (r.Code != iana.NotifHoldTimerExpired && r.Code != iana.NotifSendHoldTimerExpired) {
		n.SubcodeName = iana.SubcodeString(r.Code, r.Subcode)
	}
	w := wire.Notification{Code: r.Code, Subcode: r.Subcode, Data: r.Data}
	if code, sub, _, ok := w.HardResetInner(); ok {
		// RFC 8538 §3: say what the Hard Reset wraps.
		n.SubcodeName += " (" + code.String() + " / " + iana.SubcodeString(code, sub) + ")"
	}
	if r.Message == "" && len(r.Data) > 0 {
		n.Data = hex.EncodeToString(r.Data)
	}
	return n
}

// capName names a capability as the API does.
func capName(c iana.CapCode) string {
	if c == iana.CapFourOctetAS {
		return "4-octet-as"
	}
	return c.String()
}

// capabilities lists the capabilities of both OPENs by code, one entry a
// code, with what each side said and whether the session uses it.
func capabilities(neg *peer.Negotiated) []api.Capability {
	type side struct {
		sent, recv             bool
		sentDetail, recvDetail []string
	}
	m := map[iana.CapCode]*side{}
	get := func(c iana.CapCode) *side {
		if m[c] == nil {
			m[c] = &side{}
		}
		return m[c]
	}
	for _, c := range neg.LocalCaps {
		s := get(c.Code())
		s.sent = true
		if d := capDetail(c); d != "" {
			s.sentDetail = append(s.sentDetail, d)
		}
	}
	for _, c := range neg.PeerCaps {
		s := get(c.Code())
		s.recv = true
		if d := capDetail(c); d != "" {
			s.recvDetail = append(s.recvDetail, d)
		}
	}
	codes := make([]iana.CapCode, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	out := make([]api.Capability, 0, len(codes))
	for _, c := range codes {
		s := m[c]
		both := s.sent && s.recv
		var negotiated bool
		switch c {
		case iana.CapMultiprotocol:
			negotiated = both && len(neg.Families) > 0
		case iana.CapRouteRefresh:
			negotiated = neg.RouteRefresh && s.sent
		case iana.CapEnhancedRouteRefresh:
			negotiated = both && neg.EnhancedRouteRefresh
		case iana.CapExtendedMessage:
			negotiated = both && neg.ExtendedMessage
		case iana.CapExtendedNextHop:
			negotiated = len(neg.ExtendedNextHop) > 0
		case iana.CapFourOctetAS:
			negotiated = both && neg.AS4
		case iana.CapAddPath:
			negotiated = len(neg.AddPathReceive.Families())+len(neg.AddPathSend.Families()) > 0
		default:
			negotiated = both
		}
		out = append(out, api.Capability{Code: uint8(c), Name: capName(c), Sent: s.sent, Received: s.recv, Negotiated: negotiated,
			SentDetail: strings.Join(s.sentDetail, ", "), ReceivedDetail: strings.Join(s.recvDetail, ", ")})
	}
	return out
}

// capDetail is a capability's value as text.
func capDetail(c wire.Capability) string {
	switch c := c.(type) {
	case wire.CapMultiprotocol:
		return c.Family.String()
	case wire.CapFourOctetAS:
		return strconv.FormatUint(uint64(c.AS), 10)
	case wire.CapGracefulRestart:
		parts := []string{fmt.Sprintf("restart time %ds", c.Time)}
		if c.Restarting {
			parts = append(parts, "restarting")
		}
		if c.Notification {
			parts = append(parts, "notification")
		}
		for _, f := range c.Families {
			s := f.Family.String()
			if f.Forwarding {
				s += " (forwarding preserved)"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", ")
	case wire.CapAddPath:
		var parts []string
		for _, e := range c.Entries {
			parts = append(parts, e.Family.String()+" "+e.Mode.String())
		}
		return strings.Join(parts, ", ")
	case wire.CapExtendedNextHop:
		var parts []string
		for _, e := range c.Entries {
			parts = append(parts, e.Family.String()+" via "+e.NextHopAFI.String())
		}
		return strings.Join(parts, ", ")
	case wire.CapRole:
		return c.Role.String()
	case wire.CapFQDN:
		if c.Domain != "" {
			return c.Hostname + "." + c.Domain
		}
		return c.Hostname
	case wire.CapLongLivedGR:
		var parts []string
		for _, f := range c.Families {
			parts = append(parts, fmt.Sprintf("%s stale time %ds", f.Family, f.StaleTime))
		}
		return strings.Join(parts, ", ")
	case wire.CapSoftwareVersion:
		return c.Version
	case wire.CapUnknown:
		if len(c.Value) > 0 {
			return hex.EncodeToString(c.Value)
		}
	}
	return ""
}

// route converts one path.
func route(r *daemon.Route) api.Route {
	out := api.Route{
		Prefix:          r.Text,
		Family:          r.Family.String(),
		PathID:          r.PathID,
		Origin:          api.OriginIncomplete,
		LocalPreference: r.LocalPref(),
		Best:            r.Best,
		Multipath:       r.Multipath,
		Peer:            "local",
		Internal:        r.Internal,
		Filtered:        r.Filtered,
		Stale:           r.Stale,
		Since:           r.Since,
	}
	if r.NextHop.IsValid() {
		out.NextHop = r.NextHop.String()
	}
	if r.Peer.IsValid() {
		out.Peer = r.Peer.String()
	}
	if o, ok := r.Attrs.Origin(); ok {
		switch o.Value {
		case attr.OriginIGP:
			out.Origin = api.OriginIGP
		case attr.OriginEGP:
			out.Origin = api.OriginEGP
		}
	}
	if m, ok := r.Attrs.MED(); ok {
		out.MED = m.Value
	}
	if c, ok := r.Attrs.Communities(); ok {
		out.Communities = c.Strings()
	}
	if c, ok := r.Attrs.LargeCommunities(); ok {
		for _, v := range c.Values {
			out.LargeCommunities = append(out.LargeCommunities, v.String())
		}
	}
	if c, ok := r.Attrs.ExtCommunities(); ok {
		for _, v := range c.Values {
			out.ExtendedCommunities = append(out.ExtendedCommunities, v.String())
		}
	}
	if id, ok := r.Attrs.OriginatorID(); ok {
		out.OriginatorID = id.ID.String()
	}
	if cl, ok := r.Attrs.ClusterList(); ok {
		for _, id := range cl.IDs {
			out.ClusterList = append(out.ClusterList, id.String())
		}
	}
	out.SetASPath(segments(r.ASPath))
	return out
}

// segments converts an AS_PATH; nil is the empty path.
func segments(p *attr.ASPath) []api.ASPathSegment {
	if p == nil {
		return nil
	}
	var out []api.ASPathSegment
	for _, s := range p.Segments {
		t := api.SegmentSequence
		switch s.Type {
		case iana.SegmentASSet:
			t = api.SegmentSet
		case iana.SegmentConfedSequence:
			t = api.SegmentConfedSequence
		case iana.SegmentConfedSet:
			t = api.SegmentConfedSet
		}
		out = append(out, api.ASPathSegment{Type: t, ASNs: slices.Clone(s.ASNs)})
	}
	return out
}

// policyTest converts one path run through a policy. The attributes after
// the policy are those of an accepted path, with the next-hop directive
// applied as import applies it (setNextHop in package daemon): an address
// replaces the next hop, "peer" makes it the path's neighbour, and "self"
// and "unchanged" keep it.
func policyTest(name string, t *daemon.PolicyTest) api.PolicyTestResult {
	res := &t.Result
	out := api.PolicyTestResult{Policy: name, Path: route(&t.Path), Accepted: res.Accept, Statement: res.Statement, Changed: res.Changed,
		Trace: make([]api.PolicyStatement, 0, len(t.Trace))}
	for _, st := range t.Trace {
		out.Trace = append(out.Trace, api.PolicyStatement{Name: st.Name, Matched: st.Matched, FailedCondition: st.FailedCondition,
			Set: slices.Clone(st.Set), Result: st.Result})
	}
	if !res.Accept {
		return out
	}
	after := t.Path
	after.Attrs = res.Attrs
	after.ASPath, _ = res.Attrs.ASPath()
	switch res.NextHop.Mode {
	case config.NextHopAddress:
		after.NextHop = res.NextHop.Addr
	case config.NextHopPeer:
		if t.Path.Peer.IsValid() {
			after.NextHop = t.Path.Peer.Unmap()
		}
	}
	a := api.PolicyAttributesOf(route(&after))
	a.NextHopAction = res.NextHop.String()
	out.Attributes = &a
	return out
}

// peerType is why the neighbour exists: what the cluster layer derived it
// from, else a route-reflector client or a global peer.
func peerType(n *daemon.NeighborInfo) api.PeerType {
	switch {
	case n.PeerType != "":
		return api.PeerType(n.PeerType)
	case n.RouteReflectorClient:
		return api.PeerTypeRRClient
	}
	return api.PeerTypeGlobal
}
