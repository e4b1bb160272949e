package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/internal/netns"
	"github.com/godwit-bgp/godwit/internal/routers"
)

// StatusReport is the lab at a glance. Its JSON form is `godwit lab
// status -o json`.
type StatusReport struct {
	Prefix   string `json:"prefix"`
	StateDir string `json:"stateDir"`
	// State is "up" (everything recorded exists and runs), "down"
	// (nothing of the lab exists) or "broken" (something is missing or
	// dead, or remains of a lab are left; Problems says what).
	State   string    `json:"state"`
	Started time.Time `json:"started,omitzero"`
	// Ready is when Up's checks first passed.
	Ready      time.Time         `json:"ready,omitzero"`
	Namespaces []NamespaceStatus `json:"namespaces"`
	Processes  []ProcessStatus   `json:"processes"`
	Sessions   []Session         `json:"sessions"`
	Problems   []string          `json:"problems"`
}

// NamespaceStatus is one namespace of the lab.
type NamespaceStatus struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`
}

// ProcessStatus is one daemon of the lab.
type ProcessStatus struct {
	Name      string `json:"name"`
	Member    string `json:"member"`
	Namespace string `json:"namespace"`
	PID       int    `json:"pid"`
	Running   bool   `json:"running"`
	Log       string `json:"log,omitempty"`
}

// Status reports the lab's namespaces, processes and sessions. It changes
// nothing.
func (l *Lab) Status(ctx context.Context) (*StatusReport, error) {
	if err := needRoot(); err != nil {
		return nil, err
	}
	o := &l.o
	r := &StatusReport{Prefix: o.Prefix, StateDir: o.StateDir, Namespaces: []NamespaceStatus{}, Processes: []ProcessStatus{}, Sessions: []Session{}, Problems: []string{}}
	names, err := netns.List(o.Prefix + "-")
	if err != nil {
		return nil, err
	}
	st, err := o.readState()
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	if st == nil {
		for _, n := range names {
			r.Namespaces = append(r.Namespaces, NamespaceStatus{Name: n, Present: true})
		}
		r.State = "down"
		if len(names) > 0 || exists(o.StateDir) {
			r.State = "broken"
			r.Problems = append(r.Problems, "remains of a lab without its record: run godwit lab down, then godwit lab up")
		}
		return r, nil
	}
	r.Started, r.Ready = st.Started, st.Ready
	for _, n := range st.Namespaces {
		present := exists("/run/netns/" + n)
		r.Namespaces = append(r.Namespaces, NamespaceStatus{Name: n, Present: present})
		if !present {
			r.Problems = append(r.Problems, "namespace "+n+" is gone")
		}
	}
	for _, n := range names {
		if !slices.Contains(st.Namespaces, n) {
			r.Namespaces = append(r.Namespaces, NamespaceStatus{Name: n, Present: true})
			r.Problems = append(r.Problems, "namespace "+n+" is not the lab's record")
		}
	}
	for _, p := range st.Processes {
		ps := ProcessStatus{Name: p.Name, Member: p.Member, Namespace: p.Namespace, PID: p.PID, Running: p.alive(o.StateDir), Log: p.Log}
		r.Processes = append(r.Processes, ps)
		if !ps.Running {
			r.Problems = append(r.Problems, fmt.Sprintf("%s of %s (pid %d) is not running", p.Name, p.Member, p.PID))
		}
	}
	// Daemons inside the lab's namespaces that the record does not name
	// (`lab up` was killed before it wrote them down).
	for _, n := range names {
		for _, pid := range nsPIDs(n) {
			if slices.ContainsFunc(st.Processes, func(p process) bool { return p.PID == pid }) {
				continue
			}
			info := readProc(pid)
			if info.running() && info.ours(o.StateDir) {
				r.Processes = append(r.Processes, ProcessStatus{Name: info.program(), Namespace: n, PID: pid, Running: true})
				r.Problems = append(r.Problems, fmt.Sprintf("%s (pid %d) in %s is not in the lab's record", info.program(), pid, n))
			}
		}
	}
	if st.Ready.IsZero() {
		r.Problems = append(r.Problems, "godwit lab up has not completed")
	}
	if st.Plan == nil {
		r.Problems = append(r.Problems, "the lab's record has no plan")
	} else if frr, err := l.attachRouter(st.Plan); err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		r.Sessions = sessions(ctx, st.Plan, frr)
		for _, s := range r.Sessions {
			if !s.Established() {
				r.Problems = append(r.Problems, "session "+describeSession(s))
			}
		}
	}
	r.State = "up"
	if len(r.Problems) > 0 {
		r.State = "broken"
	}
	return r, nil
}

// attachRouter attaches to the router of a lab built earlier.
func (l *Lab) attachRouter(p *Plan) (*routers.FRR, error) {
	tor, err := netns.Open(p.Router.Namespace)
	if err != nil {
		return nil, err
	}
	return routers.AttachFRR(tor, l.routerConfig(p))
}

// Text writes the report for people.
func (r *StatusReport) Text() string {
	var b strings.Builder
	switch r.State {
	case "down":
		fmt.Fprintf(&b, "The lab is not running (no %s-* namespaces). Start it with: sudo godwit lab up\n", r.Prefix)
		return b.String()
	case "up":
		fmt.Fprintf(&b, "The lab is up since %s (%s ago); its files are in %s.\n", r.Started.Local().Format("2006-01-02 15:04:05"), time.Since(r.Started).Round(time.Second), r.StateDir)
	default:
		fmt.Fprintf(&b, "The lab is broken: %d problems (below). `godwit lab down` removes what is left, `godwit lab up` builds it again.\n", len(r.Problems))
	}
	procs := map[string][]string{}
	for _, p := range r.Processes {
		state := "running"
		if !p.Running {
			state = "NOT RUNNING"
		}
		procs[p.Namespace] = append(procs[p.Namespace], fmt.Sprintf("%s (pid %d) %s", p.Name, p.PID, state))
	}
	var rows [][]string
	for _, n := range r.Namespaces {
		present := "present"
		if !n.Present {
			present = "MISSING"
		}
		rows = append(rows, []string{n.Name, present, orDash(strings.Join(procs[n.Name], ", "))})
	}
	b.WriteString("\n")
	table(&b, "  ", []string{"NAMESPACE", "STATE", "PROCESSES"}, rows)
	if len(r.Sessions) > 0 {
		rows = nil
		for _, s := range r.Sessions {
			rows = append(rows, []string{s.Node, s.NodeAddress, s.RouterAddress, orDash(s.RouterState), orDash(s.NodeState)})
		}
		b.WriteString("\n")
		table(&b, "  ", []string{"NODE", "NODE ADDRESS", "ROUTER ADDRESS", "ROUTER SAYS", "NODE SAYS"}, rows)
	}
	if len(r.Problems) > 0 {
		b.WriteString("\nProblems:\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	return b.String()
}
