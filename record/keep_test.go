package record

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// keepBatch returns a batch of n random rows with a column of every type,
// nulls, kinds and origins as asked.
func keepBatch(rng *rand.Rand, n int, nulls, kinds, origins bool) *Batch {
	types := []ColumnType{ColumnInt, ColumnTimestamp, ColumnFloat, ColumnBool, ColumnString, ColumnStringMap}
	var rec Schema
	for i, t := range types {
		rec.Columns = append(rec.Columns, Column{Name: fmt.Sprint("c", i), Type: t})
	}
	b := NewBatch(rec, n)
	for row := range n {
		for c := range b.Columns {
			v := &b.Columns[c]
			switch {
			case nulls && rng.IntN(5) == 0:
				v.AppendNull()
			case v.Type == ColumnFloat:
				v.AppendFloat(rng.Float64())
			case v.Type == ColumnBool:
				v.AppendBool(rng.IntN(2) == 0)
			case v.Type == ColumnString || v.Type == ColumnStringMap:
				s := fmt.Sprint(row, "-", rng.IntN(1000))
				v.AppendText(s[:rng.IntN(len(s)+1)])
			default:
				v.AppendInt(rng.Int64())
			}
		}
		if origins {
			b.Origins = append(b.Origins, Origin{Partition: int32(rng.IntN(3)), Offset: int64(row * 10)})
		}
		if kinds {
			b.Kinds = append(b.Kinds, RowKind(rng.IntN(3)))
		}
		b.Rows++
	}
	return b
}

// TestKeepEqualsAppendRows checks Batch.Keep against copying the same rows
// out with AppendRows, on random batches and selections (none, all, runs
// and gaps).
func TestKeepEqualsAppendRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for i := range 500 {
		n := rng.IntN(40)
		b := keepBatch(rng, n, i%2 == 0, i%3 == 0, i%5 != 0)
		var sel []int32
		keep := rng.Float64()
		for r := range n {
			if rng.Float64() < keep {
				sel = append(sel, int32(r))
			}
		}
		want := NewBatch(b.Schema, n)
		want.AppendKinds(b, sel)
		for c := range b.Columns {
			want.Columns[c].AppendRows(&b.Columns[c], sel)
		}
		for _, r := range sel {
			if len(b.Origins) > 0 {
				want.Origins = append(want.Origins, b.Origins[r])
			}
		}
		want.Rows = len(sel)
		b.Keep(sel)
		if err := b.Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if b.Rows != want.Rows || !reflect.DeepEqual(rowsOf(b), rowsOf(want)) || !slices.Equal(b.Origins, want.Origins) {
			t.Fatalf("case %d, rows %v:\n got %v %v\nwant %v %v", i, sel, rowsOf(b), b.Origins, rowsOf(want), want.Origins)
		}
	}
}

// rowsOf renders every row with its kind, nulls as "null".
func rowsOf(b *Batch) []string {
	var out []string
	for r := range b.Rows {
		s := b.Kind(r).String()
		for c := range b.Columns {
			v := &b.Columns[c]
			switch {
			case v.IsNull(r):
				s += "|null"
			case v.Type == ColumnFloat:
				s += fmt.Sprint("|", v.Floats[r])
			case v.Type == ColumnBool:
				s += fmt.Sprint("|", v.Bools[r])
			case v.Type == ColumnString || v.Type == ColumnStringMap:
				s += "|" + v.String(r)
			default:
				s += fmt.Sprint("|", v.Ints[r])
			}
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkKeep compares keeping 85% of 1024 rows in place with copying
// them out (as a filter did), each from a fresh copy of the batch.
func BenchmarkKeep(bm *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	src := keepBatch(rng, 1024, false, false, true)
	var sel []int32
	for r := range 1024 {
		if rng.IntN(100) < 85 {
			sel = append(sel, int32(r))
		}
	}
	work, out := NewBatch(src.Schema, 1024), NewBatch(src.Schema, 1024)
	restore := func() {
		work.Reset()
		for c := range src.Columns {
			work.Columns[c].AppendRows(&src.Columns[c], all1024)
		}
		work.Origins = append(work.Origins[:0], src.Origins...)
		work.Rows = src.Rows
	}
	bm.Run("copy", func(bm *testing.B) {
		for bm.Loop() {
			restore()
			out.Reset()
			for c := range work.Columns {
				out.Columns[c].AppendRows(&work.Columns[c], sel)
			}
			for _, r := range sel {
				out.Origins = append(out.Origins, work.Origins[r])
			}
		}
	})
	bm.Run("restore_only", func(bm *testing.B) {
		for bm.Loop() {
			restore()
		}
	})
	bm.Run("keep", func(bm *testing.B) {
		for bm.Loop() {
			restore()
			work.Keep(sel)
		}
	})
}

var all1024 = func() []int32 {
	s := make([]int32, 1024)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}()
