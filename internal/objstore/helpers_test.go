package objstore

import (
	"context"
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
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
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
