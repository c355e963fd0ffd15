package pulsartest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// startBroker starts a broker closed at the end of the test. With
// PULSARTEST_PERSIST=1 in the environment it has a data directory, so that
// every test also checks the persistent mode.
func startBroker(t testing.TB) *Broker {
	t.Helper()
	var logger *slog.Logger
	if os.Getenv("PULSARTEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var dir string
	if os.Getenv("PULSARTEST_PERSIST") == "1" {
		dir = t.TempDir()
	}
	b, err := Start(Options{Logger: logger, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// newClient returns a real pulsar client for b with quiet logging.
func newClient(t testing.TB, b *Broker) pulsar.Client {
	t.Helper()
	level := slog.LevelError + 100
	if os.Getenv("PULSARTEST_CLIENT_LOG") != "" {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	c, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:               b.URL(),
		OperationTimeout:  5 * time.Second,
		ConnectionTimeout: 2 * time.Second,
		Logger:            plog.NewLoggerWithSlog(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// produce sends n messages "<prefix>-<i>" and flushes.
func produce(t testing.TB, ctx context.Context, p pulsar.Producer, prefix string, n int) []pulsar.MessageID {
	t.Helper()
	return produceOpt(t, ctx, p, prefix, n, true)
}

// produceOpt is produce with the final flush optional.
func produceOpt(t testing.TB, ctx context.Context, p pulsar.Producer, prefix string, n int, flush bool) []pulsar.MessageID {
	t.Helper()
	ids := make([]pulsar.MessageID, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		i := i
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("%s-%d", prefix, i))},
			func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				ids[i] = id
				errs <- err
			})
	}
	if flush {
		if err := p.FlushWithCtx(ctx); err != nil {
			t.Fatalf("flush: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("send: %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("send: %v", ctx.Err())
		}
	}
	return ids
}

// receive receives n messages, acking each when ack is set.
func receive(t testing.TB, ctx context.Context, c pulsar.Consumer, n int, ack bool) []pulsar.Message {
	t.Helper()
	msgs := make([]pulsar.Message, 0, n)
	for len(msgs) < n {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("receive after %d of %d: %v", len(msgs), n, err)
		}
		if ack {
			if err := c.Ack(m); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// expectNone fails if c delivers a message within d.
func expectNone(t testing.TB, c pulsar.Consumer, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := c.Receive(ctx); err == nil {
		t.Fatalf("unexpected message %q (redelivery %d)", m.Payload(), m.RedeliveryCount())
	}
}

func payloads(msgs []pulsar.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Payload())
	}
	return out
}

// waitFor polls cond until it holds or the test's deadline passes.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
