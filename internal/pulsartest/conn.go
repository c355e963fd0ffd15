package pulsartest

import (
	"bufio"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// conn is one client connection: a reader goroutine that handles commands
// and a writer goroutine that drains the outgoing queue.
type conn struct {
	b   *Broker
	nc  net.Conn
	log *slog.Logger

	// outgoing frames (each element one buffer; frames may span several)
	outMu     sync.Mutex
	out       [][]byte
	outSignal chan struct{}
	done      chan struct{} // closed by close()
	closeOnce sync.Once

	mu        sync.Mutex // guards producers, consumers and delayed
	producers map[uint64]*producer
	consumers map[uint64]*consumer
	delayed   []delayedReceipt // receipts held back by DelayReceipts
}

type delayedReceipt struct {
	due   time.Time
	frame []byte
}

func newConn(b *Broker, nc net.Conn) *conn {
	return &conn{
		b:         b,
		nc:        nc,
		log:       b.log.With("remote", nc.RemoteAddr().String()),
		outSignal: make(chan struct{}, 1),
		done:      make(chan struct{}),
		producers: make(map[uint64]*producer),
		consumers: make(map[uint64]*consumer),
	}
}

// enqueue appends buffers to the outgoing queue; it never blocks.
func (c *conn) enqueue(bufs ...[]byte) {
	c.outMu.Lock()
	c.out = append(c.out, bufs...)
	c.outMu.Unlock()
	select {
	case c.outSignal <- struct{}{}:
	default:
	}
}

func (c *conn) send(cmd *pb.BaseCommand) { c.enqueue(encodeCommand(cmd)) }

func (c *conn) writeLoop() {
	defer c.b.wg.Done()
	w := bufio.NewWriterSize(c.nc, 64<<10)
	var batch [][]byte
	for {
		select {
		case <-c.done:
			return
		case <-c.outSignal:
		}
		c.outMu.Lock()
		batch, c.out = c.out, batch[:0]
		c.outMu.Unlock()
		for _, buf := range batch {
			if _, err := w.Write(buf); err != nil {
				c.close()
				return
			}
		}
		clear(batch)
		if err := w.Flush(); err != nil {
			c.close()
			return
		}
	}
}

func (c *conn) readLoop() {
	defer c.b.wg.Done()
	defer c.close()
	if !c.tlsHandshake() {
		return
	}
	r := bufio.NewReaderSize(c.nc, 64<<10)
	connected := false
	for {
		cmd, payload, err := readFrame(r)
		if err != nil {
			select {
			case <-c.done:
			default:
				c.log.Debug("connection read ended", "err", err)
			}
			return
		}
		if !connected {
			if cmd.GetType() != pb.BaseCommand_CONNECT || cmd.Connect == nil {
				c.log.Warn("first command is not CONNECT", "type", cmd.GetType())
				return
			}
			if !c.authenticateConnect(cmd.Connect) {
				return
			}
			c.handleConnect(cmd.Connect)
			connected = true
			continue
		}
		c.handle(cmd, payload)
	}
}

// close closes the connection and releases its producers and consumers.
// Safe to call more than once and from any goroutine.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		// Release producers and consumers before closing the socket, so
		// a client reconnecting at once finds them gone (an exclusive
		// subscription would otherwise answer ConsumerBusy, which the
		// client treats as fatal).
		c.mu.Lock()
		producers := c.producers
		consumers := c.consumers
		c.producers = map[uint64]*producer{}
		c.consumers = map[uint64]*consumer{}
		c.delayed = nil
		c.mu.Unlock()
		for _, p := range producers {
			p.topic.removeProducer(p)
		}
		for _, cs := range consumers {
			cs.topic.removeConsumer(cs, true)
		}
		c.nc.Close()
		c.b.removeConn(c)
	})
}

