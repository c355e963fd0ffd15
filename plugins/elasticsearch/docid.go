package elasticsearch

import (
	"strconv"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/record"
)

// keyColumns returns the columns of the record's Key (window_start and a
// window's group_by fields), or nil when the records have none.
func keyColumns(rec record.Schema) []int {
	if len(rec.Key) == 0 {
		return nil
	}
	cols := make([]int, 0, len(rec.Key))
	for _, name := range rec.Key {
		i := rec.Index(name)
		if i < 0 {
			return nil
		}
		cols = append(cols, i)
	}
	return cols
}

// appendKeyID appends the default document id of row: the key columns'
// values joined with "|", timestamps as Unix milliseconds, "|" and "\"
// in strings escaped with "\", and a null written "\N", so that two
// different keys never share an id.
func appendKeyID(dst []byte, cols []int, b *record.Batch, row int) []byte {
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, '|')
		}
		v := &b.Columns[c]
		if v.IsNull(row) {
			dst = append(dst, '\\', 'N')
			continue
		}
		switch v.Type {
		case record.ColumnString:
			for _, ch := range v.StringBytes(row) {
				if ch == '|' || ch == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, ch)
			}
		case record.ColumnInt, record.ColumnTimestamp:
			dst = strconv.AppendInt(dst, v.Ints[row], 10)
		case record.ColumnFloat:
			dst = strconv.AppendFloat(dst, v.Floats[row], 'g', -1, 64)
		case record.ColumnBool:
			dst = strconv.AppendBool(dst, v.Bools[row])
		}
	}
	return dst
}

// appendValueID appends the value of an id expression as text: strings
// as they are, numbers in decimal, timestamps as Unix milliseconds.
func appendValueID(dst []byte, v expression.Value) []byte {
	switch v.Type {
	case record.ColumnString:
		return append(dst, v.Str...)
	case record.ColumnInt, record.ColumnTimestamp:
		return strconv.AppendInt(dst, v.Int, 10)
	case record.ColumnFloat:
		return strconv.AppendFloat(dst, v.Float, 'g', -1, 64)
	case record.ColumnBool:
		return strconv.AppendBool(dst, v.Bool)
	}
	return dst
}
