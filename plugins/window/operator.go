package window

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/window/agg"
)

// Operator is the running state of one window stage: the watermark valve
// over its source partitions, the open windows and their per-group aggregate
// states, and the timers that close them. It implements docs/event-time.md
// exactly; the decisions the design leaves open are these:
//
//   - Order of work. Process takes rows in order and, for each row: reads its
//     event time (a null event time, or an aggregate argument that fails to
//     evaluate, sends the row to bad and nothing else happens: it does not
//     move time); decides lateness against the watermark W as it was before
//     the row; adds the row to its open windows; observes the row in its
//     partition and advances W with the batch's processing time; then closes
//     and emits every window with end <= W. Output therefore depends on the
//     rows and their order, never on batch sizes.
//   - Sliding windows. A row belongs to every window [start, start+size)
//     that contains it. As in Flink, it is added to each of those windows
//     that is still open and dropped from each that has closed. Unlike
//     Flink, which side-outputs only a row that no window took, it is
//     reported late, once, as soon as it was dropped from at least one
//     window, even though it also counts in the windows still open: nothing
//     is missing silently. With late = "dead_letter" the dead-letter copy
//     thus says "missing from some windows", not "missing from all".
//   - Sessions. A row at t joins every held session of its key (open, or
//     closed and kept for allowed lateness L) whose [start, last+gap)
//     overlaps [t, t+gap). When it joins several, they
//     merge in order of start: the earliest-starting session absorbs the
//     others, as if their rows had been added after its own, then the row is
//     added. (This only shows in first/last ties on equal event times and in
//     the rounding of float sums.) A row no held session absorbs is late
//     when t+gap+L <= W, and otherwise starts a session [t, t+gap). In update mode
//     (emit = "every D") an absorbed session's update rows are withdrawn
//     (see Sessions and deletes below).
//   - Order of output rows. Rows that close on one advance of W are ordered
//     by window end, then window start, then group key. Group keys compare
//     column by column in group_by order: null first, then ints, timestamps
//     and floats numerically (-0 equals 0, every NaN is one value and the
//     largest), strings by bytes, false before true. Update rows of a tick
//     follow the same order.
//   - emit = "every D". Tick first lets idle partitions advance W (closing
//     windows, final = true), then, when a tick of D is due, emits every open
//     (window, group) whose aggregates changed since its last row, with
//     final = false. Every closing (window, group) emits a final row, changed
//     or not.
//   - Null group values form their own group, like SQL's GROUP BY.
//   - Row kinds (record.RowKind). A row is an Insert when it is the first
//     of its key (window_start and group), an Update after that: the later
//     rows of emit = "every D", and those of allowed lateness.
//   - Allowed lateness L. A window that closes emits as without, then keeps
//     its state until W passes end + L (a timer at end + L frees it). A
//     row arriving meanwhile is added to it, and the window's row is
//     emitted at once, with the next revision, final = true; rows a row
//     makes this way come out before those its advance of W closes. A row
//     for a window already closed that had no state for its group (or no
//     state at all) makes it, closed, and emits its first row. A row is
//     late when end + L <= W for its window (any of its windows, sliding;
//     for a session, when no held session absorbs it and t+gap+L <= W).
//   - Sessions and deletes. A session's key is its start: when a record
//     merges sessions or moves one's start earlier, every session among
//     them that emitted a row under a start the result does not keep emits
//     a Delete of that row (the values it last emitted, the next revision,
//     final = true), in order of start, at once. The result keeps the
//     earliest start; when a session with that start had emitted rows, the
//     result's next row is an Update of them, else an Insert. A closed
//     session a record extends past W opens again and emits when W passes
//     its new end.
//
// An Operator is not safe for concurrent use; the scheduler's goroutine owns
// it. Output rows are appended to the batch given to each call, which must
// have the schema Window.Out.
type Operator struct {
	w      *Window
	valve  *eventtime.Valve
	timers *eventtime.TimerService
	every  *eventtime.Every // nil for emit = "on_close"

	size, slide, offset, gap int64 // milliseconds
	lateness                 int64 // allowed lateness, milliseconds
	minTime, maxTime         int64 // event times whose windows' bounds fit in an int64
	keepsSent                bool  // sessions remember their last row, which a Delete may withdraw

	panes    map[int64]*pane // tumbling and sliding windows by start
	lastPane *pane           // the pane a row was last added to, or nil: most rows go to the same one
	// paneGroups is how many groups the last window freed had;
	// freeGroups are its groups, for new ones (newGroup).
	paneGroups int
	freeGroups []*group
	sessions   map[string]*sessionList
	byID       map[uint64]*session
	sent       map[uint64]*sentRow // the row each session last emitted, by id, while a Delete may withdraw it (keepsSent)
	nextID     uint64

	templates []agg.State // empty states, copied into each new group
	args      []argument
	bound     binding

	// Reusable buffers of the hot path.
	keyBuf  []byte
	kp      keyProbe // the row at hand's group key
	rowBuf  []byte   // the encoded record of a window keeping records
	vals    []agg.Value
	byVals  []agg.Value // the by arguments of max_by and min_by, or keep's
	fired   []eventtime.Timer
	onTimer func(eventtime.Timer)
	closing []closing
	ended   []*session // the sessions of one closeSessions
	strBuf  []byte

	procW  int64 // processing time: the latest now given (eventtime.NoWatermark before any)
	follow bool  // the watermark comes from AdvanceTo only (Follow)
	// lastLate describes the row of the last late callback (LastLate).
	lastLate plugins.Lateness
	// single: every row is of partition 0 whatever its origin (a
	// combiner's per-partition operator); partial: closing windows emit
	// partial rows (emitPartial); merging: Process merges partial rows.
	single, partial, merging bool

	open  int // open (window, group) states
	stats OperatorStats
}

