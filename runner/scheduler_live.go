package runner

import (
	"math"
	"time"

	"github.com/sluice-io/sluice/record"
)

// This file holds the scheduler's side of the live view (Monitor): it
// counts per batch and publishes per batch or wake-up, never per record.

// afterWork publishes the counters of the work just done and, at most every
// publishEvery ms, the windows' event time.
func (s *scheduler) afterWork(now int64) {
	s.r.live.publishCounts()
	s.publishWindows(now, false)
}

// publishWindows publishes every window's event time and state. A
// publication skipped to keep within publishEvery is made up for by a
// wake-up (publishDue), so that a quiet pipeline's view is never stale.
func (s *scheduler) publishWindows(now int64, force bool) {
	pre := len(s.r.plan.pre)
	s.publishDue = math.MaxInt64
	for j, op := range s.ops {
		if w := s.r.live.stages[pre+j].window; op != nil && w != nil {
			if due, skipped := w.publish(op, now, force || now >= s.publishDue); skipped {
				s.publishDue = min(s.publishDue, due)
			}
		}
	}
}

// countPre adds what the stateless stages did with env's rows.
func (s *scheduler) countPre(env *envelope) {
	for i, d := range env.counts {
		s.r.live.stages[i].count.add(d)
	}
}

// countPost adds what post stage j did with the rows of in: a window's out
// is the rows it accepted (its results are the next stage's input), a
// transform's the rows it kept.
func (s *scheduler) countPost(j int, in, out *record.Batch, window bool) {
	d := stageCount{in: int64(in.Rows), late: int64(s.lateN), dead: int64(s.rejN)}
	if window {
		d.out = d.in - d.late - d.dead
	} else {
		d.out = int64(out.Rows)
		d.filtered = d.in - d.out - d.dead - d.late
	}
	s.r.live.stages[len(s.r.plan.pre)+j].count.add(d)
}

// writeSinks hands b to every sink, timing each write.
func (s *scheduler) writeSinks(b *record.Batch) error {
	for i, w := range s.r.sinks {
		ls := &s.r.live.sinks[i]
		start := time.Now()
		err := w.Write(s.r.abortCtx, b)
		ls.write.Observe(time.Since(start))
		if err != nil {
			ls.errors.Add(1)
			return s.r.stageError(s.r.plan.sinks[i].title, err)
		}
		ls.rows.Add(int64(b.Rows))
	}
	return nil
}

// observeEmit records how long after their window's end the rows of b
// reached the sinks (for results of a window) and keeps the last rows.
func (s *scheduler) observeEmit(b *record.Batch) {
	now := s.r.opts.Clock.Now()
	if s.latencyCol >= 0 {
		h := &s.r.live.stages[s.latencyStage].window.latency
		col := &b.Columns[s.latencyCol]
		for i := range b.Rows {
			if !col.IsNull(i) {
				h.Observe(now.Sub(time.UnixMilli(col.Ints[i])))
			}
		}
	}
	s.r.live.captureRows(b, now.UnixMilli(), s.latencyCol >= 0)
}

// findLatencyColumn finds the window_end column of the rows the sinks get,
// when they are a window's results, and the window they come from.
func (s *scheduler) findLatencyColumn() {
	s.latencyCol = -1
	post := s.r.plan.post
	for j := len(post) - 1; j >= 0; j-- {
		if post[j].operator == nil {
			continue
		}
		i, c, ok := post[len(post)-1].out.Find("window_end")
		if ok && c.Type == record.ColumnTimestamp {
			s.latencyCol, s.latencyStage = i, len(s.r.plan.pre)+j
		}
		return
	}
}
