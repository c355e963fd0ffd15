package main

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocs is the docs check of README.md and every Markdown file under
// docs/: relative links point at existing files and headings, and every
// sluice command line shown parses against the command tree.
func TestDocs(t *testing.T) {
	t.Chdir("../..")
	var names []string
	err := filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			names = append(names, path)
		}
		return err
	})
	if err != nil || len(names) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	problems, commands, links, err := checkDocs(append([]string{"README.md"}, names...))
	if err != nil {
		t.Fatal(err)
	}
	// README.md alone shows more than 20 command lines and 10 links: fewer
	// means the check no longer finds them.
	t.Logf("checked %d command lines and %d links", commands, links)
	if commands < 20 || links < 10 {
		t.Errorf("the check found only %d command lines and %d links", commands, links)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestCheckCommandLine(t *testing.T) {
	tests := []struct {
		line    string // the words after "sluice"
		inline  bool   // in prose
		wantErr string // "" when the line is fine
	}{
		{"run pipelines/user_activity.hcl", false, ""},
		{"run [--log-format text|json] [--pipeline NAME] [--batch-size N] [--workers N] [--reset-state] PATH...", false, ""},
		{"lint --format json pipelines/", false, ""},
		{"broker [--addr 127.0.0.1:6650] [--data DIR] [--partitions N=TOPIC]...", false, ""},
		{"broker --partitions 4=user-events &   # prints the URL", false, ""},
		{"produce [--url URL] [--key FIELD] TOPIC [FILE|-]", false, ""},
		{"produce --key user_id user-events - < events.ndjson", false, ""},
		{"test --run user_activity_fixture pipelines/", false, ""},
		{"test -v pipelines/", false, ""},
		{"completion bash|zsh|fish", false, ""},
		{"COMMAND --help", false, ""},
		{"demo --duration 30s", false, ""},
		{"--version", false, ""},
		{"run", false, ""},
		{"run --pipelin NAME PATH...", false, "sluice run has no flag --pipelin"},
		{"lint --format xml PATH", false, "sluice lint: --format xml: want one of text, json"},
		{"graph [--format dot|svg] PATH...", false, "sluice graph: --format svg: want one of dot, mermaid"},
		{"fmt -check pipelines/", false, "sluice fmt: write --check"},
		{"tset pipelines/", false, `sluice has no command "tset"`},
		{"completion bash|tcsh", false, `sluice completion has no command "tcsh"`},
		{"run --batch-size many x.hcl", false, "sluice run: --batch-size many"},
		{"demo --duration soon", false, "sluice demo: --duration soon"},
		{"broker --partitions 0=t", false, "sluice broker: --partitions 0=t"},
		{"plugins file tumbling", false, "sluice plugins: arguments"},
		{"run --pipeline", false, "flag --pipeline needs a value"},
		{"COMMAND --bogus", false, "has no flag --bogus"},
		{"completion SHELL --help", false, ""},
		{"test --run", true, ""},
		{"test --run", false, "flag --run needs a value"},
	}
	for _, tt := range tests {
		err := checkCommandLine(cmdLine{text: tt.line, inline: tt.inline})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("sluice %s: %v", tt.line, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("sluice %s: error %v, want one containing %q", tt.line, err, tt.wantErr)
		}
	}
}

func TestDocsCheckOfAFile(t *testing.T) {
	const index = "# Guide\n\n## Running `sluice run`\n\n## Running `sluice run`\n\n<a id=\"custom\"></a>\n"
	const doc = "# Doc\n\n" +
		"See [the guide](index.md#running-sluice-run) and [again](index.md#running-sluice-run-1),\n" +
		"[custom](index.md#custom), [here](#doc), [web](https://example.com/x.md#nope).\n" +
		"Broken: [gone](missing.md), [no heading](index.md#nope), [self](#nowhere).\n" +
		"`./sluice lint --format json x.hcl` and `sluice run --pipelin x\n` across lines;\n" +
		"a table cell `sluice graph [--format dot\\|svg] PATH...`; `[not](a-link.md)` in code; `sluice …`.\n\n" +
		"[ref]: other.md\n\n" +
		"```sh\n" +
		"sluice fmt -check pipelines/   # old spelling\n" +
		"SLUICE_OUT=/tmp/x go run ./cmd/sluice run \\\n  --log-format yaml p.hcl\n" +
		"sluice lint: output, not a command\n" +
		"sluice (devel)\n" +
		"```\n"
	docs := map[string]*mdDoc{"index.md": parseMarkdown("index.md", index), "doc.md": parseMarkdown("doc.md", doc)}
	exists := map[string]bool{"index.md": true, "doc.md": true}
	stat := func(p string) error {
		if exists[p] {
			return nil
		}
		return fs.ErrNotExist
	}
	var got []string
	got = append(got, checkLinks(docs["doc.md"], docs, stat)...)
	for _, l := range commandLines(docs["doc.md"]) {
		if err := checkCommandLine(l); err != nil {
			got = append(got, l.text+": "+err.Error())
		}
	}
	want := []string{
		"doc.md:5: link missing.md: missing.md does not exist",
		"doc.md:5: link index.md#nope: index.md has no heading with anchor #nope",
		"doc.md:5: link #nowhere: doc.md has no heading with anchor #nowhere",
		"doc.md:10: link other.md: other.md does not exist",
		"fmt -check pipelines/   # old spelling: sluice fmt: write --check: the docs spell long flags with two dashes",
		"run    --log-format yaml p.hcl: sluice run: --log-format yaml: want one of text, json",
		"run --pipelin x: sluice run has no flag --pipelin",
		"graph [--format dot|svg] PATH...: sluice graph: --format svg: want one of dot, mermaid",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
