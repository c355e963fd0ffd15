package record

import (
	"fmt"
	"unsafe"
)

// Vector holds one column of a Batch: the values of one field for every row,
// in the slice that matches its type. Strings are stored back to back in Bytes
// (as Apache Arrow does), so appending a parsed string copies bytes but does
// not allocate per row.
type Vector struct {
	Type    ColumnType
	Ints    []int64   // ColumnInt and ColumnTimestamp (Unix milliseconds)
	Floats  []float64 // ColumnFloat
	Bools   []bool    // ColumnBool
	Bytes   []byte    // ColumnString and ColumnStringMap: every value, back to back
	Offsets []int32   // ColumnString and ColumnStringMap: value i is Bytes[Offsets[i]:Offsets[i+1]]
	Nulls   []bool    // nil until a value is null; then Nulls[i] marks row i (kept, emptied, by Reset)
}

// Len returns the number of values in the vector.
func (v *Vector) Len() int {
	switch v.Type {
	case ColumnInt, ColumnTimestamp:
		return len(v.Ints)
	case ColumnFloat:
		return len(v.Floats)
	case ColumnBool:
		return len(v.Bools)
	case ColumnString, ColumnStringMap:
		if len(v.Offsets) == 0 {
			return 0
		}
		return len(v.Offsets) - 1
	}
	return 0
}

// IsNull reports whether row i is null.
func (v *Vector) IsNull(i int) bool { return v.Nulls != nil && v.Nulls[i] }

// StringBytes returns the bytes of string value i. They alias the vector and
// are valid until the vector is reset.
func (v *Vector) StringBytes(i int) []byte { return v.Bytes[v.Offsets[i]:v.Offsets[i+1]] }

// String returns string value i without copying. Like StringBytes it is only
// valid until the vector is reset: copy it (strings.Clone) to keep it.
func (v *Vector) String(i int) string {
	b := v.StringBytes(i)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// AppendInt appends an int or timestamp value.
func (v *Vector) AppendInt(x int64) { v.Ints = append(v.Ints, x); v.markNotNull() }

// AppendFloat appends a float value.
func (v *Vector) AppendFloat(x float64) { v.Floats = append(v.Floats, x); v.markNotNull() }

// AppendBool appends a bool value.
func (v *Vector) AppendBool(x bool) { v.Bools = append(v.Bools, x); v.markNotNull() }

// AppendString appends a copy of s.
func (v *Vector) AppendString(s []byte) {
	if len(v.Offsets) == 0 {
		v.Offsets = append(v.Offsets, 0)
	}
	v.Bytes = append(v.Bytes, s...)
	v.Offsets = append(v.Offsets, int32(len(v.Bytes)))
	v.markNotNull()
}

// AppendText appends a copy of s, as AppendString does for bytes.
func (v *Vector) AppendText(s string) { v.AppendString(unsafe.Slice(unsafe.StringData(s), len(s))) }

// AppendNull appends a null: the zero value of the type, marked null.
func (v *Vector) AppendNull() {
	n := v.Len()
	switch v.Type {
	case ColumnInt, ColumnTimestamp:
		v.Ints = append(v.Ints, 0)
	case ColumnFloat:
		v.Floats = append(v.Floats, 0)
	case ColumnBool:
		v.Bools = append(v.Bools, false)
	case ColumnString, ColumnStringMap:
		if len(v.Offsets) == 0 {
			v.Offsets = append(v.Offsets, 0)
		}
		v.Offsets = append(v.Offsets, int32(len(v.Bytes)))
	}
	if v.Nulls == nil {
		v.Nulls = make([]bool, n, 2*n+8)
	}
	v.Nulls = append(v.Nulls, true)
}

func (v *Vector) markNotNull() {
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, false)
	}
}

// Reset empties the vector and keeps its memory for reuse.
func (v *Vector) Reset() {
	v.Ints, v.Floats, v.Bools, v.Bytes = v.Ints[:0], v.Floats[:0], v.Bools[:0], v.Bytes[:0]
	v.Offsets = v.Offsets[:0]
	if v.Nulls != nil {
		v.Nulls = v.Nulls[:0] // keep the memory: a column that had nulls likely has more
	}
}

// Origin is where a row came from: the source partition and the position in
// it (a file's byte offset, a message's index), for dead letters and
// checkpoints.
type Origin struct {
	Partition int32
	Offset    int64
}

// Batch is a block of records following one Schema, stored by column.
// Stages receive and hand on batches of hundreds to thousands of rows; a
// Batch is owned by one stage at a time and is not safe for concurrent use.
//
// A batch of raw records (Schema.Raw) has one string column: the payloads.
// Metadata columns (Schema.Meta) follow the payload or the columns.
//
// Kinds holds each row's RowKind, or is empty when every row is an Insert:
// sources and stateless stages before a window never fill it, so inserts
// cost nothing. Read it with Kind, write it with AppendKind or AppendKinds.
type Batch struct {
	Schema  Schema
	Rows    int
	Columns []Vector  // one per schema column (one payload column when raw), then one per metadata column
	Origins []Origin  // one per row, or empty when origins are not tracked
	Kinds   []RowKind // one per row, or empty when every row is an Insert
}

