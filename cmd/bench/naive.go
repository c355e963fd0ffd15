package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// The naive baseline is the program anyone would write first for the
// reference aggregate: bufio.Scanner, encoding/json into a struct, a map per
// (window, action) holding a count and a set of users. It has no watermark:
// late events are counted in their window however late they are, and
// everything is emitted at the end.

// windowMs is the tumbling window size of the reference aggregate.
const windowMs = 60_000

// naiveEvent is one input line.
type naiveEvent struct {
	UserID int64  `json:"user_id"`
	Action string `json:"action"`
	Ts     int64  `json:"ts"`
	Device string `json:"device"`
}

// naiveKey identifies one output row.
type naiveKey struct {
	start  int64
	action string
}

// naiveAgg is the state of one output row.
type naiveAgg struct {
	count int64
	users map[int64]struct{}
}

// naiveRow is one output row, as written.
type naiveRow struct {
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
	Action      string `json:"action"`
	Events      int64  `json:"events"`
	Users       int64  `json:"users"`
}

// naiveStats counts what happened to the input lines.
type naiveStats struct {
	In, Filtered, Bad int64
}

// naiveAggregate reads NDJSON events from r and returns the rows ordered by
// window start then action.
func naiveAggregate(r io.Reader) ([]naiveRow, naiveStats, error) {
	var st naiveStats
	groups := make(map[naiveKey]*naiveAgg)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		st.In++
		var ev naiveEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			st.Bad++
			continue
		}
		if ev.Action == "heartbeat" {
			st.Filtered++
			continue
		}
		start := ev.Ts - ((ev.Ts%windowMs)+windowMs)%windowMs // floor, also for negative ts
		k := naiveKey{start, ev.Action}
		g := groups[k]
		if g == nil {
			g = &naiveAgg{users: make(map[int64]struct{})}
			groups[k] = g
		}
		g.count++
		g.users[ev.UserID] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, st, err
	}
	keys := make([]naiveKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b naiveKey) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.action, b.action))
	})
	rows := make([]naiveRow, len(keys))
	for i, k := range keys {
		g := groups[k]
		rows[i] = naiveRow{
			WindowStart: formatMs(k.start),
			WindowEnd:   formatMs(k.start + windowMs),
			Action:      k.action,
			Events:      g.count,
			Users:       int64(len(g.users)),
		}
	}
	return rows, st, nil
}

// formatMs formats Unix milliseconds as RFC 3339 in UTC with milliseconds,
// like sluice's file sink.
func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// naiveMain is the "naive IN OUT" subcommand: it aggregates IN and writes the
// rows to OUT as NDJSON, and a summary line to stdout.
func naiveMain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: bench naive EVENTS.ndjson OUT.ndjson")
		return exitUsage
	}
	if err := naiveRun(args[0], args[1], stdout); err != nil {
		fmt.Fprintln(stderr, "bench naive:", err)
		return exitFailed
	}
	return exitOK
}

func naiveRun(in, out string, stdout io.Writer) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, st, err := naiveAggregate(f)
	if err != nil {
		return err
	}
	if err := writeRows(out, rows); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, `{"records_in":%d,"filtered":%d,"bad":%d,"records_out":%d}`+"\n",
		st.In, st.Filtered, st.Bad, len(rows))
	return err
}
