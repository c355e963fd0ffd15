// Package window declares the event-time window stages: `window "tumbling"`,
// `window "sliding"` and `window "session"`. It checks their arguments
// against the records that reach them and describes the rows they emit:
// window_start, window_end, the group_by fields, then the aggregates in the
// order written (docs/event-time.md, "Output rows").
package window

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Kind is the shape of a window stage: the block's label.
type Kind string

// The window kinds.
const (
	Tumbling Kind = "tumbling" // fixed, non-overlapping windows of Size
	Sliding  Kind = "sliding"  // windows of Size starting every Slide, overlapping
	Session  Kind = "session"  // per-key bursts of activity closed by Gap of silence
)

// Kinds lists the window kinds in documentation order.
var Kinds = []Kind{Tumbling, Sliding, Session}

// What a late record becomes (the `late` argument).
const (
	LateDrop       = "drop"        // counted, then discarded
	LateDeadLetter = "dead_letter" // counted, then sent to the pipeline's dead letter
)

// Names of the columns every window stage outputs in front of the group_by
// fields, of the column that allowed lateness adds after the aggregates, and
// of the column that `emit = "every D"` adds after them.
const (
	ColumnWindowStart = "window_start"
	ColumnWindowEnd   = "window_end"
	ColumnRevision    = "revision"
	ColumnFinal       = "final"
)

// ProcessingTime is the event_time that places records by processing time
// instead of a field.
const ProcessingTime = plugins.ProcessingTime

// Window is a configured window stage. Durations are whole milliseconds, as
// event times are carried as int64 Unix milliseconds.
type Window struct {
	Kind Kind

	// EventTime names the timestamp field windows are assigned by, and
	// EventTimeIndex is its position in the input record (-1 when unknown,
	// and for processing time).
	EventTime      string
	EventTimeIndex int
	// ProcessingTime is set by event_time = "processing_time": records are
	// placed by the processing time of their batch, and windows close as
	// processing time passes their end (docs/event-time.md).
	ProcessingTime bool

	// Size is the length of tumbling and sliding windows. Slide is the
	// distance between the starts of consecutive sliding windows; for
	// tumbling windows it equals Size. Both are zero for sessions.
	Size  time.Duration
	Slide time.Duration
	// Gap is the silence after a key's last event that ends its session
	// (session windows only).
	Gap time.Duration
	// Offset shifts window starts from the Unix epoch; less than Slide.
	Offset time.Duration
	// Watermark is the allowed out-of-orderness subtracted from the largest
	// event time seen when computing the stage's watermark.
	Watermark time.Duration
	// IdleTimeout is how long (processing time) a partition may stay silent
	// before it stops holding the watermark back.
	IdleTimeout time.Duration
	// AllowedLateness is how long, in event time, a closed window keeps its
	// state for late records: one arriving before the watermark passes the
	// window's end plus AllowedLateness updates the window, which emits its
	// row again as an Update with the next revision. Zero emits each window
	// once, when it closes.
	AllowedLateness time.Duration

	// GroupBy names the key fields, and GroupByIndex gives their positions
	// in the input record, in the same order.
	GroupBy      []string
	GroupByIndex []int

	// Aggregates are the aggregate columns in the order written.
	Aggregates []Aggregate

	// Keep, when set, selects the rows the window emits (`keep`).
	Keep *Keep

	// EmitOnClose is true for `emit = "on_close"`: each window is emitted
	// once, when it closes. Otherwise EmitEvery is the processing-time
	// period of intermediate results and the output has a final column.
	EmitOnClose bool
	EmitEvery   time.Duration

	// Late is LateDrop or LateDeadLetter.
	Late string

	// Out is the schema of the emitted rows.
	Out record.Schema

	// emitAt and latenessAt are where emit and allowed_lateness were
	// written, for the diagnostics of ChangeEmitter.
	emitAt, latenessAt hcl.Range
}

// Output returns the schema of the rows the window emits.
func (w *Window) Output() record.Schema { return w.Out }

var _ plugins.Component = (*Window)(nil)

func init() {
	for _, p := range Plugins() {
		plugins.Register(p)
	}
}

