package pulsartest

import (
	"math/bits"
	"slices"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// subscription is a cursor on a topic plus its consumers. All fields are
// guarded by the topic mutex.
type subscription struct {
	topic   *topic
	name    string
	subType pb.CommandSubscribe_SubType
	durable bool

	consumers []*consumer // in subscription order
	active    *consumer   // Exclusive/Failover: the consumer dispatched to
	rr        int         // Shared: round-robin position

	readPos      int64               // next entry never dispatched
	markDelete   int64               // every entry below is acknowledged
	acked        map[int64]struct{}  // acknowledged entries >= markDelete
	partial      map[int64][]uint64  // batch entries partly acked: bits set = still unacked
	pending      map[int64]*consumer // dispatched, not acknowledged
	replay       []int64             // sorted entries to dispatch again
	redeliveries map[int64]uint32    // redelivery count per entry
}

func newSubscription(t *topic, name string, typ pb.CommandSubscribe_SubType, durable bool, pos int64) *subscription {
	s := &subscription{topic: t, name: name, subType: typ, durable: durable}
	s.reset(pos)
	return s
}

// reset moves the cursor to pos: entries before it count as acknowledged,
// entries from it on are dispatched again.
func (s *subscription) reset(pos int64) {
	s.readPos = pos
	s.markDelete = pos
	s.acked = make(map[int64]struct{})
	s.partial = make(map[int64][]uint64)
	s.pending = make(map[int64]*consumer)
	s.replay = nil
	s.redeliveries = make(map[int64]uint32)
}

func (s *subscription) isAcked(id int64) bool {
	if id < s.markDelete {
		return true
	}
	_, ok := s.acked[id]
	return ok
}

// ack acknowledges entry id; with ackSet (bits set = still unacked) only
// the batch indexes cleared in ackSet are acknowledged.
func (s *subscription) ack(id int64, ackSet []int64) {
	if id < 0 || id >= int64(len(s.topic.entries)) || s.isAcked(id) {
		return
	}
	if len(ackSet) > 0 {
		n := s.topic.entries[id].numMessages
		rem, ok := s.partial[id]
		if !ok {
			rem = fullBitset(n)
		}
		for i := range rem {
			if i < len(ackSet) {
				rem[i] &= uint64(ackSet[i])
			} else {
				rem[i] = 0
			}
		}
		if popcount(rem) > 0 {
			s.partial[id] = rem
			return
		}
	}
	delete(s.pending, id)
	delete(s.partial, id)
	delete(s.redeliveries, id)
	s.acked[id] = struct{}{}
	s.advance()
}

// ackCumulative acknowledges every entry up to and including id.
func (s *subscription) ackCumulative(id int64, ackSet []int64) {
	if id < 0 {
		return
	}
	if end := int64(len(s.topic.entries)); id >= end {
		id = end - 1
	}
	upTo := id + 1
	if len(ackSet) > 0 {
		upTo = id
	}
	if upTo > s.markDelete {
		s.markDelete = upTo
		for e := range s.pending {
			if e < upTo {
				delete(s.pending, e)
			}
		}
		for e := range s.acked {
			if e < upTo {
				delete(s.acked, e)
			}
		}
		for e := range s.partial {
			if e < upTo {
				delete(s.partial, e)
			}
		}
		for e := range s.redeliveries {
			if e < upTo {
				delete(s.redeliveries, e)
			}
		}
	}
	if len(ackSet) > 0 {
		s.ack(id, ackSet)
	}
	s.advance()
}

func (s *subscription) advance() {
	for {
		if _, ok := s.acked[s.markDelete]; !ok {
			break
		}
		delete(s.acked, s.markDelete)
		s.markDelete++
	}
	if s.readPos < s.markDelete {
		s.readPos = s.markDelete
	}
}

// redeliver moves the pending entries of c (all of them, or only ids) back
// to the replay queue, counting a redelivery for each.
func (s *subscription) redeliver(c *consumer, ids []int64, count bool) {
	var moved []int64
	if ids == nil {
		for id, owner := range s.pending {
			if owner == c {
				moved = append(moved, id)
			}
		}
	} else {
		for _, id := range ids {
			if owner, ok := s.pending[id]; ok && (c == nil || owner == c) {
				moved = append(moved, id)
			}
		}
	}
	for _, id := range moved {
		delete(s.pending, id)
		if count {
			s.redeliveries[id]++
		}
	}
	s.addReplay(moved)
}

func (s *subscription) addReplay(ids []int64) {
	if len(ids) == 0 {
		return
	}
	s.replay = append(s.replay, ids...)
	slices.Sort(s.replay)
	s.replay = slices.Compact(s.replay)
}

func (s *subscription) stats() SubscriptionStats {
	st := SubscriptionStats{
		Type:      s.subType.String(),
		Durable:   s.durable,
		Consumers: len(s.consumers),
	}
	for id := s.markDelete; id < int64(len(s.topic.entries)); id++ {
		if s.isAcked(id) {
			continue
		}
		n := int64(s.topic.entries[id].numMessages)
		if rem, ok := s.partial[id]; ok {
			n = int64(popcount(rem))
		}
		st.Backlog += n
		if _, ok := s.pending[id]; ok {
			st.Unacked += n
		}
	}
	return st
}

func fullBitset(n int32) []uint64 {
	words := make([]uint64, (n+63)/64)
	for i := int32(0); i < n; i++ {
		words[i/64] |= 1 << (i % 64)
	}
	return words
}

func popcount(words []uint64) int {
	n := 0
	for _, w := range words {
		n += bits.OnesCount64(w)
	}
	return n
}
