package pulsartest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/internal/objstore"
	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

const (
	// maxTornHeader is the most a log may hold without a valid header
	// record: a header cut short when the file was created.
	maxTornHeader  = 4096
	partitionedLog = "partitioned.log"
	lockFile       = "LOCK"
	topicLogPrefix = "ledger-"
	topicLogSuffix = ".log"
)

// errCorrupt reports a record that is whole (its CRC matches) but makes no
// sense: a bug or a file from another version, not a torn write.
var errCorrupt = errors.New("pulsartest: corrupt log record")

// recordReader decodes a record body.
type recordReader struct {
	b   []byte
	bad bool
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) u8() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *recordReader) u64() uint64 {
	if len(r.b) < 8 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *recordReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		r.b = nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// scanRecords calls fn for each whole record of data and returns the
// length of the valid prefix: the records before the first torn or
// garbled one (bad length or CRC). An error from fn stops the scan and is
// returned.
func scanRecords(data []byte, fn func(typ byte, body []byte) error) (int, error) {
	off := 0
	for len(data)-off > recordOverhead {
		n := int(binary.BigEndian.Uint32(data[off:]))
		crc := binary.BigEndian.Uint32(data[off+4:])
		if n < 1 || n > maxRecordSize || n > len(data)-off-recordOverhead {
			break
		}
		rec := data[off+recordOverhead : off+recordOverhead+n]
		if crc32.Checksum(rec, crcTable) != crc {
			break
		}
		if err := fn(rec[0], rec[1:]); err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, err)
		}
		off += recordOverhead + n
	}
	return off, nil
}

// readLog calls fn for each record of the log at path and truncates a torn
// or garbled tail (a record cut short by a crash, or garbage after the last
// record).
func (b *Broker) readLog(path string, fn func(typ byte, body []byte) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	valid, err := scanRecords(data, fn)
	if err != nil {
		return fmt.Errorf("pulsartest: %s: %w", path, err)
	}
	if valid == 0 && len(data) > maxTornHeader {
		// A crash while creating the file leaves at most a partial
		// header; this is damage, and the file is left alone.
		return fmt.Errorf("pulsartest: %s: %w: no valid header", path, errCorrupt)
	}
	if valid < len(data) {
		b.log.Warn("dropping the torn tail of a log", "file", path, "offset", valid, "bytes", len(data)-valid)
		if err := truncateFile(path, int64(valid)); err != nil {
			return fmt.Errorf("pulsartest: truncating %s: %w", path, err)
		}
	}
	return nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openStore locks the data directory and loads its topics, partition
// counts, subscriptions and producer sequence ids.
func (b *Broker) openStore() error {
	if err := os.MkdirAll(b.dataDir, 0o755); err != nil {
		return fmt.Errorf("pulsartest: data directory: %w", err)
	}
	unlock, err := lockDir(filepath.Join(b.dataDir, lockFile))
	if err != nil {
		return fmt.Errorf("pulsartest: data directory %s: %w", b.dataDir, err)
	}
	b.unlock = unlock
	if err := b.loadPartitioned(); err != nil {
		b.closeStore()
		return err
	}
	names, err := os.ReadDir(b.dataDir)
	if err != nil {
		b.closeStore()
		return fmt.Errorf("pulsartest: data directory: %w", err)
	}
	for _, de := range names {
		ledger, ok := parseTopicLogName(de.Name())
		if !ok {
			continue
		}
		if ledger >= b.nextLedger {
			b.nextLedger = ledger + 1
		}
		if err := b.loadTopic(filepath.Join(b.dataDir, de.Name()), ledger); err != nil {
			b.closeStore()
			return err
		}
	}
	// Generated producer names continue after those already used, whose
	// sequence ids are kept for deduplication.
	var entries int
	for _, t := range b.topics {
		entries += len(t.entries)
		for name := range t.lastSeq {
			if n, err := strconv.ParseUint(strings.TrimPrefix(name, "pulsartest-"), 10, 64); err == nil &&
				strings.HasPrefix(name, "pulsartest-") && n > b.nextName {
				b.nextName = n
			}
		}
	}
	b.log.Info("data directory loaded", "dir", b.dataDir, "topics", len(b.topics), "entries", entries)
	return nil
}

// closeStore closes every topic log and releases the directory lock. The
// writer goroutines must have exited.
func (b *Broker) closeStore() error {
	var first error
	for _, t := range b.topics {
		if t.log != nil {
			if err := t.log.close(); err != nil && first == nil {
				first = err
			}
		}
	}
	if b.unlock != nil {
		b.unlock()
		b.unlock = nil
	}
	return first
}

func topicLogName(ledger uint64) string {
	return fmt.Sprintf("%s%08d%s", topicLogPrefix, ledger, topicLogSuffix)
}

func parseTopicLogName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, topicLogPrefix) || !strings.HasSuffix(name, topicLogSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(name[len(topicLogPrefix):len(name)-len(topicLogSuffix)], 10, 64)
	return n, err == nil
}

