package delta

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// windowRows is the schema of the reference pipeline's window results.
var windowRows = record.Schema{Columns: []record.Column{
	{Name: "window_start", Type: record.ColumnTimestamp},
	{Name: "window_end", Type: record.ColumnTimestamp},
	{Name: "action", Type: record.ColumnString},
	{Name: "events", Type: record.ColumnInt},
	{Name: "users", Type: record.ColumnInt},
}}

// clock is a manual processing-time clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testStores are the stores the behaviour tests run on: a local folder
// and a prefix of an in-process S3 server (gofakes3, which keeps a stale
// checksum on overwritten keys: hence response_checksum_validation).
var testStores = []struct {
	name string
	loc  func(t testing.TB) string
}{
	{"file", func(t testing.TB) string { return "file://" + filepath.Join(t.TempDir(), "table") }},
	{"s3", func(t testing.TB) string { return "s3://lake/tables/t?" + startS3(t) }},
}

// startS3 starts gofakes3 holding the bucket "lake" and returns the query
// of s3:// locations that reach it.
func startS3(t testing.TB) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	return "region=us-east-1&endpoint=" + srv.URL + "&use_path_style=true&anonymous=true&response_checksum_validation=when_required"
}

// buildSink builds `sink "delta" "lake"` at loc with extra arguments.
func buildSink(t testing.TB, loc, extra string, input record.Schema) *Sink {
	t.Helper()
	c, diags := plugintest.Build(Plugin, fmt.Sprintf("sink \"delta\" \"lake\" {\n  path = %q\n%s\n}", loc, extra), input)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c.(*Sink)
}

// open opens s with clk, closing the writer at the end of the test.
func open(t testing.TB, s *Sink, clk *clock, checkpoints bool) *Writer {
	t.Helper()
	rt := &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Now: clk.now, Checkpoints: checkpoints}
	pw, err := s.Open(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	w := pw.(*Writer)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// openLog opens the table at loc for reading in the test.
func openLog(t testing.TB, loc string) *deltalog.Log {
	t.Helper()
	l, diags := objstore.ParseLocation(schema.Text{Value: loc}, t.TempDir(), "the test table")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, err := objstore.Open(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return deltalog.New(st)
}

// windowBatch returns n window rows starting at minute first: two
// actions alternating, events = minute, users = minute/2.
func windowBatch(first, n int) *record.Batch {
	b := record.NewBatch(windowRows, n)
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := first; i < first+n; i++ {
		start := base + int64(i)*60_000
		plugintest.AppendRow(b, record.Origin{}, start, start+60_000, []string{"view", "click"}[i%2], int64(i), int64(i/2))
	}
	return b
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// commitEpoch writes b, prepares epoch and commits it.
func commitEpoch(t testing.TB, w *Writer, b *record.Batch, epoch int64) []byte {
	t.Helper()
	ctx := context.Background()
	if b != nil {
		must(t, w.Write(ctx, b))
	}
	m, err := w.Prepare(ctx, epoch)
	must(t, err)
	must(t, w.Commit(ctx, m))
	return m
}

// liveRows returns the sum of numRecords of the live files and their
// sorted paths.
func liveRows(t testing.TB, s *deltalog.Snapshot) (int64, []string) {
	t.Helper()
	rows, ok := s.Rows()
	if !ok {
		t.Fatal("a live file has no numRecords")
	}
	var paths []string
	for p := range s.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return rows, paths
}
