package elasticsearch

// The kill -9 test of the sink's delivery with checkpoints: `sluice run`
// on two pipelines reading a file with checkpoints — one-minute windows
// per action into daily indices under their default ids, and every event
// under an id of its own — writes to a double in this process, and is
// killed with SIGKILL again and again, at moments placed from the
// checkpoints it takes, and restarted until it ends by itself. Every index
// must then hold the same documents, by id and content, as after an
// uninterrupted run.
//
// SLUICE_CRASH_SEED=N replays the kill schedule of a failed run (the
// timing of the processes still varies).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/internal/sluicetest"
)

const (
	// crashEvents is the number of input events.
	crashEvents = 60_000
	// crashCheckpoints is about how many checkpoints a whole run takes; a
	// kill costs one to three of them, so a run sees some eight kills.
	crashCheckpoints = 24
	// crashMinKills is how many kills must interrupt a running process.
	crashMinKills = 3
)

// crashPipelines is the pipeline file: %[1]s the input, %[2]s the
// double's URL, %[3]s the checkpoint folder, %[4]s the interval.
const crashPipelines = `checkpoint {
  store = %[3]q
  every = %[4]q
}

pipeline "windows" {
  source "file" { path = %[1]q }
  parse "json" {
    field "seq" { type = "int" }
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    on_error = "fail"
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "5m"
    group_by   = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }
  sink "elasticsearch" "agg" {
    urls  = [%[2]q]
    index = "agg-{window_start|yyyy.MM.dd}"
  }
}

pipeline "raw" {
  source "file" { path = %[1]q }
  parse "json" {
    field "seq" { type = "int" }
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    on_error = "fail"
  }
  sink "elasticsearch" "events" {
    urls        = [%[2]q]
    index       = "events"
    id          = "seq"
    flush_bytes = "256KiB"
  }
}
`

func TestCrashIndexEqualsUninterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluice and runs it many times")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("kill schedule seed %d (SLUICE_CRASH_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	bin := sluicetest.Build(t)
	input := filepath.Join(dir, "events.ndjson")
	writeCrashEvents(t, input)

	ref := startES(t, esfake.Options{})
	start := time.Now()
	sluicetest.Start(t, bin, "run", "--log-format", "json", writeCrashPipelines(t, dir, "ref", input, ref.URL(), "10m")).Wait(t, 5*time.Minute)
	every := max(time.Since(start)/crashCheckpoints, 50*time.Millisecond).Round(time.Millisecond)
	t.Logf("uninterrupted run: %v; checkpoints every %v", time.Since(start).Round(time.Millisecond), every)
	checkCrashModel(t, ref)

	es := startES(t, esfake.Options{})
	file := writeCrashPipelines(t, dir, "crash", input, es.URL(), every.String())
	kills := 0
	for run := 0; ; run++ {
		p := sluicetest.Start(t, bin, "run", "--log-format", "json", file)
		folders := []string{filepath.Join(dir, "crash-checkpoints", "raw"), filepath.Join(dir, "crash-checkpoints", "windows")}
		progress := func() int64 { return latestEpoch(folders[0]) + latestEpoch(folders[1]) }
		if !p.KillAtSomePoint(t, rng, every, progress) {
			t.Logf("run %d ended by itself after %d kills", run, kills)
			break
		}
		kills++
		if run > 200 {
			t.Fatalf("still not done after %d runs", run)
		}
	}
	if kills < crashMinKills {
		t.Errorf("only %d kills interrupted a running pipeline, want %d", kills, crashMinKills)
	}
	if got, want := fmt.Sprint(es.Indices()), fmt.Sprint(ref.Indices()); got != want {
		t.Fatalf("indices %s, want %s", got, want)
	}
	for _, ix := range ref.Indices() {
		got, want := es.Docs(ix), ref.Docs(ix)
		if len(got) != len(want) {
			t.Errorf("index %s: %d documents, want %d", ix, len(got), len(want))
		}
		diffs := 0
		for id, doc := range want {
			if !bytes.Equal(got[id], doc) && diffs < 5 {
				diffs++
				t.Errorf("index %s, document %q: %s, want %s", ix, id, got[id], doc)
			}
		}
	}
}

// latestEpoch returns the newest checkpoint epoch in a pipeline's
// checkpoint folder, 0 without one.
func latestEpoch(folder string) int64 {
	names, _ := filepath.Glob(filepath.Join(folder, "*.ckpt"))
	var epoch int64
	for _, n := range names {
		if e, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(n), ".ckpt"), 10, 64); err == nil {
			epoch = max(epoch, e)
		}
	}
	return epoch
}

// checkCrashModel checks the uninterrupted run against the input: every
// event, one window per minute and action counting every event.
func checkCrashModel(t *testing.T, es *esfake.Server) {
	t.Helper()
	if n := len(es.Docs("events")); n != crashEvents {
		t.Fatalf("the uninterrupted run wrote %d events, want %d", n, crashEvents)
	}
	windows := es.Docs("agg-2026.11.25")
	counted := 0
	for _, doc := range windows {
		var w struct{ Events int }
		if err := json.Unmarshal(doc, &w); err != nil {
			t.Fatal(err)
		}
		counted += w.Events
	}
	if len(windows) != 60*4 || counted != crashEvents {
		t.Fatalf("the uninterrupted run wrote %d windows counting %d events, want 240 counting %d", len(windows), counted, crashEvents)
	}
}

// writeCrashEvents writes the input: one hour of events from 2026-11-25
// 12:00 UTC, each up to 5 s out of order, four actions.
func writeCrashEvents(t *testing.T, path string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(20261125, 2))
	actions := []string{"view", "click", "login", "buy"}
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()
	var b bytes.Buffer
	for i := range crashEvents {
		ts := max(base, base+int64(i)*3_600_000/crashEvents-rng.Int64N(5000))
		fmt.Fprintf(&b, `{"seq":%d,"user_id":%d,"action":%q,"ts":%d}`+"\n", i, rng.IntN(1000), actions[rng.IntN(len(actions))], ts)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCrashPipelines writes the pipeline file of one set of runs.
func writeCrashPipelines(t *testing.T, dir, name, input, url, every string) string {
	t.Helper()
	path := filepath.Join(dir, name+".hcl")
	src := fmt.Sprintf(crashPipelines, input, url, "file://"+filepath.Join(dir, name+"-checkpoints"), every)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
