// Package parquet declares `sink "parquet" "NAME"`, which writes records to
// Apache Parquet files in a local folder or an S3 prefix, in Hive-style
// partition folders, and commits them exactly once with the runner's
// checkpoints (plugins.Committer).
//
// Layout under the sink's path:
//
//	KEY=VALUE/…/part-PIPELINE-SINK-EPOCH-SEQ.CODEC.parquet   committed files
//	_sluice_tmp/PIPELINE/SINK/RUN-SEQ.parquet.tmp            temporaries
//
// and, for a task of a pipeline run as tasks (plugins.Runtime.Task):
//
//	KEY=VALUE/…/part-PIPELINE-SINK-tTASK-EPOCH-SEQ.CODEC.parquet
//	_sluice_tmp/PIPELINE/SINK/tTASK/RUN-SEQ.parquet.tmp
//
// Write stages rows in temporaries; Prepare completes them and returns a
// JSON manifest naming each temporary and its final name; Commit moves
// them there; Recover commits a manifest and deletes every other
// temporary of the pipeline's sink (and task).
package parquet

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Sink is the configuration of a `sink "parquet" "NAME"` block.
type Sink struct {
	// Pipeline is the pipeline's name, part of the committed file names.
	Pipeline string
	// Name is the sink's label, part of the file names too, so that two
	// sinks writing to one path do not collide.
	Name string
	// Location is the folder or S3 prefix written to.
	Location objstore.Location
	// Partitions are the partition_by keys, one folder level each.
	Partitions []PartitionKey
	// Columns are the columns of the files: the input columns but those
	// of plain partition keys.
	Columns []FileColumn
	// Compression is "zstd", "snappy", "gzip" or "none".
	Compression string
	// RowGroupSize is the most rows in one row group.
	RowGroupSize int64
	// RollRows, RollBytes and RollInterval close a file and start the next
	// once it holds that many rows, reaches about that size, or has been
	// open that long.
	RollRows     int64
	RollBytes    int64
	RollInterval time.Duration
	// Input is the schema of the records the sink receives.
	Input record.Schema
	// Changelog is the changelog argument: the files get a string column
	// op, each row's kind, after the input's columns; changelogAt is where
	// it is written.
	Changelog   bool
	changelogAt hcl.Range
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// AppliesChanges is ChangesLog with changelog = true, else ChangesAppend,
// positioned at the changelog argument (zero when it is not written).
func (s *Sink) AppliesChanges() (plugins.ChangeMode, hcl.Range) {
	return plugins.AppendMode(s.Changelog, s.changelogAt)
}

// Written is the schema of the rows the files hold: the input, with the
// op column last under changelog = true (record.WithOp).
func (s *Sink) Written() record.Schema { return record.Logged(s.Input, s.Changelog) }

// OpRows returns b as the files hold it: with its kinds as the op column
// under changelog = true (view, reused from call to call, then shares b's
// vectors), else b itself.
func (s *Sink) OpRows(b *record.Batch, view *record.Batch) *record.Batch {
	return record.LoggedRows(b, view, s.Input, s.Changelog)
}

// The defaults of the size arguments.
const (
	// DefaultRowGroupSize matches DuckDB's default row group size.
	DefaultRowGroupSize = 122880
	// DefaultRollRows is the default most rows in one file.
	DefaultRollRows = 10_000_000
	// DefaultRollBytes is the default target file size, Spark's and
	// Hive's usual block size.
	DefaultRollBytes = "128MiB"
	// DefaultRollInterval is the default longest time a file stays open.
	DefaultRollInterval = "1h"
)

// Plugin declares `sink "parquet" "NAME"`.
var Plugin = &plugins.Plugin{
	Kind:        plugins.KindSink,
	Contract:    &plugins.SinkContract{Changes: plugins.ChangesAppend, Delivery: plugins.ExactlyOnce, DeliveryNote: "with a checkpoint block; at-least-once without"},
	Block:       "sink",
	Name:        "parquet",
	Summary:     "Writes records to Parquet files in Hive-style partition folders, locally or on S3, committed with checkpoints.",
	Description: description,
	Spec: schema.NewSpec(
		schema.String("path", "Where to write: a local folder (\"file:///data/lake/events\", or a path relative to the pipeline file's folder) "+
			"or an S3 prefix (\"s3://bucket/prefix?region=eu-west-1\"; for S3-compatible servers add \"&endpoint=http://host:9000&use_path_style=true\"). "+
			"Credentials come from the usual AWS environment variables, shared config files or instance roles.").
			Example(`"file:///data/lake/user_activity"`).Example(`"s3://analytics/user_activity?region=eu-west-1"`),
		schema.List("partition_by", schema.TypeString, "Columns whose values name the folders the rows go to, outermost first: "+
			"\"action\" gives action=login/ folders (the column then leaves the files, as with Spark), "+
			"\"COL:date\" and \"COL:hour\" on a timestamp column give COL_date=2026-11-25/ and COL_hour=2026-11-25T13/ (UTC; the column stays in the files).").
			AsOptional().Example(`["window_start:date"]`).Example(`["window_start:date", "action"]`),
		schema.Enum("compression", "How the column data is compressed.", compressions...).WithDefault("zstd"),
		schema.Int("row_group_size", "The most rows in one row group, the unit readers skip or read in parallel.").
			WithDefault(DefaultRowGroupSize),
		schema.Int("roll_rows", "Start a new file once the current one holds this many rows.").
			WithDefault(DefaultRollRows),
		schema.ByteSize("roll_bytes", "Start a new file once the current one reaches about this size (rows not yet compressed count at their full size).").
			WithDefault(DefaultRollBytes).Example(`"256MiB"`),
		schema.Duration("roll_interval", "Start a new file once the current one has been open this long. Every commit also closes the open files.").
			WithDefault(DefaultRollInterval).Example(`"15m"`),
		schema.Bool("changelog", ChangelogDoc).WithDefault(false),
	),
	Examples: []plugins.Example{
		{Title: "Events in daily folders", Config: `sink "parquet" "lake" {
  path         = "file:///data/analytics/user_events"
  partition_by = ["ts:date"]
  compression  = "zstd"
}`},
		{Title: "On S3, by hour and action, in files of at most 1 million rows", Config: `sink "parquet" "lake" {
  path         = "s3://analytics/user_events?region=eu-west-1"
  partition_by = ["ts:hour", "action"]
  roll_rows    = 1000000
}`},
		{Title: "A relative folder, no partitions", Config: `sink "parquet" "out" { path = "out/user_events" }`},
	},
	Build: build,
}

// ChangelogDoc documents the changelog argument of the sinks writing
// Parquet files (sink "parquet", sink "delta").
const ChangelogDoc = "Write every row with a string column \"op\" after the record's columns, its kind: \"insert\", \"update\" or \"delete\". " +
	"A pipeline whose window re-emits results (allowed_lateness, emit = \"every D\", session merges) may write to this sink only with changelog = true. " +
	"Readers fold the rows into the final results by the window's key, window_start and the group_by fields: " +
	"with allowed_lateness keep the row with the highest revision per key; with emit = \"every D\" and no allowed_lateness keep the row with final = true; " +
	"then drop the keys whose kept row has op = \"delete\" (a session replaced by a merge). The description shows the DuckDB query."

// description documents the sink; it is rendered into docs/plugins.md.
const description = "Each record becomes one row. Column types follow the record schema: " +
	"`timestamp` → INT64 `TIMESTAMP(MILLIS, isAdjustedToUTC=true)`, `int` → INT64, `float` → DOUBLE, " +
	"`string` → BYTE_ARRAY `STRING` (UTF-8, dictionary encoded), `bool` → BOOLEAN; every column is optional (nullable).\n\n" +
	"**Folders.** `partition_by` lays the files out in Hive-style folders, `KEY=VALUE/`, one level per entry. " +
	"Values are escaped as Hive and Spark escape them (`/` becomes `%2F`, `:` `%3A`, `=` `%3D`, `%` `%25`…); " +
	"a null or empty value is written `__HIVE_DEFAULT_PARTITION__`, which readers return as NULL. " +
	"A plain partition column is not repeated inside the files. " +
	"`COL:date` writes `COL_date=2026-11-25/` and `COL:hour` writes `COL_hour=2026-11-25T13/` (UTC), and keep COL in the files. " +
	"Timestamps used as a plain partition column are written as Spark writes them, `2026-11-25 13%3A04%3A05` (UTC).\n\n" +
	"**Files and commits.** Rows are first written to temporary files under `_sluice_tmp/PIPELINE/SINK/` in the sink's path, named `….parquet.tmp`. " +
	"At each commit the sink closes its open files and moves them to their final names, " +
	"`FOLDERS/part-PIPELINE-SINK-EPOCH-SEQ.CODEC.parquet` (e.g. `part-user_activity-lake-00000000000000000042-00000.zstd.parquet`): " +
	"a rename for a local folder, a copy and a delete on S3. The names derive from the commit's epoch, " +
	"so committing again after a crash rewrites the same files instead of adding copies. " +
	"When the pipeline runs as tasks, each task numbers its own epochs and its names carry the task: " +
	"temporaries under `_sluice_tmp/PIPELINE/SINK/tTASK/`, committed files `part-PIPELINE-SINK-tTASK-EPOCH-SEQ.CODEC.parquet` " +
	"(e.g. `part-user_activity-lake-t3-00000000000000000042-00000.zstd.parquet`); a restarted task deletes its own temporaries only, " +
	"and refuses a checkpoint's manifest of another task. " +
	"`roll_rows`, `roll_bytes` and `roll_interval` cap files between commits; a rolled file stays temporary until the commit. " +
	"Every commit closes the open files, so frequent checkpoints mean more, smaller files. " +
	"On S3, a crash can leave incomplete multipart uploads, invisible but stored: give the bucket a lifecycle rule that aborts them after a day.\n\n" +
	"**Delivery.** With a `checkpoint` block, files are committed once the checkpoint that covers their rows is durable, " +
	"and a restart commits what the last checkpoint prepared and deletes the other temporaries: " +
	"each row appears exactly once. Without a `checkpoint` block, output is committed every `roll_interval` and when the input ends; " +
	"after a crash the rows since the last commit are read and written again (at-least-once), and the runner says so at startup. " +
	"Rows written since the last commit never become visible when the pipeline stops on an error: open files are discarded, " +
	"and rolled or prepared ones stay in `_sluice_tmp/` until the resumed run commits what its checkpoint names and deletes the rest.\n\n" +
	"**Reading.** Read the committed files only, with a glob ending in `.parquet`; temporaries never match it. " +
	"DuckDB: `SELECT * FROM read_parquet('/data/lake/user_activity/**/*.parquet', hive_partitioning = true)` " +
	"(DuckDB's `**` also descends into `_sluice_tmp`, so keep the `*.parquet` suffix). " +
	"It reads timestamp columns as TIMESTAMP WITH TIME ZONE, `COL_date` folders as DATE and integer folders as BIGINT; " +
	"`COL_hour`, timestamp and bool folders come back as VARCHAR: add e.g. `hive_types = {'window_start': TIMESTAMPTZ, 'mobile': BOOLEAN}`, " +
	"or use `strptime(window_start_hour, '%Y-%m-%dT%H')`. " +
	"Spark: `spark.read.parquet(\"/data/lake/user_activity\")`, which skips folders starting with `_`.\n\n" +
	"**Changelog.** With `changelog = true` every row also gets a string column `op`, after the record's columns: " +
	"`insert`, `update` or `delete`, the row's kind (docs/event-time.md, \"Row kinds and sink contracts\"). " +
	"A window with `allowed_lateness` writes every revision of a result, and a session merge writes a `delete` row of each session it replaced; " +
	"fold them by the window's key (`window_start` and the `group_by` fields), keeping the highest `revision` and dropping deletes. " +
	"For a window grouping by `action`, in DuckDB: " +
	"`SELECT * EXCLUDE (op) FROM read_parquet('/data/lake/user_activity/**/*.parquet') " +
	"QUALIFY row_number() OVER (PARTITION BY window_start, action ORDER BY revision DESC) = 1 AND op <> 'delete'`. " +
	"With `emit = \"every D\"` and no `allowed_lateness` there is no `revision`: keep the rows with `final` and drop deletes " +
	"(`WHERE final AND op <> 'delete'`). Spark: the same `row_number()` over a window, in a subquery."

func init() { plugins.Register(Plugin) }

// tempRoot is the folder of the temporaries under the sink's path. Hive,
// Spark and Trino skip names starting with "_".
const tempRoot = "_sluice_tmp"

// build checks the decoded arguments against the input schema.
func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	loc, diags := objstore.ParseLocation(args.Text("path"), b.Dir, `sink "parquet"`)
	s := &Sink{
		Pipeline:     b.Pipeline,
		Name:         args.Label(1),
		Location:     loc,
		Compression:  args.String("compression"),
		RowGroupSize: args.Int("row_group_size"),
		RollRows:     args.Int("roll_rows"),
		RollBytes:    args.ByteSize("roll_bytes"),
		RollInterval: args.Duration("roll_interval"),
		Input:        b.Input,
	}
	for _, n := range []string{"row_group_size", "roll_rows", "roll_bytes", "roll_interval"} {
		diags = append(diags, positive(args, n)...)
	}
	if loc.Scheme == "s3" && s.RollBytes > objstore.MaxPromote && !args.Invalid("roll_bytes") {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  `Invalid value for argument "roll_bytes"`,
			Detail:   "S3 copies an object of at most 5 GiB in one request, which is how files are committed; write at most \"5GiB\".",
			Subject:  args.Range("roll_bytes").Ptr(),
		})
	}
	keys, ds := partitions(args, b.Input)
	diags = append(diags, ds...)
	s.Partitions = keys
	s.Changelog = args.Bool("changelog")
	if a := args.Attr("changelog"); a != nil {
		s.changelogAt = a.Range // for diagnostics; absent, the block's header
	}
	diags = append(diags, CheckOpColumn(s.Changelog, s.changelogAt, b.Input)...)
	s.Columns = fileColumns(s.Written(), keys)
	for _, c := range b.Input.Columns {
		if c.Type < record.ColumnString || c.Type > record.ColumnTimestamp {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Column type not supported",
				Detail:   fmt.Sprintf("The column %q is a %s, which sink \"parquet\" cannot write; drop it or convert it in a map stage before this sink.", c.Name, c.Type),
				Subject:  args.DefRange.Ptr(),
			})
		}
	}
	if !ds.HasErrors() && len(s.Columns) == 0 && !b.Input.Raw {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No columns left to write",
			Detail:   "Every column is a plain partition column, so the files would have no columns. Partition by fewer columns.",
			Subject:  args.Range("partition_by").Ptr(),
		})
	}
	if b.Input.Raw {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Records are not parsed",
			Detail:   `sink "parquet" writes typed columns; add a parse stage (parse "json" or parse "csv") before it.`,
			Subject:  args.DefRange.Ptr(),
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// CheckOpColumn refuses changelog = true (written at at) when the input
// has a column of the op column's name.
func CheckOpColumn(changelog bool, at hcl.Range, in record.Schema) hcl.Diagnostics {
	if !changelog || in.Index(record.OpColumn) < 0 {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Column clashes with the op column",
		Detail:   fmt.Sprintf("changelog = true adds a column %q holding each row's kind, and the records already have one. Rename it in a map stage before this sink.", record.OpColumn),
		Subject:  at.Ptr(),
	}}
}

