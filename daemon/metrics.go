package daemon

// Metrics, on a registry of the daemon's own (never the global one, so that
// two daemons in one test process do not collide). Per-peer series come
// from a collector that reads peer.Status snapshots and the neighbours'
// tables at scrape time: a removed peer simply stops appearing, and no
// stale series is left behind. Counters with no peer label (NOTIFICATIONs
// by code, configuration reloads) are ordinary prometheus vectors.

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/godwit-bgp/godwit/internal/offheap"
	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

type metrics struct {
	reg           *prometheus.Registry
	reloads       *prometheus.CounterVec
	lastReload    prometheus.Gauge
	notifications *prometheus.CounterVec
}

func newMetrics(d *Daemon) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "godwit", Subsystem: "config", Name: "reloads_total",
			Help: "Loads of the configuration file (start, SIGHUP, --watch-config), by result (success, failure).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "godwit", Subsystem: "config", Name: "last_reload_success_timestamp_seconds",
			Help: "When the configuration file was last loaded successfully (Unix time).",
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "godwit", Subsystem: "bgp", Name: "notifications_total",
			Help: "NOTIFICATION messages sent and received, by direction, code and subcode.",
		}, []string{"direction", "code", "subcode"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "godwit", Name: "build_info", Help: "The running godwitd's version.",
		ConstLabels: prometheus.Labels{"version": d.opt.Version},
	})
	build.Set(1)
	tables := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "godwit", Name: "table_memory_bytes",
		Help: "Memory mapped for the route tables outside the Go heap (Loc-RIB index, entries and paths, Adj-RIB-Outs): the go_memstats series do not count it; process_resident_memory_bytes does.",
	}, func() float64 { return float64(offheap.Mapped()) })
	m.reg.MustRegister(tables)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.reloads, m.lastReload, m.notifications, build,
		&peerCollector{d: d}, &fibCollector{d: d},
	)
	m.reg.MustRegister(d.peerM.Collectors()...)
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r) // present from the start, at zero
	}
	return m
}

func (m *metrics) notification(direction string, r *peer.NotificationRecord) {
	code, sub := notificationNames(r)
	m.notifications.WithLabelValues(direction, code, sub).Inc()
}

// peerCollector exports per-peer series from snapshots.
type peerCollector struct{ d *Daemon }

var (
	descSessions = prometheus.NewDesc("godwit_bgp_sessions",
		"Configured BGP sessions by RFC 4271 state.", []string{"state"}, nil)
	descUptime = prometheus.NewDesc("godwit_bgp_session_uptime_seconds",
		"How long the session has been Established (0 when it is not).", []string{"peer"}, nil)
	descFlaps = prometheus.NewDesc("godwit_bgp_session_flaps_total",
		"Times the session left Established.", []string{"peer"}, nil)
	descMsgIn = prometheus.NewDesc("godwit_bgp_messages_received_total",
		"BGP messages received, by peer and message type.", []string{"peer", "type"}, nil)
	descMsgOut = prometheus.NewDesc("godwit_bgp_messages_sent_total",
		"BGP messages sent, by peer and message type.", []string{"peer", "type"}, nil)
	descUpdIn = prometheus.NewDesc("godwit_bgp_updates_received_total",
		"UPDATE messages received, by peer.", []string{"peer"}, nil)
	descUpdOut = prometheus.NewDesc("godwit_bgp_updates_sent_total",
		"UPDATE messages sent, by peer.", []string{"peer"}, nil)
	descPfxRecv = prometheus.NewDesc("godwit_bgp_prefixes_received",
		"Paths in the peer's Adj-RIB-In, by family.", []string{"peer", "family"}, nil)
	descPfxAcc = prometheus.NewDesc("godwit_bgp_prefixes_accepted",
		"Paths accepted from the peer (no import policy yet: all received ones but AS-path loops), by family.", []string{"peer", "family"}, nil)
	descPfxAdv = prometheus.NewDesc("godwit_bgp_prefixes_advertised",
		"Prefixes advertised to the peer, by family.", []string{"peer", "family"}, nil)
	descWithdrawn = prometheus.NewDesc("godwit_bgp_prefixes_withdrawn_total",
		"Withdrawn NLRI received from the peer.", []string{"peer"}, nil)
	descFaults = prometheus.NewDesc("godwit_bgp_update_faults_total",
		"Malformed UPDATE input from the peer, by RFC 7606 action.", []string{"peer", "action"}, nil)
	descRefused = prometheus.NewDesc("godwit_bgp_connections_refused_total",
		"Incoming connections from addresses that are not configured peers.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *peerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessions, descUptime, descFlaps, descMsgIn, descMsgOut, descUpdIn, descUpdOut,
		descPfxRecv, descPfxAcc, descPfxAdv, descWithdrawn, descFaults, descRefused} {
		ch <- d
	}
}

