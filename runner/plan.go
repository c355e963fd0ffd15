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
	if at := config.RepartitionAt(p); half == halfBefore {
		chain = p.Chain[1:at]
	} else if half == halfAfter {
		pl.source, pl.sourceTitle, pl.sourceOut = nil, p.Chain[at].Title(), p.Chain[at].Output
		chain = p.Chain[at+1:]
	}
	for _, s := range chain {
		if err := runnableOrRefused(p, s); err != nil {
			return nil, err
		}
		if _, ok := s.Component.(plugins.Repartitioner); ok && s.Plugin.Block == "repartition" {
			continue // the whole pipeline in one process: records go on
		}
		st := stage{title: s.Title(), out: s.Output}
		switch c := s.Component.(type) {
		case plugins.OperatorStarter:
			st.operator = c
			if lr, ok := c.(plugins.LateRouter); ok {
				st.lateDead = lr.LateToDeadLetter()
			}
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
			return nil, refuse(p.Name, config.NotSupported(s))
		}
		if st.operator != nil && len(pl.post) == 0 {
			col := eventTimeOf(s.Component)
			pl.eventCol, _, _ = s.Input.Find(col)
			pl.procTime = col == plugins.ProcessingTime
		}
		if st.operator != nil || len(pl.post) > 0 {
			pl.post = append(pl.post, st)
		} else {
			pl.pre = append(pl.pre, st)
		}
	}
	if half == halfBefore {
		pl.sinks = append(pl.sinks, publisherSink(p))
	}
	for _, s := range p.Sinks {
		if half == halfBefore {
			break // the half after writes them
		}
		sp := sinkPlan{title: s.Title()}
		if opts.Sink != nil {
			sp.opener = opts.Sink(s)
		} else if err := runnableOrRefused(p, s); err != nil {
			return nil, err
		} else {
			sp.opener = s.Component.(plugins.SinkOpener)
		}
		pl.sinks = append(pl.sinks, sp)
	}
	if d := p.DeadLetter; d != nil || opts.DeadLetter != nil {
		if opts.DeadLetter != nil {
			pl.dead = opts.DeadLetter(d)
		} else if err := runnableOrRefused(p, d); err != nil {
			return nil, err
		} else {
			pl.dead = d.Component.(plugins.DeadLetterOpener)
		}
	}
	if pl.checkpoint, err = checkpointSettings(p, opts); err != nil {
		return nil, err
	}
	if err := refuse(p.Name, config.TaskRefusals(p)...); err != nil {
		return nil, err
	}
	return pl, nil
}

// eventTimeOf returns the event-time field of a stateful stage that has one
// (plugins.EventTimed), "" for another.
func eventTimeOf(c plugins.Component) string {
	if e, ok := c.(plugins.EventTimed); ok {
		return e.EventTimeColumn()
	}
	return ""
}