// positive reports a size or interval argument that is not above zero.
func positive(args *schema.Values, name string) hcl.Diagnostics {
	if args.Invalid(name) {
		return nil
	}
	var ok bool
	var written string
	switch name {
	case "roll_bytes":
		ok, written = args.ByteSize(name) > 0, fmt.Sprint(args.ByteSize(name))
	case "roll_interval":
		ok, written = args.Duration(name) > 0, schema.FormatDuration(args.Duration(name))
	default:
		ok, written = args.Int(name) > 0, fmt.Sprint(args.Int(name))
	}
	if ok {
		return nil
	}
	if a := args.Attr(name); a != nil && a.Text.Value != "" {
		written = a.Text.Value
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid value for argument %q", name),
		Detail:   fmt.Sprintf("The %s must be greater than zero, not %s; leave it out for the default, %v.", name, written, args.Spec.Field(name).Default),
		Subject:  args.Range(name).Ptr(),
	}}
}

// partitions checks partition_by: every entry names an input column (or a
// helper on a timestamp column), once, and helper folders do not take the
// name of a column.
func partitions(args *schema.Values, in record.Schema) ([]PartitionKey, hcl.Diagnostics) {
	var (
		keys  []PartitionKey
		diags hcl.Diagnostics
		seen  = map[string]hcl.Range{}
	)
	for _, e := range args.Elems("partition_by") {
		t := e.Text
		k, perr := parsePartition(t.Value, in)
		if perr != nil {
			r := t.Range
			if perr.to > perr.from {
				r = t.RangeOf(perr.from, perr.to)
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: perr.summary, Detail: perr.detail, Subject: &r})
			continue
		}
		r := t.RangeOf(0, len(t.Value))
		if first, dup := seen[k.Key]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate partition column",
				Detail:   fmt.Sprintf("%q is already listed in partition_by at %s; list each folder level once.", k.String(), schema.At(first)),
				Subject:  &r,
			})
			continue
		}
		seen[k.Key] = r
		if k.Transform != Identity && in.Index(k.Key) >= 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Partition folder clashes with a column",
				Detail: fmt.Sprintf("%q writes folders named %s=…, and the records already have a column %q, which readers would see twice. Rename that column in a map stage before this sink.",
					k.String(), k.Key, k.Key),
				Subject: &r,
			})
			continue
		}
		keys = append(keys, k)
	}
	return keys, diags
}

// segment makes name (a pipeline or sink name) safe as part of an object
// key: Hive-escaped, and never "", "." or "..".
func segment(name string) string {
	s := string(appendEscaped(nil, name))
	switch {
	case s == "":
		return "%" // "%" alone is never the escape of a name
	case strings.Trim(s, ".") == "":
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return s
}
