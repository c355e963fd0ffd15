package main

// The crash test of exactly-once output (docs/checkpoints.md):
// the user-activity pipeline reads a 4-partition topic of the embedded
// Pulsar broker (kept in a directory, so that it survives a restart) into
// Parquet with checkpoints; the `sluice run` process is killed with
// SIGKILL at random moments, at least 10 times, and restarted each time,
// and the broker itself is restarted twice: under a running process, and
// between two. The union of the committed Parquet files must then equal,
// as a multiset of rows, the windows computed here from the events. The
// kills run twice at once, each on a subscription of its own (each sees
// the other's broker restarts too): checkpoints and Parquet files in local
// folders, and both on S3 (gofakes3 in this process).
//
// Nothing depends on how fast sluice runs here (with or without -race, on
// an idle or a busy machine): a first run over one partition measures how
// long a pass over the input takes, the checkpoint interval is a fraction
// of it, every kill is placed by the progress the processes report (the
// positions their checkpoints cover, the consumers the broker sees) and
// its random delay is a fraction of the checkpoint interval.
//
// SLUICE_CRASH_SEED=N replays the kill schedule of a failed run (the
// timing of the processes still varies).

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	// time.
	crashEvents         = 60_000
	crashCalibrationSub = "sluice-calibration" // the subscription of the first run
	crashPipeName       = "user_activity"
	// crashMinKills is how many kills must interrupt a running pipeline.
	crashMinKills = 10
	// crashCheckpointsPerPass is how many checkpoints a pass over the
	// whole input takes, at the speed of the first run: the kills need
	// the progress of a few checkpoints each.
	crashCheckpointsPerPass = 60
)

// crashPipeline is the user-activity pipeline: a bounded read of the
// topic, a filter, one-minute windows per action, hourly Parquet folders.
// The 5-minute watermark exceeds the events' disorder (5 s) and any skew
// between the partitions by far, and the idle timeout is longer than any
// run, so no record is ever late: the windows depend only on the
// messages, not on how the runs interleaved the partitions.
const crashPipeline = `pipeline %[1]q {
  instances = 1
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
  every = %[7]q
}
`

// crashSetup is what the runs share: the broker and its messages, the
// events and their windows, and the checkpoint interval measured by the
// first run.
type crashSetup struct {
	cb        *crashBroker
	positions crashPositions
	events    []crashEvent
	model     map[crashRow]int
	dir       string
	// pass is how long reading the whole input takes; every is the
	// checkpoint interval of the killed runs, a fraction of it.
	pass, every time.Duration
}

// pipelineFile writes the pipeline reading topic on sub into stores s
// and returns its path.
func (cs *crashSetup) pipelineFile(t *testing.T, name, topic, sub string, s crashStores, every time.Duration) string {
	t.Helper()
	path := filepath.Join(cs.dir, name+".hcl")
	must(t, os.WriteFile(path, fmt.Appendf(nil, crashPipeline, crashPipeName, cs.cb.url(), topic, sub, s.lake, s.checkpoints, every.String()), 0o644))
	return path
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
	start := time.Now()
	cs := &crashSetup{events: crashMakeEvents(), cb: startCrashBroker(t), dir: t.TempDir()}
	cs.model = crashModel(cs.events)
	cs.positions = cs.cb.produce(t, cs.events)
	t.Logf("%d events produced in %v", len(cs.events), time.Since(start).Round(time.Millisecond))
	cs.calibrate(t)

	t.Run("file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		stores := crashStores{
			lake:        "file://" + filepath.Join(dir, "lake"),
			checkpoints: "file://" + filepath.Join(dir, "checkpoints"),
		}
		cs.crashTest(t, seed, "file", stores, true)
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		backend := s3mem.New()
		for _, b := range []string{"lake", "checkpoints"} {
			must(t, backend.CreateBucket(b))
		}
		srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
		t.Cleanup(srv.Close)
		// gofakes3 keeps a stale checksum when a key is overwritten (see
		// internal/objstore): response_checksum_validation.
		query := "?region=us-east-1&endpoint=" + srv.URL + "&use_path_style=true&response_checksum_validation=when_required"
		stores := crashStores{
			lake:        "s3://lake/user_activity" + query,
			checkpoints: "s3://checkpoints/crash" + query,
			readSuffix:  "&anonymous=true",
			env: []string{"AWS_ACCESS_KEY_ID=sluice-crash-test", "AWS_SECRET_ACCESS_KEY=sluice-crash-test",
				"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"},
		}
		// The run after the end of the input is the file subtest's.
		cs.crashTest(t, seed, "s3", stores, false)
	})
}

