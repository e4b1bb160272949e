package nlri

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// Family is an address family: an (AFI, SAFI) pair (RFC 4760 §5).
type Family struct {
	AFI  iana.AFI
	SAFI iana.SAFI
}

// The families godwit speaks, and the others it names.
var (
	IPv4Unicast   = Family{iana.AFIIPv4, iana.SAFIUnicast}
	IPv6Unicast   = Family{iana.AFIIPv6, iana.SAFIUnicast}
	IPv4Labeled   = Family{iana.AFIIPv4, iana.SAFILabeledUnicast}
	IPv6Labeled   = Family{iana.AFIIPv6, iana.SAFILabeledUnicast}
	IPv4VPN       = Family{iana.AFIIPv4, iana.SAFIVPN}
	IPv6VPN       = Family{iana.AFIIPv6, iana.SAFIVPN}
	L2VPNEVPN     = Family{iana.AFIL2VPN, iana.SAFIEVPN}
	IPv4RTC       = Family{iana.AFIIPv4, iana.SAFIRTC}
	IPv4Multicast = Family{iana.AFIIPv4, iana.SAFIMulticast}
	IPv6Multicast = Family{iana.AFIIPv6, iana.SAFIMulticast}
	IPv4FlowSpec  = Family{iana.AFIIPv4, iana.SAFIFlowSpec}
	IPv6FlowSpec  = Family{iana.AFIIPv6, iana.SAFIFlowSpec}
)

// familyNames are the spellings used by configuration (BGPPeer.families),
// the CLI and JSON output.
var familyNames = []struct {
	f    Family
	name string
}{
	{IPv4Unicast, "ipv4-unicast"},
	{IPv6Unicast, "ipv6-unicast"},
	{IPv4Labeled, "ipv4-labeled-unicast"},
	{IPv6Labeled, "ipv6-labeled-unicast"},
	{IPv4VPN, "ipv4-vpn"},
	{IPv6VPN, "ipv6-vpn"},
	{L2VPNEVPN, "l2vpn-evpn"},
	{IPv4RTC, "ipv4-rtc"},
	{IPv4Multicast, "ipv4-multicast"},
	{IPv6Multicast, "ipv6-multicast"},
	{IPv4FlowSpec, "ipv4-flowspec"},
	{IPv6FlowSpec, "ipv6-flowspec"},
}

// String spells the family as configuration does ("ipv4-unicast",
// "l2vpn-evpn"); a family without a name is "afi-A/safi-S" with numbers.
func (f Family) String() string {
	for _, n := range familyNames {
		if n.f == f {
			return n.name
		}
	}
	return "afi-" + strconv.Itoa(int(f.AFI)) + "/safi-" + strconv.Itoa(int(f.SAFI))
}

// ParseFamily reads a family as String spells it.
func ParseFamily(s string) (Family, error) {
	for _, n := range familyNames {
		if n.name == s {
			return n.f, nil
		}
	}
	var a, b int
	if _, err := fmt.Sscanf(s, "afi-%d/safi-%d", &a, &b); err == nil && a >= 0 && a <= 0xffff && b >= 0 && b <= 0xff {
		return Family{iana.AFI(a), iana.SAFI(b)}, nil
	}
	names := make([]string, 0, len(familyNames))
	for _, n := range familyNames {
		names = append(names, n.name)
	}
	return Family{}, fmt.Errorf("unknown address family %q (known: %s)", s, strings.Join(names, ", "))
}

// AddPath is the set of families whose NLRI carry an ADD-PATH path
// identifier in one direction of a session (RFC 7911 §3). The zero value is
// the empty set. It is a value; copies are independent only if not mutated
// after sharing, so treat it as immutable once a session uses it.
type AddPath struct {
	fams []Family
}

// NewAddPath returns the set of the given families.
func NewAddPath(fams ...Family) AddPath {
	var a AddPath
	for _, f := range fams {
		if !a.Has(f) {
			a.fams = append(a.fams, f)
		}
	}
	return a
}

// Has reports whether NLRI of family f carry path identifiers. It does not
// allocate.
func (a AddPath) Has(f Family) bool {
	for _, g := range a.fams {
		if g == f {
			return true
		}
	}
	return false
}

// Families lists the set's members.
func (a AddPath) Families() []Family { return append([]Family(nil), a.fams...) }
