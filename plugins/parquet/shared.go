package parquet

// This file exports the pieces of the Parquet sink that other sinks writing
// Parquet files reuse (sink "delta"): the partition_by argument and its
// Hive-style folders, the typed-column file schema and values, and the
// compression codecs.

import (
	"github.com/hashicorp/hcl/v2"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// PartitionBy checks the partition_by argument of args against the input
// schema with the rules of sink "parquet" (known columns, `COL:date` and
// `COL:hour` on timestamps, no duplicates, no clash with a column) and
// returns its keys, outermost first.
func PartitionBy(args *schema.Values, in record.Schema) ([]PartitionKey, hcl.Diagnostics) {
	return partitions(args, in)
}

// AppendFolder appends the key's folder for row of v, `key=value/`, with
// key and value escaped as Hive and Spark escape them; a null or empty
// value is __HIVE_DEFAULT_PARTITION__.
func (k *PartitionKey) AppendFolder(dst []byte, v *record.Vector, row int) []byte {
	return k.appendFolder(dst, v, row)
}

// FileColumns returns the input columns written to the files: every one
// but those that plain partition keys move into folder names.
func FileColumns(in record.Schema, keys []PartitionKey) []FileColumn { return fileColumns(in, keys) }

// FileSchema returns the Parquet schema of files holding cols: one
// optional leaf per column in their order, timestamps as INT64
// TIMESTAMP(unit, isAdjustedToUTC=true), strings dictionary encoded.
func FileSchema(cols []FileColumn, unit pq.TimeUnit) *pq.Schema { return fileSchema(cols, unit) }

// AppendValues appends to dst the values of column c for the rows of b
// listed in rows, as leaf column index column of a FileSchema; timestamps
// (Unix ms in b) are multiplied by tsScale: 1 for a pq.Millisecond schema,
// 1000 for pq.Microsecond. Strings alias b's bytes.
func AppendValues(dst []pq.Value, b *record.Batch, c FileColumn, column int, rows []int32, tsScale int64) []pq.Value {
	return appendValues(dst, b, c, column, rows, tsScale)
}

// Compressions lists the values of the compression argument, default
// first.
func Compressions() []string { return append([]string(nil), compressions...) }

// Codec returns the codec of a compression value and the ending of the
// files it writes, e.g. ".zstd.parquet"; ok is false for an unknown value.
func Codec(compression string) (codec compress.Codec, suffix string, ok bool) {
	c, ok := codecs[compression]
	return c.codec, c.suffix, ok
}

// Segment makes name (a pipeline or sink name) safe as one segment of an
// object key: Hive-escaped, and never "", "." or "..".
func Segment(name string) string { return segment(name) }

// FileOwner is the part of a data file's name that says whose it is,
// between "part-" and the writer's own numbering: PIPELINE-SINK, or
// PIPELINE-SINK-tTASK for a task of a pipeline run as tasks
// (plugins.Runtime.Task), each escaped by Segment. "t" is no hex digit,
// so a name without a task never starts like a task's.
func FileOwner(pipeline, sink, task string) string {
	owner := segment(pipeline) + "-" + segment(sink)
	if task != "" {
		owner += "-t" + segment(task)
	}
	return owner
}
