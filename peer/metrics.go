package peer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the peer layer's Prometheus collectors. The daemon creates
// one set, registers it, and hands it to every peer; per-peer counters
// (messages, prefixes) are exported by the daemon from Status snapshots,
// so that a removed peer leaves no stale series.
type Metrics struct {
	Transitions *prometheus.CounterVec
}

// NewMetrics returns unregistered collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "godwit", Subsystem: "peer", Name: "state_transitions_total",
			Help: "BGP FSM state changes, by the state left and the state entered.",
		}, []string{"from", "to"}),
	}
}

// Collectors lists the collectors for registration.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Transitions}
}

func (m *Metrics) transition(from, to State) {
	if m == nil {
		return
	}
	m.Transitions.WithLabelValues(from.String(), to.String()).Inc()
}
