package plugins

// This file declares the optional abilities the runner and the loader look
// for by type assertion on a built Component, as database/sql/driver does:
// a plugin implements only the ones that apply to it. A window, parser or
// source written outside this repository works the same way as the bundled
// ones, because the runner asks for these interfaces and never for a
// concrete plugin type.

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"
)

// Resumable is implemented by a source component whose readers resume from
// a checkpoint (their Reader implements Resumer). CheckResumable reports,
// from the configuration alone, why this configuration cannot resume
// (a Pulsar source on a shared subscription, say), positioned at the
// argument at fault; it returns nil when it can.
//
// A pipeline that takes checkpoints needs a Resumable source whose
// CheckResumable reports no error: the loader checks it, so that
// `sluice lint` refuses what `sluice run` would, and the runner checks it
// again, with the same text, before it opens the source.
type Resumable interface {
	Component
	CheckResumable() hcl.Diagnostics
}

// OnError is what happens to a record a stage cannot process (a message
// that does not parse, say).
type OnError string

// The error policies a stage may declare.
const (
	OnErrorDrop       OnError = "drop"        // count the record and skip it
	OnErrorDeadLetter OnError = "dead_letter" // send it to the pipeline's dead letter
	OnErrorFail       OnError = "fail"        // stop the pipeline with an error at the first one
)

// ErrorPolicy is implemented by a Transformer that rejects records (a
// parser): the runner applies the policy to the rows it rejects. A stage
// without it sends rejected rows to the dead letter.
type ErrorPolicy interface {
	ErrorPolicy() OnError
}

// EventTimed is implemented by a stateful stage (OperatorStarter) that
// places records in time by one of its input columns, or by processing
// time (EventTimeColumn returns ProcessingTime: each record at the
// processing time of its batch). The runner uses the first such stage's
// answer to know when a record's windows have all been emitted, so that
// it acknowledges the record to its source only then.
type EventTimed interface {
	EventTimeColumn() string
}

// ProcessingTime is what EventTimed.EventTimeColumn returns for a stage
// that places records at the processing time of their batch.
const ProcessingTime = "processing_time"

// StateFingerprinter is implemented by a stateful stage whose checkpointed
// state can only be restored into the same configuration (the same window
// size, group_by and aggregates). StateFingerprint returns text that
// changes whenever that configuration changes; a checkpoint taken with
// another fingerprint is refused on restart rather than restored wrongly.
type StateFingerprinter interface {
	StateFingerprint() string
}

// LateRouter is implemented by a stateful stage that can send records it
// finds late (behind the watermark) to the dead letter instead of dropping
// them. LateToDeadLetter reports whether it does.
type LateRouter interface {
	LateToDeadLetter() bool
}

// SinkRejecter is implemented by a Writer that refuses single rows without
// failing the pipeline, such as documents Elasticsearch rejects for a
// mapping conflict. After every Write and every Prepare, the runner calls
// Rejected from its one goroutine and sends what it returns to the
// pipeline's dead letter (or logs it without one), with the sink's block as
// the stage; they are counted in Stats.SinkRejected. Rejected returns the
// rows refused since the previous call, each with its Reason and Payload
// (the row as the sink would have written it) and, if known, its Time; the
// slice then belongs to the runner. A Writer whose refusals come back
// asynchronously keeps them until the next call; Prepare must wait for
// them, so that a checkpoint covers only rows that were written or
// dead-lettered.
type SinkRejecter interface {
	Rejected() []DeadRecord
}

// PartitionStatus is one source partition as a stateful stage sees it.
type PartitionStatus struct {
	// MaxEventTime is the largest event time the stage has seen from the
	// partition (Unix ms); math.MinInt64 before its first record.
	MaxEventTime int64
	// LastDelivery is the processing time (Unix ms) of its last record, or
	// of when it became known.
	LastDelivery int64
	// Idle is true when the partition stopped holding the watermark back
	// because it delivered nothing for the stage's idle timeout.
	Idle bool
}

// OperatorReporter is implemented by an Operator that can describe its
// event time and state for metrics and dashboards. The runner calls it
// from the scheduler's goroutine now and then (not per record), so it may
// take time proportional to the state.
type OperatorReporter interface {
	// Partitions returns the status of every source partition at
	// processing time now, appended to dst.
	Partitions(dst []PartitionStatus, now int64) []PartitionStatus
	// StateBytes estimates the memory the operator's state holds.
	StateBytes() int64
}

// ConnectionReporter is implemented by a Reader that connects to a server
// (a Pulsar source): Connected reports whether it is connected now, and
// Reconnects how many times it reconnected since it opened. Both are
// called from other goroutines than Read's (metrics, readiness probes), so
// they must be safe for concurrent use.
type ConnectionReporter interface {
	Connected() bool
	Reconnects() int64
}

// BacklogReporter is implemented by a Reader that can tell how many
// records of a partition are published but not read yet (a Pulsar
// partition's last message id against the position read). ok is false
// when it does not know (yet). Safe for concurrent use, like
// ConnectionReporter.
type BacklogReporter interface {
	Backlog(partition int) (records int64, ok bool)
}

// RetryCounter is implemented by a Writer that retries writes internally
// (after a connection loss, an HTTP 429): Retries returns how many retries
// it made since it opened. Safe for concurrent use.
type RetryCounter interface {
	Retries() int64
}

// SplitReader is implemented by a Reader of delimited messages (lines)
// that can leave cutting them apart to the runner's workers, so that the
// goroutine reading the source only moves bytes. ReadUnsplit reads like
// Read but appends the bytes of at most maxRows whole messages, delimiters
// included, to b.Columns[0].Bytes and leaves b without rows; it returns
// the origin of the first byte. Split later makes the rows of such a
// batch, exactly the ones Read would have made from those bytes. Split is called on another
// goroutine, once per batch, possibly while ReadUnsplit and other Splits
// run; it must only touch b. A reader that also implements MarkedReader is
// read with Read.
type SplitReader interface {
	ReadUnsplit(ctx context.Context, b *record.Batch, maxRows int) (record.Origin, error)
	Split(b *record.Batch, at record.Origin)
}

// InPlaceTransformer is implemented by a Transformer whose output schema is
// its input's and which only drops rows (a filter): TransformInPlace drops
// them from b itself (record.Batch.Keep) and reports true, or, when a row
// fails, reports false having changed nothing and called nothing, and the
// runner calls Transform instead. The runner uses it on batches it owns
// that no one reads after the stage (never the source's batch).
type InPlaceTransformer interface {
	TransformInPlace(b *record.Batch) bool
}
