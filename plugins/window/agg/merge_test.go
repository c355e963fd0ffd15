package agg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// config is one aggregate to test: a function, its argument type and q.
type config struct {
	fn  Func
	typ record.ColumnType
	q   float64
}

func (c config) String() string { return fmt.Sprintf("%s(%s,%v)", c.fn, c.typ, c.q) }

// configs returns every function over every argument type it takes.
func configs() []config {
	var out []config
	for fn := Count; fn <= Last; fn++ {
		for typ := record.ColumnString; typ <= record.ColumnTimestamp; typ++ {
			if !fn.Accepts(typ) {
				continue
			}
			if fn == ApproxPercentile {
				out = append(out, config{fn, typ, 0}, config{fn, typ, 0.5}, config{fn, typ, 0.99})
				continue
			}
			out = append(out, config{fn, typ, 0})
		}
	}
	return out
}

// randomValue returns a value of type typ, null one time in ten. Values
// repeat often; floats are multiples of 1/4, so that float sums are exact
// in any order, or NaN, ±Inf, ±0; ints include the extremes, to overflow.
func randomValue(r *rand.Rand, typ record.ColumnType) Value {
	if r.IntN(10) == 0 {
		return Value{Null: true}
	}
	v := Value{Type: typ}
	switch typ {
	case record.ColumnInt, record.ColumnTimestamp:
		switch r.IntN(50) {
		case 0:
			v.I = math.MaxInt64
		case 1:
			v.I = math.MinInt64
		default:
			v.I = r.Int64N(200) - 100
		}
	case record.ColumnFloat:
		switch r.IntN(100) {
		case 0:
			v.F = math.NaN()
		case 1:
			v.F = math.Inf(1 - 2*r.IntN(2))
		case 2:
			v.F = math.Copysign(0, -1)
		default:
			v.F = float64(r.IntN(800)-400) / 4
		}
	case record.ColumnString:
		v.S = fmt.Sprintf("s%d", r.IntN(60))
	case record.ColumnBool:
		v.B = r.IntN(2) == 0
	}
	return v
}

// randomRecs returns n records with event times in [0, 20), so that ties
// are common.
func randomRecs(r *rand.Rand, typ record.ColumnType, n int) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{randomValue(r, typ), r.Int64N(20)}
	}
	return out
}

func addAll(s *State, rs []rec) {
	for _, x := range rs {
		s.Add(x.v, x.ts)
	}
}

// approximate reports whether merging or restoring may change the result
// slightly (a HyperLogLog may go dense at a different moment).
func approximate(fn Func) bool { return fn == ApproxCountDistinct }

// Merging two states equals adding everything to one state. Records are
// split at random between the two, except for first and last, whose ties
// follow arrival order: there the first state gets a prefix.
func TestMergeEqualsOneState(t *testing.T) {
	for _, c := range configs() {
		t.Run(c.String(), func(t *testing.T) {
			for seed := range uint64(30) {
				r := rand.New(rand.NewPCG(seed, 1))
				rs := randomRecs(r, c.typ, r.IntN(300))
				one, a, b := mustNew(t, c.fn, c.typ, c.q), mustNew(t, c.fn, c.typ, c.q), mustNew(t, c.fn, c.typ, c.q)
				addAll(&one, rs)
				cut := r.IntN(len(rs) + 1)
				for i, x := range rs {
					toA := r.IntN(2) == 0
					if c.fn == First || c.fn == Last {
						toA = i < cut
					}
					if toA {
						a.Add(x.v, x.ts)
					} else {
						b.Add(x.v, x.ts)
					}
				}
				before := b.Result()
				if err := a.Merge(&b); err != nil {
					t.Fatal(err)
				}
				if got := b.Result(); !sameValue(got, before, 0) {
					t.Fatalf("seed %d: Merge changed its argument: %+v, was %+v", seed, got, before)
				}
				tol := 0.0
				if approximate(c.fn) {
					tol = 0.02
				}
				if got, want := a.Result(), one.Result(); !sameValue(got, want, 0) && !(tol > 0 && within(got.I, want.I, tol)) {
					t.Fatalf("seed %d: merged %+v, one state %+v", seed, got, want)
				}
				if a.Overflow() != one.Overflow() {
					t.Fatalf("seed %d: merged Overflow %v, one state %v", seed, a.Overflow(), one.Overflow())
				}
			}
		})
	}
}

func within(got, want int64, tol float64) bool {
	return math.Abs(float64(got-want)) <= tol*float64(want)
}

func TestMergeMismatch(t *testing.T) {
	tests := []struct{ a, b config }{
		{config{Sum, record.ColumnInt, 0}, config{Sum, record.ColumnFloat, 0}},
		{config{Sum, record.ColumnInt, 0}, config{Avg, record.ColumnInt, 0}},
		{config{ApproxPercentile, record.ColumnInt, 0.5}, config{ApproxPercentile, record.ColumnInt, 0.9}},
	}
	for _, tt := range tests {
		a, b := mustNew(t, tt.a.fn, tt.a.typ, tt.a.q), mustNew(t, tt.b.fn, tt.b.typ, tt.b.q)
		b.Add(Value{Type: tt.b.typ, I: 1, F: 1}, 0)
		if err := a.Merge(&b); err == nil {
			t.Errorf("merging %s into %s: no error", tt.b, tt.a)
		}
		if a.n != 0 {
			t.Errorf("failed merge of %s into %s changed it", tt.b, tt.a)
		}
	}
	// count() has no argument: its type does not matter.
	a, b := mustNew(t, Count, record.ColumnInvalid, 0), mustNew(t, Count, record.ColumnString, 0)
	b.AddNull(0)
	if err := a.Merge(&b); err != nil || a.Result().I != 1 {
		t.Errorf("count merge: %v, %+v", err, a.Result())
	}
}

