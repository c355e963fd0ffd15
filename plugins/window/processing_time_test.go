package window

import (
	"slices"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// Processing-time windows place each batch at its now, close a window at
// the first Process or Tick at or after its end, ask to be woken then, and
// never find a record late, whatever the records' own times.
func TestProcessingTimeWindows(t *testing.T) {
	w := buildWindow(t, Tumbling, `window "tumbling" {
  event_time = "processing_time"
  size       = "10ms"
  group_by   = ["key"]
  aggregate  = { n = "count()" }
}`)
	o, err := w.NewOperator(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := record.NewBatch(w.Out, 8)
	var late int
	onLate := func(int, string) { late++ }
	process := func(now int64, evs ...ev) {
		t.Helper()
		if err := o.Process(batchOf(evs), now, out, onLate, nil); err != nil {
			t.Fatal(err)
		}
	}
	process(3, ev{ts: 5000, key: "a", w: 1}, ev{ts: -9000, key: "a", w: 1})
	if next, ok := o.NextWake(3); !ok || next != 10 {
		t.Fatalf("NextWake(3) = %d, %v; want 10: the end of the open window", next, ok)
	}
	process(8, ev{tsNull: true, key: "b", w: 1})
	if out.Rows != 0 {
		t.Fatalf("emitted %v before processing time reached the window's end", rowStrings(out))
	}
	if err := o.Tick(10, out); err != nil {
		t.Fatal(err)
	}
	process(25, ev{ts: 1, key: "a", w: 1})
	if o.Watermark() != 25 {
		t.Errorf("Watermark() = %d, want 25, the latest now", o.Watermark())
	}
	if err := o.Finish(out); err != nil {
		t.Fatal(err)
	}
	want := []string{`0|10|"a"|2`, `0|10|"b"|1`, `20|30|"a"|1`}
	if got := rowStrings(out); !slices.Equal(got, want) || late != 0 {
		t.Errorf("rows %q, late %d; want %q and none late", got, late, want)
	}
	if st := o.Stats(); st.Records != 4 || st.Closed != 3 {
		t.Errorf("stats %+v: want 4 records and 3 closed windows", st)
	}
}
