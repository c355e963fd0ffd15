package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/runner/checkpoint"
)

// TestMonitorLiveView runs a windowed pipeline on two partitions, one
// lagging, and reads the Monitor while it waits for input and after it
// stopped: counters add up at both moments and equal the run's, each stage
// counts its own rows, the lagging partition is named as the one holding
// the watermark back, and the window's rows reach the sinks' last rows with
// their emit latency observed.
func TestMonitorLiveView(t *testing.T) {
	window := `window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "0s"
    group_by   = ["action"]
    aggregate  = { n = "count()" }
  }`
	p := load(t, fmt.Sprintf(userEvents, window))
	src := &lines{block: true, feed: make(chan fed), parts: [][]string{
		{ // partition 0 is ahead: [0, 60000) can close once partition 1 passes it
			`{"user_id":1,"action":"view","ts":1000}`,
			`{"user_id":2,"action":"heartbeat","ts":2000}`,
			`{"user_id":3,"action":"view","ts":200000}`,
		},
		{
			`{"user_id":4,"action":"view","ts":3000}`,
			`not json`,
			`{"user_id":5,"action":"click","ts":70000}`,
		},
	}}
	c := &collector{}
	opts := options(src, c)
	opts.Monitor = NewMonitor()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Run(ctx, p, opts)
		done <- result{st, err}
	}()

	ps := waitFor(t, opts.Monitor, func(ps PipelineStatus) bool {
		return ps.Counts.In == 6 && len(ps.Stages) == 4 && ps.Stages[3].Window.Holding != nil
	})
	checkCounts(t, ps)
	if ps.State != StateRunning || !ps.Source.Connected || ps.Source.Records != 6 {
		t.Errorf("state %s, connected %v, source records %d: want running, connected, 6", ps.State, ps.Source.Connected, ps.Source.Records)
	}
	want := []struct {
		kind                          string
		in, out, filtered, late, dead int64
	}{{"parse", 6, 5, 0, 0, 1}, {"filter", 5, 4, 1, 0, 0}, {"map", 4, 4, 0, 0, 0}, {"window", 4, 4, 0, 0, 0}}
	for i, w := range want {
		s := ps.Stages[i]
		if s.Kind != w.kind || s.In != w.in || s.Out != w.out || s.Filtered != w.filtered || s.Late != w.late || s.Dead != w.dead {
			t.Errorf("stage %d = %+v, want %+v", i, s, w)
		}
	}
	win := ps.Stages[3].Window
	if h := win.Holding; h.Index != 1 || h.MaxEventTime == nil || h.MaxEventTime.UnixMilli() != 70000 || h.BehindSeconds != 130 {
		t.Errorf("holding = %+v, want partition 1 at 70 s, 130 s behind", h)
	}
	if win.Watermark == nil || win.Watermark.UnixMilli() != 70000 || win.OpenWindows != 2 || win.StateBytes <= 0 {
		t.Errorf("window = %+v, want watermark 70 s, 2 open windows and some state", win)
	}
	if len(ps.Sinks) != 1 || ps.Sinks[0].Rows != 1 || len(ps.Sinks[0].LastRows) != 1 || !strings.Contains(string(ps.Sinks[0].LastRows[0]), `"n":2`) {
		t.Errorf("sinks = %+v, want the closed window [0, 60 s) with n = 2", ps.Sinks)
	}
	if win.EmitLatency.Count != 1 || ps.DeadLetter.Records != 1 {
		t.Errorf("emit latency count %d, dead letters %d: want 1 and 1", win.EmitLatency.Count, ps.DeadLetter.Records)
	}
	if _, err := json.Marshal(ps); err != nil {
		t.Fatal(err)
	}

	cancel()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	end := opts.Monitor.Snapshot(time.Now())[0]
	checkCounts(t, end)
	if end.State != StateStopped || end.Counts.In != res.st.In || end.Counts.Out != res.st.Out || end.Counts.Dead != res.st.Dead {
		t.Errorf("after the stop: state %s, counts %+v; want stopped and the run's %+v", end.State, end.Counts, res.st)
	}
}

// waitFor polls the monitor until its one pipeline satisfies ok.
func waitFor(t *testing.T, m *Monitor, ok func(PipelineStatus) bool) PipelineStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps := m.Snapshot(time.Now())
		if len(ps) == 1 && ok(ps[0]) {
			return ps[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitor never showed the expected state: %+v", ps)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkCounts checks that the pipeline's and each stage's counters add up.
func checkCounts(t *testing.T, ps PipelineStatus) {
	t.Helper()
	c := ps.Counts
	if c.In != c.Out+c.Filtered+c.Late+c.Dead {
		t.Errorf("pipeline counts do not add up: %+v", c)
	}
	for _, s := range ps.Stages {
		if s.In != s.Out+s.Filtered+s.Late+s.Dead {
			t.Errorf("stage %s counts do not add up: %+v", s.Title, s)
		}
	}
}

// TestMonitorCheckpoints checks that every checkpoint of a run reaches the
// live view: count, epoch, size, last success and history.
func TestMonitorCheckpoints(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.ndjson")
	writeEvents(t, in, 500)
	p := load(t, fmt.Sprintf(checkpointPipeline, in, "1m", filepath.Join(dir, "out.ndjson")))
	m := NewMonitor()
	opts := Options{BatchSize: 50, Workers: 2, Checkpoints: checkpoint.NewStore(checkpoint.NewMemStorage()), CheckpointEvery: time.Nanosecond, Monitor: m}
	if _, err := Run(context.Background(), p, opts); err != nil {
		t.Fatal(err)
	}
	ck := m.Snapshot(time.Now())[0].Checkpoints
	if !ck.Enabled || ck.Count < 2 || ck.Failed != 0 || ck.LastSuccess == nil || ck.LastSize <= 0 || ck.Duration.Count != uint64(ck.Count) {
		t.Fatalf("checkpoints = %+v, want several, all ok, with a size and a duration each", ck)
	}
	last := ck.History[len(ck.History)-1]
	if last.Result != "ok" || last.Epoch != ck.Epoch || len(ck.History) != min(int(ck.Count), historyKept) {
		t.Errorf("history ends with %+v (%d entries), want the last ok epoch %d", last, len(ck.History), ck.Epoch)
	}
}
