package agg

import (
	"fmt"
	"math/bits"

	"github.com/sluice-io/sluice/record"
)

// Merge adds the records of o to s, as if each had been added to s after
// s's own: on equal event times, first keeps s's value and last takes o's.
// o is left unchanged and s shares no memory with it afterwards. The result
// equals adding every record to one state, exactly for all functions but
// approx_count_distinct and approx_percentile (whose sketches merge without
// further loss) and float sums and averages (whose rounding depends on the
// order of additions). Merge fails, changing nothing, when the two states
// are not of the same aggregate (function, argument type, and quantile).
// o must not be s.
func (s *State) Merge(o *State) error {
	if s.fn != o.fn || s.fn != Count && s.typ != o.typ || s.byTyp != o.byTyp || s.fn == ApproxPercentile && s.f != o.f {
		return fmt.Errorf("agg: cannot merge %s into %s", o.describe(), s.describe())
	}
	if o.n == 0 {
		return nil
	}
	switch s.fn {
	case Sum, Avg:
		if s.typ == record.ColumnFloat {
			s.f += o.f
		} else {
			lo, carry := bits.Add64(uint64(s.i), uint64(o.i), 0)
			s.i = int64(lo)
			s.hi += o.hi + int64(carry)
		}
	case Min:
		if s.n == 0 || o.less(s) {
			s.take(o)
		}
	case Max:
		if s.n == 0 || s.less(o) {
			s.take(o)
		}
	case First:
		if s.n == 0 || o.ts < s.ts {
			s.take(o)
		}
	case Last:
		if s.n == 0 || o.ts >= s.ts {
			s.take(o)
		}
	case CountDistinct:
		o.set.each(s.set.add)
		if o.ext != nil && len(o.ext.strs) > 0 {
			x := s.sketches()
			if x.strs == nil {
				x.strs = make(map[string]struct{}, len(o.ext.strs))
			}
			for k := range o.ext.strs {
				x.strs[k] = struct{}{} // strings are immutable: sharing is safe
			}
		}
	case ApproxCountDistinct:
		if o.ext == nil || o.ext.hll == nil {
			o.set.each(s.addHash)
			break
		}
		if s.ext == nil || s.ext.hll == nil {
			s.toHLL()
		}
		if err := s.ext.hll.Merge(o.ext.hll); err != nil {
			return fmt.Errorf("agg: merging approx_count_distinct: %w", err)
		}
	case MaxBy, MinBy, TiesMax, TiesMin:
		s.mergePair(o)
	case ApproxPercentile:
		if o.ext != nil && o.ext.dd != nil {
			if err := s.dd().MergeWith(o.ext.dd); err != nil {
				return fmt.Errorf("agg: merging approx_percentile: %w", err)
			}
		}
	}
	s.n += o.n
	return nil
}

// describe names the aggregate in messages, e.g. "sum over int".
func (s *State) describe() string {
	if s.fn == ApproxPercentile {
		return fmt.Sprintf("%s over %s with q = %v", s.fn, s.typ, s.f)
	}
	if s.fn.Pair() {
		return fmt.Sprintf("%s over %s by %s", s.fn, s.typ, s.byTyp)
	}
	return fmt.Sprintf("%s over %s", s.fn, s.typ)
}

// less reports whether s's value orders before o's (min, max).
func (s *State) less(o *State) bool {
	switch s.typ {
	case record.ColumnFloat:
		return floatLess(s.f, o.f)
	case record.ColumnString:
		return string(s.str) < string(o.str)
	}
	return s.i < o.i
}

// take copies o's value and event time into s (min, max, first, last).
func (s *State) take(o *State) {
	s.i, s.f, s.ts = o.i, o.f, o.ts
	if s.typ == record.ColumnString {
		s.str = append(s.str[:0], o.str...)
	}
}
