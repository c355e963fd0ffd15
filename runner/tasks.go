package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
)

// This file runs a pipeline as tasks (docs/scaling.md): the source's
// broker assigns its partitions among the processes sharing its
// subscription, and this process runs, for each partition it owns, a run of
// its own: the stages' state, the source positions, the checkpoints (under
// PIPELINE/tasks/TASK in the store) and the lease of that task alone, and
// sinks opened for that task (plugins.Runtime.Task). A task gained is
// restored from its newest checkpoint, whichever process wrote it; a task
// lost is stopped as a run is stopped: it takes a last checkpoint and
// releases its lease, and the next owner waits for that lease.

// taskEnd is how a task's run ended.
type taskEnd struct {
	task string
	st   Stats
	err  error
}

// taskRun is a task running in this process.
type taskRun struct {
	cancel   context.CancelFunc
	lost     bool // the broker took it away: its end is expected
	regained bool // gained back while it was stopping: run it again once it ended
}

// taskSet is the tasks this process runs for one pipeline (or one half
// of it).
type taskSet struct {
	name    string                // the pipeline's
	title   string                // the splitting block's, for messages
	newPlan func() (*plan, error) // plans one task's run
	opts    Options
	log     *slog.Logger
	asg     plugins.TaskAssigner
	running map[string]*taskRun
	ends    chan taskEnd
	total   Stats
}

// runTasks runs p as tasks of its source's partitions until ctx is
// canceled (a clean stop: every task takes its last checkpoint) or a task
// fails (every other task is stopped and the error returned). The returned
// Stats add up those of every task run in this process.
func runTasks(ctx context.Context, p *config.Pipeline, opts Options) (Stats, error) {
	plan := func() (*plan, error) { return newPlan(p, &opts) }
	return runTaskSet(ctx, p.Name, p.Chain[0].Component.(plugins.TaskSplitter), p.Chain[0].Title(), plan, opts)
}

// runTaskSet runs the tasks splitter assigns to this process, each as a
// run of a plan newPlan makes, as runTasks describes.
func runTaskSet(ctx context.Context, name string, splitter plugins.TaskSplitter, title string, newPlan func() (*plan, error), opts Options) (Stats, error) {
	return runTaskSetWith(ctx, name, splitter, title, newPlan, nil, opts)
}

// runTaskSetWith is runTaskSet calling opened, when not nil, with the
// assigner before the first task starts.
func runTaskSetWith(ctx context.Context, name string, splitter plugins.TaskSplitter, title string, newPlan func() (*plan, error), opened func(plugins.TaskAssigner), opts Options) (Stats, error) {
	log := opts.Logger.With("pipeline", name)
	pl, err := newPlan()
	if err != nil {
		return Stats{}, err
	}
	rt := pl.runtime(log, title, opts.Clock.Now)
	asg, err := splitter.OpenTasks(ctx, rt)
	if err != nil {
		return Stats{}, stoppedOr(ctx, fmt.Errorf("pipeline %q: %s: %w", name, title, err))
	}
	if opened != nil {
		opened(asg)
	}
	ts := &taskSet{name: name, title: title, newPlan: newPlan, opts: opts, log: log, asg: asg, running: map[string]*taskRun{}, ends: make(chan taskEnd)}
	log.Info("running as tasks: this process runs the partitions the broker assigns to it", "block", title)
	err = ts.loop(ctx)
	ts.stopAll()
	if cerr := asg.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("pipeline %q: %s: closing: %w", name, title, cerr)
	}
	return ts.total, err
}

// loop starts and stops tasks as the broker assigns them until ctx ends or
// a task fails.
func (ts *taskSet) loop(ctx context.Context) error {
	changes := make(chan plugins.TaskChange)
	nextErr := make(chan error, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		for {
			ch, err := ts.asg.Next(watchCtx)
			if err != nil {
				nextErr <- err
				return
			}
			select {
			case changes <- ch:
			case <-watchCtx.Done():
				nextErr <- watchCtx.Err()
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-nextErr:
			if ctx.Err() != nil {
				return nil
			}
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("pipeline %q: %s: %w", ts.name, ts.title, err)
			}
			// No task changes any more: the tasks run to the end of
			// their input, or until ctx ends.
			nextErr = nil
			if len(ts.running) == 0 {
				return nil
			}
		case ch := <-changes:
			ts.change(ctx, ch)
		case end := <-ts.ends:
			if err := ts.ended(ctx, end); err != nil {
				return err
			}
			if nextErr == nil && len(ts.running) == 0 {
				return nil
			}
		}
	}
}

