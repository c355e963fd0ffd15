package parquet

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// windowRows is the schema of the reference pipeline's window results.
var windowRows = record.Schema{Columns: []record.Column{
	{Name: "window_start", Type: record.ColumnTimestamp},
	{Name: "window_end", Type: record.ColumnTimestamp},
	{Name: "action", Type: record.ColumnString},
	{Name: "events", Type: record.ColumnInt},
	{Name: "users", Type: record.ColumnInt},
}}

func TestBuild(t *testing.T) {
	abs, err := filepath.Abs("out/lake")
	if err != nil {
		t.Fatal(err)
	}
	fileCols := []FileColumn{
		{Name: "window_start", Index: 0, Type: record.ColumnTimestamp},
		{Name: "window_end", Index: 1, Type: record.ColumnTimestamp},
		{Name: "action", Index: 2, Type: record.ColumnString},
		{Name: "events", Index: 3, Type: record.ColumnInt},
		{Name: "users", Index: 4, Type: record.ColumnInt},
	}
	tests := []struct {
		name string
		src  string
		want *Sink
	}{
		{
			name: "defaults",
			src:  `sink "parquet" "lake" { path = "out/lake" }`,
			want: &Sink{
				Pipeline: "test", Name: "lake", Location: objstore.Location{Scheme: "file", Dir: abs},
				Columns: fileCols, Compression: "zstd", RowGroupSize: DefaultRowGroupSize,
				RollRows: DefaultRollRows, RollBytes: 128 << 20, RollInterval: time.Hour, Input: windowRows,
			},
		},
		{
			name: "s3, partitions and sizes",
			src: `sink "parquet" "lake" {
  path           = "s3://analytics/lake/user_activity/?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true"
  partition_by   = ["window_start:date", "action"]
  compression    = "snappy"
  row_group_size = 1000
  roll_rows      = 5000
  roll_bytes     = "8MiB"
  roll_interval  = "5m"
}`,
			want: &Sink{
				Pipeline: "test", Name: "lake",
				Location: objstore.Location{Scheme: "s3", Bucket: "analytics", Prefix: "lake/user_activity",
					Query: "region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true"},
				Partitions: []PartitionKey{
					{Column: "window_start", Index: 0, Type: record.ColumnTimestamp, Transform: Date, Key: "window_start_date"},
					{Column: "action", Index: 2, Type: record.ColumnString, Key: "action"},
				},
				Columns:     []FileColumn{fileCols[0], fileCols[1], fileCols[3], fileCols[4]},
				Compression: "snappy", RowGroupSize: 1000, RollRows: 5000, RollBytes: 8 << 20, RollInterval: 5 * time.Minute,
				Input: windowRows,
			},
		},
		{
			name: "file URL",
			src:  `sink "parquet" "lake" { path = "file:///data/lake" }`,
			want: &Sink{
				Pipeline: "test", Name: "lake", Location: objstore.Location{Scheme: "file", Dir: "/data/lake"},
				Columns: fileCols, Compression: "zstd", RowGroupSize: DefaultRowGroupSize,
				RollRows: DefaultRollRows, RollBytes: 128 << 20, RollInterval: time.Hour, Input: windowRows,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugintest.Expect(t, Plugin, tt.src, windowRows, nil, tt.want)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	withDate := windowRows.With(record.Column{Name: "window_start_date", Type: record.ColumnString})
	tests := []struct {
		name   string
		src    string
		input  record.Schema
		want   []string
		detail string // in the first diagnostic
	}{
		{name: "unknown partition column", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["acton"]
}`, want: []string{"3:20: Unknown partition column"}, detail: `Did you mean "action"?`},
		{name: "unknown column before a helper", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["action", "window_strat:date"]
}`, want: []string{"3:30: Unknown partition column"}, detail: `Did you mean "window_start"?`},
		{name: "helper on a string", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["action:hour"]
}`, want: []string{"3:26: Partition helper needs a timestamp"}, detail: `"action" is a string column`},
		{name: "unknown helper", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["window_start:week"]
}`, want: []string{"3:32: Unknown partition helper"}},
		{name: "duplicate partition", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["action", "action"]
}`, want: []string{"3:30: Duplicate partition column"}, detail: "test.hcl:3:20"},
		{name: "helper folder clashes with a column", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["window_start:date"]
}`, input: withDate, want: []string{"3:20: Partition folder clashes with a column"}},
		{name: "every column a partition", src: `sink "parquet" "x" {
  path = "out"
  partition_by = ["window_start", "window_end", "action", "events", "users"]
}`, want: []string{"3:18: No columns left to write"}},
		{name: "bad compression", src: `sink "parquet" "x" {
  path = "out"
  compression = "lz4"
}`, want: []string{"3:17: Invalid value for argument \"compression\""}},
		{name: "non-positive sizes", src: `sink "parquet" "x" {
  path = "out"
  row_group_size = 0
  roll_rows = -5
  roll_bytes = "0B"
  roll_interval = "0s"
}`, want: []string{
			`3:20: Invalid value for argument "row_group_size"`,
			`4:15: Invalid value for argument "roll_rows"`,
			`5:16: Invalid value for argument "roll_bytes"`,
			`6:19: Invalid value for argument "roll_interval"`,
		}, detail: "greater than zero"},
		{name: "S3 file too large to copy", src: `sink "parquet" "x" {
  path = "s3://b/lake"
  roll_bytes = "6GiB"
}`, want: []string{`3:16: Invalid value for argument "roll_bytes"`}, detail: "5 GiB"},
		{name: "unsupported scheme", src: `sink "parquet" "x" { path = "gs://bucket/lake" }`,
			want: []string{"1:30: Unsupported path scheme"}},
		{name: "scheme typo", src: `sink "parquet" "x" { path = "s3a://bucket/lake" }`,
			want: []string{"1:30: Unsupported path scheme"}, detail: `Did you mean "s3"?`},
		{name: "missing bucket", src: `sink "parquet" "x" { path = "s3:///lake" }`,
			want: []string{"1:30: Missing S3 bucket"}},
		{name: "unknown S3 option", src: `sink "parquet" "x" { path = "s3://b/lake?regoin=eu-west-1" }`,
			want: []string{"1:42: Unknown S3 option"}, detail: `Did you mean "region"?`},
		{name: "empty path", src: `sink "parquet" "x" { path = "" }`,
			want: []string{"1:29: Empty path"}},
		{name: "unsupported column type", src: `sink "parquet" "x" { path = "out" }`,
			input: windowRows.With(record.Column{Name: "props", Type: record.ColumnStringMap}),
			want:  []string{"1:1: Column type not supported"}},
		{name: "raw records", src: `sink "parquet" "x" { path = "out" }`, input: record.RawSchema(),
			want: []string{"1:1: Records are not parsed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.input
			if in.Columns == nil && !in.Raw {
				in = windowRows
			}
			c, diags := plugintest.Build(Plugin, tt.src, in)
			if got := plugintest.Summaries(diags); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("diagnostics = %q, want %q", got, tt.want)
			}
			if c != nil && !reflect.ValueOf(c).IsNil() {
				t.Errorf("component %#v, want nil", c)
			}
			if tt.detail != "" && !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", diags[0].Detail, tt.detail)
			}
		})
	}
}

func TestExamplesBuild(t *testing.T) {
	for _, ex := range Plugin.Examples {
		t.Run(ex.Title, func(t *testing.T) {
			if _, diags := plugintest.Build(Plugin, ex.Config, plugintest.Events); diags.HasErrors() {
				t.Fatal(diags)
			}
		})
	}
	if p, ok := plugins.Global().Lookup("sink", "parquet"); !ok || p != Plugin {
		t.Error(`sink "parquet" is not registered`)
	}
}
