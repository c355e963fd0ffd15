package runner

import (
	"context"
	"math"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
)

// scheduler is the ordered part of a run, on one goroutine: it takes the
// batches back in stream order, writes their rejected rows to the dead
// letter, drives the windows and the stages after them with processing
// time, and writes the results to the sinks.
type scheduler struct {
	r    *run
	ops  []plugins.Operator // per post stage; nil for a transform
	outs []*record.Batch    // per post stage: its output, reused
	ring []*envelope        // batches that arrived before their turn
	next uint64             // the sequence number due

	now     int64 // processing time of the work at hand (Unix ms)
	armedAt int64 // the wake-up asked for; math.MaxInt64 when none
	wake    <-chan time.Time

	// The row being processed by post stage cur, for late and reject.
	cur    int
	curIn  *record.Batch
	curEnv *envelope // the batch's envelope while cur == 0, else nil
	late   func(row int, reason string)
	reject func(row int, reason string)
	lateN  int // rows of the current call reported late
	rejN   int // rows of the current call rejected

	dead        deadQueue
	openWindows int
	// The window_end column of the rows the sinks get, when they are the
	// results of a window (stage latencyStage of the live view); -1 else.
	latencyCol, latencyStage int
	// publishDue is when a skipped publication of the windows' state is
	// due (math.MaxInt64: none).
	publishDue int64
	acks       *ackTracker // nil unless the source needs acknowledgements (and the run takes no checkpoints)
	ckpt       *checkpointer
	// ackOnCommit holds acknowledgements back until the transactional
	// sinks committed (a run without checkpoints but with such a sink).
	ackOnCommit bool
	// follower is the first window when it follows the watermark the
	// source's batches carry (plugins.MarkedReader), and followed the
	// last watermark it was given.
	follower plugins.WatermarkFollower
	followed int64
	// handed is what the publisher was last given (plan.handsWatermark).
	handed handedWatermark
}

func newScheduler(r *run, inflight int) (*scheduler, error) {
	s := &scheduler{r: r, ring: make([]*envelope, inflight), armedAt: math.MaxInt64, publishDue: math.MaxInt64, dead: deadQueue{r: r}}
	s.late, s.reject = s.onLate, s.onReject
	now := s.clock()
	partitions := r.reader.Partitions()
	for _, st := range r.plan.post {
		var op plugins.Operator
		if st.operator != nil {
			var err error
			if op, err = st.operator.StartOperator(partitions, now); err != nil {
				return nil, err
			}
			if len(s.ops) == 0 {
				if err := s.follow(st, op); err != nil {
					return nil, err
				}
			}
			partitions = 1 // the stages after a window read one ordered stream
		}
		s.ops = append(s.ops, op)
		s.outs = append(s.outs, record.NewBatch(st.out, r.opts.BatchSize))
	}
	s.findLatencyColumn()
	s.ckpt = r.ckpt
	if err := s.ckpt.restore(s.ops, r.resumeFrom); err != nil {
		return nil, err
	}
	if a, ok := r.reader.(plugins.Acknowledger); ok && (s.ckpt == nil || s.ckpt.store == nil) {
		s.acks = newAckTracker(a, r.reader.Partitions(), r.plan.eventCol)
		s.acks.procTime = r.plan.procTime
		s.ackOnCommit = s.ckpt != nil
	}
	return s, nil
}

func (s *scheduler) clock() int64 { return s.r.opts.Clock.Now().UnixMilli() }

// loop handles batches in order and wake-ups until the workers are done or
// the run aborts.
func (s *scheduler) loop(done <-chan *envelope, free chan<- *envelope) error {
	n := uint64(len(s.ring))
	for {
		now := s.clock()
		if at, ok := s.nextWake(now); ok {
			if at <= now {
				if err := s.tick(now); err != nil {
					return err
				}
				s.afterWork(now)
				continue
			}
			if at < s.armedAt {
				s.armedAt = at
				s.wake = s.r.opts.After(time.Duration(at-now) * time.Millisecond)
			}
		}
		select {
		case env, ok := <-done:
			if !ok {
				return nil
			}
			s.ring[env.seq%n] = env
			for {
				e := s.ring[s.next%n]
				if e == nil || e.seq != s.next {
					break
				}
				s.ring[s.next%n] = nil
				s.next++
				if err := s.handle(e); err != nil {
					return err
				}
				free <- e
			}
			s.afterWork(s.clock())
		case <-s.wake:
			s.wake, s.armedAt = nil, math.MaxInt64
			now := s.clock()
			if err := s.tick(now); err != nil {
				return err
			}
			s.afterWork(now)
		case <-s.r.abortCtx.Done():
			return context.Cause(s.r.abortCtx)
		}
	}
}

