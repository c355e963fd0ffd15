package runner

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/config"
)

// windows are the three window kinds with every aggregate.
var windows = map[string]string{
	"tumbling": `window "tumbling" {
    event_time = "ts"
    size       = "1m"
    offset     = "15s"
    watermark  = "10s"
    group_by   = ["action", "device"]
    aggregate  = %s
    late       = "dead_letter"
  }`,
	"sliding": `window "sliding" {
    event_time = "ts"
    size       = "2m"
    slide      = "30s"
    watermark  = "5s"
    group_by   = ["action"]
    aggregate  = %s
    late       = "dead_letter"
  }`,
	"session": `window "session" {
    event_time = "ts"
    gap        = "20s"
    watermark  = "10s"
    group_by   = ["user_id"]
    aggregate  = %s
    late       = "dead_letter"
  }`,
}

const aggregates = `{
      n      = "count()"
      total  = "sum(user_id)"
      lo     = "min(user_id)"
      hi     = "max(user_id)"
      mean   = "avg(user_id)"
      users  = "count_distinct(user_id)"
      approx = "approx_count_distinct(device)"
      p90    = "approx_percentile(user_id, 0.9)"
      first  = "first(device)"
      last   = "last(device)"
    }`

// TestBatchSizeInvariance runs each window kind on the same generated,
// disordered input with late events, with batch sizes 1, 7 and 1024 and 1,
// 2 or 4 workers: the output rows, the dead letters and the counters must
// be identical, and the counters must add up.
func TestBatchSizeInvariance(t *testing.T) {
	for kind, w := range windows {
		t.Run(kind, func(t *testing.T) {
			src := fmt.Sprintf(`pipeline "p" {
  source "generate" {
    rate          = 1000000000
    count         = 6000
    seed          = 7
    users         = 40
    disorder      = "20s"
    late_fraction = 0.05
    format        = "json"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    field "device" { type = "string" }
  }
  filter { where = "action != 'heartbeat'" }
  %s
  sink "console" "out" {}
}`, fmt.Sprintf(w, aggregates))
			p := load(t, src)
			var want string
			var wantStats Stats
			var wantDead int
			for _, batch := range []int{1024, 7, 1} {
				for _, workers := range []int{1, 2, 4} {
					c := &collector{}
					opts := Options{
						Sink:       func(*config.Stage) plugins.SinkOpener { return c },
						DeadLetter: func(*config.Stage) plugins.DeadLetterOpener { return deadCollector{c} },
						BatchSize:  batch, Workers: workers,
					}
					st, err := Run(context.Background(), p, opts)
					if err != nil {
						t.Fatal(err)
					}
					checkSum(t, st)
					got := join(c.rows())
					if want == "" {
						want, wantStats, wantDead = got, st, len(c.dead)
						if st.Late == 0 || st.Emitted == 0 || st.Filtered == 0 {
							t.Fatalf("the input exercises too little: %+v", st)
						}
						continue
					}
					if got != want {
						t.Fatalf("batch %d, %d workers: output differs from batch 1024, 1 worker", batch, workers)
					}
					if st != wantStats || len(c.dead) != wantDead {
						t.Fatalf("batch %d, %d workers: stats %+v (%d dead), want %+v (%d dead)", batch, workers, st, len(c.dead), wantStats, wantDead)
					}
				}
			}
		})
	}
}
