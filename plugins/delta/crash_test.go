package delta

// The kill -9 test of exactly-once commits: `sluice run` (built from this
// module) reads a 4-partition topic of the in-process Pulsar broker
// (internal/pulsartest), counts one-minute windows per action and writes
// them to a Delta table with checkpoints. It is killed with SIGKILL at
// least 10 times, each time after the table shows a new version (the run
// reports its progress there) plus a random part of the checkpoint
// interval, and restarted until it ends by itself; on a local folder and
// on S3 (gofakes3 in this process), at once. The live rows must then
// equal those of an uninterrupted run, every epoch must be in exactly one
// version, and every data file in the table's folder must be referenced
// by the log (nothing staged is left, nothing referenced is missing).
//
// The checkpoint interval is sized from the uninterrupted run, so nothing
// depends on the machine's speed. SLUICE_CRASH_SEED=N replays a kill
// schedule.

import (
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
	"sync"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	pq "github.com/parquet-go/parquet-go"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/internal/sluicetest"
)

const (
	crashTopic      = "persistent://public/default/delta-crash"
	crashPartitions = 4
	crashEvents     = 60_000
	crashMinKills   = 10
	// crashCommitsPerPass is how many checkpoints an uninterrupted pass
	// takes at the measured speed: each kill needs one.
	crashCommitsPerPass = 40
)

// crashPipeline: %[1]s broker URL, %[2]s subscription, %[3]s table,
// %[4]s checkpoint store, %[5]s interval.
const crashPipeline = `pipeline "activity" {
  instances = 1 # one process owns every partition (the source reads to its end)
  source "pulsar" {
    service_url         = %[1]q
    topics              = [%[6]q]
    subscription        = %[2]q
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
  sink "delta" "lake" {
    path         = %[3]q
    partition_by = ["window_start:hour"]
  }
}

checkpoint {
  store = %[4]q
  every = %[5]q
}
`

// windowRow is one row of the table.
type windowRow struct {
	Start  int64  `parquet:"window_start"`
	End    int64  `parquet:"window_end"`
	Action string `parquet:"action"`
	Events int64  `parquet:"events"`
	Users  int64  `parquet:"users"`
}

func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluice and kills it many times")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("kill schedule seed %d (SLUICE_CRASH_SEED)", seed)
	dir := t.TempDir()
	bin := sluicetest.Build(t)
	broker, err := pulsartest.Start(pulsartest.Options{})
	must(t, err)
	t.Cleanup(func() { _ = broker.Close() })
	url := "pulsar://" + broker.Addr().String()
	must(t, broker.CreateTopic(crashTopic, crashPartitions))
	produceCrashEvents(t, url)

	ref := filepath.Join(dir, "ref")
	start := time.Now()
	p := sluicetest.Start(t, bin, "run", "--log-format", "json", writeCrashPipeline(t, dir, "ref", url, "file://"+ref, "file://"+filepath.Join(dir, "ref-ckpt"), "1h"))
	p.Wait(t, 3*time.Minute)
	every := max(time.Since(start)/crashCommitsPerPass, 30*time.Millisecond).Round(time.Millisecond)
	want := readTable(t, "file://"+ref)
	t.Logf("uninterrupted run: %v, %d rows; checkpoints every %v", time.Since(start).Round(time.Millisecond), len(want), every)

	stores := map[string][2]string{
		"file": {"file://" + filepath.Join(dir, "table"), "file://" + filepath.Join(dir, "ckpt")},
		"s3":   {"s3://lake/table?" + startS3(t), "s3://lake/ckpt?" + startS3(t)},
	}
	var wg sync.WaitGroup
	for name, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(len(name))))
			file := writeCrashPipeline(t, dir, name, url, s[0], s[1], every.String())
			kills := killRepeatedly(t, bin, file, s[0], rng, every)
			checkCrashTable(t, name, s[0], want, kills)
		}()
	}
	wg.Wait()
}

// killRepeatedly runs the pipeline, kills it after each new table version
// plus a random part of every, crashMinKills+2 times at most, then lets it
// finish; it returns how many kills interrupted a running process.
func killRepeatedly(t *testing.T, bin, file, table string, rng *rand.Rand, every time.Duration) int {
	log := openLog(t, table)
	kills := 0
	for {
		p := sluicetest.Start(t, bin, "run", "--log-format", "json", file)
		if kills >= crashMinKills+2 {
			p.Wait(t, 3*time.Minute)
			return kills
		}
		v0 := tableVersion(log)
		for !p.Done() && tableVersion(log) <= v0 {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(every))))
		if !p.Kill(t) { // ended by itself, successfully
			return kills
		}
		kills++
	}
}

