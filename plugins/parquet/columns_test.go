package parquet

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"
)

func TestTypeMapping(t *testing.T) {
	ts := time.Date(2026, 11, 25, 13, 4, 5, 123e6, time.UTC).UnixMilli()
	rows := [][]any{
		{ts, int64(42), 2.5, true, "login"},
		{nil, nil, nil, nil, nil},
		{int64(0), int64(math.MinInt64), math.Inf(-1), false, ""},
		{int64(-1), int64(math.MaxInt64), -0.5, nil, "ünïcødé ✓"},
		{nil, int64(7), nil, true, nil},
	}
	wantSchema := `message sluice {
	optional int64 ts (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	optional int64 n (INT(64,true));
	optional double x;
	optional boolean ok;
	optional binary s (STRING);
}`
	for _, codec := range compressions {
		t.Run(codec, func(t *testing.T) {
			s := buildSink(t, `sink "parquet" "lake" {
  path        = "out"
  compression = "`+codec+`"
}`, allTypes)
			w := openMem(t, s, &clock{})
			ctx := context.Background()
			b := batch(allTypes, rows...)
			if err := w.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			b.Reset() // the writer must have copied the strings
			scribble(b)
			m, err := w.Prepare(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx, m); err != nil {
				t.Fatal(err)
			}
			files := parquetKeys(t, w.store)
			want := "part-test-lake-00000000000000000001-00000" + codecs[codec].suffix
			if len(files) != 1 || files[0] != want {
				t.Fatalf("files = %q, want [%q]", files, want)
			}
			gotSchema, got := readFile(t, w.store, files[0])
			if strings.Join(strings.Fields(gotSchema), " ") != strings.Join(strings.Fields(wantSchema), " ") {
				t.Errorf("schema:\n%s\nwant:\n%s", gotSchema, wantSchema)
			}
			if !reflect.DeepEqual(got, rows) {
				t.Errorf("rows:\n%v\nwant:\n%v", got, rows)
			}
		})
	}
}

// scribble overwrites b's memory with other strings, so that a
// writer still aliasing it would write garbage.
func scribble(b *record.Batch) {
	for i := range b.Columns {
		v := &b.Columns[i]
		if v.Type == record.ColumnString {
			for j := 0; j < 64; j++ {
				v.AppendString([]byte("XXXXXXXXXXXXXXXX"))
			}
		}
	}
}

func TestColumnOrderAndPartitionColumns(t *testing.T) {
	s := buildSink(t, `sink "parquet" "lake" {
  path         = "out"
  partition_by = ["window_start:hour", "action"]
}`, windowRows)
	w := openMem(t, s, &clock{})
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	if err := w.Write(ctx, batch(windowRows, windowRow(t0, "login", 3, 2))); err != nil {
		t.Fatal(err)
	}
	m, err := w.Prepare(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	files := parquetKeys(t, w.store)
	want := "window_start_hour=2026-11-25T13/action=login/part-test-lake-00000000000000000007-00000.zstd.parquet"
	if len(files) != 1 || files[0] != want {
		t.Fatalf("files = %q, want [%q]", files, want)
	}
	sch, rows := readFile(t, w.store, files[0])
	// action is in the folder name, not in the file; window_start stays.
	wantSchema := `message sluice {
	optional int64 window_start (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	optional int64 window_end (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	optional int64 events (INT(64,true));
	optional int64 users (INT(64,true));
}`
	if strings.Join(strings.Fields(sch), " ") != strings.Join(strings.Fields(wantSchema), " ") {
		t.Errorf("schema:\n%s\nwant:\n%s", sch, wantSchema)
	}
	wantRows := [][]any{{t0.UnixMilli(), t0.Add(time.Minute).UnixMilli(), int64(3), int64(2)}}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("rows = %v, want %v", rows, wantRows)
	}
}
