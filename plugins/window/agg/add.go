package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/axiomhq/hyperloglog"
	metro "github.com/dgryski/go-metro"
)

// The Add methods add one record: its argument value and its event time ts
// (Unix milliseconds), which only first and last use. The method must match
// the state's argument type (count() takes any of them); calling another is
// a bug and panics.
//
// first keeps the value with the smallest event time and last the one with
// the largest; on equal event times first keeps the earlier-arriving record
// and last the later-arriving one, so a stream in event-time order gives the
// first and last records added.

// AddNull adds a record whose argument is null: count() counts it, every
// other function skips it. It is also how the stage adds each record to
// count(), which has no argument.
func (s *State) AddNull(ts int64) {
	if s.fn == Count {
		s.n++
	}
}

// Add adds a record whose argument is v, dispatching on v.Type and v.Null.
// The typed methods are faster.
func (s *State) Add(v Value, ts int64) {
	switch {
	case v.Null || s.fn == Count:
		s.AddNull(ts)
	case v.Type == record.ColumnInt || v.Type == record.ColumnTimestamp:
		s.AddInt(v.I, ts)
	case v.Type == record.ColumnFloat:
		s.AddFloat(v.F, ts)
	case v.Type == record.ColumnString:
		s.AddString(v.S, ts)
	case v.Type == record.ColumnBool:
		s.AddBool(v.B, ts)
	default:
		s.wrongType(v.Type)
	}
}

// AddInt adds an int, or a timestamp in Unix milliseconds.
func (s *State) AddInt(v, ts int64) {
	if s.fn == Count {
		s.n++
		return
	}
	if s.typ != record.ColumnInt && s.typ != record.ColumnTimestamp {
		s.wrongType(record.ColumnInt)
	}
	switch s.fn {
	case Sum, Avg:
		lo, carry := bits.Add64(uint64(s.i), uint64(v), 0)
		s.i = int64(lo)
		s.hi += v>>63 + int64(carry) // v sign-extended to 128 bits
	case Min:
		if s.n == 0 || v < s.i {
			s.i = v
		}
	case Max:
		if s.n == 0 || v > s.i {
			s.i = v
		}
	case First:
		if s.n == 0 || ts < s.ts {
			s.i, s.ts = v, ts
		}
	case Last:
		if s.n == 0 || ts >= s.ts {
			s.i, s.ts = v, ts
		}
	case CountDistinct:
		s.set.add(uint64(v))
	case ApproxCountDistinct:
		s.addHash(hashKey(uint64(v)))
	case ApproxPercentile:
		if s.dd().Add(float64(v)) != nil {
			return
		}
	}
	s.n++
}

// AddFloat adds a float. approx_percentile skips NaN, infinities and other
// values beyond ±1.26e308, which its sketch cannot track, as if they were
// null.
func (s *State) AddFloat(v float64, ts int64) {
	if s.fn == Count {
		s.n++
		return
	}
	if s.typ != record.ColumnFloat {
		s.wrongType(record.ColumnFloat)
	}
	switch s.fn {
	case Sum, Avg:
		s.f += v
	case Min:
		if s.n == 0 || floatLess(v, s.f) {
			s.f = v
		}
	case Max:
		if s.n == 0 || floatLess(s.f, v) {
			s.f = v
		}
	case First:
		if s.n == 0 || ts < s.ts {
			s.f, s.ts = v, ts
		}
	case Last:
		if s.n == 0 || ts >= s.ts {
			s.f, s.ts = v, ts
		}
	case CountDistinct:
		s.set.add(floatKey(v))
	case ApproxCountDistinct:
		s.addHash(hashKey(floatKey(v)))
	case ApproxPercentile:
		if s.dd().Add(v) != nil {
			return
		}
	}
	s.n++
}

// AddString adds a string. The state keeps a copy, never v itself, so v may
// point into a buffer the caller reuses.
func (s *State) AddString(v string, ts int64) {
	if s.fn == Count {
		s.n++
		return
	}
	if s.typ != record.ColumnString {
		s.wrongType(record.ColumnString)
	}
	switch s.fn {
	case Min:
		if s.n == 0 || v < string(s.str) {
			s.str = append(s.str[:0], v...)
		}
	case Max:
		if s.n == 0 || v > string(s.str) {
			s.str = append(s.str[:0], v...)
		}
	case First:
		if s.n == 0 || ts < s.ts {
			s.str, s.ts = append(s.str[:0], v...), ts
		}
	case Last:
		if s.n == 0 || ts >= s.ts {
			s.str, s.ts = append(s.str[:0], v...), ts
		}
	case CountDistinct:
		x := s.sketches()
		if x.strs == nil {
			x.strs = make(map[string]struct{})
		}
		if _, ok := x.strs[v]; !ok {
			x.strs[strings.Clone(v)] = struct{}{}
		}
	case ApproxCountDistinct:
		s.addHash(metro.Hash64Str(v, hashSeed))
	}
	s.n++
}

