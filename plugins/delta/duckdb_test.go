package delta

// DuckDB (the npm package @duckdb/node-api) reads the table back as an
// independent reader: the live files the log names, and the checkpoint.
// DuckDB's delta extension is downloaded at run time, which cannot be done
// here, so the tests give it the paths our log replay finds and check the
// checkpoint's content with read_parquet (through internal/duckdbtest).

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/internal/duckdbtest"
)

// duckResult is the result of one DuckDB query.
type duckResult = duckdbtest.Result

// duckDB returns a function that runs queries with DuckDB.
func duckDB(t *testing.T) func(queries ...string) (version string, results []duckResult) {
	return duckdbtest.Open(t, "read the Delta table's files back").Query
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestDuckDBReadsTable writes 12 epochs partitioned by day and action
// into a local table, optimizes it, and reads it with DuckDB: the live
// files of the log give back every row once, with its partition values
// from the folders and timestamps as TIMESTAMP WITH TIME ZONE; the
// checkpoint read with read_parquet names the same live files as our
// replay.
func TestDuckDBReadsTable(t *testing.T) {
	query := duckDB(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "table")
	clk := newClock()
	w := open(t, buildSink(t, "file://"+dir, `partition_by = ["window_start:date", "action"]`, windowRows), clk, true)
	for e := range 12 {
		commitEpoch(t, w, windowBatch(e*200, 200), int64(e+1)) // 200 minutes each
	}
	log := openLog(t, "file://"+dir)
	_, err := Optimize(ctx, log, nil, OptimizeOptions{TargetSize: 1 << 20})
	must(t, err)
	snap, err := log.Snapshot(ctx)
	must(t, err)
	var files []string
	for p := range snap.Files {
		files = append(files, sqlString(filepath.Join(dir, filepath.FromSlash(mustDecode(p)))))
	}
	live := "read_parquet([" + strings.Join(files, ", ") + "], hive_partitioning = true)"
	_, res := query(
		"SELECT count(*), count(DISTINCT window_start), sum(events), min(window_start_date)::VARCHAR, max(window_start_date)::VARCHAR FROM "+live,
		"SELECT typeof(window_start), typeof(events), typeof(action) FROM "+live+" LIMIT 1",
		"SELECT count(*) FROM "+live+" WHERE date_trunc('day', window_start)::DATE::VARCHAR <> window_start_date::VARCHAR OR action <> (CASE WHEN epoch(window_start)::BIGINT / 60 % 2 = 0 THEN 'view' ELSE 'click' END)",
		"SELECT add.path FROM read_parquet("+sqlString(filepath.Join(dir, "_delta_log", "00000000000000000010.checkpoint.parquet"))+") WHERE add IS NOT NULL ORDER BY 1",
		"SELECT protocol.minReaderVersion, protocol.minWriterVersion, txn.appId, txn.version FROM read_parquet("+sqlString(filepath.Join(dir, "_delta_log", "00000000000000000010.checkpoint.parquet"))+") WHERE protocol IS NOT NULL OR txn IS NOT NULL ORDER BY 1 NULLS LAST",
	)
	for i, r := range res {
		if r.Error != "" {
			t.Fatalf("query %d: %s", i, r.Error)
		}
	}
	// 2400 minutes from 2026-11-25 00:00: the 25th to the 26th.
	if got := strs(res[0].Rows[0]); got != "2400 2400 2878800 2026-11-25 2026-11-26" {
		t.Errorf("count, distinct windows, sum(events), days = %s", got)
	}
	if got := strs(res[1].Rows[0]); got != "TIMESTAMP WITH TIME ZONE BIGINT VARCHAR" {
		t.Errorf("types %s", got)
	}
	if got := strs(res[2].Rows[0]); got != "0" {
		t.Errorf("%s rows whose partition values do not match their columns", got)
	}
	// The checkpoint of version 10 (epochs 1…11) against our replay of it.
	at10, err := log.ReadCheckpoint(ctx, 10)
	must(t, err)
	replay := deltaSnapshotAt(t, log, 10)
	var want []string
	for p := range replay.Files {
		want = append(want, p)
	}
	sortStrings(want)
	var got []string
	for _, row := range res[3].Rows {
		got = append(got, row[0].(string))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(at10.Files) != len(want) {
		t.Errorf("DuckDB reads %d add paths in the checkpoint, the replay of version 10 has %d", len(got), len(want))
	}
	if got := strs(res[4].Rows[0]) + " | " + strs(res[4].Rows[1]); got != "1 2 <nil> <nil> | <nil> <nil> test/lake 11" {
		t.Errorf("protocol and txn rows of the checkpoint: %s", got)
	}
}

// strs renders a result row as one string: values separated by spaces,
// null as <nil>.
func strs(row []any) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, " ")
}

// deltaSnapshotAt replays the JSON commits 0…version.
func deltaSnapshotAt(t *testing.T, log *deltalog.Log, version int64) *deltalog.Snapshot {
	t.Helper()
	s := deltalog.NewSnapshot()
	for v := int64(0); v <= version; v++ {
		actions, err := log.ReadCommit(context.Background(), v)
		must(t, err)
		s.Apply(v, actions)
	}
	return s
}

func sortStrings(s []string) { sort.Strings(s) }