// NewBatch returns an empty batch for rec with room for capacity rows.
func NewBatch(rec Schema, capacity int) *Batch {
	b := &Batch{Schema: rec, Columns: make([]Vector, 0, rec.Width())}
	if rec.Raw {
		b.Columns = append(b.Columns, newVector(ColumnString, capacity))
	} else {
		for _, c := range rec.Columns {
			b.Columns = append(b.Columns, newVector(c.Type, capacity))
		}
	}
	for _, c := range rec.Meta {
		b.Columns = append(b.Columns, newVector(c.Type, capacity))
	}
	return b
}

func newVector(t ColumnType, capacity int) Vector {
	v := Vector{Type: t}
	switch t {
	case ColumnInt, ColumnTimestamp:
		v.Ints = make([]int64, 0, capacity)
	case ColumnFloat:
		v.Floats = make([]float64, 0, capacity)
	case ColumnBool:
		v.Bools = make([]bool, 0, capacity)
	case ColumnString, ColumnStringMap:
		v.Offsets = make([]int32, 1, capacity+1)
	}
	return v
}

// Reset empties the batch and keeps its memory for reuse.
func (b *Batch) Reset() {
	b.Rows = 0
	b.Origins = b.Origins[:0]
	b.Kinds = b.Kinds[:0]
	for i := range b.Columns {
		b.Columns[i].Reset()
	}
}

// Validate checks that every column holds Rows values of its schema type,
// that origins, when tracked, cover every row, and that kinds, when held,
// are one known kind per row. Tests and debug builds use it.
func (b *Batch) Validate() error {
	if want := b.Schema.Width(); len(b.Columns) != want {
		return fmt.Errorf("batch has %d columns, schema %s wants %d", len(b.Columns), b.Schema, want)
	}
	for i := range b.Columns {
		v := &b.Columns[i]
		if want := b.Schema.vectorType(i); v.Type != want {
			return fmt.Errorf("column %d is %s, schema says %s", i, v.Type, want)
		}
		if v.Len() != b.Rows {
			return fmt.Errorf("column %d holds %d values for %d rows", i, v.Len(), b.Rows)
		}
		if v.Nulls != nil && len(v.Nulls) != b.Rows {
			return fmt.Errorf("column %d has %d null marks for %d rows", i, len(v.Nulls), b.Rows)
		}
	}
	if len(b.Origins) != 0 && len(b.Origins) != b.Rows {
		return fmt.Errorf("batch has %d origins for %d rows", len(b.Origins), b.Rows)
	}
	if len(b.Kinds) != 0 && len(b.Kinds) != b.Rows {
		return fmt.Errorf("batch has %d row kinds for %d rows", len(b.Kinds), b.Rows)
	}
	for i, k := range b.Kinds {
		if k > Delete {
			return fmt.Errorf("row %d has unknown kind %d", i, k)
		}
	}
	return nil
}

// AppendFrom appends value i of src, a vector of the same type, null marks
// included.
func (v *Vector) AppendFrom(src *Vector, i int) {
	if src.IsNull(i) {
		v.AppendNull()
		return
	}
	switch src.Type {
	case ColumnInt, ColumnTimestamp:
		v.AppendInt(src.Ints[i])
	case ColumnFloat:
		v.AppendFloat(src.Floats[i])
	case ColumnBool:
		v.AppendBool(src.Bools[i])
	case ColumnString, ColumnStringMap:
		v.AppendString(src.StringBytes(i))
	}
}

// AppendRows appends the values rows of src, a vector of the same type, in
// that order, null marks included: what AppendFrom does for each row, with
// the strings of consecutive rows copied at once.
func (v *Vector) AppendRows(src *Vector, rows []int32) {
	if len(rows) == 0 {
		return
	}
	if src.Nulls != nil {
		for _, r := range rows {
			if src.Nulls[r] {
				// Rare: keep AppendFrom's zero values and null marks exactly.
				for _, r := range rows {
					v.AppendFrom(src, int(r))
				}
				return
			}
		}
	}
	switch src.Type {
	case ColumnInt, ColumnTimestamp:
		for _, r := range rows {
			v.Ints = append(v.Ints, src.Ints[r])
		}
	case ColumnFloat:
		for _, r := range rows {
			v.Floats = append(v.Floats, src.Floats[r])
		}
	case ColumnBool:
		for _, r := range rows {
			v.Bools = append(v.Bools, src.Bools[r])
		}
	case ColumnString, ColumnStringMap:
		v.appendStringRows(src, rows)
	}
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, make([]bool, len(rows))...)
	}
}

// appendStringRows appends the string values rows of src, one run of
// consecutive rows at a time.
func (v *Vector) appendStringRows(src *Vector, rows []int32) {
	if len(v.Offsets) == 0 {
		v.Offsets = append(v.Offsets, 0)
	}
	for i := 0; i < len(rows); {
		first := rows[i]
		j := i + 1
		for j < len(rows) && rows[j] == rows[j-1]+1 {
			j++
		}
		last := rows[j-1] + 1
		from, to := src.Offsets[first], src.Offsets[last]
		shift := int32(len(v.Bytes)) - from
		v.Bytes = append(v.Bytes, src.Bytes[from:to]...)
		for _, end := range src.Offsets[first+1 : last+1] {
			v.Offsets = append(v.Offsets, end+shift)
		}
		i = j
	}
}
