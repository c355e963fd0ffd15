package runner

import (
	"math"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
)

// ackEvery is how often, in processing-time milliseconds, the scheduler
// looks for records that became done while windows stay open.
const ackEvery = 50

// ackTracker acknowledges the records of an Acknowledger source once they
// are done. Per partition it keeps, in arrival order, one segment per batch:
// the batch's last position and the largest event time among its rows that
// entered the first window. A segment is done when no open window starts
// at or before that event time (every window its rows went into has been
// emitted) and no later window holds state; then its position is committed.
// Acknowledgement therefore trails by at most one batch per partition.
type ackTracker struct {
	acker    plugins.Acknowledger
	segs     [][]ackSeg // per partition, oldest first
	lastScan int64
	eventCol int  // the first window's event time column in its input; -1 without a window
	procTime bool // the first window places records at their batch's processing time

	last, maxT []int64 // per partition, scratch of add
	skipped    bool    // a throttled release was skipped: wake up for it
}

// wake returns when the scheduler must wake up to release what a throttled
// release skipped.
func (t *ackTracker) wake() (int64, bool) {
	return t.lastScan + ackEvery, t.skipped
}

type ackSeg struct {
	upTo int64 // the last position of the batch in this partition
	maxT int64 // the largest event time that entered the first window; MinInt64 for none
}

func newAckTracker(a plugins.Acknowledger, partitions, eventCol int) *ackTracker {
	t := &ackTracker{acker: a, eventCol: eventCol}
	t.grow(partitions - 1)
	return t
}

// add records a batch: positions from the source's rows (raw), event times
// from the rows handed to the first window (in, nil when none were).
//
// A record's time, which tells when every window it went into has been
// emitted, is its event time, or now, the processing time of its batch,
// when the first window places records by processing time.
func (t *ackTracker) add(raw, in *record.Batch, now int64) {
	for _, o := range raw.Origins {
		t.grow(int(o.Partition))
	}
	for p := range t.last {
		t.last[p], t.maxT[p] = math.MinInt64, math.MinInt64
	}
	for _, o := range raw.Origins {
		t.last[o.Partition] = max(t.last[o.Partition], o.Offset)
	}
	if t.procTime && in != nil {
		for _, o := range in.Origins {
			if int(o.Partition) < len(t.maxT) {
				t.maxT[o.Partition] = now
			}
		}
	}
	if t.eventCol >= 0 && in != nil {
		ts := &in.Columns[t.eventCol]
		for i, o := range in.Origins {
			if int(o.Partition) < len(t.maxT) && !ts.IsNull(i) {
				t.maxT[o.Partition] = max(t.maxT[o.Partition], ts.Ints[i])
			}
		}
	}
	for p, last := range t.last {
		if last != math.MinInt64 {
			t.segs[p] = append(t.segs[p], ackSeg{upTo: last, maxT: t.maxT[p]})
		}
	}
}

// grow makes room for partition p.
func (t *ackTracker) grow(p int) {
	for p >= len(t.segs) {
		t.segs = append(t.segs, nil)
		t.last = append(t.last, 0)
		t.maxT = append(t.maxT, 0)
	}
}

// release commits what is done. ops are the scheduler's operators (nil
// entries for transforms). With throttle (after a batch, while windows are
// open) it looks at most every ackEvery milliseconds of processing time and
// otherwise asks for a wake-up (wake); with force every segment is done (the
// input ended and every window was emitted).
func (t *ackTracker) release(ops []plugins.Operator, now int64, throttle, force bool) error {
	if throttle && len(ops) > 0 && now-t.lastScan < ackEvery {
		t.skipped = true
		return nil
	}
	t.lastScan, t.skipped = now, false
	earliest, open := int64(math.MaxInt64), false
	laterOpen := false
	first := true
	for _, op := range ops {
		if op == nil {
			continue
		}
		if first {
			if e, ok := op.EarliestOpen(); ok {
				earliest, open = e, true
			}
			first = false
		} else if op.Open() > 0 {
			laterOpen = true
		}
	}
	for p, segs := range t.segs {
		n := 0
		for n < len(segs) {
			s := segs[n]
			done := force || s.maxT == math.MinInt64 || (!laterOpen && (!open || s.maxT < earliest))
			if !done {
				break
			}
			n++
		}
		if n == 0 {
			continue
		}
		if err := t.acker.Commit(p, segs[n-1].upTo); err != nil {
			return err
		}
		t.segs[p] = append(segs[:0], segs[n:]...)
	}
	return nil
}
