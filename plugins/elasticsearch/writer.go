package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

var (
	_ plugins.SinkOpener  = (*Sink)(nil)
	_ plugins.Committer   = (*writer)(nil)
	_ plugins.CommitPacer = (*writer)(nil)
)

// writer is a running sink. Write encodes rows into the pending bulk
// request; a full request (flush_bytes), an old one (flush_interval) or
// Prepare hands it to the sender goroutine, which sends requests one at a
// time, in order, so that two versions of a document are never reordered.
type writer struct {
	sink   *Sink
	client *es.Client
	log    *slog.Logger
	enc    *ndjson.Encoder
	id     *expression.Evaluator // nil without an id expression
	static []byte                // the index name when it has no column
	http   http.RoundTripper     // the client's transport, to close its connections

	ctx    context.Context // the writer's life, canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the sender and the flusher

	mu       sync.Mutex // guards pending and the order of the queue
	pending  *bulkBuffer
	since    time.Time // when pending got its first document
	queue    chan *bulkBuffer
	free     chan *bulkBuffer
	inflight sync.WaitGroup // requests queued and not yet answered

	state   sync.Mutex
	failure error                // the first fatal error
	rejects []plugins.DeadRecord // refused documents not yet handed over
	touched map[string]struct{}  // indices written since the last commit (refresh_on_commit)

	retries, rejected, conflicts atomic.Int64

	scratch []byte // index names and ids of the row at hand (Write only)
}

// bulkBuffer is one bulk request being built or sent: its NDJSON body and
// where each document is in it.
type bulkBuffer struct {
	body    []byte
	entries []bulkEntry
}

// bulkEntry is one document of a bulk request: body[start:end] are its two
// lines, body[recStart:recEnd] the record as JSON. A delete (del) has its
// action line only, which recStart:recEnd then spans.
type bulkEntry struct {
	start, recStart, recEnd, end int
	origin                       record.Origin
	del                          bool
}

func (b *bulkBuffer) reset() { b.body, b.entries = b.body[:0], b.entries[:0] }

// Open connects to the cluster and checks who it is.
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	transport, err := s.transport()
	if err != nil {
		return nil, err
	}
	client, err := s.newClient(transport)
	if err != nil {
		return nil, err
	}
	w := &writer{
		sink: s, client: client, http: transport, enc: ndjson.NewEncoder(s.Input), static: []byte(staticIndex(s.Index)),
		queue: make(chan *bulkBuffer, 1), free: make(chan *bulkBuffer, 3), pending: &bulkBuffer{},
		touched: map[string]struct{}{}, log: slog.New(slog.DiscardHandler),
	}
	if rt != nil && rt.Logger != nil {
		w.log = rt.Logger
	}
	if s.ID != nil {
		w.id = s.ID.Evaluator(s.Input)
	}
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if _, err := w.checkServerRetrying(ctx); err != nil {
		w.cancel()
		return nil, err
	}
	if rt == nil || !rt.Checkpoints {
		w.logGuarantee()
	}
	w.wg.Add(2)
	go w.sendLoop()
	go w.flushLoop()
	return w, nil
}

// logGuarantee says, once, what a run without checkpoints guarantees.
func (w *writer) logGuarantee() {
	if w.sink.ID == nil && w.sink.KeyID == nil {
		w.log.Warn("no checkpoint block: documents are written at least once, under ids Elasticsearch assigns, so a replay after a crash duplicates documents; set id")
		return
	}
	w.log.Info("no checkpoint block: documents are written at least once under deterministic ids, so a replay after a crash overwrites them (idempotent)")
}

// checkServerRetrying checks the server, retrying while it cannot be
// reached or is unavailable.
func (w *writer) checkServerRetrying(ctx context.Context) (info serverInfo, err error) {
	err = w.retrying(ctx, "waiting for the cluster", func() (bool, error) {
		var (
			retry bool
			rerr  error
		)
		info, retry, rerr = w.checkServer(ctx)
		return retry, rerr
	})
	return info, err
}

// urls names the cluster in messages.
func (w *writer) urls() string { return strings.Join(w.sink.URLs, ", ") }

