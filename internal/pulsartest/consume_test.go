package pulsartest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestNackRedelivery(t *testing.T) {
	for _, batching := range []bool{false, true} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			b := startBroker(t)
			c := newClient(t, b)
			ctx := testContext(t, 20*time.Second)
			cons, err := c.Subscribe(pulsar.ConsumerOptions{
				Topic: "nack", SubscriptionName: "s", Type: pulsar.Shared,
				NackRedeliveryDelay: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "nack", DisableBatching: !batching})
			if err != nil {
				t.Fatal(err)
			}
			produce(t, ctx, p, "n", 10)
			counts := map[string]uint32{}
			acked := 0
			for acked < 10 {
				m, err := cons.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				key := string(m.Payload())
				if m.RedeliveryCount() != counts[key] {
					t.Fatalf("%s: redelivery count %d, want %d", key, m.RedeliveryCount(), counts[key])
				}
				if counts[key] < 2 {
					counts[key]++
					cons.Nack(m)
					continue
				}
				if err := cons.Ack(m); err != nil {
					t.Fatal(err)
				}
				acked++
			}
			expectNone(t, cons, 300*time.Millisecond)
			waitFor(t, ctx, "backlog 0", func() bool { return b.Stats("nack").Backlog("s") == 0 })
		})
	}
}

func TestDurableCursorSurvivesReconnect(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "dur", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "dur", SubscriptionName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, ctx, p, "x", 10)
	receive(t, ctx, cons, 5, true)
	cons.Close()
	waitFor(t, ctx, "acks", func() bool { return b.Stats("dur").Backlog("s") == 5 })
	cons, err = c.Subscribe(pulsar.ConsumerOptions{Topic: "dur", SubscriptionName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	got := payloads(receive(t, ctx, cons, 5, true))
	if got[0] != "x-5" || got[4] != "x-9" {
		t.Fatalf("resumed with %v", got)
	}
	// Cumulative ack.
	produce(t, ctx, p, "y", 5)
	msgs := receive(t, ctx, cons, 5, false)
	if err := cons.AckCumulative(msgs[4]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "cumulative ack", func() bool { return b.Stats("dur").Backlog("s") == 0 })
	// Unsubscribe removes the subscription.
	if err := cons.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Stats("dur").Partitions[0].Subscriptions["s"]; ok {
		t.Fatal("subscription survived Unsubscribe")
	}
}

func TestSharedRoundRobin(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	var consumers []pulsar.Consumer
	for i := 0; i < 3; i++ {
		cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "sh", SubscriptionName: "s", Type: pulsar.Shared, ReceiverQueueSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, cons)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "sh", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	produce(t, ctx, p, "s", n)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i, cons := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				done := len(seen) == n
				mu.Unlock()
				if done {
					return
				}
				m, err := cons.Receive(testContext(t, 500*time.Millisecond))
				if err != nil {
					continue
				}
				cons.Ack(m)
				mu.Lock()
				seen[string(m.Payload())] = i
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	per := make([]int, 3)
	for _, i := range seen {
		per[i]++
	}
	for i, k := range per {
		if k == 0 {
			t.Fatalf("consumer %d got nothing: %v", i, per)
		}
	}
	if ctx.Err() != nil {
		t.Fatal(ctx.Err())
	}
}

func TestKeyShared(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	var consumers []pulsar.Consumer
	for i := 0; i < 2; i++ {
		cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "ks", SubscriptionName: "s", Type: pulsar.KeyShared})
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, cons)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "ks", BatcherBuilderType: pulsar.KeyBasedBatchBuilder})
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := 0; i < n; i++ {
		p.SendAsync(ctx, &pulsar.ProducerMessage{Key: fmt.Sprintf("key-%d", i%20), Payload: []byte(fmt.Sprint(i))}, nil)
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	owner := map[string]int{}
	lastVal := map[string]int{}
	total := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, cons := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				done := total == n
				mu.Unlock()
				if done {
					return
				}
				m, err := cons.Receive(testContext(t, 300*time.Millisecond))
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					continue
				}
				cons.Ack(m)
				var v int
				fmt.Sscan(string(m.Payload()), &v)
				mu.Lock()
				if o, ok := owner[m.Key()]; ok && o != i {
					errs <- fmt.Errorf("key %s went to consumers %d and %d", m.Key(), o, i)
				}
				if last, ok := lastVal[m.Key()]; ok && v <= last {
					errs <- fmt.Errorf("key %s out of order: %d after %d", m.Key(), v, last)
				}
				owner[m.Key()], lastVal[m.Key()] = i, v
				total++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if total != n {
		t.Fatalf("received %d of %d", total, n)
	}
	per := map[int]int{}
	for _, o := range owner {
		per[o]++
	}
	if len(per) != 2 {
		t.Fatalf("keys not split across consumers: %v", per)
	}
	// keyHash matches Pulsar's Murmur3_32: known vector.
	if h := murmur3([]byte("hello")); h != 0x248bfa47 {
		t.Fatalf("murmur3(hello) = %#x", h)
	}
}

func TestFailoverTakeover(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	names := []string{"b-second", "a-first"}
	cons := map[string]pulsar.Consumer{}
	for _, name := range names {
		cc, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "fo", SubscriptionName: "s", Type: pulsar.Failover, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		cons[name] = cc
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "fo", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, ctx, p, "f", 10)
	// "a-first" sorts first: it is active on partition 0.
	got := receive(t, ctx, cons["a-first"], 10, false)
	expectNone(t, cons["b-second"], 200*time.Millisecond)
	for _, m := range got[:4] {
		cons["a-first"].Ack(m)
	}
	cons["a-first"].Close()
	rest := payloads(receive(t, ctx, cons["b-second"], 6, true))
	sort.Strings(rest)
	want := []string{"f-4", "f-5", "f-6", "f-7", "f-8", "f-9"}
	if fmt.Sprint(rest) != fmt.Sprint(want) {
		t.Fatalf("after takeover got %v, want %v", rest, want)
	}
	waitFor(t, ctx, "backlog 0", func() bool { return b.Stats("fo").Backlog("s") == 0 })
}
