package agg

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/sluice-io/sluice/record"
)

// BenchmarkAdd measures adding one record to a state that already holds
// many, the window stage's steady state.
func BenchmarkAdd(b *testing.B) {
	const n = 1 << 12
	r := rand.New(rand.NewPCG(1, 1))
	ints, floats, strs := make([]int64, n), make([]float64, n), make([]string, n)
	for i := range n {
		ints[i] = r.Int64N(1_000_000)
		floats[i] = r.ExpFloat64() * 100
		strs[i] = fmt.Sprintf("user-%d", r.IntN(1_000_000))
	}
	benches := []struct {
		name string
		fn   Func
		typ  record.ColumnType
		add  func(s *State, i int)
	}{
		{"count", Count, record.ColumnInvalid, func(s *State, i int) { s.AddNull(int64(i)) }},
		{"sum/int", Sum, record.ColumnInt, func(s *State, i int) { s.AddInt(ints[i&(n-1)], int64(i)) }},
		{"sum/float", Sum, record.ColumnFloat, func(s *State, i int) { s.AddFloat(floats[i&(n-1)], int64(i)) }},
		{"min/int", Min, record.ColumnInt, func(s *State, i int) { s.AddInt(ints[i&(n-1)], int64(i)) }},
		{"max/float", Max, record.ColumnFloat, func(s *State, i int) { s.AddFloat(floats[i&(n-1)], int64(i)) }},
		{"max/string", Max, record.ColumnString, func(s *State, i int) { s.AddString(strs[i&(n-1)], int64(i)) }},
		{"avg/int", Avg, record.ColumnInt, func(s *State, i int) { s.AddInt(ints[i&(n-1)], int64(i)) }},
		{"first/string", First, record.ColumnString, func(s *State, i int) { s.AddString(strs[i&(n-1)], int64(i&(n-1))) }},
		{"last/string", Last, record.ColumnString, func(s *State, i int) { s.AddString(strs[i&(n-1)], int64(i)) }},
		{"count_distinct/int", CountDistinct, record.ColumnInt, func(s *State, i int) { s.AddInt(ints[i&(n-1)], int64(i)) }},
		{"count_distinct/string", CountDistinct, record.ColumnString, func(s *State, i int) { s.AddString(strs[i&(n-1)], int64(i)) }},
		{"approx_count_distinct/string", ApproxCountDistinct, record.ColumnString, func(s *State, i int) { s.AddString(strs[i&(n-1)], int64(i)) }},
		{"approx_count_distinct/int", ApproxCountDistinct, record.ColumnInt, func(s *State, i int) { s.AddInt(ints[i&(n-1)], int64(i)) }},
		{"approx_percentile/float", ApproxPercentile, record.ColumnFloat, func(s *State, i int) { s.AddFloat(floats[i&(n-1)], int64(i)) }},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			s := mustNew(b, bb.fn, bb.typ, 0.9)
			for i := range n { // warm up: every value seen once
				bb.add(&s, i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				bb.add(&s, i)
			}
		})
	}
}

// BenchmarkResult measures reading a state's result, done once per emitted
// row.
func BenchmarkResult(b *testing.B) {
	for _, fn := range []Func{Count, Sum, CountDistinct, ApproxCountDistinct, ApproxPercentile} {
		b.Run(fn.String(), func(b *testing.B) {
			s := mustNew(b, fn, record.ColumnInt, 0.5)
			for i := range int64(1000) {
				s.AddInt(i, i)
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Result()
			}
		})
	}
}

// TestMemoryPerGroup measures the heap held by 100,000 open groups with two
// aggregates each, count() and count_distinct(x) over ints, as the window
// stage holds them: a []State per group. Each group sees a few records with
// a few distinct values.
func TestMemoryPerGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	const groups = 100_000
	for _, distinct := range []int{1, 3, 10} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		held := make([][]State, groups)
		for g := range held {
			held[g] = []State{mustNew(t, Count, record.ColumnInvalid, 0), mustNew(t, CountDistinct, record.ColumnInt, 0)}
			for i := range 2 * distinct {
				held[g][0].AddNull(int64(i))
				held[g][1].AddInt(int64(g+i%distinct), int64(i))
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perGroup := float64(after.HeapAlloc-before.HeapAlloc) / groups
		t.Logf("%d distinct values per group: %.0f bytes per group (State is %d bytes), %.1f MB for %d groups",
			distinct, perGroup, unsafe.Sizeof(State{}), perGroup*groups/1e6, groups)
		if perGroup > 600 {
			t.Errorf("%d distinct values: %.0f bytes per group, want at most 600", distinct, perGroup)
		}
		runtime.KeepAlive(held)
	}
}