// calibrate runs the pipeline once over the first partition, a quarter
// of the input, and sets the checkpoint interval of the killed runs from
// its duration.
func (cs *crashSetup) calibrate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	stores := crashStores{
		lake:        "file://" + filepath.Join(dir, "lake"),
		checkpoints: "file://" + filepath.Join(dir, "checkpoints"),
	}
	first := crashTopic + "-partition-0"
	p := startCrashProc(t, cs.pipelineFile(t, "calibration", first, crashCalibrationSub, stores, 100*time.Millisecond), nil)
	p.wait(t, 3*time.Minute)
	if !p.state.Success() {
		t.Fatalf("first run: %v; log:\n%s", p.state, p.log.String())
	}
	sum := p.finished(t)
	if want := float64(len(cs.positions[first])); sum["records_in"] != want {
		t.Fatalf("first run: records_in = %v, want %v", sum["records_in"], want)
	}
	ms, _ := sum["duration_ms"].(float64)
	cs.pass = time.Duration(ms*float64(len(cs.events))/sum["records_in"].(float64)) * time.Millisecond
	cs.every = min(max(cs.pass/crashCheckpointsPerPass, 5*time.Millisecond), 100*time.Millisecond).Round(time.Millisecond)
	t.Logf("first run: %v records in %v ms; a pass over the input takes some %v: checkpoints every %v",
		sum["records_in"], ms, cs.pass.Round(time.Millisecond), cs.every)
}

// waitAcked waits until sub acknowledged n messages.
func waitAcked(t *testing.T, cb *crashBroker, sub string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		acked, _ := cb.progress(sub)
		if acked == int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("backlog at the end: %d messages on %s", n-int(acked), sub)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashTest runs the pipeline, on a subscription of its own, with kills
// until the input is done, and compares the output with the model.
func (cs *crashSetup) crashTest(t *testing.T, seed uint64, name string, stores crashStores, again bool) {
	start := time.Now()
	sub := "sluice-crash-" + name
	t.Logf("kill schedule seed %d (SLUICE_CRASH_SEED=%d replays it)", seed, seed)
	k := &crashKiller{
		cs: cs, t: t, rng: rand.New(rand.NewPCG(seed, 7)), sub: sub, stores: stores,
		file:  cs.pipelineFile(t, "crash-"+name, crashTopic, sub, stores, cs.every),
		ckpts: stores.open(t, stores.checkpoints), lake: stores.open(t, stores.lake),
	}
	k.killAll()
	if !k.restartedUnder || !k.restartedBetween {
		t.Errorf("the broker was not restarted (under a running process: %v, between two: %v)", k.restartedUnder, k.restartedBetween)
	}
	if len(k.kills) < crashMinKills {
		t.Errorf("only %d kills interrupted a run, want at least %d", len(k.kills), crashMinKills)
	}

	// The last run finishes the input.
	final := startCrashProc(t, k.file, stores.env)
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
	if again {
		k.runAfterTheEnd()
	}
	waitAcked(t, cs.cb, sub, len(cs.events))

	// The output equals the windows of the events as a multiset of rows.
	rows, files, temps := readLake(t, k.lake)
	lost, extra, nLost, nExtra := diffRows(rows, cs.model)
	if len(lost)+len(extra) > 0 {
		t.Errorf("after the kills the output differs from the windows of the events: %d rows lost %v, %d rows in excess (duplicated or different) %v",
			nLost, lost, nExtra, extra)
	}
	if len(temps) > 0 {
		t.Errorf("temporaries left under _sluice_tmp: %v", temps)
	}
	phases := map[string]int{}
	for _, r := range k.kills {
		phases[r.phase()]++
	}
	t.Logf("%d kills (%d planned kill came after the end of the input), phases %v; last run %v; "+
		"%d rows in %d files, %d lost, %d in excess; %v in all",
		len(k.kills), k.notCounted, phases, finalTook.Round(time.Millisecond),
		countRows(rows), files, nLost, nExtra, time.Since(start).Round(time.Millisecond))
}
