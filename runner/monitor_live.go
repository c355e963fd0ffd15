package runner

import (
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// Retention of a pipeline's live view.
const (
	lastRowsKept     = 20  // rows shown per sink
	historyKept      = 20  // checkpoints and errors shown
	publishEvery     = 250 // ms between two publications of window state
	stateBytesEvery  = 2000
	rowCaptureEveryM = 200 // ms between row captures of a pipeline without windows
)

// live is the live view of one run of a pipeline: counters that the
// runner's goroutines add to per batch, and what the scheduler publishes
// now and then. status reads it from any goroutine.
type live struct {
	name        string
	c           *counters
	stages      []liveStage // the stateless stages, then the ones after them
	firstWindow int         // index in stages of the first window, or -1
	sinks       []liveSink
	source      liveSource
	dead        struct {
		title           string
		records, errors atomic.Int64
	}

	mu          sync.Mutex   // guards what follows
	counts      Stats        // the counters as of the last batch handled
	stageCounts []stageCount // each stage's, likewise
	state       string
	since       time.Time
	err         string
	errors      []ErrorEvent
	reader      plugins.Reader
	partNames   []string
	batches     int
	inFlight    func() int
	ckptEnabled bool
	ckptEvery   time.Duration
	ckpt        liveCheckpoints
	lastRows    []json.RawMessage
	lastCapture int64
}

type liveSource struct {
	title          string
	records, bytes atomic.Int64 // read by the source, in flight included
}

// stageCount is what one stage did with the rows it was given:
// in = out + filtered + late + dead.
type stageCount struct {
	in, out, filtered, late, dead int64
}

func (c *stageCount) add(d stageCount) {
	c.in += d.in
	c.out += d.out
	c.filtered += d.filtered
	c.late += d.late
	c.dead += d.dead
}

type liveStage struct {
	title, kind, deadReason string
	count                   stageCount // the scheduler's; published under live.mu
	window                  *liveWindow
}

// liveWindow is what the scheduler last published of a window stage.
type liveWindow struct {
	latency Histogram // emit latency of the rows this window's results become

	mu          sync.Mutex
	published   bool
	watermark   int64
	open        int
	stateBytes  int64
	stateAt     int64
	parts       []plugins.PartitionStatus
	holder      int
	holderSince int64
}

type liveSink struct {
	title                  string
	rows, errors, rejected atomic.Int64
	write                  Histogram
	retries                plugins.RetryCounter // nil when the sink does not retry
}

type liveCheckpoints struct {
	count, failed, epoch, size int64
	lastSuccess                time.Time
	duration                   Histogram
	history                    []CheckpointEvent
}

// newLive returns the live view of a run of pl.
func newLive(pl *plan, c *counters, now time.Time) *live {
	l := &live{name: pl.liveName(), c: c, state: StateStarting, since: now, firstWindow: -1}
	l.source.title = pl.sourceTitle
	for _, st := range append(append([]stage{}, pl.pre...), pl.post...) {
		ls := liveStage{title: st.title, kind: stageKind(st), deadReason: "expression"}
		switch {
		case st.onError != "":
			ls.deadReason = "parse"
		case st.operator != nil:
			ls.deadReason = "event_time"
			ls.window = &liveWindow{holder: -1}
			if l.firstWindow < 0 {
				l.firstWindow = len(l.stages)
			}
		}
		l.stages = append(l.stages, ls)
	}
	l.sinks = make([]liveSink, len(pl.sinks))
	for i, s := range pl.sinks {
		l.sinks[i].title = s.title
	}
	if pl.dead != nil {
		l.dead.title = "dead_letter"
	}
	return l
}

// stageKind names the kind of block a stage is.
func stageKind(st stage) string {
	switch {
	case st.operator != nil:
		return "window"
	case st.onError != "":
		return "parse"
	case st.filter:
		return "filter"
	}
	return "map"
}

// opened records the open source and sinks: the pipeline runs.
func (l *live) opened(r *run, inFlight func() int, batches int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state, l.since, l.reader, l.inFlight, l.batches = StateRunning, now, r.reader, inFlight, batches
	l.ckptEnabled = r.plan.checkpoint != nil
	if l.ckptEnabled {
		l.ckptEvery = r.plan.checkpoint.Every
	}
	res, _ := r.reader.(plugins.Resumer)
	for p := range r.reader.Partitions() {
		name := strconv.Itoa(p)
		if res != nil {
			name = res.PartitionKey(p)
		}
		l.partNames = append(l.partNames, name)
	}
	for i, w := range r.sinks {
		l.sinks[i].retries, _ = w.(plugins.RetryCounter)
	}
}

// publishCounts makes the counters of the batches handled so far visible
// to status at once, so that a scrape never sees a batch half counted: the
// scheduler calls it after each batch and wake-up.
func (l *live) publishCounts() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts = l.c.stats()
	l.stageCounts = l.stageCounts[:0]
	for i := range l.stages {
		l.stageCounts = append(l.stageCounts, l.stages[i].count)
	}
}

