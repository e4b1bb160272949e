package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// RouteType is how the route was learned.
type RouteType uint8

// The route types, as the routeType condition spells them.
const (
	Local RouteType = iota // originated by this speaker
	EBGP                   // learned from (or sent to) an external peer
	IBGP                   // learned from (or sent to) an internal peer
)

func (t RouteType) String() string {
	switch t {
	case Local:
		return "local"
	case EBGP:
		return "ebgp"
	case IBGP:
		return "ibgp"
	}
	return fmt.Sprintf("routetype-%d", uint8(t))
}

// parseRouteType reads the routeType condition.
func parseRouteType(s string) (RouteType, error) {
	switch s {
	case "local":
		return Local, nil
	case "ebgp":
		return EBGP, nil
	case "ibgp":
		return IBGP, nil
	}
	return 0, fmt.Errorf("routeType must be local, ebgp or ibgp, got %q", s)
}

// Route is what a policy looks at.
//
// Attrs is read-only: the engine never modifies it or anything it points to
// (the attribute values are shared by many routes); changes produce a new
// list with new values for the changed attributes only.
type Route struct {
	Family nlri.Family
	// Prefix is the unicast prefix; invalid for other families (a prefixSet
	// condition then never holds).
	Prefix netip.Prefix
	Attrs  attr.List
	// NextHop is the route's next hop. When it is invalid the nextHop
	// condition looks at the NEXT_HOP attribute instead.
	NextHop netip.Addr
	// Neighbor is the peer the route came from (import) or goes to
	// (export); invalid for a local route on import.
	Neighbor netip.Addr
	Type     RouteType
}

// Env is the speaker-side context of an evaluation.
type Env struct {
	// LocalAS is the speaker's own AS, which asPathPrepend prepends.
	LocalAS uint32
	// OriginValidation, when set, tells a route's RFC 6811 origin
	// validation state from its prefix and origin AS (an RPKI-to-Router
	// cache, RFC 8210, will provide it). Unset, every route is
	// RPKINotFound.
	OriginValidation func(prefix netip.Prefix, originAS uint32) RPKIState
}

// RPKIState is a route's origin validation state (RFC 6811 §2).
type RPKIState uint8

// The states.
const (
	RPKINotFound RPKIState = iota
	RPKIValid
	RPKIInvalid
)

// NextHopAction is what a policy asked for the next hop. The engine does
// not know the session's addresses; the caller applies the directive.
type NextHopAction struct {
	// Mode is "" (no statement set the next hop), "self", "peer",
	// "unchanged" or "address".
	Mode string
	// Addr is the address for Mode "address".
	Addr netip.Addr
}

func (n NextHopAction) String() string {
	if n.Mode == config.NextHopAddress {
		return n.Addr.String()
	}
	return n.Mode
}

// Result is the outcome of one evaluation.
type Result struct {
	// Accept is true when a statement accepted the route.
	Accept bool
	// Statement names the statement that ended the evaluation, "" when the
	// route fell off the end (and was rejected).
	Statement string
	// Attrs are the route's attributes after the set actions, sorted by type
	// code when they changed; the same slice as Route.Attrs when they did
	// not, and always for a rejected route (whose attributes are not used).
	Attrs attr.List
	// Changed reports whether Attrs is a new list. Set actions that change
	// nothing (a local preference the route has, a community it lacks
	// removed) do not make one; statements that undo each other's changes
	// still do.
	Changed bool
	// NextHop is the last next-hop directive of the statements that ran;
	// zero for a rejected route.
	NextHop NextHopAction
}

// Policy is a compiled RoutePolicy. It is immutable and safe for
// concurrent use.
type Policy struct {
	name  string
	stmts []statement
	// prefixDependent and nextHopDependent say what, besides the attribute
	// set, the neighbor and the route type, a result depends on.
	prefixDependent  bool
	nextHopDependent bool
	// text holds scratch buffers for the AS path text the regular
	// expressions run on (regexp keeps its input reachable from its pooled
	// machines, so a stack buffer would escape and cost an allocation per
	// evaluation).
	text sync.Pool
}

// statement is one compiled Statement.
type statement struct {
	name   string
	cond   conditions
	set    *setActions // nil: no set actions
	result result
}

// result is the compiled Actions.Result.
type result uint8

const (
	resultNext result = iota
	resultAccept
	resultReject
)

func (r result) String() string {
	switch r {
	case resultAccept:
		return config.ResultAccept
	case resultReject:
		return config.ResultReject
	}
	return config.ResultNext
}

