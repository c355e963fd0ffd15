package kafka

// Helpers of the tests: an in-process kfake cluster, producing test
// records, reading a topic back, and building plugin blocks.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// startCluster starts a kfake cluster on 127.0.0.1 with topics of
// partitions partitions each, closed after the test.
func startCluster(t testing.TB, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// brokersHCL renders the cluster's addresses as an HCL list.
func brokersHCL(c *kfake.Cluster) string {
	var quoted []string
	for _, a := range c.ListenAddrs() {
		quoted = append(quoted, fmt.Sprintf("%q", a))
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// testClient returns a client of the cluster with opts, closed after the
// test.
func testClient(t testing.TB, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produce writes recs and fails the test on an error.
func produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readTopic reads every record of topic with the isolation level, up to
// the end offsets (last stable offsets for read_committed) it has now.
func readTopic(t testing.TB, c *kfake.Cluster, topic string, committed bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(testClient(t, c))
	level, list := kgo.ReadUncommitted(), adm.ListEndOffsets
	if committed {
		level, list = kgo.ReadCommitted(), adm.ListCommittedOffsets
	}
	ends, err := list(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	cl := testClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level), kgo.KeepControlRecords())
	defer cl.Close()
	var out []*kgo.Record
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: partitions short of their end: %v", topic, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	slices.SortFunc(out, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return out
}

// testSource builds a source "kafka" block.
func testSource(t testing.TB, src string) *Source {
	t.Helper()
	c, diags := plugintest.Build(SourcePlugin, src, record.Schema{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c.(*Source)
}

// testSink builds a sink "kafka" block for records of input.
func testSink(t testing.TB, src string, input record.Schema) *Sink {
	t.Helper()
	c, diags := plugintest.Build(SinkPlugin, src, input)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c.(*Sink)
}

// runtime returns a plugin runtime of pipeline "test".
func runtime(checkpoints bool) *plugins.Runtime {
	return &plugins.Runtime{Pipeline: "test", Checkpoints: checkpoints, Now: time.Now}
}

// readAll reads r until io.EOF and returns every row as a batch.
func readAll(t testing.TB, r plugins.Reader) *record.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	all := record.NewBatch(sourceRecord, 0)
	b := record.NewBatch(sourceRecord, 64)
	for {
		b.Reset()
		err := r.Read(ctx, b, 64)
		for row := range b.Rows {
			for c := range all.Columns {
				all.Columns[c].AppendFrom(&b.Columns[c], row)
			}
		}
		all.Origins = append(all.Origins, b.Origins...)
		all.Rows += b.Rows
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("read: %v", err)
			}
			return all
		}
	}
}
