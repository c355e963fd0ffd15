package agg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluice-io/sluice/record"

	"github.com/axiomhq/hyperloglog"
)

// The snapshot of a State (version 1), all integers as (zig-zag) varints
// and floats as 8 little-endian bytes:
//
//	version=1 func argtype [bytype] [q] n
//	                                    bytype: max_by, min_by, ties_max and ties_min only
//	                                    q: approx_percentile only
//	then, when n > 0, by function:
//	  count                 nothing
//	  sum, avg              lo hi (int, a 128-bit sum) or sum (float)
//	  min, max              value
//	  first, last           ts value
//	  max_by, min_by        by value
//	  ties_max, ties_min    by, k, then k values (strings)
//	  count_distinct        k, then k values
//	  approx_count_distinct 0, k and k hashes as 8 bytes each (exact), or
//	                        1, length, then the hyperloglog package's encoding
//	  approx_percentile     zeros, then the positive and the negative bins:
//	                        count, then per bin its index (the first one
//	                        absolute, then increments) and its count
//
// n is the number of records for count and of non-null values otherwise. A
// value is a varint (int, timestamp), a float, one byte 0 or 1 (bool), or a
// length and bytes (string); a by is a length and bytes (string) or the
// varint of its order key (see byKey). The functions over pairs were added
// to version 1 without changing the layout of the others. The encoding is not canonical: count_distinct's
// values come in no particular order, and a HyperLogLog may be sparse or
// dense. snapshotVersion must change with any change of the layout, of Func
// numbering, of the hashes of approx_count_distinct (see hashKey), or of
// PercentileAccuracy or HLLPrecision.
const snapshotVersion = 1

// Errors of UnmarshalBinary, wrapped with details; match them with errors.Is.
var (
	ErrVersion   = errors.New("agg: unsupported snapshot version")
	ErrTruncated = errors.New("agg: truncated snapshot")
	ErrCorrupt   = errors.New("agg: corrupt snapshot")
)

// MarshalBinary returns the snapshot of s. See AppendBinary.
func (s *State) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// AppendBinary appends the snapshot of s to b: compact, versioned, and
// restored by UnmarshalBinary into a state that behaves exactly as s. It
// fails only for a State not made by New. It does not change s.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	if s.fn < Count || s.fn > TiesMin {
		return b, errors.New("agg: snapshot of a State not made by New")
	}
	b = append(b, snapshotVersion, byte(s.fn), byte(s.typ))
	if s.fn.Pair() {
		b = append(b, byte(s.byTyp))
	}
	if s.fn == ApproxPercentile {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.f))
	}
	b = binary.AppendUvarint(b, uint64(s.n))
	if s.n == 0 {
		return b, nil
	}
	switch s.fn {
	case Sum, Avg:
		if s.typ == record.ColumnFloat {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.f))
		} else {
			b = binary.AppendVarint(binary.AppendVarint(b, s.i), s.hi)
		}
	case Min, Max:
		b = s.appendValue(b)
	case First, Last:
		b = s.appendValue(binary.AppendVarint(b, s.ts))
	case MaxBy, MinBy:
		b = s.appendValue(s.appendBy(b))
	case TiesMax, TiesMin:
		b = binary.AppendUvarint(s.appendBy(b), uint64(len(s.ext.ties)))
		for _, v := range s.ext.ties {
			b = append(binary.AppendUvarint(b, uint64(len(v))), v...)
		}
	case CountDistinct:
		b = s.appendDistinct(b)
	case ApproxCountDistinct:
		if s.ext == nil || s.ext.hll == nil {
			b = append(b, 0)
			b = binary.AppendUvarint(b, uint64(s.set.len()))
			s.set.each(func(h uint64) { b = binary.LittleEndian.AppendUint64(b, h) })
			break
		}
		h, err := s.ext.hll.MarshalBinary()
		if err != nil {
			return b, fmt.Errorf("agg: snapshot of approx_count_distinct: %w", err)
		}
		b = append(binary.AppendUvarint(append(b, 1), uint64(len(h))), h...)
	case ApproxPercentile:
		b = s.appendPercentile(b)
	}
	return b, nil
}

// appendValue appends the value of min, max, first or last.
func (s *State) appendValue(b []byte) []byte {
	switch s.typ {
	case record.ColumnFloat:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(s.f))
	case record.ColumnString:
		return append(binary.AppendUvarint(b, uint64(len(s.str))), s.str...)
	case record.ColumnBool:
		return append(b, byte(s.i))
	}
	return binary.AppendVarint(b, s.i)
}

// appendBy appends the by of a pair function.
func (s *State) appendBy(b []byte) []byte {
	if s.byTyp == record.ColumnString {
		return append(binary.AppendUvarint(b, uint64(len(s.ext.by))), s.ext.by...)
	}
	return binary.AppendVarint(b, s.ts)
}