// checkCrashTable compares the table after the kills with want.
func checkCrashTable(t *testing.T, name, table string, want []windowRow, kills int) {
	ctx := context.Background()
	if kills < crashMinKills {
		t.Errorf("%s: only %d kills interrupted a run, want %d", name, kills, crashMinKills)
	}
	if got := readTable(t, table); !slices.Equal(got, want) {
		t.Errorf("%s: %d live rows after %d kills, want the %d of the uninterrupted run", name, len(got), kills, len(want))
	}
	log := openLog(t, table)
	history, err := History(ctx, log)
	must(t, err)
	last := int64(-1)
	for _, c := range history {
		if c.Epoch <= last {
			t.Errorf("%s: version %d commits epoch %d after epoch %d", name, c.Version, c.Epoch, last)
		}
		last = c.Epoch
	}
	snap, err := log.Snapshot(ctx)
	must(t, err)
	referenced := referencedKeys(snap)
	keys, err := log.Store().List(ctx, "")
	must(t, err)
	for _, k := range keys {
		if !strings.HasPrefix(k, deltalog.LogDir+"/") && !referenced[k] {
			t.Errorf("%s: data file %s is not referenced by the log", name, k)
		}
	}
	for k := range referenced {
		if _, ok, err := log.Store().Size(ctx, k); err != nil || !ok {
			t.Errorf("%s: the log references %s, which is missing", name, k)
		}
	}
	t.Logf("%s: %d kills, %d versions, %d live files", name, kills, len(history), len(snap.Files))
}

// tableVersion returns the newest version of the table, -1 without one.
func tableVersion(log *deltalog.Log) int64 {
	vs, err := log.Versions(context.Background())
	if err != nil || len(vs) == 0 {
		return -1
	}
	return vs[len(vs)-1]
}

// readTable reads the live rows of the table, sorted.
func readTable(t *testing.T, table string) []windowRow {
	t.Helper()
	log := openLog(t, table)
	snap, err := log.Snapshot(context.Background())
	must(t, err)
	var out []windowRow
	for p := range snap.Files {
		data, err := log.Store().Get(context.Background(), mustDecode(p))
		must(t, err)
		rows, err := pq.Read[windowRow](bytes.NewReader(data), int64(len(data)))
		must(t, err)
		out = append(out, rows...)
	}
	slices.SortFunc(out, func(a, b windowRow) int {
		if c := a.Start - b.Start; c != 0 {
			return int(c / max(1, abs(c)))
		}
		return strings.Compare(a.Action, b.Action)
	})
	return out
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// writeCrashPipeline writes the pipeline file of one run set.
func writeCrashPipeline(t *testing.T, dir, name, url, table, ckpt, every string) string {
	t.Helper()
	path := filepath.Join(dir, name+".hcl")
	must(t, os.WriteFile(path, fmt.Appendf(nil, crashPipeline, url, "sub-"+name, table, ckpt, every, crashTopic), 0o644))
	return path
}

// produceCrashEvents sends the events: one hour of event time from
// 2026-11-25 12:00 UTC, up to 5 s of disorder, keyed by user.
func produceCrashEvents(t *testing.T, url string) {
	t.Helper()
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	must(t, err)
	defer client.Close()
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: crashTopic})
	must(t, err)
	defer producer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(20261125, 1))
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()
	var (
		mu       sync.Mutex
		firstErr error
	)
	for i := range crashEvents {
		e := map[string]any{"user_id": rng.IntN(500), "action": []string{"view", "click", "buy"}[rng.IntN(3)],
			"ts": base + int64(i)*3_600_000/crashEvents - rng.Int64N(5000)}
		payload, err := json.Marshal(e)
		must(t, err)
		producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: payload, Key: fmt.Sprint(e["user_id"])},
			func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
			})
	}
	must(t, producer.FlushWithCtx(ctx))
	mu.Lock()
	defer mu.Unlock()
	must(t, firstErr)
}
