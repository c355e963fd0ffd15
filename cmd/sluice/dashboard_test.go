package main

// The dashboard in a real browser: headless Chromium, driven by the npm
// playwright-core script in testdata/browser, opens the page that `sluice
// run` serves while a Pulsar pipeline runs, and a synthetic page of 50
// pipelines with 256 partitions each.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-io/sluice/cmd/sluice/internal/dashboard"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/runner"
)

const (
	dashboardTopic = "persistent://public/default/dashboard-events"
	// browserDir holds the node script and its package.json.
	browserDir = "testdata/browser"
)

// dashboardPipeline counts actions per minute of event time over a
// 2-partition topic; its metrics block serves the dashboard.
const dashboardPipeline = `pipeline "dashboard_events" {
  source "pulsar" {
    service_url  = env("SLUICE_DASHBOARD_URL")
    topics       = [%q]
    subscription = "sluice-dashboard"
    start        = "earliest"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  filter {
    where = "action != 'heartbeat'"
  }
  window "tumbling" {
    event_time   = "ts"
    size         = "1m"
    watermark    = "0s"
    idle_timeout = "1h" # partition 1 holds the watermark back however slow the test runs
    group_by     = ["action"]
    aggregate    = { events = "count()" }
  }
  sink "file" "counts" {
    path = env("SLUICE_DASHBOARD_OUT")
  }
  dead_letter "file" {
    path = env("SLUICE_DASHBOARD_DEAD")
  }
}

metrics {
  listen = %q
}
`

// browserTools returns the folder of the node script, with its packages
// installed, or skips the test when node or Chromium is missing outside
// CI (in CI, CI=true, it fails instead).
func browserTools(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium ("+chromium+"; apt-get install chromium)")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" (apt-get install nodejs npm)")
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the dashboard browser test needs %s", strings.Join(missing, " and "))
		}
		t.Skipf("the dashboard browser test needs %s", strings.Join(missing, " and "))
	}
	dir, err := filepath.Abs(browserDir)
	must(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

// runBrowserCheck runs check.mjs with args, logs what it printed and fails
// the test when a check failed.
func runBrowserCheck(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"check.mjs"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("browser check %s:\n%s", args[0], out)
	if err != nil {
		t.Fatalf("browser check %s failed: %v", args[0], err)
	}
}

// screenshotDir is where the browser check saves its screenshots: a
// temporary folder, or the folder SLUICE_SCREENSHOTS names, to keep them.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SLUICE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, t.Name())
		must(t, os.MkdirAll(dir, 0o755))
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	must(t, ln.Close())
	return addr
}

