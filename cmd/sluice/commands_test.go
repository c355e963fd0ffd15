package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sluice(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	messy := filepath.Join(dir, "messy.hcl")
	tidy := filepath.Join(dir, "tidy.hcl")
	broken := filepath.Join(dir, "broken.hcl")
	must(t, os.WriteFile(messy, []byte("pipeline \"p\" {\nsource \"file\" {\npath=\"x\"\n  follow   = true\n}\n}\n"), 0o644))
	must(t, os.WriteFile(tidy, []byte("pipeline \"p\" {\n  source \"file\" {\n    path = \"x\"\n  }\n}\n"), 0o644))
	must(t, os.WriteFile(broken, []byte("pipeline \"p\" {\n"), 0o644))

	// -check lists the unformatted file, changes nothing and exits 1.
	code, out, _ := sluice(t, "fmt", "-check", messy, tidy)
	if code != exitProblems || strings.TrimSpace(out) != messy {
		t.Fatalf("fmt -check: exit %d, output %q", code, out)
	}
	// fmt rewrites it canonically; a second run finds nothing to do.
	if code, out, _ = sluice(t, "fmt", dir+"/messy.hcl"); code != exitOK || strings.TrimSpace(out) != messy {
		t.Fatalf("fmt: exit %d, output %q", code, out)
	}
	got, _ := os.ReadFile(messy)
	want := "pipeline \"p\" {\n  source \"file\" {\n    path   = \"x\"\n    follow = true\n  }\n}\n"
	if string(got) != want {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, want)
	}
	if code, _, _ = sluice(t, "fmt", "-check", messy, tidy); code != exitOK {
		t.Errorf("fmt -check after fmt: exit %d", code)
	}
	// A file with syntax errors is reported, not rewritten.
	code, _, errOut := sluice(t, "fmt", broken)
	if code != exitProblems || !strings.Contains(errOut, "broken.hcl:") {
		t.Errorf("fmt broken: exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(broken); string(b) != "pipeline \"p\" {\n" {
		t.Errorf("broken file was rewritten: %q", b)
	}
}

func TestFmtExamplesAreCanonical(t *testing.T) {
	if code, out, errOut := sluice(t, "fmt", "-check", "../../pipelines"); code != exitOK {
		t.Fatalf("pipelines/ not formatted (run sluice fmt pipelines/): %s%s", out, errOut)
	}
}

func TestGraph(t *testing.T) {
	code, out, errOut := sluice(t, "graph", "../../pipelines/iot_sensors.hcl")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"digraph sluice {",
		`label="pipeline iot_sensors"`,
		`p0_0 [label="source 'file'"]`,
		`p0_3 [label="window 'sliding'"]`,
		"p0_0 -> p0_1;", "p0_1 -> p0_2;", "p0_2 -> p0_3;", "p0_3 -> p0_4;", "p0_4 -> p0_5;",
		`p0_1 -> p0_6 [style=dashed, label="dead letter"]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = sluice(t, "graph", "--format", "mermaid", "../../pipelines/user_activity.hcl")
	if code != exitOK || !strings.Contains(out, "flowchart LR") || !strings.Contains(out, `p0_4 --> p0_5`) || !strings.Contains(out, `p0_4 --> p0_6`) ||
		!strings.Contains(out, `p0_1 -. dead letter .-> p0_7`) || strings.Contains(out, `p0_4 -. dead letter`) {
		t.Errorf("mermaid: exit %d\n%s", code, out)
	}
	// Edges after a window re-emitting results carry its row kinds; the
	// edges before it, inserts only, are not labeled.
	code, out, _ = sluice(t, "graph", "../../testdata/lint/changelog_file_ok.hcl")
	if code != exitOK || !strings.Contains(out, `p0_2 -> p0_3 [label="insert, update"]`) || !strings.Contains(out, "p0_1 -> p0_2;") {
		t.Errorf("graph of a changelog: exit %d\n%s", code, out)
	}
	code, out, _ = sluice(t, "graph", "--format", "mermaid", "../../testdata/lint/changelog_file_ok.hcl")
	if code != exitOK || !strings.Contains(out, "p0_2 -- insert, update --> p0_4") {
		t.Errorf("mermaid graph of a changelog: exit %d\n%s", code, out)
	}
	// A file with errors draws nothing and shows the diagnostics.
	code, out, errOut = sluice(t, "graph", "../../testdata/lint/expression_unknown_field.hcl")
	if code != exitProblems || out != "" || !strings.Contains(errOut, "Unknown field in expression") {
		t.Errorf("graph of a bad file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestPlugins(t *testing.T) {
	code, out, _ := sluice(t, "plugins")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Sources:", `source "file"`, `parse "json"`, "filter", `window "session"`, `sink "console" "NAME"`, `dead_letter "file"`} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	code, out, _ = sluice(t, "plugins", "postgres")
	if code != exitOK || !strings.Contains(out, "Contract:") || !strings.Contains(out, "Changes: upsert") {
		t.Errorf("sluice plugins postgres does not show the sink's contract:\n%s", out)
	}
	code, out, _ = sluice(t, "plugins", "tumbling")
	if code != exitOK || !strings.Contains(out, "event_time") || !strings.Contains(out, `default "on_close"`) {
		t.Errorf("plugins tumbling: exit %d\n%s", code, out)
	}
	// "file" names a source, a sink and a dead letter: all three are shown.
	if _, out, _ = sluice(t, "plugins", "file"); strings.Count(out, "Arguments:") != 3 {
		t.Errorf("plugins file shows %d plugins, want 3", strings.Count(out, "Arguments:"))
	}
	code, _, errOut := sluice(t, "plugins", "tumblng")
	if code != exitUsage || !strings.Contains(errOut, `Did you mean "tumbling"?`) {
		t.Errorf("unknown plugin: exit %d, %q", code, errOut)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLintUnreadablePaths(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := sluice(t, "lint", filepath.Join(dir, "missing.hcl"), dir)
	if code != exitProblems {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"missing.hcl: error: Cannot read file", "no such file or directory", "error: No pipeline files", "holds no *.hcl file"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
