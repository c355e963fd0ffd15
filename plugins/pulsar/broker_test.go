package pulsar

// These tests run the plugins against internal/pulsartest, an in-memory
// broker speaking the Pulsar binary protocol, over a loopback socket, with
// the real client.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

const testTimeout = 5 * time.Second

func startBroker(t *testing.T) *pulsartest.Broker {
	t.Helper()
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func runtime() *plugins.Runtime {
	return &plugins.Runtime{Pipeline: "p", Logger: slog.New(slog.DiscardHandler), Now: time.Now}
}

func testClient(t *testing.T, url string) pulsarapi.Client {
	t.Helper()
	c, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: testTimeout, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// produce publishes n JSON messages {"i":k} to topic in batches of up to 7
// and returns the partition each landed in, by k.
func produce(t *testing.T, url, topic string, n int) []int32 {
	return produceWith(t, url, topic, n, true)
}

func produceWith(t *testing.T, url, topic string, n int, batching bool) []int32 {
	t.Helper()
	p, err := testClient(t, url).CreateProducer(pulsarapi.ProducerOptions{
		Topic:                   topic,
		DisableBatching:         !batching,
		BatchingMaxMessages:     7,
		BatchingMaxPublishDelay: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	parts := make([]int32, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for k := range n {
		wg.Add(1)
		msg := &pulsarapi.ProducerMessage{Payload: fmt.Appendf(nil, `{"i":%d}`, k), Key: fmt.Sprint(k)}
		p.SendAsync(ctx, msg, func(id pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
			mu.Lock()
			if err != nil && firstErr == nil {
				firstErr = err
			} else if err == nil {
				parts[k] = id.PartitionIdx()
			}
			mu.Unlock()
			wg.Done()
		})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return parts
}

// openSource builds and opens a source block.
func openSource(t *testing.T, src string) *sourceReader {
	t.Helper()
	c, diags := plugintest.Build(SourcePlugin, src, record.Schema{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Source)
	s.Conn.OperationTimeout = testTimeout
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := s.Open(ctx, runtime())
	if err != nil {
		t.Fatal(err)
	}
	return r.(*sourceReader)
}

// readAll reads r to io.EOF, handing each batch to each, and fails the test
// after a timeout.
func readAll(t *testing.T, r *sourceReader, each func(b *record.Batch)) {
	t.Helper()
	b := record.NewBatch(sourceRecord, 16)
	deadline := time.Now().Add(4 * testTimeout)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		b.Reset()
		err := r.Read(ctx, b, 16)
		cancel()
		if b.Rows > 0 {
			if err := b.Validate(); err != nil {
				t.Fatal(err)
			}
			each(b)
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
}

// checker checks that every message arrives exactly once, in its own
// partition, with offsets 0, 1, 2, ... per partition.
type checker struct {
	t     *testing.T
	parts []int32
	seen  map[int]bool
	next  map[int32]int64
}

func newChecker(t *testing.T, parts []int32) *checker {
	return &checker{t: t, parts: parts, seen: map[int]bool{}, next: map[int32]int64{}}
}

func (c *checker) add(b *record.Batch) {
	c.t.Helper()
	for row := range b.Rows {
		var m struct{ I int }
		if err := json.Unmarshal(b.Columns[0].StringBytes(row), &m); err != nil {
			c.t.Fatalf("payload %q: %v", b.Columns[0].StringBytes(row), err)
		}
		o := b.Origins[row]
		if c.seen[m.I] {
			c.t.Fatalf("message %d delivered twice", m.I)
		}
		c.seen[m.I] = true
		if o.Partition != c.parts[m.I] {
			c.t.Fatalf("message %d: partition %d, want %d", m.I, o.Partition, c.parts[m.I])
		}
		if o.Offset != c.next[o.Partition] {
			c.t.Fatalf("message %d: offset %d in partition %d, want %d", m.I, o.Offset, o.Partition, c.next[o.Partition])
		}
		c.next[o.Partition]++
	}
}

func (c *checker) complete() {
	c.t.Helper()
	if len(c.seen) != len(c.parts) {
		c.t.Fatalf("%d messages delivered, want %d", len(c.seen), len(c.parts))
	}
}

// commitAll commits every partition up to what the checker saw.
func (c *checker) commitAll(r *sourceReader) {
	c.t.Helper()
	for p, n := range c.next {
		if err := r.Commit(int(p), n-1); err != nil {
			c.t.Fatal(err)
		}
	}
}

// waitBacklog waits until the subscription's backlog on topic is want.
func waitBacklog(t *testing.T, b *pulsartest.Broker, topic, sub string, want int64) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		got := b.Stats(topic).Backlog(sub)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog of %s on %s = %d, want %d", sub, topic, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectNothing subscribes to topic and fails if a message arrives.
func expectNothing(t *testing.T, url, topic, sub string, typ pulsarapi.SubscriptionType) {
	t.Helper()
	c, err := testClient(t, url).Subscribe(pulsarapi.ConsumerOptions{Topic: topic, SubscriptionName: sub, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if m, err := c.Receive(ctx); err == nil {
		t.Fatalf("got message %s back after acknowledging everything", m.Payload())
	}
}

func TestSourceBoundedRead(t *testing.T) {
	for _, typ := range []string{Exclusive, Failover, Shared, KeyShared} {
		t.Run(typ, func(t *testing.T) {
			b := startBroker(t)
			topic := "persistent://public/default/t"
			if err := b.CreateTopic(topic, 4); err != nil {
				t.Fatal(err)
			}
			parts := produce(t, b.URL(), topic, 500)
			r := openSource(t, fmt.Sprintf(`source "pulsar" {
  service_url       = %q
  topics            = [%q]
  subscription      = "s"
  subscription_type = %q
  start             = "earliest"
  end               = "latest"
}`, b.URL(), topic, typ))
			if r.Partitions() != 4 {
				t.Fatalf("Partitions() = %d, want 4", r.Partitions())
			}
			c := newChecker(t, parts)
			readAll(t, r, c.add)
			c.complete()
			// Reading again after the end still ends.
			if err := r.Read(context.Background(), record.NewBatch(sourceRecord, 1), 1); !errors.Is(err, io.EOF) {
				t.Fatalf("Read after the end: %v, want io.EOF", err)
			}
			c.commitAll(r)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			waitBacklog(t, b, topic, "s", 0)
			expectNothing(t, b.URL(), topic, "s", subscriptionType(typ))
		})
	}
}

func TestSourceCommitPartly(t *testing.T) {
	b := startBroker(t)
	topic := "persistent://public/default/t"
	if err := b.CreateTopic(topic, 4); err != nil {
		t.Fatal(err)
	}
	// Without batches: a cumulative acknowledgement inside a batch entry
	// leaves the whole entry unacknowledged.
	produceWith(t, b.URL(), topic, 100, false)
	r := openSource(t, fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = [%q]
  subscription = "s"
  start        = "earliest"
  end          = "latest"
}`, b.URL(), topic))
	counts := map[int32]int64{}
	readAll(t, r, func(b *record.Batch) {
		for _, o := range b.Origins {
			counts[o.Partition]++
		}
	})
	// Acknowledge all but the last 3 messages of each partition.
	var left int64
	for p, n := range counts {
		if err := r.Commit(int(p), n-4); err != nil {
			t.Fatal(err)
		}
		left += 3
	}
	r.Close()
	waitBacklog(t, b, topic, "s", left)
}

func TestSourceReconnect(t *testing.T) {
	for _, typ := range []string{Exclusive, Failover} {
		t.Run(typ, func(t *testing.T) {
			b := startBroker(t)
			topic := "persistent://public/default/t"
			if err := b.CreateTopic(topic, 4); err != nil {
				t.Fatal(err)
			}
			parts := produce(t, b.URL(), topic, 400)
			r := openSource(t, fmt.Sprintf(`source "pulsar" {
  service_url         = %q
  topics              = [%q]
  subscription        = "s"
  subscription_type   = %q
  start               = "earliest"
  end                 = "latest"
  receiver_queue_size = 10
}`, b.URL(), topic, typ))
			c := newChecker(t, parts)
			batches := 0
			readAll(t, r, func(batch *record.Batch) {
				c.add(batch)
				batches++
				switch batches {
				case 3:
					c.commitAll(r) // some acks may be lost with the connection
					b.DropConnections()
				case 8:
					b.UnloadTopic(topic)
				}
			})
			c.complete()
			r.mu.Lock()
			t.Logf("%d messages delivered again and skipped", r.redelivered)
			r.mu.Unlock()
			c.commitAll(r)
			r.Close()
			waitBacklog(t, b, topic, "s", 0)
		})
	}
}

func TestSourceEmptyAndConsumed(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("persistent://public/default/empty", 2); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = ["empty", "full"]
  subscription = "s"
  start        = "earliest"
  end          = "latest"
}`, b.URL())
	parts := produce(t, b.URL(), "full", 20)
	for i := range parts {
		parts[i] = 2 // after the two partitions of "empty"
	}
	r := openSource(t, src)
	if r.Partitions() != 3 {
		t.Fatalf("Partitions() = %d, want 3", r.Partitions())
	}
	c := newChecker(t, parts)
	readAll(t, r, c.add)
	c.complete()
	c.commitAll(r)
	r.Close()
	waitBacklog(t, b, "persistent://public/default/full", "s", 0)

	// Everything was acknowledged: a second bounded read gets nothing and
	// ends once the partitions stayed silent.
	r = openSource(t, src)
	r.emptyAfter = 200 * time.Millisecond
	start := time.Now()
	readAll(t, r, func(b *record.Batch) { t.Fatalf("got %d rows from an acknowledged subscription", b.Rows) })
	if d := time.Since(start); d > testTimeout {
		t.Fatalf("ending took %v", d)
	}
	r.Close()
}

func TestSourceUnboundedCancel(t *testing.T) {
	b := startBroker(t)
	r := openSource(t, fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = ["t"]
  subscription = "s"
}`, b.URL()))
	defer r.Close()
	if r.Partitions() != 1 {
		t.Fatalf("Partitions() = %d, want 1", r.Partitions())
	}
	produce(t, b.URL(), "t", 1) // after the subscription: start = latest sees it
	batch := record.NewBatch(sourceRecord, 4)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := r.Read(ctx, batch, 4); err != nil || batch.Rows != 1 || batch.Columns[0].String(0) != `{"i":0}` {
		t.Fatalf("Read: %v, %d rows", err, batch.Rows)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	batch.Reset()
	if err := r.Read(ctx, batch, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with nothing to read: %v, want the context's error", err)
	}
}

// consume reads n messages of topic from the start.
func consume(t *testing.T, url, topic string, n int) []pulsarapi.Message {
	t.Helper()
	c, err := testClient(t, url).Subscribe(pulsarapi.ConsumerOptions{
		Topic: topic, SubscriptionName: "check", SubscriptionInitialPosition: pulsarapi.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []pulsarapi.Message
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for len(out) < n {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, m)
	}
	return out
}

func TestSinkWrite(t *testing.T) {
	b := startBroker(t)
	c, diags := plugintest.Build(SinkPlugin, fmt.Sprintf(`sink "pulsar" "out" {
  service_url = %q
  topic       = "results"
  properties  = { producer = "sluice" }
}`, b.URL()), window)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Sink)
	s.Conn.OperationTimeout = testTimeout
	w, err := s.Open(context.Background(), runtime())
	if err != nil {
		t.Fatal(err)
	}
	batch := record.NewBatch(window, 4)
	for i := range 50 {
		plugintest.AppendRow(batch, record.Origin{}, int64(1714564800000), int64(1714564860000), fmt.Sprint("a", i), int64(i), i%2 == 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	b.DelayReceipts(100 * time.Millisecond)
	start := time.Now()
	if err := w.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("Write returned after %v, before the broker's receipts", d)
	}
	b.DelayReceipts(0)
	// Write returned: the broker has every row.
	if got := b.Stats("results").Messages(); got != 50 {
		t.Fatalf("broker has %d messages after Write, want 50", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := consume(t, b.URL(), "results", 50)
	for i, m := range msgs {
		want := fmt.Sprintf(`{"window_start":"2024-05-01T12:00:00.000Z","window_end":"2024-05-01T12:01:00.000Z","action":"a%d","events":%d,"final":%v}`, i, i, i%2 == 0)
		if string(m.Payload()) != want {
			t.Fatalf("message %d = %s, want %s", i, m.Payload(), want)
		}
		if key := fmt.Sprintf("p|1714564800000|a%d", i); m.Key() != key {
			t.Fatalf("message %d key = %q, want %q", i, m.Key(), key)
		}
		if m.Properties()["producer"] != "sluice" {
			t.Fatalf("message %d properties = %v", i, m.Properties())
		}
	}
}

func TestSinkKeyExpression(t *testing.T) {
	b := startBroker(t)
	c, diags := plugintest.Build(SinkPlugin, fmt.Sprintf(`sink "pulsar" "out" {
  service_url = %q
  topic       = "events"
  key         = "user_id"
  compression = "zstd"
  batching    = false
}`, b.URL()), plugintest.Events)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Sink)
	s.Conn.OperationTimeout = testTimeout
	w, err := s.Open(context.Background(), runtime())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	batch := record.NewBatch(plugintest.Events, 2)
	plugintest.AppendRow(batch, record.Origin{}, 42, "click", int64(0), "ios")
	plugintest.AppendRow(batch, record.Origin{}, nil, "view", int64(1), nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := w.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	msgs := consume(t, b.URL(), "events", 2)
	if msgs[0].Key() != "42" || msgs[1].Key() != "" {
		t.Fatalf("keys %q, %q", msgs[0].Key(), msgs[1].Key())
	}
	if want := `{"user_id":null,"action":"view","ts":"1970-01-01T00:00:00.001Z","device":null}`; string(msgs[1].Payload()) != want {
		t.Fatalf("payload %s, want %s", msgs[1].Payload(), want)
	}
}

func TestDeadLetterWrite(t *testing.T) {
	b := startBroker(t)
	c, diags := plugintest.Build(DeadLetterPlugin, fmt.Sprintf(`dead_letter "pulsar" {
  service_url = %q
  topic       = "dead"
}`, b.URL()), plugintest.Events)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d := c.(*DeadLetter)
	d.Conn.OperationTimeout = testTimeout
	w, err := d.Open(context.Background(), runtime())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 250e6, time.FixedZone("x", 3600))
	recs := []plugins.DeadRecord{
		{Time: at, Stage: `parse "json"`, Reason: "bad", Payload: []byte{0xff, '{'}, Origin: record.Origin{Partition: 3, Offset: 17}},
		{Time: at, Stage: "map", Reason: "division by zero", Payload: []byte(`{"a":1}`)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := w.WriteDead(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := consume(t, b.URL(), "dead", 2)
	if string(msgs[0].Payload()) != "\xff{" || string(msgs[1].Payload()) != `{"a":1}` {
		t.Fatalf("payloads %q, %q", msgs[0].Payload(), msgs[1].Payload())
	}
	want := map[string]string{"pipeline": "p", "stage": `parse "json"`, "reason": "bad", "partition": "3", "offset": "17", "time": "2024-05-01T11:00:00.250Z"}
	if got := msgs[0].Properties(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("properties %v, want %v", got, want)
	}
}

func TestSourceTopicsPattern(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("persistent://public/default/ev-a", 2); err != nil {
		t.Fatal(err)
	}
	partsA := produce(t, b.URL(), "ev-a", 60)
	partsB := produce(t, b.URL(), "ev-b", 30)
	produce(t, b.URL(), "other", 5)
	r := openSource(t, fmt.Sprintf(`source "pulsar" {
  service_url    = %q
  topics_pattern = "persistent://public/default/ev-.*"
  subscription   = "s"
  start          = "earliest"
  end            = "latest"
}`, b.URL()))
	defer r.Close()
	if r.Partitions() != 3 {
		t.Fatalf("Partitions() = %d, want 3", r.Partitions())
	}
	// ev-a's partitions are 0 and 1, ev-b is 2.
	seen := map[string]int{}
	readAll(t, r, func(batch *record.Batch) {
		for row, o := range batch.Origins {
			seen[fmt.Sprintf("%d:%s", o.Partition, batch.Columns[0].String(row))]++
		}
	})
	want := map[string]int{}
	for k, p := range partsA {
		want[fmt.Sprintf(`%d:{"i":%d}`, p, k)] = 1
	}
	for k := range partsB {
		want[fmt.Sprintf(`2:{"i":%d}`, k)] = 1
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", seen, want)
	}
}
