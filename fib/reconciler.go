package fib

// The reconciler's goroutines and channels:
//
//	 RIB / daemon / API                Reconciler.Run (owner of every map)
//	 ------------------                -----------------------------------
//	 Set, Update, Sync, Diff --reqs--> handle: desired map, dirty set
//	   (wait for the reply)  <-reply--   |
//	 Converged -------------converged->  |   pass: List if needed (adopt,
//	 Status <---atomic snapshot-------   |         scan, link down),
//	                                     |         diff dirty keys,
//	 Clock.AfterFunc ---------wake---->  |         Apply in batches:
//	   (retry, hold, scan timers)        |         adds/replaces, then deletes
//	                                     v
//	 Backend.Subscribe goroutine --events (links)--> resync / retry now
//	                                     |
//	                                     +--List/Apply--> Backend (kernel)

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// DefaultHoldTime bounds how long routes adopted at start-up are kept
	// when nobody calls Converged: longer than the selection deferral
	// (30 s, DESIGN.md) plus the time to re-learn a full table.
	DefaultHoldTime = 2 * time.Minute
	// DefaultScanInterval is how often the installed routes are listed
	// again. Link events already trigger a listing where the kernel drops
	// routes silently (an interface going down), so the scan only catches
	// an administrator's edits; it is longer than BIRD's 60 s because a
	// listing of a full table costs a second or two.
	DefaultScanInterval = 5 * time.Minute
	// DefaultBatchSize is the number of ops per Backend.Apply.
	DefaultBatchSize = 4096
	// DefaultRetryMin and DefaultRetryMax bound the backoff of a failed op.
	DefaultRetryMin = 250 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
)

// ErrStopped is returned by calls made after Run has returned.
var ErrStopped = errors.New("fib: reconciler stopped")

// Config configures a Reconciler. The zero value of each field means its
// default.
type Config struct {
	// Protocol is the kernel protocol godwit owns (kernelProtocol).
	Protocol Protocol
	// Metric is given to routes whose Metric is 0.
	Metric int
	// Tables are the kernel tables the reconciler owns; routes for other
	// tables are refused, and routes of other tables are never listed or
	// touched. Default: MainTable.
	Tables []int
	// DryRun (--no-fib) computes desired against installed, reads the
	// kernel, and writes nothing.
	DryRun bool
	// HoldTime is how long adopted routes are kept without Converged.
	HoldTime time.Duration
	// ScanInterval is the period of the full listing; negative: never.
	ScanInterval time.Duration
	// BatchSize is the number of ops per Backend.Apply.
	BatchSize int
	// RetryMin and RetryMax bound the exponential backoff of failed ops.
	RetryMin, RetryMax time.Duration
	Clock              Clock
	Logger             *slog.Logger
}

