package elasticsearch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// change is one row of a changelog of window results: its kind, minute
// (of 2026-11-25), action and events.
type change struct {
	kind   record.RowKind
	minute int
	action string
	events int64
}

// changeBatch returns window rows holding changes, with their kinds.
func changeBatch(changes ...change) *record.Batch {
	b := record.NewBatch(windows, len(changes))
	for i, c := range changes {
		start := time.Date(2026, 11, 25, 0, c.minute, 0, 0, time.UTC).UnixMilli()
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, start, start+60_000, c.action, c.events, 0.5)
		b.Kinds = append(b.Kinds, c.kind)
	}
	return b
}

func ins(m int, a string, n int64) change { return change{record.Insert, m, a, n} }
func upd(m int, a string, n int64) change { return change{record.Update, m, a, n} }
func del(m int, a string, n int64) change { return change{record.Delete, m, a, n} }

// TestChangelog applies changelogs: a delete row deletes its document in
// the order of the rows around it, within a bulk request and across
// requests (flush_bytes small enough for one document per request) and
// Prepares; a delete of a document or index that is not there is no
// error. Each step is a list of batches followed by a Prepare.
func TestChangelog(t *testing.T) {
	tests := []struct {
		name  string
		steps [][][]change
		want  []string // action@minute=events
	}{
		{"delete after insert in one batch", [][][]change{{{ins(0, "a", 1), ins(0, "b", 2), del(0, "a", 1)}}},
			[]string{"b@0=2"}},
		{"insert after delete wins", [][][]change{{{ins(0, "a", 1), del(0, "a", 1), ins(0, "a", 3)}}},
			[]string{"a@0=3"}},
		{"update, delete, insert across batches", [][][]change{{{ins(0, "a", 1), upd(0, "a", 2)}, {del(0, "a", 2)}, {ins(0, "a", 5), ins(1, "a", 6)}}},
			[]string{"a@0=5", "a@1=6"}},
		{"a session merge across prepares", [][][]change{{{ins(0, "u", 1), ins(5, "u", 1)}}, {{del(5, "u", 1), upd(0, "u", 3)}}},
			[]string{"u@0=3"}},
		{"delete of a missing document", [][][]change{{{ins(0, "a", 1)}}, {{del(3, "z", 1)}}},
			[]string{"a@0=1"}},
		{"delete into a missing index", [][][]change{{{del(3, "z", 1)}}, {{ins(0, "a", 1)}}},
			[]string{"a@0=1"}},
	}
	for _, tt := range tests {
		for _, args := range []string{`action = "index"`, `action = "update"`, `flush_bytes = "1B"`} {
			t.Run(tt.name+"/"+args, func(t *testing.T) {
				es := startES(t, esfake.Options{})
				w, dead := openSink(t, es.URL(), "  index = \"clicks\"\n  "+args, windows)
				for _, batches := range tt.steps {
					batchesOf := make([]*record.Batch, len(batches))
					for i, b := range batches {
						batchesOf[i] = changeBatch(b...)
					}
					writeAndPrepare(t, w, batchesOf...)
				}
				if got := clickDocs(t, es); !slices.Equal(got, tt.want) {
					t.Errorf("documents %q, want %q", got, tt.want)
				}
				if d := dead.all(); len(d) != 0 {
					t.Errorf("dead letters: %v", d)
				}
			})
		}
	}
}

// clickDocs lists the documents of index clicks as action@minute=events,
// sorted; each must be under its default id.
func clickDocs(t *testing.T, es *esfake.Server) []string {
	t.Helper()
	var out []string
	for id, doc := range es.Docs("clicks") {
		var d struct {
			WindowStart time.Time `json:"window_start"`
			Action      string
			Events      int64
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d|%s", d.WindowStart.UnixMilli(), d.Action); id != want {
			t.Errorf("document %s under id %q, want %q", doc, id, want)
		}
		out = append(out, fmt.Sprintf("%s@%d=%d", d.Action, d.WindowStart.Minute(), d.Events))
	}
	slices.Sort(out)
	return out
}

// TestChangelogDeleteWithoutID: a delete row whose id expression gives
// null goes to the dead letter with the reason, and the other rows are
// written.
func TestChangelogDeleteWithoutID(t *testing.T) {
	es := startES(t, esfake.Options{})
	w, dead := openSink(t, es.URL(), "  index = \"clicks\"\n  id = \"action == 'z' ? nil : action\"", windows)
	writeAndPrepare(t, w, changeBatch(ins(0, "a", 1), del(0, "z", 1)))
	if n := len(es.Docs("clicks")); n != 1 {
		t.Errorf("%d documents, want 1", n)
	}
	d := dead.all()
	if len(d) != 1 || !strings.Contains(d[0].Reason, "id is null") {
		t.Fatalf("dead letters %v, want the delete's", d)
	}
}

// TestAppliesChanges: documents under deterministic ids upsert, except
// with action = "create" (positioned at action); documents without an id
// append.
func TestAppliesChanges(t *testing.T) {
	keyless := record.Schema{Columns: windows.Columns}
	tests := []struct {
		body string
		in   record.Schema
		want plugins.ChangeMode
		line int // of the position; 0 for none
	}{
		{`index = "x"`, windows, plugins.ChangesUpsert, 0},
		{"index = \"x\"\n  action = \"update\"", windows, plugins.ChangesUpsert, 0},
		{"index = \"x\"\n  id = \"action\"", keyless, plugins.ChangesUpsert, 0},
		{"index = \"x\"\n  action = \"create\"", windows, plugins.ChangesAppend, 3},
		{`index = "x"`, keyless, plugins.ChangesAppend, 0},
	}
	for _, tt := range tests {
		c, diags := plugintest.Build(Plugin, "sink \"elasticsearch\" \"es\" {\n  "+tt.body+"\n}", tt.in)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		mode, at := c.(*Sink).AppliesChanges()
		if mode != tt.want || at.Start.Line != tt.line {
			t.Errorf("%q: %s at line %d, want %s at line %d", tt.body, mode, at.Start.Line, tt.want, tt.line)
		}
	}
}
