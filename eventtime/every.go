package eventtime

import (
	"fmt"
	"io"
	"math"
	"time"
)

// Every is the processing-time schedule of an `emit = "every D"` trigger:
// ticks at the multiples of D since the Unix epoch (like Spark's
// processing-time trigger), reported by Due. The scheduler asks Next when to
// wake up and Due what is due; missed ticks (the scheduler was busy) are
// coalesced into one, with their number reported.
//
// Not safe for concurrent use.
type Every struct {
	period int64
	next   int64
}

// NewEvery returns the schedule with period d (at least one millisecond;
// truncated to whole milliseconds) whose first tick is the first multiple of
// d after processing time now.
func NewEvery(d time.Duration, now int64) (*Every, error) {
	p := millis(int64(d))
	if p <= 0 {
		return nil, fmt.Errorf("eventtime: every: period %s is shorter than 1ms", d)
	}
	return &Every{period: p, next: alignAfter(now, p)}, nil
}

// Period returns the period in milliseconds.
func (e *Every) Period() int64 { return e.period }

// Next returns the processing time of the next tick.
func (e *Every) Next() int64 { return e.next }

// Due reports the ticks due at processing time now: n is how many ticks
// fell in (previous call, now] (0 if none) and tick the latest of them, at
// which the stage emits once. The next tick is then the first one after
// tick. A clock that moved backwards makes nothing due.
func (e *Every) Due(now int64) (tick, n int64) {
	if now < e.next {
		return 0, 0
	}
	k := (uint64(now) - uint64(e.next)) / uint64(e.period) // exact: now ≥ next
	tick = int64(uint64(e.next) + k*uint64(e.period))
	n = math.MaxInt64
	if k < math.MaxInt64 {
		n = int64(k) + 1
	}
	e.next = math.MaxInt64
	if tick <= math.MaxInt64-e.period {
		e.next = tick + e.period
	}
	return tick, n
}

// Snapshot writes the time of the next tick as one frame (see the package documentation).
func (e *Every) Snapshot(w io.Writer) error {
	return writeFrame(w, kindEvery, appendVarint(nil, e.next))
}

// Restore sets the next tick from a frame written by Snapshot, keeping the
// receiver's period; if the period changed since the snapshot, the next tick
// becomes the first multiple of the current period at or after the saved
// one. A restored schedule whose next tick is in the past reports it due at
// once. On error it leaves the schedule unchanged; it never panics.
func (e *Every) Restore(r io.Reader) error {
	p, err := readFrame(r, kindEvery)
	if err != nil {
		return err
	}
	d := decoder{what: "every", b: p}
	next := d.varint()
	if err := d.finish(); err != nil {
		return err
	}
	if next%e.period != 0 {
		next = alignAfter(next, e.period)
	}
	e.next = next
	return nil
}

// alignAfter returns the first multiple of p (> 0) strictly after t,
// saturating at math.MaxInt64. (q+1)·p cannot underflow: q ≥ MinInt64/p − 1.
func alignAfter(t, p int64) int64 {
	q := t / p
	if t%p < 0 {
		q-- // floor for negative t
	}
	if q >= math.MaxInt64/p {
		return math.MaxInt64
	}
	return (q + 1) * p
}