// ended records how the run ended.
func (l *live) ended(state string, err error, now time.Time) {
	l.publishCounts()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state, l.since = state, now
	if err != nil {
		l.err = err.Error()
		l.errors = appendKept(l.errors, ErrorEvent{At: now, Message: l.err})
	}
}

// resumed records the epoch of the checkpoint the run resumes from.
func (l *live) resumed(epoch int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ckpt.epoch = epoch
}

// checkpointed records a checkpoint (or a commit without a store) that
// took d and wrote size bytes, or failed with err.
func (l *live) checkpointed(epoch int64, d time.Duration, size int64, err error, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := &l.ckpt
	ev := CheckpointEvent{Epoch: epoch, At: now, DurationSeconds: d.Seconds(), SizeBytes: size, Result: "ok"}
	if err != nil {
		k.failed++
		ev.Result, ev.Error = "failed", err.Error()
		l.errors = appendKept(l.errors, ErrorEvent{At: now, Message: "checkpoint: " + ev.Error})
	} else {
		k.count++
		k.epoch, k.size, k.lastSuccess = epoch, size, now
		k.duration.Observe(d)
	}
	k.history = appendKept(k.history, ev)
}

func appendKept[T any](s []T, v T) []T {
	if len(s) == historyKept {
		s = append(s[:0], s[1:]...)
	}
	return append(s, v)
}

// captureRows keeps the last rows of b, a batch handed to the sinks: every
// batch of a pipeline with windows (their results are few), at most one
// every rowCaptureEveryM ms otherwise, so that a busy pipeline does not pay
// for encoding rows nobody reads.
func (l *live) captureRows(b *record.Batch, now int64, windowed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !windowed && now-l.lastCapture < rowCaptureEveryM {
		return
	}
	l.lastCapture = now
	for i := max(0, b.Rows-lastRowsKept); i < b.Rows; i++ {
		l.lastRows = appendLastRow(l.lastRows, ndjson.AppendRow(nil, b, i))
	}
}

func appendLastRow(s []json.RawMessage, row []byte) []json.RawMessage {
	if len(s) == lastRowsKept {
		s = append(s[:0], s[1:]...)
	}
	return append(s, json.RawMessage(row))
}

// publish copies a window operator's event time and state for readers:
// called by the scheduler's goroutine, at most every publishEvery ms
// unless force. When it skips, it returns when to publish next.
func (w *liveWindow) publish(op plugins.Operator, now int64, force bool) (due int64, skipped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !force && w.published && now-w.stateAt < publishEvery {
		return w.stateAt + publishEvery, true
	}
	rep, ok := op.(plugins.OperatorReporter)
	w.watermark, w.open = op.Watermark(), op.Open()
	if ok {
		w.parts = rep.Partitions(w.parts[:0], now)
		if force || now-w.stateAt >= stateBytesEvery || !w.published {
			w.stateBytes = rep.StateBytes()
		}
	}
	if h := holdingPartition(w.parts); h != w.holder {
		w.holder, w.holderSince = h, now
	}
	w.stateAt, w.published = now, true
	return 0, false
}

// holdingPartition returns the active partition with the lowest largest
// event time (the one holding the watermark back), or -1 when every
// partition is idle.
func holdingPartition(parts []plugins.PartitionStatus) int {
	h := -1
	for p, s := range parts {
		if !s.Idle && (h < 0 || s.MaxEventTime < parts[h].MaxEventTime) {
			h = p
		}
	}
	return h
}

// millisTime converts Unix ms to a time, nil for "none".
func millisTime(ms int64) *time.Time {
	if ms == eventtime.NoWatermark || ms == eventtime.EndOfTime {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}
