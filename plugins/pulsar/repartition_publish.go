package pulsar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// This file is the half before a repartition block: the publisher.
//
// Records. Each Write routes every row by a hash of its key fields and
// packs the rows of one partition into one message (rowcodec.go), sent
// without the client's batching. Every row gets the next value of a
// counter; a message's sequence id is the counter of its last row, so the
// broker's last sequence id of the producer name on a partition is that of
// the last row it stored there. Prepare waits for every receipt and
// records the counter in the manifest.
//
// Exactly once. After a crash the runner resumes from a checkpoint and
// writes the same rows again in the same order; Recover continues the
// counter from the manifest, so they get the same ids. The broker drops a
// message whose sequence id is not above the last it stored, but a message
// packing rows on both sides of that mark would be stored whole, its first
// rows twice: so, after Recover, the rows of a partition go one per
// message until the broker stores one (its receipt has a real message id,
// a duplicate's is -1:-1); from then on every row of that partition is
// new. pulsar-client-go's own batches cannot serve here: they carry only
// their first message's sequence id (internal/pulsartest, doc.go).
//
// A fresh start (Recover without a manifest) after a committed checkpoint
// must not start below ids the broker has seen from this producer name,
// or new rows would be dropped: the client does not tell the broker's last
// sequence id, so the publisher sends each partition a marker without an
// explicit id (the client numbers it after the broker's last) and starts
// the counter after the highest of them. A fresh start after runs that
// completed no checkpoint starts where they did (repartition_state.go).
//
// Watermark markers (repartition_marks.go) go through a second producer.

// maxMessageBytes bounds the rows packed in one message (Pulsar's default
// limit is 5 MB).
const maxMessageBytes = 1 << 20

// The properties of the messages on the shuffle's topic.
const (
	propPartition = "sluice-partition" // the partition a message goes to (the routers read it)
	propSchema    = "sluice-schema"    // the fingerprint of a record message's schema
	propTask      = "sluice-task"      // the publishing task ("" when the half before runs as one)
	propMarker    = "sluice-marker"    // "1" on a watermark marker
	propTasks     = "sluice-tasks"     // a marker's number of publishing tasks
	propWatermark = "sluice-watermark" // a marker's watermark (Unix ms); absent for none
	propIdle      = "sluice-idle"      // "1" on the marker of an idle task
	propEnd       = "sluice-end"       // "1" on the marker of a task whose input ended
)

// OpenPublisher connects, makes sure the topic exists, creates the
// producers and sends a first marker; the half before the block writes to
// the returned Writer, which also implements plugins.Committer and
// plugins.InputEnder.
func (r *Repartition) OpenPublisher(ctx context.Context, rt *plugins.Runtime, marks plugins.Marks) (plugins.Writer, error) {
	p, err := r.newPublisher(rt, marks)
	if err != nil {
		return nil, err
	}
	open := func() (*publisher, error) {
		if err := p.connect(ctx); err != nil {
			p.closeClient()
			return nil, err
		}
		return p, nil
	}
	if _, err := openWithin(ctx, open, func(p *publisher) { p.closeClient() }); err != nil {
		p.cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped while connecting to %s: %w", r.Conn.ServiceURL, err)
		}
		return nil, err
	}
	p.mu.Lock()
	err = p.sendMarkers(ctx)
	p.mu.Unlock()
	if err != nil {
		p.closeClient()
		p.cancel()
		return nil, err
	}
	p.wg.Add(1)
	go p.tick()
	return p, nil
}

