package pulsar

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"

	"github.com/sluice-io/sluice/record"
)

// This file holds the binary form of the records a repartition block
// publishes: a message holds the rows of one partition from one batch,
// each row as the values of every vector of its schema (columns, or the
// payload of raw records, then the metadata columns).
//
// A message is a header, [format u8 = rowFormat][rows u32 little endian],
// then the rows. A row is a null bitmap of ceil(vectors/8) bytes (bit i of
// byte i/8 set when vector i is null), then, for each vector that is not
// null: int and timestamp as a zigzag varint, float as 8 bytes little
// endian (IEEE 754), bool as one byte 0 or 1, string and map of strings as
// a uvarint length and the bytes (a map in record.AppendStringMap's
// encoding).

// rowFormat is the format byte of a message of rows.
const rowFormat = 1

// rowHeader is the size of a message's header.
const rowHeader = 5

// rowCodec encodes and decodes the rows of one record schema.
type rowCodec struct {
	schema      record.Schema
	types       []record.ColumnType // of each vector, in batch order
	nullBytes   int
	fingerprint string
}

// newRowCodec returns the codec of schema s.
func newRowCodec(s record.Schema) *rowCodec {
	c := &rowCodec{schema: s}
	if s.Raw {
		c.types = append(c.types, record.ColumnString)
	}
	for _, col := range s.Columns {
		c.types = append(c.types, col.Type)
	}
	for _, col := range s.Meta {
		c.types = append(c.types, col.Type)
	}
	c.nullBytes = (len(c.types) + 7) / 8
	c.fingerprint = schemaFingerprint(s)
	return c
}

