package runner

import (
	"context"

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

// publisherSink returns the sink of the half before p's repartition block:
// its publisher, sending the watermark the first event-time window after
// the block would compute.
func publisherSink(p *config.Pipeline) sinkPlan {
	at := config.RepartitionAt(p)
	rp := p.Chain[at].Component.(plugins.Repartitioner)
	o := &publisherOpener{Component: rp, rp: rp, marks: plugins.Marks{Tasks: 1}}
	for _, s := range p.Chain[at+1:] {
		if _, ok := s.Component.(plugins.OperatorStarter); !ok {
			continue
		}
		if col := eventTimeOf(s.Component); col != plugins.ProcessingTime {
			o.marks.EventTime = col
			if w, ok := s.Component.(plugins.Watermarked); ok {
				o.marks.Valve = w.Watermarking()
			}
		}
		break
	}
	return sinkPlan{title: p.Chain[at].Title(), opener: o}
}

// runShuffle runs both halves of p until ctx is canceled (a clean stop of
// both), either fails (the other is stopped and the error returned) or the
// input ends: the half before reached the end of a bounded source and the
// half after every task's end. The Stats count records in as the half
// before read them and results as the half after wrote them; records
// filtered, dead or late add up over both.
func runShuffle(ctx context.Context, p *config.Pipeline, opts Options) (Stats, error) {
	at := config.RepartitionAt(p)
	rp := p.Chain[at].Component.(plugins.Repartitioner)
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
		st, err := runTaskSet(ctx, p.Name, rp, p.Chain[at].Title(), newAfter, opts)
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
