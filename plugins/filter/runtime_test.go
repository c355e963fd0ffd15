package filter

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

// event is one row over plugintest.Events: user_id, action, ts, device; nil
// is null.
type event [4]any

func batchOf(rows ...event) *record.Batch {
	b := record.NewBatch(events, len(rows))
	for i, r := range rows {
		plugintest.AppendRow(b, record.Origin{Partition: 1, Offset: int64(100 + i)}, r[:]...)
	}
	return b
}

// dump renders the rows of b as "origin: v1 v2 ...".
func dump(b *record.Batch) []string {
	var out []string
	for row := range b.Rows {
		var s []string
		for c := range b.Columns {
			v := &b.Columns[c]
			switch {
			case v.IsNull(row):
				s = append(s, "null")
			case v.Type == record.ColumnString:
				s = append(s, v.String(row))
			default:
				s = append(s, fmt.Sprint(v.Ints[row]))
			}
		}
		origin := "-"
		if len(b.Origins) > 0 {
			origin = fmt.Sprint(b.Origins[row].Offset)
		}
		out = append(out, origin+": "+strings.Join(s, " "))
	}
	return out
}

func build(t testing.TB, where string) *Filter {
	t.Helper()
	c, diags := plugintest.Build(Plugin, fmt.Sprintf("filter { where = %q }", where), events)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c.(*Filter)
}

func TestProcess(t *testing.T) {
	rows := []event{
		{1, "click", 1000, "ios"},
		{2, "heartbeat", 2000, "ios"},
		{3, "view", 3000, nil},
		{4, nil, 4000, "web"},
		{5, "heartbeat", -5000, "web"},
		{6, "CLICK", 6000, "android"},
	}
	tests := []struct {
		where    string
		kept     []string
		dead     []string
		filtered int
	}{
		{
			where:    "action != 'heartbeat'",
			kept:     []string{"100: 1 click 1000 ios", "102: 3 view 3000 null", "105: 6 CLICK 6000 android"},
			dead:     []string{`3: filter "where" at test.hcl:1:19: field "action" is null in "action != 'heartbeat'"`},
			filtered: 2,
		},
		{
			where:    "lower(action ?? 'none') == 'click' || device in ['web']",
			kept:     []string{"100: 1 click 1000 ios", "103: 4 null 4000 web", "104: 5 heartbeat -5000 web", "105: 6 CLICK 6000 android"},
			filtered: 2,
		},
		{
			where:    "7 % (user_id - 3) != 0",
			kept:     []string{"100: 1 click 1000 ios", "104: 5 heartbeat -5000 web", "105: 6 CLICK 6000 android"},
			dead:     []string{`2: filter "where" at test.hcl:1:19: division by zero in "7 % (user_id - 3) != 0"`},
			filtered: 2,
		},
		{
			where:    "user_id > 4 && int(device) > 0", // a conversion that fails
			dead:     []string{`4: filter "where" at test.hcl:1:19: int() cannot convert "web" to a number in "user_id > 4 && int(device) > 0"`, `5: filter "where" at test.hcl:1:19: int() cannot convert "android" to a number in "user_id > 4 && int(device) > 0"`},
			filtered: 4,
		},
		{
			where:    "ts.Year() < 1970 || split(device, 'e')[0] == 'w'", // the VM path
			kept:     []string{"103: 4 null 4000 web", "104: 5 heartbeat -5000 web"},
			dead:     []string{`2: filter "where" at test.hcl:1:19: field "device" is null in "ts.Year() < 1970 || split(device, 'e')[0] == 'w'"`},
			filtered: 3,
		},
		{
			where: "split(device ?? '', 'o')[1] != ''",
			kept:  []string{"100: 1 click 1000 ios", "101: 2 heartbeat 2000 ios", "105: 6 CLICK 6000 android"},
			dead: []string{
				`2: filter "where" at test.hcl:1:19: index 1 is out of range (length 1) in "split(device ?? '', 'o')[1] != ''"`,
				`3: filter "where" at test.hcl:1:19: index 1 is out of range (length 1) in "split(device ?? '', 'o')[1] != ''"`,
				`4: filter "where" at test.hcl:1:19: index 1 is out of range (length 1) in "split(device ?? '', 'o')[1] != ''"`,
			},
		},
		{
			where:    "ts.Year() < 1970", // the VM path
			kept:     []string{"104: 5 heartbeat -5000 web"},
			filtered: 5,
		},
		{
			where:    "device == nil", // a null field: the VM sees nil
			kept:     []string{"102: 3 view 3000 null"},
			filtered: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			f := build(t, tt.where)
			in := batchOf(rows...)
			out := record.NewBatch(events, 0)
			var dead []string
			got := f.Process(in, out, func(row int, reason string) { dead = append(dead, fmt.Sprintf("%d: %s", row, reason)) })
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dump(out), tt.kept) {
				t.Errorf("kept:\n%s\nwant:\n%s", strings.Join(dump(out), "\n"), strings.Join(tt.kept, "\n"))
			}
			if !reflect.DeepEqual(dead, tt.dead) {
				t.Errorf("dead = %q, want %q", dead, tt.dead)
			}
			want := Counts{In: len(rows), Kept: len(tt.kept), Filtered: tt.filtered, Dead: len(tt.dead)}
			if got != want || got.In != got.Kept+got.Filtered+got.Dead {
				t.Errorf("counts = %+v, want %+v", got, want)
			}

			// In place: the same rows when no row fails; else nothing changed.
			b := batchOf(rows...)
			done := f.TransformInPlace(b)
			if err := b.Validate(); err != nil {
				t.Fatal(err)
			}
			switch {
			case done != (len(tt.dead) == 0):
				t.Errorf("TransformInPlace = %v with %d failing rows", done, len(tt.dead))
			case done && !reflect.DeepEqual(dump(b), tt.kept):
				t.Errorf("in place, kept:\n%s\nwant:\n%s", strings.Join(dump(b), "\n"), strings.Join(tt.kept, "\n"))
			case !done && !reflect.DeepEqual(dump(b), dump(batchOf(rows...))):
				t.Errorf("in place failed but changed the batch:\n%s", strings.Join(dump(b), "\n"))
			}
		})
	}
}

