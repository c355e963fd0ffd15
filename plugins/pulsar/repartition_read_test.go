package pulsar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// TestShuffleWatermark follows the markers of two publishing tasks: the
// least watermark of those not idle, none before both were heard from,
// unchanged while all are idle, never lower, the end once both ended.
func TestShuffleWatermark(t *testing.T) {
	const none, end = eventtime.NoWatermark, eventtime.EndOfTime
	steps := []struct {
		m        mark
		raised   bool
		want     int64
		finished bool
	}{
		{mark{task: "a", tasks: 2, watermark: 100}, false, none, false},
		{mark{task: "b", tasks: 2, watermark: 50}, true, 50, false},
		{mark{task: "a", tasks: 2, watermark: 200}, false, 50, false},
		{mark{task: "b", tasks: 2, watermark: 150}, true, 150, false},
		{mark{task: "b", tasks: 2, watermark: 300, idle: true}, true, 200, false},
		{mark{task: "a", tasks: 2, watermark: 250, idle: true}, false, 200, false},
		{mark{task: "a", tasks: 2, watermark: 400}, true, 400, false},
		{mark{task: "b", tasks: 2, watermark: none}, false, 400, false}, // b restarted
		{mark{task: "b", tasks: 2, watermark: 500}, false, 400, false},
		{mark{task: "a", tasks: 2, watermark: end, end: true}, true, 500, false},
		{mark{task: "a", tasks: 2, watermark: end, end: true}, false, 500, false},
		{mark{task: "b", tasks: 2, watermark: end, end: true}, true, end, true},
	}
	r := newMarkReader()
	for i, s := range steps {
		raised := r.apply(s.m)
		if raised != s.raised || r.Watermark() != s.want || r.finished != s.finished {
			t.Fatalf("step %d %+v: raised %v, watermark %d, finished %v; want %v, %d, %v",
				i, s.m, raised, r.Watermark(), r.finished, s.raised, s.want, s.finished)
		}
	}
	if !isClosed(r.asg.allEnded) {
		t.Fatal("the only task ended, but the assigner was not told")
	}
	// Another number of publishers forgets the earlier ones.
	r = newMarkReader()
	r.apply(mark{task: "", tasks: 1, watermark: 70})
	if r.apply(mark{task: "0", tasks: 2, watermark: 90}) || r.Watermark() != 70 {
		t.Fatalf("after the publishers changed: watermark %d", r.Watermark())
	}
	if !r.apply(mark{task: "1", tasks: 2, watermark: 80}) || r.Watermark() != 80 {
		t.Fatalf("with both new publishers heard from: watermark %d, want 80", r.Watermark())
	}
}

// newMarkReader is a reader of task 0 of a one-task topic, for its marker
// logic alone.
func newMarkReader() *shuffleReader {
	a := &shuffleAssigner{taskAssigner: &taskAssigner{tasks: []*task{{}}}, ended: map[int]bool{}, allEnded: make(chan struct{})}
	r := &shuffleReader{asg: a, byTask: map[string]*upstream{}}
	r.out.Store(eventtime.NoWatermark)
	return r
}

// openShuffle opens the half after r and waits until this process owns
// all n tasks.
func openShuffle(t *testing.T, r *Repartition, n int) *tasks {
	t.Helper()
	a, err := r.OpenTasks(context.Background(), runtime())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if tc, ok := a.(plugins.TaskCounter); !ok || tc.Tasks() != n {
		t.Fatalf("the assigner does not count %d tasks", n)
	}
	ts := &tasks{t: t, a: a, owned: map[string]bool{}}
	ts.waitFor("every task", count(n))
	return ts
}

// readLog is what a shuffle reader returned: the rows' user_ids, and after
// each Read that raised the watermark, how many rows came before.
type readLog struct {
	users  []int64
	raises map[int64]int // watermark -> rows returned when it was reached
	eof    bool
}

