package runner

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
	"github.com/sluice-io/sluice/schema"
)

// This file tests running a pipeline as tasks against a scripted broker:
// tasks move between two runs (two "processes") in the middle of their
// windows, and the rows committed by both equal those of one run owning
// every partition.

// partedBroker holds partitions of NDJSON lines and decides which
// assigner owns each task, as a broker does for a failover subscription.
// A partition's reader reads only up to its gate, so that the test knows
// how far a task got when it moves it.
type partedBroker struct {
	parts [][]string

	mu      sync.Mutex
	gate    []int
	owner   map[string]*scriptedAssigner
	changed chan struct{} // closed and replaced when a gate or an owner changes
}

func newPartedBroker(parts [][]string) *partedBroker {
	return &partedBroker{parts: parts, gate: make([]int, len(parts)), owner: map[string]*scriptedAssigner{}, changed: make(chan struct{})}
}

// notifyLocked wakes every reader and assigner waiting on a change.
func (b *partedBroker) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// open lets readers of partition p read up to n lines.
func (b *partedBroker) open(p, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gate[p] = min(max(b.gate[p], n), len(b.parts[p]))
	b.notifyLocked()
}

// assign makes a the owner of task, telling the previous owner it lost it.
func (b *partedBroker) assign(task string, a *scriptedAssigner) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev := b.owner[task]; prev != nil {
		prev.queue = append(prev.queue, plugins.TaskChange{Task: task})
	}
	b.owner[task] = a
	a.queue = append(a.queue, plugins.TaskChange{Task: task, Owned: true})
	b.notifyLocked()
}

// finish ends every assigner's changes: Next returns io.EOF once its queue
// is drained.
func (b *partedBroker) finish(as ...*scriptedAssigner) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range as {
		a.done = true
	}
	b.notifyLocked()
}

// scriptedAssigner is one process's view of the broker.
type scriptedAssigner struct {
	b     *partedBroker
	queue []plugins.TaskChange // under b.mu
	done  bool
}

func (a *scriptedAssigner) Next(ctx context.Context) (plugins.TaskChange, error) {
	for {
		a.b.mu.Lock()
		if len(a.queue) > 0 {
			ch := a.queue[0]
			a.queue = a.queue[1:]
			a.b.mu.Unlock()
			return ch, nil
		}
		if a.done {
			a.b.mu.Unlock()
			return plugins.TaskChange{}, io.EOF
		}
		changed := a.b.changed
		a.b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return plugins.TaskChange{}, ctx.Err()
		}
	}
}

func (a *scriptedAssigner) OpenTask(_ context.Context, _ *plugins.Runtime, task string) (plugins.Reader, error) {
	p, err := strconv.Atoi(task)
	if err != nil || p >= len(a.b.parts) {
		return nil, fmt.Errorf("no task %q", task)
	}
	return &partReader{b: a.b, p: p}, nil
}

func (a *scriptedAssigner) Close() error { return nil }

// partReader reads one partition up to its gate; it ends at the end of
// the partition.
type partReader struct {
	b   *partedBroker
	p   int
	pos int
}

func (r *partReader) Partitions() int { return 1 }
func (r *partReader) Close() error    { return nil }

