package pulsar

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// This file is the half after a repartition block: the topic's partitions
// are tasks, assigned by a failover subscription as the source's are
// (source_tasks.go), and each task's reader decodes the records and
// follows the watermark markers of the publishers.

// SplitsTasks reports that the half after the block always runs as tasks
// (the topic's partitions), positioned at the block.
func (r *Repartition) SplitsTasks() (bool, hcl.Range) { return true, r.blockAt }

// CheckTasks reports nothing: every configuration runs as tasks.
func (r *Repartition) CheckTasks() hcl.Diagnostics { return nil }

// tasksSource is the source the half after the block reads: the topic on
// the block's failover subscription, from its earliest message.
func (r *Repartition) tasksSource() *Source {
	return &Source{
		Conn:              r.Conn,
		Topics:            []string{r.Topic},
		Subscription:      r.Subscription,
		SubscriptionType:  Failover,
		Start:             Earliest,
		ReceiverQueueSize: r.ReceiverQueueSize,
	}
}

// OpenTasks connects, makes sure the topic exists and subscribes; the
// broker then assigns partitions to this process, which the returned
// assigner reports as tasks "0", "1", …
func (r *Repartition) OpenTasks(ctx context.Context, rt *plugins.Runtime) (plugins.TaskAssigner, error) {
	src := r.tasksSource()
	open := func() (*shuffleAssigner, error) {
		client, err := r.Conn.newClient(rt)
		if err != nil {
			return nil, err
		}
		if err := r.ensureTopic(ctx, rt, client); err != nil {
			client.Close()
			return nil, err
		}
		a, err := src.openTasks(ctx, rt, client)
		if err != nil {
			client.Close()
			return nil, err
		}
		return &shuffleAssigner{taskAssigner: a, r: r, ended: map[int]bool{}, allEnded: make(chan struct{})}, nil
	}
	a, err := openWithin(ctx, open, func(a *shuffleAssigner) { a.Close() })
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped while connecting to %s: %w", r.Conn.ServiceURL, err)
		}
		return nil, err
	}
	return a, nil
}

// shuffleAssigner is the task assigner of the topic, whose readers decode
// records and follow markers. Next ends once every partition's input
// ended in this process.
type shuffleAssigner struct {
	*taskAssigner
	r *Repartition

	endMu    sync.Mutex
	ended    map[int]bool  // tasks whose every publisher sent its end
	allEnded chan struct{} // closed when every task ended
}

// Next returns the next task gained or lost, or io.EOF once every
// partition of the topic reached the end of its input here.
func (a *shuffleAssigner) Next(ctx context.Context) (plugins.TaskChange, error) {
	if isClosed(a.allEnded) {
		return plugins.TaskChange{}, io.EOF
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.allEnded:
			cancel()
		case <-inner.Done():
		}
	}()
	c, err := a.taskAssigner.Next(inner)
	if err != nil && ctx.Err() == nil && isClosed(a.allEnded) {
		return plugins.TaskChange{}, io.EOF
	}
	return c, err
}

// taskEnded records that every publisher ended its input in task i.
func (a *shuffleAssigner) taskEnded(i int) {
	a.endMu.Lock()
	defer a.endMu.Unlock()
	if a.ended[i] {
		return
	}
	a.ended[i] = true
	if len(a.ended) == len(a.tasks) {
		close(a.allEnded)
	}
}

// OpenTask returns the reader of one partition of the topic.
func (a *shuffleAssigner) OpenTask(ctx context.Context, rt *plugins.Runtime, name string) (plugins.Reader, error) {
	c, err := a.claim(name)
	if err != nil {
		return nil, err
	}
	r := &shuffleReader{
		life:     ctx,
		asg:      a,
		claim:    c,
		topic:    c.task.parts[0].topic,
		codec:    newRowCodec(a.r.Input),
		stopped:  make(chan struct{}),
		logger:   slog.New(slog.DiscardHandler),
		byTask:   map[string]*upstream{},
		consumer: a.consumer,
	}
	if rt != nil && rt.Logger != nil {
		r.logger = rt.Logger
	}
	if _, i := splitPartition(r.topic); i > 0 {
		r.index = i
	}
	r.out.Store(eventtime.NoWatermark)
	return r, nil
}

