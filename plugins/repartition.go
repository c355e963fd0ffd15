package plugins

// This file declares the abilities of a shuffle: a `repartition` block
// splits a pipeline in two halves joined by a partitioned topic
// (docs/scaling.md, "Repartition"). The stages before the block write each
// record to the topic, routed by the block's key; the stages after it read
// the topic as tasks, one per topic partition, so that a window after it
// sees every record of a key in one task. Event time crosses the shuffle as
// watermark markers: each task of the half before publishes its watermark
// to every partition, and a task of the half after follows the least of
// them.

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/record"
)

// Repartitioner is implemented by the component of a repartition block.
// Its Output is its input: records cross the shuffle unchanged. The
// TaskSplitter methods open the half after the block (SplitsTasks reports
// true: the topic's partitions are shared among processes as a failover
// subscription's are, whatever the pipeline's instances); the runner runs
// that half as tasks in every process.
type Repartitioner interface {
	TaskSplitter
	// RepartitionKey returns the fields records are routed by (every
	// record with the same values of them goes to one partition) and
	// where they are declared, for diagnostics.
	RepartitionKey() (fields []string, at hcl.Range)
	// OpenPublisher opens the Writer the half before the block writes to,
	// for rt.Task of that half ("" when it runs as one). It implements
	// Committer: a replay after a crash publishes the same records under
	// the same identities, which the broker drops as duplicates, and
	// InputEnder: at the end of a bounded input it publishes the end of
	// event time. Until it is closed it publishes the watermark of what
	// it was written, computed as marks says, to every partition.
	OpenPublisher(ctx context.Context, rt *Runtime, marks Marks) (Writer, error)
}

// Marks says how a publisher computes the watermark it sends through the
// shuffle: as the first window after the block would compute it from the
// records it is written.
type Marks struct {
	// EventTime is the column (of the block's input) the first window
	// after the block places records by; "" when no event-time window
	// follows: markers then only tell the end of the input.
	EventTime string
	// Valve is that window's watermark delay and idle timeout, applied
	// over the source partitions of the records written (record.Origin).
	Valve eventtime.ValveConfig
	// Tasks is the number of tasks of the half before the block (1 when
	// it runs as one): a task after the block follows the least watermark
	// of that many publishers.
	Tasks int
	// Given is true when the stage before the publisher computes the
	// watermark (a combiner, see Combinable): the runner then hands it
	// over through WatermarkWriter, and EventTime is "".
	Given bool
}

// WatermarkWriter is implemented by a publisher: when Marks.Given, the
// runner calls SetWatermark, from the goroutine that calls Write, after
// the rows the watermark covers were written and whenever it rises or the
// idleness changes; the publisher sends it in its markers. idle is true
// when every source partition of the task is idle.
type WatermarkWriter interface {
	SetWatermark(w int64, idle bool)
}

// CrossingRepartitioner is implemented by a Repartitioner whose topic can
// carry rows of another schema than the block's input (the partial rows of
// a combiner): Crossing returns the same block publishing and reading
// rows of schema, which its Output then returns.
type CrossingRepartitioner interface {
	Crossing(schema record.Schema) Repartitioner
	// Combines reports whether the block lets the window after it
	// combine before the shuffle (its configuration may forbid it).
	Combines() bool
}

// MarkedReader is implemented by a Reader whose input carries its
// watermark (a task of the half after a repartition block): the stages
// after it take their watermark from Watermark, not from the event times
// of the records, which arrive in the order of the shuffle. Read ends a
// batch at a marker that raises the watermark, and may return with no
// rows when only the watermark changed.
type MarkedReader interface {
	// Watermark returns the event-time watermark (Unix ms) that holds
	// after every record Read returned so far: eventtime.NoWatermark
	// before the first, eventtime.EndOfTime once the input ended.
	Watermark() int64
}

// WatermarkFollower is implemented by an Operator that can take its
// watermark from its input (a MarkedReader) instead of computing it from
// its records' event times.
type WatermarkFollower interface {
	// Follow switches the operator to following, once, right after it
	// was started and before it is restored: records no longer move its
	// watermark, only AdvanceTo does.
	Follow()
	// AdvanceTo raises the watermark to w (it never moves back) at
	// processing time now and appends the results of the windows that
	// close to out.
	AdvanceTo(w, now int64, out *record.Batch) error
}

// InputEnder is implemented by a Writer that must tell the end of a
// bounded input from a stop (a publisher, which then sends the end of
// event time): the runner calls EndInput once the source ended and the
// last rows were written, before the last checkpoint.
type InputEnder interface {
	EndInput(ctx context.Context) error
}

// TaskCounter is implemented by a TaskAssigner that knows how many tasks
// the source has in all processes (a topic's partitions).
type TaskCounter interface {
	Tasks() int
}

// Watermarked is implemented by an event-time stage (EventTimed) that
// computes its watermark from its records: Watermarking returns its delay
// and idle timeout, which a publisher before it applies in its place.
type Watermarked interface {
	Watermarking() eventtime.ValveConfig
}

// Combinable is implemented by a window that can combine before a shuffle
// (Flink's local-global aggregation): Combiner returns the stage that
// replaces it in the half before — it emits partial rows (the window, the
// group values, each aggregate's state) per source partition when that
// partition's watermark passes a window's end — and the window that
// merges them in the half after, which must follow its input's watermark.
// ok is false when merging would not give exactly the window's results.
// The combiner's Operator reports its watermark by Watermark and whether
// every partition is idle by OperatorReporter.Partitions; its rows carry
// their source partition in record.Origin.
type Combinable interface {
	Combiner() (local, global OperatorStarter, ok bool)
}
