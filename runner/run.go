package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
)

// Run runs the pipeline p until its bounded input ends, ctx is canceled or
// a fatal error happens (see the package documentation), and returns its
// counters. Canceling ctx is a clean stop: Run then returns a nil error.
func Run(ctx context.Context, p *config.Pipeline, opts Options) (Stats, error) {
	opts.withDefaults()
	if opts.Source == nil && config.RepartitionAt(p) > 0 {
		if _, err := newHalfPlan(p, &opts, halfAfter); err != nil {
			return Stats{}, err
		}
		return runShuffle(ctx, p, opts)
	}
	pl, err := newPlan(p, &opts)
	if err != nil {
		return Stats{}, err
	}
	if opts.Source == nil && config.RunsAsTasks(p) {
		return runTasks(ctx, p, opts)
	}
	return runPlan(ctx, pl, opts)
}

// runPlan runs pl, the whole pipeline or one of its tasks, with a live view
// of its own.
func runPlan(ctx context.Context, pl *plan, opts Options) (Stats, error) {
	log := opts.Logger.With("pipeline", pl.name)
	if pl.task != "" {
		log = log.With("task", pl.task)
	}
	r := &run{plan: pl, opts: opts, log: log}
	r.live = newLive(pl, &r.c, opts.Clock.Now())
	if opts.Monitor != nil {
		opts.Monitor.add(r.live)
	}
	st, err := r.run(ctx)
	state := StateStopped
	switch {
	case err != nil:
		state = StateFailed
	case r.bounded:
		state = StateFinished
	}
	r.live.ended(state, err, opts.Clock.Now())
	return st, err
}

// run is one execution of a plan.
type run struct {
	plan *plan
	opts Options
	log  *slog.Logger
	c    counters
	live *live // what metrics and the dashboard see of the run

	reader plugins.Reader
	split  plugins.SplitReader // the reader, when workers cut its batches into rows; else nil
	sinks  []plugins.Writer
	dead   plugins.DeadWriter

	claim      *claim                 // the checkpoint store and lease; nil without checkpoints
	ckpt       *checkpointer          // nil: no checkpoints and no transactional sink
	resumeFrom *checkpoint.Checkpoint // the checkpoint the run resumes from, or nil

	stopCtx  context.Context // the context Run was given: canceled = a clean stop
	abortCtx context.Context
	abort    context.CancelCauseFunc
	bounded  bool  // the source reached the end of its input
	srcErr   error // the source failed; set before the reader ends
}

// envelope carries one source batch through the stateless stages to the
// scheduler. A fixed pool of them bounds the records in flight.
type envelope struct {
	seq      uint64
	raw      *record.Batch   // what the source read
	bufs     []*record.Batch // the output of each stateless stage
	out      *record.Batch   // the batch the stateless stages handed on
	dead     []rejected      // rows rejected by the stateless stages, in order
	cur      int             // the stage running, for reject
	filtered int
	fatal    error        // a parse error with on_error = "fail"
	counts   []stageCount // per stateless stage, for the live view
	wm       int64        // the watermark after the batch, from a plugins.MarkedReader
	// unsplit: raw holds bytes a plugins.SplitReader read from at, which a
	// worker splits into rows first.
	unsplit bool
	at      record.Origin
}

// rejected is a row a stage could not process.
type rejected struct {
	stage  int // index in plan.pre, or len(pre)+index in plan.post
	origin record.Origin
	reason string
	row    int  // the row in the stage's input batch
	drop   bool // on_error = "drop": counted, not written
}

