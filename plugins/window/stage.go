package window

import (
	"github.com/sluice-io/sluice/plugins"
)

// minIdleCheck bounds how often the scheduler is woken to notice idle
// partitions, in milliseconds.
const minIdleCheck = 10

// StartOperator returns the running state of the window for partitions
// source partitions, at processing time now: the plugins.Operator the
// runner's scheduler drives.
func (w *Window) StartOperator(partitions int, now int64) (plugins.Operator, error) {
	return w.NewOperator(partitions, now)
}

// NextWake returns when the scheduler must call Tick next: at the next
// `every D` tick, and, while more than one partition feeds the window and
// idle_timeout is set, every idle_timeout / 4 so that a partition gone
// silent stops holding the watermark back within a quarter of the timeout.
// With emit = "on_close" and one partition nothing happens without input.
func (o *Operator) NextWake(now int64) (int64, bool) {
	next, ok := o.NextTick()
	if idle := o.w.IdleTimeout.Milliseconds(); idle > 0 && o.valve.Partitions() > 1 && !o.valve.Finished() {
		check := now + max(idle/4, minIdleCheck)
		if !ok || check < next {
			next, ok = check, true
		}
	}
	return next, ok
}

// Open returns the number of open (window, group) states.
func (o *Operator) Open() int { return o.open }

// EarliestOpen returns the smallest start of an open window (pane or
// session), false when none is open. It scans the open windows: the runner
// calls it only for sources that need acknowledgements, and not for every
// batch.
func (o *Operator) EarliestOpen() (int64, bool) {
	start, ok := int64(0), false
	for s := range o.panes {
		if !ok || s < start {
			start, ok = s, true
		}
	}
	for _, s := range o.byID {
		if !ok || s.start < start {
			start, ok = s.start, true
		}
	}
	return start, ok
}

var _ plugins.OperatorStarter = (*Window)(nil)
