package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

var _ plugins.SinkOpener = (*Sink)(nil)

// Open connects and returns the writer: in a run with checkpoints a
// transactional one (plugins.Committer), else one that produces each batch
// with the idempotent producer as it comes (at least once).
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	logger := runtimeLogger(rt)
	enc := s.newRowEncoder(rt)
	if rt != nil && rt.Checkpoints {
		return s.openTransactional(ctx, logger, enc, rt.Task)
	}
	cl, err := s.Conn.newClient(ctx, logger, s.producerOptions()...)
	if err != nil {
		return nil, err
	}
	guarantee := "at least once, idempotent producer: a crash may produce again the records of windows not yet acknowledged to the source"
	if !s.Idempotent {
		guarantee = "at least once: a crash, or a batch retried after a lost acknowledgement, may produce records again"
	}
	logger.Info("no checkpoint block: the kafka sink produces records as they come, "+guarantee, "topic", s.Topic)
	return &sinkWriter{cl: cl, sink: s, enc: enc}, nil
}

// producerOptions are the franz-go options of the sink's producer.
func (s *Sink) producerOptions() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(s.Topic),
		kgo.RecordPartitioner(partitioner(s.Partitioner)),
		kgo.ProducerBatchCompression(compression(s.Compression)),
		kgo.ProducerLinger(s.Linger),
		kgo.ProducerBatchMaxBytes(int32(s.MaxMessageBytes)),
	}
	switch s.Acks {
	case AcksLeader:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case AcksNone:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !s.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts
}

func partitioner(name string) kgo.Partitioner {
	switch name {
	case PartitionerRoundRobin:
		return kgo.RoundRobinPartitioner()
	case PartitionerLeastBackup:
		return kgo.LeastBackupPartitioner()
	}
	// Keys hashed with murmur2 as the Java client does; records without a
	// key stick to one partition per batch, as its default partitioner.
	return kgo.StickyKeyPartitioner(nil)
}

func compression(name string) kgo.CompressionCodec {
	switch name {
	case CompressionNone:
		return kgo.NoCompression()
	case CompressionGzip:
		return kgo.GzipCompression()
	case CompressionSnappy:
		return kgo.SnappyCompression()
	case CompressionZstd:
		return kgo.ZstdCompression()
	}
	return kgo.Lz4Compression()
}

// rowEncoder turns rows into record keys and values.
type rowEncoder struct {
	enc       *ndjson.Encoder
	key       *expression.Evaluator // nil without a key expression
	windowKey []int
	pipeline  string
	headers   []kgo.RecordHeader // set on every record, sorted by key
}

func (s *Sink) newRowEncoder(rt *plugins.Runtime) *rowEncoder {
	e := &rowEncoder{enc: ndjson.NewEncoder(s.Input), windowKey: s.WindowKey, pipeline: s.Pipeline}
	if rt != nil && rt.Pipeline != "" {
		e.pipeline = rt.Pipeline
	}
	if s.Key != nil {
		e.key = s.Key.Evaluator(s.Input)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Headers)) {
		e.headers = append(e.headers, kgo.RecordHeader{Key: k, Value: []byte(s.Headers[k])})
	}
	return e
}

// bind prepares the key expression for the rows of b.
func (e *rowEncoder) bind(b *record.Batch) {
	if e.key != nil {
		e.key.Bind(b)
	}
}

// appendKey appends row's key to dst; hasKey is false for a record
// without a key.
func (e *rowEncoder) appendKey(dst []byte, b *record.Batch, row int) (out []byte, hasKey bool, err error) {
	switch {
	case e.key != nil:
		v, err := e.key.Eval(row)
		if err != nil {
			return dst, false, fmt.Errorf("the record key: %w", err)
		}
		if v.Null {
			return dst, false, nil
		}
		return v.AppendText(dst), true, nil
	case e.windowKey != nil:
		dst = append(dst, e.pipeline...)
		for _, c := range e.windowKey {
			dst = append(dst, '|')
			dst = appendCell(dst, &b.Columns[c], row)
		}
		return dst, true, nil
	}
	return dst, false, nil
}

