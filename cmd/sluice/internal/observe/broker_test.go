package observe

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

// TestBrokerMetrics scrapes a broker with a 2-partition topic after three
// messages were sent and a subscription read none of them.
func TestBrokerMetrics(t *testing.T) {
	const topic = "persistent://public/default/metrics"
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic(topic, 2); err != nil {
		t.Fatal(err)
	}
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.URL(), Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", ReceiverQueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		if _, err := producer.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	handler, err := NewHandler(Options{Collectors: []prometheus.Collector{NewBrokerCollector(b, func() []string { return []string{topic, "unknown"} })}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	fams, body := scrape(t, srv.URL)
	tp, sub := map[string]string{"topic": topic}, map[string]string{"topic": topic, "subscription": "sub"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_broker_messages_in_total", tp, 3},
		{"sluice_broker_entries_in_total", tp, 3},
		{"sluice_broker_producers", tp, 2}, // one per partition
		{"sluice_broker_subscription_backlog_messages", sub, 3},
		{"sluice_broker_subscription_consumers", sub, 2},
	} {
		if got, ok := value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := value(fams, "sluice_broker_messages_in_total", map[string]string{"topic": "unknown"}); ok {
		t.Errorf("an unknown topic has metrics")
	}
	promtoolCheck(t, body)
}
