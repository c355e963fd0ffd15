package pulsar_test

// A broker-side fault in the middle of a windowed run — every connection
// dropped, or every partition unloaded — loses nothing and duplicates
// nothing: the window results equal those of a run without a fault, and
// those computed from the events.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

const (
	dropTopic      = "persistent://public/default/drop-events"
	dropPartitions = 4
	// dropEvents events, one every dropStep of event time: 8 one-minute
	// windows of 3 actions each.
	dropEvents = 2400
	dropStep   = 200 * time.Millisecond
)

var dropActions = []string{"click", "view", "buy"}

// dropPipeline is the pipeline every run executes; only the subscription
// and its type change. Its sink is replaced by a dropSink. Every partition
// receives its events in event-time order, so with a 10 s watermark no
// event is late however the partitions interleave, and the results do not
// depend on timing. The idle timeout is longer than any run, so a
// partition silent during a reconnection never stops holding the
// watermark back.
func dropPipeline(t *testing.T, url, sub, typ string) *config.Pipeline {
	t.Helper()
	src := fmt.Sprintf(`pipeline "drops" {
  instances = 1 # one process reads every partition
  source "pulsar" {
    service_url         = %q
    topics              = [%q]
    subscription        = %q
    subscription_type   = %q
    start               = "earliest"
    end                 = "latest"
    receiver_queue_size = 10
  }
  parse "json" {
    field "n" { type = "int" }
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    watermark    = "10s"
    idle_timeout = "10m"
    group_by     = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
      total  = "sum(n)"
    }
  }
  sink "file" "out" { path = "unused.ndjson" }
}
`, url, dropTopic, sub, typ)
	project, diags := config.LoadSources([]config.Source{{Name: "drops.hcl", Bytes: []byte(src)}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return project.Pipelines[0]
}

// dropEvent is event n: its payload and its key.
func dropEvent(n int) (payload []byte, key string) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ts := base.Add(time.Duration(n) * dropStep).UnixMilli()
	user := n % 13
	return fmt.Appendf(nil, `{"n":%d,"user_id":%d,"action":%q,"ts":%d}`, n, user, dropActions[n%3], ts), fmt.Sprint(user)
}

// dropExpected computes the window rows of the events, canonical and
// sorted.
func dropExpected() []string {
	type key struct {
		start  int64
		action string
	}
	type agg struct {
		events, total int
		users         map[int]bool
	}
	aggs := map[key]*agg{}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for n := range dropEvents {
		ts := base.Add(time.Duration(n) * dropStep).UnixMilli()
		k := key{ts - ts%60_000, dropActions[n%3]}
		a := aggs[k]
		if a == nil {
			a = &agg{users: map[int]bool{}}
			aggs[k] = a
		}
		a.events++
		a.total += n
		a.users[n%13] = true
	}
	var rows []string
	for k, a := range aggs {
		rows = append(rows, dropCanonical(fmt.Sprintf(`{"window_start":%q,"window_end":%q,"action":%q,"events":%d,"users":%d,"total":%d}`,
			time.UnixMilli(k.start).UTC().Format("2006-01-02T15:04:05.000Z"),
			time.UnixMilli(k.start+60_000).UTC().Format("2006-01-02T15:04:05.000Z"),
			k.action, a.events, len(a.users), a.total)))
	}
	slices.Sort(rows)
	return rows
}

// dropCanonical re-encodes a JSON object with sorted keys and numbers as
// written.
func dropCanonical(line string) string {
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		panic(fmt.Sprintf("%q: %v", line, err))
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// dropProduce sends the events into the partitioned topic, keyed by user,
// in small batches so that the broker dispatches a few messages at a time.
func dropProduce(t *testing.T, url string) {
	t.Helper()
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 10 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{
		Topic:                   dropTopic,
		BatchingMaxMessages:     5,
		BatchingMaxPublishDelay: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	for n := range dropEvents {
		payload, key := dropEvent(n)
		producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: payload, Key: key}, func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		})
	}
	if err := producer.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// dropSink collects the rows written to it; before the k-th Write (from 1)
// it calls faults[k], while the pipeline waits on the sink.
type dropSink struct {
	faults map[int]func()

	mu     sync.Mutex
	rows   []string
	writes int
}

func (s *dropSink) Output() record.Schema { return record.Schema{} }

func (s *dropSink) Open(context.Context, *plugins.Runtime) (plugins.Writer, error) { return s, nil }

func (s *dropSink) Write(_ context.Context, b *record.Batch) error {
	s.mu.Lock()
	s.writes++
	k := s.writes
	s.mu.Unlock()
	if f := s.faults[k]; f != nil {
		f()
	}
	var buf []byte
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Rows {
		buf = ndjson.AppendRow(buf[:0], b, i)
		s.rows = append(s.rows, dropCanonical(string(buf)))
	}
	return nil
}

func (s *dropSink) Close() error { return nil }

// dropLogs keeps a run's logs: it counts the messages the client says it
// received again after a reconnection and discarded ("receive N messages ,
// all filtered"), and keeps the other records.
type dropLogs struct {
	mu       sync.Mutex
	filtered int
	other    map[string]int // "LEVEL message" -> count
}

func (h *dropLogs) Enabled(context.Context, slog.Level) bool { return true }
func (h *dropLogs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *dropLogs) WithGroup(string) slog.Handler            { return h }

func (h *dropLogs) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n int
	if _, err := fmt.Sscanf(r.Message, "receive %d messages", &n); err == nil && strings.HasSuffix(r.Message, "all filtered") {
		h.filtered += n
		return nil
	}
	if h.other == nil {
		h.other = map[string]int{}
	}
	h.other[r.Level.String()+" "+r.Message]++
	return nil
}

