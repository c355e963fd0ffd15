package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
	"github.com/sluice-io/sluice/schema"
)

// DefaultCommitEvery is how often transactional sinks (Parquet) commit
// their output in a run without checkpoints.
const DefaultCommitEvery = 10 * time.Second

// checkpointer takes a run's checkpoints (docs/checkpoints.md) or, without a
// checkpoint store, commits its transactional sinks on an interval. It is
// driven by the scheduler, on the scheduler's goroutine.
type checkpointer struct {
	r     *run
	store *checkpoint.Store // nil: only commit the sinks, at least once
	every time.Duration
	next  int64 // processing time (Unix ms) of the next checkpoint
	epoch int64 // the last epoch used

	fingerprint string
	resumer     plugins.Resumer      // the source, when it can resume
	acker       plugins.Acknowledger // the source, when it needs acknowledgements
	committers  []committer

	// Source positions: positions holds the position of the last record
	// covered, by partition key, as of the last checkpoint (or the one
	// resumed from); last is, by partition, the offset of the last record
	// the scheduler handled, and saved the one positions holds (-1: none).
	positions map[string][]byte
	last      []int64
	saved     []int64

	lastSize int64 // the encoded size of the last checkpoint, bytes
}

type committer struct {
	title string
	c     plugins.Committer
}

// newCheckpointer returns the run's checkpointer, or nil when the run
// neither takes checkpoints nor has a transactional sink. It finds the
// checkpoint to resume from and prepares the source and the sinks for it;
// the operators are restored by restore, once the scheduler made them.
func newCheckpointer(ctx context.Context, r *run) (*checkpointer, *checkpoint.Checkpoint, error) {
	k := &checkpointer{r: r}
	if r.claim != nil {
		k.store, k.every = r.claim.store, r.plan.checkpoint.Every
	}
	for i, w := range r.sinks {
		if c, ok := w.(plugins.Committer); ok {
			k.committers = append(k.committers, committer{title: r.plan.sinks[i].title, c: c})
		}
	}
	if k.store == nil && len(k.committers) == 0 {
		return nil, nil, nil
	}
	if k.store == nil {
		k.every = commitEvery(r.opts.CommitEvery, k.committers)
		for _, c := range k.committers {
			r.log.Warn("no checkpoint block: this sink commits its output every "+k.every.String()+
				" and at the end, at least once (a crash may write some records again)", "sink", c.title)
			if err := c.c.Recover(ctx, nil); err != nil {
				return nil, nil, fmt.Errorf("pipeline %q: %s: %w", r.plan.name, c.title, err)
			}
		}
		k.next = r.opts.Clock.Now().UnixMilli() + max(k.every.Milliseconds(), 1)
		return k, nil, nil
	}
	k.fingerprint = fingerprint(r.plan)
	k.acker, _ = r.reader.(plugins.Acknowledger)
	res, ok := r.reader.(plugins.Resumer)
	if !ok {
		// The source passed checkResumable (or replaces the pipeline's):
		// its reader breaks the plugins.Resumable contract.
		return nil, nil, fmt.Errorf("pipeline %q: %s: its reader records no positions (plugins.Resumer), so checkpoints cannot be taken", r.plan.name, r.plan.sourceTitle)
	}
	k.resumer = res
	k.positions = map[string][]byte{}
	cp, err := k.store.Latest(ctx, r.plan.stateName())
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline %q: checkpoint store: %w", r.plan.name, err)
	}
	if cp != nil {
		if err := k.check(cp); err != nil {
			if !r.opts.ResetState {
				return nil, nil, err
			}
			r.log.Warn("starting afresh: --reset-state ignores the last checkpoint", "epoch", cp.Epoch, "reason", err.Error())
			cp = nil
		}
	}
	for _, c := range k.committers {
		var m []byte
		if cp != nil {
			m = cp.Manifests[c.title]
		}
		if err := c.c.Recover(ctx, m); err != nil {
			return nil, nil, fmt.Errorf("pipeline %q: %s: recovering checkpoint output: %w", r.plan.name, c.title, err)
		}
	}
	if cp != nil {
		if err := res.Resume(cp.Positions); err != nil {
			return nil, nil, r.stageError(r.plan.sourceTitle, fmt.Errorf("resuming from checkpoint %d: %w", cp.Epoch, err))
		}
		for key, pos := range cp.Positions {
			k.positions[key] = pos
		}
		k.epoch = cp.Epoch
		r.live.resumed(cp.Epoch)
		r.log.Info("resuming from checkpoint", "epoch", cp.Epoch, "taken", cp.Created.UTC().Format(time.RFC3339Nano))
	} else {
		r.log.Info("no checkpoint to resume from: starting afresh")
	}
	k.next = r.opts.Clock.Now().UnixMilli() + max(k.every.Milliseconds(), 1)
	return k, cp, nil
}

