package parquet

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// protocolStores are the stores the commit protocol is tested on: a local
// folder (rename) and an in-process S3 server (copy and delete). Each
// returns the path argument of a sink on a fresh store.
var protocolStores = []struct {
	name string
	path func(t *testing.T) string
}{
	{"file", func(t *testing.T) string { return "file://" + filepath.Join(t.TempDir(), "lake") }},
	{"s3", func(t *testing.T) string { return "s3://lake/user_activity?" + startS3(t) }},
}

var t0 = time.Date(2026, 11, 25, 23, 58, 0, 0, time.UTC)

// rowsA and rowsB span two days and two actions.
var (
	rowsA = [][]any{
		windowRow(t0, "login", 3, 2),
		windowRow(t0, "click", 10, 4),
		windowRow(t0.Add(time.Minute), "login", 1, 1),
	}
	rowsB = [][]any{
		windowRow(t0.Add(2*time.Minute), "click", 5, 5),
		windowRow(t0.Add(3*time.Minute), "login", 2, 2),
		windowRow(t0.Add(3*time.Minute), "click", 7, 3),
	}
)

// protocolSink is the sink the protocol tests write with, at path.
func protocolSink(t *testing.T, path string) *Sink {
	return buildSink(t, fmt.Sprintf(`sink "parquet" "lake" {
  path         = %q
  partition_by = ["window_start:date"]
  roll_rows    = 2
}`, path), windowRows)
}

// committedRows reads every committed file and returns their rows sorted
// by window_start and action, with the file count.
func committedRows(t *testing.T, w *Writer) ([][]any, int) {
	t.Helper()
	var all [][]any
	files := parquetKeys(t, w.store)
	for _, k := range files {
		_, rows := readFile(t, w.store, k)
		all = append(all, rows...)
	}
	sortRows(all)
	return all, len(files)
}

func sortRows(rows [][]any) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a[0].(int64) != b[0].(int64) {
			return a[0].(int64) < b[0].(int64)
		}
		return a[2].(string) < b[2].(string)
	})
}

// want returns rows as readFile returns them, sorted.
func want(rows ...[][]any) [][]any {
	var out [][]any
	for _, rs := range rows {
		for _, r := range rs {
			out = append(out, []any{r[0], r[1], r[2], int64(r[3].(int)), int64(r[4].(int))})
		}
	}
	sortRows(out)
	return out
}

func write(t *testing.T, w *Writer, rows [][]any) {
	t.Helper()
	if err := w.Write(context.Background(), batch(windowRows, rows...)); err != nil {
		t.Fatal(err)
	}
}

