package observe

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/runner"
)

// fullStatus is a pipeline with every part the collector converts: two
// partitions with backlogs, a window with a watermark and a holding
// partition, a sink, a dead letter and checkpoints, and two stages of the
// same title.
func fullStatus(now time.Time) runner.PipelineStatus {
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	backlog := int64(7)
	hist := runner.HistogramSnapshot{Count: 2, SumSeconds: 0.5, Buckets: make([]uint64, len(runner.LatencyBuckets))}
	idleIn := 2.0
	topic := "persistent://public/default/user-events"
	return runner.PipelineStatus{
		Name: "p", State: runner.StateRunning, Since: now.Add(-time.Minute),
		Counts: runner.Stats{In: 10, Out: 6, Filtered: 2, Late: 1, Dead: 1, Emitted: 3},
		Source: runner.SourceStatus{Title: `source "pulsar"`, Connected: true, Reconnects: 2, Records: 10, Bytes: 100,
			Partitions: []runner.SourcePartition{{Index: 0, Name: topic + "-partition-0", Backlog: &backlog}, {Index: 1, Name: topic + "-partition-1"}}},
		Stages: []runner.StageStatus{
			{Title: "filter", Kind: "filter", In: 10, Out: 9, Filtered: 1, DeadReason: "expression"},
			{Title: "filter", Kind: "filter", In: 9, Out: 7, Filtered: 1, Dead: 1, DeadReason: "expression"},
			{Title: `window "tumbling"`, Kind: "window", In: 7, Out: 6, Late: 1, DeadReason: "event_time", Window: &runner.WindowStatus{
				Watermark: at(-4 * time.Minute), WatermarkLagSeconds: 240, OpenWindows: 3, StateBytes: 2048,
				Partitions: []runner.WindowPartition{
					{Index: 0, Name: topic + "-partition-0", MaxEventTime: at(0), LastDelivery: now},
					{Index: 1, Name: topic + "-partition-1", MaxEventTime: at(-4 * time.Minute), LastDelivery: now.Add(-8 * time.Second)},
				},
				Holding: &runner.HoldingPartition{Index: 1, Name: topic + "-partition-1", MaxEventTime: at(-4 * time.Minute),
					BehindSeconds: 240, Since: now.Add(-time.Minute), LastDeliverySecondsAgo: 8, IdleInSeconds: &idleIn},
				EmitLatency: hist,
			}},
		},
		Sinks:      []runner.SinkStatus{{Title: `sink "console" "counts"`, Rows: 3, WriteDuration: hist}},
		DeadLetter: runner.DeadLetterStatus{Title: "dead_letter", Records: 2},
		Checkpoints: runner.CheckpointStatus{Enabled: true, EverySeconds: 10, Count: 4, Failed: 1, Epoch: 4,
			LastSuccess: at(-5 * time.Second), LastSize: 4096, Duration: hist},
		Queue: runner.QueueStatus{Batches: 6, InFlight: 2},
	}
}

