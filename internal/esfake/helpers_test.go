package esfake_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/sluice-io/sluice/internal/esfake"
)

// start starts a double, closed when the test ends.
func start(t *testing.T, opts esfake.Options) *esfake.Server {
	t.Helper()
	s, err := esfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// client returns a go-elasticsearch client of s without retries, so that
// every answer of the double reaches the test.
func client(t *testing.T, s *esfake.Server, cfg elasticsearch.Config) *elasticsearch.Client {
	t.Helper()
	if cfg.Addresses == nil {
		cfg.Addresses = []string{s.URL()}
	}
	cfg.DisableRetry = true
	c, err := elasticsearch.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// decode returns a function that reads a response's JSON body and closes
// it, failing the test on a transport error: decode(t)(c.Get(index, id)).
func decode(t *testing.T) func(res *esapi.Response, err error) (int, map[string]any) {
	return func(res *esapi.Response, err error) (int, map[string]any) {
		t.Helper()
		return decodeResponse(t, res, err)
	}
}

func decodeResponse(t *testing.T, res *esapi.Response, err error) (int, map[string]any) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("response %q: %v", b, err)
		}
	}
	return res.StatusCode, v
}

// bulk sends an NDJSON body (lines joined with newlines) and returns the
// HTTP status and the decoded response.
func bulk(t *testing.T, c *elasticsearch.Client, lines ...string) (int, map[string]any) {
	t.Helper()
	body := strings.Join(lines, "\n") + "\n"
	return decode(t)(c.Bulk(strings.NewReader(body)))
}

// itemResult is what the tests compare of one bulk item.
type itemResult struct {
	Op, Result string
	Status     int
	ErrorType  string
}

// items extracts the items of a bulk response.
func items(t *testing.T, resp map[string]any) []itemResult {
	t.Helper()
	list, _ := resp["items"].([]any)
	var out []itemResult
	for _, e := range list {
		for op, v := range e.(map[string]any) {
			it := v.(map[string]any)
			r := itemResult{Op: op, Status: int(it["status"].(float64))}
			r.Result, _ = it["result"].(string)
			if e, ok := it["error"].(map[string]any); ok {
				r.ErrorType, _ = e["type"].(string)
			}
			out = append(out, r)
		}
	}
	return out
}

// count returns the _count of an index expression.
func count(t *testing.T, c *elasticsearch.Client, index string) int {
	t.Helper()
	status, resp := decode(t)(c.Count(c.Count.WithIndex(index)))
	if status != 200 {
		t.Fatalf("_count %s: %d %v", index, status, resp)
	}
	return int(resp["count"].(float64))
}
