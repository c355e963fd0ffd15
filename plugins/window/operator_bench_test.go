package window

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// BenchmarkOperator measures the hot path over 2,000 events per second of
// event time with up to 5 s of disorder (watermark 5s: nothing is late), in
// batches of 1024 rows, grouped by a 7-value string column, with count()
// and count_distinct over 500 users. "tumbling" is the 1-minute window of
// the reference pipeline; the others vary one thing. One op is one record.
func BenchmarkOperator(b *testing.B) {
	const aggs = `group_by   = ["action"]
  aggregate  = {
    events = "count()"
    users  = "count_distinct(user_id)"
  }`
	for _, bc := range []struct{ name, src string }{
		{"tumbling", `window "tumbling" {
  event_time = "ts"
  size       = "1m"
  watermark  = "5s"
  ` + aggs + `
}`},
		{"tumbling_slow_path_argument", `window "tumbling" {
  event_time = "ts"
  size       = "1m"
  watermark  = "5s"
  group_by   = ["action"]
  aggregate  = {
    events = "count()"
    users  = "count_distinct(user_id + 1)"
  }
}`},
		{"sliding_1m_every_10s", `window "sliding" {
  event_time = "ts"
  size       = "1m"
  slide      = "10s"
  watermark  = "5s"
  ` + aggs + `
}`},
		{"session_per_user_gap_200ms", `window "session" {
  event_time = "ts"
  gap        = "200ms"
  watermark  = "5s"
  group_by   = ["user_id"]
  aggregate  = {
    events  = "count()"
    actions = "count_distinct(action)"
  }
}`},
	} {
		b.Run(bc.name, func(b *testing.B) { benchmarkOperator(b, bc.src) })
	}
}

func benchmarkOperator(b *testing.B, src string) {
	in := record.Schema{Columns: []record.Column{
		{Name: "ts", Type: record.ColumnTimestamp},
		{Name: "action", Type: record.ColumnString},
		{Name: "user_id", Type: record.ColumnInt},
	}}
	var p = Plugins()[0]
	for _, q := range Plugins() {
		if strings.Contains(src, `"`+q.Name+`"`) {
			p = q
		}
	}
	w, diags := buildWith(p, src, in)
	if diags != "" {
		b.Fatal(diags)
	}
	const (
		perBatch = 1024
		period   = 4 * 60_000        // event time covered by the prepared batches, ms
		events   = period * 2        // 2,000 per second
		batches  = events / perBatch // the prepared batches, reused with later times
	)
	actions := []string{"view", "click", "scroll", "share", "like", "comment", "purchase"}
	r := rand.New(rand.NewPCG(1, 2))
	var prepared []*record.Batch
	for i := range batches {
		bt := record.NewBatch(in, perBatch)
		for j := range perBatch {
			n := int64(i*perBatch + j)
			bt.Columns[0].AppendInt(n/2 - r.Int64N(5000))
			bt.Columns[1].AppendString([]byte(actions[r.IntN(len(actions))]))
			bt.Columns[2].AppendInt(r.Int64N(500))
			bt.Rows++
		}
		prepared = append(prepared, bt)
	}
	o, err := w.NewOperator(1, 0)
	if err != nil {
		b.Fatal(err)
	}
	out := record.NewBatch(w.Out, 64)
	feed := func(k int) {
		bt := prepared[k%batches]
		if k >= batches && k%batches == 0 {
			for _, bt := range prepared { // the next lap, period later
				for j := range bt.Columns[0].Ints {
					bt.Columns[0].Ints[j] += period
				}
			}
		}
		if err := o.Process(bt, 0, out, nil, nil); err != nil {
			b.Fatal(err)
		}
		out.Reset()
	}
	k := 0
	for ; k < batches; k++ { // warm up: a lap of open and closed windows
		feed(k)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	records := 0
	for records < b.N {
		feed(k)
		k++
		records += perBatch
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(records), "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(records), "B/record")
	if st := o.Stats(); st.Late != 0 || st.Closed == 0 {
		b.Fatalf("stats %+v", st)
	}
}
