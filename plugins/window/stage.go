package window

import (
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/plugins"
)

// The optional abilities the runner finds on a window.
var (
	_ plugins.OperatorStarter    = (*Window)(nil)
	_ plugins.EventTimed         = (*Window)(nil)
	_ plugins.StateFingerprinter = (*Window)(nil)
	_ plugins.LateRouter         = (*Window)(nil)
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

// EventTimeColumn returns the input column that places records in windows.
func (w *Window) EventTimeColumn() string { return w.EventTime }

// LateToDeadLetter reports whether late records go to the dead letter
// (late = "dead_letter") rather than being dropped.
func (w *Window) LateToDeadLetter() bool { return w.Late == LateDeadLetter }

// StateFingerprint describes what the window's state depends on: its kind,
// sizes, event time, group_by, emit mode and aggregates. A checkpoint of a
// window with another fingerprint is not restored into this one.
func (w *Window) StateFingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v %v %v %v %q %q %v %v\n", w.Kind, w.Size, w.Slide, w.Gap, w.Offset, w.EventTime, w.GroupBy, w.EmitOnClose, w.EmitEvery)
	for _, a := range w.Aggregates {
		arg := ""
		if a.Arg != nil {
			arg = a.Arg.Source.Value
		}
		if a.By != nil {
			arg += " by " + a.By.Source.Value
		}
		fmt.Fprintf(&b, "%s=%s(%q,%v) %s\n", a.Name, a.Func, arg, a.Quantile, a.Type)
	}
	if w.Keep != nil {
		b.WriteString(w.Keep.fingerprint())
	}
	return b.String()
}

// NextWake returns when the scheduler must call Tick next: at the next
// `every D` tick; with processing time, when the earliest open window
// ends; otherwise, while more than one partition feeds the window and
// idle_timeout is set, every idle_timeout / 4 so that a partition gone
// silent stops holding the watermark back within a quarter of the timeout.
// With emit = "on_close" and one partition nothing happens without input.
func (o *Operator) NextWake(now int64) (int64, bool) {
	next, ok := o.NextTick()
	if o.w.ProcessingTime {
		if t, open := o.timers.Next(); open && (!ok || t.TS < next) {
			next, ok = t.TS, true
		}
		return next, ok
	}
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

var _ plugins.OperatorReporter = (*Operator)(nil)

// Partitions appends the status of every source partition at now: its
// largest event time, last delivery and whether it is idle.
func (o *Operator) Partitions(dst []plugins.PartitionStatus, now int64) []plugins.PartitionStatus {
	for p := range o.valve.Partitions() {
		dst = append(dst, plugins.PartitionStatus{
			MaxEventTime: o.valve.Max(p), LastDelivery: o.valve.LastDelivery(p), Idle: o.valve.Idle(p, now),
		})
	}
	return dst
}

// StateBytes estimates the memory of the open windows: their groups' keys
// and aggregate states, plus the maps that hold them.
func (o *Operator) StateBytes() int64 {
	const entry = 48 // a map slot, a pointer and a small struct header
	var n int64
	addGroup := func(g *group) {
		n += entry + int64(len(g.key))
		for i := range g.states {
			n += g.states[i].SizeBytes()
		}
	}
	for _, p := range o.panes {
		n += entry
		for _, g := range p.groups {
			addGroup(g)
		}
	}
	for _, s := range o.byID {
		n += entry
		addGroup(&s.group)
	}
	return n
}