// getPipelines reads /api/v1/pipelines; it returns nil while the server
// does not answer.
func getPipelines(base string) []runner.PipelineStatus {
	res, err := http.Get(base + "/api/v1/pipelines")
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var doc struct {
		Pipelines []runner.PipelineStatus `json:"pipelines"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&doc) != nil {
		return nil
	}
	return doc.Pipelines
}

// TestDashboardOfARunningPipeline runs `sluice run` on a 2-partition
// topic whose partition 1 lags behind partition 0, so that it holds the
// watermark back, and checks in Chromium that the page shows the pipeline,
// the counts of /metrics, the window row emitted and the holding partition.
func TestDashboardOfARunningPipeline(t *testing.T) {
	dir := browserTools(t)
	b, err := pulsartest.Start(pulsartest.Options{})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.CreateTopic(dashboardTopic, 2))
	tmp := t.TempDir()
	addr := freeAddr(t)
	pipeline := filepath.Join(tmp, "dashboard.hcl")
	must(t, os.WriteFile(pipeline, fmt.Appendf(nil, dashboardPipeline, dashboardTopic, addr), 0o644))
	run := startDashboardProc(t, b.URL(), pipeline, tmp)
	base := "http://" + addr

	waitDashboard(t, run, 20*time.Second, "the API to answer", func() bool { return getPipelines(base) != nil })
	page, err := http.Get(base + "/")
	must(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), "<title>sluice</title>") {
		t.Fatalf("GET / of sluice run is not the dashboard (cmd/sluice/run.go must give dashboard.Handler() to observe.Options.Dashboard):\n%.300s", html)
	}

	// Partition 0 runs 200 s of event time ahead; partition 1 stops at
	// 70 s, so the watermark is 70 s and the minute [0, 60 s) closes.
	origin := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	ev := func(user int, action string, s int) string {
		return fmt.Sprintf(`{"user_id":%d,"action":%q,"ts":%d}`, user, action, origin.Add(time.Duration(s)*time.Second).UnixMilli())
	}
	send := obsSender(t, b.URL(), dashboardTopic)
	send(0, ev(1, "view", 1), ev(2, "heartbeat", 2), ev(3, "view", 200))
	send(1, ev(4, "view", 3), "not json", ev(5, "click", 70))
	var ps runner.PipelineStatus
	waitDashboard(t, run, 20*time.Second, "the first window row and a holding partition", func() bool {
		all := getPipelines(base)
		if len(all) != 1 || len(all[0].Stages) != 3 {
			return false
		}
		// The window's part of the status is published every 250 ms, after
		// the counters: wait until it has the watermark of the records.
		ps = all[0]
		w := ps.Stages[2].Window
		return ps.Counts.Emitted >= 1 && w.Watermark != nil && w.Holding != nil && w.Holding.MaxEventTime != nil
	})
	holding := ps.Stages[2].Window.Holding.Name
	if ps.Stages[2].Window.Holding.Index != 1 {
		t.Fatalf("holding partition %+v, want partition 1", ps.Stages[2].Window.Holding)
	}
	// A record of the closed minute is now late.
	send(1, ev(6, "view", 5))
	waitDashboard(t, run, 20*time.Second, "the late record", func() bool {
		all := getPipelines(base)
		return len(all) == 1 && all[0].Counts.Late == 1
	})

	shots := screenshotDir(t)
	runBrowserCheck(t, dir, "live", "--url", base+"/", "--shots", shots, "--pipeline", "dashboard_events",
		"--row", `{"action":"view","events":2}`, "--holding", holding, "--metrics")
	run.stop(t)
}

// dashboardProc is the `sluice run` process of TestDashboardOfARunningPipeline.
type dashboardProc struct {
	cmd    *exec.Cmd
	stderr failoverLog
	exited chan struct{}
	err    error
}

func startDashboardProc(t *testing.T, url, pipeline, dir string) *dashboardProc {
	t.Helper()
	p := &dashboardProc{exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "run", "--log-format", "json", pipeline)
	p.cmd.Env = append(os.Environ(), "SLUICE_TEST_MAIN=1", "SLUICE_DASHBOARD_URL="+url,
		"SLUICE_DASHBOARD_OUT="+filepath.Join(dir, "counts.ndjson"), "SLUICE_DASHBOARD_DEAD="+filepath.Join(dir, "dead.ndjson"),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p.cmd.Stderr = &p.stderr
	must(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *dashboardProc) stop(t *testing.T) {
	t.Helper()
	must(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("sluice run still running 20 s after SIGTERM; log:\n%s", p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("sluice run: exit after SIGTERM: %v; log:\n%s", p.err, p.stderr.String())
	}
}

// waitDashboard polls cond until it holds, failing after timeout or when
// the process exits.
func waitDashboard(t *testing.T, p *dashboardProc, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.exited:
			t.Fatalf("sluice run exited (%v) while waiting for %s; log:\n%s", p.err, what, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; log:\n%s", timeout, what, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDashboardAtScale serves a synthetic document of 50 pipelines with
// 256 partitions each and checks in Chromium that the page renders them
// within seconds, keeps the DOM small (closed cards, partitions drawn as
// one strip), marks the holding partition, and shows "disconnected" once
// the API fails.
func TestDashboardAtScale(t *testing.T) {
	dir := browserTools(t)
	const pipelines, partitions = 50, 256
	var failing atomic.Bool
	start := time.Now()
	mux := http.NewServeMux()
	mux.Handle("/", dashboard.Handler())
	mux.HandleFunc("GET /api/v1/pipelines", func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		now := time.Now().UTC()
		w.Header().Set("Content-Type", "application/json")
		must(t, json.NewEncoder(w).Encode(map[string]any{"pipelines": syntheticPipelines(pipelines, partitions, start, now), "time": now}))
	})
	mux.HandleFunc("POST /test/fail", func(http.ResponseWriter, *http.Request) { failing.Store(true) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	shots := screenshotDir(t)
	runBrowserCheck(t, dir, "scale", "--url", srv.URL+"/", "--shots", shots, "--pipelines", fmt.Sprint(pipelines),
		"--partitions", fmt.Sprint(partitions), "--fail-url", srv.URL+"/test/fail")
}

// syntheticPipelines builds n pipelines of parts partitions each, running
// since start, whose counters grow with the time until now; in each,
// partition 7 holds the watermark back and every 16th partition is idle.
// A few differ, so that the page draws every kind of state: pipeline_00
// failed, pipeline_02 takes checkpoints (one failed), pipeline_03 is still
// starting (no stage or sink yet, encoded as null) and pipeline_04's window
// has no record yet.
func syntheticPipelines(n, parts int, start, now time.Time) []runner.PipelineStatus {
	out := make([]runner.PipelineStatus, n)
	for i := range out {
		out[i] = syntheticPipeline(i, parts, start, now)
	}
	fail := now.Add(-20 * time.Second)
	out[0].State, out[0].Error, out[0].Source.Connected = runner.StateFailed, `sink "file" "counts": write /data/counts.ndjson: no space left on device`, false
	out[0].Errors = []runner.ErrorEvent{{At: fail.Add(-time.Minute), Message: "pulsar: connection reset; reconnecting"}, {At: fail, Message: out[0].Error}}
	ok := now.Add(-4 * time.Second)
	hist := runner.HistogramSnapshot{Count: 3, SumSeconds: 0.09, Buckets: make([]uint64, len(runner.LatencyBuckets))}
	for b := 5; b < len(hist.Buckets); b++ {
		hist.Buckets[b] = 3
	}
	out[2].Checkpoints = runner.CheckpointStatus{Enabled: true, EverySeconds: 10, Count: 3, Failed: 1, Epoch: 3, LastSuccess: &ok, LastSize: 48213, Duration: hist,
		History: []runner.CheckpointEvent{
			{Epoch: 1, At: ok.Add(-20 * time.Second), DurationSeconds: 0.03, SizeBytes: 40960, Result: "ok"},
			{Epoch: 2, At: ok.Add(-10 * time.Second), DurationSeconds: 0.02, SizeBytes: 0, Result: "failed", Error: "put s3://ckpt/2: timeout"},
			{Epoch: 3, At: ok, DurationSeconds: 0.04, SizeBytes: 48213, Result: "ok"},
		}}
	out[3].State, out[3].Stages, out[3].Sinks = runner.StateStarting, nil, nil
	w := out[4].Stages[1].Window
	w.Watermark, w.WatermarkLagSeconds, w.Holding = nil, 0, nil
	for p := range w.Partitions {
		w.Partitions[p].MaxEventTime = nil
	}
	return out
}

// syntheticPipeline is pipeline i of syntheticPipelines.
func syntheticPipeline(i, parts int, start, now time.Time) runner.PipelineStatus {
	in := 1_000_000*int64(i+1) + int64(now.Sub(start)/time.Millisecond)*int64(i+1)
	wm := now.Add(-time.Duration(30+i) * time.Second).Truncate(time.Millisecond)
	w := &runner.WindowStatus{
		Watermark: &wm, WatermarkLagSeconds: now.Sub(wm).Seconds(), OpenWindows: 12, StateBytes: 1 << 20,
		EmitLatency: runner.HistogramSnapshot{Buckets: make([]uint64, len(runner.LatencyBuckets))},
	}
	src := runner.SourceStatus{Title: `source "pulsar"`, Connected: true, Records: in, Bytes: 120 * in}
	for p := range parts {
		name := fmt.Sprintf("persistent://public/default/events-partition-%d", p)
		at := wm.Add(time.Duration(p%40) * time.Second)
		if p == 7 {
			at = wm
		}
		w.Partitions = append(w.Partitions, runner.WindowPartition{Index: p, Name: name, MaxEventTime: &at, LastDelivery: now, Idle: p%16 == 15})
		backlog := int64(p % 5)
		src.Partitions = append(src.Partitions, runner.SourcePartition{Index: p, Name: name, Backlog: &backlog})
	}
	w.Holding = &runner.HoldingPartition{Index: 7, Name: w.Partitions[7].Name, MaxEventTime: w.Partitions[7].MaxEventTime,
		BehindSeconds: 39, Since: now.Add(-time.Minute), LastDeliverySecondsAgo: 0.5}
	row, _ := json.Marshal(map[string]any{"window_start": wm.Add(-time.Minute), "window_end": wm, "action": "view", "events": i + 1})
	empty := runner.HistogramSnapshot{Buckets: make([]uint64, len(runner.LatencyBuckets))}
	return runner.PipelineStatus{
		Name: fmt.Sprintf("pipeline_%02d", i), State: runner.StateRunning, Since: start,
		Counts: runner.Stats{In: in, Out: in - 10, Dead: 10, Emitted: in / 1000},
		Source: src,
		Stages: []runner.StageStatus{
			{Title: `parse "json"`, Kind: "parse", In: in, Out: in - 10, Dead: 10, DeadReason: "parse"},
			{Title: `window "tumbling"`, Kind: "window", In: in - 10, Out: in - 10, DeadReason: "event_time", Window: w},
		},
		Sinks:       []runner.SinkStatus{{Title: `sink "file" "counts"`, Rows: in / 1000, WriteDuration: empty, LastRows: []json.RawMessage{row}}},
		Checkpoints: runner.CheckpointStatus{History: []runner.CheckpointEvent{}, Duration: empty},
		Errors:      []runner.ErrorEvent{},
	}
}
