package parquet

import (
	"fmt"
	"reflect"

	"github.com/sluice-io/sluice/record"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// FileColumn is one column of the Parquet files a sink writes.
type FileColumn struct {
	// Name is the column's name, that of the input column.
	Name string
	// Index is the position of the input column in the batches.
	Index int
	// Type is the input column's type.
	Type record.ColumnType
}

// fileColumns returns the input columns written to the files: every one
// but those that plain partition keys move into folder names.
func fileColumns(in record.Schema, keys []PartitionKey) []FileColumn {
	var out []FileColumn
	for i, c := range in.Columns {
		moved := false
		for _, k := range keys {
			moved = moved || (k.Transform == Identity && k.Index == i)
		}
		if !moved {
			out = append(out, FileColumn{Name: c.Name, Index: i, Type: c.Type})
		}
	}
	return out
}

// leafNode returns the Parquet type of a record column type, timestamps
// in unit (pq.Millisecond or pq.Microsecond). Every column is optional:
// the record schema does not say which columns never hold null.
func leafNode(t record.ColumnType, unit pq.TimeUnit) pq.Node {
	var n pq.Node
	switch t {
	case record.ColumnTimestamp:
		// INT64 TIMESTAMP(unit, isAdjustedToUTC=true).
		n = pq.Timestamp(unit)
	case record.ColumnInt:
		n = pq.Leaf(pq.Int64Type)
	case record.ColumnFloat:
		n = pq.Leaf(pq.DoubleType)
	case record.ColumnBool:
		n = pq.Leaf(pq.BooleanType)
	case record.ColumnString:
		// BYTE_ARRAY with the STRING (UTF8) annotation, dictionary encoded:
		// the writer falls back to plain pages when the dictionary grows
		// past DictionaryMaxBytes.
		n = pq.Encoded(pq.String(), &pq.RLEDictionary)
	default:
		panic(fmt.Sprintf("parquet: no Parquet type for column type %s", t))
	}
	return pq.Optional(n)
}

// fileSchema returns the Parquet schema of the files: one optional leaf
// per column, in the order of the input schema, timestamps in unit.
func fileSchema(cols []FileColumn, unit pq.TimeUnit) *pq.Schema {
	g := &orderedGroup{}
	for _, c := range cols {
		g.fields = append(g.fields, &namedField{Node: leafNode(c.Type, unit), name: c.Name})
	}
	return pq.NewSchema("sluice", g)
}

// orderedGroup is a Parquet group whose fields keep the order they are
// given in; parquet.Group sorts them by name.
type orderedGroup struct{ fields []pq.Field }

// ID implements parquet.Node.
func (g *orderedGroup) ID() int { return 0 }

// String implements parquet.Node.
func (g *orderedGroup) String() string { return g.group().String() }

// Type implements parquet.Node.
func (g *orderedGroup) Type() pq.Type { return pq.Group{}.Type() }

// Optional implements parquet.Node.
func (g *orderedGroup) Optional() bool { return false }

// Repeated implements parquet.Node.
func (g *orderedGroup) Repeated() bool { return false }

// Required implements parquet.Node.
func (g *orderedGroup) Required() bool { return true }

// Leaf implements parquet.Node.
func (g *orderedGroup) Leaf() bool { return false }

// Fields implements parquet.Node: the fields in their given order.
func (g *orderedGroup) Fields() []pq.Field { return g.fields }

// Encoding implements parquet.Node.
func (g *orderedGroup) Encoding() encoding.Encoding { return nil }

// Compression implements parquet.Node.
func (g *orderedGroup) Compression() compress.Codec { return nil }

// GoType implements parquet.Node.
func (g *orderedGroup) GoType() reflect.Type { return g.group().GoType() }

// group returns the fields as a parquet.Group, for what order does not
// matter to.
func (g *orderedGroup) group() pq.Group {
	m := make(pq.Group, len(g.fields))
	for _, f := range g.fields {
		m[f.Name()] = f
	}
	return m
}

// namedField is a field of an orderedGroup.
type namedField struct {
	pq.Node
	name string
}

// Name implements parquet.Field.
func (f *namedField) Name() string { return f.name }

// Value implements parquet.Field. The sink writes columns, never Go
// values, so it is not used; it looks the field up in a map as
// parquet.Group does.
func (f *namedField) Value(base reflect.Value) reflect.Value {
	if base.Kind() == reflect.Map {
		return base.MapIndex(reflect.ValueOf(f.name))
	}
	return reflect.Value{}
}

// appendValues appends to dst the Parquet values of column c for the rows
// of b listed in rows, as the leaf column index column; timestamps (Unix
// ms) are multiplied by tsScale (1 for milliseconds, 1000 for
// microseconds). Nulls have definition level 0, values level 1. Strings
// alias b's bytes, which the writer copies.
func appendValues(dst []pq.Value, b *record.Batch, c FileColumn, column int, rows []int32, tsScale int64) []pq.Value {
	v := &b.Columns[c.Index]
	start := len(dst)
	switch c.Type {
	case record.ColumnInt:
		for _, r := range rows {
			dst = append(dst, pq.Int64Value(v.Ints[r]).Level(0, 1, column))
		}
	case record.ColumnTimestamp:
		for _, r := range rows {
			dst = append(dst, pq.Int64Value(v.Ints[r]*tsScale).Level(0, 1, column))
		}
	case record.ColumnFloat:
		for _, r := range rows {
			dst = append(dst, pq.DoubleValue(v.Floats[r]).Level(0, 1, column))
		}
	case record.ColumnBool:
		for _, r := range rows {
			dst = append(dst, pq.BooleanValue(v.Bools[r]).Level(0, 1, column))
		}
	case record.ColumnString:
		for _, r := range rows {
			dst = append(dst, pq.ByteArrayValue(v.Bytes[v.Offsets[r]:v.Offsets[r+1]]).Level(0, 1, column))
		}
	}
	if v.Nulls != nil {
		null := pq.Value{}.Level(0, 0, column)
		for i, r := range rows {
			if v.Nulls[r] {
				dst[start+i] = null
			}
		}
	}
	return dst
}

// codecs maps the compression argument to its codec and the part of the
// file name that tells it, as Spark names its files.
var codecs = map[string]struct {
	codec  compress.Codec
	suffix string
}{
	"zstd":   {&pq.Zstd, ".zstd.parquet"},
	"snappy": {&pq.Snappy, ".snappy.parquet"},
	"gzip":   {&pq.Gzip, ".gz.parquet"},
	"none":   {&pq.Uncompressed, ".parquet"},
}

// compressions lists the accepted compression values, default first.
var compressions = []string{"zstd", "snappy", "gzip", "none"}
