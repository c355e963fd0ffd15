package eventtime

import (
	"sync"
	"time"
)

// Clock is the source of processing time. The scheduler reads it once per
// batch and per tick and passes the result (in Unix milliseconds) to the
// types of this package. Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current processing time.
	Now() time.Time
}

// SystemClock is the wall clock (time.Now). It is safe for concurrent use.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when told to, for tests. It is safe
// for concurrent use. The zero value reads as the zero time.Time; use
// NewManualClock to start elsewhere.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// NewManualClockMillis returns a ManualClock reading the given Unix
// milliseconds.
func NewManualClockMillis(ms int64) *ManualClock { return NewManualClock(time.UnixMilli(ms)) }

// Now returns the clock's current reading.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, forwards or backwards.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d (backwards if d is negative) and
// returns the new reading.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// NowMillis returns Now as Unix milliseconds, the unit the rest of the package
// uses.
func NowMillis(c Clock) int64 { return c.Now().UnixMilli() }
