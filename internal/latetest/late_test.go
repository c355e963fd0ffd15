package latetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/internal/pgtest"
	"github.com/sluice-io/sluice/internal/sluicetest"
)

var server *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }

const (
	// runCheckpoints is about how many checkpoints the run with kills
	// takes; a kill costs one to three of them.
	runCheckpoints = 32
	// minKills is how many kills must interrupt a running process.
	minKills = 3
)

// latePipelines is the pipeline file: %[1]s the input, %[2]s the DSN,
// %[3]s the double's URL, %[4]s the checkpoint store, %[5]s its interval,
// %[6]s the changelog file of the sessions.
const latePipelines = `checkpoint {
  store = %[4]q
  every = %[5]q
}

pipeline "late_tumbling" {
  source "file" { path = %[1]q }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    field "value" { type = "int" }
    on_error = "fail"
  }
  window "tumbling" {
    event_time       = "ts"
    size             = "1m"
    watermark        = "30s"
    allowed_lateness = "10m"
    group_by         = ["action"]
    aggregate = {
      events = "count()"
      total  = "sum(value)"
      top    = "max(value)"
    }
  }
  sink "postgres" "table" {
    dsn          = %[2]q
    table        = "late_tumbling"
    create_table = true
  }
  sink "elasticsearch" "index" {
    urls  = [%[3]q]
    index = "late-tumbling"
  }
}

pipeline "late_sessions" {
  source "file" { path = %[1]q }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    field "value" { type = "int" }
    on_error = "fail"
  }
  window "session" {
    event_time       = "ts"
    gap              = "2m"
    watermark        = "30s"
    allowed_lateness = "10m"
    group_by         = ["user_id"]
    aggregate = {
      events = "count()"
      total  = "sum(value)"
    }
  }
  sink "postgres" "table" {
    dsn          = %[2]q
    table        = "late_sessions"
    create_table = true
  }
  sink "elasticsearch" "index" {
    urls  = [%[3]q]
    index = "late-sessions"
  }
  sink "file" "changelog" {
    path      = %[6]q
    changelog = true
  }
}
`

// The pipelines, their tables and their indices.
var (
	pipelines = []string{"late_tumbling", "late_sessions"}
	tables    = []string{"late_tumbling", "late_sessions"}
	indices   = []string{"late-tumbling", "late-sessions"}
)

// TestLateDataEndToEnd runs the pipelines once without interruption: the
// tables and indices must equal the batch computation over the events
// within the allowed lateness, each pipeline must count the others late,
// and the sessions' changelog must hold updates and deletes (the test
// would prove little otherwise) and fold to the same sessions. Then it
// runs them again with checkpoints, killed with SIGKILL at points placed
// from the checkpoints they take and restarted until they end by
// themselves: the tables and indices must equal the uninterrupted run's,
// revisions included.
//
// SLUICE_CRASH_SEED=N replays the kill schedule of a failed run (the
// timing of the processes still varies).
func TestLateDataEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluice and runs it many times")
	}
	dir := t.TempDir()
	t0 := time.Now()
	bin := sluicetest.Build(t)
	t.Logf("go build: %v", time.Since(t0).Round(time.Millisecond))
	events := makeEvents(rand.New(rand.NewPCG(20261125, 17)))
	late, err := lateBeyond(events)
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(input, ndjson(events), 0o644); err != nil {
		t.Fatal(err)
	}
	wantTumbling, wantSessions := batchTumbling(events), batchSessions(events)
	t.Logf("%d events, %d late beyond the lateness; %d windows, %d sessions", len(events), late, len(wantTumbling), len(wantSessions))

	ref := newTarget(t, dir, "ref")
	start := time.Now()
	p := sluicetest.Start(t, bin, "run", "--log-format", "json", ref.writePipelines(t, input, "10m"))
	p.Wait(t, 2*time.Minute)
	took := time.Since(start)
	t.Logf("uninterrupted run: %v", took.Round(time.Millisecond))
	checkLateCounts(t, p.Log(), int64(len(events)), int64(late))
	for i, want := range [][]string{wantTumbling, wantSessions} {
		if got := ref.tableResults(t, tables[i]); !slices.Equal(got, want) {
			t.Errorf("table %s: %s", tables[i], diff(got, want))
		}
		if got := ref.indexResults(t, indices[i]); !slices.Equal(got, want) {
			t.Errorf("index %s: %s", indices[i], diff(got, want))
		}
	}
	checkChangelog(t, ref.changelog, wantSessions)
	if t.Failed() {
		return
	}

	every := max(took/runCheckpoints, 50*time.Millisecond).Round(time.Millisecond)
	t.Logf("checkpoints every %v", every)
	crash := newTarget(t, dir, "crash")
	file := crash.writePipelines(t, input, every.String())
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("kill schedule seed %d (SLUICE_CRASH_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	kills := 0
	for run := 0; ; run++ {
		p := sluicetest.Start(t, bin, "run", "--log-format", "json", file)
		runStart := time.Now()
		killed := p.KillAtSomePoint(t, rng, every, crash.progress)
		t.Logf("run %d: %v, progress %d", run, time.Since(runStart).Round(time.Millisecond), crash.progress())
		if os.Getenv("SLUICE_CRASH_LOG") != "" {
			t.Log(p.Log())
		}
		if !killed {
			t.Logf("run %d ended by itself after %d kills", run, kills)
			break
		}
		kills++
		if run > 200 {
			t.Fatalf("still not done after %d runs", run)
		}
	}
	if kills < minKills {
		t.Errorf("only %d kills interrupted a running pipeline, want %d", kills, minKills)
	}
	for i := range tables {
		if got, want := crash.tableRows(t, tables[i]), ref.tableRows(t, tables[i]); !slices.Equal(got, want) {
			t.Errorf("table %s after kills: %s", tables[i], diff(got, want))
		}
		if got, want := crash.es.Docs(indices[i]), ref.es.Docs(indices[i]); !docsEqual(got, want) {
			t.Errorf("index %s after kills: %d documents, want %d, or other contents", indices[i], len(got), len(want))
		}
	}
}

