package runner

import (
	"fmt"
	"math"

	"github.com/sluice-io/sluice/plugins"
)

// The half after a repartition block reads a source whose batches carry
// their watermark (plugins.MarkedReader): the first window follows it
// (plugins.WatermarkFollower) instead of computing one from the event
// times of records that arrive in the order of the shuffle.

// follow makes op, the first window's operator, follow the watermark of
// the run's source when the source carries one and the window places
// records by event time.
func (s *scheduler) follow(st stage, op plugins.Operator) error {
	if _, ok := s.r.reader.(plugins.MarkedReader); !ok || s.r.plan.procTime || s.r.plan.eventCol < 0 {
		return nil
	}
	f, ok := op.(plugins.WatermarkFollower)
	if !ok {
		return fmt.Errorf("pipeline %q: %s cannot follow the watermark of %s", s.r.plan.name, st.title, s.r.plan.sourceTitle)
	}
	f.Follow()
	s.follower, s.followed = f, math.MinInt64
	return nil
}

// advanceFollower hands the follower the watermark w a batch carried, when
// it rose, and sends the windows that close through the stages after it.
func (s *scheduler) advanceFollower(w int64) error {
	if s.follower == nil || w <= s.followed {
		return nil
	}
	s.followed = w
	out := s.outs[0]
	out.Reset()
	if err := s.follower.AdvanceTo(w, s.now, out); err != nil {
		return s.r.stageError(s.r.plan.post[0].title, err)
	}
	return s.push(1, out, nil)
}

// endInput tells the sinks that must know it (plugins.InputEnder) that the
// source reached the end of its input and the last rows were written.
func (r *run) endInput() error {
	for i, w := range r.sinks {
		if e, ok := w.(plugins.InputEnder); ok {
			if err := e.EndInput(r.abortCtx); err != nil {
				return r.stageError(r.plan.sinks[i].title, err)
			}
		}
	}
	return nil
}

// handedWatermark is the watermark a combiner computed, as handed to the
// publisher after it.
type handedWatermark struct {
	w     int64
	idle  bool
	given bool
	parts []plugins.PartitionStatus
}

// handWatermark gives the publisher of the half before a repartition the
// watermark of the combiner before it, when it changed: the rows it covers
// were written already.
func (s *scheduler) handWatermark() {
	if !s.r.plan.handsWatermark || len(s.ops) == 0 || len(s.r.sinks) == 0 {
		return
	}
	ww, ok := s.r.sinks[0].(plugins.WatermarkWriter)
	if !ok {
		return // refused when the run opened
	}
	h := &s.handed
	op := s.ops[0]
	w, idle := op.Watermark(), false
	if rep, ok := op.(plugins.OperatorReporter); ok {
		h.parts = rep.Partitions(h.parts[:0], s.now)
		idle = len(h.parts) > 0
		for _, p := range h.parts {
			idle = idle && p.Idle
		}
	}
	if h.given && w == h.w && idle == h.idle {
		return
	}
	h.w, h.idle, h.given = w, idle, true
	ww.SetWatermark(w, idle)
}
