package parse

// This file holds what the JSON and CSV runtimes share: the per-parser state
// kept beside the configuration, the per-row value slots and how a finished
// row is appended to the output batch, and the reasons given for bad rows.
//
// Decisions that apply to both formats:
//
//   - A row is either appended to out (with its origin) or reported through
//     bad, never both: every field of a row is decoded into a slot first, and
//     only a row without problems is appended. Reasons name the field and show
//     the offending input, truncated to 40 bytes.
//   - Byte positions in reasons ("at byte 17") are 0-based offsets into the
//     message.
//   - Timestamps become int64 Unix milliseconds. Finer units are rounded
//     toward negative infinity (floor), so -1500 µs is -2 ms, not -1 ms, and a
//     time always falls in the millisecond that contains it. A fractional
//     number is accepted for every unit and rounded the same way (1700000000.5
//     in seconds is 1700000000500 ms); an exponent is accepted too. RFC
//     3339 text (a JSON string, a CSV value that is not a number) is
//     accepted whatever the unit.
//   - A message with invalid UTF-8 anywhere is bad ("invalid UTF-8 at byte 5").

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"
)

// slot holds the value of one declared field while a row is decoded.
type slot struct {
	set  bool // a value or null was read
	null bool
	i    int64 // ColumnInt, ColumnTimestamp
	f    float64
	b    bool
	str  []byte // ColumnString: aliases the input, or nil when esc
	esc  bool   // the string was unescaped into the scratch buffer
	off  int32  // scratch[off:end] when esc
	end  int32
}

// rowBuffer is the reusable memory of one row being decoded.
type rowBuffer struct {
	slots   []slot
	scratch []byte // unescaped strings of the current row
}

// reset prepares the buffer for a new row of n fields.
func (r *rowBuffer) reset(n int) {
	if cap(r.slots) < n {
		r.slots = make([]slot, n)
	}
	r.slots = r.slots[:n]
	for i := range r.slots {
		r.slots[i].set = false
	}
	r.scratch = r.scratch[:0]
}

// missing returns the reason a decoded row cannot be appended because a
// required field is absent or null, or "".
func (r *rowBuffer) missing(fields []Field) string {
	for k := range fields {
		f := &fields[k]
		s := &r.slots[k]
		if s.set && !s.null || !f.Required {
			continue
		}
		if !s.set {
			return "missing required field " + fieldName(f)
		}
		if s.null {
			return "required field " + fieldName(f) + " is null"
		}
	}
	return ""
}

// appendRow appends the decoded row to out, with origin i of in when in
// tracks origins. Every required field must be present (see missing).
func (r *rowBuffer) appendRow(fields []Field, in, out *record.Batch, i int) {
	for k := range fields {
		s := &r.slots[k]
		v := &out.Columns[k]
		if !s.set || s.null {
			v.AppendNull()
			continue
		}
		switch fields[k].Type {
		case record.ColumnString:
			if s.esc {
				v.AppendString(r.scratch[s.off:s.end])
			} else {
				v.AppendString(s.str)
			}
		case record.ColumnInt, record.ColumnTimestamp:
			v.AppendInt(s.i)
		case record.ColumnFloat:
			v.AppendFloat(s.f)
		case record.ColumnBool:
			v.AppendBool(s.b)
		}
	}
	finishRow(len(fields), in, out, i)
}

// finishRow ends the row appended to the first n columns of out (the
// fields): it appends the metadata columns and origin of row i of in, and
// counts the row.
func finishRow(n int, in, out *record.Batch, i int) {
	// The metadata columns follow the payload in in, the fields in out.
	for m := 1; m < len(in.Columns); m++ {
		out.Columns[n+m-1].AppendFrom(&in.Columns[m], i)
	}
	if len(in.Origins) > 0 {
		out.Origins = append(out.Origins, in.Origins[i])
	}
	out.Rows++
}

// checkBatches returns why in and out cannot be used with fields, or "".
// Parse reports every row with that reason rather than panicking.
func checkBatches(fields []Field, in, out *record.Batch) string {
	if len(in.Columns) == 0 || in.Columns[0].Type != record.ColumnString || in.Columns[0].Len() < in.Rows {
		return fmt.Sprintf("internal error: the input batch is not a raw batch of %d messages", in.Rows)
	}
	if meta := len(in.Columns) - 1; len(out.Columns) != len(fields)+meta {
		return fmt.Sprintf("internal error: the output batch has %d columns, the parser declares %d fields and the source %d metadata columns", len(out.Columns), len(fields), meta)
	}
	for m := 1; m < len(in.Columns); m++ {
		if in.Columns[m].Len() < in.Rows || out.Columns[len(fields)+m-1].Type != in.Columns[m].Type {
			return fmt.Sprintf("internal error: metadata column %d of the input batch does not match the output batch", m)
		}
	}
	for k := range fields {
		if out.Columns[k].Type != fields[k].Type {
			return fmt.Sprintf("internal error: output column %d is %s, field %q is %s", k, out.Columns[k].Type, fields[k].Name, fields[k].Type)
		}
	}
	if len(in.Origins) > 0 && len(in.Origins) < in.Rows {
		return fmt.Sprintf("internal error: the input batch has %d origins for %d rows", len(in.Origins), in.Rows)
	}
	return ""
}

// fieldName quotes a field's name for a reason, adding its path when the
// field is read from a different key.
func fieldName(f *Field) string {
	if len(f.Path) == 1 && f.Path[0] == f.Name || len(f.Path) == 0 {
		return strconv.Quote(f.Name)
	}
	p := f.Path[0]
	for _, k := range f.Path[1:] {
		p += "." + k
	}
	return fmt.Sprintf("%q (path %q)", f.Name, p)
}

// want describes the input a field accepts, for reasons: "int", or
// "timestamp in seconds".
func want(f *Field) string {
	if f.Type != record.ColumnTimestamp {
		return f.Type.String()
	}
	switch f.Unit {
	case "s":
		return "timestamp in seconds"
	case "ms":
		return "timestamp in milliseconds"
	case "us":
		return "timestamp in microseconds"
	case "ns":
		return "timestamp in nanoseconds"
	}
	return "RFC 3339 timestamp"
}

// wantText describes the text a timestamp field accepts, for reasons: "RFC
// 3339 timestamp", or "timestamp in seconds or RFC 3339 text".
func wantText(f *Field) string {
	if f.Unit == "rfc3339" {
		return want(f)
	}
	return want(f) + " or RFC 3339 text"
}

// maxShown is how many bytes of an offending value a reason shows.
const maxShown = 40

// shown returns the first maxShown bytes of b (cut at a character boundary)
// followed by "…" when it is longer.
func shown(b []byte) string {
	if len(b) <= maxShown {
		return string(b)
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}

// quoted returns b as a Go-quoted string, truncated like shown.
func quoted(b []byte) string {
	if len(b) <= maxShown {
		return strconv.Quote(string(b))
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.Quote(string(b[:n])) + "…"
}

// invalidUTF8 returns the offset of the first byte of b that is not part of
// valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// describeByte names the byte at b[i] for a syntax error.
func describeByte(c byte) string {
	switch {
	case c >= 0x20 && c < 0x7f && c != '\'':
		return "'" + string(rune(c)) + "'"
	case c == '\'':
		return `'\''`
	case c < 0x80:
		return fmt.Sprintf("character U+%04X", c)
	}
	return fmt.Sprintf("byte 0x%02X", c)
}
