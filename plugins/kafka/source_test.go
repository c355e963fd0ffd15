package kafka

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

func TestSourceDiagnostics(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"topics", `source "kafka" {
  brokers = ["127.0.0.1:9092"]
  topics  = ["events"]
  group   = "g"
}`, nil},
		{"no topics", `source "kafka" {
  brokers = ["127.0.0.1:9092"]
  group   = "g"
}`, []string{"1:1: No topics"}},
		{"both", `source "kafka" {
  brokers        = ["127.0.0.1:9092"]
  topics         = ["a"]
  topics_pattern = "a.*"
  group          = "g"
}`, []string{"4:3: Both topics and topics_pattern"}},
		{"bad pattern", `source "kafka" {
  brokers        = ["127.0.0.1:9092"]
  topics_pattern = "a(("
  group          = "g"
}`, []string{"3:20: Invalid topics pattern"}},
		{"bad topic and broker", `source "kafka" {
  brokers = ["kafka://x:9092"]
  topics  = ["a b", "c", "c"]
  group   = "g"
}`, []string{"2:14: Invalid broker address", "3:14: Invalid topic name", "3:26: Duplicate topic"}},
		{"sasl without password", `source "kafka" {
  brokers = ["127.0.0.1:9092"]
  topics  = ["a"]
  group   = "g"
  sasl {
    mechanism = "SCRAM-SHA-256"
    username  = "u"
  }
}`, []string{"5:3: No password"}},
		{"oauth with username", `source "kafka" {
  brokers = ["127.0.0.1:9092"]
  topics  = ["a"]
  group   = "g"
  sasl {
    mechanism = "OAUTHBEARER"
    token     = "t"
    username  = "u"
  }
}`, []string{"8:5: Argument not used by OAUTHBEARER"}},
		{"bounded from latest", `source "kafka" {
  brokers = ["127.0.0.1:9092"]
  topics  = ["a"]
  group   = "g"
  end     = "latest"
}`, []string{"5:3: Bounded read starting at latest"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := plugintest.Build(SourcePlugin, tc.src, record.Schema{})
			if got := plugintest.Summaries(diags); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("diagnostics %v, want %v", got, tc.want)
			}
		})
	}
}

// produceEvents writes records from..to-1 over the partitions of topic,
// round robin: value {"i":<i>}, key "k<i>", a header on the even ones.
func produceEvents(t *testing.T, cl *kgo.Client, topic string, partitions int32, from, to int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		r := &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Key: []byte("k" + strconv.Itoa(i)), Value: fmt.Appendf(nil, `{"i":%d}`, i),
			Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i))}
		if i%2 == 0 {
			r.Headers = []kgo.RecordHeader{{Key: "region", Value: []byte("eu")}}
		}
		recs = append(recs, r)
	}
	produce(t, cl, recs...)
}

