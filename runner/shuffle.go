package runner

import (
	"context"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/config"
)

// This file runs a pipeline split by a repartition block
// (docs/scaling.md, "Repartition") as its two halves, side by side in this
// process: the half before reads the source (as tasks when the pipeline
// runs as tasks, else whole) and writes every record to the block's
// publisher; the half after always runs as tasks, one per partition of the
// block's topic, whichever processes the broker assigns them to. Each half
// has its own checkpoints (PIPELINE/before…, PIPELINE/after/tasks/TASK) and
// leases. A failure of either half stops the other.

// shuffle is how a pipeline splits at its repartition block.
type shuffle struct {
	at       int                   // the block's index in the chain
	title    string                // the block's
	rp       plugins.Repartitioner // the block, carrying crossing
	crossing record.Schema         // the rows the topic carries
	marks    plugins.Marks         // how the publishers compute their watermark (Tasks: 1)
	// When the first window after the block combines (plugins.Combinable):
	// the window, its combiner for the half before and the merging window
	// for the half after; all nil otherwise.
	window        *config.Stage
	local, global plugins.OperatorStarter
}

// newShuffle returns how p splits at its repartition block. The first
// window after the block combines before the shuffle when it comes right
// after the block, combines exactly and the block carries its partial
// rows and lets it.
func newShuffle(p *config.Pipeline) *shuffle {
	at := config.RepartitionAt(p)
	blk := p.Chain[at]
	sh := &shuffle{at: at, title: blk.Title(), rp: blk.Component.(plugins.Repartitioner), crossing: blk.Output, marks: plugins.Marks{Tasks: 1}}
	var first *config.Stage
	for _, s := range p.Chain[at+1:] {
		if _, ok := s.Component.(plugins.OperatorStarter); ok {
			first = s
			break
		}
	}
	if first == nil {
		return sh
	}
	cr, crosses := sh.rp.(plugins.CrossingRepartitioner)
	if c, ok := first.Component.(plugins.Combinable); ok && crosses && cr.Combines() && first == p.Chain[at+1] {
		if local, global, ok := c.Combiner(); ok {
			sh.window, sh.local, sh.global = first, local, global
			sh.crossing = local.Output()
			sh.rp = cr.Crossing(sh.crossing)
			sh.marks.Given = true
			return sh
		}
	}
	if col := eventTimeOf(first.Component); col != plugins.ProcessingTime {
		sh.marks.EventTime = col
		if w, ok := first.Component.(plugins.Watermarked); ok {
			sh.marks.Valve = w.Watermarking()
		}
	}
	return sh
}

// publisherOpener opens the publisher of a repartition block as the sink of
// the half before it.
type publisherOpener struct {
	plugins.Component
	rp    plugins.Repartitioner
	marks plugins.Marks
}

// Open implements plugins.SinkOpener.
func (o *publisherOpener) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	return o.rp.OpenPublisher(ctx, rt, o.marks)
}

// publisher returns the sink of the half before the block.
func (sh *shuffle) publisher() sinkPlan {
	return sinkPlan{title: sh.title, opener: &publisherOpener{Component: sh.rp, rp: sh.rp, marks: sh.marks}}
}

// runShuffle runs both halves of p until ctx is canceled (a clean stop of
// both), either fails (the other is stopped and the error returned) or the
// input ends: the half before reached the end of a bounded source and the
// half after every task's end. The Stats count records in as the half
// before read them and results as the half after wrote them; records
// filtered, dead or late add up over both.
func runShuffle(ctx context.Context, p *config.Pipeline, opts Options) (Stats, error) {
	sh := newShuffle(p)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	before, after := make(chan result, 1), make(chan result, 1)
	go func() {
		st, err := runBefore(ctx, p, opts)
		if err != nil {
			cancel()
		}
		before <- result{st, err}
	}()
	go func() {
		newAfter := func() (*plan, error) { return newHalfPlan(p, &opts, halfAfter) }
		st, err := runTaskSet(ctx, p.Name, sh.rp, sh.title, newAfter, opts)
		cancel() // the half after ended: nothing reads what the half before writes
		after <- result{st, err}
	}()
	b, a := <-before, <-after
	st := addStats(b.st, a.st)
	st.In, st.Out, st.Emitted, st.OpenWindows = b.st.In, a.st.Out, a.st.Emitted, a.st.OpenWindows
	if b.err != nil {
		return st, b.err
	}
	return st, a.err
}

// runBefore runs the half before p's repartition block: as tasks of the
// source's partitions when p runs as tasks, else as one run.
func runBefore(ctx context.Context, p *config.Pipeline, opts Options) (Stats, error) {
	if !config.RunsAsTasks(p) {
		pl, err := newHalfPlan(p, &opts, halfBefore)
		if err != nil {
			return Stats{}, err
		}
		return runPlan(ctx, pl, opts)
	}
	var tasks int
	newBefore := func() (*plan, error) {
		pl, err := newHalfPlan(p, &opts, halfBefore)
		if err == nil {
			pl.sinks[0].opener.(*publisherOpener).marks.Tasks = max(tasks, 1)
		}
		return pl, err
	}
	opened := func(asg plugins.TaskAssigner) {
		if tc, ok := asg.(plugins.TaskCounter); ok {
			tasks = tc.Tasks()
		}
	}
	return runTaskSetWith(ctx, p.Name, p.Chain[0].Component.(plugins.TaskSplitter), p.Chain[0].Title(), newBefore, opened, opts)
}