func (c *Config) fill() error {
	if c.Protocol == 0 {
		c.Protocol = DefaultProtocol
	}
	if err := c.Protocol.Validate(); err != nil {
		return err
	}
	if c.Metric == 0 {
		c.Metric = DefaultMetric
	}
	if len(c.Tables) == 0 {
		c.Tables = []int{MainTable}
	}
	for _, t := range c.Tables {
		if err := validTable(t); err != nil {
			return err
		}
	}
	if c.HoldTime <= 0 {
		c.HoldTime = DefaultHoldTime
	}
	if c.ScanInterval == 0 {
		c.ScanInterval = DefaultScanInterval
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(DefaultRetryMax, c.RetryMin)
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Reconciler makes the kernel's routes of one protocol match a desired set:
// it owns a desired map and an installed map, works out the difference
// (add, replace in place, delete), applies it in batches, retries what
// failed with backoff, and keeps the routes it adopted at start-up until the
// RIB has converged.
//
// Ownership: every map lives in state and belongs to the goroutine running
// Run (before Run starts, to the caller of Adopt). Other goroutines reach it
// through requests on reqs; Status reads an immutable snapshot published
// after each batch.
type Reconciler struct {
	be    Backend
	cfg   Config
	log   *slog.Logger
	clock Clock
	owned map[int]bool

	reqs          chan request
	wake          chan struct{}
	converged     chan struct{}
	convergedOnce sync.Once
	done          chan struct{}
	running       atomic.Bool
	status        atomic.Pointer[Status]

	st state
}

// state is the reconciler's data, owned by Run's goroutine.
type state struct {
	desired   map[Key]val
	installed map[Key]val
	// strays are routes of ours in owned tables that installed does not
	// track: a second metric for a key (a metric changed, or the
	// configuration's metric did between runs). They go once no hold
	// keeps them.
	strays map[strayKey]*stray
	// held are adopted keys not desired since; kept while holding.
	held      map[Key]struct{}
	holding   bool
	holdUntil time.Time
	converged bool
	adopted   bool

	dirty   map[Key]struct{}
	failed  map[Key]*failure
	pending map[Key]OpKind // dry run: what would be done

	// links and ifUse decide whether a link going down may have removed
	// our routes (the kernel flushes IPv4 routes through a downed
	// interface without telling anyone).
	links     map[int]bool
	ifUse     map[int]int
	unknownIf int

	listed      bool // a List has succeeded: writes may start
	needResync  bool
	resyncAt    time.Time // when a failed List is retried
	nextScan    time.Time
	subscribeAt time.Time
	nextRetry   time.Time
	lastErr     error
	lastErrAt   time.Time
	lastSync    time.Time
	listErr     error
	added       uint64
	replaced    uint64
	deleted     uint64
}

type strayKey struct {
	Key
	Metric int
}

type stray struct {
	route    Route
	attempts int
	next     time.Time
	err      error
}

type failure struct {
	op       OpKind
	err      error
	attempts int
	next     time.Time
}

type reqKind uint8

const (
	reqSet reqKind = iota + 1
	reqUpdate
	reqSync
	reqDiff
)

type request struct {
	kind     reqKind
	routes   []Route
	withdraw []Key
	all      bool
	reply    chan reply
	invalid  error
}

type reply struct {
	err  error
	diff []DiffEntry
}

// New returns a reconciler for backend; start it with Run.
func New(backend Backend, cfg Config) (*Reconciler, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("fib: %w", err)
	}
	r := &Reconciler{
		be:        backend,
		cfg:       cfg,
		log:       cfg.Logger,
		clock:     cfg.Clock,
		owned:     map[int]bool{},
		reqs:      make(chan request, 16),
		wake:      make(chan struct{}, 1),
		converged: make(chan struct{}),
		done:      make(chan struct{}),
		st: state{
			desired:   map[Key]val{},
			installed: map[Key]val{},
			strays:    map[strayKey]*stray{},
			held:      map[Key]struct{}{},
			dirty:     map[Key]struct{}{},
			failed:    map[Key]*failure{},
			pending:   map[Key]OpKind{},
			links:     map[int]bool{},
			ifUse:     map[int]int{},
		},
	}
	for _, t := range cfg.Tables {
		r.owned[t] = true
	}
	r.publish(true)
	return r, nil
}

// Adopt lists the routes of the reconciler's protocol already in the kernel
// (left by a previous run) and takes them as installed, keeping them until
// Converged is called or HoldTime has passed: a route that is desired again
// by then is kept or replaced in place, never removed and re-added; the
// others are removed afterwards. It returns how many routes it adopted.
//
// Call it before Run. Without it, Run lists the kernel at start and removes
// every route of the protocol that is not desired at once (a cold start).
func (r *Reconciler) Adopt() (int, error) {
	if r.running.Load() {
		return 0, errors.New("fib: Adopt after Run")
	}
	s := &r.st
	if err := r.resync(); err != nil {
		return 0, err
	}
	s.adopted = true
	s.holding = true
	s.holdUntil = r.clock.Now().Add(r.cfg.HoldTime)
	for k := range s.installed {
		if _, ok := s.desired[k]; !ok {
			s.held[k] = struct{}{}
		}
	}
	r.publish(true)
	return len(s.installed) + len(s.strays), nil
}

// Converged tells the reconciler that the RIB has converged (End-of-RIB
// from every peer that sends one, or the selection deferral timer): adopted
// routes that are still not desired are removed. Safe to call any time, more
// than once.
func (r *Reconciler) Converged() {
	r.convergedOnce.Do(func() { close(r.converged) })
}

// Set replaces the whole desired state with routes (table 0 is the main
// table; Metric 0 is the configured metric). It returns after the pass that
// applied it, with nil when the kernel then matches the desired state, or
// the routes it refused and the failures still being retried, joined. The
// reconciler keeps the routes' NextHops slices (routes may share one, as
// paths share an interned attribute set): the caller must not modify them
// afterwards.
func (r *Reconciler) Set(ctx context.Context, routes []Route) error {
	_, err := r.call(ctx, request{kind: reqSet, routes: routes})
	return err
}

// Update changes part of the desired state: routes are added or replaced,
// the keys in withdraw removed. It returns like Set.
func (r *Reconciler) Update(ctx context.Context, routes []Route, withdraw []Key) error {
	_, err := r.call(ctx, request{kind: reqUpdate, routes: routes, withdraw: withdraw})
	return err
}

// Sync runs a pass now (retries that are due, a hold that has expired) and
// returns the health, as Set does.
func (r *Reconciler) Sync(ctx context.Context) error {
	_, err := r.call(ctx, request{kind: reqSync})
	return err
}

// Diff returns desired against installed, sorted by table and prefix: only
// the keys where they differ, or every key when all is true. This is what
// `godwit fib` shows.
func (r *Reconciler) Diff(ctx context.Context, all bool) ([]DiffEntry, error) {
	rep, err := r.call(ctx, request{kind: reqDiff, all: all})
	if rep.diff == nil && err != nil {
		return nil, err
	}
	return rep.diff, nil
}

func (r *Reconciler) call(ctx context.Context, req request) (reply, error) {
	req.reply = make(chan reply, 1)
	select {
	case r.reqs <- req:
	case <-ctx.Done():
		return reply{}, ctx.Err()
	case <-r.done:
		return reply{}, ErrStopped
	}
	select {
	case rep := <-req.reply:
		return rep, rep.err
	case <-ctx.Done():
		return reply{}, ctx.Err()
	case <-r.done:
		// Run replies to every request it took before it returns.
		select {
		case rep := <-req.reply:
			return rep, rep.err
		default:
			return reply{}, ErrStopped
		}
	}
}

// Run is the reconciler's goroutine; it returns when ctx is done, after the
// event subscription has ended. The routes stay in the kernel, for the next
// run to adopt: a daemon that stops for good and wants them gone calls
// Set(ctx, nil) first.
func (r *Reconciler) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("fib: Run called twice")
	}
	defer close(r.done)
	s := &r.st
	if !s.listed {
		s.needResync = true
	}
	s.nextScan = r.clock.Now().Add(r.cfg.ScanInterval)
	var (
		events       <-chan Event
		resubscribed bool
		converged    = r.converged
		waiting      []request
		timer        interface{ Stop() bool }
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if events == nil && !r.clock.Now().Before(s.subscribeAt) {
			ch, err := r.be.Subscribe(ctx, SubscribeOptions{Links: true})
			if err != nil {
				r.log.Warn("fib: link events unavailable", "err", err)
				s.subscribeAt = r.clock.Now().Add(r.cfg.RetryMax)
			} else {
				// Links may have changed while nobody listened
				// (not before the first subscription: the kernel
				// was just listed, by Adopt or below).
				s.needResync = s.needResync || resubscribed
				events, resubscribed = ch, true
			}
		}
		r.pass()
		r.publish(true)
		health := r.health()
		for _, req := range waiting {
			var rep reply
			if req.kind == reqDiff {
				rep.diff = r.diff(req.all)
			} else {
				rep.err = errors.Join(req.invalid, health)
			}
			req.reply <- rep
		}
		waiting = waiting[:0]

		if timer != nil {
			timer.Stop()
		}
		timer = nil
		if next, ok := r.nextWake(events == nil); ok {
			d := max(next.Sub(r.clock.Now()), 0)
			timer = r.clock.AfterFunc(d, func() {
				select {
				case r.wake <- struct{}{}:
				default:
				}
			})
		}

		select {
		case <-ctx.Done():
			if events != nil {
				for range events {
				}
			}
			return nil
		case req := <-r.reqs:
			waiting = append(waiting, r.handle(req))
		case <-r.wake:
		case <-converged:
			converged = nil
			s.converged = true
		case ev, ok := <-events:
			if !ok {
				events = r.lostEvents()
				continue
			}
			r.event(ev)
		}
		// Take whatever else is ready before the pass, events first: a
		// kernel change that happened before a request was made is
		// seen by the pass that answers it.
		for more := events != nil; more; {
			select {
			case ev, ok := <-events:
				if !ok {
					events = r.lostEvents()
					more = false
				} else {
					r.event(ev)
				}
			default:
				more = false
			}
		}
		for more := true; more; {
			select {
			case req := <-r.reqs:
				waiting = append(waiting, r.handle(req))
			default:
				more = false
			}
		}
	}
}

