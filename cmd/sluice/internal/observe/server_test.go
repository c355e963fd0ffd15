package observe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	_ "github.com/sluice-io/sluice/plugins/all" // the generate source, parse, filter, window and file sink
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// generatedPipeline reads count generated events at rate per second: the
// run lasts count/rate seconds, long enough for scrapes mid-run.
const generatedPipeline = `pipeline "gen" {
  source "generate" {
    rate   = %d
    count  = %d
    format = "json"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" {
      type = "timestamp"
      unit = "ms"
    }
  }
  filter { where = "action != 'heartbeat'" }
  window "tumbling" {
    event_time = "ts"
    size       = "1s"
    watermark  = "2s"
    group_by   = ["action"]
    aggregate  = { n = "count()" }
  }
  sink "file" "out" { path = %q }
}
`

// scrape reads /metrics of base and parses it.
func scrape(t *testing.T, base string) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %v %s", err, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams, body
}

// value returns the sample of family name whose labels include want, and
// whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// checkScrapeAddsUp checks in = out + filtered + late + dead for the
// pipeline and each stage of a scrape, and returns the pipeline's in.
func checkScrapeAddsUp(t *testing.T, fams map[string]*dto.MetricFamily) float64 {
	t.Helper()
	p := map[string]string{"pipeline": "gen"}
	get := func(name string, labels map[string]string) float64 {
		v, ok := value(fams, name, labels)
		if !ok {
			t.Fatalf("scrape lacks %s%v", name, labels)
		}
		return v
	}
	in := get("sluice_pipeline_records_in_total", p)
	sum := get("sluice_pipeline_records_out_total", p) + get("sluice_pipeline_records_filtered_total", p) +
		get("sluice_pipeline_records_late_total", p) + get("sluice_pipeline_records_dead_total", p)
	if in != sum {
		t.Errorf("pipeline: in %v != out + filtered + late + dead %v", in, sum)
	}
	for _, m := range fams["sluice_stage_records_in_total"].GetMetric() {
		labels := map[string]string{"pipeline": "gen"}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		sin := m.Counter.GetValue()
		ssum := get("sluice_stage_records_out_total", labels) + get("sluice_stage_records_filtered_total", labels) +
			get("sluice_stage_records_late_total", labels) + get("sluice_stage_dead_letters_total", labels)
		if sin != ssum {
			t.Errorf("stage %s: in %v != out + filtered + late + dead %v", labels["stage"], sin, ssum)
		}
	}
	return in
}

// TestScrapesDuringAndAfterARun runs a generated pipeline in process with
// the server and scrapes /metrics while it runs and once it ended: the
// counters add up at every scrape, grow, and at the end equal the run's;
// every sluice_* series is one MetricNames lists; promtool accepts a real
// scrape.
func TestScrapesDuringAndAfterARun(t *testing.T) {
	dir := t.TempDir()
	src := fmt.Sprintf(generatedPipeline, 4000, 6000, filepath.Join(dir, "out.ndjson"))
	project, diags := config.LoadSources([]config.Source{{Name: "gen.hcl", Bytes: []byte(src)}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	monitor := runner.NewMonitor()
	handler, err := NewHandler(Options{Monitor: monitor, Build: BuildInfo{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	var results []runner.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		results, err = runner.RunAll(context.Background(), project.Pipelines, runner.Options{Monitor: monitor})
	}()
	var mid []float64
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(50 * time.Millisecond):
			if fams, _ := scrape(t, srv.URL); fams["sluice_pipeline_records_in_total"] != nil {
				mid = append(mid, checkScrapeAddsUp(t, fams))
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(mid) || len(mid) < 2 || mid[0] == 6000 {
		t.Errorf("records in over the mid-run scrapes: %v; want at least two, growing, the first before the end", mid)
	}
	fams, body := scrape(t, srv.URL)
	checkScrapeAddsUp(t, fams)
	st := results[0].Stats
	p := map[string]string{"pipeline": "gen"}
	for name, want := range map[string]int64{
		"sluice_pipeline_records_in_total": st.In, "sluice_pipeline_records_out_total": st.Out,
		"sluice_pipeline_records_filtered_total": st.Filtered, "sluice_pipeline_records_late_total": st.Late,
		"sluice_pipeline_records_dead_total": st.Dead, "sluice_pipeline_rows_emitted_total": st.Emitted,
	} {
		if got, _ := value(fams, name, p); got != float64(want) {
			t.Errorf("final %s = %v, want the run's %d", name, got, want)
		}
	}
	if v, _ := value(fams, "sluice_pipeline_state", map[string]string{"pipeline": "gen", "state": "finished"}); v != 1 {
		t.Errorf("sluice_pipeline_state{state=finished} = %v, want 1", v)
	}
	if v, _ := value(fams, "sluice_build_info", map[string]string{"version": "v1.2.3", "revision": "abc", "goversion": "go1.26"}); v != 1 {
		t.Errorf("sluice_build_info is not 1 with the build's labels")
	}
	checkKnownNames(t, fams)
	promtoolCheck(t, body)
}

// checkKnownNames checks that every sluice_* family of a scrape is one
// MetricNames lists.
func checkKnownNames(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	names := MetricNames()
	for name, f := range fams {
		if !strings.HasPrefix(name, "sluice_") {
			continue
		}
		series := name
		if f.GetType() == dto.MetricType_HISTOGRAM {
			series += "_bucket"
		}
		if !slices.Contains(names, series) {
			t.Errorf("the scrape has %s, which MetricNames lacks", series)
		}
	}
}

// promtoolCheck runs promtool check metrics on a scrape; without promtool
// the check is skipped, except in CI.
func promtoolCheck(t *testing.T, scrape []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not in PATH (Debian package prometheus); CI must have it")
		}
		t.Log("skipping promtool check metrics: promtool is not in PATH (apt-get install prometheus)")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(scrape))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// fixedMonitor is a Snapshotter returning the same pipelines every time.
type fixedMonitor struct {
	mu sync.Mutex
	ps []runner.PipelineStatus
}

func (f *fixedMonitor) Snapshot(time.Time) []runner.PipelineStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ps)
}

func (f *fixedMonitor) set(ps ...runner.PipelineStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ps = ps
}