func prepare(t *testing.T, w *Writer, epoch int64) []byte {
	t.Helper()
	m, err := w.Prepare(context.Background(), epoch)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func commit(t *testing.T, w *Writer, m []byte) {
	t.Helper()
	if err := w.Commit(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func recoverWith(t *testing.T, w *Writer, m []byte) {
	t.Helper()
	if err := w.Recover(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func checkRows(t *testing.T, w *Writer, wantRows [][]any, wantFiles int) {
	t.Helper()
	got, files := committedRows(t, w)
	if !reflect.DeepEqual(got, wantRows) {
		t.Errorf("committed rows:\n%v\nwant:\n%v", got, wantRows)
	}
	if files != wantFiles {
		t.Errorf("%d committed files, want %d: %q", files, wantFiles, parquetKeys(t, w.store))
	}
}

func decodeManifest(t *testing.T, m []byte) Manifest {
	t.Helper()
	var man Manifest
	if err := json.Unmarshal(m, &man); err != nil {
		t.Fatal(err)
	}
	return man
}

func TestCommitProtocol(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, path string)
	}{
		{"prepare then commit", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			write(t, w, rowsB)
			m := prepare(t, w, 3)
			man := decodeManifest(t, m)
			// rowsA are on the 25th, rowsB on the 26th: 3 rows each, in
			// files of at most 2.
			finals := []string{
				"window_start_date=2026-11-25/part-test-lake-00000000000000000003-00000.zstd.parquet",
				"window_start_date=2026-11-25/part-test-lake-00000000000000000003-00001.zstd.parquet",
				"window_start_date=2026-11-26/part-test-lake-00000000000000000003-00002.zstd.parquet",
				"window_start_date=2026-11-26/part-test-lake-00000000000000000003-00003.zstd.parquet",
			}
			var got []string
			var rows int64
			for _, f := range man.Files {
				got = append(got, f.Final)
				rows += f.Rows
				if !strings.HasPrefix(f.Temp, "_sluice_tmp/test/lake/") || !strings.HasSuffix(f.Temp, ".parquet.tmp") || f.Bytes <= 0 {
					t.Errorf("manifest file %+v", f)
				}
			}
			if !reflect.DeepEqual(got, finals) || rows != 6 || man.Epoch != 3 || man.Sink != "lake" || man.Pipeline != "test" {
				t.Errorf("manifest = %s", m)
			}
			if ks := parquetKeys(t, w.store); len(ks) != 0 {
				t.Errorf("visible before commit: %q", ks)
			}
			if ks := keysUnder(t, w.store, "_sluice_tmp/"); len(ks) != 4 {
				t.Errorf("temporaries = %q, want 4", ks)
			}
			commit(t, w, m)
			checkRows(t, w, want(rowsA, rowsB), 4)
			if got := parquetKeys(t, w.store); !reflect.DeepEqual(got, finals) {
				t.Errorf("committed = %q, want %q", got, finals)
			}
			if ks := keysUnder(t, w.store, "_sluice_tmp/"); len(ks) != 0 {
				t.Errorf("temporaries left: %q", ks)
			}
			if m := prepare(t, w, 4); m != nil {
				t.Errorf("empty epoch manifest = %s, want nil", m)
			}
			commit(t, w, nil)
		}},
		{"commit twice", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			m := prepare(t, w, 1)
			commit(t, w, m)
			commit(t, w, m)
			checkRows(t, w, want(rowsA), 2)
		}},
		{"crash in the middle of a commit", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			write(t, w, rowsB)
			m := prepare(t, w, 1)
			man := decodeManifest(t, m)
			ctx := context.Background()
			// File 0 was moved; file 1 was copied but its temporary not
			// yet deleted (what an object store's copy-then-delete leaves).
			if err := w.store.Promote(ctx, man.Files[0].Temp, man.Files[0].Final); err != nil {
				t.Fatal(err)
			}
			data, err := w.store.Get(ctx, man.Files[1].Temp)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.store.Put(ctx, man.Files[1].Final, data); err != nil {
				t.Fatal(err)
			}
			w2 := open(t, protocolSink(t, path), &clock{})
			recoverWith(t, w2, m)
			checkRows(t, w2, want(rowsA, rowsB), 4)
			if ks := keysUnder(t, w2.store, "_sluice_tmp/"); len(ks) != 0 {
				t.Errorf("temporaries left: %q", ks)
			}
		}},
		{"crash between prepare and commit", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			m := prepare(t, w, 5)
			// The process dies: w is never used again. A new run
			// resumes from the checkpoint holding m.
			w2 := open(t, protocolSink(t, path), &clock{})
			recoverWith(t, w2, m)
			checkRows(t, w2, want(rowsA), 2)
			write(t, w2, rowsB)
			commit(t, w2, prepare(t, w2, 6))
			checkRows(t, w2, want(rowsA, rowsB), 4)
		}},
		{"crash after more rows than the manifest", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			m := prepare(t, w, 1)
			commit(t, w, m)
			write(t, w, rowsB) // rolled files complete, one still open
			w.mu.Lock()
			done := len(w.done)
			w.mu.Unlock()
			if done == 0 {
				t.Fatal("no rolled temporary: the test would prove nothing")
			}
			// Crash: the checkpoint holds m (already committed). The
			// resumed run recovers with it, then writes rowsB again.
			w2 := open(t, protocolSink(t, path), &clock{})
			recoverWith(t, w2, m)
			checkRows(t, w2, want(rowsA), 2)
			if ks := keysUnder(t, w2.store, "_sluice_tmp/"); len(ks) != 0 {
				t.Errorf("temporaries left after recover: %q", ks)
			}
			write(t, w2, rowsB)
			commit(t, w2, prepare(t, w2, 2))
			checkRows(t, w2, want(rowsA, rowsB), 4)
		}},
		{"recover without a manifest", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			_ = prepare(t, w, 1) // never checkpointed
			other := buildSink(t, fmt.Sprintf(`sink "parquet" "other" { path = %q }`, path), windowRows)
			wo := open(t, other, &clock{})
			write(t, wo, rowsB)
			mo := prepare(t, wo, 1)
			w2 := open(t, protocolSink(t, path), &clock{})
			recoverWith(t, w2, nil)
			if ks := keysUnder(t, w2.store, "_sluice_tmp/test/lake/"); len(ks) != 0 {
				t.Errorf("temporaries left: %q", ks)
			}
			// Another sink's temporaries are not touched.
			commit(t, wo, mo)
			checkRows(t, w2, want(rowsB), 1)
		}},
		{"recover on an empty store", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			recoverWith(t, w, nil)
			recoverWith(t, w, []byte(`{"files":[]}`))
			write(t, w, rowsA)
			commit(t, w, prepare(t, w, 1))
			checkRows(t, w, want(rowsA), 2)
		}},
		{"close leaves rows since the last prepare uncommitted", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			m := prepare(t, w, 1)
			write(t, w, rowsB)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second close: %v", err)
			}
			if err := w.Write(context.Background(), batch(windowRows, rowsA...)); err == nil {
				t.Error("write after close succeeded")
			}
			w2 := open(t, protocolSink(t, path), &clock{})
			recoverWith(t, w2, m)
			checkRows(t, w2, want(rowsA), 2)
			if ks := keysUnder(t, w2.store, "_sluice_tmp/"); len(ks) != 0 {
				t.Errorf("temporaries left: %q", ks)
			}
		}},
		{"lost output is an error", func(t *testing.T, path string) {
			w := open(t, protocolSink(t, path), &clock{})
			write(t, w, rowsA)
			m := prepare(t, w, 1)
			man := decodeManifest(t, m)
			if err := w.store.Delete(context.Background(), man.Files[0].Temp); err != nil {
				t.Fatal(err)
			}
			err := w.Commit(context.Background(), m)
			if err == nil || !strings.Contains(err.Error(), "is lost") {
				t.Errorf("commit = %v, want an error saying the output is lost", err)
			}
		}},
	}
	for _, st := range protocolStores {
		t.Run(st.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					sc.run(t, st.path(t))
				})
			}
		})
	}
}

