package pipetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
)

// A test with crash_after = N runs its pipeline with checkpoints in
// memory, a checkpoint every few rows, and crashes it (after the Nth
// commit, the collector fails the first checkpoint that has rows to
// commit: they are lost and no later checkpoint is taken, as after
// kill -9); then it runs the pipeline again, which resumes from the
// newest checkpoint. The collector is an exactly-once sink: rows written
// after the last commit are dropped when the second run recovers. The
// committed rows must equal the expected ones.

// errCrash is the simulated crash.
var errCrash = errors.New("simulated crash (crash_after)")

// crashBatch is the batch size of a crashing test: small, so that the
// fixture spans many checkpoints.
const crashBatch = 4

// runCrashing runs p twice as described above and returns the second
// run's counters.
func runCrashing(ctx context.Context, p *config.Pipeline, t *config.Test, c *collector, opts runner.Options) (runner.Stats, error) {
	opts.Checkpoints = checkpoint.NewStore(checkpoint.NewMemStorage())
	opts.CheckpointEvery = time.Millisecond
	opts.BatchSize, opts.Workers = crashBatch, 1
	// Processing time steps 1 ms at every batch the input reads, and
	// stands still otherwise: a checkpoint falls due after every batch,
	// whatever the machine's speed.
	clock := &steppingClock{t: time.Unix(0, 0)}
	opts.Clock = clock
	source := opts.Source
	opts.Source = func(src *config.Stage) plugins.Opener { return clockedInput{source(src), clock} }
	c.crashAfter = t.CrashAfter
	_, err := runner.Run(ctx, p, opts)
	switch {
	case err == nil:
		return runner.Stats{}, fmt.Errorf("test %q: the pipeline ended after %d checkpoints, before crash_after = %d: lower crash_after or lengthen the input", t.Name, c.commits, t.CrashAfter)
	case !errors.Is(err, errCrash):
		return runner.Stats{}, err
	}
	c.crashAfter = 0
	return runner.Run(ctx, p, opts)
}

var _ plugins.Committer = (*collector)(nil)

// Prepare sets aside the groups written since the previous Prepare under
// the epoch.
func (c *collector) Prepare(_ context.Context, epoch int64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashAfter > 0 && c.commits >= c.crashAfter && len(c.pending) > 0 {
		// The rows written since the last commit are lost with the
		// crash: the next run must write them again.
		return nil, errCrash
	}
	if c.prepared == nil {
		c.prepared = map[int64][][]string{}
	}
	c.prepared[epoch] = c.pending
	c.pending = nil
	return []byte(strconv.FormatInt(epoch, 10)), nil
}

// Commit makes the groups of the manifest's epoch part of the output,
// once.
func (c *collector) Commit(_ context.Context, manifest []byte) error {
	epoch, err := strconv.ParseInt(string(manifest), 10, 64)
	if err != nil {
		return fmt.Errorf("not a test collector's manifest: %q", manifest)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.prepared[epoch]; ok {
		c.groups = append(c.groups, g...)
		delete(c.prepared, epoch)
		c.commits++
	}
	return nil
}

// Recover commits the manifest's epoch, if it was not, and drops every
// group written after it.
func (c *collector) Recover(ctx context.Context, manifest []byte) error {
	if len(manifest) > 0 {
		if err := c.Commit(ctx, manifest); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending, c.prepared = nil, nil
	return nil
}

// The readers wrapping a test input's file resume as the file does, so
// that a crashing test restarts where its checkpoint says.
var (
	_ plugins.Resumer = (*typedReader)(nil)
	_ plugins.Resumer = nullMeta{}
)

// PartitionKey names the file.
func (r *typedReader) PartitionKey(p int) string { return r.raw.(plugins.Resumer).PartitionKey(p) }

// Position is the file's.
func (r *typedReader) Position(p int, offset int64) ([]byte, error) {
	return r.raw.(plugins.Resumer).Position(p, offset)
}

// Resume resumes the file.
func (r *typedReader) Resume(positions map[string][]byte) error {
	return r.raw.(plugins.Resumer).Resume(positions)
}

// PartitionKey names the file.
func (n nullMeta) PartitionKey(p int) string { return n.Reader.(plugins.Resumer).PartitionKey(p) }

// Position is the file's.
func (n nullMeta) Position(p int, offset int64) ([]byte, error) {
	return n.Reader.(plugins.Resumer).Position(p, offset)
}

// Resume resumes the file.
func (n nullMeta) Resume(positions map[string][]byte) error {
	return n.Reader.(plugins.Resumer).Resume(positions)
}

// steppingClock is processing time that a crashing test's input moves
// 1 ms per batch, so that its checkpoints fall at the same batches on
// every machine.
type steppingClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// step moves the clock 1 ms on.
func (c *steppingClock) step() {
	c.mu.Lock()
	c.t = c.t.Add(time.Millisecond)
	c.mu.Unlock()
}

// clockedInput is a test input whose reader steps the clock at each
// batch.
type clockedInput struct {
	plugins.Opener
	clock *steppingClock
}

// Open opens the input.
func (c clockedInput) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	r, err := c.Opener.Open(ctx, rt)
	if err != nil {
		return nil, err
	}
	res, ok := r.(plugins.Resumer)
	if !ok {
		return nil, errors.New("crash_after needs an input that resumes from a checkpoint")
	}
	return &clockedReader{Reader: r, Resumer: res, clock: c.clock}, nil
}

// clockedReader steps the clock after each Read.
type clockedReader struct {
	plugins.Reader
	plugins.Resumer
	clock *steppingClock
}

// Read reads a batch, then steps the clock.
func (r *clockedReader) Read(ctx context.Context, b *record.Batch, max int) error {
	err := r.Reader.Read(ctx, b, max)
	r.clock.step()
	return err
}
