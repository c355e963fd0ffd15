package window

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// The optional abilities the runner finds on a window.
var (
	_ plugins.OperatorStarter    = (*Window)(nil)
	_ plugins.EventTimed         = (*Window)(nil)
	_ plugins.StateFingerprinter = (*Window)(nil)
	_ plugins.LateRouter         = (*Window)(nil)
	_ plugins.ChangeEmitter      = (*Window)(nil)
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
// sizes, event time, group_by, emit mode, allowed lateness and aggregates. A
// checkpoint of a window with another fingerprint is not restored into this
// one. Without allowed lateness it is what it was before that argument
// existed, so that older checkpoints still restore.
func (w *Window) StateFingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v %v %v %v %q %q %v %v\n", w.Kind, w.Size, w.Slide, w.Gap, w.Offset, w.EventTime, w.GroupBy, w.EmitOnClose, w.EmitEvery)
	if w.AllowedLateness > 0 {
		fmt.Fprintf(&b, "allowed_lateness=%v\n", w.AllowedLateness)
	}
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

// EmitsChanges says why the window emits rows of kind Update or Delete, at
// the argument that makes it: allowed_lateness (late records update closed
// windows) or emit = "every D" (a window's row is emitted again as it
// changes); sessions also delete the rows of sessions that merge. why is ""
// when every row is an Insert.
func (w *Window) EmitsChanges() (why string, at hcl.Range) {
	deletes := ""
	if w.Kind == Session {
		deletes = ", and deletes the rows of emitted sessions that a record merges or extends to an earlier start"
	}
	switch {
	case w.AllowedLateness > 0:
		return fmt.Sprintf("allowed_lateness = %q emits a closed window's row again, as an update, when a late record changes it%s", schema.FormatDuration(w.AllowedLateness), deletes), w.latenessAt
	case !w.EmitOnClose:
		return fmt.Sprintf("emit = \"every %s\" emits a window's row again, as an update, each time it changes%s", schema.FormatDuration(w.EmitEvery), deletes), w.emitAt
	}
	return "", hcl.Range{}
}

// EmittedKinds lists the kinds of the rows the window emits: inserts, and
// updates when it re-emits results, and deletes when it is a session
// window that does.
func (w *Window) EmittedKinds() []record.RowKind {
	switch {
	case w.AllowedLateness <= 0 && w.EmitOnClose:
		return []record.RowKind{record.Insert}
	case w.Kind == Session:
		return []record.RowKind{record.Insert, record.Update, record.Delete}
	}
	return []record.RowKind{record.Insert, record.Update}
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

// Open returns the number of (window, group) states held: the open ones
// and, with allowed lateness, the closed ones kept for late records
// (OperatorStats.Kept).
func (o *Operator) Open() int { return o.open }

// EarliestOpen returns the smallest start of a window (pane or session)
// whose state is held, false when none is: an open window, or a closed one
// kept for allowed lateness, which a late record may still change. It
// scans the windows: the runner calls it only for sources that need
// acknowledgements, and not for every batch.
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

// StateBytes estimates the memory of the windows held (open, or kept for
// allowed lateness): their groups' keys and aggregate states, the rows
// sessions last emitted, plus the maps that hold them.
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
	for _, sent := range o.sent {
		n += entry
		for _, v := range sent.vals {
			n += int64(unsafe.Sizeof(v)) + int64(len(v.S))
		}
	}
	return n
}
