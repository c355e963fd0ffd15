// Package agg holds the running state of one aggregate of a window stage for
// one (window, group key): count(), sum(x), min(x), max(x), avg(x),
// count_distinct(x), approx_count_distinct(x), approx_percentile(x, q),
// first(x), last(x), max_by(x, by) and min_by(x, by) (docs/event-time.md,
// "Aggregates"), and the ties a window's keep argument selects (by.go).
//
// A State is a plain struct, meant to be held by value in a slice, one per
// aggregate of a group. Records are added with typed methods (AddInt,
// AddFloat, AddString, AddBool, AddNull) that go through no interface and do
// not allocate, except to grow a set or sketch. States of the same aggregate
// merge (panes of sliding windows, sessions joined by a record), and
// snapshot to a compact versioned binary form for checkpoints.
//
// Semantics shared by every function:
//   - A null argument is skipped by every function but count(), which counts
//     records. The stage calls AddNull for each record of count(), which has
//     no argument.
//   - Over no non-null value, count(), count_distinct(x) and
//     approx_count_distinct(x) yield 0 and every other function yields null.
//   - Floats are ordered totally for min and max: -Inf < ... < -0 < +0 < ...
//     < +Inf < NaN (NaN is the largest value, as in Spark). count_distinct
//     and approx_count_distinct treat -0 as 0 and every NaN as one value.
//   - sum over ints is exact in 128 bits, so it does not depend on the order
//     of records; a total outside the int64 range saturates to
//     math.MaxInt64 or math.MinInt64 and Overflow reports it. Float sums and
//     averages follow IEEE 754 in the order of additions.
//   - approx_count_distinct is exact (but for 64-bit hash collisions) below
//     1,536 distinct values, then a HyperLogLog of precision 14 (about 0.8%
//     standard error). approx_percentile is a DDSketch with 1% relative
//     accuracy: the value of rank floor(q × (n − 1)) within ±1%.
//
// This package must not import plugins/window, which uses it.
package agg

import (
	"fmt"
	"math"

	"github.com/sluice-io/sluice/record"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/axiomhq/hyperloglog"
)

// Func is an aggregate function. Its numbering is part of the snapshot
// format: never renumber, only append.
type Func uint8

// The aggregate functions; their names (Func.String) are the ones written in
// aggregate calls and in plugins/window's Func constants.
const (
	Count               Func = iota + 1 // count(): records, nulls included
	Sum                                 // sum(x) over ints or floats
	Min                                 // min(x) over ints, floats, timestamps or strings
	Max                                 // max(x) over ints, floats, timestamps or strings
	Avg                                 // avg(x) over ints or floats, a float
	CountDistinct                       // count_distinct(x): exact
	ApproxCountDistinct                 // approx_count_distinct(x): exact to 1536 values, then HyperLogLog, precision 14
	ApproxPercentile                    // approx_percentile(x, q): DDSketch, 1% relative accuracy
	First                               // first(x): x of the earliest record by event time
	Last                                // last(x): x of the latest record by event time
	MaxBy                               // max_by(x, by): x of the record with the largest by, the smallest x on ties
	MinBy                               // min_by(x, by): x of the record with the smallest by, the smallest x on ties
	TiesMax                             // every x (an encoded record) whose by is the largest: a window's keep = "max(by)"
	TiesMin                             // every x (an encoded record) whose by is the smallest: a window's keep = "min(by)"
)

var funcNames = [...]string{
	Count:               "count",
	Sum:                 "sum",
	Min:                 "min",
	Max:                 "max",
	Avg:                 "avg",
	CountDistinct:       "count_distinct",
	ApproxCountDistinct: "approx_count_distinct",
	ApproxPercentile:    "approx_percentile",
	First:               "first",
	Last:                "last",
	MaxBy:               "max_by",
	MinBy:               "min_by",
	TiesMax:             "ties_max",
	TiesMin:             "ties_min",
}

