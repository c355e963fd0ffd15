package pulsartest

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// keySharedRange is the size of the Key_Shared hash space.
const keySharedRange = 65536

// maxKeySharedSkip bounds how many entries Key_Shared dispatch sets aside
// while their consumer has no permits.
const maxKeySharedSkip = 10000

// consumer is a consumer attached to a subscription. Its dispatch state is
// guarded by the topic mutex.
type consumer struct {
	id       uint64
	name     string
	priority int32
	conn     *conn
	topic    *topic        // set when made: close reads it from another goroutine
	sub      *subscription // set by subscribe, under topic's lock
	permits  int64
	ranges   []*pb.IntRange // Key_Shared sticky ranges (inclusive); nil = auto split
}

// dispatch sends entries to consumers while they have permits. Replayed
// entries go first, in entry order; then entries never dispatched.
func (s *subscription) dispatch() {
	if len(s.consumers) == 0 {
		return
	}
	var blocked map[*consumer]bool
	if s.subType == pb.CommandSubscribe_Key_Shared {
		blocked = make(map[*consumer]bool)
	}
	if len(s.replay) > 0 {
		var kept []int64
		for i, id := range s.replay {
			if s.isAcked(id) {
				continue
			}
			if _, out := s.pending[id]; out {
				continue
			}
			c := s.pick(id, blocked)
			if c == nil {
				if blocked == nil || len(blocked) >= len(s.consumers) {
					kept = append(kept, s.replay[i:]...)
					break
				}
				kept = append(kept, id)
				continue
			}
			s.deliver(c, id)
		}
		s.replay = kept
		if len(kept) > 0 && (blocked == nil || len(blocked) >= len(s.consumers)) {
			return
		}
	}
	entries := s.topic.entries
	for s.readPos < int64(len(entries)) {
		id := s.readPos
		if _, out := s.pending[id]; out || s.isAcked(id) {
			s.readPos++
			continue
		}
		c := s.pick(id, blocked)
		if c == nil {
			if blocked != nil && len(blocked) < len(s.consumers) && len(s.replay) < maxKeySharedSkip {
				// Set aside (replay stays sorted: every replayed
				// entry is below readPos).
				s.replay = append(s.replay, id)
				s.readPos++
				continue
			}
			return
		}
		s.deliver(c, id)
		s.readPos++
	}
}

// pick chooses the consumer for entry id, or nil if it cannot be
// dispatched now. For Key_Shared a consumer without permits is added to
// blocked.
func (s *subscription) pick(id int64, blocked map[*consumer]bool) *consumer {
	switch s.subType {
	case pb.CommandSubscribe_Shared:
		n := len(s.consumers)
		for k := 0; k < n; k++ {
			c := s.consumers[(s.rr+k)%n]
			if c.permits > 0 {
				s.rr = (s.rr + k + 1) % n
				return c
			}
		}
		return nil
	case pb.CommandSubscribe_Key_Shared:
		c := s.keyConsumer(keyHash(s.topic.entries[id].key))
		if c == nil {
			return nil
		}
		if blocked[c] || c.permits <= 0 {
			blocked[c] = true
			return nil
		}
		return c
	default:
		if s.active != nil && s.active.permits > 0 {
			return s.active
		}
		return nil
	}
}

// keyConsumer returns the Key_Shared consumer owning hash h.
func (s *subscription) keyConsumer(h uint32) *consumer {
	var auto []*consumer
	for _, c := range s.consumers {
		if c.ranges == nil {
			auto = append(auto, c)
			continue
		}
		for _, r := range c.ranges {
			if int32(h) >= r.GetStart() && int32(h) <= r.GetEnd() {
				return c
			}
		}
	}
	if len(auto) == 0 {
		return nil
	}
	// Auto split: equal ranges in subscription order.
	return auto[int(h)*len(auto)/keySharedRange]
}

// deliver sends entry id to c.
func (s *subscription) deliver(c *consumer, id int64) {
	e := s.topic.entries[id]
	c.permits -= int64(e.numMessages)
	s.pending[id] = c
	msg := &pb.CommandMessage{
		ConsumerId: proto.Uint64(c.id),
		MessageId: &pb.MessageIdData{
			LedgerId: proto.Uint64(s.topic.ledger),
			EntryId:  proto.Uint64(uint64(id)),
		},
	}
	if n := s.redeliveries[id]; n > 0 {
		msg.RedeliveryCount = proto.Uint32(n)
	}
	if rem, ok := s.partial[id]; ok {
		msg.AckSet = make([]int64, len(rem))
		for i, w := range rem {
			msg.AckSet[i] = int64(w)
		}
	}
	hdr := encodeCommandWithPayloadSize(&pb.BaseCommand{Type: pb.BaseCommand_MESSAGE.Enum(), Message: msg}, len(e.data))
	c.conn.enqueue(hdr, e.data)
}

// updateActive recomputes the active consumer of an Exclusive or Failover
// subscription, as Pulsar's single-active-consumer dispatcher does: the
// consumers sorted by priority level, then name; partition i goes to the
// (i mod n)th of the n consumers of the highest priority level. (Pulsar
// places a non-partitioned topic on a hash ring of the consumer names;
// here it counts as partition 0.) Entries dispatched to a consumer that
// lost the active role are dispatched again, to the new one.
//
// A Failover subscription announces a change with ACTIVE_CONSUMER_CHANGE
// to every consumer; when added (a consumer that just subscribed) did not
// change the active one, only added is told, that it is inactive.
func (s *subscription) updateActive(added *consumer) {
	if s.subType != pb.CommandSubscribe_Exclusive && s.subType != pb.CommandSubscribe_Failover {
		return
	}
	prev := s.active
	s.active = s.pickActive()
	if prev != nil && prev != s.active {
		s.redeliver(prev, nil, false)
	}
	if s.subType != pb.CommandSubscribe_Failover {
		return
	}
	if prev == s.active {
		if added != nil && added != s.active {
			added.notifyActive(false)
		}
		return
	}
	for _, c := range s.consumers {
		c.notifyActive(c == s.active)
	}
}

// pickActive returns the consumer the partition goes to (see updateActive),
// nil without consumers.
func (s *subscription) pickActive() *consumer {
	if len(s.consumers) == 0 {
		return nil
	}
	sorted := slices.Clone(s.consumers)
	slices.SortStableFunc(sorted, func(a, b *consumer) int {
		if c := cmp.Compare(a.priority, b.priority); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	n := 1
	for n < len(sorted) && sorted[n].priority == sorted[0].priority {
		n++
	}
	return sorted[s.topic.partition%n]
}

// notifyActive sends c an ACTIVE_CONSUMER_CHANGE saying whether it is the
// active consumer.
func (c *consumer) notifyActive(active bool) {
	c.conn.send(&pb.BaseCommand{
		Type: pb.BaseCommand_ACTIVE_CONSUMER_CHANGE.Enum(),
		ActiveConsumerChange: &pb.CommandActiveConsumerChange{
			ConsumerId: proto.Uint64(c.id),
			IsActive:   proto.Bool(active),
		},
	})
}

// keyHash is the Key_Shared hash of key: Murmur3_32 (seed 0) masked to 31
// bits, modulo the hash range, as the Pulsar broker computes it.
func keyHash(key string) uint32 {
	return (murmur3([]byte(key)) & 0x7fffffff) % keySharedRange
}

// murmur3 is MurmurHash3 x86 32-bit with seed 0.
func murmur3(data []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(data)
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
		data = data[4:]
	}
	var k uint32
	switch len(data) {
	case 3:
		k ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
