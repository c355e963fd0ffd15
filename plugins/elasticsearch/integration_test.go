package elasticsearch

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// TestRealCluster writes window results to the cluster at
// SLUICE_TEST_ELASTICSEARCH_URL (e.g. http://127.0.0.1:9200; credentials
// in SLUICE_TEST_ELASTICSEARCH_API_KEY, set opensearch with
// SLUICE_TEST_ELASTICSEARCH_OPENSEARCH=true), twice, and checks the
// documents by id.
func TestRealCluster(t *testing.T) {
	url := os.Getenv("SLUICE_TEST_ELASTICSEARCH_URL")
	if url == "" {
		t.Skip("SLUICE_TEST_ELASTICSEARCH_URL is not set: no test against a real Elasticsearch cluster")
	}
	index := fmt.Sprintf("sluice-test-%d", time.Now().UnixNano())
	body := fmt.Sprintf("  index = %q\n  refresh_on_commit = true\n  opensearch = %v", index, os.Getenv("SLUICE_TEST_ELASTICSEARCH_OPENSEARCH") == "true")
	if key := os.Getenv("SLUICE_TEST_ELASTICSEARCH_API_KEY"); key != "" {
		body += fmt.Sprintf("\n  auth { api_key = %q }", key)
	}
	src := fmt.Sprintf("sink \"elasticsearch\" \"real\" {\n  urls = [%q]\n%s\n}", url, body)
	c, diags := plugintest.Build(Plugin, src, windows)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := context.Background()
	pw, err := c.(*Sink).Open(ctx, &plugins.Runtime{Checkpoints: true})
	if err != nil {
		t.Fatal(err)
	}
	w := pw.(*writer)
	defer w.Close()
	defer func() {
		if res, err := w.client.Indices.Delete([]string{index}); err == nil {
			res.Body.Close()
		}
	}()
	for range 2 {
		writeAndPrepare(t, w, windowBatch(0, 0, 1, "view", "click"))
		if err := w.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.client.Count(w.client.Count.WithIndex(index))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out strings.Builder
	buf := make([]byte, 4096)
	n, _ := res.Body.Read(buf)
	out.Write(buf[:n])
	if !strings.Contains(out.String(), `"count":2`) {
		t.Errorf("_count: %s, want 2 documents", out.String())
	}
	get, err := w.client.Get(index, "1795564800000|click")
	if err != nil || get.StatusCode != 200 {
		t.Fatalf("GET: %v %v", err, get)
	}
	get.Body.Close()
}