// Plugins returns the declarations of the three window stages, fresh
// values, so that tests can register them in their own environment.
func Plugins() []*plugins.Plugin {
	return []*plugins.Plugin{
		{
			Kind: plugins.KindStage, Block: "window", Name: string(Tumbling),
			Summary: "Aggregates records in fixed, non-overlapping event-time windows.",
			Description: "Each record falls in exactly one window, the half-open interval `[start, end)` of length `size`. " +
				"Windows are aligned to the Unix epoch plus `offset`: with `size = \"1h\"` and `offset = \"15m\"` they start at a quarter past each hour. " +
				"A window closes once the watermark (the smallest per-partition maximum event time, minus `watermark`) reaches its end; " +
				"a record whose window has already closed is late and follows `late`, unless `allowed_lateness` keeps the window that much longer: the record then updates it and its row is emitted again. " +
				"Each closed window emits one row per group: `window_start`, `window_end`, the `group_by` fields, then the aggregates in the order written.",
			Spec:  spec(Tumbling),
			Build: build(Tumbling),
			Examples: []plugins.Example{{
				Title: "Events and distinct users per action and minute",
				Config: `window "tumbling" {
  event_time = "ts"
  size       = "1m"
  watermark  = "2m"
  group_by   = ["action"]
  aggregate = {
    events = "count()"
    users  = "count_distinct(user_id)"
  }
  emit = "on_close"
  late = "drop"
}`,
			}},
		},
		{
			Kind: plugins.KindStage, Block: "window", Name: string(Sliding),
			Summary: "Aggregates records in overlapping event-time windows of a fixed size that start at a fixed interval.",
			Description: "A window of length `size` starts every `slide`, so each record counts in every window `[start, end)` that contains it (`size / slide` windows when it divides evenly). " +
				"Window starts are aligned to the Unix epoch plus `offset`. " +
				"A window closes once the watermark (the smallest per-partition maximum event time, minus `watermark`) reaches its end; " +
				"a record is late for the windows that have already closed (and been kept for `allowed_lateness`) and follows `late` for them. " +
				"Rows hold `window_start`, `window_end`, the `group_by` fields, then the aggregates in the order written.",
			Spec:  spec(Sliding),
			Build: build(Sliding),
			Examples: []plugins.Example{{
				Title: "A 5-minute moving view per device, updated every minute",
				Config: `window "sliding" {
  event_time = "ts"
  size       = "5m"
  slide      = "1m"
  watermark  = "30s"
  group_by   = ["device"]
  aggregate = {
    events = "count()"
    p90    = "approx_percentile(user_id, 0.9)"
  }
}`,
			}},
		},
		{
			Kind: plugins.KindStage, Block: "window", Name: string(Session),
			Summary: "Aggregates each key's bursts of activity into session windows separated by a gap of inactivity.",
			Description: "A record at time t covers `[t, t + gap)` and joins, merging them, every session of its key (`group_by`) still held that this interval overlaps; otherwise it starts a new session. " +
				"A session's end is its last event time plus `gap`, and it closes once the watermark (the smallest per-partition maximum event time, minus `watermark`) reaches that end. " +
				"A record is late only when no session absorbs it and `t + gap` (plus `allowed_lateness`) is at or before the watermark; it then follows `late`. " +
				"Rows hold `window_start`, `window_end`, the `group_by` fields, then the aggregates in the order written.",
			Spec:  spec(Session),
			Build: build(Session),
			Examples: []plugins.Example{{
				Title: "User sessions ending after 30 minutes without activity",
				Config: `window "session" {
  event_time = "ts"
  gap        = "30m"
  group_by   = ["user_id"]
  aggregate = {
    actions      = "count()"
    first_action = "first(action)"
    last_action  = "last(action)"
  }
}`,
			}},
		},
	}
}

