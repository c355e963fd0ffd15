// Package postgres declares `sink "postgres" "NAME"`, which writes records
// to a PostgreSQL table: upserted by a key (window results: window_start and
// the group_by fields) or inserted, exactly once with the runner's
// checkpoints (plugins.Committer).
//
// Rows reach the table through COPY (binary format) into a staging table
// and one INSERT … SELECT … ON CONFLICT statement. With checkpoints, the
// staging table is a durable table next to the target,
// TABLE__sluice_stage, and each checkpoint's rows move to the target in one
// transaction that also advances the sink's row of sluice_progress, so that
// a commit repeated after a crash changes nothing. Staged rows and progress
// rows are keyed by pipeline, sink and task (plugins.Runtime.Task, empty when
// the pipeline does not run as tasks). Without checkpoints, a
// temporary table stages each flush.
package postgres

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// The modes of `mode`.
const (
	ModeUpsert = "upsert"
	ModeInsert = "insert"
)

// The defaults of the size and retry arguments.
const (
	DefaultBatchSize     = 10_000
	DefaultFlushInterval = "1s"
	DefaultMaxRetries    = 6
	DefaultRetryBackoff  = "200ms"
	// maxRetryBackoff caps the doubling wait between two attempts.
	maxRetryBackoff = 10 * time.Second
)

