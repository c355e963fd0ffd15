package runner

import (
	"context"
	"fmt"
	"testing"
)

// TestCSVHeaderInOrder: a CSV parser with a header is Sequential, so the
// header is read from the stream's first line even with several workers
// and batches of one row; its line counts as filtered.
func TestCSVHeaderInOrder(t *testing.T) {
	p := load(t, `pipeline "p" {
  source "generate" {
    rate   = 1
    format = "json"
  }
  parse "csv" {
    header = true
    field "ts" { type = "timestamp" }
    field "action" { type = "string" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { n = "count()" }
  }
  sink "console" "out" {}
}`)
	in := []string{"action,ts"}
	for i := range 200 {
		in = append(in, fmt.Sprintf("%s,%d", []string{"view", "click"}[i%2], i*1000))
	}
	in = append(in, "view,not-a-number")
	want := join([]string{
		`{"window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","action":"click","n":30}`,
		`{"window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","action":"view","n":30}`,
		`{"window_start":"1970-01-01T00:01:00.000Z","window_end":"1970-01-01T00:02:00.000Z","action":"click","n":30}`,
		`{"window_start":"1970-01-01T00:01:00.000Z","window_end":"1970-01-01T00:02:00.000Z","action":"view","n":30}`,
		`{"window_start":"1970-01-01T00:02:00.000Z","window_end":"1970-01-01T00:03:00.000Z","action":"click","n":30}`,
		`{"window_start":"1970-01-01T00:02:00.000Z","window_end":"1970-01-01T00:03:00.000Z","action":"view","n":30}`,
		`{"window_start":"1970-01-01T00:03:00.000Z","window_end":"1970-01-01T00:04:00.000Z","action":"click","n":10}`,
		`{"window_start":"1970-01-01T00:03:00.000Z","window_end":"1970-01-01T00:04:00.000Z","action":"view","n":10}`,
	})
	for _, batch := range []int{1, 1024} {
		c := &collector{}
		opts := options(&lines{parts: [][]string{in}}, c)
		opts.BatchSize, opts.Workers = batch, 4
		st, err := Run(context.Background(), p, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkSum(t, st)
		if got := join(c.rows()); got != want {
			t.Errorf("batch %d: rows\n%s\nwant\n%s", batch, got, want)
		}
		if st.Filtered != 1 || st.Dead != 1 || len(c.dead) != 1 || string(c.dead[0].Payload) != "view,not-a-number" {
			t.Errorf("batch %d: filtered %d (the header), dead %d, dead letters %+v", batch, st.Filtered, st.Dead, c.dead)
		}
	}
}
