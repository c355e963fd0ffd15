package record

import (
	"slices"
	"testing"
)

func TestBatchAppendAndRead(t *testing.T) {
	rec := Schema{Columns: []Column{{"user_id", ColumnInt}, {"action", ColumnString}, {"price", ColumnFloat}, {"ok", ColumnBool}, {"ts", ColumnTimestamp}}}
	b := NewBatch(rec, 4)
	rows := []struct {
		id     int64
		action string
		null   bool
	}{{1, "click", false}, {2, "", true}, {3, "view", false}}
	for _, r := range rows {
		b.Columns[0].AppendInt(r.id)
		if r.null {
			b.Columns[1].AppendNull()
		} else {
			b.Columns[1].AppendString([]byte(r.action))
		}
		b.Columns[2].AppendFloat(float64(r.id) / 2)
		b.Columns[3].AppendBool(r.id%2 == 1)
		b.Columns[4].AppendInt(1_700_000_000_000 + r.id)
		b.Origins = append(b.Origins, Origin{Partition: 0, Offset: r.id * 10})
		b.Rows++
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &b.Columns[1]
	if s.String(0) != "click" || !s.IsNull(1) || s.String(1) != "" || s.String(2) != "view" || s.IsNull(2) {
		t.Errorf("strings: %q %v %q %q", s.String(0), s.IsNull(1), s.String(1), s.String(2))
	}
	if b.Columns[0].IsNull(1) || b.Columns[2].Floats[2] != 1.5 || !b.Columns[3].Bools[2] {
		t.Error("typed values wrong")
	}
	b.Reset()
	if b.Rows != 0 || b.Columns[1].Len() != 0 || len(b.Columns[1].Nulls) != 0 || b.Validate() != nil {
		t.Errorf("after reset: rows %d, len %d, %v", b.Rows, b.Columns[1].Len(), b.Validate())
	}
	b.Columns[1].AppendString([]byte("y"))
	if s.IsNull(0) || s.String(0) != "y" {
		t.Errorf("after reset and append: null %v, %q", s.IsNull(0), s.String(0))
	}
	b.Columns[1].AppendString([]byte("x"))
	if b.Validate() == nil {
		t.Error("Validate accepted a column longer than Rows")
	}
}

func TestRawBatch(t *testing.T) {
	b := NewBatch(RawSchema(), 2)
	b.Columns[0].AppendString([]byte(`{"a":1}`))
	b.Rows++
	if err := b.Validate(); err != nil || b.Columns[0].String(0) != `{"a":1}` {
		t.Fatalf("%v %q", err, b.Columns[0].String(0))
	}
}

func BenchmarkAppendString(b *testing.B) {
	v := Vector{Type: ColumnString}
	s := []byte("purchase")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if i%1024 == 0 {
			v.Reset()
		}
		v.AppendString(s)
	}
}

func TestRecordKeyFollowsColumns(t *testing.T) {
	rec := Schema{Columns: []Column{
		{Name: "window_start", Type: ColumnTimestamp},
		{Name: "action", Type: ColumnString},
		{Name: "events", Type: ColumnInt},
	}, Key: []string{"window_start", "action"}}
	tests := []struct {
		name string
		got  Schema
		want []string
	}{
		{"add a column", rec.With(Column{Name: "rate", Type: ColumnFloat}), rec.Key},
		{"replace an aggregate", rec.With(Column{Name: "events", Type: ColumnFloat}), rec.Key},
		{"replace a key column", rec.With(Column{Name: "action", Type: ColumnInt}), nil},
		{"drop an aggregate", rec.Without("events"), rec.Key},
		{"drop a key column", rec.Without("action"), nil},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got.Key, tt.want) {
			t.Errorf("%s: key %v, want %v", tt.name, tt.got.Key, tt.want)
		}
	}
}

// TestAppendRowsEqualsAppendFrom holds AppendRows to AppendFrom row by row,
// for every type, with and without nulls, in the source and in the
// destination, over runs and gaps.
func TestAppendRowsEqualsAppendFrom(t *testing.T) {
	types := []ColumnType{ColumnInt, ColumnTimestamp, ColumnFloat, ColumnBool, ColumnString, ColumnStringMap}
	sels := map[string][]int32{
		"none":      {},
		"all":       {0, 1, 2, 3, 4, 5, 6, 7},
		"gaps":      {0, 2, 3, 4, 7},
		"one":       {5},
		"repeated":  {3, 3, 1, 2},
		"backwards": {7, 6, 5},
	}
	fill := func(v *Vector, n int, null func(i int) bool) {
		for i := range n {
			switch {
			case null(i):
				v.AppendNull()
			case v.Type == ColumnFloat:
				v.AppendFloat(float64(i) + 0.5)
			case v.Type == ColumnBool:
				v.AppendBool(i%3 == 0)
			case v.Type == ColumnString || v.Type == ColumnStringMap:
				v.AppendText(string(rune('a'+i)) + "xy"[:i%3])
			default:
				v.AppendInt(int64(i * 7))
			}
		}
	}
	for _, typ := range types {
		for _, srcNulls := range []bool{false, true} {
			for _, dstNulls := range []bool{false, true} {
				for name, sel := range sels {
					src := newVector(typ, 8)
					fill(&src, 8, func(i int) bool { return srcNulls && i%4 == 2 })
					want, got := newVector(typ, 8), newVector(typ, 8)
					for _, d := range []*Vector{&want, &got} {
						fill(d, 2, func(i int) bool { return dstNulls && i == 1 })
					}
					for _, r := range sel {
						want.AppendFrom(&src, int(r))
					}
					got.AppendRows(&src, sel)
					if want.Len() != got.Len() || !slices.Equal(want.Nulls, got.Nulls) || !slices.Equal(want.Ints, got.Ints) ||
						!slices.Equal(want.Floats, got.Floats) || !slices.Equal(want.Bools, got.Bools) ||
						string(want.Bytes) != string(got.Bytes) || !slices.Equal(want.Offsets, got.Offsets) {
						t.Errorf("%s, source nulls %v, destination nulls %v, rows %s %v:\n got %+v\nwant %+v", typ, srcNulls, dstNulls, name, sel, got, want)
					}
				}
			}
		}
	}
}
