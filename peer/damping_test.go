package peer

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/transport"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
)

// TestDampingSurvivesIncomingSessions: a peer that flaps by dialling in
// during our idle hold is taken on the second connection, which then
// replaces the idle primary; the ConnectRetryCounter that drives the
// damping must carry over, or each short session resets the back-off
// (found by interop TestFaultFlaps: 1 after 50 flaps).
func TestDampingSurvivesIncomingSessions(t *testing.T) {
	// Nothing listens at Remote: the first dial is refused (one failure)
	// and the idle hold is long enough that we never dial again.
	dead, err := net.Listen("tcp", "127.0.0.11:0")
	if err != nil {
		t.Fatal(err)
	}
	remote := dead.Addr().(*net.TCPAddr).AddrPort()
	dead.Close()
	p := New(Config{
		LocalAS: 65001, PeerAS: 65002, RouterID: netip.MustParseAddr("192.0.2.1"),
		Remote: remote, HoldTime: 90 * time.Second, ConnectRetryTime: 5 * time.Second,
		IdleHoldTime: time.Minute, MaxIdleHoldTime: time.Hour,
	}, Options{})
	p.Start(context.Background())
	defer p.Stop(0, false)
	eventually(t, 5*time.Second, "the first dial refused", func() bool {
		st := p.Status()
		return st.State == Idle && st.ConnectRetryCounter == 1
	})

	ln, err := net.Listen("tcp", "127.0.0.11:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const flaps = 5
	for i := range flaps {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		p.Accept(sc)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		rd := transport.NewReader(c)
		c.Write(wire.NewOpen(65002, 90, netip.MustParseAddr("192.0.2.2"), wire.CapFourOctetAS{AS: 65002},
			wire.CapMultiprotocol{Family: nlri.IPv4Unicast}).AppendTo(nil, wire.Options{}))
		c.Write(wire.Keepalive{}.AppendTo(nil, wire.Options{}))
		for done := false; !done; {
			typ, _, err := rd.ReadMessage()
			if err != nil {
				t.Fatalf("session %d: %v", i+1, err)
			}
			done = typ == iana.MsgKeepalive // we are Established
		}
		eventually(t, 5*time.Second, "Established", func() bool { return p.Status().State == Established })
		c.Close()
		want := 2 + i
		eventually(t, 5*time.Second, "Idle after the close", func() bool {
			st := p.Status()
			return st.State == Idle && st.ConnectRetryCounter == want
		})
	}
	if st := p.Status(); st.ConnectRetryCounter != flaps+1 || st.Flaps != flaps {
		t.Errorf("after %d flaps: ConnectRetryCounter %d, Flaps %d; want %d and %d", flaps, st.ConnectRetryCounter, st.Flaps, flaps+1, flaps)
	}
}
