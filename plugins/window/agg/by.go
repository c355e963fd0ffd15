package agg

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/record"
)

// This file holds the aggregates over pairs of values: max_by(x, by) and
// min_by(x, by), and the ties states behind a window's keep argument.
//
// max_by keeps x of the record with the largest by, min_by x of the record
// with the smallest by. Records whose x or by is null are skipped. On equal
// by values both keep the smallest x (in the order of min(x); false before
// true for bools), so the result depends only on the set of records added,
// never on their order, on batch sizes or on how partitions interleave;
// merging follows the same rule.
//
// TiesMax and TiesMin keep every x (an encoded record, a string) whose by
// equals the largest (smallest) by added, duplicates included. Records with
// a null by are skipped. Ties returns them sorted by their bytes, so their
// order does not depend on arrival either.
//
// by is ordered as min and max order their argument: ints and timestamps
// numerically, floats totally (-0 before +0, every NaN one value, the
// largest), strings by bytes. The state keeps an int, timestamp or float
// by as an int64 of the same order in ts, and a string by in ext.by.

// NewPair returns the empty state of a function over two arguments (MaxBy,
// MinBy, TiesMax, TiesMin): x of type arg, ordered by a value of type by.
// It fails when fn takes no such pair.
func NewPair(fn Func, arg, by record.ColumnType) (State, error) {
	if !fn.Pair() {
		return State{}, fmt.Errorf("agg: %s does not take two arguments", fn)
	}
	if !fn.Accepts(arg) {
		return State{}, fmt.Errorf("agg: %s does not take a %s argument", fn, arg)
	}
	if !Orderable(by) {
		return State{}, fmt.Errorf("agg: %s cannot order by a %s", fn, by)
	}
	return State{fn: fn, typ: arg, byTyp: by}, nil
}

// Pair reports whether f takes two arguments, x and by.
func (f Func) Pair() bool { return f >= MaxBy && f <= TiesMin }

// Orderable reports whether values of type t can be a by: ints, floats,
// timestamps and strings.
func Orderable(t record.ColumnType) bool {
	return t.Numeric() || t == record.ColumnTimestamp || t == record.ColumnString
}

// ByType returns the type of the by argument of a pair function, and
// ColumnInvalid for the others.
func (s *State) ByType() record.ColumnType { return s.byTyp }

// AddPair adds a record whose arguments are x and by (MaxBy, MinBy,
// TiesMax, TiesMin). Their types must be the state's; x.S and by.S are
// copied when kept.
func (s *State) AddPair(x, by Value) {
	if !s.fn.Pair() {
		panic(fmt.Sprintf("agg: AddPair on %s", s.fn))
	}
	if x.Null || by.Null {
		return
	}
	if x.Type != s.typ && !(s.typ == record.ColumnTimestamp && x.Type == record.ColumnInt) {
		s.wrongType(x.Type)
	}
	c := 1
	if s.n > 0 {
		c = s.compareBy(by)
		if s.fn == MinBy || s.fn == TiesMin {
			c = -c
		}
	}
	switch {
	case c > 0:
		s.setBy(by)
		s.setX(x)
	case c == 0 && (s.fn == TiesMax || s.fn == TiesMin):
		s.sketches().ties = append(s.ext.ties, strings.Clone(x.S))
	case c == 0 && s.compareX(x) < 0:
		s.setX(x)
	}
	s.n++
}

// byKey maps an int, timestamp or float by to an int64 of the same order.
func byKey(t record.ColumnType, v Value) int64 {
	if t != record.ColumnFloat {
		return v.I
	}
	f := v.F
	u := math.Float64bits(f)
	if f != f {
		u = canonicalNaN
	}
	if u>>63 == 1 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return int64(u ^ 1<<63)
}

// compareBy compares by with the state's by: -1, 0 or +1.
func (s *State) compareBy(by Value) int {
	if s.byTyp == record.ColumnString {
		return strings.Compare(by.S, string(s.ext.by))
	}
	return cmp.Compare(byKey(s.byTyp, by), s.ts)
}

// compareX compares x with the state's x (MaxBy, MinBy): -1, 0 or +1.
func (s *State) compareX(x Value) int {
	switch s.typ {
	case record.ColumnFloat:
		switch {
		case floatLess(x.F, s.f):
			return -1
		case floatLess(s.f, x.F):
			return 1
		}
		return 0
	case record.ColumnString:
		return strings.Compare(x.S, string(s.str))
	case record.ColumnBool:
		var k int64
		if x.B {
			k = 1
		}
		return cmp.Compare(k, s.i)
	}
	return cmp.Compare(x.I, s.i)
}

func (s *State) setBy(by Value) {
	if s.byTyp == record.ColumnString {
		x := s.sketches()
		x.by = append(x.by[:0], by.S...)
		return
	}
	s.ts = byKey(s.byTyp, by)
}

// setX keeps x as the value (MaxBy, MinBy) or as the only tie.
func (s *State) setX(x Value) {
	switch s.fn {
	case TiesMax, TiesMin:
		t := s.sketches()
		clear(t.ties)
		t.ties = append(t.ties[:0], strings.Clone(x.S))
		return
	}
	switch s.typ {
	case record.ColumnFloat:
		s.f = x.F
	case record.ColumnString:
		s.str = append(s.str[:0], x.S...)
	case record.ColumnBool:
		s.i = 0
		if x.B {
			s.i = 1
		}
	default:
		s.i = x.I
	}
}

// Ties returns the values TiesMax or TiesMin keeps, sorted by their bytes,
// duplicates included; nil when no record was added. The slice is fresh;
// its strings are shared and immutable.
func (s *State) Ties() []string {
	if s.ext == nil || len(s.ext.ties) == 0 {
		return nil
	}
	out := slices.Clone(s.ext.ties)
	slices.Sort(out)
	return out
}

// xValue returns the kept x of MaxBy or MinBy as a Value.
func (s *State) xValue() Value {
	v := Value{Type: s.typ}
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
	return v
}

// byValue returns the kept by as a Value of the state's by type, with a
// float restored from its order key.
func (s *State) byValue() Value {
	v := Value{Type: s.byTyp}
	switch s.byTyp {
	case record.ColumnString:
		v.S = string(s.ext.by)
	case record.ColumnFloat:
		u := uint64(s.ts) ^ 1<<63
		if u>>63 == 1 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		v.F = math.Float64frombits(u)
	default:
		v.I = s.ts
	}
	return v
}

// mergePair merges o into s for the pair functions (o.n > 0).
func (s *State) mergePair(o *State) {
	if s.n == 0 {
		s.takePair(o)
		return
	}
	c := s.compareBy(o.byValue())
	if s.fn == MinBy || s.fn == TiesMin {
		c = -c
	}
	switch {
	case c > 0:
		s.takePair(o)
	case c < 0:
	case s.fn == TiesMax || s.fn == TiesMin:
		s.ext.ties = append(s.ext.ties, o.ext.ties...)
	case s.compareX(o.xValue()) < 0: // o's x is smaller
		s.setX(o.xValue())
	}
}

// takePair copies o's by and value(s) into s.
func (s *State) takePair(o *State) {
	s.setBy(o.byValue())
	if s.fn == TiesMax || s.fn == TiesMin {
		t := s.sketches()
		t.ties = append(t.ties[:0], o.ext.ties...)
		return
	}
	s.setX(o.xValue())
}