// Compile compiles a RoutePolicy spec. It expects a spec that package
// config has validated, but checks what evaluation relies on (enumerations,
// regular expressions, families) and returns an error, never a panic, for a
// spec that is not valid. The Policy does not keep references into spec.
func Compile(name string, spec *config.RoutePolicySpec) (*Policy, error) {
	if spec == nil {
		return nil, fmt.Errorf("policy %q: no spec", name)
	}
	p := &Policy{name: name, stmts: make([]statement, len(spec.Statements))}
	p.text.New = func() any {
		b := make([]byte, 0, 256)
		return &b
	}
	var errs []error
	for i := range spec.Statements {
		st := &spec.Statements[i]
		cs := &p.stmts[i]
		cs.name = st.Name
		fail := func(err error) {
			errs = append(errs, fmt.Errorf("policy %q: statement %d (%q): %w", name, i, st.Name, err))
		}
		if st.Conditions != nil {
			c, err := compileConditions(st.Conditions)
			if err != nil {
				fail(err)
			}
			cs.cond = c
			p.prefixDependent = p.prefixDependent || c.prefixes != nil || len(c.families) > 0 || c.hasRPKI
			p.nextHopDependent = p.nextHopDependent || len(c.nextHop) > 0
		}
		switch st.Actions.Result {
		case "", config.ResultNext:
			cs.result = resultNext
		case config.ResultAccept:
			cs.result = resultAccept
		case config.ResultReject:
			cs.result = resultReject
		default:
			fail(fmt.Errorf("result must be accept, reject or next, got %q", st.Actions.Result))
		}
		if st.Actions.Set != nil {
			set, err := compileSet(st.Actions.Set)
			if err != nil {
				fail(err)
			}
			cs.set = set
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Name returns the name Compile was given.
func (p *Policy) Name() string { return p.name }

// PrefixDependent reports whether any statement's conditions look at the
// prefix (prefixSet) or the family. When false, one evaluation serves every
// prefix that shares an attribute set, neighbor, route type and Env (and
// next hop, see NextHopDependent), and the caller may cache results per
// attribute set.
func (p *Policy) PrefixDependent() bool { return p.prefixDependent }

// NextHopDependent reports whether any statement has a nextHop condition,
// which reads Route.NextHop: a caller that caches results per attribute set
// must then key the cache by the next hop too, unless the next hop is part
// of the set (the NEXT_HOP attribute of IPv4 unicast).
func (p *Policy) NextHopDependent() bool { return p.nextHopDependent }

// Eval runs r through the policy. r is not modified, nor is anything it
// points to. Eval allocates only when it builds a changed attribute list
// for an accepted route.
func (p *Policy) Eval(r *Route, env Env) Result {
	return p.eval(r, env, nil)
}

// StatementTrace says what one statement did in an evaluation.
type StatementTrace struct {
	Name string
	// Matched reports whether the statement's conditions held.
	Matched bool
	// FailedCondition names the first condition that did not hold
	// ("prefixSet", "communities", ...; see the package documentation for
	// the order), "" when Matched.
	FailedCondition string
	// Set describes the set actions that ran, one per action, for people:
	// "localPreference 250", "communities add 65000:1".
	Set []string
	// Result is "accept", "reject" or "next" when Matched, "" otherwise.
	Result string
}

// Trace evaluates like Eval and also returns what each statement did, in
// order, up to the statement that ended the evaluation (all of them when
// the route fell off the end). It is for `godwit policy test` and allocates
// freely.
func (p *Policy) Trace(r *Route, env Env) (Result, []StatementTrace) {
	tr := make([]StatementTrace, 0, len(p.stmts))
	res := p.eval(r, env, &tr)
	return res, tr
}

func (p *Policy) eval(r *Route, env Env, tr *[]StatementTrace) Result {
	var s state
	s.r = r
	s.p = p
	s.env = env
	res := Result{Attrs: r.Attrs}
	for i := range p.stmts {
		st := &p.stmts[i]
		failed := st.cond.match(&s)
		if tr != nil {
			*tr = append(*tr, StatementTrace{Name: st.name, Matched: failed == "", FailedCondition: failed})
		}
		if failed != "" {
			continue
		}
		var desc *[]string
		if tr != nil {
			t := &(*tr)[len(*tr)-1]
			t.Result = st.result.String()
			desc = &t.Set
		}
		if st.set != nil {
			st.set.apply(&s, env, desc)
		}
		if st.result == resultNext {
			continue
		}
		res.Statement = st.name
		if st.result == resultAccept {
			res.Accept = true
			res.NextHop = s.nextHop
			if s.dirty != 0 {
				res.Attrs = s.build()
				res.Changed = true
			}
		}
		break
	}
	s.release()
	return res
}
