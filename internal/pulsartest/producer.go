package pulsartest

import (
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// producer is a producer registered on a connection.
type producer struct {
	id    uint64
	name  string
	conn  *conn
	topic *topic
}

func (c *conn) handleProducer(req *pb.CommandProducer) {
	name, err := normalizeTopic(req.GetTopic())
	if err != nil {
		c.sendError(req.GetRequestId(), pb.ServerError_InvalidTopicName, err.Error())
		return
	}
	if c.b.partitionCount(name) > 0 {
		c.sendError(req.GetRequestId(), pb.ServerError_NotAllowedError,
			"pulsartest: "+name+" is a partitioned topic; produce to its partitions")
		return
	}
	t, err := c.b.getTopic(name)
	if err != nil {
		c.log.Error("topic unavailable", "err", err)
		c.sendError(req.GetRequestId(), pb.ServerError_PersistenceError, err.Error())
		return
	}
	pname := req.GetProducerName()
	if pname == "" {
		pname = c.b.newProducerName()
	}
	p := &producer{id: req.GetProducerId(), name: pname, conn: c, topic: t}
	c.mu.Lock()
	if c.closed() {
		c.mu.Unlock()
		return
	}
	if old, ok := c.producers[p.id]; ok {
		c.mu.Unlock()
		if old.topic == t {
			// A retried PRODUCER for the same id: answer again.
			c.sendProducerSuccess(req.GetRequestId(), old.name, t.lastSequence(old.name))
			return
		}
		c.sendError(req.GetRequestId(), pb.ServerError_ProducerBusy, "pulsartest: producer id in use")
		return
	}
	c.producers[p.id] = p
	c.mu.Unlock()
	last := t.addProducer(p)
	c.sendProducerSuccess(req.GetRequestId(), pname, last)
}

func (c *conn) sendProducerSuccess(reqID uint64, name string, lastSeq int64) {
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_PRODUCER_SUCCESS.Enum(),
		ProducerSuccess: &pb.CommandProducerSuccess{
			RequestId:      proto.Uint64(reqID),
			ProducerName:   proto.String(name),
			LastSequenceId: proto.Int64(lastSeq),
			ProducerReady:  proto.Bool(true),
			TopicEpoch:     proto.Uint64(0),
		},
	})
}

func (c *conn) handleCloseProducer(req *pb.CommandCloseProducer) {
	c.mu.Lock()
	p, ok := c.producers[req.GetProducerId()]
	delete(c.producers, req.GetProducerId())
	c.mu.Unlock()
	if ok {
		p.topic.removeProducer(p)
	}
	c.sendSuccess(req.GetRequestId())
}

func (c *conn) handleSend(req *pb.CommandSend, data []byte) {
	c.mu.Lock()
	p, ok := c.producers[req.GetProducerId()]
	c.mu.Unlock()
	seq := req.GetSequenceId()
	if !ok {
		c.sendSendError(req, pb.ServerError_NotAllowedError, "pulsartest: unknown producer")
		return
	}
	meta, err := parseMessage(data)
	if err != nil {
		c.log.Warn("bad message", "err", err)
		c.sendSendError(req, pb.ServerError_ChecksumError, err.Error())
		return
	}
	highest := req.GetHighestSequenceId()
	if highest < seq {
		highest = seq
	}
	if p.topic.log != nil {
		p.topic.publishDurable(p, seq, highest, meta, data, func(entryID int64, err error) {
			switch {
			case err != nil:
				c.sendSendError(req, pb.ServerError_PersistenceError, "pulsartest: writing the topic log: "+err.Error())
			case entryID < 0:
				c.sendSendReceipt(p, req, ^uint64(0), ^uint64(0))
			default:
				c.sendSendReceipt(p, req, p.topic.ledger, uint64(entryID))
			}
		})
		return
	}
	ledger, entryID, ok := p.topic.publish(p, seq, highest, meta, data)
	if !ok {
		// Duplicate: Pulsar answers with message id (-1, -1).
		ledger, entryID = ^uint64(0), ^uint64(0)
	}
	c.sendSendReceipt(p, req, ledger, entryID)
}

// sendSendReceipt answers a SEND with its message id, unless DropReceipts
// says to drop it.
func (c *conn) sendSendReceipt(p *producer, req *pb.CommandSend, ledger, entryID uint64) {
	if c.b.dropReceipts.Load() > 0 && c.b.dropReceipts.Add(-1) >= 0 {
		return
	}
	receipt := encodeCommand(&pb.BaseCommand{
		Type: pb.BaseCommand_SEND_RECEIPT.Enum(),
		SendReceipt: &pb.CommandSendReceipt{
			ProducerId:        proto.Uint64(p.id),
			SequenceId:        proto.Uint64(req.GetSequenceId()),
			HighestSequenceId: proto.Uint64(req.GetHighestSequenceId()),
			MessageId:         &pb.MessageIdData{LedgerId: proto.Uint64(ledger), EntryId: proto.Uint64(entryID)},
		},
	})
	c.sendReceipt(receipt)
}

func (c *conn) sendSendError(req *pb.CommandSend, code pb.ServerError, msg string) {
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_SEND_ERROR.Enum(),
		SendError: &pb.CommandSendError{
			ProducerId: proto.Uint64(req.GetProducerId()),
			SequenceId: proto.Uint64(req.GetSequenceId()),
			Error:      code.Enum(),
			Message:    proto.String(msg),
		},
	})
}

// sendReceipt sends a receipt now or, with DelayReceipts in effect (or
// delayed receipts still pending), after the delay, keeping them in order.
func (c *conn) sendReceipt(frame []byte) {
	d := time.Duration(c.b.receiptDelay.Load())
	c.mu.Lock()
	if d <= 0 && len(c.delayed) == 0 {
		c.mu.Unlock()
		c.enqueue(frame)
		return
	}
	if c.closed() {
		c.mu.Unlock()
		return
	}
	start := len(c.delayed) == 0
	c.delayed = append(c.delayed, delayedReceipt{due: time.Now().Add(d), frame: frame})
	if start {
		c.b.wg.Add(1)
	}
	c.mu.Unlock()
	if start {
		go c.delayLoop()
	}
}

// delayLoop releases delayed receipts when they are due; it exits when none
// are left.
func (c *conn) delayLoop() {
	defer c.b.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.delayed) == 0 {
			c.mu.Unlock()
			return
		}
		r := c.delayed[0]
		wait := time.Until(r.due)
		if wait <= 0 {
			c.delayed = c.delayed[1:]
			// Enqueue under c.mu so a receipt sent directly cannot
			// overtake this one.
			c.enqueue(r.frame)
			c.mu.Unlock()
			continue
		}
		c.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-c.done:
			return
		case <-timer.C:
		}
	}
}
