// Package ndjson encodes the rows of typed record batches as JSON objects,
// one per line of an NDJSON file, without allocating.
//
// The output matches what encoding/json produces for equivalent Go values
// with HTML escaping turned off: keys are the schema's column names in
// schema order; ints are integers; floats use the shortest representation
// (exponent form below 1e-6 and from 1e21 on); strings are escaped as
// encoding/json escapes them, invalid UTF-8 included; timestamps are RFC 3339
// strings in UTC with exactly three fractional digits, such as
// "2024-05-01T12:00:00.000Z". Two values that JSON cannot represent are
// written as null: null fields, and floats that are NaN or infinite.
package ndjson

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/sluice-io/sluice/record"
)

// Encoder encodes rows of batches of one schema. Its column keys are escaped
// once, when it is made. It is immutable and safe for concurrent use.
type Encoder struct {
	raw  bool
	keys []byte // every column's prefix back to back: `{"name":` then `,"name":`...
	ends []int  // ends[i] is where column i's prefix ends in keys
}

// NewEncoder returns an Encoder for batches whose schema is rec.
func NewEncoder(rec record.Schema) *Encoder {
	e := &Encoder{raw: rec.Raw}
	if rec.Raw {
		return e
	}
	e.ends = make([]int, len(rec.Columns))
	for i, c := range rec.Columns {
		if i == 0 {
			e.keys = append(e.keys, '{')
		} else {
			e.keys = append(e.keys, ',')
		}
		e.keys = AppendString(e.keys, c.Name)
		e.keys = append(e.keys, ':')
		e.ends[i] = len(e.keys)
	}
	return e
}

// AppendRow appends row of b as one JSON object, without a newline, and
// returns the extended slice. b must follow the schema e was made for. For a
// raw schema it appends the payload bytes unchanged. It does not allocate
// when dst has room for the row.
func (e *Encoder) AppendRow(dst []byte, b *record.Batch, row int) []byte {
	if e.raw {
		return append(dst, b.Columns[0].StringBytes(row)...)
	}
	if len(e.ends) == 0 {
		return append(dst, '{', '}')
	}
	start := 0
	for c, end := range e.ends {
		dst = append(dst, e.keys[start:end]...)
		start = end
		dst = appendValue(dst, &b.Columns[c], row)
	}
	return append(dst, '}')
}

// AppendRow appends row of b as one JSON object, without a newline, as
// NewEncoder(b.Schema).AppendRow does, escaping the keys on every call. Use
// an Encoder to encode many rows.
func AppendRow(dst []byte, b *record.Batch, row int) []byte {
	if b.Schema.Raw {
		return append(dst, b.Columns[0].StringBytes(row)...)
	}
	dst = append(dst, '{')
	for c, col := range b.Schema.Columns {
		if c > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, col.Name)
		dst = append(dst, ':')
		dst = appendValue(dst, &b.Columns[c], row)
	}
	return append(dst, '}')
}

// appendValue appends value row of v as JSON.
func appendValue(dst []byte, v *record.Vector, row int) []byte {
	if v.IsNull(row) {
		return append(dst, "null"...)
	}
	switch v.Type {
	case record.ColumnInt:
		return strconv.AppendInt(dst, v.Ints[row], 10)
	case record.ColumnFloat:
		return AppendFloat(dst, v.Floats[row])
	case record.ColumnBool:
		return strconv.AppendBool(dst, v.Bools[row])
	case record.ColumnString:
		return AppendString(dst, v.String(row))
	case record.ColumnTimestamp:
		dst = append(dst, '"')
		dst = AppendTimestamp(dst, v.Ints[row])
		return append(dst, '"')
	}
	return append(dst, "null"...)
}

// AppendFloat appends f as encoding/json writes a float64: the shortest
// representation that reads back as f, in exponent form when its magnitude
// is below 1e-6 or at least 1e21. NaN and infinities, which JSON cannot
// represent, are written as null.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// safe marks the ASCII bytes that are written unescaped in a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a quoted JSON string, escaped as encoding/json
// escapes it with HTML escaping off: '"', '\\' and control characters are
// escaped, as are U+2028 and U+2029; each byte of invalid UTF-8 becomes
// U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendBytes appends the bytes s as a quoted JSON string, as AppendString
// does for a string.
func AppendBytes(dst []byte, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, '"', '"')
	}
	return AppendString(dst, unsafe.String(&s[0], len(s)))
}

// Days from 0000-03-01 (the start of a 400-year era of the civil calendar
// counted from March) to 1970-01-01, and the range of Unix days whose year
// has four digits.
const (
	epochShift = 719468
	minDay     = -719528 // 0000-01-01
	maxDay     = 2932896 // 9999-12-31
)

// AppendTimestamp appends ms, a time in Unix milliseconds, in RFC 3339 in UTC
// with exactly three fractional digits, e.g. 2024-05-01T12:00:00.000Z,
// without quotes. Years outside 0000–9999 are written as time.Time.Format
// writes them with that layout.
func AppendTimestamp(dst []byte, ms int64) []byte {
	sec, milli := ms/1000, ms%1000
	if milli < 0 {
		sec, milli = sec-1, milli+1000
	}
	day, tod := sec/86400, sec%86400
	if tod < 0 {
		day, tod = day-1, tod+86400
	}
	if day < minDay || day > maxDay {
		return time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	}
	// Civil date from days (H. Hinnant's civil_from_days), counted from
	// -0400-03-01 so that every quantity is non-negative for years 0000 on.
	z := day + epochShift + 146097
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400 - 400
	if m <= 2 {
		y++
	}
	h, mi, s := tod/3600, tod/60%60, tod%60
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z')
}