func TestManifestChecks(t *testing.T) {
	s := protocolSink(t, "file://"+t.TempDir())
	w := openMem(t, s, &clock{})
	ctx := context.Background()
	good := Manifest{Version: 1, Location: s.Location.Root(), Pipeline: "test", Sink: "lake", Epoch: 1,
		Files: []ManifestFile{{Temp: "_sluice_tmp/test/lake/x.parquet.tmp", Final: "a=1/part-x.parquet", Bytes: 1}}}
	tests := []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"other location", func(m *Manifest) { m.Location = "file:///elsewhere" }, "sink now writes to"},
		{"other version", func(m *Manifest) { m.Version = 2 }, "manifest version 2"},
		{"other pipeline", func(m *Manifest) { m.Pipeline = "other" }, `for pipeline "other" sink "lake"`},
		{"other task", func(m *Manifest) { m.Task = "3" }, `for task "3", not task ""`},
		{"temp of a task", func(m *Manifest) { m.Files[0].Temp = "_sluice_tmp/test/lake/t3/x.parquet.tmp" }, "does not write"},
		{"temp of another sink", func(m *Manifest) { m.Files[0].Temp = "_sluice_tmp/test/other/x.parquet.tmp" }, "does not write"},
		{"final outside", func(m *Manifest) { m.Files[0].Final = "../x.parquet" }, "does not write"},
		{"final among temporaries", func(m *Manifest) { m.Files[0].Final = "_sluice_tmp/x.parquet" }, "does not write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			m.Files = append([]ManifestFile(nil), good.Files...)
			tt.change(&m)
			data, _ := json.Marshal(m)
			if err := w.Commit(ctx, data); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("commit = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := w.Commit(ctx, []byte("{not json")); err == nil {
		t.Error("bad JSON accepted")
	}
	if _, err := w.Prepare(ctx, -1); err == nil {
		t.Error("negative epoch accepted")
	}
}
