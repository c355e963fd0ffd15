package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/sluice-io/sluice/plugins/all" // the plugins the pipeline uses
	"github.com/sluice-io/sluice/runner/config"
)

// TestGenerate checks the properties of a small generated file.
func TestGenerate(t *testing.T) {
	const n = 10_000
	p := referenceParams(n)
	dir := t.TempDir()
	df, err := ensureData(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if df.Reused {
		t.Fatal("first ensureData reported a reused file")
	}
	raw, err := os.ReadFile(df.Path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(raw)) != df.Size {
		t.Errorf("size %d, ensureData said %d", len(raw), df.Size)
	}

	var lines, late, heartbeats int64
	actionSeen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		i := lines
		lines++
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var ev naiveEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %d: %v: %s", lines, err, sc.Text())
		}
		if ev.UserID < 1 || ev.UserID > 500 {
			t.Errorf("line %d: user_id %d outside 1..500", lines, ev.UserID)
		}
		if ev.Device == "" {
			t.Errorf("line %d: no device", lines)
		}
		actionSeen[ev.Action] = true
		if ev.Action == "heartbeat" {
			heartbeats++
		}
		nominal := p.StartMs + i*1000/p.Rate
		switch lag := nominal - ev.Ts; {
		case lag >= 0 && lag <= 5000:
		case lag >= 3*60_000 && lag <= 10*60_000:
			late++
		default:
			t.Errorf("line %d: ts %d is %d ms before its nominal time, outside 0–5 s and 3–10 min", lines, ev.Ts, lag)
		}
	}
	if lines != n {
		t.Errorf("%d lines, want %d", lines, n)
	}
	if len(actionSeen) != len(actions) {
		t.Errorf("actions seen %v, want the %d of the table", actionSeen, len(actions))
	}
	if frac := float64(late) / n; frac < 0.007 || frac > 0.013 {
		t.Errorf("late fraction %.4f, want about 0.01", frac)
	}
	if frac := float64(heartbeats) / n; frac < 0.13 || frac > 0.17 {
		t.Errorf("heartbeat fraction %.4f, want about 0.15", frac)
	}
	// Event time covers Events/Rate seconds.
	if last := p.nominalMs(n - 1); last-p.StartMs != (n-1)*1000/p.Rate {
		t.Errorf("nominal time of the last event %d", last)
	}

	// Deterministic: the same parameters give the same bytes.
	var again bytes.Buffer
	if _, err := generate(&again, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again.Bytes()) {
		t.Error("two generations with the same parameters differ")
	}
	// ... and another seed gives other bytes.
	other := p
	other.Seed++
	var diff bytes.Buffer
	if _, err := generate(&diff, other); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(raw, diff.Bytes()) {
		t.Error("a different seed gives the same bytes")
	}
}

