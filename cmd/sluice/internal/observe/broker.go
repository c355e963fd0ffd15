package observe

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

// BrokerStats is what the broker collector reads: a pulsartest.Broker.
type BrokerStats interface {
	Stats(topic string) pulsartest.TopicStats
}

// BrokerCollector converts the statistics of sluice broker's topics into
// sluice_broker_* metrics at scrape time.
type BrokerCollector struct {
	broker BrokerStats
	topics func() []string

	messages, entries, producers, backlog, unacked, consumers *metric
}

// NewBrokerCollector returns the collector of the topics that topics
// lists, read from broker.
func NewBrokerCollector(broker BrokerStats, topics func() []string) *BrokerCollector {
	const tp, sub = "topic", "subscription"
	return &BrokerCollector{
		broker: broker, topics: topics,
		messages:  newMetric(counterKind, "sluice_broker_messages_in_total", "Messages stored in the topic (all partitions).", tp),
		entries:   newMetric(counterKind, "sluice_broker_entries_in_total", "Entries stored in the topic; a batch of messages is one entry.", tp),
		producers: newMetric(gaugeKind, "sluice_broker_producers", "Producers connected to the topic.", tp),
		backlog:   newMetric(gaugeKind, "sluice_broker_subscription_backlog_messages", "Messages of the topic the subscription has not acknowledged.", tp, sub),
		unacked:   newMetric(gaugeKind, "sluice_broker_subscription_unacked_messages", "Messages dispatched to the subscription's consumers and not acknowledged.", tp, sub),
		consumers: newMetric(gaugeKind, "sluice_broker_subscription_consumers", "Consumers connected to the subscription.", tp, sub),
	}
}

func (c *BrokerCollector) all() []*metric {
	return []*metric{c.messages, c.entries, c.producers, c.backlog, c.unacked, c.consumers}
}

// Describe sends the descriptor of every broker metric.
func (c *BrokerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.all() {
		ch <- m.desc
	}
}

// Collect sends the metrics of every listed topic.
func (c *BrokerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, topic := range c.topics() {
		st := c.broker.Stats(topic)
		if len(st.Partitions) == 0 {
			continue
		}
		var entries int64
		producers := 0
		subs := map[string]*pulsartest.SubscriptionStats{}
		for _, p := range st.Partitions {
			entries += p.Entries
			producers += p.Producers
			for name, s := range p.Subscriptions {
				sum := subs[name]
				if sum == nil {
					sum = &pulsartest.SubscriptionStats{}
					subs[name] = sum
				}
				sum.Backlog += s.Backlog
				sum.Unacked += s.Unacked
				sum.Consumers += s.Consumers
			}
		}
		c.messages.emit(ch, float64(st.Messages()), topic)
		c.entries.emit(ch, float64(entries), topic)
		c.producers.emit(ch, float64(producers), topic)
		for name, s := range subs {
			c.backlog.emit(ch, float64(s.Backlog), topic, name)
			c.unacked.emit(ch, float64(s.Unacked), topic, name)
			c.consumers.emit(ch, float64(s.Consumers), topic, name)
		}
	}
}
