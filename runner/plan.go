package runner

import (
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/config"
)

// plan is a pipeline made ready to run: its plugins checked for the
// runtime interfaces they need and split into the parallel stateless part
// and the ordered part from the first window on.
type plan struct {
	name        string
	source      plugins.Opener
	sourceTitle string
	sourceOut   record.Schema
	pre         []stage // stateless stages before the first window
	post        []stage // the first window and every stage after it
	sinks       []sinkPlan
	dead        plugins.DeadLetterOpener // nil: log and count
	inOrder     bool                     // a Sequential stage: one worker
	eventCol    int                      // the first window's event-time column in its input; -1 without a window
	procTime    bool                     // the first window places records at their batch's processing time
	checkpoint  *config.Checkpoint       // what the run takes checkpoints with; nil: none
	task        string                   // the task the run is for (runTasks); "" for the whole pipeline
	half        string                   // halfBefore or halfAfter a repartition block; "" for the whole pipeline
	// handsWatermark: the first window (a combiner) computes the
	// watermark the publisher, the one sink, sends (plugins.Marks.Given).
	handsWatermark bool
}

// The halves of a pipeline split by a repartition block (runShuffle).
const (
	halfBefore = "before" // the source and the stages before the block, writing to its publisher
	halfAfter  = "after"  // the block's topic, as tasks, and the stages after it
)

// stateName names the run's folder in the checkpoint store, its lease and
// its checkpoints: the pipeline's name, or PIPELINE/tasks/TASK for a task.
func (pl *plan) stateName() string {
	name := pl.name
	if pl.half != "" {
		name += "/" + pl.half
	}
	if pl.task == "" {
		return name
	}
	return name + "/tasks/" + pl.task
}

// runtime is what a plugin block titled title of pl sees of the run.
func (pl *plan) runtime(log *slog.Logger, title string, now func() time.Time) *plugins.Runtime {
	return &plugins.Runtime{Pipeline: pl.name, Logger: log.With("block", title), Now: now, Checkpoints: pl.checkpoint != nil, Task: pl.task}
}

// liveName names the run in metrics, the status and the dashboard: the
// pipeline's name, or PIPELINE/TASK for a task.
func (pl *plan) liveName() string {
	name := pl.name
	if pl.half != "" {
		name += "/" + pl.half
	}
	if pl.task == "" {
		return name
	}
	return name + "/" + pl.task
}

// stage is one processing stage of a plan.
type stage struct {
	title     string
	transform plugins.Transformer     // parse, filter, map
	operator  plugins.OperatorStarter // window
	out       record.Schema
	filter    bool            // a filter: rows neither kept nor rejected were filtered
	onError   plugins.OnError // a parser's policy; "" for other stages
	lateDead  bool            // a window with late = "dead_letter"
}

type sinkPlan struct {
	title  string
	opener plugins.SinkOpener
}

// newPlan checks that every plugin of p can run and applies the overrides
// of opts (sluice test replaces the source and the sinks). A repartition
// block is then a stage that hands its input on: the plan is of the whole
// pipeline in one process (sluice test), which gives the results of the
// shuffled one.
func newPlan(p *config.Pipeline, opts *Options) (*plan, error) {
	return newHalfPlan(p, opts, "")
}

// newHalfPlan plans p, or one half of it (halfBefore, halfAfter) when
// half is not "". The half after has no source yet: its tasks open one.
func newHalfPlan(p *config.Pipeline, opts *Options, half string) (*plan, error) {
	pl := &plan{name: p.Name, eventCol: -1, half: half}
	var err error
	if pl.source, err = sourceOpener(p, opts); err != nil {
		return nil, err
	}
	src := p.Chain[0]
	pl.sourceTitle, pl.sourceOut = src.Title(), src.Output
	chain := p.Chain[1:]
	var sh *shuffle
	if half != "" {
		sh = newShuffle(p)
	}
	switch half {
	case halfBefore:
		chain = p.Chain[1:sh.at]
	case halfAfter:
		pl.source, pl.sourceTitle, pl.sourceOut = nil, sh.title, sh.crossing
		chain = p.Chain[sh.at+1:]
		if sh.local != nil {
			// The window merges the partial rows of the combiners.
			pl.addStage(stage{title: sh.window.Title(), operator: sh.global, out: sh.window.Output, lateDead: lateDead(sh.global)}, sh.global, sh.crossing)
			chain = chain[1:]
		}
	}
	for _, s := range chain {
		if err := pl.addChainStage(p, s); err != nil {
			return nil, err
		}
	}
	if half == halfBefore {
		if sh.local != nil {
			// The combiner stands in for the window after the shuffle.
			pl.addStage(stage{title: sh.window.Title(), operator: sh.local, out: sh.local.Output(), lateDead: lateDead(sh.local)}, sh.local, sh.window.Input)
			pl.handsWatermark = true
		}
		pl.sinks = append(pl.sinks, sh.publisher())
	} else if err := pl.addSinks(p, opts); err != nil {
		return nil, err
	}
	if err := pl.addDeadLetter(p, opts); err != nil {
		return nil, err
	}
	if pl.checkpoint, err = checkpointSettings(p, opts); err != nil {
		return nil, err
	}
	if err := refuse(p.Name, config.TaskRefusals(p)...); err != nil {
		return nil, err
	}
	if err := refuse(p.Name, config.ChangelogRefusals(p)...); err != nil {
		return nil, err
	}
	return pl, nil
}

