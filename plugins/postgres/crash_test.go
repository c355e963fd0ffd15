package postgres

// The kill -9 test of exactly-once output: `sluice run` on two pipelines
// reading a file with checkpoints — one-minute windows upserted into a
// keyed table and appended to a table without a key, and every event
// appended to a table without a key — is killed with SIGKILL again and
// again, at moments placed from the commits it makes, and restarted
// until it ends by itself. The tables must then equal those of an
// uninterrupted run: no row lost, none duplicated (the tables without a
// key would show it), nothing left staged.
//
// SLUICE_CRASH_SEED=N replays the kill schedule of a failed run (the
// timing of the processes still varies).

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/internal/sluicetest"
)

const (
	// crashEvents is the number of input events: enough for two dozen
	// checkpoints, whose interval is sized from the uninterrupted run.
	crashEvents = 200_000
	// crashCheckpoints is about how many checkpoints a whole run takes; a
	// kill costs one to three of them, so a run sees some eight kills.
	crashCheckpoints = 24
	// crashMinKills is how many kills must interrupt a running process.
	crashMinKills = 3
)

// crashPipelines is the pipeline file: %[1]s the input, %[2]s the DSN,
// %[3]s the checkpoint folder, %[4]s the checkpoint interval.
const crashPipelines = `checkpoint {
  store = %[3]q
  every = %[4]q
}

pipeline "windows" {
  source "file" { path = %[1]q }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    on_error = "fail"
  }
  window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    watermark    = "5m"
    group_by     = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }
  sink "postgres" "agg" {
    dsn          = %[2]q
    table        = "agg"
    create_table = true
  }
  sink "postgres" "log" {
    dsn          = %[2]q
    table        = "agg_log"
    mode         = "insert"
    key          = []
    create_table = true
  }
}

pipeline "raw" {
  source "file" { path = %[1]q }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    on_error = "fail"
  }
  sink "postgres" "events" {
    dsn          = %[2]q
    table        = "events"
    mode         = "insert"
    key          = []
    create_table = true
    batch_size   = 5000
  }
}
`

// crashTables are the tables compared, with their staging tables.
var crashTables = []string{"agg", "agg_log", "events"}

func TestCrashExactlyOnce(t *testing.T) {
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
	t0 := time.Now()
	bin := sluicetest.Build(t)
	t.Logf("go build: %v", time.Since(t0).Round(time.Millisecond))
	input := filepath.Join(dir, "events.ndjson")
	writeCrashEvents(t, input)

	refDSN, refConn := newDatabase(t)
	start := time.Now()
	ref := sluicetest.Start(t, bin, "run", "--log-format", "json", writeCrashPipelines(t, dir, "ref", input, refDSN, "10m"))
	ref.Wait(t, 5*time.Minute)
	every := max(time.Since(start)/crashCheckpoints, 50*time.Millisecond).Round(time.Millisecond)
	t.Logf("uninterrupted run: %v; checkpoints every %v", time.Since(start).Round(time.Millisecond), every)
	checkModel(t, refConn)

	dsn, conn := newDatabase(t)
	file := writeCrashPipelines(t, dir, "crash", input, dsn, every.String())
	kills := 0
	for run := 0; ; run++ {
		p := sluicetest.Start(t, bin, "run", "--log-format", "json", file)
		if !p.KillAtSomePoint(t, rng, every, func() int64 { return progress(t, conn) }) {
			t.Logf("run %d ended by itself after %d kills", run, kills)
			if os.Getenv("SLUICE_CRASH_LOG") != "" {
				t.Log(p.Log())
			}
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
	for _, table := range crashTables {
		got, want := tableRows(t, conn, table), tableRows(t, refConn, table)
		if !slices.Equal(got, want) {
			lost, extra := multisetDiff(got, want)
			t.Errorf("table %s: %d rows, want %d; %d lost %.3q, %d extra %.3q", table, len(got), len(want), len(lost), lost, len(extra), extra)
		}
		var staged int
		if err := conn.QueryRow(testCtx(t), "SELECT count(*) FROM "+table+"__sluice_stage").Scan(&staged); err != nil || staged != 0 {
			t.Errorf("%s: %d rows left staged (%v)", table, staged, err)
		}
	}
}

// progress sums the committed epochs of sluice_progress: it changes at
// every commit.
func progress(t *testing.T, conn *pgx.Conn) int64 {
	t.Helper()
	var sum int64
	err := conn.QueryRow(testCtx(t), "SELECT coalesce(sum(epoch), 0)::bigint FROM sluice_progress").Scan(&sum)
	if err != nil {
		return 0 // not created yet
	}
	return sum
}

// checkModel checks the uninterrupted run against the input: one row per
// event, one per minute and action.
func checkModel(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	var events, windows, counted, logged int
	err := conn.QueryRow(testCtx(t), `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM agg),
		(SELECT coalesce(sum(events), 0) FROM agg), (SELECT count(*) FROM agg_log)`).Scan(&events, &windows, &counted, &logged)
	if err != nil {
		t.Fatal(err)
	}
	if events != crashEvents || windows != 60*4 || counted != crashEvents || logged != windows {
		t.Fatalf("the uninterrupted run wrote %d events, %d windows counting %d events, %d logged windows; want %d, 240, %d, 240",
			events, windows, counted, logged, crashEvents, crashEvents)
	}
}

// writeCrashEvents writes the input: one hour of events from 2026-11-25
// 12:00 UTC, each up to 5 s out of order, four actions.
func writeCrashEvents(t *testing.T, path string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(20261125, 2))
	actions := []string{"view", "click", "login", "buy"}
	var b bytes.Buffer
	for i := range crashEvents {
		ts := minute(0) + int64(i)*3_600_000/crashEvents
		ts = max(minute(0), ts-rng.Int64N(5000))
		fmt.Fprintf(&b, `{"user_id":%d,"action":%q,"ts":%d}`+"\n", rng.IntN(1000), actions[rng.IntN(len(actions))], ts)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCrashPipelines writes the pipeline file of one set of runs.
func writeCrashPipelines(t *testing.T, dir, name, input, dsn, every string) string {
	t.Helper()
	path := filepath.Join(dir, name+".hcl")
	src := fmt.Sprintf(crashPipelines, input, dsn, "file://"+filepath.Join(dir, name+"-checkpoints"), every)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// multisetDiff returns the elements of want missing from got, and those of
// got not in want, counting repeats.
func multisetDiff(got, want []string) (lost, extra []string) {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	for r, n := range count {
		for ; n > 0; n-- {
			lost = append(lost, r)
		}
		for ; n < 0; n++ {
			extra = append(extra, r)
		}
	}
	slices.Sort(lost)
	slices.Sort(extra)
	return lost, extra
}