// TestEnsureDataCache checks that the sidecar lets a file be reused, and that
// a changed file or parameter makes it regenerate.
func TestEnsureDataCache(t *testing.T) {
	dir := t.TempDir()
	p := referenceParams(1000)
	first, err := ensureData(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ensureData(dir, p)
	if err != nil || !again.Reused || again.Path != first.Path || again.Size != first.Size {
		t.Fatalf("second ensureData = %+v, %v; want the first file reused", again, err)
	}
	// A truncated file is regenerated.
	if err := os.Truncate(first.Path, 10); err != nil {
		t.Fatal(err)
	}
	if got, err := ensureData(dir, p); err != nil || got.Reused || got.Size != first.Size {
		t.Fatalf("after truncation ensureData = %+v, %v; want a regenerated file", got, err)
	}
	// Other parameters are not mistaken for these.
	q := p
	q.LateFraction = 0.5
	if got, err := ensureData(dir, q); err != nil || got.Reused {
		t.Fatalf("with other parameters ensureData = %+v, %v; want a new file", got, err)
	}
	// No temporary files are left behind.
	tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// TestNaiveAggregate checks the naive baseline on hand-written input.
func TestNaiveAggregate(t *testing.T) {
	const m0 = 1714564800000 // 2024-05-01T12:00:00Z, a minute boundary
	row := func(startMs int64, action string, events, users int64) naiveRow {
		return naiveRow{WindowStart: formatMs(startMs), WindowEnd: formatMs(startMs + 60_000), Action: action, Events: events, Users: users}
	}
	ev := func(user int64, action string, ts int64) string {
		b, _ := json.Marshal(naiveEvent{UserID: user, Action: action, Ts: ts, Device: "ios"})
		return string(b)
	}
	tests := []struct {
		name  string
		lines []string
		want  []naiveRow
		stats naiveStats
	}{
		{name: "empty", want: []naiveRow{}},
		{
			name:  "one event",
			lines: []string{ev(7, "click", m0+1)},
			want:  []naiveRow{row(m0, "click", 1, 1)},
			stats: naiveStats{In: 1},
		},
		{
			name: "count and distinct users",
			lines: []string{
				ev(1, "click", m0), ev(1, "click", m0+59_999), ev(2, "click", m0+30_000),
				ev(3, "view", m0+10),
			},
			want:  []naiveRow{row(m0, "click", 3, 2), row(m0, "view", 1, 1)},
			stats: naiveStats{In: 4},
		},
		{
			name:  "heartbeats are filtered",
			lines: []string{ev(1, "heartbeat", m0), ev(2, "heartbeat", m0+1), ev(3, "login", m0+2)},
			want:  []naiveRow{row(m0, "login", 1, 1)},
			stats: naiveStats{In: 3, Filtered: 2},
		},
		{
			name: "window boundaries, ordered by start then action, late kept",
			lines: []string{
				ev(1, "view", m0+60_000), // next window starts exactly here
				ev(1, "click", m0+60_000),
				ev(2, "view", m0+59_999),
				ev(3, "view", m0-600_000), // 10 minutes late: no watermark, kept
			},
			want: []naiveRow{
				row(m0-600_000, "view", 1, 1),
				row(m0, "view", 1, 1),
				row(m0+60_000, "click", 1, 1),
				row(m0+60_000, "view", 1, 1),
			},
			stats: naiveStats{In: 4},
		},
		{
			name:  "bad lines are counted and skipped",
			lines: []string{"not json", ev(5, "scroll", m0), `{"user_id":"x"}`},
			want:  []naiveRow{row(m0, "scroll", 1, 1)},
			stats: naiveStats{In: 3, Bad: 2},
		},
		{
			name:  "negative event time floors",
			lines: []string{ev(1, "click", -1)},
			want:  []naiveRow{row(-60_000, "click", 1, 1)},
			stats: naiveStats{In: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Join(tt.lines, "\n")
			got, st, err := naiveAggregate(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows\n got %+v\nwant %+v", got, tt.want)
			}
			if st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
		})
	}
}

// TestNaiveRun checks the subcommand's output file.
func TestNaiveRun(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.ndjson"), filepath.Join(dir, "out.ndjson")
	data := `{"user_id":1,"action":"click","ts":1714564800123,"device":"ios"}
{"user_id":2,"action":"click","ts":1714564800456}
{"user_id":2,"action":"heartbeat","ts":1714564800456,"device":"web"}
`
	if err := os.WriteFile(in, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := naiveMain([]string{in, out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"window_start":"2024-05-01T12:00:00.000Z","window_end":"2024-05-01T12:01:00.000Z","action":"click","events":2,"users":2}` + "\n"
	if string(got) != want {
		t.Errorf("output\n got %s\nwant %s", got, want)
	}
	if s := stdout.String(); !strings.Contains(s, `"records_in":3`) || !strings.Contains(s, `"records_out":1`) {
		t.Errorf("summary %q", s)
	}
}

// TestParseSluiceLog checks the reading of sluice's end-of-run log lines.
func TestParseSluiceLog(t *testing.T) {
	stderr := `plain text line
{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"starting"}
{"time":"2026-01-01T00:00:01Z","level":"INFO","msg":"pipeline finished","pipeline":"bench","records_in":5000000,"records_out":2912,"filtered":750000,"late":1234,"dead":0}
{"time":"2026-01-01T00:00:01Z","level":"INFO","msg":"run finished","alloc_bytes":123456789,"mallocs":4567,"duration":"1s"}
`
	got := parseSluiceLog([]byte(stderr))
	want := sluiceLog{
		Pipeline: map[string]int64{"records_in": 5000000, "records_out": 2912, "filtered": 750000, "late": 1234, "dead": 0},
		Run:      map[string]int64{"alloc_bytes": 123456789, "mallocs": 4567},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := parseSluiceLog([]byte("sluice run: not yet supported\n")); got.Pipeline != nil || got.Run != nil {
		t.Errorf("without the lines got %+v, want nothing", got)
	}
}

// TestPipelineHCL checks the quoting of paths in the generated pipeline.
func TestPipelineHCL(t *testing.T) {
	src := pipelineHCL("/d/events.ndjson", "/d/out.ndjson")
	for _, s := range []string{`path = "/d/events.ndjson"`, `path = "/d/out.ndjson"`, `unit = "ms"`, `watermark  = "2m"`} {
		if !strings.Contains(src, s) {
			t.Errorf("pipeline lacks %s:\n%s", s, src)
		}
	}
}

// TestPipelineLints loads the generated pipeline with sluice's own loader, as
// `sluice lint` does.
func TestPipelineLints(t *testing.T) {
	dir := t.TempDir()
	df, err := ensureData(dir, referenceParams(100))
	if err != nil {
		t.Fatal(err)
	}
	hcl := filepath.Join(dir, "bench.hcl")
	if err := os.WriteFile(hcl, []byte(pipelineHCL(df.Path, filepath.Join(dir, "out.ndjson"))), 0o644); err != nil {
		t.Fatal(err)
	}
	project, diags := config.Load([]string{hcl}, nil)
	for _, d := range diags {
		t.Logf("%s", d)
	}
	if diags.HasErrors() {
		t.Fatal("the generated pipeline does not lint")
	}
	if len(project.Pipelines) != 1 {
		t.Errorf("%d pipelines, want 1", len(project.Pipelines))
	}
}

// The speed targets compare sluice with a baseline of the same run, and are
// n/a when either did not run.
func TestSpeedTarget(t *testing.T) {
	ok := func(name string, eps float64) *result {
		return &result{Name: name, Status: statusOK, EventsPerSecond: eps}
	}
	tests := []struct {
		name     string
		sl, base *result
		factor   float64
		want     target
	}{
		{"pass", ok("sluice", 9e6), ok("duckdb", 6e6), 1.5, target{"g", "1.50×", "PASS"}},
		{"fail", ok("sluice", 8.9e6), ok("duckdb", 6e6), 1.5, target{"g", "1.48×", "FAIL"}},
		{"ceiling", ok("sluice", 6e6), ok("ceiling", 15e6), 0.4, target{"g", "0.40×", "PASS"}},
		{"baseline skipped", ok("sluice", 6e6), &result{Name: "duckdb", Status: "skipped"}, 1.5, target{"g", "duckdb skipped", "n/a"}},
		{"sluice failed", &result{Name: "sluice", Status: statusFailed}, ok("duckdb", 6e6), 1.5, target{"g", "sluice " + statusFailed, "n/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := speedTarget(tt.sl, tt.base, "g", tt.factor); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
