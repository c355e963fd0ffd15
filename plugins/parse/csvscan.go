package parse

// The CSV runtime. Each message is one record (one line): values separated
// by the delimiter and quoted as in RFC 4180 (a quoted value may hold the
// delimiter, line breaks and doubled quotes "").
//
// Decisions:
//
//   - A trailing "\n" or "\r\n" is not part of the record. An empty message
//     is bad ("empty line"); spaces are data, not trimmed.
//   - An empty value is null (bad for a required field: "required field
//     \"ts\" is empty"), except that a quoted empty value "" of a string
//     field is the empty string.
//   - Every record must have as many values as the header (Header = true) or
//     as there are fields (Header = false).
//   - With Header = true the first record the parser ever sees is the header
//     and is consumed: it is neither appended nor reported. Fields read the
//     first column of their name; a column no field names is ignored; an
//     optional field without a column is null. A header without a column for
//     a required field makes every later record bad with the reason `header
//     has no column "ts"`; a header that cannot be read (bad quoting, invalid
//     UTF-8, empty) is itself reported as bad ("header line: ...") and every
//     later record is bad with "no usable header line: ...". A UTF-8 byte
//     order mark before the header is ignored.
//   - Values convert as in JSON, from their text: ints and floats are
//     decimal numbers (a leading '+' and leading zeros are allowed), bools
//     are those strconv.ParseBool accepts (true, false, 1, 0, t, f, TRUE,
//     ...), timestamps are numbers in their unit or RFC 3339 text
//     (whatever the unit).
//   - A zero Delimiter means ','.

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/sluice-io/sluice/record"
)

// Parse parses every raw record of in (a raw batch: one string column, one
// line per message) and appends the typed rows to out, a batch whose schema
// is c.Output(), copying in.Origins for the rows it keeps (when in tracks
// origins). A record that cannot be parsed is not appended: bad is called
// with its row index in in and the reason, such as `field "user_id": want
// int, got "oops"`. The caller applies OnError. Parse never stops early and
// never panics.
//
// With Header = true the parser is stateful: the first record of the stream
// (the first row of the first call) is the header, consumed without being
// appended or reported, and its column mapping is kept for later calls.
// Every other row is either appended or reported, exactly once. Calls on one
// *CSV are serialized; c must not be changed after the first call.
func (c *CSV) Parse(in, out *record.Batch, bad func(row int, reason string)) {
	c.once.Do(func() { c.stream = newCSVState(c) })
	c.stream.parse(in, out, bad)
}

// parse is Parse on the stream st.
func (st *csvState) parse(in, out *record.Batch, bad func(row int, reason string)) {
	if reason := checkBatches(st.fields, in, out); reason != "" {
		for i := 0; i < in.Rows; i++ {
			bad(i, reason)
		}
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	raw := &in.Columns[0]
	for i := 0; i < in.Rows; i++ {
		line := raw.StringBytes(i)
		if st.header && !st.haveHeader {
			st.haveHeader = true
			if reason := st.readHeader(line); reason != "" {
				bad(i, "header line: "+reason)
			}
			continue
		}
		if !st.record(line) {
			bad(i, st.reason)
			continue
		}
		st.row.appendRow(st.fields, in, out, i)
	}
}

// csvState is the stream state and reusable memory of one *CSV.
type csvState struct {
	mu     sync.Mutex
	fields []Field
	delim  []byte
	header bool

	haveHeader bool   // the header line was read (or Header is false)
	headerErr  string // the reason every record is bad, when the header is unusable
	colOf      []int  // field k is read from column colOf[k], or -1
	ncols      int    // the number of values a record must have

	row    rowBuffer
	spans  []csvSpan
	tmp    []byte // unquoted text of a non-string value
	reason string
}

// csvSpan is one value of a record: line[start:end], without its quotes.
type csvSpan struct {
	start, end int
	quoted     bool
	doubled    bool // holds "" pairs that stand for one quote
}

func newCSVState(c *CSV) *csvState {
	d := c.Delimiter
	if d == 0 {
		d = ','
	}
	st := &csvState{fields: c.Fields, delim: utf8.AppendRune(nil, d), header: c.Header}
	st.colOf = make([]int, len(c.Fields))
	for k := range st.colOf {
		st.colOf[k] = k
	}
	st.ncols = len(c.Fields)
	return st
}

// readHeader maps the fields to the columns the header line names. It
// returns the reason the line itself is bad, or "".
func (st *csvState) readHeader(line []byte) string {
	line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	if !st.split(line) {
		st.headerErr = "no usable header line: " + st.reason
		return st.reason
	}
	st.ncols = len(st.spans)
	for k := range st.fields {
		f := &st.fields[k]
		st.colOf[k] = -1
		for col, sp := range st.spans {
			st.tmp = st.tmp[:0]
			if string(st.text(line, sp, &st.tmp)) == f.Name {
				st.colOf[k] = col
				break
			}
		}
		if st.colOf[k] < 0 && f.Required && st.headerErr == "" {
			st.headerErr = fmt.Sprintf("header has no column %q", f.Name)
		}
	}
	return ""
}

func (st *csvState) fail(reason string) bool {
	st.reason = reason
	return false
}

// split finds the values of line (trailing line break removed) in
// st.spans.
func (st *csvState) split(line []byte) bool {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	}
	st.spans = st.spans[:0]
	if len(line) == 0 {
		return st.fail("empty line")
	}
	if at := invalidUTF8(line); at >= 0 {
		return st.fail(fmt.Sprintf("invalid UTF-8 at byte %d", at))
	}
	d := st.delim
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			sp := csvSpan{start: i + 1, quoted: true}
			j := i + 1
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return st.fail(fmt.Sprintf("unterminated quoted value starting at byte %d", i))
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					sp.doubled = true
					j += 2
					continue
				}
				break
			}
			sp.end = j
			st.spans = append(st.spans, sp)
			i = j + 1
			if i == len(line) {
				return true
			}
			if !bytes.HasPrefix(line[i:], d) {
				r, _ := utf8.DecodeRune(line[i:])
				return st.fail(fmt.Sprintf("unexpected %q after the closing quote at byte %d", r, i))
			}
			i += len(d)
			continue
		}
		end := len(line)
		if k := bytes.Index(line[i:], d); k >= 0 {
			end = i + k
		}
		if q := bytes.IndexByte(line[i:end], '"'); q >= 0 {
			return st.fail(fmt.Sprintf("bare \" in unquoted value at byte %d", i+q))
		}
		st.spans = append(st.spans, csvSpan{start: i, end: end})
		if end == len(line) {
			return true
		}
		i = end + len(d)
	}
}

