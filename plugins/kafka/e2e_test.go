package kafka_test

// An end-to-end pipeline Pulsar → sluice → Kafka: the in-memory Pulsar
// broker and a kfake cluster in this process, the real runner between.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluice-io/sluice/internal/pulsartest"
	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

func TestPulsarToKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("persistent://public/default/events", 2); err != nil {
		t.Fatal(err)
	}
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: b.URL(), OperationTimeout: 5 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: "events"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300 // over 5 minutes
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		payload := fmt.Sprintf(`{"user_id":%d,"action":%q,"ts":%d}`, i%7, []string{"click", "view", "buy"}[i%3], base+int64(i)*1000)
		producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: []byte(payload)}, nil)
	}
	if err := producer.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	producer.Close()

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "activity"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src := fmt.Sprintf(`pipeline "activity" {
  source "pulsar" {
    service_url       = %q
    topics            = ["events"]
    subscription      = "sluice"
    subscription_type = "exclusive"
    start             = "earliest"
    end               = "latest"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "10s"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "kafka" "out" {
    brokers = [%q]
    topic   = "activity"
  }
}
`, b.URL(), c.ListenAddrs()[0])
	project, diags := config.LoadSources([]config.Source{{Name: "p.hcl", Bytes: []byte(src)}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := runner.Run(ctx, project.Pipelines[0], runner.Options{BatchSize: 64}); err != nil {
		t.Fatalf("run: %v", err)
	}
	rows := readValues(t, c, "activity")
	total, windows := 0, 0
	for v, k := range rows {
		var row struct {
			WindowStart string `json:"window_start"`
			Action      string
			Events      int
		}
		if err := json.Unmarshal([]byte(v), &row); err != nil {
			t.Fatal(err)
		}
		total += row.Events * k
		windows += k
	}
	if total != n || windows != 15 {
		t.Fatalf("%d windows counting %d events, want 15 counting %d", windows, total, n)
	}
}
