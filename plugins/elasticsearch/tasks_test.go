package elasticsearch

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// TestTasksShareAnIndex runs two tasks of one sink on one index, as a
// pipeline run as tasks does (each task holds its own groups, here
// actions, and numbers its own epochs): the default ids, made of the
// window and the group only, never collide between tasks, and a task
// restarted from its checkpoint writes its replayed windows over
// themselves, leaving the other task's documents alone.
func TestTasksShareAnIndex(t *testing.T) {
	ctx := context.Background()
	es := startES(t, esfake.Options{})
	c, diags := plugintest.Build(Plugin, fmt.Sprintf("sink \"elasticsearch\" \"es\" {\n  urls  = [%q]\n  index = \"clicks\"\n}", es.URL()), windows)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	open := func(task string) *writer {
		w, err := c.(*Sink).Open(ctx, &plugins.Runtime{Pipeline: "test", Checkpoints: true, Task: task})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		if err := w.(plugins.Committer).Recover(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return w.(*writer)
	}
	epoch := func(w *writer, e int64, minute int, action string) {
		t.Helper()
		if err := w.Write(ctx, windowBatch(0, minute, int64(minute), action)); err != nil {
			t.Fatal(err)
		}
		m, err := w.Prepare(ctx, e)
		if err == nil {
			err = w.Commit(ctx, m)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	w0, w1 := open("0"), open("1")
	for e := int64(1); e <= 3; e++ {
		epoch(w0, e, int(e), "view")
		epoch(w1, e, int(e), "click")
	}
	// Task 1 restarts from its checkpoint of epoch 2 and replays epoch 3.
	w1.Close()
	epoch(open("1"), 3, 3, "click")
	docs := es.Docs("clicks")
	if len(docs) != 6 {
		t.Errorf("%d documents, want 6 (3 windows × 2 actions): %v", len(docs), docs)
	}
	for m := 1; m <= 3; m++ {
		for _, action := range []string{"view", "click"} {
			id := fmt.Sprintf("%d|%s", windowBatch(0, m, 0, action).Columns[0].Ints[0], action)
			if _, ok := docs[id]; !ok {
				t.Errorf("no document %s", id)
			}
		}
	}
}