// Write encodes every row of b into the pending bulk request, sending the
// request whenever it reaches flush_bytes. Rows whose index or id cannot
// be computed go to the dead letter.
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := w.err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.id != nil {
		w.id.Bind(b)
	}
	for row := range b.Rows {
		if err := w.appendRow(b, row); err != nil {
			w.addReject(w.deadRow(b, row, err.Error()))
			continue
		}
		if int64(len(w.pending.body)) >= w.sink.FlushBytes {
			if err := w.enqueueLocked(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendRow appends the action and document lines of row to the pending
// request; a Delete row appends a delete action of its document.
func (w *writer) appendRow(b *record.Batch, row int) error {
	buf := w.pending
	var origin record.Origin
	if row < len(b.Origins) {
		origin = b.Origins[row]
	}
	name := w.static
	idStart := 0
	if len(name) == 0 {
		var null string
		w.scratch, null = appendIndex(w.scratch[:0], w.sink.Index, b, row)
		if null != "" {
			return fmt.Errorf("the index name: column %q is null", null)
		}
		idStart = len(w.scratch)
	} else {
		w.scratch = w.scratch[:0]
	}
	hasID, err := w.appendID(b, row)
	if err != nil {
		return err
	}
	if len(name) == 0 {
		name = w.scratch[:idStart]
	}
	if len(buf.entries) == 0 {
		w.since = time.Now()
	}
	if b.Kind(row) == record.Delete {
		if !hasID {
			return errors.New("a delete row, and the document has no id to delete (set id)")
		}
		e := bulkEntry{start: len(buf.body), recStart: len(buf.body), origin: origin, del: true}
		buf.body = appendAction(buf.body, "delete", name, w.scratch[idStart:], true)
		e.recEnd, e.end = len(buf.body)-1, len(buf.body)
		buf.entries = append(buf.entries, e)
		if w.sink.RefreshOnCommit {
			w.touch(name)
		}
		return nil
	}
	e := bulkEntry{start: len(buf.body), origin: origin}
	buf.body = appendAction(buf.body, w.sink.Action, name, w.scratch[idStart:], hasID)
	if w.sink.Action == ActionUpdate {
		buf.body = append(buf.body, `{"doc":`...)
	}
	e.recStart = len(buf.body)
	buf.body = w.enc.AppendRow(buf.body, b, row)
	e.recEnd = len(buf.body)
	if w.sink.Action == ActionUpdate {
		buf.body = append(buf.body, `,"doc_as_upsert":true}`...)
	}
	buf.body = append(buf.body, '\n')
	e.end = len(buf.body)
	buf.entries = append(buf.entries, e)
	if w.sink.RefreshOnCommit {
		w.touch(name)
	}
	return nil
}

// appendID appends the id of row to w.scratch and reports whether the
// document has one.
func (w *writer) appendID(b *record.Batch, row int) (bool, error) {
	switch {
	case w.id != nil:
		v, err := w.id.Eval(row)
		if err != nil {
			return false, fmt.Errorf("the document id: %w", err)
		}
		if v.Null {
			return false, errors.New("the document id is null")
		}
		start := len(w.scratch)
		w.scratch = v.AppendText(w.scratch)
		if len(w.scratch) == start {
			return false, errors.New("the document id is empty")
		}
		return true, nil
	case w.sink.KeyID != nil:
		w.scratch = appendKeyID(w.scratch, w.sink.KeyID, b, row)
		return true, nil
	}
	return false, nil
}

// appendAction appends the action line, e.g. {"index":{"_index":"x","_id":"1"}}.
func appendAction(dst []byte, action string, index, id []byte, hasID bool) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, action...)
	dst = append(dst, `":{"_index":`...)
	dst = ndjson.AppendBytes(dst, index)
	if hasID {
		dst = append(dst, `,"_id":`...)
		dst = ndjson.AppendBytes(dst, id)
	}
	return append(dst, "}}\n"...)
}

// touch records an index written, for refresh_on_commit.
func (w *writer) touch(name []byte) {
	w.state.Lock()
	if _, ok := w.touched[string(name)]; !ok {
		w.touched[string(name)] = struct{}{}
	}
	w.state.Unlock()
}

// enqueueLocked hands the pending request to the sender, waiting while it
// is busy with two others. w.mu is held.
func (w *writer) enqueueLocked(ctx context.Context) error {
	if len(w.pending.entries) == 0 {
		return nil
	}
	buf := w.pending
	size, count := len(buf.body), len(buf.entries) // buf is the sender's once queued
	w.inflight.Add(1)
	select {
	case w.queue <- buf:
	case <-ctx.Done():
		w.inflight.Done()
		return context.Cause(ctx)
	case <-w.ctx.Done():
		w.inflight.Done()
		return errors.New("the sink is closed")
	}
	select {
	case w.pending = <-w.free:
	default:
		w.pending = &bulkBuffer{body: make([]byte, 0, size), entries: make([]bulkEntry, 0, count)}
	}
	return nil
}

// sendLoop sends the queued requests in order until Close.
func (w *writer) sendLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.ctx.Done():
			return
		case buf := <-w.queue:
			if w.err() == nil {
				if err := w.send(buf); err != nil {
					w.fail(err)
				}
			}
			buf.reset()
			select {
			case w.free <- buf:
			default:
			}
			w.inflight.Done()
		}
	}
}

