package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// The ceiling baseline is a hand-written program that does nothing but the
// reference aggregate, as fast as plain Go allows on two cores: the file is
// split at line boundaries into one range per worker, each worker reads its
// range with pread (os.File.ReadAt) into a reused buffer, scans the fields
// of the reference events by hand (falling back to encoding/json for any
// line that does not have exactly the generator's layout) and keeps its own
// group map; the maps are merged at the end. Like the naive baseline it has
// no watermark, so its rows must equal the naive ones.

// Ceiling tuning: two workers (the cores the bench assumes, and DuckDB's
// thread count) and a 256 KiB read buffer per worker.
const (
	ceilingWorkers = 2
	ceilingBuffer  = 256 << 10
)

// ceilingKey identifies one group of one worker: window start and the index
// of the action in the worker's action table.
type ceilingKey struct {
	start  int64
	action int
}

// ceilingWorker is the state of one worker.
type ceilingWorker struct {
	actionIDs map[string]int // action name → index in actions
	actions   []string
	groups    map[ceilingKey]*naiveAgg
	stats     naiveStats
}

func newCeilingWorker() *ceilingWorker {
	return &ceilingWorker{actionIDs: map[string]int{}, groups: map[ceilingKey]*naiveAgg{}}
}

// ceilingAggregate aggregates the NDJSON file at path with the given number
// of workers and read buffer size, and returns the rows in the naive
// baseline's order along with the same line counts.
func ceilingAggregate(path string, workers, bufSize int) ([]naiveRow, naiveStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, naiveStats{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, naiveStats{}, err
	}
	starts, err := lineStarts(f, st.Size(), workers)
	if err != nil {
		return nil, naiveStats{}, err
	}
	ws := make([]*ceilingWorker, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		ws[i] = newCeilingWorker()
		wg.Go(func() {
			errs[i] = ws[i].scanRange(f, starts[i], starts[i+1], bufSize)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, naiveStats{}, err
	}
	rows, stats := mergeCeiling(ws)
	return rows, stats, nil
}

// lineStarts returns workers+1 offsets: range i is [starts[i], starts[i+1]),
// each starting at the beginning of a line, the last ending at size.
func lineStarts(f io.ReaderAt, size int64, workers int) ([]int64, error) {
	starts := make([]int64, workers+1)
	starts[workers] = size
	probe := make([]byte, 4096)
	for i := 1; i < workers; i++ {
		// The line holding byte size*i/workers - 1 belongs to range i-1.
		pos := max(size*int64(i)/int64(workers)-1, starts[i-1])
		for pos < size {
			n, err := f.ReadAt(probe, pos)
			if k := bytes.IndexByte(probe[:n], '\n'); k >= 0 {
				pos += int64(k) + 1
				break
			}
			pos += int64(n)
			if err == io.EOF {
				break
			} else if err != nil {
				return nil, err
			}
		}
		starts[i] = min(pos, size)
	}
	return starts, nil
}

// scanRange aggregates the lines in [from, to) of f.
func (w *ceilingWorker) scanRange(f io.ReaderAt, from, to int64, bufSize int) error {
	buf := make([]byte, bufSize)
	have := 0 // bytes of buf holding an unfinished line carried over
	pos := from
	for pos < to {
		want := min(int64(len(buf)-have), to-pos)
		n, err := f.ReadAt(buf[have:have+int(want)], pos)
		if err != nil && !(errors.Is(err, io.EOF) && n == int(want)) {
			return err
		}
		pos += int64(n)
		data := buf[:have+n]
		for {
			k := bytes.IndexByte(data, '\n')
			if k < 0 {
				break
			}
			w.line(data[:k])
			data = data[k+1:]
		}
		have = copy(buf, data)
		if have == len(buf) { // a line longer than the buffer: grow it
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
	if have > 0 { // the file's last line has no newline
		w.line(buf[:have])
	}
	return nil
}

// line aggregates one input line (without its newline), as naiveAggregate
// does with the lines bufio.Scanner yields.
func (w *ceilingWorker) line(b []byte) {
	w.stats.In++
	b = bytes.TrimSuffix(b, []byte{'\r'})
	user, action, ts, ok := scanReferenceEvent(b)
	if !ok {
		var ev naiveEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			w.stats.Bad++
			return
		}
		user, action, ts = ev.UserID, []byte(ev.Action), ev.Ts
	}
	if string(action) == "heartbeat" {
		w.stats.Filtered++
		return
	}
	id, known := w.actionIDs[string(action)]
	if !known {
		id = len(w.actions)
		w.actions = append(w.actions, string(action))
		w.actionIDs[string(action)] = id
	}
	k := ceilingKey{ts - ((ts%windowMs)+windowMs)%windowMs, id}
	g := w.groups[k]
	if g == nil {
		g = &naiveAgg{users: make(map[int64]struct{})}
		w.groups[k] = g
	}
	g.count++
	g.users[user] = struct{}{}
}

// scanReferenceEvent reads a line with exactly the generator's layout,
// {"user_id":N,"action":"S","ts":N,"device":"S"}, where S has no escapes and
// N at most 18 digits. ok is false for anything else, which the caller hands
// to encoding/json.
func scanReferenceEvent(b []byte) (user int64, action []byte, ts int64, ok bool) {
	var rest []byte
	if rest, ok = bytes.CutPrefix(b, []byte(`{"user_id":`)); !ok {
		return 0, nil, 0, false
	}
	if user, rest, ok = scanInt(rest); !ok {
		return 0, nil, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"action":`)); !ok {
		return 0, nil, 0, false
	}
	if action, rest, ok = scanPlainString(rest); !ok {
		return 0, nil, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"ts":`)); !ok {
		return 0, nil, 0, false
	}
	if ts, rest, ok = scanInt(rest); !ok {
		return 0, nil, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"device":`)); !ok {
		return 0, nil, 0, false
	}
	if _, rest, ok = scanPlainString(rest); !ok || len(rest) != 1 || rest[0] != '}' {
		return 0, nil, 0, false
	}
	return user, action, ts, true
}

// scanInt reads an optional minus sign and 1 to 18 digits (no leading
// zero, as JSON wants) and returns the value and what follows.
func scanInt(b []byte) (int64, []byte, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	i := 0
	var n int64
	for i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 || i > 18 || (b[0] == '0' && i > 1) {
		return 0, nil, false
	}
	if neg {
		n = -n
	}
	return n, b[i:], true
}

// scanPlainString reads a JSON string without escapes or control characters
// and returns its bytes and what follows the closing quote.
func scanPlainString(b []byte) ([]byte, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// mergeCeiling merges the workers' groups and counts into rows ordered as
// the naive baseline orders them.
func mergeCeiling(ws []*ceilingWorker) ([]naiveRow, naiveStats) {
	var st naiveStats
	groups := make(map[naiveKey]*naiveAgg)
	for _, w := range ws {
		st.In += w.stats.In
		st.Filtered += w.stats.Filtered
		st.Bad += w.stats.Bad
		for k, g := range w.groups {
			nk := naiveKey{k.start, w.actions[k.action]}
			into := groups[nk]
			if into == nil {
				groups[nk] = g
				continue
			}
			into.count += g.count
			for u := range g.users {
				into.users[u] = struct{}{}
			}
		}
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
		rows[i] = naiveRow{WindowStart: formatMs(k.start), WindowEnd: formatMs(k.start + windowMs), Action: k.action, Events: g.count, Users: int64(len(g.users))}
	}
	return rows, st
}

// ceilingMain is the "ceiling IN OUT" subcommand: like naiveMain, with the
// ceiling baseline.
func ceilingMain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: bench ceiling EVENTS.ndjson OUT.ndjson")
		return exitUsage
	}
	rows, st, err := ceilingAggregate(args[0], ceilingWorkers, ceilingBuffer)
	if err == nil {
		err = writeRows(args[1], rows)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench ceiling:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, `{"records_in":%d,"filtered":%d,"bad":%d,"records_out":%d}`+"\n", st.In, st.Filtered, st.Bad, len(rows))
	return exitOK
}

// writeRows writes rows to path as NDJSON.
func writeRows(path string, rows []naiveRow) error {
	o, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(o)
	enc := json.NewEncoder(bw)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			o.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}
