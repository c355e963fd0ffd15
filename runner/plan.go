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
}

// stateName names the run's folder in the checkpoint store, its lease and
// its checkpoints: the pipeline's name, or PIPELINE/tasks/TASK for a task.
func (pl *plan) stateName() string {
	if pl.task == "" {
		return pl.name
	}
	return pl.name + "/tasks/" + pl.task
}

// runtime is what a plugin block titled title of pl sees of the run.
func (pl *plan) runtime(log *slog.Logger, title string, now func() time.Time) *plugins.Runtime {
	return &plugins.Runtime{Pipeline: pl.name, Logger: log.With("block", title), Now: now, Checkpoints: pl.checkpoint != nil, Task: pl.task}
}

// liveName names the run in metrics, the status and the dashboard: the
// pipeline's name, or PIPELINE/TASK for a task.
func (pl *plan) liveName() string {
	if pl.task == "" {
		return pl.name
	}
	return pl.name + "/" + pl.task
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
// of opts (sluice test replaces the source and the sinks).
func newPlan(p *config.Pipeline, opts *Options) (*plan, error) {
	pl := &plan{name: p.Name, eventCol: -1}
	var err error
	if pl.source, err = sourceOpener(p, opts); err != nil {
		return nil, err
	}
	src := p.Chain[0]
	pl.sourceTitle, pl.sourceOut = src.Title(), src.Output
	for _, s := range p.Chain[1:] {
		if err := runnableOrRefused(p, s); err != nil {
			return nil, err
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
	for _, s := range p.Sinks {
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
