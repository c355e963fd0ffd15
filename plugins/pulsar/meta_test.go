package pulsar_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// TestMessageMetadata runs a pipeline whose filter reads a message
// property, whose map copies the message key into a field and whose window
// takes its event time from the message's event time, then checks the
// windows against counts computed here.
func TestMessageMetadata(t *testing.T) {
	const events = "persistent://public/default/meta-events"
	b, client, producer := brokerWithTopic(t, events, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// 240 messages over 4 minutes of event time, carried only in the
	// metadata; every other one is from region "eu". One has no key.
	const n = 240
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	want := map[string]int{} // "window_start|user" -> count
	for i := range n {
		msg := &pulsarapi.ProducerMessage{
			Payload:    []byte(fmt.Sprintf(`{"action":%q}`, []string{"click", "view"}[i%2])),
			Key:        fmt.Sprint("user-", i%3),
			Properties: map[string]string{"region": []string{"eu", "us"}[i%2], "n": fmt.Sprint(i)},
			EventTime:  base.Add(time.Duration(i) * time.Second),
		}
		if i == 10 {
			msg.Key = ""
		}
		producer.SendAsync(ctx, msg, nil)
		if i%2 == 0 {
			start := base.Add(time.Duration(i) * time.Second).Truncate(time.Minute)
			want[fmt.Sprintf("%s|%s", start.Format(time.RFC3339), msg.Key)]++
		}
	}
	if err := producer.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	producer.Close()

	src := fmt.Sprintf(`pipeline "meta" {
  instances = 1 # one process reads every partition
  source "pulsar" {
    service_url       = %[1]q
    topics            = [%[2]q]
    subscription      = "sluice"
    start             = "earliest"
    end               = "latest"
  }
  parse "json" {
    field "action" { type = "string" }
  }
  filter { where = "pulsar.properties['region'] == 'eu' && 'n' in pulsar.properties" }
  map    { set = { user = "pulsar.key ?? ''", topic = "pulsar.topic" } }
  window "tumbling" {
    event_time = "pulsar.event_time"
    size       = "1m"
    group_by   = ["user"]
    aggregate  = { events = "count()", topics = "count_distinct(topic)" }
  }
  sink "pulsar" "out" {
    service_url = %[1]q
    topic       = "meta-results"
  }
}
`, b.URL(), events)
	project, diags := config.LoadSources([]config.Source{{Name: "p.hcl", Bytes: []byte(src)}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := runner.Run(ctx, project.Pipelines[0], runner.Options{BatchSize: 32}); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := map[string]int{}
	for _, m := range consumeAll(t, client, "meta-results", len(want)) {
		var row map[string]any
		if err := json.Unmarshal(m.Payload(), &row); err != nil {
			t.Fatal(err)
		}
		for k := range row {
			if strings.HasPrefix(k, "pulsar.") {
				t.Fatalf("metadata %q written to the sink: %s", k, m.Payload())
			}
		}
		if row["topics"].(float64) > 2 {
			t.Errorf("%v topics in one window", row["topics"])
		}
		got[fmt.Sprintf("%s|%s", strings.TrimSuffix(row["window_start"].(string), ".000Z")+"Z", row["user"])] += int(row["events"].(float64))
	}
	if !maps.Equal(got, want) {
		t.Fatalf("windows\n got %v\nwant %v", got, want)
	}
}