// String returns the function's name as written in an aggregate call.
func (f Func) String() string {
	if f >= Count && f <= TiesMin {
		return funcNames[f]
	}
	return fmt.Sprintf("Func(%d)", uint8(f))
}

// ParseFunc returns the function named name ("count", "sum", ...), the
// string value of a plugins/window Func.
func ParseFunc(name string) (Func, error) {
	for f := Count; f <= TiesMin; f++ {
		if funcNames[f] == name {
			return f, nil
		}
	}
	return 0, fmt.Errorf("agg: unknown aggregate function %q", name)
}

// Accepts reports whether f takes an argument of type t. count() takes any
// type, ColumnInvalid included, as it has no argument.
func (f Func) Accepts(t record.ColumnType) bool {
	switch f {
	case Count:
		return true
	case Sum, Avg, ApproxPercentile:
		return t.Numeric()
	case Min, Max:
		return t.Numeric() || t == record.ColumnTimestamp || t == record.ColumnString
	case CountDistinct, ApproxCountDistinct, First, Last, MaxBy, MinBy:
		return t >= record.ColumnString && t <= record.ColumnTimestamp
	case TiesMax, TiesMin:
		return t == record.ColumnString
	}
	return false
}

// ResultType returns the type of f's result over an argument of type arg:
// int for the counts, float for avg and approx_percentile, arg otherwise.
func (f Func) ResultType(arg record.ColumnType) record.ColumnType {
	switch f {
	case Count, CountDistinct, ApproxCountDistinct:
		return record.ColumnInt
	case Avg, ApproxPercentile:
		return record.ColumnFloat
	}
	return arg
}

// Value is an aggregate result, or an argument for Add. Exactly one payload
// field is meaningful, chosen by Type, unless Null is set.
type Value struct {
	Type record.ColumnType
	Null bool
	I    int64   // ColumnInt, and ColumnTimestamp as Unix milliseconds
	F    float64 // ColumnFloat
	S    string  // ColumnString
	B    bool    // ColumnBool
}

// Relative accuracy of approx_percentile and precision of
// approx_count_distinct. Both are part of the snapshot format.
const (
	PercentileAccuracy = 0.01
	HLLPrecision       = 14
)

// State is the running state of one aggregate. Create it with New; its zero
// value is not usable. A State may be copied before anything is added to it,
// not after: copies would share their set or sketch. It is not safe for
// concurrent use.
//
// The fields hold, by function: n is the number of records (count) or of
// non-null values added (all others); i and hi are the 128-bit int sum (sum,
// avg over ints), or i the int, timestamp or bool value (min, max, first,
// last); f is the float value or sum, or q for approx_percentile; ts is the
// event time of first and last's value; str is the string value, a private
// copy; set holds count_distinct's fixed-width values, or the hashes of
// approx_count_distinct's values up to hllExactLimit; ext the rest.
type State struct {
	fn    Func
	typ   record.ColumnType
	byTyp record.ColumnType // the type of by (MaxBy, MinBy, TiesMax, TiesMin)
	n     int64
	i     int64
	hi    int64
	f     float64
	ts    int64
	str   []byte
	set   intSet
	ext   *sketches
}

// sketches holds the parts of a state that only some functions need.
type sketches struct {
	strs map[string]struct{} // count_distinct over strings
	hll  *hyperloglog.Sketch // approx_count_distinct
	dd   *ddsketch.DDSketch  // approx_percentile
	by   []byte              // a string by (MaxBy, MinBy, TiesMax, TiesMin)
	ties []string            // TiesMax, TiesMin: the kept values, in arrival order
}

