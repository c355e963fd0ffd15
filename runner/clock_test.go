package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/eventtime"
)

// drive runs p on parts (blocking after the lines) with a manual clock and
// moves processing time by step each round, waking the scheduler, until
// done reports true for the collected rows or 5 s of real time pass.
func drive(t *testing.T, p string, src *lines, step time.Duration, done func(rows []string) bool) []string {
	t.Helper()
	clock := eventtime.NewManualClockMillis(1_000_000)
	wakes := make(chan chan time.Time, 1000)
	c := &collector{}
	src.block = true
	opts := options(src, c)
	opts.Clock = clock
	opts.After = func(time.Duration) <-chan time.Time {
		ch := make(chan time.Time, 1)
		wakes <- ch
		return ch
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := Run(ctx, load(t, p), opts); errc <- err }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	var latest chan time.Time
	for round := 0; time.Now().Before(deadline); round++ {
		c.mu.Lock()
		rows := c.rows()
		c.mu.Unlock()
		if done(rows) {
			return rows
		}
		for drained := false; !drained; {
			select {
			case latest = <-wakes:
			default:
				drained = true
			}
		}
		if src.feed != nil && round%10 == 0 {
			src.feed <- fed{0, fmt.Sprintf(`{"user_id":1,"action":"view","ts":%d}`, 300_000+round)}
		}
		if latest != nil {
			select {
			case latest <- clock.Advance(step):
			default:
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("timed out; rows so far: %v", c.rows())
	return nil
}

// TestIdlePartitionReleasesWatermark: partition 1 delivers one early event
// and goes silent while partition 0 goes on delivering, slowly and inside
// one window; once partition 1 has been idle for idle_timeout of processing
// time, the next batch or wake-up of the scheduler lets partition 0 alone move the
// watermark, and the windows before it close.
func TestIdlePartitionReleasesWatermark(t *testing.T) {
	p := fmt.Sprintf(userEvents, `window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    idle_timeout = "1m"
    aggregate    = { n = "count()" }
  }`)
	var p0 []string
	for i := range 300 {
		p0 = append(p0, fmt.Sprintf(`{"user_id":1,"action":"view","ts":%d}`, i*1000))
	}
	p1 := []string{`{"user_id":2,"action":"view","ts":0}`}
	src := &lines{parts: [][]string{p0, p1}, feed: make(chan fed, 1000)}
	rows := drive(t, p, src, 2*time.Second, func(rows []string) bool { return len(rows) >= 5 })
	want := []string{
		`{"window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","n":61}`,
		`{"window_start":"1970-01-01T00:01:00.000Z","window_end":"1970-01-01T00:02:00.000Z","n":60}`,
		`{"window_start":"1970-01-01T00:02:00.000Z","window_end":"1970-01-01T00:03:00.000Z","n":60}`,
		`{"window_start":"1970-01-01T00:03:00.000Z","window_end":"1970-01-01T00:04:00.000Z","n":60}`,
		`{"window_start":"1970-01-01T00:04:00.000Z","window_end":"1970-01-01T00:05:00.000Z","n":60}`,
	}
	if got := join(rows); got != join(want) {
		t.Errorf("rows:\n%s\nwant:\n%s", got, join(want))
	}
}

// TestEmitEvery: with emit = "every 10s" the scheduler wakes the window
// every 10 s of processing time and the open window's changed aggregate is
// emitted with final = false.
func TestEmitEvery(t *testing.T) {
	p := fmt.Sprintf(userEvents, `window "tumbling" {
    event_time = "ts"
    size       = "1h"
    aggregate  = { n = "count()" }
    emit       = "every 10s"
  }`)
	in := []string{`{"user_id":1,"action":"view","ts":5}`, `{"user_id":2,"action":"view","ts":6}`}
	rows := drive(t, p, &lines{parts: [][]string{in}}, 10*time.Second, func(rows []string) bool { return len(rows) >= 1 })
	want := `{"window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T01:00:00.000Z","n":2,"final":false}`
	if rows[0] != want || strings.Contains(join(rows[1:]), `"n":2`) {
		t.Errorf("rows %v, want one update %s (an unchanged window is not emitted again)", rows, want)
	}
}
