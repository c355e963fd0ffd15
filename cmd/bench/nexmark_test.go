package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/runner/config"
)

// TestNexmarkPipeline checks the rewriting of each query pipeline: it loads
// with sluice's own loader, reads the asked number of events, writes the
// asked file, has no rate limit and no test block, and takes checkpoints
// only when asked.
func TestNexmarkPipeline(t *testing.T) {
	for _, q := range nexmarkQueries {
		for _, store := range []string{"", "/tmp/ck points"} {
			t.Run(q.name+" store="+store, func(t *testing.T) {
				src, err := os.ReadFile(filepath.Join("..", "..", "pipelines", "nexmark", q.name+".hcl"))
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				out := filepath.Join(dir, "out.ndjson")
				text, err := nexmarkPipeline(string(src), q.name, 5000, out, store)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range []string{"events = 5000\n", `path = "` + out + `"`} {
					if !strings.Contains(text, s) {
						t.Errorf("lacks %s:\n%s", s, text)
					}
				}
				for _, s := range []string{"rate", "test \"", "SLUICE_OUT", "1000000"} {
					if strings.Contains(text, s) {
						t.Errorf("still has %s:\n%s", s, text)
					}
				}
				if got := strings.Contains(text, "checkpoint {"); got != (store != "") {
					t.Errorf("checkpoint block %v with store %q:\n%s", got, store, text)
				}
				hcl := filepath.Join(dir, q.name+".hcl")
				if err := os.WriteFile(hcl, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				project, diags := config.Load([]string{hcl}, nil)
				for _, d := range diags {
					t.Logf("%s", d)
				}
				if diags.HasErrors() || len(project.Pipelines) != 1 {
					t.Fatalf("the rewritten pipeline does not load as one pipeline:\n%s", text)
				}
			})
		}
	}
	if _, err := nexmarkPipeline("pipeline \"other\" {\n}\n", "q0", 1, "/o", ""); err == nil {
		t.Error("a file without the query's pipeline was accepted")
	}
}

// TestNexmarkSelect checks -query.
func TestNexmarkSelect(t *testing.T) {
	if got, err := nexmarkSelect("q5"); err != nil || len(got) != 1 || got[0] != "q5" {
		t.Errorf("q5: %v, %v", got, err)
	}
	if got, err := nexmarkSelect("all"); err != nil || len(got) != 7 {
		t.Errorf("all: %v, %v", got, err)
	}
	if _, err := nexmarkSelect("q3"); err == nil {
		t.Error("q3 was accepted")
	}
	var stderr bytes.Buffer
	if _, code := parseFlags([]string{"-workload", "nexmark", "-query", "q3"}, &stderr); code != exitUsage {
		t.Errorf("-query q3: exit %d, want %d", code, exitUsage)
	}
	if opts, code := parseFlags([]string{"-workload", "nexmark"}, &stderr); code >= 0 || opts.events != nexmarkDefaultEvents {
		t.Errorf("-workload nexmark: code %d, events %d, want %d", code, opts.events, nexmarkDefaultEvents)
	}
}

// TestNexmarkEndToEnd runs the nexmark workload on q0 and q5 with a few
// thousand events (q5 also with checkpoints) and checks that sluice and
// DuckDB ran and agree on the number of output rows. It needs node and npm
// (skipped without them, failed when CI is set) and installs DuckDB into
// the bench's default data folder on first use.
func TestNexmarkEndToEnd(t *testing.T) {
	_, nodeErr := exec.LookPath("node")
	_, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("node and npm are needed to run the nexmark workload's DuckDB baseline, and CI=%s: install Node.js", ci)
		}
		t.Skip("skipping: node or npm is not in PATH, needed for the DuckDB baseline (install Node.js to run it; with CI=true this fails instead)")
	}
	for _, q := range []string{"q0", "q5"} {
		t.Run(q, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"-workload", "nexmark", "-query", q, "-events", "20000", "-json", "-data", filepath.Join(os.TempDir(), "sluice-bench")}
			checkpoints := q == "q5" // and also with checkpoints, in the same run
			if checkpoints {
				args = append(args, "-checkpoints")
			}
			if code := run(args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d:\n%s", code, stderr.String())
			}
			var rep nexmarkReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("%v in %s", err, stdout.String())
			}
			if len(rep.Rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rep.Rows))
			}
			r := rep.Rows[0]
			if r.Status != statusOK || r.DuckDBStatus != statusOK {
				t.Fatalf("sluice %s (%s), duckdb %s (%s)", r.Status, r.Reason, r.DuckDBStatus, r.DuckDBReason)
			}
			if r.OutputRows == nil || r.DuckDBOutputRows == nil || *r.OutputRows == 0 || *r.OutputRows != *r.DuckDBOutputRows {
				t.Errorf("output rows: sluice %s, duckdb %s; want the same, above zero", opti(r.OutputRows), opti(r.DuckDBOutputRows))
			}
			if r.RecordsIn == nil || *r.RecordsIn != 18400 {
				t.Errorf("sluice read %s bids, want the 18400 of 20000 events", opti(r.RecordsIn))
			}
			if r.EventsPerCoreSecond <= 0 || r.BytesPerEvent == nil || r.FlinkPerCore <= 0 {
				t.Errorf("missing figures: %+v", r)
			}
			if ran := r.CheckpointStatus == statusOK && r.CheckpointEventsPerCore > 0; ran != checkpoints {
				t.Errorf("with checkpoints: status %q, %v events/s per core; want a run: %v", r.CheckpointStatus, r.CheckpointEventsPerCore, checkpoints)
			}
		})
	}
}
