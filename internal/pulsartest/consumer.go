package pulsartest

import (
	"slices"

	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

func (c *conn) consumer(id uint64) *consumer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.consumers[id]
}

func (c *conn) handleSubscribe(req *pb.CommandSubscribe) {
	name, err := normalizeTopic(req.GetTopic())
	if err != nil {
		c.sendError(req.GetRequestId(), pb.ServerError_InvalidTopicName, err.Error())
		return
	}
	if req.GetSubscription() == "" {
		c.sendError(req.GetRequestId(), pb.ServerError_InvalidTopicName, "pulsartest: empty subscription name")
		return
	}
	if c.b.partitionCount(name) > 0 {
		c.sendError(req.GetRequestId(), pb.ServerError_NotAllowedError,
			"pulsartest: "+name+" is a partitioned topic; subscribe to its partitions")
		return
	}
	t, err := c.b.getTopic(name)
	if err != nil {
		c.log.Error("topic unavailable", "err", err)
		c.sendError(req.GetRequestId(), pb.ServerError_PersistenceError, err.Error())
		return
	}
	cs := &consumer{
		id:       req.GetConsumerId(),
		name:     req.GetConsumerName(),
		priority: req.GetPriorityLevel(),
		conn:     c,
		topic:    t,
	}
	if m := req.GetKeySharedMeta(); m != nil && m.GetKeySharedMode() == pb.KeySharedMode_STICKY {
		cs.ranges = m.GetHashRanges()
		if cs.ranges == nil {
			cs.ranges = []*pb.IntRange{}
		}
	}
	c.mu.Lock()
	if c.closed() {
		c.mu.Unlock()
		return
	}
	if old, ok := c.consumers[cs.id]; ok {
		c.mu.Unlock()
		if old.sub.topic == t && old.sub.name == req.GetSubscription() {
			c.sendSuccess(req.GetRequestId())
		} else {
			c.sendError(req.GetRequestId(), pb.ServerError_ConsumerBusy, "pulsartest: consumer id in use")
		}
		return
	}
	c.consumers[cs.id] = cs
	c.mu.Unlock()
	if code, msg := t.subscribe(cs, req); code != nil {
		c.mu.Lock()
		delete(c.consumers, cs.id)
		c.mu.Unlock()
		c.sendError(req.GetRequestId(), *code, msg)
	}
}

// subscribe attaches cs to its subscription (creating it if needed) and
// answers SUCCESS; on failure it returns the error to send.
func (t *topic) subscribe(cs *consumer, req *pb.CommandSubscribe) (*pb.ServerError, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cs.conn.closed() {
		// The connection closed while the request was handled: its
		// consumers were released already, this one must not stay.
		return pb.ServerError_ServiceNotReady.Enum(), "pulsartest: connection closed"
	}
	subName := req.GetSubscription()
	s, ok := t.subs[subName]
	if ok {
		if s.subType != req.GetSubType() {
			if len(s.consumers) > 0 {
				return pb.ServerError_ConsumerBusy.Enum(), "pulsartest: subscription " + subName + " is of type " + s.subType.String()
			}
			// As with Pulsar, a subscription without consumers takes
			// the type of the next one (say, after a restart).
			s.subType = req.GetSubType()
			s.active, s.rr = nil, 0
		}
		if s.subType == pb.CommandSubscribe_Exclusive && len(s.consumers) > 0 {
			return pb.ServerError_ConsumerBusy.Enum(), "pulsartest: exclusive subscription " + subName + " already has a consumer"
		}
	} else {
		durable := req.Durable == nil || req.GetDurable()
		var pos int64
		switch {
		case !durable && req.StartMessageId != nil:
			pos = t.positionOf(req.StartMessageId)
		case req.GetInitialPosition() == pb.CommandSubscribe_Earliest:
			pos = 0
		default:
			pos = int64(len(t.entries))
		}
		s = newSubscription(t, subName, req.GetSubType(), durable, pos)
		t.subs[subName] = s
		if t.log != nil && durable {
			t.log.appendSubscribe(subName, int32(req.GetSubType()), pos)
		}
	}
	cs.sub = s
	s.consumers = append(s.consumers, cs)
	if t.log != nil && s.durable {
		// Answer once the subscription is on disk.
		reqID := req.GetRequestId()
		t.log.afterSync(func(error) { t.activate(cs, reqID) })
		return nil, ""
	}
	cs.conn.sendSuccess(req.GetRequestId())
	s.updateActive(cs)
	s.dispatch()
	return nil, ""
}

