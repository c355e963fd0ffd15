package window

import (
	"bytes"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// BenchmarkSnapshot100kGroups measures a checkpoint of the reference
// window's aggregates (count and an exact count_distinct) over 100,000
// open groups, each with 4 distinct values: one op is one Snapshot, and
// the state's size is reported.
func BenchmarkSnapshot100kGroups(b *testing.B) {
	const groups = 100_000
	in := record.Schema{Columns: []record.Column{
		{Name: "ts", Type: record.ColumnTimestamp},
		{Name: "user_id", Type: record.ColumnInt},
		{Name: "item", Type: record.ColumnInt},
	}}
	w, diags := buildWith(Plugins()[0], `window "tumbling" {
  event_time = "ts"
  size       = "1h"
  group_by   = ["user_id"]
  aggregate  = { events = "count()", items = "count_distinct(item)" }
}`, in)
	if diags != "" {
		b.Fatal(diags)
	}
	o, err := w.NewOperator(1, 0)
	if err != nil {
		b.Fatal(err)
	}
	out := record.NewBatch(w.Out, 16)
	bt := record.NewBatch(in, 4096)
	for i := range 4 * groups {
		bt.Columns[0].AppendInt(int64(i % 1000))
		bt.Columns[1].AppendInt(int64(i % groups))
		bt.Columns[2].AppendInt(int64(i / groups))
		bt.Rows++
		if bt.Rows == 4096 || i == 4*groups-1 {
			if err := o.Process(bt, 0, out, nil, nil); err != nil {
				b.Fatal(err)
			}
			bt.Reset()
		}
	}
	if o.Open() != groups || out.Rows != 0 {
		b.Fatalf("%d open groups, %d rows out", o.Open(), out.Rows)
	}
	var buf bytes.Buffer
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		if err := o.Snapshot(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(buf.Len()), "state_bytes")
	b.ReportMetric(float64(buf.Len())/groups, "bytes/group")
	restored, _ := w.NewOperator(1, 0)
	if err := restored.Restore(bytes.NewReader(buf.Bytes())); err != nil || restored.Open() != groups {
		b.Fatalf("restore: %v, %d groups", err, restored.Open())
	}
}