// commitEvery is the commit interval of a run without checkpoints: set,
// else the shortest one the sinks ask for, else DefaultCommitEvery.
func commitEvery(set time.Duration, committers []committer) time.Duration {
	if set > 0 {
		return set
	}
	every := time.Duration(0)
	for _, c := range committers {
		if p, ok := c.c.(plugins.CommitPacer); ok && p.CommitEvery() > 0 && (every == 0 || p.CommitEvery() < every) {
			every = p.CommitEvery()
		}
	}
	if every == 0 {
		return DefaultCommitEvery
	}
	return every
}

// check says why cp cannot be resumed from by this run, or nil.
func (k *checkpointer) check(cp *checkpoint.Checkpoint) error {
	name := k.r.plan.name
	if cp.Fingerprint != k.fingerprint {
		return fmt.Errorf("pipeline %q: the last checkpoint (epoch %d) holds the state of other windows: "+
			"a window, its group_by or its aggregates changed since it was taken, so its state cannot be restored. "+
			"Run with --reset-state to start afresh (open windows are lost), or restore the previous configuration", name, cp.Epoch)
	}
	for i, key := range cp.Partitions {
		if i >= k.r.reader.Partitions() || k.resumer.PartitionKey(i) != key {
			return fmt.Errorf("pipeline %q: the source's partitions changed since the last checkpoint (epoch %d): partition %d was %q. "+
				"Run with --reset-state to start afresh", name, cp.Epoch, i, key)
		}
	}
	return nil
}

// restore loads the operators' state from cp.
func (k *checkpointer) restore(ops []plugins.Operator, cp *checkpoint.Checkpoint) error {
	if cp == nil {
		return nil
	}
	i := 0
	for j, op := range ops {
		if op == nil {
			continue
		}
		if i >= len(cp.Operators) {
			return fmt.Errorf("pipeline %q: checkpoint %d holds the state of %d windows, not of %s", k.r.plan.name, cp.Epoch, len(cp.Operators), k.r.plan.post[j].title)
		}
		if err := op.Restore(bytes.NewReader(cp.Operators[i])); err != nil {
			return k.r.stageError(k.r.plan.post[j].title, fmt.Errorf("restoring checkpoint %d: %w", cp.Epoch, err))
		}
		i++
	}
	return nil
}

// handled records the source positions of a batch the scheduler handled:
// every record of it, kept, filtered or rejected, is behind the next cut.
func (k *checkpointer) handled(env *envelope) {
	if k.resumer == nil {
		return
	}
	for _, o := range env.raw.Origins {
		p := int(o.Partition)
		for len(k.last) <= p {
			k.last, k.saved = append(k.last, -1), append(k.saved, -1)
		}
		if o.Offset > k.last[p] {
			k.last[p] = o.Offset
		}
	}
}

// due reports whether a checkpoint is due at now.
func (k *checkpointer) due(now int64) bool { return now >= k.next }

