package postgres

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/record"
)

// maxIdentifier is PostgreSQL's longest identifier in bytes (NAMEDATALEN-1).
const maxIdentifier = 63

// pgType is how one record type is stored.
type pgType struct {
	ddl       string   // as written in CREATE TABLE
	formatted string   // as format_type() prints it
	fits      []string // the format_type() spellings an existing column may have
}

// columnTypes maps the record types the sink writes to PostgreSQL types.
var columnTypes = map[record.ColumnType]pgType{
	record.ColumnString:    {"text", "text", []string{"text", "character varying"}},
	record.ColumnInt:       {"bigint", "bigint", []string{"bigint", "numeric"}},
	record.ColumnFloat:     {"double precision", "double precision", []string{"double precision"}},
	record.ColumnBool:      {"boolean", "boolean", []string{"boolean"}},
	record.ColumnTimestamp: {"timestamptz", "timestamp with time zone", []string{"timestamp with time zone", "timestamp without time zone"}},
}

// The bookkeeping columns of the staging table, before the record's.
// colTask is the task of a pipeline run as tasks, empty without one; colOp
// is the row's kind (record.RowKind: 0 insert, 1 update, 2 delete). Tables
// staged by earlier versions get them added (at their end).
const (
	colPipeline = "sluice_pipeline"
	colSink     = "sluice_sink"
	colTask     = "sluice_task"
	colOrdinal  = "sluice_ordinal"
	colOp       = "sluice_op"
)

// reservedColumns may not be record fields.
var reservedColumns = []string{colPipeline, colSink, colTask, colOrdinal, colOp}

// progressTable is the table recording the last committed epoch of each
// pipeline's sink (and task), in the target table's schema.
const progressTable = "sluice_progress"

// flushTable is the temporary table that stages a flush without
// checkpoints.
const flushTable = "sluice_flush"

// tables are the quoted names of the tables a sink uses.
type tables struct {
	target   string // "schema"."name"
	stage    string // the durable staging table, next to the target
	progress string
	display  string // the table as the user wrote it, for messages
}

// newTables names the tables of a sink writing to table ([schema, name]
// or [name]).
func newTables(table []string) tables {
	qualify := func(name string) string {
		id := slices.Clone(table)
		id[len(id)-1] = name
		return pgx.Identifier(id).Sanitize()
	}
	name := table[len(table)-1]
	return tables{
		target:   pgx.Identifier(table).Sanitize(),
		stage:    qualify(stageName(name)),
		progress: qualify(progressTable),
		display:  strings.Join(table, "."),
	}
}

// stageName is the staging table's name for a table named name: the name
// and "__sluice_stage", shortened with a hash when that is too long.
func stageName(name string) string {
	const suffix = "__sluice_stage"
	if len(name)+len(suffix) <= maxIdentifier {
		return name + suffix
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	short := name[:maxIdentifier-len(suffix)-9]
	for !utf8.ValidString(short) {
		short = short[:len(short)-1]
	}
	return fmt.Sprintf("%s%s_%08x", short, suffix, h.Sum32())
}

// quote quotes a column name.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteAll quotes column names and joins them with commas.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// createTableSQL creates the target table from the record schema, the key
// as primary key.
func createTableSQL(t tables, in record.Schema, key []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", t.target)
	for i, c := range in.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quote(c.Name), columnTypes[c.Type].ddl)
	}
	if len(key) > 0 {
		fmt.Fprintf(&b, ", PRIMARY KEY (%s)", quoteAll(key))
	}
	b.WriteString(")")
	return b.String()
}

// createStageSQL creates the durable staging table: the bookkeeping
// columns, then the record's.
func createStageSQL(t tables, in record.Schema) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (%s text NOT NULL, %s text NOT NULL, %s text NOT NULL DEFAULT '', %s bigint NOT NULL, %s smallint NOT NULL DEFAULT 0",
		t.stage, colPipeline, colSink, colTask, colOrdinal, colOp)
	for _, c := range in.Columns {
		fmt.Fprintf(&b, ", %s %s", quote(c.Name), columnTypes[c.Type].ddl)
	}
	b.WriteString(")")
	return b.String()
}

// createFlushSQL creates the temporary table of a flush without
// checkpoints; its rows go at each commit. A table of an earlier version
// lives only as long as its connection: the name has no version.
func createFlushSQL(in record.Schema) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TEMPORARY TABLE IF NOT EXISTS %s (%s bigint NOT NULL, %s smallint NOT NULL DEFAULT 0", flushTable, colOrdinal, colOp)
	for _, c := range in.Columns {
		fmt.Fprintf(&b, ", %s %s", quote(c.Name), columnTypes[c.Type].ddl)
	}
	b.WriteString(") ON COMMIT DELETE ROWS")
	return b.String()
}

