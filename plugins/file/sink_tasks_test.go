package file

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// openTask opens the sink at path as task does in a run with checkpoints.
func openTask(t *testing.T, path, task string) (plugins.Writer, plugins.Committer) {
	t.Helper()
	w, err := (&Sink{Path: path, Input: numbers}).Open(context.Background(), &plugins.Runtime{Checkpoints: true, Task: task})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, w.(plugins.Committer)
}

func TestTaskPath(t *testing.T) {
	tests := []struct{ path, task, want string }{
		{"/out/counts.ndjson", "", "/out/counts.ndjson"},
		{"/out/counts.ndjson", "3", "/out/counts-t3.ndjson"},
		{"/out/counts", "12", "/out/counts-t12"},
		{"/out/.counts", "0", "/out/.counts-t0"},
		{"/out.d/counts.json.gz", "1", "/out.d/counts.json-t1.gz"},
	}
	for _, tt := range tests {
		if got := taskPath(tt.path, tt.task); got != tt.want {
			t.Errorf("taskPath(%q, %q) = %q, want %q", tt.path, tt.task, got, tt.want)
		}
	}
}

// TestTasksShareADestination runs two tasks of one sink on one path,
// numbering the same epochs: each commits to a file of its own, and a task
// starting afresh empties its own file and temporaries only.
func TestTasksShareADestination(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	w0, c0 := openTask(t, path, "0")
	w1, c1 := openTask(t, path, "1")
	must(t, c0.Recover(ctx, nil))
	must(t, c1.Recover(ctx, nil))
	must(t, w0.Write(ctx, numbersBatch(0, 3)))
	must(t, w1.Write(ctx, numbersBatch(100, 102)))
	m0, err := c0.Prepare(ctx, 1)
	must(t, err)
	m1, err := c1.Prepare(ctx, 1)
	must(t, err)
	must(t, c1.Commit(ctx, m1))
	must(t, c0.Commit(ctx, m0))
	must(t, c0.Commit(ctx, m0)) // twice: nothing more
	must(t, w0.Write(ctx, numbersBatch(3, 5)))
	must(t, w1.Write(ctx, numbersBatch(102, 104)))
	m0, err = c0.Prepare(ctx, 2) // committed after task 1 restarts
	must(t, err)
	_, err = c1.Prepare(ctx, 2) // never checkpointed
	must(t, err)
	must(t, w1.Close())

	// Task 1 restarts from its checkpoint of epoch 1; then a run without
	// tasks starts afresh on the same path.
	_, c1 = openTask(t, path, "1")
	must(t, c1.Recover(ctx, m1))
	_, single := openTask(t, path, "")
	must(t, single.Recover(ctx, nil))
	must(t, c0.Commit(ctx, m0))
	files := map[string]string{
		"out-t0.ndjson": numberLines(0, 5),
		"out-t1.ndjson": numberLines(100, 102),
		"out.ndjson":    "",
	}
	for name, want := range files {
		if got := readString(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s holds\n%s\nwant\n%s", name, got, want)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".out*.sluice-*"))
	for _, f := range left {
		if !strings.HasSuffix(f, "pending") {
			t.Errorf("temporary %s left", f)
		}
	}
}

// TestManifestOfAnotherTask: a task refuses the manifest of another task
// or of a writer without a task, and one naming another output's
// temporary.
func TestManifestOfAnotherTask(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.ndjson")
	w0, c0 := openTask(t, path, "0")
	_, c1 := openTask(t, path, "1")
	wSingle, single := openTask(t, path, "")
	must(t, w0.Write(ctx, numbersBatch(0, 3)))
	m0, err := c0.Prepare(ctx, 1)
	must(t, err)
	must(t, wSingle.Write(ctx, numbersBatch(10, 12)))
	mSingle, err := single.Prepare(ctx, 1)
	must(t, err)
	var man commitManifest
	must(t, json.Unmarshal(m0, &man))
	if man.Task != "0" {
		t.Errorf("task 0's manifest records task %q", man.Task)
	}
	forged := fmt.Appendf(nil, `{"task":"1","epoch":1,"temp":%q,"before":0,"length":%d}`, man.Temp, man.Length)
	plugintest.ExpectRefused(ctx, t, append(plugintest.TaskRefusals(c1, single, m0, mSingle),
		plugintest.ManifestRefusal{Name: "task 0's temporary as task 1's", Committer: c1, Manifest: forged, Want: "not a file of the output"})...)
	must(t, c0.Commit(ctx, m0))
	if got := readString(t, taskPath(path, "0")); got != numberLines(0, 3) {
		t.Errorf("task 0's output: %q", got)
	}
}

// TestTasksWithoutCheckpoints: without checkpoints each task truncates and
// writes its own file.
func TestTasksWithoutCheckpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.ndjson")
	var ws []plugins.Writer
	for _, task := range []string{"0", "1"} {
		w, err := (&Sink{Path: path, Input: numbers}).Open(ctx, &plugins.Runtime{Task: task})
		must(t, err)
		ws = append(ws, w)
	}
	must(t, ws[0].Write(ctx, numbersBatch(0, 2)))
	must(t, ws[1].Write(ctx, numbersBatch(10, 12)))
	for _, w := range ws {
		must(t, w.Close())
	}
	if got := readString(t, taskPath(path, "0")) + readString(t, taskPath(path, "1")); got != numberLines(0, 2)+numberLines(10, 12) {
		t.Errorf("outputs: %q", got)
	}
}

// TestDeadLetterOfTasks: the tasks of a pipeline append to one dead-letter
// file concurrently; every line is whole and names its task.
func TestDeadLetterOfTasks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	d := &DeadLetter{Path: path, Payload: PayloadText, Input: numbers}
	// Payloads of about a third of the write buffer: a buffer flushed
	// when full would split lines.
	payload := []byte(strings.Repeat("x", writeBuffer/3))
	const tasks, batches, perBatch = 2, 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, tasks)
	for i := range tasks {
		w, err := d.Open(ctx, &plugins.Runtime{Pipeline: "p", Task: fmt.Sprint(i)})
		must(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Close()
			for b := range batches {
				recs := make([]plugins.DeadRecord, perBatch)
				for r := range recs {
					recs[r] = plugins.DeadRecord{Time: time.UnixMilli(0), Stage: "filter", Payload: payload, Origin: record.Origin{Offset: int64(b*perBatch + r)}}
				}
				if err := w.WriteDead(ctx, recs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	must(t, err)
	seen := map[string]int{}
	for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		var line struct {
			Task    string `json:"task"`
			Offset  int64  `json:"offset"`
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil || len(line.Payload) != len(payload) {
			t.Fatalf("a line cut or mixed (%d bytes): %v", len(l), err)
		}
		seen[fmt.Sprintf("%s/%d", line.Task, line.Offset)]++
	}
	if len(seen) != tasks*batches*perBatch {
		t.Errorf("%d distinct records, want %d", len(seen), tasks*batches*perBatch)
	}
}
