package parquet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/schema"
)

// Transform is how a partition key derives its folder value from a column.
type Transform uint8

// The partition transforms.
const (
	// Identity uses the column's value; like Spark, the column is then left
	// out of the files, as the folder holds it.
	Identity Transform = iota
	// Date is the `COL:date` helper: the UTC day of a timestamp, as
	// `COL_date=2026-11-25`. The column stays in the files.
	Date
	// Hour is the `COL:hour` helper: the UTC hour of a timestamp, as
	// `COL_hour=2026-11-25T13`. The column stays in the files.
	Hour
)

// helpers names the transforms written after a colon.
var helpers = map[string]Transform{"date": Date, "hour": Hour}

// helperNames lists the helpers for messages, in the order documented.
var helperNames = []string{"date", "hour"}

// String returns the helper name, or "" for Identity.
func (t Transform) String() string {
	switch t {
	case Date:
		return "date"
	case Hour:
		return "hour"
	}
	return ""
}

// PartitionKey is one entry of partition_by: one level of `key=value/`
// folders.
type PartitionKey struct {
	// Column is the input column the value comes from.
	Column string
	// Index is the column's position in the input schema.
	Index int
	// Type is the column's type.
	Type record.ColumnType
	// Transform derives the folder value from the column's value.
	Transform Transform
	// Key is the folder's key: Column for Identity, COL_date or COL_hour
	// for the helpers.
	Key string
}

// nullPartition is the folder value of a null (or empty string) value, as
// Hive and Spark write it; DuckDB, Spark and Trino read it back as NULL.
const nullPartition = "__HIVE_DEFAULT_PARTITION__"

// partitionError is a problem with one partition_by entry: what to report
// and which bytes of the entry to point at.
type partitionError struct {
	summary, detail string
	from, to        int
}

// parsePartition parses one partition_by entry, `COL`, `COL:date` or
// `COL:hour`, against the input schema. An entry that names a column as a
// whole (even one holding a colon) is that column.
func parsePartition(s string, in record.Schema) (PartitionKey, *partitionError) {
	if s == "" {
		return PartitionKey{}, &partitionError{summary: "Empty partition column", detail: "Write a column name, or COL:date / COL:hour for a timestamp column."}
	}
	col, helper, hasHelper := s, "", false
	if in.Index(s) < 0 {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			col, helper, hasHelper = s[:i], s[i+1:], true
		}
	}
	idx := in.Index(col)
	if idx < 0 {
		return PartitionKey{}, &partitionError{
			summary: "Unknown partition column",
			detail:  fmt.Sprintf("The records reaching this sink have no column %q.%s Columns: %s.", col, schema.DidYouMean(col, in.Names()), strings.Join(in.Names(), ", ")),
			from:    0, to: len(col),
		}
	}
	c := in.Columns[idx]
	k := PartitionKey{Column: col, Index: idx, Type: c.Type, Key: col}
	if !hasHelper {
		return k, nil
	}
	t, ok := helpers[helper]
	if !ok {
		return PartitionKey{}, &partitionError{
			summary: "Unknown partition helper",
			detail:  fmt.Sprintf("%q is not a partition helper.%s Write %q or %q after the column name.", helper, schema.DidYouMean(helper, helperNames), col+":date", col+":hour"),
			from:    len(col), to: len(s),
		}
	}
	if c.Type != record.ColumnTimestamp {
		return PartitionKey{}, &partitionError{
			summary: "Partition helper needs a timestamp",
			detail:  fmt.Sprintf("The helper %q applies to timestamp columns, and %q is a %s column. Partition by %q itself instead.", ":"+helper, col, c.Type, col),
			from:    len(col), to: len(s),
		}
	}
	k.Transform = t
	k.Key = col + "_" + helper
	return k, nil
}

// String renders the key as written in partition_by.
func (k PartitionKey) String() string {
	if k.Transform == Identity {
		return k.Column
	}
	return k.Column + ":" + k.Transform.String()
}

// appendFolder appends the key's folder for row of v, `key=value/`, with
// key and value escaped as Hive and Spark escape them.
func (k *PartitionKey) appendFolder(dst []byte, v *record.Vector, row int) []byte {
	dst = appendEscaped(dst, k.Key)
	dst = append(dst, '=')
	if v.IsNull(row) {
		return append(dst, nullPartition+"/"...)
	}
	switch k.Type {
	case record.ColumnString:
		s := v.String(row)
		if s == "" {
			// Spark writes an empty string as null: an empty folder value
			// cannot be told apart from a missing one.
			dst = append(dst, nullPartition...)
		} else {
			dst = appendEscaped(dst, s)
		}
	case record.ColumnInt:
		dst = strconv.AppendInt(dst, v.Ints[row], 10)
	case record.ColumnFloat:
		dst = appendFloat(dst, v.Floats[row])
	case record.ColumnBool:
		dst = strconv.AppendBool(dst, v.Bools[row])
	case record.ColumnTimestamp:
		dst = appendTime(dst, v.Ints[row], k.Transform)
	}
	return append(dst, '/')
}

// appendFloat appends f so that readers infer a floating-point type: 1 is
// written "1.0", as Spark does.
func appendFloat(dst []byte, f float64) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst
	}
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// appendTime appends the folder value of the timestamp ms (Unix ms) in UTC:
// 2026-11-25 for Date, 2026-11-25T13 for Hour, and for Identity Spark's
// timestamp partition format, 2026-11-25 13:04:05[.123], escaped.
func appendTime(dst []byte, ms int64, t Transform) []byte {
	tm := time.UnixMilli(ms).UTC()
	switch t {
	case Date:
		return tm.AppendFormat(dst, time.DateOnly)
	case Hour:
		return tm.AppendFormat(dst, "2006-01-02T15")
	}
	// Written in pieces: the layout "%3A" would read as an hour.
	dst = tm.AppendFormat(dst, "2006-01-02 15")
	dst = tm.AppendFormat(append(dst, "%3A"...), "04")
	dst = tm.AppendFormat(append(dst, "%3A"...), "05")
	if ms%1000 != 0 {
		dst = tm.AppendFormat(dst, ".000")
	}
	return dst
}

// hiveEscaped marks the bytes Hive and Spark escape in partition folder
// names (FileUtils.escapePathName, ExternalCatalogUtils.charToEscape), plus
// NUL.
var hiveEscaped = func() (set [256]bool) {
	for c := 0; c < 0x20; c++ {
		set[c] = true
	}
	for _, c := range []byte("\"#%'*/:=?\\\x7f{[]^") {
		set[c] = true
	}
	return set
}()

// appendEscaped appends s with every byte of hiveEscaped written as %XX
// (upper-case hex). Other bytes, UTF-8 included, are kept.
func appendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if hiveEscaped[c] {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}