// activate answers the SUBSCRIBE of cs, unless it went away meanwhile.
func (t *topic) activate(cs *consumer, reqID uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := cs.sub
	if !slices.Contains(s.consumers, cs) {
		return
	}
	cs.conn.sendSuccess(reqID)
	s.updateActive(cs)
	s.dispatch()
}

// removeConsumer detaches cs; its unacknowledged entries are dispatched
// again (counting a redelivery if count). A non-durable subscription is
// deleted with its last consumer.
func (t *topic) removeConsumer(cs *consumer, count bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := cs.sub
	if s == nil {
		return // released before it was subscribed
	}
	i := -1
	for j, x := range s.consumers {
		if x == cs {
			i = j
		}
	}
	if i < 0 {
		return
	}
	s.consumers = append(s.consumers[:i], s.consumers[i+1:]...)
	if s.rr >= len(s.consumers) {
		s.rr = 0
	}
	s.redeliver(cs, nil, count)
	if len(s.consumers) == 0 && !s.durable {
		if t.subs[s.name] == s {
			delete(t.subs, s.name)
		}
		return
	}
	s.updateActive(nil)
	s.dispatch()
}

// kick closes cs from the broker side with CLOSE_CONSUMER; the client
// reconnects and subscribes again.
func (cs *consumer) kick() {
	c := cs.conn
	c.mu.Lock()
	cur, ok := c.consumers[cs.id]
	if ok && cur == cs {
		delete(c.consumers, cs.id)
	}
	c.mu.Unlock()
	if !ok || cur != cs {
		return
	}
	cs.sub.topic.removeConsumer(cs, true)
	c.send(&pb.BaseCommand{
		Type:          pb.BaseCommand_CLOSE_CONSUMER.Enum(),
		CloseConsumer: &pb.CommandCloseConsumer{ConsumerId: proto.Uint64(cs.id), RequestId: proto.Uint64(0)},
	})
}

func (c *conn) handleFlow(req *pb.CommandFlow) {
	cs := c.consumer(req.GetConsumerId())
	if cs == nil {
		return
	}
	t := cs.sub.topic
	t.mu.Lock()
	cs.permits += int64(req.GetMessagePermits())
	cs.sub.dispatch()
	t.mu.Unlock()
}

