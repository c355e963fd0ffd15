package eventtime_test

import (
	"testing"
	"time"

	"github.com/sluice-io/sluice/eventtime"
)

func TestEvery(t *testing.T) {
	type due struct{ now, tick, n, next int64 }
	tests := []struct {
		name   string
		period time.Duration
		start  int64
		steps  []due
	}{
		{"ticks align to multiples of the period", 10 * time.Second, 12_345, []due{
			{19_999, 0, 0, 20_000},
			{20_000, 20_000, 1, 30_000},
			{20_001, 0, 0, 30_000},
			{35_000, 30_000, 1, 40_000},
		}},
		{"missed ticks are coalesced and counted", time.Second, 0, []due{
			{999, 0, 0, 1000},
			{4500, 4000, 4, 5000},
			{5000, 5000, 1, 6000},
		}},
		{"starting on a tick does not fire it", time.Second, 2000, []due{
			{2000, 0, 0, 3000},
			{3000, 3000, 1, 4000},
		}},
		{"negative processing time", time.Second, -1500, []due{
			{-1001, 0, 0, -1000},
			{-1000, -1000, 1, 0},
		}},
		{"a clock that moved backwards makes nothing due", time.Second, 5000, []due{
			{1000, 0, 0, 6000},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := eventtime.NewEvery(tc.period, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				tick, n := e.Due(s.now)
				if tick != s.tick || n != s.n || e.Next() != s.next {
					t.Fatalf("step %d: Due(%d) = %d, %d, next %d; want %d, %d, next %d",
						i, s.now, tick, n, e.Next(), s.tick, s.n, s.next)
				}
			}
		})
	}
	if _, err := eventtime.NewEvery(time.Microsecond, 0); err == nil {
		t.Error("NewEvery accepted a period under 1ms")
	}
}

func TestManualClock(t *testing.T) {
	c := eventtime.NewManualClockMillis(1000)
	done := make(chan struct{})
	go func() { // concurrent readers are safe
		for range 100 {
			_ = c.Now()
		}
		close(done)
	}()
	for range 100 {
		c.Advance(time.Millisecond)
	}
	<-done
	if got := eventtime.NowMillis(c); got != 1100 {
		t.Fatalf("after 100 × 1ms: %d, want 1100", got)
	}
	c.Set(time.UnixMilli(5))
	if got := eventtime.NowMillis(c); got != 5 {
		t.Fatalf("after Set: %d, want 5", got)
	}
	var sys eventtime.Clock = eventtime.SystemClock{}
	if d := time.Since(sys.Now()); d < 0 || d > time.Minute {
		t.Fatalf("SystemClock is %s off", d)
	}
}
