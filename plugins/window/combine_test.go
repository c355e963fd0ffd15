package window

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/record"
)

// combineAggregates are aggregates whose merge is exact.
const combineAggregates = `aggregate = {
    n     = "count()"
    total = "sum(v)"
    mean  = "avg(v)"
    lo    = "min(v)"
    hi    = "max(ts)"
    users = "count_distinct(user)"
    approx = "approx_count_distinct(key)"
    best  = "max_by(key, v)"
  }`

// TestCombinedEqualsWindow runs random records, in order per partition
// but late only within the watermark delay, through a window and through
// the combiner and the merging window with a shuffle of the partial rows
// between them (each partition's rows in order, the partitions
// interleaved at random): both must emit the same rows. Half the cases
// snapshot the combiner midway and restore it into a new one.
func TestCombinedEqualsWindow(t *testing.T) {
	for _, k := range []Kind{Tumbling, Sliding} {
		t.Run(string(k), func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(len(k))))
			rows := 0
			for c := range 100 {
				src, partitions, evs := combineCase(r, k)
				w := buildWindow(t, k, src)
				want := reference(t, w, partitions, evs)
				got := combined(t, w, partitions, evs, r, c%2 == 0)
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("case %d: %s\ncombined %d rows, window %d rows\n%s", c, src, len(got), len(want), firstDiff(got, want))
				}
				rows += len(got)
			}
			if rows == 0 {
				t.Fatal("no rows")
			}
		})
	}
}

// combineCase returns a window, a partition count and events whose
// disorder within a partition stays below the watermark delay.
func combineCase(r *rand.Rand, k Kind) (string, int, []ev) {
	size := 5 + r.Int64N(60)
	shape := fmt.Sprintf("size = \"%dms\"", size)
	if k == Sliding {
		shape += fmt.Sprintf("\n  slide = \"%dms\"", 1+r.Int64N(size))
	}
	delay := 10 + r.Int64N(30)
	src := fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n  watermark = \"%dms\"\n  group_by = [\"key\", \"g2\"]\n  %s\n}", k, shape, delay, combineAggregates)
	partitions := 1 + r.IntN(4)
	cursors := make([]int64, partitions)
	var evs []ev
	for range r.IntN(400) {
		p := r.IntN(partitions)
		cursors[p] += r.Int64N(8)
		evs = append(evs, ev{ts: cursors[p] - r.Int64N(delay), part: p, key: fmt.Sprintf("k%d", r.IntN(5)),
			g2: r.Int64N(2), user: r.Int64N(30), v: r.Int64N(100) - 50})
	}
	return src, partitions, evs
}

// reference runs the events through the window.
func reference(t *testing.T, w *Window, partitions int, evs []ev) []string {
	o, err := w.NewOperator(partitions, 0)
	must(t, err)
	out := record.NewBatch(w.Out, 16)
	must(t, o.Process(batchOf(evs), 0, out, func(row int, reason string) { t.Fatalf("reference: row %d late: %s", row, reason) }, nil))
	must(t, o.Finish(out))
	return rowStrings(out)
}

// combined runs the events through the combiner in batches, shuffles its
// partial rows and merges them.
func combined(t *testing.T, w *Window, partitions int, evs []ev, r *rand.Rand, restore bool) []string {
	local, global, ok := w.Combiner()
	if !ok {
		t.Fatal("the window does not combine")
	}
	op, err := local.StartOperator(partitions, 0)
	must(t, err)
	partials := record.NewBatch(local.Output(), 16)
	for i := 0; i < len(evs); {
		n := min(len(evs)-i, 1+r.IntN(40))
		must(t, op.Process(batchOf(evs[i:i+n]), 0, partials, func(row int, reason string) { t.Fatalf("combiner: row %d late: %s", i+row, reason) }, nil))
		i += n
		if restore && i > len(evs)/2 && i-n <= len(evs)/2 {
			var snap bytes.Buffer
			must(t, op.Snapshot(&snap))
			fresh, err := local.StartOperator(partitions, 0)
			must(t, err)
			must(t, fresh.Restore(&snap))
			op = fresh
		}
	}
	must(t, op.Finish(partials))
	if op.Watermark() != eventtime.EndOfTime {
		t.Fatalf("combiner watermark after Finish: %d", op.Watermark())
	}
	must(t, partials.Validate())
	if len(partials.Origins) != partials.Rows {
		t.Fatalf("%d partial rows, %d origins", partials.Rows, len(partials.Origins))
	}
	merge, err := global.StartOperator(1, 0)
	must(t, err)
	merge.(*Operator).Follow()
	out := record.NewBatch(w.Out, 16)
	shuffled := shuffle(partials, r)
	must(t, merge.Process(shuffled, 0, out, func(row int, reason string) { t.Fatalf("merge: row %d late: %s", row, reason) },
		func(row int, reason string) { t.Fatalf("merge: row %d bad: %s", row, reason) }))
	must(t, merge.(*Operator).AdvanceTo(eventtime.EndOfTime, 0, out))
	return rowStrings(out)
}

// shuffle interleaves the partial rows of the partitions at random,
// keeping each partition's order.
func shuffle(b *record.Batch, r *rand.Rand) *record.Batch {
	byPart := map[int32][]int32{}
	var parts []int32
	for i, o := range b.Origins {
		if byPart[o.Partition] == nil {
			parts = append(parts, o.Partition)
		}
		byPart[o.Partition] = append(byPart[o.Partition], int32(i))
	}
	var order []int32
	for len(parts) > 0 {
		i := r.IntN(len(parts))
		p := parts[i]
		order = append(order, byPart[p][0])
		if byPart[p] = byPart[p][1:]; len(byPart[p]) == 0 {
			parts = slices.Delete(parts, i, i+1)
		}
	}
	out := record.NewBatch(b.Schema, len(order))
	for c := range b.Columns {
		out.Columns[c].AppendRows(&b.Columns[c], order)
	}
	out.Rows = len(order)
	return out
}

func TestCombinerOnlyWhenExact(t *testing.T) {
	for _, tt := range []struct {
		kind Kind
		body string
		ok   bool
	}{
		{Tumbling, `size = "1m"` + "\n" + `aggregate = { n = "count()" }`, true},
		{Tumbling, `size = "1m"` + "\n" + `aggregate = { s = "sum(f)" }`, false},
		{Tumbling, `size = "1m"` + "\n" + `aggregate = { s = "avg(f)" }`, false},
		{Tumbling, `size = "1m"` + "\n" + `aggregate = { p = "approx_percentile(v, 0.5)" }`, false},
		{Tumbling, `size = "1m"` + "\n" + `aggregate = { x = "first(v)" }`, false},
		{Tumbling, `size = "1m"` + "\n" + `emit = "every 1s"` + "\n" + `aggregate = { n = "count()" }`, false},
		{Session, `gap = "1m"` + "\n" + `aggregate = { n = "count()" }`, false},
		{Sliding, `size = "1m"` + "\n" + `slide = "10s"` + "\n" + `aggregate = { n = "count()", u = "count_distinct(user)" }`, true},
	} {
		w := buildWindow(t, tt.kind, fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n}", tt.kind, tt.body))
		if _, _, ok := w.Combiner(); ok != tt.ok {
			t.Errorf("%s %s: combines %v, want %v", tt.kind, tt.body, ok, tt.ok)
		}
	}
}
