package pulsar_test

// An end-to-end run of a pipeline reading, writing and dead-lettering
// through the in-memory broker, with the real runner acknowledging.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

func TestPipelineEndToEnd(t *testing.T) {
	const events = "persistent://public/default/events"
	b, client, producer := brokerWithTopic(t, events, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// 300 events over 5 minutes, and one that does not parse.
	const n = 300
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		action := []string{"click", "view", "buy"}[i%3]
		payload := fmt.Sprintf(`{"user_id":%d,"action":%q,"ts":%d}`, i%7, action, base+int64(i)*1000)
		producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: []byte(payload), Key: fmt.Sprint(i % 7)}, nil)
	}
	producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: []byte(`{"user_id":"x"}`)}, nil)
	if err := producer.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	producer.Close()

	src := fmt.Sprintf(`pipeline "activity" {
  source "pulsar" {
    service_url       = %[1]q
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
  sink "pulsar" "out" {
    service_url = %[1]q
    topic       = "results"
  }
  dead_letter "pulsar" {
    service_url = %[1]q
    topic       = "dead"
  }
}
`, b.URL())
	project, diags := config.LoadSources([]config.Source{{Name: "p.hcl", Bytes: []byte(src)}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	stats, err := runner.Run(ctx, project.Pipelines[0], runner.Options{BatchSize: 64})
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, stats)
	}

	// Every event counted once, in 5 minutes × 3 actions.
	results := consumeAll(t, client, "results", 15)
	total := 0
	for _, m := range results {
		var row struct {
			WindowStart string `json:"window_start"`
			Action      string
			Events      int
		}
		if err := json.Unmarshal(m.Payload(), &row); err != nil {
			t.Fatal(err)
		}
		total += row.Events
		start, _ := time.Parse(time.RFC3339, row.WindowStart)
		if want := fmt.Sprintf("activity|%d|%s", start.UnixMilli(), row.Action); m.Key() != want {
			t.Errorf("key %q, want %q", m.Key(), want)
		}
	}
	if total != n {
		t.Fatalf("windows count %d events, want %d", total, n)
	}
	dead := consumeAll(t, client, "dead", 1)
	if p := dead[0].Properties(); p["stage"] != `parse "json"` || p["pipeline"] != "activity" || !strings.Contains(p["reason"], "user_id") {
		t.Fatalf("dead letter properties %v", p)
	}
	// Every input message was acknowledged.
	deadline := time.Now().Add(5 * time.Second)
	for b.Stats(events).Backlog("sluice") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d after the run", b.Stats(events).Backlog("sluice"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brokerWithTopic starts a broker with topic in partitions partitions, a
// client of it and a producer to the topic. The broker and the client are
// closed after the test; the caller closes the producer.
func brokerWithTopic(t *testing.T, topic string, partitions int) (*pulsartest.Broker, pulsarapi.Client, pulsarapi.Producer) {
	t.Helper()
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.CreateTopic(topic, partitions); err != nil {
		t.Fatal(err)
	}
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: b.URL(), OperationTimeout: 5 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	return b, client, producer
}

// consumeAll reads n messages of topic from the start, then checks that no
// more come.
func consumeAll(t *testing.T, client pulsarapi.Client, topic string, n int) []pulsarapi.Message {
	t.Helper()
	c, err := client.Subscribe(pulsarapi.ConsumerOptions{
		Topic: topic, SubscriptionName: "check", SubscriptionInitialPosition: pulsarapi.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []pulsarapi.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		m, err := c.Receive(ctx)
		cancel()
		if err != nil {
			break
		}
		out = append(out, m)
	}
	if len(out) != n {
		t.Fatalf("%d messages in %s, want %d", len(out), topic, n)
	}
	return out
}