// upstream is the latest marker of one publishing task.
type upstream struct {
	watermark int64
	idle, end bool
}

// pendingMessage is a message whose rows Read returned (or is returning)
// and that is not acknowledged yet: rows rows from offset first, the first
// being row skip of the message. A marker, or a message whose rows a
// checkpoint covered, has no rows: it is done at once.
type pendingMessage struct {
	id    pulsarapi.MessageID
	pos   position
	first int64
	rows  int64
	skip  int
}

// rowPosition is where a row is: its message, and its index among the
// message's rows.
type rowPosition struct {
	msg position
	row int
}

// shuffleReader reads one partition of the topic: Read runs on the
// runner's reading goroutine, Commit and Position on its scheduler, so the
// pending messages are guarded by mu.
type shuffleReader struct {
	life     context.Context
	asg      *shuffleAssigner
	claim    *taskClaim
	consumer pulsarapi.Consumer
	topic    string // the partition's
	index    int    // the partition's index
	codec    *rowCodec
	logger   *slog.Logger
	stopped  chan struct{} // closed by Close

	// The message being read (Read's goroutine only).
	cur     pulsarapi.Message
	curData []byte
	curLeft int

	last     position // the last message taken, to skip a redelivery
	hasLast  bool
	finished bool // every publisher ended

	// Markers (Read's goroutine only), and the watermark they make.
	tasks  int // the number of publishing tasks the markers say
	byTask map[string]*upstream
	out    atomic.Int64

	mu      sync.Mutex
	pending []pendingMessage
	next    int64 // the offset of the next row
	resume  *rowPosition
	closed  bool
}

var (
	_ plugins.Resumer      = (*shuffleReader)(nil)
	_ plugins.Acknowledger = (*shuffleReader)(nil)
	_ plugins.MarkedReader = (*shuffleReader)(nil)
)

// Partitions is 1: a task reads one partition of the topic.
func (r *shuffleReader) Partitions() int { return 1 }

// Watermark returns the least watermark of the publishing tasks that are
// not idle, as of the messages Read returned.
func (r *shuffleReader) Watermark() int64 { return r.out.Load() }

// Read appends the rows of the next messages, up to maxRows, and ends the
// batch at a marker that raises the watermark (possibly with no rows).
// After every publisher ended it returns io.EOF.
func (r *shuffleReader) Read(ctx context.Context, b *record.Batch, maxRows int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.life.Err(); err != nil {
		return err
	}
	if maxRows <= 0 {
		return nil
	}
	for {
		if r.curLeft > 0 {
			if err := r.decode(b, maxRows); err != nil {
				return err
			}
			if r.curLeft > 0 {
				return nil // b is full
			}
		}
		if r.finished {
			if b.Rows > 0 {
				return nil
			}
			return io.EOF
		}
		var cm pulsarapi.ConsumerMessage
		if b.Rows == 0 {
			select {
			case cm = <-r.claim.ch:
			case <-r.claim.lost:
				return r.afterLoss(ctx)
			case <-r.stopped:
				return io.EOF
			case <-ctx.Done():
				return ctx.Err()
			case <-r.life.Done():
				return r.life.Err()
			}
		} else {
			if isClosed(r.claim.lost) {
				return nil
			}
			select {
			case cm = <-r.claim.ch:
			default:
				return nil
			}
		}
		raised, err := r.take(cm.Message)
		if err != nil {
			return err
		}
		if raised {
			return nil
		}
	}
}

// afterLoss waits, once the task was lost, for the runner to cancel ctx
// (or close the reader): what was not returned goes to the next owner.
func (r *shuffleReader) afterLoss(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.life.Done():
		return r.life.Err()
	case <-r.stopped:
		return io.EOF
	}
}

