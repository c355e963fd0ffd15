package pulsartest

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"sync"
)

// The data directory holds one log per topic (or partition), named
// "ledger-<ledger id>.log", and "partitioned.log" for the partition counts
// of partitioned topics. A log is a sequence of records:
//
//	[length u32][crc32c u32][type u8][body]
//
// length counts the type byte and the body, the CRC (Castagnoli, big
// endian like the length) covers them too. Bodies use unsigned varints and
// strings as a varint length followed by the bytes. Every log starts with
// a header record.
const (
	// recHeader: version varint, ledger varint, topic name string (the
	// ledger and name are empty in partitioned.log).
	recHeader byte = 1
	// recMessage: entry id, producer name, sequence id, highest sequence
	// id, then the stored entry (metadata and payload, as sent) to the end.
	recMessage byte = 2
	// recSubscribe: subscription name, type, start position. A durable
	// subscription was created (or created again after an unsubscribe).
	recSubscribe byte = 3
	// recUnsubscribe: subscription name.
	recUnsubscribe byte = 4
	// recAck: subscription name, cumulative (0 or 1), count, then per
	// acknowledged entry its id, the number of ack-set words and the words
	// (fixed 64 bits), exactly as the subscription applied them.
	recAck byte = 5
	// recSeek: subscription name, new position.
	recSeek byte = 6
	// recPartitioned: topic name, partition count (partitioned.log only).
	recPartitioned byte = 7
)

const (
	logVersion = 1
	// recordOverhead is the length and CRC in front of a record.
	recordOverhead = 8
	// maxRecordSize bounds a record when reading: larger lengths are
	// garbage.
	maxRecordSize = maxFrameSize + 1<<20
	// maxSpareBuffer is the largest write buffer kept for reuse.
	maxSpareBuffer = 4 << 20
)

// beginRecord appends the record framing and type to buf; endRecord fills
// in the length and CRC once the body is appended.
func beginRecord(buf []byte, typ byte) ([]byte, int) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return buf, start
}

func endRecord(buf []byte, start int) []byte {
	body := buf[start+recordOverhead:]
	binary.BigEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(body, crcTable))
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendHeader(buf []byte, ledger uint64, name string) []byte {
	buf, start := beginRecord(buf, recHeader)
	buf = binary.AppendUvarint(buf, logVersion)
	buf = binary.AppendUvarint(buf, ledger)
	buf = appendString(buf, name)
	return endRecord(buf, start)
}

// ackOp is one acknowledged entry of a recAck record.
type ackOp struct {
	entry  int64
	ackSet []int64
}

// topicLog appends a topic's records to its file. Records are buffered and
// written by one goroutine at a time, which syncs the file before the
// entries become visible and before the callbacks registered with after
// run: a receipt is sent only once its entry is on disk. Lock order:
// topic.mu before topicLog.mu.
type topicLog struct {
	t    *topic
	path string
	f    *os.File

	mu      sync.Mutex
	buf     []byte        // records not written yet
	entries []*entry      // entries whose records are in buf, in order
	after   []func(error) // to run once buf is written and synced
	sync    bool          // buf needs a sync (more than acknowledgements)
	spare   []byte
	running bool
	err     error // the first write error: the log is failed
}

