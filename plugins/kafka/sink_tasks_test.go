package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// openTaskWriter opens s's transactional writer for task, closed after
// the test.
func openTaskWriter(t *testing.T, s *Sink, task string) *txnWriter {
	t.Helper()
	w, err := s.Open(context.Background(), &plugins.Runtime{Pipeline: "test", Checkpoints: true, Now: time.Now, Task: task})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w.(*txnWriter)
}

// TestSinkTasks runs two tasks of one sink on one topic, numbering the
// same epochs: each has its own transactional id and epoch group, so that
// one task's epoch 1 is not taken for the other's and a restarted task
// fences its own zombie only.
func TestSinkTasks(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, 3, "out")
	s := testSink(t, fmt.Sprintf(`sink "kafka" "out" {
  brokers = %s
  topic   = "out"
}`, brokersHCL(c)), windowRows)
	w0, w1 := openTaskWriter(t, s, "0"), openTaskWriter(t, s, "1")
	if w0.txnID != "sluice.test.out.t0" || w1.txnID != "sluice.test.out.t1" {
		t.Fatalf("transactional ids %q and %q", w0.txnID, w1.txnID)
	}
	must(t, w0.Recover(ctx, nil))
	must(t, w1.Recover(ctx, nil))
	must(t, w0.Write(ctx, windowBatch(0, 10)))
	must(t, w1.Write(ctx, windowBatch(100, 6)))
	m0, err := w0.Prepare(ctx, 1)
	must(t, err)
	m1, err := w1.Prepare(ctx, 1)
	must(t, err)
	must(t, w0.Commit(ctx, m0))
	must(t, w1.Commit(ctx, m1))
	must(t, w0.Write(ctx, windowBatch(10, 4)))
	m0, err = w0.Prepare(ctx, 2) // committed after task 1 restarts
	must(t, err)
	must(t, w1.Write(ctx, windowBatch(106, 5)))
	_, err = w1.Prepare(ctx, 2) // in no checkpoint
	must(t, err)
	// Task 1 dies with a transaction open (its zombie) and restarts from
	// its checkpoint of epoch 1.
	zombie := testClient(t, c, kgo.TransactionalID(w1.txnID), kgo.DefaultProduceTopic("out"))
	must(t, zombie.BeginTransaction())
	produce(t, zombie, &kgo.Record{Value: []byte(`{"zombie":true}`)})
	w1.cl.Close()
	r1 := openTaskWriter(t, s, "1")
	must(t, r1.Recover(ctx, m1))
	must(t, w0.Commit(ctx, m0)) // task 0 was not fenced
	if err := zombie.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Error("task 1's zombie committed after the restart")
	}

	committed := readTopic(t, c, "out", true)
	seen := map[string]int{}
	for _, r := range committed {
		seen[string(r.Value)]++
		if seen[string(r.Value)] > 1 || strings.Contains(string(r.Value), "zombie") {
			t.Fatalf("read_committed sees %s", r.Value)
		}
	}
	if len(committed) != 10+6+4 {
		t.Errorf("read_committed sees %d records, want 20", len(committed))
	}
	for _, tc := range []struct {
		w    *txnWriter
		want int64
	}{{w0, 2}, {r1, 1}} {
		if last, err := tc.w.lastCommitted(ctx); err != nil || last != tc.want {
			t.Errorf("group %s: last epoch %d (%v), want %d", tc.w.txnID, last, err, tc.want)
		}
	}
}

// TestSinkManifestOfAnotherTask: a writer refuses the manifest of another
// task, or of a writer without a task; a damaged task is refused too.
func TestSinkManifestOfAnotherTask(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, 1, "out")
	s := testSink(t, fmt.Sprintf(`sink "kafka" "out" {
  brokers = %s
  topic   = "out"
}`, brokersHCL(c)), windowRows)
	w0, w1, single := openTaskWriter(t, s, "0"), openTaskWriter(t, s, "1"), openTaskWriter(t, s, "")
	for _, w := range []*txnWriter{w0, w1, single} {
		must(t, w.Recover(ctx, nil))
	}
	must(t, w0.Write(ctx, windowBatch(0, 3)))
	m0, err := w0.Prepare(ctx, 1)
	must(t, err)
	must(t, single.Write(ctx, windowBatch(10, 3)))
	mSingle, err := single.Prepare(ctx, 1)
	must(t, err)
	if !strings.HasPrefix(string(mSingle), manifestMagic) {
		t.Errorf("a manifest without a task does not start with %q", manifestMagic)
	}
	damaged := append([]byte(taskManifestMagic), 200) // a task longer than the manifest
	plugintest.ExpectRefused(ctx, t, append(plugintest.TaskRefusals(w1, single, m0, mSingle),
		plugintest.ManifestRefusal{Name: "damaged task", Committer: w1, Manifest: damaged, Want: "damaged"})...)
	if got := len(readTopic(t, c, "out", false)); got != 0 {
		t.Errorf("%d records produced by refused manifests", got)
	}
	must(t, w0.Commit(ctx, m0))
	must(t, single.Commit(ctx, mSingle))
	if got := len(readTopic(t, c, "out", true)); got != 6 {
		t.Errorf("%d records committed, want 6", got)
	}
}