// newPublisher returns a publisher, not connected yet.
func (r *Repartition) newPublisher(rt *plugins.Runtime, marks plugins.Marks) (*publisher, error) {
	p := &publisher{
		r:         r,
		codec:     newRowCodec(r.Input),
		eventCol:  -1,
		tasks:     max(marks.Tasks, 1),
		now:       time.Now,
		logger:    slog.New(slog.DiscardHandler),
		confirmed: make([]atomic.Bool, r.Partitions),
		idleAfter: marks.Valve.IdleTimeout.Milliseconds(),
	}
	pipeline := r.Pipeline
	if rt != nil {
		p.task = rt.Task
		if rt.Now != nil {
			p.now = rt.Now
		}
		if rt.Logger != nil {
			p.logger = rt.Logger
		}
		if rt.Pipeline != "" {
			pipeline = rt.Pipeline
		}
	}
	p.name = producerName(pipeline, p.task)
	for i, k := range r.KeyIndex {
		if k < 0 {
			return nil, fmt.Errorf("the rows crossing the shuffle (%s) lack the key field %q", r.Input, r.Key[i])
		}
	}
	p.given, p.givenW = marks.Given, eventtime.NoWatermark
	if marks.EventTime != "" && !marks.Given {
		i, col, ok := r.Input.Find(marks.EventTime)
		if !ok || (col.Type != record.ColumnTimestamp && col.Type != record.ColumnInt) {
			return nil, fmt.Errorf("the event time %q of the window after the repartition block is not a timestamp field of the records reaching it (%s)", marks.EventTime, r.Input)
		}
		p.eventCol = i
	}
	p.openedAt = p.now().UnixMilli()
	v, err := eventtime.NewValve(marks.Valve, 0, p.openedAt)
	if err != nil {
		return nil, err
	}
	p.valve = v
	p.life, p.cancel = context.WithCancel(context.Background())
	p.tickCtx, p.stopTick = context.WithCancel(p.life)
	for i := range r.Partitions {
		p.props = append(p.props, map[string]string{
			propPartition: strconv.Itoa(i),
			propSchema:    p.codec.fingerprint,
			propTask:      p.task,
		})
	}
	return p, nil
}

