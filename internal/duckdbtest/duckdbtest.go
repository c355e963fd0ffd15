// Package duckdbtest runs SQL with DuckDB for tests that check sluice's
// output with an independent engine: Parquet and Delta files read back,
// the Nexmark queries' published SQL. DuckDB is the npm package
// @duckdb/node-api, installed on first use into the user cache folder and
// run by node in a child process. Only tests import this package.
package duckdbtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var (
	//go:embed package.json
	packageJSON []byte
	//go:embed query.mjs
	queryScript []byte
)

// Result is the result of one query: its columns, their DuckDB types and
// the rows as DuckDB's JSON conversion gives them (BIGINT as strings,
// TIMESTAMP WITH TIME ZONE in UTC), or the error.
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
	Error   string
}

// DB runs queries with DuckDB for one test.
type DB struct {
	t            testing.TB
	node, script string
}

// Open finds node and npm and installs DuckDB if needed. Without node or
// npm the test is skipped with a message saying why DuckDB was wanted,
// unless CI is set: then it fails.
func Open(t testing.TB, why string) *DB {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("node and npm are needed to %s with DuckDB, and CI=%s: install Node.js", why, ci)
		}
		t.Skipf("skipping: node or npm is not in PATH, needed to %s with DuckDB (install Node.js to run it; with CI=true this fails instead)", why)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(packageJSON)
	dir := filepath.Join(cache, "sluice-duckdb", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		install(t, npm, dir)
	}
	// The script sits next to node_modules, where node resolves imports,
	// under a name of its own content: concurrent runs never see it half
	// written.
	ssum := sha256.Sum256(queryScript)
	path := filepath.Join(dir, "query-"+hex.EncodeToString(ssum[:8])+".mjs")
	if _, err := os.Stat(path); err != nil {
		writeAtomic(t, path, queryScript)
	}
	return &DB{t: t, node: node, script: path}
}

// Query runs the queries in order on one connection and returns DuckDB's
// version and one result per query (a failed query has its Error set and
// the next ones still run).
func (d *DB) Query(queries ...string) (version string, results []Result) {
	d.t.Helper()
	in, err := json.Marshal(map[string]any{"queries": queries})
	if err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.node, d.script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		d.t.Fatalf("node %s: %v\n%s", d.script, err, stderr.Bytes())
	}
	var res struct {
		Version string
		Results []Result
	}
	if err := json.Unmarshal(out, &res); err != nil {
		d.t.Fatalf("DuckDB output %q: %v", out, err)
	}
	return res.Version, res.Results
}

// Run runs the statements in order on one connection and fails the test
// at the first that fails.
func (d *DB) Run(statements ...string) {
	d.t.Helper()
	version, results := d.Query(statements...)
	for i, r := range results {
		if r.Error != "" {
			d.t.Fatalf("DuckDB %s: %s\n%s", version, r.Error, statements[i])
		}
	}
}

// install runs npm install in a fresh folder and renames it to dir, so
// that a concurrent or interrupted install never leaves dir half made.
func install(t testing.TB, npm, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), packageJSON, 0o644); err != nil {
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
func writeAtomic(t testing.TB, path string, data []byte) {
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
