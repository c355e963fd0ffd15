package nexmark_test

import (
	"os"
	"testing"

	"github.com/sluice-io/sluice/internal/duckdbtest"
)

// duckDB returns a function that runs SQL statements with DuckDB, in
// order, failing the test at the first error.
func duckDB(t *testing.T) func(statements ...string) {
	return duckdbtest.Open(t, "run the Nexmark queries' published SQL").Run
}

// readFile returns the content of path, failing the test otherwise.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
