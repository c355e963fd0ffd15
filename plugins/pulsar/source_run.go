package pulsar

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/record"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.Opener = (*Source)(nil)

const (
	// nackRedeliveryDelay is how soon the broker redelivers a message the
	// client gave up on. The source never nacks, but the client may.
	nackRedeliveryDelay = time.Second
	// emptyAfter is how long a bounded read waits for a first message from
	// a partition before it takes the partition as already read to its end.
	emptyAfter = 5 * time.Second
)

// Open connects, subscribes and numbers the partitions of the topics. With
// End it also asks the broker for the last message of every partition.
// While the broker cannot be reached the client retries for up to the
// operation timeout; Open gives up as soon as ctx is done and returns its
// cause.
func (s *Source) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	if rt != nil && rt.Checkpoints {
		if err := refusal(s.CheckResumable()); err != nil {
			return nil, err
		}
	}
	open := func() (*sourceReader, error) {
		client, err := s.Conn.newClient(rt)
		if err != nil {
			return nil, err
		}
		r, err := s.open(ctx, rt, client)
		if err != nil {
			client.Close()
			return nil, err
		}
		return r, nil
	}
	r, err := openWithin(ctx, open, func(r *sourceReader) { r.Close() })
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped while connecting to %s: %w", s.Conn.ServiceURL, err)
		}
		return nil, err
	}
	return r, nil
}

// consumerOptions are the options of the source's consumer.
func (s *Source) consumerOptions() pulsarapi.ConsumerOptions {
	opts := pulsarapi.ConsumerOptions{
		SubscriptionName:            s.Subscription,
		Type:                        subscriptionType(s.SubscriptionType),
		SubscriptionInitialPosition: pulsarapi.SubscriptionPositionLatest,
		ReceiverQueueSize:           s.ReceiverQueueSize,
		NackRedeliveryDelay:         nackRedeliveryDelay,
	}
	if s.Start == Earliest {
		opts.SubscriptionInitialPosition = pulsarapi.SubscriptionPositionEarliest
	}
	if s.TopicsPattern != "" {
		opts.TopicsPattern = s.TopicsPattern
	} else {
		opts.Topics = slices.Clone(s.Topics)
	}
	return opts
}

// newReader returns a reader of the source's messages through client,
// living as long as ctx, without partitions or a consumer yet.
func (s *Source) newReader(ctx context.Context, rt *plugins.Runtime, client pulsarapi.Client) *sourceReader {
	r := &sourceReader{
		life:       ctx,
		conn:       &s.Conn,
		client:     client,
		cumulative: s.SubscriptionType == Exclusive || s.SubscriptionType == Failover,
		bounded:    s.End == Latest,
		byTopic:    map[string]int{},
		stopped:    make(chan struct{}),
		logger:     slog.New(slog.DiscardHandler),
		emptyAfter: emptyAfter,
	}
	if rt != nil && rt.Logger != nil {
		r.logger = rt.Logger
	}
	return r
}

// refusal returns the first error of diags as an error of the same text,
// nil without one: what lint reports, a run refuses in the same words.
func refusal(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			detail := strings.TrimSuffix(d.Detail, ".")
			return errors.New(strings.ToLower(detail[:1]) + detail[1:])
		}
	}
	return nil
}