// TestEveryMetricNameIsProduced scrapes a pipeline with every part: each
// series MetricNames lists appears, and the two stages titled "filter"
// are told apart.
func TestEveryMetricNameIsProduced(t *testing.T) {
	fixed := &fixedMonitor{}
	fixed.set(fullStatus(time.Now()))
	handler, err := NewHandler(Options{Monitor: fixed, Build: ReadBuildInfo()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	fams, body := scrape(t, srv.URL)
	for _, name := range MetricNames() {
		if !bytes.Contains(body, []byte("\n"+name+"{")) {
			t.Errorf("the scrape lacks %s", name)
		}
	}
	for _, stage := range []string{"filter", "filter #2"} {
		if v, ok := value(fams, "sluice_stage_records_in_total", map[string]string{"stage": stage}); !ok || v == 0 {
			t.Errorf("no sluice_stage_records_in_total for stage %q", stage)
		}
	}
	if v, _ := value(fams, "sluice_window_watermark_lag_seconds", nil); v != 240 {
		t.Errorf("watermark lag = %v, want 240", v)
	}
	promtoolCheck(t, body)
}

// TestEndpoints checks /healthz, /readyz (ready, then not with the
// reasons), /api/v1/pipelines and the index page.
func TestEndpoints(t *testing.T) {
	fixed := &fixedMonitor{}
	handler, err := NewHandler(Options{Monitor: fixed})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	running := fullStatus(time.Now())
	disconnected := fullStatus(time.Now())
	disconnected.Name, disconnected.Source.Connected = "q", false
	finished := fullStatus(time.Now())
	finished.Name, finished.State = "r", runner.StateFinished
	failed := fullStatus(time.Now())
	failed.Name, failed.State = "s", runner.StateFailed

	tests := []struct {
		name      string
		pipelines []runner.PipelineStatus
		path      string
		code      int
		body      string
	}{
		{"healthz", nil, "/healthz", 200, "ok\n"},
		{"not ready before any pipeline", nil, "/readyz", 503, "no pipeline has started yet\n"},
		{"ready", []runner.PipelineStatus{running, finished}, "/readyz", 200, "ok\n"},
		{"not ready", []runner.PipelineStatus{running, disconnected, failed}, "/readyz", 503,
			"pipeline q: source \"pulsar\" is not connected\npipeline s is failed\n"},
		{"index", nil, "/", 200, "sluice\n"},
		{"unknown path", nil, "/nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fixed.set(tt.pipelines...)
			code, body := get(t, srv.URL+tt.path)
			if code != tt.code || !strings.HasPrefix(body, tt.body) {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, code, body, tt.code, tt.body)
			}
		})
	}

	fixed.set(running)
	code, body := get(t, srv.URL+"/api/v1/pipelines")
	var doc PipelinesDocument
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/pipelines = %d, %v", code, err)
	}
	if len(doc.Pipelines) != 1 || doc.Pipelines[0].Name != "p" || doc.Time.IsZero() || doc.Pipelines[0].Stages[2].Window.Holding.Index != 1 {
		t.Errorf("document = %+v", doc)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBrokerlessServer: without a Monitor (sluice broker) the server is
// ready while it serves, has no pipelines document and still reports
// sluice_build_info.
func TestBrokerlessServer(t *testing.T) {
	handler, err := NewHandler(Options{Build: BuildInfo{Version: "v1", Revision: "r", GoVersion: "go"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d, want 200", code)
	}
	if code, _ := get(t, srv.URL+"/api/v1/pipelines"); code != 404 {
		t.Errorf("/api/v1/pipelines = %d, want 404", code)
	}
	fams, _ := scrape(t, srv.URL)
	if _, ok := value(fams, "sluice_build_info", nil); !ok || fams["go_goroutines"] == nil || fams["sluice_pipeline_up"] != nil {
		t.Errorf("want sluice_build_info and go_* without pipeline metrics")
	}
}

// TestProgressWarnings compares successive snapshots: a failed checkpoint
// and a reconnect are warned about once each, and a progress line carries
// the rates, watermark, lag and holding partition.
func TestProgressWarnings(t *testing.T) {
	now := time.Now()
	fixed := &fixedMonitor{}
	var logs bytes.Buffer
	p := &Progress{Monitor: fixed, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Interval: time.Second}
	before := fullStatus(now)
	fixed.set(before)
	p.Check(now)
	p.Report(now)
	after := fullStatus(now)
	after.Counts.In += 500
	after.Checkpoints.Failed++
	after.Checkpoints.History = []runner.CheckpointEvent{{Epoch: 5, Result: "failed", Error: "store: disk full"}}
	after.Source.Reconnects++
	fixed.set(after)
	p.Check(now.Add(time.Second))
	p.Check(now.Add(2 * time.Second)) // nothing new: no second warning
	p.Report(now.Add(2 * time.Second))
	out := logs.String()
	for _, want := range []string{
		`level=WARN msg="checkpoint failed" pipeline=p failed_total=2 epoch=5 error="store: disk full"`,
		`level=WARN msg="source reconnected" pipeline=p source="source \"pulsar\"" reconnects_total=3 connected=true`,
		`records_per_second=250`,
		`lag=4m`,
		`held_back_by="partition 1 of persistent://public/default/user-events" behind=4m`,
		`last_checkpoint_epoch=4 last_checkpoint_ago=7s`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "checkpoint failed"); n != 1 {
		t.Errorf("%d checkpoint warnings, want 1", n)
	}
}

// TestStatusText renders the status of a pipeline with a lagging
// partition: the partition holding the watermark back is named, with why
// it is not idle, and rates come from the earlier read.
func TestStatusText(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 7, 10, 0, time.UTC)
	prev := &PipelinesDocument{Time: now.Add(-time.Second), Pipelines: []runner.PipelineStatus{fullStatus(now)}}
	cur := fullStatus(now)
	cur.Counts.In += 800
	doc := &PipelinesDocument{Time: now, Pipelines: []runner.PipelineStatus{cur}}
	var b strings.Builder
	WriteStatus(&b, doc, prev)
	for _, want := range []string{
		"pipeline p: running since 12:06:10 (1m)",
		"records: 810 in (800.0/s), 6 out, 2 filtered, 1 late, 1 dead; 3 rows emitted (0.0/s)",
		`source "pulsar": connected, 10 records, 100 B read, 2 reconnects, backlog 7`,
		`window "tumbling": watermark 12:03:10 (lag 4m), 3 open windows, 2.0 KiB of state`,
		"held back by partition 1 of persistent://public/default/user-events: max event time 12:03:10, 4m behind the others; " +
			"not idle because it delivered 8s ago (idle in 2s if it stays silent)",
		"checkpoints: last at 12:07:05 (5s ago, epoch 4, 4.0 KiB), every 10s, 4 taken, 1 failed",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	WriteStatus(&b, &PipelinesDocument{Time: now}, nil)
	if !slices.Contains(strings.Split(b.String(), "\n"), "no pipeline has started yet") {
		t.Errorf("empty document: %q", b.String())
	}
}
