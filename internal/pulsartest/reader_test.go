package pulsartest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestSeek(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "seek", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "seek", SubscriptionName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ids := produce(t, ctx, p, "a", 5)
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	produce(t, ctx, p, "b", 5)
	receive(t, ctx, cons, 10, true)

	if err := cons.Seek(ids[2]); err != nil {
		t.Fatal(err)
	}
	// The broker rewinds to a-2 itself; the Go client drops the seek target
	// unless StartMessageIDInclusive is set.
	got := payloads(receive(t, ctx, cons, 7, true))
	if got[0] != "a-3" || got[6] != "b-4" {
		t.Fatalf("after seek by id: %v", got)
	}
	if err := cons.SeekByTime(mid); err != nil {
		t.Fatal(err)
	}
	got = payloads(receive(t, ctx, cons, 5, true))
	if got[0] != "b-0" || got[4] != "b-4" {
		t.Fatalf("after seek by time: %v", got)
	}
	expectNone(t, cons, 200*time.Millisecond)
}

func TestReader(t *testing.T) {
	for _, batching := range []bool{false, true} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			b := startBroker(t)
			c := newClient(t, b)
			ctx := testContext(t, 20*time.Second)

			// Empty topic: no last message, HasNext false.
			r0, err := c.CreateReader(pulsar.ReaderOptions{Topic: "rd", StartMessageID: pulsar.EarliestMessageID()})
			if err != nil {
				t.Fatal(err)
			}
			if r0.HasNext() {
				t.Fatal("HasNext on an empty topic")
			}
			r0.Close()

			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "rd", DisableBatching: !batching})
			if err != nil {
				t.Fatal(err)
			}
			ids := produce(t, ctx, p, "r", 20)

			r, err := c.CreateReader(pulsar.ReaderOptions{Topic: "rd", StartMessageID: pulsar.EarliestMessageID()})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for r.HasNext() {
				m, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(m.Payload()))
			}
			if len(got) != 20 || got[0] != "r-0" || got[19] != "r-19" {
				t.Fatalf("reader read %v", got)
			}
			r.Close()

			// Start after a given id (exclusive) and at it (inclusive).
			for _, inclusive := range []bool{false, true} {
				r, err := c.CreateReader(pulsar.ReaderOptions{Topic: "rd", StartMessageID: ids[7], StartMessageIDInclusive: inclusive})
				if err != nil {
					t.Fatal(err)
				}
				m, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := "r-8"
				if inclusive {
					want = "r-7"
				}
				if string(m.Payload()) != want {
					t.Fatalf("inclusive=%v: first message %q, want %q", inclusive, m.Payload(), want)
				}
				r.Close()
			}

			// Latest + inclusive starts at the last message.
			rl, err := c.CreateReader(pulsar.ReaderOptions{Topic: "rd", StartMessageID: pulsar.LatestMessageID(), StartMessageIDInclusive: true})
			if err != nil {
				t.Fatal(err)
			}
			m, err := rl.Next(ctx)
			if err != nil || string(m.Payload()) != "r-19" {
				t.Fatalf("latest inclusive: %v %v", m, err)
			}
			rl.Close()

			// GetLastMessageIDs on a consumer.
			cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "rd", SubscriptionName: "s"})
			if err != nil {
				t.Fatal(err)
			}
			last, err := cons.GetLastMessageIDs()
			if err != nil || len(last) != 1 {
				t.Fatalf("GetLastMessageIDs: %v %v", last, err)
			}
			lid := last[0]
			if lid.EntryID() != ids[19].EntryID() || lid.BatchIdx() != ids[19].BatchIdx() {
				t.Fatalf("last id %v, want %v", lid, ids[19])
			}
			if want := b.Stats("rd").Partitions[0].Subscriptions; len(want) != 1 {
				t.Fatalf("reader subscriptions left behind: %v", want)
			}
		})
	}
}

func TestDropConnections(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 40*time.Second)
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "drop", SubscriptionName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "drop", BatchingMaxPublishDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	sendErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if _, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(fmt.Sprint(i))}); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	seen := map[string]bool{}
	dropped := 0
	for len(seen) < n {
		m, err := cons.Receive(ctx)
		if err != nil {
			select {
			case err := <-sendErr:
				t.Fatalf("send: %v", err)
			default:
			}
			t.Fatalf("receive after %d distinct: %v", len(seen), err)
		}
		cons.Ack(m)
		seen[string(m.Payload())] = true
		if len(seen) == n/3 && dropped == 0 || len(seen) == 2*n/3 && dropped == 1 {
			b.DropConnections()
			dropped++
		}
	}
	wg.Wait()
	if dropped != 2 {
		t.Fatalf("dropped %d times", dropped)
	}
	waitFor(t, ctx, "backlog 0", func() bool { return b.Stats("drop").Backlog("s") == 0 })
	if got := b.Stats("drop").Messages(); got != n {
		t.Fatalf("stored %d messages, want %d", got, n)
	}
}

func TestUnloadTopic(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "unl", SubscriptionName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "unl", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, ctx, p, "u", 5)
	receive(t, ctx, cons, 5, true)
	b.UnloadTopic("unl")
	// Wait for the producer to reconnect before sending: producing while
	// it re-registers trips a data race inside pulsar-client-go v0.21.0
	// (partitionProducer.grabCnx writes producerName while the send path
	// reads it).
	waitFor(t, ctx, "producer reconnect", func() bool { return b.Stats("unl").Partitions[0].Producers == 1 })
	time.Sleep(50 * time.Millisecond)
	produce(t, ctx, p, "v", 5)
	got := payloads(receive(t, ctx, cons, 5, true))
	if got[0] != "v-0" {
		t.Fatalf("after unload got %v", got)
	}
	waitFor(t, ctx, "reconnect", func() bool {
		ps := b.Stats("unl").Partitions[0]
		return ps.Producers == 1 && ps.Subscriptions["s"].Consumers == 1
	})
}