// take takes a checkpoint (or, without a store, commits the sinks) at
// processing time now: the scheduler has handled every batch up to the
// cut and written its results. ops are the post stages' operators.
//
// Rows a sink refused while preparing (plugins.SinkRejecter) go to dead
// before the checkpoint is saved, so that it covers only rows written or
// dead-lettered.
func (k *checkpointer) take(ctx context.Context, ops []plugins.Operator, now int64, dead *deadQueue) error {
	k.next = now + max(k.every.Milliseconds(), 1)
	k.epoch = max(k.epoch+1, now)
	name := k.r.plan.stateName()
	var cp *checkpoint.Checkpoint
	if k.store != nil {
		cp = &checkpoint.Checkpoint{Pipeline: name, Epoch: k.epoch, Fingerprint: k.fingerprint, Created: time.UnixMilli(now).UTC(), Manifests: map[string][]byte{}}
		if err := k.cut(cp, ops); err != nil {
			return err
		}
	}
	manifests := make([][]byte, len(k.committers))
	for i, c := range k.committers {
		m, err := c.c.Prepare(ctx, k.epoch)
		if err != nil {
			return k.r.stageError(c.title, fmt.Errorf("preparing epoch %d: %w", k.epoch, err))
		}
		manifests[i] = m
		if cp != nil {
			cp.Manifests[c.title] = m
		}
	}
	if err := k.r.sinkRejects(dead); err != nil {
		return err
	}
	if cp != nil {
		if err := k.r.claim.lease.Check(ctx); err != nil {
			return fmt.Errorf("%w: stopped before writing checkpoint %d", err, k.epoch)
		}
		size, err := k.store.Save(ctx, cp)
		if err != nil {
			return fmt.Errorf("pipeline %q: checkpoint %d: %w", name, k.epoch, err)
		}
		k.lastSize = int64(size)
	}
	// The checkpoint is durable: the output it names can be published and
	// the source told it will not be asked for these records again.
	for i, c := range k.committers {
		if err := c.c.Commit(ctx, manifests[i]); err != nil {
			return k.r.stageError(c.title, fmt.Errorf("committing epoch %d: %w", k.epoch, err))
		}
	}
	if err := k.acknowledge(); err != nil {
		return err
	}
	if cp != nil {
		if err := k.store.Prune(ctx, name); err != nil {
			k.r.log.Warn("could not delete old checkpoints", "error", err.Error())
		}
	}
	return nil
}

// cut fills cp with the source positions and the operators' state.
func (k *checkpointer) cut(cp *checkpoint.Checkpoint, ops []plugins.Operator) error {
	for p := range k.r.reader.Partitions() {
		cp.Partitions = append(cp.Partitions, k.resumer.PartitionKey(p))
	}
	for p, off := range k.last {
		if off < 0 || off == k.saved[p] {
			continue
		}
		pos, err := k.resumer.Position(p, off)
		if err != nil {
			return k.r.stageError(k.r.plan.sourceTitle, fmt.Errorf("checkpoint %d: %w", cp.Epoch, err))
		}
		k.positions[k.resumer.PartitionKey(p)] = pos
	}
	cp.Positions = k.positions
	for j, op := range ops {
		if op == nil {
			continue
		}
		var buf bytes.Buffer
		if err := op.Snapshot(&buf); err != nil {
			return k.r.stageError(k.r.plan.post[j].title, fmt.Errorf("checkpoint %d: %w", cp.Epoch, err))
		}
		cp.Operators = append(cp.Operators, buf.Bytes())
	}
	return nil
}

// acknowledge tells the source that the records up to the cut are done.
func (k *checkpointer) acknowledge() error {
	for p, off := range k.last {
		if off < 0 || off == k.saved[p] {
			continue
		}
		k.saved[p] = off
		if k.acker != nil {
			if err := k.acker.Commit(p, off); err != nil {
				return k.r.stageError(k.r.plan.sourceTitle, err)
			}
		}
	}
	return nil
}