func TestSourceBoundedReadAndMetadata(t *testing.T) {
	c := startCluster(t, 3, "events", "audit")
	cl := testClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceEvents(t, cl, "events", 3, 0, 30)
	produceEvents(t, cl, "audit", 3, 0, 3)
	// An aborted and a committed transaction in partition 0 of events: a
	// read_committed bounded read skips the first and ends after the
	// commit marker.
	txn := testClient(t, c, kgo.TransactionalID("t"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for _, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		produce(t, txn, &kgo.Record{Topic: "events", Value: fmt.Appendf(nil, `{"txn":%v}`, bool(commit))})
		if err := txn.EndTransaction(context.Background(), commit); err != nil {
			t.Fatal(err)
		}
	}
	src := testSource(t, fmt.Sprintf(`source "kafka" {
  brokers        = %s
  topics_pattern = "events|audit"
  group          = "bounded"
  start          = "earliest"
  end            = "latest"
}`, brokersHCL(c)))
	r, err := src.Open(context.Background(), runtime(false))
	if err != nil {
		t.Fatal(err)
	}
	if r.Partitions() != 6 {
		t.Fatalf("%d partitions, want 6", r.Partitions())
	}
	res := r.(plugins.Resumer)
	var keys []string
	for p := range 6 {
		keys = append(keys, res.PartitionKey(p))
	}
	if want := "[audit/0 audit/1 audit/2 events/0 events/1 events/2]"; fmt.Sprint(keys) != want {
		t.Fatalf("partition keys %v, want %s", keys, want)
	}
	all := readAll(t, r)
	if all.Rows != 34 {
		t.Fatalf("%d rows, want 34 (30 + 3 + the committed transaction's)", all.Rows)
	}
	for row := range all.Rows {
		topic, part, off := all.Columns[1].String(row), all.Columns[2].Ints[row], all.Columns[3].Ints[row]
		if got := res.PartitionKey(int(all.Origins[row].Partition)); got != topic+"/"+strconv.Itoa(int(part)) || all.Origins[row].Offset != off {
			t.Fatalf("row %d: origin %v of %s, metadata %s/%d@%d", row, all.Origins[row], got, topic, part, off)
		}
		value := all.Columns[0].String(row)
		if value == `{"txn":false}` {
			t.Fatal("read a record of an aborted transaction")
		}
		if topic == "events" && value != `{"txn":true}` {
			var i int
			fmt.Sscanf(value, `{"i":%d}`, &i)
			if k := all.Columns[4].String(row); k != "k"+strconv.Itoa(i) {
				t.Fatalf("row %d key %q", row, k)
			}
			region, _ := record.LookupStringMap(all.Columns[5].StringBytes(row), "region")
			if (i%2 == 0) != (string(region) == "eu") {
				t.Fatalf("row %d (%d) headers %v", row, i, record.DecodeStringMap(all.Columns[5].StringBytes(row)))
			}
			if ts := all.Columns[6].Ints[row]; ts != 1_700_000_000_000+int64(i) {
				t.Fatalf("row %d timestamp %d", row, ts)
			}
		}
		if value == `{"txn":true}` && !all.Columns[4].IsNull(row) {
			t.Fatal("a record without a key has a kafka.key")
		}
	}
	// Acknowledge everything: a second bounded read has nothing left.
	ack := r.(plugins.Acknowledger)
	last := map[int32]int64{}
	for _, o := range all.Origins {
		last[o.Partition] = max(last[o.Partition], o.Offset)
	}
	for p, off := range last {
		if err := ack.Commit(int(p), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2, err := src.Open(context.Background(), runtime(false))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if again := readAll(t, r2); again.Rows != 0 {
		t.Fatalf("second bounded read read %d rows, want 0", again.Rows)
	}
}

func TestSourceResumeFromCheckpoint(t *testing.T) {
	c := startCluster(t, 2, "events")
	cl := testClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceEvents(t, cl, "events", 2, 0, 20)
	src := testSource(t, fmt.Sprintf(`source "kafka" {
  brokers = %s
  topics  = ["events"]
  group   = "resume"
  start   = "earliest"
  end     = "latest"
}`, brokersHCL(c)))
	r, err := src.Open(context.Background(), runtime(true))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := r.(plugins.Resumer)
	pos, err := res.Position(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	// events/0 resumes after offset 4; events/1 from the start.
	if err := res.Resume(map[string][]byte{"events/0": pos}); err != nil {
		t.Fatal(err)
	}
	all := readAll(t, r)
	if all.Rows != 15 {
		t.Fatalf("%d rows, want 15", all.Rows)
	}
	for row := range all.Rows {
		if o := all.Origins[row]; o.Partition == 0 && o.Offset <= 4 {
			t.Fatalf("read offset %d of events/0, before the resume point", o.Offset)
		}
	}
}

// TestSourceRebalance has two members of one group read a topic while the
// first leaves without acknowledging its last batch: the records reach the
// second (at least once: none lost).
func TestSourceRebalance(t *testing.T) {
	const n = 400
	c := startCluster(t, 4, "events")
	cl := testClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceEvents(t, cl, "events", 4, 0, n/2)
	src := testSource(t, fmt.Sprintf(`source "kafka" {
  brokers = %s
  topics  = ["events"]
  group   = "rebalance"
  start   = "earliest"
}`, brokersHCL(c)))
	var mu sync.Mutex
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// read reads batches of r, acknowledging each but the last, until
	// stop says so.
	read := func(r plugins.Reader, stop func(total int) bool) {
		b := record.NewBatch(sourceRecord, 16)
		total := 0
		for {
			b.Reset()
			if err := r.Read(ctx, b, 16); err != nil {
				t.Errorf("read: %v", err)
				return
			}
			mu.Lock()
			for row := range b.Rows {
				seen[strings.Clone(b.Columns[0].String(row))]++
			}
			mu.Unlock()
			total += b.Rows
			if stop(total) {
				return // the last batch is not acknowledged
			}
			last := map[int32]int64{}
			for _, o := range b.Origins {
				last[o.Partition] = max(last[o.Partition], o.Offset)
			}
			for p, off := range last {
				if err := r.(plugins.Acknowledger).Commit(int(p), off); err != nil {
					t.Error(err)
				}
			}
		}
	}
	first, err := src.Open(ctx, runtime(false))
	if err != nil {
		t.Fatal(err)
	}
	read(first, func(total int) bool { return total >= n/4 })
	second, err := src.Open(ctx, runtime(false))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		read(second, func(int) bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == n
		})
	}()
	// The first member leaves while the second has joined: the group
	// rebalances, and the second gets every partition.
	if _, err := c.WaitGroupStable(ctx, "rebalance", 2); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	produceEvents(t, cl, "events", 4, n/2, n)
	<-done
	var missing []string
	for i := range n {
		if seen[fmt.Sprintf(`{"i":%d}`, i)] == 0 {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("records never read: %v", missing)
	}
}

// TestSourceResumeCommitsToTheGroup: a source resumed from a checkpoint
// commits the checkpoint's positions to its group at once, even when there
// is nothing new to read, so the group's offsets (and lag) are right after
// a crash between a checkpoint and its offset commit.
func TestSourceResumeCommitsToTheGroup(t *testing.T) {
	c := startCluster(t, 1, "events")
	cl := testClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceEvents(t, cl, "events", 1, 0, 10)
	src := testSource(t, fmt.Sprintf(`source "kafka" {
  brokers = %s
  topics  = ["events"]
  group   = "resumed"
  start   = "earliest"
}`, brokersHCL(c)))
	r, err := src.Open(context.Background(), runtime(true))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := r.(plugins.Resumer)
	pos, err := res.Position(0, 9) // the checkpoint covers every record
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Resume(map[string][]byte{"events/0": pos}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_ = r.Read(ctx, record.NewBatch(src.Output(), 16), 16) // starts the source; nothing to read
	adm := kadm.NewClient(cl)
	committed := func() int64 {
		resps, err := adm.FetchOffsets(context.Background(), "resumed")
		if err != nil {
			return -1
		}
		var sum int64
		resps.Each(func(o kadm.OffsetResponse) { sum += max(o.At, 0) })
		return sum
	}
	deadline := time.Now().Add(10 * time.Second)
	for committed() != 10 {
		if time.Now().After(deadline) {
			t.Fatalf("group offsets %d, want 10: the resumed positions were not committed", committed())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