// appendDistinct appends count_distinct's values.
func (s *State) appendDistinct(b []byte) []byte {
	if s.typ == record.ColumnString {
		b = binary.AppendUvarint(b, uint64(len(s.ext.strs)))
		for v := range s.ext.strs {
			b = append(binary.AppendUvarint(b, uint64(len(v))), v...)
		}
		return b
	}
	b = binary.AppendUvarint(b, uint64(s.set.len()))
	s.set.each(func(k uint64) {
		switch s.typ {
		case record.ColumnFloat:
			b = binary.LittleEndian.AppendUint64(b, k)
		case record.ColumnBool:
			b = append(b, byte(k))
		default:
			b = binary.AppendVarint(b, int64(k))
		}
	})
	return b
}

// appendPercentile appends approx_percentile's sketch: counts are whole
// numbers, as values are added one at a time.
func (s *State) appendPercentile(b []byte) []byte {
	dd := s.ext.dd
	b = binary.AppendUvarint(b, uint64(dd.GetZeroCount()))
	for _, st := range [...]interface {
		ForEach(func(index int, count float64) bool)
	}{dd.GetPositiveValueStore(), dd.GetNegativeValueStore()} {
		bins := 0
		st.ForEach(func(int, float64) bool { bins++; return false })
		b = binary.AppendUvarint(b, uint64(bins))
		prev := 0
		st.ForEach(func(index int, count float64) bool {
			b = binary.AppendVarint(b, int64(index-prev))
			b = binary.AppendUvarint(b, uint64(count))
			prev = index
			return false
		})
	}
	return b
}

// UnmarshalBinary replaces s with the state whose snapshot is data, the
// whole of data. It rejects unknown versions (ErrVersion), short input
// (ErrTruncated) and anything else inconsistent (ErrCorrupt), leaving s
// unchanged; it never panics, and allocates no more than a small multiple
// of len(data) (a percentile sketch at most about 0.6 MB). Check Func,
// ArgType and Quantile against the declaration after restoring.
func (s *State) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	t, err := r.state()
	if err == nil && len(r.b) > 0 {
		err = fmt.Errorf("%w: %d bytes after the state", ErrCorrupt, len(r.b))
	}
	if err != nil {
		return err
	}
	*s = t
	return nil
}

// state decodes one state.
func (r *reader) state() (State, error) {
	if len(r.b) < 3 {
		return State{}, fmt.Errorf("%w: %d bytes", ErrTruncated, len(r.b))
	}
	if v := r.b[0]; v != snapshotVersion {
		return State{}, fmt.Errorf("%w: %d (this sluice reads version %d)", ErrVersion, v, snapshotVersion)
	}
	fn, typ := Func(r.b[1]), record.ColumnType(r.b[2])
	r.b = r.b[3:]
	q, byTyp := 0.0, record.ColumnInvalid
	if fn == ApproxPercentile {
		q = math.Float64frombits(r.uint64())
	}
	if fn.Pair() {
		byTyp = record.ColumnType(r.byte1())
	}
	if r.err != nil {
		return State{}, r.err
	}
	var t State
	var err error
	if fn.Pair() {
		t, err = NewPair(fn, typ, byTyp)
	} else {
		t, err = New(fn, typ, q)
	}
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	n := r.uvarint()
	if n > math.MaxInt64 {
		r.corrupt("count %d", n)
	}
	t.n = int64(n)
	if n == 0 || r.err != nil {
		return t, r.err
	}
	switch fn {
	case Sum, Avg:
		if typ == record.ColumnFloat {
			t.f = math.Float64frombits(r.uint64())
		} else {
			t.i, t.hi = r.varint(), r.varint()
		}
	case Min, Max:
		r.value(&t)
	case First, Last:
		t.ts = r.varint()
		r.value(&t)
	case MaxBy, MinBy:
		r.by(&t)
		r.value(&t)
	case TiesMax, TiesMin:
		r.by(&t)
		r.ties(&t)
	case CountDistinct:
		r.distinct(&t)
	case ApproxCountDistinct:
		r.hll(&t)
	case ApproxPercentile:
		r.percentile(&t)
	}
	return t, r.err
}

// value decodes the value of min, max, first or last into t.
func (r *reader) value(t *State) {
	switch t.typ {
	case record.ColumnFloat:
		t.f = math.Float64frombits(r.uint64())
	case record.ColumnString:
		t.str = append([]byte(nil), r.bytes(r.uvarint())...)
	case record.ColumnBool:
		t.i = int64(r.bool())
	default:
		t.i = r.varint()
	}
}

// by decodes the by of a pair function into t.
func (r *reader) by(t *State) {
	if t.byTyp == record.ColumnString {
		t.sketches().by = append([]byte(nil), r.bytes(r.uvarint())...)
		return
	}
	t.ts = r.varint()
}

