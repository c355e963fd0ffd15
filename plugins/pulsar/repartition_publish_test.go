package pulsar

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// eventsBatch returns rows from..to-1 of the test schema: user_id i, ts
// tsOf(i), read from source partition i % sources.
func eventsBatch(from, to, sources int, tsOf func(i int) int64) *record.Batch {
	b := record.NewBatch(plugintest.Events, to-from)
	for i := from; i < to; i++ {
		plugintest.AppendRow(b, record.Origin{Partition: int32(i % sources), Offset: int64(i)}, int64(i), "click", tsOf(i), fmt.Sprintf("d%d", i%3))
	}
	return b
}

func flatTime(int) int64 { return 1_000 }

// openPublisher opens r's publisher for task with marks and recovers it
// from manifest.
func openPublisher(t *testing.T, r *Repartition, task string, marks plugins.Marks, manifest []byte) *publisher {
	t.Helper()
	rt := runtime()
	rt.Task = task
	return openPublisherAt(t, r, rt, marks, manifest)
}

func openPublisherAt(t *testing.T, r *Repartition, rt *plugins.Runtime, marks plugins.Marks, manifest []byte) *publisher {
	t.Helper()
	w, err := r.OpenPublisher(context.Background(), rt, marks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	p := w.(*publisher)
	if err := p.Recover(context.Background(), manifest); err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, w plugins.Writer, b *record.Batch) {
	t.Helper()
	if err := w.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func prepare(t *testing.T, p *publisher) []byte {
	t.Helper()
	m, err := p.Prepare(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal("Prepare returned an empty manifest")
	}
	return m
}

// item is one message of a partition: a marker or rows.
type item struct {
	mark   *mark
	users  []int64 // the rows' user_id
	times  []int64 // the rows' ts
	sender string  // the rows' publishing task
}

// dump reads every message of every partition of r's topic.
func dump(t *testing.T, b *pulsartest.Broker, r *Repartition) [][]item {
	t.Helper()
	client := testClient(t, b.URL())
	parts, err := client.TopicPartitions(r.Topic)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(parts, func(i, j int) bool { return comparePartitionTopics(parts[i], parts[j]) < 0 })
	codec := newRowCodec(r.Input)
	var out [][]item
	for _, topic := range parts {
		rd, err := client.CreateReader(pulsarapi.ReaderOptions{Topic: topic, StartMessageID: pulsarapi.EarliestMessageID()})
		if err != nil {
			t.Fatal(err)
		}
		var items []item
		for rd.HasNext() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			msg, err := rd.Next(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := parseMark(msg.Properties()); ok {
				items = append(items, item{mark: &m})
				continue
			}
			n, data, err := messageRows(msg.Payload())
			if err != nil {
				t.Fatal(err)
			}
			rows := record.NewBatch(r.Input, n)
			for range n {
				if data, err = codec.decodeRow(rows, data); err != nil {
					t.Fatal(err)
				}
				rows.Rows++
			}
			items = append(items, item{users: rows.Columns[0].Ints, times: rows.Columns[2].Ints, sender: msg.Properties()[propTask]})
		}
		rd.Close()
		out = append(out, items)
	}
	return out
}

// userCounts counts the rows of each user_id in the topic's dump.
func userCounts(parts [][]item) map[int64]int {
	seen := map[int64]int{}
	for _, items := range parts {
		for _, it := range items {
			for _, u := range it.users {
				seen[u]++
			}
		}
	}
	return seen
}

// expectOnce fails unless the dump holds user_ids 0..n-1 once each, each
// in the partition its key routes it to.
func expectOnce(t *testing.T, parts [][]item, n int) {
	t.Helper()
	seen := userCounts(parts)
	for u := range int64(n) {
		if seen[u] != 1 {
			t.Fatalf("row %d is in the topic %d times, want once", u, seen[u])
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct rows, want %d", len(seen), n)
	}
	b := eventsBatch(0, n, 1, flatTime)
	for p, items := range parts {
		for _, it := range items {
			for _, u := range it.users {
				if want := keyPartition(b, []int{0}, int(u), len(parts)); want != p {
					t.Fatalf("row %d is in partition %d, its key routes it to %d", u, p, want)
				}
			}
		}
	}
}

// TestRepartitionPublisherExactlyOnce: rows written after the last
// checkpoint and published before a crash are published again by the
// resumed run, in batches cut differently, and the topic holds each once.
func TestRepartitionPublisherExactlyOnce(t *testing.T) {
	tests := []struct {
		name   string
		replay []int // the sizes of the batches of the replay of rows 100..299
	}{
		{"the replay in one batch with new rows", []int{200}},
		{"the replay in small batches", []int{7, 13, 1, 29, 50, 100}},
		{"the replay cut at the crash", []int{150, 50}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			r := shuffleBlock(t, b, fmt.Sprintf("once-%d", i), 4, plugintest.Events, "user_id")
			w1 := openPublisher(t, r, "0", plugins.Marks{Tasks: 1}, nil)
			write(t, w1, eventsBatch(0, 60, 1, flatTime))
			write(t, w1, eventsBatch(60, 100, 1, flatTime))
			m := prepare(t, w1)
			for from := 100; from < 250; from += 50 {
				write(t, w1, eventsBatch(from, from+50, 1, flatTime))
			}
			// The crash: the rows were published, the checkpoint after
			// them never taken.
			if err := w1.sent.wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			w1.Close()

			w2 := openPublisher(t, r, "0", plugins.Marks{Tasks: 1}, m)
			from := 100
			for _, n := range tc.replay {
				write(t, w2, eventsBatch(from, from+n, 1, flatTime))
				from += n
			}
			prepare(t, w2)
			if w2.duplicates.Load() == 0 {
				t.Fatal("the broker dropped nothing: the replay was not recognized")
			}
			write(t, w2, eventsBatch(300, 400, 1, flatTime))
			prepare(t, w2)
			w2.Close()
			expectOnce(t, dump(t, b, r), 400)
		})
	}
}

// commit prepares and commits, as a completed checkpoint does.
func commit(t *testing.T, p *publisher) {
	t.Helper()
	if err := p.Commit(context.Background(), prepare(t, p)); err != nil {
		t.Fatal(err)
	}
}

// TestRepartitionPublisherFreshStart: a publisher starting afresh (no
// manifest) after another one of its name completed a checkpoint gets ids
// above the broker's, so none of its rows is dropped as a duplicate.
func TestRepartitionPublisherFreshStart(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "fresh", 3, plugintest.Events, "user_id")
	w1 := openPublisher(t, r, "", plugins.Marks{Tasks: 1}, nil)
	write(t, w1, eventsBatch(0, 500, 1, flatTime))
	commit(t, w1)
	w1.Close()
	for round := range 2 {
		w := openPublisher(t, r, "", plugins.Marks{Tasks: 1}, nil)
		write(t, w, eventsBatch(500+round*100, 600+round*100, 1, flatTime))
		commit(t, w)
		if n := w.duplicates.Load(); n != 0 {
			t.Fatalf("round %d: the broker dropped %d messages of a fresh start", round, n)
		}
		w.Close()
	}
	expectOnce(t, dump(t, b, r), 700)
}

// TestRepartitionPublisherNoCheckpointYet: runs that crash before their
// first checkpoint start afresh each time and write the same rows again
// (their source acknowledged nothing): the topic holds each once; once a
// checkpoint was committed, a fresh start writes new rows.
func TestRepartitionPublisherNoCheckpointYet(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "no-checkpoint", 3, plugintest.Events, "user_id")
	w1 := openPublisher(t, r, "2", plugins.Marks{Tasks: 4}, nil)
	write(t, w1, eventsBatch(0, 100, 1, flatTime))
	prepare(t, w1) // the checkpoint is never saved
	w1.Close()
	other := openPublisher(t, r, "3", plugins.Marks{Tasks: 4}, nil) // another task's checkpoints do not count
	commit(t, other)
	w2 := openPublisher(t, r, "2", plugins.Marks{Tasks: 4}, nil)
	write(t, w2, eventsBatch(0, 70, 1, flatTime))
	w2.Close()
	w3 := openPublisher(t, r, "2", plugins.Marks{Tasks: 4}, nil)
	write(t, w3, eventsBatch(0, 150, 1, flatTime))
	commit(t, w3)
	if w3.duplicates.Load() == 0 {
		t.Fatal("the broker dropped nothing: the rows written again were not recognized")
	}
	w3.Close()
	w4 := openPublisher(t, r, "2", plugins.Marks{Tasks: 4}, nil) // --reset-state, say
	write(t, w4, eventsBatch(150, 200, 1, flatTime))
	commit(t, w4)
	if n := w4.duplicates.Load(); n != 0 {
		t.Fatalf("a fresh start after a checkpoint had %d messages dropped", n)
	}
	w4.Close()
	expectOnce(t, dump(t, b, r), 200)
}

