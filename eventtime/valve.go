package eventtime

import (
	"fmt"
	"io"
	"time"
)

// ValveConfig holds the window stage's event-time settings. The zero value
// means no allowed out-of-orderness and partitions that never become idle;
// the configuration layer supplies the documented defaults (idle_timeout 30s).
type ValveConfig struct {
	// Watermark is the allowed out-of-orderness (the stage's `watermark`):
	// W = min over active partitions of max_p − Watermark. Must be ≥ 0.
	Watermark time.Duration
	// IdleTimeout is the processing time after which a silent partition stops
	// holding W back (the stage's `idle_timeout`). Zero disables idleness.
	// Must be ≥ 0.
	IdleTimeout time.Duration
}

// Valve computes a stage's watermark W from its partitions' Generators:
//
//	W = max(previous W, min over active partitions p of (max_p − watermark))
//
// A partition is active unless it has been silent for IdleTimeout (see
// Generator.Tick); a partition that is known but has never delivered has
// max_p = NoWatermark and so holds W at NoWatermark until it becomes idle.
// A returning partition is active again at once, but W never moves
// backwards: while its max_p − watermark is below W, W simply stays. When
// every partition is idle (or there are none), W does not move. W starts at
// NoWatermark; Finish moves it to EndOfTime for good.
//
// W moves only in Advance (and Finish), so the caller decides when time
// passes. To make results independent of batch sizes (docs/event-time.md,
// "The watermark"), the scheduler calls Observe then Advance for each
// record, passing the processing time it read once for the batch, and calls
// Advance on processing-time ticks so that idle partitions are noticed.
//
// Advance costs O(log partitions) per delivering partition, as Flink's
// StatusWatermarkValve keeps it cheap: the valve keeps the max_p of the
// active partitions in a tournament tree whose root is their minimum, and
// updates only the leaves of the partitions that delivered. Whether a
// partition turns idle is only checked (over every partition) once
// processing time reaches the earliest moment one can: the oldest last
// delivery among the active partitions plus IdleTimeout. Neither Observe
// nor Advance allocates once every partition has delivered.
//
// Not safe for concurrent use.
type Valve struct {
	delay    int64 // allowed out-of-orderness, ms
	idle     int64 // idle timeout, ms; 0 = never idle
	w        int64
	finished bool
	parts    []Generator

	// active[p] is partition p's status as of the last Advance, and
	// nActive how many are active. lowest is the tournament tree: leaf p
	// (at len(lowest)/2 + p) holds max_p when p is active and EndOfTime
	// otherwise, every inner node the least of its two children, and
	// lowest[1] the least max_p of the active partitions. rescan means
	// every status must be decided again (after Restore, ResetIdle,
	// AddPartition or a clock that moved backwards).
	active  []bool
	nActive int
	lowest  []int64
	rescan  bool
	idleAt  int64   // no active partition can turn idle before this processing time
	lastNow int64   // now of the previous Advance
	pending []int32 // partitions observed since the last Advance
}

// NewValve returns a valve with partitions 0 … partitions−1, all known since
// processing time now and none having delivered yet, and W = NoWatermark.
func NewValve(cfg ValveConfig, partitions int, now int64) (*Valve, error) {
	if cfg.Watermark < 0 {
		return nil, fmt.Errorf("eventtime: negative watermark %s", cfg.Watermark)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("eventtime: negative idle timeout %s", cfg.IdleTimeout)
	}
	if partitions < 0 {
		return nil, fmt.Errorf("eventtime: negative partition count %d", partitions)
	}
	v := &Valve{
		delay:  millis(int64(cfg.Watermark)),
		idle:   millis(int64(cfg.IdleTimeout)),
		w:      NoWatermark,
		parts:  make([]Generator, partitions),
		active: make([]bool, partitions),
		rescan: true,
	}
	for i := range v.parts {
		v.parts[i] = NewGenerator(now)
	}
	return v, nil
}

// AddPartition adds a partition known since processing time now (for
// example when a topic gains partitions) and returns its id, which is
// Partitions() before the call. Like every partition that has not delivered
// yet, it holds W back until it delivers or becomes idle; it never lowers W.
func (v *Valve) AddPartition(now int64) int {
	v.parts = append(v.parts, NewGenerator(now))
	v.active = append(v.active, false)
	v.rescan = true
	return len(v.parts) - 1
}

// Partitions returns the number of partitions.
func (v *Valve) Partitions() int { return len(v.parts) }

// Observe records a record of partition p (0 ≤ p < Partitions(), else it
// panics) with the given event time that reached the stage. W does not move
// until the next Advance, which also stamps the delivery's processing time.
func (v *Valve) Observe(p int, eventTime int64) {
	g := &v.parts[p]
	if !g.pending {
		v.pending = append(v.pending, int32(p))
	}
	g.Observe(eventTime)
}

// Advance stamps the deliveries observed since the previous Advance with
// processing time now, recomputes W and returns it, with changed reporting
// whether it rose. W never decreases. After Finish it returns (EndOfTime,
// false).
func (v *Valve) Advance(now int64) (w int64, changed bool) {
	if v.finished {
		return v.w, false
	}
	if now < v.lastNow {
		v.rescan = true // a partition idle before may be active again
	}
	v.lastNow = now
	for _, p := range v.pending {
		g := &v.parts[p]
		g.Tick(now, v.idle)
		// After the clock stepped back, a delivery can move a partition's
		// last delivery earlier: keep idleAt a lower bound.
		v.idleAt = min(v.idleAt, addSat(now, v.idle))
		if v.rescan {
			continue
		}
		if !v.active[p] {
			v.active[p] = true // a returning partition counts at once
			v.nActive++
		}
		v.setLeaf(int(p), g.max)
	}
	v.pending = v.pending[:0]
	if v.rescan || (v.idle > 0 && now >= v.idleAt) {
		v.statuses(now)
	}
	if v.nActive == 0 {
		return v.w, false
	}
	if c := subSat(v.lowest[1], v.delay); c > v.w {
		v.w = c
		return c, true
	}
	return v.w, false
}

