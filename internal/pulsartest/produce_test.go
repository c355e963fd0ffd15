package pulsartest

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestProduceConsume(t *testing.T) {
	for _, batching := range []bool{false, true} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			b := startBroker(t)
			c := newClient(t, b)
			ctx := testContext(t, 20*time.Second)
			cons, err := c.Subscribe(pulsar.ConsumerOptions{
				Topic: "t", SubscriptionName: "s",
			})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "t", DisableBatching: !batching})
			if err != nil {
				t.Fatal(err)
			}
			ids := produce(t, ctx, p, "m", 100)
			for i := 1; i < len(ids); i++ {
				if ids[i].EntryID() < ids[i-1].EntryID() {
					t.Fatalf("ids out of order: %v then %v", ids[i-1], ids[i])
				}
			}
			msgs := receive(t, ctx, cons, 100, true)
			for i, m := range msgs {
				if want := fmt.Sprintf("m-%d", i); string(m.Payload()) != want {
					t.Fatalf("message %d = %q, want %q", i, m.Payload(), want)
				}
			}
			st := b.Stats("t")
			if st.Messages() != 100 {
				t.Fatalf("stats messages = %d", st.Messages())
			}
			if !batching && st.Partitions[0].Entries != 100 {
				t.Fatalf("entries = %d", st.Partitions[0].Entries)
			}
			waitFor(t, ctx, "backlog 0", func() bool { return b.Stats("t").Backlog("s") == 0 })
		})
	}
}

func TestPartitionedTopic(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("pt", 4); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("pt", 4); err != nil {
		t.Fatalf("same count again: %v", err)
	}
	if err := b.CreateTopic("pt", 2); err == nil {
		t.Fatal("no error for a different partition count")
	}
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	parts, err := c.TopicPartitions("pt")
	if err != nil || len(parts) != 4 {
		t.Fatalf("partitions = %v, %v", parts, err)
	}
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "pt", SubscriptionName: "s", SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "pt"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := 0; i < n; i++ {
		p.SendAsync(ctx, &pulsar.ProducerMessage{Key: fmt.Sprintf("k%d", i%17), Payload: []byte(fmt.Sprint(i))}, nil)
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := receive(t, ctx, cons, n, true)
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[string(m.Payload())] = true
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct messages, want %d", len(seen), n)
	}
	st := b.Stats("pt")
	if len(st.Partitions) != 4 || st.Messages() != n {
		t.Fatalf("stats: %+v", st)
	}
	for _, ps := range st.Partitions {
		if ps.Messages == 0 {
			t.Fatalf("partition %s got no messages", ps.Topic)
		}
	}
}

func TestDeduplicationAndDroppedReceipts(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 30*time.Second)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "dedup", Name: "prod", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, ctx, p, "a", 5)
	// Delay receipts so that every send is on the wire before the client
	// notices the gap and reconnects: sending (or flushing) while the
	// producer reconnects trips a data race inside pulsar-client-go v0.21.0.
	b.DelayReceipts(100 * time.Millisecond)
	b.DropReceipts(2)
	produceOpt(t, ctx, p, "b", 10, false)
	b.DelayReceipts(0)
	if got := b.Stats("dedup").Messages(); got != 15 {
		t.Fatalf("stored %d messages, want 15 (no duplicates)", got)
	}
	p.Close()
	// A new producer with the same name continues the sequence.
	p2, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "dedup", Name: "prod", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, ctx, p2, "c", 3)
	if got := b.Stats("dedup").Messages(); got != 18 {
		t.Fatalf("stored %d messages, want 18", got)
	}
}

func TestDelayReceipts(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "delay"})
	if err != nil {
		t.Fatal(err)
	}
	b.DelayReceipts(300 * time.Millisecond)
	start := time.Now()
	produce(t, ctx, p, "d", 20)
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("receipts came back after %v, want >= 300ms", el)
	}
	b.DelayReceipts(0)
	produce(t, ctx, p, "e", 20)
}

func TestBadRequests(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("pt", 2); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, b)
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "ex", SubscriptionName: "s", Type: pulsar.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	if _, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "ex", SubscriptionName: "s", Type: pulsar.Exclusive}); err == nil {
		t.Fatal("second exclusive consumer accepted")
	}
	if _, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "ex", SubscriptionName: "s", Type: pulsar.Shared}); err == nil {
		t.Fatal("consumer of another type accepted")
	}
}
