package kafka_test

// The kill -9 test of the exactly-once Kafka sink: a `sluice run` process
// reads a 4-partition topic of a kfake cluster running in this test
// process (so it survives the killed child), counts events per action in
// one-minute windows and produces the counts to another topic, with
// checkpoints. The process is killed with SIGKILL several times, each time
// after it committed new source offsets (which happens only once a
// checkpoint is durable and its transaction committed) plus a random part
// of the checkpoint interval, and restarted until it finishes. What a
// read_committed consumer then sees must equal, row for row, the output of
// an uninterrupted run and the counts computed here.
//
// Nothing depends on how fast sluice runs: every kill waits for progress
// the child made.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/internal/sluicetest"
)

const (
	crashEvents     = 100_000
	crashPartitions = 4
	crashKills      = 8
	crashEvery      = 50 * time.Millisecond
)

// crashPipeline is the pipeline; its name, group, output topic and store
// vary between the crashed and the uninterrupted runs.
const crashPipeline = `checkpoint {
  store = %[5]q
  every = %[6]q
}

pipeline %[1]q {
  source "kafka" {
    brokers = %[2]s
    topics  = ["events"]
    group   = %[3]q
    start   = "earliest"
    end     = "latest"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    watermark    = "5m"
    idle_timeout = "1h"
    group_by     = ["action"]
    aggregate    = { events = "count()" }
  }
  sink "kafka" "counts" {
    brokers = %[2]s
    topic   = %[4]q
  }
}
`

func TestKillNineExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs sluice processes")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(crashPartitions, "events"), kfake.SeedTopics(3, "counts", "counts_ref"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events, want := crashEventRecords()
	bin := sluicetest.Build(t)
	dir := t.TempDir()
	brokers := fmt.Sprintf("[%q]", c.ListenAddrs()[0])
	writePipeline := func(name, group, topic string, bounded bool) string {
		path := filepath.Join(dir, name+".hcl")
		src := fmt.Sprintf(crashPipeline, name, brokers, group, topic, "file://"+filepath.Join(dir, name+"-ckpt"), crashEvery.String())
		if !bounded {
			src = strings.Replace(src, `end     = "latest"`, "", 1)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The crashed runs read an unbounded topic the test fills chunk by
	// chunk: each kill comes after the child committed new offsets, once
	// the next chunk is produced, within a checkpoint interval.
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	unbounded := writePipeline("crashed", "crashed", "counts", false)
	cl := newClient(t, c)
	adm := kadm.NewClient(cl)
	chunk := len(events) / (crashKills + 1)
	produceEvents(t, cl, events[:chunk])
	for k := 1; k <= crashKills; k++ {
		// Wait for new offsets, or for the child to have caught up with
		// what was produced.
		produced := int64(k * chunk)
		before := committedOffsets(t, adm, "crashed")
		p := sluicetest.Start(t, bin, "run", "--log-format", "json", unbounded)
		deadline := time.Now().Add(60 * time.Second)
		for cur := before; cur == before && cur < produced; cur = committedOffsets(t, adm, "crashed") {
			if p.Done() || time.Now().After(deadline) {
				t.Fatalf("no progress after kill %d; log:\n%s", k-1, p.Log())
			}
			time.Sleep(2 * time.Millisecond)
		}
		produceEvents(t, cl, events[k*chunk:min((k+1)*chunk, len(events))])
		time.Sleep(time.Duration(rng.Int64N(int64(crashEvery))))
		if !p.Kill(t) {
			t.Fatalf("the unbounded run ended by itself; log:\n%s", p.Log())
		}
	}
	produceEvents(t, cl, events[(crashKills+1)*chunk:])
	// The last run reads to the end of the topic and closes every window.
	final := sluicetest.Start(t, bin, "run", "--log-format", "json", writePipeline("crashed", "crashed", "counts", true))
	final.Wait(t, 60*time.Second)

	ref := sluicetest.Start(t, bin, "run", "--log-format", "json", writePipeline("ref", "ref", "counts_ref", true))
	ref.Wait(t, 60*time.Second)
	refRows := readValues(t, c, "counts_ref")
	if diff := diffCounts(refRows, want); diff != "" {
		t.Fatalf("the uninterrupted run differs from the model: %s\nlog:\n%s", diff, ref.Log())
	}
	if diff := diffCounts(readValues(t, c, "counts"), refRows); diff != "" {
		t.Fatalf("read_committed output after %d kills (seed %d) differs from the uninterrupted run: %s", crashKills, seed, diff)
	}
}

// crashEventRecords returns the events, in event-time order, and the
// window rows they make, as JSON values.
func crashEventRecords() ([]*kgo.Record, map[string]int) {
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()
	rng := rand.New(rand.NewPCG(7, 7))
	actions := []string{"view", "click", "buy", "login"}
	type key struct {
		start  int64
		action string
	}
	counts := map[key]int{}
	recs := make([]*kgo.Record, 0, crashEvents)
	for i := range crashEvents {
		ts := base + int64(i)*3_600_000/crashEvents
		a := actions[rng.IntN(len(actions))]
		counts[key{ts - ts%60_000, a}]++
		recs = append(recs, &kgo.Record{Topic: "events", Key: fmt.Appendf(nil, "u%d", rng.IntN(100)),
			Value: fmt.Appendf(nil, `{"user_id":%d,"action":%q,"ts":%d}`, rng.IntN(100), a, ts)})
	}
	want := map[string]int{}
	format := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }
	for k, n := range counts {
		want[fmt.Sprintf(`{"window_start":%q,"window_end":%q,"action":%q,"events":%d}`, format(k.start), format(k.start+60_000), k.action, n)]++
	}
	return recs, want
}

// produceEvents produces recs.
func produceEvents(t *testing.T, cl *kgo.Client, recs []*kgo.Record) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func newClient(t *testing.T, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("events")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// committedOffsets is the sum of the offsets group committed.
func committedOffsets(t *testing.T, adm *kadm.Client, group string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resps, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0 // not created yet
	}
	var sum int64
	resps.Each(func(o kadm.OffsetResponse) { sum += max(o.At, 0) })
	return sum
}

// readValues reads topic with read_committed up to its last stable
// offsets and counts each value.
func readValues(t *testing.T, c *kfake.Cluster, topic string) map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(newClient(t, c)).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{} // partition -> end offset not reached yet
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	cl := newClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	out := map[string]int{}
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: partitions short of their end: %v", topic, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out[string(r.Value)]++
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// diffCounts describes how got differs from want, "" when equal.
func diffCounts(got, want map[string]int) string {
	var diffs []string
	for v, n := range want {
		if got[v] != n {
			diffs = append(diffs, fmt.Sprintf("%dx (want %d) %s", got[v], n, v))
		}
	}
	for v, n := range got {
		if _, ok := want[v]; !ok {
			diffs = append(diffs, fmt.Sprintf("%dx (want 0) %s", n, v))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("and %d more", len(diffs)-10))
	}
	return strings.Join(diffs, "; ")
}
