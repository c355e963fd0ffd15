package pulsartest

import (
	"context"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// BenchmarkProduceConsume produces b.N ~70-byte messages with a batching
// producer while a consumer receives and acks them, all through the broker
// with the real client. Run the reference size with
//
//	go test -run '^$' -bench ProduceConsume -benchtime 1000000x ./internal/pulsartest
func BenchmarkProduceConsume(b *testing.B) {
	benchProduceConsume(b, startBroker(b))
}

// BenchmarkProduceConsumePersistent is BenchmarkProduceConsume with a data
// directory: every receipt waits for the topic log to be synced.
func BenchmarkProduceConsumePersistent(b *testing.B) {
	benchProduceConsume(b, startPersistent(b, b.TempDir()))
}

func benchProduceConsume(b *testing.B, br *Broker) {
	c := newClient(b, br)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "bench", SubscriptionName: "s", ReceiverQueueSize: 10000})
	if err != nil {
		b.Fatal(err)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{
		Topic:                   "bench",
		BatchingMaxMessages:     1000,
		BatchingMaxPublishDelay: 5 * time.Millisecond,
		MaxPendingMessages:      50000,
	})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"ts":1700000000000,"user":"u-12345","event":"click","value":42.5,"x":1}`)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			})
		}
		if err := p.FlushWithCtx(ctx); err != nil {
			select {
			case errc <- err:
			default:
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		m, err := cons.Receive(ctx)
		if err != nil {
			select {
			case err2 := <-errc:
				b.Fatalf("send: %v", err2)
			default:
			}
			b.Fatalf("receive %d: %v", i, err)
		}
		cons.Ack(m)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
}
