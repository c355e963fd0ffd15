package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const userEvents = `
pipeline "p" {
  source "generate" {
    rate   = 1
    format = "json"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  filter { where = "action != 'heartbeat'" }
  map {
    set = { score = "100 %% (user_id - 13)" }
  }
  %s
  sink "console" "out" {}
  dead_letter "file" { path = "dead.ndjson" }
}`

func TestDeadLetterRouting(t *testing.T) {
	window := `window "tumbling" {
    event_time = "ts"
    size       = "1m"
    group_by   = ["action"]
    aggregate  = { n = "count()" }
    late       = "dead_letter"
  }`
	p := load(t, fmt.Sprintf(userEvents, window))
	in := []string{
		`{"user_id":1,"action":"view","ts":60000}`,
		`{"user_id":2,"action":"heartbeat","ts":60001}`,      // filtered
		`{"user_id":"x","action":"view","ts":60002}`,         // mistyped
		`{"user_id":3,"action":"view"`,                       // truncated
		`not json`,                                           // malformed
		`{"user_id":4,"action":"v` + "\xff" + `iew","ts":1}`, // invalid UTF-8
		`{"user_id":13,"action":"view","ts":60003}`,          // map divides by zero
		`{"user_id":5,"action":"click","ts":200000}`,         // W = 200000: [0,60000) and [60000,120000) close
		`{"user_id":6,"action":"click","ts":61000}`,          // late
		`{"user_id":7,"action":"click","ts":200001}`,
	}
	c := &collector{}
	st, err := Run(context.Background(), p, options(&lines{parts: [][]string{in}}, c))
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, st)
	want := Stats{In: 10, Out: 3, Filtered: 1, Late: 1, Dead: 5, Emitted: 2}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	wantRows := join([]string{
		`{"window_start":"1970-01-01T00:01:00.000Z","window_end":"1970-01-01T00:02:00.000Z","action":"view","n":1}`,
		`{"window_start":"1970-01-01T00:03:00.000Z","window_end":"1970-01-01T00:04:00.000Z","action":"click","n":2}`,
	})
	if got := join(c.rows()); got != wantRows {
		t.Errorf("rows:\n%s\nwant:\n%s", got, wantRows)
	}
	wantDead := []struct {
		offset  int64
		stage   string
		reason  string
		payload string
	}{
		{2, `parse "json"`, `field "user_id"`, in[2]},
		{3, `parse "json"`, ``, in[3]},
		{4, `parse "json"`, ``, in[4]},
		{5, `parse "json"`, `UTF-8`, in[5]},
		{6, `map`, `division by zero`, in[6]},
		{8, `window "tumbling"`, `late`, in[8]},
	}
	if len(c.dead) != len(wantDead) {
		t.Fatalf("dead letters: got %d, want %d: %+v", len(c.dead), len(wantDead), c.dead)
	}
	for i, w := range wantDead {
		d := c.dead[i]
		if d.Origin.Offset != w.offset || d.Stage != w.stage || !strings.Contains(d.Reason, w.reason) || string(d.Payload) != w.payload {
			t.Errorf("dead[%d] = {%d %s %q %q}, want {%d %s ~%q %q}", i, d.Origin.Offset, d.Stage, d.Reason, d.Payload, w.offset, w.stage, w.reason, w.payload)
		}
		if d.Time.IsZero() {
			t.Errorf("dead[%d] has no time", i)
		}
	}
}

func TestOnErrorFailStops(t *testing.T) {
	src := strings.Replace(fmt.Sprintf(userEvents, ""), `field "ts" { type = "timestamp" }`, `field "ts" { type = "timestamp" }
    on_error = "fail"`, 1)
	p := load(t, src)
	in := []string{`{"user_id":1,"action":"view","ts":1}`, `oops`, `{"user_id":2,"action":"view","ts":2}`}
	c := &collector{}
	st, err := Run(context.Background(), p, options(&lines{parts: [][]string{in}}, c))
	if err == nil || !strings.Contains(err.Error(), "offset 1") || !strings.Contains(err.Error(), `on_error = "fail"`) {
		t.Fatalf("err = %v, want a failure naming offset 1", err)
	}
	if !c.closed {
		t.Error("sink not closed after the failure")
	}
	if st.Emitted > 1 {
		t.Errorf("emitted %d rows; the rows after the failure must not be written", st.Emitted)
	}
	if len(c.dead) != 0 || st.Dead != 0 {
		t.Errorf("the failing record was dead-lettered (%d) or counted as dead (%d); on_error = \"fail\" only fails the run", len(c.dead), st.Dead)
	}
}

func TestSinkFailureIsFatal(t *testing.T) {
	p := load(t, fmt.Sprintf(userEvents, ""))
	c := &collector{fail: errors.New("disk full")}
	_, err := Run(context.Background(), p, options(&lines{parts: [][]string{{`{"user_id":1,"action":"view","ts":1}`}}}, c))
	var se *StageError
	if !errors.As(err, &se) || se.Stage != `sink "console" "out"` || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want a StageError of the sink", err)
	}
}

