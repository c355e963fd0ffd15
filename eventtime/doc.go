// Package eventtime is the event-time core of one pipeline's scheduler:
// per-partition watermark generators, the watermark valve that combines them,
// a timer service, a periodic processing-time trigger, and injectable clocks.
//
// # Time
//
// Every time in this package, event time and processing time alike, is a
// plain int64 of Unix milliseconds (finer units are truncated, as docs/event-time.md
// "Time" says). Durations taken from configuration are time.Duration and
// are truncated to whole milliseconds. Processing time enters only as an
// explicit now argument, which the scheduler reads once per batch from its
// Clock (clock.Now().UnixMilli()); nothing here reads a clock on its own, so
// tests drive everything with a ManualClock and never sleep.
//
// # Parts (after Flink)
//
//   - Generator: one per source partition; tracks max_p, the largest event time
//     of the partition's records that reached the stage, and when the partition
//     last delivered (the idleness clock).
//   - Valve: W = min over active partitions of max_p − watermark, never
//     decreasing; NoWatermark until every active partition has delivered,
//     EndOfTime after Finish.
//   - TimerService: (timestamp, key) timers, deduplicated, fired in order at or
//     before a given time. One instance for event time (fired with W), another
//     for processing time (fired with now) if a stage needs it.
//   - Every: the due ticks of an `emit = "every D"` trigger.
//
// # Snapshots
//
// Valve, TimerService and Every each Snapshot to and Restore from one frame
// of a compact, versioned binary format (integers little-endian):
//
//	byte     version   (1; Restore rejects any other)
//	byte     kind      (1 valve, 2 timer service, 3 every)
//	uint64   payload length in bytes
//	uint32   CRC-32C of the payload
//	payload  kind-specific varints (encoding/binary)
//
// Restore reads exactly one frame and nothing after it, so the parts of a
// stage can be written one after another into one checkpoint stream and read
// back in the same order. Bad input (unknown version, another part's frame,
// truncation, corruption) returns an error wrapping ErrBadSnapshot and leaves
// the receiver unchanged; Restore never panics.
//
// # Concurrency
//
// Only ManualClock and SystemClock are safe for concurrent use. Generator,
// Valve, TimerService and Every are owned by the scheduler's single goroutine.
package eventtime

import "math"

const (
	// NoWatermark is the watermark before any exists: every window is open.
	NoWatermark int64 = math.MinInt64
	// EndOfTime is the watermark after a bounded input ends (Valve.Finish):
	// every window closes and every event-time timer fires.
	EndOfTime int64 = math.MaxInt64
)

// millis truncates d to whole milliseconds.
func millis(d int64) int64 { return d / 1e6 }

// subSat returns a − b for b ≥ 0, saturating at math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// addSat returns a + b for b ≥ 0, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
