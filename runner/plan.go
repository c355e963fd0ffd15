package runner

import (
	"fmt"

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
	if len(p.Chain) == 0 {
		return nil, fmt.Errorf("pipeline %q has no source", p.Name)
	}
	pl := &plan{name: p.Name, eventCol: -1}
	for _, s := range append(append([]*config.Stage{}, p.Chain...), p.Sinks...) {
		if s.Component == nil {
			return nil, fmt.Errorf("pipeline %q: %s has errors; run sluice lint", p.Name, s.Title())
		}
	}
	src := p.Chain[0]
	pl.sourceTitle, pl.sourceOut = src.Title(), src.Output
	if opts.Source != nil {
		pl.source = opts.Source(src)
	} else if o, ok := src.Component.(plugins.Opener); ok {
		pl.source = o
	} else {
		return nil, notSupported(p.Name, src)
	}
	for _, s := range p.Chain[1:] {
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
			return nil, notSupported(p.Name, s)
		}
		if st.operator != nil && len(pl.post) == 0 {
			pl.eventCol, _, _ = s.Input.Find(eventTimeOf(s.Component))
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
		} else if o, ok := s.Component.(plugins.SinkOpener); ok {
			sp.opener = o
		} else {
			return nil, notSupported(p.Name, s)
		}
		pl.sinks = append(pl.sinks, sp)
	}
	if d := p.DeadLetter; d != nil || opts.DeadLetter != nil {
		switch {
		case opts.DeadLetter != nil:
			pl.dead = opts.DeadLetter(d)
		case d.Component == nil:
			return nil, fmt.Errorf("pipeline %q: %s has errors; run sluice lint", p.Name, d.Title())
		default:
			o, ok := d.Component.(plugins.DeadLetterOpener)
			if !ok {
				return nil, notSupported(p.Name, d)
			}
			pl.dead = o
		}
	}
	return pl, nil
}

func notSupported(pipeline string, s *config.Stage) error {
	return fmt.Errorf("pipeline %q: %s is not yet supported by sluice run in this build", pipeline, s.Title())
}

// eventTimeOf returns the event-time field of a stateful stage that has one
// (plugins.EventTimed), "" for another.
func eventTimeOf(c plugins.Component) string {
	if e, ok := c.(plugins.EventTimed); ok {
		return e.EventTimeColumn()
	}
	return ""
}
