package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// This file is the sink's exactly-once writer, for runs with checkpoints
// (docs/connectors/kafka.md, "Exactly once"):
//
//   - Write keeps the epoch's rows, encoded, in memory (at most
//     transaction_max_bytes);
//   - Prepare returns them as the manifest, which the checkpoint stores;
//   - Commit, once the checkpoint is durable, produces them in one Kafka
//     transaction which also commits, transactionally, the epoch as the
//     offset of partition 0 of the topic in the consumer group named after
//     the transactional id: the rows and the record of their epoch become
//     visible together, or neither does;
//   - Recover fences the previous producer of the same transactional id
//     (which aborts a transaction it left open), reads the epoch last
//     committed, and commits the manifest of the checkpoint resumed from
//     only if that epoch is not committed yet.
//
// A task of a pipeline run as tasks (plugins.Runtime.Task), numbering its
// own epochs, has a transactional id (and epoch group) of its own,
// TaskTransactionalID: tasks never fence each other, and a restarted task
// fences the zombie owner of the same task only.

// manifestMagic starts every manifest of a writer without a task,
// followed by the epoch (varint), the number of rows (uvarint) and the
// rows, each its key (uvarint length + 1, 0 for none, then the bytes) and
// its value (uvarint length, bytes; 0 for a tombstone's null value, as a
// row's JSON is never empty). taskManifestMagic starts those of a
// task's writer, followed by the task (uvarint length, bytes), then the
// same.
const (
	manifestMagic     = "skafka1\x00"
	taskManifestMagic = "skafka2\x00"
)

// TaskTransactionalID is the transactional id, and epoch group, of the
// writer of task of a sink whose transactional_id is id: id itself
// without a task, else id and ".tTASK", e.g. "sluice.user_activity.counts.t3".
func TaskTransactionalID(id, task string) string {
	if task == "" {
		return id
	}
	return id + ".t" + task
}

// The transaction's retry policy.
const (
	txnAttempts     = 5                      // whole transactions tried per epoch
	requestAttempts = 20                     // tries of one request the coordinator refuses for now
	retryBackoff    = 100 * time.Millisecond // between tries
)

// txnWriter is the exactly-once writer.
type txnWriter struct {
	sink    *Sink
	task    string // plugins.Runtime.Task
	txnID   string // the transactional id and epoch group: TaskTransactionalID
	cl      *kgo.Client
	adm     *kadm.Client
	logger  *slog.Logger
	enc     *rowEncoder
	topicID [16]byte

	rows      []byte // the rows written since the last Prepare, encoded
	count     int
	scratch   []byte
	committed int64 // the last epoch known committed; -1 for none
	retries   atomic.Int64
}

var _ plugins.Committer = (*txnWriter)(nil)

// openTransactional connects a transactional producer and looks the topic
// up.
func (s *Sink) openTransactional(ctx context.Context, logger *slog.Logger, enc *rowEncoder, task string) (*txnWriter, error) {
	if !s.Idempotent || s.Acks != AcksAll {
		return nil, errors.New("checkpoints need the transactional producer, hence acks = \"all\" and idempotent = true; remove acks and idempotent, or opt the pipeline out of checkpoints")
	}
	txnID := TaskTransactionalID(s.TransactionalID, task)
	opts := append(s.producerOptions(), kgo.TransactionalID(txnID), kgo.TransactionTimeout(time.Minute))
	cl, err := s.Conn.newClient(ctx, logger, opts...)
	if err != nil {
		return nil, err
	}
	w := &txnWriter{sink: s, task: task, txnID: txnID, cl: cl, adm: kadm.NewClient(cl), logger: logger, enc: enc, committed: -1}
	octx, cancel := context.WithTimeout(ctx, s.Conn.OperationTimeout)
	defer cancel()
	details, err := w.adm.ListTopics(octx, s.Topic)
	if err == nil {
		err = details[s.Topic].Err
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("looking up topic %s on %s: %w", s.Topic, s.Conn.brokersText(), oneLine(err))
	}
	w.topicID = details[s.Topic].ID
	return w, nil
}

// Retries is the number of transactions and coordinator requests the
// writer retried.
func (w *txnWriter) Retries() int64 { return w.retries.Load() }

// Write keeps the rows of b for the epoch's transaction.
func (w *txnWriter) Write(_ context.Context, b *record.Batch) error {
	w.enc.bind(b)
	var rec kgo.Record
	for row := range b.Rows {
		var err error
		if w.scratch, err = w.enc.appendRecord(w.scratch[:0], b, row, &rec); err != nil {
			return err
		}
		if rec.Key == nil {
			w.rows = binary.AppendUvarint(w.rows, 0)
		} else {
			w.rows = binary.AppendUvarint(w.rows, uint64(len(rec.Key))+1)
			w.rows = append(w.rows, rec.Key...)
		}
		w.rows = binary.AppendUvarint(w.rows, uint64(len(rec.Value))) // 0: a tombstone; a row is never empty JSON
		w.rows = append(w.rows, rec.Value...)
		rec = kgo.Record{}
		w.count++
	}
	if int64(len(w.rows)) > w.sink.TransactionMaxBytes {
		return fmt.Errorf("the rows of one checkpoint interval exceed transaction_max_bytes (%d bytes): take checkpoints more often (checkpoint { every }) or raise transaction_max_bytes", w.sink.TransactionMaxBytes)
	}
	return nil
}