// flushLoop sends the pending request once its first document is
// flush_interval old.
func (w *writer) flushLoop() {
	defer w.wg.Done()
	every := max(w.sink.FlushInterval/4, time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			w.mu.Lock()
			if len(w.pending.entries) > 0 && time.Since(w.since) >= w.sink.FlushInterval {
				_ = w.enqueueLocked(w.ctx) // fails only when closing
			}
			w.mu.Unlock()
		}
	}
}

// flush sends the pending request and waits until every request sent has
// been answered and every document's result checked.
func (w *writer) flush(ctx context.Context) error {
	w.mu.Lock()
	err := w.enqueueLocked(ctx)
	w.mu.Unlock()
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { w.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	return w.err()
}

// Prepare sends every document written so far and checks each one's
// result: the checkpoint then covers acknowledged documents only. Refused
// documents are handed to the dead letter before it returns. There is no
// manifest: documents are visible as soon as they are written.
func (w *writer) Prepare(ctx context.Context, _ int64) ([]byte, error) {
	return nil, w.flush(ctx)
}

// Commit refreshes the indices written since the last commit when
// refresh_on_commit is set; a failed refresh is logged, since the
// documents are written whatever it does.
func (w *writer) Commit(ctx context.Context, _ []byte) error {
	if !w.sink.RefreshOnCommit {
		return nil
	}
	w.state.Lock()
	names := make([]string, 0, len(w.touched))
	for n := range w.touched {
		names = append(names, n)
	}
	clear(w.touched)
	w.state.Unlock()
	if len(names) == 0 {
		return nil
	}
	if err := w.refresh(ctx, names); err != nil {
		w.log.Warn("could not refresh the indices written", "error", err.Error())
	}
	return nil
}

// Recover does nothing: documents written after the checkpoint a run
// resumes from are written again, under the same ids, by the resumed run.
func (w *writer) Recover(context.Context, []byte) error { return nil }

// CommitEvery makes a run without checkpoints commit, and acknowledge its
// source, every flush_interval.
func (w *writer) CommitEvery() time.Duration { return w.sink.FlushInterval }

// Close stops the writer. Documents written since the last Prepare are
// dropped, as in a crash: no checkpoint or acknowledgement covers them, so
// the next run writes them again.
func (w *writer) Close() error {
	w.cancel()
	w.wg.Wait()
	if t, ok := w.http.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// Retries is the number of requests, and of batches of refused documents,
// sent again.
func (w *writer) Retries() int64 { return w.retries.Load() }

// Refused is the number of documents the cluster refused since the writer
// opened (each handed to the runner by Rejected).
func (w *writer) Refused() int64 { return w.rejected.Load() }

// Conflicts is the number of documents action = "create" found existing.
func (w *writer) Conflicts() int64 { return w.conflicts.Load() }

var _ plugins.SinkRejecter = (*writer)(nil)

// Rejected hands the documents the cluster refused since the previous call
// to the runner (plugins.SinkRejecter), which sends them to the pipeline's
// dead letter with their reason. Prepare has waited for every item's
// result, so after Prepare nothing refused is left behind.
func (w *writer) Rejected() []plugins.DeadRecord {
	w.state.Lock()
	defer w.state.Unlock()
	recs := w.rejects
	w.rejects = nil
	return recs
}

func (w *writer) err() error {
	w.state.Lock()
	defer w.state.Unlock()
	return w.failure
}

func (w *writer) fail(err error) {
	w.state.Lock()
	if w.failure == nil {
		w.failure = err
	}
	w.state.Unlock()
}

func (w *writer) addReject(d plugins.DeadRecord) {
	w.rejected.Add(1)
	w.state.Lock()
	w.rejects = append(w.rejects, d)
	w.state.Unlock()
}

// deadRow is the dead record of row of b, refused for reason.
func (w *writer) deadRow(b *record.Batch, row int, reason string) plugins.DeadRecord {
	d := plugins.DeadRecord{Time: time.Now(), Stage: w.sink.Title, Reason: reason, Payload: w.enc.AppendRow(nil, b, row)}
	if row < len(b.Origins) {
		d.Origin = b.Origins[row]
	}
	return d
}