func (s *Source) open(ctx context.Context, rt *plugins.Runtime, client pulsarapi.Client) (*sourceReader, error) {
	opts := s.consumerOptions()
	r := s.newReader(ctx, rt, client)
	// Number the partitions before subscribing, so that a failure names
	// the topic.
	for _, t := range s.Topics {
		parts, err := client.TopicPartitions(t)
		if err != nil {
			return nil, fmt.Errorf("looking up topic %s on %s: %w", t, s.Conn.ServiceURL, s.Conn.explain(err))
		}
		for _, p := range parts {
			r.partition(p)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	consumer, err := client.Subscribe(opts)
	if err != nil {
		return nil, fmt.Errorf("subscribing %q to %s on %s: %w", s.Subscription, s.topicsText(), s.Conn.ServiceURL, s.Conn.explain(err))
	}
	r.consumer = consumer
	r.ch = consumer.Chan()
	var last []pulsarapi.TopicMessageID
	if r.bounded || s.TopicsPattern != "" {
		if last, err = consumer.GetLastMessageIDs(); err != nil {
			consumer.Close()
			return nil, fmt.Errorf("reading the last message ids of %s on %s: %w", s.topicsText(), s.Conn.ServiceURL, s.Conn.explain(err))
		}
	}
	if s.TopicsPattern != "" {
		// The pattern's topics are those the consumer subscribed to,
		// numbered by name and partition index.
		names := make([]string, 0, len(last))
		for _, id := range last {
			names = append(names, id.Topic())
		}
		slices.SortFunc(names, comparePartitionTopics)
		for _, n := range names {
			r.partition(n)
		}
		if len(names) == 0 {
			r.logger.Warn("no topic matches topics_pattern yet", "pattern", s.TopicsPattern)
		}
	}
	// A pattern matching no topic yet still has one partition for the
	// window operator to wait on; the first topic created takes it.
	r.partitions = max(len(r.parts), 1)
	r.opened = true
	if r.bounded {
		for _, id := range last {
			p := r.parts[r.partition(id.Topic())]
			p.end, p.hasEnd = positionOf(id), true
			if id.EntryID() < 0 {
				p.finished = true // an empty partition
			}
		}
		for _, p := range r.parts {
			if !p.hasEnd {
				p.finished = true // not subscribed: nothing to read
			}
		}
	}
	r.lastProgress = time.Now()
	if len(r.parts) > 0 {
		r.probe = startProbe(client, r.parts[0].topic)
	}
	return r, nil
}

// topicsText names the topics for messages.
func (s *Source) topicsText() string {
	if s.TopicsPattern != "" {
		return "the topics matching " + s.TopicsPattern
	}
	return strings.Join(s.Topics, ", ")
}

func subscriptionType(t string) pulsarapi.SubscriptionType {
	switch t {
	case Exclusive:
		return pulsarapi.Exclusive
	case Shared:
		return pulsarapi.Shared
	case KeyShared:
		return pulsarapi.KeyShared
	}
	return pulsarapi.Failover
}

// sourcePartition is the state of one topic partition.
type sourcePartition struct {
	topic string
	next  int64 // the offset of the next message delivered

	// ids[i] is the id of offset base+i, for every delivered offset not yet
	// committed; pending holds their positions (shared subscriptions skip a
	// redelivery of those).
	ids     []pulsarapi.MessageID
	base    int64
	pending map[position]struct{}

	last    position // the last position delivered
	hasLast bool

	end      position // the last message when a bounded read started
	hasEnd   bool
	finished bool // a bounded read delivered end (or there is nothing to read)
}

// sourceReader reads the consumer's channel. Read runs on the runner's
// reading goroutine and Commit on its scheduler, so the partitions are
// guarded by mu.
type sourceReader struct {
	life       context.Context
	conn       *Connection
	client     pulsarapi.Client
	consumer   pulsarapi.Consumer
	ch         <-chan pulsarapi.ConsumerMessage
	cumulative bool // exclusive or failover: ordered partitions, cumulative acks
	bounded    bool
	logger     *slog.Logger
	partitions int  // the number of partitions at Open
	opened     bool // Open numbered the partitions present at the start

	emptyAfter   time.Duration
	lastProgress time.Time // when a message was last delivered (or Open)
	timer        *time.Timer

	mu      sync.Mutex
	parts   []*sourcePartition
	byTopic map[string]int
	closed  bool
	stopped chan struct{} // closed by Close: a Read under way returns

	// A task's reader (OpenTask) reads a queue the task assigner fills:
	// lost is closed when the task is lost, periods are the periods of
	// its partitions it reads (a message of another arrived before its
	// partition went to another consumer; see taskPartition), and release
	// detaches the reader instead of closing the consumer. The whole
	// source's reader has none of them (periods nil).
	lost    <-chan struct{}
	periods []uint64
	release func() error

	probe *connectionProbe // whether the broker answers (readiness, metrics)

	redelivered int                 // messages skipped as delivered already
	resume      map[string]position // by topic: the last message a checkpoint covered
	resumed     int                 // messages skipped as covered by that checkpoint
}

var _ plugins.Resumer = (*sourceReader)(nil)

// PartitionKey is the partition's topic name.
func (r *sourceReader) PartitionKey(partition int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[partition].topic
}

// Position returns the message id of the record at offset of partition:
// its ledger, entry and batch index.
func (r *sourceReader) Position(partition int, offset int64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.parts[partition]
	i := offset - p.base
	if i < 0 || i >= int64(len(p.ids)) {
		return nil, fmt.Errorf("no message id for offset %d of %s (have %d from %d)", offset, p.topic, len(p.ids), p.base)
	}
	pos := positionOf(p.ids[i])
	out := binary.AppendVarint(nil, pos.ledger)
	out = binary.AppendVarint(out, pos.entry)
	return binary.AppendVarint(out, int64(pos.batch)), nil
}

// Resume skips, in each partition, the messages at or before the position
// recorded for it: the broker delivers again what it had not been told was
// acknowledged.
func (r *sourceReader) Resume(positions map[string][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resume = make(map[string]position, len(positions))
	for topic, b := range positions {
		var v [3]int64
		for i := range v {
			x, n := binary.Varint(b)
			if n <= 0 {
				return fmt.Errorf("bad checkpoint position %x for %s", positions[topic], topic)
			}
			v[i], b = x, b[n:]
		}
		r.resume[topic] = position{ledger: v[0], entry: v[1], batch: int32(v[2])}
	}
	return nil
}

// Partitions returns the number of topic partitions when the source opened.
func (r *sourceReader) Partitions() int { return r.partitions }

// partition returns the index of a partition topic, numbering a new one.
// The caller holds mu (or is Open).
func (r *sourceReader) partition(topic string) int {
	if i, ok := r.byTopic[topic]; ok {
		return i
	}
	i := len(r.parts)
	r.parts = append(r.parts, &sourcePartition{topic: topic, pending: map[position]struct{}{}})
	r.byTopic[topic] = i
	if r.opened {
		r.logger.Info("reading a new topic partition", "topic", topic, "partition", i)
	}
	return i
}

// Read waits for a message, then appends what is available up to maxRows.
func (r *sourceReader) Read(ctx context.Context, b *record.Batch, maxRows int) error {
	if err := r.canceled(ctx); err != nil {
		return err
	}
	if maxRows <= 0 {
		return nil
	}
	for b.Rows == 0 {
		if r.bounded && r.allFinished() {
			return io.EOF
		}
		var wake <-chan time.Time
		if r.bounded {
			wake = r.wakeAt(r.lastProgress.Add(r.emptyAfter))
		}
		select {
		case cm := <-r.ch:
			r.take(b, cm.Message)
		case <-wake:
			r.finishSilent()
		case <-r.lost:
			return r.afterLoss(ctx)
		case <-r.stopped:
			return io.EOF
		case <-ctx.Done():
			return ctx.Err()
		case <-r.life.Done():
			return r.life.Err()
		}
	}
	for b.Rows < maxRows && !(r.bounded && r.allFinished()) && !isClosed(r.lost) {
		select {
		case cm := <-r.ch:
			r.take(b, cm.Message)
			continue
		default:
		}
		break
	}
	return nil
}

// afterLoss waits, once the reader's task was lost, for the runner to
// cancel ctx (or close the reader): the records still queued are left to
// the task's next owner, and a lost task never reads as an input that
// ended.
func (r *sourceReader) afterLoss(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.life.Done():
		return r.life.Err()
	case <-r.stopped:
		return io.EOF
	}
}

// isClosed reports whether ch is closed; a nil channel never is.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// wakeAt returns a channel that receives at t.
func (r *sourceReader) wakeAt(t time.Time) <-chan time.Time {
	d := max(time.Until(t), time.Millisecond)
	if r.timer == nil {
		r.timer = time.NewTimer(d)
	} else {
		r.timer.Reset(d)
	}
	return r.timer.C
}

// take appends msg to b unless it was delivered already or lies past the
// end of a bounded read.
func (r *sourceReader) take(b *record.Batch, msg pulsarapi.Message) {
	id := msg.ID()
	pos := positionOf(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	pi := r.partition(msg.Topic())
	if r.periods != nil && !inPeriod(msg, pi, r.periods) {
		return // its partition went to another consumer meanwhile
	}
	p := r.parts[pi]
	if rp, ok := r.resume[p.topic]; ok && pos.compare(rp) <= 0 {
		// Covered by the checkpoint the run resumed from: acknowledged
		// there, but the acknowledgement may not have reached the broker.
		// In a bounded read, the redelivery of the partition's last
		// message finishes the partition.
		r.resumed++
		r.lastProgress = time.Now()
		if r.bounded && p.hasEnd && pos.reaches(id.BatchSize(), p.end) {
			p.finished = true
		}
		r.consumer.AckID(id)
		return
	}
	switch {
	case r.bounded && (p.finished || !p.hasEnd):
		return // past the end: left unacknowledged for a later run
	case r.cumulative && p.hasLast && pos.compare(p.last) <= 0,
		!r.cumulative && hasPending(p, pos):
		r.redelivered++ // delivered again after a reconnection
		return
	}
	if r.bounded && pos.reaches(id.BatchSize(), p.end) {
		p.finished = true
		if pos.ledger > p.end.ledger || (pos.ledger == p.end.ledger && pos.entry > p.end.entry) {
			return // published after the read started
		}
	}
	b.Columns[0].AppendString(msg.Payload())
	appendMeta(b, msg)
	b.Origins = append(b.Origins, record.Origin{Partition: int32(pi), Offset: p.next})
	b.Rows++
	if len(p.ids) == 0 {
		p.base = p.next
	}
	p.ids = append(p.ids, id)
	if !r.cumulative {
		p.pending[pos] = struct{}{}
	}
	p.next++
	p.last, p.hasLast = pos, true
	r.lastProgress = time.Now()
}

func hasPending(p *sourcePartition, pos position) bool {
	_, ok := p.pending[pos]
	return ok
}

// finishSilent ends, in a bounded read, every partition that delivered
// nothing since the start: its subscription is already past its last
// message.
func (r *sourceReader) finishSilent() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.parts {
		if !p.finished && !p.hasLast {
			p.finished = true
			r.logger.Warn("pulsar partition delivered nothing; taking it as read to its end",
				"topic", p.topic, "partition", i, "waited", r.emptyAfter)
		}
	}
	r.lastProgress = time.Now()
}

// allFinished reports whether a bounded read is done.
func (r *sourceReader) allFinished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.parts {
		if !p.finished {
			return false
		}
	}
	return true
}

// Commit acknowledges the messages of partition up to offset upTo:
// cumulatively for exclusive and failover subscriptions, one by one for
// shared ones.
func (r *sourceReader) Commit(partition int, upTo int64) error {
	r.mu.Lock()
	if r.closed || partition < 0 || partition >= len(r.parts) {
		r.mu.Unlock()
		return nil
	}
	p := r.parts[partition]
	n := int(upTo - p.base + 1)
	if len(p.ids) == 0 || n <= 0 {
		r.mu.Unlock()
		return nil
	}
	n = min(n, len(p.ids))
	var ids []pulsarapi.MessageID
	if r.cumulative {
		ids = []pulsarapi.MessageID{p.ids[n-1]}
	} else {
		ids = slices.Clone(p.ids[:n])
		for _, id := range ids {
			delete(p.pending, positionOf(id))
		}
	}
	clear(p.ids[:n])
	p.ids = p.ids[n:]
	p.base += int64(n)
	if len(p.ids) == 0 {
		p.ids = p.ids[:0:0] // let the array go
	}
	r.mu.Unlock()

	var err error
	if r.cumulative {
		err = r.consumer.AckIDCumulative(ids[0])
	} else {
		err = r.consumer.AckIDList(ids)
	}
	if err != nil {
		return fmt.Errorf("acknowledging %s up to offset %d: %w", p.topic, upTo, r.conn.explain(err))
	}
	return nil
}

// canceled returns the error of ctx or of the source's life, if either
// ended.
func (r *sourceReader) canceled(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.life.Err()
}

// Close closes the consumer and the client. Acknowledgements already made
// are sent first. While the broker cannot be reached it waits at most
// closeWait: the broker then delivers again the messages it was not told
// were acknowledged.
func (r *sourceReader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stopped)
	r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.release != nil {
		return r.release()
	}
	if r.probe != nil {
		r.probe.Close()
	}
	return closeWithin(closeWait, r.logger, "the consumer", func() error {
		r.consumer.Close()
		r.client.Close()
		return nil
	})
}