// Prepare returns the epoch's rows as the manifest (nil when none were
// written); rows written after it belong to the next epoch.
func (w *txnWriter) Prepare(_ context.Context, epoch int64) ([]byte, error) {
	if w.count == 0 {
		return nil, nil
	}
	m := make([]byte, 0, len(taskManifestMagic)+30+len(w.task)+len(w.rows))
	if w.task == "" {
		m = append(m, manifestMagic...)
	} else {
		m = append(m, taskManifestMagic...)
		m = binary.AppendUvarint(m, uint64(len(w.task)))
		m = append(m, w.task...)
	}
	m = binary.AppendVarint(m, epoch)
	m = binary.AppendUvarint(m, uint64(w.count))
	m = append(m, w.rows...)
	w.rows, w.count = w.rows[:0], 0
	return m, nil
}

// Commit publishes the manifest's rows in one transaction that also
// records its epoch, unless that epoch is already committed.
func (w *txnWriter) Commit(ctx context.Context, manifest []byte) error {
	if len(manifest) == 0 {
		return nil
	}
	epoch, recs, err := w.decode(manifest, w.enc.headers)
	if err != nil {
		return err
	}
	if epoch <= w.committed {
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := w.transact(ctx, epoch, recs)
		if err == nil {
			w.committed = epoch
			return nil
		}
		if done, cerr := w.epochCommitted(ctx, epoch); cerr == nil && done {
			w.committed = epoch // the commit went through, its answer got lost
			return nil
		}
		if attempt == txnAttempts || ctx.Err() != nil {
			return fmt.Errorf("transaction of epoch %d to %s on %s: %w", epoch, w.sink.Topic, w.sink.Conn.brokersText(), oneLine(err))
		}
		w.retries.Add(1)
		w.logger.Warn("kafka transaction failed; trying again", "epoch", epoch, "attempt", attempt, "error", oneLine(err).Error())
		for i := range recs {
			recs[i].Partition, recs[i].Offset = 0, 0
		}
	}
}

// Recover fences the previous producer of the transactional id, then
// commits manifest unless its epoch is already committed.
func (w *txnWriter) Recover(ctx context.Context, manifest []byte) error {
	// Initializing the producer id bumps its epoch: a zombie producer of
	// the same id can no longer write, and a transaction it left open is
	// aborted (or completed, if it was committing) before this returns.
	if _, _, err := w.cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("initializing transactional id %s on %s: %w", w.txnID, w.sink.Conn.brokersText(), oneLine(err))
	}
	last, err := w.lastCommitted(ctx)
	if err != nil {
		return err
	}
	w.committed = last
	if len(manifest) > 0 {
		epoch, _, err := w.decode(manifest, nil)
		if err != nil {
			return err
		}
		w.logger.Info("recovering the kafka transaction of the checkpoint resumed from", "epoch", epoch, "published", epoch <= last)
	}
	return w.Commit(ctx, manifest)
}

// transact runs one transaction: the rows, then the epoch's offset.
func (w *txnWriter) transact(ctx context.Context, epoch int64, recs []kgo.Record) error {
	if err := w.cl.BeginTransaction(); err != nil {
		return err
	}
	ptrs := make([]*kgo.Record, len(recs))
	for i := range recs {
		ptrs[i] = &recs[i]
	}
	err := w.cl.ProduceSync(ctx, ptrs...).FirstErr()
	if err == nil {
		err = w.commitEpochOffset(ctx, epoch)
	}
	if err != nil {
		_ = w.cl.AbortBufferedRecords(ctx)
		return errors.Join(err, w.cl.EndTransaction(ctx, kgo.TryAbort))
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		// The outcome is unknown: aborting again makes it known (the
		// client reinitializes the producer id, which ends whatever was
		// left open); the caller then reads whether the epoch was
		// committed.
		return errors.Join(err, w.cl.EndTransaction(ctx, kgo.TryAbort))
	}
	return nil
}

