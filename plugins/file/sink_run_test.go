package file

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// batch makes a batch of rec holding rows.
func batch(rec record.Schema, rows ...[]any) *record.Batch {
	b := record.NewBatch(rec, len(rows))
	for i, r := range rows {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, r...)
	}
	return b
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSinkWrite(t *testing.T) {
	scores := record.Schema{Columns: []record.Column{{Name: "name", Type: record.ColumnString}, {Name: "score", Type: record.ColumnFloat}, {Name: "ok", Type: record.ColumnBool}}}
	tests := []struct {
		name    string
		rec     record.Schema
		batches [][][]any
		want    string
	}{
		{
			name: "events",
			rec:  events,
			batches: [][][]any{
				{{1, "click", int64(1714564800000), "ios"}, {2, nil, int64(1714564800001), "web \"x\""}},
				{},
				{{3, "view", int64(-1), nil}},
			},
			want: `{"user_id":1,"action":"click","ts":"2024-05-01T12:00:00.000Z","device":"ios"}
{"user_id":2,"action":null,"ts":"2024-05-01T12:00:00.001Z","device":"web \"x\""}
{"user_id":3,"action":"view","ts":"1969-12-31T23:59:59.999Z","device":null}
`,
		},
		{
			name:    "floats and bools",
			rec:     scores,
			batches: [][][]any{{{"é\n", 0.1, true}, {"", math.Inf(1), false}, {"<b>", 1e-9, nil}}},
			want:    "{\"name\":\"é\\n\",\"score\":0.1,\"ok\":true}\n{\"name\":\"\",\"score\":null,\"ok\":false}\n{\"name\":\"<b>\",\"score\":1e-9,\"ok\":null}\n",
		},
		{
			name:    "raw",
			rec:     record.RawSchema(),
			batches: [][][]any{{{`{"a": 1}`}, {"not json"}}},
			want:    "{\"a\": 1}\nnot json\n",
		},
		{name: "nothing", rec: events},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new", "dir", "out.ndjson")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			// An existing file is truncated.
			if err := os.WriteFile(path, []byte(strings.Repeat("old\n", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
			w, err := (&Sink{Path: path, Input: tt.rec}).Open(context.Background(), &plugins.Runtime{})
			if err != nil {
				t.Fatal(err)
			}
			for _, rows := range tt.batches {
				if err := w.Write(context.Background(), batch(tt.rec, rows...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, path); got != tt.want {
				t.Fatalf("file holds\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSinkCreatesFolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "out.ndjson")
	w, err := (&Sink{Path: path, Input: events}).Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), batch(events, []any{1, "a", int64(0), "b"})); err != nil {
		t.Fatal(err)
	}
	want := `{"user_id":1,"action":"a","ts":"1970-01-01T00:00:00.000Z","device":"b"}` + "\n"
	// Written through at every Write, so that followers see each batch.
	if got := readString(t, path); got != want {
		t.Fatalf("after Write the file holds %q, want %q", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if got := readString(t, path); got != want {
		t.Fatalf("file holds %q, want %q", got, want)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o755) &^ umask(); fi.IsDir() && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		if want := os.FileMode(0o644) &^ umask(); !fi.IsDir() && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}

// umask reads the process's file mode creation mask.
func umask() os.FileMode {
	dir, err := os.MkdirTemp("", "umask")
	if err != nil {
		return 0
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o777); err != nil {
		return 0
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return 0o777 &^ fi.Mode().Perm()
}

func TestSinkErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "out.ndjson")
	for _, c := range []plugins.Component{&Sink{Path: path, Input: events}, &DeadLetter{Path: path, Payload: PayloadText, Input: events}} {
		var err error
		switch c := c.(type) {
		case *Sink:
			_, err = c.Open(context.Background(), nil)
		case *DeadLetter:
			_, err = c.Open(context.Background(), nil)
		}
		if err == nil || !strings.Contains(err.Error(), blocker) || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("%T: Open = %v, want an error naming %s", c, err, blocker)
		}
	}

	// Writing to /dev/full fails with ENOSPC, reported at the latest by
	// Close.
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	w, err := (&Sink{Path: "/dev/full", Input: events}).Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := batch(events, []any{1, strings.Repeat("x", 1000), int64(0), "b"})
	for range 300 {
		if err = w.Write(context.Background(), b); err != nil {
			break
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if want := `sink "file": write /dev/full: no space left on device`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestSinkWriteAllocations(t *testing.T) {
	w, err := (&Sink{Path: filepath.Join(t.TempDir(), "out.ndjson"), Input: events}).Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := eventBatch(1024)
	ctx := context.Background()
	if n := testing.AllocsPerRun(20, func() {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per Write, want 0", n)
	}
}

func TestDeadLetter(t *testing.T) {
	at := time.Date(2024, 5, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	recs := []plugins.DeadRecord{
		{Time: at, Stage: `parse "json"`, Reason: `field "user_id": want int, got string "x"`, Payload: []byte(`{"user_id":"x"}`), Origin: record.Origin{Partition: 0, Offset: 42}},
		{Time: at.Add(time.Millisecond), Stage: `window "tumbling"`, Reason: "late\tby 5s", Payload: []byte("\xff\x00é"), Origin: record.Origin{Partition: 3, Offset: -1},
			Late: &plugins.Lateness{EventTime: 55_000, WindowStart: 0, WindowEnd: 60_000, Watermark: 65_000, LateBy: 5_000, AllowedLateness: 0}},
		{Time: at, Stage: "filter", Reason: "", Payload: nil},
	}
	tests := []struct {
		payload Payload
		want    string
	}{
		{PayloadText, `{"time":"2024-05-01T12:00:00.123Z","pipeline":"user \"activity\"","stage":"parse \"json\"","reason":"field \"user_id\": want int, got string \"x\"","partition":0,"offset":42,"payload":"{\"user_id\":\"x\"}"}
{"time":"2024-05-01T12:00:00.124Z","pipeline":"user \"activity\"","stage":"window \"tumbling\"","reason":"late\tby 5s","partition":3,"offset":-1,"late":{"event_time":"1970-01-01T00:00:55.000Z","window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","watermark":"1970-01-01T00:01:05.000Z","late_by_ms":5000,"allowed_lateness_ms":0},"payload_base64":"/wDDqQ=="}
{"time":"2024-05-01T12:00:00.123Z","pipeline":"user \"activity\"","stage":"filter","reason":"","partition":0,"offset":0,"payload":""}
`},
		{PayloadBase64, `{"time":"2024-05-01T12:00:00.123Z","pipeline":"user \"activity\"","stage":"parse \"json\"","reason":"field \"user_id\": want int, got string \"x\"","partition":0,"offset":42,"payload_base64":"eyJ1c2VyX2lkIjoieCJ9"}
{"time":"2024-05-01T12:00:00.124Z","pipeline":"user \"activity\"","stage":"window \"tumbling\"","reason":"late\tby 5s","partition":3,"offset":-1,"late":{"event_time":"1970-01-01T00:00:55.000Z","window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","watermark":"1970-01-01T00:01:05.000Z","late_by_ms":5000,"allowed_lateness_ms":0},"payload_base64":"/wDDqQ=="}
{"time":"2024-05-01T12:00:00.123Z","pipeline":"user \"activity\"","stage":"filter","reason":"","partition":0,"offset":0,"payload_base64":""}
`},
	}
	for _, tt := range tests {
		t.Run(string(tt.payload), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dead", "letters.ndjson")
			d := &DeadLetter{Path: path, Payload: tt.payload, Input: events}
			rt := &plugins.Runtime{Pipeline: `user "activity"`}
			// Two runs: the second appends to what the first wrote.
			var want string
			for run := range 2 {
				w, err := d.Open(context.Background(), rt)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.WriteDead(context.Background(), recs[:2]); err != nil {
					t.Fatal(err)
				}
				if err := w.WriteDead(context.Background(), recs[2:]); err != nil {
					t.Fatal(err)
				}
				want += tt.want
				// Each WriteDead is flushed to the file.
				if got := readString(t, path); got != want {
					t.Fatalf("run %d: file holds\n%s\nwant\n%s", run, got, want)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for l := range strings.SplitSeq(strings.TrimSuffix(want, "\n"), "\n") {
				var m map[string]any
				keys := 7
				if strings.Contains(l, `"late":`) {
					keys = 8 // a late record's window, watermark and lateness
				}
				if err := json.Unmarshal([]byte(l), &m); err != nil || len(m) != keys {
					t.Fatalf("line %s: %v, %d keys", l, err, len(m))
				}
			}
		})
	}
}

func eventBatch(rows int) *record.Batch {
	b := record.NewBatch(events, rows)
	actions := []string{"click", "view", "purchase", "heartbeat"}
	devices := []any{"ios", "android", "web", nil}
	for i := range rows {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, 100000+i, actions[i%4], int64(1714564800000+i*137), devices[i%4])
	}
	return b
}

func BenchmarkSinkWrite(bm *testing.B) {
	w, err := (&Sink{Path: filepath.Join(bm.TempDir(), "out.ndjson"), Input: events}).Open(context.Background(), nil)
	if err != nil {
		bm.Fatal(err)
	}
	b := eventBatch(1024)
	var size int64
	for row := range b.Rows {
		size += int64(len(ndjson.AppendRow(nil, b, row))) + 1
	}
	bm.SetBytes(size)
	bm.ReportAllocs()
	ctx := context.Background()
	for bm.Loop() {
		if err := w.Write(ctx, b); err != nil {
			bm.Fatal(err)
		}
	}
	bm.ReportMetric(float64(bm.Elapsed().Nanoseconds())/float64(bm.N*b.Rows), "ns/row")
	if err := w.Close(); err != nil {
		bm.Fatal(err)
	}
}

// TestSinkChangelog writes rows of every kind with changelog = true, with
// and without checkpoints: each line ends with its op.
func TestSinkChangelog(t *testing.T) {
	for _, checkpoints := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "out.ndjson")
		s := &Sink{Path: path, Input: events, Changelog: true}
		w, err := s.Open(context.Background(), &plugins.Runtime{Checkpoints: checkpoints})
		if err != nil {
			t.Fatal(err)
		}
		b := batch(events, []any{1, "click", int64(0), "ios"}, []any{1, "click", int64(0), "web"}, []any{2, "buy", int64(0), nil})
		b.Kinds = []record.RowKind{record.Insert, record.Update, record.Delete}
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if c, ok := w.(plugins.Committer); ok {
			m, err := c.Prepare(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Commit(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want := `{"user_id":1,"action":"click","ts":"1970-01-01T00:00:00.000Z","device":"ios","op":"insert"}
{"user_id":1,"action":"click","ts":"1970-01-01T00:00:00.000Z","device":"web","op":"update"}
{"user_id":2,"action":"buy","ts":"1970-01-01T00:00:00.000Z","device":null,"op":"delete"}
`
		if got := readString(t, path); got != want {
			t.Errorf("checkpoints %v: wrote\n%s\nwant\n%s", checkpoints, got, want)
		}
	}
}