// ties decodes the values of ties_max or ties_min into t: at least one, at
// most the number of records added.
func (r *reader) ties(t *State) {
	k := r.uvarint()
	if r.err == nil && (k == 0 || k > uint64(t.n) || k > uint64(len(r.b))) { // each value takes a byte or more
		r.corrupt("%d ties of %d values", k, t.n)
		return
	}
	x := t.sketches()
	for range k {
		v := r.bytes(r.uvarint())
		if r.err != nil {
			return
		}
		x.ties = append(x.ties, string(v))
	}
}

// distinct decodes count_distinct's values into t.
func (r *reader) distinct(t *State) {
	k := r.uvarint()
	if k == 0 || k > uint64(t.n) || k > uint64(len(r.b)) { // each value takes a byte or more
		r.corrupt("%d distinct values of %d", k, t.n)
		return
	}
	for range k {
		switch t.typ {
		case record.ColumnString:
			x := t.sketches()
			if x.strs == nil {
				x.strs = make(map[string]struct{}, k)
			}
			x.strs[string(r.bytes(r.uvarint()))] = struct{}{}
		case record.ColumnFloat:
			t.set.add(floatKey(math.Float64frombits(r.uint64())))
		case record.ColumnBool:
			t.set.add(r.bool())
		default:
			t.set.add(uint64(r.varint()))
		}
		if r.err != nil {
			return
		}
	}
}

// hll decodes approx_count_distinct's hashes or sketch into t.
func (r *reader) hll(t *State) {
	if len(r.b) > 0 && r.b[0] == 0 {
		r.b = r.b[1:]
		k := r.uvarint()
		if k == 0 || k > uint64(t.n) || k >= hllExactLimit || k > uint64(len(r.b))/8 {
			r.corrupt("%d distinct hashes of %d values in %d bytes", k, t.n, len(r.b))
			return
		}
		for range k {
			t.set.add(r.uint64())
		}
		return
	}
	if r.bool() != 1 || r.err != nil {
		return
	}
	h := r.bytes(r.uvarint())
	if r.err != nil {
		return
	}
	if len(h) >= 2 && h[1] != HLLPrecision {
		r.corrupt("HyperLogLog precision %d, want %d", h[1], HLLPrecision)
		return
	}
	sk := new(hyperloglog.Sketch)
	if err := sk.UnmarshalBinary(h); err != nil {
		r.fail(fmt.Errorf("%w: %w", ErrCorrupt, err))
		return
	}
	t.sketches().hll = sk
}

// percentile decodes approx_percentile's sketch into t. The bins must be
// valid indexes of ddMapping in increasing order, and their counts with the
// zeros must add up to t.n.
func (r *reader) percentile(t *State) {
	lowest, highest := ddMapping.Index(ddMapping.MinIndexableValue()), ddMapping.Index(percentileMax)
	total := r.uvarint()
	if total > uint64(t.n) {
		r.corrupt("%d zeros of %d values", total, t.n)
		return
	}
	dd := newDD()
	if total > 0 {
		_ = dd.AddWithCount(0, float64(total))
	}
	for _, st := range [...]interface{ AddWithCount(int, float64) }{dd.GetPositiveValueStore(), dd.GetNegativeValueStore()} {
		bins := r.uvarint()
		if bins > uint64(len(r.b))/2 { // each bin takes two bytes or more
			r.corrupt("%d bins in %d bytes", bins, len(r.b))
		}
		index := int64(0)
		for i := uint64(0); i < bins && r.err == nil; i++ {
			d, c := r.varint(), r.uvarint()
			if i > 0 && d <= 0 || d < int64(lowest)-index || d > int64(highest)-index || c == 0 || c > uint64(t.n) {
				r.corrupt("bin %d of %d: index step %d, count %d", i, bins, d, c)
				break
			}
			index += d
			if total += c; total > uint64(t.n) {
				r.corrupt("percentile sketch holds over %d values", t.n)
				break
			}
			st.AddWithCount(int(index), float64(c))
		}
		if r.err != nil {
			return
		}
	}
	if total != uint64(t.n) {
		r.corrupt("percentile sketch holds %d values, want %d", total, t.n)
		return
	}
	t.sketches().dd = dd
}

// reader decodes a snapshot. The first error stops it: later reads return
// zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) corrupt(format string, args ...any) {
	r.fail(fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...)))
}

func (r *reader) truncated(what string) {
	r.fail(fmt.Errorf("%w: missing %s", ErrTruncated, what))
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.truncated("a number")
		return 0
	case n < 0:
		r.corrupt("number longer than 64 bits")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	switch {
	case n == 0:
		r.truncated("a number")
		return 0
	case n < 0:
		r.corrupt("number longer than 64 bits")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.truncated("8 bytes")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// byte1 reads one byte.
func (r *reader) byte1() byte {
	if len(r.b) < 1 {
		r.truncated("a type")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bool() uint64 {
	if len(r.b) < 1 {
		r.truncated("a bool")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	if v > 1 {
		r.corrupt("bool %d", v)
	}
	return uint64(v)
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.truncated(fmt.Sprintf("%d bytes", n))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