// commitEpochOffset adds the group to the open transaction and commits
// the epoch as the offset of the topic's partition 0 in it.
func (w *txnWriter) commitEpochOffset(ctx context.Context, epoch int64) error {
	id, pepoch, err := w.cl.ProducerID(ctx)
	if err != nil {
		return err
	}
	group := w.txnID
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = group, id, pepoch, group
	err = w.request(ctx, func() error {
		resp, err := add.RequestWith(ctx, w.cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	if err != nil {
		return fmt.Errorf("adding group %s to the transaction: %w", group, err)
	}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = group, group, id, pepoch
	commit.Generation, commit.MemberID = -1, ""
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic, t.TopicID = w.sink.Topic, w.topicID
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	meta := "sluice epoch " + strconv.FormatInt(epoch, 10)
	p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = 0, epoch, -1, &meta
	t.Partitions = append(t.Partitions, p)
	commit.Topics = append(commit.Topics, t)
	err = w.request(ctx, func() error {
		resp, err := commit.RequestWith(ctx, w.cl)
		if err != nil {
			return err
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("committing epoch %d to group %s in the transaction: %w", epoch, group, err)
	}
	return nil
}

// request runs do until it succeeds or fails with an error the
// coordinator does not ask to retry.
func (w *txnWriter) request(ctx context.Context, do func() error) error {
	for attempt := 1; ; attempt++ {
		err := do()
		var ke *kerr.Error
		if err == nil || attempt == requestAttempts || !errors.As(err, &ke) || !(ke.Retriable || ke == kerr.ConcurrentTransactions) {
			return err
		}
		w.retries.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryBackoff):
		}
	}
}

// lastCommitted reads the epoch last committed: the group's stable offset
// of the topic's partition 0, -1 when there is none.
func (w *txnWriter) lastCommitted(ctx context.Context) (int64, error) {
	group := w.txnID
	last := int64(-1)
	err := w.request(ctx, func() error {
		resps, err := w.adm.FetchOffsets(kadm.RequireStable(ctx), group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return nil // nothing committed yet
		}
		if err != nil {
			return err
		}
		if o, ok := resps.Lookup(w.sink.Topic, 0); ok {
			if o.Err != nil {
				return o.Err
			}
			last = o.At
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading the epoch committed in group %s on %s: %w", group, w.sink.Conn.brokersText(), oneLine(err))
	}
	return last, nil
}

// epochCommitted reports whether epoch (or a later one) is committed.
func (w *txnWriter) epochCommitted(ctx context.Context, epoch int64) (bool, error) {
	last, err := w.lastCommitted(ctx)
	return last >= epoch, err
}

// decode returns the epoch and records of a manifest of this writer's
// task; a manifest of another task is refused.
func (w *txnWriter) decode(m []byte, headers []kgo.RecordHeader) (int64, []kgo.Record, error) {
	task, epoch, recs, err := decodeManifest(m, headers)
	if err == nil && task != w.task {
		err = fmt.Errorf("the checkpoint's kafka manifest is for task %q, not task %q", task, w.task)
	}
	return epoch, recs, err
}

// decodeManifest returns a manifest's task, epoch and records, whose keys
// and values alias it, each with headers.
func decodeManifest(m []byte, headers []kgo.RecordHeader) (string, int64, []kgo.Record, error) {
	bad := errors.New("the checkpoint's kafka manifest is damaged")
	var task string
	switch {
	case len(m) >= len(manifestMagic) && string(m[:len(manifestMagic)]) == manifestMagic:
		m = m[len(manifestMagic):]
	case len(m) >= len(taskManifestMagic) && string(m[:len(taskManifestMagic)]) == taskManifestMagic:
		m = m[len(taskManifestMagic):]
		l, n := binary.Uvarint(m)
		if n <= 0 || l == 0 || l > uint64(len(m)-n) {
			return "", 0, nil, bad
		}
		task, m = string(m[n:n+int(l)]), m[n+int(l):]
	default:
		return "", 0, nil, bad
	}
	epoch, recs, ok := decodeRows(m, headers)
	if !ok {
		return "", 0, nil, bad
	}
	return task, epoch, recs, nil
}

// decodeRows decodes the epoch and rows of a manifest, after its magic
// (and task); ok is false when they are damaged.
func decodeRows(m []byte, headers []kgo.RecordHeader) (epoch int64, recs []kgo.Record, ok bool) {
	epoch, n := binary.Varint(m)
	if n <= 0 {
		return 0, nil, false
	}
	m = m[n:]
	count, n := binary.Uvarint(m)
	if n <= 0 || count > uint64(len(m)) {
		return 0, nil, false
	}
	m = m[n:]
	recs = make([]kgo.Record, count)
	next := func() ([]byte, uint64, bool) {
		l, n := binary.Uvarint(m)
		if n <= 0 {
			return nil, 0, false
		}
		m = m[n:]
		return m, l, true
	}
	for i := range recs {
		rest, kl, read := next()
		if !read || (kl > 0 && kl-1 > uint64(len(rest))) {
			return 0, nil, false
		}
		if kl > 0 {
			recs[i].Key, m = rest[:kl-1:kl-1], rest[kl-1:]
		}
		rest, vl, read := next()
		if !read || vl > uint64(len(rest)) {
			return 0, nil, false
		}
		if vl > 0 { // else a tombstone: a null value
			recs[i].Value, m = rest[:vl:vl], rest[vl:]
		}
		recs[i].Headers = headers
	}
	if len(m) != 0 {
		return 0, nil, false
	}
	return epoch, recs, true
}

// Close aborts what was not committed and closes the producer. The rows
// written since the last Prepare are dropped: the run resumed from the last
// checkpoint writes them again.
func (w *txnWriter) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	_ = w.cl.AbortBufferedRecords(ctx)
	_ = w.cl.EndTransaction(ctx, kgo.TryAbort)
	w.cl.Close()
	return nil
}