// appendCell appends one field as key text; a null is empty.
func appendCell(dst []byte, v *record.Vector, row int) []byte {
	if v.IsNull(row) {
		return dst
	}
	switch v.Type {
	case record.ColumnString:
		return append(dst, v.StringBytes(row)...)
	case record.ColumnInt, record.ColumnTimestamp:
		return strconv.AppendInt(dst, v.Ints[row], 10)
	case record.ColumnFloat:
		return strconv.AppendFloat(dst, v.Floats[row], 'g', -1, 64)
	case record.ColumnBool:
		return strconv.AppendBool(dst, v.Bools[row])
	}
	return dst
}

// sinkWriter produces every batch as it comes and waits for the brokers'
// acknowledgements.
type sinkWriter struct {
	cl   *kgo.Client
	sink *Sink
	enc  *rowEncoder
	// Reused from one batch to the next once the client has answered for
	// every record of the previous one; dropped after a failed Write, when
	// the client may still hold them.
	buf  []byte
	recs []kgo.Record
	ptrs []*kgo.Record
}

// Retries is the number of batches the writer itself retried: none, the
// client retries produce requests internally (without a limit, while
// the pipeline runs).
func (w *sinkWriter) Retries() int64 { return 0 }

// Write produces every row of b and returns once the brokers acknowledged
// them all.
func (w *sinkWriter) Write(ctx context.Context, b *record.Batch) error {
	if b.Rows == 0 {
		return nil
	}
	if cap(w.recs) < b.Rows {
		w.recs, w.ptrs = make([]kgo.Record, b.Rows), make([]*kgo.Record, b.Rows)
	}
	recs, ptrs := w.recs[:b.Rows], w.ptrs[:b.Rows]
	buf := w.buf[:0]
	now := time.Now()
	w.enc.bind(b)
	for row := range b.Rows {
		var err error
		recs[row] = kgo.Record{Timestamp: now}
		if buf, err = w.enc.appendRecord(buf, b, row, &recs[row]); err != nil {
			return err
		}
		ptrs[row] = &recs[row]
	}
	w.buf = buf
	if err := w.cl.ProduceSync(ctx, ptrs...).FirstErr(); err != nil {
		w.buf, w.recs, w.ptrs = nil, nil, nil
		return fmt.Errorf("producing to %s on %s: %w", w.sink.Topic, w.sink.Conn.brokersText(), oneLine(err))
	}
	return nil
}

// appendRecord fills rec with row's key, value and headers, whose bytes
// it appends to buf. A Delete row becomes a tombstone: its key and a null
// value, which consumers and compaction take as the key's removal; it
// needs a key.
func (e *rowEncoder) appendRecord(buf []byte, b *record.Batch, row int, rec *kgo.Record) ([]byte, error) {
	start := len(buf)
	buf, hasKey, err := e.appendKey(buf, b, row)
	if err != nil {
		return buf, err
	}
	if hasKey {
		rec.Key = buf[start:len(buf):len(buf)]
	}
	rec.Headers = e.headers
	if b.Kind(row) == record.Delete {
		if !hasKey {
			return buf, errors.New("a delete row has no record key, so it cannot become a tombstone: set key to an expression that is never null")
		}
		rec.Value = nil
		return buf, nil
	}
	start = len(buf)
	buf = e.enc.AppendRow(buf, b, row)
	rec.Value = buf[start:len(buf):len(buf)]
	return buf, nil
}

// Close flushes and closes the producer.
func (w *sinkWriter) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	err := w.cl.Flush(ctx)
	w.cl.Close()
	if err != nil {
		return fmt.Errorf("flushing to %s on %s: %w", w.sink.Topic, w.sink.Conn.brokersText(), oneLine(err))
	}
	return nil
}