// appendMessage buffers the record of entry id; the entry becomes visible
// once the record is synced, and then done runs.
func (l *topicLog) appendMessage(id int64, producer string, seq, highest uint64, e *entry, done func(error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, start := beginRecord(l.buf, recMessage)
	buf = binary.AppendUvarint(buf, uint64(id))
	buf = appendString(buf, producer)
	buf = binary.AppendUvarint(buf, seq)
	buf = binary.AppendUvarint(buf, highest)
	buf = append(buf, e.data...)
	l.buf = endRecord(buf, start)
	l.entries = append(l.entries, e)
	l.after = append(l.after, done)
	l.sync = true
	l.startLocked()
}

func (l *topicLog) appendSubscribe(name string, typ int32, pos int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, start := beginRecord(l.buf, recSubscribe)
	buf = appendString(buf, name)
	buf = binary.AppendUvarint(buf, uint64(typ))
	buf = binary.AppendUvarint(buf, uint64(pos))
	l.buf = endRecord(buf, start)
	l.sync = true
	l.startLocked()
}

func (l *topicLog) appendUnsubscribe(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, start := beginRecord(l.buf, recUnsubscribe)
	buf = appendString(buf, name)
	l.buf = endRecord(buf, start)
	l.sync = true
	l.startLocked()
}

func (l *topicLog) appendSeek(name string, pos int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, start := beginRecord(l.buf, recSeek)
	buf = appendString(buf, name)
	buf = binary.AppendUvarint(buf, uint64(pos))
	l.buf = endRecord(buf, start)
	l.sync = true
	l.startLocked()
}

// appendAck buffers acknowledgements. They are written soon but synced
// only with the next record that needs it (or at Close): a lost
// acknowledgement means a redelivery, which the protocol allows.
func (l *topicLog) appendAck(name string, cumulative bool, ops []ackOp) {
	if len(ops) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, start := beginRecord(l.buf, recAck)
	buf = appendString(buf, name)
	c := byte(0)
	if cumulative {
		c = 1
	}
	buf = append(buf, c)
	buf = binary.AppendUvarint(buf, uint64(len(ops)))
	for _, op := range ops {
		buf = binary.AppendUvarint(buf, uint64(op.entry))
		buf = binary.AppendUvarint(buf, uint64(len(op.ackSet)))
		for _, w := range op.ackSet {
			buf = binary.BigEndian.AppendUint64(buf, uint64(w))
		}
	}
	l.buf = endRecord(buf, start)
	l.startLocked()
}

// afterSync runs fn once every record buffered so far is written and
// synced, with the write error if that failed. Callbacks run in order, on
// the log's writer goroutine, without locks held.
func (l *topicLog) afterSync(fn func(error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.after = append(l.after, fn)
	l.sync = true
	l.startLocked()
}

// failed returns the write error that stopped the log, if any.
func (l *topicLog) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *topicLog) startLocked() {
	if l.running {
		return
	}
	l.running = true
	l.t.b.wg.Add(1)
	go l.run()
}

// run writes and syncs buffered records until none are left, then makes
// the written entries visible and runs the callbacks.
func (l *topicLog) run() {
	defer l.t.b.wg.Done()
	for {
		l.mu.Lock()
		if len(l.buf) == 0 && len(l.after) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		buf, entries, after, sync := l.buf, l.entries, l.after, l.sync
		l.buf, l.entries, l.after, l.sync = l.spare, nil, nil, false
		l.spare = nil
		err := l.err
		l.mu.Unlock()

		if err == nil && len(buf) > 0 {
			err = l.write(buf, sync)
		}
		t := l.t
		if err == nil && len(entries) > 0 {
			t.mu.Lock()
			for _, e := range entries {
				t.entries = append(t.entries, e)
				t.messages += int64(e.numMessages)
			}
			for _, s := range t.subs {
				s.dispatch()
			}
			t.mu.Unlock()
		}
		for _, fn := range after {
			fn(err)
		}
		l.mu.Lock()
		if cap(buf) <= maxSpareBuffer {
			l.spare = buf[:0]
		}
		l.mu.Unlock()
	}
}

// write appends buf to the file and syncs it if sync is set. A failure
// fails the log for good: later sends get a PersistenceError.
func (l *topicLog) write(buf []byte, sync bool) error {
	_, err := l.f.Write(buf)
	if err == nil && sync {
		err = l.f.Sync()
	}
	if err != nil {
		l.t.b.log.Error("writing the topic log failed; the topic refuses messages from now on",
			"topic", l.t.name, "file", l.path, "err", err)
		l.mu.Lock()
		if l.err == nil {
			l.err = err
		}
		l.mu.Unlock()
	}
	return err
}

// close syncs and closes the file; the writer goroutine must have exited.
func (l *topicLog) close() error {
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
