package api

import (
	"encoding/json"
	"time"
)

// The JSON types of the API. Field names are camelCase and belong to the
// command-line contract (DESIGN.md): add fields, never rename one. Slices
// that the contract calls arrays marshal as [] when empty, never null.
// No type here has a field for a password or a key, so none can leak.

// SessionState is a BGP session state, named as in RFC 4271 §8.2.2.
type SessionState string

// The RFC 4271 session states.
const (
	StateIdle        SessionState = "Idle"
	StateConnect     SessionState = "Connect"
	StateActive      SessionState = "Active"
	StateOpenSent    SessionState = "OpenSent"
	StateOpenConfirm SessionState = "OpenConfirm"
	StateEstablished SessionState = "Established"
)

// PeerType says why a neighbour exists, in calicoctl's words.
type PeerType string

// The peer types the daemon reports.
const (
	// PeerTypeGlobal is a BGPPeer that applies to every node.
	PeerTypeGlobal PeerType = "global"
	// PeerTypeMesh is a session of the node-to-node mesh.
	PeerTypeMesh PeerType = "node-to-node mesh"
	// PeerTypeNodeSpecific is a BGPPeer selected for this node only.
	PeerTypeNodeSpecific PeerType = "node specific"
	// PeerTypeRRClient is a route-reflector client of this speaker.
	PeerTypeRRClient PeerType = "route reflector client"
	// PeerTypeBGPaaS is a workload session (BGP as a Service).
	PeerTypeBGPaaS PeerType = "bgpaas"
)

// Neighbor is one line of the neighbour summary (GET /v1/neighbors).
type Neighbor struct {
	// Address is the neighbour's address (netip.Addr text form).
	Address string `json:"address"`
	// ASN is the neighbour's AS number, as configured.
	ASN uint32 `json:"asn"`
	// State is the session state (RFC 4271 name).
	State SessionState `json:"state"`
	// PeerType is why the session exists (PeerType constants).
	PeerType PeerType `json:"peerType"`
	// Description is the operator's text for the neighbour, if any.
	Description string `json:"description,omitempty"`
	// VRF is the VRF the session belongs to; empty for the default one.
	VRF string `json:"vrf,omitempty"`
	// PrefixesReceived counts the prefixes in the neighbour's
	// Adj-RIB-In, before import policy; PrefixesAccepted those that
	// import policy let through; PrefixesAdvertised those in its
	// Adj-RIB-Out. All families together.
	PrefixesReceived   uint64 `json:"prefixesReceived"`
	PrefixesAccepted   uint64 `json:"prefixesAccepted"`
	PrefixesAdvertised uint64 `json:"prefixesAdvertised"`
	// MessagesReceived and MessagesSent count BGP messages of every type
	// since the daemon started.
	MessagesReceived uint64 `json:"messagesReceived"`
	MessagesSent     uint64 `json:"messagesSent"`
	// UptimeSeconds is how long the session has been Established; 0 in
	// any other state.
	UptimeSeconds int64 `json:"uptimeSeconds"`
	// Since is the time of the last state change (RFC 3339); omitted when
	// the state never changed.
	Since time.Time `json:"since,omitzero"`
	// Info is a short explanation like calicoctl's INFO column:
	// "Established", "Connect Socket: Connection refused",
	// "Idle (admin shutdown)".
	Info string `json:"info"`
	// AdminShutdown is set while an operator keeps the session down
	// (ActionShutdown).
	AdminShutdown bool `json:"adminShutdown"`
}

// Timer is a session timer in seconds, as configured and as negotiated in
// the OPEN exchange (0 when no session has been negotiated).
type Timer struct {
	Configured uint32 `json:"configured"`
	Negotiated uint32 `json:"negotiated"`
}

