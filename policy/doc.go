// Package policy evaluates route policies: it compiles the RoutePolicy
// resource of package config into a Policy and runs routes through it.
//
// Layer: policy. It imports wire/attr, wire/iana and wire/nlri for the
// route's attributes and config for the RoutePolicySpec it compiles (the
// spec types are the compiler's input, so this one import points up the
// layer list on purpose; config does not import policy). The rib calls
// policies through hooks it declares and the daemon connects the two;
// nothing here knows about peers, sessions or tables.
//
// Start with policy.go (Route, Result, Compile, Eval), then condition.go
// (what each condition looks at), action.go (the set actions) and state.go
// (how changes accumulate and become a new attribute list). prefixset.go
// and dfa.go make the two costly conditions cheap: prefix sets as integer
// compares or an index, AS path expressions as automata over the path's
// small alphabet instead of Go's regexp.
//
// # Semantics
//
// A policy is an ordered list of statements. A statement holds when all of
// its conditions hold (a statement without conditions always holds); a list
// condition holds when any of its items matches. A statement that holds
// runs its set actions, then its result: accept or reject ends the
// evaluation; next (the default, also when no result is given) goes on with
// the following statement, keeping the changes made so far, so later
// statements see them (a community added by one statement is matched by the
// next). A route that falls off the end is rejected.
//
// Conditions, in the order Eval checks them (the cheap ones first; Trace
// reports the first that failed):
//
//	families          the route's family is one of these
//	routeType         local, ebgp or ibgp (Route.Type)
//	neighbor          Route.Neighbor is in one of these prefixes
//	nextHop           Route.NextHop (or, when it is unset, NEXT_HOP) is in
//	                  one of these prefixes
//	prefixSet         Route.Prefix matches an entry (exact, or with ge/le
//	                  the prefixes inside it of those lengths); never for a
//	                  route without a unicast prefix
//	origin            ORIGIN is igp, egp or incomplete (no ORIGIN: fails)
//	asPathLength      min <= AS_PATH length <= max (an AS_SET counts one,
//	                  confederation segments zero, RFC 4271 §9.1.2.2 a)
//	communities       COMMUNITIES holds any of these
//	largeCommunities  LARGE_COMMUNITY holds any of these
//	asPathRegex       the AS path as FRR prints it ("65001 65002 {1,2}")
//	                  matches; "_" stands for the start, the end, a space,
//	                  a brace or a comma
//
// Set actions run in this order within a statement: localPreference, med,
// nextHop, communities, largeCommunities, extendedCommunities,
// removePrivateAS, then asPathPrepend or asPathPrependASNs (so that a
// private own AS prepended on purpose is not removed again).
//
//   - The next hop is not an attribute the engine can set for every family:
//     Result.NextHop reports the last directive (self, peer, unchanged or an
//     address) and the caller, which knows the session, applies it.
//   - Community lists: replace sets the list outright; otherwise remove
//     then add. A list that changes comes out sorted and without
//     duplicates; an action that changes nothing (adding a community the
//     route has, removing one it lacks) leaves the attribute as it was. A
//     list that ends up empty removes the attribute (RFC 7606 §7.8 makes an
//     empty COMMUNITIES malformed).
//   - asPathPrepend n puts Env.LocalAS n times in front of the path,
//     asPathPrependASNs the given ASes with the first leftmost, both into the
//     leading AS_SEQUENCE (RFC 4271 §5.1.2), split into segments of at most
//     255 ASes. Without a local AS (Env.LocalAS 0, which RFC 7607 forbids
//     on the wire) asPathPrepend does nothing.
//   - removePrivateAS removes the private AS numbers of RFC 6996
//     (64512-65534 and 4200000000-4294967294) from AS_SEQUENCE and AS_SET
//     segments, dropping segments that become empty. Confederation
//     segments are left alone: their member ASes are private by custom.
//
// AS4_PATH is neither read nor changed: the rib reconciles it into AS_PATH
// when a route arrives (attr.List.ReconcileAS4) and the exporter splits it
// again for a 2-octet session.
//
// # Attribute lists
//
// Route.Attrs is read-only: interned attribute values are shared by many
// routes. Eval never writes to the list or to any value it points to. When
// an accepted route's attributes change, Eval builds one new list per
// evaluation: a copy of the old one with the changed attributes replaced by
// new values (the unchanged ones shared), sorted by type code. New values
// may be shared between results too (a statement's localPreference value is
// built once, at Compile); like every attribute value they are immutable.
// A rejected route's list is never built.
//
// Eval allocates nothing unless an accepted route's attributes change (an
// AS path expression too large for an automaton runs on regexp over a
// pooled buffer, which the garbage collector may take back now and then).
// A Policy is immutable after Compile and safe for concurrent use.
package policy