func (c *conn) handleAck(req *pb.CommandAck) {
	cs := c.consumer(req.GetConsumerId())
	if cs != nil {
		t := cs.sub.topic
		t.mu.Lock()
		s := cs.sub
		cumulative := req.GetAckType() == pb.CommandAck_Cumulative
		var ops []ackOp
		for _, id := range req.GetMessageId() {
			if id.GetLedgerId() != t.ledger {
				continue
			}
			entry := int64(id.GetEntryId())
			if cumulative {
				s.ackCumulative(entry, id.GetAckSet())
			} else {
				s.ack(entry, id.GetAckSet())
			}
			if t.log != nil && s.durable {
				// Log what the subscription applied, so that replay
				// does the same whatever the topic holds by then.
				if end := int64(len(t.entries)); cumulative && entry >= end {
					entry = end - 1
				}
				if entry >= 0 && entry < int64(len(t.entries)) {
					ops = append(ops, ackOp{entry: entry, ackSet: id.GetAckSet()})
				}
			}
		}
		s.dispatch()
		if len(ops) > 0 {
			t.log.appendAck(s.name, cumulative, ops)
		}
		if t.log != nil && req.RequestId != nil {
			t.log.afterSync(func(error) { c.sendAckResponse(req, cs) })
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
	c.sendAckResponse(req, cs)
}

// sendAckResponse answers an ACK that asked for a response.
func (c *conn) sendAckResponse(req *pb.CommandAck, cs *consumer) {
	if req.RequestId != nil {
		resp := &pb.CommandAckResponse{
			ConsumerId: proto.Uint64(req.GetConsumerId()),
			RequestId:  proto.Uint64(req.GetRequestId()),
		}
		if cs == nil {
			resp.Error = pb.ServerError_ConsumerNotFound.Enum()
			resp.Message = proto.String("pulsartest: unknown consumer")
		}
		c.send(&pb.BaseCommand{Type: pb.BaseCommand_ACK_RESPONSE.Enum(), AckResponse: resp})
	}
}

func (c *conn) handleRedeliver(req *pb.CommandRedeliverUnacknowledgedMessages) {
	cs := c.consumer(req.GetConsumerId())
	if cs == nil {
		return
	}
	t := cs.sub.topic
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []int64
	if len(req.GetMessageIds()) > 0 {
		ids = make([]int64, 0, len(req.GetMessageIds()))
		for _, id := range req.GetMessageIds() {
			if id.GetLedgerId() == t.ledger {
				ids = append(ids, int64(id.GetEntryId()))
			}
		}
	}
	cs.sub.redeliver(cs, ids, true)
	cs.sub.dispatch()
}

func (c *conn) handleCloseConsumer(req *pb.CommandCloseConsumer) {
	c.mu.Lock()
	cs, ok := c.consumers[req.GetConsumerId()]
	delete(c.consumers, req.GetConsumerId())
	c.mu.Unlock()
	if ok {
		cs.sub.topic.removeConsumer(cs, true)
	}
	c.sendSuccess(req.GetRequestId())
}

func (c *conn) handleUnsubscribe(req *pb.CommandUnsubscribe) {
	cs := c.knownConsumer(req.GetConsumerId(), req.GetRequestId())
	if cs == nil {
		return
	}
	t := cs.sub.topic
	t.mu.Lock()
	s := cs.sub
	if len(s.consumers) > 1 && !req.GetForce() {
		t.mu.Unlock()
		c.sendError(req.GetRequestId(), pb.ServerError_ConsumerBusy, "pulsartest: subscription has other consumers")
		return
	}
	if t.subs[s.name] == s {
		delete(t.subs, s.name)
		if t.log != nil && s.durable {
			t.log.appendUnsubscribe(s.name)
		}
	}
	others := append([]*consumer(nil), s.consumers...)
	durable := t.log != nil && s.durable
	t.mu.Unlock()
	c.mu.Lock()
	delete(c.consumers, cs.id)
	c.mu.Unlock()
	t.removeConsumer(cs, false)
	finish := func(error) {
		c.sendSuccess(req.GetRequestId())
		for _, o := range others {
			if o != cs {
				o.kick()
			}
		}
	}
	if durable {
		t.log.afterSync(finish)
		return
	}
	finish(nil)
}

func (c *conn) handleGetLastMessageID(req *pb.CommandGetLastMessageId) {
	cs := c.knownConsumer(req.GetConsumerId(), req.GetRequestId())
	if cs == nil {
		return
	}
	t := cs.sub.topic
	t.mu.Lock()
	last := t.lastMessageIDLocked()
	mark := &pb.MessageIdData{
		LedgerId: proto.Uint64(t.ledger),
		EntryId:  proto.Uint64(uint64(cs.sub.markDelete - 1)),
	}
	t.mu.Unlock()
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_GET_LAST_MESSAGE_ID_RESPONSE.Enum(),
		GetLastMessageIdResponse: &pb.CommandGetLastMessageIdResponse{
			RequestId:                  proto.Uint64(req.GetRequestId()),
			LastMessageId:              last,
			ConsumerMarkDeletePosition: mark,
		},
	})
}

// handleSeek resets the subscription cursor, answers SUCCESS and then
// closes the subscription's consumers (CLOSE_CONSUMER) so that they
// subscribe again from the new position, as the Pulsar broker does.
func (c *conn) handleSeek(req *pb.CommandSeek) {
	cs := c.knownConsumer(req.GetConsumerId(), req.GetRequestId())
	if cs == nil {
		return
	}
	t := cs.sub.topic
	t.mu.Lock()
	s := cs.sub
	switch {
	case req.MessageId != nil:
		s.reset(t.positionOf(req.MessageId))
	case req.MessagePublishTime != nil:
		s.reset(t.positionOfTime(req.GetMessagePublishTime()))
	default:
		t.mu.Unlock()
		c.sendError(req.GetRequestId(), pb.ServerError_MetadataError, "pulsartest: seek needs a message id or a publish time")
		return
	}
	consumers := append([]*consumer(nil), s.consumers...)
	finish := func(error) {
		c.sendSuccess(req.GetRequestId())
		for _, o := range consumers {
			o.kick()
		}
	}
	if t.log != nil && s.durable {
		t.log.appendSeek(s.name, s.markDelete)
		t.log.afterSync(finish)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	finish(nil)
}

// knownConsumer returns the consumer id of the connection, or answers the
// request with ConsumerNotFound and returns nil.
func (c *conn) knownConsumer(id, requestID uint64) *consumer {
	cs := c.consumer(id)
	if cs == nil {
		c.sendError(requestID, pb.ServerError_ConsumerNotFound, "pulsartest: unknown consumer")
	}
	return cs
}
