// Package produce sends the lines of an NDJSON stream to a Pulsar topic,
// one message per line, for `sluice produce`: trying pipelines by hand and
// feeding scripts and tests.
package produce

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	sluicepulsar "github.com/sluice-io/sluice/plugins/pulsar"
)

// Options say where and how to send.
type Options struct {
	// URL is the broker's service URL, e.g. pulsar://127.0.0.1:6650.
	URL string
	// Topic receives the messages.
	Topic string
	// Key names a top-level field of each line whose value (a string, or a
	// number as written) becomes the message key; "" sends no key. A line
	// without it (or that is not a JSON object) is sent without a key and
	// reported to Unkeyed.
	Key string
	// Unkeyed is told about each line sent without a key although Key is
	// set; nil ignores them.
	Unkeyed func(line int, reason string)
	// Logger receives the client's warnings; nil discards them.
	Logger *slog.Logger
	// OperationTimeout bounds connecting and creating the producer, each
	// retried until it runs out; zero means DefaultOperationTimeout.
	OperationTimeout time.Duration
}

// DefaultOperationTimeout is the operation timeout when Options leave it
// zero: the Pulsar client's default.
const DefaultOperationTimeout = sluicepulsar.DefaultOperationTimeout

// maxLine bounds one line, like the file source.
const maxLine = 64 << 20

// Run sends every non-empty line of r as one message, in order, and returns
// how many were sent. It returns when the broker has acknowledged all of
// them, or at the first error (naming the line).
func Run(ctx context.Context, opts Options, r io.Reader) (int, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := opts.OperationTimeout
	if timeout <= 0 {
		timeout = DefaultOperationTimeout
	}
	within := timeout.String()
	client, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:               opts.URL,
		OperationTimeout:  timeout,
		ConnectionTimeout: 10 * time.Second,
		Logger:            sluicepulsar.ClientLogger(logger.With("component", "pulsar-client")),
	})
	if err != nil {
		return 0, fmt.Errorf("connecting to %s: %w", opts.URL, sluicepulsar.ClientError(err, within))
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: opts.Topic})
	if err != nil {
		return 0, fmt.Errorf("creating a producer for %s on %s: %w", opts.Topic, opts.URL, sluicepulsar.ClientError(err, within))
	}
	defer producer.Close()

	var mu sync.Mutex
	var sendErr error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n, line := 0, 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		msg := &pulsar.ProducerMessage{Payload: append([]byte(nil), b...)}
		if opts.Key != "" {
			key, err := keyOf(b, opts.Key)
			if err != nil && opts.Unkeyed != nil {
				opts.Unkeyed(line, err.Error())
			}
			msg.Key = key
		}
		at := line
		producer.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if sendErr == nil {
					sendErr = fmt.Errorf("line %d: sending to %s on %s: %w", at, opts.Topic, opts.URL, sluicepulsar.ClientError(err, within))
				}
				mu.Unlock()
			}
		})
		n++
		mu.Lock()
		err := sendErr
		mu.Unlock()
		if err != nil {
			return n, err
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("line %d: %w", line+1, err)
	}
	if err := producer.FlushWithCtx(ctx); err != nil {
		return n, fmt.Errorf("flushing to %s on %s: %w", opts.Topic, opts.URL, sluicepulsar.ClientError(err, within))
	}
	mu.Lock()
	defer mu.Unlock()
	return n, sendErr
}

// keyOf returns the value of the top-level field name of a JSON object.
func keyOf(line []byte, name string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", fmt.Errorf("not a JSON object, so it has no key field %q: %v", name, err)
	}
	raw, ok := obj[name]
	if !ok {
		return "", fmt.Errorf("no field %q for the key", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var num json.Number
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&num); err == nil {
		if _, err := strconv.ParseFloat(num.String(), 64); err == nil {
			return num.String(), nil
		}
	}
	return "", errors.New("the key field " + strconv.Quote(name) + " is neither a string nor a number: " + string(raw))
}
