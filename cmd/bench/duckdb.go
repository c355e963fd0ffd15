package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// duckdbFiles is the node project of the DuckDB baseline. It is copied into
// the data folder and installed there, so the repository never holds
// node_modules.
//
//go:embed duckdb/package.json duckdb/bench.mjs duckdb/nexmark.mjs
var duckdbFiles embed.FS

// duckdbSetup prepares DIR/duckdb-node (package.json, bench.mjs and
// node_modules, installed with npm on first use or when package.json
// changed; nexmark.mjs beside bench.mjs) and returns the node binary and the
// path of bench.mjs. The error says
// why the baseline has to be skipped.
func duckdbSetup(ctx context.Context, dataDir string, logf func(string, ...any)) (node, script string, err error) {
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("node not found in PATH")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", "", fmt.Errorf("npm not found in PATH")
	}
	dir := filepath.Join(dataDir, "duckdb-node")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	pkg, err := duckdbFiles.ReadFile("duckdb/package.json")
	if err != nil {
		return "", "", err
	}
	js, err := duckdbFiles.ReadFile("duckdb/bench.mjs")
	if err != nil {
		return "", "", err
	}
	script = filepath.Join(dir, "bench.mjs")
	if err := os.WriteFile(script, js, 0o644); err != nil {
		return "", "", err
	}
	nexmarkJS, err := duckdbFiles.ReadFile("duckdb/nexmark.mjs")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "nexmark.mjs"), nexmarkJS, 0o644); err != nil {
		return "", "", err
	}
	// .installed holds the package.json that node_modules was installed from.
	stamp := filepath.Join(dir, ".installed")
	installed, _ := os.ReadFile(stamp)
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json"))
	if bytes.Equal(installed, pkg) && modErr == nil {
		return node, script, nil
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644); err != nil {
		return "", "", err
	}
	_ = os.Remove(stamp)
	logf("installing @duckdb/node-api into %s (npm install, first use only)", dir)
	ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("npm install failed in %s: %v%s", dir, err, details(out, 2000))
	}
	if err := os.WriteFile(stamp, pkg, 0o644); err != nil {
		return "", "", err
	}
	return node, script, nil
}