// spec declares the arguments of a window kind. The three kinds share every
// argument but the ones that shape the windows.
func spec(k Kind) *schema.Spec {
	fields := []*schema.Field{
		schema.String("event_time", "The field holding each record's event time; it must be a timestamp. Windows are assigned and closed by this time, not by arrival time. \"processing_time\" places records by the time sluice processes them instead, and closes windows as that time passes (results then depend on timing).").
			Example(`"ts"`),
	}
	switch k {
	case Tumbling:
		fields = append(fields,
			schema.Duration("size", "The length of each window, a whole number of milliseconds greater than zero.").Example(`"1m"`),
			schema.Duration("offset", "Shifts window starts away from the Unix epoch; it must be less than size. With size \"1h\" and offset \"15m\", windows start at a quarter past each hour.").
				WithDefault("0s").Example(`"15m"`),
		)
	case Sliding:
		fields = append(fields,
			schema.Duration("size", "The length of each window, a whole number of milliseconds greater than zero.").Example(`"5m"`),
			schema.Duration("slide", "How often a new window starts; greater than zero and at most size. Each record counts in every window that contains it.").Example(`"1m"`),
			schema.Duration("offset", "Shifts window starts away from the Unix epoch; it must be less than slide.").
				WithDefault("0s").Example(`"30s"`),
		)
	case Session:
		fields = append(fields,
			schema.Duration("gap", "The inactivity after a key's last event that ends its session; greater than zero. A session ends at its last event time plus gap.").Example(`"30m"`),
		)
	}
	fields = append(fields,
		schema.Duration("watermark", "The allowed out-of-orderness: the stage's watermark trails the largest event time seen by this much, so windows wait that long for stragglers before closing.").
			WithDefault("0s").Example(`"2m"`),
		schema.Duration("idle_timeout", "How long, in processing time, a source partition may deliver nothing before it stops holding the watermark back; it does again once it delivers.").
			WithDefault("30s").Example(`"1m"`),
		schema.Duration("allowed_lateness", lateDoc(k)).WithDefault("0s").Example(`"10m"`),
		schema.List("group_by", schema.TypeString, "The fields that key the windows: each distinct combination of their values gets its own windows and output rows. Empty means one group.").
			WithDefault([]string{}).Example(`["action"]`),
		schema.Map("aggregate", schema.TypeExpr, "The output columns computed over each window, in the order written: a name and a call such as count(), sum(x), min(x), max(x), avg(x), count_distinct(x), approx_count_distinct(x), approx_percentile(x, q), first(x), last(x), max_by(x, by) or min_by(x, by), where x and by are expressions over the input fields. Required unless keep is set.").
			AsOptional().Example(`{ events = "count()", users = "count_distinct(user_id)" }`),
		schema.String("emit", "When rows are written: \"on_close\" emits each window once when it closes; \"every D\" (e.g. \"every 10s\") also emits changed windows every D of processing time, with a final column telling the last row apart.").
			WithDefault("on_close").Example(`"every 10s"`),
		schema.Enum("late", "What happens to a record whose window has already closed: it is counted, then dropped or sent to the dead letter.", LateDrop, LateDeadLetter).
			WithDefault(LateDrop),
	)
	if k != Session {
		fields = append(fields, schema.String("keep", "\"max(x)\" or \"min(x)\": emit only the rows whose x is the largest (smallest) of their window, every tie included. With aggregate, x names an aggregate and the window emits the group rows holding the largest value among its groups; without, x is an expression over the input fields and each window and group emits its records holding the largest value, with all their fields. Needs emit = \"on_close\".").
			AsOptional().Example(`"max(price)"`))
	}
	return schema.NewSpec(fields...)
}

// lateDoc documents allowed_lateness for a window kind.
func lateDoc(k Kind) string {
	doc := "How long after a window closes it keeps its state for late records. A window still emits its row when the watermark passes its end; " +
		"a record that arrives before the watermark passes the end plus allowed_lateness updates the window, which emits its row again as an update " +
		"(row kind update, same window_start and group) with the next revision, an int column after the aggregates (0 for the first row). " +
		"Records later than that follow late. \"0s\" (the default) emits each window once and adds no revision column. "
	if k == Session {
		doc += "A late record that merges sessions already emitted, or moves one's start earlier, deletes their rows (row kind delete) and emits the merged session. "
	} else {
		doc += "Not with keep. "
	}
	return doc + "Not with event_time = \"processing_time\", where no record is late."
}