// TestProcessAppends checks that Process appends after existing rows, copies
// more rows than one selection chunk, and works without origins.
func TestProcessAppends(t *testing.T) {
	f := build(t, "user_id % 3 != 0")
	var rows []event
	for i := range 1000 {
		rows = append(rows, event{i, fmt.Sprint("a", i), i * 10, nil})
	}
	in := batchOf(rows...)
	in.Origins = nil
	out := batchOf(event{-1, "first", 0, "x"})
	out.Origins = nil
	c := f.Process(in, out, func(int, string) { t.Error("no row should fail") })
	if err := out.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Kept != 666 || out.Rows != 667 || c.Filtered != 334 {
		t.Fatalf("counts %+v, out rows %d", c, out.Rows)
	}
	got := dump(out)
	if got[0] != "-: -1 first 0 x" || got[1] != "-: 1 a1 10 null" || got[666] != "-: 998 a998 9980 null" {
		t.Errorf("rows %q ... %q", got[:3], got[666])
	}
}

// benchBatch is 1024 rows of which a third are heartbeats.
func benchBatch() *record.Batch {
	actions := []string{"click", "view", "heartbeat"}
	var rows []event
	for i := range 1024 {
		rows = append(rows, event{i, actions[i%3], i * 1000, "ios"})
	}
	return batchOf(rows...)
}

func BenchmarkProcess(b *testing.B) {
	f := build(b, "action != 'heartbeat'")
	in := benchBatch()
	out := record.NewBatch(events, in.Rows)
	for _, path := range []string{"closures", "vm"} {
		b.Run(path, func(b *testing.B) {
			e := f.Where.Evaluator(f.Input)
			if path == "vm" {
				e = f.Where.VMEvaluator(f.Input)
			}
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				f.process(e, in, out, func(int, string) {})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*in.Rows), "ns/row")
		})
	}
	b.Run("Process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			f.Process(in, out, func(int, string) {})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*in.Rows), "ns/row")
	})
}

// TestProcessKeepsKinds checks that kept rows keep their kinds (a filter
// after a window emitting updates and deletes), that a batch of inserts
// stays without kinds, and that rows appended after changed ones get
// theirs.
func TestProcessKeepsKinds(t *testing.T) {
	f := build(t, "action != 'heartbeat'")
	in := batchOf(
		event{1, "click", 1000, "ios"},
		event{2, "heartbeat", 2000, "ios"},
		event{3, "view", 3000, "web"},
		event{4, "click", 4000, "web"},
		event{5, "view", 5000, "web"},
	)
	inserts := batchOf(event{6, "click", 6000, "ios"}, event{7, "heartbeat", 7000, "ios"})
	for _, k := range []record.RowKind{record.Insert, record.Update, record.Update, record.Delete, record.Insert} {
		in.Kinds = append(in.Kinds, k)
	}
	tests := []struct {
		name  string
		batch []*record.Batch
		want  []record.RowKind
		held  bool
	}{
		{"inserts only", []*record.Batch{inserts}, []record.RowKind{record.Insert}, false},
		{"changes", []*record.Batch{in}, []record.RowKind{record.Insert, record.Update, record.Delete, record.Insert}, true},
		{"inserts after changes", []*record.Batch{in, inserts}, []record.RowKind{record.Insert, record.Update, record.Delete, record.Insert, record.Insert}, true},
		{"changes after inserts", []*record.Batch{inserts, in}, []record.RowKind{record.Insert, record.Insert, record.Update, record.Delete, record.Insert}, true},
	}
	for _, tt := range tests {
		out := record.NewBatch(events, 0)
		for _, b := range tt.batch {
			f.Transform(b, out, func(int, string) { t.Error("no row should fail") })
		}
		if err := out.Validate(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []record.RowKind
		for i := range out.Rows {
			got = append(got, out.Kind(i))
		}
		if !reflect.DeepEqual(got, tt.want) || (len(out.Kinds) > 0) != tt.held {
			t.Errorf("%s: kinds %v (held %v), want %v", tt.name, got, out.Kinds, tt.want)
		}
	}
}
