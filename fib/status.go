package fib

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// maxHealthErrs bounds the failures health joins.
const maxHealthErrs = 8

// health is the reconciler's current failures joined: the first few by key,
// and how many more there are.
func (r *Reconciler) health() error {
	s := &r.st
	var errs []error
	if s.listErr != nil {
		errs = append(errs, s.listErr)
	}
	n := len(s.failed)
	keys := make([]Key, 0, maxHealthErrs+1)
	for k := range s.failed {
		i, _ := slices.BinarySearchFunc(keys, k, compareKeys)
		if i < maxHealthErrs {
			keys = slices.Insert(keys, i, k)
			if len(keys) > maxHealthErrs {
				keys = keys[:maxHealthErrs]
			}
		}
	}
	for _, k := range keys {
		f := s.failed[k]
		errs = append(errs, fmt.Errorf("%s %s: %w", f.op, k, f.err))
	}
	if n > len(keys) {
		errs = append(errs, fmt.Errorf("and %d more failed routes", n-len(keys)))
	}
	strays := 0
	for _, st := range s.strays {
		if st.err != nil {
			strays++
		}
	}
	if strays > 0 {
		errs = append(errs, fmt.Errorf("%d stale routes could not be deleted", strays))
	}
	return errors.Join(errs...)
}

// Status is a snapshot of the reconciler's health. Snapshots are immutable.
type Status struct {
	Protocol Protocol
	// DryRun: --no-fib; Pending then counts what would be written.
	DryRun bool
	// Holding: adopted routes are kept until convergence.
	Holding bool
	// Listed: the kernel has been read at least once.
	Listed    bool
	Desired   int
	Installed int
	// Held is the number of adopted routes not desired so far.
	Held int
	// Pending is the number of keys whose kernel route is not yet as
	// desired (failed ops waiting for a retry, or in a dry run the ops
	// that would be made), plus stale routes left to delete.
	Pending int
	// Failed is the number of keys whose last op failed.
	Failed int
	// Added, Replaced and Deleted count the ops applied since start.
	Added, Replaced, Deleted uint64
	// LastSync is when the kernel was last listed.
	LastSync time.Time
	// LastError is the last failure and when it happened (it may be
	// resolved since; Err says what fails now).
	LastError   error
	LastErrorAt time.Time
	// Err is nil when healthy, else the current failures joined.
	Err error
}

// publish stores a new Status snapshot; without full, the health error is
// carried over from the last snapshot (working it out walks every failure,
// too much for each batch of a full table).
func (r *Reconciler) publish(full bool) {
	s := &r.st
	var health error
	if full {
		health = r.health()
	} else if prev := r.status.Load(); prev != nil {
		health = prev.Err
	}
	st := &Status{
		Protocol:    r.cfg.Protocol,
		DryRun:      r.cfg.DryRun,
		Holding:     s.holding,
		Listed:      s.listed,
		Desired:     len(s.desired),
		Installed:   len(s.installed) + len(s.strays),
		Held:        len(s.held),
		Failed:      len(s.failed),
		Added:       s.added,
		Replaced:    s.replaced,
		Deleted:     s.deleted,
		LastSync:    s.lastSync,
		LastError:   s.lastErr,
		LastErrorAt: s.lastErrAt,
		Err:         health,
	}
	if r.cfg.DryRun {
		st.Pending = len(s.pending)
	} else {
		st.Pending = len(s.failed) + len(s.dirty)
		if !s.holding {
			st.Pending += len(s.strays)
		}
	}
	r.status.Store(st)
}

// Status returns the latest snapshot; it never blocks, even in the middle
// of a full-table pass.
func (r *Reconciler) Status() Status { return *r.status.Load() }

// DiffEntry is one key of Diff.
type DiffEntry struct {
	Key Key
	// Desired and Installed are nil where the key has no such route.
	Desired   *Route
	Installed *Route
	// Action is what the reconciler does (or in a dry run would do) about
	// the key: 0 when the kernel is as desired, OpAdd, OpReplace or
	// OpDelete.
	Action OpKind
	// Held: an adopted route kept until convergence (no Action yet).
	Held bool
	// Err is the last failure for the key, while it is being retried.
	Err error
}

func (e DiffEntry) String() string {
	what := "ok"
	switch {
	case e.Held:
		what = "held"
	case e.Action != 0:
		what = e.Action.String()
	}
	s := what + " " + e.Key.String()
	if e.Desired != nil {
		s += "\n  desired:   " + e.Desired.String()
	}
	if e.Installed != nil {
		s += "\n  installed: " + e.Installed.String()
	}
	if e.Err != nil {
		s += "\n  error:     " + e.Err.Error()
	}
	return s
}

func (r *Reconciler) diff(all bool) []DiffEntry {
	s := &r.st
	var out []DiffEntry
	add := func(k Key) {
		op, _, _, _ := r.action(k)
		_, held := s.held[k]
		held = held && s.holding
		if op == 0 && !held && !all {
			return
		}
		e := DiffEntry{Key: k, Action: op, Held: held}
		if d, ok := s.desired[k]; ok {
			rt := d.route(k)
			e.Desired = &rt
		}
		if i, ok := s.installed[k]; ok {
			rt := i.route(k)
			e.Installed = &rt
		}
		if f := s.failed[k]; f != nil {
			e.Err = f.err
		}
		out = append(out, e)
	}
	for k := range s.desired {
		add(k)
	}
	for k := range s.installed {
		if _, ok := s.desired[k]; !ok {
			add(k)
		}
	}
	for _, st := range s.strays {
		rt := st.route
		e := DiffEntry{Key: rt.Key(), Installed: &rt, Held: s.holding, Err: st.err}
		if !s.holding {
			e.Action = OpDelete
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b DiffEntry) int {
		if c := compareKeys(a.Key, b.Key); c != 0 {
			return c
		}
		// A stray after the tracked route of its key.
		return cmp.Compare(metricOf(a.Installed), metricOf(b.Installed))
	})
	return out
}

func metricOf(r *Route) int {
	if r == nil {
		return -1
	}
	return r.Metric
}