// lostEvents handles the end of the event stream: subscribe again soon,
// and list the kernel then, since link changes may have been missed.
func (r *Reconciler) lostEvents() <-chan Event {
	r.st.subscribeAt = r.clock.Now().Add(r.cfg.RetryMin)
	return nil
}

// nextWake is the earliest time something is due.
func (r *Reconciler) nextWake(resubscribe bool) (time.Time, bool) {
	s := &r.st
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if s.needResync {
		if now := r.clock.Now(); s.resyncAt.Before(now) {
			at(now)
		} else {
			at(s.resyncAt)
		}
	}
	if r.cfg.ScanInterval > 0 {
		at(s.nextScan)
	}
	if s.holding && !s.converged {
		at(s.holdUntil)
	}
	if !r.cfg.DryRun {
		at(s.nextRetry)
	}
	if resubscribe {
		at(s.subscribeAt)
	}
	return next, !next.IsZero()
}

// event handles a link event: a link that goes down may have taken our
// routes with it; one that comes up may let failed routes in.
func (r *Reconciler) event(ev Event) {
	s := &r.st
	switch ev.Kind {
	case EventLost:
		s.needResync = true
	case EventLink, EventLinkDelete:
		up := ev.Kind == EventLink && ev.Link.Up
		was, known := s.links[ev.Link.Index]
		if ev.Kind == EventLinkDelete {
			delete(s.links, ev.Link.Index)
		} else {
			s.links[ev.Link.Index] = up
		}
		switch {
		case !up && (was || !known):
			if s.ifUse[ev.Link.Index] > 0 || s.unknownIf > 0 {
				s.needResync = true
			}
		case up && !was:
			now := r.clock.Now()
			for _, f := range s.failed {
				f.next = now
			}
			s.nextRetry = now
		}
	}
}

