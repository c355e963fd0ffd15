package nexmark_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// duckDB returns a function that runs SQL statements with DuckDB (the npm
// package @duckdb/node-api, installed on first use into the user cache
// folder, keyed by the hash of testdata/duckdb/package.json). Without node
// and npm the test is skipped, unless CI is set: then it fails.
func duckDB(t *testing.T) func(statements ...string) {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("node and npm are needed to run the Nexmark queries with DuckDB, and CI=%s: install Node.js", ci)
		}
		t.Skip("skipping the DuckDB comparison: node or npm is not in PATH (install Node.js to run it; with CI=true this fails instead)")
	}
	pkg := readFile(t, "testdata/duckdb/package.json")
	script := readFile(t, "testdata/duckdb/run.mjs")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(pkg)
	dir := filepath.Join(cache, "sluice-duckdb", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		installDuckDB(t, npm, dir, pkg)
	}
	// The script sits next to node_modules, where node resolves imports,
	// under a name of its own content: concurrent runs never see it half
	// written.
	ssum := sha256.Sum256(script)
	path := filepath.Join(dir, "run-"+hex.EncodeToString(ssum[:8])+".mjs")
	if _, err := os.Stat(path); err != nil {
		writeAtomic(t, path, script)
	}
	return func(statements ...string) {
		t.Helper()
		in, err := json.Marshal(map[string]any{"statements": statements})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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
			Version   string
			Error     string
			Statement int
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("DuckDB output %q: %v", out, err)
		}
		if res.Error != "" {
			t.Fatalf("DuckDB %s: %s\n%s", res.Version, res.Error, statements[res.Statement])
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
	f, err := os.CreateTemp(filepath.Dir(path), ".run-*")
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
