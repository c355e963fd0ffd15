package pulsar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	p, err := openProducer(ctx, &s.Conn, rt, opts)
	if err != nil {
		return nil, err
	}
	w := &sinkWriter{producer: p, enc: ndjson.NewEncoder(s.Input), props: kindProperties(s.Properties), windowKey: s.WindowKey, pipeline: s.Pipeline}
	if rt != nil && rt.Pipeline != "" {
		w.pipeline = rt.Pipeline
	}
	if s.Key != nil {
		w.key = s.Key.Evaluator(s.Input).Named(`key`)
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
	conn   *Connection
	client pulsarapi.Client
	p      pulsarapi.Producer
	logger *slog.Logger
}

// openProducer connects and creates a producer. While the broker cannot be
// reached the client retries for up to the operation timeout; it gives up
// as soon as ctx is done and returns its cause.
func openProducer(ctx context.Context, c *Connection, rt *plugins.Runtime, opts pulsarapi.ProducerOptions) (*producer, error) {
	open := func() (*producer, error) {
		client, err := c.newClient(rt)
		if err != nil {
			return nil, err
		}
		p, err := client.CreateProducer(opts)
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("creating a producer on %s at %s: %w", opts.Topic, c.ServiceURL, c.explain(err))
		}
		pr := &producer{conn: c, client: client, p: p}
		if rt != nil {
			pr.logger = rt.Logger
		}
		return pr, nil
	}
	p, err := openWithin(ctx, open, func(p *producer) { _ = p.close() })
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("stopped while connecting to %s: %w", c.ServiceURL, err)
	}
	return p, err
}

// sendAll publishes msgs and returns once the broker stored every one of
// them (or failed to), with the first error, naming the topic and the URL.
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
	if first == nil {
		first = ferr
	}
	if first != nil {
		return fmt.Errorf("publishing to %s at %s: %w", p.p.Topic(), p.conn.ServiceURL, p.conn.explain(first))
	}
	return nil
}

// close flushes what is pending and closes the producer and the client.
// While the broker cannot be reached it waits at most closeWait: what was
// not flushed then was never reported written, so its records were not
// acknowledged.
func (p *producer) close() error {
	return closeWithin(closeWait, p.logger, "the producer of "+p.p.Topic(), func() error {
		err := p.p.Flush()
		p.p.Close()
		p.client.Close()
		if err != nil {
			return fmt.Errorf("flushing to %s at %s: %w", p.p.Topic(), p.conn.ServiceURL, p.conn.explain(err))
		}
		return nil
	})
}

// kindProperties returns the properties of the messages of each row kind:
// props and OpProperty, the kind's name. The maps are shared by every
// message of their kind, never changed.
func kindProperties(props map[string]string) []map[string]string {
	out := make([]map[string]string, len(record.RowKindNames))
	for k, name := range record.RowKindNames {
		out[k] = maps.Clone(props)
		if out[k] == nil {
			out[k] = map[string]string{}
		}
		out[k][OpProperty] = name
	}
	return out
}

// sinkWriter publishes each row as one NDJSON message, a Delete row as a
// message with its key and no payload.
type sinkWriter struct {
	producer  *producer
	enc       *ndjson.Encoder
	props     []map[string]string   // by record.RowKind
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
		kind := b.Kind(row)
		msg := pulsarapi.ProducerMessage{Properties: w.props[kind]}
		if kind != record.Delete { // a delete's payload is empty: a null value
			start := len(buf)
			buf = w.enc.AppendRow(buf, b, row)
			msg.Payload = buf[start:len(buf):len(buf)]
		}
		var hasKey bool
		var err error
		if keyBuf, hasKey, err = w.appendKey(keyBuf[:0], b, row); err != nil {
			return err
		}
		if hasKey {
			msg.Key = string(keyBuf)
		}
		if kind == record.Delete && !hasKey {
			return errors.New("a delete row has no message key, so it cannot delete a message: set key to an expression that is never null")
		}
		msgs = append(msgs, msg)
	}
	return w.producer.sendAll(ctx, msgs)
}

// appendKey appends the message key of row to dst: the key expression's
// value (none when it is null), or the default key of a window result;
// hasKey is false for a message without a key.
func (w *sinkWriter) appendKey(dst []byte, b *record.Batch, row int) (out []byte, hasKey bool, err error) {
	switch {
	case w.key != nil:
		v, err := w.key.Eval(row)
		if err != nil || v.Null {
			return dst, false, err
		}
		return v.AppendText(dst), true, nil
	case w.windowKey != nil:
		return w.appendWindowKey(dst, b, row), true, nil
	}
	return dst, false, nil
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
	return w.producer.close()
}
