package delta

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/deltalog"
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

// changeRow is one row of a generated changelog.
type changeRow struct {
	kind             record.RowKind
	start            int64
	action           string
	events, revision int64
}

// changeBatch returns rows as a batch of revisionRows with their kinds.
func changeBatch(rows []changeRow) *record.Batch {
	b := record.NewBatch(revisionRows, len(rows))
	for _, c := range rows {
		plugintest.AppendRow(b, record.Origin{}, c.start, c.start+21_600_000, c.action, c.events, c.revision)
		b.Kinds = append(b.Kinds, c.kind)
	}
	return b
}

// TestChangelogArgument: the contract follows changelog, positioned at
// it; the table gets a string column op after the record's columns; an
// input column op, in any case, clashes with it.
func TestChangelogArgument(t *testing.T) {
	withOp := revisionRows.With(record.Column{Name: "OP", Type: record.ColumnString})
	tests := []struct {
		body  string
		in    record.Schema
		want  plugins.ChangeMode
		line  int
		table string // the last field of the table
		diag  string
	}{
		{``, revisionRows, plugins.ChangesAppend, 0, "revision", ""},
		{`changelog = true`, revisionRows, plugins.ChangesLog, 3, "op", ""},
		{`changelog = false`, revisionRows, plugins.ChangesAppend, 3, "revision", ""},
		{`changelog = true`, withOp, "", 0, "", "1:1: Column names differ only by case"},
		{`changelog = true`, withOp.Without("OP").With(record.Column{Name: "op", Type: record.ColumnInt}), "", 0, "", "3:15: Column clashes with the op column"},
	}
	for _, tt := range tests {
		c, diags := plugintest.Build(Plugin, "sink \"delta\" \"lake\" {\n  path = \"file:///unused\"\n  "+tt.body+"\n}", tt.in)
		if tt.diag != "" {
			if got := plugintest.Summaries(diags); fmt.Sprint(got) != "["+tt.diag+"]" {
				t.Errorf("%q: diagnostics %q, want %q", tt.body, got, tt.diag)
			}
			continue
		}
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		s := c.(*Sink)
		mode, at := s.AppliesChanges()
		if mode != tt.want || at.Start.Line != tt.line {
			t.Errorf("%q: %s at line %d, want %s at line %d", tt.body, mode, at.Start.Line, tt.want, tt.line)
		}
		if last := s.Table[len(s.Table)-1]; last.Name != tt.table || last.Type != "string" && tt.table == "op" {
			t.Errorf("%q: the table ends with %+v, want %s", tt.body, last, tt.table)
		}
	}
}

// TestChangelogTableMustMatch: a table created without the op column is
// refused at Open by a sink with changelog = true, and one created with
// it by a sink without; the same settings open.
func TestChangelogTableMustMatch(t *testing.T) {
	ctx := context.Background()
	for _, created := range []bool{false, true} {
		t.Run(fmt.Sprintf("created with changelog=%v", created), func(t *testing.T) {
			loc := testStores[0].loc(t)
			arg := fmt.Sprintf("changelog = %v", created)
			w := open(t, buildSink(t, loc, arg, revisionRows), newClock(), true)
			commitEpoch(t, w, changeBatch([]changeRow{{record.Insert, 0, "a", 1, 0}}), 1)
			must(t, w.Close())
			_, err := buildSink(t, loc, fmt.Sprintf("changelog = %v", !created), revisionRows).Open(ctx, nil)
			want := "the table has none"
			if created {
				want = "set changelog = true"
			}
			if err == nil || !strings.Contains(err.Error(), "does not fit the records of the sink at test.hcl:1,1") || !strings.Contains(err.Error(), want) {
				t.Errorf("Open with changelog = %v: %v, want an error saying %q", !created, err, want)
			}
			again := open(t, buildSink(t, loc, arg, revisionRows), newClock(), true)
			commitEpoch(t, again, changeBatch([]changeRow{{record.Update, 0, "a", 2, 1}}), 2)
		})
	}
}

// TestChangelogFoldsWithDuckDB writes a changelog of window results with
// allowed lateness — revisions of each key, some keys deleted — over many
// commits into a table partitioned by day, and runs the fold of the sink's
// description with DuckDB on the table's live files (DuckDB's delta
// extension cannot be downloaded here: the live files stand for
// delta_scan): it must return the final results.
func TestChangelogFoldsWithDuckDB(t *testing.T) {
	query := duckDB(t)
	dir := filepath.Join(t.TempDir(), "table")
	const docScan = "delta_scan('/data/lake/user_activity')"
	_, fold, ok := strings.Cut(description, "in DuckDB: `")
	fold, _, _ = strings.Cut(fold, "`")
	if !ok || !strings.Contains(fold, docScan) {
		t.Fatalf("the description has no DuckDB query with %s", docScan)
	}
	w := open(t, buildSink(t, "file://"+dir, "partition_by = [\"window_start:date\"]\n  changelog = true\n  roll_rows = 5", revisionRows), newClock(), true)
	rng := rand.New(rand.NewPCG(11, 25))
	changes, final := changelogOf(rng, 40)
	for epoch := int64(1); len(changes) > 0; epoch++ {
		n := min(len(changes), 1+rng.IntN(12))
		commitEpoch(t, w, changeBatch(changes[:n]), epoch)
		changes = changes[n:]
	}
	snap, err := openLog(t, "file://"+dir).Snapshot(context.Background())
	must(t, err)
	var files []string
	for p := range snap.Files {
		files = append(files, sqlString(filepath.Join(dir, filepath.FromSlash(mustDecode(p)))))
	}
	sort.Strings(files)
	fold = strings.ReplaceAll(fold, docScan, "read_parquet(["+strings.Join(files, ", ")+"], hive_partitioning = true)")
	_, res := query(`SELECT epoch_ms(window_start)::VARCHAR, action, events::VARCHAR, revision::VARCHAR FROM (` + fold + `)`)
	if res[0].Error != "" {
		t.Fatalf("%s: %s", fold, res[0].Error)
	}
	if got, want := sortedRows(res[0].Rows), sortedRows(final); !reflect.DeepEqual(got, want) {
		t.Errorf("the fold returned\n%v\nwant\n%v", got, want)
	}
	if len(final) < 10 {
		t.Fatalf("only %d final results: the test would prove little", len(final))
	}
	fields, err := deltalog.ParseSchema(snap.Metadata.SchemaString)
	must(t, err)
	if last := fields[len(fields)-2]; last.Name != "op" || last.Type != "string" { // before window_start_date
		t.Errorf("table fields %+v, want op before the partition column", fields)
	}
}

// sortedRows renders rows as strings, sorted, for comparing sets.
func sortedRows(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r...)
	}
	sort.Strings(out)
	return out
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
		start := base + int64(k%8)*21_600_000 // four windows a day over two days
		action := fmt.Sprintf("a%d", k/8)
		events := int64(1 + rng.IntN(5))
		rows := []changeRow{{record.Insert, start, action, events, 0}}
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
