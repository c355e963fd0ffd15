package kafka

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

var _ plugins.Opener = (*Source)(nil)

// emptyAfter is how long a bounded read waits for a record before it takes
// the partitions that have not reached their end as read to it.
const emptyAfter = 5 * time.Second

// Open connects, lists the topics' partitions and numbers them. In a run
// that takes checkpoints, and in a bounded read, it also reads the group's
// committed offsets and the partitions' start or end offsets: the source
// then assigns itself every partition. Otherwise it reads through the
// consumer group. The consuming client starts at the first Read, after
// Resume.
func (s *Source) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	logger := runtimeLogger(rt)
	admin, err := s.Conn.newClient(ctx, logger)
	if err != nil {
		return nil, err
	}
	r := &sourceReader{
		src: s, life: ctx, logger: logger, admin: admin, adm: kadm.NewClient(admin),
		assign:     (rt != nil && rt.Checkpoints) || s.End == Latest,
		bounded:    s.End == Latest,
		byTP:       map[topicPartition]int{},
		emptyAfter: emptyAfter,
		commitWake: make(chan struct{}, 1),
		commitStop: make(chan struct{}),
		commitDone: make(chan struct{}),
		dirty:      map[int]int64{},
	}
	if s.TopicsPattern != "" {
		r.pattern = regexp.MustCompile(anchored(s.TopicsPattern))
	}
	octx, cancel := context.WithTimeout(ctx, s.Conn.OperationTimeout)
	defer cancel()
	if err := r.numberPartitions(octx); err != nil {
		admin.Close()
		return nil, err
	}
	if r.assign {
		if err := r.loadOffsets(octx); err != nil {
			admin.Close()
			return nil, err
		}
	}
	r.partitions = max(len(r.parts), 1)
	r.opened = true
	r.lastProgress = time.Now()
	go r.commitLoop()
	return r, nil
}

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

// sourcePartition is the state of one topic partition.
type sourcePartition struct {
	topicPartition
	key       string // "topic/partition"
	next      int64  // assign: the next offset to read
	end       int64  // a bounded read's end offset
	finished  bool   // a bounded read reached end
	committed int64  // the offset last committed to the group (the next to read); -1 none
	owned     bool   // group: assigned to this process
}

// sourceReader reads the partitions. Read runs on the runner's reading
// goroutine, Commit on its scheduler and the group's callbacks on the
// client's: the partitions are guarded by mu.
type sourceReader struct {
	src     *Source
	life    context.Context
	logger  *slog.Logger
	admin   *kgo.Client // metadata, offsets and (assign) commits
	adm     *kadm.Client
	cl      *kgo.Client // consumes; made by the first Read
	pattern *regexp.Regexp
	assign  bool // reads every partition itself, without group membership
	bounded bool

	partitions int  // the number of partitions at Open
	opened     bool // Open numbered the partitions present at the start

	emptyAfter   time.Duration
	lastProgress time.Time

	mu      sync.Mutex
	parts   []*sourcePartition
	byTP    map[topicPartition]int
	resume  map[string]int64 // by partition key: the last offset a checkpoint covered
	dirty   map[int]int64    // by partition: the offset to commit next (the next to read)
	closed  bool
	started bool

	commitWake, commitStop, commitDone chan struct{}
	retries                            atomic.Int64
}

// Retries is the number of offset commits the source retried, and of fetch
// errors it recovered from.
func (r *sourceReader) Retries() int64 { return r.retries.Load() }

// numberPartitions lists the topics and numbers their partitions by topic
// name, then partition number.
func (r *sourceReader) numberPartitions(ctx context.Context) error {
	details, err := r.adm.ListTopics(ctx, r.src.Topics...)
	if err != nil {
		return fmt.Errorf("listing the topics on %s: %w", r.src.Conn.brokersText(), oneLine(err))
	}
	var tps []topicPartition
	for _, d := range details.Sorted() {
		if r.pattern != nil && (d.IsInternal || !r.pattern.MatchString(d.Topic)) {
			continue
		}
		if d.Err != nil {
			return fmt.Errorf("topic %s on %s: %w", d.Topic, r.src.Conn.brokersText(), d.Err)
		}
		for p := range d.Partitions {
			tps = append(tps, topicPartition{d.Topic, p})
		}
	}
	slices.SortFunc(tps, compareTP)
	for _, tp := range tps {
		r.partition(tp)
	}
	if r.pattern != nil && len(tps) == 0 {
		r.logger.Warn("no topic matches topics_pattern yet", "pattern", r.src.TopicsPattern)
	}
	return nil
}

func compareTP(a, b topicPartition) int {
	if c := cmp.Compare(a.topic, b.topic); c != 0 {
		return c
	}
	return cmp.Compare(a.partition, b.partition)
}