// target is where one set of runs writes: a database, an Elasticsearch
// double, a checkpoint store and a changelog file.
type target struct {
	name, dir string
	dsn       string
	conn      *pgx.Conn
	es        *esfake.Server
	changelog string
}

// newTarget makes a fresh database and double named name.
func newTarget(t *testing.T, dir, name string) *target {
	t.Helper()
	tg := &target{name: name, dir: dir, changelog: filepath.Join(dir, name+"-sessions.ndjson")}
	tg.dsn = pgtest.Need(t, server).Database(t)
	conn, err := pgx.Connect(testCtx(t), tg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tg.conn = conn
	es, err := esfake.Start(esfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = es.Close() })
	tg.es = es
	return tg
}

// writePipelines writes the pipeline file of the target's runs, with
// checkpoints every every.
func (tg *target) writePipelines(t *testing.T, input, every string) string {
	t.Helper()
	path := filepath.Join(tg.dir, tg.name+".hcl")
	src := fmt.Sprintf(latePipelines, input, tg.dsn, tg.es.URL(), "file://"+tg.checkpoints(), every, tg.changelog)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (tg *target) checkpoints() string { return filepath.Join(tg.dir, tg.name+"-checkpoints") }

// progress sums the newest checkpoint epoch of each pipeline: it changes
// at every checkpoint.
func (tg *target) progress() int64 {
	var sum int64
	for _, p := range pipelines {
		names, _ := filepath.Glob(filepath.Join(tg.checkpoints(), p, "*.ckpt"))
		var epoch int64
		for _, n := range names {
			if e, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(n), ".ckpt"), 10, 64); err == nil {
				epoch = max(epoch, e)
			}
		}
		sum += epoch
	}
	return sum
}

