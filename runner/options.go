package runner

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
)

// DefaultBatchSize is the number of rows a source is asked for at a time.
const DefaultBatchSize = 1024

// Options tune a run. The zero value runs the pipeline as written, on the
// wall clock, with one worker per CPU.
type Options struct {
	// Logger receives the run's logs; nil discards them.
	Logger *slog.Logger
	// Clock is processing time; nil is the system clock.
	Clock eventtime.Clock
	// After returns a channel that receives after d; nil is time.After.
	// Tests that drive Clock by hand replace it to wake the scheduler.
	After func(d time.Duration) <-chan time.Time
	// BatchSize is the most rows a source hands on at a time (default
	// DefaultBatchSize).
	BatchSize int
	// Workers is the number of goroutines running the stateless stages
	// before the first window (default GOMAXPROCS).
	Workers int

	// A pipeline takes checkpoints as its files say (config.Pipeline's
	// Checkpoint, docs/checkpoints.md): the runner opens its store (one
	// store object per location in a RunAll), acquires the pipeline's
	// lease there before opening anything, and renews it while running. A
	// run whose Source is replaced takes none.
	//
	// Checkpoints, when set, replaces the store of every pipeline, and
	// makes those without checkpoint settings (or with a replaced Source)
	// take checkpoints too, every config.DefaultCheckpointEvery; tests
	// use it. CheckpointEvery, when more than zero, replaces every
	// pipeline's checkpoint interval.
	Checkpoints     *checkpoint.Store
	CheckpointEvery time.Duration
	// ResetState starts afresh when the newest checkpoint cannot be
	// restored (its windows differ from the pipeline's), instead of
	// failing.
	ResetState bool
	// CommitEvery is how often sinks that commit their output (Parquet)
	// do so in a run without checkpoints; 0 is the shortest interval such
	// a sink asks for (plugins.CommitPacer: Parquet's roll_interval), else
	// DefaultCommitEvery.
	CommitEvery time.Duration

	// Source, when set, replaces the pipeline's source: it is called with
	// the source stage and returns what to read instead.
	Source func(*config.Stage) plugins.Opener
	// Monitor, when set, receives the live view of the run (metrics,
	// health, dashboard); see Monitor.
	Monitor *Monitor
	// Sink, when set, replaces every sink.
	Sink func(*config.Stage) plugins.SinkOpener
	// DeadLetter, when set, replaces the dead letter (or adds one when the
	// pipeline has none; the argument is then nil).
	DeadLetter func(*config.Stage) plugins.DeadLetterOpener

	stores *storeSet // the checkpoint stores RunAll shares; nil: each run opens its own
}

func (o *Options) withDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = eventtime.SystemClock{}
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}
