package parquet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// revisionRows is the schema of window results with allowed lateness,
// keyed by window_start and action.
var revisionRows = record.Schema{Columns: []record.Column{
	{Name: "window_start", Type: record.ColumnTimestamp},
	{Name: "window_end", Type: record.ColumnTimestamp},
	{Name: "action", Type: record.ColumnString},
	{Name: "events", Type: record.ColumnInt},
	{Name: "revision", Type: record.ColumnInt},
}, Key: []string{"window_start", "action"}}

// kindBatch returns a batch of revisionRows holding rows, with kinds (nil:
// a batch of inserts, without kinds).
func kindBatch(kinds []record.RowKind, rows ...[]any) *record.Batch {
	b := batch(revisionRows, rows...)
	b.Kinds = kinds
	return b
}

// TestChangelogColumn writes batches with and without kinds, with and
// without partitions: under changelog = true the files have a string
// column op after the record's columns holding each row's kind; without,
// the files hold the record's columns only.
func TestChangelogColumn(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()
	row := func(minute int, action string, events, revision int64) []any {
		return []any{t0 + int64(minute)*60_000, t0 + int64(minute+1)*60_000, action, events, revision}
	}
	I, U, D := record.Insert, record.Update, record.Delete
	batches := []*record.Batch{
		kindBatch(nil, row(0, "a", 1, 0), row(0, "b", 1, 0)),
		kindBatch([]record.RowKind{U, D, I}, row(0, "a", 2, 1), row(0, "b", 1, 1), row(1, "b", 4, 0)),
	}
	wantOps := map[string]string{"a@0/0": "insert", "b@0/0": "insert", "a@0/1": "update", "b@0/1": "delete", "b@1/0": "insert"}
	tests := []struct {
		partitions string
		changelog  bool
		wantCols   []string // of the files
	}{
		{`[]`, true, []string{"window_start", "window_end", "action", "events", "revision", "op"}},
		{`["action"]`, true, []string{"window_start", "window_end", "events", "revision", "op"}},
		{`["window_start:date"]`, true, []string{"window_start", "window_end", "action", "events", "revision", "op"}},
		{`[]`, false, []string{"window_start", "window_end", "action", "events", "revision"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/changelog=%v", tt.partitions, tt.changelog), func(t *testing.T) {
			s := buildSink(t, fmt.Sprintf(`sink "parquet" "lake" {
  path         = "file:///unused"
  partition_by = %s
  changelog    = %v
}`, tt.partitions, tt.changelog), revisionRows)
			w := openMem(t, s, &clock{})
			for _, b := range batches {
				if err := w.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			commit(t, w, prepare(t, w, 1))
			got := map[string]string{}
			for _, k := range parquetKeys(t, w.store) {
				schema, rows := readFile(t, w.store, k)
				if cols := schemaColumns(schema); !slices.Equal(cols, tt.wantCols) {
					t.Fatalf("%s: columns %q, want %q", k, cols, tt.wantCols)
				}
				if !tt.changelog {
					continue
				}
				action := strings.TrimSuffix(strings.TrimPrefix(k[:strings.IndexByte(k, '/')+1], "action="), "/")
				for _, r := range rows {
					if tt.partitions != `["action"]` {
						action = r[2].(string)
					}
					minute := (r[0].(int64) - t0) / 60_000
					got[fmt.Sprintf("%s@%d/%d", action, minute, r[len(r)-2])] = r[len(r)-1].(string)
				}
			}
			if tt.changelog && !reflect.DeepEqual(got, wantOps) {
				t.Errorf("ops %v, want %v", got, wantOps)
			}
		})
	}
}

// schemaColumns returns the leaf names of a schema as parquet-go prints
// it, in order.
func schemaColumns(schema string) []string {
	var out []string
	for _, line := range strings.Split(schema, "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		if len(f) >= 3 && (f[0] == "optional" || f[0] == "required") {
			name := f[2]
			if i := strings.IndexByte(name, ' '); i > 0 {
				name = name[:i]
			}
			out = append(out, strings.TrimSuffix(name, ";"))
		}
	}
	return out
}

// TestChangelogArgument: the contract follows changelog, positioned at
// it; an input column named op clashes with the op column.
func TestChangelogArgument(t *testing.T) {
	tests := []struct {
		body string
		in   record.Schema
		want plugins.ChangeMode
		line int
		diag string
	}{
		{``, revisionRows, plugins.ChangesAppend, 0, ""},
		{`changelog = false`, revisionRows, plugins.ChangesAppend, 3, ""},
		{`changelog = true`, revisionRows, plugins.ChangesLog, 3, ""},
		{`changelog = true`, revisionRows.With(record.Column{Name: "op", Type: record.ColumnString}), "", 0, "3:15: Column clashes with the op column"},
		{``, revisionRows.With(record.Column{Name: "op", Type: record.ColumnString}), plugins.ChangesAppend, 0, ""},
	}
	for _, tt := range tests {
		c, diags := plugintest.Build(Plugin, "sink \"parquet\" \"lake\" {\n  path = \"file:///unused\"\n  "+tt.body+"\n}", tt.in)
		if tt.diag != "" {
			if got := plugintest.Summaries(diags); fmt.Sprint(got) != "["+tt.diag+"]" {
				t.Errorf("%q: diagnostics %q, want %q", tt.body, got, tt.diag)
			}
			continue
		}
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		mode, at := c.(*Sink).AppliesChanges()
		if mode != tt.want || at.Start.Line != tt.line {
			t.Errorf("%q: %s at line %d, want %s at line %d", tt.body, mode, at.Start.Line, tt.want, tt.line)
		}
	}
}

