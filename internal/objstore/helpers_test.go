package objstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sluice-io/sluice/schema"
)

// startS3 starts an in-process S3 server (gofakes3, in memory) holding the
// bucket "lake" and returns the query of s3:// locations that reach it,
// without credentials (anonymous) and without the checksum option.
func startS3(t testing.TB) string {
	return s3Query(serveS3(t, nil))
}

// serveS3 starts an in-process S3 server as startS3 does, its handler
// wrapped by wrap unless nil, and stops it at the end of the test.
func serveS3(t testing.TB, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// s3Query returns the query of s3:// locations that reach srv.
func s3Query(srv *httptest.Server) string {
	return "region=us-east-1&endpoint=" + srv.URL + "&use_path_style=true&anonymous=true"
}

// whenRequired turns off the SDK's validation of response checksums,
// which gofakes3 breaks on overwritten keys.
const whenRequired = "&response_checksum_validation=when_required"

// testStores are the stores the behaviour tests run on; each opens a
// fresh one.
var testStores = []struct {
	Name string
	Loc  func(t testing.TB) string // a fresh store's location
}{
	{"file", func(t testing.TB) string { return "file://" + filepath.Join(t.TempDir(), "store") }},
	{"s3", func(t testing.TB) string { return "s3://lake?" + startS3(t) + whenRequired }},
	{"s3 prefix", func(t testing.TB) string { return "s3://lake/a/b?" + startS3(t) + whenRequired }},
}

// openAt parses and opens the location written as s, closing the store
// at the end of the test.
func openAt(t testing.TB, s string) *Store {
	t.Helper()
	loc, diags := ParseLocation(schema.Text{Value: s}, t.TempDir(), "the test store")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, err := Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
