package elasticsearch

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// startES starts a double closed when the test ends.
func startES(t *testing.T, opts esfake.Options) *esfake.Server {
	t.Helper()
	s, err := esfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openSink builds a sink from the block body (urls is added) and opens
// it; rejected documents are collected in the returned slice's pointer.
func openSink(t *testing.T, url, body string, input record.Schema) (*writer, *refusals) {
	t.Helper()
	src := fmt.Sprintf("sink \"elasticsearch\" \"es\" {\n  urls = [%q]\n%s\n}", url, body)
	c, diags := plugintest.Build(Plugin, src, input)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	w, err := c.(*Sink).Open(context.Background(), &plugins.Runtime{Pipeline: "test", Checkpoints: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	ww := w.(*writer)
	return ww, &refusals{w: ww}
}

// refusals collects what a writer hands over through Rejected, as the
// runner does after every Write and Prepare.
type refusals struct {
	w   *writer
	got []plugins.DeadRecord
}

// all returns every refused row handed over so far.
func (r *refusals) all() []plugins.DeadRecord {
	r.got = append(r.got, r.w.Rejected()...)
	return r.got
}

// windowBatch returns window results of minute m (from 2026-11-25 00:00
// UTC) for the actions, events = base + i.
func windowBatch(day, minute int, base int64, actions ...string) *record.Batch {
	b := record.NewBatch(windows, len(actions))
	start := time.Date(2026, 11, 25+day, 0, minute, 0, 0, time.UTC).UnixMilli()
	for i, a := range actions {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, start, start+60_000, a, base+int64(i), 0.5)
	}
	return b
}

func writeAndPrepare(t *testing.T, w *writer, batches ...*record.Batch) {
	t.Helper()
	ctx := context.Background()
	for _, b := range batches {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Prepare(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestReplayOverwrites(t *testing.T) {
	es := startES(t, esfake.Options{})
	w, dead := openSink(t, es.URL(), `  index = "clicks-{window_start|yyyy.MM.dd}"`, windows)
	writeAndPrepare(t, w, windowBatch(0, 0, 1, "view", "click"), windowBatch(1, 5, 10, "view"))
	first := map[string]map[string]json.RawMessage{}
	for _, ix := range es.Indices() {
		first[ix] = es.Docs(ix)
	}
	writeAndPrepare(t, w, windowBatch(0, 0, 1, "view", "click"), windowBatch(1, 5, 10, "view"))
	if got := es.Indices(); fmt.Sprint(got) != "[clicks-2026.11.25 clicks-2026.11.26]" {
		t.Fatalf("indices %v", got)
	}
	for _, ix := range es.Indices() {
		if fmt.Sprint(es.Docs(ix)) != fmt.Sprint(first[ix]) {
			t.Errorf("%s changed on replay:\n%v\n%v", ix, first[ix], es.Docs(ix))
		}
	}
	doc := es.Docs("clicks-2026.11.25")["1795564800000|click"]
	want := `{"window_start":"2026-11-25T00:00:00.000Z","window_end":"2026-11-25T00:01:00.000Z","action":"click","events":2,"rate":0.5}`
	if string(doc) != want {
		t.Errorf("document %s, want %s", doc, want)
	}
	if es.MappingType("clicks-2026.11.25", "window_start") != "date" {
		t.Errorf("window_start mapped as %q", es.MappingType("clicks-2026.11.25", "window_start"))
	}
	if len(dead.all()) != 0 {
		t.Errorf("dead letters: %v", dead.all())
	}
}

func TestMappingErrorsGoToTheDeadLetter(t *testing.T) {
	es := startES(t, esfake.Options{})
	createIndex(t, es, "m", `{"mappings":{"properties":{"v":{"type":"long"}}}}`)
	input := record.Schema{Columns: []record.Column{{Name: "id", Type: record.ColumnInt}, {Name: "v", Type: record.ColumnString}}}
	w, dead := openSink(t, es.URL(), `  index = "m"
  id    = "id"`, input)
	b := record.NewBatch(input, 3)
	plugintest.AppendRow(b, record.Origin{Partition: 0, Offset: 10}, 1, "12")
	plugintest.AppendRow(b, record.Origin{Partition: 0, Offset: 11}, 2, "twelve")
	plugintest.AppendRow(b, record.Origin{Partition: 0, Offset: 12}, nil, "x")
	writeAndPrepare(t, w, b)
	if len(dead.all()) != 2 {
		t.Fatalf("%d dead letters, want 2: %v", len(dead.all()), dead.all())
	}
	byOffset := map[int64]plugins.DeadRecord{}
	for _, d := range dead.all() {
		byOffset[d.Origin.Offset] = d
	}
	d := byOffset[11]
	if d.Origin.Offset != 11 || d.Stage != `sink "elasticsearch" "es"` || string(d.Payload) != `{"id":2,"v":"twelve"}` ||
		!strings.Contains(d.Reason, "document_parsing_exception") || !strings.Contains(d.Reason, `"2"`) {
		t.Errorf("dead letter %+v", d)
	}
	if d := byOffset[12]; d.Origin.Offset != 12 || !strings.Contains(d.Reason, "null") {
		t.Errorf("dead letter of a null id %+v", d)
	}
	if got := len(es.Docs("m")); got != 1 {
		t.Errorf("%d documents, want 1", got)
	}
	if w.Refused() != 2 {
		t.Errorf("Refused() = %d", w.Refused())
	}
}

// createIndex creates an index on the double through its REST API.
func createIndex(t *testing.T, es *esfake.Server, name, body string) {
	t.Helper()
	s := &Sink{URLs: []string{es.URL()}}
	tr, err := s.transport()
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.newClient(tr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Indices.Create(name, c.Indices.Create.WithBody(strings.NewReader(body)))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("creating %s: %v %v", name, err, res)
	}
	res.Body.Close()
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inject  func(*esfake.Server)
		retries int64
		fail    string
	}{
		{"429 storm", func(s *esfake.Server) { s.FailRequests(3, 429) }, 3, ""},
		{"503", func(s *esfake.Server) { s.FailRequests(2, 503) }, 2, ""},
		{"documents refused with 429", func(s *esfake.Server) { s.RejectItems(2) }, 1, ""},
		{"connection dropped mid request", func(s *esfake.Server) { s.DropConnections(1, false) }, 1, ""},
		{"connection dropped after applying", func(s *esfake.Server) { s.DropConnections(1, true) }, 1, ""},
		{"retries run out", func(s *esfake.Server) { s.FailRequests(100, 503) }, 3, "unavailable_shards_exception"},
		{"refused as a whole", func(s *esfake.Server) { s.FailRequests(1, 400) }, 0, "status 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := startES(t, esfake.Options{})
			w, dead := openSink(t, es.URL(), `  index = "r"
  retry {
    max_retries     = 3
    initial_backoff = "1ms"
    max_backoff     = "4ms"
  }`, windows)
			tc.inject(es)
			ctx := context.Background()
			if err := w.Write(ctx, windowBatch(0, 0, 1, "a", "b", "c")); err != nil {
				t.Fatal(err)
			}
			_, err := w.Prepare(ctx, 1)
			switch {
			case tc.fail == "" && err != nil:
				t.Fatal(err)
			case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
				t.Fatalf("error %v, want %q", err, tc.fail)
			case tc.fail == "" && len(es.Docs("r")) != 3:
				t.Errorf("%d documents, want 3", len(es.Docs("r")))
			}
			if w.Retries() != tc.retries {
				t.Errorf("Retries() = %d, want %d", w.Retries(), tc.retries)
			}
			if len(dead.all()) != 0 {
				t.Errorf("dead letters %v", dead.all())
			}
			if tc.fail != "" {
				if err := w.Write(ctx, windowBatch(0, 1, 1, "a")); err == nil {
					t.Error("Write after a failure succeeded")
				}
			}
		})
	}
}

func TestActions(t *testing.T) {
	input := record.Schema{Columns: []record.Column{{Name: "user", Type: record.ColumnString}, {Name: "n", Type: record.ColumnInt}}}
	batch := func(n int64) *record.Batch {
		b := record.NewBatch(input, 1)
		plugintest.AppendRow(b, record.Origin{}, "ann", n)
		return b
	}
	for _, tc := range []struct {
		action, want string
		conflicts    int64
	}{
		{"index", `{"user":"ann","n":2}`, 0},
		{"create", `{"user":"ann","n":1}`, 1},
		{"update", `{"extra":true,"n":2,"user":"ann"}`, 0},
	} {
		t.Run(tc.action, func(t *testing.T) {
			es := startES(t, esfake.Options{})
			w, dead := openSink(t, es.URL(), fmt.Sprintf(`  index  = "u"
  id     = "user"
  action = %q`, tc.action), input)
			writeAndPrepare(t, w, batch(1))
			if tc.action == "update" {
				bulkRaw(t, es, `{"update":{"_index":"u","_id":"ann"}}`+"\n"+`{"doc":{"extra":true}}`+"\n")
			}
			writeAndPrepare(t, w, batch(2))
			if got := string(es.Docs("u")["ann"]); got != tc.want {
				t.Errorf("document %s, want %s", got, tc.want)
			}
			if w.Conflicts() != tc.conflicts || len(dead.all()) != 0 {
				t.Errorf("conflicts %d, dead %v", w.Conflicts(), dead.all())
			}
		})
	}
}

// bulkRaw sends a bulk body to the double with the sink's client.
func bulkRaw(t *testing.T, es *esfake.Server, body string) {
	t.Helper()
	s := &Sink{URLs: []string{es.URL()}}
	tr, _ := s.transport()
	c, err := s.newClient(tr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Bulk(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

func TestConnections(t *testing.T) {
	dir := t.TempDir()
	ca, err := pulsartest.NewTestCA(dir, "sluice test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _, err := ca.Issue("localhost", false, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, clientCert, clientKey, err := ca.Issue("sluice", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts esfake.Options
		body string
		fail string
	}{
		{"basic", esfake.Options{Username: "elastic", Password: "pw"}, `auth {
    username = "elastic"
    password = "pw"
  }`, ""},
		{"wrong password", esfake.Options{Username: "elastic", Password: "pw"}, `auth {
    username = "elastic"
    password = "nope"
  }`, "status 401, security_exception"},
		{"api key", esfake.Options{APIKey: "aWQ6a2V5"}, `auth { api_key = "aWQ6a2V5" }`, ""},
		{"bearer", esfake.Options{BearerToken: "t0k"}, `auth { bearer_token = "t0k" }`, ""},
		{"no credentials", esfake.Options{BearerToken: "t0k"}, ``, "status 401"},
		{"gzip", esfake.Options{}, `compression = "gzip"`, ""},
		{"tls with a private CA and a client certificate", esfake.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert}},
			fmt.Sprintf(`tls {
    ca_file   = %q
    cert_file = %q
    key_file  = %q
  }`, ca.CAFile, clientCert, clientKey), ""},
		{"tls, untrusted", esfake.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, ``, "certificate"},
		{"opensearch refused by default", esfake.Options{OpenSearch: true}, ``, "for OpenSearch set opensearch = true"},
		{"opensearch", esfake.Options{OpenSearch: true}, `opensearch = true`, ""},
		{"opensearch = true against elasticsearch", esfake.Options{}, `opensearch = true`, "not OpenSearch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := startES(t, tc.opts)
			url := es.URL()
			src := fmt.Sprintf("sink \"elasticsearch\" \"es\" {\n  urls = [%q]\n  index = \"c\"\n  retry { max_retries = 0 }\n  %s\n}", url, tc.body)
			c, diags := plugintest.Build(Plugin, src, windows)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			w, err := c.(*Sink).Open(context.Background(), &plugins.Runtime{Checkpoints: true})
			if tc.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Fatalf("Open: %v, want %q", err, tc.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			writeAndPrepare(t, w.(*writer), windowBatch(0, 0, 1, "a"))
			if len(es.Docs("c")) != 1 {
				t.Errorf("documents %v", es.Docs("c"))
			}
			if tc.name == "gzip" && es.Stats().Gzipped == 0 {
				t.Error("no gzip request")
			}
		})
	}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestFlushInterval(t *testing.T) {
	es := startES(t, esfake.Options{})
	w, _ := openSink(t, es.URL(), `  index          = "f"
  flush_interval = "10ms"`, windows)
	if err := w.Write(context.Background(), windowBatch(0, 0, 1, "a")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(es.Docs("f")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the document was not sent within flush_interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