// tableResults returns the rows of table as results, sorted.
func (tg *target) tableResults(t *testing.T, table string) []string {
	t.Helper()
	group, top := "action", "top"
	if table == "late_sessions" {
		group, top = "user_id::text", "0::bigint"
	}
	rows, err := tg.conn.Query(testCtx(t), fmt.Sprintf(`SELECT (extract(epoch FROM window_start) * 1000)::bigint, (extract(epoch FROM window_end) * 1000)::bigint,
		%s, events, total, %s FROM %s`, group, top, table))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var r result
		if err := rows.Scan(&r.Start, &r.End, &r.Group, &r.Events, &r.Total, &r.Top); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// tableRows returns the rows of table, every column, as JSON, sorted.
func (tg *target) tableRows(t *testing.T, table string) []string {
	t.Helper()
	rows, err := tg.conn.Query(testCtx(t), "SELECT to_jsonb(r)::text FROM "+table+" r ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// document is a window result as the sinks write it.
type document struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Action      string    `json:"action"`
	UserID      *int64    `json:"user_id"`
	Events      int64     `json:"events"`
	Total       int64     `json:"total"`
	Top         int64     `json:"top"`
	Revision    int64     `json:"revision"`
	Op          string    `json:"op"`
}

// result returns d as a result: grouped by user_id when it has one, else
// by action.
func (d document) result() result {
	r := result{Start: d.WindowStart.UnixMilli(), End: d.WindowEnd.UnixMilli(), Group: d.Action, Events: d.Events, Total: d.Total, Top: d.Top}
	if d.UserID != nil {
		r.Group = strconv.FormatInt(*d.UserID, 10)
	}
	return r
}

// indexResults returns the documents of index as results, sorted; each
// must be under its default id, window_start and the group joined by |.
func (tg *target) indexResults(t *testing.T, index string) []string {
	t.Helper()
	var out []string
	for id, raw := range tg.es.Docs(index) {
		var d document
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		r := d.result()
		if want := fmt.Sprintf("%d|%s", r.Start, r.Group); id != want {
			t.Errorf("index %s: document %s under id %q, want %q", index, raw, id, want)
		}
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// checkLateCounts checks each pipeline's summary in the log: every event
// read, the ones beyond the lateness counted late, the others out.
func checkLateCounts(t *testing.T, log string, in, late int64) {
	t.Helper()
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Pipeline string `json:"pipeline"`
			In       int64  `json:"records_in"`
			Out      int64  `json:"records_out"`
			Late     int64  `json:"late"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "pipeline finished" {
			continue
		}
		seen++
		if line.In != in || line.Late != late || line.Out != in-late {
			t.Errorf("pipeline %s: %d records in, %d out, %d late; want %d, %d, %d", line.Pipeline, line.In, line.Out, line.Late, in, in-late, late)
		}
	}
	if seen != len(pipelines) {
		t.Errorf("%d pipeline summaries in the log, want %d:\n%s", seen, len(pipelines), log)
	}
}

// checkChangelog reads the sessions' changelog file: it must hold
// updates and deletes, and fold — per key the row of the highest
// revision, deleted keys dropped — to want.
func checkChangelog(t *testing.T, path string, want []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	last := map[string]document{}
	for line := range bytes.Lines(data) {
		var d document
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		ops[d.Op]++
		key := fmt.Sprintf("%d|%d", d.WindowStart.UnixMilli(), *d.UserID)
		if prev, ok := last[key]; ok && d.Revision != prev.Revision+1 {
			t.Errorf("key %s: revision %d after %d", key, d.Revision, prev.Revision)
		}
		last[key] = d
	}
	var got []string
	for _, d := range last {
		if d.Op != "delete" {
			got = append(got, d.result().String())
		}
	}
	slices.Sort(got)
	t.Logf("session changelog: %v", ops)
	if ops["update"] < 10 || ops["delete"] < 10 {
		t.Errorf("the sessions' changelog holds %d updates and %d deletes, want at least 10 of each", ops["update"], ops["delete"])
	}
	if !slices.Equal(got, want) {
		t.Errorf("the folded changelog: %s", diff(got, want))
	}
}

// docsEqual reports whether two indices hold the same documents under
// the same ids.
func docsEqual(got, want map[string]json.RawMessage) bool {
	if len(got) != len(want) {
		return false
	}
	for id, doc := range want {
		if !bytes.Equal(got[id], doc) {
			return false
		}
	}
	return true
}

// diff describes how got differs from want, both sorted.
func diff(got, want []string) string {
	var lost, extra []string
	for _, w := range want {
		if _, ok := slices.BinarySearch(got, w); !ok {
			lost = append(lost, w)
		}
	}
	for _, g := range got {
		if _, ok := slices.BinarySearch(want, g); !ok {
			extra = append(extra, g)
		}
	}
	return fmt.Sprintf("%d rows, want %d; %d missing %.3q, %d unexpected %.3q", len(got), len(want), len(lost), lost, len(extra), extra)
}

// testCtx is a context for one test's statements.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
