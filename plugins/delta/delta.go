// Package delta declares `sink "delta" "NAME"`, which appends records to a
// Delta Lake table in a local folder or an S3 prefix, one table version
// per checkpoint, exactly once (docs/delta.md).
//
// Write stages rows in Parquet data files under their final names in
// Hive-style partition folders: readers do not see them until the
// transaction log references them. Prepare completes the files and
// returns a manifest (files, sizes, partition values, statistics); Commit
// writes the log entry _delta_log/%020d.json with the add actions and a
// txn action {appId: "PIPELINE/SINK", version: epoch}, so that committing
// an epoch twice is a no-op; Recover commits a checkpoint's manifest and
// deletes this sink's data files that the log does not reference. A task
// of a pipeline run as tasks (plugins.Runtime.Task) has its own appId,
// "PIPELINE/SINK/tTASK", and data files, part-PIPELINE-SINK-tTASK-….
package delta

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/parquet"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// Sink is the configuration of a `sink "delta" "NAME"` block.
type Sink struct {
	// Pipeline and Name make the txn application id, PIPELINE/NAME, and
	// the prefix of the data files this sink writes (with the task, for a
	// task: AppID).
	Pipeline string
	Name     string
	// Location is the table's root folder or S3 prefix.
	Location objstore.Location
	// Partitions are the partition_by keys, outermost first.
	Partitions []parquet.PartitionKey
	// Columns are the columns of the data files: the input columns but
	// plain partition columns.
	Columns []parquet.FileColumn
	// Table is the table schema the records make: every input column, then
	// the COL_date and COL_hour columns of the helpers.
	Table []deltalog.Field
	// Compression is "zstd", "snappy", "gzip" or "none".
	Compression string
	// TargetFileSize is the size optimize bin-packs small files into.
	TargetFileSize int64
	// Properties are table properties, set in the table's configuration.
	Properties map[string]string
	// OptimizeEvery runs optimize after every that many commits; 0 never.
	OptimizeEvery int64
	// RowGroupSize, RollRows, RollBytes and RollInterval are as in sink
	// "parquet".
	RowGroupSize int64
	RollRows     int64
	RollBytes    int64
	RollInterval time.Duration
	// At is the block's position, named by errors found at run time.
	At hcl.Range
	// Input is the schema of the records the sink receives.
	Input record.Schema
	// Changelog is the changelog argument: the table gets a string column
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

// written is the schema of the rows the table gets: the input, with the
// op column last under changelog = true (record.WithOp).
func (s *Sink) written() record.Schema { return record.Logged(s.Input, s.Changelog) }

// opRows returns b as the data files hold it: with its kinds as the op
// column under changelog = true (view, reused from call to call, then
// shares b's vectors), else b itself.
func (s *Sink) opRows(b *record.Batch, view *record.Batch) *record.Batch {
	return record.LoggedRows(b, view, s.Input, s.Changelog)
}

// AppID is the txn application id of the commits of the sink's writer
// for task (plugins.Runtime.Task): PIPELINE/NAME, or PIPELINE/NAME/tTASK
// for a task of a pipeline run as tasks, each numbering its own epochs.
func (s *Sink) AppID(task string) string {
	if task == "" {
		return s.Pipeline + "/" + s.Name
	}
	return s.Pipeline + "/" + s.Name + "/t" + task
}

// The defaults of the size arguments.
const (
	DefaultTargetFileSize = "128MiB"
	DefaultRollInterval   = "1h"
)

// Plugin declares `sink "delta" "NAME"`.
var Plugin = &plugins.Plugin{
	Kind:        plugins.KindSink,
	Contract:    &plugins.SinkContract{Changes: plugins.ChangesAppend, ChangesNote: "each commit adds files; rows are never rewritten", Delivery: plugins.ExactlyOnce, DeliveryNote: "with a checkpoint block (one table version per checkpoint, by transaction id); at-least-once without"},
	Block:       "sink",
	Name:        "delta",
	Summary:     "Appends records to a Delta Lake table, locally or on S3, one table version per checkpoint, exactly once.",
	Description: description,
	Spec: schema.NewSpec(
		schema.String("path", "The table's root: a local folder (\"file:///data/lake/user_activity\", or a path relative to the pipeline file's folder) "+
			"or an S3 prefix (\"s3://bucket/prefix?region=eu-west-1\"; for S3-compatible servers add \"&endpoint=http://host:9000&use_path_style=true\"). "+
			"The table is created on the first commit when there is none.").
			Example(`"file:///data/lake/user_activity"`).Example(`"s3://analytics/user_activity?region=eu-west-1"`),
		schema.List("partition_by", schema.TypeString, "Partition columns, outermost first, as in sink \"parquet\": "+
			"\"action\" partitions by the column's value (it then leaves the data files, as with Spark); "+
			"\"COL:date\" and \"COL:hour\" on a timestamp column add a partition column COL_date (a date) or COL_hour (the timestamp of the hour's start, UTC).").
			AsOptional().Example(`["window_start:date"]`).Example(`["window_start:date", "action"]`),
		schema.Enum("compression", "How the data files' columns are compressed.", parquet.Compressions()...).WithDefault("zstd"),
		schema.ByteSize("target_file_size", "The size optimize bin-packs small files of a partition into.").
			WithDefault(DefaultTargetFileSize).Example(`"256MiB"`),
		schema.Map("properties", schema.TypeString, "Table properties, kept in the table's configuration (e.g. \"delta.appendOnly\" = \"true\"); "+
			"a changed value is written with the next commit.").AsOptional(),
		schema.Int("optimize_every", "Compact the table's small files every this many commits of the sink (0: never; run `sluice delta optimize` instead).").
			WithDefault(int64(0)),
		schema.Int("row_group_size", "The most rows in one row group.").WithDefault(int64(parquet.DefaultRowGroupSize)),
		schema.Int("roll_rows", "Start a new data file once the current one holds this many rows.").WithDefault(int64(parquet.DefaultRollRows)),
		schema.ByteSize("roll_bytes", "Start a new data file once the current one reaches about this size.").
			WithDefault(parquet.DefaultRollBytes).Example(`"256MiB"`),
		schema.Duration("roll_interval", "Start a new data file once the current one has been open this long; "+
			"without a checkpoint block, also how often a table version is committed.").
			WithDefault(DefaultRollInterval).Example(`"5m"`),
		schema.Bool("changelog", parquet.ChangelogDoc+" The table must have been created with changelog = true (or have a string column op set for its rows); "+
			"a table without that column is refused at start, as is a table with it written to without changelog = true.").WithDefault(false),
	),
	Examples: []plugins.Example{
		{Title: "Events in daily partitions", Config: `sink "delta" "lake" {
  path         = "file:///data/lake/user_events"
  partition_by = ["ts:date"]
}`},
		{Title: "On S3, compacted every 100 commits, append-only", Config: `sink "delta" "lake" {
  path             = "s3://analytics/user_events?region=eu-west-1"
  partition_by     = ["ts:date", "action"]
  optimize_every   = 100
  target_file_size = "256MiB"
  properties       = { "delta.appendOnly" = "true" }
}`},
	},
	Build: build,
}

// description documents the sink; it is rendered into docs/plugins.md.
const description = "Each record becomes one row of the table. Column types: `timestamp` → `timestamp` " +
	"(Parquet INT64 `TIMESTAMP(MICROS, isAdjustedToUTC=true)`), `int` → `long`, `float` → `double`, `string` → `string`, " +
	"`bool` → `boolean`; every column is nullable.\n\n" +
	"**Table.** Created on the first commit (protocol reader 1, writer 2) with the record schema, `partition_by` and `properties`. " +
	"An existing table must fit: same partition columns, the same type for every column both have; " +
	"a column the records add is added to the table (nullable), a column they lack is written as null. " +
	"A table that does not fit is refused when the pipeline starts, naming this block's position.\n\n" +
	"**Commits.** One table version per checkpoint, `_delta_log/NNNNNNNNNNNNNNNNNNNN.json`, holding an `add` for each new data file " +
	"(with `numRecords`, `minValues`, `maxValues` and `nullCount` statistics) and a `txn` action `{appId: \"PIPELINE/NAME\", version: EPOCH}`: " +
	"committing an epoch the table already records is a no-op, so a restart never adds rows twice. " +
	"When the pipeline runs as tasks, each task numbers its own epochs and commits them under its own `appId`, `PIPELINE/NAME/tTASK`, " +
	"with data files `part-PIPELINE-NAME-tTASK-…`; a restarted task deletes its own uncommitted files only. " +
	"When another writer took the version, the sink reads its commits and tries the next version; " +
	"it stops with an error only when that writer changed the schema or protocol incompatibly. " +
	"Every 10 versions a Parquet checkpoint and `_delta_log/_last_checkpoint` are written.\n\n" +
	"**Changelog.** Each commit only adds files: rows are never rewritten, so a window re-emitting results (updates, session deletes) " +
	"needs `changelog = true`, which gives the table a string column `op` after the record's columns: `insert`, `update` or `delete`, " +
	"each row's kind (docs/event-time.md, \"Row kinds and sink contracts\"). Fold it by the window's key (`window_start` and the `group_by` fields), " +
	"keeping the highest `revision` and dropping deletes. For a window grouping by `action`, in DuckDB: " +
	"`SELECT * EXCLUDE (op) FROM delta_scan('/data/lake/user_activity') " +
	"QUALIFY row_number() OVER (PARTITION BY window_start, action ORDER BY revision DESC) = 1 AND op <> 'delete'`; " +
	"with `emit = \"every D\"` and no `allowed_lateness`, keep the rows with `final` instead. " +
	"The column is part of the table from its creation: an existing table without `op` is refused at start with changelog = true " +
	"(its rows would read as `op` null, which the fold drops), and a table with it is refused without changelog = true (for the same reason).\n\n" +
	"**Delivery.** With a `checkpoint` block, exactly once. Without, a version is committed every `roll_interval` and when the input ends: " +
	"at least once (said at startup). See docs/delta.md for optimize, vacuum, history and reading the table with Spark, DuckDB, delta-rs and Trino."

func init() { plugins.Register(Plugin) }

// build checks the decoded arguments against the input schema.
func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	loc, diags := objstore.ParseLocation(args.Text("path"), b.Dir, `sink "delta"`)
	s := &Sink{
		Pipeline:       b.Pipeline,
		Name:           args.Label(1),
		Location:       loc,
		Compression:    args.String("compression"),
		TargetFileSize: args.ByteSize("target_file_size"),
		OptimizeEvery:  args.Int("optimize_every"),
		RowGroupSize:   args.Int("row_group_size"),
		RollRows:       args.Int("roll_rows"),
		RollBytes:      args.ByteSize("roll_bytes"),
		RollInterval:   args.Duration("roll_interval"),
		At:             args.DefRange,
		Input:          b.Input,
		Properties:     map[string]string{},
	}
	for _, e := range args.Elems("properties") {
		v, _ := e.Value.(string)
		s.Properties[e.Key] = v
	}
	for _, n := range []string{"target_file_size", "row_group_size", "roll_rows", "roll_bytes", "roll_interval"} {
		diags = append(diags, positive(args, n)...)
	}
	if s.OptimizeEvery < 0 && !args.Invalid("optimize_every") {
		diags = append(diags, argError(args, "optimize_every", fmt.Sprintf("optimize_every counts commits: write 0 (never) or more, not %d.", s.OptimizeEvery)))
	}
	if b.Input.Raw {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Records are not parsed",
			Detail:   `sink "delta" writes typed columns; add a parse stage (parse "json" or parse "csv") before it.`,
			Subject:  args.DefRange.Ptr(),
		})
		return nil, diags
	}
	keys, ds := parquet.PartitionBy(args, b.Input)
	diags = append(diags, ds...)
	s.Partitions = keys
	s.Changelog = args.Bool("changelog")
	if a := args.Attr("changelog"); a != nil {
		s.changelogAt = a.Range // for diagnostics; absent, the block's header
	}
	ds = parquet.CheckOpColumn(s.Changelog, s.changelogAt, b.Input)
	diags = append(diags, ds...)
	if !ds.HasErrors() {
		diags = append(diags, checkColumns(args, s.written())...)
	}
	s.Columns = parquet.FileColumns(s.written(), keys)
	if !ds.HasErrors() && len(s.Columns) == 0 {
		diags = append(diags, argError(args, "partition_by", "Every column is a plain partition column, so the data files would have no columns. Partition by fewer columns."))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	s.Table = tableFields(s.written(), keys)
	return s, diags
}