// partition returns the index of tp, numbering a new one. The caller
// holds mu (or is Open).
func (r *sourceReader) partition(tp topicPartition) int {
	if i, ok := r.byTP[tp]; ok {
		return i
	}
	i := len(r.parts)
	r.parts = append(r.parts, &sourcePartition{topicPartition: tp, key: tp.topic + "/" + strconv.Itoa(int(tp.partition)), committed: -1})
	r.byTP[tp] = i
	if r.opened {
		r.logger.Info("reading a new topic partition", "topic", tp.topic, "partition", tp.partition, "event_time_partition", i)
	}
	return i
}

// loadOffsets sets, for an assigned read, where each partition starts (its
// committed offset, else start) and, for a bounded read, where it ends.
func (r *sourceReader) loadOffsets(ctx context.Context) error {
	brokers := r.src.Conn.brokersText()
	committed, err := r.adm.FetchOffsets(ctx, r.src.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // a group never committed to
	}
	if err != nil {
		return fmt.Errorf("reading the offsets of group %s on %s: %w", r.src.Group, brokers, oneLine(err))
	}
	topics := r.topics()
	var starts kadm.ListedOffsets
	if r.src.Start == Earliest {
		starts, err = r.adm.ListStartOffsets(ctx, topics...)
	} else {
		starts, err = r.adm.ListEndOffsets(ctx, topics...)
	}
	if err != nil {
		return fmt.Errorf("listing offsets on %s: %w", brokers, oneLine(err))
	}
	var ends kadm.ListedOffsets
	if r.bounded {
		if r.src.Isolation == ReadCommitted {
			ends, err = r.adm.ListCommittedOffsets(ctx, topics...)
		} else {
			ends, err = r.adm.ListEndOffsets(ctx, topics...)
		}
		if err != nil {
			return fmt.Errorf("listing end offsets on %s: %w", brokers, oneLine(err))
		}
	}
	for _, p := range r.parts {
		st, ok := starts.Lookup(p.topic, p.partition)
		if !ok || st.Err != nil {
			return fmt.Errorf("no start offset for %s on %s: %v", p.key, brokers, st.Err)
		}
		p.next = st.Offset
		if c, ok := committed.Lookup(p.topic, p.partition); ok && c.Err == nil && c.At >= 0 {
			p.next, p.committed = c.At, c.At
		}
		if r.bounded {
			e, ok := ends.Lookup(p.topic, p.partition)
			if !ok || e.Err != nil {
				return fmt.Errorf("no end offset for %s on %s: %v", p.key, brokers, e.Err)
			}
			p.end = e.Offset
			p.finished = p.next >= p.end
		}
	}
	return nil
}

// topics lists the topics of the numbered partitions.
func (r *sourceReader) topics() []string {
	var out []string
	for _, p := range r.parts {
		if len(out) == 0 || out[len(out)-1] != p.topic {
			out = append(out, p.topic)
		}
	}
	return out
}

var _ plugins.Resumer = (*sourceReader)(nil)

// PartitionKey is "topic/partition".
func (r *sourceReader) PartitionKey(partition int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[partition].key
}

// Position is the record's offset.
func (r *sourceReader) Position(_ int, offset int64) ([]byte, error) {
	return binary.AppendVarint(nil, offset), nil
}

