package pulsartest

import (
	"sort"
	"sync"

	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// entry is one stored entry: the bytes that followed a SEND command
// (checksum, metadata and payload, possibly a whole batch), forwarded
// unchanged as the body of MESSAGE frames.
type entry struct {
	data        []byte
	numMessages int32
	publishTime uint64 // milliseconds since the epoch
	key         string // routing key for Key_Shared
}

// topic is one non-partitioned topic or one partition. Its mutex guards the
// topic and all of its subscriptions and consumers' dispatch state.
type topic struct {
	b         *Broker
	name      string
	ledger    uint64
	partition int

	mu        sync.Mutex
	entries   []*entry
	messages  int64
	producers map[*producer]struct{}
	subs      map[string]*subscription
	lastSeq   map[string]int64 // producer name -> last persisted sequence id

	// With a data directory: the topic's log, and the id of the next
	// entry (entries being written are not in entries yet).
	log  *topicLog
	next int64
}

func newTopic(b *Broker, name string, ledger uint64, partition int) *topic {
	return &topic{
		b:         b,
		name:      name,
		ledger:    ledger,
		partition: partition,
		producers: make(map[*producer]struct{}),
		subs:      make(map[string]*subscription),
		lastSeq:   make(map[string]int64),
	}
}

// addProducer registers p and returns the last sequence id persisted for
// its name (-1 if none).
func (t *topic) addProducer(p *producer) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.producers[p] = struct{}{}
	return t.lastSequenceLocked(p.name)
}

func (t *topic) lastSequence(name string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastSequenceLocked(name)
}

func (t *topic) lastSequenceLocked(name string) int64 {
	if s, ok := t.lastSeq[name]; ok {
		return s
	}
	return -1
}

func (t *topic) removeProducer(p *producer) {
	t.mu.Lock()
	delete(t.producers, p)
	t.mu.Unlock()
}

// publish stores an entry and dispatches it. It returns false for a
// duplicate (a sequence id not above the last one persisted for the
// producer name), which is not stored.
func (t *topic) publish(p *producer, seq, highest uint64, meta *pb.MessageMetadata, data []byte) (ledger, entryID uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, seen := t.lastSeq[p.name]; seen && int64(seq) <= last {
		return 0, 0, false
	}
	t.lastSeq[p.name] = int64(highest)
	e := newEntry(meta, data)
	id := uint64(len(t.entries))
	t.entries = append(t.entries, e)
	t.messages += int64(e.numMessages)
	for _, s := range t.subs {
		s.dispatch()
	}
	return t.ledger, id, true
}

// publishDurable is publish for a topic with a log: the entry is appended
// to the log and becomes visible (dispatched, counted) once the log is
// synced. Then done runs with the entry id (-1 for a duplicate) or the
// error that failed the log.
func (t *topic) publishDurable(p *producer, seq, highest uint64, meta *pb.MessageMetadata, data []byte, done func(entryID int64, err error)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, seen := t.lastSeq[p.name]; seen && int64(seq) <= last || t.log.failed() != nil {
		// Answer in order, after the entries still being written.
		t.log.afterSync(func(err error) { done(-1, err) })
		return
	}
	t.lastSeq[p.name] = int64(highest)
	id := t.next
	t.next++
	t.log.appendMessage(id, p.name, seq, highest, newEntry(meta, data), func(err error) { done(id, err) })
}

// newEntry describes an entry for storage.
func newEntry(meta *pb.MessageMetadata, data []byte) *entry {
	n := int32(1)
	if meta.NumMessagesInBatch != nil {
		n = meta.GetNumMessagesInBatch()
	}
	return &entry{
		data:        data,
		numMessages: n,
		publishTime: meta.GetPublishTime(),
		key:         entryKey(meta, data),
	}
}

// unload closes every producer and consumer of the topic with
// CLOSE_PRODUCER / CLOSE_CONSUMER.
func (t *topic) unload() {
	t.mu.Lock()
	producers := make([]*producer, 0, len(t.producers))
	for p := range t.producers {
		producers = append(producers, p)
	}
	var consumers []*consumer
	for _, s := range t.subs {
		consumers = append(consumers, s.consumers...)
	}
	t.mu.Unlock()
	for _, p := range producers {
		p.conn.mu.Lock()
		_, ok := p.conn.producers[p.id]
		delete(p.conn.producers, p.id)
		p.conn.mu.Unlock()
		t.removeProducer(p)
		if ok {
			p.conn.send(&pb.BaseCommand{
				Type:          pb.BaseCommand_CLOSE_PRODUCER.Enum(),
				CloseProducer: &pb.CommandCloseProducer{ProducerId: proto.Uint64(p.id), RequestId: proto.Uint64(0)},
			})
		}
	}
	for _, cs := range consumers {
		cs.kick()
	}
}

