package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errOut := sluice(t, args...)
		if code != exitOK || errOut != "" {
			t.Errorf("sluice %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
		if out != buildVersion() || !strings.HasPrefix(out, "sluice ") || !strings.Contains(out, "\nrevision ") || !strings.Contains(out, "\ngo1.") {
			t.Errorf("sluice %s printed %q, want %q", strings.Join(args, " "), out, buildVersion())
		}
	}
}

func TestDescribeBuild(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "sluice unknown\nrevision unknown (built without VCS information)\ngo version unknown linux/amd64\n"},
		{"devel without VCS", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"sluice (devel)\nrevision unknown (built without VCS information)\ngo1.26.8 linux/amd64\n"},
		{"devel, modified tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}},
			"sluice (devel)\nrevision 0123456789abcdef (2026-01-02T03:04:05Z, modified)\ngo1.26.8 linux/amd64\n"},
		{"release, clean tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "false"}}},
			"sluice v1.2.0\nrevision 0123456789abcdef\ngo1.26.8 linux/amd64\n"},
		{"empty version", &debug.BuildInfo{GoVersion: "go1.26.8"}, "sluice unknown\nrevision unknown (built without VCS information)\ngo1.26.8 linux/amd64\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeBuild(tt.info, "linux/amd64"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// commandPaths lists the path of every command of the tree, root first.
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	out := [][]string{prefix}
	for _, sub := range c.Commands() {
		out = append(out, commandPaths(sub, append(append([]string{}, prefix...), sub.Name()))...)
	}
	return out
}

func TestHelpOfEveryCommand(t *testing.T) {
	paths := commandPaths(newRootCmd(io.Discard, io.Discard), nil)
	if len(paths) < 14 {
		t.Fatalf("the command tree has %d commands: %v", len(paths), paths)
	}
	for _, path := range paths {
		variants := [][]string{append(slices.Clone(path), "--help"), append(slices.Clone(path), "-h"), append([]string{"help"}, path...)}
		for _, args := range variants {
			code, out, errOut := sluice(t, args...)
			if code != exitOK || errOut != "" || !strings.Contains(out, "Usage:") {
				t.Errorf("sluice %s: exit %d, stderr %q, stdout:\n%s", strings.Join(args, " "), code, errOut, out)
			}
		}
	}
	// Top-level help names every command and how to see a command's flags.
	_, out, _ := sluice(t, "--help")
	for _, c := range newRootCmd(io.Discard, io.Discard).Commands() {
		if !strings.Contains(out, "\n  "+c.Name()+" ") {
			t.Errorf("top-level help does not list %q:\n%s", c.Name(), out)
		}
	}
	if !strings.Contains(out, "sluice COMMAND --help") {
		t.Errorf("top-level help does not say how to see a command's flags:\n%s", out)
	}
	// plugins --help is help, not the documentation of a plugin "--help".
	code, out, errOut := sluice(t, "plugins", "--help")
	if code != exitOK || !strings.Contains(out, "sluice plugins [NAME]") || errOut != "" {
		t.Errorf("plugins --help: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

func TestFlagsAnywhere(t *testing.T) {
	bad := "../../testdata/lint/expression_unknown_field.hcl"
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string // in stdout + stderr
	}{
		{"flag after the path", []string{"lint", bad, "--format", "json"}, exitProblems, `"summary": "Unknown field in expression"`},
		{"inline value after the path", []string{"graph", "../../pipelines/user_activity.hcl", "--format=mermaid"}, exitOK, "flowchart LR"},
		{"value of a flag after the path is no file", []string{"run", "../../pipelines/user_activity.hcl", "--pipeline", "nope"}, exitUsage, `no pipeline named "nope"`},
		{"single-dash long flag", []string{"fmt", "-check", "../../pipelines"}, exitOK, ""},
		{"single-dash long flag after the path", []string{"lint", bad, "-format", "json"}, exitProblems, `"summary": "Unknown field in expression"`},
		{"single-dash with inline value", []string{"lint", "-format=json", bad}, exitProblems, `"summary": "Unknown field in expression"`},
		{"after --, a dash is an argument", []string{"lint", "--", "-format"}, exitProblems, "-format: error: Cannot read file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := sluice(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.contains) {
				t.Errorf("sluice %s: exit %d (want %d), output lacks %q:\n%s%s", strings.Join(tt.args, " "), code, tt.code, tt.contains, out, errOut)
			}
		})
	}
}

