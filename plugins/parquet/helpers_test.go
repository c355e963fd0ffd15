package parquet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	pq "github.com/parquet-go/parquet-go"
	"gocloud.dev/blob/memblob"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// clock is a manual processing-time clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// buildSink builds src against input, failing the test on any diagnostic.
func buildSink(t testing.TB, src string, input record.Schema) *Sink {
	t.Helper()
	c, diags := plugintest.Build(Plugin, src, input)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c.(*Sink)
}

// open opens s with a manual clock, closing the writer at the end of the
// test.
func open(t testing.TB, s *Sink, clk *clock) *Writer {
	t.Helper()
	rt := &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Now: clk.now}
	pw, err := s.Open(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	w := pw.(*Writer)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// batch returns a batch of rec holding rows.
func batch(rec record.Schema, rows ...[]any) *record.Batch {
	b := record.NewBatch(rec, len(rows))
	for i, r := range rows {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, r...)
	}
	return b
}

// windowRow returns a row of windowRows for the minute starting at start.
func windowRow(start time.Time, action string, events, users int) []any {
	return []any{start.UnixMilli(), start.Add(time.Minute).UnixMilli(), action, events, users}
}

// keys lists every object of the store in order.
func keys(t testing.TB, st *objstore.Store) []string {
	t.Helper()
	ks, err := st.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ks)
	return ks
}

// keysUnder returns the keys of the store under prefix, in order.
func keysUnder(t testing.TB, st *objstore.Store, prefix string) []string {
	var out []string
	for _, k := range keys(t, st) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// parquetKeys returns the keys of committed files, in order.
func parquetKeys(t testing.TB, st *objstore.Store) []string {
	var out []string
	for _, k := range keys(t, st) {
		if strings.HasSuffix(k, ".parquet") {
			out = append(out, k)
		}
	}
	return out
}

// readFile reads the Parquet object key of st: its schema as parquet-go
// prints it and its rows, each value as nil, int64, float64, bool or
// string.
func readFile(t testing.TB, st *objstore.Store, key string) (string, [][]any) {
	t.Helper()
	data, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return decodeParquet(t, data)
}

// decodeParquet decodes a whole Parquet file.
func decodeParquet(t testing.TB, data []byte) (string, [][]any) {
	t.Helper()
	f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]pq.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, row := range buf[:n] {
				out := make([]any, len(row))
				for i, v := range row {
					out[i] = goValue(v)
				}
				rows = append(rows, out)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		_ = rr.Close()
	}
	return f.Schema().String(), rows
}

func goValue(v pq.Value) any {
	if v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case pq.Int64:
		return v.Int64()
	case pq.Double:
		return v.Double()
	case pq.Boolean:
		return v.Boolean()
	case pq.ByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

// startS3 starts an in-process S3 server holding the bucket "lake" and
// returns the query of s3:// paths that reach it.
func startS3(t testing.TB) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	// anonymous: no credentials lookup; response_checksum_validation:
	// gofakes3 keeps a stale checksum when a key is overwritten (see
	// internal/objstore's package documentation).
	return "region=us-east-1&endpoint=" + srv.URL + "&use_path_style=true&anonymous=true&response_checksum_validation=when_required"
}

// openMem returns a writer of s to a bucket in memory.
func openMem(t testing.TB, s *Sink, clk *clock) *Writer {
	t.Helper()
	rt := &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Now: clk.now}
	w := newWriter(s, objstore.FromBucket(memblob.OpenBucket(nil)), rt)
	t.Cleanup(func() { _ = w.Close() })
	return w
}