// New returns the empty state of fn over an argument of type arg (ignored
// for count). q is the quantile of approx_percentile, in [0, 1], ignored
// otherwise. It fails when fn does not take arg or q is out of range; the
// window stage's declaration has already reported these to the user, so an
// error here is a bug.
func New(fn Func, arg record.ColumnType, q float64) (State, error) {
	if fn.Pair() {
		return State{}, fmt.Errorf("agg: %s takes two arguments: use NewPair", fn)
	}
	if fn < Count || fn > TiesMin {
		return State{}, fmt.Errorf("agg: unknown aggregate function %d", fn)
	}
	if !fn.Accepts(arg) {
		return State{}, fmt.Errorf("agg: %s does not take a %s argument", fn, arg)
	}
	s := State{fn: fn, typ: arg}
	if fn == ApproxPercentile {
		if !(q >= 0 && q <= 1) {
			return State{}, fmt.Errorf("agg: quantile %v of approx_percentile is not between 0 and 1", q)
		}
		s.f = q
	}
	return s, nil
}

// Func returns the state's aggregate function.
func (s *State) Func() Func { return s.fn }

// ArgType returns the type of the state's argument, as given to New.
func (s *State) ArgType() record.ColumnType { return s.typ }

// Quantile returns q of approx_percentile, and 0 for other functions.
func (s *State) Quantile() float64 {
	if s.fn == ApproxPercentile {
		return s.f
	}
	return 0
}

// ResultType returns the type of Result's values.
func (s *State) ResultType() record.ColumnType { return s.fn.ResultType(s.typ) }

// Overflow reports whether an int sum lies outside the int64 range, so that
// Result saturated it to math.MaxInt64 or math.MinInt64. The sum itself is
// kept exact in 128 bits: an intermediate overflow that later values bring
// back into range does not count.
func (s *State) Overflow() bool {
	return s.fn == Sum && s.typ == record.ColumnInt && !fits64(s.i, s.hi)
}

// Result returns the aggregate's current value, typed as ResultType. It
// does not change what the state holds and may be called at any time.
// String results are fresh copies the caller may keep.
func (s *State) Result() Value {
	v := Value{Type: s.ResultType()}
	switch s.fn {
	case Count:
		v.I = s.n
		return v
	case CountDistinct:
		v.I = int64(s.set.len())
		if s.ext != nil {
			v.I += int64(len(s.ext.strs))
		}
		return v
	case ApproxCountDistinct:
		if s.ext != nil && s.ext.hll != nil {
			v.I = int64(s.ext.hll.Estimate())
		} else {
			v.I = int64(s.set.len())
		}
		return v
	}
	if s.n == 0 {
		v.Null = true
		return v
	}
	switch s.fn {
	case Sum:
		if s.typ == record.ColumnFloat {
			v.F = s.f
		} else {
			v.I = saturate(s.i, s.hi)
		}
	case Avg:
		if s.typ == record.ColumnFloat {
			v.F = s.f / float64(s.n)
		} else {
			v.F = float128(s.i, s.hi) / float64(s.n)
		}
	case ApproxPercentile:
		x, err := s.ext.dd.GetValueAtQuantile(s.f)
		if err != nil { // every value added was untrackable (NaN, beyond ±MaxFloat64/2)
			v.Null = true
		}
		v.F = x
	case TiesMax, TiesMin:
		v.I = int64(len(s.ext.ties)) // the values are read with Ties
	default: // Min, Max, First, Last, MaxBy, MinBy
		switch s.typ {
		case record.ColumnFloat:
			v.F = s.f
		case record.ColumnString:
			v.S = string(s.str)
		case record.ColumnBool:
			v.B = s.i != 0
		default:
			v.I = s.i
		}
	}
	return v
}

// fits64 reports whether the 128-bit integer hi:lo fits in an int64.
func fits64(lo, hi int64) bool { return hi == lo>>63 }

// saturate returns the 128-bit integer hi:lo clamped to the int64 range.
func saturate(lo, hi int64) int64 {
	switch {
	case fits64(lo, hi):
		return lo
	case hi < 0:
		return math.MinInt64
	default:
		return math.MaxInt64
	}
}

// float128 converts the 128-bit integer hi:lo to the nearest float64 (up to
// one rounding in the sum of the two halves).
func float128(lo, hi int64) float64 {
	return float64(hi)*(1<<64) + float64(uint64(lo))
}