func (r *partReader) Read(ctx context.Context, b *record.Batch, max int) error {
	for {
		r.b.mu.Lock()
		gate, changed := r.b.gate[r.p], r.b.changed
		r.b.mu.Unlock()
		for b.Rows < max && r.pos < gate {
			b.Columns[0].AppendString([]byte(r.b.parts[r.p][r.pos]))
			b.Origins = append(b.Origins, record.Origin{Partition: 0, Offset: int64(r.pos)})
			b.Rows++
			r.pos++
		}
		switch {
		case b.Rows > 0:
			return nil
		case r.pos >= len(r.b.parts[r.p]):
			return io.EOF
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *partReader) PartitionKey(int) string { return "part-" + strconv.Itoa(r.p) }

func (r *partReader) Position(_ int, offset int64) ([]byte, error) {
	return binary.AppendVarint(nil, offset), nil
}

func (r *partReader) Resume(positions map[string][]byte) error {
	if pos, ok := positions[r.PartitionKey(0)]; ok {
		off, n := binary.Varint(pos)
		if n <= 0 {
			return fmt.Errorf("bad position %x", pos)
		}
		r.pos = int(off) + 1
	}
	return nil
}

func (r *partReader) Commit(int, int64) error { return nil }

// partedSource is the source plugin over a partedBroker: with
// instances = 1 it reads every partition as one process would.
type partedSource struct {
	b      *partedBroker
	assign func() *scriptedAssigner // the next OpenTasks' assigner
	routed []string
}

func (s *partedSource) Output() record.Schema           { return record.RawSchema() }
func (s *partedSource) CheckResumable() hcl.Diagnostics { return nil }
func (s *partedSource) SplitsTasks() (bool, hcl.Range)  { return true, hcl.Range{} }
func (s *partedSource) CheckTasks() hcl.Diagnostics     { return nil }
func (s *partedSource) PartitionedBy() ([]string, hcl.Range) {
	return s.routed, hcl.Range{}
}

func (s *partedSource) OpenTasks(context.Context, *plugins.Runtime) (plugins.TaskAssigner, error) {
	return s.assign(), nil
}

// Open reads every partition, whole, round-robin.
func (s *partedSource) Open(context.Context, *plugins.Runtime) (plugins.Reader, error) {
	return &linesReader{l: &lines{parts: s.b.parts}, pos: make([]int, len(s.b.parts))}, nil
}

// taskSink is an exactly-once sink kept in memory: rows are staged per
// Writer and committed under (task, epoch), so that committing a manifest
// twice changes nothing.
type taskSink struct {
	input record.Schema

	mu        sync.Mutex
	committed map[string][]string // "task/epoch" -> rows
}

type taskManifest struct {
	Task  string   `json:"task"`
	Epoch int64    `json:"epoch"`
	Rows  []string `json:"rows"`
}

func (s *taskSink) Output() record.Schema { return s.input }

func (s *taskSink) Open(_ context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	return &taskWriter{s: s, task: rt.Task}, nil
}

func (s *taskSink) rows() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, rows := range s.committed {
		out = append(out, rows...)
	}
	slices.Sort(out)
	return out
}

type taskWriter struct {
	s       *taskSink
	task    string
	pending []string
}

func (w *taskWriter) Write(_ context.Context, b *record.Batch) error {
	for i := range b.Rows {
		w.pending = append(w.pending, string(ndjson.AppendRow(nil, b, i)))
	}
	return nil
}

func (w *taskWriter) Prepare(_ context.Context, epoch int64) ([]byte, error) {
	m, err := json.Marshal(taskManifest{Task: w.task, Epoch: epoch, Rows: w.pending})
	w.pending = nil
	return m, err
}

func (w *taskWriter) Commit(_ context.Context, manifest []byte) error {
	var m taskManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return err
	}
	if m.Task != w.task {
		return fmt.Errorf("manifest of task %q given to task %q", m.Task, w.task)
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.committed == nil {
		w.s.committed = map[string][]string{}
	}
	w.s.committed[fmt.Sprintf("%s/%d", m.Task, m.Epoch)] = m.Rows
	return nil
}

func (w *taskWriter) Recover(ctx context.Context, manifest []byte) error {
	w.pending = nil
	if len(manifest) == 0 {
		return nil
	}
	return w.Commit(ctx, manifest)
}

func (w *taskWriter) Close() error { return nil }

// withPartedPlugins returns an environment with source "parted" over src
// and sink "tasks" into sink.
func withPartedPlugins(t *testing.T, src *partedSource, sink *taskSink) *plugins.Environment {
	t.Helper()
	env := plugins.Global().Clone()
	for _, p := range []*plugins.Plugin{
		{Kind: plugins.KindSource, Block: "source", Name: "parted", Summary: "Test partitions.",
			Spec:  schema.NewSpec(schema.List("partitioned_by", schema.TypeString, "The fields messages are keyed by.").AsOptional()),
			Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) { return src, nil }},
		{Kind: plugins.KindSink, Block: "sink", Name: "tasks", Summary: "Test sink.",
			Contract: &plugins.SinkContract{Changes: plugins.ChangesAppend, Delivery: plugins.ExactlyOnce},
			Spec:     schema.NewSpec(),
			Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
				sink.input = b.Input
				return sink, nil
			}},
	} {
		if err := env.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

const tasksPipeline = `pipeline "moves" {
  instances = %d
  source "parted" {}
  parse "json" {
    field "user" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "10s"
    watermark  = "3s"
    group_by   = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user)"
    }
  }
  sink "tasks" "out" {}
}
`

// partedEvents makes n events over 4 partitions, routed by action, with
// event time disorder below the watermark so that none is late.
func partedEvents(n, partitions int) [][]string {
	rng := rand.New(rand.NewPCG(7, 11))
	actions := []string{"view", "click", "scroll", "login", "buy", "share", "like"}
	parts := make([][]string, partitions)
	for i := range n {
		a := actions[rng.IntN(len(actions))]
		h := fnv.New32a()
		h.Write([]byte(a))
		p := int(h.Sum32()) % partitions
		ts := int64(1_700_000_000_000) + int64(i)*20 - rng.Int64N(2000)
		parts[p] = append(parts[p], fmt.Sprintf(`{"user":%d,"action":%q,"ts":%d}`, rng.IntN(50), a, ts))
	}
	return parts
}

// TestTasksMoveMidWindow moves tasks between two runs of one pipeline in
// the middle of their windows, at random points, back and forth; the rows
// committed by both runs together equal those of one run owning every
// partition: no row lost, doubled or split.
func TestTasksMoveMidWindow(t *testing.T) {
	parts := partedEvents(6000, 4)
	want := runParted(t, parts, 1, nil)
	if len(want) == 0 {
		t.Fatal("the single run committed nothing")
	}
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			got := runParted(t, parts, 2, rand.New(rand.NewPCG(seed, 3)))
			if d := diffRows(got, want); d != "" {
				t.Fatalf("two processes committed other rows than one:\n%s", d)
			}
		})
	}
}