func (b *Broker) loadPartitioned() error {
	path := filepath.Join(b.dataDir, partitionedLog)
	err := b.readLog(path, func(typ byte, body []byte) error {
		r := recordReader{b: body}
		switch typ {
		case recHeader:
			if v := r.uvarint(); v != logVersion {
				return fmt.Errorf("%w: version %d", errCorrupt, v)
			}
		case recPartitioned:
			name, n := r.str(), r.uvarint()
			if r.bad || n == 0 || n > 1<<20 {
				return errCorrupt
			}
			b.partitioned[name] = int(n)
		default:
			return fmt.Errorf("%w: type %d", errCorrupt, typ)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// savePartitioned appends a partition count to partitioned.log and syncs it.
func (b *Broker) savePartitioned(name string, n int) error {
	path := filepath.Join(b.dataDir, partitionedLog)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var buf []byte
	if st.Size() == 0 {
		buf = appendHeader(buf, 0, "")
	}
	buf, start := beginRecord(buf, recPartitioned)
	buf = appendString(buf, name)
	buf = binary.AppendUvarint(buf, uint64(n))
	buf = endRecord(buf, start)
	if _, err := f.Write(buf); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if st.Size() == 0 {
		return objstore.SyncDir(b.dataDir)
	}
	return nil
}

// createTopicLog creates the log of a new topic, its header synced.
func (b *Broker) createTopicLog(t *topic) error {
	path := filepath.Join(b.dataDir, topicLogName(t.ledger))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(appendHeader(nil, t.ledger, t.name))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = objstore.SyncDir(b.dataDir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	t.log = &topicLog{t: t, path: path, f: f}
	return nil
}

// loadTopic replays the log of one topic.
func (b *Broker) loadTopic(path string, ledger uint64) error {
	var t *topic
	err := b.readLog(path, func(typ byte, body []byte) error {
		if t == nil {
			if typ != recHeader {
				return fmt.Errorf("%w: no header", errCorrupt)
			}
			r := recordReader{b: body}
			v, l, name := r.uvarint(), r.uvarint(), r.str()
			if r.bad || v != logVersion || l != ledger || name == "" {
				return fmt.Errorf("%w: header (version %d, ledger %d, topic %q)", errCorrupt, v, l, name)
			}
			if _, dup := b.topics[name]; dup {
				return fmt.Errorf("%w: a second log for topic %s", errCorrupt, name)
			}
			idx := max(partitionIndex(name), 0)
			t = newTopic(b, name, ledger, idx)
			return nil
		}
		return t.replay(typ, body)
	})
	if err != nil {
		return err
	}
	if t == nil {
		// Crashed while creating the file: it never held anything.
		b.log.Warn("removing a topic log without a header", "file", path)
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("pulsartest: %w", err)
		}
		return nil
	}
	end := int64(len(t.entries))
	for _, s := range t.subs {
		if s.markDelete > end {
			s.reset(end)
		}
	}
	t.next = end
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pulsartest: %w", err)
	}
	t.log = &topicLog{t: t, path: path, f: f}
	b.topics[t.name] = t
	return nil
}

// replay applies one record of the topic's log.
func (t *topic) replay(typ byte, body []byte) error {
	r := recordReader{b: body}
	switch typ {
	case recMessage:
		id, producer, _, highest := r.uvarint(), r.str(), r.uvarint(), r.uvarint()
		if r.bad || id != uint64(len(t.entries)) {
			return fmt.Errorf("%w: message record for entry %d after %d entries", errCorrupt, id, len(t.entries))
		}
		meta, err := parseMessage(r.b)
		if err != nil {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
		e := newEntry(meta, r.b)
		t.entries = append(t.entries, e)
		t.messages += int64(e.numMessages)
		t.lastSeq[producer] = int64(highest)
	case recSubscribe:
		name, typ, pos := r.str(), r.uvarint(), r.uvarint()
		if r.bad || pb.CommandSubscribe_SubType_name[int32(typ)] == "" {
			return errCorrupt
		}
		t.subs[name] = newSubscription(t, name, pb.CommandSubscribe_SubType(typ), true, int64(pos))
	case recUnsubscribe:
		name := r.str()
		if r.bad {
			return errCorrupt
		}
		delete(t.subs, name)
	case recSeek:
		name, pos := r.str(), r.uvarint()
		if r.bad {
			return errCorrupt
		}
		if s := t.subs[name]; s != nil {
			s.reset(int64(pos))
		}
	case recAck:
		name, cumulative, n := r.str(), r.u8() == 1, r.uvarint()
		if r.bad || n > uint64(len(r.b)) {
			return errCorrupt
		}
		s := t.subs[name]
		for range n {
			id, words := int64(r.uvarint()), r.uvarint()
			if r.bad || words > uint64(len(r.b))/8 {
				return errCorrupt
			}
			var ackSet []int64
			for range words {
				ackSet = append(ackSet, int64(r.u64()))
			}
			switch {
			case s == nil:
			case cumulative:
				s.ackCumulative(id, ackSet)
			default:
				s.ack(id, ackSet)
			}
		}
	default:
		return fmt.Errorf("%w: type %d", errCorrupt, typ)
	}
	return nil
}
