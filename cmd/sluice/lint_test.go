package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// TestLintGolden lints every testdata/lint/*.hcl file on its own and compares
// the text output, as a whole, with the .golden file beside it. Run
// `go test ./cmd/sluice -run TestLintGolden -update` after an intended change
// and review the diff.
func TestLintGolden(t *testing.T) {
	t.Chdir("../..")
	cases, err := filepath.Glob("testdata/lint/*.hcl")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no lint cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".hcl")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"lint", path}, &stdout, &stderr)
			got := stdout.String() + stderr.String()
			golden := strings.TrimSuffix(path, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("lint %s output differs from %s:\n--- got\n%s\n--- want\n%s", path, golden, got, want)
			}
			wantCode := exitProblems
			if strings.Contains(got, " 0 errors") {
				wantCode = exitOK
			}
			if code != wantCode {
				t.Errorf("exit code %d, want %d", code, wantCode)
			}
		})
	}
}

// TestLintExamples checks that every example pipeline lints clean.
func TestLintExamples(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"lint", "../../pipelines"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("lint pipelines/ exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestLintJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"lint", "--format", "json", "../../testdata/lint/expression_unknown_field.hcl"}, &stdout, &stderr)
	if code != exitProblems {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
	}
	var views []struct {
		Severity, Summary, Detail, Filename string
		Start, End                          struct{ Line, Column, Byte int }
	}
	if err := json.Unmarshal(stdout.Bytes(), &views); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if len(views) != 1 {
		t.Fatalf("got %d diagnostics, want 1: %s", len(views), stdout.String())
	}
	v := views[0]
	if v.Severity != "error" || v.Summary != "Unknown field in expression" || !strings.Contains(v.Detail, `Did you mean "action"?`) {
		t.Errorf("unexpected diagnostic %+v", v)
	}
	if v.End.Column-v.Start.Column != len("acton") || v.Start.Line == 0 || v.End.Byte-v.Start.Byte != len("acton") {
		t.Errorf("range %+v - %+v does not cover exactly \"acton\"", v.Start, v.End)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"lint"},
		{"lint", "--format", "xml", "x.hcl"},
		{"lint", "--bogus"},
		{"fmt"},
		{"graph", "--format", "png", "x.hcl"},
		{"plugins", "a", "b"},
		{"plugins", "kafkaa"},
		{"frobnicate"},
		{"run"},
		{"run", "--log-format", "xml", "x.hcl"},
		{"broker", "unexpected"},
		{"broker", "--partitions", "0=t"},
		{"produce"},
		{"demo", "unexpected"},
	}
	for _, args := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("sluice %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
		if stderr.Len() == 0 {
			t.Errorf("sluice %s: nothing on stderr", strings.Join(args, " "))
		}
	}
}