// approx_count_distinct over 10^5 distinct values, split at random between
// two states, is within 2% once merged.
func TestApproxCountDistinctAccuracy(t *testing.T) {
	const n = 100_000
	for _, typ := range []record.ColumnType{record.ColumnInt, record.ColumnString, record.ColumnFloat} {
		for seed := range uint64(3) {
			r := rand.New(rand.NewPCG(seed, 2))
			one, a, b := mustNew(t, ApproxCountDistinct, typ, 0), mustNew(t, ApproxCountDistinct, typ, 0), mustNew(t, ApproxCountDistinct, typ, 0)
			for i := range n {
				v := Value{Type: typ, I: int64(i) * 7919, F: float64(i) * 0.5, S: fmt.Sprintf("user-%d", i)}
				for range 1 + r.IntN(2) { // some values twice, in either state
					one.Add(v, 0)
					if r.IntN(2) == 0 {
						a.Add(v, 0)
					} else {
						b.Add(v, 0)
					}
				}
			}
			if err := a.Merge(&b); err != nil {
				t.Fatal(err)
			}
			for name, s := range map[string]*State{"one": &one, "merged": &a} {
				if got := s.Result().I; !within(got, n, 0.02) {
					t.Errorf("%s seed %d %s: estimate %d, want %d ± 2%%", typ, seed, name, got, n)
				}
			}
		}
	}
}

// approx_percentile over 10^5 values, split at random between two states,
// is within 1% relative error of the exact percentile once merged: the
// value of rank floor(q × (n − 1)) among the sorted values.
func TestApproxPercentileAccuracy(t *testing.T) {
	const n = 100_000
	gens := map[string]func(r *rand.Rand) float64{
		"lognormal":   func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64() * 3) },
		"uniform±":    func(r *rand.Rand) float64 { return r.Float64()*2000 - 1000 },
		"ints":        func(r *rand.Rand) float64 { return float64(r.IntN(5000)) },
		"normal+zero": func(r *rand.Rand) float64 { return float64(r.IntN(3)) * r.NormFloat64() },
	}
	qs := []float64{0, 0.001, 0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1}
	for name, gen := range gens {
		r := rand.New(rand.NewPCG(7, 3))
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = gen(r)
		}
		for _, q := range qs {
			one, a, b := mustNew(t, ApproxPercentile, record.ColumnFloat, q), mustNew(t, ApproxPercentile, record.ColumnFloat, q), mustNew(t, ApproxPercentile, record.ColumnFloat, q)
			for _, v := range vals {
				one.AddFloat(v, 0)
				if r.IntN(2) == 0 {
					a.AddFloat(v, 0)
				} else {
					b.AddFloat(v, 0)
				}
			}
			if err := a.Merge(&b); err != nil {
				t.Fatal(err)
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			want := sorted[int(q*float64(n-1))]
			for which, s := range map[string]*State{"one": &one, "merged": &a} {
				got := s.Result().F
				if math.Abs(got-want) > 0.01*math.Abs(want)+1e-12 {
					t.Errorf("%s q=%v %s: %v, exact %v (error %.3f%%)", name, q, which, got, want, 100*math.Abs(got-want)/math.Abs(want))
				}
			}
		}
	}
}

// approx_count_distinct moves from exact hashes to a HyperLogLog at
// hllExactLimit: merging and restoring states on either side of the limit
// gives exactly what one state gives, as the registers depend only on the
// set of hashes.
func TestApproxCountDistinctModes(t *testing.T) {
	for _, sizes := range [][2]int{{10, 3000}, {3000, 10}, {1000, 1000}, {1000, 400}, {3000, 3000}, {0, 2000}} {
		one, a, b := mustNew(t, ApproxCountDistinct, record.ColumnInt, 0), mustNew(t, ApproxCountDistinct, record.ColumnInt, 0), mustNew(t, ApproxCountDistinct, record.ColumnInt, 0)
		for i := range sizes[0] {
			one.AddInt(int64(i), 0)
			a.AddInt(int64(i), 0)
		}
		for i := range sizes[1] {
			one.AddInt(int64(-i-1), 0)
			b.AddInt(int64(-i-1), 0)
		}
		data, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var restored State
		if err := restored.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		if err := restored.Merge(&b); err != nil {
			t.Fatal(err)
		}
		total := int64(sizes[0] + sizes[1])
		got, want := restored.Result().I, one.Result().I
		if got != want || !within(got, total, 0.02) || total < hllExactLimit && got != total {
			t.Errorf("%v: merged %d, one state %d, exact %d", sizes, got, want, total)
		}
		if big := sizes[0] >= hllExactLimit; (len(data) > 16_000) != big {
			t.Errorf("%v: snapshot of %d bytes", sizes, len(data))
		}
	}
}
