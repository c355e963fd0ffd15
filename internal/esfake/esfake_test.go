package esfake_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/internal/pulsartest"
)

func TestBulkItemStatuses(t *testing.T) {
	s := start(t, esfake.Options{RefreshInterval: -1})
	c := client(t, s, elasticsearch.Config{})
	steps := []struct {
		name  string
		lines []string
		want  []itemResult
	}{
		{"index creates then updates", []string{
			`{"index":{"_index":"clicks","_id":"1"}}`, `{"n":1,"action":"view"}`,
			`{"index":{"_index":"clicks","_id":"1"}}`, `{"n":2,"action":"view"}`,
		}, []itemResult{{"index", "created", 201, ""}, {"index", "updated", 200, ""}}},
		{"create conflicts on an existing id", []string{
			`{"create":{"_index":"clicks","_id":"1"}}`, `{"n":3}`,
			`{"create":{"_index":"clicks","_id":"2"}}`, `{"n":3}`,
		}, []itemResult{{"create", "", 409, "version_conflict_engine_exception"}, {"create", "created", 201, ""}}},
		{"update as upsert, then a noop, then a change", []string{
			`{"update":{"_index":"clicks","_id":"3"}}`, `{"doc":{"n":4},"doc_as_upsert":true}`,
			`{"update":{"_index":"clicks","_id":"3"}}`, `{"doc":{"n":4},"doc_as_upsert":true}`,
			`{"update":{"_index":"clicks","_id":"3"}}`, `{"doc":{"n":5},"doc_as_upsert":true}`,
		}, []itemResult{{"update", "created", 201, ""}, {"update", "noop", 200, ""}, {"update", "updated", 200, ""}}},
		{"update of a missing document without upsert", []string{
			`{"update":{"_index":"clicks","_id":"404"}}`, `{"doc":{"n":1}}`,
		}, []itemResult{{"update", "", 404, "document_missing_exception"}}},
		{"mapping conflict: a string in a long field", []string{
			`{"index":{"_index":"clicks","_id":"4"}}`, `{"n":"many"}`,
			`{"index":{"_index":"clicks","_id":"5"}}`, `{"n":"12"}`,
		}, []itemResult{{"index", "", 400, "document_parsing_exception"}, {"index", "created", 201, ""}}},
		{"invalid index name", []string{
			`{"index":{"_index":"Clicks","_id":"1"}}`, `{"n":1}`,
		}, []itemResult{{"index", "", 400, "invalid_index_name_exception"}}},
		{"delete", []string{
			`{"delete":{"_index":"clicks","_id":"2"}}`,
			`{"delete":{"_index":"clicks","_id":"2"}}`,
			`{"delete":{"_index":"nothing","_id":"2"}}`,
		}, []itemResult{{"delete", "deleted", 200, ""}, {"delete", "not_found", 404, ""}, {"delete", "", 404, "index_not_found_exception"}}},
	}
	for _, st := range steps {
		status, resp := bulk(t, c, st.lines...)
		if status != 200 {
			t.Fatalf("%s: status %d: %v", st.name, status, resp)
		}
		got := items(t, resp)
		if !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s:\n got %v\nwant %v", st.name, got, st.want)
		}
		wantErrors := false
		for _, it := range st.want {
			wantErrors = wantErrors || it.ErrorType != ""
		}
		if resp["errors"] != wantErrors {
			t.Errorf("%s: errors = %v, want %v", st.name, resp["errors"], wantErrors)
		}
	}
	if got := s.MappingType("clicks", "n"); got != "long" {
		t.Errorf("n is mapped as %q, want long", got)
	}
	status, doc := decode(t)(c.Get("clicks", "3"))
	if status != 200 || !reflect.DeepEqual(doc["_source"], map[string]any{"n": 5.0}) || doc["_version"] != 2.0 {
		t.Errorf("GET clicks/3 = %d %v", status, doc)
	}
	if status, _ := decode(t)(c.Get("clicks", "2")); status != 404 {
		t.Errorf("GET of a deleted document: %d", status)
	}
}

