package elasticsearch

import (
	"strconv"

	"github.com/sluice-io/sluice/record"
)

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