// addChainStage adds the chain stage s of p to pl; a repartition block is
// skipped (the whole pipeline in one process: its records go on).
func (pl *plan) addChainStage(p *config.Pipeline, s *config.Stage) error {
	if err := runnableOrRefused(p, s); err != nil {
		return err
	}
	if _, ok := s.Component.(plugins.Repartitioner); ok && s.Plugin.Block == "repartition" {
		return nil
	}
	st := stage{title: s.Title(), out: s.Output}
	switch c := s.Component.(type) {
	case plugins.OperatorStarter:
		st.operator = c
		st.lateDead = lateDead(c)
	case plugins.Transformer:
		st.transform = c
		st.filter = s.Plugin.Block == "filter"
		if pp, ok := c.(plugins.ErrorPolicy); ok {
			st.onError = pp.ErrorPolicy()
		}
		if sq, ok := c.(plugins.Sequential); ok {
			var inOrder bool
			st.transform, inOrder = sq.StartStream()
			pl.inOrder = pl.inOrder || inOrder
		}
	default:
		return refuse(p.Name, config.NotSupported(s))
	}
	pl.addStage(st, s.Component, s.Input)
	return nil
}

// addStage appends st, built from c reading records of schema in: to the
// stateless stages before the first window, else to the ordered ones.
func (pl *plan) addStage(st stage, c plugins.Component, in record.Schema) {
	if st.operator != nil && len(pl.post) == 0 {
		col := eventTimeOf(c)
		pl.eventCol, _, _ = in.Find(col)
		pl.procTime = col == plugins.ProcessingTime
	}
	if st.operator != nil || len(pl.post) > 0 {
		pl.post = append(pl.post, st)
	} else {
		pl.pre = append(pl.pre, st)
	}
}

// lateDead reports whether a window sends late records to the dead letter.
func lateDead(c plugins.Component) bool {
	lr, ok := c.(plugins.LateRouter)
	return ok && lr.LateToDeadLetter()
}

// addSinks adds p's sinks, or the replacements of opts.Sink.
func (pl *plan) addSinks(p *config.Pipeline, opts *Options) error {
	for _, s := range p.Sinks {
		sp := sinkPlan{title: s.Title()}
		if opts.Sink != nil {
			sp.opener = opts.Sink(s)
		} else if err := runnableOrRefused(p, s); err != nil {
			return err
		} else {
			sp.opener = s.Component.(plugins.SinkOpener)
		}
		pl.sinks = append(pl.sinks, sp)
	}
	return nil
}

// addDeadLetter sets p's dead letter, or the replacement of
// opts.DeadLetter.
func (pl *plan) addDeadLetter(p *config.Pipeline, opts *Options) error {
	d := p.DeadLetter
	switch {
	case opts.DeadLetter != nil:
		pl.dead = opts.DeadLetter(d)
	case d == nil:
	default:
		if err := runnableOrRefused(p, d); err != nil {
			return err
		}
		pl.dead = d.Component.(plugins.DeadLetterOpener)
	}
	return nil
}

// eventTimeOf returns the event-time field of a stateful stage that has one
// (plugins.EventTimed), "" for another.
func eventTimeOf(c plugins.Component) string {
	if e, ok := c.(plugins.EventTimed); ok {
		return e.EventTimeColumn()
	}
	return ""
}
