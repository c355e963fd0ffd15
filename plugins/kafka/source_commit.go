package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-io/sluice/plugins"
)

// This file commits the offsets of the records the runner reports done:
// in the background, coalescing the runner's frequent reports, and
// synchronously when the group takes partitions away and when the source
// closes.

var _ plugins.Acknowledger = (*sourceReader)(nil)

// closeWait bounds how long Close waits for the last offset commit.
const closeWait = 2 * time.Second

// commitRetryEvery is how soon a failed background commit is tried again.
const commitRetryEvery = time.Second

// Commit records that every record of partition up to offset upTo is done;
// the offset upTo+1 is committed to the group in the background. In a run
// with checkpoints the runner calls it once the checkpoint is durable.
func (r *sourceReader) Commit(partition int, upTo int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || partition < 0 || partition >= len(r.parts) {
		return nil
	}
	p := r.parts[partition]
	if upTo+1 <= p.committed || (!r.assign && !p.owned) {
		return nil
	}
	if d, ok := r.dirty[partition]; !ok || upTo+1 > d {
		r.dirty[partition] = upTo + 1
	}
	select {
	case r.commitWake <- struct{}{}:
	default:
	}
	return nil
}

// commitLoop commits the dirty offsets whenever Commit wakes it, until
// Close; a failed commit is retried.
func (r *sourceReader) commitLoop() {
	defer close(r.commitDone)
	var retry <-chan time.Time
	for {
		select {
		case <-r.commitWake:
		case <-retry:
		case <-r.commitStop:
			ctx, cancel := context.WithTimeout(context.Background(), closeWait)
			if err := r.commitDirty(ctx, nil); err != nil {
				r.logger.Warn("could not commit the last offsets: their records will be read again", "group", r.src.Group, "error", err.Error())
			}
			cancel()
			return
		}
		retry = nil
		ctx, cancel := context.WithTimeout(context.Background(), r.src.Conn.OperationTimeout)
		err := r.commitDirty(ctx, nil)
		cancel()
		if err != nil {
			r.retries.Add(1)
			r.logger.Warn("committing offsets failed; retrying", "group", r.src.Group, "error", err.Error())
			retry = time.After(commitRetryEvery)
		}
	}
}

// commitDirty commits the dirty offsets, of the partitions only in only
// when it is not nil. What fails stays dirty, unless a newer offset was
// recorded meanwhile.
func (r *sourceReader) commitDirty(ctx context.Context, only map[int]bool) error {
	r.mu.Lock()
	batch := map[int]int64{}
	offsets := kadm.Offsets{}
	group := map[string]map[int32]kgo.EpochOffset{}
	for pi, off := range r.dirty {
		if only != nil && !only[pi] {
			continue
		}
		p := r.parts[pi]
		batch[pi] = off
		offsets.Add(kadm.Offset{Topic: p.topic, Partition: p.partition, At: off, LeaderEpoch: -1})
		if group[p.topic] == nil {
			group[p.topic] = map[int32]kgo.EpochOffset{}
		}
		group[p.topic][p.partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		delete(r.dirty, pi)
	}
	cl := r.cl
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	var err error
	if r.assign {
		err = r.adm.CommitAllOffsets(ctx, r.src.Group, offsets)
	} else if cl != nil {
		cl.CommitOffsetsSync(ctx, group, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, e error) {
			err = commitResponseError(resp, e)
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for pi, off := range batch {
		p := r.parts[pi]
		if err != nil {
			if d, ok := r.dirty[pi]; !ok || d < off {
				r.dirty[pi] = off
			}
			continue
		}
		p.committed = max(p.committed, off)
	}
	if err != nil {
		return fmt.Errorf("committing offsets of group %s on %s: %w", r.src.Group, r.src.Conn.brokersText(), oneLine(err))
	}
	return nil
}

// groupOptions are the consuming client's options of a group member:
// offsets committed by the source only, and rebalances held back while a
// poll's records are being taken, so that a revoked partition's records
// are either all taken before the revoke or dropped.
func (r *sourceReader) groupOptions() []kgo.Opt {
	reset := kgo.NewOffset().AtEnd()
	if r.src.Start == Earliest {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(r.src.Group),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
	}
	if r.pattern != nil {
		return append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(anchored(r.src.TopicsPattern)))
	}
	return append(opts, kgo.ConsumeTopics(r.src.Topics...))
}

// assigned marks the partitions the group gave this process.
func (r *sourceReader) assigned(_ context.Context, _ *kgo.Client, tps map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for topic, ps := range tps {
		for _, p := range ps {
			r.parts[r.partition(topicPartition{topic, p})].owned = true
		}
	}
}

// revoked commits the done offsets of the partitions the group takes away,
// then forgets them: their records not yet done are read again by their
// next owner (at least once), and later reports for them are ignored.
func (r *sourceReader) revoked(ctx context.Context, _ *kgo.Client, tps map[string][]int32) {
	only := map[int]bool{}
	r.mu.Lock()
	for topic, ps := range tps {
		for _, p := range ps {
			only[r.partition(topicPartition{topic, p})] = true
		}
	}
	r.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, r.src.Conn.OperationTimeout)
	defer cancel()
	if err := r.commitDirty(cctx, only); err != nil {
		r.logger.Warn("could not commit the offsets of revoked partitions: their records will be read again", "error", err.Error())
	}
	r.forget(only)
}

// lost forgets partitions the group lost without a revoke (the session
// expired): their offsets can no longer be committed by this member.
func (r *sourceReader) lost(_ context.Context, _ *kgo.Client, tps map[string][]int32) {
	only := map[int]bool{}
	r.mu.Lock()
	for topic, ps := range tps {
		for _, p := range ps {
			only[r.partition(topicPartition{topic, p})] = true
		}
	}
	r.mu.Unlock()
	r.forget(only)
}

// forget drops the partitions' ownership and pending commits.
func (r *sourceReader) forget(parts map[int]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pi := range parts {
		r.parts[pi].owned = false
		delete(r.dirty, pi)
	}
}

// commitResponseError is the first error of an offset commit.
func commitResponseError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil || resp == nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s partition %d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}
