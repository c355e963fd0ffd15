package plugins

// This file holds the small interfaces a configured Component implements to
// run: sources open a Reader, sinks a Writer, dead letters a DeadWriter. The
// runner owns goroutines, batching, the event-time scheduler and the
// lifecycle; plugins see only these interfaces and a Runtime.
//
// Stateless stages (parse, filter, map) implement Transformer; stateful ones
// (windows) implement OperatorStarter and are driven by the pipeline's
// scheduler, which owns processing time.

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/record"
)

// Runtime is what a running plugin may use from the runner.
type Runtime struct {
	// Pipeline is the name of the running pipeline.
	Pipeline string
	// Logger logs with the pipeline and the plugin's block as attributes.
	Logger *slog.Logger
	// Now reads processing time; tests inject a manual clock through it.
	Now func() time.Time
	// Checkpoints is true when the run takes checkpoints: sources are
	// resumed from recorded positions (Resumer) and acknowledged only
	// once a checkpoint is durable, and sinks that can commit their
	// output with checkpoints (Committer) do so.
	Checkpoints bool
	// Task is the task this instance of the plugin runs for when the
	// pipeline runs as tasks (plugins.TaskSplitter, docs/scaling.md): the
	// TaskChange.Task it was opened for. It is "" when one process owns
	// every partition. A Committer scopes everything it names (temporary
	// and committed output, manifests, what Recover deletes, transactional
	// ids) to the pair (Pipeline, Task), so that the tasks of one pipeline,
	// each with its own epochs and run by any process, never touch each
	// other's output.
	Task string
}

// Opener is implemented by source components.
type Opener interface {
	Component
	// Open starts reading. The context ends the source's life: when it is
	// canceled, Read returns promptly.
	Open(ctx context.Context, rt *Runtime) (Reader, error)
}

// Reader is a running source. Its batches have the schema of the
// component's Output (one string column of payload bytes when raw).
type Reader interface {
	// Partitions is the number of event-time partitions the source reads,
	// numbered from 0; every row's Origin.Partition is below it. It is known
	// when Open returns and does not change.
	Partitions() int
	// Read appends at most max rows to b, which the caller has reset, with
	// one Origin per row (partition and position: a file's byte offset, a
	// message's index). It blocks until at least one row is available,
	// then returns without waiting for more. A bounded source returns
	// io.EOF once every row has been returned (b then holds no rows); an
	// unbounded one returns ctx.Err() when ctx is canceled. Any other error
	// is fatal for the pipeline.
	Read(ctx context.Context, b *record.Batch, max int) error
	// Close releases the source's resources.
	Close() error
}

// SinkOpener is implemented by sink components.
type SinkOpener interface {
	Component
	// Open prepares the sink for writing.
	Open(ctx context.Context, rt *Runtime) (Writer, error)
}

// Writer is a running sink.
type Writer interface {
	// Write delivers every row of b (which follows the component's input
	// schema): when it returns, the destination has the rows (the source may
	// acknowledge the records they came from). It must not keep b after
	// returning. An error is fatal for the pipeline: the writer is expected to
	// have retried what can be retried.
	Write(ctx context.Context, b *record.Batch) error
	// Close flushes everything written and releases the sink. The runner
	// calls it once, after the last Write, also after a failure.
	Close() error
}

// DeadLetterOpener is implemented by dead-letter components.
type DeadLetterOpener interface {
	Component
	// Open prepares the dead letter for writing.
	Open(ctx context.Context, rt *Runtime) (DeadWriter, error)
}

// DeadWriter is a running dead letter.
type DeadWriter interface {
	// WriteDead records every dead record of recs. It must not keep recs or
	// their byte slices after returning. An error is fatal for the pipeline.
	WriteDead(ctx context.Context, recs []DeadRecord) error
	// Close flushes and releases the dead letter.
	Close() error
}

// DeadRecord is a record that could not be processed.
type DeadRecord struct {
	// Time is the processing time at which it was rejected.
	Time time.Time
	// Stage is the block that rejected it, e.g. `parse "json"` or `window
	// "tumbling"`.
	Stage string
	// Reason says why, e.g. `field "user_id": want int, got string "x"`.
	Reason string
	// Payload is the record's original bytes as the source read them
	// (without the line's newline for NDJSON files). For a source that
	// yields typed records it is the record as one JSON object.
	Payload []byte
	// Origin is the record's source partition and position.
	Origin record.Origin
	// Late describes a record a window found late, for the dead letter to
	// write as fields of their own; nil for other records.
	Late *Lateness
}

// Lateness is where a late record missed its window: the window, the
// watermark that had passed its end, how far past (ms) and the window's
// allowed lateness (ms). Times are Unix ms.
type Lateness struct {
	EventTime, WindowStart, WindowEnd, Watermark int64
	LateBy, AllowedLateness                      int64
}

// LateDetailer is implemented by an Operator that reports late records:
// LastLate describes the record of its last call of Process's late
// callback, from within that call.
type LateDetailer interface {
	LastLate() Lateness
}

// Transformer is implemented by stateless stage components: parse, filter
// and map. The runner may call Transform from several goroutines at once on
// different batches.
type Transformer interface {
	Component
	// Transform appends to out (a batch of the component's Output schema,
	// not reset) the rows it makes of in, copying in.Origins for each row it
	// appends. A row it cannot process is not appended: reject is called with
	// its index in in and the reason. A row neither appended nor rejected
	// was filtered out.
	//
	// Each appended row keeps the kind of the row it was made of
	// (in.Kind(row), record.RowKind), recorded with out.AppendKind or
	// out.AppendKinds as Origins are copied: after a window that re-emits
	// results, an Update or a Delete stays one, and dropping such a row drops
	// the change. A batch of inserts (in.Kinds empty) needs no work.
	Transform(in, out *record.Batch, reject func(row int, reason string))
}