// producerName is "sluice-PIPELINE-TASK" ("all" for no task) made of
// letters, digits, '.', '_' and '-' only.
func producerName(pipeline, task string) string {
	if task == "" {
		task = "all"
	}
	b := []byte("sluice-" + pipeline + "-" + task)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// publisher is the Writer of the half before a repartition block.
type publisher struct {
	r        *Repartition
	codec    *rowCodec
	name     string // the records' producer name; the markers' adds "-marks"
	task     string
	tasks    int
	eventCol int // the column the watermark observes; -1 for none
	now      func() time.Time
	logger   *slog.Logger
	props    []map[string]string // of each partition's record messages

	client  pulsarapi.Client
	records pulsarapi.Producer
	marks   pulsarapi.Producer
	state   pulsarapi.Producer // of the state topic, once written to

	life, tickCtx    context.Context // life ends at Close; tickCtx with the marker goroutine
	cancel, stopTick context.CancelFunc
	wg               sync.WaitGroup
	sent             inflight
	confirmed        []atomic.Bool // per partition: every row from now on is new to the broker
	duplicates       atomic.Int64  // messages the broker dropped as duplicates

	mu        sync.Mutex // Write, markers, Prepare, Recover, EndInput
	started   bool       // the counter is known (Recover, or a fresh start)
	counter   int64      // the sequence id of the next row
	valve     *eventtime.Valve
	openedAt  int64 // Unix ms
	idleAfter int64 // ms; 0: never idle
	ended     bool  // EndInput was called
	closed    bool
	committed bool // a Commit was recorded on the state topic
	// given: the stage before computes the watermark and hands it over
	// (SetWatermark) as givenW and givenIdle.
	given     bool
	givenW    int64
	givenIdle bool
	rowParts  []int32    // scratch: each row's partition
	packs     []openPack // scratch: the message being packed per partition
}

// openPack is the message being packed for one partition.
type openPack struct {
	buf  []byte
	rows int
	last int64 // the counter of its last row
}

// connect creates the client and the producers and makes sure the topic
// exists.
func (p *publisher) connect(ctx context.Context) error {
	client, err := p.r.Conn.newClient(&plugins.Runtime{Logger: p.logger})
	if err != nil {
		return err
	}
	p.client = client
	if err := p.r.ensureTopic(ctx, &plugins.Runtime{Logger: p.logger}, client); err != nil {
		return err
	}
	for _, pr := range []struct {
		name string
		dst  *pulsarapi.Producer
	}{{p.name, &p.records}, {p.name + "-marks", &p.marks}} {
		prod, err := client.CreateProducer(pulsarapi.ProducerOptions{
			Topic:           p.r.Topic,
			Name:            pr.name,
			DisableBatching: true, // records are packed by partition; markers must not wait
			MessageRouter:   routeByProperty,
		})
		if err != nil {
			return fmt.Errorf("creating producer %s on %s at %s: %w", pr.name, p.r.Topic, p.r.Conn.ServiceURL, p.r.Conn.explain(err))
		}
		*pr.dst = prod
	}
	return nil
}

// Write routes and packs the rows of b and sends them. It returns before
// the broker acknowledged them: a failed send is returned by the next
// Write, Prepare, EndInput or Close.
func (p *publisher) Write(ctx context.Context, b *record.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.sent.failed(); err != nil {
		return err
	}
	if p.closed {
		return errClosed
	}
	if b.Rows == 0 {
		return nil
	}
	if err := p.start(ctx); err != nil {
		return err
	}
	if !p.given {
		p.observe(b)
	}
	p.publish(b)
	return nil
}

var _ plugins.WatermarkWriter = (*publisher)(nil)

// SetWatermark takes the watermark of the stage before the publisher (a
// window combining before the shuffle), which the next markers send.
func (p *publisher) SetWatermark(w int64, idle bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.givenW, p.givenIdle = max(p.givenW, w), idle
}

// observe feeds the event times of b's rows to the valve, by source
// partition.
func (p *publisher) observe(b *record.Batch) {
	now := p.now().UnixMilli()
	var times *record.Vector
	if p.eventCol >= 0 {
		times = &b.Columns[p.eventCol]
	}
	for row := range b.Rows {
		part := 0
		if row < len(b.Origins) {
			part = int(b.Origins[row].Partition)
		}
		for p.valve.Partitions() <= part {
			p.valve.AddPartition(now)
		}
		if times != nil && !times.IsNull(row) {
			p.valve.Observe(part, times.Ints[row])
		}
	}
	p.valve.Advance(now)
}

// publish numbers the rows of b and sends them: packed by partition, or
// one per message to a partition not confirmed yet.
func (p *publisher) publish(b *record.Batch) {
	n := p.r.Partitions
	if cap(p.rowParts) < b.Rows {
		p.rowParts = make([]int32, b.Rows)
	}
	parts := p.rowParts[:b.Rows]
	if len(p.packs) != n {
		p.packs = make([]openPack, n)
	}
	rowsOf := make([]int32, n)
	for row := range b.Rows {
		parts[row] = int32(keyPartition(b, p.r.KeyIndex, row, n))
		rowsOf[parts[row]]++
	}
	var rowBytes int
	for row := range b.Rows {
		part := int(parts[row])
		seq := p.counter
		p.counter++
		if !p.confirmed[part].Load() {
			msg := p.codec.appendRow(startMessage(make([]byte, 0, 64)), b, row)
			finishMessage(msg, 1)
			p.send(part, msg, seq, true)
			continue
		}
		pk := &p.packs[part]
		if pk.buf == nil {
			// Room for the partition's rows, from the sizes so far.
			guess := rowHeader + int(rowsOf[part])*max(rowBytes, 16)
			pk.buf = startMessage(make([]byte, 0, min(guess, maxMessageBytes+4096)))
		}
		before := len(pk.buf)
		pk.buf = p.codec.appendRow(pk.buf, b, row)
		rowBytes = max(rowBytes, len(pk.buf)-before)
		pk.rows++
		pk.last = seq
		if len(pk.buf) >= maxMessageBytes {
			p.sendPack(part)
		}
	}
	for part := range p.packs {
		if p.packs[part].rows > 0 {
			p.sendPack(part)
		}
	}
}

// sendPack sends the message packed for part.
func (p *publisher) sendPack(part int) {
	pk := &p.packs[part]
	finishMessage(pk.buf, pk.rows)
	p.send(part, pk.buf, pk.last, false)
	*pk = openPack{}
}

// send publishes one message of rows with sequence id seq, its last
// row's counter. A receipt with a real message id for a single row
// confirms its partition.
func (p *publisher) send(part int, payload []byte, seq int64, single bool) {
	p.sent.add()
	msg := &pulsarapi.ProducerMessage{Payload: payload, Properties: p.props[part], SequenceID: &seq}
	p.records.SendAsync(p.life, msg, func(id pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
		if err != nil {
			p.sent.done(fmt.Errorf("publishing to partition %d of %s at %s: %w", part, p.r.Topic, p.r.Conn.ServiceURL, p.r.Conn.explain(err)))
			return
		}
		if id.LedgerID() < 0 {
			p.duplicates.Add(1)
		} else if single {
			p.confirmed[part].Store(true)
		}
		p.sent.done(nil)
	})
}

// start makes the counter known on a fresh start (no Recover, or Recover
// without a manifest): where the last start of this producer name began
// when no commit followed it (the runs since then completed no
// checkpoint, so this one writes their rows again; repartition_state.go),
// else after every sequence id the broker has seen from this producer
// name, found by sending each partition a marker the client numbers.
func (p *publisher) start(ctx context.Context) error {
	if p.started {
		return nil
	}
	base, again, err := p.lastStart(ctx)
	if err != nil {
		return err
	}
	if again {
		p.counter, p.started = base, true
		for i := range p.confirmed {
			p.confirmed[i].Store(false)
		}
		p.logger.Info("starting afresh where the runs before, which completed no checkpoint, started: the rows they published are recognized", "topic", p.r.Topic, "producer", p.name)
		return nil
	}
	w, idle := p.watermark()
	for part := range p.r.Partitions {
		p.sent.add()
		p.records.SendAsync(p.life, p.marker(part, w, idle), p.markerSent(part))
	}
	if err := p.sent.wait(ctx); err != nil {
		return err
	}
	p.counter = p.records.LastSequenceID() + 1
	if err := p.writeState(ctx, stateStarted, p.counter); err != nil {
		return err
	}
	for i := range p.confirmed {
		p.confirmed[i].Store(true)
	}
	p.started = true
	return nil
}

// publisherManifest is what a checkpoint of the half before records.
type publisherManifest struct {
	Format   int    `json:"format"`
	Producer string `json:"producer"`
	Task     string `json:"task"`
	// Next is the sequence id of the first row written after the
	// checkpoint: every row before it has been stored by the broker.
	Next int64 `json:"next"`
}

// Prepare waits until the broker acknowledged every row written and
// returns a manifest holding the counter (never empty: a resumed run
// continues from it).
func (p *publisher) Prepare(ctx context.Context, _ int64) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	if err := p.sent.wait(ctx); err != nil {
		return nil, err
	}
	return json.Marshal(publisherManifest{Format: 1, Producer: p.name, Task: p.task, Next: p.counter})
}