// readShuffle reads r until want(log) holds or it returns io.EOF.
func readShuffle(t *testing.T, r plugins.Reader, log *readLog, want func(*readLog) bool) {
	t.Helper()
	if log.raises == nil {
		log.raises = map[int64]int{}
	}
	mr := r.(plugins.MarkedReader)
	b := record.NewBatch(plugintest.Events, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	for !want(log) {
		before := mr.Watermark()
		b.Reset()
		err := r.Read(ctx, b, 1000)
		if errors.Is(err, io.EOF) {
			log.eof = true
			return
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", len(log.users), err)
		}
		if err := b.Validate(); err != nil {
			t.Fatal(err)
		}
		for row := range b.Rows {
			if o := b.Origins[row]; o.Partition != 0 || o.Offset != int64(len(log.users)) {
				t.Fatalf("row %d has origin %+v", len(log.users), o)
			}
			log.users = append(log.users, b.Columns[0].Ints[row])
		}
		if w := mr.Watermark(); w > before {
			log.raises[w] = len(log.users)
		} else if w < before {
			t.Fatalf("the watermark went back from %d to %d", before, w)
		} else if b.Rows == 0 {
			t.Fatal("a Read returned nothing without raising the watermark")
		}
	}
}

// forceMarkers sends p's markers now.
func forceMarkers(t *testing.T, p *publisher) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.sendMarkers(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestShuffleRead: two publishing tasks, a two-partition topic, both
// tasks read here: every row arrives once in its partition, each batch
// ends at a marker that raises the watermark, the watermark is the least
// of the publishers', and once both ended the readers and the assigner
// end; the markers are acknowledged with the rows.
func TestShuffleRead(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "read", 2, plugintest.Events, "user_id", `watermark_interval = "1h"`)
	marks := plugins.Marks{EventTime: "ts", Tasks: 2}
	p0 := openPublisher(t, r, "0", marks, nil)
	p1 := openPublisher(t, r, "1", marks, nil)
	ts := openShuffle(t, r, 2)
	readers := []plugins.Reader{openTask(t, ts, "0"), openTask(t, ts, "1")}

	tsOf := func(base int64) func(int) int64 { return func(i int) int64 { return base + int64(i) } }
	write(t, p0, eventsBatch(0, 100, 1, tsOf(1_000)))    // watermark 1099
	write(t, p1, eventsBatch(100, 200, 1, tsOf(10_000))) // watermark 10199
	forceMarkers(t, p0)
	forceMarkers(t, p1)
	write(t, p0, eventsBatch(200, 300, 1, tsOf(20_000))) // 20299
	forceMarkers(t, p0)
	write(t, p1, eventsBatch(300, 400, 1, tsOf(30_000)))
	forceMarkers(t, p1) // 30299 and 20299: the least is 20299
	logs := make([]readLog, 2)
	for i, rd := range readers {
		readShuffle(t, rd, &logs[i], func(l *readLog) bool { return rd.(plugins.MarkedReader).Watermark() == 20_299 })
	}
	for _, p := range []*publisher{p0, p1} {
		if err := p.EndInput(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for i, rd := range readers {
		readShuffle(t, rd, &logs[i], func(*readLog) bool { return false })
		if !logs[i].eof || rd.(plugins.MarkedReader).Watermark() != eventtime.EndOfTime {
			t.Fatalf("task %d did not end at the end of time", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := ts.a.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after every partition ended: %v, want io.EOF", err)
	}

	parts := dump(t, b, r)
	expectOnce(t, parts, 400)
	for i, items := range parts {
		// Replay the partition: the rows before each marker that raised
		// the least watermark were returned when it rose, not more.
		var want []int64
		last := map[string]int64{}
		w := eventtime.NoWatermark
		for _, it := range items {
			want = append(want, it.users...)
			if it.mark == nil {
				continue
			}
			last[it.mark.task] = it.mark.watermark
			if len(last) < 2 {
				continue
			}
			low := min(last["0"], last["1"])
			if low > w {
				w = low
				if got, ok := logs[i].raises[w]; !ok || got != len(want) {
					t.Fatalf("task %d: the watermark reached %d after %d rows (%v), want after %d", i, w, got, ok, len(want))
				}
			}
		}
		if !slices.Equal(logs[i].users, want) {
			t.Fatalf("task %d read %d rows, not those of its partition (%d) in order", i, len(logs[i].users), len(want))
		}
		if _, ok := logs[i].raises[20_299]; !ok {
			t.Fatalf("task %d never held the least watermark 20299: %v", i, logs[i].raises)
		}
		if err := readers[i].(plugins.Acknowledger).Commit(0, int64(len(want)-1)); err != nil {
			t.Fatal(err)
		}
		waitBacklog(t, b, partitionName(r.Topic, i), r.Subscription, 0)
	}
}

func partitionName(topic string, i int) string {
	return fmt.Sprintf("%s-partition-%d", topic, i)
}

// TestShuffleResume: a reader resumed from the position of a row in the
// middle of a message goes on after it; a commit acknowledges only whole
// messages.
func TestShuffleResume(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "resume", 1, plugintest.Events, "user_id", `watermark_interval = "1h"`)
	p := openPublisher(t, r, "", plugins.Marks{Tasks: 1}, nil)
	for k := range 3 {
		write(t, p, eventsBatch(k*10, k*10+10, 1, flatTime)) // one message each
	}
	prepare(t, p)
	ts := openShuffle(t, r, 1)
	rd := openTask(t, ts, "0")
	var log readLog
	readShuffle(t, rd, &log, func(l *readLog) bool { return len(l.users) >= 15 })
	pos, err := rd.(plugins.Resumer).Position(0, 14) // row 4 of the second message
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.(plugins.Acknowledger).Commit(0, 14); err != nil {
		t.Fatal(err)
	}
	waitBacklog(t, b, partitionName(r.Topic, 0), r.Subscription, 2) // the first message went
	rd.Close()
	ts.a.Close()

	ts = openShuffle(t, r, 1)
	rd = openTask(t, ts, "0")
	key := rd.(plugins.Resumer).PartitionKey(0)
	if key != partitionName(r.Topic, 0) {
		t.Fatalf("partition key %q", key)
	}
	if err := rd.(plugins.Resumer).Resume(map[string][]byte{key: pos}); err != nil {
		t.Fatal(err)
	}
	log = readLog{}
	readShuffle(t, rd, &log, func(l *readLog) bool { return len(l.users) >= 15 })
	want := []int64{15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}
	if !slices.Equal(log.users, want) {
		t.Fatalf("resumed at %v, want %v", log.users, want)
	}
}

// TestShuffleBadMessages: a message that is not this block's records
// fails the read with an error naming the topic, the partition, the
// message and the fix.
func TestShuffleBadMessages(t *testing.T) {
	other := record.Schema{Columns: []record.Column{{Name: "user_id", Type: record.ColumnInt}}}
	tests := []struct {
		name    string
		publish func(t *testing.T, b *pulsartest.Broker, r *Repartition)
		want    string
	}{
		{"another schema", func(t *testing.T, b *pulsartest.Broker, r *Repartition) {
			w := openPublisher(t, shuffleBlock(t, b, "bad-schema", 1, other, "user_id"), "", plugins.Marks{Tasks: 1}, nil)
			rows := record.NewBatch(other, 1)
			plugintest.AppendRow(rows, record.Origin{}, int64(1))
			write(t, w, rows)
			prepare(t, w)
		}, "it was written with a record schema of fingerprint"},
		{"garbage", func(t *testing.T, b *pulsartest.Broker, r *Repartition) {
			prod, err := testClient(t, b.URL()).CreateProducer(pulsarapi.ProducerOptions{Topic: r.Topic})
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			props := map[string]string{propSchema: newRowCodec(r.Input).fingerprint}
			if _, err := prod.Send(context.Background(), &pulsarapi.ProducerMessage{Payload: []byte("hello"), Properties: props}); err != nil {
				t.Fatal(err)
			}
		}, "not a message of rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			r := shuffleBlock(t, b, "bad-schema", 1, plugintest.Events, "user_id")
			ts := openShuffle(t, r, 1)
			tc.publish(t, b, r)
			rd := openTask(t, ts, "0")
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var err error
			for err == nil {
				err = rd.Read(ctx, record.NewBatch(plugintest.Events, 10), 10)
			}
			for _, want := range []string{"message ", r.Topic + "-partition-0 (partition 0)", tc.want, "name a new topic"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestShuffleCrossing: a block carrying the partial rows of a combining
// window routes them by the key and publishes the watermark handed to it;
// the half after reads them with their schema.
func TestShuffleCrossing(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "crossing", 2, plugintest.Events, "action", `watermark_interval = "1h"`)
	if !r.Combines() || shuffleBlock(t, b, "crossing", 2, plugintest.Events, "action", "combine = false").Combines() {
		t.Fatal("combine is not true by default, or not false when written so")
	}
	partial := record.Schema{Columns: []record.Column{
		{Name: "window_start", Type: record.ColumnTimestamp}, {Name: "window_end", Type: record.ColumnTimestamp},
		{Name: "action", Type: record.ColumnString}, {Name: "__partial_events", Type: record.ColumnString},
	}}
	if _, err := r.Crossing(record.Schema{Columns: partial.Columns[:2]}).OpenPublisher(context.Background(), runtime(), plugins.Marks{Given: true, Tasks: 1}); err == nil ||
		!strings.Contains(err.Error(), `lack the key field "action"`) {
		t.Fatalf("rows without the key field: %v", err)
	}
	c := r.Crossing(partial).(*Repartition)
	if !slices.Equal(c.Output().Columns, partial.Columns) || !slices.Equal(c.KeyIndex, []int{2}) || r.Input.Columns[1].Name != "action" {
		t.Fatalf("crossing block: output %s, key columns %v; the block's own input %s", c.Output(), c.KeyIndex, r.Input)
	}
	p := openPublisher(t, c, "", plugins.Marks{Given: true, Tasks: 1}, nil)
	rows := record.NewBatch(partial, 4)
	for i, action := range []string{"click", "view", "buy", "click"} {
		plugintest.AppendRow(rows, record.Origin{Offset: int64(i)}, int64(0), int64(60_000), action, "state")
	}
	write(t, p, rows)
	p.SetWatermark(60_000, false)
	forceMarkers(t, p)
	p.SetWatermark(120_000, true) // idle: the readers keep 60000
	forceMarkers(t, p)
	if err := p.EndInput(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := openShuffle(t, c, 2)
	var actions []string
	for _, task := range []string{"0", "1"} {
		rd := openTask(t, ts, task)
		mr := rd.(plugins.MarkedReader)
		var seen []int64
		out := record.NewBatch(partial, 10)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		for {
			out.Reset()
			err := rd.Read(ctx, out, 10)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for row := range out.Rows {
				actions = append(actions, out.Columns[2].String(row))
			}
			// Rows may come in a Read of their own, before the marker
			// after them arrived: only the watermark's changes count.
			if w := mr.Watermark(); w != eventtime.NoWatermark && (len(seen) == 0 || seen[len(seen)-1] != w) {
				seen = append(seen, w)
			}
		}
		cancel()
		if !slices.Equal(seen, []int64{60_000, eventtime.EndOfTime}) {
			t.Fatalf("task %s followed the watermarks %v, want 60000 then the end", task, seen)
		}
	}
	slices.Sort(actions)
	if !slices.Equal(actions, []string{"buy", "click", "click", "view"}) {
		t.Fatalf("read %v", actions)
	}
}