// text returns the value of sp, appending it to *buf when doubled quotes
// must be undone.
func (st *csvState) text(line []byte, sp csvSpan, buf *[]byte) []byte {
	t := line[sp.start:sp.end]
	if !sp.doubled {
		return t
	}
	start := len(*buf)
	for {
		k := bytes.IndexByte(t, '"')
		if k < 0 {
			*buf = append(*buf, t...)
			return (*buf)[start:]
		}
		*buf = append(*buf, t[:k+1]...)
		t = t[k+2:]
	}
}

// record decodes one line into st.row; on failure it sets st.reason and
// returns false.
func (st *csvState) record(line []byte) bool {
	if st.headerErr != "" {
		return st.fail(st.headerErr)
	}
	if !st.split(line) {
		return false
	}
	if len(st.spans) != st.ncols {
		if st.header {
			return st.fail(fmt.Sprintf("line has %d values, the header has %d", len(st.spans), st.ncols))
		}
		return st.fail(fmt.Sprintf("line has %d values, want %d (one per field)", len(st.spans), st.ncols))
	}
	st.row.reset(len(st.fields))
	for k := range st.fields {
		col := st.colOf[k]
		if col < 0 {
			continue // an optional field without a column: null
		}
		if !st.value(&st.fields[k], &st.row.slots[k], line, st.spans[col]) {
			return false
		}
	}
	return true
}

// value converts the text of sp into the slot of field f.
func (st *csvState) value(f *Field, sl *slot, line []byte, sp csvSpan) bool {
	sl.set, sl.null, sl.esc = true, false, false
	if sp.start == sp.end && (!sp.quoted || f.Type != record.ColumnString) {
		sl.null = true
		if f.Required {
			return st.fail(fmt.Sprintf("required field %q is empty", f.Name))
		}
		return true
	}
	if f.Type == record.ColumnString {
		if sp.doubled {
			sl.esc = true
			sl.off = int32(len(st.row.scratch))
			st.text(line, sp, &st.row.scratch)
			sl.end = int32(len(st.row.scratch))
		} else {
			sl.str = line[sp.start:sp.end]
		}
		return true
	}
	st.tmp = st.tmp[:0]
	t := st.text(line, sp, &st.tmp)
	switch {
	case f.Type == record.ColumnBool:
		v, err := strconv.ParseBool(unsafe.String(unsafe.SliceData(t), len(t)))
		if err != nil {
			return st.wrongType(f, t)
		}
		sl.b = v
		return true
	case f.Type == record.ColumnTimestamp && f.Unit == "rfc3339":
		v, ok := parseRFC3339(t)
		if !ok {
			return st.wrongType(f, t)
		}
		sl.i = v
		return true
	}
	var n number
	if end, ok := lexNumber(&n, t, 0, true); !ok || end != len(t) {
		if f.Type == record.ColumnTimestamp {
			// Not a number: RFC 3339 text, whatever the unit of numbers.
			v, ok := parseRFC3339(t)
			if !ok {
				return st.fail(fmt.Sprintf("field %q: want %s, got %s", f.Name, wantText(f), quoted(t)))
			}
			sl.i = v
			return true
		}
		return st.wrongType(f, t)
	}
	var why int
	switch f.Type {
	case record.ColumnInt:
		sl.i, why = n.toInt()
	case record.ColumnFloat:
		sl.f, why = n.toFloat()
	default:
		sl.i, why = n.scaled(unitScale(f.Unit))
	}
	if why != numOK {
		return st.fail(numberReason(f, t, why))
	}
	return true
}

func (st *csvState) wrongType(f *Field, t []byte) bool {
	return st.fail(fmt.Sprintf("field %q: want %s, got %s", f.Name, want(f), quoted(t)))
}
