package postgres

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/plugins"
)

// TestTableFit opens the sink on existing tables: those that fit are
// written, the others refused at start, saying what does not fit.
func TestTableFit(t *testing.T) {
	tests := []struct {
		name   string
		ddl    string // creates the table "activity", "" for none
		args   []string
		errors []string // substrings of Open's error; nil: it fits
	}{
		{"created", "", []string{`create_table = true`}, nil},
		{"exact", `CREATE TABLE activity (window_start timestamptz, action text, events bigint, rate double precision, mobile boolean, PRIMARY KEY (window_start, action))`, nil, nil},
		{"wider types and extra columns", `CREATE TABLE activity (id serial, action varchar, window_start timestamp, events numeric, rate float8, mobile bool,
			note text, loaded timestamptz NOT NULL DEFAULT now(), UNIQUE (action, window_start))`, nil, nil},
		{"missing table", "", nil, []string{`table activity does not exist: create it, or set create_table = true`}},
		{"missing column", `CREATE TABLE activity (window_start timestamptz, action text, events bigint, rate double precision, PRIMARY KEY (window_start, action))`,
			[]string{`create_table = true`}, []string{`table activity does not fit the records: no column "mobile" for the bool field`}},
		{"incompatible types", `CREATE TABLE activity (window_start date, action text, events integer, rate double precision, mobile text, PRIMARY KEY (window_start, action))`, nil,
			[]string{`column "window_start" is date, which cannot hold a timestamp field (want timestamp with time zone or timestamp without time zone)`,
				`column "events" is integer, which cannot hold a int field (want bigint or numeric)`, `column "mobile" is text`}},
		{"NOT NULL column nobody fills", `CREATE TABLE activity (window_start timestamptz, action text, events bigint, rate double precision, mobile boolean,
			region text NOT NULL, PRIMARY KEY (window_start, action))`, nil, []string{`column "region" is NOT NULL without a default and no field fills it`}},
		{"generated column", `CREATE TABLE activity (window_start timestamptz, action text, events bigint GENERATED ALWAYS AS (1) STORED, rate double precision, mobile boolean,
			PRIMARY KEY (window_start, action))`, nil, []string{`column "events" is generated`}},
		{"no constraint on the key", `CREATE TABLE activity (window_start timestamptz, action text, events bigint, rate double precision, mobile boolean, PRIMARY KEY (window_start))`,
			nil, []string{`no primary key or unique constraint on exactly (window_start, action), which ON CONFLICT needs`}},
		{"partial unique index", `CREATE TABLE activity (window_start timestamptz, action text, events bigint, rate double precision, mobile boolean);
			CREATE UNIQUE INDEX ON activity (window_start, action) WHERE events > 0`, nil, []string{`no primary key or unique constraint`}},
		{"no key needed to append", `CREATE TABLE activity (window_start timestamptz, action text, events bigint, rate double precision, mobile boolean)`,
			[]string{`mode = "insert"`, `key = []`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, conn := newDatabase(t)
			if tt.ddl != "" {
				execSQL(t, conn, tt.ddl)
			}
			s := buildSink(t, sinkBlock(dsn, append([]string{`table = "activity"`}, tt.args...)...), windowRows)
			w, err := s.Open(testCtx(t), &plugins.Runtime{Pipeline: "p", Logger: slog.New(slog.DiscardHandler)})
			if tt.errors == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				write(t, w, batchOf(windowRows, []any{minute(3), "buy", 7, 0.5, true}))
				commitEpoch(t, w.(*Writer), 1)
				var got string
				if err := conn.QueryRow(testCtx(t), "SELECT action || ' ' || events || ' ' || window_start::text FROM activity").Scan(&got); err != nil {
					t.Fatal(err)
				}
				if want := "buy 7 2026-11-25 12:03:00"; !strings.HasPrefix(got, want) {
					t.Errorf("row %q, want %q", got, want)
				}
				return
			}
			if err == nil {
				w.Close()
				t.Fatal("Open accepted the table")
			}
			for _, want := range tt.errors {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error on several lines: %q", err)
			}
		})
	}
}

// TestStageOfOtherRecords re-creates an empty staging table made for
// other fields, and refuses one holding rows of an uncommitted epoch.
func TestStageOfOtherRecords(t *testing.T) {
	dsn, conn := newDatabase(t)
	old := windowRows.Without("mobile")
	w := openWriter(t, buildSink(t, sinkBlock(dsn, `table = "activity"`, `create_table = true`), old), true)
	if err := w.Recover(testCtx(t), nil); err != nil {
		t.Fatal(err)
	}
	write(t, w, batchOf(old, []any{minute(0), "buy", 1, 0.5}))
	if _, err := w.Prepare(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	w.Close()
	execSQL(t, conn, "ALTER TABLE activity ADD COLUMN mobile boolean")
	s := buildSink(t, sinkBlock(dsn, `table = "activity"`), windowRows)
	_, err := s.Open(testCtx(t), &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Checkpoints: true})
	if err == nil || !strings.Contains(err.Error(), "holds uncommitted rows of other records") {
		t.Fatalf("Open with a staged epoch of other fields: %v", err)
	}
	execSQL(t, conn, "DELETE FROM activity__sluice_stage")
	w = openWriter(t, s, true)
	write(t, w, batchOf(windowRows, []any{minute(0), "buy", 2, 0.5, true}))
	commitEpoch(t, w, 2)
	if got := activity(t, conn); !slices.Equal(got, []string{"buy@0=2"}) {
		t.Errorf("rows %q", got)
	}
}