func TestBulkRefusedAsAWhole(t *testing.T) {
	s := start(t, esfake.Options{})
	c := client(t, s, elasticsearch.Config{})
	for _, tc := range []struct {
		name, body, wantType string
	}{
		{"no newline at the end", `{"index":{"_index":"a"}}` + "\n" + `{"n":1}`, "illegal_argument_exception"},
		{"no index", `{"index":{}}` + "\n" + `{"n":1}` + "\n", "action_request_validation_exception"},
		{"unknown action", `{"upsert":{"_index":"a"}}` + "\n" + `{"n":1}` + "\n", "illegal_argument_exception"},
		{"update without an id", `{"update":{"_index":"a"}}` + "\n" + `{"doc":{}}` + "\n", "action_request_validation_exception"},
	} {
		status, resp := decode(t)(c.Bulk(strings.NewReader(tc.body)))
		e, _ := resp["error"].(map[string]any)
		if status != 400 || e == nil || e["type"] != tc.wantType {
			t.Errorf("%s: %d %v, want 400 %s", tc.name, status, resp, tc.wantType)
		}
	}
}

func TestMappingConflicts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, then string
		wantStatus  int
	}{
		{"long accepts a float (truncated)", `{"f":1}`, `{"f":1.5}`, 201},
		{"long refuses text", `{"f":1}`, `{"f":"x"}`, 400},
		{"long refuses a bool", `{"f":1}`, `{"f":true}`, 400},
		{"text accepts a number", `{"f":"x"}`, `{"f":1}`, 201},
		{"date from an RFC 3339 string", `{"f":"2026-11-25T12:00:00.000Z"}`, `{"f":"yesterday"}`, 400},
		{"date accepts epoch millis", `{"f":"2026-11-25T12:00:00Z"}`, `{"f":1764072000000}`, 201},
		{"boolean refuses other text", `{"f":true}`, `{"f":"yes"}`, 400},
		{"object refuses a value", `{"f":{"g":1}}`, `{"f":2}`, 400},
		{"a value refuses an object", `{"f":2}`, `{"f":{"g":1}}`, 400},
		{"nested fields are mapped", `{"f":{"g":1}}`, `{"f":{"g":"x"}}`, 400},
		{"null maps nothing", `{"f":null}`, `{"f":"x"}`, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, esfake.Options{RefreshInterval: -1})
			c := client(t, s, elasticsearch.Config{})
			_, resp := bulk(t, c, `{"index":{"_index":"m","_id":"1"}}`, tc.first, `{"index":{"_index":"m","_id":"2"}}`, tc.then)
			got := items(t, resp)
			if got[0].Status != 201 || got[1].Status != tc.wantStatus {
				t.Errorf("statuses %v, want 201 then %d", got, tc.wantStatus)
			}
		})
	}
}

