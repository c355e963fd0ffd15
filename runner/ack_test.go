package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/eventtime"
)

// TestAcknowledgeAfterWindowsEmit: a source that needs acknowledgements
// gets its records committed only once the windows they went into were
// emitted, in order per partition; filtered records are done at once but
// never overtake an earlier record still in an open window.
func TestAcknowledgeAfterWindowsEmit(t *testing.T) {
	p := load(t, fmt.Sprintf(userEvents, `window "tumbling" {
    event_time = "ts"
    size       = "1m"
    aggregate  = { n = "count()" }
  }`))
	src := &lines{parts: [][]string{{}}, block: true, feed: make(chan fed, 10)}
	c := &collector{}
	opts := options(src, c)
	opts.BatchSize = 1
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := Run(ctx, p, opts); errc <- err }()
	feed := func(ts int64, action string) {
		src.feed <- fed{0, fmt.Sprintf(`{"user_id":1,"action":%q,"ts":%d}`, action, ts)}
	}
	waitFor := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for src.committed(0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("committed %d, want %d", src.committed(0), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	feed(1000, "view")      // 0
	feed(2000, "heartbeat") // 1: filtered
	feed(30000, "view")     // 2
	time.Sleep(200 * time.Millisecond)
	if got := src.committed(0); got != -1 {
		t.Fatalf("committed %d while the window [0, 1m) is open", got)
	}
	feed(125000, "view") // 3: W = 125000 closes [0, 1m); [2m, 3m) opens
	waitFor(2)
	feed(126000, "heartbeat") // 4: done, but behind 3
	time.Sleep(200 * time.Millisecond)
	if got := src.committed(0); got != 2 {
		t.Fatalf("committed %d: a filtered record overtook one in an open window", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := src.committed(0); got != 2 {
		t.Errorf("after a stop committed %d, want 2: records in open windows stay unacknowledged", got)
	}
	if len(c.rows()) != 1 {
		t.Errorf("rows %v, want the one closed window", c.rows())
	}
}

// TestAcknowledgeBounded: at the end of a bounded input every record of
// every partition is committed; without a window each batch is committed
// once written.
func TestAcknowledgeBounded(t *testing.T) {
	for _, window := range []string{"", `window "tumbling" {
    event_time = "ts"
    size       = "1m"
    aggregate  = { n = "count()" }
  }`} {
		p := load(t, fmt.Sprintf(userEvents, window))
		parts := make([][]string, 3)
		for i := range 300 {
			parts[i%3] = append(parts[i%3], fmt.Sprintf(`{"user_id":%d,"action":"view","ts":%d}`, i, i*1000))
		}
		parts[1] = append(parts[1], "garbage")
		src := &lines{parts: parts}
		opts := options(src, &collector{})
		opts.BatchSize = 7
		if _, err := Run(context.Background(), p, opts); err != nil {
			t.Fatal(err)
		}
		for i, part := range parts {
			if got := src.committed(i); got != int64(len(part)-1) {
				t.Errorf("window %t: partition %d committed up to %d, want %d", window != "", i, got, len(part)-1)
			}
		}
	}
}

// TestAcknowledgeProcessingTimeWindows: records in a window that places
// them by processing time are acknowledged only once that window was
// emitted, as with event time — not at once because they have no event
// time column.
func TestAcknowledgeProcessingTimeWindows(t *testing.T) {
	p := load(t, fmt.Sprintf(userEvents, `window "tumbling" {
    event_time = "processing_time"
    size       = "10s"
    aggregate  = { n = "count()" }
  }`))
	src := &lines{parts: [][]string{{
		`{"user_id":1,"action":"view","ts":1}`,
		`{"user_id":2,"action":"view","ts":2}`,
	}}, block: true}
	c := &collector{}
	opts := options(src, c)
	opts.Clock = eventtime.NewManualClockMillis(1_000_000) // processing time stands still: the window stays open
	opts.After = func(time.Duration) <-chan time.Time { return nil }
	opts.Monitor = NewMonitor()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := Run(ctx, p, opts); errc <- err }()
	waitFor(t, opts.Monitor, func(ps PipelineStatus) bool { return ps.Counts.In == 2 })
	time.Sleep(100 * time.Millisecond)
	if got := src.committed(0); got != -1 {
		t.Errorf("committed %d while the processing-time window holding the records is open", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := src.committed(0); got != -1 || len(c.rows()) != 0 {
		t.Errorf("after a stop: committed %d, rows %v; want nothing: the window never closed", got, c.rows())
	}
}