// Capability is one BGP capability (RFC 5492) of a session.
type Capability struct {
	// Code is the IANA capability code.
	Code uint8 `json:"code"`
	// Name is the capability's name, e.g. "multiprotocol",
	// "4-octet-as", "route-refresh", "graceful-restart", "add-path".
	Name string `json:"name"`
	// Sent and Received say whether the capability was in our OPEN and in
	// the neighbour's; Negotiated whether the session uses it.
	Sent       bool `json:"sent"`
	Received   bool `json:"received"`
	Negotiated bool `json:"negotiated"`
	// SentDetail and ReceivedDetail are the capability's values as text,
	// e.g. "ipv4-unicast" or "restart time 120s".
	SentDetail     string `json:"sentDetail,omitempty"`
	ReceivedDetail string `json:"receivedDetail,omitempty"`
}

// MessageCounts counts BGP messages of one direction by type.
type MessageCounts struct {
	Open         uint64 `json:"open"`
	Update       uint64 `json:"update"`
	Notification uint64 `json:"notification"`
	Keepalive    uint64 `json:"keepalive"`
	RouteRefresh uint64 `json:"routeRefresh"`
	Total        uint64 `json:"total"`
}

// Counters are a session's message and event counters since the daemon
// started.
type Counters struct {
	Sent     MessageCounts `json:"sent"`
	Received MessageCounts `json:"received"`
	// PrefixesWithdrawn counts withdrawn NLRI received.
	PrefixesWithdrawn uint64 `json:"prefixesWithdrawn"`
	// EstablishedTransitions counts entries into Established.
	EstablishedTransitions uint64 `json:"establishedTransitions"`
}

