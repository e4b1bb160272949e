package fib

import (
	"errors"
	"fmt"
	"time"
)

// resync lists the owned tables and rebuilds installed and strays from what
// the kernel has, marking dirty every key where desired and installed now
// differ.
func (r *Reconciler) resync() error {
	s := &r.st
	var listed []Route
	for _, t := range r.cfg.Tables {
		rs, err := r.be.List(t, r.cfg.Protocol)
		if err != nil {
			s.listErr = fmt.Errorf("list table %d: %w", t, err)
			r.noteErr(s.listErr)
			r.log.Warn("fib: listing installed routes failed", "table", t, "err", err)
			s.resyncAt = r.clock.Now().Add(r.cfg.RetryMin)
			return s.listErr
		}
		listed = append(listed, rs...)
	}
	s.listErr = nil
	installed := make(map[Key]val, len(listed))
	strays := map[strayKey]*stray{}
	for _, rt := range listed {
		rt = rt.Canonical()
		k, v := rt.Key(), valOf(rt)
		if !r.owned[k.Table] {
			continue
		}
		want := uint32(r.cfg.Metric)
		if d, ok := s.desired[k]; ok {
			want = d.metric
		}
		if cur, ok := installed[k]; ok {
			// Two metrics for one key: track the one desired,
			// the other is a stray.
			extra := v
			if v.metric == want {
				extra = cur
				installed[k] = v
			}
			sk := strayKey{k, int(extra.metric)}
			if old := s.strays[sk]; old != nil {
				strays[sk] = old
			} else {
				strays[sk] = &stray{route: extra.route(k)}
			}
			continue
		}
		installed[k] = v
	}
	s.ifUse = map[int]int{}
	s.unknownIf = 0
	s.installed = installed
	s.strays = strays
	for k, v := range installed {
		r.use(v, 1)
		if d, ok := s.desired[k]; !ok || !sameVal(d, v) {
			s.dirty[k] = struct{}{}
		}
	}
	for k, d := range s.desired {
		if v, ok := installed[k]; !ok || !sameVal(d, v) {
			s.dirty[k] = struct{}{}
		}
	}
	// A held key that is gone needs no holding.
	for k := range s.held {
		if _, ok := installed[k]; !ok {
			delete(s.held, k)
		}
	}
	s.listed = true
	s.needResync = false
	now := r.clock.Now()
	s.lastSync = now
	s.nextScan = now.Add(r.cfg.ScanInterval)
	return nil
}

// use counts the interfaces v goes through (n is +1 or -1).
func (r *Reconciler) use(v val, n int) {
	s := &r.st
	for _, nh := range v.nhs {
		if nh.Ifindex == 0 {
			s.unknownIf += n
			continue
		}
		s.ifUse[nh.Ifindex] += n
		if s.ifUse[nh.Ifindex] == 0 {
			delete(s.ifUse, nh.Ifindex)
		}
	}
}

func (r *Reconciler) setInstalled(k Key, v val) {
	s := &r.st
	if old, ok := s.installed[k]; ok {
		r.use(old, -1)
	}
	s.installed[k] = v
	r.use(v, 1)
}

func (r *Reconciler) delInstalled(k Key) {
	s := &r.st
	if old, ok := s.installed[k]; ok {
		r.use(old, -1)
		delete(s.installed, k)
	}
}

// action says what key k needs: the op, the route to write (or delete),
// and for a change of metric the installed route to delete after the add.
func (r *Reconciler) action(k Key) (op OpKind, rt Route, old Route, hasOld bool) {
	s := &r.st
	d, want := s.desired[k]
	i, have := s.installed[k]
	switch {
	case want && !have:
		return OpAdd, d.route(k), Route{}, false
	case want && sameVal(d, i):
		return 0, Route{}, Route{}, false
	case want && d.metric == i.metric:
		return OpReplace, d.route(k), Route{}, false
	case want:
		return OpAdd, d.route(k), i.route(k), true
	case have:
		if s.holding && len(s.held) > 0 {
			if _, held := s.held[k]; held {
				return 0, Route{}, Route{}, false
			}
		}
		return OpDelete, i.route(k), Route{}, false
	}
	return 0, Route{}, Route{}, false
}

