// Package demo is `sluice demo`: it starts the embedded Pulsar-protocol
// broker, produces synthetic user events into
// persistent://public/default/user-events with event time running 20 times
// faster than the clock (so a one-minute window closes every 3 seconds),
// with disorder and a few late events, and runs the example pipeline
// pipelines/user_activity_pulsar.hcl against it, printing each window's
// counts as it closes.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	sluicepulsar "github.com/sluice-io/sluice/plugins/pulsar"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/pipelines"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// Topic is where the demo's events go.
const Topic = "persistent://public/default/user-events"

// pipelineFile is the example the demo runs.
const pipelineFile = "user_activity_pulsar.hcl"

// Options tune the demo.
type Options struct {
	// Rate is the number of events produced per second (default 1000).
	Rate int
	// Speedup is how much faster event time runs than the clock (default 20).
	Speedup int
	// Partitions of the topic (default 4).
	Partitions int
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// Monitor, when set, receives the live view of the pipeline (the
	// metrics endpoint and dashboard of sluice demo --metrics).
	Monitor *runner.Monitor
}

func (o *Options) defaults() {
	if o.Rate <= 0 {
		o.Rate = 1000
	}
	if o.Speedup <= 0 {
		o.Speedup = 20
	}
	if o.Partitions <= 0 {
		o.Partitions = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run runs the demo until ctx ends: then the producer stops, the pipeline
// drains, and Run returns nil.
func Run(ctx context.Context, opts Options) error {
	opts.defaults()
	broker, err := pulsartest.Start(pulsartest.Options{Logger: opts.Logger.With("component", "broker")})
	if err != nil {
		return err
	}
	defer broker.Close()
	if err := broker.CreateTopic(Topic, opts.Partitions); err != nil {
		return err
	}
	src, err := pipelines.Files.ReadFile(pipelineFile)
	if err != nil {
		return err
	}
	getenv := func(name string) (string, bool) {
		if name == "SLUICE_PULSAR_URL" {
			return broker.URL(), true
		}
		return "", false
	}
	project, diags := config.LoadSources([]config.Source{{Name: "pipelines/" + pipelineFile, Bytes: src}}, &config.Options{Getenv: getenv})
	if diags.HasErrors() {
		return fmt.Errorf("the demo pipeline has errors: %v", diags)
	}
	opts.Logger.Info("demo: broker started, producing user events; a window closes every few seconds (Ctrl-C stops)",
		"url", broker.URL(), "topic", Topic, "partitions", opts.Partitions)

	prodCtx, stopProducing := context.WithCancel(ctx)
	defer stopProducing()
	prodErr := make(chan error, 1)
	go func() { prodErr <- produce(prodCtx, broker.URL(), opts) }()

	_, runErr := runner.RunAll(ctx, project.Pipelines, runner.Options{Logger: opts.Logger, Monitor: opts.Monitor})
	stopProducing()
	if err := <-prodErr; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("demo producer: %w", err)
	}
	return runErr
}

// actions of the generated events, with their weights.
var actions = []struct {
	name   string
	weight int
}{{"view", 45}, {"click", 25}, {"scroll", 15}, {"purchase", 2}, {"login", 3}, {"logout", 2}, {"heartbeat", 8}}

// produce sends Rate events per second, keyed by user, until ctx ends.
func produce(ctx context.Context, url string, opts Options) error {
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: sluicepulsar.ClientLogger(opts.Logger.With("component", "producer"))})
	if err != nil {
		return err
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: Topic})
	if err != nil {
		return err
	}
	defer producer.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	eventStart := start.Truncate(time.Minute).UnixMilli()
	const tick = 20 * time.Millisecond
	perTick := max(1, opts.Rate*int(tick/time.Millisecond)/1000)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-ticker.C:
			nominal := eventStart + now.Sub(start).Milliseconds()*int64(opts.Speedup)
			for range perTick {
				ts := nominal - rng.Int64N(5000) // up to 5 s of disorder
				if rng.IntN(100) == 0 {
					ts = nominal - 90_000 - rng.Int64N(90_000) // 1%: 1.5 to 3 minutes late
				}
				user := 1 + rng.IntN(50)
				buf = event(buf[:0], user, pick(rng), ts)
				producer.SendAsync(ctx, &pulsar.ProducerMessage{Payload: append([]byte(nil), buf...), Key: strconv.Itoa(user)},
					func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
			}
		}
	}
}

func pick(rng *rand.Rand) string {
	n := rng.IntN(100)
	for _, a := range actions {
		if n < a.weight {
			return a.name
		}
		n -= a.weight
	}
	return actions[0].name
}

// event appends one JSON event with ts in seconds (millisecond fractions).
func event(b []byte, user int, action string, tsMillis int64) []byte {
	b = append(b, `{"user_id":`...)
	b = strconv.AppendInt(b, int64(user), 10)
	b = append(b, `,"action":"`...)
	b = append(b, action...)
	b = append(b, `","ts":`...)
	b = strconv.AppendFloat(b, float64(tsMillis)/1000, 'f', 3, 64)
	return append(b, '}')
}
