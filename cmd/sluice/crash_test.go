// The kill schedule is sized for race-instrumented sluice processes
// (about 30,000 messages/s: a run of the 120,000 events lasts seconds and
// fits 10 or more kills). Without -race a run ends in about 0.4 s, before
// the schedule can land 10 kills, so the test is built only with -race, as
// CI and README's test command (`go test -race ./...`) run it.

//go:build race

package main

// The crash test of exactly-once output (docs/checkpoints.md):
// the user-activity pipeline reads a 4-partition topic of the embedded
// Pulsar broker (kept in a directory, so that it survives a restart) into
// Parquet with checkpoints; the `sluice run` process is killed with
// SIGKILL at random moments, at least 10 times, and restarted each time,
// and the broker itself is restarted twice: under a running process, and
// between two. The union of the committed Parquet files must then equal,
// as a multiset of rows, the output of a clean run over the same messages
// (on another subscription), which must itself equal the windows
// computed here from the events. It runs twice: checkpoints and Parquet
// files in local folders, then both on S3 (gofakes3 in this process).
//
// SLUICE_CRASH_SEED=N replays the kill schedule of a failed run (the
// timing of the processes still varies).

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	crashTopic      = "persistent://public/default/crash-user-events"
	crashPartitions = 4
	// crashEvents is the number of user events, over one hour of event
	// time: enough for the kills to interrupt the run at least
	// crashMinKills times (sluice reads some 30,000 a second under -race).
	crashEvents   = 120_000
	crashSub      = "sluice-crash" // the subscription of the killed runs
	crashCleanSub = "sluice-clean" // the subscription of the clean run
	crashPipeName = "user_activity"
	// crashMinKills is how many kills must interrupt a running pipeline.
	crashMinKills = 10
)

// crashPipeline is the user-activity pipeline: a bounded read of the
// topic, a filter, one-minute windows per action, hourly Parquet folders.
// The 5-minute watermark exceeds the events' disorder (5 s) and any skew
// between the partitions by far, and the idle timeout is longer than any
// run, so no record is ever late: the windows depend only on the
// messages, not on how the runs interleaved the partitions.
const crashPipeline = `pipeline %[1]q {
  source "pulsar" {
    service_url         = %[2]q
    topics              = [%[3]q]
    subscription        = %[4]q
    subscription_type   = "failover"
    start               = "earliest"
    end                 = "latest"
    receiver_queue_size = 100
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    on_error = "fail"
  }
  filter { where = "action != 'heartbeat'" }
  window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    watermark    = "5m"
    idle_timeout = "1h"
    group_by     = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }
  sink "parquet" "lake" {
    path         = %[5]q
    partition_by = ["window_start:hour"]
  }
}

checkpoint {
  store = %[6]q
  every = "100ms"
}
`

// crashKill is one planned kill: when it is sent after the process starts.
type crashKill struct {
	// kind is "startup" (a random instant in the first 200 ms),
	// "subscribed" (just after the consumer is attached to every
	// partition), "progress" (once the process took a checkpoint and the
	// subscription acknowledged a share of the messages, drawn when the
	// process starts so that the kills left spread over the input left),
	// "committing" (as progress, then as soon as the next checkpoint is
	// in the store: the process is committing the Parquet files it names
	// or acknowledging the messages it covers) or "end" (once the broker
	// dispatched all the messages left but at most a receiver queue per
	// partition: the process reads the last ones, closes every window and
	// takes its last checkpoint; it may finish first, and then the kill
	// does not count).
	kind string
}

// crashProgressLimit is the share of the messages the progress kills
// spread over: the rest is for the end kills and the last run.
const crashProgressLimit = 0.8

// crashPlan returns the kill schedule: ten progress kills (three of them
// committing), two startup kills and one right after subscribing at
// random places among them, and two kills at the end of the input.
func crashPlan(rng *rand.Rand) []crashKill {
	var plan []crashKill
	for i := range 10 {
		kind := "progress"
		if i%3 == 1 {
			kind = "committing"
		}
		plan = append(plan, crashKill{kind: kind})
	}
	for _, kind := range []string{"startup", "startup", "subscribed"} {
		i := rng.IntN(len(plan) + 1)
		plan = slices.Insert(plan, i, crashKill{kind: kind})
	}
	return append(plan, crashKill{kind: "end"}, crashKill{kind: "end"})
}