// pass brings the kernel towards the desired state: it lists the kernel if
// that is due, ends an expired hold, and applies what the dirty and due
// keys need, adds and replaces before deletes.
func (r *Reconciler) pass() {
	s := &r.st
	now := r.clock.Now()
	if (s.needResync && !now.Before(s.resyncAt)) || (r.cfg.ScanInterval > 0 && !now.Before(s.nextScan)) {
		if err := r.resync(); err != nil && !s.listed {
			return
		}
	}
	if !s.listed {
		return
	}
	if s.holding && (s.converged || !now.Before(s.holdUntil)) {
		s.holding = false
		reason := "converged"
		if !s.converged {
			reason = "hold time expired"
		}
		r.log.Info("fib: removing stale adopted routes", "reason", reason, "stale", len(s.held)+len(s.strays))
		for k := range s.held {
			s.dirty[k] = struct{}{}
		}
		clear(s.held)
	}
	if !r.cfg.DryRun {
		s.nextRetry = time.Time{}
		for k, f := range s.failed {
			if !now.Before(f.next) {
				s.dirty[k] = struct{}{}
			} else if s.nextRetry.IsZero() || f.next.Before(s.nextRetry) {
				s.nextRetry = f.next
			}
		}
	}

	var (
		writes   []Op
		olds     []Route // for a change of metric: the route to delete after the add
		hasOlds  []bool
		deletes  []Op
		delKeys  []Key
		strayDel []strayKey
	)
	for k := range s.dirty {
		if len(s.failed) > 0 && !r.cfg.DryRun {
			if f := s.failed[k]; f != nil && now.Before(f.next) {
				continue // a listing found it again; the backoff decides
			}
		}
		op, rt, old, hasOld := r.action(k)
		if r.cfg.DryRun {
			if op == 0 {
				delete(s.pending, k)
			} else {
				s.pending[k] = op
			}
			continue
		}
		switch op {
		case 0:
			if len(s.failed) > 0 {
				delete(s.failed, k)
			}
		case OpDelete:
			deletes = append(deletes, Op{OpDelete, rt})
			delKeys = append(delKeys, k)
		default:
			writes = append(writes, Op{op, rt})
			olds = append(olds, old)
			hasOlds = append(hasOlds, hasOld)
		}
	}
	if len(s.dirty) > 1<<16 {
		// Give a full table's worth of room back.
		s.dirty = map[Key]struct{}{}
	} else {
		clear(s.dirty)
	}
	if r.cfg.DryRun {
		return
	}
	if !s.holding {
		for sk, st := range s.strays {
			if now.Before(st.next) {
				if s.nextRetry.IsZero() || st.next.Before(s.nextRetry) {
					s.nextRetry = st.next
				}
				continue
			}
			deletes = append(deletes, Op{OpDelete, st.route})
			strayDel = append(strayDel, sk)
			delKeys = append(delKeys, Key{})
		}
	}
	if len(writes) == 0 && len(deletes) == 0 {
		return
	}

	if len(s.installed) == 0 && len(writes) > 1024 {
		// A full table into an empty kernel: size the map once.
		s.installed = make(map[Key]val, len(writes))
	}
	errs := r.apply(writes)
	var failures []error
	for i, op := range writes {
		k := op.Route.Key()
		if err := errs[i]; err != nil {
			failures = append(failures, r.fail(k, op.Kind, err, now))
			if op.Kind == OpAdd && errors.Is(err, ErrExists) {
				// Ours but unknown to us, or another protocol's:
				// the listing tells which.
				s.needResync = true
			}
			continue
		}
		if len(s.failed) > 0 {
			delete(s.failed, k)
		}
		r.setInstalled(k, valOf(op.Route))
		if op.Kind == OpAdd {
			s.added++
		} else {
			s.replaced++
		}
		if hasOlds[i] {
			// The metric changed: the new route is in, the old one
			// goes now (a stray until it is gone).
			sk := strayKey{k, olds[i].Metric}
			if s.strays[sk] == nil {
				s.strays[sk] = &stray{route: olds[i]}
			}
			deletes = append(deletes, Op{OpDelete, olds[i]})
			strayDel = append(strayDel, sk)
			delKeys = append(delKeys, Key{})
		}
	}
	errs = r.apply(deletes)
	si := 0
	for i, op := range deletes {
		err := errs[i]
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
		if delKeys[i] == (Key{}) {
			sk := strayDel[si]
			si++
			st := s.strays[sk]
			if st == nil {
				continue // deleted twice in one pass
			}
			if err == nil {
				delete(s.strays, sk)
				s.deleted++
				continue
			}
			st.attempts++
			st.err = err
			st.next = now.Add(r.backoff(st.attempts))
			failures = append(failures, fmt.Errorf("delete %s: %w", op.Route, err))
			r.noteErr(err)
			continue
		}
		k := delKeys[i]
		if err != nil {
			failures = append(failures, r.fail(k, OpDelete, err, now))
			continue
		}
		if len(s.failed) > 0 {
			delete(s.failed, k)
		}
		r.delInstalled(k)
		s.deleted++
	}
	if len(failures) > 0 {
		r.log.Warn("fib: kernel route changes failed; retrying with backoff",
			"failed", len(failures), "first", failures[0])
	}
}

// fail records a failed op on k and schedules its retry.
func (r *Reconciler) fail(k Key, op OpKind, err error, now time.Time) error {
	s := &r.st
	f := s.failed[k]
	if f == nil {
		f = &failure{}
		s.failed[k] = f
	}
	f.op = op
	f.err = err
	f.attempts++
	f.next = now.Add(r.backoff(f.attempts))
	if s.nextRetry.IsZero() || f.next.Before(s.nextRetry) {
		s.nextRetry = f.next
	}
	r.noteErr(err)
	return fmt.Errorf("%s %s: %w", op, k, err)
}

func (r *Reconciler) backoff(attempts int) time.Duration {
	d := r.cfg.RetryMin
	for i := 1; i < attempts && d < r.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, r.cfg.RetryMax)
}

func (r *Reconciler) noteErr(err error) {
	r.st.lastErr = err
	r.st.lastErrAt = r.clock.Now()
}

// apply hands ops to the backend in batches and returns one error per op.
func (r *Reconciler) apply(ops []Op) []error {
	errs := make([]error, len(ops))
	for start := 0; start < len(ops); start += r.cfg.BatchSize {
		end := min(start+r.cfg.BatchSize, len(ops))
		batch := ops[start:end]
		err := r.be.Apply(r.cfg.Protocol, batch)
		var ae *ApplyError
		switch {
		case err == nil:
		case errors.As(err, &ae) && len(ae.Errs) == len(batch):
			copy(errs[start:end], ae.Errs)
		default:
			// The outcome is unknown: fail them all and list again.
			for i := start; i < end; i++ {
				errs[i] = err
			}
			r.st.needResync = true
		}
		if end < len(ops) {
			r.publish(false) // progress of a long pass
		}
	}
	return errs
}
