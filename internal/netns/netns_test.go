package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNameShape(t *testing.T) {
	long := strings.Repeat("TestSomethingVeryLong/sub_case#01", 4)
	for _, tc := range []struct{ test, role string }{
		{"TestA", "frr"},
		{long, "a-very-long-role-name"},
		{"Test/with spaces and/slashes", ""},
	} {
		name := testNSName(tc.test, tc.role, 123456)
		if len(name) > maxNameLen {
			t.Errorf("%q: %d bytes, want at most %d", name, len(name), maxNameLen)
		}
		if !testName.MatchString(name) {
			t.Errorf("%q does not match the sweep pattern", name)
		}
		if strings.ContainsAny(name, "/ ") {
			t.Errorf("%q has a slash or space", name)
		}
	}
}

func TestVethPingAndCleanup(t *testing.T) {
	Require(t, "ping")
	var names []string
	t.Run("build", func(t *testing.T) {
		a, b := New(t, "a"), New(t, "b")
		names = []string{a.Name(), b.Name()}
		if _, _, err := Veth(
			End{NS: a, Ifname: "to-b", Addrs: []string{"10.9.0.1/30", "2001:db8:9::1/64"}},
			End{NS: b, Ifname: "to-a", Addrs: []string{"10.9.0.2/30", "2001:db8:9::2/64"}},
		); err != nil {
			t.Fatal(err)
		}
		if err := a.WaitNoTentative(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		for _, dst := range []string{"10.9.0.2", "2001:db8:9::2"} {
			if out, err := a.Exec("ping", "-c", "1", "-W", "5", dst); err != nil {
				t.Fatalf("ping %s: %v\n%s", dst, err, out)
			}
		}
	})
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(runDir, name)); err == nil {
			t.Errorf("namespace %s still exists after its test ended", name)
		}
	}
}

func TestBridgeSegment(t *testing.T) {
	Require(t, "ping")
	lan := NewBridge(t, "lan")
	var hosts []*NS
	for i, addr := range []string{"10.8.0.1/24", "10.8.0.2/24", "10.8.0.3/24"} {
		h := New(t, "h"+string(rune('0'+i)))
		if _, err := lan.Attach(End{NS: h, Ifname: "lan0", Addrs: []string{addr}}); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	for _, dst := range []string{"10.8.0.2", "10.8.0.3"} {
		if out, err := hosts[0].Exec("ping", "-c", "1", "-W", "5", dst); err != nil {
			t.Fatalf("ping %s: %v\n%s", dst, err, out)
		}
	}
}

func TestRouteThroughMiddle(t *testing.T) {
	Require(t, "ping")
	a, m, b := New(t, "a"), New(t, "m"), New(t, "b")
	if _, _, err := Veth(End{NS: a, Addrs: []string{"10.7.1.1/24"}}, End{NS: m, Addrs: []string{"10.7.1.2/24"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Veth(End{NS: m, Addrs: []string{"10.7.2.2/24"}}, End{NS: b, Addrs: []string{"10.7.2.1/24"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddRoute("10.7.2.0/24", "10.7.1.2"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRoute("default", "10.7.2.2"); err != nil {
		t.Fatal(err)
	}
	if out, err := a.Exec("ping", "-c", "1", "-W", "5", "10.7.2.1"); err != nil {
		t.Fatalf("ping across m: %v\n%s", err, out)
	}
}

func TestListenDialAcrossNamespaces(t *testing.T) {
	RequireRoot(t)
	a, b := New(t, "a"), New(t, "b")
	if _, _, err := Veth(End{NS: a, Addrs: []string{"10.6.0.1/30"}}, End{NS: b, Addrs: []string{"10.6.0.2/30"}}); err != nil {
		t.Fatal(err)
	}
	l, err := b.ListenTCP("10.6.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("hello from b"))
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialTCP(ctx, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello from b" {
		t.Fatalf("read %q, %v", got, err)
	}
	// The address exists only inside b: listening on it from the test's
	// own namespace must fail, which shows the listener really was in b.
	if l2, err := net.Listen("tcp", "10.6.0.2:0"); err == nil {
		l2.Close()
		t.Fatal("10.6.0.2 is bindable outside namespace b")
	}
}

func TestDoRestoresNamespace(t *testing.T) {
	RequireRoot(t)
	n := New(t, "do")
	before, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	if err := n.Do(func() error {
		var err error
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside == before {
		t.Fatalf("Do ran in the caller's namespace %s", inside)
	}
	// Many more calls must never leak a switched thread into the pool.
	for range 50 {
		if err := n.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		got, _ := os.Readlink("/proc/thread-self/ns/net")
		if got != before {
			t.Fatalf("a thread of the test process is in %s", got)
		}
	}
}

func TestStartStop(t *testing.T) {
	RequireRoot(t)
	n := New(t, "proc")
	log := filepath.Join(t.TempDir(), "sleep.log")
	// A shell that ignores SIGTERM with a child: Stop must still end both.
	pid, err := n.Start(log, "sh", "-c", `trap "" TERM; echo started; sleep 600 & wait`)
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, 20*time.Millisecond, func() (bool, string) {
		b, _ := os.ReadFile(log)
		return strings.Contains(string(b), "started"), "log: " + string(b)
	})
	old := StopGrace
	StopGrace = 200 * time.Millisecond
	defer func() { StopGrace = old }()
	if err := n.Stop(pid); err != nil {
		t.Fatal(err)
	}
	// A killed child may take a moment to be reaped: poll for the empty
	// namespace rather than expect it at once.
	Eventually(t, 10*time.Second, 20*time.Millisecond, func() (bool, string) {
		left, _ := n.pids()
		return len(left) == 0, fmt.Sprintf("processes left in namespace: %v", left)
	})
	if exited, _ := n.Exited(pid); !exited {
		t.Fatal("Exited is false after Stop")
	}
}

func TestSysctlIsPerNamespace(t *testing.T) {
	RequireRoot(t)
	n := New(t, "sysctl")
	var got []byte
	if err := n.Do(func() error {
		var err error
		got, err = os.ReadFile("/proc/sys/net/ipv6/conf/default/accept_dad")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "0" {
		t.Fatalf("accept_dad inside = %q, want 0", got)
	}
}

func TestProbes(t *testing.T) {
	RequireRoot(t)
	for name, probe := range map[string]func() (bool, string){
		"vrf": HasVRF, "mpls": HasMPLS, "dummy": HasDummy, "gre": HasGRE,
	} {
		ok, why := probe()
		if !ok && why == "" {
			t.Errorf("%s: missing without a reason", name)
		}
		t.Logf("%s: %v %s", name, ok, why)
	}
	if left, _ := List(Prefix + "probe"); len(left) != 0 {
		t.Errorf("probe namespaces left: %v", left)
	}
}

func TestWaitReportsLastDescription(t *testing.T) {
	i := 0
	err := Wait(30*time.Millisecond, 5*time.Millisecond, func() (bool, string) {
		i++
		return false, "attempt " + strings.Repeat("x", i%2)
	})
	if err == nil || !strings.Contains(err.Error(), "attempt") {
		t.Fatalf("err = %v", err)
	}
	if err := Wait(time.Second, time.Millisecond, func() (bool, string) { return true, "" }); err != nil {
		t.Fatal(err)
	}
}