// Notification is a NOTIFICATION message sent or received (RFC 4271 §4.5).
type Notification struct {
	Code        uint8  `json:"code"`
	Subcode     uint8  `json:"subcode"`
	CodeName    string `json:"codeName"`
	SubcodeName string `json:"subcodeName,omitempty"`
	// Data is the data field in hex, when it is not a shutdown message.
	Data string `json:"data,omitempty"`
	// Message is the RFC 9003 shutdown communication, if any.
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

// FamilyPrefixes counts one address family's prefixes of a session.
type FamilyPrefixes struct {
	Family     string `json:"family"`
	Received   uint64 `json:"received"`
	Accepted   uint64 `json:"accepted"`
	Advertised uint64 `json:"advertised"`
}

// NeighborDetail is everything about one neighbour (GET
// /v1/neighbors/{addr}); its JSON object has the fields of Neighbor and
// these.
type NeighborDetail struct {
	Neighbor
	// LocalAddress is the session's local address (the configured one
	// before the session is up); LocalASN the AS number we speak as.
	LocalAddress string `json:"localAddress,omitempty"`
	LocalASN     uint32 `json:"localASN"`
	// RouterID is the neighbour's BGP Identifier from its OPEN.
	RouterID string `json:"routerID,omitempty"`
	// LocalPort and RemotePort are the session's TCP ports.
	LocalPort  uint16 `json:"localPort,omitempty"`
	RemotePort uint16 `json:"remotePort,omitempty"`
	// HoldTime and KeepaliveTime in seconds.
	HoldTime      Timer `json:"holdTime"`
	KeepaliveTime Timer `json:"keepaliveTime"`
	// Families are the address families negotiated, spelt as in
	// BGPPeer.families ("ipv4-unicast"); ConfiguredFamilies those
	// configured.
	Families           []string `json:"families"`
	ConfiguredFamilies []string `json:"configuredFamilies"`
	// Prefixes breaks the prefix counts down by family.
	Prefixes     []FamilyPrefixes `json:"prefixes"`
	Capabilities []Capability     `json:"capabilities"`
	Counters     Counters         `json:"counters"`
	// LastError is the last reason the session went down or failed to
	// come up, as text.
	LastError                string        `json:"lastError,omitempty"`
	LastNotificationSent     *Notification `json:"lastNotificationSent,omitempty"`
	LastNotificationReceived *Notification `json:"lastNotificationReceived,omitempty"`
	// FlapCount counts drops from Established.
	FlapCount uint64 `json:"flapCount"`
	// ConnectRetryCounter is RFC 4271's ConnectRetryCounter.
	ConnectRetryCounter uint64 `json:"connectRetryCounter"`
	// ShutdownMessage is the text given with the administrative shutdown
	// in force (AdminShutdown).
	ShutdownMessage string `json:"shutdownMessage,omitempty"`
	// Passive is set when the session only accepts connections.
	Passive bool `json:"passive"`
	// RouteReflectorClient is set when the neighbour is our client.
	RouteReflectorClient bool `json:"routeReflectorClient"`
	// ImportPolicy and ExportPolicy name the attached RoutePolicies.
	ImportPolicy string `json:"importPolicy,omitempty"`
	ExportPolicy string `json:"exportPolicy,omitempty"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (d NeighborDetail) MarshalJSON() ([]byte, error) {
	type plain NeighborDetail
	p := plain(d)
	p.Families = nonNil(p.Families)
	p.ConfiguredFamilies = nonNil(p.ConfiguredFamilies)
	p.Prefixes = nonNil(p.Prefixes)
	p.Capabilities = nonNil(p.Capabilities)
	return json.Marshal(p)
}

// Origin is the ORIGIN attribute as text.
type Origin string

// The ORIGIN values (RFC 4271 §5.1.1).
const (
	OriginIGP        Origin = "IGP"
	OriginEGP        Origin = "EGP"
	OriginIncomplete Origin = "incomplete"
)

// Code is the one-letter code `show bgp` prints at the end of the path.
func (o Origin) Code() string {
	switch o {
	case OriginIGP:
		return "i"
	case OriginEGP:
		return "e"
	}
	return "?"
}

// Route is one path to a prefix (GET /v1/routes, one per NDJSON line).
type Route struct {
	// Prefix is the prefix in CIDR form, or the route's text form for
	// VPN ("RD:prefix") and EVPN.
	Prefix string `json:"prefix"`
	// Family is the address family, spelt as in BGPPeer.families.
	Family string `json:"family"`
	// VRF is the table the path is in; empty for the default VRF.
	VRF string `json:"vrf,omitempty"`
	// PathID is the ADD-PATH path identifier (RFC 7911), 0 without it.
	PathID  uint32 `json:"pathId"`
	NextHop string `json:"nextHop"`
	// ASPath lists the AS numbers of the AS_PATH in path order, set
	// members included; ASPathText is the path as FRR prints it
	// (FormatASPath); ASPathSegments keeps the segment structure.
	ASPath         []uint32        `json:"asPath"`
	ASPathText     string          `json:"asPathText"`
	ASPathSegments []ASPathSegment `json:"asPathSegments,omitempty"`
	Origin         Origin          `json:"origin"`
	// LocalPreference is LOCAL_PREF, or the default (100) when the path
	// has none.
	LocalPreference uint32 `json:"localPreference"`
	// MED is MULTI_EXIT_DISC, 0 when absent.
	MED uint32 `json:"med"`
	// Communities are RFC 1997 communities as "a:b"; LargeCommunities
	// RFC 8092 ones as "a:b:c"; ExtendedCommunities RFC 4360 ones as
	// text, e.g. "rt:65000:1".
	Communities         []string `json:"communities"`
	LargeCommunities    []string `json:"largeCommunities"`
	ExtendedCommunities []string `json:"extendedCommunities"`
	// Best marks the path the decision process chose; Multipath one of
	// the equal-cost paths installed with it.
	Best      bool `json:"best"`
	Multipath bool `json:"multipath"`
	// Peer is the address of the neighbour the path came from, or
	// "local" for a path this speaker originates.
	Peer string `json:"peer"`
	// Internal is set for a path learned over iBGP.
	Internal bool `json:"internal,omitempty"`
	// Filtered is set, in a --received listing only, for a path import
	// policy rejected.
	Filtered bool `json:"filtered,omitempty"`
	// Stale is set for a path kept through a peer's graceful restart.
	Stale bool `json:"stale"`
	// Since is when the path was last updated.
	Since time.Time `json:"since,omitzero"`
	// OriginatorID and ClusterList are the route-reflection attributes
	// (RFC 4456).
	OriginatorID string   `json:"originatorID,omitempty"`
	ClusterList  []string `json:"clusterList,omitempty"`
	// Labels are the MPLS labels of a VPN or labelled route.
	Labels []uint32 `json:"labels,omitempty"`
}

// MarshalJSON writes the contract's arrays as [] rather than null.
func (r Route) MarshalJSON() ([]byte, error) { return json.Marshal(r.wire()) }

// routeWire is Route without its MarshalJSON method, so that the listing
// encodes a route in one pass.
type routeWire Route

// wire returns r with the contract's arrays non-nil.
func (r Route) wire() routeWire {
	p := routeWire(r)
	p.ASPath = nonNil(p.ASPath)
	p.Communities = nonNil(p.Communities)
	p.LargeCommunities = nonNil(p.LargeCommunities)
	p.ExtendedCommunities = nonNil(p.ExtendedCommunities)
	return p
}

// PolicyTestResult is one path run through a RoutePolicy (GET
// /v1/policies/{name}/test answers a JSON array of them, one per path
// tested). The policy sees the path as import does: its neighbour is the
// path's peer, its route type that of the session. Nothing is changed in
// the daemon.
type PolicyTestResult struct {
	// Policy is the RoutePolicy's name.
	Policy string `json:"policy"`
	// Path is the path tested, as the table holds it (Filtered when
	// import refused it).
	Path Route `json:"path"`
	// Accepted reports whether a statement accepted the path.
	Accepted bool `json:"accepted"`
	// Statement names the statement that ended the evaluation (accepted
	// or rejected the path); "" when the path fell off the end, which
	// rejects it.
	Statement string `json:"statement"`
	// Changed reports whether the set actions changed the attributes.
	Changed bool `json:"changed"`
	// Attributes are the path's attributes after the policy, set only
	// when it was accepted.
	Attributes *PolicyAttributes `json:"attributes,omitempty"`
	// Trace lists the statements evaluated, in order, up to the one that
	// ended the evaluation (all of them when none did).
	Trace []PolicyStatement `json:"trace"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (r PolicyTestResult) MarshalJSON() ([]byte, error) {
	type plain PolicyTestResult
	p := plain(r)
	p.Trace = nonNil(p.Trace)
	return json.Marshal(p)
}

// PolicyAttributes are a path's attributes after a policy, with the
// meaning and the JSON names of Route's fields.
type PolicyAttributes struct {
	// NextHop is the next hop the path gets: the address a policy set
	// (nextHop: ADDRESS), the path's peer (nextHop: peer), or else the
	// path's own.
	NextHop string `json:"nextHop"`
	// NextHopAction is the last next-hop directive of the statements that
	// ran: "self", "peer", "unchanged" or an address; "" for none.
	NextHopAction       string          `json:"nextHopAction,omitempty"`
	ASPath              []uint32        `json:"asPath"`
	ASPathText          string          `json:"asPathText"`
	ASPathSegments      []ASPathSegment `json:"asPathSegments,omitempty"`
	Origin              Origin          `json:"origin"`
	LocalPreference     uint32          `json:"localPreference"`
	MED                 uint32          `json:"med"`
	Communities         []string        `json:"communities"`
	LargeCommunities    []string        `json:"largeCommunities"`
	ExtendedCommunities []string        `json:"extendedCommunities"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (a PolicyAttributes) MarshalJSON() ([]byte, error) {
	type plain PolicyAttributes
	p := plain(a)
	p.ASPath = nonNil(p.ASPath)
	p.Communities = nonNil(p.Communities)
	p.LargeCommunities = nonNil(p.LargeCommunities)
	p.ExtendedCommunities = nonNil(p.ExtendedCommunities)
	return json.Marshal(p)
}

// PolicyAttributesOf returns the attributes of r as PolicyAttributes
// (with no next-hop action).
func PolicyAttributesOf(r Route) PolicyAttributes {
	return PolicyAttributes{
		NextHop: r.NextHop, ASPath: r.ASPath, ASPathText: r.ASPathText, ASPathSegments: r.ASPathSegments,
		Origin: r.Origin, LocalPreference: r.LocalPreference, MED: r.MED,
		Communities: r.Communities, LargeCommunities: r.LargeCommunities, ExtendedCommunities: r.ExtendedCommunities,
	}
}

// PolicyStatement is what one statement of a RoutePolicy did to a path.
type PolicyStatement struct {
	Name string `json:"name"`
	// Matched reports whether the statement's conditions held.
	Matched bool `json:"matched"`
	// FailedCondition names the first condition that did not hold
	// ("prefixSet", "communities", ...); "" when Matched.
	FailedCondition string `json:"failedCondition,omitempty"`
	// Set describes the set actions that ran, one per action, e.g.
	// "localPreference 250"; empty when the statement did not match.
	Set []string `json:"set"`
	// Result is "accept", "reject" or "next" when Matched, "" otherwise.
	Result string `json:"result,omitempty"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (s PolicyStatement) MarshalJSON() ([]byte, error) {
	type plain PolicyStatement
	p := plain(s)
	p.Set = nonNil(p.Set)
	return json.Marshal(p)
}

// PeerCounts summarises the neighbours of a speaker.
type PeerCounts struct {
	Configured  int `json:"configured"`
	Established int `json:"established"`
	// Down counts configured neighbours not Established (admin shutdown
	// included).
	Down int `json:"down"`
}

// Status is the speaker's overview (GET /v1/status).
type Status struct {
	RouterID string `json:"routerID"`
	ASNumber uint32 `json:"asNumber"`
	// Version is godwitd's version.
	Version string `json:"version"`
	// StartedAt is when the daemon started; UptimeSeconds how long ago.
	StartedAt     time.Time  `json:"startedAt,omitzero"`
	UptimeSeconds int64      `json:"uptimeSeconds"`
	Peers         PeerCounts `json:"peers"`
	// Routes counts the paths in the Loc-RIBs, all VRFs and families.
	Routes uint64 `json:"routes"`
}

// ResourceCount is the number of resources of one kind.
type ResourceCount struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// ConfigStatus is the state of the configuration (GET /v1/config/status).
type ConfigStatus struct {
	// Source is where the configuration comes from (a file path).
	Source string `json:"source"`
	// Generation counts successful applies; AppliedAt is the last one.
	Generation uint64    `json:"generation"`
	AppliedAt  time.Time `json:"appliedAt,omitzero"`
	// Resources counts the resources in force by kind, in the order of
	// the resource model.
	Resources []ResourceCount `json:"resources"`
	// LastAttempt is the last load or reload; OK whether it was applied.
	// When it was not, Errors says why (one error a line, naming the
	// document and field) and the daemon kept its previous configuration.
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	OK          bool      `json:"ok"`
	Errors      []string  `json:"errors"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (c ConfigStatus) MarshalJSON() ([]byte, error) {
	type plain ConfigStatus
	p := plain(c)
	p.Resources = nonNil(p.Resources)
	p.Errors = nonNil(p.Errors)
	return json.Marshal(p)
}

// VersionInfo is the answer of GET /v1/version.
type VersionInfo struct {
	// Version is godwitd's build version.
	Version string `json:"version"`
	// API is the API's version, the path prefix without its slash.
	API string `json:"api"`
}

// APIVersion is the version of this API, the first element of every path.
const APIVersion = "v1"

// Action is what NeighborAction asks the daemon to do to a session.
type Action string

// The neighbour actions (POST /v1/neighbors/{addr}/{action}).
const (
	// ActionReset closes the session with a Cease (administrative reset,
	// RFC 4486) and lets it come up again.
	ActionReset Action = "reset"
	// ActionShutdown closes the session with a Cease (administrative
	// shutdown) and keeps it down until ActionEnable.
	ActionShutdown Action = "shutdown"
	// ActionEnable undoes ActionShutdown.
	ActionEnable Action = "enable"
	// ActionRefreshIn asks the neighbour to resend its routes
	// (ROUTE-REFRESH, RFC 2918), or re-runs import policy over the
	// Adj-RIB-In when it is kept.
	ActionRefreshIn Action = "refresh-in"
	// ActionRefreshOut resends our routes to the neighbour.
	ActionRefreshOut Action = "refresh-out"
)

// Actions lists every Action.
var Actions = []Action{ActionReset, ActionShutdown, ActionEnable, ActionRefreshIn, ActionRefreshOut}

// TakesMessage reports whether the action carries an RFC 9003 shutdown
// communication.
func (a Action) TakesMessage() bool { return a == ActionReset || a == ActionShutdown }

// ActionRequest is the optional body of POST /v1/neighbors/{addr}/{action}.
type ActionRequest struct {
	// Message is the RFC 9003 shutdown communication sent with the Cease
	// (reset and shutdown only; at most 255 octets of UTF-8).
	Message string `json:"message,omitempty"`
}

// ActionResult is the answer of POST /v1/neighbors/{addr}/{action}.
type ActionResult struct {
	Address string `json:"address"`
	Action  Action `json:"action"`
	Message string `json:"message,omitempty"`
}

// EventKind says what an Event is about.
type EventKind string

// The kinds of Event, also the values of the watch endpoint's kinds
// parameter.
const (
	KindNeighbor EventKind = "neighbor"
	KindRoute    EventKind = "route"
	KindConfig   EventKind = "config"
)

// EventKinds lists every EventKind.
var EventKinds = []EventKind{KindNeighbor, KindRoute, KindConfig}

// EventOp says what happened.
type EventOp string

// The event operations. A watch first sends the current state as
// OpSnapshot events, then one OpSynced event (with no Kind), then changes
// as OpUpdate and OpDelete events.
const (
	OpSnapshot EventOp = "snapshot"
	OpSynced   EventOp = "synced"
	OpUpdate   EventOp = "update"
	OpDelete   EventOp = "delete"
)

// Event is one item of the watch feed (GET /v1/watch, one per NDJSON
// line). Exactly one of Neighbor, Route and Config is set, matching Kind,
// except in the OpSynced event, which carries none.
type Event struct {
	Op   EventOp   `json:"op"`
	Kind EventKind `json:"kind,omitempty"`
	// Time is when the change happened (the time of the snapshot for
	// OpSnapshot and OpSynced).
	Time     time.Time     `json:"time,omitzero"`
	Neighbor *Neighbor     `json:"neighbor,omitempty"`
	Route    *Route        `json:"route,omitempty"`
	Config   *ConfigStatus `json:"config,omitempty"`
}

// nonNil returns s, or an empty slice when s is nil, so that it marshals
// as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Announcement is one prefix this speaker originates (GET
// /v1/announcements answers a JSON array of them, sorted by prefix), from
// an Announcement resource of the configuration or added at run time
// through the API (POST /v1/announcements), which is how other
// controllers on the node inject routes.
type Announcement struct {
	// Prefix is the originated prefix (CIDR).
	Prefix string `json:"prefix"`
	// Announcement names where the prefix comes from: the Announcement
	// resource's name, or "api:PREFIX" for a runtime announcement.
	Announcement string `json:"announcement"`
	// Runtime marks an announcement added through the API. Runtime
	// announcements are not saved: they last until they are deleted or
	// godwitd stops.
	Runtime bool `json:"runtime"`
	// Communities are the RFC 1997 communities the route carries, as
	// "a:b" (well-known ones too, as in Route); LargeCommunities the RFC
	// 8092 ones as "a:b:c".
	Communities      []string `json:"communities"`
	LargeCommunities []string `json:"largeCommunities"`
	// LocalPreference and MED are set on the route when given; omitted
	// otherwise.
	LocalPreference *uint32 `json:"localPreference,omitempty"`
	MED             *uint32 `json:"med,omitempty"`
	// ShadowedBy is set, in the answer of POST /v1/announcements only,
	// when a configured Announcement of that name originates the same
	// prefix: it wins over the runtime one, which takes effect only once
	// the configuration stops announcing the prefix.
	ShadowedBy string `json:"shadowedBy,omitempty"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (a Announcement) MarshalJSON() ([]byte, error) {
	type plain Announcement
	p := plain(a)
	p.Communities = nonNil(p.Communities)
	p.LargeCommunities = nonNil(p.LargeCommunities)
	return json.Marshal(p)
}

// AnnouncementRequest is the body of POST /v1/announcements: a prefix to
// originate at run time and the attributes its route gets. It replaces a
// runtime announcement of the same prefix.
type AnnouncementRequest struct {
	// Prefix is a CIDR prefix without host bits (required).
	Prefix string `json:"prefix"`
	// Communities are RFC 1997 communities, "a:b" (each part 0..65535)
	// or a well-known name such as no-export; LargeCommunities RFC 8092
	// ones, "a:b:c".
	Communities      []string `json:"communities,omitempty"`
	LargeCommunities []string `json:"largeCommunities,omitempty"`
	// LocalPreference and MED, when given, are set on the route.
	LocalPreference *uint32 `json:"localPreference,omitempty"`
	MED             *uint32 `json:"med,omitempty"`
}

// AnnouncementDeleted is the answer of DELETE /v1/announcements.
type AnnouncementDeleted struct {
	// Prefix is the prefix whose runtime announcement was deleted;
	// Announcement its name ("api:PREFIX").
	Prefix       string `json:"prefix"`
	Announcement string `json:"announcement"`
	// ShadowedBy is set when a configured Announcement of that name
	// originates the prefix: its route stays. Otherwise the route has
	// been withdrawn.
	ShadowedBy string `json:"shadowedBy,omitempty"`
}

// FIB is the kernel routing table against the RIB (GET /v1/fib): how the
// reconciler that writes godwit's kernel routes is doing, the routes where
// the kernel differs from what the RIB wants (or every route), and the BGP
// next hops tracked through the kernel.
type FIB struct {
	// Protocol is the route protocol number godwit's kernel routes carry
	// (kernelProtocol; the "proto" of ip route).
	Protocol uint8 `json:"protocol"`
	// DryRun is set when godwitd runs with --no-fib: the kernel is read
	// but never written, and Pending counts what would be written.
	DryRun bool `json:"dryRun"`
	// Converged is set once the RIB has converged after the start (every
	// peer sent End-of-RIB, or the selection deferral time passed).
	Converged bool `json:"converged"`
	// Adopted counts the routes of a previous run found in the kernel at
	// start. Holding is set while the ones not desired are kept, until
	// the RIB has converged; Held counts them.
	Adopted int  `json:"adopted"`
	Holding bool `json:"holding"`
	// Desired counts the routes the RIB wants in the kernel; Installed
	// the routes of Protocol the kernel holds.
	Desired   int `json:"desired"`
	Installed int `json:"installed"`
	Held      int `json:"held"`
	// Pending counts the routes not yet as desired (failed ones waiting
	// for a retry, stale ones left to delete); Failed those whose last
	// kernel operation failed.
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
	// Added, Replaced and Deleted count the kernel operations since
	// godwitd started.
	Added    uint64 `json:"added"`
	Replaced uint64 `json:"replaced"`
	Deleted  uint64 `json:"deleted"`
	// LastSync is when the kernel's routes were last read.
	LastSync time.Time `json:"lastSync,omitzero"`
	// LastError is the last failure to write the kernel, as text (it may
	// be resolved since: Failed and the routes' Error say what fails
	// now), and LastErrorAt when it happened.
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// Routes are the routes that differ from what the RIB wants, or
	// every route when all of them were asked for, sorted by table and
	// prefix.
	Routes []FIBRoute `json:"routes"`
	// NextHops are the BGP next hops the RIB tracks through the kernel,
	// sorted by address.
	NextHops []TrackedNextHop `json:"nextHops"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (f FIB) MarshalJSON() ([]byte, error) {
	type plain FIB
	p := plain(f)
	p.Routes = nonNil(p.Routes)
	p.NextHops = nonNil(p.NextHops)
	return json.Marshal(p)
}

// FIBState says how one kernel route compares with what the RIB wants.
type FIBState string

// The FIB states: FIBOK, or what the reconciler does about the route (in
// a dry run, what it would do).
const (
	// FIBOK: the kernel has the route as desired.
	FIBOK FIBState = "ok"
	// FIBAdd: desired, not in the kernel yet.
	FIBAdd FIBState = "add"
	// FIBReplace: in the kernel with other next hops.
	FIBReplace FIBState = "replace"
	// FIBDelete: in the kernel, no longer desired.
	FIBDelete FIBState = "delete"
	// FIBHeld: a route of the previous run, kept until the RIB has
	// converged.
	FIBHeld FIBState = "held"
)

// FIBRoute is one destination of the kernel FIB.
type FIBRoute struct {
	// Prefix is the destination (CIDR); Table the kernel table (254 is
	// the main table).
	Prefix string   `json:"prefix"`
	Table  int      `json:"table"`
	State  FIBState `json:"state"`
	// Desired is the route the RIB wants, Installed the one the kernel
	// holds; each is omitted where there is none.
	Desired   *KernelRoute `json:"desired,omitempty"`
	Installed *KernelRoute `json:"installed,omitempty"`
	// Error is the last failure of the route's kernel operation, while
	// it is being retried.
	Error string `json:"error,omitempty"`
}

// KernelRoute is a kernel route's forwarding: one next hop, several (ECMP,
// one multipath route), or none for a blackhole.
type KernelRoute struct {
	NextHops []KernelNextHop `json:"nextHops"`
	// Metric is the route's priority (RTA_PRIORITY), part of the kernel's
	// identity of a route.
	Metric    int  `json:"metric"`
	Blackhole bool `json:"blackhole"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (r KernelRoute) MarshalJSON() ([]byte, error) {
	type plain KernelRoute
	p := plain(r)
	p.NextHops = nonNil(p.NextHops)
	return json.Marshal(p)
}

// KernelNextHop is one next hop of a kernel route.
type KernelNextHop struct {
	// Gateway is the address traffic is forwarded to; omitted for a
	// directly connected destination.
	Gateway string `json:"gateway,omitempty"`
	// Interface is the outgoing interface's name ("#N" when godwitd has
	// no interface of index N); omitted when the kernel picks it from
	// the gateway.
	Interface string `json:"interface,omitempty"`
	// Weight is the ECMP weight, 1 to 256.
	Weight int `json:"weight"`
}

// TrackedNextHop is a BGP next hop that the RIB resolves through the
// kernel (decision process steps 1 and 8).
type TrackedNextHop struct {
	Address string `json:"address"`
	// Resolvable reports whether the kernel has a route to it; paths
	// through an unresolvable next hop are not eligible.
	Resolvable bool `json:"resolvable"`
	// Cost is the metric of the kernel route that resolves it (the IGP
	// cost of step 8).
	Cost uint32 `json:"cost"`
	// AttributeSets counts the distinct attribute sets in use that name
	// it (paths sharing attributes share a set).
	AttributeSets int `json:"attributeSets"`
}