// dropRun runs the pipeline on subscription sub and returns its sorted
// window rows; it checks that every event was read exactly once and that
// the subscription acknowledged everything.
func dropRun(t *testing.T, b *pulsartest.Broker, sub, typ string, faults map[int]func()) []string {
	t.Helper()
	sink := &dropSink{faults: faults}
	logs := &dropLogs{}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	start := time.Now()
	stats, err := runner.Run(ctx, dropPipeline(t, b.URL(), sub, typ), runner.Options{
		BatchSize: 16,
		Logger:    slog.New(logs),
		Sink:      func(*config.Stage) plugins.SinkOpener { return sink },
	})
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, stats)
	}
	logs.mu.Lock()
	t.Logf("%s run: %v, %d sink writes, %+v; the client discarded %d messages delivered again",
		sub, time.Since(start).Round(time.Millisecond), sink.writes, stats, logs.filtered)
	if len(logs.other) > 0 {
		t.Logf("other logs (client warnings and errors while reconnecting): %v", logs.other)
	}
	logs.mu.Unlock()
	if stats.In != dropEvents || stats.Out != dropEvents || stats.Late != 0 || stats.Dead != 0 || stats.Filtered != 0 {
		t.Errorf("counters %+v: want %d records in and out, none late, dead or filtered", stats, dropEvents)
	}
	for k := range faults {
		if k > sink.writes {
			t.Errorf("the fault planned before write %d never happened: only %d writes", k, sink.writes)
		}
	}
	// Every message was acknowledged (the last acknowledgements are sent
	// when the source closes; the broker applies them asynchronously).
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats(dropTopic).Backlog(sub) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s: backlog %d after the run, want 0", sub, b.Stats(dropTopic).Backlog(sub))
		}
		time.Sleep(10 * time.Millisecond)
	}
	rows := slices.Clone(sink.rows)
	slices.Sort(rows)
	return rows
}