// nextWake returns the earliest processing time an operator wants a Tick.
func (s *scheduler) nextWake(now int64) (int64, bool) {
	at, any := int64(math.MaxInt64), false
	for _, op := range s.ops {
		if op == nil {
			continue
		}
		if t, ok := op.NextWake(now); ok && t < at {
			at, any = t, true
		}
	}
	if s.acks != nil && !s.ackOnCommit {
		if t, ok := s.acks.wake(); ok && t < at {
			at, any = t, true
		}
	}
	if s.ckpt != nil && s.ckpt.next < at {
		at, any = s.ckpt.next, true
	}
	if s.publishDue < at {
		at, any = s.publishDue, true
	}
	return at, any
}

// handle processes one batch that finished the stateless stages.
func (s *scheduler) handle(env *envelope) error {
	c := &s.r.c
	if env.fatal != nil {
		// on_error = "fail": the first bad record fails the run. It is not
		// dead-lettered or counted, and nothing of its batch is written or
		// acknowledged, so a restart reads it again.
		return env.fatal
	}
	c.in.Add(int64(env.raw.Rows))
	s.countPre(env)
	if s.ckpt != nil {
		s.ckpt.handled(env)
	}
	for _, rj := range env.dead {
		if !rj.drop {
			s.dead.addPre(env, rj)
		}
	}
	c.dead.Add(int64(len(env.dead)))
	c.filtered.Add(int64(env.filtered))
	if err := s.dead.flush(); err != nil {
		return err
	}
	if len(s.ops) == 0 {
		c.out.Add(int64(env.out.Rows))
		if err := s.emit(env.out); err != nil {
			return err
		}
		return s.acknowledge(env, true, false)
	}
	s.now = s.clock()
	if err := s.push(0, env.out, env); err != nil {
		return err
	}
	if err := s.advanceFollower(env.wm); err != nil {
		return err
	}
	s.handWatermark()
	if err := s.dead.flush(); err != nil {
		return err
	}
	return s.acknowledge(env, true, false)
}

// acknowledge records env (when not nil) and commits the records that are
// done to a source that needs acknowledgements. The dead letter and the
// sinks have been written first.
func (s *scheduler) acknowledge(env *envelope, throttle, force bool) error {
	if s.acks == nil {
		return nil
	}
	if env != nil {
		var in *record.Batch
		if len(s.ops) > 0 {
			in = env.out
		}
		s.acks.add(env.raw, in, s.now)
	}
	if s.ackOnCommit && !force {
		return nil // released when the sinks commit
	}
	if err := s.acks.release(s.ops, s.clock(), throttle, force); err != nil {
		return s.r.stageError(s.r.plan.sourceTitle, err)
	}
	return nil
}

// push runs b through the post stages from k on, then to the sinks.
func (s *scheduler) push(k int, b *record.Batch, env *envelope) error {
	c := &s.r.c
	for j := k; j < len(s.ops); j++ {
		if b.Rows == 0 {
			return nil
		}
		st := &s.r.plan.post[j]
		out := s.outs[j]
		out.Reset()
		s.cur, s.curIn, s.lateN, s.rejN = j, b, 0, 0
		s.curEnv = nil
		if j == 0 {
			s.curEnv = env
		}
		if op := s.ops[j]; op != nil {
			if err := op.Process(b, s.now, out, s.late, s.reject); err != nil {
				return s.r.stageError(st.title, err)
			}
			if j == 0 {
				c.out.Add(int64(b.Rows - s.lateN - s.rejN))
			}
			s.countPost(j, b, out, true)
		} else {
			st.transform.Transform(b, out, s.reject)
			c.resultsDropped.Add(int64(b.Rows - out.Rows - s.rejN))
			s.countPost(j, b, out, false)
		}
		b = out
	}
	return s.emit(b)
}

// emit writes b to every sink.
func (s *scheduler) emit(b *record.Batch) error {
	if b.Rows == 0 {
		return nil
	}
	s.r.c.emitted.Add(int64(b.Rows))
	if err := s.writeSinks(b); err != nil {
		return err
	}
	s.observeEmit(b)
	return s.r.sinkRejects(&s.dead)
}