// lastMessageID returns the id of the last entry; entry is -1 for an empty
// topic and batchIndex is -1 unless the last entry is a batch.
func (t *topic) lastMessageID() *pb.MessageIdData {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastMessageIDLocked()
}

func (t *topic) lastMessageIDLocked() *pb.MessageIdData {
	id := &pb.MessageIdData{LedgerId: proto.Uint64(t.ledger), EntryId: proto.Uint64(^uint64(0))}
	if n := len(t.entries); n > 0 {
		id.EntryId = proto.Uint64(uint64(n - 1))
		if last := t.entries[n-1]; last.numMessages > 1 {
			id.BatchIndex = proto.Int32(last.numMessages - 1)
			id.BatchSize = proto.Int32(last.numMessages)
		}
	}
	return id
}

// positionOf maps a message id to an entry position: ids on an older
// ledger (such as "earliest", ledger -1) map to 0, ids on a newer ledger
// (such as "latest") to the end of the topic.
func (t *topic) positionOf(id *pb.MessageIdData) int64 {
	ledger, entryID := int64(id.GetLedgerId()), int64(id.GetEntryId())
	end := int64(len(t.entries))
	switch {
	case ledger < int64(t.ledger) || ledger < 0:
		return 0
	case ledger > int64(t.ledger):
		return end
	case entryID < 0:
		return 0
	case entryID > end:
		return end
	}
	return entryID
}

// positionOfTime returns the first entry published at or after ms.
func (t *topic) positionOfTime(ms uint64) int64 {
	return int64(sort.Search(len(t.entries), func(i int) bool { return t.entries[i].publishTime >= ms }))
}

// TopicStats describes a topic for tests.
type TopicStats struct {
	// Partitions has one element per partition; a non-partitioned topic
	// has exactly one. It is empty for an unknown topic.
	Partitions []PartitionStats
}

// PartitionStats describes one partition (or non-partitioned topic).
type PartitionStats struct {
	// Topic is the full name of the partition.
	Topic string
	// Entries is the number of stored entries (a batch is one entry).
	Entries int64
	// Messages is the number of stored messages.
	Messages int64
	// Producers is the number of connected producers.
	Producers int
	// Subscriptions maps subscription names to their stats.
	Subscriptions map[string]SubscriptionStats
}

// SubscriptionStats describes one subscription.
type SubscriptionStats struct {
	// Type is the subscription type ("Exclusive", "Shared", ...).
	Type string
	// Durable is false for reader (non-durable) subscriptions.
	Durable bool
	// Backlog is the number of messages not acknowledged yet.
	Backlog int64
	// Unacked is the number of messages dispatched and not acknowledged.
	Unacked int64
	// Consumers is the number of connected consumers.
	Consumers int
}

// Messages returns the total number of stored messages over all partitions.
func (s TopicStats) Messages() int64 {
	var n int64
	for _, p := range s.Partitions {
		n += p.Messages
	}
	return n
}

// Backlog returns the backlog of subscription sub summed over partitions.
func (s TopicStats) Backlog(sub string) int64 {
	var n int64
	for _, p := range s.Partitions {
		n += p.Subscriptions[sub].Backlog
	}
	return n
}

// Stats returns statistics for topic (all partitions of a partitioned
// topic). An unknown topic yields empty stats.
func (b *Broker) Stats(topic string) TopicStats {
	var st TopicStats
	for _, t := range b.topicsOf(topic) {
		st.Partitions = append(st.Partitions, t.stats())
	}
	return st
}

func (t *topic) stats() PartitionStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := PartitionStats{
		Topic:         t.name,
		Entries:       int64(len(t.entries)),
		Messages:      t.messages,
		Producers:     len(t.producers),
		Subscriptions: make(map[string]SubscriptionStats, len(t.subs)),
	}
	for name, s := range t.subs {
		ps.Subscriptions[name] = s.stats()
	}
	return ps
}
