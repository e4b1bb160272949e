package fib_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/godwit-bgp/godwit/fib"
	"github.com/godwit-bgp/godwit/fib/fake"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"table 0 is main, prefix masked", "10.1.2.3/24 via 192.0.2.1", "10.1.2.0/24 table 254 metric 0 nexthop via 192.0.2.1 weight 1"},
		{"next hops sorted, weight 0 is 1", "10.1.0.0/24 via 198.51.100.1 via 192.0.2.1 weight 3", "10.1.0.0/24 table 254 metric 0 nexthop via 192.0.2.1 weight 3 nexthop via 198.51.100.1 weight 1"},
		{"duplicate next hops merged", "10.1.0.0/24 via 192.0.2.1 via 192.0.2.1", "10.1.0.0/24 table 254 metric 0 nexthop via 192.0.2.1 weight 1"},
		{"a single next hop keeps no weight", "10.1.0.0/24 via 192.0.2.1 weight 5", "10.1.0.0/24 table 254 metric 0 nexthop via 192.0.2.1 weight 1"},
		{"IPv6 metric 0 is the kernel's 1024", "2001:db8::/32 via 2001:db8:1::1", "2001:db8::/32 table 254 metric 1024 nexthop via 2001:db8:1::1 weight 1"},
		{"IPv4-mapped next hop unmapped", "10.1.0.0/24 via ::ffff:192.0.2.1", "10.1.0.0/24 table 254 metric 0 nexthop via 192.0.2.1 weight 1"},
		{"blackhole has no next hops", "blackhole 10.9.0.0/16 via 192.0.2.1", "blackhole 10.9.0.0/16 table 254 metric 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := rt(t, tc.in)
			orig := in.String()
			if got := in.Canonical().String(); got != tc.want {
				t.Errorf("Canonical(%s) = %s, want %s", tc.in, got, tc.want)
			}
			if in.String() != orig {
				t.Errorf("Canonical changed its input: %s", in)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"10.1.0.0/24", "no next hop"},
		{"10.1.0.0/24 via 192.0.2.1 table 255", "table 255"},
		{"2001:db8::/32 via 192.0.2.1", "IPv4 next hop"},
		{"2001:db8::/32 via fe80::1", "link-local next hop fe80::1 without interface"},
		{"10.1.0.0/24 via 192.0.2.1 via 192.0.2.2 weight 300", "weight 300"},
		{"10.1.0.0/24 via 2001:db8::1", ""}, // RFC 8950
		{"2001:db8::/32 via fe80::1 dev 3", ""},
		{"10.1.0.0/24 dev 3", ""},
	}
	for _, tc := range tests {
		err := rt(t, tc.in).Canonical().Validate()
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Validate(%s) = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestConfigRefuses(t *testing.T) {
	for _, cfg := range []fib.Config{
		{Protocol: 186}, {Protocol: 198}, {Protocol: 2}, {Tables: []int{255}},
	} {
		if _, err := fib.New(fake.New(), cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := fib.New(fake.New(), fib.Config{Protocol: 199}); err != nil {
		t.Errorf("protocol 199: %v", err)
	}
	if _, err := fib.NewResolver(fake.New(), fib.ResolverConfig{Protocol: 190}); err == nil {
		t.Error("NewResolver with zebra's protocol succeeded")
	}
}

func TestStopped(t *testing.T) {
	r, err := fib.New(newKernel(), fib.Config{Clock: newTestClock()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Adopt(); err == nil {
		t.Error("Adopt after Run succeeded")
	}
	cancel()
	<-done
	if err := r.Set(context.Background(), nil); !errors.Is(err, fib.ErrStopped) {
		t.Errorf("Set after Run returned: %v, want ErrStopped", err)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}
