package record

// Keep removes every row of b but rows, ascending row indexes of b, moving
// the kept rows down in place, kinds and origins with them: b then holds
// what appending those rows of b to an empty batch would. A filter that
// keeps most rows does less work this way than copying them out, and the
// bytes it moves are the ones it has just read.
func (b *Batch) Keep(rows []int32) {
	for c := range b.Columns {
		b.Columns[c].keep(rows)
	}
	if len(b.Origins) > 0 {
		b.Origins = keepRows(b.Origins, rows)
	}
	if len(b.Kinds) > 0 {
		b.Kinds = keepRows(b.Kinds, rows)
	}
	b.Rows = len(rows)
}

// keepRows moves s[rows[i]] to s[i] and returns the first len(rows).
func keepRows[T any](s []T, rows []int32) []T {
	for i, r := range rows {
		s[i] = s[r]
	}
	return s[:len(rows)]
}

// keep is Batch.Keep for one column.
func (v *Vector) keep(rows []int32) {
	switch v.Type {
	case ColumnInt, ColumnTimestamp:
		v.Ints = keepRows(v.Ints, rows)
	case ColumnFloat:
		v.Floats = keepRows(v.Floats, rows)
	case ColumnBool:
		v.Bools = keepRows(v.Bools, rows)
	case ColumnString, ColumnStringMap:
		v.keepStrings(rows)
	}
	if v.Nulls != nil {
		v.Nulls = keepRows(v.Nulls, rows)
	}
}

// keepStrings moves the kept strings down one run of consecutive rows at a
// time. Offsets are rewritten at indexes at or below those still to be
// read: row i of the result is at most row rows[i], and a run starts after
// a gap, so the start of its first row was not overwritten.
func (v *Vector) keepStrings(rows []int32) {
	if len(v.Offsets) == 0 {
		return
	}
	w := int32(0) // bytes kept so far
	n := 0        // rows kept so far
	for i := 0; i < len(rows); {
		first := int(rows[i])
		j := i + 1
		for j < len(rows) && rows[j] == rows[j-1]+1 {
			j++
		}
		last := int(rows[j-1]) + 1
		from, to := v.Offsets[first], v.Offsets[last]
		copy(v.Bytes[w:], v.Bytes[from:to])
		shift := w - from
		for k := first; k < last; k++ {
			n++
			v.Offsets[n] = v.Offsets[k+1] + shift
		}
		w += to - from
		i = j
	}
	v.Offsets[0] = 0
	v.Offsets = v.Offsets[:n+1]
	v.Bytes = v.Bytes[:w]
}
