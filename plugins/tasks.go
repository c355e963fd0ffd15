package plugins

// This file declares the abilities a pipeline needs to run as tasks: N
// sluice processes share one pipeline, each owning some of the source's
// partitions, as Kafka Streams instances share a consumer group
// (docs/scaling.md). A task is one source partition (for several
// co-partitioned topics, the same partition index of each): it has its own
// stage state, source positions, checkpoints and lease, so that any process
// may own any task and a task that moves takes its state with it.

import (
	"context"

	"github.com/hashicorp/hcl/v2"
)

// TaskSplitter is implemented by a source component whose partitions
// several processes can share, the broker assigning each partition to one
// of them at a time (a Pulsar failover subscription).
type TaskSplitter interface {
	Component
	// SplitsTasks reports whether this configuration lets several
	// processes share the source (a failover subscription, not an
	// exclusive one), and where that is declared, to position diagnostics.
	SplitsTasks() (ok bool, at hcl.Range)
	// CheckTasks reports, from the configuration alone, why this
	// configuration cannot run as tasks although it splits (a bounded
	// read, a topic pattern), positioned at the argument at fault; nil
	// when it can. The loader reports it for a pipeline that runs as tasks
	// and OpenTasks refuses with the same text.
	CheckTasks() hcl.Diagnostics
	// OpenTasks connects and subscribes. The broker then assigns
	// partitions to this process, which the returned TaskAssigner reports.
	OpenTasks(ctx context.Context, rt *Runtime) (TaskAssigner, error)
}

// TaskAssigner reports which tasks the broker assigns to this process and
// opens a Reader for each one it owns.
type TaskAssigner interface {
	// Next blocks until this process gains or loses a task and returns the
	// change, in the order they happened. It returns ctx.Err() once ctx is
	// canceled and io.EOF when no task can change any more (the source
	// was closed); any other error is fatal for the pipeline.
	Next(ctx context.Context) (TaskChange, error)
	// OpenTask returns a Reader of task's records only, after Next
	// reported it owned. The Reader numbers its partitions from 0 (one per
	// co-partitioned topic) and implements Resumer and Acknowledger as the
	// source's own Reader does; its PartitionKey names are the same in
	// every process. The runner closes it when the task is lost or the
	// run ends; once the task is lost, Read returns ctx's error or io.EOF
	// promptly and the records it did not return are left to the next
	// owner (the broker redelivers what was not acknowledged).
	OpenTask(ctx context.Context, rt *Runtime, task string) (Reader, error)
	// Close closes the consumer and releases the connection; the
	// subscription and its positions stay on the broker for the other
	// processes. The runner calls it after every task's Reader was closed.
	Close() error
}

// TaskChange is a task gained or lost by this process.
type TaskChange struct {
	// Task names the task durably: the same in every process and run, and
	// safe as a path segment (for a partition, its index: "3").
	Task string
	// Owned is true when the process gained the task, false when it lost
	// it.
	Owned bool
}

// KeyRouted is implemented by a source component that declares how the
// producer routes records to partitions: every record with the same
// values of PartitionedBy's fields is in one partition (a Pulsar message
// key made of those fields). nil means records are not routed by any
// field. at positions the declaration for diagnostics.
type KeyRouted interface {
	PartitionedBy() (fields []string, at hcl.Range)
}

// Grouped is implemented by a stateful stage whose state is kept per group
// of records with equal values of GroupFields' fields (a window's group_by;
// diagnostics point at the stage's group_by argument). A stateful stage
// that does not implement Grouped is taken to keep one state for all
// records.
type Grouped interface {
	GroupFields() []string
}

// FieldWriter is implemented by a stateless stage that changes or creates
// fields (a map): WrittenFields names them. The loader uses it to tell
// that a field a source routes records by (KeyRouted) no longer holds the
// value the producer keyed the message with.
type FieldWriter interface {
	WrittenFields() []string
}
