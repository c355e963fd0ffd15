package delta

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/plugins/parquet"
	"github.com/sluice-io/sluice/record"
)

// deltaType returns the Delta primitive type of a record column type, ""
// when there is none.
func deltaType(t record.ColumnType) string {
	switch t {
	case record.ColumnTimestamp:
		return "timestamp"
	case record.ColumnInt:
		return "long"
	case record.ColumnFloat:
		return "double"
	case record.ColumnString:
		return "string"
	case record.ColumnBool:
		return "boolean"
	}
	return ""
}

// tableFields returns the table schema the records make: every input
// column in order, then a COL_date (date) or COL_hour (timestamp) column
// for each helper key. All are nullable.
func tableFields(in record.Schema, keys []parquet.PartitionKey) []deltalog.Field {
	var out []deltalog.Field
	for _, c := range in.Columns {
		out = append(out, deltalog.Field{Name: c.Name, Type: deltaType(c.Type), Nullable: true})
	}
	for _, k := range keys {
		switch k.Transform {
		case parquet.Date:
			out = append(out, deltalog.Field{Name: k.Key, Type: "date", Nullable: true})
		case parquet.Hour:
			out = append(out, deltalog.Field{Name: k.Key, Type: "timestamp", Nullable: true})
		}
	}
	return out
}

// partitionColumns returns the names of the partition columns.
func (s *Sink) partitionColumns() []string {
	out := make([]string, 0, len(s.Partitions))
	for _, k := range s.Partitions {
		out = append(out, k.Key)
	}
	return out
}

// partitionValue returns the serialized partition value (Delta's
// Partition Value Serialization) of key k for row of v: "" for null (and
// for an empty string, as Spark writes it), timestamps as ISO 8601 UTC
// with microseconds, dates as 2006-01-02.
func partitionValue(k *parquet.PartitionKey, v *record.Vector, row int) string {
	if v.IsNull(row) {
		return ""
	}
	switch k.Type {
	case record.ColumnString:
		return string(v.StringBytes(row)) // a copy: v.String aliases the batch
	case record.ColumnInt:
		return strconv.FormatInt(v.Ints[row], 10)
	case record.ColumnFloat:
		return formatFloat(v.Floats[row])
	case record.ColumnBool:
		return strconv.FormatBool(v.Bools[row])
	case record.ColumnTimestamp:
		t := time.UnixMilli(v.Ints[row]).UTC()
		switch k.Transform {
		case parquet.Date:
			return t.Format(time.DateOnly)
		case parquet.Hour:
			t = t.Truncate(time.Hour)
		}
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return ""
}

// formatFloat writes f as Java's Double.toString would for common
// values: 1 as "1.0".
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, ".e") {
		return s
	}
	return s + ".0"
}

// fit checks the table metadata meta, written by this sink or another
// writer, against the records of the sink, and returns the metadata to
// commit with the next version: nil when meta fits as it is, or a copy
// with the columns the records add (nullable) and the sink's properties.
// An error says why the table cannot take the records.
func (s *Sink) fit(meta *deltalog.Metadata) (*deltalog.Metadata, error) {
	if meta.Format.Provider != "" && meta.Format.Provider != "parquet" {
		return nil, fmt.Errorf("its data files are %q, not parquet", meta.Format.Provider)
	}
	if !slices.EqualFunc(meta.PartitionColumns, s.partitionColumns(), strings.EqualFold) {
		return nil, fmt.Errorf("it is partitioned by [%s] and partition_by makes [%s]",
			strings.Join(meta.PartitionColumns, ", "), strings.Join(s.partitionColumns(), ", "))
	}
	fields, err := deltalog.ParseSchema(meta.SchemaString)
	if err != nil {
		return nil, err
	}
	if err := s.checkOp(fields); err != nil {
		return nil, err
	}
	var added []deltalog.Field
	for _, f := range s.Table {
		i := deltalog.FindField(fields, f.Name)
		if i < 0 {
			added = append(added, f)
			continue
		}
		if fields[i].Type != f.Type {
			return nil, fmt.Errorf("its column %q is %s and the records' is %s", fields[i].Name, fields[i].Type, f.Type)
		}
	}
	for _, f := range fields {
		if deltalog.FindField(s.Table, f.Name) < 0 && !f.Nullable {
			return nil, fmt.Errorf("its column %q is not nullable and the records have no such column", f.Name)
		}
	}
	config := maps.Clone(meta.Configuration)
	if config == nil {
		config = map[string]string{}
	}
	maps.Copy(config, s.Properties)
	if len(added) == 0 && maps.Equal(config, meta.Configuration) {
		return nil, nil
	}
	next := *meta
	next.SchemaString = deltalog.SchemaString(append(fields, added...))
	next.Configuration = config
	return &next, nil
}

// checkOp refuses a table whose op column (the table's fields) does not
// match changelog: rows written without it would read as op null, which
// a fold by op drops. With changelog = true the table must have it; a
// table with it takes no rows without (unless the records bring their
// own op).
func (s *Sink) checkOp(fields []deltalog.Field) error {
	has := deltalog.FindField(fields, record.OpColumn) >= 0
	switch {
	case s.Changelog && !has:
		return fmt.Errorf("changelog = true writes each row's kind in a column %q, and the table has none: its rows, written without changelog = true, "+
			"would read as %s null, which a reader folding the changelog drops. Write the changelog to a new table, "+
			"or first add a string column %s to this table and set it to 'insert' for its rows (Spark SQL: ALTER TABLE … ADD COLUMNS (op STRING), then UPDATE … SET op = 'insert')",
			record.OpColumn, record.OpColumn, record.OpColumn)
	case !s.Changelog && has && deltalog.FindField(s.Table, record.OpColumn) < 0:
		return fmt.Errorf("its column %q holds the row kinds of a changelog (written with changelog = true), and rows written without changelog = true "+
			"would read as %s null, which a reader folding the changelog drops: set changelog = true", record.OpColumn, record.OpColumn)
	}
	return nil
}

// newTable returns the protocol and metadata of a table created by the
// sink at now.
func (s *Sink) newTable(id string, now time.Time) (*deltalog.Protocol, *deltalog.Metadata) {
	return &deltalog.Protocol{MinReaderVersion: deltalog.ReaderVersion, MinWriterVersion: deltalog.WriterVersion},
		&deltalog.Metadata{
			ID:               id,
			Format:           deltalog.Format{Provider: "parquet", Options: map[string]string{}},
			SchemaString:     deltalog.SchemaString(s.Table),
			PartitionColumns: s.partitionColumns(),
			CreatedTime:      now.UnixMilli(),
			Configuration:    maps.Clone(s.Properties),
		}
}