// handle takes a request into the desired state.
func (r *Reconciler) handle(req request) request {
	s := &r.st
	var bad []error
	switch req.kind {
	case reqSet:
		next := make(map[Key]val, len(req.routes))
		for _, rt := range req.routes {
			c, err := r.accept(rt)
			if err != nil {
				bad = append(bad, err)
				continue
			}
			next[c.Key()] = valOf(c)
		}
		for k, old := range s.desired {
			if nv, ok := next[k]; !ok || !identicalVal(old, nv) {
				r.changed(k)
			}
		}
		for k := range next {
			if _, ok := s.desired[k]; !ok {
				r.changed(k)
			}
			if len(s.held) > 0 {
				delete(s.held, k)
			}
		}
		s.desired = next
	case reqUpdate:
		for _, k := range req.withdraw {
			k.Table = Route{Table: k.Table}.table()
			k.Prefix = k.Prefix.Masked()
			if _, ok := s.desired[k]; ok {
				delete(s.desired, k)
				r.changed(k)
			}
		}
		for _, rt := range req.routes {
			c, err := r.accept(rt)
			if err != nil {
				bad = append(bad, err)
				continue
			}
			k, v := c.Key(), valOf(c)
			if old, ok := s.desired[k]; !ok || !identicalVal(old, v) {
				s.desired[k] = v
				r.changed(k)
			}
			if len(s.held) > 0 {
				delete(s.held, k)
			}
		}
	}
	if len(bad) > 0 {
		req.invalid = errors.Join(bad...)
	}
	return req
}

// changed marks k dirty after its desired route changed: a failure
// waiting for its backoff is tried again at once, since the new route may
// well succeed.
func (r *Reconciler) changed(k Key) {
	r.st.dirty[k] = struct{}{}
	if len(r.st.failed) == 0 {
		return
	}
	if f := r.st.failed[k]; f != nil {
		f.next = time.Time{}
	}
}

// accept canonicalises and validates a desired route.
func (r *Reconciler) accept(rt Route) (Route, error) {
	if rt.Metric == 0 {
		rt.Metric = r.cfg.Metric
	}
	c := rt.Canonical()
	if !r.owned[c.Table] {
		return c, fmt.Errorf("route %s: table %d is not owned by this reconciler", c.Prefix, c.Table)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("route %s: %w", c.Prefix, err)
	}
	return c, nil
}