// take handles one message: a marker moves the watermark (raised reports
// whether it rose), a message of rows becomes the current message.
func (r *shuffleReader) take(msg pulsarapi.Message) (raised bool, err error) {
	if !inPeriod(msg, 0, r.claim.periods) {
		return false, nil // taken before the partition went to another consumer
	}
	id := msg.ID()
	pos := positionOf(id)
	if r.hasLast && pos.compare(r.last) <= 0 {
		return false, nil // delivered again after a reconnection
	}
	r.last, r.hasLast = pos, true
	props := msg.Properties()
	if _, ok := props[propMarker]; ok {
		m, ok := parseMark(props)
		if !ok {
			return false, r.badMessage(id, fmt.Errorf("a watermark marker with unreadable properties %v", props))
		}
		r.done(id, pos)
		return r.apply(m), nil
	}
	if fp := props[propSchema]; fp != r.codec.fingerprint {
		return false, r.badMessage(id, fmt.Errorf("it was written with a record schema of fingerprint %q, but the records reaching the repartition block here are %s (fingerprint %q): the schema changed while the topic still held records of the old one",
			fp, r.codec.schema, r.codec.fingerprint))
	}
	n, data, err := messageRows(msg.Payload())
	if err != nil {
		return false, r.badMessage(id, err)
	}
	skip := r.covered(pos, n)
	for range skip {
		if data, err = r.codec.skipRow(data); err != nil {
			return false, r.badMessage(id, err)
		}
	}
	if skip == n {
		r.done(id, pos)
		return false, nil
	}
	r.mu.Lock()
	r.pending = append(r.pending, pendingMessage{id: id, pos: pos, first: r.next, rows: int64(n - skip), skip: skip})
	r.mu.Unlock()
	r.cur, r.curData, r.curLeft = msg, data, n-skip
	return false, nil
}

// covered returns how many of the n rows of the message at pos the
// checkpoint the run resumed from covers.
func (r *shuffleReader) covered(pos position, n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.resume == nil:
		return 0
	case pos.compare(r.resume.msg) < 0:
		return n
	case pos.compare(r.resume.msg) == 0:
		return min(r.resume.row+1, n)
	}
	return 0
}