// dropPartial checks, at the moment of a fault, that the run is in the
// middle: the broker holds messages it has not dispatched yet and messages
// dispatched but not acknowledged; it returns the acknowledged count.
func dropPartial(t *testing.T, b *pulsartest.Broker, sub string) (acked int64) {
	var backlog, unacked int64
	for _, p := range b.Stats(dropTopic).Partitions {
		s := p.Subscriptions[sub]
		backlog += s.Backlog
		unacked += s.Unacked
	}
	undispatched := backlog - unacked
	t.Logf("fault: %d acknowledged, %d dispatched and not acknowledged, %d not dispatched yet", dropEvents-backlog, unacked, undispatched)
	if undispatched <= 0 || unacked <= 0 {
		t.Errorf("the fault is not in the middle of the run: %d dispatched and not acknowledged, %d not dispatched (of %d)", unacked, undispatched, dropEvents)
	}
	return dropEvents - backlog
}

// dropDiff describes how got differs from want as multisets.
func dropDiff(want, got []string) string {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var sb strings.Builder
	for _, r := range slices.Sorted(maps.Keys(count)) {
		switch c := count[r]; {
		case c > 0:
			fmt.Fprintf(&sb, "  missing ×%d: %s\n", c, r)
		case c < 0:
			fmt.Fprintf(&sb, "  extra   ×%d: %s\n", -c, r)
		}
	}
	return sb.String()
}

// TestConnectionDropMidRun runs a windowed pipeline on a 4-partition topic
// and, twice while it runs, drops every connection or unloads every
// partition. The client reconnects and the broker delivers again what was
// not acknowledged; the window rows must equal those of a run without a
// fault, every event counted once, and the subscription must end with
// nothing left unacknowledged.
func TestConnectionDropMidRun(t *testing.T) {
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic(dropTopic, dropPartitions); err != nil {
		t.Fatal(err)
	}
	dropProduce(t, b.URL())
	want := dropExpected()
	if len(want) != 24 {
		t.Fatalf("%d expected rows, want 8 windows × 3 actions", len(want))
	}
	// The same pipeline over the same events without a fault.
	baseline := dropRun(t, b, "baseline", "exclusive", nil)
	if d := dropDiff(want, baseline); d != "" {
		t.Fatalf("the run without a fault differs from the rows computed from the events:\n%s", d)
	}

	faults := []struct {
		name  string
		fault func()
	}{
		{"drop_connections", b.DropConnections},
		{"unload_partitions", func() {
			for i := range dropPartitions {
				b.UnloadTopic(fmt.Sprintf("%s-partition-%d", dropTopic, i))
			}
		}},
	}
	for _, f := range faults {
		for _, typ := range []string{"exclusive", "failover"} {
			t.Run(f.name+"/"+typ, func(t *testing.T) {
				sub := f.name + "-" + typ
				// The first fault comes when the first window is written,
				// before anything was acknowledged; the second when the
				// fourth is, once the first windows' messages were
				// acknowledged. Each time the broker also holds messages it
				// has not dispatched yet, and messages dispatched but not
				// acknowledged: in the client's queue, or read by the
				// pipeline and waiting in open windows.
				first := func() {
					if acked := dropPartial(t, b, sub); acked != 0 {
						t.Errorf("%d messages acknowledged before the first window was written", acked)
					}
					f.fault()
				}
				second := func() {
					// Acknowledgements are throttled (50 ms) and grouped by
					// the client (100 ms): wait for those of the first
					// windows to arrive.
					deadline := time.Now().Add(3 * time.Second)
					for b.Stats(dropTopic).Backlog(sub) == dropEvents && time.Now().Before(deadline) {
						time.Sleep(5 * time.Millisecond)
					}
					if acked := dropPartial(t, b, sub); acked == 0 {
						t.Logf("nothing acknowledged yet at the second fault")
					}
					f.fault()
				}
				got := dropRun(t, b, sub, typ, map[int]func(){1: first, 4: second})
				if d := dropDiff(baseline, got); d != "" {
					t.Errorf("window rows after the fault differ from the run without one:\n%s", d)
				}
			})
		}
	}
}
