package postgres

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"
)

// copyHeader starts a COPY stream in binary format: the signature, no
// flags, no header extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// The range of timestamptz, in Unix milliseconds: from 4714-11-24 00:00
// UTC BC (Julian day 0) to just before 294277-01-01 UTC.
const (
	minTimestampMs = -210_866_803_200_000
	maxTimestampMs = 9_224_318_016_000_000 + pgEpochMs - 1
	// pgEpochMs is 2000-01-01 UTC, from which binary timestamps count
	// microseconds.
	pgEpochMs = 946_684_800_000
)

// encoder encodes rows of batches into one COPY stream of binary tuples,
// column values straight from the vectors, without per-row allocations.
type encoder struct {
	buf    []byte
	rows   int   // rows in buf
	next   int64 // the ordinal of the next row
	first  int64 // the ordinal of buf's first row
	prefix []byte
	fields int16
	keys   []int // the key columns' indexes, which may not be null
	names  []string
}

// newEncoder returns an encoder of in's rows. With checkpoints each tuple
// starts with pipeline, sink and task (the staging table's columns); then
// come the row's ordinal and kind (colOp), then the record's columns.
func newEncoder(in record.Schema, key []string, pipeline, sink, task string, checkpoints bool) *encoder {
	e := &encoder{fields: int16(len(in.Columns) + 2), names: in.Names()}
	if checkpoints {
		e.fields += 3
		e.prefix = appendText(e.prefix, pipeline)
		e.prefix = appendText(e.prefix, sink)
		e.prefix = appendText(e.prefix, task)
	}
	for _, k := range key {
		e.keys = append(e.keys, in.Index(k))
	}
	e.reset()
	return e
}

func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reset empties the stream; the ordinals go on.
func (e *encoder) reset() {
	e.buf = append(e.buf[:0], copyHeader...)
	e.rows = 0
	e.first = e.next
}

// stream returns the complete COPY stream of the buffered rows. The
// encoder must be reset before more rows are added.
func (e *encoder) stream() []byte {
	return binary.BigEndian.AppendUint16(e.buf, 0xffff) // the trailer, -1
}

// last is the ordinal of the last buffered row.
func (e *encoder) last() int64 { return e.next - 1 }

// add encodes rows [from, to) of b. On error (a value PostgreSQL cannot
// take), the rows before the bad one stay encoded.
func (e *encoder) add(b *record.Batch, from, to int) error {
	for r := from; r < to; r++ {
		mark := len(e.buf)
		if err := e.addRow(b, r); err != nil {
			e.buf = e.buf[:mark]
			return err
		}
		e.rows++
		e.next++
	}
	return nil
}

// addRow encodes row r of b.
func (e *encoder) addRow(b *record.Batch, r int) error {
	for _, k := range e.keys {
		if b.Columns[k].IsNull(r) {
			return fmt.Errorf("a record has a null %q, a key column: a primary key cannot hold null; drop such records (filter) or give them a value (map) before this sink", e.names[k])
		}
	}
	buf := binary.BigEndian.AppendUint16(e.buf, uint16(e.fields))
	buf = append(buf, e.prefix...)
	buf = binary.BigEndian.AppendUint32(buf, 8)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.next))
	buf = binary.BigEndian.AppendUint32(buf, 2)
	buf = binary.BigEndian.AppendUint16(buf, uint16(b.Kind(r)))
	for c := range e.names {
		v := &b.Columns[c]
		if v.IsNull(r) {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
			continue
		}
		switch v.Type {
		case record.ColumnInt:
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(v.Ints[r]))
		case record.ColumnTimestamp:
			ms := v.Ints[r]
			if ms < minTimestampMs || ms > maxTimestampMs {
				e.buf = buf
				return fmt.Errorf("field %q: the timestamp %d ms is outside the range of PostgreSQL's timestamptz", e.names[c], ms)
			}
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64((ms-pgEpochMs)*1000))
		case record.ColumnFloat:
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(v.Floats[r]))
		case record.ColumnBool:
			buf = binary.BigEndian.AppendUint32(buf, 1)
			if v.Bools[r] {
				buf = append(buf, 1)
			} else {
				buf = append(buf, 0)
			}
		case record.ColumnString:
			s := v.StringBytes(r)
			if !utf8.Valid(s) || bytes.IndexByte(s, 0) >= 0 {
				e.buf = buf
				return fmt.Errorf("field %q: %q is not text PostgreSQL accepts (invalid UTF-8 or a NUL byte)", e.names[c], truncate(s))
			}
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
			buf = append(buf, s...)
		}
	}
	e.buf = buf
	return nil
}

// truncate shortens a value quoted in an error.
func truncate(s []byte) []byte {
	if len(s) > 40 {
		return append(s[:40:40], "…"...)
	}
	return s
}
