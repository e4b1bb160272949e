package daemon

import (
	"sort"
	"time"
)

// pathClock tells when a path arrived from its arrival number (rib.Path.Seq),
// without storing a time per path: after each round the RIB loop records
// the table's latest arrival number and the time, one record per second
// at most (a newer mark within the second updates the record), and a
// path's arrival is the time of the first record at or after its number.
// Recent paths are dated to within a second, a little late; to stay
// small, older records are thinned (every other one dropped) when there
// are too many, so an old path's age is approximate.
type pathClock struct {
	recs []clockRec
}

type clockRec struct {
	seq   uint64
	at    time.Time
	start time.Time // when the record was made: it takes later marks for a second
}

const (
	maxClockRecs  = 4096
	keepClockRecs = 1024 // the newest, never thinned
)

// mark records that every path numbered up to seq had arrived by now.
func (c *pathClock) mark(seq uint64, now time.Time) {
	if n := len(c.recs); n > 0 {
		last := &c.recs[n-1]
		if last.seq == seq {
			return
		}
		if now.Sub(last.start) < time.Second {
			last.seq, last.at = seq, now
			return
		}
	}
	c.recs = append(c.recs, clockRec{seq: seq, at: now, start: now})
	if len(c.recs) > maxClockRecs {
		old := c.recs[:len(c.recs)-keepClockRecs]
		k := 0
		for i := range old {
			if i%2 == 0 {
				old[k] = old[i]
				k++
			}
		}
		c.recs = append(c.recs[:k], c.recs[len(c.recs)-keepClockRecs:]...)
	}
}

// since is when the path numbered seq arrived: the first record at or
// after its number (the loop had it by then); the zero time when it
// arrived after the last record.
func (c *pathClock) since(seq uint64) time.Time {
	i := sort.Search(len(c.recs), func(i int) bool { return c.recs[i].seq >= seq })
	if i == len(c.recs) {
		return time.Time{}
	}
	return c.recs[i].at
}