// checkColumns reports input columns the table cannot hold: types
// without a Delta type, and names equal but for case (Delta compares
// column names without case).
func checkColumns(args *schema.Values, in record.Schema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]string{}
	for _, c := range in.Columns {
		if deltaType(c.Type) == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Column type not supported",
				Detail:   fmt.Sprintf("The column %q is a %s, which sink \"delta\" cannot write; drop it or convert it in a map stage before this sink.", c.Name, c.Type),
				Subject:  args.DefRange.Ptr(),
			})
		}
		lower := strings.ToLower(c.Name)
		if first, dup := seen[lower]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Column names differ only by case",
				Detail:   fmt.Sprintf("The columns %q and %q would be one column of a Delta table, which compares names without case. Rename one in a map stage before this sink.", first, c.Name),
				Subject:  args.DefRange.Ptr(),
			})
		}
		seen[lower] = c.Name
	}
	return diags
}

// positive reports a size or interval argument that is not above zero.
func positive(args *schema.Values, name string) hcl.Diagnostics {
	if args.Invalid(name) {
		return nil
	}
	var ok bool
	switch name {
	case "target_file_size", "roll_bytes":
		ok = args.ByteSize(name) > 0
	case "roll_interval":
		ok = args.Duration(name) > 0
	default:
		ok = args.Int(name) > 0
	}
	if ok {
		return nil
	}
	return hcl.Diagnostics{argError(args, name, fmt.Sprintf("The %s must be greater than zero; leave it out for the default, %v.", name, args.Spec.Field(name).Default))}
}

// argError is an error diagnostic on argument name.
func argError(args *schema.Values, name, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid value for argument %q", name),
		Detail:   detail,
		Subject:  args.Range(name).Ptr(),
	}
}