// TestRepartitionPublisherManifests: manifests are never empty, and one of
// another task is refused.
func TestRepartitionPublisherManifests(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "manifests", 2, plugintest.Events, "user_id")
	w0 := openPublisher(t, r, "0", plugins.Marks{Tasks: 2}, nil)
	w1 := openPublisher(t, r, "1", plugins.Marks{Tasks: 2}, nil)
	single := openPublisher(t, r, "", plugins.Marks{Tasks: 1}, nil)
	m0, mSingle := prepare(t, w0), prepare(t, single) // nothing written: still a manifest
	plugintest.ExpectRefused(context.Background(), t, plugintest.TaskRefusals(w1, single, m0, mSingle)...)
	if err := w0.Commit(context.Background(), m0); err != nil {
		t.Fatal(err)
	}
	if err := w0.Recover(context.Background(), []byte("{")); err == nil {
		t.Fatal("a garbled manifest was accepted")
	}
}

// TestRepartitionMarkers: a marker follows, in its partition, every record
// written before it; the end goes to every partition after every record.
func TestRepartitionMarkers(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "marks", 3, plugintest.Events, "user_id")
	marks := plugins.Marks{EventTime: "ts", Valve: eventtime.ValveConfig{Watermark: 5 * time.Millisecond}, Tasks: 2}
	w := openPublisher(t, r, "1", marks, nil)
	tsOf := func(i int) int64 { return int64(10_000 + 10*i) }
	for k := range 20 {
		write(t, w, eventsBatch(k*30, (k+1)*30, 2, tsOf))
		if k%4 == 0 {
			w.mu.Lock()
			err := w.sendMarkers(context.Background()) // besides the periodic ones
			w.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.EndInput(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	parts := dump(t, b, r)
	expectOnce(t, parts, 600)
	for p, items := range parts {
		var marks int
		ended := false
		for i, it := range items {
			if ended && len(it.times) > 0 {
				t.Fatalf("partition %d: rows after the end", p)
			}
			if it.mark == nil {
				continue
			}
			marks++
			m := it.mark
			if m.task != "1" || m.tasks != 2 {
				t.Fatalf("partition %d: marker of task %q of %d, want task 1 of 2", p, m.task, m.tasks)
			}
			// Event times rise with the rows: every row at or below the
			// watermark (+ the delay) came before the marker.
			if m.watermark != eventtime.NoWatermark && m.watermark != eventtime.EndOfTime {
				for _, later := range items[i+1:] {
					for _, ts := range later.times {
						if ts <= m.watermark+5 {
							t.Fatalf("partition %d: a row of time %d comes after a marker of watermark %d", p, ts, m.watermark)
						}
					}
				}
			}
			if m.end {
				ended = true
			} else if ended {
				t.Fatalf("partition %d: marker %d of %d does not say end after one did", p, i, len(items))
			}
		}
		last := items[len(items)-1].mark
		if last == nil || !last.end || last.watermark != eventtime.EndOfTime {
			t.Fatalf("partition %d does not end with the end of event time: %+v", p, last)
		}
		if marks < 6 {
			t.Fatalf("partition %d has %d markers, want the opening one, 5 forced ones and the end", p, marks)
		}
	}
}

// TestRepartitionMarkersIdle: a publisher whose source partitions all
// went silent for the idle timeout says so, and stops saying it once a
// record arrives; without an event time the markers carry no watermark.
func TestRepartitionMarkersIdle(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "idle", 1, plugintest.Events, "user_id")
	clock := eventtime.NewManualClockMillis(50_000)
	rt := runtime()
	rt.Now = clock.Now
	marks := plugins.Marks{EventTime: "ts", Valve: eventtime.ValveConfig{IdleTimeout: time.Second}, Tasks: 1}
	w := openPublisherAt(t, r, rt, marks, nil)
	noTime := openPublisher(t, r, "other", plugins.Marks{Tasks: 1}, nil)
	write(t, noTime, eventsBatch(1000, 1010, 1, flatTime))

	forced := func(p *publisher) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err := p.sendMarkers(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The broker has stored the markers before the test reads them.
		if err := p.sent.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	write(t, w, eventsBatch(0, 10, 2, flatTime))
	forced(w)
	clock.Advance(1500 * time.Millisecond)
	forced(w)
	forced(noTime)
	write(t, w, eventsBatch(10, 20, 1, flatTime)) // partition 0 delivers again, 1 stays silent
	forced(w)
	var idle []bool
	for _, it := range dump(t, b, r)[0] {
		if it.mark == nil {
			continue
		}
		switch it.mark.task {
		case "":
			idle = append(idle, it.mark.idle)
		case "other":
			if it.mark.watermark != eventtime.NoWatermark {
				t.Fatalf("a publisher without event time sent watermark %d", it.mark.watermark)
			}
		}
	}
	// The opening marker, before the first record, is not idle yet; the
	// periodic ones run on the manual clock too.
	if len(idle) < 4 || idle[0] || !slices.Contains(idle, true) || idle[len(idle)-1] {
		t.Fatalf("idle flags of the markers %v: want not idle, idle after the timeout, not idle once a record arrived", idle)
	}
}

// TestRepartitionPublisherSendErrors: a send that fails after Write
// returned fails the next Write, Prepare and Close.
func TestRepartitionPublisherSendErrors(t *testing.T) {
	b := startBroker(t)
	r := shuffleBlock(t, b, "failing", 2, plugintest.Events, "user_id")
	w := openPublisher(t, r, "", plugins.Marks{Tasks: 1}, nil)
	write(t, w, eventsBatch(0, 10, 1, flatTime))
	if err := w.sent.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.records.Close() // as a producer the broker closed for good
	if err := w.Write(context.Background(), eventsBatch(10, 20, 1, flatTime)); err != nil {
		t.Fatalf("Write waited for the receipts: %v", err)
	}
	for what, call := range map[string]func() error{
		"Write":   func() error { return w.Write(context.Background(), eventsBatch(20, 30, 1, flatTime)) },
		"Prepare": func() error { _, err := w.Prepare(context.Background(), 2); return err },
		"Close":   w.Close,
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "publishing to partition") {
			t.Errorf("%s after a failed send: %v", what, err)
		}
	}
}
