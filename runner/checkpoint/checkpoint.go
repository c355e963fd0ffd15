// Package checkpoint defines what a pipeline's checkpoint holds, how it is
// encoded, and how checkpoints are kept in a store: one folder per
// pipeline, one object per checkpoint, named by its epoch, the newest few
// kept (docs/checkpoints.md).
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Checkpoint is a consistent cut of one pipeline: where every source
// partition was, the state of every stateful stage, and what every
// transactional sink had prepared, all at the same point of the stream.
type Checkpoint struct {
	// Pipeline is the pipeline's name.
	Pipeline string `json:"pipeline"`
	// Epoch numbers the checkpoint; epochs increase across the runs of a
	// pipeline.
	Epoch int64 `json:"epoch"`
	// Fingerprint identifies the configuration of the stateful stages the
	// state belongs to; a run whose stages differ cannot restore it.
	Fingerprint string `json:"fingerprint"`
	// Created is when the checkpoint was taken.
	Created time.Time `json:"created"`
	// Partitions are the durable names of the source's partitions, in the
	// source's order (a topic partition, a file path).
	Partitions []string `json:"partitions"`
	// Positions holds, by partition name, the source's position of the
	// last record the checkpoint covers; a partition that delivered
	// nothing yet has none.
	Positions map[string][]byte `json:"positions"`
	// Manifests holds, by sink block title, what each transactional sink
	// prepared for the epoch.
	Manifests map[string][]byte `json:"manifests,omitempty"`
	// Operators holds the state of each stateful stage, in chain order. It
	// is stored after the header, not in JSON.
	Operators [][]byte `json:"-"`
}

// magic starts every encoded checkpoint; the digit is the format version.
const magic = "sluice checkpoint 1\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Marshal encodes c: the magic line, the length-prefixed JSON header, the
// number of operator states and each length-prefixed, then a CRC-32C of
// everything before it.
func (c *Checkpoint) Marshal() ([]byte, error) {
	header, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	size := len(magic) + len(header) + 4 + 2*binary.MaxVarintLen64
	for _, op := range c.Operators {
		size += len(op) + binary.MaxVarintLen64
	}
	out := make([]byte, 0, size)
	out = append(out, magic...)
	out = binary.AppendUvarint(out, uint64(len(header)))
	out = append(out, header...)
	out = binary.AppendUvarint(out, uint64(len(c.Operators)))
	for _, op := range c.Operators {
		out = binary.AppendUvarint(out, uint64(len(op)))
		out = append(out, op...)
	}
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli)), nil
}

// ErrCorrupt is wrapped by the errors of Unmarshal for data that is not a
// whole checkpoint.
var ErrCorrupt = errors.New("corrupt checkpoint")

// Unmarshal decodes a checkpoint Marshal encoded, checking its checksum.
func Unmarshal(data []byte) (*Checkpoint, error) {
	if len(data) < len(magic)+4 || !bytes.HasPrefix(data, []byte(magic)) {
		return nil, fmt.Errorf("%w: not a sluice checkpoint (version 1)", ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or damaged)", ErrCorrupt)
	}
	rest := body[len(magic):]
	next := func() ([]byte, error) {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return nil, fmt.Errorf("%w: bad length", ErrCorrupt)
		}
		b := rest[w : w+int(n)]
		rest = rest[w+int(n):]
		return b, nil
	}
	header, err := next()
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{}
	if err := json.Unmarshal(header, c); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	n, w := binary.Uvarint(rest)
	if w <= 0 || n > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: bad operator count", ErrCorrupt)
	}
	rest = rest[w:]
	for range n {
		op, err := next()
		if err != nil {
			return nil, err
		}
		c.Operators = append(c.Operators, op)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(rest))
	}
	return c, nil
}
