package pulsar

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/sluice-io/sluice/record"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.SinkOpener = (*Sink)(nil)

// Open connects and creates the producer.
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	opts := pulsarapi.ProducerOptions{
		Topic:                   s.Topic,
		CompressionType:         compressionType(s.Compression),
		DisableBatching:         !s.Batching,
		BatchingMaxMessages:     uint(max(s.BatchingMaxMessages, 1)),
		BatchingMaxPublishDelay: s.BatchingMaxDelay,
	}
	p, err := openProducer(&s.Conn, rt, opts)
	if err != nil {
		return nil, fmt.Errorf("sink \"pulsar\": %w", err)
	}
	w := &sinkWriter{producer: p, enc: ndjson.NewEncoder(s.Input), props: s.Properties, windowKey: s.WindowKey, pipeline: s.Pipeline}
	if rt != nil && rt.Pipeline != "" {
		w.pipeline = rt.Pipeline
	}
	if s.Key != nil {
		w.key = s.Key.Evaluator(s.Input)
	}
	return w, nil
}

func compressionType(c string) pulsarapi.CompressionType {
	switch c {
	case CompressionNone:
		return pulsarapi.NoCompression
	case CompressionZSTD:
		return pulsarapi.ZSTD
	}
	return pulsarapi.LZ4
}

// producer is a client and one producer on it: the sink and the dead
// letter each have their own.
type producer struct {
	client pulsarapi.Client
	p      pulsarapi.Producer
}

func openProducer(c *Connection, rt *plugins.Runtime, opts pulsarapi.ProducerOptions) (*producer, error) {
	client, err := c.newClient(rt)
	if err != nil {
		return nil, err
	}
	p, err := client.CreateProducer(opts)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("creating a producer on %s: %w", opts.Topic, err)
	}
	return &producer{client: client, p: p}, nil
}

// sendAll publishes msgs and returns once the broker stored every one of
// them (or failed to), with the first error.
func (p *producer) sendAll(ctx context.Context, msgs []pulsarapi.ProducerMessage) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(len(msgs))
	for i := range msgs {
		p.p.SendAsync(ctx, &msgs[i], func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	ferr := p.p.FlushWithCtx(ctx)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if first != nil {
		return first
	}
	return ferr
}

// close flushes what is pending and closes the producer and the client.
func (p *producer) close() error {
	err := p.p.Flush()
	p.p.Close()
	p.client.Close()
	return err
}

// sinkWriter publishes each row as one NDJSON message.
type sinkWriter struct {
	producer  *producer
	enc       *ndjson.Encoder
	props     map[string]string
	key       *expression.Evaluator // nil without a key expression
	windowKey []int
	pipeline  string
}

// Write publishes every row of b and returns once the broker has stored
// them all.
func (w *sinkWriter) Write(ctx context.Context, b *record.Batch) error {
	if b.Rows == 0 {
		return nil
	}
	if w.key != nil {
		w.key.Bind(b)
	}
	// Fresh memory for every batch: after a canceled Write the client may
	// still hold the messages. Each payload keeps the array it was
	// appended to.
	buf := make([]byte, 0, 128*b.Rows)
	var keyBuf []byte
	msgs := make([]pulsarapi.ProducerMessage, 0, b.Rows)
	for row := range b.Rows {
		start := len(buf)
		buf = w.enc.AppendRow(buf, b, row)
		msg := pulsarapi.ProducerMessage{Payload: buf[start:len(buf):len(buf)], Properties: w.props}
		switch {
		case w.key != nil:
			v, err := w.key.Eval(row)
			if err != nil {
				return fmt.Errorf("sink \"pulsar\": the message key: %w", err)
			}
			if !v.Null {
				keyBuf = appendValue(keyBuf[:0], v)
				msg.Key = string(keyBuf)
			}
		case w.windowKey != nil:
			keyBuf = w.appendWindowKey(keyBuf[:0], b, row)
			msg.Key = string(keyBuf)
		}
		msgs = append(msgs, msg)
	}
	if err := w.producer.sendAll(ctx, msgs); err != nil {
		return fmt.Errorf("sink \"pulsar\": %w", err)
	}
	return nil
}

// appendValue appends an expression's value as key text.
func appendValue(dst []byte, v expression.Value) []byte {
	switch v.Type {
	case record.ColumnString:
		return append(dst, v.Str...)
	case record.ColumnInt, record.ColumnTimestamp:
		return strconv.AppendInt(dst, v.Int, 10)
	case record.ColumnFloat:
		return strconv.AppendFloat(dst, v.Float, 'g', -1, 64)
	case record.ColumnBool:
		return strconv.AppendBool(dst, v.Bool)
	}
	return dst
}

// appendWindowKey appends the default key of a window result:
// pipeline|window_start ms|the fields after window_end but final.
func (w *sinkWriter) appendWindowKey(dst []byte, b *record.Batch, row int) []byte {
	dst = append(dst, w.pipeline...)
	for _, c := range w.windowKey {
		dst = append(dst, '|')
		dst = appendCell(dst, &b.Columns[c], row)
	}
	return dst
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

// Close flushes and closes the producer.
func (w *sinkWriter) Close() error {
	if err := w.producer.close(); err != nil {
		return fmt.Errorf("sink \"pulsar\": %w", err)
	}
	return nil
}