func (r *run) run(ctx context.Context) (Stats, error) {
	r.stopCtx = ctx
	if err := r.claimCheckpoints(ctx); err != nil {
		return r.c.stats(), stoppedOr(ctx, err)
	}
	defer r.releaseCheckpoints()
	if err := r.open(ctx); err != nil {
		r.closeAll()
		return r.c.stats(), stoppedOr(ctx, err)
	}
	var err error
	if r.ckpt, r.resumeFrom, err = newCheckpointer(ctx, r); err != nil {
		r.closeAll()
		return r.c.stats(), stoppedOr(ctx, err)
	}
	r.abortCtx, r.abort = context.WithCancelCause(context.Background())
	defer r.abort(nil)
	r.watchLease()
	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	context.AfterFunc(r.abortCtx, stopRead)

	workers := r.opts.Workers
	if r.plan.inOrder || len(r.plan.pre) == 0 {
		workers = 1
	}
	inflight := 2*workers + 2
	free := make(chan *envelope, inflight)
	for range inflight {
		free <- r.newEnvelope()
	}
	r.live.opened(r, func() int { return inflight - len(free) }, inflight, r.opts.Clock.Now())
	work := make(chan *envelope, inflight)
	done := make(chan *envelope, inflight)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		r.read(readCtx, free, work)
	}()
	var workersWG sync.WaitGroup
	for range workers {
		workersWG.Add(1)
		go func() {
			defer workersWG.Done()
			w := &worker{r: r}
			for env := range work {
				w.process(env)
				select {
				case done <- env:
				case <-r.abortCtx.Done():
					return
				}
			}
		}()
	}
	go func() { workersWG.Wait(); close(done) }()

	sched, err := newScheduler(r, inflight)
	if err == nil {
		err = sched.loop(done, free)
	}
	if err != nil {
		r.abort(err)
	}
	wg.Wait()
	workersWG.Wait()
	if err == nil {
		err = r.srcErr
	}
	if err == nil {
		err = sched.finish()
	}
	if cerr := r.closeAll(); err == nil {
		err = cerr
	}
	st := r.c.stats()
	if sched != nil {
		st.OpenWindows = sched.openWindows
	}
	return st, err
}

// stoppedOr returns err, or nil when ctx was canceled: a stop that came
// while the run was still connecting (a source or sink retrying an
// unreachable broker) is a clean stop, before anything was read.
func stoppedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// open opens the source, the sinks and the dead letter.
func (r *run) open(ctx context.Context) error {
	rt := func(title string) *plugins.Runtime { return r.plan.runtime(r.log, title, r.opts.Clock.Now) }
	for _, s := range r.plan.sinks {
		w, err := s.opener.Open(ctx, rt(s.title))
		if err != nil {
			return fmt.Errorf("pipeline %q: %s: %w", r.plan.name, s.title, err)
		}
		r.sinks = append(r.sinks, w)
	}
	if r.plan.dead != nil {
		d, err := r.plan.dead.Open(ctx, rt("dead_letter"))
		if err != nil {
			return fmt.Errorf("pipeline %q: dead_letter: %w", r.plan.name, err)
		}
		r.dead = d
	}
	if r.plan.handsWatermark {
		if _, ok := r.sinks[0].(plugins.WatermarkWriter); !ok {
			return fmt.Errorf("pipeline %q: %s cannot send the watermark of a combining window", r.plan.name, r.plan.sinks[0].title)
		}
	}
	rd, err := r.plan.source.Open(ctx, rt(r.plan.sourceTitle))
	if err != nil {
		return fmt.Errorf("pipeline %q: %s: %w", r.plan.name, r.plan.sourceTitle, err)
	}
	r.reader = rd
	if _, marked := rd.(plugins.MarkedReader); !marked {
		r.split, _ = rd.(plugins.SplitReader)
	}
	return nil
}

// closeAll closes whatever open opened and returns the first error.
func (r *run) closeAll() error {
	var errs []error
	if r.reader != nil {
		if err := r.reader.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.plan.sourceTitle, err))
		}
	}
	for i, w := range r.sinks {
		if err := w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.plan.sinks[i].title, err))
		}
	}
	if r.dead != nil {
		if err := r.dead.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dead_letter: %w", err))
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("pipeline %q: closing: %s", r.plan.name, strings.Join(msgs, "; "))
	}
	return nil
}

func (r *run) newEnvelope() *envelope {
	env := &envelope{raw: record.NewBatch(r.plan.sourceOut, r.opts.BatchSize), counts: make([]stageCount, len(r.plan.pre))}
	for _, st := range r.plan.pre {
		env.bufs = append(env.bufs, record.NewBatch(st.out, r.opts.BatchSize))
	}
	return env
}