func TestUsageErrorMessages(t *testing.T) {
	tests := []struct {
		args []string
		want string // stderr, exactly
	}{
		{[]string{"lint", "x.hcl", "--bogus"}, "sluice lint: unknown flag: --bogus\nRun 'sluice lint --help' for usage.\n"},
		{[]string{"lint"}, "sluice lint: no PATH given: name pipeline files or folders\nRun 'sluice lint --help' for usage.\n"},
		{[]string{"graph", "--format", "png", "x.hcl"}, "sluice graph: invalid argument \"png\" for \"--format\" flag: want dot or mermaid\nRun 'sluice graph --help' for usage.\n"},
		{[]string{"lnit", "x.hcl"}, "sluice: unknown command \"lnit\". Did you mean \"lint\"?\nRun 'sluice --help' for the list of commands.\n"},
		{[]string{"demo", "now"}, "sluice demo: unexpected argument \"now\": demo takes none\nRun 'sluice demo --help' for usage.\n"},
		{[]string{"test", "--run"}, "sluice test: flag needs an argument: --run\nRun 'sluice test --help' for usage.\n"},
		{[]string{"help", "frobnicate"}, "sluice help: no command \"frobnicate\"\nRun 'sluice help --help' for usage.\n"},
	}
	for _, tt := range tests {
		code, out, errOut := sluice(t, tt.args...)
		if code != exitUsage || errOut != tt.want || out != "" {
			t.Errorf("sluice %s: exit %d, stdout %q, stderr %q; want exit 2 and stderr %q", strings.Join(tt.args, " "), code, out, errOut, tt.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []struct{ name, marker string }{
		{"bash", "# bash completion V2 for sluice"},
		{"zsh", "#compdef sluice"},
		{"fish", "# fish completion for sluice"},
	} {
		code, out, errOut := sluice(t, "completion", shell.name)
		if code != exitOK || !strings.Contains(out, shell.marker) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, script starts %.80q", shell.name, code, errOut, out)
		}
	}
	tests := []struct {
		name string
		line []string // after __complete; the last word is being completed
		want []string // completions, each on its own line
		dir  string   // the directive line
	}{
		{"plugin names", []string{"plugins", ""}, []string{"tumbling\twindow", "file\tsource, sink, dead_letter", "json\tparse", "pulsar\t"}, ":4"},
		{"plugin names by prefix", []string{"plugins", "se"}, []string{"session\twindow"}, ":4"},
		{"pipeline files", []string{"lint", ""}, []string{"hcl"}, ":8"},
		{"enum flag values", []string{"lint", "x.hcl", "--format", ""}, []string{"text", "json"}, ":4"},
		{"log formats", []string{"run", "--log-format", ""}, []string{"text", "json"}, ":4"},
		{"pipeline names", []string{"run", "../../pipelines/user_activity.hcl", "--pipeline", ""}, []string{"user_activity"}, ":4"},
		{"test names, single-dash flag", []string{"test", "../../pipelines", "-run", "user_s"}, []string{"user_sessions_fixture"}, ":4"},
		{"broker data folder", []string{"broker", "--data", ""}, nil, ":16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := sluice(t, append([]string{"__complete"}, tt.line...)...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != exitOK || lines[len(lines)-1] != tt.dir {
				t.Fatalf("exit %d, output:\n%s\nwant directive %s", code, out, tt.dir)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("completions lack %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestTestUpdateCreatesExpect: sluice test --update writes a missing
// expect file; a selected test's file is kept, an unselected test's file is
// not left behind.
func TestTestUpdateCreatesExpect(t *testing.T) {
	quietStdout(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "in.ndjson"), []byte(`{"n":1,"ts":1000}`+"\n"+`{"n":2,"ts":70000}`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(`pipeline "sums" {
  source "file" { path = "in.ndjson" }
  parse "json" {
    field "n" { type = "int" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    aggregate  = { total = "sum(n)" }
  }
  sink "file" "out" { path = "out.ndjson" }
}

test "sums" {
  pipeline = "sums"
  input    = "in.ndjson"
  expect   = "want.ndjson"
}

test "other" {
  pipeline = "sums"
  input    = "in.ndjson"
  expect   = "other.ndjson"
}
`), 0o644))
	want, other := filepath.Join(dir, "want.ndjson"), filepath.Join(dir, "other.ndjson")
	if code, out, errOut := sluice(t, "test", dir); code != exitProblems || !strings.Contains(errOut, "Test file not found") {
		t.Fatalf("without --update: exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut := sluice(t, "test", "--update", "--run", "sums", dir)
	if code != exitOK || !strings.Contains(out, "UPDATED sums: 2 rows written to "+want) {
		t.Fatalf("--update: exit %d:\n%s%s", code, out, errOut)
	}
	got, err := os.ReadFile(want)
	must(t, err)
	wantRows := `{"window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","total":1}` + "\n" +
		`{"window_start":"1970-01-01T00:01:00.000Z","window_end":"1970-01-01T00:02:00.000Z","total":2}` + "\n"
	if string(got) != wantRows {
		t.Errorf("%s holds:\n%s\nwant:\n%s", want, got, wantRows)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("the expect file of the unselected test was left behind: %v", err)
	}
	if code, out, errOut = sluice(t, "test", "--update", dir); code != exitOK {
		t.Fatalf("--update of both: exit %d:\n%s%s", code, out, errOut)
	}
	if code, out, errOut = sluice(t, "test", dir); code != exitOK || !strings.Contains(out, "2 tests: 2 passed, 0 failed") {
		t.Errorf("after --update: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestTestOffline: sluice test replaces the sinks, so an env() call in
// them that cannot be resolved is no error there, while sluice lint (which
// checks the pipeline as it would run) reports it.
func TestTestOffline(t *testing.T) {
	quietStdout(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "in.ndjson"), []byte(`{"n":1}`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "want.ndjson"), []byte(`{"n":1}`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(`pipeline "copy" {
  source "file" { path = "in.ndjson" }
  parse "json" {
    field "n" { type = "int" }
  }
  sink "file" "out" { path = env("SLUICE_CLI_TEST_UNSET_OUT") }
}

test "copy" {
  pipeline = "copy"
  input    = "in.ndjson"
  expect   = "want.ndjson"
}
`), 0o644))
	if code, out, errOut := sluice(t, "lint", dir); code != exitProblems || !strings.Contains(out, "SLUICE_CLI_TEST_UNSET_OUT") {
		t.Errorf("lint: exit %d, want 1 naming the unset variable:\n%s%s", code, out, errOut)
	}
	if code, out, errOut := sluice(t, "test", dir); code != exitOK || !strings.Contains(out, "1 test: 1 passed, 0 failed") {
		t.Errorf("test: exit %d:\n%s%s", code, out, errOut)
	}
}