// createProgressSQL creates the progress table.
func createProgressSQL(t tables) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (pipeline text NOT NULL, sink text NOT NULL, task text NOT NULL DEFAULT '', epoch bigint NOT NULL, "+
		"table_name text NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink, task))", t.progress)
}

// advanceProgressSQL records $4 as the last committed epoch of pipeline
// $1's sink $2 for task $3, unless that epoch or a later one is already
// recorded: it affects no row then.
func advanceProgressSQL(t tables) string {
	return fmt.Sprintf("INSERT INTO %[1]s (pipeline, sink, task, epoch, table_name) VALUES ($1, $2, $3, $4, $5) "+
		"ON CONFLICT (pipeline, sink, task) DO UPDATE SET epoch = EXCLUDED.epoch, table_name = EXCLUDED.table_name, committed_at = now() "+
		"WHERE %[1]s.epoch < EXCLUDED.epoch", t.progress)
}

// copySQL is the COPY statement of the staging table (checkpoints) or of
// the flush table.
func copySQL(t tables, in record.Schema, checkpoints bool) string {
	cols := quoteAll(in.Names())
	if checkpoints {
		return fmt.Sprintf("COPY %s (%s, %s, %s, %s, %s, %s) FROM STDIN WITH (FORMAT binary)", t.stage, colPipeline, colSink, colTask, colOrdinal, colOp, cols)
	}
	return fmt.Sprintf("COPY %s (%s, %s, %s) FROM STDIN WITH (FORMAT binary)", flushTable, colOrdinal, colOp, cols)
}

// stageFilter selects the staged rows of pipeline $1's sink $2 for task
// $3 with ordinals from $4 to $5.
const stageFilter = colPipeline + " = $1 AND " + colSink + " = $2 AND " + colTask + " = $3 AND " + colOrdinal + " BETWEEN $4 AND $5"

// mergeSQL moves staged rows into the target: from the staging table rows
// matching stageFilter (checkpoints), or every row of the flush table.
// With a key, one row per key is kept — the last one staged for an
// upsert, the first one for an insert — since ON CONFLICT may not touch
// a row twice in one statement. An upsert applies the changelog: a key
// whose last staged row is a delete is deleted from the target, in the
// same statement; an insert after a delete of its key, staged later,
// wins. Insert mode ignores the kinds (lint refuses a changelog there).
func mergeSQL(t tables, in record.Schema, key []string, mode string, checkpoints bool) string {
	from, where := flushTable, ""
	if checkpoints {
		from, where = t.stage, " WHERE "+stageFilter
	}
	cols := quoteAll(in.Names())
	if len(key) == 0 {
		return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s%s", t.target, cols, cols, from, where)
	}
	keys := quoteAll(key)
	if mode == ModeInsert {
		return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM (SELECT DISTINCT ON (%s) %s FROM %s%s ORDER BY %s, %s ASC) AS staged ON CONFLICT (%s) DO NOTHING",
			t.target, cols, cols, keys, cols, from, where, keys, colOrdinal, keys)
	}
	var match []string
	for _, k := range key {
		match = append(match, fmt.Sprintf("sluice_target.%s = sluice_last.%s", quote(k), quote(k)))
	}
	sql := fmt.Sprintf("WITH sluice_last AS (SELECT DISTINCT ON (%[1]s) %[2]s, %[3]s FROM %[4]s%[5]s ORDER BY %[1]s, %[6]s DESC), "+
		"sluice_deleted AS (DELETE FROM %[7]s AS sluice_target USING sluice_last WHERE sluice_last.%[3]s = %[8]d AND %[9]s) "+
		"INSERT INTO %[7]s (%[2]s) SELECT %[2]s FROM sluice_last WHERE %[3]s <> %[8]d ON CONFLICT (%[1]s) ",
		keys, cols, colOp, from, where, colOrdinal, t.target, int(record.Delete), strings.Join(match, " AND "))
	var set []string
	for _, c := range in.Columns {
		if !slices.Contains(key, c.Name) {
			set = append(set, fmt.Sprintf("%s = EXCLUDED.%s", quote(c.Name), quote(c.Name)))
		}
	}
	if len(set) == 0 {
		return sql + "DO NOTHING"
	}
	return sql + "DO UPDATE SET " + strings.Join(set, ", ")
}

// deleteStagedSQL deletes the staged rows matching stageFilter.
func deleteStagedSQL(t tables) string {
	return fmt.Sprintf("DELETE FROM %s WHERE %s", t.stage, stageFilter)
}

// clearStageSQL deletes every staged row of pipeline $1's sink $2 for
// task $3.
func clearStageSQL(t tables) string {
	return fmt.Sprintf("DELETE FROM %s WHERE %s = $1 AND %s = $2 AND %s = $3", t.stage, colPipeline, colSink, colTask)
}
