package window

import (
	"errors"
	"fmt"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/window/agg"
	"github.com/sluice-io/sluice/record"
)

// A window after a repartition block may combine before the shuffle, as
// Flink's local-global aggregation does: in the half before, a combiner
// keeps the window's aggregate states per source partition, (window,
// group), and when that partition's watermark passes a window's end it
// emits one partial row per group — the window, the group values and each
// aggregate's state, encoded. The shuffle routes partial rows by their
// group values; in the half after, the window merges the partial states of
// every publisher into its own and emits its rows as it would have from
// the records. A window combines only where merging gives the very result
// adding every record would (see exactMerge).

// PartialPrefix starts the name of a partial row's column holding an
// aggregate's encoded state: PartialPrefix + the aggregate's name.
const PartialPrefix = "__partial_"

var (
	_ plugins.Combinable = (*Window)(nil)
	_ plugins.Operator   = (*combiner)(nil)
)

// Combiner returns the stages that replace the window around a shuffle:
// the combiner of the half before and the window merging partial rows in
// the half after. ok is false when the window cannot combine exactly: it
// places records by processing time, is a session window, keeps records,
// emits updates before windows close or after (allowed lateness), or has
// an aggregate whose merge is not exact.
func (w *Window) Combiner() (local, global plugins.OperatorStarter, ok bool) {
	if w.ProcessingTime || w.Kind == Session || w.Keep != nil || !w.EmitOnClose || w.AllowedLateness > 0 {
		return nil, nil, false
	}
	for _, a := range w.Aggregates {
		if !exactMerge(a) {
			return nil, nil, false
		}
	}
	partial := record.Schema{Columns: append([]record.Column(nil), w.Out.Columns[:2+len(w.GroupBy)]...)}
	for _, a := range w.Aggregates {
		partial.Columns = append(partial.Columns, record.Column{Name: PartialPrefix + a.Name, Type: record.ColumnString})
	}
	return &combineStage{w: w, out: partial}, &mergeStage{w: w}, true
}

// exactMerge reports whether merging a's states gives the result of
// adding every record to one state: not for float sums and averages
// (their rounding depends on the order of additions), approx_percentile,
// or first and last (ties on event time go by arrival order).
func exactMerge(a Aggregate) bool {
	switch a.Func {
	case Count, Min, Max, CountDistinct, ApproxCountDistinct, MaxBy, MinBy:
		return true
	case Sum, Avg:
		return a.Arg != nil && a.Arg.Type != record.ColumnFloat
	}
	return false
}

// combineStage is the combiner's component.
type combineStage struct {
	w   *Window
	out record.Schema
}

// Output returns the partial rows' schema: window_start, window_end, the
// group_by fields, then one string column per aggregate.
func (c *combineStage) Output() record.Schema { return c.out }

// EventTimeColumn returns the window's event time.
func (c *combineStage) EventTimeColumn() string { return c.w.EventTime }

// LateToDeadLetter is the window's.
func (c *combineStage) LateToDeadLetter() bool { return c.w.LateToDeadLetter() }

// StateFingerprint is the window's, marked as a combiner's.
func (c *combineStage) StateFingerprint() string { return "combine\n" + c.w.StateFingerprint() }

// StartOperator starts one window operator per source partition, each
// emitting partial rows.
func (c *combineStage) StartOperator(partitions int, now int64) (plugins.Operator, error) {
	cb := &combiner{w: c.w}
	for range max(partitions, 1) {
		if err := cb.addPartition(now); err != nil {
			return nil, err
		}
	}
	return cb, nil
}

// mergeStage is the component of the window merging partial rows.
type mergeStage struct{ w *Window }

// Output returns the window's rows.
func (m *mergeStage) Output() record.Schema { return m.w.Out }

// EventTimeColumn places partial rows by their window's start: a partial
// row is done once its window was emitted.
func (m *mergeStage) EventTimeColumn() string { return ColumnWindowStart }

// LateToDeadLetter is the window's.
func (m *mergeStage) LateToDeadLetter() bool { return m.w.LateToDeadLetter() }

// StateFingerprint is the window's, marked as a merging one's.
func (m *mergeStage) StateFingerprint() string { return "merge\n" + m.w.StateFingerprint() }

// StartOperator returns a window operator that merges partial rows; it
// must follow its input's watermark (plugins.WatermarkFollower).
func (m *mergeStage) StartOperator(partitions int, now int64) (plugins.Operator, error) {
	o, err := m.w.NewOperator(partitions, now)
	if err != nil {
		return nil, err
	}
	o.merging = true
	return o, nil
}

// processPartials merges the partial rows of in into their windows. A
// partial row of a window that closed already is late.
func (o *Operator) processPartials(in *record.Batch, out *record.Batch, late, bad func(row int, reason string)) error {
	if !o.follow {
		return errors.New("window: partial rows reach a window that does not follow its input's watermark")
	}
	if err := o.bindPartials(in.Schema); err != nil {
		return err
	}
	first := 2 + len(o.w.GroupBy)
	var st agg.State
	for row := 0; row < in.Rows; row++ {
		o.stats.Records++
		start, end := in.Columns[0].Ints[row], in.Columns[1].Ints[row]
		if end <= o.valve.Watermark() {
			o.stats.Late++
			if late != nil {
				late(row, fmt.Sprintf("window: late partial row: window [%d, %d) closed (end <= watermark %d)", start, end, o.valve.Watermark()))
			}
			continue
		}
		o.rowKey(in, row)
		p := o.panes[start]
		if p == nil {
			p = &pane{start: start, end: end, groups: make(map[string]*group)}
			o.panes[start] = p
			o.timers.Register(end, uint64(start))
		}
		g := o.group(p, recentSlot(o.kp.probe))
		for i := range g.states {
			err := st.UnmarshalBinary(in.Columns[first+i].StringBytes(row))
			if err == nil {
				err = g.states[i].Merge(&st)
			}
			if err != nil {
				o.stats.Bad++
				if bad != nil {
					bad(row, fmt.Sprintf("window: partial state of %q: %v", o.w.Aggregates[i].Name, err))
				}
				break
			}
		}
	}
	return nil
}

// bindPartials finds the group_by columns of a partial rows' schema.
func (o *Operator) bindPartials(rec record.Schema) error {
	if b := &o.bound; len(b.cols) > 0 && len(rec.Columns) == len(b.cols) && &rec.Columns[0] == &b.cols[0] {
		return nil
	}
	if len(rec.Columns) != 2+len(o.w.GroupBy)+len(o.w.Aggregates) {
		return fmt.Errorf("window: partial rows have %d columns, want %d", len(rec.Columns), 2+len(o.w.GroupBy)+len(o.w.Aggregates))
	}
	b := binding{cols: rec.Columns, eventTime: -1, probeCol: -1}
	for i := range o.w.GroupBy {
		b.groupBy = append(b.groupBy, 2+i)
	}
	o.bound = b
	return nil
}

// emitPartial appends the partial row of (window, group): the window, the
// group values and each aggregate's encoded state.
func (o *Operator) emitPartial(out *record.Batch, start, end int64, key string, states []agg.State) {
	out.Columns[0].AppendInt(start)
	out.Columns[1].AppendInt(end)
	c := 2 + len(o.w.GroupBy)
	o.decodeKey(out.Columns[2:c], key)
	for i := range states {
		var err error
		if o.strBuf, err = states[i].AppendBinary(o.strBuf[:0]); err != nil {
			panic(err) // a state always encodes
		}
		out.Columns[c+i].AppendString(o.strBuf)
	}
	out.Rows++
	o.stats.Emitted++
}
