package peer

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/wire/iana"
)

var update = flag.Bool("update", false, "rewrite the expected output of FSM transcripts")

// Transcripts live in testdata/fsm/*.txt. A transcript is a list of input
// lines, each followed by the output it produced:
//
//	# comment
//	config passive delay-open=5s hold=90s connect-retry=30s keepalive=0s idle-hold=1s max-idle-hold=60s stable=0s
//	> EventName [hold=90s] [code=N] [subcode=N]
//	start ConnectRetryTimer 30s        (an action, as Action.String prints it)
//	= Connect                          (the state after the event)
//
// Only '#', 'config' and '>' lines are input; the rest is rewritten with
// -update. Review those diffs as carefully as code.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/fsm/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := runTranscript(string(in))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(in) {
				t.Errorf("transcript differs (run with -update and review the diff):\n%s", diffLines(string(in), got))
			}
		})
	}
}

func runTranscript(in string) (string, error) {
	var out strings.Builder
	var f *FSM
	for n, line := range strings.Split(strings.TrimRight(in, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			out.WriteString(line + "\n")
		case strings.HasPrefix(line, "config"):
			cfg, err := parseConfig(strings.Fields(line)[1:])
			if err != nil {
				return "", fmt.Errorf("line %d: %v", n+1, err)
			}
			f = NewFSM(cfg)
			out.WriteString(line + "\n")
		case strings.HasPrefix(line, "> "):
			if f == nil {
				f = NewFSM(fsmCfg{})
			}
			ev, err := parseEvent(strings.Fields(line[2:]))
			if err != nil {
				return "", fmt.Errorf("line %d: %v", n+1, err)
			}
			out.WriteString(line + "\n")
			for _, a := range f.Step(ev) {
				out.WriteString(a.String() + "\n")
			}
			fmt.Fprintf(&out, "= %s\n", f.State())
		}
	}
	return out.String(), nil
}

func parseConfig(fields []string) (fsmCfg, error) {
	var c fsmCfg
	for _, fl := range fields {
		k, v, _ := strings.Cut(fl, "=")
		if k == "passive" {
			c.Passive = true
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("config %s: %v", k, err)
		}
		switch k {
		case "connect-retry":
			c.ConnectRetryTime = d
		case "hold":
			c.HoldTime = d
		case "keepalive":
			c.KeepaliveTime = d
		case "delay-open":
			c.DelayOpenTime = d
		case "idle-hold":
			c.IdleHoldTime = d
		case "max-idle-hold":
			c.MaxIdleHoldTime = d
		case "stable":
			c.StableTime = d
		default:
			return c, fmt.Errorf("unknown config key %q", k)
		}
	}
	return c, nil
}

func parseEvent(fields []string) (Event, error) {
	var ev Event
	for t, name := range eventNames {
		if name == fields[0] {
			ev.Type = t
		}
	}
	if ev.Type == 0 {
		return ev, fmt.Errorf("unknown event %q", fields[0])
	}
	for _, fl := range fields[1:] {
		k, v, _ := strings.Cut(fl, "=")
		switch k {
		case "hold":
			d, err := time.ParseDuration(v)
			if err != nil {
				return ev, err
			}
			ev.HoldTime = d
		case "code", "subcode":
			n, err := strconv.Atoi(v)
			if err != nil {
				return ev, err
			}
			if k == "code" {
				ev.Code = iana.NotifCode(n)
			} else {
				ev.Subcode = uint8(n)
			}
		default:
			return ev, fmt.Errorf("unknown event field %q", k)
		}
	}
	return ev, nil
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestIdleHoldBackoff checks the damping doubles and is capped, and that
// ManualStart clears it.
func TestIdleHoldBackoff(t *testing.T) {
	f := NewFSM(fsmCfg{IdleHoldTime: time.Second, MaxIdleHoldTime: 8 * time.Second})
	var holds []time.Duration
	f.Step(Event{Type: ManualStart})
	for i := 0; i < 6; i++ {
		for _, a := range f.Step(Event{Type: TCPConnectionFails}) {
			if a.Type == StartTimer && a.Timer == IdleHoldTimer {
				holds = append(holds, a.Duration)
			}
		}
		f.Step(Event{Type: IdleHoldTimerExpires})
	}
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i := range want {
		if holds[i] != want[i]*time.Second {
			t.Fatalf("idle holds %v, want %v seconds", holds, want)
		}
	}
	f.Step(Event{Type: ManualStop})
	f.Step(Event{Type: ManualStart})
	if f.ConnectRetryCounter() != 0 {
		t.Errorf("ManualStart left counter %d", f.ConnectRetryCounter())
	}
}

// FuzzFSM feeds random event sequences: Step must never panic, the state
// must stay one of the six, a NOTIFICATION is only sent from OpenSent or
// later (no OPEN was sent before), and leaving Established always releases
// resources.
func FuzzFSM(f *testing.F) {
	f.Add([]byte{1, 16, 19, 26, 27, 11, 10}, false, uint8(0))
	f.Add([]byte{1, 16, 12, 19, 26, 2}, true, uint8(5))
	f.Add([]byte{3, 17, 19, 23, 13, 9, 18}, false, uint8(0))
	f.Fuzz(func(t *testing.T, evs []byte, passive bool, delay uint8) {
		fsm := NewFSM(fsmCfg{Passive: passive, DelayOpenTime: time.Duration(delay%4) * time.Second, StableTime: time.Minute})
		for _, b := range evs {
			ev := Event{Type: EventType(b%uint8(StableTimerExpires)) + 1, HoldTime: time.Duration(b%5) * 3 * time.Second}
			if ev.Type == BGPHeaderErr || ev.Type == BGPOpenMsgErr || ev.Type == UpdateMsgErr {
				ev.Code, ev.Subcode = iana.NotifUpdateMessage, uint8(iana.UpdateMalformedAttributeList)
			}
			before := fsm.State()
			acts := fsm.Step(ev)
			after := fsm.State()
			if after > Established {
				t.Fatalf("state %v", after)
			}
			released := false
			for _, a := range acts {
				// Before OpenSent no OPEN was sent, so only a header or OPEN
				// error found on an open connection may be reported.
				if a.Type == SendNotification && before < OpenSent && ev.Type != BGPHeaderErr && ev.Type != BGPOpenMsgErr {
					t.Fatalf("NOTIFICATION sent from %v on %v", before, ev.Type)
				}
				if a.Type == SendNotification && !iana.ValidNotification(a.Code, a.Subcode) {
					t.Fatalf("invalid NOTIFICATION %v/%v", a.Code, a.Subcode)
				}
				if a.Type == ReleaseResources {
					released = true
				}
			}
			if before == Established && after != Established && !released {
				t.Fatalf("left Established on %v without releasing resources", ev.Type)
			}
		}
	})
}

func TestFuzzFSMRandom(t *testing.T) {
	// A quick deterministic pass of the fuzz property for plain `go test`.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		fsm := NewFSM(fsmCfg{Passive: r.Intn(2) == 0})
		for j := 0; j < 30; j++ {
			fsm.Step(Event{Type: EventType(r.Intn(int(StableTimerExpires))) + 1, HoldTime: 90 * time.Second})
		}
	}
}