// tick lets every operator handle processing time now, in chain order.
func (s *scheduler) tick(now int64) error {
	s.now = now
	for j, op := range s.ops {
		if op == nil {
			continue
		}
		out := s.outs[j]
		out.Reset()
		if err := op.Tick(now, out); err != nil {
			return s.r.stageError(s.r.plan.post[j].title, err)
		}
		if err := s.push(j+1, out, nil); err != nil {
			return err
		}
	}
	s.handWatermark()
	if err := s.dead.flush(); err != nil {
		return err
	}
	if s.ckpt != nil && s.ckpt.due(now) {
		return s.checkpoint(now)
	}
	return s.acknowledge(nil, false, false)
}

// checkpoint takes a checkpoint (or commits the transactional sinks) at
// the cut between the batches handled so far and the next one.
func (s *scheduler) checkpoint(now int64) error {
	if err := s.dead.flush(); err != nil {
		return err
	}
	start := time.Now()
	err := s.ckpt.take(s.r.abortCtx, s.ops, now, &s.dead)
	s.r.live.checkpointed(s.ckpt.epoch, time.Since(start), s.ckpt.lastSize, err, s.r.opts.Clock.Now())
	if err != nil {
		return err
	}
	if s.ackOnCommit {
		return s.acknowledge(nil, false, true)
	}
	return nil
}

// finish ends the run: a bounded input closes every window and emits it;
// a stopped one leaves open windows unemitted and says so.
func (s *scheduler) finish() error {
	err := s.finishInput()
	s.publishWindows(s.clock(), true)
	return err
}

// finishInput ends the run's input: at its end, every window closes; on a
// stop, the open windows go to the last checkpoint.
func (s *scheduler) finishInput() error {
	if !s.r.bounded {
		for _, op := range s.ops {
			if op != nil {
				s.openWindows += op.Open()
			}
		}
		if s.ckpt != nil && s.ckpt.store != nil {
			// The last checkpoint keeps the open windows for the next run.
			if err := s.checkpoint(s.clock()); err != nil {
				return err
			}
			s.r.log.Info("stopped: open windows are saved in the last checkpoint", "open_windows", s.openWindows, "epoch", s.ckpt.epoch)
			s.openWindows = 0
			return nil
		}
		if s.openWindows > 0 {
			s.r.log.Warn("stopped before the end of the input: open windows were not emitted",
				"open_windows", s.openWindows)
		}
		if s.ckpt != nil {
			return s.checkpoint(s.clock())
		}
		return s.acknowledge(nil, false, false)
	}
	s.now = s.clock()
	for j, op := range s.ops {
		if op == nil {
			continue
		}
		out := s.outs[j]
		out.Reset()
		if err := op.Finish(out); err != nil {
			return s.r.stageError(s.r.plan.post[j].title, err)
		}
		if err := s.push(j+1, out, nil); err != nil {
			return err
		}
	}
	if err := s.dead.flush(); err != nil {
		return err
	}
	if err := s.r.endInput(); err != nil {
		return err
	}
	if s.ckpt != nil {
		return s.checkpoint(s.clock())
	}
	return s.acknowledge(nil, false, true)
}

// onLate is the late callback of the post stage at hand. Late rows of a
// window after a window are results, not records: they count as results
// dropped, or dead with late = "dead_letter".
func (s *scheduler) onLate(row int, reason string) {
	s.lateN++
	lateDead := s.r.plan.post[s.cur].lateDead
	switch {
	case s.cur == 0:
		s.r.c.late.Add(1)
	case lateDead:
		s.r.c.resultsDead.Add(1)
	default:
		s.r.c.resultsDropped.Add(1)
	}
	if lateDead {
		s.dead.addLate(s, row, reason)
	}
}

// onReject is the reject callback of the post stage at hand.
func (s *scheduler) onReject(row int, reason string) {
	s.rejN++
	if s.cur == 0 {
		s.r.c.dead.Add(1)
	} else {
		s.r.c.resultsDead.Add(1)
	}
	s.dead.addPost(s, row, reason)
}

func (r *run) stageError(title string, err error) error {
	return &StageError{Pipeline: r.plan.name, Stage: title, Err: err}
}

// StageError is a fatal error of one stage of a pipeline.
type StageError struct {
	Pipeline string
	Stage    string // e.g. `sink "file" "lake"`
	Err      error
}

// Error says which pipeline and stage failed, and why, on one line.
func (e *StageError) Error() string {
	return "pipeline " + `"` + e.Pipeline + `": ` + e.Stage + ": " + e.Err.Error()
}

// Unwrap returns the stage's error.
func (e *StageError) Unwrap() error { return e.Err }
