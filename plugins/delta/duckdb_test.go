package delta

// DuckDB (the npm package @duckdb/node-api) reads the table back as an
// independent reader: the live files the log names, and the checkpoint.
// DuckDB's delta extension is downloaded at run time, which cannot be done
// here, so the tests give it the paths our log replay finds and check the
// checkpoint's content with read_parquet. The helper is a copy of
// plugins/parquet's (test files of one package cannot be imported).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/deltalog"
)

// duckResult is the result of one query of testdata/duckdb/query.mjs.
type duckResult struct {
	Columns []string
	Types   []string
	Rows    [][]any
	Error   string
}

// duckDB returns a function that runs queries with DuckDB (the npm package
// @duckdb/node-api, installed on first use into the user cache folder,
// keyed by the hash of testdata/duckdb/package.json). Without node and npm
// the test is skipped, unless CI is set: then it fails.
func duckDB(t *testing.T) func(queries ...string) (version string, results []duckResult) {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("node and npm are needed to read the Delta table back with DuckDB, and CI=%s: install Node.js", ci)
		}
		t.Skip("skipping the DuckDB read-back: node or npm is not in PATH (install Node.js to run it; with CI=true this fails instead)")
	}
	pkg, err := os.ReadFile("testdata/duckdb/package.json")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("testdata/duckdb/query.mjs")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(pkg)
	dir := filepath.Join(cache, "sluice-duckdb", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		installDuckDB(t, npm, dir, pkg)
	}
	// The script sits next to node_modules, where node resolves imports;
	// written under a name of its own content, so that concurrent runs
	// never see it half written.
	ssum := sha256.Sum256(script)
	path := filepath.Join(dir, "query-"+hex.EncodeToString(ssum[:8])+".mjs")
	if _, err := os.Stat(path); err != nil {
		writeAtomic(t, path, script)
	}
	return func(queries ...string) (string, []duckResult) {
		t.Helper()
		in, err := json.Marshal(map[string]any{"queries": queries})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, path)
		cmd.Stdin = bytes.NewReader(in)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node %s: %v\n%s", path, err, stderr.Bytes())
		}
		var res struct {
			Version string
			Results []duckResult
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("DuckDB output %q: %v", out, err)
		}
		return res.Version, res.Results
	}
}

// installDuckDB runs npm install in a fresh folder and renames it to dir,
// so that a concurrent or interrupted install never leaves dir half made.
func installDuckDB(t *testing.T, npm, dir string, pkg []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Logf("installing @duckdb/node-api into %s (first run only)", dir)
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install in %s: %v\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); serr != nil {
			t.Fatalf("install DuckDB into %s: %v", dir, err)
		}
	}
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".query-*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		t.Fatal(err)
	}
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