// OperatorStats are the counters of an Operator since it was created (they
// are part of its snapshot).
type OperatorStats struct {
	Records     int64 // rows given to Process
	Late        int64 // rows late for at least one of their windows
	Bad         int64 // rows sent to bad: null or out-of-range event time, failed argument
	OpenWindows int   // (window, group) states held, as now: open ones and those Kept
	Kept        int   // of OpenWindows, closed ones kept for allowed lateness
	Emitted     int64 // rows emitted, updates and deletes included
	Closed      int64 // (window, group) states closed, each emitted once as final when W passed its end
	Watermark   int64 // the current W (eventtime.NoWatermark before any)
}

// NewOperator returns the running state of the window stage for partitions
// source partitions (numbered from 0), created at processing time now (Unix
// milliseconds). Rows from a partition beyond them add it, known since the
// batch's now. It fails on a Window that Build reported errors for.
func (w *Window) NewOperator(partitions int, now int64) (*Operator, error) {
	if w.EventTimeIndex < 0 && w.EventTime == "" {
		return nil, errors.New("window: no event_time")
	}
	if len(w.Aggregates) == 0 && (w.Keep == nil || w.Keep.Arg == nil) {
		return nil, errors.New("window: no aggregates")
	}
	o := &Operator{
		w:        w,
		timers:   eventtime.NewTimerService(),
		size:     w.Size.Milliseconds(),
		slide:    w.Slide.Milliseconds(),
		offset:   w.Offset.Milliseconds(),
		gap:      w.Gap.Milliseconds(),
		lateness: w.AllowedLateness.Milliseconds(),
	}
	if o.lateness < 0 {
		return nil, errors.New("window: allowed lateness below zero")
	}
	switch w.Kind {
	case Tumbling, Sliding:
		if o.slide <= 0 || o.size <= 0 {
			return nil, fmt.Errorf("window: %s window needs a size and slide above zero", w.Kind)
		}
		o.panes = make(map[int64]*pane)
	case Session:
		if o.gap <= 0 {
			return nil, errors.New("window: session window needs a gap above zero")
		}
		o.sessions = make(map[string]*sessionList)
		o.byID = make(map[uint64]*session)
		o.keepsSent = !w.EmitOnClose || o.lateness > 0
		o.sent = make(map[uint64]*sentRow)
	default:
		return nil, fmt.Errorf("window: unknown kind %q", w.Kind)
	}
	valve, err := eventtime.NewValve(eventtime.ValveConfig{Watermark: w.Watermark, IdleTimeout: w.IdleTimeout}, partitions, now)
	if err != nil {
		return nil, err
	}
	o.valve = valve
	if !w.EmitOnClose {
		if o.every, err = eventtime.NewEvery(w.EmitEvery, now); err != nil {
			return nil, err
		}
	}
	if err := o.startAggregates(); err != nil {
		return nil, err
	}
	// Keep window arithmetic (start − size, t + gap, end + lateness) away
	// from overflow; the range still spans some 290 million years.
	margin := 2 * (o.size + o.slide + o.gap + o.lateness)
	o.minTime, o.maxTime = math.MinInt64+margin, math.MaxInt64-margin
	o.vals = make([]agg.Value, len(o.args))
	o.byVals = make([]agg.Value, len(o.args))
	o.procW = eventtime.NoWatermark
	o.onTimer = func(t eventtime.Timer) { o.fired = append(o.fired, t) }
	o.stats.Watermark = eventtime.NoWatermark
	return o, nil
}