// done records a message without rows to return: acknowledged at once
// when nothing before it waits, else with the rows before it.
func (r *shuffleReader) done(id pulsarapi.MessageID, pos position) {
	r.mu.Lock()
	if len(r.pending) > 0 {
		r.pending = append(r.pending, pendingMessage{id: id, pos: pos, first: r.next})
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if err := r.consumer.AckIDCumulative(id); err != nil {
		r.logger.Warn("could not acknowledge a watermark marker; it will be read again", "topic", r.topic, "error", err.Error())
	}
}

// decode appends rows of the current message to b, up to maxRows.
func (r *shuffleReader) decode(b *record.Batch, maxRows int) error {
	for r.curLeft > 0 && b.Rows < maxRows {
		data, err := r.codec.decodeRow(b, r.curData)
		if err != nil {
			return r.badMessage(r.cur.ID(), err)
		}
		r.curData = data
		r.curLeft--
		b.Origins = append(b.Origins, record.Origin{Partition: 0, Offset: r.next})
		b.Rows++
		r.next++ // only this goroutine writes next; Position reads pending
	}
	if r.curLeft == 0 {
		if len(r.curData) != 0 {
			return r.badMessage(r.cur.ID(), fmt.Errorf("%w: %d bytes after the last row", errRowFormat, len(r.curData)))
		}
		r.cur, r.curData = nil, nil
	}
	return nil
}

// badMessage is the error of a message that cannot be read.
func (r *shuffleReader) badMessage(id pulsarapi.MessageID, err error) error {
	return fmt.Errorf("message %s of %s (partition %d) cannot be read as records of this pipeline: %v. "+
		"The topic must only hold what this repartition block publishes, with the records' current fields: "+
		"after changing the fields before the block, let the topic drain first or name a new topic", id, r.topic, r.index, err)
}

// apply takes marker m into the watermark and reports whether it rose.
func (r *shuffleReader) apply(m mark) bool {
	if m.tasks != r.tasks {
		// Another number of publishers: the half before was changed.
		r.tasks, r.byTask = m.tasks, map[string]*upstream{}
	}
	u := r.byTask[m.task]
	if u == nil {
		u = &upstream{}
		r.byTask[m.task] = u
	}
	*u = upstream{watermark: m.watermark, idle: m.idle, end: m.end}
	if len(r.byTask) < r.tasks {
		return false // not every publisher was heard from
	}
	low, ended, holding := eventtime.EndOfTime, true, false
	for _, u := range r.byTask {
		ended = ended && u.end
		if u.end || u.idle {
			continue
		}
		holding = true
		low = min(low, u.watermark)
	}
	if ended {
		r.finished = true
		r.asg.taskEnded(r.index)
		low, holding = eventtime.EndOfTime, true
	}
	if !holding || low <= r.out.Load() {
		return false
	}
	r.out.Store(low)
	return true
}

// PartitionKey is the partition's topic name.
func (r *shuffleReader) PartitionKey(int) string { return r.topic }

// Position returns the message id of the row at offset and its index in
// the message.
func (r *shuffleReader) Position(_ int, offset int64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := sort.Search(len(r.pending), func(i int) bool { return r.pending[i].first+r.pending[i].rows > offset })
	if i == len(r.pending) || r.pending[i].rows == 0 || r.pending[i].first > offset {
		return nil, fmt.Errorf("no message for offset %d of %s", offset, r.topic)
	}
	e := r.pending[i]
	out := binary.AppendVarint(nil, e.pos.ledger)
	out = binary.AppendVarint(out, e.pos.entry)
	out = binary.AppendVarint(out, int64(e.pos.batch))
	return binary.AppendVarint(out, int64(e.skip)+offset-e.first), nil
}

// Resume makes Read skip the rows at or before the position recorded for
// the partition.
func (r *shuffleReader) Resume(positions map[string][]byte) error {
	b, ok := positions[r.topic]
	if !ok {
		return nil
	}
	var v [4]int64
	for i := range v {
		x, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("bad checkpoint position %x for %s", positions[r.topic], r.topic)
		}
		v[i], b = x, b[n:]
	}
	r.mu.Lock()
	r.resume = &rowPosition{msg: position{ledger: v[0], entry: v[1], batch: int32(v[2])}, row: int(v[3])}
	r.mu.Unlock()
	return nil
}

// Commit acknowledges, cumulatively, every message whose rows are all at
// or before upTo, and the markers that follow them.
func (r *shuffleReader) Commit(_ int, upTo int64) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	k := 0
	for k < len(r.pending) && r.pending[k].first+r.pending[k].rows-1 <= upTo {
		k++
	}
	if k == 0 {
		r.mu.Unlock()
		return nil
	}
	id := r.pending[k-1].id
	clear(r.pending[:k])
	r.pending = r.pending[k:]
	if len(r.pending) == 0 {
		r.pending = nil
	}
	r.mu.Unlock()
	if err := r.consumer.AckIDCumulative(id); err != nil {
		return fmt.Errorf("acknowledging %s up to offset %d: %w", r.topic, upTo, r.asg.r.Conn.explain(err))
	}
	return nil
}

// Connected reports whether the broker answered the last check.
func (r *shuffleReader) Connected() bool {
	return r.asg.probe == nil || r.asg.probe.connected.Load()
}

// Reconnects counts the times the broker answered again after a check
// found it unreachable.
func (r *shuffleReader) Reconnects() int64 {
	if r.asg.probe == nil {
		return 0
	}
	return r.asg.probe.reconnects.Load()
}

// Close detaches the reader from its task.
func (r *shuffleReader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stopped)
	r.mu.Unlock()
	return r.claim.release()
}