func TestExplicitMappingsAndStrict(t *testing.T) {
	s := start(t, esfake.Options{})
	c := client(t, s, elasticsearch.Config{})
	status, resp := decode(t)(c.Indices.Create("strict", c.Indices.Create.WithBody(strings.NewReader(
		`{"mappings":{"dynamic":"strict","properties":{"n":{"type":"integer"},"o":{"properties":{"s":{"type":"keyword"}}}}}}`))))
	if status != 200 || resp["acknowledged"] != true {
		t.Fatalf("create: %d %v", status, resp)
	}
	if status, _ := decode(t)(c.Indices.Create("strict")); status != 400 {
		t.Errorf("creating an existing index: %d, want 400", status)
	}
	_, resp = bulk(t, c,
		`{"index":{"_index":"strict","_id":"1"}}`, `{"n":1,"o":{"s":"x"}}`,
		`{"index":{"_index":"strict","_id":"2"}}`, `{"n":1,"extra":true}`,
		`{"index":{"_index":"strict","_id":"3"}}`, `{"n":3000000000}`)
	got := items(t, resp)
	want := []itemResult{{"index", "created", 201, ""}, {"index", "", 400, "strict_dynamic_mapping_exception"}, {"index", "", 400, "document_parsing_exception"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestAutoCreateDisabled(t *testing.T) {
	s := start(t, esfake.Options{DisableAutoCreate: true})
	c := client(t, s, elasticsearch.Config{})
	_, resp := bulk(t, c, `{"update":{"_index":"missing","_id":"1"}}`, `{"doc":{"n":1},"doc_as_upsert":true}`,
		`{"index":{"_index":"missing","_id":"1"}}`, `{"n":1}`)
	want := []itemResult{{"update", "", 404, "index_not_found_exception"}, {"index", "", 404, "index_not_found_exception"}}
	if got := items(t, resp); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRefreshMakesDocumentsSearchable(t *testing.T) {
	s := start(t, esfake.Options{RefreshInterval: -1})
	c := client(t, s, elasticsearch.Config{})
	bulk(t, c, `{"index":{"_index":"r-1","_id":"a"}}`, `{"n":1}`, `{"index":{"_index":"r-2","_id":"b"}}`, `{"n":2}`)
	if n := count(t, c, "r-*"); n != 0 {
		t.Errorf("before a refresh, _count = %d, want 0", n)
	}
	if status, _ := decode(t)(c.Get("r-1", "a")); status != 200 {
		t.Errorf("GET before a refresh: %d, want 200 (GET is real-time)", status)
	}
	if status, _ := decode(t)(c.Indices.Refresh(c.Indices.Refresh.WithIndex("r-*"))); status != 200 {
		t.Fatalf("refresh: %d", status)
	}
	if n := count(t, c, "r-*"); n != 2 {
		t.Errorf("after a refresh, _count = %d, want 2", n)
	}
	if status, _ := decode(t)(c.Count(c.Count.WithIndex("absent"))); status != 404 {
		t.Errorf("_count of a missing index: %d, want 404", status)
	}
	status, resp := decode(t)(c.Search(c.Search.WithIndex("r-1,r-2"), c.Search.WithBody(strings.NewReader(`{"query":{"match_all":{}},"size":1}`))))
	hits := resp["hits"].(map[string]any)
	if status != 200 || hits["total"].(map[string]any)["value"] != 2.0 || len(hits["hits"].([]any)) != 1 {
		t.Errorf("search: %d %v", status, resp)
	}
	status, _ = decode(t)(c.Search(c.Search.WithIndex("r-1"), c.Search.WithBody(strings.NewReader(`{"query":{"term":{"n":1}}}`))))
	if status != 400 {
		t.Errorf("a term query: %d, want 400 (refused)", status)
	}
	bulk(t, c, `{"index":{"_index":"r-1","_id":"c"}}`, `{"n":3}`)
	if _, err := c.Bulk(strings.NewReader(`{"index":{"_index":"r-1","_id":"d"}}`+"\n{}\n"), c.Bulk.WithRefresh("true")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "r-1"); n != 3 {
		t.Errorf("after ?refresh=true, _count = %d, want 3", n)
	}
}

func TestInjectedFaults(t *testing.T) {
	s := start(t, esfake.Options{})
	c := client(t, s, elasticsearch.Config{})
	s.FailRequests(2, 429)
	for i := range 2 {
		status, resp := bulk(t, c, `{"index":{"_index":"f","_id":"1"}}`, `{"n":1}`)
		if status != 429 || resp["error"].(map[string]any)["type"] != "es_rejected_execution_exception" {
			t.Errorf("request %d: %d %v, want 429", i, status, resp)
		}
	}
	s.FailRequests(1, 503)
	if status, _ := bulk(t, c, `{"index":{"_index":"f","_id":"1"}}`, `{"n":1}`); status != 503 {
		t.Errorf("status %d, want 503", status)
	}
	if docs := s.Docs("f"); docs != nil {
		t.Errorf("failed requests were applied: %v", docs)
	}
	s.RejectItems(1)
	_, resp := bulk(t, c, `{"index":{"_index":"f","_id":"1"}}`, `{"n":1}`, `{"index":{"_index":"f","_id":"2"}}`, `{"n":2}`)
	want := []itemResult{{"index", "", 429, "es_rejected_execution_exception"}, {"index", "created", 201, ""}}
	if got := items(t, resp); !reflect.DeepEqual(got, want) || resp["errors"] != true {
		t.Errorf("partial failure: %v, want %v", got, want)
	}
	for _, after := range []bool{false, true} {
		s.DropConnections(1, after)
		_, err := c.Bulk(strings.NewReader(`{"index":{"_index":"f","_id":"3"}}` + "\n" + `{"n":3}` + "\n"))
		if err == nil {
			t.Errorf("dropped connection (after apply %v): no error", after)
		}
		if _, applied := s.Docs("f")["3"]; applied != after {
			t.Errorf("dropped connection (after apply %v): applied = %v", after, applied)
		}
	}
	st := s.Stats()
	if st.FailedBulks != 3 || st.RejectedItems != 1 || st.Dropped != 2 {
		t.Errorf("stats %+v", st)
	}
	s.SetLatency(20 * time.Millisecond)
	begin := time.Now()
	bulk(t, c, `{"index":{"_index":"f","_id":"4"}}`, `{"n":4}`)
	if time.Since(begin) < 20*time.Millisecond {
		t.Errorf("latency not applied")
	}
}

func TestAuthentication(t *testing.T) {
	opts := esfake.Options{Username: "elastic", Password: "changeme", APIKey: base64.StdEncoding.EncodeToString([]byte("id:key")), BearerToken: "tok"}
	s := start(t, opts)
	for _, tc := range []struct {
		name string
		cfg  elasticsearch.Config
		want int
	}{
		{"basic", elasticsearch.Config{Username: "elastic", Password: "changeme"}, 200},
		{"wrong password", elasticsearch.Config{Username: "elastic", Password: "nope"}, 401},
		{"api key", elasticsearch.Config{APIKey: opts.APIKey}, 200},
		{"wrong api key", elasticsearch.Config{APIKey: "eDp5"}, 401},
		{"bearer", elasticsearch.Config{Header: http.Header{"Authorization": {"Bearer tok"}}}, 200},
		{"none", elasticsearch.Config{}, 401},
	} {
		c := client(t, s, tc.cfg)
		status, _ := bulk(t, c, `{"index":{"_index":"a","_id":"1"}}`, `{"n":1}`)
		if status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
		}
	}
}

func TestGzipBodies(t *testing.T) {
	s := start(t, esfake.Options{})
	c := client(t, s, elasticsearch.Config{CompressRequestBody: true})
	_, resp := bulk(t, c, `{"index":{"_index":"z","_id":"1"}}`, `{"n":1}`)
	if got := items(t, resp); len(got) != 1 || got[0].Status != 201 {
		t.Errorf("items %v", got)
	}
	if s.Stats().Gzipped == 0 {
		t.Error("the client sent no gzip body")
	}
}

func TestTLS(t *testing.T) {
	ca, err := pulsartest.NewTestCA(t.TempDir(), "esfake test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _, err := ca.Issue("localhost", false, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, esfake.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, s, elasticsearch.Config{CACert: pem})
	if status, _ := decode(t)(c.Info()); status != 200 {
		t.Errorf("info over TLS: %d", status)
	}
	untrusted := client(t, s, elasticsearch.Config{})
	if _, err := untrusted.Info(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an untrusted certificate: %v", err)
	}
}

func TestProductCheck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opensearch bool
		wantErr    string
	}{
		{"elasticsearch", false, ""},
		{"opensearch", true, "not Elasticsearch"},
	} {
		s := start(t, esfake.Options{OpenSearch: tc.opensearch})
		c := client(t, s, elasticsearch.Config{})
		_, err := c.Info()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

// copyingTransport sends a copy of each request's body. esutil's
// BulkIndexer (v8.19.7) resets its buffer once the response is in, while
// net/http's writing goroutine may still be finishing the body's WriteTo
// (which resets the same buffer): a data race in the library, not in the
// double, that -race reports now and then.
type copyingTransport struct{ next http.RoundTripper }

func (c copyingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return c.next.RoundTrip(req)
}

func TestBulkIndexer(t *testing.T) {
	s := start(t, esfake.Options{})
	c := client(t, s, elasticsearch.Config{Transport: copyingTransport{http.DefaultTransport}})
	var failed atomic.Int64
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: c, Index: "bi", NumWorkers: 2, FlushBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		body := fmt.Sprintf(`{"i":%d}`, i)
		if i == 7 {
			body = `{"i":"seven"}`
		}
		err := bi.Add(context.Background(), esutil.BulkIndexerItem{Action: "index", DocumentID: fmt.Sprint(i), Body: bytes.NewReader([]byte(body)),
			OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) { failed.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := bi.Stats()
	if st.NumIndexed != n-1 || st.NumFailed != 1 || failed.Load() != 1 {
		t.Errorf("stats %+v, failures %d", st, failed.Load())
	}
	if len(s.Docs("bi")) != n-1 {
		t.Errorf("%d documents, want %d", len(s.Docs("bi")), n-1)
	}
}