// change starts a task gained and stops a task lost.
func (ts *taskSet) change(ctx context.Context, ch plugins.TaskChange) {
	tr := ts.running[ch.Task]
	switch {
	case ch.Owned && tr == nil:
		ts.start(ctx, ch.Task)
	case ch.Owned && tr.lost:
		// Gained back while its run is still stopping: run it again once
		// that run ended (its last checkpoint is then durable).
		tr.regained = true
	case !ch.Owned && tr != nil && !tr.lost:
		ts.log.Info("task lost: taking its last checkpoint and handing it over", "task", ch.Task)
		tr.lost, tr.regained = true, false
		tr.cancel()
	case !ch.Owned && tr != nil:
		tr.regained = false
	}
}

// start runs task in a goroutine of its own.
func (ts *taskSet) start(ctx context.Context, task string) {
	tctx, cancel := context.WithCancel(ctx)
	ts.running[task] = &taskRun{cancel: cancel}
	ts.log.Info("task gained", "task", task)
	go func() {
		st, err := ts.runTask(tctx, task)
		ts.ends <- taskEnd{task: task, st: st, err: err}
	}()
}

// ended accounts for a task's end. A task that failed fails the pipeline;
// one gained back while it stopped runs again.
func (ts *taskSet) ended(ctx context.Context, end taskEnd) error {
	tr := ts.running[end.task]
	delete(ts.running, end.task)
	ts.total = addStats(ts.total, end.st)
	if end.err != nil {
		return end.err
	}
	switch {
	case tr != nil && tr.regained:
		ts.start(ctx, end.task)
	case tr != nil && tr.lost:
		ts.log.Info("task handed over", "task", end.task)
	case ctx.Err() == nil:
		// A task's input ended while this process still owns it (a
		// bounded source): nothing more comes from its partition.
		ts.log.Info("task finished", "task", end.task)
	}
	return nil
}

// stopAll stops every task and waits until each has ended.
func (ts *taskSet) stopAll() {
	for _, tr := range ts.running {
		tr.cancel()
	}
	for len(ts.running) > 0 {
		end := <-ts.ends
		delete(ts.running, end.task)
		ts.total = addStats(ts.total, end.st)
		if end.err != nil {
			ts.log.Error("task failed while stopping", "task", end.task, "error", end.err.Error())
		}
	}
}

// runTask runs one task: a plan of its own (stateless stages may keep
// per-stream state), reading the task's partition only.
func (ts *taskSet) runTask(ctx context.Context, task string) (Stats, error) {
	pl, err := ts.newPlan()
	if err != nil {
		return Stats{}, err
	}
	pl.task = task
	pl.source = taskOpener{Component: pl.source, asg: ts.asg, task: task}
	st, err := runPlan(ctx, pl, ts.opts)
	if ts.opts.Monitor != nil {
		ts.opts.Monitor.remove(pl.liveName())
	}
	return st, err
}

// taskOpener opens the Reader of one task.
type taskOpener struct {
	plugins.Component
	asg  plugins.TaskAssigner
	task string
}

// Open implements plugins.Opener.
func (o taskOpener) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	return o.asg.OpenTask(ctx, rt, o.task)
}

// acquire takes the lease of the run's folder in the checkpoint store. A
// task waits for the previous owner to hand it over (it takes a last
// checkpoint first) or for its lease to go stale; a whole pipeline fails at
// once when another process holds it.
func (r *run) acquire(ctx context.Context, store *checkpoint.Store, c *config.Checkpoint) (*checkpoint.Lease, error) {
	opts := checkpoint.LeaseOptions{Timeout: c.LeaseTimeout, Logger: r.opts.Logger}
	waiting := false
	for {
		lease, err := store.Acquire(ctx, r.plan.stateName(), opts)
		var held *checkpoint.HeldError
		if r.plan.task == "" || !errors.As(err, &held) {
			return lease, err
		}
		if !waiting {
			waiting = true
			r.log.Info("waiting for the task's previous owner to hand it over", "holder", held.Holder.Host, "pid", held.Holder.PID)
		}
		wait := min(max(c.LeaseTimeout/20, 50*time.Millisecond), time.Second)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// addStats adds b's counters to a.
func addStats(a, b Stats) Stats {
	a.In += b.In
	a.Out += b.Out
	a.Filtered += b.Filtered
	a.Late += b.Late
	a.Dead += b.Dead
	a.Emitted += b.Emitted
	a.ResultsDropped += b.ResultsDropped
	a.ResultsDead += b.ResultsDead
	a.SinkRejected += b.SinkRejected
	a.OpenWindows += b.OpenWindows
	return a
}