// Sink is the configuration of a `sink "postgres" "NAME"` block.
type Sink struct {
	// Pipeline and Name identify the sink in sluice_progress and in the
	// staging table.
	Pipeline string
	Name     string
	// DSN is the connection string (URL or key=value form).
	DSN string
	// Table is the target table: [schema, name] or [name].
	Table []string
	// Mode is ModeUpsert or ModeInsert.
	Mode string
	// Key lists the key columns; empty for plain inserts.
	Key []string
	// CreateTable creates a missing table from the record schema.
	CreateTable bool
	// BatchSize is the most rows buffered before they are written.
	BatchSize int
	// FlushInterval is how often buffered rows are written without
	// checkpoints.
	FlushInterval time.Duration
	// MaxRetries and RetryBackoff bound the retries of a failed statement.
	MaxRetries   int
	RetryBackoff time.Duration
	// Input is the schema of the records the sink receives.
	Input record.Schema
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// AppliesChanges is ChangesUpsert in mode "upsert" with a key, else
// ChangesAppend: mode "insert" keeps a key's first row and cannot apply
// its updates. The position is the block's header.
func (s *Sink) AppliesChanges() (plugins.ChangeMode, hcl.Range) {
	if s.Mode == ModeUpsert && len(s.Key) > 0 {
		return plugins.ChangesUpsert, hcl.Range{}
	}
	return plugins.ChangesAppend, hcl.Range{}
}

// Plugin declares `sink "postgres" "NAME"`.
var Plugin = &plugins.Plugin{
	Kind:        plugins.KindSink,
	Contract:    &plugins.SinkContract{Changes: plugins.ChangesUpsert, ChangesNote: "by the key columns with mode = \"upsert\" (the default): an update replaces the row with its key, a delete removes it (DELETE by key, in the transaction and order of the other rows); mode = \"insert\" keeps the first row of a key and cannot apply updates", Delivery: plugins.ExactlyOnce, DeliveryNote: "with a checkpoint block (rows and progress commit in one transaction); idempotent upserts without"},
	Block:       "sink",
	Name:        "postgres",
	Summary:     "Upserts or inserts records into a PostgreSQL table through COPY, exactly once with checkpoints.",
	Description: description,
	Spec: schema.NewSpec(
		schema.String("dsn", "The connection string, as a URL (\"postgres://user:password@host:5432/db?sslmode=verify-full\") or in key=value form; "+
			"TLS is set there (sslmode, sslrootcert, sslcert, sslkey). Pass it with env() or file() to keep the password out of the file.").
			Example(`env("ANALYTICS_PG_DSN")`).Example(`file("/run/secrets/pg_dsn")`),
		schema.String("table", "The table written, optionally schema-qualified (\"analytics.user_activity\"). Names are used as written, case included.").
			Example(`"analytics.user_activity"`),
		schema.Enum("mode", "\"upsert\" inserts a row or updates the row with the same key; \"insert\" only inserts, skipping rows whose key is already there.",
			ModeUpsert, ModeInsert).WithDefault(ModeUpsert),
		schema.List("key", schema.TypeString, "The columns that identify a row, the table's primary key. Default: the record key of window results "+
			"(window_start and the group_by fields). Upserts need one; `key = []` inserts every row without a key.").
			AsOptional().Example(`["window_start", "action"]`),
		schema.Bool("create_table", "Create the table when it does not exist, with a column per field and the key as primary key.").
			WithDefault(false),
		schema.Int("batch_size", "The most rows buffered before they are written in one COPY.").WithDefault(DefaultBatchSize),
		schema.Duration("flush_interval", "Without a checkpoint block, how long rows may wait in the buffer before they are written; with one, rows are written at each checkpoint.").
			WithDefault(DefaultFlushInterval).Example(`"5s"`),
		schema.Int("max_retries", "How many times a statement that failed on a lost connection, a serialization failure or a deadlock is tried again before the pipeline fails.").
			WithDefault(DefaultMaxRetries),
		schema.Duration("retry_backoff", "The wait before the first retry; it doubles at each retry, up to 10s.").
			WithDefault(DefaultRetryBackoff).Example(`"1s"`),
	),
	Examples: []plugins.Example{
		{Title: "The latest event of each user, upserted by user_id (window results need no key: theirs is the default)", Config: `sink "postgres" "last_seen" {
  dsn          = env("ANALYTICS_PG_DSN", "postgres://sluice@localhost:5432/analytics")
  table        = "public.last_seen"
  key          = ["user_id"]
  create_table = true
}`},
		{Title: "Every record inserted, no key", Config: `sink "postgres" "events" {
  dsn   = env("ANALYTICS_PG_DSN", "postgres://sluice@localhost:5432/analytics?sslmode=require")
  table = "raw_events"
  mode  = "insert"
  key   = []
}`},
	},
	Build: build,
}

// description documents the sink; it is rendered into docs/plugins.md.
const description = "Each record becomes one row of the table, a column per field: " +
	"`timestamp` → `timestamptz`, `int` → `bigint`, `float` → `double precision`, `string` → `text`, `bool` → `boolean`; nulls are NULL. " +
	"An existing table must have a column of a fitting type for every field (its other columns need a default or must accept NULL) " +
	"and, with a key, a primary key or unique constraint on exactly the key columns; otherwise the run stops at start saying what does not fit.\n\n" +
	"**Modes.** `upsert` (`INSERT … ON CONFLICT (key) DO UPDATE`) keeps the last version of each key: the updates of `emit = \"every D\"` " +
	"and of `allowed_lateness` replace each other. It applies a window's changelog (docs/event-time.md, \"Row kinds and sink contracts\"): " +
	"a delete row (a session replaced by a merge) deletes the row with its key (`DELETE … WHERE` the key columns equal the row's), " +
	"in the same statement and transaction as the other rows it came with and in their order: per key the last row wins, " +
	"so an insert after a delete of its key leaves the row, and a delete after an insert removes it. The table ends with the final results. " +
	"`insert` with a key skips rows whose key is already there (`DO NOTHING`); with `key = []` it appends every row; " +
	"neither can apply updates or deletes, so lint refuses a pipeline emitting them into this mode.\n\n" +
	"**Delivery.** With a `checkpoint` block each checkpoint's rows appear in one transaction that also records the checkpoint in `sluice_progress`: " +
	"exactly once across crashes, in both modes. " +
	"When the pipeline runs as tasks, each task stages, commits and records its own epochs (the `task` column of `sluice_progress`, " +
	"`sluice_task` of the staging table): tasks sharing a table never commit or discard each other's rows. Without one, rows are written every `flush_interval` or `batch_size` rows: " +
	"upserts are idempotent (rows written again after a crash overwrite themselves), plain inserts at least once. " +
	"See docs/connectors/postgres.md."

func init() { plugins.Register(Plugin) }

// build checks the decoded arguments against the input schema.
func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	s := &Sink{
		Pipeline:      b.Pipeline,
		Name:          args.Label(1),
		DSN:           args.String("dsn"),
		Mode:          args.String("mode"),
		CreateTable:   args.Bool("create_table"),
		BatchSize:     int(args.Int("batch_size")),
		FlushInterval: args.Duration("flush_interval"),
		MaxRetries:    int(args.Int("max_retries")),
		RetryBackoff:  args.Duration("retry_backoff"),
		Input:         b.Input,
	}
	var diags hcl.Diagnostics
	if b.Input.Raw {
		return nil, hcl.Diagnostics{errorAt(args.DefRange, "Records are not parsed",
			`sink "postgres" writes typed columns; add a parse stage (parse "json" or parse "csv") before it.`)}
	}
	if !args.Invalid("dsn") && args.Has("dsn") {
		if _, err := pgx.ParseConfig(s.DSN); err != nil {
			diags = append(diags, errorAt(args.Range("dsn"), "Invalid connection string", dsnError(err)))
		}
	}
	table, ds := parseTable(args)
	s.Table, diags = table, append(diags, ds...)
	key, ds := buildKey(args, b.Input, s.Mode)
	s.Key, diags = key, append(diags, ds...)
	diags = append(diags, checkColumns(args, b.Input)...)
	diags = append(diags, checkLimits(args)...)
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// dsnError is pgx's reason for refusing a connection string, without the
// string itself (it may hold a password).
func dsnError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "cannot parse") {
		msg = msg[i+2:]
	}
	return "The connection string does not parse: " + msg + ". Write a URL such as \"postgres://user@host:5432/db\" or key=value pairs such as \"host=db user=sluice dbname=analytics\"."
}

