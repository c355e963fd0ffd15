package pulsar

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

// changeBatch returns window results of minutes past 2024-05-01 12:00 and
// actions, events as given, with kinds.
func changeBatch(kinds []record.RowKind, minutes []int, actions []string, events []int64) *record.Batch {
	b := record.NewBatch(window, len(kinds))
	for i := range kinds {
		start := int64(1714564800000) + int64(minutes[i])*60_000
		plugintest.AppendRow(b, record.Origin{}, start, start+60_000, actions[i], events[i], true)
	}
	b.Kinds = kinds
	return b
}

// TestSinkChangelog publishes a changelog through the broker, with and
// without batching: each message has the property sluice-op, its row's
// kind; a delete is the key with an empty payload (a null value); folding
// the topic (the last message per key, a delete removing the key) gives
// the final results.
func TestSinkChangelog(t *testing.T) {
	I, U, D := record.Insert, record.Update, record.Delete
	batch := changeBatch([]record.RowKind{I, I, I, D, U, D, D, I},
		[]int{0, 0, 5, 5, 0, 0, 9, 0}, []string{"a", "b", "a", "a", "a", "b", "z", "b"}, []int64{1, 1, 1, 1, 3, 1, 1, 7})
	wantOps := []string{"insert", "insert", "insert", "delete", "update", "delete", "delete", "insert"}
	want := []string{"p|1714564800000|a=3", "p|1714564800000|b=7"}
	for _, batching := range []bool{true, false} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			b := startBroker(t)
			c, diags := plugintest.Build(SinkPlugin, fmt.Sprintf(`sink "pulsar" "out" {
  service_url = %q
  topic       = "results"
  batching    = %v
  properties  = { producer = "sluice" }
}`, b.URL(), batching), window)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			s := c.(*Sink)
			s.Conn.OperationTimeout = testTimeout
			w, err := s.Open(context.Background(), runtime())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := w.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			last := map[string]string{}
			for i, m := range consume(t, b.URL(), "results", batch.Rows) {
				op := m.Properties()[OpProperty]
				if op != wantOps[i] || m.Properties()["producer"] != "sluice" {
					t.Errorf("message %d properties %v, want %s = %s", i, m.Properties(), OpProperty, wantOps[i])
				}
				if op == "delete" {
					if len(m.Payload()) != 0 || !m.IsNullValue() {
						t.Errorf("message %d, a delete, has payload %q (null value %v)", i, m.Payload(), m.IsNullValue())
					}
					delete(last, m.Key())
					continue
				}
				payload := string(m.Payload())
				events := payload[strings.Index(payload, `"events":`)+len(`"events":`) : strings.Index(payload, `,"final"`)]
				last[m.Key()] = m.Key() + "=" + events
			}
			var got []string
			for _, v := range last {
				got = append(got, v)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("folded to %q, want %q", got, want)
			}
		})
	}
}

// TestSinkDeleteWithoutKey: a delete row whose key is null fails the
// write: it could not delete a message.
func TestSinkDeleteWithoutKey(t *testing.T) {
	b := startBroker(t)
	c, diags := plugintest.Build(SinkPlugin, fmt.Sprintf(`sink "pulsar" "out" {
  service_url = %q
  topic       = "results"
  key         = "action == 'z' ? nil : action"
}`, b.URL()), window)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Sink)
	s.Conn.OperationTimeout = testTimeout
	w, err := s.Open(context.Background(), runtime())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.Write(context.Background(), changeBatch([]record.RowKind{record.Insert, record.Delete}, []int{0, 0}, []string{"a", "z"}, []int64{1, 1}))
	if err == nil || !strings.Contains(err.Error(), "cannot delete a message") {
		t.Fatalf("error %v", err)
	}
}

// TestSinkChangesContract: keyed messages upsert, messages without a key
// append; the property the sink sets is refused in properties.
func TestSinkChangesContract(t *testing.T) {
	tests := []struct {
		body string
		in   record.Schema
		want plugins.ChangeMode
	}{
		{``, window, plugins.ChangesUpsert},
		{`key = "action"`, plugintest.Events, plugins.ChangesUpsert},
		{``, plugintest.Events, plugins.ChangesAppend},
	}
	for _, tt := range tests {
		c, diags := plugintest.Build(SinkPlugin, "sink \"pulsar\" \"out\" {\n  topic = \"t\"\n  "+tt.body+"\n}", tt.in)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got, _ := c.(*Sink).AppliesChanges(); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.body, got, tt.want)
		}
	}
	_, diags := plugintest.Build(SinkPlugin, "sink \"pulsar\" \"out\" {\n  topic = \"t\"\n  properties = { \"sluice-op\" = \"x\" }\n}", window)
	if got := plugintest.Summaries(diags); fmt.Sprint(got) != "[3:18: Reserved property name]" {
		t.Errorf("diagnostics %q", got)
	}
}