// progressTarget draws the share of the messages acknowledged at which a
// progress kill is sent: about an even share of what is left before
// crashProgressLimit per progress kill left (this one included).
func progressTarget(rng *rand.Rand, acked float64, left int) float64 {
	step := (crashProgressLimit - acked) / float64(left)
	return min(acked+step*(0.5+rng.Float64()), crashProgressLimit)
}

// crashKillRecord is what a kill interrupted.
type crashKillRecord struct {
	kind        string
	after       time.Duration // since the process started
	checkpoints bool          // the process had taken a checkpoint
	uncommitted int           // files the last checkpoint names still temporary
	acked       float64       // share of the messages acknowledged then
	committed   int           // committed Parquet files then
}

func (k crashKillRecord) phase() string {
	switch {
	case !k.checkpoints:
		return "before its first checkpoint"
	case k.uncommitted > 0:
		return "committing a checkpoint's files"
	case k.acked >= 1:
		return "after acknowledging the whole input"
	default:
		return "between checkpoints"
	}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts sluice processes for tens of seconds")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_CRASH_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		must(t, err)
	}
	events := crashMakeEvents()
	model := crashModel(events)

	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		stores := func(run string) crashStores {
			return crashStores{
				lake:        "file://" + filepath.Join(dir, run, "lake"),
				checkpoints: "file://" + filepath.Join(dir, run, "checkpoints"),
			}
		}
		crashTest(t, seed, events, model, stores("clean"), stores("crash"))
	})
	t.Run("s3", func(t *testing.T) {
		backend := s3mem.New()
		for _, b := range []string{"lake", "checkpoints"} {
			must(t, backend.CreateBucket(b))
		}
		srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
		t.Cleanup(srv.Close)
		// gofakes3 keeps a stale checksum when a key is overwritten (see
		// internal/objstore): response_checksum_validation.
		query := "?region=us-east-1&endpoint=" + srv.URL + "&use_path_style=true&response_checksum_validation=when_required"
		stores := func(run string) crashStores {
			return crashStores{
				lake:        "s3://lake/" + run + "/user_activity" + query,
				checkpoints: "s3://checkpoints/" + run + query,
				readSuffix:  "&anonymous=true",
				env: []string{"AWS_ACCESS_KEY_ID=sluice-crash-test", "AWS_SECRET_ACCESS_KEY=sluice-crash-test",
					"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"},
			}
		}
		crashTest(t, seed, events, model, stores("clean"), stores("crash"))
	})
}