// Resume starts each partition after the offset recorded for it.
func (r *sourceReader) Resume(positions map[string][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resume = make(map[string]int64, len(positions))
	for key, b := range positions {
		off, n := binary.Varint(b)
		if n <= 0 || n != len(b) {
			return fmt.Errorf("bad checkpoint position %x for %s", b, key)
		}
		r.resume[key] = off
	}
	return nil
}

// Partitions returns the number of topic partitions when the source opened.
func (r *sourceReader) Partitions() int { return r.partitions }

// start makes the consuming client: assigned partitions at their offsets,
// or a member of the group.
func (r *sourceReader) start(ctx context.Context) error {
	r.started = true
	opts := []kgo.Opt{kgo.FetchIsolationLevel(kgo.ReadUncommitted())}
	if r.src.Isolation == ReadCommitted {
		opts[0] = kgo.FetchIsolationLevel(kgo.ReadCommitted())
	}
	if r.assign {
		assigned := map[string]map[int32]kgo.Offset{}
		r.mu.Lock()
		for i, p := range r.parts {
			if off, ok := r.resume[p.key]; ok {
				p.next = off + 1
				// The checkpoint resumed from is durable: its positions go
				// to the group at once, so that the group's offsets (and
				// its lag) are right even before new records are read.
				if p.next > p.committed {
					r.dirty[i] = p.next
				}
				if r.bounded {
					p.finished = p.next >= p.end
				}
			}
			if p.finished {
				continue
			}
			if assigned[p.topic] == nil {
				assigned[p.topic] = map[int32]kgo.Offset{}
			}
			assigned[p.topic][p.partition] = kgo.NewOffset().At(p.next)
		}
		r.mu.Unlock()
		select {
		case r.commitWake <- struct{}{}:
		default:
		}
		if len(assigned) == 0 {
			return nil // a bounded read with nothing to read
		}
		// Control records (transaction markers) take offsets too: a bounded
		// read sees them to know it reached its end.
		opts = append(opts, kgo.ConsumePartitions(assigned), kgo.KeepControlRecords())
	} else {
		opts = append(opts, r.groupOptions()...)
	}
	cl, err := r.src.Conn.newClient(ctx, r.logger, opts...)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.cl = cl
	r.mu.Unlock()
	return nil
}

// Read waits for records, then appends what is available up to maxRows.
func (r *sourceReader) Read(ctx context.Context, b *record.Batch, maxRows int) error {
	if err := r.canceled(ctx); err != nil {
		return err
	}
	if !r.started {
		if err := r.start(ctx); err != nil {
			return err
		}
	}
	if maxRows <= 0 {
		return nil
	}
	for b.Rows == 0 {
		if r.bounded && r.allFinished() {
			return io.EOF
		}
		if err := r.poll(ctx, b, maxRows); err != nil {
			return err
		}
	}
	return nil
}

// poll takes one poll of records into b.
func (r *sourceReader) poll(ctx context.Context, b *record.Batch, maxRows int) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(r.life, cancel)
	defer stop()
	if r.bounded {
		var c2 context.CancelFunc
		pctx, c2 = context.WithDeadline(pctx, r.lastProgress.Add(r.emptyAfter))
		defer c2()
	}
	fetches := r.cl.PollRecords(pctx, maxRows)
	if !r.assign {
		defer r.cl.AllowRebalance()
	}
	if err := r.canceled(ctx); err != nil {
		return err
	}
	for _, fe := range fetches.Errors() {
		switch {
		case errors.Is(fe.Err, context.DeadlineExceeded), errors.Is(fe.Err, context.Canceled):
		case errors.Is(fe.Err, kgo.ErrClientClosed):
			return context.Canceled
		default:
			// The client retries what can be retried; an error surfaced
			// here is not retriable (authorization, a deleted topic).
			return fmt.Errorf("fetching %s partition %d from %s: %w", fe.Topic, fe.Partition, r.src.Conn.brokersText(), oneLine(fe.Err))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fetches.EachRecord(func(rec *kgo.Record) { r.take(b, rec) })
	if r.bounded && b.Rows == 0 && time.Since(r.lastProgress) >= r.emptyAfter {
		r.finishSilent()
	}
	return nil
}

// take appends rec to b, unless it is a control record, lies past the end
// of a bounded read or comes from a partition the group took away. The
// caller holds mu.
func (r *sourceReader) take(b *record.Batch, rec *kgo.Record) {
	pi := r.partition(topicPartition{rec.Topic, rec.Partition})
	p := r.parts[pi]
	r.lastProgress = time.Now()
	if r.assign {
		if rec.Offset < p.next {
			return // before the resume point
		}
		p.next = rec.Offset + 1
		if r.bounded {
			if p.finished || rec.Offset >= p.end {
				p.finished = true
				return
			}
			p.finished = p.next >= p.end
		}
	} else if !p.owned {
		return
	}
	if rec.Attrs.IsControl() {
		return
	}
	b.Columns[0].AppendString(rec.Value)
	m := b.Columns[1:7]
	m[0].AppendText(rec.Topic)
	m[1].AppendInt(int64(rec.Partition))
	m[2].AppendInt(rec.Offset)
	if rec.Key != nil {
		m[3].AppendString(rec.Key)
	} else {
		m[3].AppendNull()
	}
	m[4].AppendStringMap(headerMap(rec.Headers))
	m[5].AppendInt(rec.Timestamp.UnixMilli())
	b.Origins = append(b.Origins, record.Origin{Partition: int32(pi), Offset: rec.Offset})
	b.Rows++
}

// headerMap returns the headers as a map, the last value of a repeated
// key winning; nil without headers.
func headerMap(hs []kgo.RecordHeader) map[string]string {
	if len(hs) == 0 {
		return nil
	}
	m := make(map[string]string, len(hs))
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

// finishSilent ends, in a bounded read that received nothing for
// emptyAfter, every partition short of its end. The caller holds mu.
func (r *sourceReader) finishSilent() {
	for i, p := range r.parts {
		if !p.finished {
			p.finished = true
			r.logger.Warn("kafka partition delivered nothing before its end offset; taking it as read to its end",
				"topic", p.topic, "partition", p.partition, "event_time_partition", i, "next_offset", p.next, "end_offset", p.end, "waited", r.emptyAfter.String())
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

// canceled returns the error of ctx or of the source's life, if either
// ended.
func (r *sourceReader) canceled(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.life.Err()
}

// Close commits the offsets done (waiting at most closeWait), leaves the
// group and closes the clients.
func (r *sourceReader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	cl := r.cl
	r.mu.Unlock()
	close(r.commitStop)
	<-r.commitDone
	if cl != nil {
		cl.Close() // a group member leaves the group
	}
	r.admin.Close()
	return nil
}