// statuses decides every partition's status at now (as Generator.Tick
// does), rebuilds the tree and finds the next moment a partition can turn
// idle.
func (v *Valve) statuses(now int64) {
	n := 1
	for n < len(v.parts) {
		n *= 2
	}
	if len(v.lowest) != 2*n {
		v.lowest = make([]int64, 2*n)
	}
	v.idleAt, v.nActive = EndOfTime, 0
	for i := range n {
		leaf := EndOfTime
		if i < len(v.parts) {
			g := &v.parts[i]
			if v.active[i] = g.Tick(now, v.idle); v.active[i] {
				v.nActive++
				leaf = g.max
				if v.idle > 0 {
					v.idleAt = min(v.idleAt, addSat(g.last, v.idle))
				}
			}
		}
		v.lowest[n+i] = leaf
	}
	for i := n - 1; i >= 1; i-- {
		v.lowest[i] = min(v.lowest[2*i], v.lowest[2*i+1])
	}
	v.rescan = false
}

// setLeaf sets active partition p's max_p in the tree and updates the
// minimum above it, stopping as soon as a node does not change.
func (v *Valve) setLeaf(p int, max int64) {
	i := len(v.lowest)/2 + p
	if v.lowest[i] == max {
		return
	}
	v.lowest[i] = max
	for i > 1 {
		i /= 2
		m := min(v.lowest[2*i], v.lowest[2*i+1])
		if v.lowest[i] == m {
			return
		}
		v.lowest[i] = m
	}
}

// Finish ends a bounded input: W becomes EndOfTime, so every window closes and
// every event-time timer fires, and stays there. changed reports whether W
// rose (false if Finish was already called).
func (v *Valve) Finish() (w int64, changed bool) {
	changed = v.w != EndOfTime
	v.w, v.finished = EndOfTime, true
	return v.w, changed
}

// Watermark returns the current W without advancing it.
func (v *Valve) Watermark() int64 { return v.w }

// Finished reports whether Finish was called.
func (v *Valve) Finished() bool { return v.finished }

// Max returns max_p of partition p (NoWatermark if it has not delivered).
func (v *Valve) Max(p int) int64 { return v.parts[p].Max() }

// Idle reports whether partition p is idle at processing time now, as the
// next Advance(now) would judge it (records observed since the last Advance
// count as delivered at now). It changes nothing.
func (v *Valve) Idle(p int, now int64) bool {
	g := v.parts[p]
	return v.idle > 0 && !g.pending && now-g.last >= v.idle
}

// ResetIdle restarts every partition's idleness clock at processing time
// now, as if each had just delivered, without touching max_p or W. Call it
// after restoring a checkpoint written by an earlier process, so that the
// downtime does not make every partition idle at once; skip it when an exact
// replay of the original processing-time behaviour is wanted (tests).
func (v *Valve) ResetIdle(now int64) {
	for i := range v.parts {
		v.parts[i].last = now
	}
	v.rescan = true
}

// Snapshot writes the valve's state (W, whether it finished, and each
// partition's max_p, last delivery time and unstamped-delivery flag) as one
// frame (see the package documentation). The configuration is not
// written: a restored valve keeps the one it was created with.
func (v *Valve) Snapshot(w io.Writer) error {
	var p []byte
	p = appendVarint(p, v.w)
	p = appendBool(p, v.finished)
	p = appendUvarint(p, uint64(len(v.parts)))
	for _, g := range v.parts {
		p = appendVarint(p, g.max)
		p = appendVarint(p, g.last)
		p = appendBool(p, g.pending)
	}
	return writeFrame(w, kindValve, p)
}

// Restore replaces the valve's state (W, finished, partitions) with one
// written by Snapshot, keeping its configuration. It reads exactly one frame
// from r. On error (unknown version, wrong kind, truncated or corrupt input)
// it leaves the valve unchanged; it never panics.
func (v *Valve) Restore(r io.Reader) error {
	p, err := readFrame(r, kindValve)
	if err != nil {
		return err
	}
	d := decoder{what: "valve", b: p}
	w := d.varint()
	finished := d.bool()
	n := d.count(3) // each partition takes at least 3 bytes
	parts := make([]Generator, n)
	for i := range parts {
		parts[i] = Generator{max: d.varint(), last: d.varint(), pending: d.bool()}
	}
	if err := d.finish(); err != nil {
		return err
	}
	if finished && w != EndOfTime {
		return corrupt("valve", "finished with W %d", w)
	}
	v.w, v.finished, v.parts = w, finished, parts
	v.active, v.pending, v.rescan = make([]bool, len(parts)), v.pending[:0], true
	for i, g := range parts {
		if g.pending {
			v.pending = append(v.pending, int32(i))
		}
	}
	return nil
}

// LastDelivery returns the processing time (Unix ms) of partition p's last
// delivery, or of when it became known if it has not delivered; a delivery
// not yet stamped by Advance is not included.
func (v *Valve) LastDelivery(p int) int64 { return v.parts[p].LastDelivery() }
