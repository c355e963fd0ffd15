package kafka

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// changeBatch returns window results of the given minutes and actions,
// events as given, with kinds.
func changeBatch(kinds []record.RowKind, minutes []int, actions []string, events []int64) *record.Batch {
	b := record.NewBatch(windowRows, len(kinds))
	for i := range kinds {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, 1_714_564_800_000+int64(minutes[i])*60_000, actions[i], events[i])
	}
	b.Kinds = kinds
	return b
}

// TestSinkChangelog produces a changelog with and without checkpoints
// (the transactional writer's rows go through its manifest, as after a
// Recover): a delete is a tombstone with its key and a null value, in
// order with the other records of its key, and folding the topic (the
// last record per key, a tombstone removing the key) gives the final
// results.
func TestSinkChangelog(t *testing.T) {
	I, U, D := record.Insert, record.Update, record.Delete
	batches := []*record.Batch{
		changeBatch([]record.RowKind{I, I, I}, []int{0, 0, 5}, []string{"a", "b", "a"}, []int64{1, 1, 1}),
		changeBatch([]record.RowKind{D, U, D, D, I}, []int{5, 0, 0, 9, 0}, []string{"a", "a", "b", "z", "b"}, []int64{1, 3, 1, 1, 7}),
	}
	want := []string{"test|1714564800000|a={3}", "test|1714564800000|b={7}"}
	for _, checkpoints := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpoints=%v", checkpoints), func(t *testing.T) {
			ctx := context.Background()
			c := startCluster(t, 3, "out")
			s := testSink(t, fmt.Sprintf("sink \"kafka\" \"out\" {\n  brokers = %s\n  topic = \"out\"\n}", brokersHCL(c)), windowRows)
			w, err := s.Open(ctx, runtime(checkpoints))
			must(t, err)
			for i, b := range batches {
				must(t, w.Write(ctx, b))
				if tw, ok := w.(*txnWriter); ok {
					m, err := tw.Prepare(ctx, int64(i+1))
					must(t, err)
					must(t, tw.Recover(ctx, m))
				}
			}
			must(t, w.Close())
			recs := readTopic(t, c, "out", true)
			if len(recs) != 8 {
				t.Fatalf("%d records, want 8", len(recs))
			}
			tombstones := 0
			last := map[string]string{}
			for _, r := range recs { // readTopic keeps each partition's order
				if r.Value == nil {
					tombstones++
					delete(last, string(r.Key))
					continue
				}
				events := r.Value[strings.Index(string(r.Value), `"events":`)+len(`"events":`):]
				last[string(r.Key)] = fmt.Sprintf("%s={%s", r.Key, events)
			}
			var got []string
			for _, v := range last {
				got = append(got, v)
			}
			slices.Sort(got)
			if tombstones != 3 || !slices.Equal(got, want) {
				t.Errorf("%d tombstones, folded to %q; want 3 and %q", tombstones, got, want)
			}
		})
	}
}

// TestSinkDeleteWithoutKey: a delete row whose key expression is null
// fails the write: it cannot be a tombstone.
func TestSinkDeleteWithoutKey(t *testing.T) {
	c := startCluster(t, 1, "out")
	s := testSink(t, fmt.Sprintf("sink \"kafka\" \"out\" {\n  brokers = %s\n  topic = \"out\"\n  key = \"action == 'z' ? nil : action\"\n}", brokersHCL(c)), windowRows)
	for _, checkpoints := range []bool{false, true} {
		w, err := s.Open(context.Background(), runtime(checkpoints))
		must(t, err)
		err = w.Write(context.Background(), changeBatch([]record.RowKind{record.Insert, record.Delete}, []int{0, 0}, []string{"a", "z"}, []int64{1, 1}))
		if err == nil || !strings.Contains(err.Error(), "cannot become a tombstone") {
			t.Errorf("checkpoints=%v: error %v", checkpoints, err)
		}
		must(t, w.Close())
	}
}

// TestSinkAppliesChanges: keyed records placed by murmur2 upsert; records
// without a key, or spread by another partitioner (positioned there),
// append.
func TestSinkAppliesChanges(t *testing.T) {
	keyless := record.Schema{Columns: windowRows.Columns}
	tests := []struct {
		body string
		in   record.Schema
		want plugins.ChangeMode
		line int // of the position; 0 for none
	}{
		{"", windowRows, plugins.ChangesUpsert, 0},
		{`key = "action"`, keyless, plugins.ChangesUpsert, 0},
		{`partitioner = "murmur2"`, windowRows, plugins.ChangesUpsert, 0},
		{`partitioner = "round_robin"`, windowRows, plugins.ChangesAppend, 4},
		{`partitioner = "least_backup"`, windowRows, plugins.ChangesAppend, 4},
		{"", keyless, plugins.ChangesAppend, 0},
	}
	for _, tt := range tests {
		s := testSink(t, "sink \"kafka\" \"out\" {\n  brokers = [\"127.0.0.1:9092\"]\n  topic = \"out\"\n  "+tt.body+"\n}", tt.in)
		mode, at := s.AppliesChanges()
		if mode != tt.want || at.Start.Line != tt.line {
			t.Errorf("%q: %s at line %d, want %s at line %d", tt.body, mode, at.Start.Line, tt.want, tt.line)
		}
	}
}
