package elasticsearch_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/esfake"
	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// TestRefusedDocumentsReachTheDeadLetter runs a whole pipeline through the
// runner: the documents Elasticsearch refuses for a mapping conflict land
// in the pipeline's dead letter with the cluster's reason, are counted,
// and the others are indexed.
func TestRefusedDocumentsReachTheDeadLetter(t *testing.T) {
	es, err := esfake.Start(esfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	req, _ := http.NewRequest(http.MethodPut, es.URL()+"/typed", strings.NewReader(`{"mappings":{"properties":{"code":{"type":"long"}}}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	lines := `{"id":1,"code":"7"}` + "\n" + `{"id":2,"code":"not a number"}` + "\n" + `{"id":3,"code":"9"}` + "\n"
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "dead.ndjson")
	src := fmt.Sprintf(`pipeline "p" {
  source "file" { path = %q }
  parse "json" {
    field "id" { type = "int" }
    field "code" { type = "string" }
  }
  sink "elasticsearch" "es" {
    urls  = [%q]
    index = "typed"
    id    = "string(id)"
  }
  dead_letter "file" { path = %q }
}`, in, es.URL(), dead)
	proj, diags := config.LoadSources([]config.Source{{Name: "p.hcl", Bytes: []byte(src)}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, err := runner.Run(context.Background(), proj.Pipelines[0], runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.SinkRejected != 1 || st.Emitted != 3 {
		t.Errorf("stats %+v: want 3 rows emitted, 1 refused", st)
	}
	got, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "\n"); n != 1 || !strings.Contains(string(got), `sink \"elasticsearch\" \"es\"`) ||
		!strings.Contains(string(got), "not a number") || !strings.Contains(string(got), "parsing") {
		t.Errorf("dead letter:\n%s\nwant the one refused document with the sink and the cluster's reason", got)
	}
	if docs := es.Docs("typed"); len(docs) != 2 {
		t.Errorf("%d documents indexed, want 2", len(docs))
	}
}
