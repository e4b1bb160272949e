package daemon

// The monitor samples every peer's Status: it writes one info line per
// session state change, counts NOTIFICATIONs for the metrics, and wakes
// the API's watchers. The peer layer has no state-change hook (see
// docs/operations.md, "Not yet"), so it samples: on a short ticker, and
// at once when a session comes up or goes down (wakeMonitor). States a
// session passes through faster than the ticker (Connect, OpenSent and
// OpenConfirm usually take milliseconds) are reported as one change from
// the state before to the state after.

import (
	"context"
	"fmt"
	"time"

	"github.com/godwit-bgp/godwit/peer"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// monitor is the monitor's goroutine. When nothing has changed for
// quietSamples samples in a row, it samples ten times less often: a
// daemon whose sessions are all settled then costs almost no CPU at rest,
// and every session that comes up or goes down still wakes it at once.
func (d *Daemon) monitor(ctx context.Context) {
	t := time.NewTimer(d.opt.MonitorInterval)
	defer t.Stop()
	quiet := 0
	for {
		woken := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.monitorWake:
			woken = true
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		changed := d.observe()
		if changed {
			d.notify()
		}
		if changed || woken {
			quiet = 0
		} else {
			quiet++
		}
		next := d.opt.MonitorInterval
		if quiet >= quietSamples {
			next *= 10
		}
		t.Reset(next)
	}
}

const quietSamples = 10

// wakeMonitor asks the monitor to sample now.
func (d *Daemon) wakeMonitor() {
	select {
	case d.monitorWake <- struct{}{}:
	default:
	}
}

// observe samples every neighbour once and reports whether anything an
// API watcher shows changed.
func (d *Daemon) observe() bool {
	changed := false
	for _, n := range d.neighborList() {
		if d.observeNeighbor(n) {
			changed = true
		}
	}
	return changed
}

// observeNeighbor samples one neighbour: the monitor calls it, and the
// reconciler once more after stopping a peer, so that its last
// NOTIFICATION and state change are not lost.
func (d *Daemon) observeNeighbor(n *neighbor) bool {
	st := n.status()
	n.monMu.Lock()
	defer n.monMu.Unlock()
	if st.LastSent != nil && st.LastSent != n.lastSent {
		n.lastSent = st.LastSent
		d.met.notification("sent", st.LastSent)
		n.log.Info("NOTIFICATION sent", "notification", describeNotification(st.LastSent))
	}
	if st.LastReceived != nil && st.LastReceived != n.lastRecv {
		n.lastRecv = st.LastReceived
		d.met.notification("received", st.LastReceived)
		n.log.Info("NOTIFICATION received", "notification", describeNotification(st.LastReceived))
	}
	if st.State == n.lastState {
		return false
	}
	args := []any{"from", n.lastState.String(), "to", st.State.String()}
	switch {
	case st.State == peer.Established && st.Session != nil:
		args = append(args, "peer-as", st.Session.Negotiated.PeerAS, "router-id", st.Session.Negotiated.PeerID,
			"hold-time", st.Session.Negotiated.HoldTime, "families", fmt.Sprint(st.Session.Negotiated.Families))
	case st.AdminDown:
		args = append(args, "reason", "admin shutdown")
	case st.LastError != "" && (st.State == peer.Idle || st.State == peer.Active):
		args = append(args, "reason", st.LastError)
	}
	n.lastState = st.State
	n.log.Info("session state changed", args...)
	return true
}

// describeNotification is a NOTIFICATION record as text, with its RFC 9003
// message or the Hard Reset's inner NOTIFICATION.
func describeNotification(r *peer.NotificationRecord) string {
	n := wire.Notification{Code: r.Code, Subcode: r.Subcode, Data: r.Data}
	return n.String()
}

// notificationNames are a NOTIFICATION's code and subcode names, for
// metric labels.
func notificationNames(r *peer.NotificationRecord) (code, subcode string) {
	return r.Code.String(), iana.SubcodeString(r.Code, r.Subcode)
}