// read hands the source's batches to the workers until the input ends,
// ctx is canceled or the run aborts.
func (r *run) read(ctx context.Context, free <-chan *envelope, work chan<- *envelope) {
	var seq uint64
	marked, _ := r.reader.(plugins.MarkedReader)
	wm := int64(math.MinInt64)
	var env *envelope // kept for the next Read when one returned nothing
	for {
		if env == nil {
			select {
			case env = <-free:
			case <-ctx.Done():
				return
			}
		}
		env.raw.Reset()
		var err error
		if r.split != nil {
			env.at, err = r.split.ReadUnsplit(ctx, env.raw, r.opts.BatchSize)
			env.unsplit = len(env.raw.Columns[0].Bytes) > 0
		} else {
			err = r.reader.Read(ctx, env.raw, r.opts.BatchSize)
		}
		rose := false
		if marked != nil {
			// A batch that only raised the watermark still goes on.
			env.wm = marked.Watermark()
			rose, wm = env.wm > wm, max(wm, env.wm)
		}
		if env.raw.Rows > 0 || rose || env.unsplit {
			if !env.unsplit {
				r.countSource(env.raw)
			}
			env.seq = seq
			seq++
			work <- env
			env = nil
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			r.bounded = true
		case ctx.Err() != nil, r.stopCtx.Err() != nil:
			// Stopped: intake ends, what is in flight is finished. The
			// source may see the run's context end (it was opened with
			// it) before ctx, derived from it, is canceled.
		default:
			// What was read before the failure still reaches the sinks.
			r.srcErr = r.stageError(r.plan.sourceTitle, err)
		}
		return
	}
}

// countSource adds a batch the source read to the live view.
func (r *run) countSource(raw *record.Batch) {
	r.live.source.records.Add(int64(raw.Rows))
	if raw.Schema.Raw {
		r.live.source.bytes.Add(int64(len(raw.Columns[0].Bytes)))
	}
}

// worker runs the stateless stages on one envelope at a time.
type worker struct {
	r   *run
	env *envelope
	rej func(row int, reason string)
}

func (w *worker) process(env *envelope) {
	if w.rej == nil {
		w.rej = w.reject
	}
	w.env = env
	env.dead, env.filtered, env.fatal = env.dead[:0], 0, nil
	if env.unsplit {
		w.r.split.Split(env.raw, env.at)
		env.unsplit = false
		w.r.countSource(env.raw)
	}
	in := env.raw
	for i := range w.r.plan.pre {
		st := &w.r.plan.pre[i]
		out := env.bufs[i]
		out.Reset()
		env.cur = i
		before, inRows := len(env.dead), in.Rows
		if ip, ok := st.transform.(plugins.InPlaceTransformer); ok && i > 0 && ip.TransformInPlace(in) {
			// The stage thinned its input, a batch of the envelope no one
			// reads again: that is its output now. The two batches trade
			// places and schemas (the same columns), so that each stage
			// keeps seeing the schema value it was planned with.
			in.Schema, out.Schema = out.Schema, in.Schema
			env.bufs[i], env.bufs[i-1] = in, out
			out = in
		} else {
			st.transform.Transform(in, out, w.rej)
		}
		dead := len(env.dead) - before
		skipped := inRows - out.Rows - dead
		if skipped > 0 {
			env.filtered += skipped
		}
		env.counts[i] = stageCount{in: int64(inRows), out: int64(out.Rows), filtered: int64(max(skipped, 0)), dead: int64(dead)}
		in = out
	}
	env.out = in
}

// reject records a row the current stage could not process.
func (w *worker) reject(row int, reason string) {
	env := w.env
	st := &w.r.plan.pre[env.cur]
	in := env.raw
	if env.cur > 0 {
		in = env.bufs[env.cur-1]
	}
	rj := rejected{stage: env.cur, row: row, reason: reason}
	if row < len(in.Origins) {
		rj.origin = in.Origins[row]
	}
	switch st.onError {
	case "drop":
		rj.drop = true
	case "fail":
		if env.fatal == nil {
			env.fatal = fmt.Errorf("pipeline %q: %s: record at %s: %s (on_error = \"fail\")",
				w.r.plan.name, st.title, position(rj.origin), reason)
		}
	}
	env.dead = append(env.dead, rj)
}

func position(o record.Origin) string {
	return fmt.Sprintf("partition %d, offset %d", o.Partition, o.Offset)
}
