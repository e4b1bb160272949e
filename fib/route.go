package fib

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// MainTable is the kernel's main routing table (RT_TABLE_MAIN), where the
// default VRF's routes go and where next hops are resolved.
const MainTable = 254

// DefaultMetric is the route metric (RTA_PRIORITY) godwit gives its kernel
// routes when the configuration names none: 20, the value FRR's zebra uses for
// BGP routes, so that a host moving from FRR to godwit keeps its ordering
// against static and IGP routes.
const DefaultMetric = 20

// ipv6DefaultMetric is what the kernel stores for an IPv6 route added
// without a metric (IP6_RT_PRIO_USER). Desired routes are normalised to it so
// that the desired and the listed form compare equal.
const ipv6DefaultMetric = 1024

// Protocol is a kernel route protocol number (rtm_protocol, the "proto" of
// `ip route`). godwit owns exactly one, DESIGN.md's kernelProtocol.
type Protocol uint8

// DefaultProtocol is kernelProtocol's default.
const DefaultProtocol Protocol = 200

// Validate refuses the numbers godwit must never own: 0 to 4 belong to the
// kernel and to administrators (unspec, redirect, kernel, boot, static), and
// 186 to 198 to FRR's zebra (bgp, isis, ospf, rip, eigrp and the rest), whose
// routes godwit would otherwise replace or delete.
func (p Protocol) Validate() error {
	switch {
	case p <= 4:
		return fmt.Errorf("kernel protocol %d is reserved for the kernel and administrators (0-4)", p)
	case p >= 186 && p <= 198:
		return fmt.Errorf("kernel protocol %d belongs to FRR's zebra (186-198)", p)
	}
	return nil
}

func (p Protocol) String() string { return strconv.Itoa(int(p)) }

// NextHop is one next hop of a kernel route.
type NextHop struct {
	// Addr is the gateway. The zero Addr means a directly connected
	// destination (`dev X` without `via`). An IPv6 gateway on an IPv4
	// route (RFC 8950) is allowed; the backend sends it as RTA_VIA.
	Addr netip.Addr
	// Ifindex is the outgoing interface; 0 lets the kernel find it from
	// Addr. A route desired with 0 matches an installed one with any
	// interface.
	Ifindex int
	// Weight is the ECMP weight, 1 to 256; 0 means 1. The kernel keeps no
	// weight for a route with a single next hop.
	Weight int
}

func (n NextHop) weight() int {
	if n.Weight <= 0 {
		return 1
	}
	return n.Weight
}

// Route is one kernel route as godwit wants it or finds it: a destination in
// a table, several next hops making one multipath (ECMP) route, or a
// blackhole.
type Route struct {
	// Table is the kernel table; 0 means MainTable.
	Table int
	// Prefix is the destination, IPv4 or IPv6; it is stored masked.
	Prefix netip.Prefix
	// NextHops are the paths; several make one RTA_MULTIPATH route. Empty
	// for a blackhole.
	NextHops []NextHop
	// Blackhole makes the route discard traffic (RTN_BLACKHOLE).
	Blackhole bool
	// Metric is the route's priority (RTA_PRIORITY); 0 means the
	// reconciler's configured metric. Part of the kernel's identity of a
	// route: a change of metric is an add and a delete.
	Metric int
}

// Key identifies a route in the reconciler: one desired route per table and
// prefix.
type Key struct {
	Table  int
	Prefix netip.Prefix
}

func (k Key) String() string {
	return k.Prefix.String() + " table " + strconv.Itoa(k.Table)
}

// Key returns the route's key.
func (r Route) Key() Key { return Key{Table: r.table(), Prefix: r.Prefix.Masked()} }

func (r Route) table() int {
	if r.Table == 0 {
		return MainTable
	}
	return r.Table
}

func compareKeys(a, b Key) int {
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	return comparePrefixes(a.Prefix, b.Prefix)
}

func comparePrefixes(a, b netip.Prefix) int {
	// IPv4 before IPv6, then by address, then shorter first.
	if c := cmp.Compare(a.Addr().BitLen(), b.Addr().BitLen()); c != 0 {
		return c
	}
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func compareNextHops(a, b NextHop) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	return cmp.Compare(a.Ifindex, b.Ifindex)
}

// Canonical returns r in the form the kernel reports it, so that a desired
// route and the installed one compare equal: table 0 becomes MainTable, the
// prefix is masked, an IPv6 metric of 0 becomes the kernel's 1024, next
// hops are sorted by address and interface with weights of 0 made 1, a
// single next hop loses its weight (the kernel keeps none), and a
// blackhole has no next hops. The next-hop slice is copied only when it
// must change, so routes may share one.
func (r Route) Canonical() Route {
	r.Table = r.table()
	r.Prefix = r.Prefix.Masked()
	if r.Metric == 0 && r.Prefix.Addr().Is6() {
		r.Metric = ipv6DefaultMetric
	}
	if r.Blackhole {
		r.NextHops = nil
		return r
	}
	canon := len(r.NextHops) != 1 || r.NextHops[0].Weight == 1
	for i, nh := range r.NextHops {
		if len(r.NextHops) > 1 && nh.Weight != nh.weight() {
			canon = false
		}
		if nh.Addr.Is4In6() || (i > 0 && compareNextHops(r.NextHops[i-1], nh) >= 0) {
			canon = false
		}
	}
	if canon {
		return r
	}
	nhs := slices.Clone(r.NextHops)
	for i := range nhs {
		nhs[i].Addr = nhs[i].Addr.Unmap()
		nhs[i].Weight = nhs[i].weight()
	}
	if len(nhs) == 1 {
		nhs[0].Weight = 1
	}
	slices.SortFunc(nhs, compareNextHops)
	r.NextHops = slices.CompactFunc(nhs, func(a, b NextHop) bool { return compareNextHops(a, b) == 0 })
	return r
}