// OperatorStarter is implemented by stateful stage components (windows).
type OperatorStarter interface {
	Component
	// StartOperator returns the running state of the stage for a stream of
	// partitions source partitions, at processing time now (Unix ms).
	StartOperator(partitions int, now int64) (Operator, error)
}

// Operator is the running state of a stateful stage. It is driven by one
// goroutine, the pipeline's scheduler, which owns processing time: the
// operator never reads a clock or runs a ticker of its own.
type Operator interface {
	// Process adds the rows of in in order, at processing time now, and
	// appends the rows it emits to out (the component's Output schema).
	// late is called for each row that arrived after its window closed,
	// reject for each row that could not be processed; either may be nil.
	// An error is fatal.
	//
	// Every row it emits has a kind (record.RowKind, out.AppendKind): an
	// Insert for the first row of a key (the Output schema's Key), an Update
	// replacing the row last emitted with that key, a Delete removing it
	// (carrying the values last emitted). An operator emitting inserts only
	// leaves out.Kinds empty. An operator that cannot apply updates and
	// deletes to its state fails on an input row that is not an Insert
	// rather than count it as one.
	Process(in *record.Batch, now int64, out *record.Batch, late, reject func(row int, reason string)) error
	// NextWake returns the processing time (Unix ms) at which the scheduler
	// must call Tick next, given that it is now; false when nothing is due
	// without new input.
	NextWake(now int64) (int64, bool)
	// Tick handles the passing of processing time without input (idle
	// partitions, periodic emits) and appends what it emits to out.
	Tick(now int64, out *record.Batch) error
	// Finish ends the input: every open window closes and is emitted.
	Finish(out *record.Batch) error
	// Snapshot writes the operator's whole state to w.
	Snapshot(w io.Writer) error
	// Restore replaces the operator's state with one Snapshot wrote.
	Restore(r io.Reader) error
	// Watermark is the stage's current event-time watermark (Unix ms).
	Watermark() int64
	// Open is the number of open (window, group) states.
	Open() int
	// EarliestOpen returns the smallest start of an open window, false when
	// none is open: every window covering an earlier event time has been
	// emitted (or will never be).
	EarliestOpen() (start int64, ok bool)
}

// Acknowledger is implemented by a Reader whose records must be
// acknowledged once they are done, such as Pulsar messages: a record is done
// when it was filtered out, rejected or late, or when every window it went
// into has been emitted and written by the sinks. The runner calls Commit
// from one goroutine, with upTo never decreasing per partition.
type Acknowledger interface {
	// Commit reports that every record of partition with Origin.Offset <=
	// upTo is done.
	Commit(partition int, upTo int64) error
}

// CommitPacer is implemented by a Committer that says how often it wants
// to commit in a run without checkpoints, such as a Parquet sink's
// roll_interval: the runner then commits at the shortest such interval.
type CommitPacer interface {
	CommitEvery() time.Duration
}

// Resumer is implemented by a Reader whose position can be recorded in a
// checkpoint and resumed from after a restart, such as a file's byte offset
// or a Pulsar message id.
type Resumer interface {
	// PartitionKey names partition durably, the same way in every run: a
	// topic partition's name, a file's path.
	PartitionKey(partition int) string
	// Position returns the durable position of the record of partition
	// whose Origin.Offset is offset. The record was returned by Read and
	// is not acknowledged yet (no Commit past it).
	Position(partition int, offset int64) ([]byte, error)
	// Resume makes Read skip every record at or before the positions
	// Position returned, keyed by PartitionKey. The runner calls it at
	// most once, before the first Read.
	Resume(positions map[string][]byte) error
}

// Sequential is implemented by a Transformer that keeps state from one
// batch to the next, such as a CSV parser reading its header from the first
// line. The runner calls StartStream once per run and uses the transformer
// it returns for that run only, so that no state leaks from one run (or one
// test) to the next; when inOrder is true it hands that transformer the
// batches one at a time, in stream order.
type Sequential interface {
	StartStream() (t Transformer, inOrder bool)
}

// Committer is implemented by a Writer whose output must appear exactly
// once across crashes and restarts (docs/checkpoints.md, "Sinks"), such as the Parquet sink.
// Write stages rows under temporary names that readers of the destination do
// not see. The runner drives the commit protocol from its one goroutine:
//
//   - at every checkpoint it calls Prepare, stores the manifest Prepare
//     returns in the checkpoint and, once the checkpoint is durable, calls
//     Commit with it (without a checkpoint block it does the same on its
//     own commit interval and when the input ends: at-least-once);
//   - when a run starts it calls Recover, before any Write, with the
//     manifest stored by the checkpoint the run resumes from, or nil when
//     it starts afresh (then every temporary output of earlier runs goes).
//
// Epochs are unique and increasing across the runs of a pipeline; the names
// the committed output gets derive from the epoch (and the pipeline, the
// output partition and a sequence number), so committing a manifest twice
// writes the same names.
type Committer interface {
	// Prepare makes everything written since the previous Prepare durable
	// under temporary names and returns a manifest naming it (nil or empty
	// when nothing was written). Rows written after Prepare belong to the
	// next epoch.
	Prepare(ctx context.Context, epoch int64) (manifest []byte, err error)
	// Commit makes the output the manifest names visible under its final
	// names. It is idempotent: committing a manifest that was already
	// committed, wholly or in part, completes it and changes nothing else.
	Commit(ctx context.Context, manifest []byte) error
	// Recover commits manifest (the crash may have come between the
	// checkpoint and its commit; manifest may be empty) and deletes every
	// temporary output it does not name: rows written after that checkpoint
	// are written again by the resumed run.
	Recover(ctx context.Context, manifest []byte) error
}