func TestSourceFailureIsFatal(t *testing.T) {
	p := load(t, fmt.Sprintf(userEvents, ""))
	c := &collector{}
	_, err := Run(context.Background(), p, options(&lines{parts: [][]string{{`{"user_id":1,"action":"view","ts":1}`}}, fail: errors.New("connection reset")}, c))
	if err == nil || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), `source "generate"`) {
		t.Fatalf("err = %v, want the source's error", err)
	}
	if got := len(c.rows()); got != 1 {
		t.Errorf("the row read before the failure: got %d rows, want 1", got)
	}
}

// TestStopDrains cancels an unbounded run: what was read reaches the sinks,
// Run returns nil, and open windows are reported, not emitted.
func TestStopDrains(t *testing.T) {
	for _, window := range []string{"", `window "tumbling" {
    event_time = "ts"
    size       = "1m"
    aggregate  = { n = "count()" }
  }`} {
		p := load(t, fmt.Sprintf(userEvents, window))
		var in []string
		for i := range 5000 {
			in = append(in, fmt.Sprintf(`{"user_id":%d,"action":"view","ts":%d}`, i%7+20, i))
		}
		c := &collector{}
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			st  Stats
			err error
		}
		done := make(chan result)
		opts := options(&lines{parts: [][]string{in}, block: true}, c)
		opts.Monitor = NewMonitor()
		go func() {
			st, err := Run(ctx, p, opts)
			done <- result{st, err}
		}()
		// Stop once the source has handed out every line: they are all in
		// flight or done, and a stop must drain them.
		waitFor(t, opts.Monitor, func(ps PipelineStatus) bool { return ps.Source.Records == 5000 })
		cancel()
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		checkSum(t, r.st)
		if r.st.In != 5000 {
			t.Errorf("in = %d, want 5000", r.st.In)
		}
		if window == "" && len(c.rows()) != 5000 {
			t.Errorf("rows = %d, want all 5000 in flight flushed", len(c.rows()))
		}
		if window != "" && (len(c.rows()) != 0 || r.st.OpenWindows != 1) {
			t.Errorf("with a window: rows = %d, open windows %d; want 0 and 1", len(c.rows()), r.st.OpenWindows)
		}
		if !c.closed {
			t.Error("sink not closed")
		}
	}
}

// TestLateResultsOfASecondWindow: a window fed by a window sees results;
// those late for it are counted as results dropped, or dead-lettered with
// late = "dead_letter", never silently lost.
func TestLateResultsOfASecondWindow(t *testing.T) {
	for _, late := range []string{"drop", "dead_letter"} {
		p := load(t, fmt.Sprintf(userEvents, fmt.Sprintf(`window "session" {
    event_time = "ts"
    gap        = "10s"
    group_by   = ["user_id"]
    aggregate  = { n = "count()" }
  }
  window "tumbling" {
    event_time = "window_start"
    size       = "1m"
    aggregate  = { sessions = "count()" }
    late       = %q
  }`, late)))
		// User 2's session [70000, 80000) closes when user 1's event at
		// 81000 moves the first window's watermark: the second window's
		// watermark becomes 70000 and [0, 60000) closes. User 1's session,
		// which starts at 0, only closes at the end: late for the second
		// window.
		var in []string
		for ts := 0; ts <= 63000; ts += 9000 {
			in = append(in, fmt.Sprintf(`{"user_id":1,"action":"view","ts":%d}`, ts))
		}
		in = append(in, `{"user_id":2,"action":"view","ts":70000}`,
			`{"user_id":1,"action":"view","ts":72000}`,
			`{"user_id":1,"action":"view","ts":81000}`,
			`{"user_id":1,"action":"view","ts":90000}`)
		c := &collector{}
		st, err := Run(context.Background(), p, options(&lines{parts: [][]string{in}}, c))
		if err != nil {
			t.Fatal(err)
		}
		checkSum(t, st)
		lost := st.ResultsDropped
		if late == "dead_letter" {
			lost = st.ResultsDead
			if len(c.dead) != 1 || !strings.Contains(c.dead[0].Reason, "late") || !strings.Contains(string(c.dead[0].Payload), `"user_id":1`) {
				t.Errorf("late = dead_letter: dead letters %+v, want user 1's session", c.dead)
			} else if l := c.dead[0].Late; l == nil || l.WindowStart != 0 || l.WindowEnd != 60000 || l.Watermark < 60000 || l.LateBy != l.Watermark-60000 {
				t.Errorf("late = dead_letter: the dead letter says %+v of where the result missed its window, want [0, 60000) and the watermark past its end", l)
			}
		}
		if lost != 1 {
			t.Errorf("late = %s: stats %+v, want the one late session result counted", late, st)
		}
	}
}
