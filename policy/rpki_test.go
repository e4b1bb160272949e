package policy

import (
	"net/netip"
	"testing"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

func TestRPKICondition(t *testing.T) {
	p, err := Compile("rov", &config.RoutePolicySpec{Statements: []config.Statement{
		{Name: "drop-invalid", Conditions: &config.Conditions{RPKI: "invalid"}, Actions: config.Actions{Result: config.ResultReject}},
		{Name: "rest", Actions: config.Actions{Result: config.ResultAccept}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.PrefixDependent() {
		t.Error("an rpki condition depends on the prefix")
	}
	r := &Route{Family: nlri.IPv4Unicast, Prefix: netip.MustParsePrefix("192.0.2.0/24"), Attrs: attr.List{
		&attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence, ASNs: []uint32{65001, 64496}}}}}}
	// No validator: every route is not-found, so accepted.
	if res := p.Eval(r, Env{}); !res.Accept {
		t.Error("rejected without a validator")
	}
	var sawPrefix netip.Prefix
	var sawAS uint32
	env := Env{OriginValidation: func(pfx netip.Prefix, as uint32) RPKIState {
		sawPrefix, sawAS = pfx, as
		return RPKIInvalid
	}}
	if res := p.Eval(r, env); res.Accept || res.Statement != "drop-invalid" {
		t.Errorf("invalid route: %+v", res)
	}
	if sawPrefix != r.Prefix || sawAS != 64496 {
		t.Errorf("the validator saw %s AS%d, want the prefix and the origin AS 64496", sawPrefix, sawAS)
	}
	if _, err := Compile("bad", &config.RoutePolicySpec{Statements: []config.Statement{
		{Name: "x", Conditions: &config.Conditions{RPKI: "maybe"}}}}); err == nil {
		t.Error("rpki: maybe compiled")
	}
}

func TestRemoveAllCommunities(t *testing.T) {
	p, err := Compile("strip", &config.RoutePolicySpec{Statements: []config.Statement{
		{Name: "strip", Actions: config.Actions{Result: config.ResultAccept,
			Set: &config.SetActions{Communities: &config.ListActions[config.Community]{RemoveAll: true}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Route{Family: nlri.IPv4Unicast, Prefix: netip.MustParsePrefix("192.0.2.0/24"),
		Attrs: attr.List{&attr.Origin{}, &attr.Communities{Values: []uint32{1, 2}}}}
	res := p.Eval(r, Env{})
	if !res.Accept || !res.Changed || res.Attrs.Has(iana.AttrCommunities) {
		t.Errorf("removeAll: %+v", res)
	}
	keep := &Route{Family: nlri.IPv4Unicast, Prefix: netip.MustParsePrefix("192.0.2.0/24"), Attrs: attr.List{&attr.Origin{}}}
	if res := p.Eval(keep, Env{}); !res.Accept || res.Changed {
		t.Errorf("removeAll on a route without communities: %+v", res)
	}
}