// parseTable splits the table argument into its schema and name.
func parseTable(args *schema.Values) ([]string, hcl.Diagnostics) {
	if args.Invalid("table") || !args.Has("table") {
		return nil, nil
	}
	parts := strings.Split(args.String("table"), ".")
	if len(parts) > 2 || slices.Contains(parts, "") {
		return nil, hcl.Diagnostics{errorAt(args.Range("table"), "Invalid table name",
			fmt.Sprintf("%q is not a table name: write NAME or SCHEMA.NAME, e.g. \"analytics.user_activity\".", args.String("table")))}
	}
	for _, p := range parts {
		if len(p) > maxIdentifier {
			return nil, hcl.Diagnostics{errorAt(args.Range("table"), "Table name too long",
				fmt.Sprintf("%q is longer than PostgreSQL's %d bytes, so PostgreSQL would cut it.", p, maxIdentifier))}
		}
	}
	return parts, nil
}

// buildKey returns the key columns: key as written, else the input's
// record key. An upsert needs one.
func buildKey(args *schema.Values, in record.Schema, mode string) ([]string, hcl.Diagnostics) {
	if args.Invalid("key") {
		return nil, nil
	}
	if !args.Has("key") {
		if len(in.Key) == 0 && mode == ModeUpsert {
			return nil, hcl.Diagnostics{errorAt(args.DefRange, "Upsert without a key",
				"The records reaching this sink have no key (only window results do: window_start and the group_by fields), "+
					"so mode = \"upsert\" does not know which row a record updates. Set key = [\"COLUMN\", …], or mode = \"insert\".")}
		}
		return slices.Clone(in.Key), nil
	}
	var (
		key   []string
		diags hcl.Diagnostics
	)
	for _, e := range args.Elems("key") {
		name := e.Text.Value
		switch {
		case in.Index(name) < 0:
			diags = append(diags, errorAt(e.Range, "Unknown key column",
				fmt.Sprintf("No field named %q reaches this sink.%s", name, schema.DidYouMean(name, in.Names()))))
		case slices.Contains(key, name):
			diags = append(diags, errorAt(e.Range, "Duplicate key column", fmt.Sprintf("%q is listed twice in key.", name)))
		default:
			key = append(key, name)
		}
	}
	if len(args.Elems("key")) == 0 && mode == ModeUpsert {
		diags = append(diags, errorAt(args.Range("key"), "Upsert without a key",
			"mode = \"upsert\" updates rows by their key; list the key columns, or set mode = \"insert\" to append every row."))
	}
	return key, diags
}

// checkColumns refuses fields the sink cannot write.
func checkColumns(args *schema.Values, in record.Schema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(in.Columns) == 0 {
		diags = append(diags, errorAt(args.DefRange, "No columns to write", "The records reaching this sink have no fields."))
	}
	for _, c := range in.Columns {
		if _, ok := columnTypes[c.Type]; !ok {
			diags = append(diags, errorAt(args.DefRange, "Column type not supported",
				fmt.Sprintf("The column %q is a %s, which sink \"postgres\" cannot write; drop it or convert it in a map stage before this sink.", c.Name, c.Type)))
		}
		if slices.Contains(reservedColumns, c.Name) {
			diags = append(diags, errorAt(args.DefRange, "Reserved column name",
				fmt.Sprintf("The field %q has the name of a column the sink's staging table uses; rename it in a map stage before this sink.", c.Name)))
		}
		if len(c.Name) > maxIdentifier {
			diags = append(diags, errorAt(args.DefRange, "Column name too long",
				fmt.Sprintf("The field %q is longer than PostgreSQL's %d bytes; rename it in a map stage before this sink.", c.Name, maxIdentifier)))
		}
	}
	return diags
}

// checkLimits checks the size, interval and retry arguments.
func checkLimits(args *schema.Values) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if !args.Invalid("batch_size") && args.Int("batch_size") <= 0 {
		diags = append(diags, errorAt(args.Range("batch_size"), "Invalid value for argument \"batch_size\"",
			fmt.Sprintf("The batch_size must be greater than zero, not %d; leave it out for the default, %d.", args.Int("batch_size"), DefaultBatchSize)))
	}
	if !args.Invalid("max_retries") && args.Int("max_retries") < 0 {
		diags = append(diags, errorAt(args.Range("max_retries"), "Invalid value for argument \"max_retries\"",
			fmt.Sprintf("The max_retries must be zero or more, not %d.", args.Int("max_retries"))))
	}
	for _, name := range []string{"flush_interval", "retry_backoff"} {
		if !args.Invalid(name) && args.Duration(name) <= 0 {
			diags = append(diags, errorAt(args.Range(name), fmt.Sprintf("Invalid value for argument %q", name),
				fmt.Sprintf("The %s must be greater than zero; leave it out for the default, %v.", name, args.Spec.Field(name).Default)))
		}
	}
	return diags
}

// errorAt is a shorthand for an error diagnostic.
func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}
