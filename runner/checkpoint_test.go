package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
)

// checkpointPipeline reads events from in, windows them two ways (a
// tumbling count per action, sessions per user) and writes the results to
// out with the file sink, which commits with checkpoints.
const checkpointPipeline = `pipeline "ckpt" {
  source "file" { path = %q }
  parse "json" {
    field "user" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  filter { where = "action != 'heartbeat'" }
  window "session" {
    event_time = "ts"
    gap        = "%s"
    watermark  = "10s"
    group_by   = ["user"]
    aggregate  = { events = "count()", actions = "count_distinct(action)", last = "last(action)" }
  }
  sink "file" "out" { path = %q }
}
`

// writeEvents writes n disordered events over about n seconds to a file.
func writeEvents(t *testing.T, path string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	base := int64(1767225600000)
	var b strings.Builder
	for i := range n {
		ts := base + int64(i)*1000 - rng.Int64N(20000)
		if i%50 == 49 {
			ts -= 10 * 60000 // late
		}
		action := []string{"click", "view", "buy", "heartbeat"}[rng.IntN(4)]
		fmt.Fprintf(&b, `{"user":%d,"action":%q,"ts":%d}`+"\n", rng.IntN(40), action, ts)
		if i%97 == 0 {
			b.WriteString("not json\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// crashSink wraps a sink and fails the run at its nth call of Write,
// Prepare or Commit: a crash at that instant, as far as the output and the
// checkpoints can tell (nothing after it happens).
type crashSink struct {
	plugins.SinkOpener
	at    int64 // the call that fails; 0: none
	calls *atomic.Int64
}

var errCrash = errors.New("crash")

func (s crashSink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	w, err := s.SinkOpener.Open(ctx, rt)
	if err != nil {
		return nil, err
	}
	return &crashWriter{w: w, c: w.(plugins.Committer), s: s}, nil
}

type crashWriter struct {
	w plugins.Writer
	c plugins.Committer
	s crashSink
}

func (w *crashWriter) crash() bool { return w.s.calls.Add(1) == w.s.at }

func (w *crashWriter) Write(ctx context.Context, b *record.Batch) error {
	if w.crash() {
		return errCrash
	}
	return w.w.Write(ctx, b)
}

func (w *crashWriter) Prepare(ctx context.Context, epoch int64) ([]byte, error) {
	if w.crash() {
		return nil, errCrash
	}
	return w.c.Prepare(ctx, epoch)
}

func (w *crashWriter) Commit(ctx context.Context, m []byte) error {
	if w.crash() {
		return errCrash
	}
	return w.c.Commit(ctx, m)
}

func (w *crashWriter) Recover(ctx context.Context, m []byte) error { return w.c.Recover(ctx, m) }
func (w *crashWriter) Close() error                                { return w.w.Close() }

// TestCheckpointCrashRecovery crashes a run at many instants (in the
// middle of writing results, between preparing and committing a
// checkpoint, after committing it), restarts it from its checkpoints until
// it ends, and checks the output equals an uninterrupted run's: no result
// lost, none written twice.
func TestCheckpointCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.ndjson")
	writeEvents(t, in, 3000)

	run := func(out string, store *checkpoint.Store, crashAt int64, calls *atomic.Int64) (Stats, error) {
		p := load(t, fmt.Sprintf(checkpointPipeline, in, "1m", out))
		opts := Options{BatchSize: 50, Workers: 2, Checkpoints: store, CheckpointEvery: time.Nanosecond}
		if calls != nil {
			opts.Sink = func(s *config.Stage) plugins.SinkOpener {
				return crashSink{SinkOpener: s.Component.(plugins.SinkOpener), at: crashAt, calls: calls}
			}
		}
		return Run(context.Background(), p, opts)
	}
	want := filepath.Join(dir, "clean.ndjson")
	clean, err := run(want, checkpoint.NewStore(checkpoint.NewMemStorage()), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := readLines(t, want)
	if len(wantRows) < 100 || clean.Late == 0 || clean.Dead == 0 {
		t.Fatalf("a weak test: %d rows, %+v", len(wantRows), clean)
	}

	// Count the sink calls of a whole run, then crash at instants spread
	// over it, several times in the same run.
	var total atomic.Int64
	if _, err := run(filepath.Join(dir, "count.ndjson"), checkpoint.NewStore(checkpoint.NewMemStorage()), -1, &total); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 6 {
		out := filepath.Join(dir, fmt.Sprintf("out%d.ndjson", trial))
		store := checkpoint.NewStore(checkpoint.NewMemStorage())
		crashes := 0
		for {
			var calls atomic.Int64
			at := 1 + rng.Int64N(total.Load())
			if crashes >= 4 {
				at = 0 // let it finish
			}
			_, err := run(out, store, at, &calls)
			if err == nil {
				break
			}
			if !errors.Is(err, errCrash) {
				t.Fatalf("trial %d: %v", trial, err)
			}
			crashes++
		}
		got := readLines(t, out)
		if !slices.Equal(sorted(got), sorted(wantRows)) {
			t.Fatalf("trial %d after %d crashes: %d rows, want %d\n%s", trial, crashes, len(got), len(wantRows), diffRows(got, wantRows))
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// diffRows lists the rows only one side has.
func diffRows(got, want []string) string {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var b strings.Builder
	for r, n := range count {
		if n > 0 {
			fmt.Fprintf(&b, "missing %dx %s\n", n, r)
		} else if n < 0 {
			fmt.Fprintf(&b, "extra %dx %s\n", -n, r)
		}
	}
	return b.String()
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

type pacedCommitter struct {
	plugins.Committer
	every time.Duration
}

func (p pacedCommitter) CommitEvery() time.Duration { return p.every }

func TestCommitEvery(t *testing.T) {
	paced := func(d time.Duration) committer { return committer{c: pacedCommitter{every: d}} }
	tests := []struct {
		set  time.Duration
		sink []committer
		want time.Duration
	}{
		{0, nil, DefaultCommitEvery},
		{0, []committer{{}}, DefaultCommitEvery},
		{0, []committer{paced(time.Hour), paced(15 * time.Minute), {}}, 15 * time.Minute},
		{time.Second, []committer{paced(time.Hour)}, time.Second},
	}
	for _, tt := range tests {
		if got := commitEvery(tt.set, tt.sink); got != tt.want {
			t.Errorf("commitEvery(%v, %d sinks) = %v, want %v", tt.set, len(tt.sink), got, tt.want)
		}
	}
}

// TestParquetWithoutCheckpoints runs a bounded pipeline into the Parquet
// sink without a checkpoint block: the output is committed when the input
// ends, and no temporary file is left.
func TestParquetWithoutCheckpoints(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.ndjson")
	writeEvents(t, in, 500)
	lake := filepath.Join(dir, "lake")
	p := load(t, fmt.Sprintf(`pipeline "pq" {
  source "file" { path = %q }
  parse "json" {
    field "user" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "parquet" "lake" {
    path         = %q
    partition_by = ["window_start:hour"]
  }
}
`, in, lake))
	st, err := Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var files, temps []string
	filepath.WalkDir(lake, func(path string, d os.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir():
		case strings.Contains(path, "_sluice_tmp"):
			temps = append(temps, path)
		case strings.HasSuffix(path, ".parquet"):
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 || len(temps) != 0 || st.Emitted == 0 {
		t.Fatalf("committed %v, temporaries %v, %d rows emitted", files, temps, st.Emitted)
	}
	for _, f := range files {
		if !strings.Contains(f, "/window_start_hour=20") {
			t.Errorf("file outside an hour folder: %s", f)
		}
	}
}