// runParted runs the pipeline over parts with the given instances; with
// instances > 1 it runs two processes and moves tasks between them at
// steps drawn from rng. It returns the committed rows, sorted.
func runParted(t *testing.T, parts [][]string, instances int, rng *rand.Rand) []string {
	t.Helper()
	b := newPartedBroker(parts)
	var assigners []*scriptedAssigner
	var amu sync.Mutex
	src := &partedSource{b: b, routed: []string{"action"}, assign: func() *scriptedAssigner {
		amu.Lock()
		defer amu.Unlock()
		a := &scriptedAssigner{b: b}
		assigners = append(assigners, a)
		return a
	}}
	sink := &taskSink{}
	env := withPartedPlugins(t, src, sink)
	proj, diags := config.LoadSources([]config.Source{{Name: "moves.hcl", Bytes: fmt.Appendf(nil, tasksPipeline, instances)}}, &config.Options{Plugins: env})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := proj.Pipelines[0]
	store := checkpoint.NewStore(checkpoint.NewMemStorage())
	opts := Options{Checkpoints: store, CheckpointEvery: 5 * time.Millisecond, BatchSize: 37}
	if instances == 1 {
		opts.Checkpoints = nil
		for i := range parts {
			b.open(i, len(parts[i]))
		}
		st, err := Run(context.Background(), p, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkSum(t, st)
		return sink.rows()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	stats := make([]Stats, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i], errs[i] = Run(ctx, p, opts)
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		amu.Lock()
		n := len(assigners)
		amu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the two runs did not open their tasks")
		}
		time.Sleep(time.Millisecond)
	}
	moveTasksAround(b, assigners, rng)
	b.finish(assigners...)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	if total := addStats(stats[0], stats[1]); total.Late != 0 {
		t.Errorf("late records with tasks: %+v", total)
	}
	return sink.rows()
}

// moveTasksAround opens the partitions in steps and, between steps, gives
// tasks to one process or the other at random.
func moveTasksAround(b *partedBroker, as []*scriptedAssigner, rng *rand.Rand) {
	const steps = 8
	for task := range b.parts {
		b.assign(strconv.Itoa(task), as[task%2])
	}
	for step := 1; step < steps; step++ {
		for p := range b.parts {
			b.open(p, len(b.parts[p])*step/steps)
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		task := rng.IntN(len(b.parts))
		b.assign(strconv.Itoa(task), as[rng.IntN(2)])
	}
	// The last step lets every task read to the end of its partition,
	// where it stays with its owner.
	for p := range b.parts {
		b.open(p, len(b.parts[p]))
	}
}
