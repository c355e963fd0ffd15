package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// windowRows is the schema of window results: keyed by window_start and
// action.
var windowRows = record.Schema{
	Columns: []record.Column{
		{Name: "window_start", Type: record.ColumnTimestamp},
		{Name: "action", Type: record.ColumnString},
		{Name: "events", Type: record.ColumnInt},
	},
	Key: []string{"window_start", "action"},
}

// windowBatch returns n window results from the i-th on.
func windowBatch(from, n int) *record.Batch {
	b := record.NewBatch(windowRows, n)
	for i := from; i < from+n; i++ {
		b.Columns[0].AppendInt(1_714_564_800_000 + int64(i)*60_000)
		b.Columns[1].AppendText([]string{"click", "view"}[i%2])
		b.Columns[2].AppendInt(int64(i))
		b.Rows++
	}
	return b
}

func TestSinkDiagnostics(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"ok", `sink "kafka" "out" {
  brokers = ["127.0.0.1:9092"]
  topic   = "out"
}`, nil},
		{"acks leader with idempotence", `sink "kafka" "out" {
  brokers = ["127.0.0.1:9092"]
  topic   = "out"
  acks    = "leader"
}`, []string{"4:3: acks needs idempotent = false"}},
		{"bad topic, key and size", `sink "kafka" "out" {
  brokers           = ["127.0.0.1:9092"]
  topic             = "a/b"
  key               = "nope"
  max_message_bytes = 0
}`, []string{"3:23: Invalid topic name", "4:24: Unknown field in expression", "5:23: Invalid size"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := plugintest.Build(SinkPlugin, tc.src, windowRows)
			if got := plugintest.Summaries(diags); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("diagnostics %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSinkAtLeastOnceKeys(t *testing.T) {
	c := startCluster(t, 4, "out")
	s := testSink(t, fmt.Sprintf(`sink "kafka" "out" {
  brokers = %s
  topic   = "out"
  headers = { producer = "sluice" }
}`, brokersHCL(c)), windowRows)
	w, err := s.Open(context.Background(), runtime(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.(plugins.Committer); ok {
		t.Fatal("the writer of a run without checkpoints is a Committer")
	}
	if err := w.Write(context.Background(), windowBatch(0, 20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readTopic(t, c, "out", true)
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20", len(recs))
	}
	for _, r := range recs {
		var start int64
		var action string
		if _, err := fmt.Sscanf(string(r.Key), "test|%d|%s", &start, &action); err != nil {
			t.Fatalf("key %q: %v", r.Key, err)
		}
		events := (start - 1_714_564_800_000) / 60_000
		want := fmt.Sprintf(`{"window_start":%q,"action":%q,"events":%d}`,
			time.UnixMilli(start).UTC().Format("2006-01-02T15:04:05.000Z"), action, events)
		if string(r.Value) != want {
			t.Fatalf("value %s, want %s", r.Value, want)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "producer" || string(r.Headers[0].Value) != "sluice" {
			t.Fatalf("headers %v", r.Headers)
		}
	}
}

// TestSinkMurmur2 checks that keys land in the partitions the Java client
// picks: murmur2 of the key (test vectors of Kafka's UtilsTest), positive,
// modulo the partition count.
func TestSinkMurmur2(t *testing.T) {
	javaMurmur2 := map[string]int32{"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536, "a-little-bit-longer-string": -1486304829, "abc": 479470107}
	c := startCluster(t, 7, "out")
	in := record.Schema{Columns: []record.Column{{Name: "action", Type: record.ColumnString}}}
	s := testSink(t, fmt.Sprintf(`sink "kafka" "out" {
  brokers = %s
  topic   = "out"
  key     = "action"
}`, brokersHCL(c)), in)
	w, err := s.Open(context.Background(), runtime(false))
	must(t, err)
	b := record.NewBatch(in, len(javaMurmur2))
	for k := range javaMurmur2 {
		b.Columns[0].AppendText(k)
		b.Rows++
	}
	must(t, w.Write(context.Background(), b))
	must(t, w.Close())
	recs := readTopic(t, c, "out", true)
	if len(recs) != len(javaMurmur2) {
		t.Fatalf("%d records, want %d", len(recs), len(javaMurmur2))
	}
	for _, r := range recs {
		if want := (javaMurmur2[string(r.Key)] & 0x7fffffff) % 7; r.Partition != want {
			t.Errorf("key %q in partition %d, the Java client puts it in %d", r.Key, r.Partition, want)
		}
	}
}

// TestSinkTransactions checks the exactly-once protocol: an epoch is
// visible to read_committed consumers once committed; a crash between the
// checkpoint and the commit is finished by Recover, once only; a zombie's
// open transaction is aborted by the fencing and never visible to
// read_committed consumers.
func TestSinkTransactions(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, 3, "out")
	s := testSink(t, fmt.Sprintf(`sink "kafka" "out" {
  brokers = %s
  topic   = "out"
}`, brokersHCL(c)), windowRows)
	open := func() *txnWriter {
		w, err := s.Open(ctx, runtime(true))
		if err != nil {
			t.Fatal(err)
		}
		return w.(*txnWriter)
	}
	w := open()
	must(t, w.Recover(ctx, nil))
	must(t, w.Write(ctx, windowBatch(0, 10)))
	m1, err := w.Prepare(ctx, 1)
	must(t, err)
	if got := len(readTopic(t, c, "out", false)); got != 0 {
		t.Fatalf("%d records visible before the commit", got)
	}
	must(t, w.Commit(ctx, m1))
	must(t, w.Commit(ctx, m1)) // idempotent
	if got := len(readTopic(t, c, "out", true)); got != 10 {
		t.Fatalf("%d records after epoch 1, want 10", got)
	}
	// Epoch 2 is prepared (the checkpoint is durable) but the process
	// dies before its commit; a zombie of the same transactional id also
	// has an open transaction.
	must(t, w.Write(ctx, windowBatch(10, 5)))
	m2, err := w.Prepare(ctx, 2)
	must(t, err)
	zombie := testClient(t, c, kgo.TransactionalID(s.TransactionalID), kgo.DefaultProduceTopic("out"))
	must(t, zombie.BeginTransaction())
	produce(t, zombie, &kgo.Record{Value: []byte(`{"zombie":true}`)})
	w.cl.Close()

	for range 2 { // the restart, then another one from the same checkpoint
		r := open()
		must(t, r.Recover(ctx, m2))
		r.cl.Close()
	}
	committed := readTopic(t, c, "out", true)
	if len(committed) != 15 {
		t.Fatalf("read_committed sees %d records, want 15 (each row once)", len(committed))
	}
	seen := map[string]int{}
	for _, r := range committed {
		seen[string(r.Value)]++
		if seen[string(r.Value)] > 1 || string(r.Value) == `{"zombie":true}` {
			t.Fatalf("read_committed sees %s", r.Value)
		}
	}
	if all := readTopic(t, c, "out", false); len(all) != 16 {
		t.Fatalf("read_uncommitted sees %d records, want 16 (the zombie's aborted one too)", len(all))
	}
	if err := zombie.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("the zombie committed after being fenced")
	}
}

func TestSinkTransactionBound(t *testing.T) {
	c := startCluster(t, 1, "out")
	s := testSink(t, fmt.Sprintf(`sink "kafka" "out" {
  brokers               = %s
  topic                 = "out"
  transaction_max_bytes = "1KB"
}`, brokersHCL(c)), windowRows)
	w, err := s.Open(context.Background(), runtime(true))
	must(t, err)
	defer w.Close()
	err = w.Write(context.Background(), windowBatch(0, 100))
	if err == nil || err.Error() != "the rows of one checkpoint interval exceed transaction_max_bytes (1000 bytes): take checkpoints more often (checkpoint { every }) or raise transaction_max_bytes" {
		t.Fatalf("error %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