// schemaFingerprint identifies what a row's bytes mean: the vectors'
// names and types in order. Two schemas with the same fingerprint encode
// rows the same way.
func schemaFingerprint(s record.Schema) string {
	h := fnv.New64a()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	write("sluice rows", strconv.Itoa(rowFormat), strconv.FormatBool(s.Raw))
	for _, c := range s.Columns {
		write("column", c.Name, c.Type.String())
	}
	for _, c := range s.Meta {
		write("meta", c.Name, c.Type.String())
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// startMessage appends the header of a message whose row count is set
// later by finishMessage, and returns dst.
func startMessage(dst []byte) []byte {
	return append(dst, rowFormat, 0, 0, 0, 0)
}

// finishMessage sets the row count of the message that msg holds.
func finishMessage(msg []byte, rows int) {
	binary.LittleEndian.PutUint32(msg[1:rowHeader], uint32(rows))
}

// appendRow appends the encoding of row of b, a batch of the codec's
// schema, to dst.
func (c *rowCodec) appendRow(dst []byte, b *record.Batch, row int) []byte {
	bits := len(dst)
	for range c.nullBytes {
		dst = append(dst, 0)
	}
	for i, t := range c.types {
		v := &b.Columns[i]
		if v.Nulls != nil && v.Nulls[row] {
			dst[bits+i/8] |= 1 << (i % 8)
			continue
		}
		switch t {
		case record.ColumnInt, record.ColumnTimestamp:
			dst = binary.AppendVarint(dst, v.Ints[row])
		case record.ColumnFloat:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Floats[row]))
		case record.ColumnBool:
			if v.Bools[row] {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		case record.ColumnString, record.ColumnStringMap:
			s := v.Bytes[v.Offsets[row]:v.Offsets[row+1]]
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
	}
	return dst
}

// errRowFormat is the cause of every decoding error.
var errRowFormat = errors.New("not a message of rows")

// messageRows checks a message's header and returns its row count and
// the bytes of its rows.
func messageRows(msg []byte) (int, []byte, error) {
	if len(msg) < rowHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, shorter than the header", errRowFormat, len(msg))
	}
	if msg[0] != rowFormat {
		return 0, nil, fmt.Errorf("%w: format %d, want %d", errRowFormat, msg[0], rowFormat)
	}
	n := binary.LittleEndian.Uint32(msg[1:rowHeader])
	if uint64(n) > uint64(len(msg)) { // a row takes at least one byte
		return 0, nil, fmt.Errorf("%w: %d rows in %d bytes", errRowFormat, n, len(msg))
	}
	return int(n), msg[rowHeader:], nil
}

// decodeRow appends the row data starts with to b, a batch of the codec's
// schema holding b.Rows rows (b.Rows is not changed), and returns the
// bytes after it. On error b's vectors are as they were.
func (c *rowCodec) decodeRow(b *record.Batch, data []byte) ([]byte, error) {
	if len(data) < c.nullBytes {
		return nil, fmt.Errorf("%w: a row is cut short", errRowFormat)
	}
	bits, p := data[:c.nullBytes], data[c.nullBytes:]
	for i, t := range c.types {
		v := &b.Columns[i]
		if bits[i/8]&(1<<(i%8)) != 0 {
			v.AppendNull()
			continue
		}
		var ok bool
		if p, ok = decodeValue(v, t, p); !ok {
			c.truncate(b)
			return nil, fmt.Errorf("%w: the value of %s is cut short or invalid", errRowFormat, c.vectorName(i))
		}
	}
	return p, nil
}

// skipRow returns the bytes after the row data starts with.
func (c *rowCodec) skipRow(data []byte) ([]byte, error) {
	if len(data) < c.nullBytes {
		return nil, fmt.Errorf("%w: a row is cut short", errRowFormat)
	}
	bits, p := data[:c.nullBytes], data[c.nullBytes:]
	for i, t := range c.types {
		if bits[i/8]&(1<<(i%8)) != 0 {
			continue
		}
		var n int
		switch t {
		case record.ColumnInt, record.ColumnTimestamp:
			_, n = binary.Varint(p)
		case record.ColumnFloat:
			n = 8
		case record.ColumnBool:
			n = 1
		case record.ColumnString, record.ColumnStringMap:
			l, w := binary.Uvarint(p)
			if w > 0 && l <= uint64(len(p)-w) {
				n = w + int(l)
			}
		}
		if n <= 0 || n > len(p) {
			return nil, fmt.Errorf("%w: the value of %s is cut short or invalid", errRowFormat, c.vectorName(i))
		}
		p = p[n:]
	}
	return p, nil
}

// decodeValue appends the value of type t at the start of p to v and
// returns the bytes after it; false when p does not start with one.
func decodeValue(v *record.Vector, t record.ColumnType, p []byte) ([]byte, bool) {
	switch t {
	case record.ColumnInt, record.ColumnTimestamp:
		x, n := binary.Varint(p)
		if n <= 0 {
			return nil, false
		}
		v.AppendInt(x)
		return p[n:], true
	case record.ColumnFloat:
		if len(p) < 8 {
			return nil, false
		}
		v.AppendFloat(math.Float64frombits(binary.LittleEndian.Uint64(p)))
		return p[8:], true
	case record.ColumnBool:
		if len(p) < 1 || p[0] > 1 {
			return nil, false
		}
		v.AppendBool(p[0] == 1)
		return p[1:], true
	case record.ColumnString, record.ColumnStringMap:
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return nil, false
		}
		v.AppendString(p[w : w+int(n)])
		return p[w+int(n):], true
	}
	return nil, false
}

// truncate drops what a failed decodeRow appended: every vector goes back
// to b.Rows values.
func (c *rowCodec) truncate(b *record.Batch) {
	n := b.Rows
	for i := range c.types {
		v := &b.Columns[i]
		switch v.Type {
		case record.ColumnInt, record.ColumnTimestamp:
			v.Ints = v.Ints[:min(n, len(v.Ints))]
		case record.ColumnFloat:
			v.Floats = v.Floats[:min(n, len(v.Floats))]
		case record.ColumnBool:
			v.Bools = v.Bools[:min(n, len(v.Bools))]
		case record.ColumnString, record.ColumnStringMap:
			if len(v.Offsets) > n+1 {
				v.Offsets = v.Offsets[:n+1]
				v.Bytes = v.Bytes[:v.Offsets[n]]
			}
		}
		if len(v.Nulls) > n {
			v.Nulls = v.Nulls[:n]
		}
	}
}

// vectorName names vector i for messages.
func (c *rowCodec) vectorName(i int) string {
	s := c.schema
	if s.Raw {
		if i == 0 {
			return "the payload"
		}
		i--
	}
	if i < len(s.Columns) {
		return strconv.Quote(s.Columns[i].Name)
	}
	return strconv.Quote(s.Meta[i-len(s.Columns)].Name)
}