// crashTest runs the pipeline once without interruption (clean) and once
// with kills (crash), and compares their output with each other and with
// the model.
func crashTest(t *testing.T, seed uint64, events []crashEvent, model map[crashRow]int, clean, crash crashStores) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("kill schedule seed %d (SLUICE_CRASH_SEED=%d replays it)", seed, seed)
	dir := t.TempDir()
	cb := startCrashBroker(t)
	cb.produce(t, events)
	t.Logf("%d events produced in %v", len(events), time.Since(start).Round(time.Millisecond))
	total := float64(len(events))
	writePipeline := func(name, sub string, s crashStores) string {
		path := filepath.Join(dir, name+".hcl")
		must(t, os.WriteFile(path, fmt.Appendf(nil, crashPipeline, crashPipeName, cb.url(), crashTopic, sub, s.lake, s.checkpoints), 0o644))
		return path
	}
	cleanFile, crashFile := writePipeline("clean", crashCleanSub, clean), writePipeline("crash", crashSub, crash)
	heartbeats := 0
	for _, e := range events {
		if e.Action == "heartbeat" {
			heartbeats++
		}
	}

	// The clean run, alongside the first kills.
	cleanStart := time.Now()
	cleanProc := startCrashProc(t, cleanFile, clean.env)
	var cleanTook time.Duration
	cleanDone := func() {
		if cleanTook != 0 {
			return
		}
		cleanProc.wait(t, 3*time.Minute)
		cleanTook = time.Since(cleanStart)
		if !cleanProc.state.Success() {
			t.Fatalf("clean run: %v; log:\n%s", cleanProc.state, cleanProc.log.String())
		}
		sum := cleanProc.finished(t)
		for k, want := range map[string]float64{"records_in": total, "late": 0, "dead": 0, "filtered": float64(heartbeats)} {
			if sum[k] != want {
				t.Errorf("clean run: %s = %v, want %v", k, sum[k], want)
			}
		}
	}

	// The killed runs.
	ckpts, lake := crash.open(t, crash.checkpoints), crash.open(t, crash.lake)
	plan := crashPlan(rng)
	var kills []crashKillRecord
	// The broker restarts twice, once the clean run is done with it: under
	// a running process (which reconnects), and between two processes.
	// Either way the topic, its messages and the subscription's
	// acknowledgements must come back from its directory.
	restartedUnder, restartedBetween, notCounted := false, false, 0
	for i, k := range plan {
		if len(kills) >= 5 {
			cleanDone() // before the broker restarts
		}
		if !restartedBetween && len(kills) >= 10 {
			cb.restart(t)
			restartedBetween = true
			t.Logf("broker restarted after kill %d", len(kills))
		}
		epoch0 := latestEpoch(t, ckpts)
		p := startCrashProc(t, crashFile, crash.env)
		poll := func(what string, cond func() bool) bool {
			deadline := time.Now().Add(2 * time.Minute)
			for !cond() {
				if p.done() {
					return false
				}
				if time.Now().After(deadline) {
					acked, _ := cb.progress(crashSub)
					t.Fatalf("kill %d (%s): waited 2 min for %s; %d of %d messages acknowledged; log:\n%s", i+1, k.kind, what, acked, len(events), p.log.String())
				}
				time.Sleep(time.Millisecond)
			}
			return true
		}
		progressed := func(share float64) func() bool {
			return func() bool {
				acked, ok := cb.progress(crashSub)
				return ok && float64(acked) >= share*total && latestEpoch(t, ckpts) > epoch0
			}
		}
		var reached bool
		var jitter time.Duration
		progressLeft := 0
		for _, later := range plan[i:] {
			if later.kind == "progress" || later.kind == "committing" {
				progressLeft++
			}
		}
		switch k.kind {
		case "startup":
			reached, jitter = true, time.Duration(rng.Int64N(int64(200*time.Millisecond)))
		case "subscribed":
			reached = poll("the consumer to attach", func() bool { return cb.subscribed(crashSub) })
			jitter = time.Duration(rng.Int64N(int64(150 * time.Millisecond)))
		case "progress", "committing":
			acked, _ := cb.progress(crashSub)
			target := progressTarget(rng, float64(acked)/total, progressLeft)
			if !restartedUnder && len(kills) >= 5 {
				half := (float64(acked)/total + target) / 2
				if poll(fmt.Sprintf("%.0f%% of the messages to be acknowledged", half*100), progressed(half)) {
					cb.restart(t)
					restartedUnder = true
					t.Logf("broker restarted under the running process at %.1f%% acknowledged", half*100)
				}
			}
			reached = poll(fmt.Sprintf("%.0f%% of the messages to be acknowledged", target*100), progressed(target))
			if k.kind == "progress" {
				jitter = time.Duration(rng.Int64N(int64(100 * time.Millisecond)))
				break
			}
			if reached {
				epoch := latestEpoch(t, ckpts)
				reached = poll("the next checkpoint", func() bool { return latestEpoch(t, ckpts) > epoch })
			}
		case "end":
			reached = poll("the last messages to be dispatched", func() bool { return cb.nearEnd(crashSub) })
			jitter = time.Duration(rng.Int64N(int64(30 * time.Millisecond)))
		}
		if reached {
			select {
			case <-p.exited:
			case <-time.After(jitter):
			}
		}
		killedAt := time.Since(p.started)
		if !p.kill() {
			if !p.state.Success() {
				t.Fatalf("kill %d (%s): sluice failed before it: %v; log:\n%s", i+1, k.kind, p.state, p.log.String())
			}
			notCounted++
			t.Logf("kill %d (%s): the run had already finished (exit 0 after %v): not counted; log:\n%s", i+1, k.kind, killedAt.Round(time.Millisecond), p.log.String())
			break // the input is done: nothing is left to interrupt
		}
		acked, _ := cb.progress(crashSub)
		rec := crashKillRecord{kind: k.kind, after: killedAt, checkpoints: latestEpoch(t, ckpts) > epoch0,
			uncommitted: uncommittedFiles(t, ckpts, lake), acked: float64(acked) / total, committed: committedFiles(t, lake)}
		kills = append(kills, rec)
		t.Logf("kill %2d %-10s after %6v: %s, %5.1f%% acknowledged, %d files committed",
			len(kills), k.kind, rec.after.Round(time.Millisecond), rec.phase(), rec.acked*100, rec.committed)
	}
	if !restartedUnder || !restartedBetween {
		t.Errorf("the broker was not restarted (under a running process: %v, between two: %v)", restartedUnder, restartedBetween)
	}
	if len(kills) < crashMinKills {
		t.Errorf("only %d kills interrupted a run, want at least %d", len(kills), crashMinKills)
	}

	// The last run finishes the input.
	final := startCrashProc(t, crashFile, crash.env)
	final.wait(t, 2*time.Minute)
	finalTook := time.Since(final.started)
	if !final.state.Success() {
		t.Fatalf("last run: %v; log:\n%s", final.state, final.log.String())
	}
	if !strings.Contains(final.log.String(), "resuming from checkpoint") {
		t.Errorf("the last run did not resume from a checkpoint; log:\n%s", final.log.String())
	}
	if sum := final.finished(t); sum["late"] != float64(0) || sum["dead"] != float64(0) {
		t.Errorf("last run: late %v, dead %v, want 0", sum["late"], sum["dead"])
	}
	// Once more, as after a crash right after the last checkpoint: the run
	// resumes after the end of the input and its windows are all emitted,
	// so it writes nothing (it waits 5 s for messages first).
	again := startCrashProc(t, crashFile, crash.env)
	again.wait(t, time.Minute)
	againTook := time.Since(again.started)
	if !again.state.Success() {
		t.Fatalf("run after the end: %v; log:\n%s", again.state, again.log.String())
	}
	if sum := again.finished(t); sum["records_in"] != float64(0) || sum["emitted"] != float64(0) {
		t.Errorf("the run after the end read %v records and emitted %v rows, want 0", sum["records_in"], sum["emitted"])
	}
	cleanDone()

	// Every message acknowledged on both subscriptions.
	deadline := time.Now().Add(10 * time.Second)
	for {
		a1, _ := cb.progress(crashSub)
		a2, _ := cb.progress(crashCleanSub)
		if a1 == int64(len(events)) && a2 == int64(len(events)) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("backlog at the end: %d messages on %s, %d on %s", len(events)-int(a1), crashSub, len(events)-int(a2), crashCleanSub)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The output: clean = model, crash = clean, as multisets of rows.
	cleanRows, cleanFiles, cleanTemps := readLake(t, clean.open(t, clean.lake))
	crashRows, crashFiles, crashTemps := readLake(t, lake)
	if lost, extra, _, _ := diffRows(cleanRows, model); len(lost)+len(extra) > 0 {
		t.Errorf("the clean run's windows differ from the model: missing %d %v, unexpected %d %v", len(lost), lost, len(extra), extra)
	}
	lost, extra, nLost, nExtra := diffRows(crashRows, cleanRows)
	if len(lost)+len(extra) > 0 {
		t.Errorf("after the kills the output differs from the clean run's: %d rows lost %v, %d rows in excess (duplicated or different) %v",
			nLost, lost, nExtra, extra)
	}
	for _, temps := range [][]string{cleanTemps, crashTemps} {
		if len(temps) > 0 {
			t.Errorf("temporaries left under _sluice_tmp: %v", temps)
		}
	}
	phases := map[string]int{}
	for _, k := range kills {
		phases[k.phase()]++
	}
	t.Logf("%d kills (%d planned kill came after the end of the input), phases %v; last run %v, run after the end %v; "+
		"clean run %v: %d rows in %d files; crash runs: %d rows in %d files, %d lost, %d in excess; %v in all",
		len(kills), notCounted, phases, finalTook.Round(time.Millisecond), againTook.Round(time.Millisecond),
		cleanTook.Round(time.Millisecond), countRows(cleanRows), cleanFiles,
		countRows(crashRows), crashFiles, nLost, nExtra, time.Since(start).Round(time.Millisecond))
}