func (c *conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *conn) handleConnect(cmd *pb.CommandConnect) {
	version := cmd.GetProtocolVersion()
	if max := int32(pb.ProtocolVersion_v20); version > max {
		version = max
	}
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_CONNECTED.Enum(),
		Connected: &pb.CommandConnected{
			ServerVersion:   proto.String("pulsartest"),
			ProtocolVersion: proto.Int32(version),
			MaxMessageSize:  proto.Int32(maxMessageSize),
			FeatureFlags:    &pb.FeatureFlags{SupportsPartialProducer: proto.Bool(true)},
		},
	})
}

// handle dispatches one command received after the handshake.
func (c *conn) handle(cmd *pb.BaseCommand, payload []byte) {
	switch cmd.GetType() {
	case pb.BaseCommand_PING:
		c.send(&pb.BaseCommand{Type: pb.BaseCommand_PONG.Enum(), Pong: &pb.CommandPong{}})
	case pb.BaseCommand_PONG:
	case pb.BaseCommand_PARTITIONED_METADATA:
		c.handlePartitionedMetadata(cmd.GetPartitionMetadata())
	case pb.BaseCommand_LOOKUP:
		c.handleLookup(cmd.GetLookupTopic())
	case pb.BaseCommand_PRODUCER:
		c.handleProducer(cmd.GetProducer())
	case pb.BaseCommand_SEND:
		c.handleSend(cmd.GetSend(), payload)
	case pb.BaseCommand_CLOSE_PRODUCER:
		c.handleCloseProducer(cmd.GetCloseProducer())
	case pb.BaseCommand_SUBSCRIBE:
		c.handleSubscribe(cmd.GetSubscribe())
	case pb.BaseCommand_FLOW:
		c.handleFlow(cmd.GetFlow())
	case pb.BaseCommand_ACK:
		c.handleAck(cmd.GetAck())
	case pb.BaseCommand_REDELIVER_UNACKNOWLEDGED_MESSAGES:
		c.handleRedeliver(cmd.GetRedeliverUnacknowledgedMessages())
	case pb.BaseCommand_CLOSE_CONSUMER:
		c.handleCloseConsumer(cmd.GetCloseConsumer())
	case pb.BaseCommand_UNSUBSCRIBE:
		c.handleUnsubscribe(cmd.GetUnsubscribe())
	case pb.BaseCommand_GET_LAST_MESSAGE_ID:
		c.handleGetLastMessageID(cmd.GetGetLastMessageId())
	case pb.BaseCommand_SEEK:
		c.handleSeek(cmd.GetSeek())
	case pb.BaseCommand_GET_TOPICS_OF_NAMESPACE:
		c.handleGetTopics(cmd.GetGetTopicsOfNamespace())
	case pb.BaseCommand_GET_SCHEMA:
		req := cmd.GetGetSchema()
		c.send(&pb.BaseCommand{
			Type: pb.BaseCommand_GET_SCHEMA_RESPONSE.Enum(),
			GetSchemaResponse: &pb.CommandGetSchemaResponse{
				RequestId:    proto.Uint64(req.GetRequestId()),
				ErrorCode:    pb.ServerError_TopicNotFound.Enum(),
				ErrorMessage: proto.String("pulsartest does not store schemas"),
			},
		})
	case pb.BaseCommand_GET_OR_CREATE_SCHEMA:
		req := cmd.GetGetOrCreateSchema()
		c.send(&pb.BaseCommand{
			Type: pb.BaseCommand_GET_OR_CREATE_SCHEMA_RESPONSE.Enum(),
			GetOrCreateSchemaResponse: &pb.CommandGetOrCreateSchemaResponse{
				RequestId:     proto.Uint64(req.GetRequestId()),
				SchemaVersion: []byte{},
			},
		})
	default:
		c.log.Warn("unsupported command", "type", cmd.GetType())
		if id, ok := requestID(cmd); ok {
			c.sendError(id, pb.ServerError_NotAllowedError, "pulsartest: unsupported command "+cmd.GetType().String())
		}
	}
}