// startAggregates makes the empty states and the arguments of the
// aggregates, or of the kept records of a window with keep and no
// aggregates.
func (o *Operator) startAggregates() error {
	w := o.w
	if k := w.Keep; k != nil && k.Arg != nil {
		s, err := agg.NewPair(k.tiesFunc(), record.ColumnString, k.Arg.Type)
		if err != nil {
			return fmt.Errorf("window: keep: %w", err)
		}
		o.templates = append(o.templates, s)
		by := &argument{typ: k.Arg.Type, prog: k.Arg.VM, ident: identifier(k.Arg.VM), col: -1}
		o.args = append(o.args, argument{fn: k.tiesFunc(), typ: record.ColumnString, col: -1, row: true, by: by})
		return nil
	}
	for _, a := range w.Aggregates {
		fn, err := agg.ParseFunc(string(a.Func))
		if err != nil {
			return err
		}
		arg := argument{fn: fn, col: -1}
		if a.Arg != nil {
			arg.typ = a.Arg.Type
			arg.prog = a.Arg.VM
			arg.ident = identifier(a.Arg.VM)
		} else if fn != agg.Count {
			return fmt.Errorf("window: aggregate %q has no argument", a.Name)
		}
		var s agg.State
		if fn.Pair() {
			if a.By == nil {
				return fmt.Errorf("window: aggregate %q has no by argument", a.Name)
			}
			arg.by = &argument{typ: a.By.Type, prog: a.By.VM, ident: identifier(a.By.VM), col: -1}
			s, err = agg.NewPair(fn, arg.typ, a.By.Type)
		} else {
			s, err = agg.New(fn, arg.typ, a.Quantile)
		}
		if err != nil {
			return fmt.Errorf("window: aggregate %q: %w", a.Name, err)
		}
		o.templates = append(o.templates, s)
		o.args = append(o.args, arg)
	}
	return nil
}

// Process adds every row of in, in row order, and appends the rows of the
// windows that close, and those late rows update, to out (schema
// Window.Out), each with its kind (see Operator). in follows the schema the
// window was built against (columns are found by name, so their order may
// differ); in.Origins[i].Partition is row i's source partition, 0 when
// Origins is empty. now is the processing time of the batch, read once.
//
// late(row, reason) is called once for each row late for at least one of its
// windows (see Operator): the caller counts it and, with late =
// "dead_letter", sends it to the dead letter. bad(row, reason) is called for
// each row with a null event time, an event time within a few window sizes
// of the int64 limits, or an aggregate argument that failed to evaluate;
// such a row is otherwise ignored and does not move time. Either callback
// may be nil; the reason strings are fresh. An error means the batch does
// not fit the window (missing column, negative partition, a row that is
// not an Insert: a window aggregates records, not a changelog); the rows
// before the failing one are processed.
func (o *Operator) Process(in *record.Batch, now int64, out *record.Batch, late, bad func(row int, reason string)) error {
	if o.valve.Finished() {
		return errors.New("window: Process after Finish")
	}
	if in.HasChanges() {
		return changelogError(in)
	}
	if o.merging {
		return o.processPartials(in, out, late, bad)
	}
	if err := o.bind(in.Schema); err != nil {
		return err
	}
	if o.w.ProcessingTime {
		return o.processNow(in, now, out, bad)
	}
	tsCol := &in.Columns[o.bound.eventTime]
	for row := 0; row < in.Rows; row++ {
		o.stats.Records++
		if tsCol.IsNull(row) {
			o.stats.Bad++
			if bad != nil {
				bad(row, fmt.Sprintf("window: the event time %q is null", o.w.EventTime))
			}
			continue
		}
		t := tsCol.Ints[row]
		if t < o.minTime || t > o.maxTime {
			o.stats.Bad++
			if bad != nil {
				bad(row, fmt.Sprintf("window: the event time %d is too far from the Unix epoch to place in a window", t))
			}
			continue
		}
		if err := o.evalSlow(in, row); err != nil {
			o.stats.Bad++
			if bad != nil {
				bad(row, err.Error())
			}
			continue
		}
		p := 0
		if len(in.Origins) > 0 && !o.follow && !o.single {
			p = int(in.Origins[row].Partition)
			if p < 0 {
				return fmt.Errorf("window: row %d has negative partition %d", row, p)
			}
			for p >= o.valve.Partitions() {
				o.valve.AddPartition(now)
			}
		}
		o.rowKey(in, row)
		var dropped bool
		var missed int64 // the start of the window the row missed
		if o.w.Kind == Session {
			o.encodeKey()
			dropped, missed = o.addSession(in, row, t, out), t
		} else {
			dropped, missed = o.addPanes(in, row, t, out)
		}
		if dropped {
			o.stats.Late++
			if late != nil {
				late(row, o.lateReason(t, missed))
			}
		}
		if o.follow {
			continue
		}
		o.valve.Observe(p, t)
		if w, changed := o.valve.Advance(now); changed {
			o.closeUpTo(w, out)
		}
	}
	return nil
}

