package agg

import (
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/sluice-io/sluice/record"
)

// Shorthands for argument values.
func vi(x int64) Value         { return Value{Type: record.ColumnInt, I: x} }
func vt(x int64) Value         { return Value{Type: record.ColumnTimestamp, I: x} }
func vf(x float64) Value       { return Value{Type: record.ColumnFloat, F: x} }
func vs(x string) Value        { return Value{Type: record.ColumnString, S: x} }
func vb(x bool) Value          { return Value{Type: record.ColumnBool, B: x} }
func null() Value              { return Value{Null: true} }
func at(v Value, ts int64) rec { return rec{v, ts} }

// rec is one record: its argument and event time.
type rec struct {
	v  Value
	ts int64
}

// recs turns values into records with event times 0, 1, 2...
func recs(vs ...Value) []rec {
	out := make([]rec, len(vs))
	for i, v := range vs {
		out[i] = rec{v, int64(i)}
	}
	return out
}

func mustNew(t testing.TB, fn Func, typ record.ColumnType, q float64) State {
	t.Helper()
	s, err := New(fn, typ, q)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sameValue compares results; floats match within relative tolerance tol,
// NaN matches NaN, and with tol 0 the sign of zero matters.
func sameValue(got, want Value, tol float64) bool {
	if got.Type != want.Type || got.Null != want.Null {
		return false
	}
	if got.Null {
		return true
	}
	if got.Type == record.ColumnFloat {
		switch {
		case math.IsNaN(want.F):
			return math.IsNaN(got.F)
		case tol == 0:
			return math.Float64bits(got.F) == math.Float64bits(want.F)
		case want.F == 0:
			return got.F == 0
		}
		return math.Abs(got.F-want.F) <= tol*math.Abs(want.F)
	}
	return got == want
}

var (
	rInt   = func(x int64) Value { return Value{Type: record.ColumnInt, I: x} }
	rFloat = func(x float64) Value { return Value{Type: record.ColumnFloat, F: x} }
	rNull  = func(t record.ColumnType) Value { return Value{Type: t, Null: true} }
)

func TestResult(t *testing.T) {
	I, F, S, T, B := record.ColumnInt, record.ColumnFloat, record.ColumnString, record.ColumnTimestamp, record.ColumnBool
	nan, inf := math.NaN(), math.Inf(1)
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name     string
		fn       Func
		typ      record.ColumnType
		q        float64
		in       []rec
		want     Value
		tol      float64
		overflow bool
	}{
		{name: "count empty", fn: Count, typ: record.ColumnInvalid, want: rInt(0)},
		{name: "count counts nulls", fn: Count, typ: I, in: recs(vi(1), null(), vi(3)), want: rInt(3)},
		{name: "count any type", fn: Count, typ: S, in: recs(vs("a"), null()), want: rInt(2)},

		{name: "sum int", fn: Sum, typ: I, in: recs(vi(1), null(), vi(-4), vi(10)), want: rInt(7)},
		{name: "sum int empty", fn: Sum, typ: I, want: rNull(I)},
		{name: "sum int only nulls", fn: Sum, typ: I, in: recs(null(), null()), want: rNull(I)},
		{name: "sum int saturates high", fn: Sum, typ: I, in: recs(vi(math.MaxInt64), vi(1)), want: rInt(math.MaxInt64), overflow: true},
		{name: "sum int saturates low", fn: Sum, typ: I, in: recs(vi(math.MinInt64), vi(-1)), want: rInt(math.MinInt64), overflow: true},
		{name: "sum int intermediate overflow is exact", fn: Sum, typ: I, in: recs(vi(math.MaxInt64), vi(math.MaxInt64), vi(-math.MaxInt64), vi(-5)), want: rInt(math.MaxInt64 - 5)},
		{name: "sum int far below", fn: Sum, typ: I, in: recs(vi(math.MinInt64), vi(math.MinInt64), vi(math.MinInt64), vi(math.MaxInt64)), want: rInt(math.MinInt64), overflow: true},
		{name: "sum float", fn: Sum, typ: F, in: recs(vf(1.5), null(), vf(2.25)), want: rFloat(3.75)},
		{name: "sum float nan", fn: Sum, typ: F, in: recs(vf(1), vf(nan)), want: rFloat(nan)},
		{name: "sum float empty", fn: Sum, typ: F, in: recs(null()), want: rNull(F)},

		{name: "min int", fn: Min, typ: I, in: recs(vi(3), null(), vi(-2), vi(5)), want: rInt(-2)},
		{name: "max int", fn: Max, typ: I, in: recs(vi(3), null(), vi(-2), vi(5)), want: rInt(5)},
		{name: "min int empty", fn: Min, typ: I, in: recs(null()), want: rNull(I)},
		{name: "min float skips nan", fn: Min, typ: F, in: recs(vf(nan), vf(1), vf(-inf)), want: rFloat(-inf)},
		{name: "max float nan is largest", fn: Max, typ: F, in: recs(vf(1), vf(nan), vf(inf)), want: rFloat(nan)},
		{name: "min float all nan", fn: Min, typ: F, in: recs(vf(nan), null()), want: rFloat(nan)},
		{name: "min float -0 before 0", fn: Min, typ: F, in: recs(vf(0), vf(negZero)), want: rFloat(negZero)},
		{name: "max float 0 after -0", fn: Max, typ: F, in: recs(vf(0), vf(negZero)), want: rFloat(0)},
		{name: "min string", fn: Min, typ: S, in: recs(vs("b"), null(), vs("a"), vs("ab")), want: Value{Type: S, S: "a"}},
		{name: "max string", fn: Max, typ: S, in: recs(vs("b"), null(), vs("a"), vs("ab")), want: Value{Type: S, S: "b"}},
		{name: "max string empty", fn: Max, typ: S, want: rNull(S)},
		{name: "min timestamp", fn: Min, typ: T, in: recs(vt(1700000000000), vt(1600000000000), null()), want: Value{Type: T, I: 1600000000000}},
		{name: "max timestamp", fn: Max, typ: T, in: recs(vt(1700000000000), vt(1600000000000), null()), want: Value{Type: T, I: 1700000000000}},

		{name: "avg int", fn: Avg, typ: I, in: recs(vi(1), vi(2), null(), vi(4)), want: rFloat(7.0 / 3)},
		{name: "avg int beyond int64", fn: Avg, typ: I, in: recs(vi(math.MaxInt64), vi(math.MaxInt64)), want: rFloat(math.MaxInt64)},
		{name: "avg float", fn: Avg, typ: F, in: recs(vf(1), vf(2), null()), want: rFloat(1.5)},
		{name: "avg empty", fn: Avg, typ: F, in: recs(null()), want: rNull(F)},

		{name: "count_distinct int", fn: CountDistinct, typ: I, in: recs(vi(1), vi(1), vi(2), null(), vi(0), vi(0), vi(-1)), want: rInt(4)},
		{name: "count_distinct float", fn: CountDistinct, typ: F, in: recs(vf(0), vf(negZero), vf(nan), vf(-nan), vf(1), null()), want: rInt(3)},
		{name: "count_distinct string", fn: CountDistinct, typ: S, in: recs(vs("a"), vs("a"), vs(""), null(), vs("b")), want: rInt(3)},
		{name: "count_distinct bool", fn: CountDistinct, typ: B, in: recs(vb(true), vb(false), vb(true)), want: rInt(2)},
		{name: "count_distinct timestamp", fn: CountDistinct, typ: T, in: recs(vt(5), vt(5), vt(6)), want: rInt(2)},
		{name: "count_distinct empty", fn: CountDistinct, typ: I, in: recs(null()), want: rInt(0)},

		{name: "approx_count_distinct string", fn: ApproxCountDistinct, typ: S, in: recs(vs("a"), vs("b"), vs("a"), null()), want: rInt(2)},
		{name: "approx_count_distinct int", fn: ApproxCountDistinct, typ: I, in: recs(vi(7), vi(8), vi(9), vi(7)), want: rInt(3)},
		{name: "approx_count_distinct float", fn: ApproxCountDistinct, typ: F, in: recs(vf(0), vf(negZero), vf(2)), want: rInt(2)},
		{name: "approx_count_distinct bool", fn: ApproxCountDistinct, typ: B, in: recs(vb(true), vb(false), vb(false)), want: rInt(2)},
		{name: "approx_count_distinct empty", fn: ApproxCountDistinct, typ: S, in: recs(null()), want: rInt(0)},

		{name: "approx_percentile median", fn: ApproxPercentile, typ: F, q: 0.5, in: recs(vf(10), null(), vf(30), vf(20)), want: rFloat(20), tol: 0.01},
		{name: "approx_percentile int max", fn: ApproxPercentile, typ: I, q: 1, in: recs(vi(-5), vi(1000), vi(3)), want: rFloat(1000), tol: 0.01},
		{name: "approx_percentile negative min", fn: ApproxPercentile, typ: F, q: 0, in: recs(vf(-5), vf(0), vf(3)), want: rFloat(-5), tol: 0.01},
		{name: "approx_percentile zero", fn: ApproxPercentile, typ: F, q: 0.5, in: recs(vf(-5), vf(0), vf(3)), want: rFloat(0)},
		{name: "approx_percentile skips nan and inf", fn: ApproxPercentile, typ: F, q: 1, in: recs(vf(nan), vf(inf), vf(2)), want: rFloat(2), tol: 0.01},
		{name: "approx_percentile only untrackable", fn: ApproxPercentile, typ: F, q: 0.5, in: recs(vf(nan), vf(-inf)), want: rNull(F)},
		{name: "approx_percentile empty", fn: ApproxPercentile, typ: F, q: 0.5, want: rNull(F)},

		{name: "first by event time", fn: First, typ: I, in: []rec{at(vi(1), 20), at(vi(2), 10), at(null(), 5), at(vi(3), 30)}, want: rInt(2)},
		{name: "last by event time", fn: Last, typ: I, in: []rec{at(vi(1), 20), at(vi(2), 30), at(null(), 40), at(vi(3), 10)}, want: rInt(2)},
		{name: "first tie keeps earlier arrival", fn: First, typ: S, in: []rec{at(vs("x"), 20), at(vs("a"), 10), at(vs("b"), 10)}, want: Value{Type: S, S: "a"}},
		{name: "last tie takes later arrival", fn: Last, typ: S, in: []rec{at(vs("a"), 10), at(vs("b"), 10), at(vs("x"), 5)}, want: Value{Type: S, S: "b"}},
		{name: "first float", fn: First, typ: F, in: []rec{at(vf(1.5), 3), at(vf(2.5), 2)}, want: rFloat(2.5)},
		{name: "last bool", fn: Last, typ: B, in: []rec{at(vb(true), 3), at(vb(false), 3)}, want: Value{Type: B, B: false}},
		{name: "first bool", fn: First, typ: B, in: []rec{at(vb(true), 3), at(vb(false), 3)}, want: Value{Type: B, B: true}},
		{name: "last timestamp", fn: Last, typ: T, in: []rec{at(vt(99), 3), at(vt(98), 1)}, want: Value{Type: T, I: 99}},
		{name: "first empty", fn: First, typ: S, in: recs(null()), want: rNull(S)},
		{name: "last empty", fn: Last, typ: T, want: rNull(T)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.fn, tt.typ, tt.q)
			for _, r := range tt.in {
				s.Add(r.v, r.ts)
			}
			if got := s.Result(); !sameValue(got, tt.want, tt.tol) {
				t.Errorf("Result() = %+v, want %+v", got, tt.want)
			}
			if got := s.Result(); !sameValue(got, tt.want, tt.tol) {
				t.Errorf("second Result() = %+v, want %+v", got, tt.want)
			}
			if s.Overflow() != tt.overflow {
				t.Errorf("Overflow() = %v, want %v", s.Overflow(), tt.overflow)
			}
			if s.ResultType() != tt.want.Type {
				t.Errorf("ResultType() = %v, want %v", s.ResultType(), tt.want.Type)
			}
		})
	}
}