// requestID finds the request id of a command of an unsupported type.
func requestID(cmd *pb.BaseCommand) (uint64, bool) {
	m := cmd.ProtoReflect()
	var id uint64
	var found bool
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		inner := v.Message()
		f := inner.Descriptor().Fields().ByName("request_id")
		if f != nil && inner.Has(f) {
			id, found = inner.Get(f).Uint(), true
			return false
		}
		return true
	})
	return id, found
}

func (c *conn) sendError(reqID uint64, code pb.ServerError, msg string) {
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_ERROR.Enum(),
		Error: &pb.CommandError{
			RequestId: proto.Uint64(reqID),
			Error:     code.Enum(),
			Message:   proto.String(msg),
		},
	})
}

func (c *conn) sendSuccess(reqID uint64) {
	c.send(&pb.BaseCommand{
		Type:    pb.BaseCommand_SUCCESS.Enum(),
		Success: &pb.CommandSuccess{RequestId: proto.Uint64(reqID)},
	})
}

func (c *conn) handlePartitionedMetadata(req *pb.CommandPartitionedTopicMetadata) {
	name, err := normalizeTopic(req.GetTopic())
	if err != nil {
		c.send(&pb.BaseCommand{
			Type: pb.BaseCommand_PARTITIONED_METADATA_RESPONSE.Enum(),
			PartitionMetadataResponse: &pb.CommandPartitionedTopicMetadataResponse{
				RequestId: proto.Uint64(req.GetRequestId()),
				Response:  pb.CommandPartitionedTopicMetadataResponse_Failed.Enum(),
				Error:     pb.ServerError_InvalidTopicName.Enum(),
				Message:   proto.String(err.Error()),
			},
		})
		return
	}
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_PARTITIONED_METADATA_RESPONSE.Enum(),
		PartitionMetadataResponse: &pb.CommandPartitionedTopicMetadataResponse{
			RequestId:  proto.Uint64(req.GetRequestId()),
			Response:   pb.CommandPartitionedTopicMetadataResponse_Success.Enum(),
			Partitions: proto.Uint32(uint32(c.b.partitionCount(name))),
		},
	})
}

func (c *conn) handleLookup(req *pb.CommandLookupTopic) {
	if _, err := normalizeTopic(req.GetTopic()); err != nil {
		c.send(&pb.BaseCommand{
			Type: pb.BaseCommand_LOOKUP_RESPONSE.Enum(),
			LookupTopicResponse: &pb.CommandLookupTopicResponse{
				RequestId: proto.Uint64(req.GetRequestId()),
				Response:  pb.CommandLookupTopicResponse_Failed.Enum(),
				Error:     pb.ServerError_InvalidTopicName.Enum(),
				Message:   proto.String(err.Error()),
			},
		})
		return
	}
	resp := &pb.CommandLookupTopicResponse{
		RequestId:              proto.Uint64(req.GetRequestId()),
		Response:               pb.CommandLookupTopicResponse_Connect.Enum(),
		Authoritative:          proto.Bool(true),
		ProxyThroughServiceUrl: proto.Bool(false),
	}
	c.b.serviceURLs(resp)
	c.send(&pb.BaseCommand{Type: pb.BaseCommand_LOOKUP_RESPONSE.Enum(), LookupTopicResponse: resp})
}

func (c *conn) handleGetTopics(req *pb.CommandGetTopicsOfNamespace) {
	c.send(&pb.BaseCommand{
		Type: pb.BaseCommand_GET_TOPICS_OF_NAMESPACE_RESPONSE.Enum(),
		GetTopicsOfNamespaceResponse: &pb.CommandGetTopicsOfNamespaceResponse{
			RequestId: proto.Uint64(req.GetRequestId()),
			Topics:    c.b.topicNames(req.GetNamespace()),
		},
	})
}