// Commit has nothing to do for the rows, visible once stored; the first
// one records on the state topic that a checkpoint of this producer name
// was completed (repartition_state.go). It refuses the manifest of another
// task.
func (p *publisher) Commit(ctx context.Context, manifest []byte) error {
	if _, err := p.readManifest(manifest); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.committed {
		return nil
	}
	if err := p.writeState(ctx, stateCommitted, 0); err != nil {
		return err
	}
	p.committed = true
	return nil
}

// Recover continues the counter from manifest, so that the rows written
// again get the ids they had; with none, it starts after every id the
// broker has seen from this producer name.
func (p *publisher) Recover(ctx context.Context, manifest []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(manifest) == 0 {
		p.started = false
		return p.start(ctx)
	}
	m, err := p.readManifest(manifest)
	if err != nil {
		return err
	}
	if err := p.sent.wait(ctx); err != nil {
		return err
	}
	p.counter, p.started = m.Next, true
	for i := range p.confirmed {
		p.confirmed[i].Store(false)
	}
	return nil
}

// readManifest decodes a manifest of this publisher's task.
func (p *publisher) readManifest(manifest []byte) (publisherManifest, error) {
	var m publisherManifest
	if err := json.Unmarshal(manifest, &m); err != nil || m.Format != 1 {
		return m, fmt.Errorf("not a manifest of a repartition publisher: %q", manifest)
	}
	if m.Task != p.task {
		return m, fmt.Errorf("the manifest of producer %s is for task %q, not task %q", m.Producer, m.Task, p.task)
	}
	return m, nil
}

// EndInput sends, after every row, the end of event time to every
// partition and waits until the broker stored it.
func (p *publisher) EndInput(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(ctx); err != nil {
		return err
	}
	p.valve.Finish()
	p.ended = true
	if err := p.sendMarkers(ctx); err != nil {
		return err
	}
	return p.sent.wait(ctx)
}

// Close stops the markers, waits (within closeWait) for what was sent and
// closes the producers and the client. It returns the first failed send.
func (p *publisher) Close() error {
	p.stopTick()
	p.wg.Wait()
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if already {
		return nil
	}
	err := closeWithin(closeWait, p.logger, "the producers of "+p.r.Topic, func() error {
		ctx, cancel := context.WithTimeout(p.life, closeWait)
		defer cancel()
		err := p.sent.wait(ctx)
		p.closeClient()
		return err
	})
	p.cancel()
	if n := p.duplicates.Load(); n > 0 {
		p.logger.Info("the broker dropped messages it had stored before a restart", "topic", p.r.Topic, "duplicates", n)
	}
	return err
}

// closeClient closes the producers and the client.
func (p *publisher) closeClient() {
	for _, prod := range []pulsarapi.Producer{p.records, p.marks, p.state} {
		if prod != nil {
			prod.Close()
		}
	}
	if p.client != nil {
		p.client.Close()
	}
}

// errClosed is returned by a publisher used after Close.
var errClosed = errors.New("the repartition publisher is closed")
