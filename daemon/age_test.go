package daemon

import (
	"testing"
	"time"
)

func TestPathClock(t *testing.T) {
	var c pathClock
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	c.mark(10, t0)
	c.mark(20, t0.Add(300*time.Millisecond)) // within the second: the same record
	c.mark(30, t0.Add(2*time.Second))
	for _, tc := range []struct {
		seq  uint64
		want time.Time
	}{
		{1, t0.Add(300 * time.Millisecond)},
		{20, t0.Add(300 * time.Millisecond)},
		{21, t0.Add(2 * time.Second)},
		{30, t0.Add(2 * time.Second)},
		{31, time.Time{}}, // not marked yet
	} {
		if got := c.since(tc.seq); !got.Equal(tc.want) {
			t.Errorf("since(%d) = %v, want %v", tc.seq, got, tc.want)
		}
	}
	// Thinning keeps the newest records exact and the count bounded.
	for i := range 3 * maxClockRecs {
		c.mark(uint64(100+i), t0.Add(time.Duration(10+i)*time.Second))
	}
	if len(c.recs) > maxClockRecs {
		t.Errorf("%d records, want at most %d", len(c.recs), maxClockRecs)
	}
	last := uint64(100 + 3*maxClockRecs - 1)
	if got, want := c.since(last), t0.Add(time.Duration(10+3*maxClockRecs-1)*time.Second); !got.Equal(want) {
		t.Errorf("newest since = %v, want %v", got, want)
	}
	// An old path is dated no earlier than it arrived.
	if got := c.since(150); got.Before(t0.Add(60 * time.Second)) {
		t.Errorf("since(150) = %v, earlier than its arrival", got)
	}
}