// fingerprint identifies the configuration of the plan's stateful stages:
// a checkpoint's state can only be restored into the same windows.
func fingerprint(pl *plan) string {
	var b strings.Builder
	for _, st := range pl.post {
		if st.operator == nil {
			continue
		}
		fmt.Fprintf(&b, "%s\n%s\n", st.title, st.out)
		if f, ok := st.operator.(plugins.StateFingerprinter); ok {
			b.WriteString(f.StateFingerprint())
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// checkpointSettings returns what the run of p takes checkpoints with, or
// nil: p's own settings (a run whose source opts replace takes none),
// unless opts inject a store (Options.Checkpoints). A pipeline that takes
// checkpoints from a source that cannot resume is refused, as lint does.
func checkpointSettings(p *config.Pipeline, opts *Options) (*config.Checkpoint, error) {
	var c config.Checkpoint
	switch {
	case opts.Checkpoints != nil && p.Checkpoint == nil:
		c = config.Checkpoint{Every: config.DefaultCheckpointEvery, LeaseTimeout: config.DefaultLeaseTimeout}
	case opts.Checkpoints != nil || (p.Checkpoint != nil && opts.Source == nil):
		c = *p.Checkpoint
	default:
		return nil, nil
	}
	if opts.CheckpointEvery > 0 {
		c.Every = opts.CheckpointEvery
	}
	if opts.Source == nil {
		if err := checkResumable(p); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// claim is a run's hold on its pipeline's folder in the checkpoint store:
// the store and the ownership lease, kept alive while the run goes on.
type claim struct {
	store *checkpoint.Store
	lease *checkpoint.Lease
	close func() error // closes a store opened for this run only; nil for a shared one
	stop  context.CancelFunc
	done  chan struct{} // closed when the lease's heartbeats end
}

// claimCheckpoints opens the pipeline's checkpoint store and acquires the
// pipeline's lease, before the run opens or reads anything: a store that
// cannot be reached or written, or a pipeline another process runs,
// fails the run here. The lease is renewed until releaseCheckpoints.
func (r *run) claimCheckpoints(ctx context.Context) error {
	c := r.plan.checkpoint
	if c == nil {
		return nil
	}
	cl := &claim{store: r.opts.Checkpoints, done: make(chan struct{})}
	if cl.store == nil {
		var err error
		if cl.store, cl.close, err = r.opts.stores.open(ctx, c.Location, r.opts.Logger); err != nil {
			return fmt.Errorf("pipeline %q: %s: opening the checkpoint store %s: %w", r.plan.name, schema.At(c.DefRange), c.Location, err)
		}
	}
	lease, err := r.acquire(ctx, cl.store, c)
	if err != nil {
		if cl.close != nil {
			_ = cl.close()
		}
		return err
	}
	cl.lease = lease
	var leaseCtx context.Context
	leaseCtx, cl.stop = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(cl.done)
		_ = lease.Run(leaseCtx) // a lost lease closes Lost, which watchLease acts on
	}()
	r.claim = cl
	r.log.Info("checkpoint lease acquired", "store", c.Location.String(), "every", c.Every.String(), "lease_timeout", c.LeaseTimeout.String())
	return nil
}

// watchLease aborts the run as soon as its lease is lost: another process
// took the pipeline over, or the lease could not be renewed in time. The
// run then stops before it writes anything more.
func (r *run) watchLease() {
	if r.claim == nil {
		return
	}
	lease := r.claim.lease
	go func() {
		select {
		case <-lease.Lost():
			r.abort(fmt.Errorf("%w: stopped at once, without writing more", lease.Err()))
		case <-r.abortCtx.Done():
		}
	}()
}

// releaseCheckpoints ends the heartbeats and releases the lease once the
// run ended, cleanly or not: it writes nothing more, so the next process
// may take the pipeline over at once.
func (r *run) releaseCheckpoints() {
	cl := r.claim
	if cl == nil {
		return
	}
	cl.stop()
	<-cl.done
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := cl.lease.Release(ctx); err != nil {
		r.log.Warn("could not release the checkpoint store lease: the next run takes over once it times out", "error", err.Error())
	}
	if cl.close != nil {
		if err := cl.close(); err != nil {
			r.log.Warn("closing the checkpoint store", "error", err.Error())
		}
	}
}

// releaseTimeout bounds how long releasing a lease may take at the end of
// a run.
const releaseTimeout = 10 * time.Second

// storeSet opens each checkpoint store location once and shares it among
// the pipelines of a RunAll; a nil *storeSet opens a store per run.
type storeSet struct {
	mu     sync.Mutex
	stores map[objstore.Location]*checkpoint.Store
	opened []*objstore.Store
}

func newStoreSet() *storeSet { return &storeSet{stores: map[objstore.Location]*checkpoint.Store{}} }

// open returns the checkpoint store at loc, and how to close it when the
// caller owns it (nil when the set does).
func (s *storeSet) open(ctx context.Context, loc objstore.Location, log *slog.Logger) (*checkpoint.Store, func() error, error) {
	if s == nil {
		st, err := objstore.Open(ctx, loc)
		if err != nil {
			return nil, nil, err
		}
		return checkpointStore(st, log), st.Close, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.stores[loc]; cs != nil {
		return cs, nil, nil
	}
	st, err := objstore.Open(ctx, loc)
	if err != nil {
		return nil, nil, err
	}
	s.opened = append(s.opened, st)
	s.stores[loc] = checkpointStore(st, log)
	return s.stores[loc], nil, nil
}

// checkpointStore returns a checkpoint store over st that logs the
// checkpoints it skips.
func checkpointStore(st *objstore.Store, log *slog.Logger) *checkpoint.Store {
	cs := checkpoint.NewStore(st)
	cs.Warn = func(key string, err error) {
		log.Warn("skipping a checkpoint that cannot be read", "key", key, "error", err.Error())
	}
	return cs
}

// close closes every store the set opened.
func (s *storeSet) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, st := range s.opened {
		errs = append(errs, st.Close())
	}
	s.opened, s.stores = nil, nil
	return errors.Join(errs...)
}