// msgTypes are the message types of Status.MessagesIn/Out, as label values.
var msgTypes = []struct {
	t    iana.MsgType
	name string
}{
	{iana.MsgOpen, "open"}, {iana.MsgUpdate, "update"}, {iana.MsgNotification, "notification"},
	{iana.MsgKeepalive, "keepalive"}, {iana.MsgRouteRefresh, "route-refresh"},
}

var faultActions = []fault.Action{fault.None, fault.AttributeDiscard, fault.TreatAsWithdraw, fault.AFISAFIDisable, fault.SessionReset}

// Collect implements prometheus.Collector.
func (c *peerCollector) Collect(ch chan<- prometheus.Metric) {
	states := map[peer.State]int{}
	now := time.Now()
	for _, n := range c.d.neighborList() {
		st := n.status()
		states[st.State]++
		p := n.key.Addr.String()
		up := 0.0
		if st.State == peer.Established {
			up = now.Sub(st.Since).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descUptime, prometheus.GaugeValue, up, p)
		ch <- prometheus.MustNewConstMetric(descFlaps, prometheus.CounterValue, float64(st.Flaps), p)
		for _, m := range msgTypes {
			ch <- prometheus.MustNewConstMetric(descMsgIn, prometheus.CounterValue, float64(st.MessagesIn[m.t]), p, m.name)
			ch <- prometheus.MustNewConstMetric(descMsgOut, prometheus.CounterValue, float64(st.MessagesOut[m.t]), p, m.name)
		}
		ch <- prometheus.MustNewConstMetric(descUpdIn, prometheus.CounterValue, float64(st.MessagesIn[iana.MsgUpdate]), p)
		ch <- prometheus.MustNewConstMetric(descUpdOut, prometheus.CounterValue, float64(st.MessagesOut[iana.MsgUpdate]), p)
		for _, fp := range n.prefixes() {
			f := fp.Family.String()
			ch <- prometheus.MustNewConstMetric(descPfxRecv, prometheus.GaugeValue, float64(fp.Received), p, f)
			ch <- prometheus.MustNewConstMetric(descPfxAcc, prometheus.GaugeValue, float64(fp.Accepted), p, f)
			ch <- prometheus.MustNewConstMetric(descPfxAdv, prometheus.GaugeValue, float64(fp.Advertised), p, f)
		}
		ch <- prometheus.MustNewConstMetric(descWithdrawn, prometheus.CounterValue, float64(ribCountsOf(n).withdrawn), p)
		for _, a := range faultActions {
			if a == fault.None {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descFaults, prometheus.CounterValue, float64(st.Faults[a]), p, a.String())
		}
	}
	for s := peer.Idle; s <= peer.Established; s++ {
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(states[s]), s.String())
	}
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(c.d.disp.Refused()))
}

// FamilyPrefixes counts one family's routes of a neighbour.
type FamilyPrefixes struct {
	Family     nlri.Family
	Received   uint64 // paths in the Adj-RIB-In
	Accepted   uint64 // paths that passed the import checks (candidates in the Loc-RIB)
	Advertised uint64 // prefixes in the Adj-RIB-Out
}

// prefixes returns the neighbour's counts for every configured or seen
// family, in canonical order.
func (n *neighbor) prefixes() []FamilyPrefixes {
	c := ribCountsOf(n)
	recv, acc := c.received, c.accepted
	adv := map[nlri.Family]int{}
	if g := n.group.Load(); g != nil {
		adv[nlri.IPv4Unicast], adv[nlri.IPv6Unicast] = g.Counts()
	}
	n.d.mu.RLock()
	fams := slices.Clone(n.cfg.Families)
	n.d.mu.RUnlock()
	for f := range recv {
		if !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	slices.SortFunc(fams, compareFamily)
	out := make([]FamilyPrefixes, 0, len(fams))
	for _, f := range fams {
		out = append(out, FamilyPrefixes{Family: f, Received: uint64(recv[f]), Accepted: uint64(acc[f]), Advertised: uint64(adv[f])})
	}
	return out
}

// compareFamily orders families by AFI, then SAFI (IPv4 unicast first).
func compareFamily(a, b nlri.Family) int {
	if a.AFI != b.AFI {
		return int(a.AFI) - int(b.AFI)
	}
	return int(a.SAFI) - int(b.SAFI)
}