// Validate reports why the kernel could not take r (it expects r in
// canonical form).
func (r Route) Validate() error {
	if !r.Prefix.IsValid() {
		return errors.New("invalid prefix")
	}
	if err := validTable(r.Table); err != nil {
		return err
	}
	if r.Metric < 0 || int64(r.Metric) > 0xffffffff {
		return fmt.Errorf("metric %d out of range", r.Metric)
	}
	if r.Blackhole {
		return nil
	}
	if len(r.NextHops) == 0 {
		return errors.New("no next hop and not a blackhole")
	}
	v4 := r.Prefix.Addr().Is4()
	for _, nh := range r.NextHops {
		switch {
		case !nh.Addr.IsValid() && nh.Ifindex <= 0:
			return errors.New("next hop without gateway or interface")
		case nh.Addr.IsValid() && nh.Addr.Is4() && !v4:
			return fmt.Errorf("IPv4 next hop %s on an IPv6 route", nh.Addr)
		case nh.Addr.IsValid() && nh.Addr.Is6() && nh.Addr.IsLinkLocalUnicast() && nh.Ifindex <= 0:
			return fmt.Errorf("link-local next hop %s without interface", nh.Addr)
		case nh.Weight < 0 || nh.Weight > 256:
			return fmt.Errorf("weight %d of next hop %s out of range 1-256", nh.Weight, nh.Addr)
		}
	}
	return nil
}

// val is a canonical route without its key, as the reconciler's maps keep
// it: 32 bytes rather than Route's 80, which counts at a million routes.
type val struct {
	nhs       []NextHop
	metric    uint32
	blackhole bool
}

func valOf(r Route) val {
	return val{nhs: r.NextHops, metric: uint32(r.Metric), blackhole: r.Blackhole}
}

func (v val) route(k Key) Route {
	return Route{Table: k.Table, Prefix: k.Prefix, NextHops: v.nhs, Blackhole: v.blackhole, Metric: int(v.metric)}
}

// validTable refuses the tables godwit may not write: 0 (unspecified), 255
// (the kernel's local table) and numbers beyond 32 bits.
func validTable(t int) error {
	if t <= 0 || t == 255 || int64(t) > 0xffffffff {
		return fmt.Errorf("table %d cannot hold godwit's routes", t)
	}
	return nil
}

// sameVal reports whether installed satisfies desired: both canonical,
// equal but for next-hop interfaces that desired leaves to the kernel.
func sameVal(desired, installed val) bool {
	if desired.metric != installed.metric || desired.blackhole != installed.blackhole ||
		len(desired.nhs) != len(installed.nhs) {
		return false
	}
	for i, d := range desired.nhs {
		n := installed.nhs[i]
		if d.Addr != n.Addr || d.Weight != n.Weight || (d.Ifindex != 0 && d.Ifindex != n.Ifindex) {
			return false
		}
	}
	return true
}

// identicalVal reports whether a and b are the same desired route.
func identicalVal(a, b val) bool {
	return a.metric == b.metric && a.blackhole == b.blackhole && slices.Equal(a.nhs, b.nhs)
}

// String renders r in the order `ip route` uses, with interface numbers:
// "10.1.0.0/24 table 254 metric 20 nexthop via 192.0.2.1 dev #2 weight 1".
func (r Route) String() string {
	return r.Format(nil)
}

// Format renders r like String, naming interfaces with ifname when it is
// not nil and knows the index.
func (r Route) Format(ifname func(int) string) string {
	var b strings.Builder
	if r.Blackhole {
		b.WriteString("blackhole ")
	}
	b.WriteString(r.Prefix.String())
	b.WriteString(" table ")
	b.WriteString(strconv.Itoa(r.table()))
	b.WriteString(" metric ")
	b.WriteString(strconv.Itoa(r.Metric))
	for _, nh := range r.NextHops {
		b.WriteString(" nexthop")
		if nh.Addr.IsValid() {
			b.WriteString(" via ")
			b.WriteString(nh.Addr.String())
		}
		if nh.Ifindex != 0 {
			b.WriteString(" dev ")
			name := ""
			if ifname != nil {
				name = ifname(nh.Ifindex)
			}
			if name == "" {
				name = "#" + strconv.Itoa(nh.Ifindex)
			}
			b.WriteString(name)
		}
		b.WriteString(" weight ")
		b.WriteString(strconv.Itoa(nh.weight()))
	}
	return b.String()
}