// AddBool adds a bool (first, last, count_distinct, approx_count_distinct).
func (s *State) AddBool(v bool, ts int64) {
	if s.fn == Count {
		s.n++
		return
	}
	if s.typ != record.ColumnBool {
		s.wrongType(record.ColumnBool)
	}
	var k int64
	if v {
		k = 1
	}
	switch s.fn {
	case First:
		if s.n == 0 || ts < s.ts {
			s.i, s.ts = k, ts
		}
	case Last:
		if s.n == 0 || ts >= s.ts {
			s.i, s.ts = k, ts
		}
	case CountDistinct:
		s.set.add(uint64(k))
	case ApproxCountDistinct:
		s.addHash(metro.Hash64([]byte{byte(k)}, hashSeed))
	}
	s.n++
}

// wrongType panics: the stage added a value of the wrong type, a bug.
func (s *State) wrongType(t record.ColumnType) {
	panic(fmt.Sprintf("agg: %s value added to %s over %s", t, s.fn, s.typ))
}

// floatLess orders floats totally: -Inf < ... < -0 < +0 < ... < +Inf < NaN.
// NaN equals NaN, so the first NaN seen stays.
func floatLess(a, b float64) bool {
	switch {
	case a < b:
		return true
	case a == b:
		return a == 0 && math.Signbit(a) && !math.Signbit(b)
	default:
		return a == a && b != b // a is a number, b is NaN
	}
}

// canonicalNaN is the one NaN bit pattern distinct values use.
var canonicalNaN = math.Float64bits(math.NaN())

// floatKey returns the bits that identify v among distinct values: -0 is 0
// and every NaN is one value.
func floatKey(v float64) uint64 {
	switch {
	case v == 0:
		return 0
	case v != v:
		return canonicalNaN
	}
	return math.Float64bits(v)
}

// hashSeed is the MetroHash64 seed of approx_count_distinct, the one the
// hyperloglog package uses.
const hashSeed = 1337

// hashKey returns the approx_count_distinct hash of an int, a timestamp or
// a float's key: MetroHash64 of its 8 little-endian bytes. Bools hash as one
// byte (0 or 1), strings as their bytes. These hashes are part of the
// snapshot format.
func hashKey(k uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], k)
	return metro.Hash64(b[:], hashSeed)
}

// hllExactLimit is the number of distinct hashes at which
// approx_count_distinct stops keeping them exactly in s.set (at most 16 KB)
// and moves them to a dense HyperLogLog (16 KB too). Up to the limit the estimate is exact but for
// 64-bit hash collisions; a sparse HyperLogLog would be smaller between
// about 1,500 and 16,000 values but costs about a microsecond per record.
const hllExactLimit = 1536

// addHash adds the hash of a value to approx_count_distinct.
func (s *State) addHash(h uint64) {
	if s.ext != nil && s.ext.hll != nil {
		s.ext.hll.InsertHash(h)
		return
	}
	s.set.add(h)
	if s.set.len() >= hllExactLimit {
		s.toHLL()
	}
}

// toHLL moves approx_count_distinct's exact hashes to a dense HyperLogLog.
func (s *State) toHLL() {
	hll, err := hyperloglog.NewSketch(HLLPrecision, false)
	if err != nil {
		panic(err) // HLLPrecision is valid
	}
	s.set.each(hll.InsertHash)
	s.set = intSet{}
	s.sketches().hll = hll
}

// ddMapping is the index mapping every approx_percentile sketch shares: its
// accuracy is PercentileAccuracy, and it is never modified.
var ddMapping = func() *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(PercentileAccuracy)
	if err != nil {
		panic(err)
	}
	return m
}()

// percentileMax is the largest magnitude approx_percentile can track, about
// 1.26e308; larger values (and infinities) are skipped. Magnitudes below
// about 2.3e-308 count as zero.
var percentileMax = ddMapping.MaxIndexableValue()

// sketches returns s.ext, allocating it on first use.
func (s *State) sketches() *sketches {
	if s.ext == nil {
		s.ext = &sketches{}
	}
	return s.ext
}

// dd returns the state's DDSketch, allocating it on first use.
func (s *State) dd() *ddsketch.DDSketch {
	x := s.sketches()
	if x.dd == nil {
		x.dd = newDD()
	}
	return x.dd
}

// newDD returns an empty sketch over ddMapping. Buffered paginated stores
// stay small for few values and never collapse bins, so the relative
// accuracy holds for every quantile.
func newDD() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(ddMapping, store.NewBufferedPaginatedStore(), store.NewBufferedPaginatedStore())
}
