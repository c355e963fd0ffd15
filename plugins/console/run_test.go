package console

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// countingWriter records what is written and how many Write calls it took.
type countingWriter struct {
	bytes.Buffer
	calls int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.Buffer.Write(p)
}

var everything = record.Schema{Columns: []record.Column{
	{Name: "name", Type: record.ColumnString},
	{Name: "n", Type: record.ColumnInt},
	{Name: "average_score", Type: record.ColumnFloat},
	{Name: "ok", Type: record.ColumnBool},
	{Name: "at", Type: record.ColumnTimestamp},
}}

// printed is one test case: batches of rows written one after the other.
var printed = []struct {
	name    string
	rec     record.Schema
	batches [][][]any
}{
	{
		name: "events",
		rec:  events,
		batches: [][][]any{
			{
				{1, "click", int64(1714564800000), "ios"},
				{123456, "purchase", int64(1714564800123), nil},
				{-7, nil, int64(-1), "a much longer device name"},
			},
			{},
			{{2, "view", int64(0), "web"}},
		},
	},
	{
		name: "every type",
		rec:  everything,
		batches: [][][]any{{
			{"ünïcödé", 1, 0.5, true, int64(1714564800000)},
			{"tab\there\n", nil, math.NaN(), false, nil},
			{"\xff\"quoted\"", math.MinInt64, -1e21, nil, int64(253402300800000)},
			{"", 0, math.Inf(-1), true, int64(0)},
			{nil, 42, 1e-7, false, int64(1)},
		}},
	},
	{
		name:    "raw",
		rec:     record.RawSchema(),
		batches: [][][]any{{{`{"user_id": 1}`}, {"not json"}}},
	},
}

func batch(rec record.Schema, rows [][]any) *record.Batch {
	b := record.NewBatch(rec, len(rows))
	for i, r := range rows {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, r...)
	}
	return b
}

// render writes every case with format and returns the output, each case
// under a heading.
func render(t *testing.T, format Format) []byte {
	t.Helper()
	var all bytes.Buffer
	for _, tt := range printed {
		var out countingWriter
		w := (&Sink{Format: format, Input: tt.rec}).writer(&out)
		writes := 0
		for _, rows := range tt.batches {
			if err := w.Write(context.Background(), batch(tt.rec, rows)); err != nil {
				t.Fatal(err)
			}
			if len(rows) > 0 {
				writes++
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.calls != writes {
			t.Errorf("%s: %d writes for %d batches with rows, want one per batch", tt.name, out.calls, writes)
		}
		all.WriteString("=== " + tt.name + "\n")
		all.Write(out.Bytes())
	}
	return all.Bytes()
}

func TestPrint(t *testing.T) {
	for _, format := range []Format{FormatTable, FormatJSON} {
		t.Run(string(format), func(t *testing.T) {
			got := render(t, format)
			path := filepath.Join("testdata", string(format)+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./plugins/console -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test ./plugins/console -update to accept it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// TestJSON checks the JSON lines byte for byte, independently of the
// golden file.
func TestJSON(t *testing.T) {
	var out bytes.Buffer
	w := (&Sink{Format: FormatJSON, Input: events}).writer(&out)
	b := batch(events, [][]any{{1, "click", int64(1714564800000), "ios"}, {2, "a\"b", int64(1), nil}})
	if err := w.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	want := `{"user_id":1,"action":"click","ts":"2024-05-01T12:00:00.000Z","device":"ios"}
{"user_id":2,"action":"a\"b","ts":"1970-01-01T00:00:00.001Z","device":null}
`
	if out.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", out.String(), want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteError(t *testing.T) {
	w := (&Sink{Format: FormatTable, Input: events}).writer(failingWriter{})
	err := w.Write(context.Background(), batch(events, [][]any{{1, "a", int64(0), "b"}}))
	if err == nil || err.Error() != `sink "console": broken pipe` {
		t.Fatalf("Write = %v", err)
	}
}

func TestOpen(t *testing.T) {
	var s plugins.SinkOpener = &Sink{Format: FormatJSON, Input: events}
	w, err := s.Open(context.Background(), &plugins.Runtime{})
	if err != nil {
		t.Fatal(err)
	}
	if w.(*writer).out != os.Stdout {
		t.Fatal("the console sink does not print to standard output")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKinds prints a batch holding an update and a delete with an op
// column, in both formats, and a batch of inserts without one.
func TestKinds(t *testing.T) {
	rows := [][]any{{1, "click", int64(0), "ios"}, {1, "click", int64(0), "web"}, {2, "buy", int64(0), nil}}
	changes := batch(events, rows)
	changes.Kinds = []record.RowKind{record.Insert, record.Update, record.Delete}
	var js bytes.Buffer
	must(t, (&Sink{Format: FormatJSON, Input: events}).writer(&js).Write(context.Background(), changes))
	want := `{"user_id":1,"action":"click","ts":"1970-01-01T00:00:00.000Z","device":"ios","op":"insert"}
{"user_id":1,"action":"click","ts":"1970-01-01T00:00:00.000Z","device":"web","op":"update"}
{"user_id":2,"action":"buy","ts":"1970-01-01T00:00:00.000Z","device":null,"op":"delete"}
`
	if js.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", js.String(), want)
	}
	var table bytes.Buffer
	w := (&Sink{Format: FormatTable, Input: events}).writer(&table)
	must(t, w.Write(context.Background(), changes))
	if first := strings.SplitN(table.String(), "\n", 2)[0]; !strings.HasSuffix(first, "op") {
		t.Fatalf("table header %q has no op column", first)
	}
	table.Reset()
	must(t, w.Write(context.Background(), batch(events, rows[:1])))
	if strings.Contains(table.String(), "op") {
		t.Fatalf("a batch of inserts printed an op column:\n%s", table.String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
