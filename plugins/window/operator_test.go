package window

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/eventtime"
)

// on returns a batch step at processing time now of events "ts:key" or
// "ts:key:partition", with user = ts so that count_distinct(user) counts
// distinct times.
func on(now int64, specs ...string) step {
	s := step{now: now}
	for _, spec := range specs {
		var e ev
		parts := strings.Split(spec, ":")
		fmt.Sscan(parts[0], &e.ts)
		e.key = parts[1]
		if len(parts) > 2 {
			fmt.Sscan(parts[2], &e.part)
		}
		e.user, e.w = e.ts, 1
		s.evs = append(s.evs, e)
	}
	return s
}

func tick(now int64) step { return step{now: now, tick: true} }

var finish = step{finish: true}

const tableAggs = `group_by = ["key"]
  aggregate = {
    n     = "count()"
    users = "count_distinct(user)"
  }`

func TestOperatorTable(t *testing.T) {
	tests := []struct {
		name       string
		kind       Kind
		src        string // the window block's body, before tableAggs
		partitions int
		steps      []step
		want       []string
		late       []int
	}{{
		name: "tumbling on_close",
		kind: Tumbling, src: `size = "10ms"`, partitions: 1,
		steps: []step{
			on(0, "1:a", "3:b", "5:a", "12:a"), // W = 12 closes [0, 10)
			on(1, "8:a"),                       // late: 10 <= 12
			on(2, "25:b"),                      // closes [10, 20)
			finish,
		},
		want: []string{`0|10|"a"|2|2`, `0|10|"b"|1|1`, `10|20|"a"|1|1`, `20|30|"b"|1|1`},
		late: []int{4},
	}, {
		name: "tumbling offset, watermark and the boundary",
		kind: Tumbling, src: `size = "10ms"
  offset = "3ms"
  watermark = "5ms"`, partitions: 1,
		steps: []step{
			on(0, "3:a", "12:a"), // [3, 13); W = 7
			on(0, "18:a"),        // W = 13 closes [3, 13) exactly at its end
			on(0, "12:a"),        // late: 13 <= 13
			on(0, "13:a"),        // [13, 23) is open
			finish,
		},
		want: []string{`3|13|"a"|2|2`, `13|23|"a"|2|2`},
		late: []int{3},
	}, {
		name: "sliding: late for some windows, added to the others",
		kind: Sliding, src: `size = "10ms"
  slide = "5ms"`, partitions: 1,
		steps: []step{
			on(0, "7:a"),  // [0, 10) and [5, 15)
			on(0, "12:a"), // [5, 15), [10, 20); W = 12 closes [0, 10)
			on(0, "3:a"),  // [-5, 5) and [0, 10) both closed: late, dropped
			on(0, "8:a"),  // [0, 10) closed, [5, 15) open: late once, and added
			finish,
		},
		want: []string{`0|10|"a"|1|1`, `5|15|"a"|3|3`, `10|20|"a"|1|1`},
		late: []int{2, 3},
	}, {
		name: "session: join, merge, touch, late",
		kind: Session, src: `gap = "10ms"
  watermark = "50ms"`, partitions: 1,
		steps: []step{
			on(0, "0:a", "5:a", "30:a"), // [0, 15) and [30, 40)
			on(0, "20:a"),               // [20, 30): touches [30, 40) but [20, 30) is half-open
			on(0, "12:a"),               // bridges [0, 15) and [20, 30): [0, 30)
			on(0, "100:b"),              // W = 50 closes both sessions of a
			on(0, "10:b"),               // 10 + 10 <= 50: late
			on(0, "45:a"),               // 55 > 50: a new session, not late
			finish,
		},
		want: []string{`0|30|"a"|4|4`, `30|40|"a"|1|1`, `45|55|"a"|1|1`, `100|110|"b"|1|1`},
		late: []int{6},
	}, {
		name: "session absorbs a record whose own gap is past the watermark",
		kind: Session, src: `gap = "10ms"
  watermark = "20ms"`, partitions: 1,
		steps: []step{
			on(0, "30:a", "31:b"), // W = 11
			on(0, "55:b"),         // W = 35: [30, 40) of a is still open
			on(0, "22:a"),         // 22 + 10 <= 35 but [22, 32) overlaps [30, 40): joins
			finish,
		},
		want: []string{`22|40|"a"|2|2`, `31|41|"b"|1|1`, `55|65|"b"|1|1`},
	}, {
		name: "idle partition releases the watermark, which never goes back",
		kind: Tumbling, src: `size = "10ms"
  idle_timeout = "100ms"`, partitions: 2,
		steps: []step{
			on(0, "5:a:0"),
			on(50, "15:a:0"), // partition 1 never delivered: W stays unset
			tick(99),         // not idle yet
			tick(100),        // partition 1 idle: W = 15 closes [0, 10)
			on(120, "3:a:1"), // late; partition 1 active again with max 3
			on(130, "25:a:0"),
			tick(200), // W = min(25, 3) would lower W: it stays 15
			finish,
		},
		want: []string{`0|10|"a"|1|1`, `10|20|"a"|1|1`, `20|30|"a"|1|1`},
		late: []int{2},
	}, {
		name: "every D: updates of changed windows, then final",
		kind: Tumbling, src: `size = "100ms"
  emit = "every 10ms"`, partitions: 1,
		steps: []step{
			on(1, "5:a", "7:a", "8:b"),
			tick(5),  // no tick due before 10
			tick(10), // both changed
			tick(20), // nothing changed
			on(21, "50:a"),
			tick(30),
			on(31, "100:a"), // W = 100 closes [0, 100): final rows for both groups
			tick(40),        // [100, 200) changed
			finish,
		},
		want: []string{
			`0|100|"a"|2|2|false`, `0|100|"b"|1|1|false`,
			`U 0|100|"a"|3|3|false`,
			`U 0|100|"a"|3|3|true`, `U 0|100|"b"|1|1|true`,
			`100|200|"a"|1|1|false`,
			`U 100|200|"a"|1|1|true`,
		},
	}, {
		name: "every D with sessions",
		kind: Session, src: `gap = "10ms"
  emit = "every 10ms"`, partitions: 1,
		steps: []step{
			on(0, "0:a"),
			tick(10),
			on(11, "5:a"), // extends [0, 15)
			tick(20),
			on(21, "40:b"), // W = 40 closes a
			finish,
		},
		want: []string{`0|10|"a"|1|1|false`, `U 0|15|"a"|2|2|false`, `U 0|15|"a"|2|2|true`, `40|50|"b"|1|1|true`},
	}, {
		name: "every D with sessions: a start moving earlier withdraws the row",
		kind: Session, src: `gap = "10ms"
  emit = "every 10ms"`, partitions: 1,
		steps: []step{
			on(0, "10:a"),
			tick(10),
			on(11, "5:a"), // [5, 20): the row of [10, 20) goes
			tick(20),
			on(21, "30:b"), // W = 30 closes a
			finish,
		},
		want: []string{`10|20|"a"|1|1|false`, `D 10|20|"a"|1|1|true`, `5|20|"a"|2|2|false`, `U 5|20|"a"|2|2|true`, `30|40|"b"|1|1|true`},
	}, {
		name: "tumbling allowed lateness: updates, a window made closed, kept, freed",
		kind: Tumbling, src: `size = "10ms"
  allowed_lateness = "10ms"`, partitions: 1,
		steps: []step{
			on(0, "1:a", "3:b", "25:a"), // W = 25 closes [0, 10), past 10 + 10 already: freed
			on(1, "8:a"),                // late
			on(2, "15:c"),               // [10, 20) had no row, 20 + 10 > 25: made closed, emitted
			on(3, "17:c"),               // an update
			on(4, "21:a"),
			on(5, "30:b"), // W = 30 closes [20, 30) and frees [10, 20)
			on(6, "12:c"), // late
			on(7, "29:a"), // [20, 30) is kept until 40: an update
			finish,
		},
		want: []string{`0|10|"a"|1|1|0`, `0|10|"b"|1|1|0`, `10|20|"c"|1|1|0`, `U 10|20|"c"|2|2|1`, `20|30|"a"|2|2|0`, `U 20|30|"a"|3|3|1`, `30|40|"b"|1|1|0`},
		late: []int{3, 8},
	}, {
		name: "sliding allowed lateness: late for a freed window, an update of a kept one",
		kind: Sliding, src: `size = "10ms"
  slide = "5ms"
  allowed_lateness = "5ms"`, partitions: 1,
		steps: []step{
			on(0, "7:a", "12:a"), // W = 12 closes [0, 10)
			on(0, "3:a"),         // [-5, 5) is freed (5 + 5 <= 12): late; [0, 10) is kept: an update
			on(0, "16:a"),        // W = 16 closes [5, 15), frees [0, 10)
			finish,
		},
		want: []string{`0|10|"a"|1|1|0`, `U 0|10|"a"|2|2|1`, `5|15|"a"|2|2|0`, `10|20|"a"|2|2|0`, `15|25|"a"|1|1|0`},
		late: []int{2},
	}, {
		name: "session allowed lateness: updates, deletes of merged sessions, a session opened again",
		kind: Session, src: `gap = "10ms"
  allowed_lateness = "25ms"`, partitions: 1,
		steps: []step{
			on(0, "0:a", "30:a"), // W = 30 closes [0, 10), kept until 35
			on(1, "5:a"),         // joins it: [0, 15), an update, kept until 40
			on(2, "18:a"),        // [18, 28) overlaps nothing, ended: made closed, emitted
			on(3, "14:a"),        // merges [0, 15) and [18, 28): the row of [18, 28) goes, [0, 28) is updated
			on(4, "25:a"),        // merges [0, 28) and the open [30, 40): [0, 40) is open again
			on(5, "50:b"),        // W = 50 closes [0, 40): an update
			on(6, "38:a"),        // joins it: [0, 48), an update
			on(7, "-30:b"),       // -30 + 10 + 25 <= 50: late
			finish,
		},
		want: []string{`0|10|"a"|1|1|0`, `U 0|15|"a"|2|2|1`, `18|28|"a"|1|1|0`, `D 18|28|"a"|1|1|1`, `U 0|28|"a"|4|4|2`,
			`U 0|40|"a"|6|6|3`, `U 0|48|"a"|7|7|4`, `50|60|"b"|1|1|0`},
		late: []int{8},
	}}
	for _, tt := range tests {
		for _, late := range []string{LateDrop, LateDeadLetter} {
			t.Run(tt.name+"/"+late, func(t *testing.T) {
				src := fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n  %s\n  late = %q\n}", tt.kind, tt.src, tableAggs, late)
				w := buildWindow(t, tt.kind, src)
				o, err := w.NewOperator(tt.partitions, 0)
				if err != nil {
					t.Fatal(err)
				}
				got := run(t, o, tt.steps, 0, 0)
				if !slices.Equal(got.rows, tt.want) || !slices.Equal(got.late, tt.late) {
					t.Errorf("got %s\nwant rows:\n  %s\nlate %v", got, strings.Join(tt.want, "\n  "), tt.late)
				}
				st := o.Stats()
				if st.Late != int64(len(tt.late)) || st.OpenWindows != 0 || st.Watermark != eventtime.EndOfTime {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

func TestOperatorBadRows(t *testing.T) {
	src := `window "tumbling" {
  event_time = "ts"
  size = "10ms"
  aggregate = { n = "count()", m = "sum(100 % w)" }
}`
	w := buildWindow(t, Tumbling, src)
	o, err := w.NewOperator(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := record.NewBatch(w.Out, 4)
	in := batchOf([]ev{
		{ts: 1, w: 4},
		{ts: 500, w: 0}, // division by zero: bad, and does not move time
		{tsNull: true, w: 1},
		{ts: 2, w: 3},
		{ts: math.MaxInt64 - 5, w: 1}, // its window would end past the int64 range
	})
	var bad []string
	err = o.Process(in, 0, out, func(int, string) { t.Error("no row is late") },
		func(row int, reason string) { bad = append(bad, fmt.Sprintf("%d: %s", row, reason)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 3 || !strings.HasPrefix(bad[2], "4: window: the event time 9223372036854775802 is too far") || bad[0] != `1: window aggregate "m" at test.hcl:4:41: division by zero in "100 % w"` ||
		!strings.HasPrefix(bad[1], `2: window: the event time "ts" is null`) {
		t.Errorf("bad = %q", bad)
	}
	if wm := o.Watermark(); wm != 2 {
		t.Errorf("W = %d, want 2", wm)
	}
	if err := o.Finish(out); err != nil {
		t.Fatal(err)
	}
	if got, want := rowStrings(out), []string{"0|10|2|1"}; !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	if err := o.Process(in, 0, out, nil, nil); err == nil {
		t.Error("Process after Finish succeeded")
	}
	if st := o.Stats(); st.Records != 5 || st.Bad != 3 || st.Closed != 1 || st.Emitted != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestOperatorGroupKeys checks keys of every type, nulls and their order.
func TestOperatorGroupKeys(t *testing.T) {
	in := record.Schema{Columns: []record.Column{
		{Name: "ts", Type: record.ColumnTimestamp},
		{Name: "s", Type: record.ColumnString},
		{Name: "i", Type: record.ColumnInt},
		{Name: "f", Type: record.ColumnFloat},
		{Name: "b", Type: record.ColumnBool},
	}}
	p := Plugins()[0]
	c, diags := buildWith(p, `window "tumbling" {
  event_time = "ts"
  size = "10ms"
  group_by = ["s", "i", "f", "b"]
  aggregate = { n = "count()" }
}`, in)
	if diags != "" {
		t.Fatal(diags)
	}
	w := c
	o, err := w.NewOperator(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(in, 8)
	add := func(s *string, i int64, f float64, bo bool) {
		b.Columns[0].AppendInt(1)
		if s == nil {
			b.Columns[1].AppendNull()
		} else {
			b.Columns[1].AppendString([]byte(*s))
		}
		b.Columns[2].AppendInt(i)
		b.Columns[3].AppendFloat(f)
		b.Columns[4].AppendBool(bo)
		b.Rows++
	}
	str := func(s string) *string { return &s }
	add(str("b"), -5, 1.5, true)
	add(str("a\x00"), 3, -0.0, false)
	add(str("a"), 3, 0, true)
	add(nil, 7, 2, false)
	add(str("a"), -9, 0, false)
	add(str("a\x00"), 3, 0, false) // -0 and 0 are one group
	add(str("a"), 3, -1e300, true)
	out := record.NewBatch(w.Out, 8)
	if err := o.Process(b, 0, out, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.Finish(out); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`0|10|null|7|2|false|1`,
		`0|10|"a"|-9|0|false|1`,
		`0|10|"a"|3|-1e+300|true|1`,
		`0|10|"a"|3|0|true|1`,
		`0|10|"a\x00"|3|0|false|2`,
		`0|10|"b"|-5|1.5|true|1`,
	}
	if got := rowStrings(out); !slices.Equal(got, want) {
		t.Errorf("rows:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestOperatorBindsByName feeds a batch whose columns are in another order:
// fields are found by name. A batch without the event time is an error.
func TestOperatorBindsByName(t *testing.T) {
	w := buildWindow(t, Tumbling, "window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"10ms\"\n  "+tableAggs+"\n}")
	o, err := w.NewOperator(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := record.Schema{Columns: []record.Column{
		{Name: "extra", Type: record.ColumnBool},
		{Name: "user", Type: record.ColumnInt},
		{Name: "key", Type: record.ColumnString},
		{Name: "ts", Type: record.ColumnTimestamp},
	}}
	b := record.NewBatch(rec, 2)
	for i, k := range []string{"x", "y"} {
		b.Columns[0].AppendBool(true)
		b.Columns[1].AppendInt(int64(i))
		b.Columns[2].AppendString([]byte(k))
		b.Columns[3].AppendInt(int64(3 + i))
		b.Rows++
	}
	out := record.NewBatch(w.Out, 2)
	if err := o.Process(b, 0, out, nil, nil); err != nil {
		t.Fatal(err)
	}
	o.Finish(out)
	if got, want := rowStrings(out), []string{`0|10|"x"|1|1`, `0|10|"y"|1|1`}; !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	o, _ = w.NewOperator(1, 0)
	noTS := record.NewBatch(record.Schema{Columns: rec.Columns[:3]}, 0)
	if err := o.Process(noTS, 0, out, nil, nil); err == nil || !strings.Contains(err.Error(), `no field "ts"`) {
		t.Errorf("err = %v", err)
	}
	if _, ok := o.NextTick(); ok {
		t.Error("on_close has a next tick")
	}
}
