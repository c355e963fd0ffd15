package pulsartest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// Wire-format constants of the Pulsar binary protocol.
const (
	magicCRC32C          = 0x0e01
	magicBrokerEntryMeta = 0x0e02
	// maxMessageSize is advertised in CONNECTED; frames may be a little
	// larger because of the command header.
	maxMessageSize = 5 << 20
	maxFrameSize   = maxMessageSize + 64<<10
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errFrame reports a malformed frame.
var errFrame = errors.New("pulsartest: malformed frame")

// readFrame reads one frame ([total u32][body]) from r and decodes it.
func readFrame(r *bufio.Reader) (*pb.BaseCommand, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, err
	}
	total := binary.BigEndian.Uint32(hdr[:])
	if total < 4 || total > maxFrameSize {
		return nil, nil, fmt.Errorf("%w: frame size %d", errFrame, total)
	}
	body := make([]byte, total)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, nil, err
	}
	return decodeFrame(body)
}

// decodeFrame decodes a frame body (everything after the total-size
// field): [cmdSize u32][BaseCommand][payload...]. The returned payload
// aliases body and is nil for simple commands. It never panics.
func decodeFrame(body []byte) (*pb.BaseCommand, []byte, error) {
	if len(body) < 4 {
		return nil, nil, fmt.Errorf("%w: short frame", errFrame)
	}
	cmdSize := binary.BigEndian.Uint32(body)
	if uint64(cmdSize) > uint64(len(body)-4) {
		return nil, nil, fmt.Errorf("%w: command size %d exceeds frame", errFrame, cmdSize)
	}
	cmd := &pb.BaseCommand{}
	if err := proto.Unmarshal(body[4:4+cmdSize], cmd); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errFrame, err)
	}
	var payload []byte
	if rest := body[4+cmdSize:]; len(rest) > 0 {
		payload = rest
	}
	return cmd, payload, nil
}

// encodeCommand returns a complete simple frame for cmd.
func encodeCommand(cmd *pb.BaseCommand) []byte {
	return encodeCommandWithPayloadSize(cmd, 0)
}

// encodeCommandWithPayloadSize returns the frame header and command for a
// frame that is followed by payloadSize bytes written separately.
func encodeCommandWithPayloadSize(cmd *pb.BaseCommand, payloadSize int) []byte {
	size := proto.Size(cmd)
	buf := make([]byte, 8, 8+size)
	binary.BigEndian.PutUint32(buf, uint32(4+size+payloadSize))
	binary.BigEndian.PutUint32(buf[4:], uint32(size))
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, cmd)
	if err != nil {
		// Only reachable with a required field unset: a bug in the broker.
		panic(fmt.Sprintf("pulsartest: marshal %v: %v", cmd.GetType(), err))
	}
	return buf
}

// parseMessage validates the payload of a SEND frame
// ([magic][crc][metaSize][metadata][payload], optionally preceded by broker
// entry metadata) and returns its metadata. It never panics.
func parseMessage(data []byte) (*pb.MessageMetadata, error) {
	if len(data) >= 2 && binary.BigEndian.Uint16(data) == magicBrokerEntryMeta {
		if len(data) < 6 {
			return nil, fmt.Errorf("%w: short broker entry metadata", errFrame)
		}
		n := binary.BigEndian.Uint32(data[2:])
		if uint64(n) > uint64(len(data)-6) {
			return nil, fmt.Errorf("%w: broker entry metadata size", errFrame)
		}
		data = data[6+n:]
	}
	if len(data) >= 2 && binary.BigEndian.Uint16(data) == magicCRC32C {
		if len(data) < 6 {
			return nil, fmt.Errorf("%w: short checksum", errFrame)
		}
		want := binary.BigEndian.Uint32(data[2:])
		data = data[6:]
		if got := crc32.Checksum(data, crcTable); got != want {
			return nil, fmt.Errorf("%w: checksum mismatch", errFrame)
		}
	}
	if len(data) < 4 {
		return nil, fmt.Errorf("%w: short metadata", errFrame)
	}
	n := binary.BigEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return nil, fmt.Errorf("%w: metadata size %d", errFrame, n)
	}
	meta := &pb.MessageMetadata{}
	if err := proto.Unmarshal(data[4:4+n], meta); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", errFrame, err)
	}
	return meta, nil
}

// entryKey returns the routing key of a stored entry: the ordering key,
// else the partition key, of the entry metadata or, for a batch, of its
// first message.
func entryKey(meta *pb.MessageMetadata, data []byte) string {
	if len(meta.GetOrderingKey()) > 0 {
		return string(meta.GetOrderingKey())
	}
	if meta.PartitionKey != nil {
		return meta.GetPartitionKey()
	}
	if meta.NumMessagesInBatch == nil || meta.Compression != nil && meta.GetCompression() != pb.CompressionType_NONE {
		return ""
	}
	// Uncompressed batch: read the first single-message metadata.
	payload := messagePayload(data)
	if len(payload) < 4 {
		return ""
	}
	n := binary.BigEndian.Uint32(payload)
	if uint64(n) > uint64(len(payload)-4) {
		return ""
	}
	smm := &pb.SingleMessageMetadata{}
	if proto.Unmarshal(payload[4:4+n], smm) != nil {
		return ""
	}
	if len(smm.GetOrderingKey()) > 0 {
		return string(smm.GetOrderingKey())
	}
	return smm.GetPartitionKey()
}

// messagePayload returns the bytes after the message metadata.
func messagePayload(data []byte) []byte {
	if len(data) >= 2 && binary.BigEndian.Uint16(data) == magicCRC32C {
		if len(data) < 6 {
			return nil
		}
		data = data[6:]
	}
	if len(data) < 4 {
		return nil
	}
	n := binary.BigEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return nil
	}
	return data[4+n:]
}
