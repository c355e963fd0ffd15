package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkpointedPipeline is the user_activity example with a checkpoint
// block and the window's aggregates given as a parameter.
func checkpointedPipeline(t *testing.T, dir, aggregates string) string {
	t.Helper()
	events, err := filepath.Abs("../../testdata/user_events.ndjson")
	must(t, err)
	src := `pipeline "user_activity" {
  source "file" { path = "` + events + `" }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "s"
    }
  }
  filter { where = "action != 'heartbeat'" }
  map { set = { action = "lower(action)" } }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "2m"
    group_by   = ["action"]
    aggregate  = ` + aggregates + `
  }
  sink "file" "lake" { path = "out.ndjson" }
}

checkpoint {
  store = "checkpoints"
  every = "1s"
}
`
	path := filepath.Join(dir, "p.hcl")
	must(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// TestRunWithCheckpoints runs a bounded pipeline with a checkpoint block
// twice: the second run resumes after the end of the input and leaves the
// output as it was. Changing the window's aggregates makes the checkpoint
// unusable: run refuses with a clear message, and --reset-state starts
// afresh.
func TestRunWithCheckpoints(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	pipeline := checkpointedPipeline(t, dir, `{ events = "count()", users = "count_distinct(user_id)" }`)
	want, err := os.ReadFile("../../testdata/expected/user_activity.ndjson")
	must(t, err)

	for i, wantLog := range []string{"no checkpoint to resume from", "resuming from checkpoint"} {
		code, _, errOut := sluice(t, "run", "--log-format", "json", pipeline)
		if code != exitOK || !strings.Contains(errOut, wantLog) {
			t.Fatalf("run %d: exit %d, want a log saying %q:\n%s", i+1, code, wantLog, errOut)
		}
		got, err := os.ReadFile(out)
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Fatalf("run %d: output differs from testdata/expected/user_activity.ndjson:\n%s", i+1, got)
		}
	}
	ckpts, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "user_activity", "*.ckpt"))
	if len(ckpts) == 0 || len(ckpts) > 3 {
		t.Fatalf("checkpoint files: %v", ckpts)
	}

	checkpointedPipeline(t, dir, `{ events = "count()" }`)
	code, _, errOut := sluice(t, "run", "--log-format", "json", pipeline)
	if code != exitProblems || !strings.Contains(errOut, "holds the state of other windows") || !strings.Contains(errOut, "--reset-state") {
		t.Fatalf("changed window: exit %d:\n%s", code, errOut)
	}
	code, _, errOut = sluice(t, "run", "--log-format", "json", "--reset-state", pipeline)
	if code != exitOK || !strings.Contains(errOut, "starting afresh") {
		t.Fatalf("--reset-state: exit %d:\n%s", code, errOut)
	}
	got, err := os.ReadFile(out)
	must(t, err)
	if n := bytes.Count(got, []byte("\n")); n != bytes.Count(want, []byte("\n")) || bytes.Contains(got, []byte(`"users"`)) {
		t.Fatalf("after --reset-state the output holds %d rows:\n%s", n, got)
	}
}

// TestRunPerPipelineCheckpoints runs two pipelines loaded with one
// top-level checkpoint block: the one reading source "generate", which
// cannot resume, opts out with checkpoint { enabled = false } and runs
// without checkpoints; the other takes its checkpoints. Without the
// opt-out, lint and run both refuse, at the generate source.
func TestRunPerPipelineCheckpoints(t *testing.T) {
	dir := t.TempDir()
	events, err := filepath.Abs("../../testdata/user_events.ndjson")
	must(t, err)
	src := `pipeline "from_file" {
  source "file" { path = "` + events + `" }
  sink "file" "out" { path = "out.ndjson" }
}

pipeline "generated" {
  source "generate" {
    rate  = 1000
    count = 10
  }
  sink "file" "out" { path = "generated.ndjson" }
  %s
}

checkpoint { store = "checkpoints" }
`
	path := filepath.Join(dir, "p.hcl")
	must(t, os.WriteFile(path, fmt.Appendf(nil, src, "checkpoint { enabled = false }"), 0o644))
	if code, _, errOut := sluice(t, "run", "--log-format", "json", path); code != exitOK {
		t.Fatalf("run: exit %d:\n%s", code, errOut)
	}
	if ckpts, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*", "*.ckpt")); len(ckpts) == 0 || filepath.Base(filepath.Dir(ckpts[0])) != "from_file" {
		t.Fatalf("checkpoints: %v, want those of from_file only", ckpts)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "generated")); !os.IsNotExist(err) {
		t.Fatalf("the opted-out pipeline has a checkpoint folder: %v", err)
	}

	must(t, os.WriteFile(path, fmt.Appendf(nil, src, ""), 0o644))
	want := `source "generate" cannot resume from a checkpoint`
	for _, cmd := range []string{"lint", "run"} {
		code, stdout, errOut := sluice(t, cmd, path)
		if code != exitProblems || !strings.Contains(stdout+errOut, want) || !strings.Contains(stdout+errOut, "p.hcl:7:3") {
			t.Fatalf("%s without the opt-out: exit %d, want %d and %q at p.hcl:7:3:\n%s%s", cmd, code, exitProblems, want, stdout, errOut)
		}
	}
}