// TestChangelogFoldsWithDuckDB writes a changelog of window results with
// allowed lateness — revisions of each key, some keys deleted (sessions
// replaced by merges) — over several commits and partitions, and runs the
// DuckDB query of the sink's description on the committed files: it must
// return the final results, the last row of each key not deleted.
func TestChangelogFoldsWithDuckDB(t *testing.T) {
	run := duckDB(t)
	root := t.TempDir()
	const docPath = "/data/lake/user_activity"
	_, query, ok := strings.Cut(description, "in DuckDB: `")
	query, _, _ = strings.Cut(query, "`")
	if !ok || !strings.Contains(query, docPath) {
		t.Fatalf("the description has no DuckDB query reading %s", docPath)
	}
	query = strings.ReplaceAll(query, docPath, root)

	s := buildSink(t, fmt.Sprintf(`sink "parquet" "lake" {
  path         = %q
  partition_by = ["window_start:date"]
  changelog    = true
  roll_rows    = 7
}`, "file://"+root), revisionRows)
	w := open(t, s, &clock{})
	rng := rand.New(rand.NewPCG(17, 25))
	changes, final := changelogOf(rng, 40)
	for epoch := int64(1); len(changes) > 0; epoch++ {
		n := min(len(changes), 1+rng.IntN(12))
		b := record.NewBatch(revisionRows, n)
		for _, c := range changes[:n] {
			b.Kinds = append(b.Kinds, c.kind)
			b.Columns[0].AppendInt(c.start)
			b.Columns[1].AppendInt(c.start + 86_400_000/4)
			b.Columns[2].AppendText(c.action)
			b.Columns[3].AppendInt(c.events)
			b.Columns[4].AppendInt(c.revision)
			b.Rows++
		}
		changes = changes[n:]
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		commit(t, w, prepare(t, w, epoch))
	}
	_, res := run(`SELECT epoch_ms(window_start)::VARCHAR, action, events::VARCHAR, revision::VARCHAR FROM (` + query + `)`)
	if res[0].Error != "" {
		t.Fatalf("%s: %s", query, res[0].Error)
	}
	if got, want := sortedJSON(res[0].Rows), sortedJSON(final); !reflect.DeepEqual(got, want) {
		t.Errorf("the fold returned\n%v\nwant\n%v", got, want)
	}
	if len(final) < 10 {
		t.Fatalf("only %d final results: the test would prove little", len(final))
	}
}

// changeRow is one row of a generated changelog.
type changeRow struct {
	kind             record.RowKind
	start            int64
	action           string
	events, revision int64
}

// changelogOf returns the changelog of keys results, in an order that
// interleaves keys but keeps each key's rows in order — an insert, updates
// with growing revisions, and for one key in four a delete last — and the
// final results as DuckDB's VARCHAR casts print them: start, action,
// events, revision.
func changelogOf(rng *rand.Rand, keys int) ([]changeRow, [][]any) {
	var perKey [][]changeRow
	var final [][]any
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).UnixMilli()
	for k := range keys {
		start := base + int64(k%8)*86_400_000/4 // four windows a day over two days
		action := fmt.Sprintf("a%d", k/8)
		var rows []changeRow
		events := int64(1 + rng.IntN(5))
		rows = append(rows, changeRow{record.Insert, start, action, events, 0})
		for r := range int64(rng.IntN(4)) {
			events += int64(1 + rng.IntN(3))
			rows = append(rows, changeRow{record.Update, start, action, events, r + 1})
		}
		last := rows[len(rows)-1]
		if rng.IntN(4) == 0 {
			rows = append(rows, changeRow{record.Delete, start, action, last.events, last.revision + 1})
		} else {
			final = append(final, []any{fmt.Sprint(start), action, fmt.Sprint(last.events), fmt.Sprint(last.revision)})
		}
		perKey = append(perKey, rows)
	}
	var out []changeRow
	for len(perKey) > 0 {
		i := rng.IntN(len(perKey))
		out = append(out, perKey[i][0])
		if perKey[i] = perKey[i][1:]; len(perKey[i]) == 0 {
			perKey = slices.Delete(perKey, i, i+1)
		}
	}
	return out, final
}
