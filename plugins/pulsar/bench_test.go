package pulsar_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/pipelines"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// benchEvents is the size of the topic both benchmarks read; override with
// SLUICE_PULSAR_BENCH_EVENTS.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_PULSAR_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 500_000
}

// fillTopic produces n reference-workload events (500 users, 7 actions,
// 2000 events per second of event time, up to 5 s of disorder, 1% 3-10
// minutes late) into a 4-partition topic, keyed by user.
func fillTopic(b *testing.B, url, topic string, n int) {
	b.Helper()
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	p, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: topic, BatchingMaxMessages: 1000, BatcherBuilderType: pulsarapi.KeyBasedBatchBuilder})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	actions := []string{"view", "click", "scroll", "purchase", "login", "logout", "heartbeat"}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	ctx := context.Background()
	for i := range n {
		ts := base + int64(i)/2 - rng.Int64N(5000)
		if rng.IntN(100) == 0 {
			ts -= 180_000 + rng.Int64N(420_000)
		}
		user := 1 + rng.IntN(500)
		payload := fmt.Appendf(nil, `{"user_id":%d,"action":%q,"ts":%d,"device":"ios"}`, user, actions[rng.IntN(len(actions))], ts)
		p.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: payload, Key: strconv.Itoa(user)}, func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPulsarReference reads the same 4-partition topic of reference
// events twice per iteration, each time with a fresh subscription: with the
// raw pulsar-client-go consumer (receive and acknowledge every message,
// nothing else) and with the reference pipeline (json, filter, 1-minute
// tumbling window with count and count_distinct, NDJSON file sink) through
// `source "pulsar"` with end = "latest". It reports both rates and their
// ratio; the target is sluice >= 60% of the raw consumer.
func BenchmarkPulsarReference(b *testing.B) {
	broker, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	const topic = "persistent://public/default/reference"
	if err := broker.CreateTopic(topic, 4); err != nil {
		b.Fatal(err)
	}
	n := benchEvents()
	fillTopic(b, broker.URL(), topic, n)
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: broker.URL(), OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	out := filepath.Join(b.TempDir(), "out.ndjson")

	var rawTime, sluiceTime time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		consumer, err := client.Subscribe(pulsarapi.ConsumerOptions{
			Topic: topic, SubscriptionName: fmt.Sprintf("raw-%d", i), Type: pulsarapi.Failover,
			SubscriptionInitialPosition: pulsarapi.SubscriptionPositionEarliest, ReceiverQueueSize: 1000,
		})
		if err != nil {
			b.Fatal(err)
		}
		for range n {
			m, err := consumer.Receive(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			consumer.Ack(m)
		}
		consumer.Close()
		rawTime += time.Since(start)

		start = time.Now()
		p := loadPipeline(b, pipelines.Reference(fmt.Sprintf(`source "pulsar" {
    service_url  = %q
    topics       = [%q]
    subscription = "sluice-%d"
    start        = "earliest"
    end          = "latest"
  }`, broker.URL(), topic, i), out))
		st, err := runner.Run(context.Background(), p, runner.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if st.In != int64(n) {
			b.Fatalf("the pipeline read %d of %d events", st.In, n)
		}
		sluiceTime += time.Since(start)
	}
	raw := float64(n*b.N) / rawTime.Seconds()
	sl := float64(n*b.N) / sluiceTime.Seconds()
	b.ReportMetric(raw, "raw-events/s")
	b.ReportMetric(sl, "sluice-events/s")
	b.ReportMetric(sl/raw, "ratio")
}

func loadPipeline(b *testing.B, src string) *config.Pipeline {
	b.Helper()
	p, diags := config.LoadSources([]config.Source{{Name: "bench.hcl", Bytes: []byte(src)}}, &config.Options{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	return p.Pipelines[0]
}