// lateReason explains why a row at event time t was late for the window
// starting at start (its own [t, t+gap) for a session): the window, the
// watermark, and how far the watermark had passed the window's end, which
// an allowed lateness above that would have covered.
func (o *Operator) lateReason(t, start int64) string {
	end := start + o.size
	if o.w.Kind == Session {
		end = t + o.gap
	}
	w := o.valve.Watermark()
	o.lastLate = plugins.Lateness{EventTime: t, WindowStart: start, WindowEnd: end, Watermark: w, LateBy: w - end, AllowedLateness: o.lateness}
	// As fmt.Sprintf("window: late record: event time %d, window [%d, %d)
	// closed, watermark %d is %d ms past its end (allowed lateness %d ms)"),
	// a fifth of the cost: late records can be many.
	b := append(o.strBuf[:0], "window: late record: event time "...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, ", window ["...)
	b = strconv.AppendInt(b, start, 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, end, 10)
	b = append(b, ") closed, watermark "...)
	b = strconv.AppendInt(b, w, 10)
	b = append(b, " is "...)
	b = strconv.AppendInt(b, w-end, 10)
	b = append(b, " ms past its end (allowed lateness "...)
	b = strconv.AppendInt(b, o.lateness, 10)
	b = append(b, " ms)"...)
	o.strBuf = b
	return string(b)
}

// changelogError is Process's error for a batch holding updates or deletes.
func changelogError(in *record.Batch) error {
	for i, k := range in.Kinds {
		if k != record.Insert {
			return fmt.Errorf("window: input row %d is of kind %s: a window aggregates records, not the updates and deletes of a stage before it (a window with allowed_lateness or emit = \"every D\")", i, k)
		}
	}
	return nil
}

// Tick handles processing time without input, at processing time now: idle
// partitions stop holding the watermark back (windows may close and are
// emitted, final = true when emit = "every D"), then, with emit = "every D"
// and a tick of D due, every open (window, group) whose aggregates changed
// since its last row is emitted with final = false. The scheduler calls it
// at NextTick and often enough to notice idle partitions (say every
// idle_timeout / 4).
func (o *Operator) Tick(now int64, out *record.Batch) error {
	if o.w.ProcessingTime {
		o.advanceNow(now, out)
	} else if w, changed := o.valve.Advance(now); changed {
		o.closeUpTo(w, out)
	}
	if o.every == nil {
		return nil
	}
	if _, n := o.every.Due(now); n > 0 {
		o.emitUpdates(out)
	}
	return nil
}

// NextTick returns the processing time of the next `every D` tick, and false
// with emit = "on_close".
func (o *Operator) NextTick() (int64, bool) {
	if o.every == nil {
		return 0, false
	}
	return o.every.Next(), true
}

// Finish ends a bounded input: W becomes +∞ (eventtime.EndOfTime), so every
// open window closes and is emitted (final = true with emit = "every D").
// Process fails afterwards; Finish again emits nothing.
func (o *Operator) Finish(out *record.Batch) error {
	w, _ := o.valve.Finish()
	if o.w.ProcessingTime {
		o.procW = w
	}
	o.closeUpTo(w, out)
	return nil
}

// Watermark returns the stage's current watermark W: with processing
// time, the latest processing time the operator was given.
func (o *Operator) Watermark() int64 {
	if o.w.ProcessingTime {
		return o.procW
	}
	return o.valve.Watermark()
}

// Stats returns the operator's counters.
func (o *Operator) Stats() OperatorStats {
	s := o.stats
	s.OpenWindows = o.open
	s.Kept = o.kept()
	s.Watermark = o.Watermark()
	return s
}

// kept counts the (window, group) states closed and kept for allowed
// lateness.
func (o *Operator) kept() int {
	if o.lateness == 0 {
		return 0
	}
	n := 0
	for _, p := range o.panes {
		if p.closed {
			n += len(p.groups)
		}
	}
	for _, s := range o.byID {
		if s.closed {
			n++
		}
	}
	return n
}

// closeUpTo fires the timers of every window with end <= w, emits the
// windows that close and frees those kept past end + allowed lateness.
func (o *Operator) closeUpTo(w int64, out *record.Batch) {
	o.fired = o.fired[:0]
	if o.timers.Fire(w, o.onTimer) == 0 {
		return
	}
	if o.w.Kind == Session {
		o.closeSessions(w, out)
	} else {
		o.closePanes(w, out)
	}
}

var _ plugins.LateDetailer = (*Operator)(nil)

// LastLate describes the row of the last call of Process's late callback:
// the window it missed, the watermark and how far past its end.
func (o *Operator) LastLate() plugins.Lateness { return o.lastLate }
