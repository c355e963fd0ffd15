package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/runner"
)

// get serves one request and returns the response and its body.
func get(t *testing.T, h http.Handler, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// references returns the relative URLs a page or module loads: src and
// href attributes, and module imports.
func references(body string) []string {
	var refs []string
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?:src|href)="([^"#]+)"`),
		regexp.MustCompile(`from '\./([^']+)'`),
	} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			refs = append(refs, m[1])
		}
	}
	return refs
}

// TestHandlerServesThePageAndItsAssets follows every reference of the page
// and of its modules: each is served with its type, and none leaves the
// process (no http(s) URL, no CDN, no external font).
func TestHandlerServesThePageAndItsAssets(t *testing.T) {
	h := Handler()
	res, page := get(t, h, http.MethodGet, "/", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(page, "<title>sluice</title>") {
		t.Fatalf("GET / = %d %q:\n%.200s", res.StatusCode, res.Header.Get("Content-Type"), page)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want only the page's own origin", csp)
	}
	external := regexp.MustCompile(`https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|@font-face`)
	wantTypes := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	seen := map[string]bool{}
	queue := []string{"/"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		res, body := get(t, h, http.MethodGet, path, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, res.StatusCode)
			continue
		}
		if ext := path[strings.LastIndexByte(path, '.')+1:]; path != "/" && res.Header.Get("Content-Type") != wantTypes["."+ext] {
			t.Errorf("GET %s: Content-Type %q, want %q", path, res.Header.Get("Content-Type"), wantTypes["."+ext])
		}
		scan := strings.ReplaceAll(body, `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := external.FindString(scan); m != "" {
			t.Errorf("%s refers outside the process: %q", path, m)
		}
		for _, ref := range references(body) {
			switch {
			case strings.HasPrefix(ref, "assets/"):
				queue = append(queue, "/"+ref)
			case strings.HasSuffix(path, ".js"):
				queue = append(queue, path[:strings.LastIndexByte(path, '/')+1]+ref)
			case ref == "api/v1/pipelines" || ref == "metrics":
				// served by the observe server beside the dashboard
			default:
				t.Errorf("%s refers to %q, which is not an embedded asset", path, ref)
			}
		}
	}
	for _, want := range []string{"/assets/dashboard.js", "/assets/pipeline.js", "/assets/chart.js", "/assets/format.js", "/assets/dom.js", "/assets/dashboard.css", "/assets/favicon.svg"} {
		if !seen[want] {
			t.Errorf("%s was not reached from the page", want)
		}
	}
}

// TestHandlerStatuses checks the answers other than a plain GET.
func TestHandlerStatuses(t *testing.T) {
	h := Handler()
	first, _ := get(t, h, http.MethodGet, "/assets/dashboard.js", nil)
	etag := first.Header.Get("ETag")
	tests := []struct {
		method, path string
		header       map[string]string
		want         int
	}{
		{http.MethodGet, "/index.html", nil, http.StatusOK},
		{http.MethodHead, "/", nil, http.StatusOK},
		{http.MethodGet, "/nope", nil, http.StatusNotFound},
		{http.MethodGet, "/assets/", nil, http.StatusNotFound},
		{http.MethodGet, "/assets/index.html", nil, http.StatusNotFound},
		{http.MethodPost, "/", nil, http.StatusMethodNotAllowed},
		{http.MethodGet, "/assets/dashboard.js", map[string]string{"If-None-Match": etag}, http.StatusNotModified},
		{http.MethodGet, "/assets/dashboard.js", map[string]string{"If-None-Match": `"other"`}, http.StatusOK},
	}
	if etag == "" {
		t.Fatal("no ETag on /assets/dashboard.js")
	}
	for _, tt := range tests {
		res, _ := get(t, h, tt.method, tt.path, tt.header)
		if res.StatusCode != tt.want {
			t.Errorf("%s %s %v = %d, want %d", tt.method, tt.path, tt.header, res.StatusCode, tt.want)
		}
	}
}

// TestLatencyBucketsMatchTheRunner checks that the page's copy of the
// histogram bounds, with which it estimates quantiles, is runner's.
func TestLatencyBucketsMatchTheRunner(t *testing.T) {
	src, err := assets.ReadFile("assets/pipeline.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const latencyBuckets = \[([^\]]*)\]`).FindSubmatch(src)
	if m == nil {
		t.Fatal("pipeline.js declares no latencyBuckets")
	}
	var got []float64
	for _, f := range strings.Split(string(m[1]), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			t.Fatalf("latencyBuckets: %v", err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, runner.LatencyBuckets) {
		t.Errorf("pipeline.js latencyBuckets = %v, runner.LatencyBuckets = %v", got, runner.LatencyBuckets)
	}
}