// Strings are copied: a value that views a buffer the caller then reuses
// (as a zero-copy parser's would) changes nothing in the state.
func TestStringsAreCopied(t *testing.T) {
	want := map[Func]Value{
		Min:           {Type: record.ColumnString, S: "hello"},
		Max:           {Type: record.ColumnString, S: "zzzzz"},
		First:         {Type: record.ColumnString, S: "hello"},
		Last:          {Type: record.ColumnString, S: "zzzzz"},
		CountDistinct: rInt(3),
	}
	for fn, w := range want {
		s := mustNew(t, fn, record.ColumnString, 0)
		buf := []byte("hello")
		s.AddString(unsafe.String(&buf[0], len(buf)), 1)
		copy(buf, "zzzzz")
		s.AddString(unsafe.String(&buf[0], len(buf)), 2)
		copy(buf, "aaaaa")
		if fn == CountDistinct {
			s.AddString("hello", 3)
			s.AddString("zzzzz", 3)
			s.AddString("aaaaa", 3)
		}
		if got := s.Result(); got != w {
			t.Errorf("%s = %+v, want %+v", fn, got, w)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		fn  Func
		typ record.ColumnType
		q   float64
		ok  bool
	}{
		{Count, record.ColumnInvalid, 0, true},
		{Sum, record.ColumnString, 0, false},
		{Sum, record.ColumnTimestamp, 0, false},
		{Avg, record.ColumnBool, 0, false},
		{Min, record.ColumnBool, 0, false},
		{Max, record.ColumnTimestamp, 0, true},
		{First, record.ColumnBool, 0, true},
		{First, record.ColumnInvalid, 0, false},
		{CountDistinct, record.ColumnType(9), 0, false},
		{ApproxPercentile, record.ColumnFloat, 0.99, true},
		{ApproxPercentile, record.ColumnFloat, 1.5, false},
		{ApproxPercentile, record.ColumnFloat, math.NaN(), false},
		{ApproxPercentile, record.ColumnString, 0.5, false},
		{0, record.ColumnInt, 0, false},
		{Last + 1, record.ColumnInt, 0, false},
	}
	for _, tt := range tests {
		_, err := New(tt.fn, tt.typ, tt.q)
		if (err == nil) != tt.ok {
			t.Errorf("New(%s, %s, %v) error = %v, want ok %v", tt.fn, tt.typ, tt.q, err, tt.ok)
		}
	}
}

func TestParseFunc(t *testing.T) {
	for f := Count; f <= Last; f++ {
		got, err := ParseFunc(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFunc(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFunc("median"); err == nil || !strings.Contains(err.Error(), "median") {
		t.Errorf("ParseFunc(median) error = %v", err)
	}
}

func TestWrongTypePanics(t *testing.T) {
	s := mustNew(t, Sum, record.ColumnInt, 0)
	defer func() {
		if r := recover(); r == nil {
			t.Error("AddString on sum over int did not panic")
		}
	}()
	s.AddString("x", 0)
}
